//! The owner API handler, natively, over the in-memory store: import/export, line ownership
//! across businesses, status, the Vapi number mapping, and bad input.

use futures::executor::block_on;
use hostline_owner_api::handler::{Config, handle};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::publish::load_published;
use hostline_shared::store::{MemoryStore, Store, keys};
use hostline_shared::tenancy::{BusinessRecord, LineRoute, read_json, resolve_line};
use hostline_test_support::fixtures::{BOBA, THAI, lines_of, with_lines};
use serde_json::{Value, json};

const TOKEN: &str = "operator-token";
const JWT_KEY: &str = "owner-api-test-jwt-key";

fn now() -> jiff::Timestamp {
    "2026-11-20T18:00:00Z".parse().unwrap()
}

fn call(store: &MemoryStore, method: Method, path: &str, body: &str) -> (u16, Value) {
    call_with(store, method, path, body, Some(TOKEN))
}

fn call_with(
    store: &MemoryStore,
    method: Method,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = Request::new(method, path).with_body(body.as_bytes().to_vec());
    if let Some(t) = token {
        req = req.with_header("authorization", &format!("Bearer {t}"));
    }
    let cfg = Config {
        admin_token: TOKEN.into(),
        jwt_key: JWT_KEY.into(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: "https://hostline.test".into(),
    };
    let Response { status, body, .. } = block_on(handle(&req, store, &cfg, now()));
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn route(store: &MemoryStore, line: &str) -> LineRoute {
    let l = PhoneE164::parse_e164(line).unwrap();
    block_on(resolve_line(store, Some(&l), None)).unwrap()
}

fn owner(store: &MemoryStore, line: &str) -> Option<String> {
    match route(store, line) {
        LineRoute::Active { business, .. } | LineRoute::Inactive { business, .. } => {
            Some(business.id.to_string())
        }
        LineRoute::Unknown => None,
    }
}

#[test]
fn import_then_export_round_trips_and_routes_every_line() {
    let s = MemoryStore::new();
    let (st, body) = call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["revision"], 1);
    assert!(body["items"].as_u64().unwrap() > 10);

    let (st, exported) = call(&s, Method::Get, "/api/v1/businesses/boba/restaurant", "");
    assert_eq!(st, 200);
    let original = hostline_shared::restaurant::Restaurant::parse(BOBA).unwrap();
    let back = hostline_shared::restaurant::Restaurant::parse(&exported.to_string()).unwrap();
    assert_eq!(original, back, "export gives back the imported document");

    for line in lines_of(BOBA) {
        assert_eq!(owner(&s, &line).as_deref(), Some("boba"), "{line}");
    }
    // Re-import is an update, not a create.
    let (st, body) = call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    assert_eq!(st, 200);
    assert_eq!(body["revision"], 2);
    // The published bundle is there for tool calls, at the revision the record names.
    let id = BusinessId::parse("boba").unwrap();
    let record: BusinessRecord = block_on(read_json(&s, &keys::business(&id)))
        .unwrap()
        .unwrap();
    let published = block_on(load_published(&s, &record)).unwrap().unwrap();
    assert_eq!(published.revision, 2);
    assert_eq!(published.restaurant.business, original.business);
    assert_eq!(published.index.items().count(), original.items().count());
}

#[test]
fn a_line_owned_by_another_business_is_a_409_naming_it() {
    let s = MemoryStore::new();
    assert_eq!(
        call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA).0,
        201
    );
    let taken = lines_of(BOBA)[1].clone();
    let thai_lines = lines_of(THAI);
    let thief = with_lines(THAI, &[&thai_lines[0], &taken]);
    let (st, body) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/restaurant",
        &thief,
    );
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["line"], taken.as_str());
    assert_eq!(body["field"], "business.phone_lines[1].e164");
    assert!(body["error"].as_str().unwrap().contains(&taken));
    // Nothing of the failed import routes, and the owner keeps its line.
    assert_eq!(owner(&s, &taken).as_deref(), Some("boba"));
    assert_eq!(owner(&s, &thai_lines[0]), None);
    assert_eq!(
        call(&s, Method::Get, "/api/v1/businesses/thai/restaurant", "").0,
        404
    );
    // The half-claimed line of the failed import does not block anyone: boba can take it.
    let mut boba_lines = lines_of(BOBA);
    boba_lines.push(thai_lines[0].clone());
    let refs: Vec<&str> = boba_lines.iter().map(String::as_str).collect();
    assert_eq!(
        call(
            &s,
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            &with_lines(BOBA, &refs)
        )
        .0,
        200
    );
    assert_eq!(owner(&s, &thai_lines[0]).as_deref(), Some("boba"));
}

