//! Black-box tests of the whole collection: the real components built for wasm32-wasip2, served
//! by the `hostline` binary on 127.0.0.1 port 0 with a temporary data directory, driven over
//! HTTP. The repo's own sample restaurants are imported through the owner API (the demo is
//! seeded by the runner itself on first start). Five of the seven are the scenarios of
//! `hostline_test_support::deployment`, which also run against the Lambda binaries
//! (functions/lambda-adapter/tests/routes.rs); the other two need what only the runner has
//! (SIGKILL of the one process holding every write, a browser on its kitchen page).

mod support;

use hostline_test_support::deployment::{self, Client, Deployment, secrets::*};
use hostline_test_support::{ORDER_TIME, tool_call_message};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PIZZA: &str = include_str!("../../../fixtures/restaurants/windy-city-slice.json");

/// A `hostline up` child process; stopped with SIGINT on drop.
struct Runner {
    child: Child,
    client: Client,
}

/// The shared requests (`post`, `tool`, `as_admin` …) go to this runner.
impl std::ops::Deref for Runner {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// `hostline up` as a [`Deployment`] for the shared scenarios: a restart stops it with Ctrl-C
/// and starts it again on the same data directory, with the same settings.
struct Local {
    runner: Option<Runner>,
    manifest: PathBuf,
    data: PathBuf,
    env: Vec<(String, String)>,
}

impl Local {
    fn start(manifest: &Path, data: &Path, env: Vec<(String, String)>) -> Local {
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Local {
            runner: Some(Runner::start_with(manifest, data, &pairs)),
            manifest: manifest.to_owned(),
            data: data.to_owned(),
            env,
        }
    }

    fn stop(mut self) {
        if let Some(r) = self.runner.take() {
            r.stop();
        }
    }
}

impl Deployment for Local {
    fn client(&self) -> &Client {
        self.runner.as_ref().expect("running")
    }

    fn restart(&mut self) {
        if let Some(r) = self.runner.take() {
            r.stop();
        }
        *self = Local::start(&self.manifest, &self.data, std::mem::take(&mut self.env));
    }

    fn seeds_demo(&self) -> bool {
        true
    }
}

impl Runner {
    fn start(manifest: &Path, data: &Path) -> Runner {
        Runner::start_with(manifest, data, &[])
    }

