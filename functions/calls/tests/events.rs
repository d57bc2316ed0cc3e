//! Vapi call events through the calls handler (natively, over the in-memory store with the
//! sample businesses), read back through the owner API: replays and out-of-order delivery
//! record and charge once; the credential decides the business; bad input is a 4xx naming
//! the field.

use futures::executor::block_on;
use hostline_calls::handler::{Config, handle};
use hostline_shared::credential::{TOOL_TOKEN_HEADER, ToolCredential};
use hostline_shared::http::{Method, Request};
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::store::{MemoryStore, keys};
use hostline_shared::tenancy::{BusinessRecord, read_json, update_json};
use hostline_test_support::fixtures::{BOBA, THAI, lines_of, seeded};
use serde_json::{Value, json};

const KEY: &str = "calls-test-tool-key";
const ADMIN: &str = "calls-test-admin";

fn now() -> jiff::Timestamp {
    "2026-12-01T18:05:00Z".parse().unwrap()
}

fn credential(business: &str, line: &str) -> String {
    ToolCredential::issue(
        BusinessId::parse(business).unwrap(),
        PhoneE164::parse_e164(line).unwrap(),
        now().as_second(),
    )
    .sign(KEY.as_bytes())
    .unwrap()
}

fn post(s: &MemoryStore, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req =
        Request::new(Method::Post, "/vapi/events").with_body(body.to_string().into_bytes());
    if let Some(t) = token {
        req = req.with_header(TOOL_TOKEN_HEADER, t);
    }
    let cfg = Config {
        tool_token_key: KEY.into(),
        pii: hostline_shared::pii::PiiKeys::new("test-pii-hash-key", "test-pii-seal-key"),
        texts: None,
    };
    let r = block_on(handle(&req, s, &cfg, now()));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

fn owner_get(s: &MemoryStore, path: &str) -> (u16, Value) {
    owner_send(s, Method::Get, path)
}

fn owner_send(s: &MemoryStore, method: Method, path: &str) -> (u16, Value) {
    let req = Request::new(method, path).with_header("authorization", &format!("Bearer {ADMIN}"));
    let cfg = hostline_owner_api::handler::Config {
        admin_token: ADMIN.into(),
        jwt_key: String::new(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: String::new(),
    };
    let r = block_on(hostline_owner_api::handler::handle(&req, s, &cfg, now()));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

fn status(call: &str, line: &str, status: &str, ts: &str) -> Value {
    json!({"message": {"type": "status-update", "status": status, "timestamp": ts,
        "call": {"id": call}, "phoneNumber": {"number": line}}})
}

fn report(call: &str, line: &str) -> Value {
    json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
        "timestamp": "2026-12-01T18:02:06Z",
        "startedAt": "2026-12-01T18:00:00Z", "endedAt": "2026-12-01T18:02:05Z",
        "cost": 0.18, "analysis": {"summary": "Asked whether they are open."},
        "artifact": {"transcript": "AI: Thanks for calling.\nUser: Are you open?",
            "messages": [{"role": "bot", "message": "Thanks for calling."}, {"role": "user", "message": "Are you open?"}]},
        "call": {"id": call}, "phoneNumber": {"number": line}, "customer": {"number": "+14155550123"}}})
}

fn meter(s: &MemoryStore, business: &str, seconds: i64) {
    let id = BusinessId::parse(business).unwrap();
    block_on(update_json::<_, BusinessRecord, _>(
        s,
        &keys::business(&id),
        |r| {
            let mut r = r?;
            r.balance_seconds = Some(seconds);
            Some(r)
        },
    ))
    .unwrap();
}

fn balance(s: &MemoryStore, business: &str) -> Option<i64> {
    let id = BusinessId::parse(business).unwrap();
    block_on(read_json::<_, BusinessRecord>(s, &keys::business(&id)))
        .unwrap()
        .unwrap()
        .balance_seconds
}

