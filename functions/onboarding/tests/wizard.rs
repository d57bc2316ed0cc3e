//! The wizard through its handler, natively: an in-memory store and a scripted stand-in for
//! Twilio, Vapi and Places (the same flow runs against local fake servers through the runner
//! in `functions/runner/tests/onboarding.rs`).

use futures::executor::block_on;
use hostline_onboarding::handler::{Config, handle};
use hostline_shared::http::{Method, Request};
use hostline_shared::outbound::Scripted;
use hostline_shared::providers::places::Places;
use hostline_shared::providers::twilio_api::TwilioApi;
use hostline_shared::providers::vapi_api::VapiApi;
use hostline_shared::store::{MemoryStore, Store};
use hostline_test_support::fixtures::{PIZZA, with_lines};
use serde_json::{Value, json};

const ADMIN: &str = "wizard-test-admin";
const AC: &str = "AC0123456789abcdef0123456789abcdef";
const MAIN_LINE: &str = "+13125550100";
const BOUGHT: &str = "+13125550142";

fn config() -> Config {
    Config {
        admin_token: ADMIN.into(),
        jwt_key: "wizard-test-jwt-key".into(),
        public_base_url: "https://hostline.test".into(),
        vapi_secret: "vapi-secret".into(),
        twilio: TwilioApi::configured("http://twilio.test", AC, "twilio-token"),
        twilio_auth_token: "twilio-token".into(),
        verify_from: "+13125550199".into(),
        vapi: VapiApi::configured("http://vapi.test", "vapi-key"),
        places: Places::configured("http://places.test", "places-key"),
        trial_seconds: 600,
    }
}