    /// [`Runner::start`] with more `SPIN_VARIABLE_*` settings (outside services' URLs).
    fn start_with(manifest: &Path, data: &Path, env: &[(&str, &str)]) -> Runner {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hostline"));
        command.envs(env.iter().copied());
        let mut child = command
            .args(["up", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--manifest")
            .arg(manifest)
            .env("SPIN_VARIABLE_VAPI_SECRET", VAPI_SECRET)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_PUBLIC_BASE_URL", PUBLIC_BASE_URL)
            .env("SPIN_VARIABLE_TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
            .env("SPIN_VARIABLE_RELAY_TOKEN_KEY", RELAY_KEY)
            .env("SPIN_VARIABLE_SERVICE_TOKEN", SERVICE_TOKEN)
            .env("SPIN_VARIABLE_RELAY_URL", RELAY_URL)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start hostline");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("hostline printed nothing").unwrap();
        let url = first
            .strip_prefix("hostline listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        // Keep draining stdout so the banner can never block the server on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Runner {
            child,
            client: Client::new(url),
        }
    }

    fn stop(mut self) {
        self.interrupt_and_wait();
    }

    /// SIGKILL: no shutdown of any kind (what a power cut or the OOM killer does).
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn interrupt_and_wait(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "hostline exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("hostline did not stop within 20 s of Ctrl-C");
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn the_collection_end_to_end_with_restart() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let mut deployment = Local::start(&manifest, &dir.path().join("data"), Vec::new());
    deployment::collection_with_restart(&mut deployment);
    deployment.stop();
}

/// An owner's whole path through the real components: sign up, create a business, import its
/// menu, switch it on, take a call on its line; another owner sees none of it; the locally
/// generated `jwt_key` survives a restart, so a login's tokens still work after one.
#[test]
fn an_owner_account_end_to_end_with_restart() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let mut deployment = Local::start(&manifest, &dir.path().join("data"), Vec::new());
    deployment::owner_account_with_restart(&mut deployment);
    deployment.stop();
}

/// The wizard through `hostline up`, against local fakes of Twilio and Vapi: a new owner
/// reaches go-live (resuming after a restart part-way), the bought line answers an
/// assistant-request, and an end-of-call-report debits the balance and shows in the call list
/// with its transcript.
#[test]
fn the_onboarding_wizard_end_to_end_against_fake_twilio_and_vapi() {
    let twilio = deployment::onboarding_twilio();
    let vapi = deployment::onboarding_vapi();
    let env = [
        (
            "SPIN_VARIABLE_TWILIO_ACCOUNT_SID",
            TWILIO_ACCOUNT.to_owned(),
        ),
        ("SPIN_VARIABLE_TWILIO_API_BASE", twilio.url()),
        ("SPIN_VARIABLE_TWILIO_VERIFY_FROM", VERIFY_FROM.to_owned()),
        ("SPIN_VARIABLE_VAPI_API_KEY", VAPI_API_KEY.to_owned()),
        ("SPIN_VARIABLE_VAPI_API_BASE", vapi.url()),
        ("SPIN_VARIABLE_TRIAL_SECONDS", TRIAL_SECONDS.to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec();
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let mut deployment = Local::start(&manifest, &dir.path().join("data"), env);
    deployment::onboarding_wizard(&mut deployment, &twilio, &vapi);
    deployment.stop();
}

/// chromedriver on a port it picks itself (`--port=0`), killed on drop.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is missing: scripts/test installs it (scripts/setup-browser)");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut port = None;
        let mut rest = lines.map_while(Result::ok);
        for line in rest.by_ref() {
            if let Some(p) = line.split("started successfully on port ").nth(1) {
                port = Some(p.trim_end_matches('.').to_owned());
                break;
            }
        }
        std::thread::spawn(move || for _ in rest {});
        let port = port.expect("chromedriver did not say its port");
        ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The kitchen display in a real browser (Debian's Chromium, driven over WebDriver by
/// chromedriver): a staff member signs in with their PIN, an order placed by phone appears in
/// the New column, a bump moves it to Accepted (as the API then says too), and a ticket the
/// printer agent reports failed raises the printer warning. The screenshot is kept at
/// `target/kitchen-display.png`.
#[test]
fn the_kitchen_display_in_a_browser_shows_new_orders_bumps_them_and_warns_of_the_printer() {
    use fantoccini::{ClientBuilder, Locator};
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let runner = Runner::start(&manifest, &dir.path().join("data"));
    let as_admin = |method, path: &str, body| runner.as_admin(method, path, body);
    assert_eq!(runner.import("windy", PIZZA).0, 201);
    // Orders wait in New until the kitchen accepts them.
    as_admin(
        reqwest::Method::PATCH,
        "/api/v1/businesses/windy",
        json!({"active": true, "auto_accept_orders": false}),
    );
    as_admin(
        reqwest::Method::POST,
        "/api/v1/businesses/windy/staff",
        json!({"name": "Kim", "phone": "+14155550177", "pin": "4821"}),
    );

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium", "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1600,1000",
            format!("--user-data-dir={}", profile.path().display())]}),
    );
    let browser = rt
        .block_on(
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&driver.url),
        )
        .expect("a Chromium session");
    let wait = |css: &str| {
        rt.block_on(
            browser
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css(css)),
        )
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    };

