//! Customers' phone numbers, the personal data we keep: a keyed hash (HMAC-SHA256 with
//! `pii_hash_key`) to find a customer's records without storing the number, and, where the
//! number itself must be used later (texting an order confirmation), an AES-256-GCM sealed copy
//! (`pii_encryption_key`). Neither key is ever stored with the data; a store without the keys
//! yields neither numbers nor a way to test guesses against them.
//!
//! The encryption key is the SHA-256 of the variable's value (the runner generates 32 random
//! bytes, hex; a deployment sets its own high-entropy secret). A sealed value is
//! `base64url(nonce || ciphertext || tag)` with a fresh 96-bit nonce per value.

use crate::phone::PhoneE164;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The two keys; either may be unset (empty), which turns its half off.
#[derive(Clone, Default)]
pub struct PiiKeys {
    hash: Vec<u8>,
    seal: Option<Aes256Gcm>,
}

impl std::fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiKeys")
            .field("hash", &!self.hash.is_empty())
            .field("seal", &self.seal.is_some())
            .finish()
    }
}

impl PiiKeys {
    pub fn new(pii_hash_key: &str, pii_encryption_key: &str) -> PiiKeys {
        let seal = (!pii_encryption_key.is_empty()).then(|| {
            let key = Sha256::digest(pii_encryption_key.as_bytes());
            Aes256Gcm::new(&key)
        });
        PiiKeys {
            hash: pii_hash_key.as_bytes().to_vec(),
            seal,
        }
    }

    /// The lookup hash of a number (`None` without a hash key): hex, 32 characters.
    pub fn hash(&self, number: &PhoneE164) -> Option<String> {
        if self.hash.is_empty() {
            return None;
        }
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.hash).ok()?;
        m.update(b"phone:");
        m.update(number.as_str().as_bytes());
        let d = m.finalize().into_bytes();
        Some(crate::auth::tokens::hex(&d[..16]))
    }

    /// The number, sealed with a fresh `nonce` (12 random bytes from the caller's platform).
    pub fn seal(&self, number: &PhoneE164, nonce: [u8; 12]) -> Option<String> {
        let cipher = self.seal.as_ref()?;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), number.as_str().as_bytes())
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// The number a sealed value holds (`None`: wrong key, tampered, or no key).
    pub fn open(&self, sealed: &str) -> Option<PhoneE164> {
        let cipher = self.seal.as_ref()?;
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        PhoneE164::parse_e164(std::str::from_utf8(&plain).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_seal_open() {
        let n = PhoneE164::parse_e164("+14155550123").unwrap();
        let k = PiiKeys::new("hash-key", "seal-key");
        let h = k.hash(&n).unwrap();
        assert_eq!(h.len(), 32);
        assert_eq!(Some(h.clone()), k.hash(&n), "stable");
        assert_ne!(Some(h), PiiKeys::new("other", "seal-key").hash(&n), "keyed");
        let a = k.seal(&n, [1; 12]).unwrap();
        let b = k.seal(&n, [2; 12]).unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("4155550123"));
        assert_eq!(k.open(&a), Some(n.clone()));
        assert_eq!(
            PiiKeys::new("hash-key", "other").open(&a),
            None,
            "wrong key"
        );
        let mut tampered = a.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(k.open(std::str::from_utf8(&tampered).unwrap()), None);
        let none = PiiKeys::new("", "");
        assert_eq!((none.hash(&n), none.seal(&n, [0; 12])), (None, None));
    }
}
