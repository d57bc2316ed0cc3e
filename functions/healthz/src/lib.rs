//! `hostline-healthz`: `GET /healthz` as a Spin component.
//!
//! Liveness of the component host itself: it answers `{"status":"ok"}` without touching the
//! store or any variable, so a real Spin host (`spin up`, Fermyon Cloud) and `hostline up`
//! serve the route from the same manifest entry. Any other method gets a JSON 405.
//!
//! It is a component and nothing else: on a native build the crate is empty.
#![cfg(target_arch = "wasm32")]

use spin_sdk::http::{FullBody, HeaderMap, HeaderValue, IntoResponse, Method, Request, StatusCode};

#[spin_sdk::http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let (status, body) = match *req.method() {
        Method::GET | Method::HEAD => (StatusCode::OK, r#"{"status":"ok"}"#),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"use GET /healthz"}"#,
        ),
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert("allow", HeaderValue::from_static("GET, HEAD"));
    }
    Ok((
        status,
        headers,
        FullBody::new(bytes::Bytes::from_static(body.as_bytes())),
    ))
}
