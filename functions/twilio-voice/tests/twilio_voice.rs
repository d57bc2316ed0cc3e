//! The twilio-voice handler, natively, over the in-memory store with the repo's sample
//! restaurants imported through the owner API handler.

use futures::executor::block_on;
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::relay::{AgentConfig, StreamToken, UsageReport};
use hostline_shared::store::MemoryStore;
use hostline_shared::twilio::{Form, expected_signature};
use hostline_twilio_voice::handler::{Config, handle};
use serde_json::{Value, json};

const BOBA: &str = include_str!("../../../fixtures/restaurants/demo-boba.json");
const THAI: &str = include_str!("../../../fixtures/restaurants/golden-lotus-thai.json");
const AUTH_TOKEN: &str = "twilio-test-token";
const BASE: &str = "https://hostline.example.com";
const RELAY: &str = "wss://relay.example.com/twilio/media";
const RELAY_KEY: &str = "relay-test-key";
const SERVICE: &str = "service-test-token";
const CALL_SID: &str = "CA11111111111111111111111111111111";

fn now() -> jiff::Timestamp {
    "2026-11-20T18:00:00Z".parse().unwrap()
}

fn config() -> Config {
    Config {
        twilio_auth_token: AUTH_TOKEN.into(),
        public_base_url: format!("{BASE}/"),
        relay_url: RELAY.into(),
        relay_token_key: RELAY_KEY.into(),
        service_token: SERVICE.into(),
    }
}

