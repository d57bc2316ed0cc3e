//! The operator's pool of phone numbers ready to give a new business at go-live, so onboarding
//! does not buy a number while the operator has one spare. Key: `pool/line/{e164}` →
//! [`PoolLine`]. A line is taken with one compare-and-swap (two go-lives racing for one line:
//! one wins, the other takes the next); a taken line keeps its record, naming the business, so
//! the operator sees where each number went.
//!
//! The operator adds a number once its calls already reach us: on Vapi, registered with our
//! assistant-request URL (give its Vapi id here, and go-live maps it); on the relay path, its
//! Twilio voice URL set to our `/twilio/voice`.

use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{read_all, read_json_versioned, to_json};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolLine {
    pub e164: PhoneE164,
    /// Vapi's id for the number, when it is registered with Vapi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vapi_phone_number_id: Option<String>,
    pub added_at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_by: Option<BusinessId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<jiff::Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("{0} is already in the pool")]
    Exists(PhoneE164),
    #[error("{0} already routes to a business")]
    Routed(PhoneE164),
    #[error("{0} is not in the pool")]
    Missing(PhoneE164),
    #[error("{0} was given to a business and cannot be removed")]
    Taken(PhoneE164),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Add a free line. A line that already routes to a business cannot be pooled.
pub async fn add<S: Store>(
    store: &S,
    e164: PhoneE164,
    vapi_phone_number_id: Option<String>,
    now: jiff::Timestamp,
) -> Result<PoolLine, PoolError> {
    if store.get(&keys::line(&e164)).await?.is_some() {
        return Err(PoolError::Routed(e164));
    }
    let line = PoolLine {
        e164,
        vapi_phone_number_id,
        added_at: now,
        taken_by: None,
        taken_at: None,
    };
    match store
        .compare_and_swap(&keys::pool_line(&line.e164), None, &to_json(&line)?)
        .await
    {
        Ok(()) => Ok(line),
        Err(StoreError::Conflict) => Err(PoolError::Exists(line.e164)),
        Err(e) => Err(e.into()),
    }
}

/// Every pooled line, free and taken, by number.
pub async fn list<S: Store>(store: &S) -> Result<Vec<PoolLine>, StoreError> {
    let mut lines: Vec<PoolLine> = read_all(store, "pool/line/").await?;
    lines.sort_by(|a, b| a.e164.as_str().cmp(b.e164.as_str()));
    Ok(lines)
}

/// Remove a free line.
pub async fn remove<S: Store>(store: &S, e164: &PhoneE164) -> Result<(), PoolError> {
    let key = keys::pool_line(e164);
    match read_json_versioned::<_, PoolLine>(store, &key).await? {
        None => Err(PoolError::Missing(e164.clone())),
        Some((line, _)) if line.taken_by.is_some() => Err(PoolError::Taken(e164.clone())),
        Some(_) => Ok(store.delete(&key).await?),
    }
}

/// Take a free line for `business` (or the one it took before: a retried go-live gets the
/// same line). `None` when the pool has none free.
pub async fn take<S: Store>(
    store: &S,
    business: &BusinessId,
    now: jiff::Timestamp,
) -> Result<Option<PoolLine>, StoreError> {
    let lines = list(store).await?;
    if let Some(mine) = lines.iter().find(|l| l.taken_by.as_ref() == Some(business)) {
        return Ok(Some(mine.clone()));
    }
    for line in lines.into_iter().filter(|l| l.taken_by.is_none()) {
        let key = keys::pool_line(&line.e164);
        let Some((current, version)) = read_json_versioned::<_, PoolLine>(store, &key).await?
        else {
            continue;
        };
        if current.taken_by.is_some() {
            continue;
        }
        let taken = PoolLine {
            taken_by: Some(business.clone()),
            taken_at: Some(now),
            ..current
        };
        match store
            .compare_and_swap(&key, Some(version), &to_json(&taken)?)
            .await
        {
            Ok(()) => return Ok(Some(taken)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use futures::executor::block_on;

    fn e164(s: &str) -> PhoneE164 {
        PhoneE164::parse_e164(s).unwrap()
    }

    #[test]
    fn add_take_remove() {
        let s = MemoryStore::new();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let a = BusinessId::parse("a-biz").unwrap();
        let b = BusinessId::parse("b-biz").unwrap();
        block_on(add(&s, e164("+13125550101"), None, now)).unwrap();
        block_on(add(&s, e164("+13125550102"), Some("vapi-id".into()), now)).unwrap();
        assert!(matches!(
            block_on(add(&s, e164("+13125550101"), None, now)),
            Err(PoolError::Exists(_))
        ));
        let first = block_on(take(&s, &a, now)).unwrap().unwrap();
        assert_eq!(first.e164, e164("+13125550101"));
        // A retry gets the same line; another business the next one; then none is left.
        assert_eq!(
            block_on(take(&s, &a, now)).unwrap().unwrap().e164,
            first.e164
        );
        let second = block_on(take(&s, &b, now)).unwrap().unwrap();
        assert_eq!(second.vapi_phone_number_id.as_deref(), Some("vapi-id"));
        let c = BusinessId::parse("c-biz").unwrap();
        assert!(block_on(take(&s, &c, now)).unwrap().is_none());
        assert!(matches!(
            block_on(remove(&s, &first.e164)),
            Err(PoolError::Taken(_))
        ));
        block_on(add(&s, e164("+13125550103"), None, now)).unwrap();
        block_on(remove(&s, &e164("+13125550103"))).unwrap();
        assert!(matches!(
            block_on(remove(&s, &e164("+13125550103"))),
            Err(PoolError::Missing(_))
        ));
        assert_eq!(block_on(list(&s)).unwrap().len(), 2);
    }

    #[test]
    fn a_routed_line_cannot_be_pooled() {
        let s = MemoryStore::new();
        let line = e164("+13125550109");
        block_on(s.put(&keys::line(&line), b"some-biz")).unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert!(matches!(
            block_on(add(&s, line, None, now)),
            Err(PoolError::Routed(_))
        ));
    }
}
