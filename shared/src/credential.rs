//! The per-business tool credential. The assistant we return for a call (Vapi) and the agent
//! configuration we give the media relay (Twilio) carry, in the headers of every tool and event
//! request, a credential bound to one business and one line, signed with the `tool_token_key`
//! variable. The tool and event routes take the tenant from it and from nothing else: a body
//! that names another line is refused, and the global webhook secret (which every tenant's
//! assistant-request shares) is not accepted there at all.
//!
//! Format: `t1.<base64url(json claims)>.<base64url(hmac-sha256)>` (see [`crate::signed`]); the
//! claims carry the key version, so a rotated key can be told from a forged token.

use crate::http::Request;
use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use crate::signed::{self, SignedError};
use serde::{Deserialize, Serialize};

/// The request header the credential travels in.
pub const TOOL_TOKEN_HEADER: &str = "x-hostline-tool-token";

/// How long a credential stays valid: one call (at most 30 minutes) with room to spare.
pub const TOOL_TOKEN_TTL_SECONDS: i64 = 2 * 60 * 60;

/// The version of `tool_token_key` credentials are signed with today.
pub const KEY_VERSION: u32 = 1;

const KIND: &str = "t1";

/// What a tool credential asserts: this request acts for `business_id`, on `line`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCredential {
    #[serde(rename = "b")]
    pub business_id: BusinessId,
    #[serde(rename = "l")]
    pub line: PhoneE164,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(flatten)]
    credential: ToolCredential,
    #[serde(rename = "k")]
    key_version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("no tool credential was presented")]
    Missing,
    #[error("the tool credential is malformed")]
    Malformed,
    #[error("the tool credential's signature does not verify")]
    BadSignature,
    #[error("the tool credential was signed with a key version we no longer accept")]
    OldKey,
    #[error("the tool credential has expired")]
    Expired,
    #[error("no tool_token_key is configured")]
    NoKey,
}

impl From<SignedError> for CredentialError {
    fn from(e: SignedError) -> Self {
        match e {
            SignedError::Malformed => CredentialError::Malformed,
            SignedError::BadSignature => CredentialError::BadSignature,
            SignedError::NoKey => CredentialError::NoKey,
        }
    }
}

impl ToolCredential {
    /// A credential for one call on `line` of `business_id`, valid from `now_unix`.
    pub fn issue(business_id: BusinessId, line: PhoneE164, now_unix: i64) -> ToolCredential {
        ToolCredential {
            business_id,
            line,
            expires_at: now_unix.saturating_add(TOOL_TOKEN_TTL_SECONDS),
        }
    }

    pub fn sign(&self, key: &[u8]) -> Result<String, CredentialError> {
        let claims = Claims {
            credential: self.clone(),
            key_version: KEY_VERSION,
        };
        Ok(signed::sign(KIND, key, &claims)?)
    }

    pub fn verify(
        token: &str,
        key: &[u8],
        now_unix: i64,
    ) -> Result<ToolCredential, CredentialError> {
        let claims: Claims = signed::verify(KIND, key, token)?;
        if claims.key_version != KEY_VERSION {
            return Err(CredentialError::OldKey);
        }
        if now_unix >= claims.credential.expires_at {
            return Err(CredentialError::Expired);
        }
        Ok(claims.credential)
    }

    /// The credential a request carries in [`TOOL_TOKEN_HEADER`], verified.
    pub fn from_request(
        req: &Request,
        key: &[u8],
        now_unix: i64,
    ) -> Result<ToolCredential, CredentialError> {
        let token = req
            .header(TOOL_TOKEN_HEADER)
            .ok_or(CredentialError::Missing)?;
        ToolCredential::verify(token, key, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred() -> ToolCredential {
        ToolCredential::issue(
            BusinessId::parse("demo-boba").unwrap(),
            PhoneE164::parse_e164("+14155550188").unwrap(),
            1_000,
        )
    }

    #[test]
    fn verifies_until_expiry() {
        let t = cred().sign(b"k").unwrap();
        assert_eq!(ToolCredential::verify(&t, b"k", 1_000).unwrap(), cred());
        assert_eq!(
            ToolCredential::verify(&t, b"k", 1_000 + TOOL_TOKEN_TTL_SECONDS),
            Err(CredentialError::Expired)
        );
        assert_eq!(
            ToolCredential::verify(&t, b"other", 1_000),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            ToolCredential::verify(&t, b"", 1_000),
            Err(CredentialError::NoKey)
        );
    }

    #[test]
    fn a_stream_token_is_not_a_tool_credential() {
        // Same key, another kind of token: refused before its claims are read.
        let other = signed::sign("v1", b"k", &serde_json::json!({"b": "demo-boba"})).unwrap();
        assert_eq!(
            ToolCredential::verify(&other, b"k", 1_000),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn claims_must_name_a_valid_business_and_line() {
        let bad = signed::sign(
            KIND,
            b"k",
            &serde_json::json!({"b": "Not/Valid", "l": "+14155550188", "e": 9_999, "k": 1}),
        )
        .unwrap();
        assert_eq!(
            ToolCredential::verify(&bad, b"k", 1_000),
            Err(CredentialError::Malformed)
        );
        let old = signed::sign(
            KIND,
            b"k",
            &serde_json::json!({"b": "demo-boba", "l": "+14155550188", "e": 9_999, "k": 0}),
        )
        .unwrap();
        assert_eq!(
            ToolCredential::verify(&old, b"k", 1_000),
            Err(CredentialError::OldKey)
        );
    }
}
