//! Compact signed claims: `<version>.<base64url(json)>.<base64url(hmac-sha256)>`, the one
//! format behind every token we hand out (the relay's stream token, the per-business tool
//! credential). The version is part of the signed input, so a token of one kind never verifies
//! as another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("no signing key is configured")]
    NoKey,
}

fn mac(version: &str, key: &[u8], payload: &str) -> Result<Hmac<Sha256>, SignedError> {
    if key.is_empty() {
        return Err(SignedError::NoKey);
    }
    let mut m = Hmac::<Sha256>::new_from_slice(key).map_err(|_| SignedError::NoKey)?;
    m.update(version.as_bytes());
    m.update(b".");
    m.update(payload.as_bytes());
    Ok(m)
}

/// Sign `claims` as a token of kind `version` (a short tag without dots, e.g. `"t1"`).
pub fn sign<T: Serialize>(version: &str, key: &[u8], claims: &T) -> Result<String, SignedError> {
    let json = serde_json::to_vec(claims).map_err(|_| SignedError::Malformed)?;
    let payload = URL_SAFE_NO_PAD.encode(json);
    let sig = URL_SAFE_NO_PAD.encode(mac(version, key, &payload)?.finalize().into_bytes());
    Ok(format!("{version}.{payload}.{sig}"))
}

/// Check a token's kind and signature and return its claims. The signature is checked (in
/// constant time) before the payload is parsed, so nothing unsigned is ever interpreted.
pub fn verify<T: DeserializeOwned>(
    version: &str,
    key: &[u8],
    token: &str,
) -> Result<T, SignedError> {
    let mut parts = token.split('.');
    let (Some(v), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignedError::Malformed);
    };
    if v != version {
        return Err(SignedError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| SignedError::Malformed)?;
    let expected = mac(version, key, payload)?.finalize().into_bytes();
    if !bool::from(expected.as_slice().ct_eq(&sig)) {
        return Err(SignedError::BadSignature);
    }
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| SignedError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| SignedError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let t = sign("x1", b"key", &("a", 1)).unwrap();
        assert_eq!(
            verify::<(String, i32)>("x1", b"key", &t).unwrap(),
            ("a".into(), 1)
        );
        assert_eq!(
            verify::<(String, i32)>("x1", b"other", &t),
            Err(SignedError::BadSignature)
        );
        assert_eq!(
            verify::<(String, i32)>("x2", b"key", &t),
            Err(SignedError::Malformed),
            "another kind's token"
        );
        let (head, sig) = t.rsplit_once('.').unwrap();
        let forged = format!("{}A.{sig}", head);
        assert_eq!(
            verify::<(String, i32)>("x1", b"key", &forged),
            Err(SignedError::BadSignature)
        );
        assert_eq!(sign("x1", b"", &1), Err(SignedError::NoKey));
        assert_eq!(verify::<i32>("x1", b"", &t), Err(SignedError::NoKey));
        assert_eq!(
            verify::<i32>("x1", b"key", "x1.a"),
            Err(SignedError::Malformed)
        );
    }
}
