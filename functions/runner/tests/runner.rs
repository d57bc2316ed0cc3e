//! Black-box tests: the runner serving the probe component over real HTTP.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead as _, Read as _, Write as _};
use std::time::{Duration, Instant};

use support::{Options, TestServer, json};

fn server() -> TestServer {
    TestServer::start(Options::default())
}

/// The runner's own liveness route (no component involved).
const HEALTHZ: &str = hostline_runner::app::RUNNER_HEALTHZ;

#[test]
fn healthz_and_unknown_route() {
    let s = server();
    let (status, body) = s.get(HEALTHZ);
    assert_eq!(status, 200);
    assert_eq!(json(&body), serde_json::json!({ "status": "ok" }));
    // /healthz is a component like any other route: this manifest has none.
    assert_eq!(s.get("/healthz").0, 404);

    let (status, body) = s.get("/definitely/not/routed");
    assert_eq!(status, 404);
    assert!(json(&body)["error"].as_str().is_some(), "{body}");
}

#[test]
fn the_spin_store_adapter_passes_the_store_contract() {
    // hostline-spin's `SpinStore` (spin:key-value + wasi:keyvalue atomics), inside a real
    // component on this host, against the same contract as every Store implementation.
    let s = server();
    assert_eq!(s.get("/probe/store-contract"), (200, "ok".into()));
    // A second, separate store passes on its own too.
    assert_eq!(
        s.get("/probe/store-contract?label=second"),
        (200, "ok".into())
    );
}

#[test]
fn spin_key_value_roundtrip() {
    let s = server();
    assert_eq!(s.get("/probe/kv/get?key=k1"), (404, "absent".into()));
    assert_eq!(s.get("/probe/kv/exists?key=k1"), (200, "false".into()));
    assert_eq!(s.get("/probe/kv/set?key=k1&value=one"), (200, "ok".into()));
    assert_eq!(s.get("/probe/kv/set?key=k2&value=two"), (200, "ok".into()));
    assert_eq!(s.get("/probe/kv/get?key=k1"), (200, "one".into()));
    assert_eq!(s.get("/probe/kv/exists?key=k1"), (200, "true".into()));
    let (status, keys) = s.get("/probe/kv/keys");
    assert_eq!(status, 200);
    assert_eq!(json(&keys), serde_json::json!(["k1", "k2"]));
    assert_eq!(s.get("/probe/kv/delete?key=k1"), (200, "ok".into()));
    assert_eq!(s.get("/probe/kv/get?key=k1"), (404, "absent".into()));
    assert_eq!(s.get("/probe/kv/delete?key=k1"), (200, "ok".into()));

    // Labels are separate stores.
    assert_eq!(
        s.get("/probe/kv/get?key=k2&label=second"),
        (404, "absent".into())
    );
    assert_eq!(
        s.get("/probe/kv/set?key=k2&value=2nd&label=second"),
        (200, "ok".into())
    );
    assert_eq!(
        s.get("/probe/kv/get?key=k2&label=second"),
        (200, "2nd".into())
    );
    assert_eq!(s.get("/probe/kv/get?key=k2"), (200, "two".into()));
}

#[test]
fn store_labels_are_checked_per_component() {
    let s = server();
    assert_eq!(s.get("/probe/kv/open?label=second"), (200, "ok".into()));
    assert_eq!(s.get("/probe/wasi/open?label=second"), (200, "ok".into()));
    // "second" exists (the probe may use it) but "other" did not list it.
    let (_, body) = s.get("/other/probe/kv/open?label=second");
    assert!(body.contains("AccessDenied"), "{body}");
    let (_, body) = s.get("/other/probe/wasi/open?label=second");
    assert!(body.contains("AccessDenied"), "{body}");
    // Nobody declared "nowhere".
    let (_, body) = s.get("/probe/kv/open?label=nowhere");
    assert!(body.contains("NoSuchStore"), "{body}");
    let (_, body) = s.get("/probe/wasi/open?label=nowhere");
    assert!(body.contains("NoSuchStore"), "{body}");
    // Both components share "default".
    assert_eq!(
        s.get("/probe/kv/set?key=shared&value=v"),
        (200, "ok".into())
    );
    assert_eq!(s.get("/other/probe/kv/get?key=shared"), (200, "v".into()));
}

