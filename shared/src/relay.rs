//! The contract between the functions and the media relay.
//!
//! - [`StreamToken`]: the short-lived token the Twilio voice webhook puts in the TwiML
//!   `<Parameter>`s. It binds the business, the called line, the call SID and the Twilio
//!   account, and is signed with the shared `relay_token_key` (HMAC-SHA256). The relay trusts
//!   the stream's parameters only if the token verifies, has not expired, and names the call SID
//!   of the stream's `start`. One call gets one token (a retried webhook gets the same one
//!   back), and one stream: the relay presents the token in [`STREAM_TOKEN_HEADER`] when it
//!   fetches the agent configuration, and the functions refuse a second stream for the call.
//! - [`AgentConfig`]: what the relay fetches from the functions' internal route to configure the
//!   voice agent for one business (prompt, greeting, functions, transfer line, limits).
//! - [`UsageReport`]: what the relay posts back when a call ends.
//!
//! Both sides use these types, so they agree by construction.

use crate::signed::{self, SignedError};
use crate::tools::ToolSpec;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// `<Parameter>` names in the TwiML `<Stream>` (and `start.customParameters` in the relay).
pub mod params {
    pub const BUSINESS_ID: &str = "business_id";
    pub const CALL_SID: &str = "call_sid";
    pub const LINE: &str = "line";
    pub const TOKEN: &str = "token";
}

/// How long a stream token stays valid: Twilio opens the stream within seconds of our TwiML.
pub const STREAM_TOKEN_TTL_SECONDS: i64 = 120;

/// The header in which the relay presents a call's verified stream token to the functions
/// (agent configuration, usage report), besides `Authorization: Bearer <service_token>`.
pub const STREAM_TOKEN_HEADER: &str = "x-hostline-stream-token";

/// What a stream token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamToken {
    /// Business id.
    #[serde(rename = "b")]
    pub business_id: String,
    /// The called line (E.164): tool calls from the relay are routed by it.
    #[serde(rename = "l")]
    pub line: String,
    /// Twilio call SID the stream must belong to.
    #[serde(rename = "c")]
    pub call_sid: String,
    /// The Twilio account of the call (from the verified voice webhook): the relay's REST
    /// calls for the call (transfer, fallback) go to this account, never to one a `start`
    /// frame names.
    #[serde(rename = "a")]
    pub account_sid: String,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("stream token is malformed")]
    Malformed,
    #[error("stream token signature does not verify")]
    BadSignature,
    #[error("stream token expired")]
    Expired,
    #[error("stream token was issued for another call")]
    WrongCall,
    #[error("no relay token key is configured")]
    NoKey,
}

/// The token kind (see [`crate::signed`]): `v1.<base64url(json)>.<base64url(hmac)>`.
const VERSION: &str = "v1";

impl From<SignedError> for TokenError {
    fn from(e: SignedError) -> Self {
        match e {
            SignedError::Malformed => TokenError::Malformed,
            SignedError::BadSignature => TokenError::BadSignature,
            SignedError::NoKey => TokenError::NoKey,
        }
    }
}

impl StreamToken {
    /// `v1.<base64url(json)>.<base64url(hmac)>`.
    pub fn sign(&self, key: &[u8]) -> Result<String, TokenError> {
        Ok(signed::sign(VERSION, key, self)?)
    }

    /// Verify signature, expiry (against `now_unix`) and the call SID the stream announced.
    pub fn verify(
        token: &str,
        key: &[u8],
        now_unix: i64,
        call_sid: &str,
    ) -> Result<StreamToken, TokenError> {
        let claims = StreamToken::verify_signature(token, key)?;
        if now_unix >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        if !bool::from(claims.call_sid.as_bytes().ct_eq(call_sid.as_bytes())) {
            return Err(TokenError::WrongCall);
        }
        Ok(claims)
    }

