//! Accounts through the owner API handler (natively, over the in-memory store): an owner signs
//! up, creates a business, imports its menu and manages staff; and the isolation matrix —
//! every business route with another tenant's token, no token, an expired token, a staff
//! token on an owner route, and a revoked token.

use futures::executor::block_on;
use hostline_owner_api::handler::{Config, handle};
use hostline_shared::auth::jwt::{self, Claims, Permission, Role};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::store::{MemoryStore, Store};
use hostline_test_support::fixtures::{BOBA, THAI};
use serde_json::{Value, json};

const ADMIN: &str = "operator-token";
const JWT_KEY: &str = "accounts-api-test-key";

fn now() -> jiff::Timestamp {
    "2026-12-01T18:00:00Z".parse().unwrap()
}

fn config() -> Config {
    Config {
        admin_token: ADMIN.into(),
        jwt_key: JWT_KEY.into(),
        pii_hash_key: "test-pii-hash-key".into(),
        texts: None,
        public_base_url: "https://hostline.test".into(),
    }
}

fn send(
    s: &MemoryStore,
    method: Method,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let (status, _, body) = send_full(s, method, path, body, token, now());
    (status, body)
}

fn send_full(
    s: &MemoryStore,
    method: Method,
    path: &str,
    body: &str,
    token: Option<&str>,
    at: jiff::Timestamp,
) -> (u16, Vec<(String, String)>, Value) {
    let mut req = Request::new(method, path)
        .with_body(body.as_bytes().to_vec())
        .with_header("spin-client-addr", "127.0.0.1:50000");
    if let Some(t) = token {
        req = req.with_header("authorization", &format!("Bearer {t}"));
    }
    let Response {
        status,
        headers,
        body,
    } = block_on(handle(&req, s, &config(), at));
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Signs up an owner and creates `business` for them; returns their access token.
fn owner_with_business(s: &MemoryStore, email: &str, business: &str, name: &str) -> String {
    let (st, body) = send(
        s,
        Method::Post,
        "/api/v1/auth/signup",
        &json!({"email": email, "password": "a fine long password", "name": "Owner"}).to_string(),
        None,
    );
    assert_eq!(st, 201, "{body}");
    assert!(body["user"]["password_hash"].is_null(), "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (st, body) = send(
        s,
        Method::Post,
        "/api/v1/businesses",
        &json!({"id": business, "name": name}).to_string(),
        Some(&token),
    );
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["business"]["active"], false);
    body["access_token"].as_str().unwrap().to_owned()
}

