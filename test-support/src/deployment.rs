//! The black-box route tests, written once and run against every way the collection is
//! deployed: `hostline up` (functions/runner/tests/collection.rs) and the Lambda binaries over
//! DynamoDB and S3 (functions/lambda-adapter/tests/routes.rs). A [`Deployment`] is a base URL
//! that can be restarted on the same storage, started with the [`secrets`] below.

use crate::conversations;
use crate::fake_http::FakeHttp;
use crate::fixtures::with_lines;
use crate::{ORDER_TIME, tool_call_message};
use serde_json::{Value, json};

/// The settings every deployment under test is started with.
pub mod secrets {
    pub const VAPI_SECRET: &str = "collection-test-vapi-secret";
    pub const ADMIN_TOKEN: &str = "collection-test-admin-token";
    pub const TWILIO_TOKEN: &str = "collection-test-twilio-token";
    pub const RELAY_KEY: &str = "collection-test-relay-key";
    pub const SERVICE_TOKEN: &str = "collection-test-service-token";
    pub const PUBLIC_BASE_URL: &str = "https://hostline.test";
    pub const RELAY_URL: &str = "wss://relay.hostline.test/twilio/media";
    /// The Twilio account a deployment started for [`order_texted_once`](super::order_texted_once)
    /// sends from (its API base is the fake's URL).
    pub const TWILIO_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    /// The number verification codes are texted from, for the onboarding scenario.
    pub const VERIFY_FROM: &str = "+13125550199";
    /// The Vapi API key and the trial, for the onboarding scenario.
    pub const VAPI_API_KEY: &str = "e2e-vapi-key";
    pub const TRIAL_SECONDS: &str = "600";
}

/// The number the onboarding scenario's fake Twilio sells.
pub const ONBOARDING_NUMBER: &str = "+13125550160";