fn line(doc: &str) -> String {
    let v: Value = serde_json::from_str(doc).unwrap();
    v["business"]["phone_lines"][0]["e164"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn owner(s: &MemoryStore, method: Method, path: &str, body: &str) -> u16 {
    let req = Request::new(method, path)
        .with_header("authorization", "Bearer t")
        .with_body(body);
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
    };
    block_on(hostline_owner_api::handler::handle(&req, s, &cfg, now())).status
}

fn seeded() -> MemoryStore {
    let s = MemoryStore::new();
    assert_eq!(
        owner(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA),
        201
    );
    assert_eq!(
        owner(&s, Method::Put, "/api/v1/businesses/thai/restaurant", THAI),
        201
    );
    s
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A Twilio webhook, signed the way Twilio signs it (over our public URL).
fn twilio(
    s: &MemoryStore,
    path: &str,
    pairs: &[(&str, &str)],
    sign_with: Option<&str>,
) -> Response {
    let body = form_body(pairs);
    let mut req = Request::new(Method::Post, path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.clone());
    if let Some(token) = sign_with {
        let sig = expected_signature(
            token,
            &format!("{BASE}{path}"),
            &Form::parse(body.as_bytes()),
        );
        req = req.with_header("x-twilio-signature", &sig);
    }
    block_on(handle(&req, s, &config(), now()))
}

fn voice(s: &MemoryStore, to: &str) -> Response {
    twilio(
        s,
        "/twilio/voice",
        &[
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("CallSid", CALL_SID),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("From", "+15551230001"),
            ("To", to),
        ],
        Some(AUTH_TOKEN),
    )
}

/// The `value` of `<Parameter name="...">` in TwiML.
fn param(twiml: &str, name: &str) -> String {
    let marker = format!(r#"<Parameter name="{name}" value=""#);
    let start = twiml
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {twiml}"))
        + marker.len();
    twiml[start..][..twiml[start..].find('"').unwrap()].to_owned()
}

#[test]
fn an_active_line_connects_to_the_relay_with_a_token_binding_business_line_and_call() {
    let s = seeded();
    let r = voice(&s, &line(BOBA));
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "text/xml")
    );
    let xml = r.body_str();
    assert!(
        xml.contains(&format!(r#"<Connect><Stream url="{RELAY}">"#)),
        "{xml}"
    );
    // After the stream, if the caller is still there: a sentence, not dead air.
    assert!(
        xml.contains(&format!(
            "</Connect><Say>{}</Say></Response>",
            hostline_twilio_voice::voice::CUT_OFF.replace('\'', "&apos;")
        )),
        "{xml}"
    );
    assert_eq!(param(xml, "business_id"), "boba");
    assert_eq!(param(xml, "call_sid"), CALL_SID);
    let token = param(xml, "token");
    let claims =
        StreamToken::verify(&token, RELAY_KEY.as_bytes(), now().as_second(), CALL_SID).unwrap();
    assert_eq!(
        (claims.business_id.as_str(), claims.line.as_str()),
        ("boba", line(BOBA).as_str())
    );
    // Short-lived, and bound to this call.
    assert!(
        StreamToken::verify(
            &token,
            RELAY_KEY.as_bytes(),
            now().as_second() + 3600,
            CALL_SID
        )
        .is_err()
    );
    assert!(
        StreamToken::verify(
            &token,
            RELAY_KEY.as_bytes(),
            now().as_second(),
            "CA22222222222222222222222222222222"
        )
        .is_err()
    );
    assert!(StreamToken::verify(&token, b"another key", now().as_second(), CALL_SID).is_err());
}

#[test]
fn the_signature_is_required_and_checked_against_our_public_url() {
    let s = seeded();
    let pairs = [("CallSid", CALL_SID), ("To", "+14155550188")];
    assert_eq!(twilio(&s, "/twilio/voice", &pairs, None).status, 403);
    assert_eq!(
        twilio(&s, "/twilio/voice", &pairs, Some("wrong-token")).status,
        403
    );
    // Signed for another host (as if a Host header had been trusted): refused.
    let body = form_body(&pairs);
    let sig = expected_signature(
        AUTH_TOKEN,
        "https://attacker.example/twilio/voice",
        &Form::parse(body.as_bytes()),
    );
    let req = Request::new(Method::Post, "/twilio/voice")
        .with_header("x-twilio-signature", &sig)
        .with_header("host", "attacker.example")
        .with_body(body);
    assert_eq!(block_on(handle(&req, &s, &config(), now())).status, 403);
    // A tampered parameter breaks the signature.
    let body = form_body(&pairs);
    let sig = expected_signature(
        AUTH_TOKEN,
        &format!("{BASE}/twilio/voice"),
        &Form::parse(body.as_bytes()),
    );
    let req = Request::new(Method::Post, "/twilio/voice")
        .with_header("x-twilio-signature", &sig)
        .with_body(body.replace("0188", "0189"));
    assert_eq!(block_on(handle(&req, &s, &config(), now())).status, 403);
}

#[test]
fn unknown_inactive_and_out_of_balance_lines_are_refused() {
    let s = seeded();
    let r = voice(&s, "+19995550000");
    assert!(r.body_str().contains("<Reject"), "{}", r.body_str());
    assert!(
        voice(&s, "sip:someone@example.com")
            .body_str()
            .contains("<Reject")
    );

    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/thai",
            r#"{"active": false}"#
        ),
        200
    );
    let xml = voice(&s, &line(THAI)).body_str().to_owned();
    assert!(
        xml.contains("<Say>") && xml.contains("<Hangup />") && xml.contains("Golden Lotus"),
        "{xml}"
    );
    assert!(!xml.contains("<Stream"));

    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/boba",
            r#"{"balance_seconds": 0}"#
        ),
        200
    );
    let xml = voice(&s, &line(BOBA)).body_str().to_owned();
    assert!(
        xml.contains("unavailable") && xml.contains("<Hangup />") && !xml.contains("<Stream"),
        "{xml}"
    );
    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/boba",
            r#"{"balance_seconds": 60}"#
        ),
        200
    );
    assert!(voice(&s, &line(BOBA)).body_str().contains("<Stream"));
}