/// Every business-scoped route, with a body that would be valid for it.
fn business_routes(b: &str) -> Vec<(Method, String, String)> {
    let staff = json!({"name": "Kim", "phone": "+14155550177", "pin": "4821"}).to_string();
    vec![
        (
            Method::Get,
            format!("/api/v1/businesses/{b}"),
            String::new(),
        ),
        (
            Method::Patch,
            format!("/api/v1/businesses/{b}"),
            json!({"active": true}).to_string(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/restaurant"),
            String::new(),
        ),
        (
            Method::Put,
            format!("/api/v1/businesses/{b}/restaurant"),
            THAI.to_owned(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/voice-lint"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/staff"),
            String::new(),
        ),
        (Method::Post, format!("/api/v1/businesses/{b}/staff"), staff),
        (
            Method::Delete,
            format!("/api/v1/businesses/{b}/staff/s_0123456789abcdef"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/calls"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/calls/call-1"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/usage"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/api-keys"),
            String::new(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/api-keys"),
            json!({"name": "pos sync"}).to_string(),
        ),
        (
            Method::Delete,
            format!("/api/v1/businesses/{b}/api-keys/k_0123456789abcdef"),
            String::new(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/devices/pairing-codes"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/devices"),
            String::new(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/cloudprnt-printers"),
            json!({"name": "Kitchen Star", "mac": "00:11:62:0c:e5:c8"}).to_string(),
        ),
        (
            Method::Delete,
            format!("/api/v1/businesses/{b}/devices/d_0123456789abcdef"),
            String::new(),
        ),
        (
            Method::Put,
            format!("/api/v1/businesses/{b}/menu/items/pad-thai/availability"),
            json!({"available": false}).to_string(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/menu/availability"),
            json!({"items": {"pad-thai": false}}).to_string(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/customers/+14155550123"),
            String::new(),
        ),
        (
            Method::Delete,
            format!("/api/v1/businesses/{b}/customers/+14155550123"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/audit"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/hours"),
            String::new(),
        ),
        (
            Method::Put,
            format!("/api/v1/businesses/{b}/hours"),
            json!({"closures": []}).to_string(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/delivery"),
            String::new(),
        ),
        (
            Method::Put,
            format!("/api/v1/businesses/{b}/delivery"),
            json!({"zones": []}).to_string(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/faq"),
            String::new(),
        ),
        (
            Method::Put,
            format!("/api/v1/businesses/{b}/faq"),
            json!({"faq": []}).to_string(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/lines"),
            String::new(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/lines"),
            json!({"e164": "+12125550990", "label": "x"}).to_string(),
        ),
        (
            Method::Patch,
            format!("/api/v1/businesses/{b}/lines/+12125550990"),
            json!({"label": "y"}).to_string(),
        ),
        (
            Method::Delete,
            format!("/api/v1/businesses/{b}/lines/+12125550990"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/orders"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/orders/o-call-1"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/orders/o-call-1/history"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/orders/o-call-1/ticket"),
            String::new(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/orders/o-call-1/status"),
            json!({"status": "accepted", "version": 1}).to_string(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/orders/o-call-1/cancel"),
            json!({"version": 1, "reason": "x"}).to_string(),
        ),
        (
            Method::Post,
            format!("/api/v1/businesses/{b}/orders/o-call-1/reprint"),
            String::new(),
        ),
        (
            Method::Get,
            format!("/api/v1/businesses/{b}/print-jobs"),
            String::new(),
        ),
    ]
}

/// The matrix walks every business-scoped route the router has.
#[test]
fn the_matrix_covers_every_business_route() {
    let walked: Vec<Vec<String>> = business_routes("{id}")
        .into_iter()
        .map(|(_, p, _)| p.split('/').map(str::to_owned).collect())
        .collect();
    for pattern in hostline_owner_api::handler::route_patterns() {
        if !pattern.starts_with("/api/v1/businesses/{id}") {
            continue;
        }
        let segs: Vec<&str> = pattern.split('/').collect();
        let covered = walked.iter().any(|w| {
            w.len() == segs.len()
                && w.iter()
                    .zip(&segs)
                    .all(|(a, b)| b.starts_with('{') || a == b)
        });
        assert!(covered, "{pattern} is not in the isolation matrix");
    }
}

/// Nothing of business B (its id, name, lines, staff) appears in an answer.
fn leaks_nothing_of_thai(body: &Value) {
    let text = body.to_string();
    for secret in ["Golden Lotus", "+1212555017", "Somchai", "s_", "9137"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
}

#[test]
fn an_owner_signs_up_creates_a_business_imports_and_exports() {
    let s = MemoryStore::new();
    let token = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let (st, body) = send(
        &s,
        Method::Put,
        "/api/v1/businesses/boba/restaurant",
        BOBA,
        Some(&token),
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["revision"], 1);
    let (st, doc) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/boba/restaurant",
        "",
        Some(&token),
    );
    assert_eq!(st, 200);
    assert_eq!(
        hostline_shared::restaurant::Restaurant::parse(&doc.to_string()).unwrap(),
        hostline_shared::restaurant::Restaurant::parse(BOBA).unwrap()
    );
    // The owner switches it on, but may not top up their own balance.
    let (st, body) = send(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"active": true}"#,
        Some(&token),
    );
    assert_eq!((st, &body["active"]), (200, &json!(true)), "{body}");
    let (st, body) = send(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"balance_seconds": 999999}"#,
        Some(&token),
    );
    assert_eq!((st, &body["field"]), (403, &json!("balance_seconds")));
    // The list and `me` show it.
    let (st, list) = send(&s, Method::Get, "/api/v1/businesses", "", Some(&token));
    assert_eq!(st, 200);
    assert_eq!(list["businesses"][0]["id"], "boba");
    assert_eq!(list["businesses"].as_array().unwrap().len(), 1);
    let (st, me) = send(&s, Method::Get, "/api/v1/me", "", Some(&token));
    assert_eq!((st, &me["email"]), (200, &json!("ana@example.com")));
    // Another owner cannot take the id.
    let other = owner_with_business(&s, "bo@example.com", "bo-cafe", "Bo");
    let (st, body) = send(
        &s,
        Method::Post,
        "/api/v1/businesses",
        r#"{"id": "boba", "name": "Mine now"}"#,
        Some(&other),
    );
    assert_eq!((st, &body["field"]), (409, &json!("id")), "{body}");
}

#[test]
fn login_refresh_and_logout_through_the_api() {
    let s = MemoryStore::new();
    owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let login = |pw: &str| {
        send(
            &s,
            Method::Post,
            "/api/v1/auth/login",
            &json!({"email": "ana@example.com", "password": pw}).to_string(),
            None,
        )
    };
    let (st, wrong) = login("not my password");
    assert_eq!(st, 401);
    let (st, unknown) = send(
        &s,
        Method::Post,
        "/api/v1/auth/login",
        &json!({"email": "who@example.com", "password": "not my password"}).to_string(),
        None,
    );
    assert_eq!(st, 401);
    assert_eq!(
        wrong, unknown,
        "a wrong password and an unknown email read the same"
    );
    let (st, pair) = login("a fine long password");
    assert_eq!(st, 200, "{pair}");
    // The login's token already names the business.
    let claims = jwt::verify(
        pair["access_token"].as_str().unwrap(),
        JWT_KEY.as_bytes(),
        now().as_second(),
    )
    .unwrap();
    assert_eq!(claims.businesses, vec![BusinessId::parse("boba").unwrap()]);
    let refresh = |t: &Value| {
        send(
            &s,
            Method::Post,
            "/api/v1/auth/refresh",
            &json!({"refresh_token": t}).to_string(),
            None,
        )
    };
    let (st, next) = refresh(&pair["refresh_token"]);
    assert_eq!(st, 200, "{next}");
    let (st, body) = refresh(&pair["refresh_token"]);
    assert_eq!((st, &body["field"]), (401, &json!("refresh_token")));
    let (st, _) = refresh(&next["refresh_token"]);
    assert_eq!(st, 401, "reuse of a spent token revoked the family");
    let (_, third) = login("a fine long password");
    let (st, _) = send(
        &s,
        Method::Post,
        "/api/v1/auth/logout",
        &json!({"refresh_token": third["refresh_token"]}).to_string(),
        None,
    );
    assert_eq!(st, 204);
    assert_eq!(refresh(&third["refresh_token"]).0, 401);
    // Bad input names the field.
    let (st, body) = send(
        &s,
        Method::Post,
        "/api/v1/auth/signup",
        r#"{"email": "x@example.com", "password": "short", "name": "X"}"#,
        None,
    );
    assert_eq!((st, &body["field"]), (400, &json!("password")));
    let (st, body) = send(
        &s,
        Method::Post,
        "/api/v1/auth/login",
        r#"{"email": 5}"#,
        None,
    );
    assert_eq!((st, &body["field"]), (400, &json!("email")), "{body}");
    assert_eq!(send(&s, Method::Get, "/api/v1/auth/login", "", None).0, 405);
}

#[test]
fn five_wrong_passwords_lock_the_account_with_retry_after() {
    let s = MemoryStore::new();
    owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let body = json!({"email": "ana@example.com", "password": "wrong password!"}).to_string();
    for _ in 0..5 {
        assert_eq!(
            send(&s, Method::Post, "/api/v1/auth/login", &body, None).0,
            401
        );
    }
    let right = json!({"email": "ana@example.com", "password": "a fine long password"}).to_string();
    let (st, headers, _) = send_full(&s, Method::Post, "/api/v1/auth/login", &right, None, now());
    assert_eq!(st, 429);
    let retry: i64 = headers
        .iter()
        .find(|(n, _)| n == "retry-after")
        .map(|(_, v)| v.parse().unwrap())
        .expect("Retry-After");
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
}

#[test]
fn staff_log_in_with_a_pin_and_reach_only_what_staff_may() {
    let s = MemoryStore::new();
    let owner = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let (st, staff) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/staff",
        &json!({"name": "Kim", "phone": "+14155550177", "pin": "4821"}).to_string(),
        Some(&owner),
    );
    assert_eq!(st, 201, "{staff}");
    assert!(staff["pin_hash"].is_null());
    let (st, list) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/boba/staff",
        "",
        Some(&owner),
    );
    assert_eq!((st, list["staff"].as_array().unwrap().len()), (200, 1));
    let (st, pair) = send(
        &s,
        Method::Post,
        "/api/v1/auth/staff-login",
        &json!({"business_id": "boba", "phone": "+14155550177", "pin": "4821"}).to_string(),
        None,
    );
    assert_eq!(st, 200, "{pair}");
    let staff_token = pair["access_token"].as_str().unwrap().to_owned();
    let (st, me) = send(&s, Method::Get, "/api/v1/me", "", Some(&staff_token));
    assert_eq!((st, &me["role"]), (200, &json!("staff")));
    // Staff may not change the business, import, or manage staff.
    for (method, path, body) in [
        (
            Method::Patch,
            "/api/v1/businesses/boba",
            r#"{"active": false}"#,
        ),
        (Method::Put, "/api/v1/businesses/boba/restaurant", BOBA),
        (Method::Get, "/api/v1/businesses/boba/staff", ""),
        (
            Method::Post,
            "/api/v1/businesses",
            r#"{"id": "kims", "name": "Kim's"}"#,
        ),
    ] {
        let (st, body) = send(&s, method, path, body, Some(&staff_token));
        assert_eq!(st, 403, "{path}: {body}");
    }
    // The owner removes them: a sensitive request, checked against the stored token version.
    let id = staff["id"].as_str().unwrap();
    let (st, _) = send(
        &s,
        Method::Delete,
        &format!("/api/v1/businesses/boba/staff/{id}"),
        "",
        Some(&owner),
    );
    assert_eq!(st, 204);
    let (st, _) = send(
        &s,
        Method::Post,
        "/api/v1/auth/refresh",
        &json!({"refresh_token": pair["refresh_token"]}).to_string(),
        None,
    );
    assert_eq!(st, 401, "a removed staff member cannot refresh");
}

#[test]
fn isolation_matrix_over_every_business_route() {
    let s = MemoryStore::new();
    let a = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let b = owner_with_business(&s, "somchai@example.com", "thai", "Golden Lotus");
    let (st, _) = send(
        &s,
        Method::Put,
        "/api/v1/businesses/thai/restaurant",
        THAI,
        Some(&b),
    );
    assert_eq!(st, 200);
    let (st, _) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/thai/staff",
        &json!({"name": "Somchai Jr", "phone": "+14155550199", "pin": "9137"}).to_string(),
        Some(&b),
    );
    assert_eq!(st, 201);

    let expired = jwt::issue(
        &Claims::new(
            "u_0000000000000000",
            Role::Owner,
            vec![BusinessId::parse("thai").unwrap()],
            Permission::OWNER.to_vec(),
            0,
            now().as_second() - 3600,
        ),
        JWT_KEY.as_bytes(),
    )
    .unwrap();
    let forged = jwt::issue(
        &Claims::new(
            "u_0000000000000000",
            Role::Owner,
            vec![BusinessId::parse("thai").unwrap()],
            Permission::OWNER.to_vec(),
            0,
            now().as_second(),
        ),
        b"someone else's key",
    )
    .unwrap();

    for (method, path, body) in business_routes("thai") {
        // Owner A on B's resources: the same 404 as a business that does not exist.
        let (st, answer) = send(&s, method, &path, &body, Some(&a));
        let nowhere = path.replace("/thai", "/no-such-biz");
        let (st_none, answer_none) = send(&s, method, &nowhere, &body, Some(&a));
        assert_eq!(st, 404, "{method:?} {path}: {answer}");
        assert_eq!(st_none, 404, "{method:?} {nowhere}: {answer_none}");
        assert_eq!(
            answer.to_string().replace("thai", "X"),
            answer_none.to_string().replace("no-such-biz", "X"),
            "{path}: a 404 must not tell an existing business from a missing one"
        );
        leaks_nothing_of_thai(&answer);
        // No token, an expired one, a forged one: 401, nothing of B.
        for token in [None, Some(expired.as_str()), Some(forged.as_str())] {
            let (st, answer) = send(&s, method, &path, &body, token);
            assert_eq!(st, 401, "{method:?} {path} with {token:?}: {answer}");
            leaks_nothing_of_thai(&answer);
        }
    }
    // The leak check can see B's data where B is allowed to (it is not vacuous).
    let (_, own) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/thai/restaurant",
        "",
        Some(&b),
    );
    assert!(own.to_string().contains("Golden Lotus"));
    assert!(own.to_string().contains("+1212555017"));
    // B's data is untouched by all of that.
    let (st, record) = send(&s, Method::Get, "/api/v1/businesses/thai", "", Some(&b));
    assert_eq!((st, &record["active"]), (200, &json!(false)));
    assert_eq!(record["revision"], 1);
    let (_, staff) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/thai/staff",
        "",
        Some(&b),
    );
    assert_eq!(staff["staff"].as_array().unwrap().len(), 1);
}

#[test]
fn a_password_change_revokes_every_earlier_token_for_sensitive_routes() {
    let s = MemoryStore::new();
    let old = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let (st, staff) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/staff",
        &json!({"name": "Kim", "phone": "+14155550177", "pin": "4821"}).to_string(),
        Some(&old),
    );
    assert_eq!(st, 201);
    let (st, pair) = send(
        &s,
        Method::Post,
        "/api/v1/auth/password",
        &json!({"current_password": "a fine long password", "new_password": "an even finer password"})
            .to_string(),
        Some(&old),
    );
    assert_eq!(st, 200, "{pair}");
    // The old token no longer passes a sensitive request (nor `me`, which reads the account).
    let path = format!(
        "/api/v1/businesses/boba/staff/{}",
        staff["id"].as_str().unwrap()
    );
    let (st, _) = send(&s, Method::Delete, &path, "", Some(&old));
    assert_eq!(st, 401);
    assert_eq!(send(&s, Method::Get, "/api/v1/me", "", Some(&old)).0, 401);
    let new = pair["access_token"].as_str().unwrap();
    assert_eq!(send(&s, Method::Delete, &path, "", Some(new)).0, 204);
    // Wrong current password: refused, naming the field.
    let (st, body) = send(
        &s,
        Method::Post,
        "/api/v1/auth/password",
        &json!({"current_password": "nope nope nope", "new_password": "whatever else here"})
            .to_string(),
        Some(new),
    );
    assert_eq!((st, &body["field"]), (403, &json!("current_password")));
}

#[test]
fn api_keys_act_for_one_business_with_their_permissions_until_revoked() {
    let s = MemoryStore::new();
    let owner = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    owner_with_business(&s, "somchai@example.com", "thai", "Golden Lotus");
    let (st, created) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/api-keys",
        r#"{"name": "menu sync", "permissions": ["business:read"]}"#,
        Some(&owner),
    );
    assert_eq!(st, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("hlk_"));
    // The list never shows the key again.
    let (_, list) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/boba/api-keys",
        "",
        Some(&owner),
    );
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&key));
    assert_eq!(
        send(&s, Method::Get, "/api/v1/businesses/boba", "", Some(&key)).0,
        200
    );
    let (st, body) = send(
        &s,
        Method::Patch,
        "/api/v1/businesses/boba",
        r#"{"active": true}"#,
        Some(&key),
    );
    assert_eq!(st, 403, "{body}");
    assert_eq!(
        send(&s, Method::Get, "/api/v1/businesses/thai", "", Some(&key)).0,
        404
    );
    assert_eq!(
        send(
            &s,
            Method::Get,
            "/api/v1/businesses/boba/api-keys",
            "",
            Some(&key)
        )
        .0,
        403,
        "a key cannot manage keys"
    );
    // Keys may not be given staff or privacy management.
    let (st, body) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/api-keys",
        r#"{"name": "too much", "permissions": ["staff:manage"]}"#,
        Some(&owner),
    );
    assert_eq!((st, &body["field"]), (400, &json!("permissions")));
    let id = created["id"].as_str().unwrap();
    let (st, _) = send(
        &s,
        Method::Delete,
        &format!("/api/v1/businesses/boba/api-keys/{id}"),
        "",
        Some(&owner),
    );
    assert_eq!(st, 204);
    assert_eq!(
        send(&s, Method::Get, "/api/v1/businesses/boba", "", Some(&key)).0,
        401
    );
    // A well-formed key nobody issued is just as invalid.
    let made_up = format!("hlk_{}", "A".repeat(43));
    assert_eq!(
        send(
            &s,
            Method::Get,
            "/api/v1/businesses/boba",
            "",
            Some(&made_up)
        )
        .0,
        401
    );
}

