//! Identifiers. A [`BusinessId`] that exists is a valid tenant key: lower-case ASCII letters,
//! digits and single dashes, 3 to 64 characters, starting with a letter or digit. It is the first
//! segment of every storage key, so it must never contain the key separator `/`.
//!
//! Menu ids (items, modifier groups, options) are slugs checked by [`is_slug`]: the same
//! alphabet, 1 to 64 characters, because they appear in tool calls, storage keys and URLs.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The tenant: every stored key starts with it, every request is scoped to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BusinessId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "business id must be 3-64 characters of a-z, 0-9 and single dashes, starting and ending with a letter or digit (got {0:?})"
)]
pub struct BadBusinessId(pub String);

impl BusinessId {
    pub fn parse(s: &str) -> Result<Self, BadBusinessId> {
        let ok = (3..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(BadBusinessId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BusinessId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BusinessId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Longest menu id: long enough for "sausage-and-giardiniera-deep-dish", short enough to keep
/// keys and tool-call arguments small.
pub const MAX_SLUG_LEN: usize = 64;

/// A menu id: 1 to [`MAX_SLUG_LEN`] characters of a-z, 0-9 and single dashes, not starting or
/// ending with a dash ("taro-milk-tea", "size-10").
pub fn is_slug(s: &str) -> bool {
    (1..=MAX_SLUG_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["a", "taro-milk-tea", "size-10", "t-extra-cheese", "7up"] {
            assert!(is_slug(ok), "{ok:?}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "Taro",
            "taro tea",
            "taro_tea",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!is_slug(bad), "{bad:?}");
        }
    }

    #[test]
    fn accepts_slugs() {
        for ok in ["boba-rista", "luigis", "a1b", "x-2-y"] {
            assert_eq!(BusinessId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "ab",
            "Boba",
            "-ab",
            "ab-",
            "a--b",
            "a/b",
            "a b",
            "ü12",
            &"a".repeat(65),
        ] {
            assert!(
                BusinessId::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
