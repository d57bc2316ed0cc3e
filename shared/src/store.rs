//! The storage port. Every implementation (Spin key-value in the Spin adapter, which the runner
//! serves from its embedded store; [`MemoryStore`]) offers the same five operations with the same contract, checked by
//! [`contract::run`]:
//!
//! - `get` returns the value and its [`Version`]; `put` overwrites; `delete` is idempotent.
//! - `list` returns the keys starting with a prefix, sorted. It may be a full scan on some
//!   backends, so hot paths must not depend on it; keep index records instead.
//! - `compare_and_swap` writes only if the key is still at the version read earlier (or still
//!   absent, for `expected = None`); otherwise it reports [`StoreError::Conflict`] and writes
//!   nothing. Line claims, imports (see [`crate::publish`]) and balances are built on it.
//!
//! A [`Version`] identifies the stored state of one key: two reads give the same version if and
//! only if the stored bytes are the same. Backends that have version counters may use them;
//! backends that only offer value-compare-and-swap (Spin's `wasi:keyvalue/atomics`) use a digest
//! of the value ([`Version::of`]), which gives the same guarantee.
//!
//! Keys are `/`-separated and always begin with a tenant or a global index name (see
//! [`keys`]). The trait is async because every real backend is; it names no executor.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

/// The version of one key's stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(pub u64);

impl Version {
    /// The digest-based version of a value: equal bytes, equal version. XXH3 (64 bits):
    /// every read with a version and every compare-and-swap on Spin hashes the whole value
    /// (a print queue or an outbox can be hundreds of KB), and SHA-256 in a component was a
    /// fifth of a checkout's guest time. A version only has to tell the value read from the
    /// value a concurrent writer left; two different values of one key colliding in 64 bits
    /// between a read and its compare-and-swap is not a practical event, and nothing here
    /// needs the hash to resist a forger (the version is never a credential).
    pub fn of(value: &[u8]) -> Version {
        Version(xxhash_rust::xxh3::xxh3_64(value))
    }
}

/// A value and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub value: Vec<u8>,
    pub version: Version,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A compare-and-swap lost a race: the key changed since it was read.
    #[error("the value changed since it was read")]
    Conflict,
    /// The backend failed (I/O, network, quota, a dropped connection). The message is for
    /// logs, not for callers.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// A stored record no longer parses: retrying reads the same bytes.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the same request may succeed if tried again: a lost race or a backend fault
    /// may clear, a corrupt record will not. Handlers answer a retryable failure with 503 and
    /// `Retry-After` ([`crate::http::Response::storage_error`]).
    pub fn retryable(&self) -> bool {
        matches!(self, StoreError::Conflict | StoreError::Backend(_))
    }
}

