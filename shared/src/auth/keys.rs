//! Credentials bound to one business that are not a person: API keys (for an owner's own
//! integrations) and device tokens (the kitchen's edge agent), and the one-time pairing codes a
//! device trades for its token.
//!
//! Both are opaque tokens ([`super::tokens`]) shown once and stored only as digests:
//! `api-key/{digest}` and `device/{digest}` map a presented token to its record; the record is
//! also kept under the business (`biz/{b}/api-keys/{id}`, `biz/{b}/devices/{id}`) for listing
//! and revocation. Revoking deletes the digest entry first, so the token stops working at once.
//!
//! A pairing code is 6 digits, valid 10 minutes, used once: `pairing/{code}`. Redeeming it
//! creates the device, then marks the code used with compare-and-swap; of two redemptions at
//! once, the loser's device is removed again. Guesses are throttled per client address.

use super::jwt::Permission;
use super::tokens::{self, Entropy, TokenKind};
use crate::ids::BusinessId;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{read_all, read_json, read_json_versioned, to_json};
use serde::{Deserialize, Serialize};

/// How long a pairing code stays valid.
pub const PAIRING_TTL_SECONDS: i64 = 10 * 60;
/// Wrong pairing codes from one client address within 15 minutes before it is locked out.
pub const PAIRING_FAILURES: u32 = 10;
/// Most live API keys and devices per business.
pub const MAX_PER_BUSINESS: usize = 100;

/// What an API key may be given (never staff or privacy management).
pub const API_KEY_MAY: &[Permission] = &[
    Permission::BusinessRead,
    Permission::BusinessWrite,
    Permission::MenuAvailability,
    Permission::CallsRead,
    Permission::OrdersRead,
    Permission::OrdersWrite,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub business: BusinessId,
    pub name: String,
    pub permissions: Vec<Permission>,
    /// Digest of the token (to find its lookup entry when revoking).
    pub digest: String,
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub business: BusinessId,
    pub name: String,
    pub digest: String,
    pub created_at: jiff::Timestamp,
    /// A Star CloudPRNT printer's MAC address (`00:11:62:0c:e5:c8`): the printer polls our
    /// `/cloudprnt/{token}` itself. `None`: an edge agent, paired with a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudprnt_mac: Option<String>,
}

impl ApiKey {
    pub fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "business_id": self.business, "name": self.name,
            "permissions": self.permissions, "created_at": self.created_at,
        })
    }
}

impl Device {
    pub fn public(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": self.id, "business_id": self.business, "name": self.name,
            "created_at": self.created_at,
            "kind": if self.cloudprnt_mac.is_some() { "cloudprnt" } else { "edge_agent" },
        });
        if let Some(mac) = &self.cloudprnt_mac {
            v["mac"] = serde_json::json!(mac);
        }
        v
    }
}

