//! Access tokens: HS256 JWTs (the `jsonwebtoken` crate) signed with the `jwt_key` variable.
//!
//! Claim-first: an access token says who the caller is (`sub`), in which role, for which
//! businesses and with which permissions, so an ordinary request is authorised from the token
//! alone, with no store read. Sensitive requests (password or role changes, deletions, PII
//! export) also compare `tv` with the account's stored token version: bumping it revokes every
//! token issued before. Access tokens are short-lived ([`ACCESS_TTL_SECONDS`]); refresh tokens
//! ([`super::tokens`]) are what a client keeps.

use crate::ids::BusinessId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long an access token is valid.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;

/// The `iss` every token we sign carries and every token we accept must carry.
const ISSUER: &str = "hostline";

/// A person's role. Admins are operator staff with an account; owners own businesses; staff
/// work at one business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Owner,
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Owner => "owner",
            Role::Staff => "staff",
        }
    }
}

/// What a token may do in the businesses it names.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Permission {
    /// Read the business: profile, settings, lines, menu, hours, zones, FAQ.
    #[serde(rename = "business:read")]
    BusinessRead,
    /// Change the business: profile, settings, lines, menu import, hours, zones, FAQ.
    #[serde(rename = "business:write")]
    BusinessWrite,
    /// Mark items available or sold out ("86") without re-importing the menu.
    #[serde(rename = "menu:availability")]
    MenuAvailability,
    /// See calls, transcripts and usage.
    #[serde(rename = "calls:read")]
    CallsRead,
    /// See orders.
    #[serde(rename = "orders:read")]
    OrdersRead,
    /// Move orders through their lifecycle.
    #[serde(rename = "orders:write")]
    OrdersWrite,
    /// Add and remove staff, API keys and devices.
    #[serde(rename = "staff:manage")]
    StaffManage,
    /// Export or delete one customer's data.
    #[serde(rename = "customers:privacy")]
    CustomersPrivacy,
}

impl Permission {
    /// Everything an owner may do in a business they own.
    pub const OWNER: &'static [Permission] = &[
        Permission::BusinessRead,
        Permission::BusinessWrite,
        Permission::MenuAvailability,
        Permission::CallsRead,
        Permission::OrdersRead,
        Permission::OrdersWrite,
        Permission::StaffManage,
        Permission::CustomersPrivacy,
    ];

    /// What a staff member may do unless the owner gives them less.
    pub const STAFF: &'static [Permission] = &[
        Permission::MenuAvailability,
        Permission::OrdersRead,
        Permission::OrdersWrite,
    ];

    /// What an owner may give a staff member.
    pub const STAFF_MAY: &'static [Permission] = &[
        Permission::BusinessRead,
        Permission::MenuAvailability,
        Permission::CallsRead,
        Permission::OrdersRead,
        Permission::OrdersWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::BusinessRead => "business:read",
            Permission::BusinessWrite => "business:write",
            Permission::MenuAvailability => "menu:availability",
            Permission::CallsRead => "calls:read",
            Permission::OrdersRead => "orders:read",
            Permission::OrdersWrite => "orders:write",
            Permission::StaffManage => "staff:manage",
            Permission::CustomersPrivacy => "customers:privacy",
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account: a user id (`u_…`) or a staff id (`s_…`).
    pub sub: String,
    pub role: Role,
    /// The businesses this token acts for (every business of an owner; the one of a staff
    /// member). Admins act for any business and list none.
    pub businesses: Vec<BusinessId>,
    pub permissions: Vec<Permission>,
    /// The account's token version when the token was issued.
    pub tv: u32,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

impl Claims {
    /// Claims for `sub` valid from `now` for [`ACCESS_TTL_SECONDS`].
    pub fn new(
        sub: impl Into<String>,
        role: Role,
        businesses: Vec<BusinessId>,
        permissions: Vec<Permission>,
        tv: u32,
        now: i64,
    ) -> Claims {
        Claims {
            sub: sub.into(),
            role,
            businesses,
            permissions,
            tv,
            iat: now,
            exp: now + ACCESS_TTL_SECONDS,
            iss: ISSUER.to_owned(),
        }
    }

