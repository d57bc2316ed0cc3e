//! The order tools over HTTP on loopback, through the real components: `add_to_cart` (search,
//! the menu's rules, the pending line's compare-and-swap) and `checkout_order` (the day's
//! number, the order's commit point, its print jobs and its text queued) at 1, 16 and 64
//! concurrent calls, against `GET /_hostline/healthz` (no component) as the baseline in the
//! same run. Every request is a new tool call (its own `toolCallId`), so none is answered from
//! the idempotency record; every checkout is a different call's cart, prepared beforehand
//! (add, confirm, pickup) and not timed.
//!
//! Then an open loop: checkouts sent on a fixed schedule (`--rate` per second for `--seconds`),
//! each latency counted from the request's scheduled time (no coordinated omission).
//!
//! `cargo bench -p hostline-runner --bench orders` (build the components first:
//! `scripts/build-components`); `-- --rate 200 --seconds 5` are the defaults.
//! Target: the 1-client p99 of both tools <= 3 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/support/mod.rs"]
mod support;

use hostline_runner::{RunnerConfig, start};
use serde_json::{Value, json};

const VAPI_SECRET: &str = "bench-vapi-secret";
const ADMIN_TOKEN: &str = "bench-admin-token";
const PIZZA: &str = include_str!("../../../fixtures/restaurants/windy-city-slice.json");
const LINE: &str = "+13125550160";
/// Friday 2026-12-04, 6 PM in Chicago: the pizzeria is open.
const AT: &str = "2026-12-05T00:00:00Z";
/// Timed requests per concurrency level and tool.
const REQUESTS: usize = 640;

/// Where the bench sends tool calls, and with which credential.
struct Target {
    url: String,
    headers: Vec<(String, String)>,
    /// Makes every call id and tool-call id of the run unique.
    next: AtomicUsize,
}

