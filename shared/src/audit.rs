//! The audit log: who changed what in a business, and when. One entry per accepted write of the
//! owner API, at `biz/{b}/audit/{rank}` with a rank that sorts newest first, so a page of the
//! log is one prefix list. Entries name the actor by id (`operator`, `u_…`, `s_…`, `k_…`) and
//! never carry secrets, PINs or phone numbers of customers.

use crate::ids::BusinessId;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{newest_first, page_newest_first, read_json, to_json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: jiff::Timestamp,
    /// Who: `operator`, or the id of a user, staff member, API key or device.
    pub actor: String,
    /// What, as `noun.verb`: `restaurant.import`, `business.update`, `staff.add`, …
    pub action: String,
    /// What it was done to, when not the business itself (a staff id, an item id …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Details that say what changed (never a secret).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// The rank of an entry written at `at`: fixed width, newest first; `nonce` tells apart two
/// entries of the same millisecond.
pub fn rank(at: jiff::Timestamp, nonce: u32) -> String {
    format!("{}-{nonce:08x}", newest_first(at))
}

/// Append an entry.
pub async fn record<S: Store>(
    store: &S,
    business: &BusinessId,
    entry: &AuditEntry,
    nonce: u32,
) -> Result<(), StoreError> {
    let bytes = to_json(entry)?;
    store
        .put(&keys::audit(business, &rank(entry.at, nonce)), &bytes)
        .await
}

/// One page of the log, newest first, and the cursor of the next page.
pub async fn list<S: Store>(
    store: &S,
    business: &BusinessId,
    limit: usize,
    after: Option<&str>,
) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
    let prefix = keys::audit(business, "");
    page_newest_first(store, &prefix, limit, after, async |rank| {
        read_json::<_, AuditEntry>(store, &keys::audit(business, rank)).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_sort_newest_first() {
        let a: jiff::Timestamp = "2026-12-01T18:00:00Z".parse().unwrap();
        let b: jiff::Timestamp = "2026-12-01T18:00:00.001Z".parse().unwrap();
        assert!(rank(b, 0) < rank(a, 0));
        assert!(rank(a, 1) > rank(a, 0));
        assert_eq!(rank(a, 0).len(), rank(b, 7).len());
    }
}