    /// Whether this token may do `permission` in `business`.
    pub fn allows(&self, business: &BusinessId, permission: Permission) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Owner | Role::Staff => {
                self.businesses.contains(business) && self.permissions.contains(&permission)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("no jwt_key is configured")]
    NoKey,
    #[error("the access token is malformed or its signature does not verify")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
}

/// Sign `claims` with `key`.
pub fn issue(claims: &Claims, key: &[u8]) -> Result<String, JwtError> {
    if key.is_empty() {
        return Err(JwtError::NoKey);
    }
    let key = EncodingKey::from_secret(key).map_err(|_| JwtError::NoKey)?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
        .map_err(|_| JwtError::Invalid)
}

/// Verify a token's signature, algorithm and issuer, then its expiry against `now` (Unix
/// seconds; the clock is passed in, as everywhere in this crate).
pub fn verify(token: &str, key: &[u8], now: i64) -> Result<Claims, JwtError> {
    if key.is_empty() {
        return Err(JwtError::NoKey);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    // Expiry is checked below against the time we were given, not the library's clock.
    validation.validate_exp = false;
    let key = DecodingKey::from_secret(key).map_err(|_| JwtError::NoKey)?;
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| JwtError::Invalid)?;
    let claims = data.claims;
    if now >= claims.exp {
        return Err(JwtError::Expired);
    }
    if claims.iat > now + 60 {
        // Issued in the future (beyond clock skew): not one of ours.
        return Err(JwtError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn biz(s: &str) -> BusinessId {
        BusinessId::parse(s).unwrap()
    }

    #[test]
    fn round_trip_expiry_and_tamper() {
        let c = Claims::new(
            "u_1",
            Role::Owner,
            vec![biz("boba")],
            Permission::OWNER.to_vec(),
            3,
            1_000,
        );
        let t = issue(&c, b"key").unwrap();
        assert_eq!(verify(&t, b"key", 1_001).unwrap(), c);
        assert_eq!(
            verify(&t, b"key", 1_000 + ACCESS_TTL_SECONDS),
            Err(JwtError::Expired)
        );
        assert_eq!(verify(&t, b"other", 1_001), Err(JwtError::Invalid));
        assert_eq!(verify(&t, b"", 1_001), Err(JwtError::NoKey));
        assert_eq!(verify("a.b.c", b"key", 1_001), Err(JwtError::Invalid));
        // A changed payload with the old signature.
        let parts: Vec<&str> = t.split('.').collect();
        let forged_claims = Claims {
            businesses: vec![biz("thai")],
            ..c.clone()
        };
        let forged = issue(&forged_claims, b"key").unwrap();
        let forged_payload = forged.split('.').nth(1).unwrap();
        let spliced = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(&spliced, b"key", 1_001), Err(JwtError::Invalid));
    }

    #[test]
    fn the_none_algorithm_and_other_issuers_are_refused() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let c = Claims::new("u_1", Role::Admin, vec![], vec![], 0, 1_000);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        assert_eq!(
            verify(&format!("{header}.{payload}."), b"key", 1_001),
            Err(JwtError::Invalid)
        );
        let other = Claims {
            iss: "someone-else".into(),
            ..c
        };
        let t = issue(&other, b"key").unwrap();
        assert_eq!(verify(&t, b"key", 1_001), Err(JwtError::Invalid));
    }

    #[test]
    fn permissions_are_per_business() {
        let c = Claims::new(
            "s_1",
            Role::Staff,
            vec![biz("boba")],
            Permission::STAFF.to_vec(),
            0,
            0,
        );
        assert!(c.allows(&biz("boba"), Permission::OrdersWrite));
        assert!(!c.allows(&biz("boba"), Permission::BusinessWrite));
        assert!(!c.allows(&biz("thai"), Permission::OrdersWrite));
        let admin = Claims::new("u_a", Role::Admin, vec![], vec![], 0, 0);
        assert!(admin.allows(&biz("thai"), Permission::BusinessWrite));
    }
}
