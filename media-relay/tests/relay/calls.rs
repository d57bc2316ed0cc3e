//! Full call flows: fake Twilio ⇄ relay ⇄ fake agent, with the fake functions behind.

use std::time::Duration;

use base64::Engine as _;
use futures::SinkExt as _;
use media_relay::call::{FILLER, NO_TRANSFER, NO_TRANSFER_SAY, TOOL_TOO_SLOW, TOOL_UNKNOWN};
use media_relay::transfer::{AGENT_DOWN, AGENT_DOWN_CONNECTING};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::*;

/// µ-law audio that is not silence, so byte-exactness means something.
/// The call SID of the verified stream token a request to the functions carried.
fn stream_token_call(seen: &Seen) -> String {
    let token = seen.stream_token.as_deref().expect("a stream token header");
    hostline_shared::relay::StreamToken::verify_signature(token, RELAY_KEY)
        .expect("the token the relay verified")
        .call_sid
}

fn audio(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn greeting_and_caller_audio_pass_through_byte_exact() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let (mut twilio, mut agent, settings) = rig.call().await;

    // Settings carry the business's configuration, µ-law 8 kHz both ways.
    assert_eq!(
        agent.authorization.as_deref(),
        Some("Token test-deepgram-key")
    );
    assert_eq!(agent.path, "/v1/agent/converse");
    assert_eq!(
        settings["audio"]["input"],
        json!({"encoding": "mulaw", "sample_rate": 8000})
    );
    assert_eq!(
        settings["audio"]["output"],
        json!({"encoding": "mulaw", "sample_rate": 8000, "container": "none"})
    );
    let config = agent_config(Some(STAFF));
    assert_eq!(settings["agent"]["greeting"], config.greeting.as_str());
    assert_eq!(settings["agent"]["think"]["prompt"], config.prompt.as_str());
    assert_eq!(settings["agent"]["language"], "en");
    assert_eq!(
        settings["agent"]["listen"]["provider"]["keyterms"],
        json!(["taro", "boba"])
    );
    let names: Vec<&str> = settings["agent"]["think"]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["get_menu_info", "get_hours_info", "transfer_to_staff"]
    );
    // The config was fetched for the token's business with the service token and the
    // call's stream token.
    let fetched = rig.functions.wait_for("/internal/agent-config/").await;
    assert_eq!(fetched.path, format!("/internal/agent-config/{BUSINESS}"));
    assert_eq!(
        fetched.authorization.as_deref(),
        Some("Bearer test-service-token")
    );
    assert_eq!(stream_token_call(&fetched), CALL_SID);

    // Greeting: agent binary audio reaches the caller unchanged, a long chunk split in order.
    let greeting = [audio(160, 1), audio(160, 2), audio(5000, 3)];
    for chunk in &greeting {
        agent.send_audio(chunk).await;
    }
    agent.send_json(json!({"type": "AgentAudioDone"})).await;
    let mut heard = Vec::new();
    while heard.len() < 5320 {
        heard.extend(twilio.media_audio().await);
    }
    assert_eq!(heard, greeting.concat());
    let mark = twilio.json().await;
    assert_eq!(
        mark,
        json!({"event": "mark", "streamSid": STREAM_SID, "mark": {"name": "agent-turn-1"}})
    );

    // Caller audio reaches the agent frame by frame, byte for byte.
    for seed in 0..20u8 {
        let frame = audio(160, seed);
        twilio.media(&frame).await;
        assert_eq!(agent.audio().await, frame);
    }
    // Twilio played the greeting.
    twilio.mark("agent-turn-1").await;

    // The caller hangs up: the agent socket is closed, usage is reported, no task is left.
    twilio.stop().await;
    let close = agent.closed().await.expect("close frame");
    assert_eq!(close.code, CloseCode::Normal);
    let usage = rig.functions.usage().await;
    assert_eq!(usage["business_id"], BUSINESS);
    assert_eq!(usage["call_sid"], CALL_SID);
    assert_eq!(usage["frames_in"], 21, "20 + the one `Rig::call` sends");
    assert_eq!(
        usage["frames_out"], 4,
        "160 + 160 + 5000 bytes in 3200-byte frames"
    );
    assert_eq!(usage["ended_by"], "caller");
    assert!(usage["seconds"].as_u64().unwrap() >= 1);
    let posted = rig.functions.wait_for("/internal/usage").await;
    assert_eq!(
        posted.authorization.as_deref(),
        Some("Bearer test-service-token")
    );
    assert_eq!(
        stream_token_call(&posted),
        CALL_SID,
        "the report carries the stream token"
    );
    assert!(matches!(twilio.closed().await, Some(f) if f.code == CloseCode::Normal));
    rig.no_calls_left().await;
    let metrics = rig.metrics();
    for line in [
        "relay_calls_active 0",
        "relay_calls_total 1",
        "relay_frames_in_total 21",
        "relay_frames_out_total 4",
        "relay_calls_ended_total{ended_by=\"caller\"} 1",
        "relay_agent_turns_total{outcome=\"played\"} 1",
        "relay_usage_reports_total{outcome=\"ok\"} 1",
    ] {
        assert!(has_line(&metrics, line), "missing {line} in\n{metrics}");
    }
}

