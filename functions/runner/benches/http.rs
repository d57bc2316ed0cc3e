//! Latency of the real components over HTTP on loopback: `assistant-request` and a
//! `knowledge-base` tool call at 1, 16 and 64 concurrent clients, against `GET /healthz` (no
//! component involved) as the baseline in the same run. Each client keeps one connection open
//! and sends requests back to back; client and server share this machine's cores, so the high
//! concurrency figures include queueing on the CPU.
//!
//! `cargo bench -p hostline-runner --bench http` (builds the components first).
//! Target: tool call p99 <= 2 ms warm (the 1-client row).

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/support/mod.rs"]
mod support;

use hostline_runner::{RunnerConfig, start};
use serde_json::json;

const VAPI_SECRET: &str = "bench-vapi-secret";
const ADMIN_TOKEN: &str = "bench-admin-token";
const THAI: &str = include_str!("../../../fixtures/restaurants/golden-lotus-thai.json");
/// Requests per concurrency level and route (after a warm-up of the same size / 10).
const REQUESTS: usize = 2000;

struct Route {
    name: &'static str,
    method: reqwest::Method,
    path: &'static str,
    body: String,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

async fn run(
    url: &str,
    route: &Arc<Route>,
    clients: usize,
    total: usize,
) -> (Vec<Duration>, Duration) {
    let per_client = total.div_ceil(clients);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let route = Arc::clone(route);
        let url = format!("{url}{}", route.path);
        tasks.push(tokio::spawn(async move {
            // One client per task: one keep-alive connection each.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                let resp = client
                    .request(route.method.clone(), &url)
                    .header("x-vapi-secret", VAPI_SECRET)
                    .body(route.body.clone())
                    .send()
                    .await
                    .expect("request");
                assert!(
                    resp.status().is_success(),
                    "{}: {}",
                    route.name,
                    resp.status()
                );
                let _ = resp.bytes().await.expect("body");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort_unstable();
    (all, wall)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = RunnerConfig::new(support::collection_manifest(dir.path()));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().join("data");
        config.seed_demo = false;
        config.env = Some(
            [
                ("SPIN_VARIABLE_VAPI_SECRET", VAPI_SECRET),
                ("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        );
        let server = start(config).await.expect("start the runner");
        let url = server.url();
        let resp = reqwest::Client::new()
            .put(format!("{url}/api/v1/businesses/golden-lotus/restaurant"))
            .bearer_auth(ADMIN_TOKEN)
            .body(THAI)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "import: {}", resp.status());
        let line = "+12125550170";

        let routes = [
            Route { name: "GET /healthz (baseline, no component)", method: reqwest::Method::GET, path: "/healthz", body: String::new() },
            Route {
                name: "assistant-request",
                method: reqwest::Method::POST,
                path: "/vapi/assistant-request",
                body: json!({"message": {"type": "assistant-request", "phoneNumber": {"number": line}, "call": {"id": "bench"}}}).to_string(),
            },
            Route {
                name: "knowledge-base get_menu_info",
                method: reqwest::Method::POST,
                path: "/vapi/knowledge-base",
                body: json!({"message": {"type": "tool-calls", "phoneNumber": {"number": line}, "call": {"id": "bench"},
                    "toolCallList": [{"id": "t", "type": "function", "function": {"name": "get_menu_info", "arguments": {"query": "the curry with potatoes"}}}]}}).to_string(),
            },
        ];
        println!("{:<40} {:>7} {:>10} {:>10} {:>10} {:>10} {:>9}", "route", "clients", "p50", "p99", "max", "req/s", "p50/base");
        for clients in [1usize, 16, 64] {
            let mut base_p50 = Duration::ZERO;
            for route in &routes {
                let route = Arc::new(Route { name: route.name, method: route.method.clone(), path: route.path, body: route.body.clone() });
                run(&url, &route, clients, REQUESTS / 10).await;
                let (lat, wall) = run(&url, &route, clients, REQUESTS).await;
                let p50 = percentile(&lat, 0.50);
                if route.path == "/healthz" {
                    base_p50 = p50;
                }
                println!(
                    "{:<40} {:>7} {:>10.3?} {:>10.3?} {:>10.3?} {:>10.0} {:>8.1}x",
                    route.name,
                    clients,
                    p50,
                    percentile(&lat, 0.99),
                    lat[lat.len() - 1],
                    lat.len() as f64 / wall.as_secs_f64(),
                    p50.as_secs_f64() / base_p50.as_secs_f64().max(1e-9),
                );
            }
        }
        server.stop().await.unwrap();
    });
}