#[test]
fn a_dropped_line_stops_routing_and_can_be_taken_by_another_business() {
    let s = MemoryStore::new();
    let lines = lines_of(BOBA);
    assert_eq!(
        call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA).0,
        201
    );
    let (st, body) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/boba/restaurant",
        &with_lines(BOBA, &[&lines[0]]),
    );
    assert_eq!(st, 200);
    assert_eq!(body["released_lines"], json!([lines[1]]));
    assert_eq!(owner(&s, &lines[1]), None);
    let (st, _) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/restaurant",
        &with_lines(THAI, &[&lines[1]]),
    );
    assert_eq!(st, 201);
    assert_eq!(owner(&s, &lines[1]).as_deref(), Some("thai"));
    assert_eq!(owner(&s, &lines[0]).as_deref(), Some("boba"));
}

#[test]
fn patch_active_switches_routing_to_inactive_and_back() {
    let s = MemoryStore::new();
    let line = lines_of(BOBA)[0].clone();
    call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    let (st, body) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"active": false}"#,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["active"], false);
    assert!(matches!(route(&s, &line), LineRoute::Inactive { .. }));
    // An import keeps the status.
    call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    assert!(matches!(route(&s, &line), LineRoute::Inactive { .. }));
    call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"active": true}"#,
    );
    assert!(matches!(route(&s, &line), LineRoute::Active { .. }));
    let (st, body) = call(&s, Method::Get, "/api/v1/businesses/boba", "");
    assert_eq!(st, 200);
    assert_eq!(body["lines"].as_array().unwrap().len(), 2);
}

#[test]
fn patch_sets_and_clears_transfer_line_and_balance() {
    let s = MemoryStore::new();
    call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    let (st, v) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"transfer_to": "+14155550999", "balance_seconds": 600}"#,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["transfer_to"].as_str(), v["balance_seconds"].as_i64()),
        (Some("+14155550999"), Some(600))
    );
    // Absent fields keep their values; a re-import keeps them too.
    call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"active": true}"#,
    );
    call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    let (_, v) = call(&s, Method::Get, "/api/v1/businesses/boba", "");
    assert_eq!(v["transfer_to"], "+14155550999");
    // null clears.
    let (_, v) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"transfer_to": null, "balance_seconds": null}"#,
    );
    assert!(
        v.get("transfer_to").is_none() && v.get("balance_seconds").is_none(),
        "{v}"
    );
    let (st, v) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"transfer_to": "call me"}"#,
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("transfer_to")));
    let (st, v) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"balance_seconds": "lots"}"#,
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("balance_seconds")));
}

#[test]
fn vapi_number_mapping_routes_by_phone_number_id() {
    let s = MemoryStore::new();
    let line = lines_of(BOBA)[0].clone();
    call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    let (st, _) = call(
        &s,
        Method::Put,
        "/api/v1/vapi-numbers/pn-123",
        &json!({"e164": line}).to_string(),
    );
    assert_eq!(st, 200);
    let r = block_on(resolve_line(&s, None, Some("pn-123"))).unwrap();
    assert!(matches!(r, LineRoute::Active { .. }));
    let r = block_on(resolve_line(&s, None, Some("pn-unknown"))).unwrap();
    assert_eq!(r, LineRoute::Unknown);
}