#[test]
fn wasi_keyvalue_store_and_batch_share_data_with_spin_key_value() {
    let s = server();
    assert_eq!(
        s.get("/probe/kv/set?key=a&value=from-spin"),
        (200, "ok".into())
    );
    assert_eq!(s.get("/probe/wasi/get?key=a"), (200, "from-spin".into()));
    assert_eq!(
        s.get("/probe/wasi/set?key=b&value=from-wasi"),
        (200, "ok".into())
    );
    assert_eq!(s.get("/probe/kv/get?key=b"), (200, "from-wasi".into()));
    assert_eq!(s.get("/probe/wasi/exists?key=b"), (200, "true".into()));
    assert_eq!(s.get("/probe/wasi/delete?key=b"), (200, "ok".into()));
    assert_eq!(s.get("/probe/wasi/exists?key=b"), (200, "false".into()));
    assert_eq!(s.get("/probe/wasi/get?key=b"), (404, "absent".into()));

    let (status, body) = s.get("/probe/wasi/list");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["keys"], serde_json::json!(["a"]));

    let (status, body) = s.get("/probe/wasi/batch?prefix=batch-");
    assert_eq!(status, 200);
    let v = json(&body);
    assert_eq!(
        v["got"],
        serde_json::json!([["batch-a", "1"], ["batch-b", "2"], ["batch-missing", null]])
    );
    assert_eq!(v["after_delete"], 0);
}

#[test]
fn compare_and_swap_and_increment() {
    let s = server();
    let (_, body) = s.get("/probe/cas/swap?key=c&value=v1");
    assert_eq!(
        json(&body),
        serde_json::json!({ "swapped": true, "before": null })
    );
    let (_, body) = s.get("/probe/cas/swap?key=c&value=v2");
    assert_eq!(
        json(&body),
        serde_json::json!({ "swapped": true, "before": "v1" })
    );
    let (_, body) = s.get("/probe/cas/conflict?key=c");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "snapshot": "v2",
            "conflict": true,
            "fresh_current": "interloper",
            "retried": true,
            "stored": "mine",
        })
    );

    assert_eq!(s.get("/probe/incr?key=n&delta=5"), (200, "5".into()));
    assert_eq!(s.get("/probe/incr?key=n&delta=-2"), (200, "3".into()));
    assert_eq!(s.get("/probe/incr?key=n"), (200, "4".into()));
}

#[test]
fn concurrent_cas_and_increment_lose_no_updates() {
    let s = server();
    const THREADS: usize = 8;
    const PER_THREAD: usize = 10;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let s = &s;
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let (status, body) = s.get("/probe/incr?key=counter");
                    assert_eq!(status, 200, "{body}");
                    let (status, body) =
                        s.get(&format!("/probe/cas/append?key=list&item=t{t}i{i}"));
                    assert_eq!(status, 200, "{body}");
                }
            });
        }
    });
    let total = THREADS * PER_THREAD;
    assert_eq!(
        s.get("/probe/incr?key=counter&delta=0"),
        (200, total.to_string())
    );
    let (status, list) = s.get("/probe/kv/get?key=list");
    assert_eq!(status, 200);
    let mut items: Vec<&str> = list.split(',').collect();
    assert_eq!(items.len(), total, "{list}");
    items.sort_unstable();
    items.dedup();
    assert_eq!(items.len(), total, "duplicates in {list}");
}

#[test]
fn the_spin_adapters_compare_and_swap_loses_no_increment_under_a_race() {
    // hostline_spin::SpinStore::compare_and_swap (the Store port) over this runner's
    // wasi:keyvalue atomics: every request reads the counter, pauses so the others read the
    // same value, and swaps in value + 1, retrying on a conflict.
    let s = server();
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 12;
    let attempts: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let s = &s;
                scope.spawn(move || {
                    (0..PER_CLIENT)
                        .map(|_| {
                            let (status, body) =
                                s.get("/probe/adapter/cas-incr?key=raced&pause_ms=10");
                            assert_eq!(status, 200, "{body}");
                            body.parse::<usize>().expect("attempts")
                        })
                        .sum::<usize>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("client")).sum()
    });
    let total = CLIENTS * PER_CLIENT;
    assert_eq!(s.get("/probe/kv/get?key=raced"), (200, total.to_string()));
    // The race was real: some swaps lost and were retried.
    assert!(
        attempts > total,
        "{attempts} attempts for {total} increments: no contention"
    );
}

