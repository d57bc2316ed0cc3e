//! The AWS adapters against a local emulator of DynamoDB's and S3's wire protocols (moto's
//! server, installed by scripts/aws-emulator): the shared Store and Blob contract suites, run
//! unchanged, then what only a networked backend can get wrong — racing compare-and-swaps,
//! listings longer than one page, the key layout, and expiry.
//!
//! Each test starts its own emulator on 127.0.0.1 (port 0; the emulator prints the port it got)
//! and stops it when the test ends. Nothing here leaves the machine: the endpoint is loopback and
//! the credentials are fixed fakes given to the SDK directly (no environment changes, which
//! would leak between tests running in parallel).

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use hostline_lambda_adapter::{
    DynamoStore, S3Blobs, attr, config_loader, dynamo_client, s3_client,
};
use hostline_shared::blob::Blobs;
use hostline_shared::store::{Store, StoreError, Version};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// Where the emulator's python is: `HOSTLINE_MOTO_PYTHON` (scripts/test sets it), else the venv
/// scripts/aws-emulator makes under this target directory.
fn python() -> PathBuf {
    let python = match std::env::var_os("HOSTLINE_MOTO_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            // CARGO_TARGET_TMPDIR is `<target>/tmp`.
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            tmp.parent()
                .unwrap_or(&tmp)
                .join("aws-emulator-venv/bin/python")
        }
    };
    // Never a silent skip: without the emulator these tests have nothing to test against.
    assert!(
        python.exists(),
        "the local AWS emulator (moto) is not installed: run scripts/test, or scripts/aws-emulator \
         once before `cargo test` (looked for {})",
        python.display()
    );
    python
}

/// The emulator's process. Dropping it stops the emulator; so does this test process ending any
/// other way (the emulator exits when its stdin, held here, closes).
struct Emulator {
    child: Child,
    _stdin: ChildStdin,
    url: String,
}

/// Runs moto's server, with a thread that ends it once stdin reaches end of file, serving one
/// request at a time. moto checks a write's condition and then writes without a lock, so on its
/// usual threaded server two racing conditional writes can both pass (seen here: 2 and 3
/// winners of 12 in a round); DynamoDB and S3 apply each conditional write atomically. Serving
/// requests one by one gives the emulator that guarantee, so the race tests below check what is
/// ours: that the conditions sent let exactly one of the racers through, whatever the order.
const LAUNCH: &str = r#"
import os, sys, threading
import moto.server
from werkzeug.serving import run_simple
def watch():
    sys.stdin.buffer.read()
    os._exit(0)
def one_at_a_time(*args, **kwargs):
    kwargs["threaded"] = False
    run_simple(*args, **kwargs)
threading.Thread(target=watch, daemon=True).start()
moto.server.run_simple = one_at_a_time
moto.server.main(["-H", "127.0.0.1", "-p", "0"])
"#;

impl Emulator {
    fn start() -> Emulator {
        let log = tempfile::NamedTempFile::new().expect("a temporary file for the emulator log");
        let mut child = Command::new(python())
            .args(["-c", LAUNCH])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("reopen the emulator log"))
            .spawn()
            .expect("start the emulator");
        let stdin = child.stdin.take().expect("the emulator's stdin");
        let mut emulator = Emulator {
            child,
            _stdin: stdin,
            url: String::new(),
        };
        // Bounded by count: the emulator normally says where it listens within a second or two.
        for _ in 0..1200 {
            let mut text = String::new();
            let _ = std::fs::File::open(log.path()).and_then(|mut f| f.read_to_string(&mut text));
            if let Some(url) = listening_url(&text) {
                emulator.url = url;
                return emulator;
            }
            if let Ok(Some(status)) = emulator.child.try_wait() {
                panic!("the emulator exited ({status}) before listening:\n{text}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the emulator did not say where it listens");
    }

    async fn config(&self) -> SdkConfig {
        config_loader(Some(&self.url))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
            .load()
            .await
    }

    /// A fresh table laid out as the SAM template lays it out, with its TTL attribute.
    async fn store(&self) -> DynamoStore {
        let client = dynamo_client(&self.config().await);
        let table = "hostline";
        let def = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema element")
        };
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(def(attr::PARTITION))
            .attribute_definitions(def(attr::SORT))
            .key_schema(key(attr::PARTITION, KeyType::Hash))
            .key_schema(key(attr::SORT, KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create the table");
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr::EXPIRES)
                    .enabled(true)
                    .build()
                    .expect("TTL specification"),
            )
            .send()
            .await
            .expect("turn on TTL");
        DynamoStore::new(client, table)
    }