#[test]
fn bad_input_gets_a_4xx_naming_what_is_wrong() {
    let s = MemoryStore::new();
    let cases: Vec<(Method, &str, String, u16, Option<&str>)> = vec![
        (
            Method::Put,
            "/api/v1/businesses/Bad_Id/restaurant",
            BOBA.into(),
            400,
            Some("business_id"),
        ),
        (
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            "".into(),
            400,
            None,
        ),
        (
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            "{not json".into(),
            400,
            None,
        ),
        (
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            BOBA.replacen("\"price_cents\": ", "\"price_cents\": -", 1),
            400,
            Some("menu.categories[0].items[0].price_cents"),
        ),
        (
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            BOBA.replacen("\"currency\"", "\"colour\": \"red\", \"currency\"", 1),
            400,
            Some("business.colour"),
        ),
        (
            Method::Patch,
            "/api/v1/businesses/nobody",
            r#"{"active":false}"#.into(),
            404,
            None,
        ),
        (
            Method::Put,
            "/api/v1/vapi-numbers/pn-1",
            r#"{"e164":"415"}"#.into(),
            400,
            Some("e164"),
        ),
        (
            Method::Put,
            "/api/v1/vapi-numbers/pn-1",
            r#"{"number":"+14155550100"}"#.into(),
            400,
            None,
        ),
        (
            Method::Delete,
            "/api/v1/businesses/boba/restaurant",
            "".into(),
            405,
            None,
        ),
        (Method::Get, "/api/v1/nothing-here", "".into(), 404, None),
    ];
    for (m, path, body, status, field) in cases {
        let (st, v) = call(&s, m, path, &body);
        assert_eq!(st, status, "{path}: {v}");
        assert!(v["error"].is_string(), "{path}: error body {v}");
        if let Some(f) = field {
            assert!(
                v["field"].as_str().is_some_and(|x| x.starts_with(f)),
                "{path}: expected field {f}, got {v}"
            );
        }
    }
    // A document rejected for any reason writes nothing.
    assert!(block_on(s.list("")).unwrap().is_empty());
}

#[test]
fn every_route_needs_the_admin_token() {
    let s = MemoryStore::new();
    for token in [None, Some("wrong"), Some("")] {
        let (st, v) = call_with(
            &s,
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            BOBA,
            token,
        );
        assert_eq!(st, 401, "{token:?}");
        assert!(v["error"].is_string());
        assert_eq!(
            call_with(&s, Method::Get, "/api/v1/businesses/boba", "", token).0,
            401
        );
    }
    // And an unset admin token locks everything.
    let req = Request::new(Method::Get, "/api/v1/businesses/boba")
        .with_header("authorization", "Bearer ");
    let resp = block_on(handle(
        &req,
        &s,
        &Config {
            admin_token: String::new(),
            jwt_key: String::new(),
            pii_hash_key: "test-pii-hash-key".into(),
            texts: None,
            public_base_url: "https://hostline.test".into(),
        },
        now(),
    ));
    assert_eq!(resp.status, 401);
}

#[test]
fn balance_seconds_is_range_checked_at_the_edges() {
    use hostline_shared::tenancy::MAX_BALANCE_SECONDS;
    let s = MemoryStore::new();
    assert_eq!(
        call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA).0,
        201
    );
    let patch = |v: Value| {
        call(
            &s,
            Method::Patch,
            "/api/v1/businesses/boba",
            &json!({ "balance_seconds": v }).to_string(),
        )
    };
    for ok in [json!(0), json!(MAX_BALANCE_SECONDS), json!(null)] {
        let (st, body) = patch(ok.clone());
        assert_eq!(st, 200, "{ok}: {body}");
        assert_eq!(
            body.get("balance_seconds").cloned().unwrap_or(Value::Null),
            ok
        );
    }
    for bad in [
        json!(-1),
        json!(MAX_BALANCE_SECONDS + 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!("60"),
        json!(u64::MAX),
    ] {
        let (st, body) = patch(bad.clone());
        assert_eq!(st, 400, "{bad}: {body}");
        assert_eq!(body["field"], "balance_seconds", "{bad}: {body}");
    }
    // The record kept the last good value.
    let (_, body) = call(&s, Method::Get, "/api/v1/businesses/boba", "");
    assert!(body.get("balance_seconds").is_none(), "{body}");
    assert!(
        body.get("published").is_none(),
        "storage pointers stay internal: {body}"
    );
}