fn services() -> Scripted {
    services_with_vapi(201, r#"{"id":"vapi-number-1"}"#)
}

/// The fake services, with Vapi's answer to a number registration as given.
fn services_with_vapi(status: u16, body: &str) -> Scripted {
    Scripted::new()
        .on(Method::Post, "/Messages.json", 201, r#"{"sid":"SM1"}"#)
        .on(Method::Post, "/Calls.json", 201, r#"{"sid":"CA1"}"#)
        .on(
            Method::Get,
            "/AvailablePhoneNumbers/US/Local.json",
            200,
            &format!(r#"{{"available_phone_numbers":[{{"phone_number":"{BOUGHT}"}}]}}"#),
        )
        .on(
            Method::Post,
            "/IncomingPhoneNumbers.json",
            201,
            &format!(r#"{{"sid":"PN1","phone_number":"{BOUGHT}"}}"#),
        )
        .on(Method::Post, "/phone-number", status, body)
        .on(
            Method::Post,
            "places:searchText",
            200,
            r#"{"places":[{"id":"ChIJwindycity","displayName":{"text":"Windy City Slice"},
               "formattedAddress":"1 W Madison St, Chicago, IL","internationalPhoneNumber":"+1 312-555-0100"}]}"#,
        )
}

struct World {
    store: MemoryStore,
    http: Scripted,
    config: Config,
    now: jiff::Timestamp,
}

impl World {
    fn new() -> World {
        World {
            store: MemoryStore::new(),
            http: services(),
            config: config(),
            now: "2026-12-01T18:00:00Z".parse().unwrap(),
        }
    }

    fn send(&self, method: Method, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = Request::new(method, path).with_header("spin-client-addr", "10.0.0.1:5000");
        if let Some(b) = bearer {
            req = req.with_header("authorization", &format!("Bearer {b}"));
        }
        if !body.is_null() {
            req = req.with_body(serde_json::to_vec(&body).unwrap());
        }
        let r = block_on(handle(
            &req,
            &self.store,
            &self.http,
            &self.config,
            self.now,
        ));
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        )
    }

    fn step(&self, id: &str, step: &str, bearer: &str, body: Value) -> (u16, Value) {
        self.send(
            Method::Post,
            &format!("/api/v1/onboarding/{id}/{step}"),
            Some(bearer),
            body,
        )
    }

    fn later(&mut self, seconds: i64) {
        self.now += jiff::SignedDuration::from_secs(seconds);
    }

    /// The last code texted to the main line.
    fn last_code(&self) -> String {
        let sms = self
            .http
            .seen()
            .into_iter()
            .rev()
            .find(|r| r.url.ends_with("/Messages.json"))
            .expect("a text was sent");
        let body = String::from_utf8(sms.body).unwrap();
        let text: String = form_value(&body, "Body");
        text.split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()))
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .expect("a 6-digit code in the text")
            .to_owned()
    }

    fn start(&self) -> (String, String) {
        let (st, w) = self.send(Method::Post, "/api/v1/onboarding", None, Value::Null);
        assert_eq!(st, 201, "{w}");
        assert_eq!(w["step"], "identify");
        (
            w["id"].as_str().unwrap().to_owned(),
            w["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// identify → confirm → verify, for business `biz`.
    fn through_verify(&mut self, biz: &str) -> (String, String) {
        let (id, secret) = self.start();
        let (st, b) = self.step(
            &id,
            "identify",
            &secret,
            json!({"maps_url": "https://www.google.com/maps/place/Windy+City+Slice/@41.88,-87.63,17z"}),
        );
        assert_eq!(st, 200, "{b}");
        let (st, b) = self.step(&id, "confirm", &secret, confirm_body(biz));
        assert_eq!(st, 200, "{b}");
        let (st, b) = self.step(&id, "verify", &secret, json!({"send": true}));
        assert_eq!(st, 202, "{b}");
        let code = self.last_code();
        let (st, b) = self.step(&id, "verify", &secret, json!({"code": code}));
        assert_eq!(st, 200, "{b}");
        assert_eq!(b["onboarding"]["step"], "account");
        (id, secret)
    }
}

fn form_value(body: &str, name: &str) -> String {
    form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn confirm_body(biz: &str) -> Value {
    json!({
        "business_id": biz,
        "name": "Windy City Slice",
        "address": "1 W Madison St, Chicago, IL 60602",
        "timezone": "America/Chicago",
        "main_line": "(312) 555-0100",
    })
}

fn account_body(email: &str) -> Value {
    json!({"email": email, "password": "correct horse battery", "name": "Pat Owner"})
}

/// The pizza sample with lines of its own that no other test uses.
fn document() -> Value {
    serde_json::from_str(&with_lines(PIZZA, &[])).unwrap()
}

#[test]
fn a_new_owner_reaches_go_live_with_a_bought_line_registered_with_vapi() {
    let mut w = World::new();
    let (id, secret) = w.through_verify("windy-city");
    // The code went to the main line, from the configured sender.
    let sms = w
        .http
        .seen()
        .into_iter()
        .find(|r| r.url.ends_with("/Messages.json"))
        .unwrap();
    let body = String::from_utf8(sms.body).unwrap();
    assert_eq!(form_value(&body, "To"), MAIN_LINE);
    assert_eq!(form_value(&body, "From"), "+13125550199");

    // The state says where we are, and what is left.
    let (st, state) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id}"),
        Some(&secret),
        Value::Null,
    );
    assert_eq!(st, 200);
    assert_eq!(state["step"], "account");
    assert_eq!(state["verified"], true);
    assert!(
        state["steps"][3]["needs"]
            .as_str()
            .unwrap()
            .contains("email")
    );

    // Review before the account: too early, and says what is next.
    let (st, b) = w.step(&id, "review", &secret, document());
    assert_eq!(st, 409, "{b}");
    assert_eq!(b["next_step"], "account");

    let (st, acct) = w.step(&id, "account", &secret, account_body("pat@example.com"));
    assert_eq!(st, 201, "{acct}");
    let token = acct["access_token"].as_str().unwrap().to_owned();
    assert_eq!(acct["business_id"], "windy-city");

    // From here the secret no longer opens the wizard; the owner's token does.
    let (st, b) = w.step(&id, "review", &secret, document());
    assert_eq!(st, 401, "{b}");
    let (st, review) = w.step(&id, "review", &token, document());
    assert_eq!(st, 200, "{review}");
    assert!(
        review["greeting"].as_str().unwrap().contains("Windy City"),
        "{review}"
    );
    let sample = review["sample"]["answer"].as_str().unwrap();
    assert!(
        sample.contains("open") || sample.contains("closed"),
        "{sample}"
    );

    let (st, live) = w.step(&id, "go-live", &token, json!({}));
    assert_eq!(st, 200, "{live}");
    assert_eq!(live["line"], BOUGHT);
    assert_eq!(live["source"], "twilio");
    assert_eq!(live["vapi_phone_number_id"], "vapi-number-1");
    assert_eq!(live["active"], true);
    assert_eq!(live["balance_seconds"], 600);
    assert_eq!(live["onboarding"]["step"], Value::Null);

    // Bought in the main line's area code, with no voice URL (Vapi answers it), and
    // registered with Vapi pointing at our assistant-request URL with our secret.
    let seen = w.http.seen();
    let search = seen
        .iter()
        .find(|r| r.url.contains("AvailablePhoneNumbers"))
        .unwrap();
    assert!(search.url.contains("AreaCode=312"), "{}", search.url);
    let buy = seen
        .iter()
        .find(|r| r.url.ends_with("IncomingPhoneNumbers.json"))
        .unwrap();
    assert!(!String::from_utf8_lossy(&buy.body).contains("VoiceUrl"));
    let vapi = seen
        .iter()
        .find(|r| r.url.ends_with("/phone-number"))
        .unwrap();
    let reg: Value = serde_json::from_slice(&vapi.body).unwrap();
    assert_eq!(
        reg["server"]["url"],
        "https://hostline.test/vapi/assistant-request"
    );
    assert_eq!(reg["server"]["headers"]["X-Vapi-Secret"], "vapi-secret");
    assert_eq!(reg["twilioAccountSid"], AC);

    // The line routes to the business, and Vapi's id for it is known.
    let routed = block_on(w.store.get_value(&format!("line/{BOUGHT}"))).unwrap();
    assert_eq!(routed.as_deref(), Some(b"windy-city".as_slice()));
    let mapped = block_on(w.store.get_value("vapi-number/vapi-number-1")).unwrap();
    assert_eq!(mapped.as_deref(), Some(BOUGHT.as_bytes()));

    // Each step that changed the business is in its audit log.
    let business = hostline_shared::ids::BusinessId::parse("windy-city").unwrap();
    let (entries, _) =
        block_on(hostline_shared::audit::list(&w.store, &business, 20, None)).unwrap();
    // (All at the test's one instant, so in no particular order.)
    let mut actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["business.create", "business.go_live", "restaurant.import"]
    );

    // Finished: no step runs again.
    let (st, _) = w.step(&id, "go-live", &token, json!({}));
    assert_eq!(st, 409);
    let buys = w
        .http
        .seen()
        .iter()
        .filter(|r| r.url.ends_with("IncomingPhoneNumbers.json"))
        .count();
    assert_eq!(buys, 1);
}