/// Boba's devices, as its owner lists them.
fn boba_devices(s: &MemoryStore, owner: &str) -> Value {
    let (st, list) = send(
        s,
        Method::Get,
        "/api/v1/businesses/boba/devices",
        "",
        Some(owner),
    );
    assert_eq!(st, 200, "{list}");
    list
}

/// The id of boba's device of `kind` (edge_agent or cloudprnt).
fn device_of_kind(s: &MemoryStore, owner: &str, kind: &str) -> String {
    let list = boba_devices(s, owner);
    list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .and_then(|d| d["id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} device: {list}"))
        .to_owned()
}

#[test]
fn an_edge_device_pairs_once_with_a_code_and_reaches_only_the_edge_routes() {
    let s = MemoryStore::new();
    let owner = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    let (st, code) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/devices/pairing-codes",
        "",
        Some(&owner),
    );
    assert_eq!(st, 201, "{code}");
    let digits = code["code"].as_str().unwrap().to_owned();
    assert!(
        digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{digits}"
    );
    let pair = |c: &str| {
        send(
            &s,
            Method::Post,
            "/api/v1/edge/pair",
            &json!({"code": c, "name": "kitchen pi"}).to_string(),
            None,
        )
    };
    let (st, paired) = pair(&digits);
    assert_eq!(st, 201, "{paired}");
    assert_eq!(paired["business_id"], "boba");
    let token = paired["device_token"].as_str().unwrap().to_owned();
    // Used once: a second device cannot take the same code.
    let (st, body) = pair(&digits);
    assert_eq!((st, &body["field"]), (401, &json!("code")));
    let (st, me) = send(&s, Method::Get, "/api/v1/edge/me", "", Some(&token));
    assert_eq!((st, &me["business_id"]), (200, &json!("boba")), "{me}");
    assert_eq!(
        send(&s, Method::Get, "/api/v1/businesses/boba", "", Some(&token)).0,
        403,
        "a device token is for the edge routes only"
    );
    // An expired code does not pair.
    let (_, late) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/devices/pairing-codes",
        "",
        Some(&owner),
    );
    let later = now() + jiff::SignedDuration::from_mins(11);
    let (st, _, _) = send_full(
        &s,
        Method::Post,
        "/api/v1/edge/pair",
        &json!({"code": late["code"], "name": "late"}).to_string(),
        None,
        later,
    );
    assert_eq!(st, 401);
    // Guessing is throttled per address.
    for _ in 0..10 {
        let _ = pair("000000");
    }
    let (st, _) = pair("000001");
    assert_eq!(st, 429);
    // The agent reports its printers; the owner's device list shows it.
    let report = json!({"printers": [
            {"id": "kitchen", "name": "Kitchen", "state": "online"},
            {"id": "bar", "name": "Bar", "state": "paper_out"}],
        "queue_length": 2, "agent_version": "0.1.0", "last_job": "o-c1.kitchen"});
    let status_report = |body: &Value, who: &str| {
        send(
            &s,
            Method::Post,
            "/api/v1/edge/status",
            &body.to_string(),
            Some(who),
        )
    };
    let (st, body) = status_report(&report, &token);
    assert_eq!(st, 204, "{body}");
    let mut wrong_role = report.clone();
    wrong_role["printers"][0]["profile"] = json!({"version": 1, "role": "bar", "host": "10.0.0.5",
        "port": 9100, "paper_width_mm": 80, "code_page": "cp437", "cutter": true, "drawer": false});
    let (st, body) = status_report(&wrong_role, &token);
    assert_eq!(
        (st, &body["field"]),
        (400, &json!("printers[0].profile.role")),
        "{body}"
    );
    let mut bad = report.clone();
    bad["printers"][1]["state"] = json!("on fire");
    let (st, body) = status_report(&bad, &token);
    assert_eq!(
        (st, &body["field"]),
        (400, &json!("printers[1].state")),
        "{body}"
    );
    assert_eq!(
        status_report(&report, &owner).0,
        403,
        "only a device reports a device's status"
    );
    let list = boba_devices(&s, &owner);
    let status = &list["devices"][0]["status"];
    assert_eq!(status["ok"], false, "{list}");
    assert_eq!(status["status"], "not printing: Bar (paper out)", "{list}");
    assert_eq!(status["queue_length"], 2, "{list}");
    assert_eq!(status["printers"][1]["state"], "paper_out", "{list}");
    assert_eq!(list["devices"][0]["kind"], "edge_agent", "{list}");
    // A CloudPRNT printer is registered by its MAC, once.
    let printer = |mac: &str| {
        send(
            &s,
            Method::Post,
            "/api/v1/businesses/boba/cloudprnt-printers",
            &json!({"name": "Kitchen Star", "mac": mac}).to_string(),
            Some(&owner),
        )
    };
    let (st, body) = printer("00:11:62:zz:e5:c8");
    assert_eq!((st, &body["field"]), (400, &json!("mac")), "{body}");
    let (st, body) = printer("0011620CE5C8");
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["mac"], "00:11:62:0c:e5:c8", "{body}");
    assert!(
        body["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://hostline.test/cloudprnt/hld_")),
        "{body}"
    );
    let (st, body) = printer("00-11-62-0c-e5-c8");
    assert_eq!((st, &body["field"]), (400, &json!("mac")), "{body}");
    let printer_id = device_of_kind(&s, &owner, "cloudprnt");
    let (st, _) = send(
        &s,
        Method::Delete,
        &format!("/api/v1/businesses/boba/devices/{printer_id}"),
        "",
        Some(&owner),
    );
    assert_eq!(st, 204);
    // Unpaired: the token stops working.
    let list = boba_devices(&s, &owner);
    let id = list["devices"][0]["id"].as_str().unwrap();
    let (st, _) = send(
        &s,
        Method::Delete,
        &format!("/api/v1/businesses/boba/devices/{id}"),
        "",
        Some(&owner),
    );
    assert_eq!(st, 204);
    assert_eq!(
        send(&s, Method::Get, "/api/v1/edge/me", "", Some(&token)).0,
        401
    );
    let statuses = block_on(s.get_value("biz/boba/device-statuses"))
        .unwrap()
        .expect("the agent reported");
    let statuses: Value = serde_json::from_slice(&statuses).unwrap();
    assert!(
        statuses.get(id).is_none(),
        "an unpaired device's status goes with it: {statuses}"
    );
}

