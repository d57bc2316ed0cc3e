//! The durable key-value store behind every key-value interface the runner offers.
//!
//! One redb database file holds one table per store label (`kv:<label>`). Both guest-facing
//! interfaces (`spin:key-value` and `wasi:keyvalue`) call into [`KvStore`], so a label shows
//! the same data whichever interface a component uses. Every write is its own redb write
//! transaction; redb allows one writer at a time, which is what makes [`KvStore::increment`]
//! and [`KvStore::compare_and_swap`] atomic with respect to concurrent requests.
//!
//! Durability is group commit at the edge of the process: a write commits at once (later
//! reads and compare-and-swaps see it) without waiting for the disk, and [`KvStore::flush`]
//! makes every commit so far durable with one fsync. The runner flushes before any response
//! leaves it and before a component's outbound request is sent, so nothing anyone outside
//! has seen can be lost, and a request that writes eight records (a checkout) waits for the
//! disk once, not eight times; concurrent requests share one flush. A crash before the flush
//! loses only writes no one outside was told of: the request that made them got no answer
//! and is retried, which every handler already survives (see each one's commit point).
//!
//! Writes and flushes run on tokio's blocking pool instead of stalling the
//! threads that drive guests and connections. Reads run inline: a redb read transaction over
//! cached pages takes microseconds, less than the two thread hand-offs a trip through the
//! blocking pool costs (measured with the HTTP bench under perf: futex wake-ups and context
//! switches were a tenth of a knowledge tool call's CPU).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError};

/// The file name of the database inside the data directory.
pub const DB_FILE_NAME: &str = "hostline.redb";

/// A store-level failure (I/O, corruption, a blocking task that died).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(String);

impl StoreError {
    fn new(err: impl std::fmt::Display) -> Self {
        Self(err.to_string())
    }
}

/// Result of [`KvStore::compare_and_swap`].
#[derive(Debug, PartialEq, Eq)]
pub enum CasOutcome {
    /// The value still matched the snapshot and now holds the new value.
    Swapped,
    /// Someone changed the value since the snapshot; this is the value now stored.
    Conflict(Option<Vec<u8>>),
}

/// A cheaply clonable handle on the database.
#[derive(Clone)]
pub struct KvStore {
    db: Db,
}

/// Which commits are durable.
#[derive(Default)]
struct SyncState {
    /// Commits made so far (each counted once it has returned).
    commits: AtomicU64,
    /// Every commit up to this count is on disk.
    durable: AtomicU64,
    /// Held by the one flush in progress; the others wait and then usually find their commits
    /// already covered.
    flushing: Mutex<()>,
}

/// The runner's own table (not a store label: guests cannot open it).
const SYNC_TABLE: TableDefinition<&str, u64> = TableDefinition::new("hostline:sync");

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore").finish_non_exhaustive()
    }
}

fn table_name(label: &str) -> String {
    format!("kv:{label}")
}

/// Opening a table that was never written to fails in a read transaction; for readers that is
/// simply an empty store.
fn missing_table(err: &TableError) -> bool {
    matches!(err, TableError::TableDoesNotExist(_))
}

