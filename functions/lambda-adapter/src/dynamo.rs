//! The [`Store`] port over one DynamoDB table ([`DynamoStore`]).
//!
//! Layout: every key begins with a global index name or `biz/{business}` (see
//! [`hostline_shared::store::keys`]), and that beginning is the partition key; the rest of the
//! key, after the `/` that ends it, is the sort key ([`split_key`]). So one business's records
//! are one partition, a global index (`line/…`, `user/…`) is one partition, and listing a
//! prefix inside a partition is a `Query` with `begins_with` on the sort key, returned in sort
//! key order. A prefix that stops before its partition is known (`biz/`, the operator's list of
//! every business) can only be a `Scan`; the port allows that (`list` is never a hot path).
//!
//! Versions are the digest of the value ([`Version::of`]), stored beside it in [`attr::VERSION`]:
//! equal bytes give equal versions, as on every other backend, and a key deleted and written
//! again never comes back to an old version with different bytes (a counter restarting after a
//! delete would let a stale compare-and-swap through). Compare-and-swap is a `PutItem` whose
//! condition checks that attribute (or the item's absence).
//!
//! Expiry: an item may carry [`attr::EXPIRES`] (epoch seconds, the table's TTL attribute).
//! DynamoDB deletes expired items lazily, days later, so every read here treats an item whose
//! time has passed as absent, and a create-if-absent may replace it. Writes through the port
//! never set it (a `put` replaces the whole item, dropping an old expiry).
//!
//! Reads are strongly consistent: a compare-and-swap follows a read, and the contract expects a
//! write to be visible to the next read.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use hostline_shared::store::{Store, StoreError, Version, Versioned};
use std::collections::HashMap;

/// Attribute names of the table's items.
pub mod attr {
    /// Partition key (string): the global index name, or `biz/{business}`.
    pub const PARTITION: &str = "pk";
    /// Sort key (string): the rest of the key.
    pub const SORT: &str = "sk";
    /// The value (binary), when stored as it is.
    pub const VALUE: &str = "val";
    /// The value deflated (binary, raw DEFLATE), instead of [`VALUE`] when that makes the item
    /// smaller: DynamoDB bills writes per 1 KB and reads per 4 KB of item, and an item holds at
    /// most 400 KB.
    pub const DEFLATED: &str = "valz";
    /// The value's version (number): [`hostline_shared::store::Version::of`] the value.
    pub const VERSION: &str = "ver";
    /// When the item expires (number, epoch seconds): the table's TTL attribute.
    pub const EXPIRES: &str = "expires_at";
}

/// The business partition's leading segment: its partition key spans two segments.
const BUSINESS: &str = "biz/";

/// Where `key` lives: its partition key and its sort key. A key with no sort key part (no `/`
/// after its partition, or nothing after that `/`) or with an empty partition is refused: the
/// key layout never makes one, and DynamoDB rejects empty key attributes.
pub fn split_key(key: &str) -> Result<(&str, &str), StoreError> {
    let end = match key.strip_prefix(BUSINESS) {
        Some(rest) => rest.find('/').map(|i| BUSINESS.len() + i),
        None => key.find('/'),
    };
    match end {
        Some(i) if i > 0 && i + 1 < key.len() && !key[..i].ends_with('/') => {
            Ok((&key[..i], &key[i + 1..]))
        }
        // Not a conflict and not a stored record: the caller built a key outside the layout.
        // `Backend` is the port's only other error; the message says what is wrong.
        _ => Err(StoreError::Backend(format!(
            "key {key:?} is outside the layout (partition/rest)"
        ))),
    }
}

/// How a `list` prefix is served.
#[derive(Debug, PartialEq, Eq)]
enum ListPlan<'a> {
    /// The prefix names its partition: one partition, sort keys beginning with `sort_prefix`.
    Query {
        partition: &'a str,
        sort_prefix: &'a str,
    },
    /// The prefix stops inside a partition name: every partition beginning with it.
    Scan { partition_prefix: &'a str },
}