#[test]
fn bad_forms_name_the_field() {
    let s = seeded();
    let r = twilio(
        &s,
        "/twilio/voice",
        &[("CallSid", CALL_SID)],
        Some(AUTH_TOKEN),
    );
    assert_eq!(r.status, 400);
    assert!(r.body_str().contains(r#""field":"To""#), "{}", r.body_str());
    let r = twilio(
        &s,
        "/twilio/voice",
        &[("To", "+14155550188"), ("CallSid", "../../etc")],
        Some(AUTH_TOKEN),
    );
    assert_eq!(r.status, 400);
    assert!(r.body_str().contains("CallSid"));
    let r = twilio(
        &s,
        "/twilio/status",
        &[
            ("CallSid", CALL_SID),
            ("CallStatus", "completed"),
            ("CallDuration", "ten"),
        ],
        Some(AUTH_TOKEN),
    );
    assert!(
        r.status == 400 && r.body_str().contains("CallDuration"),
        "{}",
        r.body_str()
    );
}

#[test]
fn status_callbacks_are_recorded_once_each() {
    let s = seeded();
    voice(&s, &line(BOBA));
    let status = |st: &str, dur: Option<&str>| {
        let mut pairs = vec![
            ("CallSid", CALL_SID),
            ("CallStatus", st),
            ("To", "+14155550188"),
        ];
        if let Some(d) = dur {
            pairs.push(("CallDuration", d));
        }
        twilio(&s, "/twilio/status", &pairs, Some(AUTH_TOKEN)).status
    };
    assert_eq!(status("in-progress", None), 204);
    assert_eq!(status("completed", Some("42")), 204);
    assert_eq!(status("completed", Some("42")), 204);
    let rec: Value = stored(&s, &format!("biz/boba/calls/{CALL_SID}"));
    assert_eq!(rec["disposition"], "connected");
    let statuses: Vec<&str> = rec["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["in-progress", "completed"]);
    assert_eq!(rec["statuses"][1]["duration_seconds"], 42);
    // Unsigned callbacks are refused like the voice webhook.
    let r = twilio(
        &s,
        "/twilio/status",
        &[("CallSid", CALL_SID), ("CallStatus", "completed")],
        None,
    );
    assert_eq!(r.status, 403);
}

fn internal(s: &MemoryStore, method: Method, path: &str, body: &str, token: &str) -> (u16, Value) {
    let req = Request::new(method, path)
        .with_header("authorization", &format!("Bearer {token}"))
        .with_body(body);
    let r = block_on(handle(&req, s, &config(), now()));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

#[test]
fn agent_config_for_the_relay() {
    let s = seeded();
    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/boba",
            r#"{"transfer_to": "+14155550999"}"#
        ),
        200
    );
    let (st, v) = internal(&s, Method::Get, "/internal/agent-config/boba", "", SERVICE);
    assert_eq!(st, 200, "{v}");
    let cfg: AgentConfig = serde_json::from_value(v).unwrap();
    let doc: Value = serde_json::from_str(BOBA).unwrap();
    assert_eq!(cfg.greeting, doc["business"]["greeting"].as_str().unwrap());
    assert!(cfg.prompt.contains("Cloud Nine Boba"));
    assert!(cfg.keyterms.iter().any(|k| k == "Taro Milk Tea"));
    let names: Vec<&str> = cfg.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"get_menu_info") && names.contains(&"get_hours_info"));
    assert!(
        cfg.functions
            .iter()
            .all(|f| f.path == "/vapi/knowledge-base")
    );
    assert_eq!(cfg.transfer_to.as_deref(), Some("+14155550999"));

    assert_eq!(
        internal(&s, Method::Get, "/internal/agent-config/boba", "", "wrong").0,
        401
    );
    assert_eq!(
        internal(&s, Method::Get, "/internal/agent-config/boba", "", "").0,
        401
    );
    assert_eq!(
        internal(
            &s,
            Method::Get,
            "/internal/agent-config/nobody",
            "",
            SERVICE
        )
        .0,
        404
    );
    assert_eq!(
        internal(&s, Method::Get, "/internal/agent-config/Bad!", "", SERVICE).0,
        400
    );
    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/thai",
            r#"{"active": false}"#
        ),
        200
    );
    assert_eq!(
        internal(&s, Method::Get, "/internal/agent-config/thai", "", SERVICE).0,
        409
    );
    // An unset service token locks the internal routes.
    let req = Request::new(Method::Get, "/internal/agent-config/boba")
        .with_header("authorization", "Bearer ");
    let cfg = Config {
        service_token: String::new(),
        ..config()
    };
    assert_eq!(block_on(handle(&req, &s, &cfg, now())).status, 401);
}