/// The storage port used by every handler.
pub trait Store {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Versioned>, StoreError>>;
    /// The value alone, for a read no compare-and-swap follows. Where versions cost work (a
    /// digest of the value, as on Spin's key-value), the implementation skips it here: the
    /// knowledge tool's bundle is read on every call and never swapped.
    fn get_value(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> {
        async move { Ok(self.get(key).await?.map(|v| v.value)) }
    }
    /// The value at a key that is written once and never changed: committed, revisioned content
    /// (a published bundle, a document revision), whose key names its revision. A platform whose
    /// process outlives a request (Lambda) may keep it in memory and answer later reads from
    /// there; it may be absent (not yet written, or retired), never different.
    fn get_immutable(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> {
        self.get_value(key)
    }
    fn put(&self, key: &str, value: &[u8]) -> impl Future<Output = Result<(), StoreError>>;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>>;
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>>;
    /// Write `value` only if the key is at `expected` (`None` = must not exist).
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>>;
    /// Write several keys. A backend that can write them together does (the runner: one
    /// transaction, one commit); the default writes them in order. Not atomic in general: a
    /// failure may leave a prefix written, so callers order them so that any prefix is safe.
    fn put_many(&self, items: &[(&str, &[u8])]) -> impl Future<Output = Result<(), StoreError>> {
        async move {
            for (key, value) in items {
                self.put(key, value).await?;
            }
            Ok(())
        }
    }
    /// Add `delta` to the counter at `key` (absent = 0) and return the new value. Counters are
    /// 8-byte little-endian i64, as Spin's and the runner's stores keep them; read them only
    /// through this. Backends with an atomic increment use it (no retries under contention);
    /// the default is a compare-and-swap loop.
    fn increment(&self, key: &str, delta: i64) -> impl Future<Output = Result<i64, StoreError>> {
        async move {
            for _ in 0..INCREMENT_ATTEMPTS {
                let current = self.get(key).await?;
                let n = match &current {
                    None => 0,
                    Some(v) => counter_value(&v.value)?,
                };
                let next = n.checked_add(delta).ok_or_else(|| {
                    StoreError::Backend(format!("counter {key:?} would overflow"))
                })?;
                match self
                    .compare_and_swap(key, current.map(|v| v.version), &next.to_le_bytes())
                    .await
                {
                    Ok(()) => return Ok(next),
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(StoreError::Conflict)
        }
    }
}

/// Tries of the default [`Store::increment`] before it gives up on a contended counter.
const INCREMENT_ATTEMPTS: usize = 64;

/// A stored counter ([`Store::increment`]).
pub fn counter_value(bytes: &[u8]) -> Result<i64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_le_bytes)
        .map_err(|_| {
            StoreError::Backend("value is not a counter (8-byte little-endian i64)".into())
        })
}

/// Key layout. Every key begins with a global index name or `biz/{business_id}`.
pub mod keys {
    use crate::calls::CallSid;
    use crate::ids::BusinessId;
    use crate::phone::PhoneE164;

    /// Global index: called line → business id. A line belongs to at most one business.
    pub fn line(e164: &PhoneE164) -> String {
        format!("line/{e164}")
    }

    /// Global index: Vapi phone-number id → E.164 line (learned from verified messages or set
    /// by an operator), for messages that carry only `call.phoneNumberId`.
    pub fn vapi_number(phone_number_id: &str) -> String {
        format!("vapi-number/{phone_number_id}")
    }

    /// The business record: status and bookkeeping.
    pub fn business(b: &BusinessId) -> String {
        format!("biz/{b}/business")
    }

    /// The restaurant document as imported (normalized). Revisions are staged under this
    /// prefix (`.../r{rev}-{digest}`, see [`crate::publish::content_key`]); records written
    /// before revisioning keep the document at the bare key.
    pub fn restaurant(b: &BusinessId) -> String {
        format!("biz/{b}/restaurant")
    }

    /// Everything a knowledge tool call needs, in one value (built at save time); revisioned
    /// like [`restaurant`].
    pub fn knowledge(b: &BusinessId) -> String {
        format!("biz/{b}/knowledge")
    }

    /// One call's record ([`crate::calls::CallRecord`]).
    pub fn call(b: &BusinessId, call_sid: &CallSid) -> String {
        format!("biz/{b}/calls/{call_sid}")
    }

    /// Daily usage totals ([`crate::calls::DailyUsage`]), by the UTC date the call ended.
    pub fn daily_usage(b: &BusinessId, date: jiff::civil::Date) -> String {
        format!("biz/{b}/usage/{date}")
    }

    /// One Vapi call's log entry ([`crate::call_log::CallEntry`]).
    pub fn vapi_call(b: &BusinessId, call_id: &crate::call_log::VapiCallId) -> String {
        format!("biz/{b}/vapi-calls/{}", call_id.as_str())
    }

    /// One Vapi call's transcript ([`crate::call_log::Transcript`]).
    pub fn transcript(b: &BusinessId, call_id: &crate::call_log::VapiCallId) -> String {
        format!("biz/{b}/transcripts/{}", call_id.as_str())
    }

    /// A customer's calls: `hash` is the caller's keyed hash ([`crate::pii`]).
    pub fn customer_call(
        b: &BusinessId,
        hash: &str,
        call_id: &crate::call_log::VapiCallId,
    ) -> String {
        format!("{}{}", customer_calls(b, hash), call_id.as_str())
    }

    /// The prefix of every [`customer_call`] of one customer.
    pub fn customer_calls(b: &BusinessId, hash: &str) -> String {
        format!("biz/{b}/customer-calls/{hash}/")
    }

    /// The call list index: `rank` sorts newest first ([`crate::call_log::index_rank`]).
    pub fn call_index(b: &BusinessId, rank: &str) -> String {
        format!("biz/{b}/call-index/{rank}")
    }

    /// One audit-log entry ([`crate::audit`]); `rank` sorts newest first.
    pub fn audit(b: &BusinessId, rank: &str) -> String {
        format!("biz/{b}/audit/{rank}")
    }

    /// An owner or admin account ([`crate::auth::accounts::User`]), by its random id.
    pub fn user(user_id: &str) -> String {
        format!("user/{user_id}")
    }

    /// Global index: digest of a normalized email → user id (the sign-up commit point).
    pub fn user_email(email_digest: &str) -> String {
        format!("user-email/{email_digest}")
    }

    /// One refresh token, by the digest of the token.
    pub fn refresh(token_digest: &str) -> String {
        format!("refresh/{token_digest}")
    }

    /// The family every rotation of one login's refresh token shares.
    pub fn refresh_family(family: &str) -> String {
        format!("refresh-family/{family}")
    }

    /// Failure counter of a login throttle (`scope`: what is counted; `digest`: of whom).
    pub fn throttle(scope: &str, digest: &str) -> String {
        format!("throttle/{scope}/{digest}")
    }

    /// Global index: digest of an API key → the key's record.
    pub fn api_key(digest: &str) -> String {
        format!("api-key/{digest}")
    }

    /// A business's API key, by id (for listing and revoking).
    pub fn api_key_of(b: &BusinessId, id: &str) -> String {
        format!("biz/{b}/api-keys/{id}")
    }

    /// Global index: digest of a device token → the device's record.
    pub fn device(digest: &str) -> String {
        format!("device/{digest}")
    }

    /// A business's paired device, by id.
    pub fn device_of(b: &BusinessId, id: &str) -> String {
        format!("biz/{b}/devices/{id}")
    }

    /// What each device of a business last reported of itself and its printers, one record
    /// ([`crate::printing::DeviceStatuses`]).
    pub fn device_statuses(b: &BusinessId) -> String {
        format!("biz/{b}/device-statuses")
    }

    /// A one-time device pairing code.
    pub fn pairing(code: &str) -> String {
        format!("pairing/{code}")
    }

    /// A staff member of a business.
    pub fn staff(b: &BusinessId, staff_id: &str) -> String {
        format!("biz/{b}/staff/{staff_id}")
    }

    /// A business's staff phone → staff id.
    pub fn staff_phone(b: &BusinessId, phone: &PhoneE164) -> String {
        format!("biz/{b}/staff-phone/{phone}")
    }

    /// The cart of one call.
    pub fn cart(b: &BusinessId, call_id: &str) -> String {
        format!("biz/{b}/carts/{call_id}")
    }

    /// One order.
    pub fn order(b: &BusinessId, order_id: &str) -> String {
        format!("biz/{b}/orders/{order_id}")
    }

    /// The number an order was given, claimed before the order commits: every try of one
    /// call's checkout says (and texts) the same number.
    pub fn order_number(b: &BusinessId, order_id: &str) -> String {
        format!("biz/{b}/order-number/{order_id}")
    }

    /// The count of orders placed on one (local) day: the source of order numbers.
    pub fn order_counter(b: &BusinessId, date: jiff::civil::Date) -> String {
        format!("biz/{b}/order-count/{date}")
    }

    /// The order list, newest first (`rank` from [`crate::tenancy::newest_first`]).
    pub fn order_index(b: &BusinessId, rank: &str) -> String {
        format!("biz/{b}/order-index/{rank}")
    }

    /// A customer's orders, newest first, under their number's keyed hash
    /// ([`crate::pii::PiiKeys::hash`]); `rank` as in [`order_index`].
    pub fn customer_order(b: &BusinessId, hash: &str, rank: &str) -> String {
        format!("biz/{b}/customer-orders/{hash}/{rank}")
    }

    /// The business's texts to customers ([`crate::outbox`]).
    pub fn outbox(b: &BusinessId) -> String {
        format!("biz/{b}/outbox")
    }

    /// The business's print jobs, one record changed with compare-and-swap
    /// ([`crate::printing`]).
    pub fn print_queue(b: &BusinessId) -> String {
        format!("biz/{b}/print-queue")
    }

    /// How many reprints of one kind of ticket an order has had (a counter).
    pub fn reprints(b: &BusinessId, order_id: &str, kind: &str) -> String {
        format!("biz/{b}/reprints/{order_id}.{kind}")
    }

    /// One onboarding wizard's state.
    pub fn onboarding(id: &str) -> String {
        format!("onboarding/{id}")
    }

    /// A line in the operator's pool of numbers ready to give a new business.
    pub fn pool_line(e164: &PhoneE164) -> String {
        format!("pool/line/{e164}")
    }
}

/// In-memory store for unit tests and native examples.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A poisoned lock only means another test thread panicked mid-write of a BTreeMap entry,
        // which leaves the map itself consistent.
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.lock().get(key).map(|v| Versioned {
            version: Version::of(v),
            value: v.clone(),
        }))
    }

    async fn get_value(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.lock().insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let mut data = self.lock();
        let current = data.get(key).map(|v| Version::of(v));
        if current != expected {
            return Err(StoreError::Conflict);
        }
        data.insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}

