//! The twilio-voice handler, natively, over the in-memory store with the repo's sample
//! restaurants (test-support's seeded store).

use futures::executor::block_on;
use hostline_shared::credential::ToolCredential;
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::relay::{AgentConfig, STREAM_TOKEN_HEADER, StreamToken, UsageReport};
use hostline_shared::store::{FaultyStore, MemoryStore, Store};
use hostline_shared::twilio::{Form, expected_signature};
use hostline_test_support::fixtures::{BOBA, THAI, lines_of, seeded};
use hostline_twilio_voice::handler::{Config, handle};
use serde_json::{Value, json};

const AUTH_TOKEN: &str = "twilio-test-token";
const BASE: &str = "https://hostline.example.com";
const RELAY: &str = "wss://relay.example.com/twilio/media";
const RELAY_KEY: &str = "relay-test-key";
const SERVICE: &str = "service-test-token";
const TOOL_KEY: &str = "tool-test-key";
const CALL_SID: &str = "CA11111111111111111111111111111111";
const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";

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
        tool_token_key: TOOL_KEY.into(),
    }
}

fn line(doc: &str) -> String {
    lines_of(doc)[0].clone()
}

fn owner(s: &MemoryStore, method: Method, path: &str, body: &str) -> u16 {
    let req = Request::new(method, path)
        .with_header("authorization", "Bearer t")
        .with_body(body);
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
        jwt_key: String::new(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: String::new(),
    };
    block_on(hostline_owner_api::handler::handle(&req, s, &cfg, now())).status
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A Twilio webhook, signed the way Twilio signs it (over our public URL).
fn twilio<S: Store>(
    s: &S,
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

fn voice<S: Store>(s: &S, to: &str) -> Response {
    voice_call(s, to, CALL_SID)
}

fn voice_call<S: Store>(s: &S, to: &str, call_sid: &str) -> Response {
    twilio(
        s,
        "/twilio/voice",
        &[
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", call_sid),
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
    let xml = voice_call(&s, &line(THAI), "CA00000000000000000000000000000002")
        .body_str()
        .to_owned();
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
    let xml = voice_call(&s, &line(BOBA), "CA00000000000000000000000000000003")
        .body_str()
        .to_owned();
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
    assert!(
        voice_call(&s, &line(BOBA), "CA00000000000000000000000000000004")
            .body_str()
            .contains("<Stream")
    );
    // A retry of the refused call is answered from its first record: still refused.
    assert!(
        !voice_call(&s, &line(BOBA), "CA00000000000000000000000000000003")
            .body_str()
            .contains("<Stream")
    );
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
    relay(s, method, path, body, token, None, now())
}

/// A request from the relay: bearer `token`, and the call's stream token if given.
fn relay<S: Store>(
    s: &S,
    method: Method,
    path: &str,
    body: &str,
    token: &str,
    stream_token: Option<&str>,
    at: jiff::Timestamp,
) -> (u16, Value) {
    let mut req = Request::new(method, path)
        .with_header("authorization", &format!("Bearer {token}"))
        .with_body(body);
    if let Some(t) = stream_token {
        req = req.with_header(STREAM_TOKEN_HEADER, t);
    }
    let r = block_on(handle(&req, s, &config(), at));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// The stream token of a connected call's TwiML.
fn token_of(r: &Response) -> String {
    param(r.body_str(), "token")
}

/// The agent configuration for the call whose stream token this is.
fn agent_config_for<S: Store>(s: &S, business: &str, token: &str) -> (u16, Value) {
    relay(
        s,
        Method::Get,
        &format!("/internal/agent-config/{business}"),
        "",
        SERVICE,
        Some(token),
        now(),
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
    let token = token_of(&voice(&s, &line(BOBA)));
    let (st, v) = agent_config_for(&s, "boba", &token);
    assert_eq!(st, 200, "{v}");
    let cfg: AgentConfig = serde_json::from_value(v).unwrap();
    // The tool credential is bound to the token's business and line.
    let cred =
        ToolCredential::verify(&cfg.tool_token, TOOL_KEY.as_bytes(), now().as_second()).unwrap();
    assert_eq!(
        (cred.business_id.as_str(), cred.line.as_str()),
        ("boba", line(BOBA).as_str())
    );
    let doc: Value = serde_json::from_str(BOBA).unwrap();
    assert_eq!(cfg.greeting, doc["business"]["greeting"].as_str().unwrap());
    assert!(cfg.prompt.contains("Cloud Nine Boba"));
    assert!(cfg.keyterms.iter().any(|k| k == "Taro Milk Tea"));
    let names: Vec<&str> = cfg.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"get_menu_info") && names.contains(&"get_hours_info"));
    // Knowledge tools on their route; the order tools (the sample offers pickup) on theirs.
    let order_names: Vec<&str> = hostline_shared::tools::order_tools()
        .iter()
        .map(|t| t.name)
        .collect();
    for f in &cfg.functions {
        let expected = if order_names.contains(&f.name.as_str()) {
            "/vapi/orders"
        } else {
            "/vapi/knowledge-base"
        };
        assert_eq!(f.path, expected, "{}", f.name);
    }
    assert!(names.contains(&"add_to_cart") && names.contains(&"checkout_order"));
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
        internal(&s, Method::Get, "/internal/agent-config/Bad!", "", SERVICE).0,
        400
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
fn stored<S: Store>(s: &S, key: &str) -> Value {
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

/// A stream token we might have signed, for tests that need one the webhook would not give.
fn minted(business: &str, call_sid: &str, expires_at: i64) -> String {
    StreamToken {
        business_id: business.into(),
        line: line(BOBA),
        call_sid: call_sid.into(),
        account_sid: ACCOUNT_SID.into(),
        expires_at,
    }
    .sign(RELAY_KEY.as_bytes())
    .unwrap()
}

fn balance<S: Store>(s: &S) -> i64 {
    let b: Value = stored(s, "biz/boba/business");
    b["balance_seconds"].as_i64().unwrap()
}

/// A metered boba with a connected, streamed call: its stream token.
fn streamed_call<S: Store>(s: &S) -> String {
    let token = token_of(&voice(s, &line(BOBA)));
    assert_eq!(agent_config_for(s, "boba", &token).0, 200);
    token
}

fn post_usage<S: Store>(s: &S, token: &str, body: &str) -> (u16, Value) {
    // Hours after the token expired: usage is checked by signature and call, not expiry.
    let later = now() + jiff::SignedDuration::from_hours(3);
    relay(
        s,
        Method::Post,
        "/internal/usage",
        body,
        SERVICE,
        Some(token),
        later,
    )
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
    let token = streamed_call(&s);
    let body = serde_json::to_string(&report(185)).unwrap();
    assert_eq!(post_usage(&s, &token, &body).0, 204);
    // The relay retries: acknowledged, not charged again.
    assert_eq!(post_usage(&s, &token, &body).0, 204);
    assert_eq!(balance(&s), 600 - 185);
    let day: Value = stored(&s, "biz/boba/usage/2026-11-20");
    assert_eq!((&day["calls"], &day["seconds"]), (&json!(1), &json!(185)));
    // The call is in the owner's call log like a Vapi call, once, and charged once.
    let business = hostline_shared::ids::BusinessId::parse("boba").unwrap();
    let (log, _) =
        futures::executor::block_on(hostline_shared::call_log::list(&s, &business, 20, None))
            .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].call_id.as_str(), CALL_SID);
    assert_eq!(log[0].duration_seconds, Some(185));
    assert_eq!(log[0].ended_reason.as_deref(), Some("caller"));
    assert_eq!(
        log[0].line.as_ref().map(|l| l.as_str()),
        Some("+14155550188")
    );
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
        relay(
            &s,
            Method::Post,
            "/internal/usage",
            &body,
            "wrong",
            Some(&token),
            now()
        )
        .0,
        401
    );
    let (st, v) = post_usage(&s, &token, r#"{"business_id":"boba"}"#);
    assert_eq!(st, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("call_sid") || v["field"].is_string(),
        "{v}"
    );
    let mut bad = report(1);
    bad.ended_at = "yesterday".into();
    let (st, v) = post_usage(&s, &token, &serde_json::to_string(&bad).unwrap());
    assert_eq!((st, v["field"].as_str()), (400, Some("ended_at")));
}

#[test]
fn usage_takes_business_and_call_from_the_stream_token() {
    let s = seeded();
    let token = streamed_call(&s);
    let body = serde_json::to_string(&report(10)).unwrap();
    // No token, a forged one, or one for another call: refused, naming what is wrong.
    let (st, v) = relay(
        &s,
        Method::Post,
        "/internal/usage",
        &body,
        SERVICE,
        None,
        now(),
    );
    assert_eq!((st, v["field"].as_str()), (401, Some(STREAM_TOKEN_HEADER)));
    let forged = StreamToken::verify_signature(&token, RELAY_KEY.as_bytes())
        .unwrap()
        .sign(b"another key")
        .unwrap();
    assert_eq!(post_usage(&s, &forged, &body).0, 403);
    let other_call = minted("boba", "CA22222222222222222222222222222222", 0);
    let (st, v) = post_usage(&s, &other_call, &body);
    assert_eq!((st, v["field"].as_str()), (403, Some("call_sid")), "{v}");
    // A body that names another business than the token is refused, not charged to either.
    let mut elsewhere = report(10);
    elsewhere.business_id = "thai".into();
    let (st, v) = post_usage(&s, &token, &serde_json::to_string(&elsewhere).unwrap());
    assert_eq!((st, v["field"].as_str()), (403, Some("business_id")), "{v}");
    assert!(
        block_on(s.get("biz/thai/usage/2026-11-20"))
            .unwrap()
            .is_none(),
        "nothing counted for the other business"
    );
    assert_eq!(post_usage(&s, &token, &body).0, 204);
}

#[test]
fn a_report_cut_off_at_any_write_is_charged_exactly_once_after_a_retry() {
    let body = serde_json::to_string(&report(185)).unwrap();
    let setup = || {
        let s = FaultyStore::new(seeded());
        assert_eq!(
            owner(
                s.inner(),
                Method::Patch,
                "/api/v1/businesses/boba",
                r#"{"balance_seconds": 600}"#
            ),
            200
        );
        let token = streamed_call(&s);
        (s, token)
    };
    // How many writes a report makes when nothing fails.
    let (s, token) = setup();
    s.heal();
    assert_eq!(post_usage(&s, &token, &body).0, 204);
    let writes = s.writes();
    assert!(writes >= 3, "charge, day totals, call mark: {writes}");
    for k in 1..=writes {
        let (s, token) = setup();
        s.fail_from(k);
        let (st, _) = post_usage(&s, &token, &body);
        assert_eq!(st, 503, "cut at write {k}");
        s.heal();
        // The relay retries (twice, for good measure).
        assert_eq!(
            post_usage(&s, &token, &body).0,
            204,
            "retry after a cut at {k}"
        );
        assert_eq!(post_usage(&s, &token, &body).0, 204);
        assert_eq!(balance(&s), 600 - 185, "charged once when cut at write {k}");
        let day: Value = stored(&s, "biz/boba/usage/2026-11-20");
        assert_eq!(
            (&day["calls"], &day["seconds"]),
            (&json!(1), &json!(185)),
            "counted once when cut at write {k}"
        );
        let call: Value = stored(&s, &format!("biz/boba/calls/{CALL_SID}"));
        assert_eq!(
            call["usage"]["seconds"], 185,
            "marked when cut at write {k}"
        );
    }
}

#[test]
fn concurrent_duplicate_reports_charge_once() {
    for _round in 0..20 {
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
        let token = streamed_call(&s);
        let body = serde_json::to_string(&report(185)).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| assert_eq!(post_usage(&s, &token, &body).0, 204));
            }
        });
        assert_eq!(balance(&s), 600 - 185);
        let day: Value = stored(&s, "biz/boba/usage/2026-11-20");
        assert_eq!(day["calls"], 1);
    }
}

