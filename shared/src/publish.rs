//! Publishing a restaurant: the one pattern for a change that spans several keys.
//!
//! Our stores have no multi-key transactions, so every multi-key change has one commit point:
//! 1. **Stage**: write the new content under keys that name its revision and digest
//!    ([`content_key`]); nobody reads them yet, so a crash here changes nothing anyone sees.
//! 2. **Commit**: one compare-and-swap of a single record (here the [`BusinessRecord`]) that
//!    points at the staged keys. It either happens or it doesn't.
//! 3. **Tidy** (best effort): drop what the commit made unreachable.
//!
//! Readers follow only committed pointers ([`load_restaurant`], [`load_published`]), so a crash,
//! a timeout or a dropped request at any step leaves the old state or the new one, never a mix;
//! and two concurrent imports of one business cannot both commit (the loser's compare-and-swap
//! fails and it reports [`ImportError::Busy`]).
//!
//! Lines are claimed in the global index `line/{e164}` before the commit. A claim being made is
//! *pending*: it names its owner and a deadline ([`PENDING_CLAIM_SECONDS`]), and other imports
//! honour it until then, so two imports racing for a new line cannot both take it. A claim is
//! trusted for routing only when the owner's committed record lists the line (see
//! [`crate::tenancy::resolve_line`]), so a pending claim routes nothing, and a claim left behind
//! by a failed import blocks others only until its deadline.

use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use crate::restaurant::Restaurant;
use crate::store::{Store, StoreError, Version, keys};
use crate::tenancy::{
    BundleError, BusinessRecord, Published, read_json, read_json_versioned, to_json,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a pending line claim holds off other imports. Far longer than any request may run
/// (an import is a handful of writes), so an import that is still going never loses a line it
/// claimed; short enough that a line claimed by a crashed import is free again soon.
pub const PENDING_CLAIM_SECONDS: i64 = 300;

/// Where the revision `revision` of content `bytes` is staged: `{prefix}/r{revision}-{digest}`.
/// The digest makes two different contents never share a key, even when two writers stage the
/// same revision number at once.
pub fn content_key(prefix: &str, revision: u64, bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex = crate::auth::tokens::hex(&d[..8]);
    format!("{prefix}/r{revision}-{hex}")
}

/// The committed content of a business: the keys its record points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKeys {
    /// The restaurant document as imported (export, assistant prompt, agent config).
    pub restaurant: String,
    /// The bundle a tool call reads ([`Published`]).
    pub knowledge: String,
}

impl PublishedKeys {
    fn all(&self) -> [&str; 2] {
        [&self.restaurant, &self.knowledge]
    }
}

/// A line-index entry: the business that claimed the line and, while the claim is being made,
/// until when it holds. Committed claims are stored as the bare business id (the format every
/// line index entry had before claims could be pending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineClaim {
    #[serde(rename = "b")]
    pub business_id: BusinessId,
    /// Unix seconds; `None` = committed.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pending_until: Option<i64>,
}

impl LineClaim {
    /// Parse a stored entry: a bare business id (committed) or a JSON claim.
    pub fn parse(value: &[u8]) -> Option<LineClaim> {
        let text = std::str::from_utf8(value).ok()?;
        if text.starts_with('{') {
            return serde_json::from_str(text).ok();
        }
        BusinessId::parse(text).ok().map(|business_id| LineClaim {
            business_id,
            pending_until: None,
        })
    }

