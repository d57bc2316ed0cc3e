//! The knowledge-base handler, natively, over the in-memory store with the repo's sample
//! restaurants imported through the owner API handler: every tool, both argument shapes,
//! several calls per message, tenant isolation, and bad input.

use futures::executor::block_on;
use hostline_knowledge_base::handler::{Config, handle};
use hostline_shared::credential::{TOOL_TOKEN_HEADER, ToolCredential};
use hostline_shared::http::{Method, Request};
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::MemoryStore;
use hostline_test_support::fixtures::{BOBA, PIZZA, THAI, id_of, lines_of, seeded};
use serde_json::{Value, json};

const TOOL_KEY: &str = "tool-token-test-key";

/// Friday 2026-11-20, 18:00 UTC: 10 AM in Los Angeles, noon in Chicago, 1 PM in New York.
const FRIDAY_18Z: &str = "2026-11-20T18:00:00Z";
/// The handler's clock (messages carry their own timestamps for the answers).
const HANDLER_NOW: &str = "2030-01-01T00:00:00Z";

fn line(doc: &str) -> String {
    lines_of(doc)[0].clone()
}

fn business_of(doc: &str) -> &'static str {
    id_of(doc)
}

/// The credential the assistant for `business`'s `line` carries.
fn credential(business: &str, line: &str) -> String {
    let now: jiff::Timestamp = HANDLER_NOW.parse().unwrap();
    ToolCredential::issue(
        BusinessId::parse(business).unwrap(),
        PhoneE164::parse_e164(line).unwrap(),
        now.as_second(),
    )
    .sign(TOOL_KEY.as_bytes())
    .unwrap()
}

/// The credential for `doc`'s first line.
fn credential_of(doc: &str) -> String {
    credential(business_of(doc), &line(doc))
}