#[test]
fn go_live_takes_a_pooled_line_before_buying_and_works_without_vapi() {
    let mut w = World::new();
    w.config.vapi = None;
    let pooled = hostline_shared::phone::PhoneE164::parse_e164("+13125550177").unwrap();
    block_on(hostline_shared::line_pool::add(
        &w.store,
        pooled.clone(),
        None,
        w.now,
    ))
    .unwrap();
    let (id, secret) = w.through_verify("pool-pizza");
    let (_, acct) = w.step(&id, "account", &secret, account_body("pool@example.com"));
    let token = acct["access_token"].as_str().unwrap().to_owned();
    let (st, _) = w.step(&id, "review", &token, document());
    assert_eq!(st, 200);
    let (st, live) = w.step(&id, "go-live", &token, Value::Null);
    assert_eq!(st, 200, "{live}");
    assert_eq!(live["line"], pooled.as_str());
    assert_eq!(live["source"], "pool");
    assert!(
        w.http
            .seen()
            .iter()
            .all(|r| !r.url.contains("IncomingPhoneNumbers"))
    );
    let pool = block_on(hostline_shared::line_pool::list(&w.store)).unwrap();
    assert_eq!(pool[0].taken_by.as_ref().unwrap().as_str(), "pool-pizza");

    // A second business finds the pool empty and buys, with the relay path's voice URL.
    let (id2, secret2) = w.through_verify("second-pizza");
    let (_, acct) = w.step(
        &id2,
        "account",
        &secret2,
        account_body("second@example.com"),
    );
    let token2 = acct["access_token"].as_str().unwrap().to_owned();
    w.step(&id2, "review", &token2, document());
    let (st, live) = w.step(&id2, "go-live", &token2, json!({"area_code": "773"}));
    assert_eq!(st, 200, "{live}");
    assert_eq!(live["source"], "twilio");
    let seen = w.http.seen();
    let search = seen
        .iter()
        .find(|r| r.url.contains("AvailablePhoneNumbers"))
        .unwrap();
    assert!(search.url.contains("AreaCode=773"), "{}", search.url);
    let buy = seen
        .iter()
        .find(|r| r.url.ends_with("IncomingPhoneNumbers.json"))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buy.body)
            .contains("VoiceUrl=https%3A%2F%2Fhostline.test%2Ftwilio%2Fvoice")
    );
}

