//! The knowledge-base handler, natively, over the in-memory store with the repo's sample
//! restaurants imported through the owner API handler: every tool, both argument shapes,
//! several calls per message, tenant isolation, and bad input.

use futures::executor::block_on;
use hostline_knowledge_base::handler::{Config, handle};
use hostline_shared::http::{Method, Request};
use hostline_shared::store::MemoryStore;
use serde_json::{Value, json};

const SECRET: &str = "vapi-test-secret";
const BOBA: &str = include_str!("../../../fixtures/restaurants/demo-boba.json");
const THAI: &str = include_str!("../../../fixtures/restaurants/golden-lotus-thai.json");
const PIZZA: &str = include_str!("../../../fixtures/restaurants/windy-city-slice.json");

/// Friday 2026-11-20, 18:00 UTC: 10 AM in Los Angeles, noon in Chicago, 1 PM in New York.
const FRIDAY_18Z: &str = "2026-11-20T18:00:00Z";

fn seeded() -> MemoryStore {
    let s = MemoryStore::new();
    let cfg = hostline_owner_api::handler::Config {
        admin_token: "t".into(),
    };
    for (id, doc) in [("boba", BOBA), ("thai", THAI), ("pizza", PIZZA)] {
        let req = Request::new(Method::Put, &format!("/api/v1/businesses/{id}/restaurant"))
            .with_header("authorization", "Bearer t")
            .with_body(doc);
        let now = FRIDAY_18Z.parse().unwrap();
        assert_eq!(
            block_on(hostline_owner_api::handler::handle(&req, &s, &cfg, now)).status,
            201
        );
    }
    s
}

fn line(doc: &str) -> String {
    let v: Value = serde_json::from_str(doc).unwrap();
    v["business"]["phone_lines"][0]["e164"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn post_raw(s: &MemoryStore, body: &str, secret: &str) -> (u16, Value) {
    let req = Request::new(Method::Post, "/vapi/knowledge-base")
        .with_header("x-vapi-secret", secret)
        .with_body(body);
    let r = block_on(handle(
        &req,
        s,
        &Config {
            vapi_secret: SECRET.into(),
            service_token: "relay-token".into(),
        },
        "2030-01-01T00:00:00Z".parse().unwrap(),
    ));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// One tool call on `doc`'s first line at `at`; returns the result (or the error, prefixed).
fn ask(s: &MemoryStore, doc: &str, at: &str, name: &str, args: Value) -> String {
    let body = json!({"message": {"type": "tool-calls", "timestamp": at,
        "phoneNumber": {"number": line(doc)}, "call": {"id": "c1"},
        "toolCallList": [{"id": "t1", "type": "function", "function": {"name": name, "arguments": args}}]}});
    let (st, v) = post_raw(s, &body.to_string(), SECRET);
    assert_eq!(st, 200);
    let r = &v["results"][0];
    assert_eq!(r["toolCallId"], "t1");
    let text = r["result"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("ERROR: {}", r["error"].as_str().unwrap()));
    assert!(
        !text.contains('\n') && !text.contains('*'),
        "single line, no markdown: {text}"
    );
    text
}

fn menu(s: &MemoryStore, doc: &str, q: &str) -> String {
    ask(s, doc, FRIDAY_18Z, "get_menu_info", json!({"query": q}))
}

#[test]
fn menu_questions_survive_misrecognition() {
    let s = seeded();
    let r = menu(&s, BOBA, "do you have tarot milk tea");
    assert!(r.contains("Taro Milk Tea") && r.contains("$5.75"), "{r}");
    let r = menu(&s, PIZZA, "margarita pizza");
    assert!(r.contains("Margherita Pizza") && r.contains("$15"), "{r}");
    let r = menu(&s, PIZZA, "calamary");
    assert!(r.contains("Fried Calamari"), "{r}");
    let r = menu(&s, THAI, "the curry with potatoes");
    assert!(r.contains("Massaman Curry"), "{r}");
}

#[test]
fn sold_out_items_are_known_but_not_offered() {
    let s = seeded();
    let r = menu(&s, BOBA, "ube latte");
    assert!(r.contains("Ube Latte") && r.contains("sold out"), "{r}");
}

#[test]
fn category_and_overview() {
    let s = seeded();
    let r = ask(
        &s,
        THAI,
        FRIDAY_18Z,
        "get_menu_info",
        json!({"category": "noodles"}),
    );
    assert!(
        r.contains("Pad Thai for $14.50") && r.contains("Pad See Ew"),
        "{r}"
    );
    let r = ask(&s, THAI, FRIDAY_18Z, "get_menu_info", json!({}));
    assert!(r.contains("Curries") && r.contains("Noodles"), "{r}");
}

#[test]
fn nothing_is_invented_for_things_not_on_the_menu() {
    let s = seeded();
    let r = menu(&s, PIZZA, "sushi");
    assert!(
        r.starts_with("Sorry") || r.starts_with("I'm not sure"),
        "{r}"
    );
}

#[test]
fn modifiers_list_choices_with_prices_and_rules() {
    let s = seeded();
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "get_modifiers_info",
        json!({"item": "chicken wings"}),
    );
    assert!(r.contains("Chicken Wings") && r.contains("Buffalo"), "{r}");
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_modifiers_info",
        json!({"item": "taro milk tea"}),
    );
    assert!(r.contains("Sweetness") || r.contains("sweetness"), "{r}");
    let r = ask(&s, BOBA, FRIDAY_18Z, "get_modifiers_info", json!({}));
    assert!(
        r.starts_with("ERROR: "),
        "a missing required argument is an error: {r}"
    );
}

#[test]
fn hours_answer_open_now_in_the_restaurants_zone() {
    let s = seeded();
    // 10 AM Friday in Los Angeles: the boba shop opens at 11.
    let r = ask(&s, BOBA, FRIDAY_18Z, "get_hours_info", json!({}));
    assert!(r.contains("closed") && r.contains("11 AM"), "{r}");
    // 1 PM Friday in New York: open until 11 PM.
    let r = ask(&s, THAI, FRIDAY_18Z, "get_hours_info", json!({}));
    assert!(r.contains("open") && r.contains("11 PM"), "{r}");
    // 00:30 Saturday in Chicago: still open from Friday's overnight hours, until 1 AM.
    let r = ask(
        &s,
        PIZZA,
        "2026-11-21T06:30:00Z",
        "get_hours_info",
        json!({"day": "now"}),
    );
    assert!(r.contains("open") && r.contains("1 AM"), "{r}");
    // Thanksgiving.
    let r = ask(
        &s,
        PIZZA,
        "2026-11-26T18:00:00Z",
        "get_hours_info",
        json!({}),
    );
    assert!(r.contains("Thanksgiving"), "{r}");
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "get_hours_info",
        json!({"day": "sunday"}),
    );
    assert!(
        r.contains("Sunday") && r.contains("noon") && r.contains("9 PM"),
        "{r}"
    );
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "get_hours_info",
        json!({"day": "monday"}),
    );
    assert!(r.contains("closed"), "{r}");
    // A holiday named in the question finds the closure, in the restaurant's future.
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_hours_info",
        json!({"day": "are you open on thanksgiving"}),
    );
    assert!(
        r.contains("November 26") && r.contains("closed for Thanksgiving"),
        "{r}"
    );
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_hours_info",
        json!({"day": "what are your hours"}),
    );
    assert!(r.contains("Monday") && r.contains("Sunday"), "{r}");
}

