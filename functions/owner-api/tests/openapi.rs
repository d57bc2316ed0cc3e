//! The OpenAPI document against the router: every route pattern is documented, every
//! documented operation is served (no 404 "no such route", no 405), and every method a path
//! does not document is a 405. The running routes are checked against the document's schemas
//! by the API fuzz run (`scripts/api-fuzz`).

use futures::executor::block_on;
use hostline_owner_api::handler::{Config, handle, route_patterns};
use hostline_owner_api::openapi::operations;
use hostline_shared::http::{Method, Request};
use hostline_shared::store::MemoryStore;
use serde_json::Value;

const ADMIN: &str = "openapi-test-admin";

/// Send through the function that serves `path` (the onboarding wizard is its own function).
fn send(method: Method, path: &str) -> (u16, Value) {
    let s = MemoryStore::new();
    let req = Request::new(method, path)
        .with_header("authorization", &format!("Bearer {ADMIN}"))
        .with_body(b"{}".to_vec());
    let now = "2026-12-01T18:00:00Z".parse().unwrap();
    let r = if path.starts_with("/api/v1/onboarding") {
        let cfg = hostline_onboarding::handler::Config {
            admin_token: ADMIN.into(),
            jwt_key: "k".into(),
            ..Default::default()
        };
        block_on(hostline_onboarding::handler::handle(
            &req,
            &s,
            &hostline_shared::outbound::Scripted::new(),
            &cfg,
            now,
        ))
    } else {
        let cfg = Config {
            admin_token: ADMIN.into(),
            jwt_key: "k".into(),
            pii_hash_key: "test-pii-hash-key".into(),
            texts: None,
            public_base_url: "https://hostline.test".into(),
        };
        block_on(handle(&req, &s, &cfg, now))
    };
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// Every `/api/v1` route pattern, of both functions.
fn all_patterns() -> Vec<String> {
    route_patterns()
        .map(str::to_owned)
        .chain(hostline_onboarding::handler::route_patterns())
        .collect()
}

fn method(m: &str) -> Method {
    match m {
        "get" => Method::Get,
        "post" => Method::Post,
        "put" => Method::Put,
        "patch" => Method::Patch,
        "delete" => Method::Delete,
        other => panic!("{other}"),
    }
}

fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg {
            "{id}" => "some-biz",
            "{wizard_id}" => "ob_0123456789abcdef",
            s if s.starts_with('{') => "x_0123456789abcdef",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_document_is_openapi_3_1_and_matches_the_router() {
    let (st, doc) = send(Method::Get, "/api/v1/openapi.json");
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let patterns = all_patterns();
    for pattern in &patterns {
        assert!(paths.contains_key(pattern), "{pattern} is not documented");
    }
    let ops = operations();
    for (m, path) in &ops {
        assert!(
            patterns.iter().any(|p| p == path),
            "{path} is documented but not routed"
        );
        let (st, body) = send(method(m), &concrete(path));
        assert_ne!(st, 405, "{m} {path}: {body}");
        assert_ne!(body["error"], "no such route", "{m} {path}");
        assert!(doc["paths"][path][m]["responses"].is_object(), "{m} {path}");
    }
    for pattern in &patterns {
        for m in ["get", "post", "put", "patch", "delete"] {
            if !ops.contains(&(m, pattern.as_str())) {
                let (st, body) = send(method(m), &concrete(pattern));
                assert_eq!(
                    st, 405,
                    "{m} {pattern} is not documented, so must not be served: {body}"
                );
            }
        }
    }
}

#[test]
fn request_bodies_are_the_parsed_structs() {
    let (_, doc) = send(Method::Get, "/api/v1/openapi.json");
    let signup = &doc["paths"]["/api/v1/auth/signup"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(signup["additionalProperties"], false, "{signup}");
    let mut required: Vec<&str> = signup["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["email", "name", "password"]);
    let key = &doc["paths"]["/api/v1/businesses/{id}/api-keys"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert!(key.to_string().contains("business:read"), "{key}");
}
