//! The outbound HTTP port: how a handler calls another service (Twilio REST, Vapi REST,
//! Places). Handlers build an [`OutRequest`] and get an [`OutResponse`]; the platform adapter
//! sends it (the Spin adapter through `wasi:http`, behind the component's
//! `allowed_outbound_hosts`), and tests answer it in-process ([`Scripted`]) or with a local
//! server. Every service's own client lives in [`crate::providers`].

use crate::http::Method;
use std::future::Future;

/// One request to another service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRequest {
    pub method: Method,
    /// Absolute URL (`https://api.twilio.com/2010-04-01/...`).
    pub url: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutRequest {
    pub fn new(method: Method, url: impl Into<String>) -> OutRequest {
        OutRequest {
            method,
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> OutRequest {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// HTTP Basic credentials (`user:password`, base64).
    pub fn basic_auth(self, user: &str, password: &str) -> OutRequest {
        use base64::Engine;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", format!("Basic {encoded}"))
    }

    pub fn bearer(self, token: &str) -> OutRequest {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// An `application/x-www-form-urlencoded` body (Twilio's REST API takes these).
    pub fn form(mut self, fields: &[(&str, &str)]) -> OutRequest {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            s.append_pair(k, v);
        }
        self.body = s.finish().into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    pub fn json(mut self, value: &serde_json::Value) -> OutRequest {
        self.body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json")
    }

    /// The value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the other service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The request never got an answer (refused by the allow-list, connection failed, timed out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// Sends requests to other services.
pub trait HttpClient {
    fn send(&self, req: OutRequest) -> impl Future<Output = Result<OutResponse, TransportError>>;
}

impl<T: HttpClient> HttpClient for &T {
    fn send(&self, req: OutRequest) -> impl Future<Output = Result<OutResponse, TransportError>> {
        (**self).send(req)
    }
}

/// A client for tests: answers each request with the first rule whose method and URL
/// fragment match, and keeps every request it saw.
#[derive(Debug, Default)]
pub struct Scripted {
    rules: Vec<(Method, String, u16, Vec<u8>)>,
    seen: std::sync::Mutex<Vec<OutRequest>>,
}

impl Scripted {
    pub fn new() -> Scripted {
        Scripted::default()
    }

    /// Answer `method` requests whose URL contains `url_part` with `status` and `body`.
    pub fn on(mut self, method: Method, url_part: &str, status: u16, body: &str) -> Scripted {
        self.rules.push((
            method,
            url_part.to_owned(),
            status,
            body.as_bytes().to_vec(),
        ));
        self
    }

    /// Every request sent so far.
    pub fn seen(&self) -> Vec<OutRequest> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl HttpClient for Scripted {
    async fn send(&self, req: OutRequest) -> Result<OutResponse, TransportError> {
        let answer = self
            .rules
            .iter()
            .find(|(m, part, _, _)| *m == req.method && req.url.contains(part.as_str()))
            .map(|(_, _, status, body)| OutResponse {
                status: *status,
                body: body.clone(),
            });
        let url = req.url.clone();
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(req);
        }
        answer.ok_or_else(|| TransportError(format!("no scripted answer for {url}")))
    }
}

/// A client with no way out: every request fails. For a handler run where outbound HTTP is
/// not wired (tests of routes that send nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOutbound;

impl HttpClient for NoOutbound {
    async fn send(&self, req: OutRequest) -> Result<OutResponse, TransportError> {
        Err(TransportError(format!(
            "outbound HTTP is not available here ({})",
            req.url
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_basic_auth() {
        let r = OutRequest::new(Method::Post, "https://x.test/a")
            .basic_auth("AC1", "tok")
            .form(&[("To", "+15551230001"), ("Body", "Code 12 34")]);
        assert_eq!(r.header_value("Authorization"), Some("Basic QUMxOnRvaw=="));
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "To=%2B15551230001&Body=Code+12+34"
        );
    }

    #[test]
    fn scripted_answers_and_records() {
        let s = Scripted::new().on(Method::Get, "/ping", 200, "pong");
        let r = futures::executor::block_on(s.send(OutRequest::new(Method::Get, "http://h/ping")))
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, b"pong".as_slice()));
        let miss =
            futures::executor::block_on(s.send(OutRequest::new(Method::Post, "http://h/ping")));
        assert!(miss.is_err());
        assert_eq!(s.seen().len(), 2);
    }
}