    rt.block_on(browser.goto(&format!("{}/kitchen/windy", runner.url)))
        .unwrap();
    rt.block_on(async {
        browser
            .find(Locator::Css("#phone"))
            .await?
            .send_keys("+1 415 555 0177")
            .await?;
        browser
            .find(Locator::Css("#pin"))
            .await?
            .send_keys("4821")
            .await?;
        browser.find(Locator::Css("#sign-in")).await?.click().await
    })
    .unwrap();
    wait("#board:not([hidden])");
    // Signed in, the form is gone from the screen (not merely flagged hidden).
    let form_shown = rt
        .block_on(async {
            browser
                .find(Locator::Css("#login"))
                .await?
                .is_displayed()
                .await
        })
        .unwrap();
    assert!(
        !form_shown,
        "the sign-in form is still on screen after signing in"
    );

    // An order by phone (Friday 6 PM in Chicago: open), with the line's tool credential.
    let headers = runner.tool_headers("+13125550160");
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for (id, name, args) in [
        (
            "k1",
            "add_to_cart",
            json!({"item": "pepperoni pizza", "modifiers": ["large"]}),
        ),
        ("k2", "confirm_pending_to_cart", json!({})),
        ("k3", "set_fulfillment", json!({"type": "pickup"})),
        ("k4", "checkout_order", json!({})),
    ] {
        let (st, v) = runner.post(
            "/vapi/orders",
            &headers,
            &tool_call_message(
                ORDER_TIME,
                "+13125550160",
                &json!({"id": "kitchen-call-1"}),
                id,
                name,
                args,
            )
            .to_string(),
        );
        assert_eq!(st, 200, "{v}");
        assert!(v["results"][0]["result"].is_string(), "{name}: {v}");
    }
    let card = wait(r#"section[data-status="received"] .order[data-order="o-kitchen-call-1"]"#);
    let text = rt.block_on(card.text()).unwrap();
    assert!(text.contains("#101"), "{text}");
    assert!(text.contains("Pepperoni Pizza"), "{text}");
    assert!(text.contains("Large"), "{text}");

    // Bump: New → Accepted, on the screen and in the API.
    rt.block_on(async { card.find(Locator::Css(".bump")).await?.click().await })
        .unwrap();
    wait(r#"section[data-status="accepted"] .order[data-order="o-kitchen-call-1"]"#);
    let order = as_admin(
        reqwest::Method::GET,
        "/api/v1/businesses/windy/orders/o-kitchen-call-1",
        Value::Null,
    );
    assert_eq!(order["status"], "accepted", "{order}");
    assert!(
        order["history"][1]["by"]
            .as_str()
            .unwrap()
            .starts_with("s_"),
        "{order}"
    );

    // The kitchen printer's agent takes the ticket and reports paper out: the display warns.
    let code = as_admin(
        reqwest::Method::POST,
        "/api/v1/businesses/windy/devices/pairing-codes",
        json!({}),
    );
    let (st, paired) = runner.post(
        "/api/v1/edge/pair",
        &[("content-type", "application/json")],
        &json!({"code": code["code"], "name": "kitchen pi"}).to_string(),
    );
    assert_eq!(st, 201, "{paired}");
    let device = format!("Bearer {}", paired["device_token"].as_str().unwrap());
    let (st, jobs) = runner.send(
        reqwest::Method::GET,
        "/api/v1/edge/jobs",
        &[("authorization", &device)],
        "",
    );
    assert_eq!(
        (st, &jobs["jobs"][0]["id"]),
        (200, &json!("o-kitchen-call-1.kitchen")),
        "{jobs}"
    );
    let (st, v) = runner.post(
        "/api/v1/edge/jobs/o-kitchen-call-1.kitchen/ack",
        &[
            ("authorization", &device),
            ("content-type", "application/json"),
        ],
        &json!({"status": "failed", "reason": "paper out"}).to_string(),
    );
    assert_eq!(st, 200, "{v}");
    let warning = wait("#printer-warning:not([hidden])");
    let text = rt.block_on(warning.text()).unwrap();
    assert!(
        text.contains("#101") && text.contains("paper out"),
        "{text}"
    );
    // The agent's own report names the printer that is down.
    let (st, v) = runner.post(
        "/api/v1/edge/status",
        &[
            ("authorization", &device),
            ("content-type", "application/json"),
        ],
        &json!({"printers": [{"id": "bar", "name": "Bar printer", "state": "cover_open"}],
            "queue_length": 1, "agent_version": "0.1.0"})
        .to_string(),
    );
    assert_eq!(st, 204, "{v}");
    let start = Instant::now();
    loop {
        let text = rt
            .block_on(wait("#printer-warning:not([hidden])").text())
            .unwrap();
        if text.contains("kitchen pi: not printing: Bar printer (cover open)") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the display never named the printer: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let png = rt.block_on(browser.screenshot()).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(support::target_dir().join("kitchen-display.png"), png).unwrap();
    rt.block_on(browser.close()).unwrap();
    runner.stop();
}

/// The order texts through the whole collection, against a fake Twilio: a tool answer never
/// waits for Twilio (nothing is sent during the call), the "order received" text goes out
/// once when the call's events arrive (however often Vapi repeats them), and the "ready" text
/// once when staff move the order to ready — to the caller's number, from the line called.
#[test]
fn an_order_by_phone_is_texted_once_when_the_call_ends_and_once_when_it_is_ready() {
    use hostline_test_support::fake_http::FakeRules;
    let twilio = FakeRules::new()
        .on(
            "POST",
            "/Messages.json",
            201,
            r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}"#,
        )
        .start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let env = vec![
        (
            "SPIN_VARIABLE_TWILIO_ACCOUNT_SID".to_owned(),
            TWILIO_ACCOUNT.to_owned(),
        ),
        ("SPIN_VARIABLE_TWILIO_API_BASE".to_owned(), twilio.url()),
    ];
    let deployment = Local::start(&manifest, &dir.path().join("data"), env);
    deployment::order_texted_once(&deployment, &twilio);
    deployment.stop();
}

/// SIGKILL in the middle of a load of checkouts: after a restart on the same data, every
/// checkout the caller heard an order number for is there exactly once with that number, no
/// number is given twice, a call whose checkout was cut off checks out once when retried, and
/// every order placed has its kitchen ticket.
#[test]
fn checkouts_survive_sigkill_with_every_acknowledged_order_once_and_no_number_reused() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};
    const LINE: &str = "+13125550160";
    const CARTS: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let data = dir.path().join("data");
    let runner = Runner::start(&manifest, &data);
    let admin = format!("Bearer {ADMIN_TOKEN}");
    assert_eq!(runner.import("windy", PIZZA).0, 201);
    let (st, v) = runner.send(
        reqwest::Method::PATCH,
        "/api/v1/businesses/windy",
        &[("authorization", &admin)],
        &json!({"active": true}).to_string(),
    );
    assert_eq!(st, 200, "{v}");
    let headers = runner.tool_headers(LINE);
    let body = |call: &str, id: &str, name: &str, args: Value| {
        tool_call_message(ORDER_TIME, LINE, &json!({"id": call}), id, name, args).to_string()
    };
    let tool = |runner: &Runner, call: &str, id: &str, name: &str, args: Value| {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let (st, v) = runner.post("/vapi/orders", &h, &body(call, id, name, args));
        assert_eq!(st, 200, "{v}");
        v["results"][0]["result"].as_str().unwrap().to_owned()
    };
    let calls: Vec<String> = (0..CARTS).map(|i| format!("crash-{i}")).collect();
    for call in &calls {
        tool(
            &runner,
            call,
            "a",
            "add_to_cart",
            json!({"item": "cheese pizza", "modifiers": ["medium"]}),
        );
        tool(&runner, call, "b", "confirm_pending_to_cart", json!({}));
        tool(
            &runner,
            call,
            "c",
            "set_fulfillment",
            json!({"type": "pickup"}),
        );
    }