    /// Verify the signature only and return the claims: for checks that come after the
    /// token's lifetime (a usage report when the call ends) or that compare the claims
    /// themselves. The signature is checked before the payload is parsed.
    pub fn verify_signature(token: &str, key: &[u8]) -> Result<StreamToken, TokenError> {
        Ok(signed::verify(VERSION, key, token)?)
    }
}

/// One function the voice agent may call, and where the relay sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentFunction {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
    /// Path of the tool endpoint (Vapi-shaped tool-calls) that answers it, relative to the
    /// functions' base URL the relay is configured with ("/vapi/knowledge-base").
    pub path: String,
}

impl AgentFunction {
    pub fn from_spec(spec: &ToolSpec, path: &str) -> AgentFunction {
        AgentFunction {
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            parameters: spec.parameters.clone(),
            path: path.to_owned(),
        }
    }
}

/// Internal routes the relay calls on the functions, with `Authorization: Bearer <service_token>`.
pub mod routes {
    /// `GET {AGENT_CONFIG}/{business_id}` → [`super::AgentConfig`].
    pub const AGENT_CONFIG: &str = "/internal/agent-config";
    /// [`AGENT_CONFIG`] as a route pattern.
    pub const AGENT_CONFIG_PATTERN: &str = "/internal/agent-config/{business}";
    /// `POST` a [`super::UsageReport`] → 204.
    pub const USAGE: &str = "/internal/usage";
}

/// The name of the function the agent calls to hand the caller to staff (handled by the relay
/// itself through Twilio's REST API, not by a tool endpoint).
pub const TRANSFER_FUNCTION: &str = "transfer_to_staff";

/// Everything the relay needs to run one business's voice agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentConfig {
    pub business_id: String,
    pub business_name: String,
    /// Spoken first by the agent.
    pub greeting: String,
    /// System prompt.
    pub prompt: String,
    /// Language code for speech recognition and synthesis ("en").
    pub language: String,
    /// Words speech recognition should favour: menu item and category names.
    pub keyterms: Vec<String>,
    /// Functions answered by tool endpoints.
    pub functions: Vec<AgentFunction>,
    /// Where to transfer the call on DTMF 0 or [`TRANSFER_FUNCTION`]; `None` = no transfer.
    pub transfer_to: Option<String>,
    /// Hard cap on a call's length, seconds.
    pub max_call_seconds: u32,
    /// The call's tool credential (`hostline_shared::credential`, bound to the token's
    /// business and line): sent in `x-hostline-tool-token` on every tool call, the only key
    /// the tool endpoints accept.
    #[serde(default)]
    pub tool_token: String,
}

/// How a call ended, from the relay's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEnd {
    /// Twilio sent `stop` or closed the stream (the caller hung up).
    Caller,
    /// The agent closed its socket or failed.
    Agent,
    /// Transferred to staff.
    Transferred,
    /// No audio for longer than the idle limit.
    Idle,
    /// Reached the maximum call length.
    MaxDuration,
    /// The relay is shutting down and the drain deadline passed.
    Shutdown,
    /// A protocol error on either socket.
    Error,
}

impl CallEnd {
    /// The wire name (`max_duration`), also the call log's ended reason.
    pub fn as_str(self) -> &'static str {
        match self {
            CallEnd::Caller => "caller",
            CallEnd::Agent => "agent",
            CallEnd::Transferred => "transferred",
            CallEnd::Idle => "idle",
            CallEnd::MaxDuration => "max_duration",
            CallEnd::Shutdown => "shutdown",
            CallEnd::Error => "error",
        }
    }
}