#[test]
fn replays_and_out_of_order_events_record_and_charge_once() {
    let s = seeded();
    meter(&s, "boba", 600);
    let line = &lines_of(BOBA)[0];
    let token = credential("boba", line);
    let call = "305b7217-6d48-433b-bda9-0f00a1731234";
    // The report arrives first, then twice more; statuses after it, one of them twice.
    for body in [
        report(call, line),
        status(call, line, "ended", "2026-12-01T18:02:06Z"),
        report(call, line),
        status(call, line, "in-progress", "2026-12-01T18:00:00Z"),
        status(call, line, "ringing", "2026-12-01T17:59:58Z"),
        status(call, line, "ended", "2026-12-01T18:02:06Z"),
        report(call, line),
    ] {
        let (st, v) = post(&s, Some(&token), &body);
        assert_eq!((st, &v), (200, &json!({})));
    }
    assert_eq!(balance(&s, "boba"), Some(600 - 125), "charged once, 125 s");

    let (st, list) = owner_get(&s, "/api/v1/businesses/boba/calls");
    assert_eq!(st, 200, "{list}");
    let calls = list["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{list}");
    let c = &calls[0];
    assert_eq!(c["call_id"], call);
    assert_eq!(c["duration_seconds"], 125);
    assert_eq!(c["ended_reason"], "customer-ended-call");
    assert_eq!(c["summary"], "Asked whether they are open.");
    let statuses: Vec<&str> = c["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ringing", "in-progress", "ended"]);
    assert!(
        !list.to_string().contains("+14155550123"),
        "the caller's number is not in the log"
    );

    let (st, one) = owner_get(&s, &format!("/api/v1/businesses/boba/calls/{call}"));
    assert_eq!(st, 200);
    assert_eq!(
        one["transcript"]["text"],
        "AI: Thanks for calling.\nUser: Are you open?"
    );
    assert_eq!(one["transcript"]["messages"].as_array().unwrap().len(), 2);

    let (st, usage) = owner_get(&s, "/api/v1/businesses/boba/usage?days=7");
    assert_eq!(st, 200);
    assert_eq!(
        usage["total"],
        json!({"calls": 1, "seconds": 125}),
        "{usage}"
    );
    assert_eq!(usage["days"][0]["date"], "2026-12-01");
}

#[test]
fn the_credential_decides_the_business() {
    let s = seeded();
    let boba_line = &lines_of(BOBA)[0];
    let thai_line = &lines_of(THAI)[0];
    let thai = credential("thai", thai_line);
    // A body naming another business's line with this credential: refused, nothing recorded.
    let (st, v) = post(&s, Some(&thai), &report("c-1", boba_line));
    assert_eq!(
        (st, &v["field"]),
        (403, &json!("message.phoneNumber.number"))
    );
    // With no line in the body, the event lands in the credential's business only.
    let mut body = report("c-2", thai_line);
    body["message"]
        .as_object_mut()
        .unwrap()
        .remove("phoneNumber");
    assert_eq!(post(&s, Some(&thai), &body).0, 200);
    let (_, boba_calls) = owner_get(&s, "/api/v1/businesses/boba/calls");
    assert_eq!(boba_calls["calls"], json!([]));
    let (_, thai_calls) = owner_get(&s, "/api/v1/businesses/thai/calls");
    assert_eq!(thai_calls["calls"][0]["call_id"], "c-2");
    // The shared webhook secret alone is not enough, nor is a forged credential.
    assert_eq!(post(&s, None, &report("c-3", thai_line)).0, 401);
    let forged = ToolCredential::issue(
        BusinessId::parse("thai").unwrap(),
        PhoneE164::parse_e164(thai_line).unwrap(),
        now().as_second(),
    )
    .sign(b"another key")
    .unwrap();
    assert_eq!(post(&s, Some(&forged), &report("c-3", thai_line)).0, 401);
}

#[test]
fn bad_input_is_a_4xx_naming_the_field_and_other_events_are_ignored() {
    let s = seeded();
    let line = &lines_of(BOBA)[0];
    let token = credential("boba", line);
    let mut no_id = report("x", line);
    no_id["message"]["call"] = json!({});
    let (st, v) = post(&s, Some(&token), &no_id);
    assert_eq!((st, &v["field"]), (400, &json!("message.call.id")));
    let (st, v) = post(&s, Some(&token), &report("../../etc", line));
    assert_eq!((st, &v["field"]), (400, &json!("message.call.id")));
    let (st, v) = post(
        &s,
        Some(&token),
        &json!({"message": {"type": "transcript", "call": {"id": "c"}}}),
    );
    assert_eq!((st, &v), (200, &json!({})));
    let (st, v) = post(&s, Some(&token), &json!({"nope": 1}));
    assert_eq!((st, &v["field"]), (400, &json!("message")));
    let (_, calls) = owner_get(&s, "/api/v1/businesses/boba/calls");
    assert_eq!(calls["calls"], json!([]), "nothing was recorded");
    let (st, v) = owner_get(&s, "/api/v1/businesses/boba/calls?limit=0");
    assert_eq!((st, &v["field"]), (400, &json!("limit")));
}