    // Four clients check out all the carts; the runner is killed once a third have answered.
    let number_in = |said: &str| -> Option<String> {
        let rest = &said[said.find("order number ")? + "order number ".len()..];
        let digits: String = rest
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ',')
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then_some(digits)
    };
    let heard: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let url = runner.url.clone();
    let tool_headers = headers.clone();
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (heard, url, headers) = (Arc::clone(&heard), url.clone(), tool_headers.clone());
            let mine: Vec<String> = calls.iter().skip(c).step_by(4).cloned().collect();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                for call in mine {
                    let mut req = client.post(format!("{url}/vapi/orders")).body(body(
                        &call,
                        "d",
                        "checkout_order",
                        json!({}),
                    ));
                    for (n, v) in &headers {
                        req = req.header(n, v);
                    }
                    // A cut connection is a checkout the caller never heard: fine.
                    let Ok(resp) = req.send() else { continue };
                    let Ok(v) = resp.json::<Value>() else {
                        continue;
                    };
                    let said = v["results"][0]["result"].as_str().unwrap_or_default();
                    if let Some(n) = number_in(said) {
                        heard.lock().unwrap().insert(call, n);
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while heard.lock().unwrap().len() < CARTS / 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    runner.kill();
    for c in clients {
        c.join().unwrap();
    }
    let heard = heard.lock().unwrap().clone();
    assert!(
        heard.len() >= CARTS / 3,
        "only {} checkouts answered",
        heard.len()
    );
    assert!(
        heard.len() < CARTS,
        "every checkout finished before the kill; the test proved nothing"
    );

    // Restart on the same data. Every order the caller heard is there, with its number.
    let runner = Runner::start(&manifest, &data);
    let order_of = |runner: &Runner, call: &str| {
        runner.send(
            reqwest::Method::GET,
            &format!("/api/v1/businesses/windy/orders/o-{call}"),
            &[("authorization", &admin)],
            "",
        )
    };
    for (call, number) in &heard {
        let (st, o) = order_of(&runner, call);
        assert_eq!(st, 200, "{call} was heard as #{number} but is gone: {o}");
        assert_eq!(o["number"], json!(number), "{call}: {o}");
    }
    // The caller (or Vapi) retries every checkout: each call ends with exactly one order.
    let tool_after = |call: &str| tool(&runner, call, "d2", "checkout_order", json!({}));
    let mut numbers = BTreeSet::new();
    for call in &calls {
        let said = tool_after(call);
        let n = number_in(&said).unwrap_or_else(|| panic!("{call}: {said}"));
        if let Some(first) = heard.get(call) {
            assert_eq!(&n, first, "{call}: a second number after the restart");
        }
        let (st, o) = order_of(&runner, call);
        assert_eq!((st, &o["number"]), (200, &json!(n)), "{call}: {o}");
        assert!(numbers.insert(n.clone()), "order number {n} given twice");
    }
    // The whole list: one order per call, and each accepted order's ticket queued.
    let (st, list) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/windy/orders?limit=100",
        &[("authorization", &admin)],
        "",
    );
    assert_eq!(st, 200, "{list}");
    let listed: Vec<&str> = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), CARTS, "{list}");
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), CARTS);
    let (st, jobs) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/windy/print-jobs",
        &[("authorization", &admin)],
        "",
    );
    assert_eq!(st, 200, "{jobs}");
    let text = jobs.to_string();
    for call in &calls {
        assert!(
            text.contains(&format!("o-{call}.kitchen")),
            "no kitchen ticket for {call}: {jobs}"
        );
    }
    runner.stop();
}

/// Every scripted conversation (`fixtures/conversations/`, the same files the orders
/// function's native tests play) through `hostline up` over HTTP: each script's restaurant
/// imported through the owner API as a business of its own (on a line of its own, so each
/// starts the day at order 101), the assistant's tool credential taken from
/// `/vapi/assistant-request`, every step posted to `/vapi/orders` and its spoken answer
/// checked, and the order read back from the owner API: lines, fulfilment and money to the
/// cent, and exactly one order (or none) in the business.
#[test]
fn every_scripted_conversation_through_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::collection_manifest(dir.path());
    let deployment = Local::start(&manifest, &dir.path().join("data"), Vec::new());
    deployment::scripted_conversations(&deployment);
    deployment.stop();
}