#[test]
fn a_failed_go_live_is_retried_without_buying_a_second_number() {
    let mut w = World::new();
    // Vapi refuses the first registration.
    w.http = services_with_vapi(500, r#"{"message":"internal"}"#);
    let (id, secret) = w.through_verify("retry-pizza");
    let (_, acct) = w.step(&id, "account", &secret, account_body("retry@example.com"));
    let token = acct["access_token"].as_str().unwrap().to_owned();
    w.step(&id, "review", &token, document());
    let (st, b) = w.step(&id, "go-live", &token, json!({}));
    assert_eq!(st, 502, "{b}");
    assert!(b["error"].as_str().unwrap().contains("Vapi"), "{b}");
    // The number is kept; the wizard resumes at go-live.
    let (_, state) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id}"),
        Some(&token),
        Value::Null,
    );
    assert_eq!(state["step"], "go-live");
    assert_eq!(state["provisioned"]["e164"], BOUGHT);

    let seen_before = w.http.seen().len();
    w.http = services();
    let (st, live) = w.step(&id, "go-live", &token, json!({}));
    assert_eq!(st, 200, "{live}");
    assert_eq!(live["line"], BOUGHT);
    let new_requests = w.http.seen();
    assert!(
        new_requests
            .iter()
            .all(|r| !r.url.contains("IncomingPhoneNumbers"))
    );
    assert!(
        new_requests
            .iter()
            .any(|r| r.url.ends_with("/phone-number"))
    );
    assert!(seen_before > 0);
}

