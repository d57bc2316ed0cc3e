//! Opaque secrets we hand out once and keep only as digests: refresh tokens, API keys, device
//! tokens, and the random ids of accounts and token families.
//!
//! A token is a kind prefix and 32 random bytes in base64url (`hlr_…` refresh, `hlk_…` API
//! key, `hld_…` device, `hlo_…` onboarding wizard). It is stored under the hex SHA-256 of the whole token: with 256 bits
//! of entropy a plain digest is enough (a slow hash is for low-entropy secrets like passwords),
//! and a leaked store gives nobody a usable token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Where random bytes come from: the platform's CSPRNG in the functions, anything in tests.
/// This crate reads none itself.
pub trait Entropy {
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// `N` random bytes.
pub fn random<const N: usize>(entropy: &mut impl Entropy) -> [u8; N] {
    let mut b = [0u8; N];
    entropy.fill(&mut b);
    b
}

/// What an opaque token is for; its prefix says so to a human who finds one in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Refresh,
    ApiKey,
    Device,
    /// Authorises an onboarding wizard's steps until its owner account exists.
    Onboarding,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Refresh => "hlr_",
            TokenKind::ApiKey => "hlk_",
            TokenKind::Device => "hld_",
            TokenKind::Onboarding => "hlo_",
        }
    }
}

/// A new token of `kind` (shown once to whoever it is for, then only its [`digest`] is kept).
pub fn mint(kind: TokenKind, entropy: &mut impl Entropy) -> String {
    let bytes: [u8; 32] = random(entropy);
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `token` has the shape of a token of `kind` (checked before any store read, so
/// garbage never becomes a key).
pub fn well_formed(kind: TokenKind, token: &str) -> bool {
    token
        .strip_prefix(kind.prefix())
        .is_some_and(|rest| rest.len() == 43 && URL_SAFE_NO_PAD.decode(rest).is_ok())
}

/// The hex SHA-256 of a token or other identifier: what is stored and used in keys.
pub fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A random id with a kind prefix: `u_` + 16 hex digits for a user, `s_` for staff, `f_` for
/// a refresh-token family.
pub fn new_id(prefix: &str, entropy: &mut impl Entropy) -> String {
    let bytes: [u8; 8] = random(entropy);
    format!("{prefix}{}", hex(&bytes))
}

/// Whether `id` is an id [`new_id`] made with `prefix`.
pub fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|h| {
        h.len() == 16
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids() {
        let mut n = 0u8;
        let mut counter = |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(1);
                *x = n;
            }
        };
        let t = mint(TokenKind::Refresh, &mut counter);
        assert!(well_formed(TokenKind::Refresh, &t), "{t}");
        assert!(!well_formed(TokenKind::ApiKey, &t));
        assert!(!well_formed(TokenKind::Refresh, "hlr_short"));
        assert_eq!(digest(&t).len(), 64);
        assert_ne!(t, mint(TokenKind::Refresh, &mut counter));
        let id = new_id("u_", &mut counter);
        assert!(is_id("u_", &id), "{id}");
        assert!(!is_id("s_", &id));
        assert!(!is_id("u_", "u_../../x"));
    }
}