#[tokio::test]
async fn function_calls_round_trip_through_the_tool_endpoints() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (_twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": "fc_1", "name": "get_menu_info", "arguments": "{\"query\": \"taro milk tea\"}", "client_side": true},
            {"id": "fc_2", "name": "get_hours_info", "arguments": "{}", "client_side": true},
            {"id": "fc_3", "name": "order_pizza_from_elsewhere", "arguments": "{}", "client_side": true},
            {"id": "fc_4", "name": "get_menu_info", "arguments": "{}", "client_side": false},
        ]}))
        .await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(agent.json_of("FunctionCallResponse").await);
    }
    answers.sort_by_key(|a| a["id"].as_str().unwrap().to_owned());
    assert_eq!(
        answers[0],
        json!({"type": "FunctionCallResponse", "id": "fc_1", "name": "get_menu_info",
            "content": "get_menu_info answered {\"query\":\"taro milk tea\"}"})
    );
    assert_eq!(answers[1]["id"], "fc_2");
    assert_eq!(answers[1]["content"], "get_hours_info answered {}");
    assert_eq!(answers[2]["id"], "fc_3");
    assert_eq!(answers[2]["content"], TOOL_UNKNOWN);

    // The tool endpoint got a Vapi tool-calls message for the token's line, with the call's
    // tool credential from the agent configuration (and not the service token).
    let calls = rig.functions.requests("/vapi/knowledge-base");
    assert_eq!(
        calls.len(),
        2,
        "the server-side call is not ours to run: {calls:?}"
    );
    let menu = calls
        .iter()
        .map(Seen::json)
        .find(|b| b["message"]["toolCallList"][0]["id"] == "fc_1")
        .unwrap();
    assert_eq!(
        menu,
        json!({"message": {"type": "tool-calls", "call": {"id": CALL_SID}, "phoneNumber": {"number": LINE},
            "toolCallList": [{"id": "fc_1", "type": "function",
                "function": {"name": "get_menu_info", "arguments": {"query": "taro milk tea"}}}]}})
    );
    assert!(
        calls
            .iter()
            .all(|c| c.tool_token.as_deref() == Some(TOOL_TOKEN)
                && c.authorization.is_none()
                && c.method == "POST")
    );
    let metrics = rig.metrics();
    assert!(
        has_line(&metrics, "relay_tool_calls_total{outcome=\"ok\"} 2"),
        "{metrics}"
    );
    assert!(
        has_line(&metrics, "relay_tool_calls_total{outcome=\"unknown\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn slow_tool_gets_one_filler_then_its_answer() {
    let mut rig = Rig::start(None, |c| {
        c.limits.tool_filler_after = Duration::from_millis(100);
        c.limits.tool_deadline = Duration::from_secs(3);
    })
    .await;
    rig.functions.set_tool_delay(Duration::from_millis(500));
    let (_twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": "fc_1", "name": "get_menu_info", "arguments": "{\"query\":\"taro\"}", "client_side": true},
            {"id": "fc_2", "name": "get_hours_info", "arguments": "{}", "client_side": true}]}))
        .await;
    assert_eq!(
        agent.json().await,
        json!({"type": "InjectAgentMessage", "message": FILLER})
    );
    let first = agent.json_of("FunctionCallResponse").await;
    let second = agent.json_of("FunctionCallResponse").await;
    let mut ids = [
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    ];
    ids.sort();
    assert_eq!(
        ids,
        ["fc_1", "fc_2"],
        "one filler for the request, then both answers"
    );
}