#[test]
fn items_are_86d_without_a_reimport_and_every_change_is_audited() {
    use hostline_shared::publish::load_published;
    use hostline_shared::store::keys;
    use hostline_shared::tenancy::{BusinessRecord, read_json};
    let s = MemoryStore::new();
    let owner = owner_with_business(&s, "ana@example.com", "boba", "Boba Garden");
    assert_eq!(
        send(
            &s,
            Method::Put,
            "/api/v1/businesses/boba/restaurant",
            BOBA,
            Some(&owner)
        )
        .0,
        200
    );
    let item = hostline_shared::restaurant::Restaurant::parse(BOBA)
        .unwrap()
        .items()
        .next()
        .unwrap()
        .1
        .id
        .clone();
    let path = format!("/api/v1/businesses/boba/menu/items/{item}/availability");
    let (st, v) = send(
        &s,
        Method::Put,
        &path,
        r#"{"available": false}"#,
        Some(&owner),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["changed"], json!([item]));
    assert_eq!(v["revision"], 2);
    // The published bundle, which the knowledge tools read, says so.
    let record: BusinessRecord = block_on(read_json(
        &s,
        &keys::business(&BusinessId::parse("boba").unwrap()),
    ))
    .unwrap()
    .unwrap();
    let published = block_on(load_published(&s, &record)).unwrap().unwrap();
    let info = published.index.items().find(|i| i.id == item).unwrap();
    assert!(!info.available);
    // Again: nothing changes, no new revision.
    let (_, v) = send(
        &s,
        Method::Put,
        &path,
        r#"{"available": false}"#,
        Some(&owner),
    );
    assert_eq!((&v["changed"], &v["revision"]), (&json!([]), &json!(2)));
    // Bulk, with an unknown id: refused as a whole, naming it.
    let (st, v) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/menu/availability",
        &json!({"items": {item.clone(): true, "no-such-item": false}}).to_string(),
        Some(&owner),
    );
    assert_eq!(
        (st, &v["field"]),
        (400, &json!("items.no-such-item")),
        "{v}"
    );
    let (st, _) = send(
        &s,
        Method::Put,
        "/api/v1/businesses/boba/menu/items/no-such-item/availability",
        r#"{"available": false}"#,
        Some(&owner),
    );
    assert_eq!(st, 404);
    // Staff may 86 (their default permissions include it).
    send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/staff",
        &json!({"name": "Kim", "phone": "+14155550177", "pin": "4821"}).to_string(),
        Some(&owner),
    );
    let (_, pair) = send(
        &s,
        Method::Post,
        "/api/v1/auth/staff-login",
        &json!({"business_id": "boba", "phone": "+14155550177", "pin": "4821"}).to_string(),
        None,
    );
    let staff = pair["access_token"].as_str().unwrap().to_owned();
    let (st, v) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/boba/menu/availability",
        &json!({"items": {item.clone(): true}}).to_string(),
        Some(&staff),
    );
    assert_eq!((st, &v["revision"]), (200, &json!(3)), "{v}");
    // The audit log: newest first, with who did it; staff may not read it.
    let (st, log) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/boba/audit",
        "",
        Some(&owner),
    );
    assert_eq!(st, 200, "{log}");
    // (Every request here carries the same instant, so the order within it is arbitrary;
    // `audit::rank` orders entries of different instants newest first.)
    let mut actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "business.create",
            "menu.availability",
            "menu.availability",
            "menu.availability",
            "restaurant.import",
            "staff.add",
        ]
    );
    let actors: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors.iter().filter(|a| a.starts_with("s_")).count(),
        1,
        "{log}"
    );
    assert_eq!(
        actors.iter().filter(|a| a.starts_with("u_")).count(),
        5,
        "{log}"
    );
    assert!(
        !log.to_string().contains("4821"),
        "no PIN in the audit log: {log}"
    );
    let (_, page) = send(
        &s,
        Method::Get,
        "/api/v1/businesses/boba/audit?limit=4",
        "",
        Some(&owner),
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = send(
        &s,
        Method::Get,
        &format!("/api/v1/businesses/boba/audit?limit=4&cursor={cursor}"),
        "",
        Some(&owner),
    );
    assert_eq!(rest["entries"].as_array().unwrap().len(), 2);
    assert_eq!(
        send(
            &s,
            Method::Get,
            "/api/v1/businesses/boba/audit",
            "",
            Some(&staff)
        )
        .0,
        403
    );
}

