//! Who a request belongs to, and what a business has published. A webhook's tenant comes only
//! from the called line in a verified message (or Vapi's id for that line, mapped by an
//! operator or learned from an earlier verified message), never from a body field a caller chose.
//!
//! Records (see [`crate::store::keys`]):
//! - `line/{e164}` → business id (the global, unique line index);
//! - `biz/{id}/business` → [`BusinessRecord`] (status, lines owned);
//! - `biz/{id}/restaurant/r{rev}-{digest}` → the [`Restaurant`] document (export, assistant
//!   prompt), and `biz/{id}/knowledge/r{rev}-{digest}` → [`Published`]: the restaurant plus its
//!   knowledge index, everything a tool call needs in one read. The record points at the
//!   committed revision of both (see [`crate::publish`]).

use crate::ids::BusinessId;
use crate::knowledge::KnowledgeIndex;
use crate::phone::PhoneE164;
use crate::publish::{LineClaim, PublishedKeys};
use crate::restaurant::Restaurant;
use crate::store::{Store, StoreError, keys};
use serde::{Deserialize, Serialize};

/// Bookkeeping for one business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessRecord {
    pub id: BusinessId,
    /// Inactive businesses keep their data but their lines answer with a polite refusal.
    pub active: bool,
    /// The lines this business owns in the global line index.
    pub lines: Vec<PhoneE164>,
    /// Incremented on every import of the restaurant document.
    pub revision: u64,
    /// The staff line callers are transferred to (DTMF 0 or on request); `None` = no transfers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_to: Option<PhoneE164>,
    /// Prepaid voice seconds left; `None` = not metered. At zero or below, the Twilio line
    /// stops connecting calls to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_seconds: Option<i64>,
    /// Where the committed revision's content is (see [`crate::publish`]); `None` on records
    /// written before content was revisioned, whose content is at the unrevisioned keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<PublishedKeys>,
    /// The content of the revision before, kept so a reader that read the previous record a
    /// moment ago still finds it; deleted by the import after next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<PublishedKeys>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// What a tool call reads: the restaurant and the index built from it, saved together so they
/// can never disagree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub business_id: BusinessId,
    pub revision: u64,
    pub restaurant: Restaurant,
    pub index: KnowledgeIndex,
}

/// The most prepaid time a business can hold: ten years of talk, far more than anyone buys,
/// and far from where seconds arithmetic could overflow.
pub const MAX_BALANCE_SECONDS: i64 = 10 * 366 * 24 * 60 * 60;

impl BusinessRecord {
    /// Whether a metered business has run out of prepaid time.
    pub fn out_of_balance(&self) -> bool {
        self.balance_seconds.is_some_and(|b| b <= 0)
    }

    /// Take `seconds` of talk off a metered business's balance. Saturates: a balance that was
    /// stored out of range (by an older version) cannot wrap around.
    pub fn charge(&mut self, seconds: u32) {
        if let Some(left) = self.balance_seconds {
            self.balance_seconds = Some(left.saturating_sub(i64::from(seconds)));
        }
    }
}

impl Published {
    pub fn build(business_id: BusinessId, revision: u64, restaurant: Restaurant) -> Published {
        let index = KnowledgeIndex::build(&restaurant);
        Published {
            business_id,
            revision,
            restaurant,
            index,
        }
    }
}

/// The outcome of routing a call by the number dialled.
#[derive(Debug, Clone, PartialEq)]
pub enum LineRoute {
    /// The line belongs to an active business.
    Active {
        business: BusinessRecord,
        line: PhoneE164,
    },
    /// The line belongs to a business that is not taking calls.
    Inactive {
        business: BusinessRecord,
        line: PhoneE164,
    },
    /// No business owns this line (or the message named no line we can resolve).
    Unknown,
}

/// Read a JSON record; a record that no longer parses is a backend fault, not a missing key.
pub async fn read_json<S: Store, T: serde::de::DeserializeOwned>(
    store: &S,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v.value)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("record {key}: {e}"))),
    }
}

/// Read-modify-write a JSON record with compare-and-swap, retrying when another writer wins.
/// `change` gets the current value (`None` when absent) and returns the value to write, or
/// `None` to leave the record as it is. Returns what was written (`None` if nothing was).
pub async fn update_json<S, T, F>(
    store: &S,
    key: &str,
    mut change: F,
) -> Result<Option<T>, StoreError>
where
    S: Store,
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnMut(Option<T>) -> Option<T>,
{
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let current = store.get(key).await?;
        let value: Option<T> = match &current {
            Some(v) => Some(
                serde_json::from_slice(&v.value)
                    .map_err(|e| StoreError::Corrupt(format!("record {key}: {e}")))?,
            ),
            None => None,
        };
        let Some(next) = change(value) else {
            return Ok(None);
        };
        let bytes = serde_json::to_vec(&next).map_err(|e| StoreError::Backend(e.to_string()))?;
        match store
            .compare_and_swap(key, current.as_ref().map(|v| v.version), &bytes)
            .await
        {
            Ok(()) => return Ok(Some(next)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

/// Resolve the line from a verified message's called number, or failing that from Vapi's
/// phone-number id through the `vapi-number/` mapping.
pub async fn resolve_line<S: Store>(
    store: &S,
    called_number: Option<&PhoneE164>,
    phone_number_id: Option<&str>,
) -> Result<LineRoute, StoreError> {
    let line = match called_number {
        Some(n) => n.clone(),
        None => {
            let Some(id) = phone_number_id else {
                return Ok(LineRoute::Unknown);
            };
            match store.get(&keys::vapi_number(id)).await? {
                Some(v) => match std::str::from_utf8(&v.value)
                    .ok()
                    .and_then(|s| PhoneE164::parse_e164(s).ok())
                {
                    Some(n) => n,
                    None => return Ok(LineRoute::Unknown),
                },
                None => return Ok(LineRoute::Unknown),
            }
        }
    };
    let Some(owner) = store.get(&keys::line(&line)).await? else {
        return Ok(LineRoute::Unknown);
    };
    let Some(business_id) = LineClaim::parse(&owner.value).map(|c| c.business_id) else {
        return Ok(LineRoute::Unknown);
    };
    let Some(business) =
        read_json::<_, BusinessRecord>(store, &keys::business(&business_id)).await?
    else {
        return Ok(LineRoute::Unknown);
    };
    // The index entry is claimed before the business record is committed on import; a line the
    // record does not list is being claimed, or was left by an interrupted import or released,
    // and must not route calls.
    if !business.lines.contains(&line) {
        return Ok(LineRoute::Unknown);
    }
    Ok(if business.active {
        LineRoute::Active { business, line }
    } else {
        LineRoute::Inactive { business, line }
    })
}

/// Whether `id` can be a Vapi phone-number id: 1-100 letters, digits, `-` or `_` (Vapi's are
/// UUIDs). Anything else is refused before it becomes part of a key.
pub fn valid_vapi_number_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Remember which E.164 line a Vapi phone-number id stands for, from a verified message that
/// carries both. Only writes when the mapping is new or changed.
pub async fn learn_vapi_number<S: Store>(
    store: &S,
    phone_number_id: &str,
    line: &PhoneE164,
) -> Result<(), StoreError> {
    let key = keys::vapi_number(phone_number_id);
    match store.get(&key).await? {
        Some(v) if v.value == line.as_str().as_bytes() => Ok(()),
        _ => store.put(&key, line.as_str().as_bytes()).await,
    }
}