impl Target {
    fn fresh(&self, what: &str) -> String {
        format!("{what}-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn body(&self, call: &str, name: &str, args: Value) -> String {
        let id = self.fresh("t");
        json!({"message": {"type": "tool-calls", "timestamp": AT,
            "phoneNumber": {"number": LINE},
            "call": {"id": call, "customer": {"number": "+13125559876"}},
            "toolCallList": [{"id": id, "type": "function", "function": {"name": name, "arguments": args}}]}})
        .to_string()
    }

    /// One tool call; its latency, or `None` when it was not answered with a spoken result
    /// (a storage error the caller hears as "having trouble", or a failed request).
    async fn try_call(
        &self,
        client: &reqwest::Client,
        call: &str,
        name: &str,
        args: Value,
    ) -> Option<Duration> {
        let body = self.body(call, name, args);
        let t = Instant::now();
        let v = self.send(client, body).await.ok()?;
        let lat = t.elapsed();
        v["results"][0]["result"].is_string().then_some(lat)
    }

    /// [`Target::try_call`] where anything but a spoken result is a setup failure.
    async fn call(
        &self,
        client: &reqwest::Client,
        call: &str,
        name: &str,
        args: Value,
    ) -> Duration {
        self.try_call(client, call, name, args)
            .await
            .unwrap_or_else(|| panic!("{name} in {call} was not answered"))
    }

    async fn send(&self, client: &reqwest::Client, body: String) -> Result<Value, String> {
        let mut req = client.post(format!("{}/vapi/orders", self.url)).body(body);
        for (n, v) in &self.headers {
            req = req.header(n, v);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        resp.json().await.map_err(|e| e.to_string())
    }
}

fn add_args() -> Value {
    json!({"item": "pepperoni pizza", "quantity": 2, "modifiers": ["large", "mushrooms"]})
}

/// A call with one confirmed line and pickup chosen: ready to check out.
async fn prepared_cart(target: &Target, client: &reqwest::Client) -> String {
    let call = target.fresh("cart");
    target.call(client, &call, "add_to_cart", add_args()).await;
    target
        .call(client, &call, "confirm_pending_to_cart", json!({}))
        .await;
    target
        .call(client, &call, "set_fulfillment", json!({"type": "pickup"}))
        .await;
    call
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// `total` requests from `clients` concurrent clients (one keep-alive connection each);
/// `tool` is "add", "checkout" or "healthz". Sorted latencies of the answered ones, how many
/// were not answered, and the wall time.
async fn closed_loop(
    target: &Arc<Target>,
    tool: &'static str,
    clients: usize,
    total: usize,
) -> (Vec<Duration>, usize, Duration) {
    let per_client = total.div_ceil(clients);
    // Checkouts need their carts first (untimed).
    let mut carts: Vec<Vec<String>> = Vec::new();
    if tool == "checkout" {
        let client = reqwest::Client::new();
        for _ in 0..clients {
            let mut mine = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                mine.push(prepared_cart(target, &client).await);
            }
            carts.push(mine);
        }
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let target = Arc::clone(target);
        let mine = carts.get(c).cloned().unwrap_or_default();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::with_capacity(per_client);
            let mut carts = mine.into_iter();
            for _ in 0..per_client {
                lat.push(match tool {
                    "add" => {
                        let call = target.fresh("add");
                        target
                            .try_call(&client, &call, "add_to_cart", add_args())
                            .await
                    }
                    "checkout" => {
                        let call = carts.next().expect("a cart per checkout");
                        target
                            .try_call(&client, &call, "checkout_order", json!({}))
                            .await
                    }
                    _ => {
                        let t = Instant::now();
                        let r = client
                            .get(format!("{}/_hostline/healthz", target.url))
                            .send()
                            .await
                            .unwrap();
                        assert!(r.status().is_success());
                        let _ = r.bytes().await;
                        Some(t.elapsed())
                    }
                });
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut failed = 0;
    for t in tasks {
        for l in t.await.unwrap() {
            match l {
                Some(l) => all.push(l),
                None => failed += 1,
            }
        }
    }
    let wall = started.elapsed();
    all.sort_unstable();
    (all, failed, wall)
}

/// Checkouts at `rate` per second for `seconds`, each latency from its scheduled time.
fn open_loop(
    rt: &tokio::runtime::Runtime,
    target: &Arc<Target>,
    rate: f64,
    seconds: f64,
) -> (Vec<Duration>, usize, Duration) {
    let count = (rate * seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut carts = Vec::with_capacity(count);
        for _ in 0..count {
            carts.push(prepared_cart(target, &client).await);
        }
        let start = tokio::time::Instant::now() + Duration::from_millis(20);
        let mut tasks = Vec::with_capacity(count);
        for (i, call) in carts.into_iter().enumerate() {
            let scheduled = start + interval * i as u32;
            let (client, target) = (client.clone(), Arc::clone(target));
            tokio::time::sleep_until(scheduled).await;
            tasks.push(tokio::spawn(async move {
                let body = target.body(&call, "checkout_order", json!({}));
                let ok = matches!(target.send(&client, body).await,
                    Ok(v) if v["results"][0]["result"].as_str().is_some_and(|s| s.contains("order number")));
                (scheduled.elapsed(), ok)
            }));
        }
        let mut lat = Vec::with_capacity(count);
        let mut errors = 0;
        for t in tasks {
            let (l, ok) = t.await.unwrap();
            if ok {
                lat.push(l);
            } else {
                errors += 1;
            }
        }
        let wall = start.elapsed();
        lat.sort_unstable();
        (lat, errors, wall)
    })
}

fn main() {
    let mut rate = 200.0;
    let mut seconds = 5.0;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rate" => rate = it.next().and_then(|v| v.parse().ok()).expect("--rate N"),
            "--seconds" => seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            _ => {}
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (server, target, _dir) = rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = RunnerConfig::new(support::collection_manifest(dir.path()));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().join("data");
        config.seed_demo = false;
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
        let client = reqwest::Client::new();
        let r = client
            .put(format!("{url}/api/v1/businesses/pizza/restaurant"))
            .bearer_auth(ADMIN_TOKEN)
            .body(PIZZA)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "import: {}", r.status());
        let r = client
            .patch(format!("{url}/api/v1/businesses/pizza"))
            .bearer_auth(ADMIN_TOKEN)
            .body(json!({"active": true}).to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "activate: {}", r.status());
        let assistant: Value = client
            .post(format!("{url}/vapi/assistant-request"))
            .header("x-vapi-secret", VAPI_SECRET)
            .body(json!({"message": {"type": "assistant-request", "phoneNumber": {"number": LINE}, "call": {"id": "bench"}}}).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let headers = hostline_test_support::tool_server_headers(&assistant);
        assert!(!headers.is_empty(), "no tool credential: {assistant}");
        let target = Arc::new(Target {
            url,
            headers,
            next: AtomicUsize::new(0),
        });
        (server, target, dir)
    });

    println!(
        "{:<34} {:>7} {:>10} {:>10} {:>10} {:>9} {:>9} {:>7}",
        "route", "clients", "p50", "p99", "max", "req/s", "p50/base", "failed"
    );
    for clients in [1usize, 16, 64] {
        let mut base = Duration::ZERO;
        for (tool, name) in [
            ("healthz", "GET /_hostline/healthz (baseline)"),
            ("add", "add_to_cart"),
            ("checkout", "checkout_order"),
        ] {
            // Warm-up, then the timed run.
            rt.block_on(closed_loop(&target, tool, clients, REQUESTS / 10));
            let (lat, failed, wall) = rt.block_on(closed_loop(&target, tool, clients, REQUESTS));
            let p50 = percentile(&lat, 0.5);
            if tool == "healthz" {
                base = p50;
            }
            println!(
                "{:<34} {:>7} {:>10.3?} {:>10.3?} {:>10.3?} {:>9.0} {:>8.1}x {:>7}",
                name,
                clients,
                p50,
                percentile(&lat, 0.99),
                lat.last().copied().unwrap_or_default(),
                lat.len() as f64 / wall.as_secs_f64(),
                p50.as_secs_f64() / base.as_secs_f64().max(1e-9),
                failed,
            );
        }
    }

    // The client on a runtime of its own, so its timers are not held up behind the server.
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (lat, errors, wall) = open_loop(&client_rt, &target, rate, seconds);
    let sent = lat.len() + errors;
    let pick = |q: f64| {
        if lat.is_empty() {
            Duration::ZERO
        } else {
            percentile(&lat, q)
        }
    };
    println!();
    println!(
        "open loop: checkout_order at {rate} per second for {seconds} s (latency from the scheduled time): \
         {sent} sent, {errors} errors, p50 {:.3?}, p99 {:.3?}, max {:.3?}, {:.0} per second achieved",
        pick(0.5),
        pick(0.99),
        lat.last().copied().unwrap_or_default(),
        sent as f64 / wall.as_secs_f64()
    );
    rt.block_on(server.stop()).unwrap();
}
