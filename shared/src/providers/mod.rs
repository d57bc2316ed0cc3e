//! One small client per external service, each over the [`HttpClient`](crate::outbound::HttpClient)
//! port and configured by a base URL and credentials from variables (tests point the base URL
//! at a local fake):
//! - [`twilio_api`]: Twilio REST — SMS and voice calls (verification codes), searching and
//!   buying phone numbers;
//! - [`vapi_api`]: Vapi REST — registering a Twilio number with Vapi, pointed at our
//!   assistant-request URL;
//! - [`places`]: Google Places (New) Text Search — finding a restaurant by name.
//!
//! Each client builds its requests and reads its answers; nothing here decides what to do.

pub mod places;
pub mod twilio_api;
pub mod vapi_api;

use crate::outbound::{OutResponse, TransportError};

/// Why a call to another service did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The request never got an answer.
    #[error("{service} could not be reached: {detail}")]
    Unreachable {
        service: &'static str,
        detail: String,
    },
    /// The service answered with an error status; `message` is its own explanation.
    #[error("{service} refused the request ({status}): {message}")]
    Refused {
        service: &'static str,
        status: u16,
        message: String,
    },
    /// The service answered 2xx with a body we cannot read.
    #[error("{service} answered in an unexpected shape: {detail}")]
    Malformed {
        service: &'static str,
        detail: String,
    },
}

/// Trim a base URL's trailing slashes, so `base + "/path"` never doubles them.
pub(crate) fn base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// A 2xx answer's body as JSON, or the error it is.
pub(crate) fn json_answer(
    service: &'static str,
    answer: Result<OutResponse, TransportError>,
) -> Result<serde_json::Value, ProviderError> {
    let answer = answer.map_err(|e| ProviderError::Unreachable {
        service,
        detail: e.0,
    })?;
    let body: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
    if !(200..300).contains(&answer.status) {
        // Twilio: {"code", "message", "more_info", "status"}; Vapi: {"message": ... | [...]}
        // Google: {"error": {"message"}}.
        let message = body
            .as_ref()
            .and_then(|b| {
                b.get("message")
                    .or_else(|| b.pointer("/error/message"))
                    .map(|m| match m {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
            })
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(200)
                    .collect()
            });
        return Err(ProviderError::Refused {
            service,
            status: answer.status,
            message,
        });
    }
    body.ok_or_else(|| ProviderError::Malformed {
        service,
        detail: "the body is not JSON".into(),
    })
}

/// A string field of an answer, or the error naming it.
pub(crate) fn string_field(
    service: &'static str,
    v: &serde_json::Value,
    pointer: &str,
) -> Result<String, ProviderError> {
    v.pointer(pointer)
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::Malformed {
            service,
            detail: format!("no string at {pointer}"),
        })
}
