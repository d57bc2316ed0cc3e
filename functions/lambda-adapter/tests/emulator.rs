//! The AWS adapters against a local emulator of DynamoDB's and S3's wire protocols (moto's
//! server, installed by scripts/aws-emulator): the shared Store and Blob contract suites, run
//! unchanged, then what only a networked backend can get wrong — racing compare-and-swaps,
//! listings longer than one page, the key layout, and expiry.
//!
//! Each test starts its own emulator on 127.0.0.1 (port 0; the emulator prints the port it got)
//! and stops it when the test ends. Nothing here leaves the machine: the endpoint is loopback and
//! the credentials are fixed fakes given to the SDK directly (no environment changes, which
//! would leak between tests running in parallel).

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use hostline_lambda_adapter::{DynamoStore, attr};
use hostline_shared::blob::Blobs;
use hostline_shared::store::{Store, StoreError, Version};
use support::moto::Emulator;

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
    // DynamoDB items hold at most 400 KB, key and attribute names included. The bytes are
    // noise, so deflating them does not make them fit.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let big: Vec<u8> = (0..500 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
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
