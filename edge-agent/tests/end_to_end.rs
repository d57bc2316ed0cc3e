//! The real agent against the real cloud: `hostline-runner` in-process serves the function
//! collection of the repo's `spin.toml` (its components built for wasm32-wasip2 on first
//! use by `hostline-test-support`), the Windy City pizzeria imported; the `edge-agent` binary
//! pairs with a pairing code made by the admin, gets a printer (the fake one of
//! `tests/common`) and runs. An order placed by tool calls, as Vapi places it, comes out of
//! the printer, is acknowledged in the cloud, and a staff reprint prints again with a REPRINT
//! banner.
//!
//! Then, with the agent at its default poll interval (2 s), ten orders one after another:
//! from each checkout's answer (the order is auto-accepted, its kitchen job queued, before
//! the answer leaves) to the whole ticket at the printer; p50/p95/max go to stderr.

mod common;

use common::fake_printer::FakePrinter;
use common::{BIN, escpos};
use hostline_runner::{EngineOptions, RunnerConfig};
use hostline_test_support::{collection_manifest, target_dir};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "e2e-admin-token";
const VAPI_SECRET: &str = "e2e-vapi-secret";
const PIZZA: &str = include_str!("../../fixtures/restaurants/windy-city-slice.json");
const LINE: &str = "+13125550160";
/// A ticket must reach the printer within this long of the checkout's answer.
const TICKET_LIMIT: Duration = Duration::from_secs(30);
/// Orders timed at the default poll interval.
const TIMED_ORDERS: usize = 10;

/// The cloud: the runner on a runtime of its own, the test's HTTP calls blocking.
struct Cloud {
    url: String,
    http: reqwest::blocking::Client,
    tool_headers: Vec<(String, String)>,
    server: Option<hostline_runner::RunningServer>,
    rt: tokio::runtime::Runtime,
    /// One cloud at a time in this binary: each starts a runner that compiles every component,
    /// and three at once on a small machine starve one another's tickets past the limit.
    _alone: std::sync::MutexGuard<'static, ()>,
}

