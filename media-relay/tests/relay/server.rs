//! The server around the calls: health, metrics, the cap, draining and SIGTERM.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::*;

/// A plain HTTP/1.1 GET: (status, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, body.to_owned())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (status, body) = get(rig.relay.addr(), "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "ok", "calls_active": 0, "max_calls": 2000})
    );
    let (_twilio, _agent, _) = rig.call().await;
    let (_, body) = get(rig.relay.addr(), "/healthz").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["calls_active"],
        1
    );
    let (status, metrics) = get(rig.relay.addr(), "/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "# TYPE relay_calls_active gauge",
        "relay_calls_active 1",
        "# TYPE relay_calls counter",
        "relay_calls_total 1",
        "# TYPE relay_frames_in counter",
        "# TYPE relay_frames_out counter",
        "# TYPE relay_latency_seconds histogram",
        "relay_latency_seconds_bucket{le=\"0.001\"}",
        "# TYPE relay_agent_errors counter",
        "# EOF",
    ] {
        assert!(metrics.contains(needle), "missing `{needle}` in\n{metrics}");
    }
    assert_eq!(get(rig.relay.addr(), "/nope").await.0, 404);
    // A plain GET on the stream path is not an upgrade.
    assert_eq!(get(rig.relay.addr(), "/twilio/media").await.0, 400);
}

#[tokio::test]
async fn calls_above_the_cap_are_refused_cleanly() {
    let mut rig = Rig::start(None, |c| c.limits.max_calls = 1).await;
    let (mut first, mut agent, _) = rig.call().await;
    let refused = tokio_tungstenite::connect_async(signed_upgrade(rig.relay.addr())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    assert!(has_line(
        &rig.metrics(),
        "relay_calls_rejected_total{reason=\"capacity\"} 1"
    ));
    // The first call is unaffected, and once it ends there is room again.
    first.media(&[0x33; 160]).await;
    assert_eq!(agent.audio().await, vec![0x33; 160]);
    first.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
    let (_second, _agent2, _) = rig.call_as("CA22222222222222222222222222222222").await;
}

#[tokio::test]
async fn drain_lets_the_running_call_finish_and_takes_no_new_one() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    rig.relay.drain();
    // No new connections...
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(rig.relay.addr())
        .await
        .is_ok()
    {
        assert!(Instant::now() < deadline, "still accepting after drain");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ...but the call in progress goes on.
    twilio.media(&[0x44; 160]).await;
    assert_eq!(agent.audio().await, vec![0x44; 160]);
    agent.send_audio(&[0x55; 160]).await;
    assert_eq!(twilio.media_audio().await, vec![0x55; 160]);
    twilio.stop().await;
    agent.closed().await;
    tokio::time::timeout(WAIT, rig.relay.wait())
        .await
        .expect("relay stops once the call ended");
    assert_eq!(rig.relay.active_calls(), 0);
    assert_eq!(rig.functions.usage().await["ended_by"], "caller");
}

#[tokio::test]
async fn drain_deadline_ends_calls_still_running() {
    let mut rig = Rig::start(None, |c| {
        c.limits.drain_timeout = Duration::from_millis(200)
    })
    .await;
    let (mut twilio, mut agent, _) = rig.call().await;
    rig.relay.drain();
    let close = twilio.closed().await.expect("close frame");
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(close.reason.as_str(), "relay shutting down");
    agent.closed().await;
    tokio::time::timeout(WAIT, rig.relay.wait())
        .await
        .expect("relay stops");
    assert_eq!(rig.relay.active_calls(), 0);
    assert_eq!(rig.functions.usage().await["ended_by"], "shutdown");
}

/// The binary: SIGTERM stops accepting, the running call finishes, then the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_exits() {
    let functions = FakeFunctions::start(agent_config(None)).await;
    let mut agent_side = FakeAgent::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_media-relay"))
        .args([
            "serve",
            "--listen",
            &addr.to_string(),
            "--agent-url",
            &agent_side.url(),
        ])
        .args([
            "--functions-url",
            &functions.url(),
            "--drain-timeout",
            "20s",
            "--workers",
            "1",
            "--public-url",
            PUBLIC_URL,
        ])
        .env("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        .env("HOSTLINE_SERVICE_TOKEN", SERVICE_TOKEN)
        .env(
            "HOSTLINE_RELAY_KEY",
            std::str::from_utf8(RELAY_KEY).unwrap(),
        )
        .env("DEEPGRAM_API_KEY", DEEPGRAM_KEY)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start media-relay");
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "relay did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut twilio = Twilio::connect(addr).await;
    twilio.start().await;
    let (mut agent, _) = agent_side.accept_ready().await;

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a call still running"
    );
    twilio.media(&[0x66; 160]).await;
    assert_eq!(agent.audio().await, vec![0x66; 160]);
    twilio.stop().await;
    agent.closed().await;
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "relay did not exit after its last call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    let ended = lines
        .iter()
        .find(|l| l["message"] == "call ended")
        .expect("call ended line");
    assert_eq!(ended["call_sid"], CALL_SID);
    assert_eq!(ended["ended_by"], "caller");
    assert_eq!(ended["frames_in"], 1);
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "draining" && l["signal"] == "SIGTERM")
    );
    assert!(lines.iter().any(|l| l["message"] == "stopped"));
    assert_eq!(functions.usage().await["ended_by"], "caller");
}