/// A MAC address as `00:11:62:0c:e5:c8` (12 hex digits; `:`, `-`, `.` or nothing between).
pub fn normalize_mac(raw: &str) -> Option<String> {
    let hex: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(
        hex.as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// Register a Star CloudPRNT printer for `business`: a device whose token goes in the URL
/// typed into the printer. Returns the record and the token (shown once).
pub async fn create_cloudprnt_printer<S: Store>(
    store: &S,
    business: &BusinessId,
    name: &str,
    mac: &str,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(Device, String), KeyError> {
    let name = check_name(name)?;
    let mac = normalize_mac(mac).ok_or_else(|| KeyError::Invalid {
        field: "mac",
        message: "must be a MAC address, 12 hex digits such as 00:11:62:0c:e5:c8".into(),
    })?;
    let existing = list_devices(store, business).await?;
    if existing.len() >= MAX_PER_BUSINESS {
        return Err(KeyError::Invalid {
            field: "name",
            message: format!("a business may have at most {MAX_PER_BUSINESS} devices"),
        });
    }
    if existing
        .iter()
        .any(|d| d.cloudprnt_mac.as_deref() == Some(mac.as_str()))
    {
        return Err(KeyError::Invalid {
            field: "mac",
            message: "a printer with this MAC is already registered (remove it first)".into(),
        });
    }
    Ok(save_new_device(store, business, name, Some(mac), now, entropy).await?)
}

/// A new device of `business` and its token: listed first, then usable (as API keys are), so
/// a failure in between leaves a listed, unusable device the owner can remove.
async fn save_new_device<S: Store>(
    store: &S,
    business: &BusinessId,
    name: String,
    cloudprnt_mac: Option<String>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(Device, String), StoreError> {
    let token = tokens::mint(TokenKind::Device, entropy);
    let device = Device {
        id: tokens::new_id("d_", entropy),
        business: business.clone(),
        name,
        digest: tokens::digest(&token),
        created_at: now,
        cloudprnt_mac,
    };
    let bytes = to_json(&device)?;
    store
        .put(&keys::device_of(business, &device.id), &bytes)
        .await?;
    store.put(&keys::device(&device.digest), &bytes).await?;
    Ok((device, token))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pairing {
    business: BusinessId,
    expires_at: i64,
    used: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the pairing code is not valid (wrong, expired or already used)")]
    BadCode,
    #[error("too many wrong pairing codes; try again later")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_name(name: &str) -> Result<String, KeyError> {
    super::accounts::normalize_name(name, "name").map_err(|_| KeyError::Invalid {
        field: "name",
        message: "must be 1 to 100 characters without control characters".into(),
    })
}

/// A new API key for `business`; returns the record and the token (shown once).
pub async fn create_api_key<S: Store>(
    store: &S,
    business: &BusinessId,
    name: &str,
    permissions: Vec<Permission>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(ApiKey, String), KeyError> {
    let name = check_name(name)?;
    if permissions.is_empty() {
        return Err(KeyError::Invalid {
            field: "permissions",
            message: "must name at least one permission".into(),
        });
    }
    if let Some(p) = permissions.iter().find(|p| !API_KEY_MAY.contains(p)) {
        return Err(KeyError::Invalid {
            field: "permissions",
            message: format!("{} cannot be given to an API key", p.as_str()),
        });
    }
    if store.list(&keys::api_key_of(business, "")).await?.len() >= MAX_PER_BUSINESS {
        return Err(KeyError::Invalid {
            field: "name",
            message: format!("a business may have at most {MAX_PER_BUSINESS} API keys"),
        });
    }
    let token = tokens::mint(TokenKind::ApiKey, entropy);
    let key = ApiKey {
        id: tokens::new_id("k_", entropy),
        business: business.clone(),
        name,
        permissions,
        digest: tokens::digest(&token),
        created_at: now,
    };
    let bytes = to_json(&key)?;
    // Listed first, then made usable: a failure in between leaves a listed, unusable key the
    // owner can delete, never a usable one nobody can see.
    store
        .put(&keys::api_key_of(business, &key.id), &bytes)
        .await?;
    store.put(&keys::api_key(&key.digest), &bytes).await?;
    Ok((key, token))
}

/// The API key a presented token is, if it is a live one.
pub async fn resolve_api_key<S: Store>(
    store: &S,
    token: &str,
) -> Result<Option<ApiKey>, StoreError> {
    if !tokens::well_formed(TokenKind::ApiKey, token) {
        return Ok(None);
    }
    read_json(store, &keys::api_key(&tokens::digest(token))).await
}

pub async fn list_api_keys<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<Vec<ApiKey>, StoreError> {
    read_all(store, &keys::api_key_of(business, "")).await
}

/// Revoke an API key: its lookup entry goes first (the token stops working at once), then
/// the listing. Returns whether there was one.
pub async fn revoke_api_key<S: Store>(
    store: &S,
    business: &BusinessId,
    id: &str,
) -> Result<bool, StoreError> {
    if !tokens::is_id("k_", id) {
        return Ok(false);
    }
    let listed = keys::api_key_of(business, id);
    let Some(key) = read_json::<_, ApiKey>(store, &listed).await? else {
        return Ok(false);
    };
    store.delete(&keys::api_key(&key.digest)).await?;
    store.delete(&listed).await?;
    Ok(true)
}

/// A new 6-digit pairing code for `business`, valid [`PAIRING_TTL_SECONDS`].
pub async fn create_pairing_code<S: Store>(
    store: &S,
    business: &BusinessId,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(String, jiff::Timestamp), KeyError> {
    let expires_at = now.as_second() + PAIRING_TTL_SECONDS;
    let record = Pairing {
        business: business.clone(),
        expires_at,
        used: false,
    };
    let bytes = to_json(&record)?;
    for _ in 0..8 {
        let n = u32::from_le_bytes(tokens::random(entropy)) % 1_000_000;
        let code = format!("{n:06}");
        let key = keys::pairing(&code);
        // A code still live for someone else is not reused; an expired one may be.
        let current = read_json_versioned::<_, Pairing>(store, &key).await?;
        let expected = match &current {
            Some((p, _)) if !p.used && p.expires_at > now.as_second() => continue,
            Some((_, v)) => Some(*v),
            None => None,
        };
        match store.compare_and_swap(&key, expected, &bytes).await {
            Ok(()) => {
                let at = jiff::Timestamp::from_second(expires_at).unwrap_or(now);
                return Ok((code, at));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Trade a pairing code for a device token bound to the code's business. `client` is the
/// caller's address, for the guess throttle.
pub async fn redeem_pairing_code<S: Store>(
    store: &S,
    code: &str,
    name: &str,
    client: Option<&str>,
    now: jiff::Timestamp,
    entropy: &mut impl Entropy,
) -> Result<(Device, String), KeyError> {
    let name = check_name(name)?;
    let scope = client.map(|a| keys::throttle("pair-addr", &tokens::digest(a)));
    if let Some(scope) = &scope
        && let Some(until) = super::accounts::locked_until(store, scope, now).await?
    {
        return Err(KeyError::Throttled {
            retry_after: until - now.as_second(),
        });
    }
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let found = if well_formed {
        read_json_versioned::<_, Pairing>(store, &keys::pairing(code)).await?
    } else {
        None
    };
    let Some((pairing, version)) = found.filter(|(p, _)| !p.used && p.expires_at > now.as_second())
    else {
        if let Some(scope) = &scope {
            super::accounts::record_failure(store, scope, PAIRING_FAILURES, now).await?;
        }
        return Err(KeyError::BadCode);
    };
    let (device, token) =
        save_new_device(store, &pairing.business, name, None, now, entropy).await?;
    let listed = keys::device_of(&device.business, &device.id);
    let used = to_json(&Pairing {
        used: true,
        ..pairing
    })?;
    match store
        .compare_and_swap(&keys::pairing(code), Some(version), &used)
        .await
    {
        Ok(()) => Ok((device, token)),
        Err(e) => {
            let _ = store.delete(&keys::device(&device.digest)).await;
            let _ = store.delete(&listed).await;
            Err(match e {
                StoreError::Conflict => KeyError::BadCode,
                e => e.into(),
            })
        }
    }
}

/// The device a presented token is, if it is a live one.
pub async fn resolve_device<S: Store>(
    store: &S,
    token: &str,
) -> Result<Option<Device>, StoreError> {
    if !tokens::well_formed(TokenKind::Device, token) {
        return Ok(None);
    }
    read_json(store, &keys::device(&tokens::digest(token))).await
}

pub async fn list_devices<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<Vec<Device>, StoreError> {
    read_all(store, &keys::device_of(business, "")).await
}

/// Unpair a device: its token stops working at once. Returns whether there was one.
pub async fn revoke_device<S: Store>(
    store: &S,
    business: &BusinessId,
    id: &str,
) -> Result<bool, StoreError> {
    if !tokens::is_id("d_", id) {
        return Ok(false);
    }
    let listed = keys::device_of(business, id);
    let Some(device) = read_json::<_, Device>(store, &listed).await? else {
        return Ok(false);
    };
    store.delete(&keys::device(&device.digest)).await?;
    store.delete(&listed).await?;
    crate::printing::forget_device(store, business, id).await?;
    Ok(true)
}