    fn to_bytes(&self) -> Vec<u8> {
        match self.pending_until {
            None => self.business_id.as_str().as_bytes().to_vec(),
            Some(_) => serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    fn pending_at(&self, now_unix: i64) -> bool {
        self.pending_until.is_some_and(|t| now_unix < t)
    }
}

/// What an import did.
#[derive(Debug)]
pub struct Outcome {
    /// The business did not exist before this import.
    pub created: bool,
    pub record: BusinessRecord,
    /// Lines the business owned before and no longer lists.
    pub released: Vec<PhoneE164>,
    pub items: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// `business.phone_lines[index]` belongs to another business (or another import is
    /// claiming it right now).
    #[error("phone line {line} already belongs to another business")]
    LineTaken { line: PhoneE164, index: usize },
    /// A concurrent change won the race; nothing of the document became visible.
    #[error("another change to this business happened at the same time")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How often a compare-and-swap that lost a race on a line claim is retried.
const CAS_ATTEMPTS: usize = 5;

/// Import `doc` as the restaurant of business `id`: claim its lines, stage the document and its
/// knowledge bundle, commit the business record, tidy up. See the module doc.
pub async fn import_restaurant<S: Store>(
    store: &S,
    id: &BusinessId,
    doc: Restaurant,
    now: jiff::Timestamp,
) -> Result<Outcome, ImportError> {
    import_at(store, id, doc, now, None).await
}

/// [`import_restaurant`], committed only if the business is still at `revision` (else
/// [`ImportError::Busy`]): for changes derived from the stored document, so a concurrent
/// import is never overwritten with an edited copy of the document before it.
pub async fn import_at<S: Store>(
    store: &S,
    id: &BusinessId,
    doc: Restaurant,
    now: jiff::Timestamp,
    revision: Option<u64>,
) -> Result<Outcome, ImportError> {
    let now_unix = now.as_second();
    let record_key = keys::business(id);
    let existing = read_json_versioned::<_, BusinessRecord>(store, &record_key).await?;
    if let Some(expected) = revision
        && existing.as_ref().map(|(r, _)| r.revision) != Some(expected)
    {
        return Err(ImportError::Busy);
    }
    let (previous, base_version) = match existing {
        Some((record, version)) => (Some(record), Some(version)),
        None => (None, None),
    };

    let lines: Vec<PhoneE164> = doc
        .business
        .phone_lines
        .iter()
        .map(|l| l.e164.clone())
        .collect();
    let items = doc.items().count();
    let mut pending = Vec::new();
    let committed = claim_stage_commit(
        store,
        id,
        doc,
        &lines,
        (base_version, previous.as_ref()),
        now,
        &mut pending,
    )
    .await;
    let record = match committed {
        Ok(r) => r,
        Err(e) => {
            // Nothing was committed: give back the lines this import claimed, so a refused
            // import blocks nobody (best effort; an unreturned claim lapses at its deadline).
            for line in pending {
                let _ = release_claim(store, id, line, now_unix).await;
            }
            return Err(e);
        }
    };

    // Tidy, best effort: the change is committed, so a failure here changes nothing anyone
    // reads. A claim left pending is listed by our committed record, which routes it and
    // guards it exactly like a settled one; content left undeleted is unreachable.
    for line in pending {
        let _ = settle_claim(store, id, line).await;
    }
    if let Some(old) = previous.as_ref().and_then(|p| p.retired.as_ref()) {
        let current = record.published.as_ref().map(PublishedKeys::all);
        let current_retired = record.retired.as_ref().map(PublishedKeys::all);
        for key in old.all() {
            let still_used = current.is_some_and(|c| c.contains(&key))
                || current_retired.is_some_and(|c| c.contains(&key));
            if !still_used {
                let _ = store.delete(key).await;
            }
        }
    }

    let released = previous
        .map(|p| p.lines.into_iter().filter(|l| !lines.contains(l)).collect())
        .unwrap_or_default();
    Ok(Outcome {
        created: base_version.is_none(),
        record,
        released,
        items,
    })
}

/// Claim the lines (recording each claim made in `pending`), stage the content, commit the
/// record. `base` is the record's version and value as read at the start.
async fn claim_stage_commit<'l, S: Store>(
    store: &S,
    id: &BusinessId,
    doc: Restaurant,
    lines: &'l [PhoneE164],
    base: (Option<Version>, Option<&BusinessRecord>),
    now: jiff::Timestamp,
    pending: &mut Vec<&'l PhoneE164>,
) -> Result<BusinessRecord, ImportError> {
    let (base_version, previous) = base;
    for (index, line) in lines.iter().enumerate() {
        if claim_line(store, id, line, index, now.as_second()).await? {
            pending.push(line);
        }
    }

    // Stage.
    let revision = previous.map_or(1, |p| p.revision.saturating_add(1));
    let name = doc.business.name.clone();
    let doc_bytes = to_json(&doc)?;
    let restaurant_key = content_key(&keys::restaurant(id), revision, &doc_bytes);
    store.put(&restaurant_key, &doc_bytes).await?;
    let published = Published::build(id.clone(), revision, doc);
    let bundle = published
        .encode()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let knowledge_key = content_key(&keys::knowledge(id), revision, &bundle);
    store.put(&knowledge_key, &bundle).await?;

    // Commit: one compare-and-swap against the record read at the start.
    let record = BusinessRecord {
        id: id.clone(),
        name: Some(name),
        owner: previous.and_then(|p| p.owner.clone()),
        active: previous.is_none_or(|p| p.active),
        lines: lines.to_vec(),
        revision,
        transfer_to: previous.and_then(|p| p.transfer_to.clone()),
        balance_seconds: previous.and_then(|p| p.balance_seconds),
        published: Some(PublishedKeys {
            restaurant: restaurant_key,
            knowledge: knowledge_key,
        }),
        retired: previous.and_then(|p| p.published.clone()),
        recent_charges: previous
            .map(|p| p.recent_charges.clone())
            .unwrap_or_default(),
        settings: previous.map(|p| p.settings.clone()).unwrap_or_default(),
        created_at: previous.map_or(now, |p| p.created_at),
        updated_at: now,
    };
    match store
        .compare_and_swap(&keys::business(id), base_version, &to_json(&record)?)
        .await
    {
        Ok(()) => Ok(record),
        Err(StoreError::Conflict) => Err(ImportError::Busy),
        Err(e) => Err(e.into()),
    }
}

/// Claim `line` for `id`. Returns whether the claim is pending (it must be settled after the
/// commit): `false` when the line is already ours and committed.
async fn claim_line<S: Store>(
    store: &S,
    id: &BusinessId,
    line: &PhoneE164,
    index: usize,
    now_unix: i64,
) -> Result<bool, ImportError> {
    let key = keys::line(line);
    let mine = LineClaim {
        business_id: id.clone(),
        pending_until: Some(now_unix.saturating_add(PENDING_CLAIM_SECONDS)),
    };
    for _ in 0..CAS_ATTEMPTS {
        let current = store.get(&key).await?;
        let expected: Option<Version> = match &current {
            None => None,
            Some(v) => match LineClaim::parse(&v.value) {
                Some(c) if &c.business_id == id => {
                    if c.pending_until.is_none() {
                        return Ok(false);
                    }
                    Some(v.version)
                }
                Some(c) => {
                    if c.pending_at(now_unix) || owner_lists(store, &c.business_id, line).await? {
                        return Err(ImportError::LineTaken {
                            line: line.clone(),
                            index,
                        });
                    }
                    Some(v.version)
                }
                // An entry nobody can parse names no owner: it is free.
                None => Some(v.version),
            },
        };
        match store
            .compare_and_swap(&key, expected, &mine.to_bytes())
            .await
        {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ImportError::Busy)
}

/// Turn our pending claim into a committed one (only if it is still ours).
async fn settle_claim<S: Store>(
    store: &S,
    id: &BusinessId,
    line: &PhoneE164,
) -> Result<(), StoreError> {
    rewrite_pending_claim(store, id, line, None).await
}

/// Give back a claim this import made and did not commit: it becomes a claim of ours that
/// has already lapsed, which every other import treats as free (the line's previous entry may
/// have been a stale claim of someone else; nothing routes by either).
async fn release_claim<S: Store>(
    store: &S,
    id: &BusinessId,
    line: &PhoneE164,
    now_unix: i64,
) -> Result<(), StoreError> {
    rewrite_pending_claim(store, id, line, Some(now_unix)).await
}

/// If `line`'s entry is still a pending claim of ours, replace it with one pending until
/// `until` (`None` = committed). Losing a race to another writer is fine: then it is not ours.
async fn rewrite_pending_claim<S: Store>(
    store: &S,
    id: &BusinessId,
    line: &PhoneE164,
    until: Option<i64>,
) -> Result<(), StoreError> {
    let key = keys::line(line);
    let Some(v) = store.get(&key).await? else {
        return Ok(());
    };
    match LineClaim::parse(&v.value) {
        Some(c) if &c.business_id == id && c.pending_until.is_some() => {
            let next = LineClaim {
                business_id: id.clone(),
                pending_until: until,
            };
            match store
                .compare_and_swap(&key, Some(v.version), &next.to_bytes())
                .await
            {
                Ok(()) | Err(StoreError::Conflict) => Ok(()),
                Err(e) => Err(e),
            }
        }
        _ => Ok(()),
    }
}

/// Whether business `owner`'s committed record lists `line`.
async fn owner_lists<S: Store>(
    store: &S,
    owner: &BusinessId,
    line: &PhoneE164,
) -> Result<bool, StoreError> {
    Ok(
        read_json::<_, BusinessRecord>(store, &keys::business(owner))
            .await?
            .is_some_and(|r| r.lines.contains(line)),
    )
}

/// Why an availability change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error("the business has no restaurant document")]
    NoDocument,
    #[error("no item {0} on the menu")]
    UnknownItem(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Mark menu items available or sold out ("86") without re-importing: the stored document is
/// changed and published again through the same commit point as an import, retried when a
/// concurrent change wins. Returns the items whose availability changed and the revision now
/// current (unchanged when nothing changed).
pub async fn set_availability<S: Store>(
    store: &S,
    id: &BusinessId,
    changes: &[(String, bool)],
    now: jiff::Timestamp,
) -> Result<(Vec<String>, u64), AvailabilityError> {
    const ATTEMPTS: usize = 4;
    for _ in 0..ATTEMPTS {
        let Some(record) = read_json::<_, BusinessRecord>(store, &keys::business(id)).await? else {
            return Err(AvailabilityError::NoDocument);
        };
        let Some(mut doc) = load_restaurant(store, &record).await? else {
            return Err(AvailabilityError::NoDocument);
        };
        let mut changed = Vec::new();
        for (item_id, available) in changes {
            let item = doc
                .menu
                .categories
                .iter_mut()
                .flat_map(|c| c.items.iter_mut())
                .find(|i| &i.id == item_id)
                .ok_or_else(|| AvailabilityError::UnknownItem(item_id.clone()))?;
            if item.available != *available {
                item.available = *available;
                changed.push(item_id.clone());
            }
        }
        if changed.is_empty() {
            return Ok((changed, record.revision));
        }
        match import_at(store, id, doc, now, Some(record.revision)).await {
            Ok(outcome) => return Ok((changed, outcome.record.revision)),
            Err(ImportError::Busy) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ImportError::Busy.into())
}

/// The committed restaurant document of a business (`None`: it has none).
pub async fn load_restaurant<S: Store>(
    store: &S,
    record: &BusinessRecord,
) -> Result<Option<Restaurant>, StoreError> {
    let key = |k: &PublishedKeys| k.restaurant.clone();
    match load_committed(store, record, key, keys::restaurant(&record.id)).await? {
        None => Ok(None),
        Some((bytes, key)) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("record {key}: {e}"))),
    }
}

/// The committed knowledge bundle of a business (`None`: it has none). A bundle stored in an
/// older format (or by an older release) is rebuilt from the committed document.
pub async fn load_published<S: Store>(
    store: &S,
    record: &BusinessRecord,
) -> Result<Option<Published>, StoreError> {
    let key = |k: &PublishedKeys| k.knowledge.clone();
    let Some((bytes, key)) =
        load_committed(store, record, key, keys::knowledge(&record.id)).await?
    else {
        return Ok(None);
    };
    match Published::decode(&bytes) {
        Ok(p) => Ok(Some(p)),
        Err(BundleError::OtherFormat) => Ok(load_restaurant(store, record)
            .await?
            .map(|doc| Published::build(record.id.clone(), record.revision, doc))),
        Err(BundleError::Corrupt(e)) => Err(StoreError::Corrupt(format!("bundle {key}: {e}"))),
    }
}

/// Read the content `pick` names in `record` (its bytes and key). If it has gone (a later
/// import retired it after `record` was read), the record is read again and the newer content
/// returned. Records written before content was revisioned point nowhere and keep their
/// content at `legacy`.
async fn load_committed<S: Store>(
    store: &S,
    record: &BusinessRecord,
    pick: fn(&PublishedKeys) -> String,
    legacy: String,
) -> Result<Option<(Vec<u8>, String)>, StoreError> {
    let Some(keys) = &record.published else {
        return Ok(store.get_value(&legacy).await?.map(|v| (v, legacy)));
    };
    // Revisioned content never changes under its key: a platform may answer from memory.
    let key = pick(keys);
    if let Some(v) = store.get_immutable(&key).await? {
        return Ok(Some((v, key)));
    }
    let fresh = read_json::<_, BusinessRecord>(store, &crate::store::keys::business(&record.id))
        .await?
        .and_then(|r| r.published)
        .map(|k| pick(&k));
    match fresh {
        Some(k) if k != key => Ok(store.get_immutable(&k).await?.map(|v| (v, k))),
        _ => Err(StoreError::Corrupt(format!(
            "committed content {key} of {} is missing",
            record.id
        ))),
    }
}