#[test]
fn help_explains_flags_and_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_media-relay"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--listen",
        "--agent-url",
        "--functions-url",
        "--max-calls",
        "--idle-timeout",
        "--drain-timeout",
        "--keepalive-interval",
        "DEEPGRAM_API_KEY",
        "HOSTLINE_SERVICE_TOKEN",
        "HOSTLINE_RELAY_KEY",
        "TWILIO_AUTH_TOKEN",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_media-relay"))
        .args(["serve", "--functions-url", "http://127.0.0.1:1"])
        .env_remove("HOSTLINE_SERVICE_TOKEN")
        .env_remove("HOSTLINE_RELAY_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOSTLINE_SERVICE_TOKEN is not set"));
}

#[tokio::test]
async fn every_upgrade_must_carry_the_twilio_signature() {
    let rig = Rig::start(None, |_| {}).await;
    let url = format!("ws://{}/twilio/media", rig.relay.addr());
    let unsigned = tokio_tungstenite::connect_async(url.as_str()).await;
    match unsigned {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    // Signed for another URL: refused too.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = url.as_str().into_client_request().unwrap();
    let other = hostline_shared::twilio::expected_signature(
        TWILIO_TOKEN,
        "wss://elsewhere.example/twilio/media",
        &hostline_shared::twilio::Form::default(),
    );
    request
        .headers_mut()
        .insert("x-twilio-signature", other.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    assert!(has_line(
        &rig.metrics(),
        "relay_calls_rejected_total{reason=\"twilio_signature\"} 2"
    ));
    let (mut ws, _) = tokio_tungstenite::connect_async(signed_upgrade(rig.relay.addr()))
        .await
        .expect("signed upgrade accepted");
    let _ = ws.close(None).await;
}

#[tokio::test]
async fn no_public_url_and_no_explicit_skip_refuses_to_start() {
    let functions = FakeFunctions::start(agent_config(None)).await;
    let agent = FakeAgent::start().await;
    let mut c = config(&functions, &agent);
    c.public_url = None;
    let e = match media_relay::start(c.clone()).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("started without a signature check"),
    };
    assert!(e.contains("--public-url is required"), "{e}");
    // Skipped on purpose (local runs): starts, says so at WARN, and takes unsigned upgrades.
    let (logs, _guard) = Logs::capture();
    c.insecure_skip_signature = true;
    let relay = media_relay::start(c)
        .await
        .expect("starts when told to skip");
    let warned = logs
        .lines()
        .into_iter()
        .find(|l| l["level"] == "WARN" && l["message"].as_str().unwrap_or("").contains("INSECURE"))
        .expect("a loud warning");
    assert!(
        warned["message"].as_str().unwrap().contains("NOT checked"),
        "{warned}"
    );
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/twilio/media", relay.addr()))
            .await
            .expect("unsigned upgrade accepted when skipping");
    let _ = ws.close(None).await;
    // The binary refuses the same way, with the reason on stderr.
    let out = Command::new(env!("CARGO_BIN_EXE_media-relay"))
        .args(["serve", "--functions-url", "http://127.0.0.1:1"])
        .env("HOSTLINE_SERVICE_TOKEN", SERVICE_TOKEN)
        .env("HOSTLINE_RELAY_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--public-url is required"), "{stderr}");
}

/// Idle sockets hold no call slot: 500 signed upgrades that never send `start`, against a
/// relay with room for 2 calls and 8 waiting sockets, and a genuine call still connects and
/// streams. The oldest waiting sockets are closed to make room (counted at once).
#[tokio::test]
async fn idle_upgrades_do_not_lock_out_a_genuine_call() {
    media_relay::bench::raise_fd_limit();
    let mut rig = Rig::start(None, |c| {
        c.limits.max_calls = 2;
        c.limits.max_pending_streams = 8;
        // Long enough that no idle socket reaches it during the test: only the cap acts.
        c.limits.start_timeout = Duration::from_secs(600);
    })
    .await;
    let mut idle = Vec::new();
    for i in 0..500 {
        let (ws, response) = tokio_tungstenite::connect_async(signed_upgrade(rig.relay.addr()))
            .await
            .unwrap_or_else(|e| panic!("idle upgrade {i} refused: {e}"));
        assert_eq!(response.status(), 101);
        idle.push(ws);
    }
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.media(&[0x5A; 160]).await;
    assert_eq!(agent.audio().await, vec![0x5A; 160]);
    agent.send_audio(&[0x6B; 160]).await;
    assert_eq!(twilio.media_audio().await, vec![0x6B; 160]);
    let metrics = rig.metrics();
    assert!(has_line(&metrics, "relay_calls_active 1"), "{metrics}");
    // 501 admitted to a queue of 8: 493 evicted, the genuine call's socket not among them.
    assert!(
        has_line(
            &metrics,
            "relay_calls_rejected_total{reason=\"pending_evicted\"} 493"
        ),
        "{metrics}"
    );
    assert!(has_line(&metrics, "relay_streams_pending 7"), "{metrics}");
    // An evicted socket was told why.
    let mut oldest = idle.swap_remove(0);
    let close = loop {
        match tokio::time::timeout(WAIT, oldest.next())
            .await
            .expect("a close")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Again));
    twilio.stop().await;
    agent.closed().await;
    drop(idle);
}