impl<S: Store> Store for &S {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Versioned>, StoreError>> {
        (**self).get(key)
    }
    fn get_value(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> {
        (**self).get_value(key)
    }
    fn get_immutable(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> {
        (**self).get_immutable(key)
    }
    fn put(&self, key: &str, value: &[u8]) -> impl Future<Output = Result<(), StoreError>> {
        (**self).put(key, value)
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> {
        (**self).delete(key)
    }
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> {
        (**self).list(prefix)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> {
        (**self).compare_and_swap(key, expected, value)
    }
    fn increment(&self, key: &str, delta: i64) -> impl Future<Output = Result<i64, StoreError>> {
        (**self).increment(key, delta)
    }
    fn put_many(&self, items: &[(&str, &[u8])]) -> impl Future<Output = Result<(), StoreError>> {
        (**self).put_many(items)
    }
}

/// A [`Store`] wrapper for fault-injection tests: it counts writes (`put`, `delete`,
/// `compare_and_swap`) and, once armed with [`FaultyStore::fail_from`], makes the k-th write
/// and every one after it fail without writing, as a crash, a timeout or a dropped request
/// would. Reads keep working. Run a change once unarmed to learn how many writes it makes
/// ([`FaultyStore::writes`]), then once per k to check every way it can be cut short.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    writes: std::sync::atomic::AtomicUsize,
    fail_from: std::sync::atomic::AtomicUsize,
}

impl<S: Store> FaultyStore<S> {
    pub fn new(inner: S) -> Self {
        FaultyStore {
            inner,
            writes: 0.into(),
            fail_from: usize::MAX.into(),
        }
    }

    /// Fail the `k`-th write from now (1-based) and every later one.
    pub fn fail_from(&self, k: usize) {
        use std::sync::atomic::Ordering::SeqCst;
        self.writes.store(0, SeqCst);
        self.fail_from.store(k.max(1), SeqCst);
    }

    /// Stop failing; count writes from zero again.
    pub fn heal(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.writes.store(0, SeqCst);
        self.fail_from.store(usize::MAX, SeqCst);
    }

    /// Writes attempted since the last [`FaultyStore::fail_from`] or [`FaultyStore::heal`].
    pub fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn admit(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.writes.fetch_add(1, SeqCst) + 1;
        if n >= self.fail_from.load(SeqCst) {
            Err(StoreError::Backend(format!("injected fault at write {n}")))
        } else {
            Ok(())
        }
    }
}

impl<S: Store> Store for FaultyStore<S> {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_value(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get_value(key).await
    }
    async fn get_immutable(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get_immutable(key).await
    }
    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.admit()?;
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.admit()?;
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> Result<(), StoreError> {
        self.admit()?;
        self.inner.compare_and_swap(key, expected, value).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.admit()?;
        self.inner.increment(key, delta).await
    }
}

/// The contract every [`Store`] implementation must pass. Call [`contract::run`] from the
/// implementation's tests with a fresh, empty store; it panics with the broken rule's name.
pub mod contract {
    use super::*;

    pub async fn run<S: Store>(s: &S) {
        get_of_missing_key_is_none(s).await;
        put_then_get(s).await;
        put_overwrites_and_changes_version(s).await;
        delete_is_idempotent(s).await;
        list_by_prefix_is_sorted_and_exact(s).await;
        cas_create_only_if_absent(s).await;
        cas_update_only_at_expected_version(s).await;
        cas_after_delete(s).await;
        empty_and_binary_values(s).await;
        get_value_reads_what_get_reads(s).await;
        immutable_content_reads_as_written(s).await;
        increment_counts_from_zero(s).await;
        put_many_writes_every_key(s).await;
    }

    async fn put_many_writes_every_key<S: Store>(s: &S) {
        s.put_many(&[("c/many/a", b"1"), ("c/many/b", b""), ("c/many/a", b"2")])
            .await
            .unwrap();
        assert_eq!(
            s.get_value("c/many/a").await.unwrap().as_deref(),
            Some(&b"2"[..]),
            "put_many: a key given twice holds the last value"
        );
        assert_eq!(
            s.get_value("c/many/b").await.unwrap().as_deref(),
            Some(&b""[..]),
            "put_many writes every key"
        );
        s.put_many(&[]).await.unwrap();
    }

    async fn increment_counts_from_zero<S: Store>(s: &S) {
        assert_eq!(
            s.increment("c/counter", 1).await.unwrap(),
            1,
            "increment of a missing key"
        );
        assert_eq!(
            s.increment("c/counter", 5).await.unwrap(),
            6,
            "increment adds"
        );
        assert_eq!(
            s.increment("c/counter", -6).await.unwrap(),
            0,
            "increment subtracts"
        );
        assert_eq!(
            s.get_value("c/counter").await.unwrap().as_deref(),
            Some(&0i64.to_le_bytes()[..]),
            "a counter is stored as 8-byte little-endian i64"
        );
        s.put("c/not-a-counter", b"seven").await.unwrap();
        assert!(
            s.increment("c/not-a-counter", 1).await.is_err(),
            "increment of a value that is not a counter fails, never resets it"
        );
        assert_eq!(
            s.get_value("c/not-a-counter").await.unwrap().as_deref(),
            Some(&b"seven"[..]),
            "a failed increment leaves the value"
        );
    }

    async fn immutable_content_reads_as_written<S: Store>(s: &S) {
        assert_eq!(
            s.get_immutable("c/imm/r1").await.unwrap(),
            None,
            "get_immutable of content not yet written"
        );
        s.put("c/imm/r1", b"\x01content").await.unwrap();
        for _ in 0..2 {
            assert_eq!(
                s.get_immutable("c/imm/r1").await.unwrap().as_deref(),
                Some(&b"\x01content"[..]),
                "get_immutable after put (and again)"
            );
        }
        s.delete("c/imm/r1").await.unwrap();
    }

    async fn get_value_reads_what_get_reads<S: Store>(s: &S) {
        assert_eq!(
            s.get_value("c/v").await.unwrap(),
            None,
            "get_value of a missing key"
        );
        s.put("c/v", b"\x00value").await.unwrap();
        assert_eq!(
            s.get_value("c/v").await.unwrap().as_deref(),
            Some(&b"\x00value"[..]),
            "get_value after put"
        );
        let at = s.get("c/v").await.unwrap().map(|v| v.version);
        s.compare_and_swap("c/v", at, b"next").await.unwrap();
        assert_eq!(
            s.get_value("c/v").await.unwrap(),
            s.get("c/v").await.unwrap().map(|v| v.value),
            "get_value after compare-and-swap"
        );
        s.delete("c/v").await.unwrap();
        assert_eq!(
            s.get_value("c/v").await.unwrap(),
            None,
            "get_value after delete"
        );
    }

    async fn get_of_missing_key_is_none<S: Store>(s: &S) {
        assert_eq!(
            s.get("c/missing").await.unwrap(),
            None,
            "get of a missing key"
        );
    }

    async fn put_then_get<S: Store>(s: &S) {
        s.put("c/a", b"one").await.unwrap();
        let v = s.get("c/a").await.unwrap().expect("put then get");
        assert_eq!(v.value, b"one");
        let again = s.get("c/a").await.unwrap().unwrap();
        assert_eq!(
            v.version, again.version,
            "two reads of an unchanged key share a version"
        );
    }

    async fn put_overwrites_and_changes_version<S: Store>(s: &S) {
        s.put("c/b", b"first").await.unwrap();
        let v1 = s.get("c/b").await.unwrap().unwrap();
        s.put("c/b", b"second").await.unwrap();
        let v2 = s.get("c/b").await.unwrap().unwrap();
        assert_eq!(v2.value, b"second", "put overwrites");
        assert_ne!(v1.version, v2.version, "a changed value has a new version");
    }

    async fn delete_is_idempotent<S: Store>(s: &S) {
        s.put("c/d", b"x").await.unwrap();
        s.delete("c/d").await.unwrap();
        assert_eq!(s.get("c/d").await.unwrap(), None, "deleted key is gone");
        s.delete("c/d").await.unwrap();
        s.delete("c/never-existed").await.unwrap();
    }

    async fn list_by_prefix_is_sorted_and_exact<S: Store>(s: &S) {
        for k in [
            "l/biz-b/2",
            "l/biz-a/1",
            "l/biz-a/3",
            "l/biz-ab/1",
            "l/biz-a/2",
            "m/biz-a/1",
        ] {
            s.put(k, b"v").await.unwrap();
        }
        assert_eq!(
            s.list("l/biz-a/").await.unwrap(),
            vec!["l/biz-a/1", "l/biz-a/2", "l/biz-a/3"],
            "list returns exactly the keys with the prefix, sorted"
        );
        assert!(
            s.list("l/nobody/").await.unwrap().is_empty(),
            "list of an unused prefix"
        );
    }

    async fn cas_create_only_if_absent<S: Store>(s: &S) {
        s.compare_and_swap("c/n", None, b"1")
            .await
            .expect("create when absent");
        assert_eq!(
            s.compare_and_swap("c/n", None, b"2").await,
            Err(StoreError::Conflict),
            "create when present conflicts"
        );
        assert_eq!(
            s.get("c/n").await.unwrap().unwrap().value,
            b"1",
            "losing cas writes nothing"
        );
    }

    async fn cas_update_only_at_expected_version<S: Store>(s: &S) {
        s.put("c/u", b"v1").await.unwrap();
        let read = s.get("c/u").await.unwrap().unwrap();
        s.compare_and_swap("c/u", Some(read.version), b"v2")
            .await
            .expect("cas at current version");
        assert_eq!(
            s.compare_and_swap("c/u", Some(read.version), b"v3").await,
            Err(StoreError::Conflict),
            "cas at a stale version conflicts"
        );
        assert_eq!(s.get("c/u").await.unwrap().unwrap().value, b"v2");
        assert_eq!(
            s.compare_and_swap("c/absent", Some(read.version), b"x")
                .await,
            Err(StoreError::Conflict),
            "cas expecting a version on a missing key conflicts"
        );
        assert_eq!(s.get("c/absent").await.unwrap(), None);
    }

    async fn cas_after_delete<S: Store>(s: &S) {
        s.put("c/x", b"a").await.unwrap();
        let read = s.get("c/x").await.unwrap().unwrap();
        s.delete("c/x").await.unwrap();
        assert_eq!(
            s.compare_and_swap("c/x", Some(read.version), b"b").await,
            Err(StoreError::Conflict),
            "cas on a key deleted since the read conflicts"
        );
        s.compare_and_swap("c/x", None, b"c")
            .await
            .expect("recreate after delete");
    }

    async fn empty_and_binary_values<S: Store>(s: &S) {
        s.put("c/empty", b"").await.unwrap();
        assert_eq!(
            s.get("c/empty").await.unwrap().unwrap().value,
            b"",
            "empty value is a value"
        );
        let bin: Vec<u8> = (0..=255u8).collect();
        s.put("c/bin", &bin).await.unwrap();
        assert_eq!(
            s.get("c/bin").await.unwrap().unwrap().value,
            bin,
            "binary values round-trip"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_passes_the_contract() {
        futures::executor::block_on(contract::run(&MemoryStore::new()));
    }

    #[test]
    fn concurrent_cas_increments_lose_nothing() {
        let s = MemoryStore::new();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    futures::executor::block_on(async {
                        for _ in 0..50 {
                            loop {
                                let cur = s.get("n").await.unwrap();
                                let (n, ver) = match &cur {
                                    Some(v) => (
                                        String::from_utf8(v.value.clone())
                                            .unwrap()
                                            .parse::<u64>()
                                            .unwrap(),
                                        Some(v.version),
                                    ),
                                    None => (0, None),
                                };
                                if s.compare_and_swap("n", ver, (n + 1).to_string().as_bytes())
                                    .await
                                    .is_ok()
                                {
                                    break;
                                }
                            }
                        }
                    })
                });
            }
        });
        let v = futures::executor::block_on(s.get("n")).unwrap().unwrap();
        assert_eq!(v.value, b"400");
    }
}