#[test]
fn routing_and_storage_faults_answer_like_every_other_route() {
    use hostline_shared::store::FaultyStore;
    let s = FaultyStore::new(MemoryStore::new());
    let call = |method: Method, path: &str, body: &str| {
        let req = Request::new(method, path)
            .with_body(body.as_bytes().to_vec())
            .with_header("authorization", &format!("Bearer {TOKEN}"));
        let cfg = Config {
            admin_token: TOKEN.into(),
            jwt_key: JWT_KEY.into(),
            pii_hash_key: "test-pii-hash-key".into(),
            texts: None,
            public_base_url: "https://hostline.test".into(),
        };
        block_on(handle(&req, &s, &cfg, now()))
    };
    assert_eq!(
        call(Method::Put, "/api/v1/businesses/boba/restaurant/", BOBA).status,
        201
    );
    assert_eq!(
        call(Method::Get, "/api/v1/businesses/boba/", "").status,
        200
    );
    assert_eq!(
        call(Method::Get, "/api/v1/businesses/boba/menu", "").status,
        404
    );
    assert_eq!(
        call(Method::Delete, "/api/v1/businesses/boba", "").status,
        405
    );
    let r = call(Method::Get, "/api/v1/businesses/Not_An_Id", "");
    assert_eq!(
        (
            r.status,
            serde_json::from_slice::<Value>(&r.body).unwrap()["field"].clone()
        ),
        (400, json!("business_id"))
    );
    // The store stops taking writes: a retryable 503 with Retry-After, nothing of the fault
    // in the body, and the business as it was.
    s.fail_from(1);
    let r = call(
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"active": false}"#,
    );
    assert_eq!(r.status, 503, "{}", r.body_str());
    assert!(r.headers.iter().any(|(n, _)| n == "retry-after"));
    assert!(!r.body_str().contains("injected"), "{}", r.body_str());
    let r = call(Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    assert_eq!(r.status, 503, "{}", r.body_str());
    s.heal();
    let r = call(Method::Get, "/api/v1/businesses/boba", "");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["active"].clone(), v["revision"].clone()),
        (json!(true), json!(1))
    );
}

/// The import answers the voice-lint beside what it stored, and `GET …/voice-lint` answers the
/// same for the stored document; a menu with sound-alikes is still imported.
#[test]
fn the_import_answers_its_voice_lint_and_the_route_repeats_it() {
    let s = MemoryStore::new();
    let mut doc: Value = serde_json::from_str(BOBA).unwrap();
    // Plant a sound-alike: a second item named as the first one sounds.
    let items = doc["menu"]["categories"][0]["items"]
        .as_array_mut()
        .unwrap();
    let mut twin = items[0].clone();
    let name = twin["name"].as_str().unwrap().to_owned();
    twin["id"] = json!("planted-twin");
    twin["name"] = json!(name.replace('a', "ah"));
    twin["aliases"] = json!([]);
    items.push(twin);
    let (st, body) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/boba/restaurant",
        &doc.to_string(),
    );
    assert_eq!(st, 201, "{body}");
    let lint = body["voice_lint"]
        .as_array()
        .expect("voice_lint in the answer");
    let planted: Vec<&Value> = lint
        .iter()
        .filter(|w| w["kind"] == "sound_alike" && w["ids"][1] == "planted-twin")
        .collect();
    assert_eq!(planted.len(), 1, "{lint:#?}");
    assert!(planted[0]["message"].as_str().unwrap().contains(&name));
    assert!(planted[0]["suggestion"].is_string());

    let (st, again) = call(&s, Method::Get, "/api/v1/businesses/boba/voice-lint", "");
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["revision"], 1);
    assert_eq!(&again["voice_lint"], &body["voice_lint"]);

    let (st, v) = call(&s, Method::Get, "/api/v1/businesses/nobody/voice-lint", "");
    assert_eq!(st, 404, "{v}");
    assert_eq!(
        call_with(
            &s,
            Method::Get,
            "/api/v1/businesses/boba/voice-lint",
            "",
            None
        )
        .0,
        401
    );
}