#[test]
fn variables_from_defaults_templates_and_generated_secrets() {
    let mut s = server();
    assert_eq!(
        s.get("/probe/var?name=greeting"),
        (200, "hello, world".into())
    );
    assert_eq!(
        s.get("/probe/var?name=literal"),
        (200, "plain value".into())
    );
    // Declared for the application but not for this component.
    let (status, body) = s.get("/probe/var?name=unused_by_probe");
    assert_eq!(status, 404);
    assert!(body.contains("Undefined"), "{body}");
    let (status, body) = s.get("/probe/var?name=Not-A-Name");
    assert_eq!(status, 404);
    assert!(body.contains("InvalidName"), "{body}");
    // "other" declares no variables at all.
    let (status, _) = s.get("/other/probe/var?name=greeting");
    assert_eq!(status, 404);

    let (status, token) = s.get("/probe/var?name=token");
    assert_eq!(status, 200);
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");

    s.restart();
    assert_eq!(s.get("/probe/var?name=token"), (200, token.clone()));

    let generated = s.dir.path().join("data/generated-variables.json");
    let saved = json(&std::fs::read_to_string(&generated).expect("generated file"));
    assert_eq!(saved["token"], token.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&generated)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn variables_from_environment_overrides() {
    let env: BTreeMap<String, String> = [
        ("SPIN_VARIABLE_GREETING", "howdy"),
        ("SPIN_VARIABLE_TOKEN", "from-env"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let s = TestServer::start(Options {
        env,
        ..Options::default()
    });
    assert_eq!(
        s.get("/probe/var?name=greeting"),
        (200, "howdy, world".into())
    );
    assert_eq!(s.get("/probe/var?name=token"), (200, "from-env".into()));
    // Nothing had to be generated.
    assert!(!s.dir.path().join("data/generated-variables.json").exists());
}

#[test]
fn trap_is_isolated_to_its_request() {
    let s = server();
    assert_eq!(
        s.get("/probe/kv/set?key=before&value=1"),
        (200, "ok".into())
    );
    let (status, body) = s.get("/probe/trap");
    assert_eq!(status, 500);
    assert_generic_500(&body);
    // The same component and the others keep serving.
    assert_eq!(s.get("/probe/kv/get?key=before"), (200, "1".into()));
    assert_eq!(s.get("/other/probe/kv/get?key=before"), (200, "1".into()));
    assert_eq!(s.get(HEALTHZ).0, 200);
}

/// A 500 body is `{"error": "internal error", "request_id": ...}` and nothing else: no trap
/// text, panic message, backtrace or file path from inside the runner or the guest.
fn assert_generic_500(body: &str) {
    let v = json(body);
    let object = v.as_object().expect("a JSON object");
    assert_eq!(object.len(), 2, "{body}");
    assert_eq!(v["error"], "internal error", "{body}");
    assert!(
        v["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

#[test]
fn time_limit_stops_a_runaway_guest() {
    let s = TestServer::start(Options {
        request_timeout: Duration::from_secs(1),
        ..Options::default()
    });
    let (status, body) = s.get("/probe/loop");
    assert_eq!(status, 500);
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap_or("")
            .contains("time limit"),
        "{body}"
    );
    assert_eq!(s.get("/probe/kv/exists?key=x"), (200, "false".into()));
}

#[test]
fn nothing_a_request_leaves_in_memory_reaches_the_next() {
    // Pool slots are reset in place between requests (pages kept resident and cleared rather
    // than decommitted): every request must still start from the component's initial memory.
    let s = server();
    for _ in 0..20 {
        let (status, body) = s.get("/probe/leftovers");
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            json(&body),
            serde_json::json!({ "counter_before": 0, "dirty_pages": 0 })
        );
    }
}

#[test]
fn memory_limit_fails_the_request_not_the_runner() {
    let s = server();
    assert_eq!(
        s.get("/probe/alloc?mb=8"),
        (200, (8usize << 20).to_string())
    );
    let (status, body) = s.get("/probe/alloc?mb=100");
    assert_eq!(status, 500);
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap_or("")
            .contains("memory limit"),
        "{body}"
    );
    assert_eq!(
        s.get("/probe/alloc?mb=8"),
        (200, (8usize << 20).to_string())
    );
}

#[test]
fn broken_component_answers_500_and_others_serve() {
    let s = server();
    let (status, body) = s.get("/broken");
    assert_eq!(status, 500);
    assert_generic_500(&body);
    assert_eq!(s.get("/probe/kv/exists?key=x"), (200, "false".into()));
}

#[test]
fn data_survives_a_restart() {
    let mut s = server();
    assert_eq!(
        s.get("/probe/kv/set?key=persist&value=yes"),
        (200, "ok".into())
    );
    assert_eq!(s.get("/probe/incr?key=visits&delta=41"), (200, "41".into()));
    s.restart();
    assert_eq!(s.get("/probe/kv/get?key=persist"), (200, "yes".into()));
    assert_eq!(s.get("/probe/incr?key=visits"), (200, "42".into()));
}

#[test]
fn request_reaches_the_component_with_spin_headers() {
    let s = server();
    let res = s
        .client
        .post(s.url("/probe/echo?a=1&b=two"))
        .header("x-custom", "yes")
        // A client cannot forge the runner's routing headers.
        .header("spin-path-info", "/forged")
        .body("hello body")
        .send()
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let v = json(&res.text().expect("body"));
    let addr = s.server().addr();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["body"], "hello body");
    assert_eq!(v["uri"], format!("http://{addr}/probe/echo?a=1&b=two"));
    let h = &v["headers"];
    assert_eq!(h["x-custom"], "yes");
    assert_eq!(
        h["spin-full-url"],
        format!("http://{addr}/probe/echo?a=1&b=two")
    );
    assert_eq!(h["spin-path-info"], "/echo");
    assert_eq!(h["spin-matched-route"], "/probe/...");
    assert_eq!(h["spin-component-route"], "/probe");
    assert_eq!(h["spin-base-path"], "/");
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap_or("")
            .starts_with("127.0.0.1:"),
        "{h}"
    );
}

#[test]
fn shutdown_lets_in_flight_requests_finish() {
    let mut s = server();
    let url = s.url("/probe/sleep?ms=1000&mark=sleeping");
    let client = s.client.clone();
    let in_flight = std::thread::spawn(move || {
        client
            .get(url)
            .send()
            .map(|r| (r.status().as_u16(), r.text().unwrap_or_default()))
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.get("/probe/kv/get?key=sleeping").0 != 200 {
        assert!(Instant::now() < deadline, "the slow request never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let healthz = s.url(HEALTHZ);
    s.stop();
    let (status, body) = in_flight
        .join()
        .expect("client thread")
        .expect("in-flight request got its response");
    assert_eq!((status, body.as_str()), (200, "slept 1000"));
    assert!(
        reqwest::blocking::Client::new()
            .get(healthz)
            .send()
            .is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn oversized_body_is_rejected() {
    let s = TestServer::start(Options {
        max_body_bytes: 1024,
        ..Options::default()
    });
    let res = s
        .client
        .post(s.url("/probe/echo"))
        .body(vec![b'x'; 4096])
        .send()
        .expect("request");
    assert_eq!(res.status().as_u16(), 413);
    assert!(json(&res.text().expect("body"))["error"].is_string());
    let res = s
        .client
        .post(s.url("/probe/echo"))
        .body(vec![b'x'; 512])
        .send()
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
}

/// A local HTTP server answering 204 to every request, counting the connections it gets.
fn counting_http_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line == "\r\n" {
                    break;
                }
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 204 No Content\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            );
        }
    });
    (addr, connections)
}

#[test]
fn outbound_http_follows_allowed_outbound_hosts() {
    use std::sync::atomic::Ordering;
    let s = server();
    // Everything stays on this machine: the probe may call http://127.0.0.1:*, and the
    // denied calls aim at the same local listener, which must never see them.
    let (addr, connections) = counting_http_server();
    let (status, body) = s.get(&format!("/probe/outbound?url=http://{addr}/ping"));
    assert_eq!(status, 200);
    assert_eq!(body, "status 204");
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    // Not in the probe's list: another scheme, and another name for the same host.
    for url in [
        format!("https://{addr}/ping"),
        format!("http://localhost:{}/ping", addr.port()),
    ] {
        let (status, body) = s.get(&format!("/probe/outbound?url={url}"));
        assert_eq!(status, 200);
        assert!(body.starts_with("error"), "{url}: {body}");
        assert!(body.to_lowercase().contains("denied"), "{url}: {body}");
    }

    // "other" has no outbound hosts at all.
    let (status, body) = s.get(&format!("/other/probe/outbound?url=http://{addr}/ping"));
    assert_eq!(status, 200);
    assert!(body.to_lowercase().contains("denied"), "{body}");

    // Only the allowed call ever connected.
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[test]
fn seeds_the_demo_once_through_owner_api() {
    let mut s = TestServer::start(Options {
        manifest: "seed.toml",
        seed_demo: true,
        ..Options::default()
    });
    let info = match s.seed() {
        hostline_runner::SeedOutcome::Seeded(info) => info,
        other => panic!("expected a seed, got {other:?}"),
    };
    assert_eq!(info.business_id, "demo-boba");
    let doc = json(hostline_runner::seed::DEMO_DOCUMENT);
    assert_eq!(info.line, doc["business"]["phone_lines"][0]["e164"]);

    // The stand-in owner-api saw the document and the admin token.
    let (status, stored) = s.get("/api/v1/kv/get?key=seed:PUT%20/businesses/demo-boba/restaurant");
    assert_eq!(status, 200);
    assert_eq!(json(&stored), doc);
    let (_, auth) = s.get("/api/v1/kv/get?key=seed:authorization");
    let token = s.server().app().variables.application["admin_token"].clone();
    assert_eq!(auth, format!("Bearer {token}"));

    let banner = s.server().banner();
    let mut lines = banner.lines();
    assert_eq!(
        lines.next(),
        Some(format!("hostline listening on {}", s.server().url()).as_str())
    );
    let secret = s.server().app().variables.application["vapi_secret"].clone();
    assert!(banner.contains(&info.line), "{banner}");
    assert!(banner.contains("/vapi/assistant-request"), "{banner}");
    assert!(banner.contains("/vapi/knowledge-base"), "{banner}");
    assert_no_secret_in(&banner, s.server().app());
    assert!(
        banner.contains(r#"-H "X-Vapi-Secret: $VAPI_SECRET""#),
        "{banner}"
    );
    // The banner says where the generated secret is, as a line a shell can run.
    assert_eq!(banner_secret(&banner), secret);
    assert!(banner.contains("get_menu_info"), "{banner}");
    // Every curl body in the banner is valid JSON naming the demo line.
    let bodies: Vec<serde_json::Value> = banner
        .lines()
        .filter(|l| l.trim_start().starts_with("curl "))
        .map(|l| {
            let body = l
                .rsplit(" -d '")
                .next()
                .expect("body")
                .trim_end_matches('\'');
            json(body)
        })
        .collect();
    assert_eq!(bodies.len(), 2, "{banner}");
    for b in &bodies {
        assert_eq!(b["message"]["phoneNumber"]["number"], info.line.as_str());
        assert_eq!(b["message"]["call"]["id"], "demo-call");
    }

    // A restart does not import again.
    assert_eq!(
        s.get("/api/v1/kv/delete?key=seed:authorization"),
        (200, "ok".into())
    );
    s.restart();
    assert!(
        matches!(s.seed(), hostline_runner::SeedOutcome::AlreadySeeded(ref i) if *i == info),
        "{:?}",
        s.seed()
    );
    assert_eq!(s.get("/api/v1/kv/get?key=seed:authorization").0, 404);
}

/// No value of any secret variable appears in `text`.
fn assert_no_secret_in(text: &str, app: &hostline_runner::app::App) {
    for (name, decl) in &app.manifest.variables {
        if decl.secret {
            let value = &app.variables.application[name];
            assert!(!text.contains(value.as_str()), "{name} printed in:\n{text}");
        }
    }
}

/// Runs the banner's `VAPI_SECRET=...` line in a shell and returns what it sets.
fn banner_secret(banner: &str) -> String {
    let line = banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("VAPI_SECRET="))
        .unwrap_or_else(|| panic!("no VAPI_SECRET line in:\n{banner}"));
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{line}\nprintf %s \"$VAPI_SECRET\""))
        .env("SPIN_VARIABLE_VAPI_SECRET", "from-the-users-env")
        .output()
        .expect("sh");
    assert!(out.status.success(), "{line}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_secret_set_in_the_environment_is_not_printed() {
    let env: BTreeMap<String, String> = [("SPIN_VARIABLE_VAPI_SECRET", "from-the-users-env")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let s = TestServer::start(Options {
        manifest: "seed.toml",
        seed_demo: true,
        env,
        ..Options::default()
    });
    assert!(s.seed().demo().is_some(), "{:?}", s.seed());
    let banner = s.server().banner();
    assert!(!banner.contains("from-the-users-env"), "{banner}");
    assert_no_secret_in(&banner, s.server().app());
    // It points at the variable the user set instead.
    assert!(banner.contains("$SPIN_VARIABLE_VAPI_SECRET"), "{banner}");
    assert_eq!(banner_secret(&banner), "from-the-users-env");
}

#[test]
fn seeding_without_owner_api_only_warns() {
    let s = TestServer::start(Options {
        seed_demo: true,
        ..Options::default()
    });
    assert!(
        matches!(s.seed(), hostline_runner::SeedOutcome::Failed(_)),
        "{:?}",
        s.seed()
    );
    assert!(s.server().banner().contains("not seeded"));
    assert_eq!(s.get(HEALTHZ).0, 200);
}

#[test]
fn startup_errors_name_the_file_and_field() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let dir = tempfile::tempdir().expect("tempdir");
    let start = |text: &str| -> String {
        let path = dir.path().join("spin.toml");
        std::fs::write(&path, text).expect("write");
        let mut config = hostline_runner::RunnerConfig::new(&path);
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.data_dir = dir.path().join("data");
        config.env = Some(BTreeMap::new());
        config.seed_demo = false;
        match rt.block_on(hostline_runner::start(config)) {
            Ok(_) => panic!("expected a start-up error for:\n{text}"),
            Err(e) => format!("{e:#}"),
        }
    };
    let e = start("spin_manifest_version = 2\n[component.a]\nsource = \"missing.wasm\"\n");
    assert!(
        e.contains("spin.toml") && e.contains("[component.a] source") && e.contains("missing.wasm"),
        "{e}"
    );

    let e = start(
        "spin_manifest_version = 2\n[component.a]\nsource = \"a.wasm\"\n[component.a.variables]\nx = \"{{ nope }}\"\n",
    );
    assert!(
        e.contains("[component.a.variables] x") && e.contains("nope"),
        "{e}"
    );

    let e = start("spin_manifest_version = 2\n[variables]\nneeded = { required = true }\n");
    assert!(e.contains("SPIN_VARIABLE_NEEDED"), "{e}");

    let e = start("spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/x\"\n");
    assert!(e.contains("spin.toml") && e.contains("component"), "{e}");
}

#[test]
fn the_repo_manifest_is_valid() {
    let path = support::workspace_root().join("spin.toml");
    let m = hostline_runner::manifest::Manifest::load(&path).expect("spin.toml validates");
    assert!(m.components.contains_key("owner-api"));
    assert!(m.variables.contains_key("vapi_secret"));
}

#[cfg(unix)]
#[test]
fn binary_prints_the_url_first_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = support::write_manifest("probe.toml", dir.path());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hostline"))
        .args(["up", "--listen", "127.0.0.1:0", "--no-seed", "--manifest"])
        .arg(&manifest)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn hostline");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first).expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("hostline listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert_ne!(port, 0);

    let res = reqwest::blocking::get(format!("{url}{HEALTHZ}")).expect("healthz");
    assert_eq!(res.status().as_u16(), 200);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "hostline did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
}

#[test]
fn build_flag_runs_commands_and_stops_on_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spin.toml");
    std::fs::write(
        &path,
        "spin_manifest_version = 2\n[component.ok]\nsource = \"ok.wasm\"\n[component.ok.build]\ncommand = \"echo built > built.txt\"\n[component.zz]\nsource = \"zz.wasm\"\n[component.zz.build]\ncommand = \"exit 3\"\n",
    )
    .expect("write");
    let manifest = hostline_runner::manifest::Manifest::load(&path).expect("manifest");
    let err = hostline_runner::builder::build_all(&manifest)
        .expect_err("zz fails")
        .to_string();
    assert!(
        err.contains("[component.zz.build]") && err.contains("exit 3"),
        "{err}"
    );
    assert!(
        dir.path().join("built.txt").exists(),
        "ran in the manifest directory"
    );
}