/// Posted by the relay to the functions when a call ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    pub business_id: String,
    pub call_sid: String,
    /// RFC 3339.
    pub started_at: String,
    pub ended_at: String,
    /// Whole seconds the stream was connected (rounded up).
    pub seconds: u32,
    pub frames_in: u64,
    pub frames_out: u64,
    pub function_calls: u32,
    /// Agent turns Twilio confirmed as played to the end (their mark came back uncleared).
    #[serde(default)]
    pub turns_played: u32,
    /// Agent turns the caller talked over (cleared before their end was played).
    #[serde(default)]
    pub turns_interrupted: u32,
    /// Times the caller's speech cut the agent off (`clear` sent to Twilio).
    #[serde(default)]
    pub barge_ins: u32,
    pub ended_by: CallEnd,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_end_names_are_the_wire_names() {
        for end in [
            CallEnd::Caller,
            CallEnd::Agent,
            CallEnd::Transferred,
            CallEnd::Idle,
            CallEnd::MaxDuration,
            CallEnd::Shutdown,
            CallEnd::Error,
        ] {
            assert_eq!(serde_json::to_value(end).unwrap(), end.as_str());
        }
    }

    fn token() -> StreamToken {
        StreamToken {
            business_id: "demo-boba".into(),
            line: "+14155550188".into(),
            call_sid: "CA11111111111111111111111111111111".into(),
            account_sid: "AC00000000000000000000000000000000".into(),
            expires_at: 1_000,
        }
    }

    #[test]
    fn signature_only_ignores_expiry_but_not_tampering() {
        let t = token().sign(b"key").unwrap();
        assert_eq!(StreamToken::verify_signature(&t, b"key"), Ok(token()));
        assert_eq!(
            StreamToken::verify_signature(&t, b"other"),
            Err(TokenError::BadSignature)
        );
        // A token without the account (older functions) is not accepted.
        let old = serde_json::json!({"b": "demo-boba", "l": "+14155550188",
            "c": "CA11111111111111111111111111111111", "e": 1_000});
        let signed_old = signed::sign(VERSION, b"key", &old).unwrap();
        assert_eq!(
            StreamToken::verify_signature(&signed_old, b"key"),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn usage_reports_without_turn_counts_still_parse() {
        let report: UsageReport = serde_json::from_str(
            r#"{"business_id":"b","call_sid":"CA1","started_at":"2026-11-20T18:00:00Z",
            "ended_at":"2026-11-20T18:01:00Z","seconds":60,"frames_in":3000,"frames_out":900,
            "function_calls":1,"ended_by":"caller"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                report.turns_played,
                report.turns_interrupted,
                report.barge_ins
            ),
            (0, 0, 0)
        );
    }

    #[test]
    fn round_trip() {
        let t = token().sign(b"key").unwrap();
        assert!(t.starts_with("v1."));
        assert_eq!(
            StreamToken::verify(&t, b"key", 999, "CA11111111111111111111111111111111"),
            Ok(token())
        );
    }

    #[test]
    fn rejections() {
        let t = token().sign(b"key").unwrap();
        let sid = "CA11111111111111111111111111111111";
        assert_eq!(
            StreamToken::verify(&t, b"other", 0, sid),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            StreamToken::verify(&t, b"key", 1_000, sid),
            Err(TokenError::Expired)
        );
        assert_eq!(
            StreamToken::verify(&t, b"key", 0, "CA2"),
            Err(TokenError::WrongCall)
        );
        assert_eq!(StreamToken::verify(&t, b"", 0, sid), Err(TokenError::NoKey));
        assert_eq!(token().sign(b""), Err(TokenError::NoKey));
        for bad in ["", "v1", "v1.a", "v2.a.b", "v1.a.b.c", "v1.!!.??"] {
            assert!(StreamToken::verify(bad, b"key", 0, sid).is_err(), "{bad}");
        }
        // A payload swapped under a valid signature fails.
        let other = StreamToken {
            business_id: "evil".into(),
            ..token()
        }
        .sign(b"key")
        .unwrap();
        let (_, payload_other) = other.split_once('.').unwrap();
        let payload_other = payload_other.split('.').next().unwrap();
        let sig = t.rsplit('.').next().unwrap();
        let forged = format!("v1.{payload_other}.{sig}");
        assert_eq!(
            StreamToken::verify(&forged, b"key", 0, sid),
            Err(TokenError::BadSignature)
        );
    }
}