fn plan(prefix: &str) -> ListPlan<'_> {
    let end = match prefix.strip_prefix(BUSINESS) {
        Some(rest) => rest.find('/').map(|i| BUSINESS.len() + i),
        None => prefix.find('/'),
    };
    match end {
        Some(i) => ListPlan::Query {
            partition: &prefix[..i],
            sort_prefix: &prefix[i + 1..],
        },
        None => ListPlan::Scan {
            partition_prefix: prefix,
        },
    }
}

/// Now, in whole epoch seconds: reads and write conditions compare expiries against the same
/// whole second, so an item a read found live is live to the write that follows in that second.
fn now_epoch_seconds() -> f64 {
    // A clock before 1970 would be a broken host; treating it as the epoch only keeps items
    // with an expiry from looking expired.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as f64)
        .unwrap_or(0.0)
}

/// The most bytes of immutable content ([`Store::get_immutable`]) a container keeps in memory:
/// hundreds of restaurants' bundles, well inside the function's memory.
const CONTENT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Immutable content read before, oldest first out when full. Shared by a store's clones.
#[derive(Debug, Default)]
struct ContentCache {
    values: HashMap<String, std::sync::Arc<[u8]>>,
    order: std::collections::VecDeque<String>,
    bytes: usize,
}

impl ContentCache {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.values.get(key).map(|v| v.to_vec())
    }

    fn insert(&mut self, key: &str, value: &[u8]) {
        if value.len() > CONTENT_CACHE_BYTES || self.values.contains_key(key) {
            return;
        }
        while self.bytes + value.len() > CONTENT_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.values.remove(&old) {
                self.bytes -= v.len();
            }
        }
        self.bytes += value.len();
        self.order.push_back(key.to_owned());
        self.values.insert(key.to_owned(), value.into());
    }
}

/// The [`Store`] over one DynamoDB table. Holds a client (cheap to clone: it shares its
/// connection pool), the table name, and the container's cache of immutable content.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    page_limit: Option<i32>,
    content: std::sync::Arc<std::sync::Mutex<ContentCache>>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            page_limit: None,
            content: Default::default(),
        }
    }

    /// At most `items` items per `Query`/`Scan` page. Production leaves DynamoDB's own page
    /// (1 MB); tests make pages small so that listing must follow several of them.
    pub fn with_page_limit(mut self, items: u32) -> Self {
        self.page_limit = Some(i32::try_from(items.max(1)).unwrap_or(i32::MAX));
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The live item at `key`: its value, expiry and (when `with_version`) version.
    /// `consistent`: a strongly consistent read (what every read but one of immutable content
    /// needs); otherwise an eventually consistent one, at half the read units.
    async fn get_item(
        &self,
        key: &str,
        with_version: bool,
        consistent: bool,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let (pk, sk) = split_key(key)?;
        let req = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PARTITION, AttributeValue::S(pk.to_owned()))
            .key(attr::SORT, AttributeValue::S(sk.to_owned()))
            .consistent_read(consistent)
            .expression_attribute_names("#v", attr::VALUE)
            .expression_attribute_names("#z", attr::DEFLATED)
            .expression_attribute_names("#e", attr::EXPIRES);
        // DynamoDB refuses an attribute name the expression does not use.
        let req = if with_version {
            req.projection_expression("#v, #z, #r, #e")
                .expression_attribute_names("#r", attr::VERSION)
        } else {
            req.projection_expression("#v, #z, #e")
        };
        let out = req.send().await.map_err(|e| backend("GetItem", key, e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        if expired(key, &item, now_epoch_seconds())? {
            return Ok(None);
        }
        Ok(Some(item))
    }

    fn item(pk: &str, sk: &str, value: &[u8]) -> HashMap<String, AttributeValue> {
        let stored = match deflated(value) {
            Some(small) => (attr::DEFLATED, small),
            None => (attr::VALUE, value.to_vec()),
        };
        HashMap::from([
            (attr::PARTITION.to_owned(), AttributeValue::S(pk.to_owned())),
            (attr::SORT.to_owned(), AttributeValue::S(sk.to_owned())),
            (stored.0.to_owned(), AttributeValue::B(Blob::new(stored.1))),
            (
                attr::VERSION.to_owned(),
                AttributeValue::N(Version::of(value).0.to_string()),
            ),
        ])
    }

    /// Keys in one partition whose sort key begins with `sort_prefix`, following every page.
    async fn query(
        &self,
        prefix: &str,
        partition: &str,
        sort_prefix: &str,
        now: f64,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .projection_expression("#p, #s, #e")
                .expression_attribute_names("#p", attr::PARTITION)
                .expression_attribute_names("#s", attr::SORT)
                .expression_attribute_names("#e", attr::EXPIRES)
                .expression_attribute_values(":p", AttributeValue::S(partition.to_owned()))
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start.take());
            // DynamoDB refuses an empty string in a key condition; an empty sort prefix is the
            // whole partition.
            q = if sort_prefix.is_empty() {
                q.key_condition_expression("#p = :p")
            } else {
                q.key_condition_expression("#p = :p AND begins_with(#s, :s)")
                    .expression_attribute_values(":s", AttributeValue::S(sort_prefix.to_owned()))
            };
            let out = q.send().await.map_err(|e| backend("Query", prefix, e))?;
            collect_keys(prefix, out.items.unwrap_or_default(), now, &mut keys)?;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// Keys in every partition whose name begins with `partition_prefix` (all of them for an
    /// empty prefix), following every page.
    async fn scan(
        &self,
        prefix: &str,
        partition_prefix: &str,
        now: f64,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .projection_expression("#p, #s, #e")
                .expression_attribute_names("#p", attr::PARTITION)
                .expression_attribute_names("#s", attr::SORT)
                .expression_attribute_names("#e", attr::EXPIRES)
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start.take());
            if !partition_prefix.is_empty() {
                q = q
                    .filter_expression("begins_with(#p, :p)")
                    .expression_attribute_values(
                        ":p",
                        AttributeValue::S(partition_prefix.to_owned()),
                    );
            }
            let out = q.send().await.map_err(|e| backend("Scan", prefix, e))?;
            collect_keys(prefix, out.items.unwrap_or_default(), now, &mut keys)?;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(keys)
    }
}

