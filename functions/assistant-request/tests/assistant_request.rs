//! The assistant-request handler, natively, over the in-memory store with the repo's sample
//! restaurants imported through the owner API handler.

use futures::executor::block_on;
use hostline_assistant_request::handler::{Config, UNKNOWN_LINE, handle};
use hostline_shared::credential::{TOOL_TOKEN_HEADER, ToolCredential};
use hostline_shared::http::{Method, Request};
use hostline_shared::store::{MemoryStore, Store};
use hostline_test_support::fixtures::{SAMPLES, lines_of, name_of, seeded};
use serde_json::{Value, json};

const SECRET: &str = "vapi-test-secret";
const TOOL_KEY: &str = "tool-token-test-key";
const DOCS: [(&str, &str); 3] = SAMPLES;

fn now() -> jiff::Timestamp {
    "2026-11-20T18:00:00Z".parse().unwrap()
}

fn lines(doc: &str) -> Vec<String> {
    lines_of(doc)
}

fn name(doc: &str) -> String {
    name_of(doc)
}

fn post(s: &MemoryStore, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = Request::new(Method::Post, "/vapi/assistant-request").with_body(body.to_string());
    for (n, v) in headers {
        req = req.with_header(n, v);
    }
    let cfg = Config {
        vapi_secret: SECRET.into(),
        tool_token_key: TOOL_KEY.into(),
        public_base_url: "https://hostline.example.com/".into(),
    };
    let r = block_on(handle(&req, s, &cfg, now()));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

fn request_for(line: &str) -> Value {
    json!({"message": {"type": "assistant-request", "timestamp": "2026-11-20T18:07:29.700Z",
        "call": {"id": "call-1", "phoneNumberId": "pn-1", "customer": {"number": "+14155550123"}},
        "phoneNumber": {"id": "pn-1", "number": line}, "customer": {"number": "+14155550123"}}})
}

#[test]
fn every_line_of_every_business_gets_its_own_assistant() {
    let s = seeded();
    for (id, doc) in DOCS {
        for line in lines(doc) {
            let (st, v) = post(&s, &request_for(&line), &[("x-vapi-secret", SECRET)]);
            assert_eq!(st, 200);
            let a = &v["assistant"];
            assert_eq!(a["metadata"]["business_id"], id, "{line}");
            assert_eq!(a["metadata"]["line"], line.as_str());
            let prompt = a["model"]["messages"][0]["content"].as_str().unwrap();
            assert!(
                prompt.contains(&name(doc)),
                "{line}: prompt names the restaurant"
            );
            assert!(!a["firstMessage"].as_str().unwrap().is_empty());
            for (other, other_doc) in DOCS {
                if other != id {
                    assert!(
                        !prompt.contains(&name(other_doc)),
                        "{line}: prompt must not mention {other}"
                    );
                }
            }
            let tools = a["model"]["tools"].as_array().unwrap();
            let names: Vec<&str> = tools
                .iter()
                .map(|t| t["function"]["name"].as_str().unwrap())
                .collect();
            // The knowledge tools, then (every sample offers pickup or delivery) the order
            // tools, each on its own route.
            let order_names: Vec<&str> = hostline_shared::tools::order_tools()
                .iter()
                .map(|t| t.name)
                .collect();
            assert_eq!(
                names[..5],
                [
                    "get_menu_info",
                    "get_modifiers_info",
                    "get_hours_info",
                    "get_delivery_info",
                    "search_faq"
                ]
            );
            assert_eq!(names[5..], order_names[..]);
            assert!(prompt.contains("call add_to_cart"), "{prompt}");
            for t in tools {
                let path = if order_names.contains(&t["function"]["name"].as_str().unwrap()) {
                    "orders"
                } else {
                    "knowledge-base"
                };
                assert_eq!(
                    t["server"]["url"],
                    format!("https://hostline.example.com/vapi/{path}")
                );
                assert_eq!(t["function"]["parameters"]["type"], "object");
                // The tool calls carry a credential for this business and this line, and
                // not the shared webhook secret.
                let headers = t["server"]["headers"].as_object().unwrap();
                assert_eq!(headers.len(), 1, "{headers:?}");
                let token = headers[TOOL_TOKEN_HEADER].as_str().unwrap();
                let c =
                    ToolCredential::verify(token, TOOL_KEY.as_bytes(), now().as_second()).unwrap();
                assert_eq!(
                    (c.business_id.as_str(), c.line.as_str()),
                    (id, line.as_str())
                );
            }
            // Call events go to the calls function, with this line's credential.
            assert_eq!(
                a["server"]["url"], "https://hostline.example.com/vapi/events",
                "{a}"
            );
            let token = a["server"]["headers"][TOOL_TOKEN_HEADER].as_str().unwrap();
            let c = ToolCredential::verify(token, TOOL_KEY.as_bytes(), now().as_second()).unwrap();
            assert_eq!(
                (c.business_id.as_str(), c.line.as_str()),
                (id, line.as_str())
            );
            let kinds = a["serverMessages"].as_array().unwrap();
            assert!(kinds.contains(&json!("end-of-call-report")), "{a}");
        }
    }
}

#[test]
fn greeting_and_local_time_come_from_the_profile() {
    let s = seeded();
    let boba = DOCS[0].1;
    let v: Value = serde_json::from_str(boba).unwrap();
    let (_, resp) = post(
        &s,
        &request_for(&lines(boba)[0]),
        &[("x-vapi-secret", SECRET)],
    );
    assert_eq!(resp["assistant"]["firstMessage"], v["business"]["greeting"]);
    let prompt = resp["assistant"]["model"]["messages"][0]["content"]
        .as_str()
        .unwrap();
    // 18:07Z on 2026-11-20 is 10:07 AM in Los Angeles.
    assert!(
        prompt.contains("Friday, November 20, 2026, 10:07 AM"),
        "{prompt}"
    );
}

#[test]
fn unknown_line_gets_a_spoken_error_with_200() {
    let s = seeded();
    let (st, v) = post(
        &s,
        &request_for("+19995550000"),
        &[("x-vapi-secret", SECRET)],
    );
    assert_eq!(st, 200);
    assert_eq!(v, json!({"error": UNKNOWN_LINE}));
}

#[test]
fn inactive_business_gets_a_spoken_error() {
    let s = seeded();
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
        jwt_key: String::new(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: String::new(),
    };
    let req = Request::new(Method::Patch, "/api/v1/businesses/boba")
        .with_header("authorization", "Bearer t")
        .with_body(r#"{"active": false}"#);
    assert_eq!(
        block_on(hostline_owner_api::handler::handle(&req, &s, &cfg, now())).status,
        200
    );
    let (st, v) = post(
        &s,
        &request_for(&lines(DOCS[0].1)[0]),
        &[("x-vapi-secret", SECRET)],
    );
    assert_eq!(st, 200);
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains(&name(DOCS[0].1)) && e.contains("isn't taking"),
        "{e}"
    );
    assert!(v.get("assistant").is_none());
}

#[test]
fn a_metered_business_is_refused_when_empty_and_its_calls_never_outlast_the_balance() {
    let s = seeded();
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
        jwt_key: String::new(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: String::new(),
    };
    let set_balance = |b: &str| {
        let req = Request::new(Method::Patch, "/api/v1/businesses/boba")
            .with_header("authorization", "Bearer t")
            .with_body(b.as_bytes().to_vec());
        let r = block_on(hostline_owner_api::handler::handle(&req, &s, &cfg, now()));
        assert_eq!(r.status, 200, "{}", r.body_str());
    };
    let ask = || {
        post(
            &s,
            &request_for(&lines(DOCS[0].1)[0]),
            &[("x-vapi-secret", SECRET)],
        )
        .1
    };
    assert_eq!(
        ask()["assistant"]["maxDurationSeconds"],
        1800,
        "unmetered: the cap"
    );
    set_balance(r#"{"balance_seconds": 95}"#);
    assert_eq!(ask()["assistant"]["maxDurationSeconds"], 95);
    set_balance(r#"{"balance_seconds": 0}"#);
    let v = ask();
    assert!(v.get("assistant").is_none(), "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains(&name(DOCS[0].1)) && e.contains("can't take"),
        "{e}"
    );
}

#[test]
fn the_owners_settings_shape_the_assistant() {
    let s = seeded();
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
        jwt_key: String::new(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: String::new(),
    };
    let patch = |b: &str| {
        let req = Request::new(Method::Patch, "/api/v1/businesses/boba")
            .with_header("authorization", "Bearer t")
            .with_body(b.as_bytes().to_vec());
        let r = block_on(hostline_owner_api::handler::handle(&req, &s, &cfg, now()));
        (r.status, serde_json::from_slice::<Value>(&r.body).unwrap())
    };
    let (st, v) = patch(
        &json!({"greeting": "Boba time! What can I get you?",
            "prompt_additions": "Mention that Tuesdays are buy one get one.",
            "voice": {"provider": "11labs", "voice_id": "burt"},
            "model": {"provider": "anthropic", "model": "claude-3-5-haiku-20241022"},
            "enabled_tools": ["get_menu_info", "get_hours_info"],
            "ordering": false,
            "transfer_to": "+14155550100"})
        .to_string(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["settings"]["voice"]["provider"], "11labs");
    let (_, v) = post(
        &s,
        &request_for(&lines(DOCS[0].1)[0]),
        &[("x-vapi-secret", SECRET)],
    );
    let a = &v["assistant"];
    assert_eq!(a["firstMessage"], "Boba time! What can I get you?");
    assert_eq!(a["voice"], json!({"provider": "11labs", "voiceId": "burt"}));
    assert_eq!(a["model"]["provider"], "anthropic");
    assert_eq!(a["model"]["model"], "claude-3-5-haiku-20241022");
    let prompt = a["model"]["messages"][0]["content"].as_str().unwrap();
    assert!(
        prompt.ends_with("Mention that Tuesdays are buy one get one."),
        "{prompt}"
    );
    let tools = a["model"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    // Ordering turned off: no order tools, and the prompt says orders aren't taken.
    assert_eq!(names, ["get_menu_info", "get_hours_info"]);
    assert!(
        prompt.contains("Taking orders by phone is not available"),
        "{prompt}"
    );
    let transfer = tools.iter().find(|t| t["type"] == "transferCall").unwrap();
    assert_eq!(transfer["destinations"][0]["number"], "+14155550100");
    // Bad settings are refused naming the field; null brings the default back.
    for (body, field) in [
        (
            json!({"voice": {"provider": "nope", "voice_id": "x"}}),
            "voice.provider",
        ),
        (
            json!({"model": {"provider": "openai", "model": ""}}),
            "model.model",
        ),
        (
            json!({"enabled_tools": ["get_menu_info", "launch_rockets"]}),
            "enabled_tools",
        ),
        (json!({"greeting": "two\nlines"}), "greeting"),
        (
            json!({"prompt_additions": "x".repeat(2001)}),
            "prompt_additions",
        ),
    ] {
        let (st, v) = patch(&body.to_string());
        assert_eq!((st, v["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    let (st, _) =
        patch(r#"{"greeting": null, "voice": null, "model": null, "enabled_tools": null}"#);
    assert_eq!(st, 200);
    let (_, v) = post(
        &s,
        &request_for(&lines(DOCS[0].1)[0]),
        &[("x-vapi-secret", SECRET)],
    );
    assert!(v["assistant"].get("voice").is_none());
    assert_eq!(v["assistant"]["model"]["provider"], "openai");
    assert_eq!(
        v["assistant"]["model"]["tools"].as_array().unwrap().len(),
        hostline_shared::tools::knowledge_tools().len() + 1,
        "all tools again, and the transfer"
    );
}

#[test]
fn phone_number_id_alone_routes_once_learned() {
    let s = seeded();
    let line = lines(DOCS[1].1)[0].clone();
    let only_id = json!({"message": {"type": "assistant-request", "call": {"id": "c2", "phoneNumberId": "pn-thai"}}});
    let (_, v) = post(&s, &only_id, &[("x-vapi-secret", SECRET)]);
    assert_eq!(
        v["error"], UNKNOWN_LINE,
        "unknown before any message names the line"
    );
    let mut full = request_for(&line);
    full["message"]["phoneNumber"]["id"] = json!("pn-thai");
    post(&s, &full, &[("x-vapi-secret", SECRET)]);
    let (_, v) = post(&s, &only_id, &[("x-vapi-secret", SECRET)]);
    assert_eq!(v["assistant"]["metadata"]["business_id"], "thai");
}

#[test]
fn phone_number_ids_are_learned_only_for_lines_that_resolve_and_only_when_well_formed() {
    let s = seeded();
    // An unknown line, and a known line with an id that could not be Vapi's: nothing learned.
    let mut unknown = request_for("+19995550000");
    unknown["message"]["phoneNumber"]["id"] = json!("pn-unknown");
    post(&s, &unknown, &[("x-vapi-secret", SECRET)]);
    let mut odd = request_for(&lines(DOCS[1].1)[0]);
    odd["message"]["phoneNumber"]["id"] = json!("pn/../../biz/thai");
    post(&s, &odd, &[("x-vapi-secret", SECRET)]);
    assert_eq!(
        block_on(s.list("vapi-number/")).unwrap(),
        Vec::<String>::new(),
        "no mapping written"
    );
    // A known line with a well-formed id: learned.
    post(
        &s,
        &request_for(&lines(DOCS[1].1)[0]),
        &[("x-vapi-secret", SECRET)],
    );
    assert_eq!(
        block_on(s.list("vapi-number/")).unwrap(),
        ["vapi-number/pn-1"]
    );
}

#[test]
fn secret_is_required_in_any_accepted_header() {
    let s = seeded();
    let body = request_for(&lines(DOCS[0].1)[0]);
    for h in [
        ("x-vapi-secret", SECRET.to_owned()),
        ("authorization", format!("Bearer {SECRET}")),
    ] {
        assert_eq!(post(&s, &body, &[(h.0, h.1.as_str())]).0, 200);
    }
    for h in [
        ("x-vapi-secret", "wrong"),
        ("authorization", "Bearer wrong"),
        ("x-other", SECRET),
    ] {
        let (st, v) = post(&s, &body, &[h]);
        assert_eq!(st, 401, "{h:?}");
        assert!(v["error"].is_string());
    }
}

#[test]
fn malformed_bodies_are_400s_naming_the_field() {
    let s = seeded();
    let cases = [
        (json!({}), "message"),
        (json!({"message": {}}), "message.type"),
        (
            json!({"message": {"type": "assistant-request", "phoneNumber": {"number": 5}}}),
            "message.phoneNumber.number",
        ),
        (
            json!({"message": {"type": "assistant-request", "timestamp": {}}}),
            "message.timestamp",
        ),
    ];
    for (body, field) in cases {
        let (st, v) = post(&s, &body, &[("x-vapi-secret", SECRET)]);
        assert_eq!(st, 400, "{body}");
        assert_eq!(v["field"], field, "{body}");
    }
    let req = Request::new(Method::Post, "/vapi/assistant-request")
        .with_header("x-vapi-secret", SECRET)
        .with_body("{\"message\": ");
    let cfg = Config {
        vapi_secret: SECRET.into(),
        tool_token_key: TOOL_KEY.into(),
        public_base_url: String::new(),
    };
    let r = block_on(handle(&req, &s, &cfg, now()));
    assert_eq!(r.status, 400);
    assert!(r.body_str().contains("malformed JSON"));
}
