//! The functions client: the relay's three requests to the function collection.
//!
//! - `GET {functions_url}/internal/agent-config/{business_id}` → [`AgentConfig`], with
//!   `Authorization: Bearer <HOSTLINE_SERVICE_TOKEN>` and the call's verified stream token in
//!   [`STREAM_TOKEN_HEADER`]. The functions answer it once per call: `409` means another
//!   stream (on this relay or another) already started for the call, and the stream is refused.
//! - `POST {functions_url}{function.path}` with a Vapi-shaped `tool-calls` message, so the tool
//!   logic Vapi uses answers the relay too → `{"results":[{toolCallId, result|error}]}`. The
//!   only credential is the call's tool credential from the agent configuration, in
//!   [`TOOL_TOKEN_HEADER`] (the tool endpoints take the tenant from it, and accept nothing else).
//! - `POST {functions_url}/internal/usage` with a [`UsageReport`] when a call ends, with the
//!   bearer and the stream token (the functions take the business and call from it). The report
//!   is idempotent per call SID, so it is retried with exponential backoff.
//!
//! One `reqwest` client (one connection pool) serves every call; timeouts are per request
//! and include the wait for one of [`MAX_IN_FLIGHT`] request slots.

use std::sync::Arc;
use std::time::Duration;

use hostline_shared::credential::TOOL_TOKEN_HEADER;
use hostline_shared::relay::{AgentConfig, STREAM_TOKEN_HEADER, UsageReport, routes};
use hostline_shared::vapi::ToolResults;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Why a request to the functions failed.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    #[error("the functions do not know this business")]
    NotFound,
    #[error("the functions refused the stream: {0}")]
    Refused(String),
    #[error("the functions answered HTTP {0}")]
    Status(u16),
    #[error("request to the functions failed: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("request to the functions timed out")]
    Timeout,
    #[error("unreadable answer from the functions: {0}")]
    Decode(String),
}

impl FunctionsError {
    fn from_reqwest(e: reqwest::Error) -> FunctionsError {
        if e.is_timeout() {
            FunctionsError::Timeout
        } else if e.is_decode() {
            FunctionsError::Decode(e.to_string())
        } else {
            FunctionsError::Transport(e)
        }
    }
}

/// One tool call to send to a tool endpoint.
#[derive(Debug, Clone)]
pub struct ToolCall<'a> {
    /// Twilio's call SID: the tool endpoints key the cart by `message.call.id`.
    pub call_sid: &'a str,
    /// The dialled line from the verified token: the tool endpoints route the tenant by it.
    pub line: &'a str,
    /// The agent's function call id (`toolCallId`).
    pub id: &'a str,
    pub name: &'a str,
    pub arguments: Value,
}

impl ToolCall<'_> {
    /// The Vapi `tool-calls` message body.
    pub fn body(&self) -> Value {
        json!({"message": {
            "type": "tool-calls",
            "call": {"id": self.call_sid},
            "phoneNumber": {"number": self.line},
            "toolCallList": [{
                "id": self.id,
                "type": "function",
                "function": {"name": self.name, "arguments": self.arguments},
            }],
        }})
    }
}

/// Client for the function collection.
#[derive(Debug, Clone)]
pub struct Functions {
    /// Shared connection pool.
    http: reqwest::Client,
    /// `functions_url` without a trailing slash.
    base: String,
    /// `Bearer <service token>`, marked sensitive so it never prints.
    bearer: HeaderValue,
    /// Requests in flight at once: calls ending together (a drain, an outage) must not open
    /// a connection each to the functions.
    in_flight: Arc<Semaphore>,
}

/// Requests to the functions in flight at once, over all calls.
pub const MAX_IN_FLIGHT: usize = 128;