    async fn blobs(&self) -> S3Blobs {
        let client = s3_client(&self.config().await, true);
        let bucket = "hostline-blobs";
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create the bucket");
        S3Blobs::new(client, bucket)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in werkzeug's " * Running on http://127.0.0.1:PORT" line.
fn listening_url(log: &str) -> Option<String> {
    let at = log.find("Running on http://")? + "Running on ".len();
    let url: String = log[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.'))
        .collect();
    url.rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .then_some(url)
}

#[tokio::test]
async fn dynamo_store_passes_the_store_contract() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    hostline_shared::store::contract::run(&store).await;
}

#[tokio::test]
async fn s3_blobs_pass_the_blob_contract() {
    let emulator = Emulator::start();
    let blobs = emulator.blobs().await;
    hostline_shared::blob::contract::run(&blobs).await;
}

#[tokio::test]
async fn s3_blobs_hold_transcripts_under_their_tenant() {
    let emulator = Emulator::start();
    let blobs = emulator.blobs().await;
    let b = hostline_shared::ids::BusinessId::parse("windy-city").expect("business id");
    let call = hostline_shared::call_log::VapiCallId::parse("call-1").expect("call id");
    let key = hostline_shared::blob::keys::transcript(&b, jiff::civil::date(2026, 3, 7), &call);
    assert!(blobs.put_if_absent(&key, b"{}").await.unwrap());
    // The object key is the blob key: one business's transcripts are one S3 prefix.
    let head = blobs
        .client()
        .head_object()
        .bucket(blobs.bucket())
        .key("transcripts/windy-city/2026/03/07/call-1.json")
        .send()
        .await;
    assert!(head.is_ok(), "object at the blob key: {head:?}");
    assert_eq!(
        blobs.list("transcripts/windy-city/").await.unwrap(),
        [key.as_str()]
    );
}

#[tokio::test]
async fn keys_live_in_their_tenant_or_index_partition() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    for key in [
        "biz/windy-city/business",
        "biz/windy-city/calls/CA1",
        "biz/windy-city/calls/CA2",
        "biz/bay-grill/business",
        "line/+15551234567",
        "bizarre/not-a-business",
    ] {
        store.put(key, key.as_bytes()).await.unwrap();
    }
    let raw = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(attr::PARTITION, AttributeValue::S("biz/windy-city".into()))
        .key(attr::SORT, AttributeValue::S("calls/CA1".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw read");
    assert!(
        raw.item.is_some(),
        "a business key's partition is biz/{{id}}"
    );
    let raw = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(attr::PARTITION, AttributeValue::S("line".into()))
        .key(attr::SORT, AttributeValue::S("+15551234567".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw read");
    assert!(
        raw.item.is_some(),
        "a global key's partition is its index name"
    );

    assert_eq!(
        store.list("biz/windy-city/calls/").await.unwrap(),
        ["biz/windy-city/calls/CA1", "biz/windy-city/calls/CA2"],
        "a prefix inside one business"
    );
    // The operator's list of every business spans partitions (a Scan).
    assert_eq!(
        store.list("biz/").await.unwrap(),
        [
            "biz/bay-grill/business",
            "biz/windy-city/business",
            "biz/windy-city/calls/CA1",
            "biz/windy-city/calls/CA2",
        ],
        "a prefix across businesses, and only businesses"
    );
    assert_eq!(
        store.list("biz/windy").await.unwrap(),
        [
            "biz/windy-city/business",
            "biz/windy-city/calls/CA1",
            "biz/windy-city/calls/CA2",
        ],
        "a prefix ending inside a business id"
    );
    assert_eq!(
        store.list("line/+1555").await.unwrap(),
        ["line/+15551234567"]
    );
}

#[tokio::test]
async fn keys_outside_the_layout_are_errors_not_panics() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    for bad in ["plain", "biz/only-a-business", "line/"] {
        assert!(
            matches!(store.put(bad, b"x").await, Err(StoreError::Backend(_))),
            "put {bad:?}"
        );
        assert!(matches!(store.get(bad).await, Err(StoreError::Backend(_))));
        assert!(matches!(
            store.compare_and_swap(bad, None, b"x").await,
            Err(StoreError::Backend(_))
        ));
    }
    assert_eq!(store.list("/nothing").await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn racing_compare_and_swaps_have_one_winner_per_version() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    let key = "biz/windy-city/balance";
    store.put(key, b"start").await.unwrap();
    for round in 0..5 {
        let read = store.get(key).await.unwrap().expect("the key exists");
        // Every contender read the same version; all write at once.
        let values: Vec<String> = (0..12).map(|i| format!("round {round} by {i}")).collect();
        let results = futures::future::join_all(
            values
                .iter()
                .map(|v| store.compare_and_swap(key, Some(read.version), v.as_bytes())),
        )
        .await;
        let winners: Vec<&String> = values
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(v, _)| v)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || *r == Err(StoreError::Conflict)),
            "losers conflict: {results:?}"
        );
        assert_eq!(
            store.get(key).await.unwrap().expect("still there").value,
            winners[0].as_bytes(),
            "the stored value is the winner's"
        );
    }
    // Creating: one of many creators wins.
    let values: Vec<[u8; 1]> = (0..12u8).map(|i| [i]).collect();
    let results = futures::future::join_all(
        values
            .iter()
            .map(|v| store.compare_and_swap("line/+15550001111", None, v)),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
}

#[tokio::test]
async fn concurrent_increments_lose_nothing() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    let key = "biz/windy-city/order-counter/2026-03-07";
    let worker = |store: &DynamoStore| {
        let store = store.clone();
        async move {
            for _ in 0..10 {
                loop {
                    let cur = store.get(key).await.unwrap();
                    let (n, at): (u64, Option<Version>) = match &cur {
                        Some(v) => (
                            std::str::from_utf8(&v.value).unwrap().parse().unwrap(),
                            Some(v.version),
                        ),
                        None => (0, None),
                    };
                    match store
                        .compare_and_swap(key, at, (n + 1).to_string().as_bytes())
                        .await
                    {
                        Ok(()) => break,
                        Err(StoreError::Conflict) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }
    };
    futures::future::join_all((0..6).map(|_| worker(&store))).await;
    assert_eq!(
        store.get_value(key).await.unwrap().as_deref(),
        Some(&b"60"[..])
    );
}

#[tokio::test]
async fn listing_follows_every_page() {
    let emulator = Emulator::start();
    // Five items a page: each listing below takes several.
    let store = emulator.store().await.with_page_limit(5);
    let mut expected = Vec::new();
    for i in 0..37 {
        let key = format!("biz/windy-city/call-index/{i:03}");
        store.put(&key, b"x").await.unwrap();
        expected.push(key);
    }
    for i in 0..8 {
        store
            .put(&format!("biz/windy-city/calls/{i}"), b"x")
            .await
            .unwrap();
        store
            .put(&format!("biz/bay-grill/call-index/{i}"), b"x")
            .await
            .unwrap();
    }
    assert_eq!(
        store.list("biz/windy-city/call-index/").await.unwrap(),
        expected,
        "a query over many pages"
    );
    let all = store.list("biz/").await.unwrap();
    assert_eq!(all.len(), 37 + 8 + 8, "a scan over many pages");
    assert!(all.is_sorted(), "scan results sorted");
}

#[tokio::test]
async fn expired_items_read_as_absent() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    // The emulator, like DynamoDB for days after the time passes, still holds expired items.
    let raw_put = |sort: &str, value: &[u8], expires_at: &str| {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .item(attr::PARTITION, AttributeValue::S("throttle".into()))
            .item(attr::SORT, AttributeValue::S(sort.into()))
            .item(
                attr::VALUE,
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(value)),
            )
            .item(
                attr::VERSION,
                AttributeValue::N(Version::of(value).0.to_string()),
            )
            .item(attr::EXPIRES, AttributeValue::N(expires_at.into()))
            .send()
    };
    raw_put("login/gone", b"old", "1000")
        .await
        .expect("raw put");
    raw_put("login/live", b"new", "99999999999")
        .await
        .expect("raw put");

    assert_eq!(store.get("throttle/login/gone").await.unwrap(), None);
    assert_eq!(store.get_value("throttle/login/gone").await.unwrap(), None);
    assert_eq!(
        store
            .get_value("throttle/login/live")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"new"[..])
    );
    assert_eq!(
        store.list("throttle/").await.unwrap(),
        ["throttle/login/live"],
        "listing skips expired items"
    );
    assert_eq!(
        store
            .compare_and_swap("throttle/login/gone", Some(Version::of(b"old")), b"x")
            .await,
        Err(StoreError::Conflict),
        "an expired item has no version to swap from"
    );
    store
        .compare_and_swap("throttle/login/gone", None, b"fresh")
        .await
        .expect("an expired item may be created again");
    assert_eq!(
        store
            .get_value("throttle/login/gone")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"fresh"[..]),
        "the new item has no expiry"
    );
    assert_eq!(
        store
            .compare_and_swap("throttle/login/live", None, b"x")
            .await,
        Err(StoreError::Conflict),
        "an item not yet expired is present"
    );
}

#[tokio::test]
async fn racing_blob_writes_have_one_winner() {
    let emulator = Emulator::start();
    let blobs = emulator.blobs().await;
    let key = "transcripts/windy-city/2026/03/07/call-9.json";
    let values: Vec<String> = (0..8).map(|i| format!("writer {i}")).collect();
    let results = futures::future::join_all(
        values
            .iter()
            .map(|v| blobs.put_if_absent(key, v.as_bytes())),
    )
    .await;
    let winners: Vec<&String> = values
        .iter()
        .zip(&results)
        .filter(|(_, r)| **r == Ok(true))
        .map(|(v, _)| v)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(
        blobs.get(key).await.unwrap().as_deref(),
        Some(winners[0].as_bytes())
    );
}

#[tokio::test]
async fn a_value_over_the_item_limit_is_an_error_and_writes_nothing() {
    let emulator = Emulator::start();
    let store = emulator.store().await;
    let key = "biz/windy-city/knowledge";
    store.put(key, b"small").await.unwrap();
    // DynamoDB items hold at most 400 KB, key and attribute names included.
    let big = vec![7u8; 500 * 1024];
    assert!(
        matches!(store.put(key, &big).await, Err(StoreError::Backend(_))),
        "put over the limit"
    );
    let at = store.get(key).await.unwrap().map(|v| v.version);
    assert!(matches!(
        store.compare_and_swap(key, at, &big).await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(
        store.get_value(key).await.unwrap().as_deref(),
        Some(&b"small"[..]),
        "the old value stays"
    );
}
