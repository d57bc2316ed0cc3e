//! Identity and authentication.
//!
//! - This module: constant-time secret comparison shared by every webhook and the operator
//!   token (constant-time in the length of the expected secret, so a caller learns nothing
//!   from response timing).
//! - [`jwt`]: access tokens (claims, roles, permissions).
//! - [`password`]: Argon2id hashes of passwords and staff PINs.
//! - [`tokens`]: opaque tokens kept as digests (refresh tokens, API keys, device tokens).
//! - [`accounts`]: owners and staff, sign-up, login with throttling, refresh rotation.
//! - [`keys`]: API keys and edge-device tokens bound to one business; device pairing codes.

pub mod accounts;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod tokens;

use crate::http::Request;
use subtle::ConstantTimeEq;

/// Constant-time equality of a presented secret and the configured one. An empty configured
/// secret never matches: an unset secret must lock the route, not open it.
pub fn secret_matches(presented: &str, expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    // Compare digests so that the comparison time does not depend on the presented length.
    use sha2::{Digest, Sha256};
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

/// How Vapi presents its secret: `X-Vapi-Secret: <secret>` (legacy and current inline secret),
/// `X-Vapi-Signature: <secret>` (older docs), or `Authorization: Bearer <secret>` (Bearer
/// credential). Any one matching is enough.
pub fn vapi_request_authorized(req: &Request, secret: &str) -> bool {
    let candidates = [
        req.header("x-vapi-secret"),
        req.header("x-vapi-signature"),
        req.bearer(),
    ];
    // Evaluate all candidates so the time taken doesn't reveal which header was checked.
    candidates
        .iter()
        .flatten()
        .fold(false, |ok, c| secret_matches(c, secret) | ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn matching() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cre", "s3cret"));
        assert!(!secret_matches("", ""));
        assert!(!secret_matches("x", ""));
    }

    #[test]
    fn vapi_headers() {
        let base = || Request::new(Method::Post, "/vapi/knowledge-base");
        assert!(vapi_request_authorized(
            &base().with_header("X-Vapi-Secret", "k"),
            "k"
        ));
        assert!(vapi_request_authorized(
            &base().with_header("x-vapi-signature", "k"),
            "k"
        ));
        assert!(vapi_request_authorized(
            &base().with_header("Authorization", "Bearer k"),
            "k"
        ));
        assert!(!vapi_request_authorized(
            &base().with_header("X-Vapi-Secret", "nope"),
            "k"
        ));
        assert!(!vapi_request_authorized(&base(), "k"));
        assert!(!vapi_request_authorized(
            &base().with_header("X-Vapi-Secret", ""),
            ""
        ));
    }
}