static ONE_CLOUD: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Cloud {
    fn start(dir: &Path) -> Cloud {
        // A test that panicked released it poisoned; the next one may still run.
        let alone = ONE_CLOUD.lock().unwrap_or_else(|p| p.into_inner());
        let manifest = collection_manifest(dir);
        let mut config = RunnerConfig::new(&manifest);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.join("data");
        let env = [
            ("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN),
            ("SPIN_VARIABLE_VAPI_SECRET", VAPI_SECRET),
            ("SPIN_VARIABLE_SERVICE_TOKEN", "e2e-service-token"),
            ("SPIN_VARIABLE_RELAY_TOKEN_KEY", "e2e-relay-key"),
            ("SPIN_VARIABLE_TOOL_TOKEN_KEY", "e2e-tool-key"),
            ("SPIN_VARIABLE_TWILIO_AUTH_TOKEN", "e2e-twilio-token"),
            ("SPIN_VARIABLE_PUBLIC_BASE_URL", "https://hostline.test"),
            (
                "SPIN_VARIABLE_RELAY_URL",
                "wss://relay.hostline.test/twilio/media",
            ),
        ];
        config.env = Some(BTreeMap::from(
            env.map(|(k, v)| (k.to_owned(), v.to_owned())),
        ));
        config.engine = EngineOptions {
            cache_dir: Some(target_dir().join("hostline-test-cache")),
            request_timeout: Duration::from_secs(30),
            ..EngineOptions::default()
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt
            .block_on(hostline_runner::start(config))
            .expect("runner starts");
        let mut cloud = Cloud {
            url: server.url(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            tool_headers: Vec::new(),
            server: Some(server),
            rt,
            _alone: alone,
        };
        cloud.admin(
            reqwest::Method::PUT,
            "/api/v1/businesses/windy/restaurant",
            PIZZA.parse().unwrap(),
        );
        cloud.admin(
            reqwest::Method::PATCH,
            "/api/v1/businesses/windy",
            json!({"active": true}),
        );
        // The headers Vapi sends on a tool call: the webhook secret and whatever the
        // assistant's tool servers carry (the business's tool credential).
        let (st, assistant) = cloud.send(
            reqwest::Method::POST,
            "/vapi/assistant-request",
            &[("x-vapi-secret".into(), VAPI_SECRET.into())],
            json!({"message": {"type": "assistant-request", "phoneNumber": {"number": LINE},
                "call": {"id": "c"}}}),
        );
        assert_eq!(st, 200, "{assistant}");
        cloud.tool_headers = vec![("x-vapi-secret".into(), VAPI_SECRET.into())];
        cloud
            .tool_headers
            .extend(hostline_test_support::tool_server_headers(&assistant));
        cloud
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(String, String)],
        body: Value,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "application/json");
        if !body.is_null() {
            req = req.body(body.to_string());
        }
        for (n, v) in headers {
            req = req.header(n, v);
        }
        let resp = req.send().expect("request to the runner");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An owner-API call as the admin, which must succeed.
    fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let auth = [("authorization".into(), format!("Bearer {ADMIN_TOKEN}"))];
        let (st, v) = self.send(method, path, &auth, body);
        assert!(st < 300, "{path}: {st} {v}");
        v
    }

    /// One tool call of call `call`, at a Friday evening in Chicago (the pizzeria is open).
    fn tool(&self, call: &str, id: &str, name: &str, args: Value) -> String {
        let (st, v) = self.send(
            reqwest::Method::POST,
            "/vapi/orders",
            &self.tool_headers,
            json!({"message": {"type": "tool-calls", "timestamp": "2026-12-05T00:00:00Z",
                "phoneNumber": {"number": LINE}, "call": {"id": call},
                "toolCallList": [{"id": id, "type": "function",
                    "function": {"name": name, "arguments": args}}]}}),
        );
        assert_eq!(st, 200, "{name}: {v}");
        v["results"][0]["result"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {v}"))
            .to_owned()
    }

    /// A large hand-tossed pepperoni pizza with mushrooms, for pickup; returns when the checkout is answered.
    fn order(&self, call: &str) -> Instant {
        self.tool(
            call,
            "t1",
            "add_to_cart",
            json!({"item": "pepperoni pizza", "modifiers": ["large", "hand-tossed", "mushrooms"]}),
        );
        self.tool(call, "t2", "confirm_pending_to_cart", json!({}));
        self.tool(call, "t3", "set_fulfillment", json!({"type": "pickup"}));
        let answer = self.tool(call, "t4", "checkout_order", json!({}));
        let at = Instant::now();
        let order = self.admin(
            reqwest::Method::GET,
            &format!("/api/v1/businesses/windy/orders/o-{call}"),
            Value::Null,
        );
        assert_eq!(order["status"], "accepted", "{answer}\n{order}");
        at
    }

    /// The cloud's print job `id`, if queued.
    fn job(&self, id: &str) -> Option<Value> {
        let jobs = self.admin(
            reqwest::Method::GET,
            "/api/v1/businesses/windy/print-jobs",
            Value::Null,
        );
        jobs["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
    }

    fn wait_printed(&self, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let job = self.job(id);
            if let Some(j) = job.as_ref().filter(|j| j["state"] == "printed") {
                return j.clone();
            }
            assert!(
                start.elapsed() < TICKET_LIMIT,
                "job {id} never acknowledged as printed: {job:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        let _inside = self.rt.enter();
        if let Some(server) = self.server.take() {
            server.shutdown_handle().shutdown();
            drop(server);
        }
    }
}

/// `edge-agent run`, its log in `log`; killed (SIGKILL) when dropped.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn run(dir: &Path, log: PathBuf, extra: &[&str]) -> Agent {
        let child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .arg("run")
            .args(extra)
            .env_remove("EDGE_AGENT_DATA_DIR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start edge-agent run");
        Agent { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the agent exited early:\n{}",
            self.log()
        );
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait for ticket number `n` (0-based) at the printer, the cloud's job `job`: its bytes and
/// when it was complete. On a timeout, says where the job stands in the cloud and what the
/// agent logged.
fn ticket(
    printer: &FakePrinter,
    n: usize,
    agent: &Agent,
    cloud: &Cloud,
    job: &str,
) -> (Vec<u8>, Instant) {
    let start = Instant::now();
    loop {
        if let Some(t) =
            printer.with(|p| p.printed.get(n).cloned().zip(p.printed_at.get(n).copied()))
        {
            return t;
        }
        assert!(
            start.elapsed() < TICKET_LIMIT,
            "ticket {n} ({job}) never reached the printer; the cloud's job: {:?}; agent log:\n{}",
            cloud.job(job),
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    // Nearest rank.
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[test]
fn the_agent_prints_orders_from_the_real_cloud_and_acknowledges_them() {
    let tmp = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(tmp.path());
    let printer = FakePrinter::start();
    let data = tmp.path().join("agent");

    // Pair with a code the admin made, and add the kitchen printer, with the real binary.
    paired_agent(&cloud, &data, "kitchen pi", &printer);

    // A short poll interval (the cloud's `poll_after_seconds` may still lengthen it).
    let run = Agent::run(
        &data,
        tmp.path().join("agent-fast.log"),
        &["--poll-ms", "200", "--printer-retry-ms", "200"],
    );
    cloud.order("e2e-1");
    let (bytes, _) = ticket(&printer, 0, &run, &cloud, "o-e2e-1.kitchen");
    let text = escpos::texts(&bytes).join("\n");
    assert!(text.contains("#101"), "{text}");
    assert!(text.contains("Pepperoni Pizza"), "{text}");
    for option in ["+ Large (14 inch)", "+ Hand-Tossed", "+ Mushrooms"] {
        assert!(text.contains(option), "{option}: {text}");
    }
    assert_eq!(escpos::reprint_banner(&bytes), None, "{text}");
    let job = cloud.wait_printed("o-e2e-1.kitchen");
    assert_eq!(job["order_id"], "o-e2e-1", "{job}");
    // The agent reports its printer to the cloud; the owner's device list shows it.
    let start = Instant::now();
    loop {
        let devices = cloud.admin(
            reqwest::Method::GET,
            "/api/v1/businesses/windy/devices",
            Value::Null,
        );
        let status = &devices["devices"][0]["status"];
        if status["printers"][0]["state"] == "online" {
            assert_eq!(status["ok"], true, "{devices}");
            assert_eq!(status["printers"][0]["id"], "kitchen", "{devices}");
            // The printer's profile as the restaurant set it up on the agent.
            let profile = &status["printers"][0]["profile"];
            assert_eq!(profile["host"], "127.0.0.1", "{devices}");
            assert_eq!(profile["port"], printer.port(), "{devices}");
            assert_eq!(profile["version"], 1, "{devices}");
            break;
        }
        assert!(
            start.elapsed() < TICKET_LIMIT,
            "the agent's status never reached the cloud: {devices}\n{}",
            run.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A staff reprint comes out again, marked as such, and is acknowledged too.
    let (st, v) = cloud.send(
        reqwest::Method::POST,
        "/api/v1/businesses/windy/orders/o-e2e-1/reprint",
        &[("authorization".into(), format!("Bearer {ADMIN_TOKEN}"))],
        Value::Null,
    );
    assert_eq!(st, 201, "{v}");
    let reprint_job = v["job_id"].as_str().expect("job_id").to_owned();
    let (bytes, _) = ticket(&printer, 1, &run, &cloud, &reprint_job);
    let text = escpos::texts(&bytes).join("\n");
    assert!(escpos::reprint_banner(&bytes).is_some(), "{text}");
    assert!(
        text.contains("#101") && text.contains("Pepperoni Pizza"),
        "{text}"
    );
    cloud.wait_printed(&reprint_job);
    run.kill();

    // The default poll interval: order accepted (the checkout's answer) → ticket at the
    // printer. A random pause before each order so it lands anywhere in the poll cycle.
    let run = Agent::run(&data, tmp.path().join("agent-default.log"), &[]);
    let mut latencies = Vec::new();
    for i in 0..TIMED_ORDERS {
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..2000)));
        let call = format!("e2e-t{i}");
        let accepted = cloud.order(&call);
        let (bytes, at) = ticket(&printer, 2 + i, &run, &cloud, &format!("o-{call}.kitchen"));
        let latency = at.saturating_duration_since(accepted);
        assert!(latency < TICKET_LIMIT, "{latency:?}");
        let text = escpos::texts(&bytes).join("\n");
        let number = format!("#{}", 102 + i);
        assert!(text.contains(&number), "{number}: {text}");
        latencies.push(latency);
    }
    for i in 0..TIMED_ORDERS {
        cloud.wait_printed(&format!("o-e2e-t{i}.kitchen"));
    }
    run.kill();

    let mut sorted = latencies.clone();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "order accepted -> ticket at the printer, {} orders, default poll (2 s): \
         p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (each: {:?} ms)",
        sorted.len(),
        ms(percentile(&sorted, 50)),
        ms(percentile(&sorted, 95)),
        ms(*sorted.last().unwrap()),
        latencies
            .iter()
            .map(|d| ms(*d).round() as u64)
            .collect::<Vec<_>>()
    );
}

/// A Star CloudPRNT printer, as test code speaking the protocol (Star's CloudPRNT protocol
/// reference): it polls with a POST, fetches with a GET, confirms with a DELETE.
struct StarPrinter<'c> {
    cloud: &'c Cloud,
    /// The path of the URL the owner typed into it (`/cloudprnt/{token}`).
    path: String,
    mac: &'static str,
}

impl StarPrinter<'_> {
    fn raw(
        &self,
        method: reqwest::Method,
        query: &str,
        body: Option<Value>,
    ) -> (u16, String, String) {
        let mut req = self
            .cloud
            .http
            .request(method, format!("{}{}{query}", self.cloud.url, self.path));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().expect("request to the runner");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ctype, resp.text().unwrap())
    }

    /// A poll reporting `status`; the server's JSON answer.
    fn poll(&self, status: &str, job: Option<&str>) -> Value {
        let mut body = json!({"statusCode": status, "printerMAC": self.mac,
            "status": "23 6 0 0 0 0 0 0 0", "uniqueID": "kitchen-star",
            "printingInProgress": job.is_some()});
        if let Some(j) = job {
            body["jobToken"] = json!(j);
        }
        let (st, _, text) = self.raw(reqwest::Method::POST, "", Some(body));
        assert_eq!(st, 200, "poll: {text}");
        serde_json::from_str(&text).expect("a JSON poll answer")
    }

    fn fetch(&self, token: &str, media: &str) -> (u16, String, String) {
        let q = format!(
            "?uid=kitchen-star&mac={}&type={}&token={token}",
            self.mac.replace(':', "%3A"),
            media.replace('/', "%2F")
        );
        self.raw(reqwest::Method::GET, &q, None)
    }

    fn confirm(&self, token: &str, code: &str) -> (u16, String) {
        let q = format!(
            "?uid=kitchen-star&mac={}&code={}&token={token}",
            self.mac.replace(':', "%3A"),
            code.replace(' ', "%20")
        );
        let (st, _, text) = self.raw(reqwest::Method::DELETE, &q, None);
        (st, text)
    }
}

#[test]
fn a_cloudprnt_printer_prints_orders_without_an_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(tmp.path());
    let mac = "00:11:62:0c:e5:c8";

    // The owner registers the printer by its MAC; the answer is the URL to type into it.
    let created = cloud.admin(
        reqwest::Method::POST,
        "/api/v1/businesses/windy/cloudprnt-printers",
        json!({"name": "Kitchen Star", "mac": "00-11-62-0C-E5-C8"}),
    );
    assert_eq!(created["mac"], mac, "{created}");
    assert_eq!(created["kind"], "cloudprnt", "{created}");
    let url = created["url"].as_str().expect("url");
    let path = url
        .strip_prefix("https://hostline.test")
        .unwrap_or_else(|| panic!("the URL is on public_base_url: {url}"));
    assert!(path.starts_with("/cloudprnt/hld_"), "{url}");
    let star = StarPrinter {
        cloud: &cloud,
        path: path.to_owned(),
        mac,
    };
    let stranger = StarPrinter {
        cloud: &cloud,
        path: "/cloudprnt/hld_not-a-real-token".into(),
        mac,
    };
    let (st, _, _) = stranger.raw(
        reqwest::Method::POST,
        "",
        Some(json!({"statusCode": "200 OK"})),
    );
    assert_eq!(st, 401, "an unknown token is refused");

    // Idle: nothing to print.
    assert_eq!(star.poll("200 OK", None), json!({"jobReady": false}));

    // An order placed by tool calls is ready at the next poll.
    cloud.order("cp-1");
    let ready = star.poll("200 OK", None);
    assert_eq!(ready["jobReady"], true, "{ready}");
    assert_eq!(ready["jobToken"], "o-cp-1.kitchen", "{ready}");
    assert!(
        ready["mediaTypes"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("text/plain"))),
        "{ready}"
    );
    let token = "o-cp-1.kitchen";

    // GET has no side effects: the same job, byte for byte, however often it is asked.
    let (st, ctype, first) = star.fetch(token, "text/plain");
    assert_eq!(st, 200, "{first}");
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert!(first.contains("#101"), "{first}");
    assert!(first.contains("Pepperoni Pizza"), "{first}");
    for option in ["+ Large (14 inch)", "+ Hand-Tossed", "+ Mushrooms"] {
        assert!(first.contains(option), "{option}: {first}");
    }
    assert!(!first.contains("REPRINT"), "{first}");
    let (_, _, again) = star.fetch(token, "text/plain");
    assert_eq!(again, first, "a GET again returns the same job");
    let (st, _, _) = star.fetch(token, "image/png");
    assert_eq!(st, 415, "a media type we did not offer");
    let wrong_mac = StarPrinter {
        cloud: &cloud,
        path: path.to_owned(),
        mac: "00:11:62:00:00:01",
    };
    let (st, _, _) = wrong_mac.fetch(token, "text/plain");
    assert_eq!(st, 403, "the URL typed into another printer prints nothing");

    // Paper runs out mid-ticket: the printer reports it (and gets nothing new meanwhile);
    // back in order, it fetches the job again, which now says REPRINT.
    let troubled = star.poll("410 Paper Empty", Some(token));
    assert_eq!(troubled["jobReady"], false, "{troubled}");
    let devices = cloud.admin(
        reqwest::Method::GET,
        "/api/v1/businesses/windy/devices",
        Value::Null,
    );
    let status = &devices["devices"][0]["status"];
    assert_eq!(status["ok"], false, "{devices}");
    assert_eq!(status["status"], "410 Paper Empty", "{devices}");
    let back = star.poll("200 OK", None);
    assert_eq!(back["jobToken"], token, "the same job again: {back}");
    let (_, _, reprinted) = star.fetch(token, "text/plain");
    assert!(reprinted.contains("REPRINT"), "{reprinted}");
    assert!(reprinted.contains("#101"), "{reprinted}");

    // Printed: confirmed with the printer's status code, acknowledged in the cloud.
    let (st, text) = star.confirm(token, "200 OK");
    assert_eq!(st, 200, "{text}");
    let job = cloud.wait_printed(token);
    assert_eq!(job["order_id"], "o-cp-1", "{job}");
    assert_eq!(star.poll("200 OK", None), json!({"jobReady": false}));
    let devices = cloud.admin(
        reqwest::Method::GET,
        "/api/v1/businesses/windy/devices",
        Value::Null,
    );
    assert_eq!(devices["devices"][0]["status"]["ok"], true, "{devices}");

    // A print that fails for the printer's own reason is recorded failed, for a reprint.
    cloud.order("cp-2");
    let ready = star.poll("200 OK", None);
    assert_eq!(ready["jobToken"], "o-cp-2.kitchen", "{ready}");
    let (st, _, text) = star.fetch("o-cp-2.kitchen", "text/plain");
    assert_eq!(st, 200, "{text}");
    assert!(text.contains("#102") && !text.contains("REPRINT"), "{text}");
    let (st, text) = star.confirm("o-cp-2.kitchen", "520 Print Failure");
    assert_eq!(st, 200, "{text}");
    let job = cloud.job("o-cp-2.kitchen").expect("the job stays listed");
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["reason"].as_str().is_some_and(|r| r.contains("520")),
        "{job}"
    );
    assert_eq!(star.poll("200 OK", None), json!({"jobReady": false}));
}