/// Place an order for `call` in `business` the way the order tools do: two lines, pickup,
/// checkout held for staff to accept.
fn place_order(s: &MemoryStore, business: &str, doc: &str, call: &str) -> Value {
    use hostline_shared::orders::{Checkout, LineRequest, check_line, checkout, with_cart};
    let r = hostline_shared::restaurant::Restaurant::parse(doc).unwrap();
    let b = BusinessId::parse(business).unwrap();
    let mut step = 0;
    let mut tool = |change: &mut dyn FnMut(&mut hostline_shared::orders::Cart) -> String| {
        step += 1;
        block_on(with_cart(s, &b, call, &format!("t{step}"), now(), |c| {
            change(c)
        }))
        .unwrap()
    };
    for (item, options) in [
        ("pepperoni-pizza", vec!["size-large"]),
        ("garlic-knots", vec![]),
    ] {
        let line = check_line(
            &r,
            &LineRequest {
                item_id: item.into(),
                quantity: 1,
                options: options.into_iter().map(str::to_owned).collect(),
                notes: None,
            },
        )
        .unwrap();
        tool(&mut |c| c.stage(line.clone()));
        tool(&mut |c| c.confirm_pending(&r).unwrap_or_else(|e| e));
    }
    tool(&mut |c| c.set_pickup(&r).unwrap_or_else(|e| e));
    match block_on(checkout(s, &r, &b, call, now())).unwrap() {
        Checkout::Placed(o) => serde_json::to_value(&*o).unwrap(),
        Checkout::NotReady(why) => panic!("not placed: {why}"),
    }
}

