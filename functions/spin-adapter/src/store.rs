//! The Store port over Spin key-value. Versions are digests of the stored bytes
//! ([`Version::of`]), because `wasi:keyvalue/atomics` compares values, not version counters.

use crate::bindings::wasi::keyvalue::{atomics, batch, store as wkv};
use hostline_shared::store::{Store, StoreError, Version, Versioned};
use std::cell::OnceCell;

pub struct SpinStore {
    kv: spin_sdk::key_value::Store,
    label: String,
    /// Opened on first compare-and-swap only: most requests never need it.
    bucket: OnceCell<wkv::Bucket>,
}

fn backend<E: std::fmt::Debug>(e: E) -> StoreError {
    StoreError::Backend(format!("{e:?}"))
}

impl SpinStore {
    pub async fn open(label: &str) -> Result<SpinStore, StoreError> {
        let kv = spin_sdk::key_value::Store::open(label)
            .await
            .map_err(backend)?;
        Ok(SpinStore {
            kv,
            label: label.to_owned(),
            bucket: OnceCell::new(),
        })
    }

    fn bucket(&self) -> Result<&wkv::Bucket, StoreError> {
        if let Some(b) = self.bucket.get() {
            return Ok(b);
        }
        let b = wkv::open(&self.label).map_err(backend)?;
        Ok(self.bucket.get_or_init(|| b))
    }
}

impl Store for SpinStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let v = self.kv.get(key).await.map_err(backend)?;
        Ok(v.map(|value| Versioned {
            version: Version::of(&value),
            value,
        }))
    }

    async fn get_value(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(key).await.map_err(backend)
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.kv.set(key, value).await.map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.kv.delete(key).await.map_err(backend)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // spin:key-value lists the whole store; fine for operator tools, never on a hot path.
        let keys = self.kv.get_keys().await.collect().await.map_err(backend)?;
        let mut keys: Vec<String> = keys.into_iter().filter(|k| k.starts_with(prefix)).collect();
        keys.sort();
        Ok(keys)
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let cas = atomics::Cas::new(self.bucket()?, key).map_err(backend)?;
        let current = cas.current().map_err(backend)?;
        if current.as_deref().map(Version::of) != expected {
            return Err(StoreError::Conflict);
        }
        match atomics::swap(cas, value) {
            Ok(()) => Ok(()),
            Err(atomics::CasError::CasFailed(_)) => Err(StoreError::Conflict),
            Err(atomics::CasError::StoreError(e)) => Err(backend(e)),
        }
    }

    async fn put_many(&self, items: &[(&str, &[u8])]) -> Result<(), StoreError> {
        // wasi:keyvalue batch: the runner commits it as one transaction.
        let owned: Vec<(String, Vec<u8>)> = items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect();
        batch::set_many(self.bucket()?, &owned).map_err(backend)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(self.bucket()?, key, delta).map_err(backend)
    }
}
