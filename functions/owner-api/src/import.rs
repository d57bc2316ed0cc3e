//! Importing a restaurant document for one business.
//!
//! There are no multi-key transactions on our stores, so the steps are ordered to keep every
//! intermediate state harmless:
//! 1. Claim each line in the global index `line/{e164}` with compare-and-swap. A line is taken
//!    only if its index entry is absent, already ours, or *stale* — pointing at a business whose
//!    record does not list it (left by an import that failed half-way, or released by a later
//!    import). A line another business's record lists is never touched: 409 naming the line.
//! 2. Write the business record with compare-and-swap against the version read at the start,
//!    so two imports of the same business at once cannot both win (the loser gets "retry").
//! 3. Write the restaurant document and the published bundle (document + knowledge index).
//!
//! Routing trusts a line only when the owner's record lists it (see
//! `hostline_shared::tenancy::resolve_line`), so claims left by a failed import route nothing
//! and block nobody, and lines dropped from a document stop routing the moment the record is
//! written. Their stale index entries are left in place rather than deleted: a delete could race
//! with another business taking the line over.

use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{Store, StoreError, Version, keys};
use hostline_shared::tenancy::{BusinessRecord, Published, read_json};

pub struct Outcome {
    /// The business did not exist before this import.
    pub created: bool,
    pub record: BusinessRecord,
    /// Lines the business owned before and no longer lists.
    pub released: Vec<PhoneE164>,
    pub items: usize,
}

#[derive(Debug)]
pub enum ImportError {
    /// `business.phone_lines[index]` belongs to another business.
    LineTaken {
        line: PhoneE164,
        index: usize,
    },
    /// A concurrent change won the race; nothing of the document was written.
    Busy,
    Store(StoreError),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Store(e)
    }
}

/// How often a compare-and-swap that lost a race is retried before giving up.
const CAS_ATTEMPTS: usize = 5;

pub async fn import_restaurant<S: Store>(
    store: &S,
    id: &BusinessId,
    doc: Restaurant,
    now: jiff::Timestamp,
) -> Result<Outcome, ImportError> {
    let record_key = keys::business(id);
    let existing = store.get(&record_key).await?;
    let previous: Option<BusinessRecord> =
        match &existing {
            Some(v) => Some(serde_json::from_slice(&v.value).map_err(|e| {
                StoreError::Backend(format!("business record {id} is corrupt: {e}"))
            })?),
            None => None,
        };

    let lines: Vec<PhoneE164> = doc
        .business
        .phone_lines
        .iter()
        .map(|l| l.e164.clone())
        .collect();
    for (index, line) in lines.iter().enumerate() {
        claim_line(store, id, line, index).await?;
    }

    let record = BusinessRecord {
        id: id.clone(),
        active: previous.as_ref().is_none_or(|p| p.active),
        lines: lines.clone(),
        revision: previous.as_ref().map_or(1, |p| p.revision + 1),
        transfer_to: previous.as_ref().and_then(|p| p.transfer_to.clone()),
        balance_seconds: previous.as_ref().and_then(|p| p.balance_seconds),
        created_at: previous.as_ref().map_or(now, |p| p.created_at),
        updated_at: now,
    };
    let bytes = to_json(&record)?;
    match store
        .compare_and_swap(&record_key, existing.as_ref().map(|v| v.version), &bytes)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ImportError::Busy),
        Err(e) => return Err(e.into()),
    }

    let items = doc.items().count();
    store.put(&keys::restaurant(id), &to_json(&doc)?).await?;
    let published = Published::build(id.clone(), record.revision, doc);
    store
        .put(&keys::knowledge(id), &to_json(&published)?)
        .await?;

    let released = previous
        .map(|p| p.lines.into_iter().filter(|l| !lines.contains(l)).collect())
        .unwrap_or_default();
    Ok(Outcome {
        created: existing.is_none(),
        record,
        released,
        items,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, ImportError> {
    serde_json::to_vec(v).map_err(|e| ImportError::Store(StoreError::Backend(e.to_string())))
}

async fn claim_line<S: Store>(
    store: &S,
    id: &BusinessId,
    line: &PhoneE164,
    index: usize,
) -> Result<(), ImportError> {
    let key = keys::line(line);
    for _ in 0..CAS_ATTEMPTS {
        let current = store.get(&key).await?;
        let expected: Option<Version> = match &current {
            None => None,
            Some(v) if v.value == id.as_str().as_bytes() => return Ok(()),
            Some(v) => {
                if owner_still_lists(store, &v.value, line).await? {
                    return Err(ImportError::LineTaken {
                        line: line.clone(),
                        index,
                    });
                }
                Some(v.version)
            }
        };
        match store
            .compare_and_swap(&key, expected, id.as_str().as_bytes())
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ImportError::Busy)
}

/// Whether the business named by a line-index entry still lists the line in its record.
async fn owner_still_lists<S: Store>(
    store: &S,
    owner: &[u8],
    line: &PhoneE164,
) -> Result<bool, StoreError> {
    let Some(owner) = std::str::from_utf8(owner)
        .ok()
        .and_then(|s| BusinessId::parse(s).ok())
    else {
        return Ok(false);
    };
    Ok(
        read_json::<_, BusinessRecord>(store, &keys::business(&owner))
            .await?
            .is_some_and(|r| r.lines.contains(line)),
    )
}
