//! Streams the relay must refuse: each closes with a reason, is counted and logged, and never
//! reaches the agent.

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::*;

/// Opens a stream, lets `open` send its first frames, expects a close with `code` and a reason
/// containing `reason`, and checks the rejection was counted (as `label`) and logged at WARN
/// with no agent contact and no request to the functions. Returns the log line.
async fn refused_after(
    open: impl AsyncFnOnce(&mut Twilio),
    code: CloseCode,
    reason: &str,
    label: &str,
) -> serde_json::Value {
    let (logs, _guard) = Logs::capture();
    let rig = Rig::start(None, |_| {}).await;
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    open(&mut twilio).await;
    let close = twilio.closed().await.expect("a close frame");
    assert_eq!(close.code, code);
    assert!(
        close.reason.as_str().contains(reason),
        "reason `{}`",
        close.reason
    );
    rig.no_calls_left().await;
    assert_eq!(
        rig.agent
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no agent connection"
    );
    assert!(
        rig.functions.requests("/").is_empty(),
        "no request to the functions"
    );
    let metrics = rig.metrics();
    assert!(
        has_line(
            &metrics,
            &format!("relay_calls_rejected_total{{reason=\"{label}\"}} 1")
        ),
        "{metrics}"
    );
    assert!(has_line(&metrics, "relay_calls_total 0"), "{metrics}");
    let line = logs
        .find("stream rejected")
        .expect("a `stream rejected` log line");
    assert_eq!(line["rejected"], label);
    assert!(line["reason"].as_str().unwrap().contains(reason), "{line}");
    assert_eq!(line["level"], "WARN");
    line
}

/// Starts a stream with `params` for `call_sid` and expects it refused (see [`refused_after`]),
/// logged with that call SID.
async fn refused(
    call_sid: &str,
    params: serde_json::Value,
    code: CloseCode,
    reason: &str,
    label: &str,
) {
    let open = async |twilio: &mut Twilio| twilio.start_with(call_sid, params).await;
    let line = refused_after(open, code, reason, label).await;
    assert_eq!(line["call_sid"], call_sid);
}

#[tokio::test]
async fn bad_signature() {
    let forged = token_for(BUSINESS, CALL_SID, 120, b"some other key");
    refused(
        CALL_SID,
        json!({"token": forged}),
        CloseCode::Policy,
        "signature",
        "token_bad_signature",
    )
    .await;
}

#[tokio::test]
async fn token_for_another_call() {
    let other = token_for(
        BUSINESS,
        "CA99999999999999999999999999999999",
        120,
        RELAY_KEY,
    );
    refused(
        CALL_SID,
        json!({"token": other}),
        CloseCode::Policy,
        "another call",
        "token_wrong_call",
    )
    .await;
}

#[tokio::test]
async fn expired_token() {
    let old = token_for(BUSINESS, CALL_SID, -5, RELAY_KEY);
    refused(
        CALL_SID,
        json!({"token": old}),
        CloseCode::Policy,
        "expired",
        "token_expired",
    )
    .await;
}

#[tokio::test]
async fn missing_token_even_with_business_parameters() {
    // Unverified parameters alone never identify a business.
    refused(
        CALL_SID,
        json!({"business_id": BUSINESS, "line": LINE, "call_sid": CALL_SID}),
        CloseCode::Policy,
        "missing stream token",
        "token_missing",
    )
    .await;
}

#[tokio::test]
async fn garbage_token() {
    refused(
        CALL_SID,
        json!({"token": "v1.nope"}),
        CloseCode::Policy,
        "malformed",
        "token_malformed",
    )
    .await;
}

/// Sends `first` as the first frame and expects the stream refused (see [`refused_after`]).
async fn first_frame(
    first: tokio_tungstenite::tungstenite::Message,
    code: CloseCode,
    reason: &str,
    label: &str,
) {
    use futures::SinkExt as _;
    let open = async |twilio: &mut Twilio| twilio.ws.send(first).await.unwrap();
    refused_after(open, code, reason, label).await;
}

#[tokio::test]
async fn malformed_json_first() {
    first_frame(
        tokio_tungstenite::tungstenite::Message::text("{\"event\": \"start\", oops"),
        CloseCode::Invalid,
        "malformed frame",
        "malformed",
    )
    .await;
}

#[tokio::test]
async fn media_before_start() {
    first_frame(
        tokio_tungstenite::tungstenite::Message::text(
            json!({"event":"media","media":{"payload":"//8="},"streamSid":STREAM_SID}).to_string(),
        ),
        CloseCode::Policy,
        "expected a start frame first",
        "no_start",
    )
    .await;
}

#[tokio::test]
async fn binary_frame_first() {
    first_frame(
        tokio_tungstenite::tungstenite::Message::Binary(vec![0xFF; 160].into()),
        CloseCode::Unsupported,
        "binary",
        "malformed",
    )
    .await;
}