impl Functions {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        service_token: &str,
    ) -> anyhow::Result<Functions> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {service_token}"))
            .map_err(|_| anyhow::anyhow!("HOSTLINE_SERVICE_TOKEN is not a valid header value"))?;
        bearer.set_sensitive(true);
        Ok(Functions {
            http,
            base: base.trim_end_matches('/').to_owned(),
            bearer,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// The agent configuration for one call's stream of a business; `stream_token` is the
    /// call's verified token.
    pub async fn agent_config(
        &self,
        business_id: &str,
        stream_token: &str,
        limit: Duration,
    ) -> Result<AgentConfig, FunctionsError> {
        let url = format!(
            "{}{}/{}",
            self.base,
            routes::AGENT_CONFIG,
            path_segment(business_id)
        );
        let request = async {
            let _slot = self.in_flight.acquire().await;
            let response = self
                .http
                .get(url)
                .header(AUTHORIZATION, self.bearer.clone())
                .header(STREAM_TOKEN_HEADER, sensitive(stream_token)?)
                .send()
                .await
                .map_err(FunctionsError::from_reqwest)?;
            match response.status().as_u16() {
                200 => response.json().await.map_err(FunctionsError::from_reqwest),
                404 => Err(FunctionsError::NotFound),
                409 => {
                    let body = response.text().await.unwrap_or_default();
                    Err(FunctionsError::Refused(body.chars().take(200).collect()))
                }
                s => Err(FunctionsError::Status(s)),
            }
        };
        tokio::time::timeout(limit, request)
            .await
            .unwrap_or(Err(FunctionsError::Timeout))
    }

    /// Runs one tool call with the call's tool credential and returns what the agent should
    /// be told (the result, or the endpoint's spoken error). The caller applies the deadline.
    pub async fn tool_call(
        &self,
        path: &str,
        tool_token: &str,
        call: &ToolCall<'_>,
    ) -> Result<String, FunctionsError> {
        let url = format!("{}{}", self.base, path);
        let credential = sensitive(tool_token)?;
        let _slot = self.in_flight.acquire().await;
        let response = self
            .http
            .post(url)
            .header(TOOL_TOKEN_HEADER, credential)
            .json(&call.body())
            .send()
            .await
            .map_err(FunctionsError::from_reqwest)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FunctionsError::Status(status));
        }
        let results: ToolResults = response
            .json()
            .await
            .map_err(FunctionsError::from_reqwest)?;
        let result = results
            .results
            .iter()
            .find(|r| r.tool_call_id == call.id)
            .or(results.results.first())
            .ok_or_else(|| FunctionsError::Decode("no result in the answer".into()))?;
        result
            .result
            .clone()
            .or_else(|| result.error.clone())
            .ok_or_else(|| FunctionsError::Decode("result without `result` or `error`".into()))
    }

    /// Posts a finished call's usage once: `Ok`, or why not (with whether trying again may
    /// help).
    pub async fn report_usage(
        &self,
        report: &UsageReport,
        stream_token: &str,
        limit: Duration,
    ) -> Result<(), FunctionsError> {
        let url = format!("{}{}", self.base, routes::USAGE);
        let request = async {
            let token = sensitive(stream_token)?;
            let _slot = self.in_flight.acquire().await;
            let response = self
                .http
                .post(url)
                .header(AUTHORIZATION, self.bearer.clone())
                .header(STREAM_TOKEN_HEADER, token)
                .json(report)
                .send()
                .await
                .map_err(FunctionsError::from_reqwest)?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(FunctionsError::Status(status.as_u16()))
            }
        };
        tokio::time::timeout(limit, request)
            .await
            .unwrap_or(Err(FunctionsError::Timeout))
    }

    /// [`Functions::report_usage`] up to `retry.attempts` times, waiting `retry.backoff`,
    /// then twice that, and so on between attempts, while the failure may clear (transport,
    /// timeout, 408, 429, 5xx). The functions charge a call once however often it is reported.
    /// Returns the attempts made and the last result.
    pub async fn report_usage_with_retries(
        &self,
        report: &UsageReport,
        stream_token: &str,
        limit: Duration,
        retry: Retry,
    ) -> (u32, Result<(), FunctionsError>) {
        let mut delay = retry.backoff;
        let mut attempt = 1;
        loop {
            let result = self.report_usage(report, stream_token, limit).await;
            match &result {
                Err(e) if e.retryable() && attempt < retry.attempts.max(1) => {
                    tracing::debug!(call_sid = %report.call_sid, attempt, error = %e, "usage report failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
                _ => return (attempt, result),
            }
        }
    }
}

/// How often and how patiently to retry an idempotent request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub backoff: Duration,
}

impl FunctionsError {
    /// Whether the same request may succeed later.
    pub fn retryable(&self) -> bool {
        match self {
            FunctionsError::Transport(_) | FunctionsError::Timeout => true,
            FunctionsError::Status(s) => *s == 408 || *s == 429 || *s >= 500,
            FunctionsError::NotFound | FunctionsError::Refused(_) | FunctionsError::Decode(_) => {
                false
            }
        }
    }
}

/// A token as a header value that never prints.
fn sensitive(token: &str) -> Result<HeaderValue, FunctionsError> {
    let mut value = HeaderValue::from_str(token)
        .map_err(|_| FunctionsError::Decode("a token is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for one path segment.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_call_body_is_vapi_shaped() {
        let call = ToolCall {
            call_sid: "CA1",
            line: "+14155550188",
            id: "fc_1",
            name: "get_menu_info",
            arguments: json!({"query": "taro milk tea"}),
        };
        assert_eq!(
            call.body(),
            json!({"message":{"type":"tool-calls","call":{"id":"CA1"},"phoneNumber":{"number":"+14155550188"},
                "toolCallList":[{"id":"fc_1","type":"function","function":{"name":"get_menu_info","arguments":{"query":"taro milk tea"}}}]}})
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("demo-boba"), "demo-boba");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