/// A fake Twilio for [`onboarding_wizard`]: texts, a number for sale, buying it.
pub fn onboarding_twilio() -> FakeHttp {
    crate::fake_http::FakeRules::new()
        .on("POST", "/Messages.json", 201, r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}"#)
        .on(
            "GET",
            "/AvailablePhoneNumbers/US/Local.json",
            200,
            &format!(r#"{{"available_phone_numbers":[{{"phone_number":"{ONBOARDING_NUMBER}","friendly_name":"(312) 555-0142"}}]}}"#),
        )
        .on(
            "POST",
            "/IncomingPhoneNumbers.json",
            201,
            &format!(r#"{{"sid":"PN0123456789abcdef0123456789abcdef","phone_number":"{ONBOARDING_NUMBER}"}}"#),
        )
        .start()
}

/// A fake Vapi for [`onboarding_wizard`]: registering a phone number.
pub fn onboarding_vapi() -> FakeHttp {
    crate::fake_http::FakeRules::new()
        .on(
            "POST",
            "/phone-number",
            201,
            r#"{"id":"vapi-e2e-number","provider":"twilio"}"#,
        )
        .start()
}

use secrets::*;

const DEMO: &str = include_str!("../../fixtures/restaurants/demo-boba.json");
const THAI: &str = include_str!("../../fixtures/restaurants/golden-lotus-thai.json");
const PIZZA: &str = include_str!("../../fixtures/restaurants/windy-city-slice.json");

/// A running deployment of the whole collection.
pub trait Deployment {
    fn client(&self) -> &Client;
    /// Stops every process and starts them again on the same storage.
    fn restart(&mut self);
    /// Whether it imported the demo restaurant (`demo-boba`) itself on first start.
    fn seeds_demo(&self) -> bool;
}

/// Blocking HTTP to a deployment, with the requests the scenarios share.
#[derive(Debug, Clone)]
pub struct Client {
    pub url: String,
}

impl Client {
    pub fn new(url: impl Into<String>) -> Client {
        Client { url: url.into() }
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, headers, body)
    }

    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let client = reqwest::blocking::Client::new();
        let mut req = client
            .request(method, format!("{}{path}", self.url))
            .body(body.to_owned());
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A request with the operator's admin token that must succeed (any 2xx); its answer.
    pub fn as_admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let admin = format!("Bearer {ADMIN_TOKEN}");
        let (st, v) = self.send(
            method,
            path,
            &[
                ("authorization", &admin),
                ("content-type", "application/json"),
            ],
            &body.to_string(),
        );
        assert!(st < 300, "{path}: {st} {v}");
        v
    }

    pub fn vapi(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post(path, &[("x-vapi-secret", VAPI_SECRET)], &body.to_string())
    }

    pub fn import(&self, id: &str, doc: &str) -> (u16, Value) {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.send(
            reqwest::Method::PUT,
            &format!("/api/v1/businesses/{id}/restaurant"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            doc,
        )
    }

    pub fn assistant_for(&self, line: &str) -> Value {
        let (st, v) = self.vapi(
            "/vapi/assistant-request",
            &json!({"message": {"type": "assistant-request", "phoneNumber": {"number": line}, "call": {"id": "c"}}}),
        );
        assert_eq!(st, 200, "{v}");
        v
    }

    /// The headers Vapi would send on a tool call for `line`: whatever the assistant's tool
    /// servers carry (the per-business tool credential), plus the webhook secret.
    pub fn tool_headers(&self, line: &str) -> Vec<(String, String)> {
        let v = self.assistant_for(line);
        let mut headers = vec![("x-vapi-secret".to_owned(), VAPI_SECRET.to_owned())];
        headers.extend(crate::tool_server_headers(&v));
        headers
    }

    /// A tool-calls message for `line`, sent with the credential its assistant carries.
    pub fn tool_calls(&self, line: &str, body: &Value) -> (u16, Value) {
        let headers = self.tool_headers(line);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.post("/vapi/knowledge-base", &headers, &body.to_string())
    }

    pub fn tool(&self, line: &str, name: &str, args: Value) -> String {
        let (st, v) = self.tool_calls(
            line,
            &json!({"message": {"type": "tool-calls", "timestamp": "2026-11-20T18:00:00Z",
                "phoneNumber": {"number": line}, "call": {"id": "c"},
                "toolCallList": [{"id": "t", "type": "function", "function": {"name": name, "arguments": args}}]}}),
        );
        assert_eq!(st, 200, "{v}");
        let r = &v["results"][0];
        r["result"]
            .as_str()
            .or(r["error"].as_str())
            .unwrap()
            .to_owned()
    }
}

pub fn lines(doc: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(doc).unwrap();
    v["business"]["phone_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["e164"].as_str().unwrap().to_owned())
        .collect()
}

/// Every name and id a restaurant document gives its business, menu and address, lower
/// case: what must never show up in another tenant's answers.
pub fn names_of(id: &str, doc: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(doc).unwrap();
    let text = |v: &Value| v.as_str().map(str::to_lowercase);
    let business = &v["business"];
    let mut names: Vec<String> = [
        &business["name"],
        &business["legal_name"],
        &business["address"],
    ]
    .into_iter()
    .filter_map(text)
    .collect();
    names.push(id.to_owned());
    let menu = &v["menu"];
    for category in menu["categories"].as_array().unwrap() {
        names.extend(text(&category["name"]));
        for item in category["items"].as_array().unwrap() {
            names.extend(text(&item["name"]));
            names.extend(text(&item["id"]));
            for alias in item["aliases"].as_array().into_iter().flatten() {
                names.extend(text(alias));
            }
        }
    }
    for group in menu["modifier_groups"].as_array().unwrap() {
        names.extend(text(&group["name"]));
        names.extend(text(&group["id"]));
        for option in group["options"].as_array().unwrap() {
            names.extend(text(&option["name"]));
            names.extend(text(&option["id"]));
        }
    }
    names.retain(|n| n.len() >= 3);
    names
}

/// The collection end to end: health, imports, routing by every line, knowledge answers, no
/// answer naming another tenant, bad credentials and bodies, a stolen line refused, a Twilio
/// call with its stream token and agent configuration; then a restart loses nothing.
pub fn collection_with_restart(d: &mut impl Deployment) {
    let businesses = [
        ("demo-boba", DEMO),
        ("golden-lotus", THAI),
        ("windy-city", PIZZA),
    ];

    let runner = d.client();
    // Health. /healthz is the healthz function, as on any Spin host.
    let (st, v) = runner.send(reqwest::Method::GET, "/healthz", &[], "");
    assert_eq!((st, &v), (200, &json!({"status": "ok"})));
    let (st, v) = runner.send(reqwest::Method::POST, "/healthz", &[], "");
    assert_eq!(st, 405, "{v}");
    assert!(v["error"].is_string(), "{v}");
    // Import the other two, and the demo unless the deployment seeded it on first start.
    let imported = if d.seeds_demo() { 1 } else { 0 };
    for (id, doc) in &businesses[imported..] {
        let (st, v) = runner.import(id, doc);
        assert_eq!(st, 201, "{id}: {v}");
    }

    // Routing by each line of each business.
    for (id, doc) in businesses {
        for line in lines(doc) {
            let v = runner.assistant_for(&line);
            assert_eq!(v["assistant"]["metadata"]["business_id"], id, "{line}: {v}");
            assert_eq!(
                v["assistant"]["model"]["tools"][0]["server"]["url"],
                "https://hostline.test/vapi/knowledge-base"
            );
        }
    }
    // Unknown line: a spoken error with 200.
    let v = runner.assistant_for("+19995550000");
    assert!(
        v["error"].is_string() && v.get("assistant").is_none(),
        "{v}"
    );

    // Knowledge answers, per business.
    let demo = &lines(DEMO)[0];
    let thai = &lines(THAI)[0];
    let pizza = &lines(PIZZA)[0];
    let r = runner.tool(
        demo,
        "get_menu_info",
        json!({"query": "do you have tarot milk tea"}),
    );
    assert!(r.contains("Taro Milk Tea") && r.contains('$'), "{r}");
    let r = runner.tool(demo, "get_hours_info", json!({}));
    assert!(
        r.contains("closed") && r.contains("11 AM"),
        "10 AM Friday in San Francisco: {r}"
    );
    let r = runner.tool(
        thai,
        "get_menu_info",
        json!({"query": "the curry with potatoes"}),
    );
    assert!(r.contains("Massaman"), "{r}");
    let r = runner.tool(
        pizza,
        "get_delivery_info",
        json!({"address_or_zip": "60647"}),
    );
    assert!(r.contains("Logan Square"), "{r}");
    let r = runner.tool(pizza, "get_menu_info", json!({"query": "margarita pizza"}));
    assert!(r.contains("Margherita"), "{r}");

    // Cross-tenant isolation: whatever the Thai line is asked, even for the other
    // restaurants' own dishes, no name or id of theirs appears in its answers.
    let foreign: Vec<String> = [("demo-boba", DEMO), ("windy-city", PIZZA)]
        .into_iter()
        .flat_map(|(id, doc)| names_of(id, doc))
        .filter(|n| !THAI.to_lowercase().contains(n.as_str()))
        .collect();
    assert!(foreign.len() > 100, "{foreign:?}");
    for (tool, args) in [
        ("get_menu_info", json!({"query": "margherita pizza"})),
        ("get_menu_info", json!({"query": "taro milk tea"})),
        ("get_menu_info", json!({"query": "deep dish pepperoni"})),
        (
            "get_menu_info",
            json!({"query": "brown sugar boba with cheese foam"}),
        ),
        ("get_modifiers_info", json!({"item": "pepperoni pizza"})),
        ("get_modifiers_info", json!({"item": "taro milk tea"})),
        ("get_delivery_info", json!({"address_or_zip": "60647"})),
        (
            "search_faq",
            json!({"query": "is there parking on irving street"}),
        ),
        ("get_hours_info", json!({})),
    ] {
        let r = runner.tool(thai, tool, args.clone()).to_lowercase();
        // Repeating the caller's own words ("no margherita pizza here") is not a leak.
        let asked = args.to_string().to_lowercase();
        for name in foreign.iter().filter(|n| !asked.contains(n.as_str())) {
            assert!(
                !r.contains(name.as_str()),
                "{tool} {args} on the Thai line names {name:?} of another business: {r}"
            );
        }
    }

    // Both argument shapes and several calls in one message, answered in order.
    let body = json!({"message": {"type": "tool-calls", "timestamp": 1763661600000u64,
        "phoneNumber": {"number": demo},
        "toolCalls": [
            {"id": "a", "type": "function", "function": {"name": "get_modifiers_info", "arguments": "{\"item\":\"taro milk tea\"}"}},
            {"id": "b", "type": "function", "function": {"name": "get_menu_info", "arguments": {"query": "boba"}}},
            {"id": "c", "name": "search_faq", "parameters": {"query": "is there parking"}}]}});
    let (st, v) = runner.tool_calls(demo, &body);
    assert_eq!(st, 200);
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["toolCallId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    for r in v["results"].as_array().unwrap() {
        assert!(
            r["result"]
                .as_str()
                .is_some_and(|t| !t.is_empty() && !t.contains('\n')),
            "{r}"
        );
    }

    // Wrong secret, malformed bodies, wrong admin token.
    let tool_auth = runner.tool_headers(thai);
    let vapi_auth = vec![("x-vapi-secret".to_owned(), VAPI_SECRET.to_owned())];
    for (path, auth) in [
        ("/vapi/assistant-request", &vapi_auth),
        ("/vapi/knowledge-base", &tool_auth),
    ] {
        let auth: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let (st, v) = runner.post(path, &[("x-vapi-secret", "wrong")], "{}");
        assert_eq!(st, 401, "{path}");
        assert!(v["error"].is_string());
        let (st, v) = runner.post(path, &[], "{}");
        assert_eq!(st, 401, "{path}: no secret");
        assert!(v["error"].is_string());
        let (st, v) = runner.post(path, &auth, "{\"message\":");
        assert_eq!(st, 400, "{path}: {v}");
        let (st, v) = runner.post(path, &auth, r#"{"message":{"type":7}}"#);
        assert_eq!(
            (st, v["field"].as_str()),
            (400, Some("message.type")),
            "{path}: {v}"
        );
    }
    let (st, _) = runner.send(
        reqwest::Method::PUT,
        "/api/v1/businesses/x-y-z/restaurant",
        &[("authorization", "Bearer nope")],
        THAI,
    );
    assert_eq!(st, 401);
    let (st, v) = runner.import("bad id!", THAI);
    assert!(st == 400 || st == 404, "{st} {v}");

    // A line already owned by another business: 409 naming it, and nothing changes.
    let stolen = THAI.replace(&lines(THAI)[0], &lines(PIZZA)[0]);
    let (st, v) = runner.import("golden-lotus", &stolen);
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["line"], lines(PIZZA)[0].as_str());
    assert_eq!(
        runner.assistant_for(&lines(PIZZA)[0])["assistant"]["metadata"]["business_id"],
        "windy-city"
    );
    assert_eq!(
        runner.assistant_for(&lines(THAI)[0])["assistant"]["metadata"]["business_id"],
        "golden-lotus"
    );

    // A Twilio call to a line: signed webhook → TwiML streaming to the relay with a token the
    // relay can verify; the relay's agent configuration; the knowledge tools with its token.
    let call_sid = "CA0123456789abcdef0123456789abcdef";
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("CallSid", call_sid),
            ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("To", pizza.as_str()),
            ("From", "+15551230001"),
        ])
        .finish();
    let sig = hostline_shared::twilio::expected_signature(
        TWILIO_TOKEN,
        "https://hostline.test/twilio/voice",
        &hostline_shared::twilio::Form::parse(form.as_bytes()),
    );
    let (st, twiml) = runner.post("/twilio/voice", &[("x-twilio-signature", &sig)], &form);
    assert_eq!(st, 200);
    let twiml = twiml.as_str().unwrap().to_owned();
    assert!(
        twiml.contains(r#"<Stream url="wss://relay.hostline.test/twilio/media">"#),
        "{twiml}"
    );
    let marker = r#"<Parameter name="token" value=""#;
    let token = &twiml[twiml.find(marker).unwrap() + marker.len()..];
    let token = &token[..token.find('"').unwrap()];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims =
        hostline_shared::relay::StreamToken::verify(token, RELAY_KEY.as_bytes(), now, call_sid)
            .unwrap();
    assert_eq!(claims.business_id, "windy-city");
    let (st, _) = runner.post("/twilio/voice", &[("x-twilio-signature", "forged")], &form);
    assert_eq!(st, 403);
    let svc = format!("Bearer {SERVICE_TOKEN}");
    let (st, cfg) = runner.send(
        reqwest::Method::GET,
        "/internal/agent-config/windy-city",
        &[
            ("authorization", &svc),
            (hostline_shared::relay::STREAM_TOKEN_HEADER, token),
        ],
        "",
    );
    assert_eq!(st, 200, "{cfg}");
    assert!(cfg["prompt"].as_str().unwrap().contains("Windy City"));
    let (st, _) = runner.send(
        reqwest::Method::GET,
        "/internal/agent-config/windy-city",
        &[],
        "",
    );
    assert_eq!(st, 401);
    // The relay sends the call's tool credential from its agent configuration.
    let relay_token = cfg["tool_token"].as_str().expect("agent config tool_token");
    let (st, v) = runner.post(
        "/vapi/knowledge-base",
        &[("x-hostline-tool-token", relay_token)],
        &json!({"message": {"type": "tool-calls", "call": {"id": call_sid}, "phoneNumber": {"number": claims.line},
            "toolCallList": [{"id": "fc_1", "type": "function", "function": {"name": "get_menu_info", "arguments": {"query": "deep dish"}}}]}})
        .to_string(),
    );
    assert_eq!(st, 200);
    assert!(
        v["results"][0]["result"]
            .as_str()
            .unwrap()
            .contains("Deep Dish"),
        "{v}"
    );

    // Restart on the same data directory: everything is still there, and no re-seed happens.
    let before = runner.tool(thai, "get_menu_info", json!({"query": "pad see you"}));
    d.restart();
    let runner = d.client();
    for (id, doc) in businesses {
        for line in lines(doc) {
            assert_eq!(
                runner.assistant_for(&line)["assistant"]["metadata"]["business_id"],
                id,
                "{line} after restart"
            );
        }
    }
    assert_eq!(
        runner.tool(thai, "get_menu_info", json!({"query": "pad see you"})),
        before
    );
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (st, v) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/demo-boba",
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(st, 200);
    assert_eq!(
        v["revision"], 1,
        "the demo was written once, not again on restart: {v}"
    );
}

/// An order by phone is texted once when the call ends (Vapi delivers the report twice) and
/// once when the kitchen marks it ready. `d` must send texts through `twilio`, a fake
/// answering `POST .../Messages.json`, as [`secrets::TWILIO_ACCOUNT`].
pub fn order_texted_once(d: &impl Deployment, twilio: &FakeHttp) {
    let runner = d.client();
    const AC: &str = TWILIO_ACCOUNT;
    const LINE: &str = "+13125550160";
    const CALLER: &str = "+13125550123";
    let as_admin = |method, path: &str, body| runner.as_admin(method, path, body);
    assert_eq!(runner.import("windy", PIZZA).0, 201);
    as_admin(
        reqwest::Method::PATCH,
        "/api/v1/businesses/windy",
        json!({"active": true}),
    );
    let headers = runner.tool_headers(LINE);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let call = json!({"id": "text-call-1", "customer": {"number": CALLER}});
    for (id, name, args) in [
        (
            "x1",
            "add_to_cart",
            json!({"item": "pepperoni pizza", "modifiers": ["large"]}),
        ),
        ("x2", "confirm_pending_to_cart", json!({})),
        ("x3", "set_fulfillment", json!({"type": "pickup"})),
        ("x4", "checkout_order", json!({})),
    ] {
        let (st, v) = runner.post(
            "/vapi/orders",
            &headers,
            &tool_call_message(ORDER_TIME, LINE, &call, id, name, args).to_string(),
        );
        assert_eq!(st, 200, "{v}");
        assert!(v["results"][0]["result"].is_string(), "{name}: {v}");
    }
    assert!(
        twilio.received_at("/Messages.json").is_empty(),
        "a text was sent while the caller was on the line"
    );

    // The call ends; Vapi delivers its report twice.
    let report = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
        "startedAt": "2026-12-05T00:00:00Z", "endedAt": "2026-12-05T00:02:00Z",
        "call": call, "customer": {"number": CALLER}, "phoneNumber": {"number": LINE}}});
    for _ in 0..2 {
        let (st, v) = runner.post("/vapi/events", &headers, &report.to_string());
        assert_eq!((st, &v), (200, &json!({})));
    }
    let texts = twilio.received_at("/Messages.json");
    assert_eq!(texts.len(), 1, "one 'received' text");
    assert_eq!(texts[0].form("To").as_deref(), Some(CALLER));
    assert_eq!(texts[0].form("From").as_deref(), Some(LINE));
    let body = texts[0].form("Body").unwrap();
    assert!(body.contains("101") && body.contains('$'), "{body}");
    assert_eq!(
        texts[0].target,
        format!("/2010-04-01/Accounts/{AC}/Messages.json")
    );

    // The kitchen moves it along; at ready, the second text.
    let path = "/api/v1/businesses/windy/orders/o-text-call-1";
    for status in ["preparing", "ready"] {
        let order = as_admin(reqwest::Method::GET, path, Value::Null);
        as_admin(
            reqwest::Method::POST,
            &format!("{path}/status"),
            json!({"status": status, "version": order["version"]}),
        );
    }
    as_admin(
        reqwest::Method::GET,
        "/api/v1/businesses/windy/orders",
        Value::Null,
    );
    let texts = twilio.received_at("/Messages.json");
    assert_eq!(texts.len(), 2, "one 'received' and one 'ready' text");
    let body = texts[1].form("Body").unwrap();
    assert!(body.contains("101") && body.contains("ready"), "{body}");
    assert_eq!(texts[1].form("To").as_deref(), Some(CALLER));
}

