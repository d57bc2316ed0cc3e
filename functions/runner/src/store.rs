//! The durable key-value store behind every key-value interface the runner offers.
//!
//! One redb database file holds one table per store label (`kv:<label>`). Both guest-facing
//! interfaces (`spin:key-value` and `wasi:keyvalue`) call into [`KvStore`], so a label shows
//! the same data whichever interface a component uses.
//!
//! Writes are write-behind with group commit: a write lands in an in-memory overlay at once
//! (later reads, listings and compare-and-swaps see it; a compare-and-swap or increment checks
//! and writes under the overlay's lock, which is what makes them atomic with respect to
//! concurrent requests), and [`KvStore::flush`] writes everything pending to redb in one
//! durable transaction (one fsync). The runner flushes before any response leaves it and before
//! a component's outbound request is sent, so nothing anyone outside has seen can be lost, and
//! a request that writes eight records (a checkout) costs one transaction and one fsync, not
//! eight; concurrent requests share a flush. A crash before the flush loses only writes no one
//! outside was told of: the request that made them got no answer and is retried, which every
//! handler already survives (see each one's commit point).
//!
//! Reads and writes run inline (a lookup in the overlay, or a redb read transaction over cached
//! pages, takes microseconds: less than the two thread hand-offs of a trip through the blocking
//! pool); flushes run on tokio's blocking pool instead of stalling the threads that drive
//! guests and connections.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Database, Durability, ReadableDatabase, TableDefinition, TableError};

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

/// What each key will hold once written to redb (`None`: deleted), by label, then key.
type Writes = BTreeMap<String, BTreeMap<String, Option<Vec<u8>>>>;

/// Writes not yet in redb.
#[derive(Default)]
struct Overlay {
    /// Written since the last flush began.
    pending: Writes,
    /// Being written by the flush in progress; `pending` overrides it.
    committing: Arc<Writes>,
}

impl Overlay {
    /// What the overlay says `key` holds: `Some(None)` for a deletion, `None` when it does not
    /// know (redb does).
    fn lookup(&self, label: &str, key: &str) -> Option<Option<&[u8]>> {
        [&self.pending, &*self.committing]
            .into_iter()
            .find_map(|w| w.get(label)?.get(key))
            .map(|v| v.as_deref())
    }