#[tokio::test]
async fn tool_deadline_answers_with_an_apology() {
    let mut rig = Rig::start(None, |c| {
        c.limits.tool_filler_after = Duration::from_millis(50);
        c.limits.tool_deadline = Duration::from_millis(300);
    })
    .await;
    rig.functions.set_tool_delay(Duration::from_secs(3));
    let (_twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": "fc_slow", "name": "get_menu_info", "arguments": "{}", "client_side": true}]}))
        .await;
    assert_eq!(agent.json().await["type"], "InjectAgentMessage");
    assert_eq!(
        agent.json_of("FunctionCallResponse").await,
        json!({"type": "FunctionCallResponse", "id": "fc_slow", "name": "get_menu_info", "content": TOOL_TOO_SLOW})
    );
    assert!(has_line(
        &rig.metrics(),
        "relay_tool_calls_total{outcome=\"timeout\"} 1"
    ));
}

#[tokio::test]
async fn cancelled_function_calls_are_not_answered() {
    let mut rig = Rig::start(None, |c| {
        c.limits.tool_filler_after = Duration::from_secs(60)
    })
    .await;
    rig.functions.set_tool_delay(Duration::from_millis(300));
    let (mut twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": "fc_gone", "name": "get_menu_info", "arguments": "{}", "client_side": true},
            {"id": "fc_kept", "name": "get_hours_info", "arguments": "{}", "client_side": true}]}))
        .await;
    agent
        .send_json(json!({"type": "FunctionCallCancelled", "functions": [{"id": "fc_gone", "name": "get_menu_info"}]}))
        .await;
    assert_eq!(agent.json_of("FunctionCallResponse").await["id"], "fc_kept");
    // Nothing else arrives for the cancelled call: the next thing the agent sees is audio.
    tokio::time::sleep(Duration::from_millis(400)).await;
    twilio.media(&audio(160, 9)).await;
    assert_eq!(agent.audio().await, audio(160, 9));
}