/// Every scripted conversation (test-support's `conversations`) through `/vapi/orders`, each
/// judged step by step and by the order it leaves.
pub fn scripted_conversations(d: &impl Deployment) {
    let runner = d.client();
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let all = conversations::all();
    assert!(all.len() >= 25, "only {} scripts", all.len());
    let mut failures = Vec::new();
    for (k, mut script) in all.into_iter().enumerate() {
        let business = format!("conv-{k}");
        let line = format!("+1415555{:04}", 3000 + k);
        script.doc = with_lines(&script.doc, &[&line]);
        assert_eq!(script.line(), line);
        let (st, v) = runner.import(&business, &script.doc);
        assert_eq!(st, 201, "{}: import: {v}", script.file);
        let headers = runner.tool_headers(&line);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let call = script.call_id("http");
        for i in 0..script.steps.len() {
            let (st, v) = runner.post("/vapi/orders", &headers, &script.body(&call, i).to_string());
            let said = v["results"][0]["result"]
                .as_str()
                .or(v["results"][0]["error"].as_str());
            match (st, said) {
                (200, Some(said)) => failures.extend(script.judge(i, said)),
                _ => failures.push(format!("{} step {}: {st} {v}", script.file, i + 1)),
            }
        }
        let (st, list) = runner.send(
            reqwest::Method::GET,
            &format!("/api/v1/businesses/{business}/orders?limit=100"),
            &[("authorization", &admin)],
            "",
        );
        assert_eq!(st, 200, "{list}");
        let orders = list["orders"].as_array().cloned().unwrap_or_default();
        let ours = orders
            .iter()
            .find(|o| o["id"] == json!(format!("o-{call}")));
        failures.extend(script.judge_order(ours, orders.len()));
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n - {}",
        failures.len(),
        failures.join("\n - ")
    );
}