#[test]
fn codes_are_limited_and_steps_repeat_until_the_next_starts() {
    let mut w = World::new();
    let (id, secret) = w.start();
    let (st, b) = w.step(
        &id,
        "identify",
        &secret,
        json!({"name": "Windy City Slice"}),
    );
    assert_eq!(st, 200, "{b}");
    // With a Places key, a name is looked up and the match suggested.
    assert_eq!(b["candidates"][0]["place_id"], "ChIJwindycity");
    assert_eq!(b["onboarding"]["identified"]["phone"], MAIN_LINE);
    // Identify again (confirm has not started): allowed.
    let (st, _) = w.step(
        &id,
        "identify",
        &secret,
        json!({"maps_url": "https://www.google.com/maps/place/Windy+City+Slice/@41.88,-87.63,17z"}),
    );
    assert_eq!(st, 200);
    let (st, b) = w.step(&id, "confirm", &secret, json!({"business_id": "Bad Id!", "name": "x", "address": "y", "timezone": "America/Chicago", "main_line": MAIN_LINE}));
    assert_eq!((st, b["field"].as_str()), (400, Some("business_id")), "{b}");
    let (st, b) = w.step(&id, "confirm", &secret, json!({"business_id": "codes-pizza", "name": "x", "address": "y", "timezone": "Mars/Olympus", "main_line": MAIN_LINE}));
    assert_eq!((st, b["field"].as_str()), (400, Some("timezone")), "{b}");
    let (st, _) = w.step(&id, "confirm", &secret, confirm_body("codes-pizza"));
    assert_eq!(st, 200);
    // Now identify is settled.
    let (st, b) = w.step(&id, "identify", &secret, json!({"name": "Other"}));
    assert_eq!(st, 409, "{b}");

    let (st, _) = w.step(
        &id,
        "verify",
        &secret,
        json!({"send": true, "channel": "voice"}),
    );
    assert_eq!(st, 202);
    let call = w
        .http
        .seen()
        .into_iter()
        .find(|r| r.url.ends_with("/Calls.json"))
        .unwrap();
    let twiml = form_value(&String::from_utf8(call.body).unwrap(), "Twiml");
    assert!(twiml.starts_with("<Response><Say>"), "{twiml}");
    // A resend within 30 s is refused (429), after it allowed.
    let (st, _) = w.step(&id, "verify", &secret, json!({"send": true}));
    assert_eq!(st, 429);
    w.later(31);
    let (st, _) = w.step(&id, "verify", &secret, json!({"send": true}));
    assert_eq!(st, 202);
    let code = w.last_code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (st, b) = w.step(&id, "verify", &secret, json!({"code": wrong}));
        assert_eq!((st, b["field"].as_str()), (400, Some("code")), "{b}");
    }
    // Five wrong: even the right code is refused until a new one is sent.
    let (st, _) = w.step(&id, "verify", &secret, json!({"code": code}));
    assert_eq!(st, 429);
    w.later(31);
    w.step(&id, "verify", &secret, json!({"send": true}));
    let code = w.last_code();
    let (st, b) = w.step(&id, "verify", &secret, json!({"code": code}));
    assert_eq!(st, 200, "{b}");
    let (st, b) = w.step(&id, "verify", &secret, json!({"code": "12"}));
    assert_eq!((st, b["field"].as_str()), (400, Some("code")), "{b}");
}