#[test]
fn the_log_pages_newest_first() {
    let s = seeded();
    let line = &lines_of(BOBA)[0];
    let token = credential("boba", line);
    for minute in 0..5 {
        let body = status(
            &format!("call-{minute}"),
            line,
            "ringing",
            &format!("2026-12-01T17:0{minute}:00Z"),
        );
        assert_eq!(post(&s, Some(&token), &body).0, 200);
    }
    let (_, first) = owner_get(&s, "/api/v1/businesses/boba/calls?limit=2");
    let ids = |v: &Value| -> Vec<String> {
        v["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["call-4", "call-3"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = owner_get(
        &s,
        &format!("/api/v1/businesses/boba/calls?limit=2&cursor={cursor}"),
    );
    assert_eq!(ids(&second), ["call-2", "call-1"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let (_, third) = owner_get(
        &s,
        &format!("/api/v1/businesses/boba/calls?limit=2&cursor={cursor}"),
    );
    assert_eq!(ids(&third), ["call-0"]);
    assert!(third["next_cursor"].is_null());
}

#[test]
fn a_customer_is_kept_as_a_keyed_hash_and_can_be_exported_and_erased() {
    use hostline_shared::store::Store;
    let s = seeded();
    let line = &lines_of(BOBA)[0];
    let token = credential("boba", line);
    let mut other = report("call-b", line);
    other["message"]["customer"] = json!({"number": "+14155550999"});
    assert_eq!(post(&s, Some(&token), &report("call-a", line)).0, 200);
    assert_eq!(post(&s, Some(&token), &other).0, 200);
    // The number is nowhere in the store in the clear.
    for key in block_on(s.list("")).unwrap() {
        let value = block_on(s.get_value(&key)).unwrap().unwrap_or_default();
        let text = String::from_utf8_lossy(&value);
        assert!(
            !key.contains("4155550123") && !text.contains("4155550123"),
            "{key}: {text}"
        );
    }
    // The transcript is a blob, filed under the business and the day the call started.
    let blob = "blob/transcripts/boba/2026/12/01/call-a.json";
    assert!(block_on(s.get_value(blob)).unwrap().is_some(), "{blob}");
    let (st, export) = owner_get(&s, "/api/v1/businesses/boba/customers/+14155550123");
    assert_eq!(st, 200, "{export}");
    let calls = export["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{export}");
    assert_eq!(calls[0]["call_id"], "call-a");
    assert_eq!(
        calls[0]["transcript"]["text"],
        "AI: Thanks for calling.\nUser: Are you open?"
    );
    assert!(
        calls[0]["caller"]["sealed"].is_null(),
        "the sealed number is not shown"
    );
    // Another business has nothing of that customer.
    let (_, thai) = owner_get(&s, "/api/v1/businesses/thai/customers/+14155550123");
    assert_eq!(thai["calls"], json!([]));
    // Erase: the call keeps its duration (billing) but loses transcript, summary and caller.
    let (st, v) = owner_send(
        &s,
        Method::Delete,
        "/api/v1/businesses/boba/customers/+14155550123",
    );
    assert_eq!((st, &v["erased_calls"]), (200, &json!(1)), "{v}");
    assert!(
        block_on(s.get_value(blob)).unwrap().is_none(),
        "erased with the customer"
    );
    assert!(
        block_on(s.get_value("blob/transcripts/boba/2026/12/01/call-b.json"))
            .unwrap()
            .is_some(),
        "another customer's transcript stays"
    );
    let (_, a) = owner_get(&s, "/api/v1/businesses/boba/calls/call-a");
    assert!(
        a["transcript"].is_null() && a["caller"].is_null() && a["summary"].is_null(),
        "{a}"
    );
    assert_eq!(a["duration_seconds"], 125);
    let (_, b) = owner_get(&s, "/api/v1/businesses/boba/calls/call-b");
    assert!(
        b["transcript"]["text"].is_string(),
        "the other customer is untouched: {b}"
    );
    let (_, again) = owner_get(&s, "/api/v1/businesses/boba/customers/+14155550123");
    assert_eq!(again["calls"], json!([]));
    let (st, v) = owner_send(
        &s,
        Method::Delete,
        "/api/v1/businesses/boba/customers/+14155550123",
    );
    assert_eq!(
        (st, &v["erased_calls"]),
        (200, &json!(0)),
        "erasing twice is fine"
    );
    let (st, v) = owner_get(&s, "/api/v1/businesses/boba/customers/not-a-number");
    assert_eq!((st, &v["field"]), (400, &json!("phone")));
}
