//! The relay against the real function collection: `hostline-runner` in-process serves the
//! components of the repo's `spin.toml` (built for wasm32-wasip2 on first use) with the demo
//! restaurant seeded; a fake Twilio client and a fake agent drive one call through the relay,
//! and the agent's function call is answered by the real knowledge-base tool endpoint.
//!
//! Needs the `twilio-voice` component (it serves `/internal/agent-config/{business}`) in
//! `spin.toml`, and the tool endpoints accepting the service token as a bearer.

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
    let relay = media_relay::start(config).await.expect("relay starts");

    let mut twilio = Twilio::connect(relay.addr()).await;
    twilio
        .start_with(
            CALL_SID,
            json!({"token": token_for("demo-boba", CALL_SID, 120, RELAY_KEY)}),
        )
        .await;
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
    let answer = loop {
        let v = tokio::time::timeout(Duration::from_secs(60), conn.json())
            .await
            .expect("an answer");
        if v["type"] == "FunctionCallResponse" {
            break v;
        }
    };
    assert_eq!(answer["id"], "fc_taro");
    assert_eq!(answer["name"], "get_menu_info");
    let content = answer["content"].as_str().unwrap();
    assert!(content.contains("Taro Milk Tea"), "content: {content}");

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
    relay.shutdown().await;
    runner.stop().await.expect("runner stops");
}