/// Appends the key of each listed item that begins with `prefix` and has not expired.
fn collect_keys(
    prefix: &str,
    items: Vec<HashMap<String, AttributeValue>>,
    now: f64,
    keys: &mut Vec<String>,
) -> Result<(), StoreError> {
    for item in items {
        let part = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("listed item without {name}")))
        };
        let key = format!("{}/{}", part(attr::PARTITION)?, part(attr::SORT)?);
        // A scan matches partitions by name prefix; the whole key must match too.
        if key.starts_with(prefix) && !expired(&key, &item, now)? {
            keys.push(key);
        }
    }
    Ok(())
}

/// Whether the item's expiry (if it has one) has passed.
fn expired(
    key: &str,
    item: &HashMap<String, AttributeValue>,
    now: f64,
) -> Result<bool, StoreError> {
    let Some(at) = item.get(attr::EXPIRES) else {
        return Ok(false);
    };
    let at = at
        .as_n()
        .ok()
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{key}: {} is not a number", attr::EXPIRES)))?;
    Ok(at <= now)
}

/// Values from this size on are stored deflated when that saves space (JSON documents shrink
/// three to five times); smaller ones could not save a billed unit.
const DEFLATE_FROM: usize = 1024;
/// The most a deflated value may grow back to: far above any value a 400 KB item can hold
/// deflated in practice, and a bound on what a corrupt item can make us allocate.
const MAX_INFLATED: usize = 64 * 1024 * 1024;

/// `value` deflated, if it is worth it.
fn deflated(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() < DEFLATE_FROM {
        return None;
    }
    let small = miniz_oxide::deflate::compress_to_vec(value, 6);
    (small.len() < value.len()).then_some(small)
}

fn value_of(key: &str, item: &HashMap<String, AttributeValue>) -> Result<Vec<u8>, StoreError> {
    let binary = |name: &str| item.get(name).and_then(|v| v.as_b().ok());
    if let Some(raw) = binary(attr::VALUE) {
        return Ok(raw.as_ref().to_vec());
    }
    let Some(small) = binary(attr::DEFLATED) else {
        return Err(StoreError::Corrupt(format!(
            "{key}: no binary {}",
            attr::VALUE
        )));
    };
    miniz_oxide::inflate::decompress_to_vec_with_limit(small.as_ref(), MAX_INFLATED).map_err(|e| {
        StoreError::Corrupt(format!("{key}: {} does not inflate: {e}", attr::DEFLATED))
    })
}