#[test]
fn a_generic_word_offers_choices_instead_of_guessing() {
    let s = seeded();
    let r = menu(&s, PIZZA, "pizza");
    assert!(r.contains("Which one") || r.starts_with("In "), "{r}");
}

#[test]
fn delivery_by_zip_and_address() {
    let s = seeded();
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "get_delivery_info",
        json!({"address_or_zip": "2500 N Milwaukee Ave, Chicago 60647"}),
    );
    assert!(
        r.contains("Logan Square") && r.contains("$2.99") && r.contains("$15"),
        "{r}"
    );
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "get_delivery_info",
        json!({"address_or_zip": "60601"}),
    );
    assert!(r.contains("outside"), "{r}");
    let r = ask(&s, PIZZA, FRIDAY_18Z, "get_delivery_info", json!({}));
    assert!(r.contains("Logan Square") && r.contains("ZIP"), "{r}");
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_delivery_info",
        json!({"address_or_zip": "94122"}),
    );
    assert!(r.contains("don't deliver"), "{r}");
}

#[test]
fn faq_matches_rephrased_questions() {
    let s = seeded();
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "search_faq",
        json!({"query": "is there somewhere to park"}),
    );
    let v: Value = serde_json::from_str(PIZZA).unwrap();
    let parking = v["faq"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["q"] == "Is there parking?")
        .unwrap();
    assert_eq!(r, parking["a"].as_str().unwrap());
    let r = ask(
        &s,
        PIZZA,
        FRIDAY_18Z,
        "search_faq",
        json!({"query": "what's the capital of France"}),
    );
    assert!(r.contains("don't have information"), "{r}");
}