impl KvStore {
    /// Opens (or creates) the database file at `path`.
    /// The file is created (or tightened to) mode 0600 before redb opens it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        crate::files::ensure_private_file(path)
            .map_err(|e| StoreError(format!("cannot create database {}: {e}", path.display())))?;
        let db = Database::create(path)
            .map_err(|e| StoreError(format!("cannot open database {}: {e}", path.display())))?;
        Ok(Self {
            db: Db {
                db: Arc::new(db),
                sync: Arc::default(),
            },
        })
    }

    /// Runs a blocking closure on tokio's blocking pool when called inside a runtime, and
    /// inline otherwise (start-up code, benches).
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let db = self.db.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(move || f(&db))
                .await
                .map_err(|e| StoreError(format!("store task failed: {e}")))?,
            Err(_) => f(&db),
        }
    }

    /// Whether some commit is not yet known to be on disk.
    pub fn dirty(&self) -> bool {
        let sync = &self.db.sync;
        sync.durable.load(Ordering::SeqCst) < sync.commits.load(Ordering::SeqCst)
    }

    /// Makes every commit made before this call durable (one fsync shared by every caller
    /// waiting at the same time; nothing when all are already on disk).
    pub async fn flush(&self) -> Result<(), StoreError> {
        if !self.dirty() {
            return Ok(());
        }
        self.blocking(|db| db.flush()).await
    }

    /// Reads one value.
    pub async fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get_sync(&self.db, label, key)
    }

    /// Reads many values; missing keys come back as `None`, in the order asked.
    pub async fn get_many(
        &self,
        label: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, StoreError> {
        {
            let db = &self.db;
            let txn = db.begin_read().map_err(StoreError::new)?;
            let name = table_name(label);
            let table = match txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)) {
                Ok(t) => t,
                Err(e) if missing_table(&e) => {
                    return Ok(keys.into_iter().map(|k| (k, None)).collect());
                }
                Err(e) => return Err(StoreError::new(e)),
            };
            keys.into_iter()
                .map(|k| {
                    let v = table
                        .get(k.as_str())
                        .map_err(StoreError::new)?
                        .map(|v| v.value().to_vec());
                    Ok((k, v))
                })
                .collect()
        }
    }

    /// Whether a key exists.
    pub async fn exists(&self, label: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(label, key).await?.is_some())
    }

    /// Writes one value.
    pub async fn set(&self, label: &str, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.set_many(label, vec![(key.to_owned(), value)]).await
    }

    /// Writes several values in one transaction.
    pub async fn set_many(
        &self,
        label: &str,
        entries: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let label = label.to_owned();
        self.blocking(move |db| {
            write(db, &label, |table| {
                for (k, v) in &entries {
                    table
                        .insert(k.as_str(), v.as_slice())
                        .map_err(StoreError::new)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Deletes one key; deleting a missing key is not an error.
    pub async fn delete(&self, label: &str, key: &str) -> Result<(), StoreError> {
        self.delete_many(label, vec![key.to_owned()]).await
    }

    /// Deletes several keys in one transaction.
    pub async fn delete_many(&self, label: &str, keys: Vec<String>) -> Result<(), StoreError> {
        let label = label.to_owned();
        self.blocking(move |db| {
            write(db, &label, |table| {
                for k in &keys {
                    table.remove(k.as_str()).map_err(StoreError::new)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Every key of a store, in key order.
    pub async fn keys(&self, label: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.list_keys(label, None, usize::MAX).await?.0)
    }

    /// One page of keys strictly after `after`, at most `limit` long, and whether more follow.
    pub async fn list_keys(
        &self,
        label: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), StoreError> {
        {
            let db = &self.db;
            let txn = db.begin_read().map_err(StoreError::new)?;
            let name = table_name(label);
            let table = match txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)) {
                Ok(t) => t,
                Err(e) if missing_table(&e) => return Ok((Vec::new(), false)),
                Err(e) => return Err(StoreError::new(e)),
            };
            let bound = match &after {
                Some(a) => std::ops::Bound::Excluded(a.as_str()),
                None => std::ops::Bound::Unbounded,
            };
            let range = table
                .range::<&str>((bound, std::ops::Bound::Unbounded))
                .map_err(StoreError::new)?;
            let mut keys = Vec::new();
            for entry in range {
                let (k, _) = entry.map_err(StoreError::new)?;
                if keys.len() == limit {
                    return Ok((keys, true));
                }
                keys.push(k.value().to_owned());
            }
            Ok((keys, false))
        }
    }

    /// Adds `delta` to the counter at `key` and returns the new value. A missing key counts
    /// as 0. Counters are stored as 8-byte little-endian i64, as Spin's local (SQLite) store
    /// does, so data and components move between the two hosts unchanged; any other stored
    /// value is an error rather than a silent reset.
    pub async fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64, StoreError> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.blocking(move |db| {
            write(db, &label, |table| {
                let current = match table.get(key.as_str()).map_err(StoreError::new)? {
                    None => 0,
                    Some(v) => parse_counter(v.value())?,
                };
                let next = current
                    .checked_add(delta)
                    .ok_or_else(|| StoreError(format!("counter {key:?} would overflow")))?;
                table
                    .insert(key.as_str(), next.to_le_bytes().as_slice())
                    .map_err(StoreError::new)?;
                Ok(next)
            })
        })
        .await
    }

    /// Stores `value` at `key` only if the stored value is still byte-identical to
    /// `expected` (`None` meaning "absent"); check and write share one write transaction.
    pub async fn compare_and_swap(
        &self,
        label: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<CasOutcome, StoreError> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.blocking(move |db| {
            write(db, &label, |table| {
                let current = table
                    .get(key.as_str())
                    .map_err(StoreError::new)?
                    .map(|v| v.value().to_vec());
                if current != expected {
                    return Ok(CasOutcome::Conflict(current));
                }
                table
                    .insert(key.as_str(), value.as_slice())
                    .map_err(StoreError::new)?;
                Ok(CasOutcome::Swapped)
            })
        })
        .await
    }

    /// Flushes what is not yet durable and drops this handle (the file closes with the last).
    pub fn close(self) {
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "flushing the store on close failed");
        }
        drop(self);
    }
}

fn parse_counter(bytes: &[u8]) -> Result<i64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_le_bytes)
        .map_err(|_| {
            StoreError("value is not a counter (expected 8-byte little-endian i64)".into())
        })
}

fn get_sync(db: &Database, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let txn = db.begin_read().map_err(StoreError::new)?;
    let name = table_name(label);
    let table = match txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)) {
        Ok(t) => t,
        Err(e) if missing_table(&e) => return Ok(None),
        Err(e) => return Err(StoreError::new(e)),
    };
    Ok(table
        .get(key)
        .map_err(StoreError::new)?
        .map(|v| v.value().to_vec()))
}

/// The database and its durability state (what the blocking closures are given).
#[derive(Clone)]
struct Db {
    db: Arc<Database>,
    sync: Arc<SyncState>,
}

impl std::ops::Deref for Db {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

impl Db {
    /// One commit with immediate durability, which makes every earlier commit durable too.
    fn flush(&self) -> Result<(), StoreError> {
        let _one = self.sync.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let target = self.sync.commits.load(Ordering::SeqCst);
        if self.sync.durable.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        let mut txn = self.db.begin_write().map_err(StoreError::new)?;
        txn.set_durability(Durability::Immediate)
            .map_err(StoreError::new)?;
        {
            // redb may skip the disk for a transaction that changes nothing: change something.
            let mut t = txn.open_table(SYNC_TABLE).map_err(StoreError::new)?;
            t.insert("flushed", target).map_err(StoreError::new)?;
        }
        txn.commit().map_err(StoreError::new)?;
        self.sync.durable.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }
}

fn write<R>(
    db: &Db,
    label: &str,
    f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    let mut txn = db.begin_write().map_err(StoreError::new)?;
    // Durable at the next flush (see the module doc).
    txn.set_durability(Durability::None)
        .map_err(StoreError::new)?;
    let name = table_name(label);
    let result = {
        let mut table = txn
            .open_table(TableDefinition::<&str, &[u8]>::new(&name))
            .map_err(StoreError::new)?;
        f(&mut table)
    };
    match result {
        Ok(r) => {
            txn.commit().map_err(StoreError::new)?;
            db.sync.commits.fetch_add(1, Ordering::SeqCst);
            Ok(r)
        }
        Err(e) => {
            // Nothing was meant to be written; abort explicitly so the error is the caller's.
            let _ = txn.abort();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_wait_for_a_flush_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE_NAME);
        let kv = KvStore::open(&path).expect("open");
        assert!(!kv.dirty(), "a new store has nothing to flush");
        kv.set("default", "a", b"1".to_vec()).await.expect("set");
        kv.compare_and_swap("default", "b", None, b"2".to_vec())
            .await
            .expect("cas");
        assert!(kv.dirty(), "commits are not durable until flushed");
        // Visible before the flush: later requests read what earlier ones wrote.
        assert_eq!(
            kv.get("default", "b").await.expect("get"),
            Some(b"2".to_vec())
        );
        // Many waiters at once: all return once their commits are on disk.
        let flushes: Vec<_> = (0..8)
            .map(|_| {
                let kv = kv.clone();
                tokio::spawn(async move { kv.flush().await })
            })
            .collect();
        for f in flushes {
            f.await.expect("join").expect("flush");
        }
        assert!(!kv.dirty());
        kv.flush().await.expect("a flush with nothing to do");
        // The runner's own table is not a store label.
        assert_eq!(kv.keys("default").await.expect("keys"), ["a", "b"]);
        kv.increment("default", "n", 3).await.expect("inc");
        assert!(kv.dirty());
        kv.close();
        let kv = KvStore::open(&path).expect("reopen");
        assert_eq!(
            kv.get("default", "a").await.expect("get"),
            Some(b"1".to_vec())
        );
        assert_eq!(kv.increment("default", "n", 0).await.expect("inc"), 3);
    }

    #[tokio::test]
    async fn roundtrip_and_atomics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvStore::open(&dir.path().join(DB_FILE_NAME)).expect("open");
        assert_eq!(kv.get("default", "a").await.expect("get"), None);
        kv.set("default", "a", b"1".to_vec()).await.expect("set");
        assert_eq!(
            kv.get("default", "a").await.expect("get"),
            Some(b"1".to_vec())
        );
        assert_eq!(kv.get("other", "a").await.expect("get"), None);
        assert_eq!(kv.increment("default", "n", 5).await.expect("inc"), 5);
        assert_eq!(kv.increment("default", "n", -2).await.expect("inc"), 3);
        assert!(kv.increment("default", "a", 1).await.is_err());
        assert_eq!(
            kv.compare_and_swap("default", "c", None, b"x".to_vec())
                .await
                .expect("cas"),
            CasOutcome::Swapped
        );
        assert_eq!(
            kv.compare_and_swap("default", "c", None, b"y".to_vec())
                .await
                .expect("cas"),
            CasOutcome::Conflict(Some(b"x".to_vec()))
        );
        let (page, more) = kv.list_keys("default", None, 2).await.expect("list");
        assert_eq!(page, vec!["a".to_string(), "c".to_string()]);
        assert!(more);
        let (page, more) = kv
            .list_keys("default", Some("c".into()), 2)
            .await
            .expect("list");
        assert_eq!(page, vec!["n".to_string()]);
        assert!(!more);
        kv.delete("default", "a").await.expect("delete");
        assert!(!kv.exists("default", "a").await.expect("exists"));
    }
}