#[test]
fn charging_saturates_instead_of_wrapping() {
    let s = seeded();
    let token = streamed_call(&s);
    // Records written by an older version, out of today's ranges.
    let mut b: Value = stored(&s, "biz/boba/business");
    b["balance_seconds"] = json!(i64::MIN + 5);
    block_on(s.put("biz/boba/business", b.to_string().as_bytes())).unwrap();
    block_on(
        s.put(
            "biz/boba/usage/2026-11-20",
            json!({"calls": u32::MAX, "seconds": u64::MAX})
                .to_string()
                .as_bytes(),
        ),
    )
    .unwrap();
    let body = serde_json::to_string(&report(u32::MAX)).unwrap();
    assert_eq!(post_usage(&s, &token, &body).0, 204);
    assert_eq!(balance(&s), i64::MIN);
    let day: Value = stored(&s, "biz/boba/usage/2026-11-20");
    assert_eq!(
        (&day["calls"], &day["seconds"]),
        (&json!(u32::MAX), &json!(u64::MAX))
    );
}

#[test]
fn a_retried_webhook_gets_the_same_token_until_the_stream_starts_then_a_hang_up() {
    let s = seeded();
    let first = voice(&s, &line(BOBA));
    let token = token_of(&first);
    let claims =
        StreamToken::verify(&token, RELAY_KEY.as_bytes(), now().as_second(), CALL_SID).unwrap();
    assert_eq!(
        claims.account_sid, ACCOUNT_SID,
        "the webhook's AccountSid is in the token"
    );
    // Retried a minute later (Twilio timed out waiting): the same token, byte for byte, so its
    // expiry is still the first answer's.
    let later = now() + jiff::SignedDuration::from_secs(60);
    let body = form_body(&[
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", CALL_SID),
        ("To", &line(BOBA)),
    ]);
    let sig = expected_signature(
        AUTH_TOKEN,
        &format!("{BASE}/twilio/voice"),
        &Form::parse(body.as_bytes()),
    );
    let retry = Request::new(Method::Post, "/twilio/voice")
        .with_header("x-twilio-signature", &sig)
        .with_body(body);
    let again = block_on(handle(&retry, &s, &config(), later));
    assert_eq!(token_of(&again), token);
    assert_eq!(first.body, again.body);
    // The stream starts; a replayed webhook now mints nothing and ends the call.
    assert_eq!(agent_config_for(&s, "boba", &token).0, 200);
    let replay = voice(&s, &line(BOBA));
    assert_eq!(
        replay.body_str(),
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>"#
    );
    let call: Value = stored(&s, &format!("biz/boba/calls/{CALL_SID}"));
    assert_eq!(
        call["created_at"], "2026-11-20T18:00:00Z",
        "the first record kept"
    );
    assert_eq!(call["stream_started_at"], "2026-11-20T18:00:00Z");
}