/// The owner's onboarding wizard end to end (identify, confirm, verify by text, account, review,
/// go-live buying a number and registering it with Vapi), with a restart in the middle: the
/// wizard resumes where it was. `d` must send Twilio requests to `twilio`
/// ([`onboarding_twilio`]) as [`secrets::TWILIO_ACCOUNT`], texting from
/// [`secrets::VERIFY_FROM`], and Vapi requests to `vapi` ([`onboarding_vapi`]) with
/// [`secrets::VAPI_API_KEY`], with a trial of [`secrets::TRIAL_SECONDS`].
pub fn onboarding_wizard(d: &mut impl Deployment, twilio: &FakeHttp, vapi: &FakeHttp) {
    let runner = d.client();
    const AC: &str = TWILIO_ACCOUNT;
    const BOUGHT: &str = ONBOARDING_NUMBER;
    let step = |runner: &Client, id: &str, step: &str, bearer: &str, body: &Value| {
        let auth = format!("Bearer {bearer}");
        runner.post(
            &format!("/api/v1/onboarding/{id}/{step}"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            &body.to_string(),
        )
    };

    let (st, w) = runner.post("/api/v1/onboarding", &[], "");
    assert_eq!(st, 201, "{w}");
    let id = w["id"].as_str().unwrap().to_owned();
    let secret = w["secret"].as_str().unwrap().to_owned();
    let (st, v) = step(
        runner,
        &id,
        "identify",
        &secret,
        &json!({"maps_url": "https://www.google.com/maps/place/Windy+City+Slice/@41.8819,-87.6278,17z"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["onboarding"]["identified"]["name"], "Windy City Slice");
    let (st, v) = step(
        runner,
        &id,
        "confirm",
        &secret,
        &json!({"business_id": "windy-wizard",
        "name": "Windy City Slice", "address": "1 W Madison St, Chicago, IL 60602",
        "timezone": "America/Chicago", "main_line": "+1 312 555 0100"}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = step(runner, &id, "verify", &secret, &json!({"send": true}));
    assert_eq!(st, 202, "{v}");
    let texts = twilio.received_at("/Messages.json");
    assert_eq!(texts.len(), 1);
    assert_eq!(
        texts[0].target,
        format!("/2010-04-01/Accounts/{AC}/Messages.json")
    );
    assert_eq!(texts[0].form("To").as_deref(), Some("+13125550100"));
    assert!(
        texts[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let code: String = texts[0]
        .form("Body")
        .unwrap()
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()).to_owned())
        .find(|w| w.len() == 6)
        .expect("a code in the text");

    // The owner walks away and the server restarts: the wizard resumes where it was.
    d.restart();
    let runner = d.client();
    let (st, v) = runner.send(
        reqwest::Method::GET,
        &format!("/api/v1/onboarding/{id}"),
        &[("authorization", &format!("Bearer {secret}"))],
        "",
    );
    assert_eq!((st, v["step"].as_str()), (200, Some("verify")), "{v}");
    let (st, v) = step(runner, &id, "verify", &secret, &json!({"code": code}));
    assert_eq!(st, 200, "{v}");
    let (st, v) = step(
        runner,
        &id,
        "account",
        &secret,
        &json!({"email": "wiz@example.com", "password": "deep dish forever", "name": "Wiz Owner"}),
    );
    assert_eq!(st, 201, "{v}");
    let token = v["access_token"].as_str().unwrap().to_owned();
    let doc: Value = serde_json::from_str(&with_lines(PIZZA, &[])).unwrap();
    let (st, v) = step(runner, &id, "review", &token, &doc);
    assert_eq!(st, 200, "{v}");
    assert!(
        v["greeting"].as_str().unwrap().contains("Windy City"),
        "{v}"
    );
    let (st, v) = step(runner, &id, "go-live", &token, &json!({}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["line"], BOUGHT);
    assert_eq!(v["active"], true);

    // Twilio sold the number; Vapi was told to ask us for its assistant, with our secret.
    assert_eq!(twilio.received_at("/IncomingPhoneNumbers.json").len(), 1);
    let registered = vapi.received_at("/phone-number");
    assert_eq!(registered.len(), 1);
    assert_eq!(
        registered[0].header("authorization"),
        Some(format!("Bearer {VAPI_API_KEY}").as_str())
    );
    let reg = registered[0].json();
    assert_eq!(reg["number"], BOUGHT);
    assert_eq!(
        reg["server"]["url"],
        "https://hostline.test/vapi/assistant-request"
    );
    assert_eq!(reg["server"]["headers"]["X-Vapi-Secret"], VAPI_SECRET);

    // The bought line answers, the way Vapi will ask: with the secret it was registered with.
    let (st, v) = runner.post(
        "/vapi/assistant-request",
        &[("x-vapi-secret", VAPI_SECRET)],
        &json!({"message": {"type": "assistant-request",
            "phoneNumber": {"id": "vapi-e2e-number", "number": BOUGHT}, "call": {"id": "wiz-call-1"}}})
        .to_string(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["assistant"]["metadata"]["business_id"], "windy-wizard",
        "{v}"
    );
    assert!(
        v["assistant"]["maxDurationSeconds"].as_u64().unwrap() <= 600,
        "{v}"
    );
    let credential = v["assistant"]["server"]["headers"]["x-hostline-tool-token"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
        "startedAt": "2026-12-01T18:00:00Z", "endedAt": "2026-12-01T18:02:00Z",
        "artifact": {"transcript": "AI: Windy City Slice!\nUser: Are you open?"},
        "call": {"id": "wiz-call-1"}, "phoneNumber": {"number": BOUGHT}}});
    let (st, v) = runner.post(
        "/vapi/events",
        &[("x-hostline-tool-token", &credential)],
        &report.to_string(),
    );
    assert_eq!((st, &v), (200, &json!({})));
    let auth = format!("Bearer {token}");
    let (st, v) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/windy-wizard/calls",
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["calls"][0]["call_id"], "wiz-call-1", "{v}");
    let (st, v) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/windy-wizard/calls/wiz-call-1",
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["transcript"]["text"],
        "AI: Windy City Slice!\nUser: Are you open?"
    );
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let (st, v) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/windy-wizard",
        &[("authorization", &admin)],
        "",
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["balance_seconds"], 600 - 120, "{v}");

    // The new line takes an order through the order tools (at a time the pizzeria is open:
    // Friday 6 PM in Chicago), with the credential its assistant carries.
    let order_tool = |id: &str, name: &str, args: Value| {
        let (st, v) = runner.post(
            "/vapi/orders",
            &[("x-hostline-tool-token", &credential)],
            &tool_call_message(
                ORDER_TIME,
                BOUGHT,
                &json!({"id": "wiz-call-2"}),
                id,
                name,
                args,
            )
            .to_string(),
        );
        assert_eq!(st, 200, "{v}");
        let r = &v["results"][0];
        r["result"]
            .as_str()
            .or(r["error"].as_str())
            .unwrap()
            .to_owned()
    };
    let said = order_tool(
        "o1",
        "add_to_cart",
        json!({"item": "margherita pizza", "modifiers": ["large"]}),
    );
    assert_eq!(
        said,
        "That's 1 Margherita Pizza, Large (14 inch), Tavern Thin, $19. Shall I add it to your order?"
    );
    order_tool("o2", "confirm_pending_to_cart", json!({}));
    order_tool("o3", "set_fulfillment", json!({"type": "pickup"}));
    let said = order_tool("o4", "checkout_order", json!({}));
    // 19.00 + 10.75 % tax (2.0425 → 2.04) = 21.04.
    assert_eq!(
        said,
        "Your order is in: order number 1 0 1. The total is $21.04. It'll be ready for pickup in about 20 minutes."
    );
}

/// An owner's whole path: sign up, create a business, import its menu, switch it on, take a
/// call on its line; another owner sees none of it; after a restart the tokens of a login
/// still work (the signing key outlives the processes).
pub fn owner_account_with_restart(d: &mut impl Deployment) {
    let runner = d.client();
    let json_post = |runner: &Client, path: &str, token: Option<&str>, body: Value| {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        runner.post(path, &headers, &body.to_string())
    };
    let (st, signup) = json_post(
        runner,
        "/api/v1/auth/signup",
        None,
        json!({"email": "ana@example.com", "password": "pizza all day long", "name": "Ana"}),
    );
    assert_eq!(st, 201, "{signup}");
    let (st, created) = json_post(
        runner,
        "/api/v1/businesses",
        signup["access_token"].as_str(),
        json!({"id": "anas-pizza", "name": "Ana's Pizza"}),
    );
    assert_eq!(st, 201, "{created}");
    let token = created["access_token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");
    let (st, v) = runner.send(
        reqwest::Method::PUT,
        "/api/v1/businesses/anas-pizza/restaurant",
        &[("authorization", &auth)],
        PIZZA,
    );
    assert_eq!(st, 200, "{v}");
    // Created inactive: the line answers with a polite refusal until the owner switches it on.
    let line = &lines(PIZZA)[0];
    let v = runner.assistant_for(line);
    assert!(v.get("assistant").is_none(), "{v}");
    let (st, v) = runner.send(
        reqwest::Method::PATCH,
        "/api/v1/businesses/anas-pizza",
        &[("authorization", &auth)],
        r#"{"active": true}"#,
    );
    assert_eq!(st, 200, "{v}");
    let v = runner.assistant_for(line);
    assert_eq!(
        v["assistant"]["metadata"]["business_id"], "anas-pizza",
        "{v}"
    );
    let r = runner.tool(line, "get_menu_info", json!({"query": "deep dish"}));
    assert!(r.contains("Deep Dish"), "{r}");
    // The call's end-of-call report goes where the assistant points Vapi, with its
    // credential, and shows in the owner's call log with its transcript.
    let events_url = v["assistant"]["server"]["url"].as_str().unwrap();
    assert_eq!(events_url, "https://hostline.test/vapi/events");
    let credential = v["assistant"]["server"]["headers"]["x-hostline-tool-token"]
        .as_str()
        .unwrap();
    let report = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
        "startedAt": "2026-12-01T18:00:00Z", "endedAt": "2026-12-01T18:01:30Z",
        "artifact": {"transcript": "AI: Ana's Pizza!\nUser: Deep dish?"},
        "call": {"id": "vapi-call-1"}, "phoneNumber": {"number": line}}});
    for _ in 0..2 {
        let (st, v) = runner.post(
            "/vapi/events",
            &[("x-hostline-tool-token", credential)],
            &report.to_string(),
        );
        assert_eq!((st, &v), (200, &json!({})));
    }
    let (st, v) = runner.send(
        reqwest::Method::GET,
        "/api/v1/businesses/anas-pizza/calls/vapi-call-1",
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["duration_seconds"], 90);
    assert_eq!(
        v["transcript"]["text"],
        "AI: Ana's Pizza!\nUser: Deep dish?"
    );

    // Another owner: the same 404 as for a business that does not exist.
    let (_, other) = json_post(
        runner,
        "/api/v1/auth/signup",
        None,
        json!({"email": "bo@example.com", "password": "tacos all day long", "name": "Bo"}),
    );
    let other_auth = format!("Bearer {}", other["access_token"].as_str().unwrap());
    for path in [
        "/api/v1/businesses/anas-pizza",
        "/api/v1/businesses/anas-pizza/restaurant",
    ] {
        let (st, v) = runner.send(
            reqwest::Method::GET,
            path,
            &[("authorization", &other_auth)],
            "",
        );
        assert_eq!(st, 404, "{path}: {v}");
        assert!(!v.to_string().contains("Windy"), "{v}");
    }

    // Log in, restart, and the tokens of that login still work.
    let (st, login) = json_post(
        runner,
        "/api/v1/auth/login",
        None,
        json!({"email": "ana@example.com", "password": "pizza all day long"}),
    );
    assert_eq!(st, 200, "{login}");
    d.restart();
    let runner = d.client();
    let auth = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let (st, v) = runner.send(
        reqwest::Method::GET,
        "/api/v1/me",
        &[("authorization", &auth)],
        "",
    );
    assert_eq!((st, &v["businesses"]), (200, &json!(["anas-pizza"])), "{v}");
    let (st, v) = json_post(
        runner,
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": login["refresh_token"]}),
    );
    assert_eq!(st, 200, "{v}");
}