#[tokio::test]
async fn unknown_business_closes_without_an_agent() {
    let (logs, _guard) = Logs::capture();
    let rig = Rig::start(None, |_| {}).await;
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    let token = token_for("no-such-business", CALL_SID, 120, RELAY_KEY);
    // The unverified parameter says demo-boba; only the token counts.
    twilio
        .start_with(CALL_SID, json!({"token": token, "business_id": BUSINESS}))
        .await;
    let close = twilio.closed().await.expect("close");
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason.as_str(), "unknown business");
    let fetched = rig.functions.requests("/internal/agent-config/");
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].path, "/internal/agent-config/no-such-business");
    assert_eq!(
        rig.agent
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    rig.no_calls_left().await;
    assert!(has_line(
        &rig.metrics(),
        "relay_calls_rejected_total{reason=\"unknown_business\"} 1"
    ));
    assert!(
        rig.functions.requests("/internal/usage").is_empty(),
        "nothing to report"
    );
    assert!(
        rig.functions.requests("/2010-04-01/").is_empty(),
        "not our line: no fallback"
    );
    let line = logs.find("agent set-up failed").expect("logged");
    assert_eq!(line["call_sid"], CALL_SID);
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("do not know this business"),
        "{line}"
    );
}

#[tokio::test]
async fn agent_refusing_settings_puts_the_caller_through_to_staff() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    twilio.start().await;
    let mut agent = rig.agent.accept().await;
    assert_eq!(agent.json().await["type"], "Settings");
    agent
        .send_json(
            json!({"type": "Error", "description": "unknown model", "code": "INVALID_SETTINGS"}),
        )
        .await;
    let close = twilio.closed().await.expect("close");
    assert_eq!(close.code, CloseCode::Error);
    assert_eq!(close.reason.as_str(), "voice agent unavailable");
    // Before the stream closed, Twilio was told to dial the staff line.
    let updates = rig.functions.requests("/2010-04-01/");
    assert_eq!(updates.len(), 1, "{updates:?}");
    let twiml = updates[0].twiml();
    assert!(twiml.contains(&format!("<Dial>{STAFF}</Dial>")), "{twiml}");
    rig.no_calls_left().await;
    let metrics = rig.metrics();
    assert!(
        has_line(&metrics, "relay_fallbacks_total{outcome=\"staff\"} 1"),
        "{metrics}"
    );
    assert!(
        has_line(&metrics, "relay_agent_errors_total 1"),
        "{metrics}"
    );
    assert!(
        has_line(
            &metrics,
            "relay_calls_rejected_total{reason=\"agent_unavailable\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn caller_audio_before_settings_applied_is_dropped_not_queued() {
    let mut rig = Rig::start(None, |_| {}).await;
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    twilio.start().await;
    let mut agent = rig.agent.accept().await;
    assert_eq!(agent.json().await["type"], "Settings");
    for _ in 0..5 {
        twilio.media(&[0x11; 160]).await;
    }
    // Let the relay read them before the agent is ready.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    agent.send_json(json!({"type": "SettingsApplied"})).await;
    twilio.media(&[0x22; 160]).await;
    assert_eq!(
        agent.audio().await,
        vec![0x22; 160],
        "only audio after SettingsApplied"
    );
    twilio.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
    assert!(has_line(
        &rig.metrics(),
        "relay_frames_dropped_total{reason=\"agent_not_ready\"} 5"
    ));
}

#[tokio::test]
async fn a_second_stream_with_the_same_token_is_refused() {
    let (logs, _guard) = Logs::capture();
    let mut rig = Rig::start(None, |_| {}).await;
    let token = token();
    let mut first = Twilio::connect(rig.relay.addr()).await;
    first.start_with(CALL_SID, json!({"token": token})).await;
    let (mut agent, _) = rig.agent.accept_ready().await;
    // The replay: a second socket, the same token, while the first call runs.
    let mut replay = Twilio::connect(rig.relay.addr()).await;
    replay.start_with(CALL_SID, json!({"token": token})).await;
    let close = replay.closed().await.expect("close");
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(
        close.reason.as_str(),
        "a stream already started for this call"
    );
    assert!(has_line(
        &rig.metrics(),
        "relay_calls_rejected_total{reason=\"stream_replayed\"} 1"
    ));
    assert_eq!(
        rig.functions.requests("/internal/agent-config/").len(),
        1,
        "the replay never reached the functions"
    );
    assert_eq!(
        rig.agent
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let line = logs.find("stream rejected").expect("logged");
    assert_eq!(line["rejected"], "stream_replayed");
    // The genuine call is untouched.
    for _ in 0..10 {
        first.media(&[0x21; 160]).await;
        if let Ok(audio) =
            tokio::time::timeout(std::time::Duration::from_millis(500), agent.audio()).await
        {
            assert_eq!(audio, vec![0x21; 160]);
            break;
        }
    }
    first.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
    assert_eq!(rig.functions.requests("/internal/usage").len(), 1);
}

/// Another relay instance already streams this call: the functions answer agent-config with
/// 409, and this stream is refused without a fallback (which would redirect the genuine call).
#[tokio::test]
async fn a_stream_the_functions_refuse_is_closed_without_touching_the_call() {
    let rig = Rig::start(Some(STAFF), |_| {}).await;
    rig.functions.state.lock().unwrap().agent_config_status = Some(409);
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    twilio.start().await;
    let close = twilio.closed().await.expect("close");
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason.as_str(), "stream refused for this call");
    rig.no_calls_left().await;
    assert!(has_line(
        &rig.metrics(),
        "relay_calls_rejected_total{reason=\"stream_refused\"} 1"
    ));
    assert!(
        rig.functions.requests("/2010-04-01/").is_empty(),
        "no REST call about a call this stream does not own"
    );
    assert!(rig.functions.requests("/internal/usage").is_empty());
    assert_eq!(
        rig.agent
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}
