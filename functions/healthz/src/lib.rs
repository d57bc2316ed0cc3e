//! `hostline-healthz`: `GET /healthz` as a Spin component, and the same answer for the Lambda
//! entry point.
//!
//! Liveness of the host itself: it answers `{"status":"ok"}` without touching the store or any
//! variable, so a real Spin host (`spin up`, Fermyon Cloud), `hostline up` and Lambda serve the
//! route alike. Any other method gets a JSON 405.

/// The answer to a request with `method` (upper case, as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub status: u16,
    /// A JSON body.
    pub body: &'static str,
    /// The `allow` header of a 405.
    pub allow: Option<&'static str>,
}

pub fn answer(method: &str) -> Health {
    match method {
        "GET" | "HEAD" => Health {
            status: 200,
            body: r#"{"status":"ok"}"#,
            allow: None,
        },
        _ => Health {
            status: 405,
            body: r#"{"error":"use GET /healthz"}"#,
            allow: Some("GET, HEAD"),
        },
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use spin_sdk::http::{FullBody, HeaderMap, HeaderValue, IntoResponse, Request, StatusCode};

    #[spin_sdk::http_service]
    async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
        let health = super::answer(req.method().as_str());
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Some(allow) = health.allow {
            headers.insert("allow", HeaderValue::from_static(allow));
        }
        Ok((
            StatusCode::from_u16(health.status)?,
            headers,
            FullBody::new(bytes::Bytes::from_static(health.body.as_bytes())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_head_are_ok_and_anything_else_is_405_with_allow() {
        assert_eq!(answer("GET").status, 200);
        assert_eq!(answer("HEAD").body, r#"{"status":"ok"}"#);
        let post = answer("POST");
        assert_eq!((post.status, post.allow), (405, Some("GET, HEAD")));
    }
}