/// Pair an agent in `dir` with a new code and give it the kitchen printer `printer`.
fn paired_agent(cloud: &Cloud, dir: &Path, name: &str, printer: &FakePrinter) {
    let code = cloud.admin(
        reqwest::Method::POST,
        "/api/v1/businesses/windy/devices/pairing-codes",
        json!({}),
    );
    let code = code["code"].as_str().expect("a pairing code").to_owned();
    common::pair_with_kitchen_printer(
        dir,
        &["--url", &cloud.url, "--code", &code, "--name", name],
        printer.port(),
    );
}

#[test]
fn two_agents_of_one_restaurant_print_every_ticket_once_between_them() {
    let tmp = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(tmp.path());
    let (printer_a, printer_b) = (FakePrinter::start(), FakePrinter::start());
    let (dir_a, dir_b) = (tmp.path().join("agent-a"), tmp.path().join("agent-b"));
    paired_agent(&cloud, &dir_a, "front pi", &printer_a);
    paired_agent(&cloud, &dir_b, "back pi", &printer_b);
    let fast = ["--poll-ms", "100", "--printer-retry-ms", "200"];
    let run_a = Agent::run(&dir_a, tmp.path().join("a.log"), &fast);
    let run_b = Agent::run(&dir_b, tmp.path().join("b.log"), &fast);

    // Orders placed while both poll: each ticket comes out of exactly one printer.
    const ORDERS: usize = 6;
    for i in 0..ORDERS {
        cloud.order(&format!("two-{i}"));
    }
    for i in 0..ORDERS {
        cloud.wait_printed(&format!("o-two-{i}.kitchen"));
    }
    // A few more polls from both: nothing prints again.
    std::thread::sleep(Duration::from_millis(600));
    let numbers = |p: &FakePrinter| -> Vec<String> {
        p.with(|p| p.printed.clone())
            .iter()
            .map(|bytes| {
                let text = escpos::texts(bytes).join("\n");
                assert_eq!(escpos::reprint_banner(bytes), None, "{text}");
                text.lines()
                    .find(|l| l.trim_start().starts_with('#'))
                    .unwrap_or_else(|| panic!("no order number: {text}"))
                    .trim()
                    .to_owned()
            })
            .collect()
    };
    let mut all = numbers(&printer_a);
    all.extend(numbers(&printer_b));
    all.sort();
    let expected: Vec<String> = (0..ORDERS).map(|i| format!("#{}", 101 + i)).collect();
    assert_eq!(
        all,
        expected,
        "every ticket printed once, on one printer or the other\nagent a:\n{}\nagent b:\n{}",
        run_a.log(),
        run_b.log()
    );
    run_a.kill();
    run_b.kill();
}
