//! The blob port, beside [`Store`]: large, write-once objects (call transcripts; later
//! recordings references and menu versions) that no compare-and-swap ever touches. Four
//! operations: create-if-absent (a retried write never replaces what the first one wrote),
//! get, delete, list by prefix.
//!
//! Layout (ARCHITECTURE.md): `transcripts/{business}/{yyyy}/{mm}/{dd}/{call}.json` — every key
//! still begins with the tenant after the kind, so one business's blobs are one prefix.
//!
//! Implementations: [`KvBlobs`] keeps blobs in a key-value [`Store`] under `blob/` (the runner
//! and Spin, where the key-value store is the only storage a component has); S3 on Lambda.
//! Every implementation passes [`contract::run`].

use crate::call_log::VapiCallId;
use crate::ids::BusinessId;
use crate::store::{Store, StoreError};
use std::future::Future;

/// Where blobs are kept.
pub trait Blobs {
    /// Write `value` at `key` unless something is there; whether this call created it.
    fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>>;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>>;
    /// Deleting a missing blob is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>>;
    /// Keys under `prefix`, sorted.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>>;
}

/// Blob keys.
pub mod keys {
    use super::*;

    /// The transcript of a call, filed under the (UTC) day it started.
    pub fn transcript(b: &BusinessId, day: jiff::civil::Date, call: &VapiCallId) -> String {
        format!(
            "transcripts/{b}/{:04}/{:02}/{:02}/{}.json",
            day.year(),
            day.month(),
            day.day(),
            call.as_str()
        )
    }
}

/// Blobs kept in a key-value store, each at `blob/{key}`.
#[derive(Debug)]
pub struct KvBlobs<'s, S> {
    store: &'s S,
}

impl<'s, S: Store> KvBlobs<'s, S> {
    pub fn new(store: &'s S) -> Self {
        KvBlobs { store }
    }
}

const KV_PREFIX: &str = "blob/";

impl<S: Store> Blobs for KvBlobs<'_, S> {
    async fn put_if_absent(&self, key: &str, value: &[u8]) -> Result<bool, StoreError> {
        match self
            .store
            .compare_and_swap(&format!("{KV_PREFIX}{key}"), None, value)
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_value(&format!("{KV_PREFIX}{key}")).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(&format!("{KV_PREFIX}{key}")).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self
            .store
            .list(&format!("{KV_PREFIX}{prefix}"))
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(KV_PREFIX).map(str::to_owned))
            .collect();
        keys.sort();
        Ok(keys)
    }
}

/// What every [`Blobs`] implementation must do; run it against each one.
pub mod contract {
    use super::*;

    pub async fn run<B: Blobs>(b: &B) {
        assert_eq!(
            b.get("c/missing").await.unwrap(),
            None,
            "get of a missing blob"
        );
        assert!(
            b.put_if_absent("c/one", b"first").await.unwrap(),
            "first write"
        );
        assert!(
            !b.put_if_absent("c/one", b"second").await.unwrap(),
            "a second write to the same key reports it existed"
        );
        assert_eq!(
            b.get("c/one").await.unwrap().as_deref(),
            Some(b"first".as_slice()),
            "a second write never replaces the first"
        );
        assert!(b.put_if_absent("c/two", b"").await.unwrap());
        assert_eq!(
            b.get("c/two").await.unwrap(),
            Some(Vec::new()),
            "empty blob"
        );
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert!(b.put_if_absent("c/big", &big).await.unwrap());
        assert_eq!(
            b.get("c/big").await.unwrap().as_deref(),
            Some(big.as_slice())
        );
        assert!(b.put_if_absent("d/other", b"x").await.unwrap());
        assert_eq!(
            b.list("c/").await.unwrap(),
            ["c/big", "c/one", "c/two"],
            "list is sorted and exact to the prefix"
        );
        b.delete("c/one").await.unwrap();
        b.delete("c/one").await.unwrap();
        assert_eq!(b.get("c/one").await.unwrap(), None, "deleted");
        assert!(
            b.put_if_absent("c/one", b"again").await.unwrap(),
            "a deleted key can be written again"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn kv_blobs_pass_the_contract_and_stay_apart_from_records() {
        let s = MemoryStore::new();
        futures::executor::block_on(contract::run(&KvBlobs::new(&s)));
        futures::executor::block_on(async {
            assert!(s.get("c/one").await.unwrap().is_none());
            assert!(s.get("blob/c/one").await.unwrap().is_some());
        });
    }

    #[test]
    fn transcript_keys_follow_the_layout() {
        let b = BusinessId::parse("windy-city").unwrap();
        let call = VapiCallId::parse("abc-123").unwrap();
        let day = jiff::civil::date(2026, 3, 7);
        assert_eq!(
            keys::transcript(&b, day, &call),
            "transcripts/windy-city/2026/03/07/abc-123.json"
        );
    }
}
