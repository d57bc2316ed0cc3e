//! The relay against the real function collection: `hostline-runner` in-process serves the
//! components of the repo's `spin.toml` (built for wasm32-wasip2 on first use) with the demo
//! restaurant seeded; a fake Twilio client and a fake agent drive one call through the relay,
//! and the agent's function call is answered by the real knowledge-base tool endpoint.
//!
//! The call starts as Twilio starts it: a signed `POST /twilio/voice` whose TwiML carries the
//! stream token, then the stream with that token. A second relay instance given the same token
//! afterwards (a replay) is refused by the functions. Needs the `twilio-voice` component in
//! `spin.toml`, and the tool endpoints accepting the tool credential from the agent
//! configuration.

#[path = "relay/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use hostline_runner::{EngineOptions, RunnerConfig};
use hostline_test_support::{collection_manifest, target_dir};
use media_relay::{Config, Secrets};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_call_round_trips_through_the_real_tool_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = collection_manifest(dir.path());
    let mut runner_config = RunnerConfig::new(&manifest);
    runner_config.listen = "127.0.0.1:0".parse().unwrap();
    runner_config.data_dir = dir.path().join("data");
    runner_config.seed_demo = true;
    runner_config.env = Some(BTreeMap::from([
        (
            "SPIN_VARIABLE_SERVICE_TOKEN".to_owned(),
            SERVICE_TOKEN.to_owned(),
        ),
        (
            "SPIN_VARIABLE_RELAY_TOKEN_KEY".to_owned(),
            String::from_utf8(RELAY_KEY.to_vec()).unwrap(),
        ),
        (
            "SPIN_VARIABLE_VAPI_SECRET".to_owned(),
            "relay-test-vapi-secret".to_owned(),
        ),
        (
            "SPIN_VARIABLE_ADMIN_TOKEN".to_owned(),
            "relay-test-admin-token".to_owned(),
        ),
        (
            "SPIN_VARIABLE_TOOL_TOKEN_KEY".to_owned(),
            "relay-test-tool-key".to_owned(),
        ),
        (
            "SPIN_VARIABLE_TWILIO_AUTH_TOKEN".to_owned(),
            TWILIO_TOKEN.to_owned(),
        ),
        (
            "SPIN_VARIABLE_PUBLIC_BASE_URL".to_owned(),
            FUNCTIONS_PUBLIC.to_owned(),
        ),
        ("SPIN_VARIABLE_RELAY_URL".to_owned(), PUBLIC_URL.to_owned()),
    ]));
    runner_config.engine = EngineOptions {
        cache_dir: Some(target_dir().join("hostline-test-cache")),
        request_timeout: Duration::from_secs(30),
        ..EngineOptions::default()
    };
    let runner = hostline_runner::start(runner_config)
        .await
        .expect("runner starts");

    let mut agent = FakeAgent::start().await;
    let secrets = Secrets {
        deepgram_api_key: DEEPGRAM_KEY.into(),
        service_token: SERVICE_TOKEN.into(),
        relay_key: RELAY_KEY.to_vec(),
        twilio_account_sid: None,
        twilio_auth_token: None,
    };
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        agent.url(),
        runner.url(),
        secrets,
    );
    // No Twilio here to sign upgrades (the fake client signs anyway).
    config.insecure_skip_signature = true;
    // The first request to each component may compile it.
    config.limits.functions_timeout = Duration::from_secs(30);
    config.limits.tool_deadline = Duration::from_secs(30);
    config.limits.tool_filler_after = Duration::from_secs(30);
    let relay = media_relay::start(config.clone())
        .await
        .expect("relay starts");

    // The demo restaurant open at every hour (the relay's tool calls carry no timestamp, so
    // the order is placed at the real time), for the scripted order below.
    let http = reqwest::Client::new();
    let script = hostline_test_support::conversations::all()
        .into_iter()
        .find(|s| s.restaurant == "demo-boba" && s.order.is_some())
        .expect("a scripted order at the demo restaurant");
    let mut doc: serde_json::Value = serde_json::from_str(&script.doc).unwrap();
    let week = json!(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
    doc["hours"] = json!([{"days": week, "open": "00:00", "close": "23:59"},
        {"days": week, "open": "23:59", "close": "00:00"}]);
    let imported = http
        .put(format!(
            "{}/api/v1/businesses/demo-boba/restaurant",
            runner.url()
        ))
        .bearer_auth("relay-test-admin-token")
        .body(doc.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        imported.status().is_success(),
        "{}",
        imported.text().await.unwrap()
    );

    // Twilio's voice webhook for the demo line: the TwiML's stream token.
    let token = voice_webhook(&runner.url()).await;
    let mut twilio = Twilio::connect(relay.addr()).await;
    twilio.start_with(CALL_SID, json!({"token": token})).await;
    let mut conn = tokio::time::timeout(Duration::from_secs(60), agent.accept())
        .await
        .expect("the relay connected to the agent (is /internal/agent-config served?)");
    let settings = conn.json().await;
    assert_eq!(settings["type"], "Settings");
    assert!(
        !settings["agent"]["greeting"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{settings}"
    );
    let functions = settings["agent"]["think"]["functions"]
        .as_array()
        .expect("functions");
    assert!(
        functions.iter().any(|f| f["name"] == "get_menu_info"),
        "{settings}"
    );
    conn.send_json(json!({"type": "SettingsApplied"})).await;

    conn.send_json(json!({"type": "FunctionCallRequest", "functions": [
        {"id": "fc_taro", "name": "get_menu_info", "arguments": "{\"query\": \"taro milk tea\"}", "client_side": true}]}))
        .await;
    let answer = function_response(&mut conn).await;
    assert_eq!(answer["id"], "fc_taro");
    assert_eq!(answer["name"], "get_menu_info");
    let content = answer["content"].as_str().unwrap();
    assert!(content.contains("Taro Milk Tea"), "content: {content}");
    assert!(
        functions.iter().any(|f| f["name"] == "checkout_order"),
        "the demo takes orders: {settings}"
    );

    // A whole scripted order through the relay: each step a function call of the agent's,
    // answered by the real orders endpoint; the order ends in the owner API, to the cent.
    let mut wrong = Vec::new();
    for (i, step) in script.steps.iter().enumerate() {
        let id = format!("fc_s{i}");
        conn.send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": id, "name": step.tool, "arguments": step.args.to_string(), "client_side": true}]}))
            .await;
        let answer = function_response(&mut conn).await;
        assert_eq!(answer["id"], json!(id));
        wrong.extend(script.judge(i, answer["content"].as_str().unwrap_or_default()));
    }
    let list: serde_json::Value = http
        .get(format!(
            "{}/api/v1/businesses/demo-boba/orders",
            runner.url()
        ))
        .bearer_auth("relay-test-admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let orders = list["orders"].as_array().cloned().unwrap_or_default();
    let ours = orders
        .iter()
        .find(|o| o["id"] == json!(format!("o-{CALL_SID}")));
    assert_eq!(
        ours.map(|o| o["channel"].clone()),
        Some(json!("twilio")),
        "{list}"
    );
    wrong.extend(script.judge_order(ours, orders.len()));
    assert!(
        wrong.is_empty(),
        "{}:\n - {}",
        script.file,
        wrong.join("\n - ")
    );

    twilio.stop().await;
    assert_eq!(conn.closed().await.map(|f| f.code), Some(CloseCode::Normal));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while relay.active_calls() != 0 {
        assert!(tokio::time::Instant::now() < deadline, "call did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let metrics = relay.metrics().encode();
    assert!(
        has_line(&metrics, "relay_usage_reports_total{outcome=\"ok\"} 1"),
        "the runner took the usage report:\n{metrics}"
    );

    // The same token on another relay instance (its own seen-set is empty): the functions
    // already marked this call's stream as started, so this one is refused.
    let other = media_relay::start(config)
        .await
        .expect("second relay starts");
    let mut replay = Twilio::connect(other.addr()).await;
    replay.start_with(CALL_SID, json!({"token": token})).await;
    let close = tokio::time::timeout(Duration::from_secs(30), replay.closed())
        .await
        .expect("the replay is closed")
        .expect("a close frame");
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason.as_str(), "stream refused for this call");
    assert!(has_line(
        &other.metrics().encode(),
        "relay_calls_rejected_total{reason=\"stream_refused\"} 1"
    ));
    // And a replayed webhook mints nothing now.
    let (_, twiml) = post_voice(&runner.url()).await;
    assert!(
        twiml.contains("<Hangup />") && !twiml.contains("<Stream"),
        "{twiml}"
    );
    other.shutdown().await;
    relay.shutdown().await;
    runner.stop().await.expect("runner stops");
}

/// The base URL the functions think they are served at (what Twilio signs).
const FUNCTIONS_PUBLIC: &str = "https://functions.example.test";

/// A signed `POST /twilio/voice` for the demo line: (status, TwiML).
async fn post_voice(runner: &str) -> (u16, String) {
    let form = [
        ("AccountSid", TWILIO_SID),
        ("CallSid", CALL_SID),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+15551230001"),
        ("To", LINE),
    ];
    let signed = hostline_shared::twilio::Form(
        form.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    let signature = hostline_shared::twilio::expected_signature(
        TWILIO_TOKEN,
        &format!("{FUNCTIONS_PUBLIC}/twilio/voice"),
        &signed,
    );
    let response = reqwest::Client::new()
        .post(format!("{runner}/twilio/voice"))
        .header("x-twilio-signature", signature)
        .form(&form)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("the voice webhook answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The stream token in the voice webhook's TwiML.
async fn voice_webhook(runner: &str) -> String {
    let (status, twiml) = post_voice(runner).await;
    assert_eq!(status, 200, "{twiml}");
    let marker = r#"<Parameter name="token" value=""#;
    let start = twiml
        .find(marker)
        .unwrap_or_else(|| panic!("no token in {twiml}"))
        + marker.len();
    twiml[start..][..twiml[start..].find('"').unwrap()].to_owned()
}

/// The relay's answer to the agent's function call: the next `FunctionCallResponse`, whatever
/// comes before it, each message within 60 s.
async fn function_response(conn: &mut AgentConn) -> serde_json::Value {
    loop {
        let v = tokio::time::timeout(Duration::from_secs(60), conn.json())
            .await
            .expect("an answer");
        if v["type"] == "FunctionCallResponse" {
            return v;
        }
    }
}