// --- slow and many clients ---------------------------------------------------------------------

/// Sends `head`, then `trickle` one byte at a time with a pause between bytes, from another
/// thread. Returns the stream and a flag that turns true once every byte went out.
fn trickle(
    addr: std::net::SocketAddr,
    head: &str,
    trickle: Vec<u8>,
) -> (
    std::net::TcpStream,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    (&stream).write_all(head.as_bytes()).expect("head");
    let finished = std::sync::Arc::new(AtomicBool::new(false));
    let writer = stream.try_clone().expect("clone");
    let done = std::sync::Arc::clone(&finished);
    std::thread::spawn(move || {
        for b in trickle {
            std::thread::sleep(Duration::from_millis(100));
            if (&writer).write_all(&[b]).is_err() {
                return;
            }
        }
        done.store(true, Ordering::SeqCst);
    });
    (stream, finished)
}

#[test]
fn a_trickled_body_gets_408_and_the_connection_is_closed() {
    use std::sync::atomic::Ordering;
    let s = TestServer::start(Options {
        body_timeout: Duration::from_secs(1),
        // Long enough that only the body deadline can explain a close.
        header_timeout: Duration::from_secs(600),
        ..Options::default()
    });
    // 600 bytes at one per 100 ms would take a minute.
    let (stream, finished) = trickle(
        s.server().addr(),
        "POST /probe/echo HTTP/1.1\r\nhost: t\r\ncontent-length: 600\r\n\r\n",
        vec![b'x'; 600],
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
    let res = support::read_response(&mut reader).expect("a response");
    assert_eq!(res.status, 408, "{res:?}");
    assert!(json(&res.body)["error"].is_string(), "{res:?}");
    assert!(support::closed_by_peer(&stream), "connection left open");
    assert!(
        !finished.load(Ordering::SeqCst),
        "the runner waited for the whole trickled body"
    );
    // A prompt client is unaffected.
    assert_eq!(s.get("/probe/kv/exists?key=x"), (200, "false".into()));
}

#[test]
fn trickled_headers_are_cut_off() {
    use std::sync::atomic::Ordering;
    let s = TestServer::start(Options {
        header_timeout: Duration::from_secs(1),
        ..Options::default()
    });
    let lines: Vec<u8> = "x-pad: y\r\n".repeat(60).into_bytes();
    let (stream, finished) = trickle(
        s.server().addr(),
        "GET /probe/kv/exists?key=x HTTP/1.1\r\nhost: t\r\n",
        lines,
    );
    assert!(support::closed_by_peer(&stream), "connection left open");
    assert!(!finished.load(Ordering::SeqCst), "headers were waited for");
}

#[test]
fn connections_over_the_cap_are_refused_while_the_rest_keep_serving() {
    let s = TestServer::start(Options {
        max_connections: 2,
        header_timeout: Duration::from_secs(600),
        ..Options::default()
    });
    let addr = s.server().addr();
    let request = |stream: &std::net::TcpStream, path: &str| {
        (&*stream)
            .write_all(format!("GET {path} HTTP/1.1\r\nhost: t\r\n\r\n").as_bytes())
            .expect("send");
        let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
        support::read_response(&mut reader).expect("response")
    };
    // Two connections fill the cap: one in use, one idle.
    let busy = std::net::TcpStream::connect(addr).expect("connect");
    busy.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    assert_eq!(request(&busy, HEALTHZ).status, 200);
    let idle = std::net::TcpStream::connect(addr).expect("connect");
    assert_eq!(request(&idle, HEALTHZ).status, 200);

    // Every further connection is answered 503 and closed, not parked.
    for _ in 0..10 {
        let extra = std::net::TcpStream::connect(addr).expect("connect");
        extra
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let mut reader = std::io::BufReader::new(extra.try_clone().expect("clone"));
        let res = support::read_response(&mut reader).expect("refusal");
        assert_eq!(res.status, 503, "{res:?}");
        assert_eq!(res.header("retry-after"), Some("1"), "{res:?}");
        assert!(json(&res.body)["error"].is_string(), "{res:?}");
        assert!(
            support::closed_by_peer(&extra),
            "refused connection left open"
        );
    }

    // The connections inside the cap still serve, components included.
    let res = request(&busy, "/probe/kv/set?key=after&value=cap");
    assert_eq!((res.status, res.body.as_str()), (200, "ok"));
    assert_eq!(request(&idle, "/probe/kv/get?key=after").body, "cap");

    // Closing one frees its slot for a newcomer.
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fresh = std::net::TcpStream::connect(addr).expect("connect");
        fresh
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let res = request(&fresh, HEALTHZ);
        if res.status == 200 {
            break;
        }
        assert_eq!(res.status, 503, "{res:?}");
        assert!(Instant::now() < deadline, "the freed slot never came back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_request_that_cannot_get_an_instance_in_time_gets_503_with_retry_after() {
    let s = TestServer::start(Options {
        max_instances: 1,
        instance_wait: Duration::from_millis(200),
        ..Options::default()
    });
    let url = s.url("/probe/sleep?ms=3000");
    let client = s.client.clone();
    // Holds the only instance for 3 s (retrying if a poll below got there first).
    let sleeper = std::thread::spawn(move || {
        loop {
            let res = client.get(&url).send().expect("sleeper");
            let status = res.status().as_u16();
            let body = res.text().expect("body");
            if status != 503 {
                return (status, body);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let busy = loop {
        let res = s
            .client
            .get(s.url("/probe/kv/exists?key=x"))
            .send()
            .expect("poll");
        if res.status().as_u16() == 503 {
            break res;
        }
        assert_eq!(res.status().as_u16(), 200);
        assert!(Instant::now() < deadline, "never saw the pool full");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        busy.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert!(json(&busy.text().expect("body"))["error"].is_string());
    assert_eq!(
        sleeper.join().expect("sleeper"),
        (200, "slept 3000".to_owned())
    );
    assert_eq!(s.get("/probe/kv/exists?key=x"), (200, "false".into()));
}

/// `hostline up` as a child process on 127.0.0.1:0, its stderr captured.
#[cfg(unix)]
struct Child {
    child: std::process::Child,
    url: String,
    stderr: std::thread::JoinHandle<String>,
}

#[cfg(unix)]
impl Child {
    /// Starts `sh -c "<prelude> exec hostline up ..."` so a test can set the umask first.
    fn start(
        prelude: &str,
        manifest: &std::path::Path,
        data: &std::path::Path,
        extra: &[&str],
    ) -> Self {
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{prelude} exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_hostline"))
            .args(["up", "--listen", "127.0.0.1:0", "--no-seed", "--manifest"])
            .arg(manifest)
            .arg("--data")
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn hostline");
        let stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("first line");
        let url = first
            .trim_end()
            .strip_prefix("hostline listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
        });
        Child { child, url, stderr }
    }

    /// SIGTERM, wait, and return everything it logged.
    fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "exit status {status:?}");
        self.stderr.join().expect("stderr reader")
    }
}

#[cfg(unix)]
#[test]
fn data_directory_and_files_are_owner_only_whatever_the_umask() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = support::write_manifest("probe.toml", dir.path());
    let data = dir.path().join("data");
    let mode = |p: &std::path::Path| {
        hostline_runner::files::mode(p)
            .expect("mode")
            .expect("unix")
    };
    let child = Child::start("umask 000;", &manifest, &data, &[]);
    let res = reqwest::blocking::get(format!("{}/probe/kv/set?key=k&value=v", child.url))
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("hostline.redb")), 0o600);
    assert_eq!(mode(&data.join("generated-variables.json")), 0o600);
    child.stop();

    // A data directory and database left permissive (an older runner, a copy) are tightened.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(
        data.join("hostline.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let child = Child::start("umask 000;", &manifest, &data, &[]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("hostline.redb")), 0o600);
    let res = reqwest::blocking::get(format!("{}/probe/kv/get?key=k", child.url)).expect("request");
    assert_eq!(res.text().expect("body"), "v");
    child.stop();
}

#[cfg(unix)]
#[test]
fn a_trap_is_logged_with_context_and_the_body_stays_generic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = support::write_manifest("probe.toml", dir.path());
    let child = Child::start("", &manifest, &dir.path().join("data"), &["--log-json"]);
    let res = reqwest::blocking::get(format!("{}/probe/trap", child.url)).expect("request");
    assert_eq!(res.status().as_u16(), 500);
    let body = res.text().expect("body");
    assert_generic_500(&body);
    let request_id = json(&body)["request_id"].as_str().expect("id").to_owned();
    let log = child.stop();
    let failure = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| {
            e["fields"]["request_id"] == request_id.as_str()
                && e["fields"]["message"] == "request failed"
        })
        .unwrap_or_else(|| panic!("no failure logged for request {request_id}:\n{log}"));
    assert_eq!(failure["level"], "ERROR", "{failure}");
    assert_eq!(failure["fields"]["component"], "probe", "{failure}");
    assert_eq!(failure["fields"]["path"], "/probe/trap", "{failure}");
    let error = failure["fields"]["error"].as_str().expect("error field");
    assert!(error.contains("wasm trap"), "{failure}");

    // Every line the runner wrote is a JSON log event, the guest's own panic message too: it
    // comes through tracing with the component and the request id.
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    let panic = events
        .iter()
        .find(|e| {
            e["target"] == "guest"
                && e["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("probe: deliberate trap"))
        })
        .unwrap_or_else(|| panic!("the guest's panic message is not in the log:\n{log}"));
    assert_eq!(panic["fields"]["component"], "probe", "{panic}");
    assert_eq!(
        panic["fields"]["request_id"],
        request_id.as_str(),
        "{panic}"
    );
    assert_eq!(panic["fields"]["stream"], "stderr", "{panic}");
}

#[test]
fn build_output_and_errors_are_json_log_lines_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spin.toml");
    std::fs::write(
        &path,
        "spin_manifest_version = 2\n[component.a]\nsource = \"a.wasm\"\n[component.a.build]\ncommand = \"echo build-said-this; echo and-this >&2; exit 3\"\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hostline"))
        .args([
            "up",
            "--build",
            "--log-json",
            "--listen",
            "127.0.0.1:0",
            "--manifest",
        ])
        .arg(&path)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "info")
        .output()
        .expect("run hostline");
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = String::from_utf8(out.stderr).expect("utf-8");
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    let said = |text: &str| {
        events.iter().any(|e| {
            e["target"] == "build"
                && e["fields"]["component"] == "a"
                && e["fields"]["message"] == text
        })
    };
    assert!(said("build-said-this"), "{log}");
    assert!(said("and-this"), "{log}");
    assert!(
        events.iter().any(|e| e["level"] == "ERROR"
            && e["fields"]["error"]
                .as_str()
                .is_some_and(|m| m.contains("[component.a.build]"))),
        "{log}"
    );
}