#[test]
fn nobody_else_opens_a_wizard() {
    let mut w = World::new();
    let (id, secret) = w.through_verify("private-pizza");
    let (other_id, other_secret) = w.start();
    // Another wizard's secret, a malformed id, no bearer.
    let (st, _) = w.step(&id, "account", &other_secret, account_body("x@example.com"));
    assert_eq!(st, 404);
    let (st, _) = w.send(
        Method::Get,
        "/api/v1/onboarding/../../biz",
        Some(&secret),
        Value::Null,
    );
    assert_eq!(st, 404);
    let (st, _) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id}"),
        None,
        Value::Null,
    );
    assert_eq!(st, 401);
    let (_, acct) = w.step(&id, "account", &secret, account_body("owner1@example.com"));
    let token = acct["access_token"].as_str().unwrap().to_owned();
    // The owner of one wizard cannot touch another's.
    let (st, _) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{other_id}"),
        Some(&token),
        Value::Null,
    );
    assert_eq!(st, 404);
    // The owner's own token opens it until it expires; then it says so.
    let (st, _) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id}"),
        Some(&token),
        Value::Null,
    );
    assert_eq!(st, 200);
    w.later(16 * 60);
    let (st, b) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id}"),
        Some(&token),
        Value::Null,
    );
    assert_eq!(st, 401, "{b}");
    assert!(b["error"].as_str().unwrap().contains("expired"), "{b}");
    // The same owner email with a wrong password cannot claim a second wizard's business.
    let (id2, secret2) = w.through_verify("second-private");
    let (st, b) = w.step(
        &id2,
        "account",
        &secret2,
        json!({"email": "owner1@example.com", "password": "not the password", "name": "Pat"}),
    );
    assert_eq!(st, 401, "{b}");
    // With the right one it adds the business to that account.
    let (st, b) = w.step(
        &id2,
        "account",
        &secret2,
        account_body("owner1@example.com"),
    );
    assert_eq!(st, 201, "{b}");
    assert_eq!(
        b["user"]["businesses"],
        json!(["private-pizza", "second-private"])
    );
    // A business id already taken is refused at confirm.
    let (id3, secret3) = w.start();
    w.step(&id3, "identify", &secret3, json!({"name": "x"}));
    let (st, b) = w.step(&id3, "confirm", &secret3, confirm_body("private-pizza"));
    assert_eq!((st, b["field"].as_str()), (409, Some("business_id")), "{b}");
    // An expired wizard is gone.
    w.later(8 * 24 * 3600);
    let (st, _) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id3}"),
        Some(&secret3),
        Value::Null,
    );
    assert_eq!(st, 410);
}

#[test]
fn without_twilio_the_verify_and_buy_steps_say_what_is_missing() {
    let mut w = World::new();
    w.config.twilio = None;
    let (id, secret) = w.start();
    w.step(&id, "identify", &secret, json!({"name": "x"}));
    w.step(&id, "confirm", &secret, confirm_body("no-twilio"));
    let (st, b) = w.step(&id, "verify", &secret, json!({"send": true}));
    assert_eq!(st, 503, "{b}");
    assert!(
        b["error"].as_str().unwrap().contains("twilio_account_sid"),
        "{b}"
    );
    // Nothing was recorded: the send can be made once Twilio is configured.
    let (_, state) = w.send(
        Method::Get,
        &format!("/api/v1/onboarding/{id}"),
        Some(&secret),
        Value::Null,
    );
    assert_eq!(state["step"], "verify");
    let (st, b) = w.step(&id, "verify", &secret, json!({}));
    assert_eq!(st, 400, "{b}");
}

#[test]
fn starts_and_codes_are_rate_limited_per_address_and_per_number() {
    let mut w = World::new();
    for _ in 0..10 {
        w.start();
    }
    let (st, b) = w.send(Method::Post, "/api/v1/onboarding", None, Value::Null);
    assert_eq!(st, 429, "{b}");
    // Another address is not held up.
    let req = Request::new(Method::Post, "/api/v1/onboarding")
        .with_header("spin-client-addr", "10.0.0.2:5000");
    let r = block_on(handle(&req, &w.store, &w.http, &w.config, w.now));
    assert_eq!(r.status, 201);
    // Many wizards cannot be used to text one number more than 5 times in 15 minutes.
    w.later(16 * 60);
    let mut sent = 0;
    for i in 0..7 {
        let (id, secret) = w.start();
        w.step(&id, "identify", &secret, json!({"name": "x"}));
        w.step(
            &id,
            "confirm",
            &secret,
            confirm_body(&format!("pumped-{i}")),
        );
        let (st, _) = w.step(&id, "verify", &secret, json!({"send": true}));
        if st == 202 {
            sent += 1;
        } else {
            assert_eq!(st, 429);
        }
    }
    assert_eq!(sent, 5);
    let texts = w
        .http
        .seen()
        .iter()
        .filter(|r| r.url.ends_with("/Messages.json"))
        .count();
    assert_eq!(texts, 5, "no text went out past the limit");
}
