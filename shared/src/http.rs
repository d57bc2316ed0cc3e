//! The plain HTTP request and response every handler takes and returns. Adapters (the Spin
//! adapter, tests) convert to and from their own types; handlers never see a platform type.
//!
//! Errors to callers are JSON: `{"error": "<sentence>", "field": "<path>"?}` with a 4xx status
//! naming what is wrong. A 5xx carries an opaque message; the detail goes to the log.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path without query string, e.g. `/api/v1/businesses/demo/restaurant`.
    pub path: String,
    /// Raw query string without the `?`, if any.
    pub query: Option<String>,
    /// Header names are lower-cased by the adapter.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, path: &str) -> Request {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path.to_owned(), None),
        };
        Request {
            method,
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// First value of a header, by lower-case name.
    /// A query parameter, percent-decoded (the first, when repeated).
    pub fn query_param(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        form_urlencoded::parse(self.query.as_deref()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The bearer token of the `Authorization` header, if it has one.
    /// The caller's address without its port (`spin-client-addr`, set by the host), for
    /// per-address throttles.
    pub fn client_ip(&self) -> Option<String> {
        let raw = self.header("spin-client-addr")?;
        match raw.parse::<std::net::SocketAddr>() {
            Ok(a) => Some(a.ip().to_string()),
            Err(_) => Some(raw.to_owned()),
        }
    }

    pub fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?.trim();
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The JSON body of every error we return.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl Response {
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body,
            },
            Err(_) => Response::internal(),
        }
    }

    /// A 4xx with `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Response {
        Response::json(
            status,
            &ErrorBody {
                error: message,
                field: None,
            },
        )
    }

    /// A 4xx naming the offending field: `{"error": message, "field": path}`.
    pub fn field_error(status: u16, field: &str, message: &str) -> Response {
        Response::json(
            status,
            &ErrorBody {
                error: message,
                field: Some(field),
            },
        )
    }

    /// An opaque 500; the caller logs the detail.
    pub fn internal() -> Response {
        Response {
            status: 500,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"error":"internal error"}"#.to_vec(),
        }
    }

    /// The answer to a storage failure, the same on every route: a retryable one is `503`
    /// with `Retry-After`, anything else an opaque 500. The caller logs the detail.
    pub fn storage_error(e: &crate::store::StoreError) -> Response {
        if e.retryable() {
            let mut r = Response::error(503, "storage is busy or unavailable; retry shortly");
            r.headers.push(("retry-after".into(), "1".into()));
            r
        } else {
            Response::internal()
        }
    }

    pub fn not_found() -> Response {
        Response::error(404, "no such route")
    }

    /// `204 No Content`: done, nothing to say.
    pub fn no_content() -> Response {
        Response {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn method_not_allowed() -> Response {
        Response::error(405, "method not allowed on this route")
    }

    pub fn unauthorized(message: &str) -> Response {
        Response::error(401, message)
    }

    /// This response with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// This answer, if a 200, with an `ETag` (a digest of its body), or a `304` with no body
    /// when the request's `If-None-Match` already names that tag: a client polling for
    /// changes pays for the body only when it changed.
    pub fn with_etag(self, req: &Request) -> Response {
        use sha2::{Digest, Sha256};
        if self.status != 200 {
            return self;
        }
        let digest = Sha256::digest(&self.body);
        let tag = format!("\"{}\"", crate::auth::tokens::hex(&digest[..12]));
        let fresh = req
            .header("if-none-match")
            .is_some_and(|tags| tags.split(',').any(|t| t.trim() == tag));
        let resp = if fresh {
            Response {
                status: 304,
                headers: Vec::new(),
                body: Vec::new(),
            }
        } else {
            self
        };
        resp.with_header("etag", &tag)
    }

    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

/// Parse a JSON body into `T`, or a 400 naming the field at fault (see
/// [`crate::api::parse_body`], which routes on [`crate::api::ApiError`] use directly).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    crate::api::parse_body(body).map_err(crate::api::ApiError::response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        message: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        kind: String,
    }

    #[test]
    fn parse_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"message":{"kind":3}}"#).unwrap_err();
        assert_eq!(e.status, 400);
        let v: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["field"], "message.kind");

        let e = parse_json::<Body>(b"{not json").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.body_str().contains("malformed JSON"));

        let e = parse_json::<Body>(b"").unwrap_err();
        assert!(e.body_str().contains("empty"));
    }

    #[test]
    fn bearer_and_headers() {
        let r = Request::new(Method::Get, "/x?a=1").with_header("Authorization", "Bearer  tok ");
        assert_eq!(r.bearer(), Some("tok"));
        assert_eq!(r.path, "/x");
        assert_eq!(r.query.as_deref(), Some("a=1"));
        let r = Request::new(Method::Get, "/x").with_header("authorization", "Basic abc");
        assert_eq!(r.bearer(), None);
    }
}