#[test]
fn hours_delivery_faq_and_lines_change_without_a_reimport() {
    let s = MemoryStore::new();
    let (st, _) = call(&s, Method::Put, "/api/v1/businesses/thai/restaurant", THAI);
    assert_eq!(st, 201);
    let published = |s: &MemoryStore| {
        let record = block_on(read_json::<_, BusinessRecord>(
            &s,
            &keys::business(&BusinessId::parse("thai").unwrap()),
        ))
        .unwrap()
        .unwrap();
        block_on(load_published(s, &record)).unwrap().unwrap()
    };

    // Hours: replaced, and the published bundle (what the hours tool reads) follows.
    let hours = json!({"hours": [{"days": ["mon", "tue"], "open": "10:00", "close": "14:00"}],
        "closures": [{"date": "2026-12-25", "reason": "Christmas"}]});
    let (st, v) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/hours",
        &hours.to_string(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["hours"], hours["hours"]);
    assert_eq!(v["revision"], 2);
    assert_eq!(published(&s).restaurant.hours.len(), 1);
    assert_eq!(published(&s).restaurant.closures.len(), 1);
    let (st, v) = call(&s, Method::Get, "/api/v1/businesses/thai/hours", "");
    assert_eq!(
        (st, &v["closures"][0]["reason"]),
        (200, &json!("Christmas"))
    );
    // Bad input names the document path; nothing changes.
    let (st, v) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/hours",
        &json!({"hours": [{"days": ["mon"], "open": "25:00", "close": "14:00"}]}).to_string(),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v["field"].as_str().unwrap().starts_with("hours[0]"), "{v}");
    let (st, v) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/hours",
        &json!({"menu": {}}).to_string(),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("menu")), "{v}");
    let (st, _) = call(&s, Method::Put, "/api/v1/businesses/thai/hours", "{}");
    assert_eq!(st, 400);
    assert_eq!(published(&s).revision, 2);

    // Delivery zones and the FAQ.
    let (st, v) = call(&s, Method::Put, "/api/v1/businesses/thai/delivery",
        &json!({"zones": [{"name": "Near", "zips": ["10001"], "fee_cents": 299, "min_order_cents": 1500}]}).to_string());
    assert_eq!(st, 200, "{v}");
    assert_eq!(published(&s).restaurant.delivery.zones[0].fee_cents.0, 299);
    let (st, v) = call(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/faq",
        &json!({"faq": [{"q": "Do you have parking?", "a": "Yes, behind the building."}]})
            .to_string(),
    );
    assert_eq!(st, 200, "{v}");
    // (The bundle keeps the FAQ in its index, not in its profile: check the document.)
    assert_eq!(published(&s).revision, 4);
    let (_, doc) = call(&s, Method::Get, "/api/v1/businesses/thai/restaurant", "");
    assert_eq!(doc["faq"][0]["q"], "Do you have parking?");

    // Lines: add (written as people write it), relabel, remove; each routes at once.
    let (st, v) = call(
        &s,
        Method::Post,
        "/api/v1/businesses/thai/lines",
        &json!({"e164": "(212) 555-0999", "label": "catering"}).to_string(),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["line"]["e164"], "+12125550999");
    assert_eq!(owner(&s, "+12125550999").as_deref(), Some("thai"));
    let (st, v) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/thai/lines/+12125550999",
        &json!({"label": "events", "priority": 3}).to_string(),
    );
    assert_eq!(st, 200, "{v}");
    assert!(
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["label"] == "events" && l["priority"] == 3)
    );
    let (st, _) = call(
        &s,
        Method::Patch,
        "/api/v1/businesses/thai/lines/+12125550888",
        r#"{"label":"x"}"#,
    );
    assert_eq!(st, 404);
    // A line of another business is refused, naming it.
    let (st, _) = call(&s, Method::Put, "/api/v1/businesses/boba/restaurant", BOBA);
    assert_eq!(st, 201);
    let boba_line = &lines_of(BOBA)[0];
    let (st, v) = call(
        &s,
        Method::Post,
        "/api/v1/businesses/thai/lines",
        &json!({"e164": boba_line, "label": "stolen"}).to_string(),
    );
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["line"], boba_line.as_str());
    let (st, v) = call(
        &s,
        Method::Delete,
        "/api/v1/businesses/thai/lines/+12125550999",
        "",
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["released_lines"], json!(["+12125550999"]));
    assert_eq!(owner(&s, "+12125550999"), None);
    // The rest of the document is as imported.
    let (_, doc) = call(&s, Method::Get, "/api/v1/businesses/thai/restaurant", "");
    let original: Value = serde_json::from_str(THAI).unwrap();
    assert_eq!(
        doc["menu"]["categories"].as_array().unwrap().len(),
        original["menu"]["categories"].as_array().unwrap().len()
    );
    // A business without a document: 404 on every section.
    for path in ["hours", "delivery", "faq", "lines"] {
        let (st, _) = call(
            &s,
            Method::Get,
            &format!("/api/v1/businesses/nobody/{path}"),
            "",
        );
        assert_eq!(st, 404, "{path}");
    }
}