/// The JSON stored under `key`.
fn stored(s: &MemoryStore, key: &str) -> Value {
    let entry = block_on(hostline_shared::store::Store::get(s, key))
        .unwrap()
        .unwrap_or_else(|| panic!("nothing stored at {key}"));
    serde_json::from_slice(&entry.value).unwrap()
}

fn report(seconds: u32) -> UsageReport {
    UsageReport {
        business_id: "boba".into(),
        call_sid: CALL_SID.into(),
        started_at: "2026-11-20T18:00:00Z".into(),
        ended_at: "2026-11-20T18:03:05Z".into(),
        seconds,
        frames_in: 9250,
        frames_out: 4100,
        function_calls: 2,
        turns_played: 3,
        turns_interrupted: 1,
        barge_ins: 1,
        ended_by: hostline_shared::relay::CallEnd::Caller,
    }
}

#[test]
fn usage_is_recorded_and_charged_once() {
    let s = seeded();
    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/boba",
            r#"{"balance_seconds": 600}"#
        ),
        200
    );
    voice(&s, &line(BOBA));
    let body = serde_json::to_string(&report(185)).unwrap();
    assert_eq!(
        internal(&s, Method::Post, "/internal/usage", &body, SERVICE).0,
        204
    );
    // The relay retries: acknowledged, not charged again.
    assert_eq!(
        internal(&s, Method::Post, "/internal/usage", &body, SERVICE).0,
        204
    );
    let req = Request::new(Method::Get, "/api/v1/businesses/boba")
        .with_header("authorization", "Bearer t");
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
    };
    let b: Value = serde_json::from_slice(
        &block_on(hostline_owner_api::handler::handle(&req, &s, &cfg, now())).body,
    )
    .unwrap();
    assert_eq!(b["balance_seconds"], 600 - 185);
    let day: Value = stored(&s, "biz/boba/usage/2026-11-20");
    assert_eq!(day, json!({"calls": 1, "seconds": 185}));
    let call: Value = stored(&s, &format!("biz/boba/calls/{CALL_SID}"));
    assert_eq!(
        (
            &call["usage"]["turns_played"],
            &call["usage"]["turns_interrupted"],
            &call["usage"]["barge_ins"]
        ),
        (&json!(3), &json!(1), &json!(1)),
        "{call}"
    );

    assert_eq!(
        internal(&s, Method::Post, "/internal/usage", &body, "wrong").0,
        401
    );
    let (st, v) = internal(
        &s,
        Method::Post,
        "/internal/usage",
        r#"{"business_id":"boba"}"#,
        SERVICE,
    );
    assert_eq!(st, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("call_sid") || v["field"].is_string(),
        "{v}"
    );
    let mut bad = report(1);
    bad.ended_at = "yesterday".into();
    let (st, v) = internal(
        &s,
        Method::Post,
        "/internal/usage",
        &serde_json::to_string(&bad).unwrap(),
        SERVICE,
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("ended_at")));
    let mut unknown = report(1);
    unknown.business_id = "nobody".into();
    assert_eq!(
        internal(
            &s,
            Method::Post,
            "/internal/usage",
            &serde_json::to_string(&unknown).unwrap(),
            SERVICE
        )
        .0,
        404
    );
}