fn post_raw(s: &MemoryStore, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = Request::new(Method::Post, "/vapi/knowledge-base").with_body(body);
    if let Some(t) = token {
        req = req.with_header(TOOL_TOKEN_HEADER, t);
    }
    let r = block_on(handle(
        &req,
        s,
        &Config {
            tool_token_key: TOOL_KEY.into(),
        },
        HANDLER_NOW.parse().unwrap(),
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
    let (st, v) = post_raw(s, &body.to_string(), Some(&credential_of(doc)));
    assert_eq!(st, 200, "{v}");
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
    // Each instant is on another day in UTC than in the restaurant's zone, so an answer
    // computed in the wrong zone reads differently.
    let hours = |doc: &str, at: &str| ask(&s, doc, at, "get_hours_info", json!({}));
    // 10 AM Friday in Los Angeles (18:00 UTC): the boba shop opens at 11.
    assert_eq!(
        hours(BOBA, FRIDAY_18Z),
        "We're closed right now; we open today at 11 AM. On Friday we're open 11 AM to 10 PM."
    );
    // 10:30 PM Friday in Los Angeles, Saturday 06:30 in UTC: closed since 10, opens tomorrow.
    assert_eq!(
        hours(BOBA, "2026-11-21T06:30:00Z"),
        "We're closed right now; we open tomorrow at 10 AM. On Friday we're open 11 AM to 10 PM."
    );
    // 10:30 PM Friday in New York, Saturday 03:30 in UTC: open until 11.
    assert_eq!(
        hours(THAI, "2026-11-21T03:30:00Z"),
        "We're open now until 11 PM. On Friday we're open 11:30 AM to 11 PM."
    );
    // 11:30 PM Friday in Chicago, Saturday 05:30 in UTC: open until 1 AM.
    assert_eq!(
        hours(PIZZA, "2026-11-21T05:30:00Z"),
        "We're open now until 1 AM. On Friday we're open 11 AM to 1 AM."
    );
    // 00:30 Saturday in Chicago: still open from Friday's overnight hours, until 1 AM.
    assert_eq!(
        ask(
            &s,
            PIZZA,
            "2026-11-21T06:30:00Z",
            "get_hours_info",
            json!({"day": "now"})
        ),
        "We're open now until 1 AM. On Saturday we're open 11 AM to 1 AM."
    );
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
    let (st, v) = post_raw(&s, &body.to_string(), Some(&credential_of(BOBA)));
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

/// Every name and id of `doc`'s business a tool answer could leak (business name and id,
/// categories, items, modifier options, delivery zones), less those `mine` shares.
fn fingerprints(doc: &str, mine: &str) -> Vec<String> {
    let names = |doc: &str| {
        let r = Restaurant::parse(doc).unwrap();
        let mut out = vec![r.business.name.clone(), business_of(doc).to_owned()];
        out.extend(r.menu.categories.iter().map(|c| c.name.clone()));
        out.extend(r.items().map(|(_, i)| i.name.clone()));
        out.extend(
            r.menu
                .modifier_groups
                .iter()
                .flat_map(|g| g.options.iter().map(|o| o.name.clone())),
        );
        let zones: Value = serde_json::from_str(doc).unwrap();
        if let Some(zs) = zones["delivery"]["zones"].as_array() {
            out.extend(
                zs.iter()
                    .filter_map(|z| z["name"].as_str().map(str::to_owned)),
            );
        }
        out
    };
    let own: Vec<String> = names(mine).iter().map(|n| n.to_lowercase()).collect();
    names(doc)
        .into_iter()
        .filter(|n| n.len() > 3 && !own.iter().any(|o| o.contains(&n.to_lowercase())))
        .collect()
}

/// `answer` (with the caller's own words `query` taken out: repeating them back is no leak)
/// names nothing of `other`'s business that `mine` does not share.
fn assert_nothing_of(other: &str, mine: &str, answer: &str, query: &str) {
    let lower = answer.to_lowercase().replace(&query.to_lowercase(), " ");
    let context = query;
    for f in fingerprints(other, mine) {
        assert!(
            !lower.contains(&f.to_lowercase()),
            "{context}: the answer names {f:?} of {}: {answer}",
            business_of(other)
        );
    }
}

#[test]
fn a_line_never_sees_another_businesses_menu() {
    let s = seeded();
    assert!(fingerprints(PIZZA, THAI).len() > 20, "the check has teeth");
    // The Thai line asked for the pizzeria's dishes, and the other way round.
    for q in [
        "margherita pizza",
        "deep dish",
        "italian beef",
        "garlic knots",
    ] {
        let r = menu(&s, THAI, q);
        assert_nothing_of(PIZZA, THAI, &r, q);
        assert_nothing_of(BOBA, THAI, &r, q);
    }
    for q in ["pad thai", "massaman curry", "tom yum"] {
        let r = menu(&s, PIZZA, q);
        assert_nothing_of(THAI, PIZZA, &r, q);
    }
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_delivery_info",
        json!({"address_or_zip": "60647"}),
    );
    assert_nothing_of(PIZZA, BOBA, &r, "60647");
}

#[test]
fn a_credential_for_one_line_reads_nothing_of_another() {
    let s = seeded();
    // Thai's credential, with a body that names the pizzeria's line: refused outright.
    let body = json!({"message": {"type": "tool-calls", "phoneNumber": {"number": line(PIZZA)},
        "toolCallList": [{"id": "a", "function": {"name": "get_menu_info", "arguments": {"query": "deep dish"}}},
                         {"id": "b", "function": {"name": "get_delivery_info", "arguments": {}}}]}});
    let (st, v) = post_raw(&s, &body.to_string(), Some(&credential_of(THAI)));
    assert_eq!(st, 403, "{v}");
    assert_eq!(v["field"], "message.phoneNumber.number");
    assert_nothing_of(PIZZA, THAI, &v.to_string(), "");
    // Without a line in the body, the credential's own line answers: Thai's menu only, even
    // when the metadata and the arguments name the pizzeria.
    let body = json!({"message": {"type": "tool-calls", "metadata": {"business_id": "pizza"},
        "toolCallList": [{"id": "a", "function": {"name": "get_menu_info", "arguments": {"query": "deep dish", "business_id": "pizza"}}},
                         {"id": "b", "function": {"name": "get_delivery_info", "arguments": {"address_or_zip": "60647"}}}]}});
    let (st, v) = post_raw(&s, &body.to_string(), Some(&credential_of(THAI)));
    assert_eq!(st, 200);
    assert_nothing_of(PIZZA, THAI, &v.to_string(), "deep dish");
    // A credential claiming the pizzeria's business on Thai's line is signed but false: the
    // line belongs to Thai, so it reads nothing of either.
    let forged_pair = credential("pizza", &line(THAI));
    let (st, v) = post_raw(&s, &body.to_string(), Some(&forged_pair));
    assert_eq!(st, 200);
    for r in v["results"].as_array().unwrap() {
        assert!(r["error"].is_string() && r.get("result").is_none(), "{r}");
    }
    assert_nothing_of(PIZZA, THAI, &v.to_string(), "deep dish");
    assert_nothing_of(THAI, PIZZA, &v.to_string(), "deep dish");
}

#[test]
fn a_line_nobody_owns_answers_every_call_with_an_error() {
    let s = seeded();
    let body = json!({"message": {"type": "tool-calls", "phoneNumber": {"number": "+19995550000"},
        "toolCallList": [{"id": "a", "function": {"name": "get_menu_info", "arguments": {"query": "taro"}}},
                         {"id": "b", "function": {"name": "get_hours_info", "arguments": {}}}]}});
    let (st, v) = post_raw(
        &s,
        &body.to_string(),
        Some(&credential("boba", "+19995550000")),
    );
    assert_eq!(st, 200);
    for r in v["results"].as_array().unwrap() {
        assert!(r["error"].is_string() && r.get("result").is_none(), "{r}");
    }
}

#[test]
fn only_a_valid_tool_credential_is_accepted() {
    let s = seeded();
    let body = json!({"message": {"type": "tool-calls", "phoneNumber": {"number": line(BOBA)}, "toolCallList": []}});
    let body = body.to_string();
    assert_eq!(post_raw(&s, &body, Some(&credential_of(BOBA))).0, 200);
    let other_key = ToolCredential::issue(
        BusinessId::parse("boba").unwrap(),
        PhoneE164::parse_e164(&line(BOBA)).unwrap(),
        HANDLER_NOW.parse::<jiff::Timestamp>().unwrap().as_second(),
    )
    .sign(b"another key")
    .unwrap();
    let expired = ToolCredential::issue(
        BusinessId::parse("boba").unwrap(),
        PhoneE164::parse_e164(&line(BOBA)).unwrap(),
        0,
    )
    .sign(TOOL_KEY.as_bytes())
    .unwrap();
    for (what, token) in [
        ("none", None),
        ("garbage", Some("nope")),
        ("another key", Some(other_key.as_str())),
        ("expired", Some(expired.as_str())),
    ] {
        let (st, v) = post_raw(&s, &body, token);
        assert_eq!(st, 401, "{what}");
        assert!(v["error"].is_string(), "{what}");
    }
    // The shared webhook secret, or the relay's service token, is no longer a key here.
    for (h, v) in [
        ("x-vapi-secret", "vapi-test-secret".to_owned()),
        ("authorization", "Bearer relay-token".to_owned()),
    ] {
        let req = Request::new(Method::Post, "/vapi/knowledge-base")
            .with_header(h, &v)
            .with_body(body.clone());
        let cfg = Config {
            tool_token_key: TOOL_KEY.into(),
        };
        let r = block_on(handle(&req, &s, &cfg, HANDLER_NOW.parse().unwrap()));
        assert_eq!(r.status, 401, "{h}");
    }
    // Unset key: every call refused, not opened.
    let cfg = Config {
        tool_token_key: String::new(),
    };
    let req = Request::new(Method::Post, "/vapi/knowledge-base")
        .with_header(TOOL_TOKEN_HEADER, &credential_of(BOBA))
        .with_body(body.clone());
    assert_eq!(
        block_on(handle(&req, &s, &cfg, HANDLER_NOW.parse().unwrap())).status,
        401
    );
}

#[test]
fn malformed_bodies_are_400s_naming_the_field() {
    let s = seeded();
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
        let (st, v) = post_raw(&s, bad, Some(&credential_of(BOBA)));
        assert_eq!(st, 400, "{bad}");
        assert_eq!(v["field"].as_str().unwrap_or(""), field, "{bad}: {v}");
    }
}

#[test]
fn a_ten_thousand_letter_word_gets_a_normal_answer() {
    let s = seeded();
    let blob = "x".repeat(10_000);
    let r = menu(&s, BOBA, &blob);
    assert_eq!(
        r,
        "Sorry, I couldn't find that on our menu. We have Milk Tea, Fresh Milk and Lattes, \
         Fruit Tea, Slushes and Smoothies and Snacks."
    );
    let r = ask(
        &s,
        BOBA,
        FRIDAY_18Z,
        "get_modifiers_info",
        json!({"item": blob}),
    );
    assert_eq!(r, "Sorry, I couldn't find that on our menu.");
    // A real word after the blob is still understood.
    let r = menu(&s, BOBA, &format!("{blob} taro milk tea"));
    assert!(r.contains("Taro Milk Tea"), "{r}");
}
