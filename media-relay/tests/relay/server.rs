//! The server around the calls: health, metrics, the cap, draining and SIGTERM.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/twilio/media", rig.relay.addr())).await;
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
    let (_second, _agent2, _) = rig.call().await;
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
        ])
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
async fn twilio_signature_is_checked_when_a_public_url_is_set() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let public = "wss://relay.example.com/twilio/media";
    let rig = Rig::start(None, |c| c.public_url = Some(public.into())).await;
    let url = format!("ws://{}/twilio/media", rig.relay.addr());
    let unsigned = tokio_tungstenite::connect_async(url.as_str()).await;
    match unsigned {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    assert!(has_line(
        &rig.metrics(),
        "relay_calls_rejected_total{reason=\"twilio_signature\"} 1"
    ));
    let signature = hostline_shared::twilio::expected_signature(
        TWILIO_TOKEN,
        public,
        &hostline_shared::twilio::Form::default(),
    );
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-twilio-signature", signature.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("signed upgrade accepted");
    let _ = ws.close(None).await;
}