#[tokio::test]
async fn barge_in_clears_twilio_before_the_next_media_and_marks_track_playback() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;

    // Turn 1 plays to the end.
    agent.send_audio(&audio(160, 1)).await;
    agent.send_json(json!({"type": "AgentAudioDone"})).await;
    assert_eq!(twilio.media_audio().await, audio(160, 1));
    assert_eq!(twilio.json().await["mark"]["name"], "agent-turn-1");
    twilio.mark("agent-turn-1").await;
    // Caller audio after the echo: once the agent has it, the relay has read the echo too.
    twilio.media(&audio(160, 8)).await;
    assert_eq!(agent.audio().await, audio(160, 8));

    // Turn 2 is sent, then the caller talks over it.
    agent.send_audio(&audio(160, 2)).await;
    agent.send_json(json!({"type": "AgentAudioDone"})).await;
    agent
        .send_json(json!({"type": "UserStartedSpeaking"}))
        .await;
    agent.send_audio(&audio(160, 3)).await;
    assert_eq!(twilio.media_audio().await, audio(160, 2));
    assert_eq!(twilio.json().await["mark"]["name"], "agent-turn-2");
    assert_eq!(
        twilio.json().await,
        json!({"event": "clear", "streamSid": STREAM_SID})
    );
    assert_eq!(
        twilio.media_audio().await,
        audio(160, 3),
        "audio after the clear comes after it"
    );
    // Twilio returns the cleared mark: that turn was interrupted, not played.
    twilio.mark("agent-turn-2").await;

    twilio.stop().await;
    agent.closed().await;
    let usage = rig.functions.usage().await;
    assert_eq!(
        (
            &usage["turns_played"],
            &usage["turns_interrupted"],
            &usage["barge_ins"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{usage}"
    );
    rig.no_calls_left().await;
    let metrics = rig.metrics();
    assert!(
        has_line(&metrics, "relay_agent_turns_total{outcome=\"played\"} 1"),
        "{metrics}"
    );
    assert!(
        has_line(
            &metrics,
            "relay_agent_turns_total{outcome=\"interrupted\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn dtmf_zero_transfers_to_the_staff_line() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.dtmf("5").await;
    twilio.dtmf("0").await;
    let update = rig.functions.wait_for("/2010-04-01/").await;
    assert_eq!(update.method, "POST");
    assert_eq!(
        update.path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Calls/{CALL_SID}.json")
    );
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"));
    assert_eq!(update.authorization, Some(format!("Basic {basic}")));
    let twiml = update.twiml();
    assert!(twiml.contains(&format!("<Dial>{STAFF}</Dial>")), "{twiml}");
    assert!(
        twiml.contains("<Say>Connecting you to the restaurant now.</Say>"),
        "{twiml}"
    );
    // The relay lets go of both sides.
    assert!(matches!(twilio.closed().await, Some(f) if f.code == CloseCode::Normal));
    agent.closed().await;
    assert_eq!(rig.functions.usage().await["ended_by"], "transferred");
    assert!(has_line(
        &rig.metrics(),
        "relay_transfers_total{outcome=\"ok\"} 1"
    ));
}

#[tokio::test]
async fn transfer_function_hands_the_call_to_staff() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": "fc_t", "name": "transfer_to_staff", "arguments": "{}", "client_side": true}]}))
        .await;
    let update = rig.functions.wait_for("/2010-04-01/").await;
    assert!(update.body.contains("Dial"), "{}", update.body);
    twilio.closed().await;
    agent.closed().await;
    let usage = rig.functions.usage().await;
    assert_eq!(usage["ended_by"], "transferred");
    assert_eq!(usage["function_calls"], 1);
}

#[tokio::test]
async fn transfer_without_a_staff_line_is_explained_to_the_agent() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (mut twilio, mut agent, settings) = rig.call().await;
    assert_eq!(
        settings["agent"]["think"]["functions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    agent
        .send_json(json!({"type": "FunctionCallRequest", "functions": [
            {"id": "fc_t", "name": "transfer_to_staff", "arguments": "{}", "client_side": true}]}))
        .await;
    assert_eq!(
        agent.json_of("FunctionCallResponse").await["content"],
        NO_TRANSFER
    );
    twilio.dtmf("0").await;
    assert_eq!(
        agent.json_of("InjectAgentMessage").await,
        json!({"type": "InjectAgentMessage", "message": NO_TRANSFER_SAY})
    );
    assert!(rig.functions.requests("/2010-04-01/").is_empty());
}

#[tokio::test]
async fn failed_transfer_keeps_the_call() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    rig.functions.state.lock().unwrap().twilio_status = Some(500);
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.dtmf("0").await;
    assert_eq!(
        agent.json_of("InjectAgentMessage").await["message"],
        media_relay::call::TRANSFER_FAILED_SAY
    );
    twilio.media(&audio(160, 4)).await;
    assert_eq!(agent.audio().await, audio(160, 4), "the call goes on");
    assert!(has_line(
        &rig.metrics(),
        "relay_transfers_total{outcome=\"failed\"} 1"
    ));
}

/// A sentence as it appears inside TwiML.
fn xml(sentence: &str) -> String {
    sentence.replace('\'', "&apos;")
}

/// The one Twilio REST update made for this call (checked when the stream has closed: the
/// relay makes it before closing).
fn only_update(rig: &Rig) -> String {
    let updates = rig.functions.requests("/2010-04-01/");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(
        updates[0].path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Calls/{CALL_SID}.json")
    );
    updates[0].twiml()
}

#[tokio::test]
async fn agent_closing_ends_the_call_with_an_apology() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    agent.close().await;
    let close = twilio.closed().await.expect("close frame");
    assert_eq!(close.code, CloseCode::Normal);
    assert_eq!(close.reason.as_str(), "the agent ended the call");
    // No staff line: Twilio apologises and hangs up instead of dropping the caller silently.
    let twiml = only_update(&rig);
    assert!(twiml.contains(&xml(AGENT_DOWN)), "{twiml}");
    assert!(twiml.contains("<Hangup"), "{twiml}");
    assert!(!twiml.contains("<Dial"), "{twiml}");
    assert_eq!(rig.functions.usage().await["ended_by"], "agent");
    rig.no_calls_left().await;
    assert!(has_line(
        &rig.metrics(),
        "relay_fallbacks_total{outcome=\"apology\"} 1"
    ));
}

#[tokio::test]
async fn agent_error_hands_the_caller_to_staff_and_is_counted() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(
            json!({"type": "Error", "description": "LLM unavailable", "code": "THINK_FAILED"}),
        )
        .await;
    assert_eq!(twilio.closed().await.expect("close").code, CloseCode::Error);
    agent.closed().await;
    let twiml = only_update(&rig);
    assert!(twiml.contains(&format!("<Dial>{STAFF}</Dial>")), "{twiml}");
    assert!(twiml.contains(&xml(AGENT_DOWN_CONNECTING)), "{twiml}");
    assert_eq!(rig.functions.usage().await["ended_by"], "agent");
    let metrics = rig.metrics();
    assert!(has_line(&metrics, "relay_agent_errors_total 1"));
    assert!(has_line(
        &metrics,
        "relay_fallbacks_total{outcome=\"staff\"} 1"
    ));
}

#[tokio::test]
async fn agent_failure_without_twilio_credentials_leaves_the_call_to_its_twiml() {
    let mut rig = Rig::start(Some(STAFF), |config| {
        config.secrets.twilio_account_sid = None;
    })
    .await;
    let (mut twilio, mut agent, _) = rig.call().await;
    agent.close().await;
    twilio.closed().await;
    rig.no_calls_left().await;
    assert!(rig.functions.requests("/2010-04-01/").is_empty());
    assert!(has_line(
        &rig.metrics(),
        "relay_fallbacks_total{outcome=\"not_configured\"} 1"
    ));
}