#[test]
fn a_second_stream_with_the_same_token_gets_409() {
    let s = seeded();
    let token = token_of(&voice(&s, &line(BOBA)));
    assert_eq!(agent_config_for(&s, "boba", &token).0, 200);
    let (st, v) = agent_config_for(&s, "boba", &token);
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("already started"),
        "{v}"
    );
    // A token we signed for a call the webhook never connected: refused too.
    let stray = minted(
        "boba",
        "CA33333333333333333333333333333333",
        now().as_second() + 60,
    );
    assert_eq!(agent_config_for(&s, "boba", &stray).0, 409);
}

#[test]
fn agent_config_checks_the_stream_token() {
    let s = seeded();
    let token = token_of(&voice(&s, &line(BOBA)));
    let header = Some(STREAM_TOKEN_HEADER);
    // Missing: 401 naming the header. Forged: 403. Garbage: 400.
    let (st, v) = relay(
        &s,
        Method::Get,
        "/internal/agent-config/boba",
        "",
        SERVICE,
        None,
        now(),
    );
    assert_eq!((st, v["field"].as_str()), (401, header), "{v}");
    let forged = StreamToken::verify_signature(&token, RELAY_KEY.as_bytes())
        .unwrap()
        .sign(b"another key")
        .unwrap();
    assert_eq!(agent_config_for(&s, "boba", &forged).0, 403);
    let (st, v) = agent_config_for(&s, "boba", "v1.garbage");
    assert_eq!((st, v["field"].as_str()), (400, header), "{v}");
    // Issued for boba, asked for thai: refused.
    let (st, v) = agent_config_for(&s, "thai", &token);
    assert_eq!((st, v["field"].as_str()), (403, header), "{v}");
    // Expired.
    let late =
        now() + jiff::SignedDuration::from_secs(hostline_shared::relay::STREAM_TOKEN_TTL_SECONDS);
    let (st, v) = relay(
        &s,
        Method::Get,
        "/internal/agent-config/boba",
        "",
        SERVICE,
        Some(&token),
        late,
    );
    assert_eq!((st, v["field"].as_str()), (403, header), "{v}");
    // The service token is still required besides it.
    let (st, _) = relay(
        &s,
        Method::Get,
        "/internal/agent-config/boba",
        "",
        "wrong",
        Some(&token),
        now(),
    );
    assert_eq!(st, 401);
    // None of that used up the call's stream.
    assert_eq!(agent_config_for(&s, "boba", &token).0, 200);
    // An inactive business's call: 409.
    assert_eq!(
        owner(
            &s,
            Method::Patch,
            "/api/v1/businesses/thai",
            r#"{"active": false}"#
        ),
        200
    );
    let thai = minted(
        "thai",
        "CA44444444444444444444444444444444",
        now().as_second() + 60,
    );
    assert_eq!(agent_config_for(&s, "thai", &thai).0, 409);
    let nobody = minted(
        "nobody",
        "CA44444444444444444444444444444444",
        now().as_second() + 60,
    );
    assert_eq!(agent_config_for(&s, "nobody", &nobody).0, 404);
}
