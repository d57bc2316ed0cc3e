//! Latency of the real components over HTTP on loopback: `assistant-request` and a
//! `knowledge-base` tool call at 1, 16 and 64 concurrent clients, against `GET /healthz` (no
//! component involved) as the baseline in the same run. Each client keeps one connection open
//! and sends requests back to back; client and server share this machine's cores, so the high
//! concurrency figures include queueing on the CPU.
//!
//! Then an open-loop run: requests are sent on a fixed schedule (`--rate` per second for
//! `--seconds`, knowledge tool call and `/healthz` each in turn), whatever the server's
//! answers do, and each latency counts from the request's *scheduled* time, so a server that
//! falls behind is charged for the queue it builds (no coordinated omission). It reports
//! p50/p99 and the process's user and kernel CPU time per request (getrusage before and
//! after; client included, which the `/healthz` row shows).
//!
//! Also: the owner API (a GET authorised from the access token's claims alone) in the closed
//! loop, and 20 logins one after another (Argon2id inside the component).
//!
//! `cargo bench -p hostline-runner --bench http` (builds the components first);
//! `-- --open-loop-only --rate 400 --seconds 10` for the open-loop part alone (`--only
//! knowledge` for one route, e.g. under `perf record`).
//! Targets: tool call p99 <= 2 ms warm (the 1-client row); open loop at 400 req/s: p99 <=
//! ~9 ms and under 1 ms of CPU per knowledge call.

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
    headers: Vec<(String, String)>,
}

/// The owner's password in the bench.
const BENCH_PASSWORD: &str = "a bench password, long enough";

/// Logins one after another (each one Argon2id at m = 19 MiB, t = 2, p = 1 inside the
/// component): what a login costs through the runner.
async fn logins(url: &str) {
    const LOGINS: usize = 20;
    let client = reqwest::Client::new();
    let body = json!({"email": "bench@example.com", "password": BENCH_PASSWORD}).to_string();
    let mut times = Vec::with_capacity(LOGINS);
    for _ in 0..LOGINS {
        let t = Instant::now();
        let r = client
            .post(format!("{url}/api/v1/auth/login"))
            .header("spin-client-addr", "127.0.0.1:1")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "login: {}", r.status());
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "login (Argon2id m=19456 KiB t=2 p=1, in the component), 1 client, {LOGINS} logins: p50 {:.1?}, max {:.1?}",
        times[LOGINS / 2],
        times[LOGINS - 1]
    );
}

/// User and system CPU time of this process so far (`getrusage(RUSAGE_SELF)`).
fn cpu_times() -> (Duration, Duration) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes a `struct rusage` into the buffer it is given.
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()),
            0,
            "getrusage"
        );
        usage.assume_init()
    };
    let d = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (d(usage.ru_utime), d(usage.ru_stime))
}

/// One open-loop result.
struct OpenLoop {
    latencies: Vec<Duration>,
    errors: usize,
    user: Duration,
    system: Duration,
    wall: Duration,
}