#[tokio::test]
async fn caller_hanging_up_needs_no_fallback() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
    assert!(rig.functions.requests("/2010-04-01/").is_empty());
}

#[tokio::test]
async fn unknown_agent_messages_are_ignored() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    agent
        .send_json(json!({"type": "History", "role": "user", "content": "hi"}))
        .await;
    agent
        .send_json(json!({"type": "ConversationText", "role": "user", "content": "hi"}))
        .await;
    agent
        .ws
        .send(Message::text("not json at all"))
        .await
        .unwrap();
    agent.send_audio(&audio(160, 7)).await;
    assert_eq!(twilio.media_audio().await, audio(160, 7));
}

#[tokio::test]
async fn idle_caller_ends_the_call() {
    let mut rig = Rig::start(None, |c| c.limits.idle_timeout = Duration::from_millis(300)).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    let close = twilio.closed().await.expect("close");
    assert_eq!(close.reason.as_str(), "no audio from the caller");
    agent.closed().await;
    assert_eq!(rig.functions.usage().await["ended_by"], "idle");
}

#[tokio::test]
async fn keepalive_flows_when_no_audio_does() {
    let mut rig = Rig::start(None, |c| {
        c.limits.keepalive_interval = Duration::from_millis(100)
    })
    .await;
    let (_twilio, mut agent, _) = rig.call().await;
    assert_eq!(agent.json().await, json!({"type": "KeepAlive"}));
}

#[tokio::test]
async fn maximum_call_length_ends_the_call() {
    let mut rig = Rig::start(None, |c| c.limits.max_call = Duration::from_millis(300)).await;
    let (mut twilio, _agent, _) = rig.call().await;
    assert_eq!(
        twilio.closed().await.expect("close").reason.as_str(),
        "maximum call length reached"
    );
    assert_eq!(rig.functions.usage().await["ended_by"], "max_duration");
}

#[tokio::test]
async fn malformed_frame_mid_call_closes_with_a_reason() {
    let mut rig = Rig::start(None, |_| {}).await;
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.send_text("{\"event\":\"media\",\"media\":").await;
    let close = twilio.closed().await.expect("close");
    assert_eq!(close.code, CloseCode::Invalid);
    assert!(
        close.reason.as_str().starts_with("malformed frame"),
        "{}",
        close.reason
    );
    agent.closed().await;
    assert_eq!(rig.functions.usage().await["ended_by"], "error");
}

#[tokio::test]
async fn dtmf_zero_during_setup_transfers_once_the_agent_is_ready() {
    let mut rig = Rig::start(Some(STAFF), |_| {}).await;
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    twilio.start().await;
    let mut agent = rig.agent.accept().await;
    assert_eq!(agent.json().await["type"], "Settings");
    twilio.dtmf("0").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        rig.functions.requests("/2010-04-01/").is_empty(),
        "not before the call is up"
    );
    agent.send_json(json!({"type": "SettingsApplied"})).await;
    assert!(
        rig.functions
            .wait_for("/2010-04-01/")
            .await
            .body
            .contains("Dial")
    );
    twilio.closed().await;
    assert_eq!(rig.functions.usage().await["ended_by"], "transferred");
}

#[tokio::test]
async fn a_failed_usage_report_is_retried_until_accepted() {
    let mut rig = Rig::start(None, |_| {}).await;
    rig.functions.state.lock().unwrap().usage_failures = 3;
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
    let posts = rig.functions.requests("/internal/usage");
    assert_eq!(posts.len(), 4, "three 503s, then accepted");
    assert!(
        posts.iter().all(|p| p.body == posts[0].body),
        "the same report each time"
    );
    assert!(has_line(
        &rig.metrics(),
        "relay_usage_reports_total{outcome=\"ok\"} 1"
    ));
}

#[tokio::test]
async fn usage_report_retries_are_bounded() {
    let mut rig = Rig::start(None, |c| c.limits.report_attempts = 3).await;
    rig.functions.state.lock().unwrap().usage_failures = 100;
    let (mut twilio, mut agent, _) = rig.call().await;
    twilio.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
    assert_eq!(rig.functions.requests("/internal/usage").len(), 3);
    assert!(has_line(
        &rig.metrics(),
        "relay_usage_reports_total{outcome=\"failed\"} 1"
    ));
}