    fn put(&mut self, label: &str, key: &str, value: Option<Vec<u8>>) {
        self.pending
            .entry(label.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.committing.is_empty()
    }

    /// The keys of `label` after `after`, each present (`true`) or deleted, in order.
    fn keys_after(&self, label: &str, after: Option<&str>) -> BTreeMap<String, bool> {
        let bound = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut keys = BTreeMap::new();
        for w in [&*self.committing, &self.pending] {
            if let Some(t) = w.get(label) {
                for (k, v) in t.range::<str, _>((bound, Bound::Unbounded)) {
                    keys.insert(k.clone(), v.is_some());
                }
            }
        }
        keys
    }
}

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
        let (db, overlay, flushing) = (Arc::new(db), Arc::default(), Arc::default());
        let last = FlushOnDrop {
            db: Arc::clone(&db),
            overlay: Arc::clone(&overlay),
            flushing: Arc::clone(&flushing),
        };
        Ok(Self {
            db: Db {
                db,
                overlay,
                flushing,
                _last: Arc::new(last),
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

    /// Whether some write is not yet on disk.
    pub fn dirty(&self) -> bool {
        !self.db.overlay().is_empty()
    }

    /// Makes every write made before this call durable (one transaction and one fsync shared
    /// by every caller waiting at the same time; nothing when all are already on disk).
    pub async fn flush(&self) -> Result<(), StoreError> {
        if !self.dirty() {
            return Ok(());
        }
        self.blocking(|db| db.flush()).await
    }

    /// Reads one value.
    pub async fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.db.overlay().lookup(label, key) {
            return Ok(v.map(<[u8]>::to_vec));
        }
        get_sync(&self.db, label, key)
    }

    /// Reads many values; missing keys come back as `None`, in the order asked.
    pub async fn get_many(
        &self,
        label: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, StoreError> {
        let known: Vec<Option<Option<Vec<u8>>>> = {
            let overlay = self.db.overlay();
            keys.iter()
                .map(|k| overlay.lookup(label, k).map(|v| v.map(<[u8]>::to_vec)))
                .collect()
        };
        let table = read_table(&self.db, label)?;
        keys.into_iter()
            .zip(known)
            .map(|(k, known)| {
                let v = match (known, &table) {
                    (Some(v), _) => v,
                    (None, None) => None,
                    (None, Some(t)) => t
                        .get(k.as_str())
                        .map_err(StoreError::new)?
                        .map(|v| v.value().to_vec()),
                };
                Ok((k, v))
            })
            .collect()
    }

    /// Whether a key exists.
    pub async fn exists(&self, label: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(label, key).await?.is_some())
    }

    /// Writes one value.
    pub async fn set(&self, label: &str, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.set_many(label, vec![(key.to_owned(), value)]).await
    }

    /// Writes several values at once.
    pub async fn set_many(
        &self,
        label: &str,
        entries: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let mut overlay = self.db.overlay();
        for (k, v) in entries {
            overlay.put(label, &k, Some(v));
        }
        Ok(())
    }

    /// Deletes one key; deleting a missing key is not an error.
    pub async fn delete(&self, label: &str, key: &str) -> Result<(), StoreError> {
        self.delete_many(label, vec![key.to_owned()]).await
    }

    /// Deletes several keys at once.
    pub async fn delete_many(&self, label: &str, keys: Vec<String>) -> Result<(), StoreError> {
        let mut overlay = self.db.overlay();
        for k in keys {
            overlay.put(label, &k, None);
        }
        Ok(())
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
        let overlay = self.db.overlay().keys_after(label, after.as_deref());
        let mut overlay = overlay.into_iter().peekable();
        let table = read_table(&self.db, label)?;
        let bound = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut stored = match &table {
            Some(t) => Some(
                t.range::<&str>((bound, Bound::Unbounded))
                    .map_err(StoreError::new)?,
            ),
            None => None,
        };
        let mut next_stored = || -> Result<Option<String>, StoreError> {
            match stored.as_mut().and_then(Iterator::next) {
                Some(entry) => Ok(Some(entry.map_err(StoreError::new)?.0.value().to_owned())),
                None => Ok(None),
            }
        };
        // Merge the two sorted sequences; the overlay's word on a key is the last.
        let mut keys = Vec::new();
        let mut from_db = next_stored()?;
        loop {
            let key = match (from_db.as_deref(), overlay.peek()) {
                (None, None) => return Ok((keys, false)),
                (Some(d), Some((o, _))) if d == o.as_str() => {
                    from_db = next_stored()?;
                    let (k, present) = overlay.next().expect("peeked");
                    present.then_some(k)
                }
                (Some(d), Some((o, _))) if d < o.as_str() => {
                    let k = from_db.take();
                    from_db = next_stored()?;
                    k
                }
                (None, Some(_)) | (Some(_), Some(_)) => {
                    let (k, present) = overlay.next().expect("peeked");
                    present.then_some(k)
                }
                (Some(_), None) => {
                    let k = from_db.take();
                    from_db = next_stored()?;
                    k
                }
            };
            if let Some(k) = key {
                if keys.len() == limit {
                    return Ok((keys, true));
                }
                keys.push(k);
            }
        }
    }

    /// Adds `delta` to the counter at `key` and returns the new value. A missing key counts
    /// as 0. Counters are stored as 8-byte little-endian i64, as Spin's local (SQLite) store
    /// does, so data and components move between the two hosts unchanged; any other stored
    /// value is an error rather than a silent reset.
    pub async fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64, StoreError> {
        let mut overlay = self.db.overlay();
        let current = match self.db.current(&overlay, label, key)? {
            None => 0,
            Some(v) => parse_counter(&v)?,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| StoreError(format!("counter {key:?} would overflow")))?;
        overlay.put(label, key, Some(next.to_le_bytes().to_vec()));
        Ok(next)
    }

    /// Stores `value` at `key` only if the stored value is still byte-identical to
    /// `expected` (`None` meaning "absent"); the check and the write happen under one lock.
    pub async fn compare_and_swap(
        &self,
        label: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<CasOutcome, StoreError> {
        let mut overlay = self.db.overlay();
        let current = self.db.current(&overlay, label, key)?;
        if current != expected {
            return Ok(CasOutcome::Conflict(current));
        }
        overlay.put(label, key, Some(value));
        Ok(CasOutcome::Swapped)
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

/// A label's table in a fresh read transaction; `None` for a label never written to.
fn read_table(
    db: &Database,
    label: &str,
) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>, StoreError> {
    let txn = db.begin_read().map_err(StoreError::new)?;
    let name = table_name(label);
    match txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)) {
        Ok(t) => Ok(Some(t)),
        Err(e) if missing_table(&e) => Ok(None),
        Err(e) => Err(StoreError::new(e)),
    }
}

fn get_sync(db: &Database, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(table) = read_table(db, label)? else {
        return Ok(None);
    };
    Ok(table
        .get(key)
        .map_err(StoreError::new)?
        .map(|v| v.value().to_vec()))
}

/// The database and the writes not yet in it (what the blocking closures are given).
#[derive(Clone)]
struct Db {
    db: Arc<Database>,
    overlay: Arc<Mutex<Overlay>>,
    /// Held by the one flush in progress; the others wait and then usually find their writes
    /// already on disk.
    flushing: Arc<Mutex<()>>,
    /// Flushes when the last handle goes (a shutdown after a request whose client left).
    _last: Arc<FlushOnDrop>,
}

/// See [`Db::_last`].
struct FlushOnDrop {
    db: Arc<Database>,
    overlay: Arc<Mutex<Overlay>>,
    flushing: Arc<Mutex<()>>,
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        if let Err(e) = flush(&self.db, &self.overlay, &self.flushing) {
            tracing::error!(error = %e, "flushing the store on close failed");
        }
    }
}

impl std::ops::Deref for Db {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

impl Db {
    fn overlay(&self) -> MutexGuard<'_, Overlay> {
        lock(&self.overlay)
    }

    /// What `key` holds now, with the overlay's lock held by the caller (so that a check and
    /// the write after it are one step).
    fn current(
        &self,
        overlay: &Overlay,
        label: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match overlay.lookup(label, key) {
            Some(v) => Ok(v.map(<[u8]>::to_vec)),
            None => get_sync(self, label, key),
        }
    }

    /// Writes everything pending in one transaction with immediate durability.
    fn flush(&self) -> Result<(), StoreError> {
        flush(&self.db, &self.overlay, &self.flushing)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes everything pending in `overlay` to `db` in one transaction with immediate
/// durability; one flush at a time (`flushing`).
fn flush(db: &Database, overlay: &Mutex<Overlay>, flushing: &Mutex<()>) -> Result<(), StoreError> {
    let _one = lock(flushing);
    let writes = {
        let mut overlay = lock(overlay);
        if overlay.pending.is_empty() {
            return Ok(());
        }
        let pending = Arc::new(std::mem::take(&mut overlay.pending));
        overlay.committing = pending.clone();
        pending
    };
    let result = commit(db, &writes);
    let mut overlay = lock(overlay);
    overlay.committing = Arc::default();
    if result.is_err() {
        // Not on disk: keep them pending (behind anything written since), for the next flush.
        let writes = Arc::try_unwrap(writes).unwrap_or_else(|w| (*w).clone());
        for (label, entries) in writes {
            let table = overlay.pending.entry(label).or_default();
            for (k, v) in entries {
                table.entry(k).or_insert(v);
            }
        }
    }
    result
}

fn commit(db: &Database, writes: &Writes) -> Result<(), StoreError> {
    let mut txn = db.begin_write().map_err(StoreError::new)?;
    txn.set_durability(Durability::Immediate)
        .map_err(StoreError::new)?;
    for (label, entries) in writes {
        let name = table_name(label);
        let mut table = txn
            .open_table(TableDefinition::<&str, &[u8]>::new(&name))
            .map_err(StoreError::new)?;
        for (k, v) in entries {
            match v {
                Some(v) => table.insert(k.as_str(), v.as_slice()).map(drop),
                None => table.remove(k.as_str()).map(drop),
            }
            .map_err(StoreError::new)?;
        }
    }
    txn.commit().map_err(StoreError::new)
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
    async fn listings_and_reads_merge_unflushed_writes_and_deletions_with_the_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvStore::open(&dir.path().join(DB_FILE_NAME)).expect("open");
        let put = |k: &str| (k.to_owned(), k.as_bytes().to_vec());
        kv.set_many("default", vec![put("b"), put("d"), put("f")])
            .await
            .expect("set");
        kv.flush().await.expect("flush");
        // On disk: b d f. Pending: a c (new), d (deleted), f (rewritten).
        kv.set_many("default", vec![put("a"), put("c")])
            .await
            .expect("set");
        kv.delete("default", "d").await.expect("delete");
        kv.set("default", "f", b"F".to_vec()).await.expect("set");
        assert_eq!(
            kv.keys("default").await.expect("keys"),
            ["a", "b", "c", "f"]
        );
        let (page, more) = kv
            .list_keys("default", Some("a".into()), 2)
            .await
            .expect("page");
        assert_eq!((page, more), (vec!["b".to_owned(), "c".to_owned()], true));
        let (page, more) = kv
            .list_keys("default", Some("c".into()), 2)
            .await
            .expect("page");
        assert_eq!((page, more), (vec!["f".to_owned()], false));
        assert_eq!(kv.get("default", "d").await.expect("get"), None);
        let many = kv
            .get_many(
                "default",
                vec!["d".into(), "f".into(), "b".into(), "z".into()],
            )
            .await
            .expect("get_many");
        let values: Vec<Option<Vec<u8>>> = many.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [None, Some(b"F".to_vec()), Some(b"b".to_vec()), None]
        );
        // A compare-and-swap sees the pending deletion as absence.
        assert_eq!(
            kv.compare_and_swap("default", "d", None, b"D".to_vec())
                .await
                .expect("cas"),
            CasOutcome::Swapped
        );
        kv.delete("default", "b").await.expect("delete");
        kv.close();
        let kv = KvStore::open(&dir.path().join(DB_FILE_NAME)).expect("reopen");
        assert_eq!(
            kv.keys("default").await.expect("keys"),
            ["a", "c", "d", "f"]
        );
        assert_eq!(
            kv.get("default", "f").await.expect("get"),
            Some(b"F".to_vec())
        );
        assert_eq!(kv.keys("other").await.expect("keys"), Vec::<String>::new());
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