/// Sends `route` at `rate` per second for `seconds`, each request on its own schedule slot
/// (client tasks on `client`, a runtime apart from the server's), and measures every latency
/// from the slot's time.
fn open_loop(
    client_rt: &tokio::runtime::Runtime,
    url: &str,
    route: &Arc<Route>,
    rate: f64,
    seconds: f64,
) -> OpenLoop {
    let count = (rate * seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let client = reqwest::Client::builder().build().unwrap();
    let url = format!("{url}{}", route.path);
    client_rt.block_on(async {
        let (user0, system0) = cpu_times();
        let start = tokio::time::Instant::now() + Duration::from_millis(20);
        let mut tasks = Vec::with_capacity(count);
        for i in 0..count {
            let scheduled = start + interval * i as u32;
            let (client, url, route) = (client.clone(), url.clone(), Arc::clone(route));
            tokio::time::sleep_until(scheduled).await;
            tasks.push(tokio::spawn(async move {
                let mut req = client
                    .request(route.method.clone(), &url)
                    .body(route.body.clone());
                for (n, v) in &route.headers {
                    req = req.header(n, v);
                }
                let ok = match req.send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        ok && resp.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                (scheduled.elapsed(), ok)
            }));
        }
        let mut latencies = Vec::with_capacity(count);
        let mut errors = 0;
        for t in tasks {
            let (lat, ok) = t.await.unwrap();
            if ok {
                latencies.push(lat);
            } else {
                errors += 1;
            }
        }
        let wall = start.elapsed();
        let (user1, system1) = cpu_times();
        latencies.sort_unstable();
        OpenLoop {
            latencies,
            errors,
            user: user1 - user0,
            system: system1 - system0,
            wall,
        }
    })
}

/// Command-line knobs after `--`.
struct Args {
    open_loop_only: bool,
    /// Open-loop routes whose name contains this (all when empty).
    only: String,
    rate: f64,
    seconds: f64,
}

fn args() -> Args {
    let mut a = Args {
        open_loop_only: false,
        only: String::new(),
        rate: 500.0,
        seconds: 10.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--open-loop-only" => a.open_loop_only = true,
            "--only" => a.only = it.next().expect("--only NAME"),
            "--rate" => a.rate = it.next().and_then(|v| v.parse().ok()).expect("--rate N"),
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            // `cargo bench` passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    a
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
                let mut req = client
                    .request(route.method.clone(), &url)
                    .body(route.body.clone());
                for (n, v) in &route.headers {
                    req = req.header(n, v);
                }
                let resp = req.send().await.expect("request");
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
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `_dir` keeps the data directory for as long as the server runs.
    let (server, url, routes, _dir) = rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = RunnerConfig::new(support::collection_manifest(dir.path()));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().join("data");
        config.seed_demo = false;
        // Compiled code is cached across runs, so a profile of this bench is the requests',
        // not Cranelift's.
        config.engine.cache_dir = Some(support::target_dir().join("hostline-bench-cache"));
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
        let assistant_body = json!({"message": {"type": "assistant-request", "phoneNumber": {"number": line}, "call": {"id": "bench"}}}).to_string();
        // Tool calls carry the per-business credential the assistant hands out.
        let assistant: serde_json::Value = reqwest::Client::new()
            .post(format!("{url}/vapi/assistant-request"))
            .header("x-vapi-secret", VAPI_SECRET)
            .body(assistant_body.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tool_headers = hostline_test_support::tool_server_headers(&assistant);
        let vapi = vec![("x-vapi-secret".to_owned(), VAPI_SECRET.to_owned())];
        // An owner with a business, for the owner API row (authorised from the token's claims).
        let signup: serde_json::Value = reqwest::Client::new()
            .post(format!("{url}/api/v1/auth/signup"))
            .body(json!({"email": "bench@example.com", "password": BENCH_PASSWORD, "name": "Bench"}).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let created: serde_json::Value = reqwest::Client::new()
            .post(format!("{url}/api/v1/businesses"))
            .bearer_auth(signup["access_token"].as_str().unwrap())
            .body(json!({"id": "bench-biz", "name": "Bench Cafe"}).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let owner = vec![(
            "authorization".to_owned(),
            format!("Bearer {}", created["access_token"].as_str().unwrap()),
        )];
        // A tool call, or the same body as a message type the knowledge-base ignores.
        let tool_message = |kind: &str| {
            json!({"message": {"type": kind, "phoneNumber": {"number": line}, "call": {"id": "bench"},
                "toolCallList": [{"id": "t", "type": "function", "function": {"name": "get_menu_info", "arguments": {"query": "the curry with potatoes"}}}]}}).to_string()
        };
        let routes = [
            Route { name: "GET /_hostline/healthz (no component)", method: reqwest::Method::GET, path: hostline_runner::app::RUNNER_HEALTHZ, body: String::new(), headers: Vec::new() },
            Route { name: "GET /healthz (healthz component)", method: reqwest::Method::GET, path: "/healthz", body: String::new(), headers: Vec::new() },
            Route {
                name: "assistant-request",
                method: reqwest::Method::POST,
                path: "/vapi/assistant-request",
                body: assistant_body,
                headers: vapi,
            },
            Route {
                name: "knowledge-base get_menu_info",
                method: reqwest::Method::POST,
                path: "/vapi/knowledge-base",
                body: tool_message("tool-calls"),
                headers: tool_headers.clone(),
            },
            Route {
                name: "knowledge-base, a message it ignores",
                method: reqwest::Method::POST,
                path: "/vapi/knowledge-base",
                body: tool_message("status-update"),
                headers: tool_headers.clone(),
            },
            Route {
                name: "owner API GET business (JWT)",
                method: reqwest::Method::GET,
                path: "/api/v1/businesses/bench-biz",
                body: String::new(),
                headers: owner,
            },
        ];
        (server, url, routes.map(Arc::new), dir)
    });

    if !args.open_loop_only {
        rt.block_on(closed_loop(&url, &routes));
        rt.block_on(logins(&url));
    }

    // The client gets a runtime of its own, so its timers are not held up behind the
    // server's work on the same worker threads (the machine's cores are still shared).
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!();
    println!(
        "open loop at {} req/s for {} s per route (latency from each request's scheduled time; CPU of the whole process, client included):",
        args.rate, args.seconds
    );
    println!(
        "{:<40} {:>7} {:>7} {:>10} {:>10} {:>10} {:>9} {:>11} {:>11}",
        "route", "sent", "errors", "p50", "p99", "max", "req/s", "user/req", "kernel/req"
    );
    for route in [&routes[3], &routes[4], &routes[1], &routes[0]] {
        if !route.name.contains(args.only.as_str()) {
            continue;
        }
        // Warm-up at the same rate, then the measured run.
        open_loop(&client_rt, &url, route, args.rate, 1.0);
        let r = open_loop(&client_rt, &url, route, args.rate, args.seconds);
        let n = (r.latencies.len() + r.errors).max(1) as f64;
        let lat = &r.latencies;
        let pick = |q: f64| {
            if lat.is_empty() {
                Duration::ZERO
            } else {
                percentile(lat, q)
            }
        };
        println!(
            "{:<40} {:>7} {:>7} {:>10.3?} {:>10.3?} {:>10.3?} {:>9.0} {:>8.3} ms {:>8.3} ms",
            route.name,
            n as usize,
            r.errors,
            pick(0.50),
            pick(0.99),
            lat.last().copied().unwrap_or_default(),
            n / r.wall.as_secs_f64(),
            r.user.as_secs_f64() * 1e3 / n,
            r.system.as_secs_f64() * 1e3 / n,
        );
    }
    rt.block_on(server.stop()).unwrap();
}

async fn closed_loop(url: &str, routes: &[Arc<Route>]) {
    println!(
        "{:<40} {:>7} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "route", "clients", "p50", "p99", "max", "req/s", "p50/base"
    );
    for clients in [1usize, 16, 64] {
        let mut base_p50 = Duration::ZERO;
        for route in routes {
            run(url, route, clients, REQUESTS / 10).await;
            let (lat, wall) = run(url, route, clients, REQUESTS).await;
            let p50 = percentile(&lat, 0.50);
            if route.path == hostline_runner::app::RUNNER_HEALTHZ {
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
}