#[test]
fn a_request_whose_client_disconnects_still_finishes_its_writes() {
    let s = server();
    let mut stream = std::net::TcpStream::connect(s.server().addr()).expect("connect");
    stream
        .write_all(b"GET /probe/slow-writes?prefix=w&n=5&ms=300 HTTP/1.1\r\nhost: t\r\n\r\n")
        .expect("send");
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.get("/probe/kv/get?key=wstarted").0 != 200 {
        assert!(Instant::now() < deadline, "the writes never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The client walks away with the writes half done.
    stream.shutdown(std::net::Shutdown::Both).expect("shutdown");
    drop(stream);
    assert_eq!(s.get("/probe/kv/get?key=w4").0, 404, "all written already");
    // The guest is driven to the end anyway: every key arrives.
    while s.get("/probe/kv/get?key=w4").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the last write never happened: the request was dropped with its client"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..5 {
        assert_eq!(
            s.get(&format!("/probe/kv/get?key=w{i}")),
            (200, "written".into())
        );
    }
}

#[test]
fn shutdown_waits_for_requests_whose_clients_left() {
    let mut s = server();
    let mut stream = std::net::TcpStream::connect(s.server().addr()).expect("connect");
    stream
        .write_all(b"GET /probe/slow-writes?prefix=s&n=3&ms=300 HTTP/1.1\r\nhost: t\r\n\r\n")
        .expect("send");
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.get("/probe/kv/get?key=sstarted").0 != 200 {
        assert!(Instant::now() < deadline, "the writes never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(stream);
    // Stopping waits for the orphaned request (it holds the database), then a restart on the
    // same data directory sees every write.
    s.restart();
    for i in 0..3 {
        assert_eq!(
            s.get(&format!("/probe/kv/get?key=s{i}")),
            (200, "written".into())
        );
    }
}
