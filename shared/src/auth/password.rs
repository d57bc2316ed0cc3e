//! Password and PIN hashing: Argon2id (the RustCrypto `argon2` crate) with OWASP's recommended
//! parameters — 19 MiB of memory, 2 passes, 1 lane — stored as PHC strings, so the parameters
//! travel with each hash and can be raised later without invalidating old ones.
//!
//! The salt is passed in (16 random bytes from the caller's platform): this crate reads no
//! randomness, as it reads no clock.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Bytes of salt a hash takes.
pub const SALT_LEN: usize = 16;

/// Shortest and longest password accepted at sign-up or change.
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 256;

/// A staff PIN: 4 to 8 digits (short on purpose: per-account lockout is what protects it).
pub const MIN_PIN_DIGITS: usize = 4;
pub const MAX_PIN_DIGITS: usize = 8;

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Why a password or PIN is not acceptable (said to the person choosing it).
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Some(format!("must be at most {MAX_PASSWORD_BYTES} bytes"));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Some("is too easy to guess (use more different characters)".into());
    }
    None
}

/// Why a PIN is not acceptable.
pub fn pin_problem(pin: &str) -> Option<String> {
    if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len())
        || !pin.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(format!(
            "must be {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits"
        ));
    }
    if pin.bytes().all(|b| b == pin.as_bytes()[0]) {
        return Some("must not be one digit repeated".into());
    }
    None
}

/// The PHC string of `secret` with `salt`.
pub fn hash(secret: &str, salt: &[u8; SALT_LEN]) -> String {
    hasher()
        .hash_password_with_salt(secret.as_bytes(), salt)
        // Only fails for a salt or output length out of range, which the types rule out.
        .expect("argon2 parameters are valid")
        .to_string()
}

/// Whether `secret` matches a stored PHC string (a malformed stored hash never matches).
pub fn verify(secret: &str, stored: &str) -> bool {
    if secret.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    hasher().verify_password(secret.as_bytes(), stored).is_ok()
}

/// Spends the time of one verification when there is no account to verify against, so a
/// login for an unknown email takes as long as a wrong password.
pub fn verify_nothing(secret: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not a password of anyone", &[7; SALT_LEN]));
    let _ = verify(secret, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse battery", &[1; SALT_LEN]);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(h, hash("correct horse battery", &[2; SALT_LEN]), "salted");
    }

    #[test]
    fn password_and_pin_rules() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("aaaaaaaaaaaa").is_some());
        assert!(password_problem("a reasonable passphrase").is_none());
        assert!(password_problem(&"ab3d".repeat(100)).is_some());
        assert!(pin_problem("123").is_some());
        assert!(pin_problem("12a4").is_some());
        assert!(pin_problem("1111").is_some());
        assert!(pin_problem("123456789").is_some());
        assert!(pin_problem("4821").is_none());
    }
}