#[test]
fn staff_move_orders_through_their_life_and_paired_agents_print_them() {
    use hostline_test_support::fixtures::PIZZA;
    let s = MemoryStore::new();
    let owner = owner_with_business(&s, "ana@example.com", "windy", "Windy City Slice");
    let (st, body) = send(
        &s,
        Method::Put,
        "/api/v1/businesses/windy/restaurant",
        PIZZA,
        Some(&owner),
    );
    assert_eq!(st, 200, "{body}");
    let placed = place_order(&s, "windy", PIZZA, "call-1");
    assert_eq!(placed["status"], "received");
    let (st, _) = send(
        &s,
        Method::Post,
        "/api/v1/businesses/windy/staff",
        &json!({"name": "Kim", "phone": "+14155550177", "pin": "4821"}).to_string(),
        Some(&owner),
    );
    assert_eq!(st, 201);
    let (_, pair) = send(
        &s,
        Method::Post,
        "/api/v1/auth/staff-login",
        &json!({"business_id": "windy", "phone": "+14155550177", "pin": "4821"}).to_string(),
        None,
    );
    let staff = pair["access_token"].as_str().unwrap().to_owned();
    let get = |path: &str, token: &str| send(&s, Method::Get, path, "", Some(token));
    let post = |path: &str, body: Value, token: &str| {
        send(&s, Method::Post, path, &body.to_string(), Some(token))
    };

    // The list, with its filters; each bad filter named.
    let (st, list) = get("/api/v1/businesses/windy/orders?status=received", &staff);
    assert_eq!(st, 200, "{list}");
    let orders = list["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        (&orders[0]["number"], &orders[0]["version"]),
        (&json!("101"), &json!(1))
    );
    assert!(orders[0]["phone"].is_null());
    for (query, count) in [
        ("status=accepted,ready", 0),
        ("date=2026-12-01", 1),
        ("date=2026-12-02", 0),
        ("channel=vapi", 1),
        ("channel=twilio", 0),
    ] {
        let (st, l) = get(&format!("/api/v1/businesses/windy/orders?{query}"), &staff);
        assert_eq!(
            (st, l["orders"].as_array().unwrap().len()),
            (200, count),
            "{query}"
        );
    }
    for (query, field) in [
        ("status=done", "status"),
        ("date=12/01", "date"),
        ("channel=fax", "channel"),
    ] {
        let (st, e) = get(&format!("/api/v1/businesses/windy/orders?{query}"), &staff);
        assert_eq!((st, &e["field"]), (400, &json!(field)), "{query}: {e}");
    }

    // Nothing prints before the kitchen accepts.
    let (_, code) = post(
        "/api/v1/businesses/windy/devices/pairing-codes",
        json!({}),
        &owner,
    );
    let (st, paired) = send(
        &s,
        Method::Post,
        "/api/v1/edge/pair",
        &json!({"code": code["code"], "name": "kitchen pi"}).to_string(),
        None,
    );
    assert_eq!(st, 201, "{paired}");
    let device = paired["device_token"].as_str().unwrap().to_owned();
    let (st, jobs) = get("/api/v1/edge/jobs", &device);
    assert_eq!(
        (st, jobs["jobs"].as_array().unwrap().len()),
        (200, 0),
        "{jobs}"
    );
    assert_eq!(
        get("/api/v1/edge/jobs", &owner).0,
        403,
        "jobs are for devices"
    );

    // Staff accept; a second screen still at version 1 is told it moved, with the order.
    let path = "/api/v1/businesses/windy/orders/o-call-1/status";
    let (st, accepted) = post(path, json!({"status": "accepted", "version": 1}), &staff);
    assert_eq!((st, &accepted["version"]), (200, &json!(2)), "{accepted}");
    let (st, stale) = post(path, json!({"status": "preparing", "version": 1}), &staff);
    assert_eq!((st, &stale["field"]), (409, &json!("version")), "{stale}");
    assert_eq!(stale["order"]["status"], "accepted");
    let (st, back) = post(path, json!({"status": "received", "version": 2}), &staff);
    assert_eq!((st, &back["field"]), (422, &json!("status")), "{back}");
    let (st, bad) = post(path, json!({"status": "eaten", "version": 2}), &staff);
    assert_eq!((st, &bad["field"]), (400, &json!("status")));

    // The agent leases the kitchen ticket and reports it printed.
    let (_, jobs) = get("/api/v1/edge/jobs", &device);
    let job = &jobs["jobs"][0];
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1, "{jobs}");
    assert_eq!(
        (&job["id"], &job["kind"]),
        (&json!("o-call-1.kitchen"), &json!("kitchen"))
    );
    assert_eq!(job["ticket"]["order_number"], "101");
    assert_eq!(job["ticket"]["timezone"], "America/Chicago");
    assert_eq!(job["ticket"]["lines"].as_array().unwrap().len(), 2);
    let ack = "/api/v1/edge/jobs/o-call-1.kitchen/ack";
    let (st, done) = post(ack, json!({"status": "printed"}), &device);
    assert_eq!((st, &done["state"]), (200, &json!("printed")), "{done}");
    let (st, e) = post(ack, json!({"status": "lost"}), &device);
    assert_eq!((st, &e["field"]), (400, &json!("status")));
    let (st, _) = post(
        "/api/v1/edge/jobs/o-call-9.kitchen/ack",
        json!({"status": "printed"}),
        &device,
    );
    assert_eq!(st, 404);

    // A reprint by staff is its own job, marked as one.
    let (st, re) = post(
        "/api/v1/businesses/windy/orders/o-call-1/reprint",
        json!({}),
        &staff,
    );
    assert_eq!(
        (st, &re["job_id"]),
        (201, &json!("o-call-1.kitchen.r1")),
        "{re}"
    );
    let (_, jobs) = get("/api/v1/edge/jobs", &device);
    assert_eq!(jobs["jobs"][0]["reprint"], 1, "{jobs}");

    // Ready, then a cancellation needs a reason and the right version.
    let (st, _) = post(path, json!({"status": "ready", "version": 2}), &staff);
    assert_eq!(st, 200);
    let cancel = "/api/v1/businesses/windy/orders/o-call-1/cancel";
    let (st, e) = post(cancel, json!({"version": 3}), &staff);
    assert_eq!((st, &e["field"]), (400, &json!("reason")), "{e}");
    let (st, c) = post(
        cancel,
        json!({"version": 3, "reason": "never picked up"}),
        &staff,
    );
    assert_eq!((st, &c["status"]), (200, &json!("cancelled")), "{c}");
    let (_, h) = get("/api/v1/businesses/windy/orders/o-call-1/history", &staff);
    let steps: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["received", "accepted", "ready", "cancelled"]);
    assert!(
        h["history"][1]["by"].as_str().unwrap().starts_with("s_"),
        "{h}"
    );
    assert_eq!(h["history"][3]["reason"], "never picked up");
    let (st, _) = get("/api/v1/businesses/windy/orders/o-nope", &staff);
    assert_eq!(st, 404);

    // Every move is in the owner's audit log.
    let (_, audit) = get("/api/v1/businesses/windy/audit", &owner);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("order."))
        .collect();
    assert_eq!(actions.len(), 4, "{audit}");
    assert!(actions.contains(&"order.cancel") && actions.contains(&"order.reprint"));
}