fn version_of(key: &str, item: &HashMap<String, AttributeValue>) -> Result<Version, StoreError> {
    item.get(attr::VERSION)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok())
        .map(Version)
        .ok_or_else(|| StoreError::Corrupt(format!("{key}: no numeric {}", attr::VERSION)))
}

/// A failed call as the port's backend error, with the SDK's whole error chain for the logs.
fn backend<E, R>(op: &str, key: &str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!(
        "DynamoDB {op} {key:?}: {}",
        DisplayErrorContext(&e)
    ))
}

impl Store for DynamoStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let Some(item) = self.get_item(key, true, true).await? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            value: value_of(key, &item)?,
            version: version_of(key, &item)?,
        }))
    }

    async fn get_value(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.get_item(key, false, true).await? {
            Some(item) => value_of(key, &item).map(Some),
            None => Ok(None),
        }
    }

    /// From the container's memory when read before; else an eventually consistent read (half
    /// the units: the content never changes, so any replica that has it has it right), and a
    /// strongly consistent one if that finds nothing (content committed a moment ago may not
    /// have reached every replica).
    async fn get_immutable(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.content.lock().ok().and_then(|c| c.get(key)) {
            return Ok(Some(v));
        }
        let item = match self.get_item(key, false, false).await? {
            Some(item) => Some(item),
            None => self.get_item(key, false, true).await?,
        };
        let Some(item) = item else {
            return Ok(None);
        };
        let value = value_of(key, &item)?;
        if let Ok(mut cache) = self.content.lock() {
            cache.insert(key, &value);
        }
        Ok(Some(value))
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let (pk, sk) = split_key(key)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(pk, sk, value)))
            .send()
            .await
            .map_err(|e| backend("PutItem", key, e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let (pk, sk) = split_key(key)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PARTITION, AttributeValue::S(pk.to_owned()))
            .key(attr::SORT, AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .map_err(|e| backend("DeleteItem", key, e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let now = now_epoch_seconds();
        let mut keys = match plan(prefix) {
            // No key has an empty partition.
            ListPlan::Query { partition: "", .. } => Vec::new(),
            ListPlan::Query {
                partition,
                sort_prefix,
            } => self.query(prefix, partition, sort_prefix, now).await?,
            ListPlan::Scan { partition_prefix } => self.scan(prefix, partition_prefix, now).await?,
        };
        // A Query returns one partition in sort-key order, which is key order already; a Scan
        // returns partitions in hash order.
        keys.sort();
        Ok(keys)
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let (pk, sk) = split_key(key)?;
        let now = AttributeValue::N(format!("{}", now_epoch_seconds()));
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(pk, sk, value)))
            .expression_attribute_names("#e", attr::EXPIRES)
            .expression_attribute_values(":now", now);
        let req = match expected {
            // Absent, or present only until DynamoDB's lazy TTL sweep gets to it.
            None => req
                .condition_expression("attribute_not_exists(#p) OR #e <= :now")
                .expression_attribute_names("#p", attr::PARTITION),
            Some(v) => req
                .condition_expression("#r = :r AND (attribute_not_exists(#e) OR #e > :now)")
                .expression_attribute_names("#r", attr::VERSION)
                .expression_attribute_values(":r", AttributeValue::N(v.0.to_string())),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            // A failed condition is the lost race; a transaction holding the item is one too
            // (the caller reads again and retries).
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_conditional_check_failed_exception()
                        || s.is_transaction_conflict_exception()
                }) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(backend("PutItem (conditional)", key, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_keys_split_after_the_business() {
        assert_eq!(
            split_key("biz/windy-city/calls/CA1").unwrap(),
            ("biz/windy-city", "calls/CA1")
        );
        assert_eq!(
            split_key("biz/windy-city/business").unwrap(),
            ("biz/windy-city", "business")
        );
    }

    #[test]
    fn global_keys_split_after_the_index_name() {
        assert_eq!(
            split_key("line/+15551234567").unwrap(),
            ("line", "+15551234567")
        );
        assert_eq!(
            split_key("pool/line/+1555").unwrap(),
            ("pool", "line/+1555")
        );
        assert_eq!(split_key("c/a").unwrap(), ("c", "a"));
    }

    #[test]
    fn keys_outside_the_layout_are_errors() {
        for bad in [
            "", "plain", "line/", "/x", "biz/x", "biz/x/", "biz//x", "biz/",
        ] {
            assert!(
                matches!(split_key(bad), Err(StoreError::Backend(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn prefixes_inside_a_partition_are_queries() {
        assert_eq!(
            plan("biz/a/calls/"),
            ListPlan::Query {
                partition: "biz/a",
                sort_prefix: "calls/"
            }
        );
        assert_eq!(
            plan("biz/a/"),
            ListPlan::Query {
                partition: "biz/a",
                sort_prefix: ""
            }
        );
        assert_eq!(
            plan("l/biz-a/"),
            ListPlan::Query {
                partition: "l",
                sort_prefix: "biz-a/"
            }
        );
    }

    #[test]
    fn prefixes_before_a_partition_is_named_are_scans() {
        for p in ["biz/", "biz/a", "", "bi", "line"] {
            assert_eq!(
                plan(p),
                ListPlan::Scan {
                    partition_prefix: p
                },
                "{p:?}"
            );
        }
    }

    #[test]
    fn expiry_in_the_past_hides_an_item() {
        let item =
            |at: &str| HashMap::from([(attr::EXPIRES.to_owned(), AttributeValue::N(at.into()))]);
        assert!(expired("k", &item("100"), 100.0).unwrap());
        assert!(!expired("k", &item("101"), 100.0).unwrap());
        assert!(!expired("k", &HashMap::new(), 100.0).unwrap());
        let text = HashMap::from([(attr::EXPIRES.to_owned(), AttributeValue::S("soon".into()))]);
        assert!(matches!(
            expired("k", &text, 1.0),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn the_content_cache_keeps_what_fits_and_lets_the_oldest_go_first() {
        let mut cache = ContentCache::default();
        let third = vec![7u8; CONTENT_CACHE_BYTES / 3];
        for key in ["a", "b", "c"] {
            cache.insert(key, &third);
        }
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        cache.insert("d", &third);
        assert_eq!(cache.get("a"), None, "the oldest went");
        assert_eq!(cache.get("d").as_deref(), Some(&third[..]));
        assert!(cache.bytes <= CONTENT_CACHE_BYTES);
        cache.insert("huge", &vec![0u8; CONTENT_CACHE_BYTES + 1]);
        assert_eq!(cache.get("huge"), None, "larger than the cache: not kept");
        assert!(cache.get("b").is_some(), "and nothing evicted for it");
    }

    #[test]
    fn large_compressible_values_are_stored_deflated_and_read_back_whole() {
        let json = br#"{"item":"pepperoni pizza","modifiers":["large"],"quantity":2}"#.repeat(40);
        let item = DynamoStore::item("biz/a", "carts/c", &json);
        assert!(!item.contains_key(attr::VALUE), "stored deflated");
        let small = item[attr::DEFLATED].as_b().unwrap().as_ref().len();
        assert!(small * 3 < json.len(), "{small} of {}", json.len());
        assert_eq!(value_of("k", &item).unwrap(), json);
        assert_eq!(
            version_of("k", &item).unwrap(),
            Version::of(&json),
            "the version is the value's, not its stored form's"
        );
        let tiny = DynamoStore::item("biz/a", "carts/c", b"{}");
        assert_eq!(value_of("k", &tiny).unwrap(), b"{}");
        assert!(!tiny.contains_key(attr::DEFLATED));
        let mut broken = item.clone();
        broken.insert(
            attr::DEFLATED.into(),
            AttributeValue::B(Blob::new(vec![0xff; 8])),
        );
        assert!(matches!(
            value_of("k", &broken),
            Err(StoreError::Corrupt(_))
        ));
    }
}