#[test]
fn several_calls_both_argument_shapes_same_order() {
    let s = seeded();
    let body = json!({"message": {"type": "tool-calls", "timestamp": 1763661600000u64,
    "phoneNumber": {"number": line(BOBA)},
    "toolCalls": [
        {"id": "a", "type": "function", "function": {"name": "get_menu_info", "arguments": "{\"query\":\"boba tee\"}"}},
        {"id": "b", "type": "function", "function": {"name": "get_hours_info", "arguments": {}}},
        {"id": "c", "name": "search_faq", "parameters": {"query": "do you take credit cards"}},
        {"id": "d", "type": "function", "function": {"name": "make_coffee", "arguments": {}}},
        {"id": "e", "type": "function", "function": {"name": "get_menu_info", "arguments": "{oops"}}
    ]}});
    let (st, v) = post_raw(&s, &body.to_string(), SECRET);
    assert_eq!(st, 200);
    let results = v["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["toolCallId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "get_menu_info",
            "get_hours_info",
            "search_faq",
            "make_coffee",
            "get_menu_info"
        ]
    );
    for r in &results[..3] {
        assert!(r["result"].is_string() && r.get("error").is_none(), "{r}");
    }
    assert!(results[3]["error"].is_string() && results[4]["error"].is_string());
}

#[test]
fn a_line_never_sees_another_businesses_menu() {
    let s = seeded();
    // The Thai line asked for the pizzeria's dishes, and the other way round.
    for q in [
        "margherita pizza",
        "deep dish",
        "italian beef",
        "garlic knots",
    ] {
        let r = menu(&s, THAI, q);
        assert!(
            !r.contains("Windy City") && !r.contains("$15.") && !r.contains("Deep Dish for"),
            "{q}: {r}"
        );
    }
    for q in ["pad thai", "massaman curry", "tom yum"] {
        let r = menu(&s, PIZZA, q);
        assert!(
            !r.contains("$14.50")
                && !r.contains("Massaman Curry for")
                && !r.contains("Tom Yum Goong"),
            "{q}: {r}"
        );
    }
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_delivery_info",
        json!({"address_or_zip": "60647"}),
    );
    assert!(!r.contains("Logan Square"), "{r}");
}

#[test]
fn unknown_line_answers_every_call_with_an_error() {
    let s = seeded();
    let body = json!({"message": {"type": "tool-calls", "phoneNumber": {"number": "+19995550000"},
        "toolCallList": [{"id": "a", "function": {"name": "get_menu_info", "arguments": {"query": "taro"}}},
                         {"id": "b", "function": {"name": "get_hours_info", "arguments": {}}}]}});
    let (st, v) = post_raw(&s, &body.to_string(), SECRET);
    assert_eq!(st, 200);
    for r in v["results"].as_array().unwrap() {
        assert!(r["error"].is_string() && r.get("result").is_none(), "{r}");
    }
    // No line at all: the business cannot come from anywhere else.
    let body = json!({"message": {"type": "tool-calls", "metadata": {"business_id": "boba"},
        "toolCallList": [{"id": "a", "function": {"name": "get_menu_info", "arguments": {"query": "taro", "business_id": "boba"}}}]}});
    let (_, v) = post_raw(&s, &body.to_string(), SECRET);
    assert!(v["results"][0]["error"].is_string(), "{v}");
}

#[test]
fn wrong_secret_and_malformed_bodies() {
    let s = seeded();
    let body = json!({"message": {"type": "tool-calls", "phoneNumber": {"number": line(BOBA)}, "toolCallList": []}});
    let (st, v) = post_raw(&s, &body.to_string(), "nope");
    assert_eq!(st, 401);
    assert!(v["error"].is_string());
    // The media relay authenticates with the service token instead.
    let cfg = Config {
        vapi_secret: SECRET.into(),
        service_token: "relay-token".into(),
    };
    for (bearer, status) in [("relay-token", 200), ("not-the-token", 401)] {
        let req = Request::new(Method::Post, "/vapi/knowledge-base")
            .with_header("authorization", &format!("Bearer {bearer}"))
            .with_body(body.to_string());
        let r = block_on(handle(
            &req,
            &s,
            &cfg,
            "2030-01-01T00:00:00Z".parse().unwrap(),
        ));
        assert_eq!(r.status, status, "{bearer}");
    }
    for (bad, field) in [
        ("{", ""),
        (
            r#"{"message":{"type":"tool-calls","toolCallList":[{"function":{"name":"x"}}]}}"#,
            "message.toolCallList[0].id",
        ),
        (
            r#"{"message":{"type":"tool-calls","toolCallList":"nope"}}"#,
            "message.toolCallList",
        ),
    ] {
        let (st, v) = post_raw(&s, bad, SECRET);
        assert_eq!(st, 400, "{bad}");
        assert_eq!(v["field"].as_str().unwrap_or(""), field, "{bad}: {v}");
    }
}
