//! Importing a restaurant can't be half-done: cut short at every write, the state is the old
//! one or the new one; two imports racing for one line can't both take it.

use futures::executor::block_on;
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::publish::{
    ImportError, LineClaim, PENDING_CLAIM_SECONDS, import_restaurant, load_published,
    load_restaurant,
};
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{
    FaultyStore, MemoryStore, Store, StoreError, Version, Versioned, keys,
};
use hostline_shared::tenancy::{BusinessRecord, LineRoute, read_json, resolve_line};
use serde_json::{Value, json};

const BOBA: &str = include_str!("../../fixtures/restaurants/demo-boba.json");
const THAI: &str = include_str!("../../fixtures/restaurants/golden-lotus-thai.json");

fn now() -> jiff::Timestamp {
    "2026-11-20T18:00:00Z".parse().unwrap()
}

fn id(s: &str) -> BusinessId {
    BusinessId::parse(s).unwrap()
}

fn phone(s: &str) -> PhoneE164 {
    PhoneE164::parse_e164(s).unwrap()
}

/// `doc` with its phone lines replaced.
fn with_lines(doc: &str, lines: &[&str]) -> Restaurant {
    let mut v: Value = serde_json::from_str(doc).unwrap();
    v["business"]["phone_lines"] = Value::Array(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| json!({"e164": l, "label": format!("line {i}"), "priority": i + 1}))
            .collect(),
    );
    Restaurant::parse(&v.to_string()).unwrap()
}

const L1: &str = "+14155550101";
const L2: &str = "+14155550102";
const L3: &str = "+14155550103";

/// Everything a caller or an owner can observe of business `b` and lines L1-L3: who each line
/// routes to (and the revision it routes with), the exported document, and the bundle a tool
/// call reads (its revision and whether it was built from the exported document).
#[derive(Debug, PartialEq)]
struct View {
    routes: Vec<Option<(String, u64)>>,
    export: Option<Restaurant>,
    bundle: Option<(u64, bool)>,
}

fn view<S: Store>(s: &S, b: &BusinessId) -> View {
    block_on(async {
        let mut routes = Vec::new();
        for l in [L1, L2, L3] {
            routes.push(
                match resolve_line(s, Some(&phone(l)), None).await.unwrap() {
                    LineRoute::Active { business, .. } | LineRoute::Inactive { business, .. } => {
                        Some((business.id.to_string(), business.revision))
                    }
                    LineRoute::Unknown => None,
                },
            );
        }
        let record = read_json::<_, BusinessRecord>(s, &keys::business(b))
            .await
            .unwrap();
        let (export, bundle) = match &record {
            Some(r) => {
                let export = load_restaurant(s, r).await.unwrap();
                let bundle = load_published(s, r).await.unwrap().map(|p| {
                    let built_from_export = export.as_ref().is_some_and(|e| {
                        p.restaurant.business == e.business
                            && p.index.items().count() == e.items().count()
                    });
                    (p.revision, built_from_export)
                });
                (export, bundle)
            }
            None => (None, None),
        };
        View {
            routes,
            export,
            bundle,
        }
    })
}

#[test]
fn an_import_cut_short_at_any_write_leaves_the_old_state_or_the_new_one() {
    let b = id("boba");
    let old_doc = with_lines(BOBA, &[L1, L2]);
    let mut new_doc = with_lines(THAI, &[L2, L3]);
    new_doc.business.name = "Boba, renamed".into();

    // How many writes a whole import makes, and what the new state looks like.
    let reference = FaultyStore::new(MemoryStore::new());
    block_on(import_restaurant(&reference, &b, old_doc.clone(), now())).unwrap();
    let old_view = view(&reference, &b);
    reference.heal();
    block_on(import_restaurant(&reference, &b, new_doc.clone(), now())).unwrap();
    let writes = reference.writes();
    let new_view = view(&reference, &b);
    assert_ne!(old_view, new_view);
    assert!(
        writes >= 4,
        "claims, two staged values and the commit: {writes} writes"
    );

    for k in 1..=writes + 1 {
        let s = FaultyStore::new(MemoryStore::new());
        block_on(import_restaurant(&s, &b, old_doc.clone(), now())).unwrap();
        s.fail_from(k);
        let result = block_on(import_restaurant(&s, &b, new_doc.clone(), now()));
        let after = view(&s, &b);
        assert!(
            after == old_view || after == new_view,
            "cut at write {k} of {writes} ({}): a mix of old and new: {after:?}",
            if result.is_ok() {
                "import answered ok"
            } else {
                "import failed"
            }
        );
        if result.is_ok() {
            assert_eq!(
                after, new_view,
                "an import that answers ok is visible (cut at {k})"
            );
        }
        // Nothing is left stuck: the same import tried again goes through.
        s.heal();
        let again = block_on(import_restaurant(&s, &b, new_doc.clone(), now()));
        assert!(
            again.is_ok(),
            "retry after a cut at write {k}: {:?}",
            again.err()
        );
        let healed = view(&s, &b);
        assert_eq!(healed.routes[0], None, "L1 released (cut at {k})");
        assert_eq!(healed.export.as_ref(), Some(&new_doc));
        assert_eq!(healed.bundle.map(|(_, same)| same), Some(true));
    }
}

#[test]
fn old_revisions_are_retired_and_deleted_two_imports_later() {
    let s = MemoryStore::new();
    let b = id("boba");
    let mut doc = with_lines(BOBA, &[L1]);
    for n in 1..=4 {
        doc.business.name = format!("Boba {n}");
        block_on(import_restaurant(&s, &b, doc.clone(), now())).unwrap();
    }
    let staged = |prefix: String| block_on(s.list(&format!("{prefix}/"))).unwrap().len();
    // The current revision and the one before it; the older two are gone.
    assert_eq!(staged(keys::restaurant(&b)), 2);
    assert_eq!(staged(keys::knowledge(&b)), 2);
    assert_eq!(
        view(&s, &b).export.map(|r| r.business.name).as_deref(),
        Some("Boba 4")
    );
}

#[test]
fn a_reader_holding_the_previous_record_still_reads_a_whole_revision() {
    let s = MemoryStore::new();
    let b = id("boba");
    let mut doc = with_lines(BOBA, &[L1]);
    block_on(import_restaurant(&s, &b, doc.clone(), now())).unwrap();
    let stale: BusinessRecord = block_on(read_json(&s, &keys::business(&b)))
        .unwrap()
        .unwrap();
    for n in 2..=4 {
        doc.business.name = format!("Boba {n}");
        block_on(import_restaurant(&s, &b, doc.clone(), now())).unwrap();
    }
    // Revision 1's content is gone by now: the reader follows the record to the newest.
    let r = block_on(load_restaurant(&s, &stale)).unwrap().unwrap();
    assert_eq!(r.business.name, "Boba 4");
    let p = block_on(load_published(&s, &stale)).unwrap().unwrap();
    assert_eq!(
        (p.revision, p.restaurant.business.name.as_str()),
        (4, "Boba 4")
    );
}

#[test]
fn a_pending_claim_holds_until_its_deadline_then_frees_the_line() {
    let s = FaultyStore::new(MemoryStore::new());
    // Business a claims L3, then its import dies before the commit.
    s.fail_from(2);
    assert!(
        block_on(import_restaurant(
            &s,
            &id("aaa"),
            with_lines(BOBA, &[L3]),
            now()
        ))
        .is_err()
    );
    s.heal();
    let claim = block_on(s.get(&keys::line(&phone(L3)))).unwrap().unwrap();
    let claim = LineClaim::parse(&claim.value).unwrap();
    assert_eq!(claim.business_id, id("aaa"));
    assert!(claim.pending_until.is_some());
    // The pending claim routes nothing.
    assert_eq!(view(&s, &id("aaa")).routes[2], None);

    // Before the deadline, another business is told the line is taken.
    let thai = with_lines(THAI, &[L3]);
    match block_on(import_restaurant(&s, &id("thai"), thai.clone(), now())) {
        Err(ImportError::LineTaken { line, index: 0 }) => assert_eq!(line, phone(L3)),
        other => panic!("expected LineTaken, got {other:?}"),
    }
    // After it, the line is free.
    let later = now() + jiff::SignedDuration::from_secs(PENDING_CLAIM_SECONDS);
    block_on(import_restaurant(&s, &id("thai"), thai, later)).unwrap();
    assert_eq!(
        view(&s, &id("thai")).routes[2],
        Some(("thai".to_owned(), 1))
    );
}

#[test]
fn a_committed_line_is_never_taken_even_if_its_claim_was_never_settled() {
    let s = FaultyStore::new(MemoryStore::new());
    // Claim (1), stage (2, 3), commit (4); settling the claim (5) fails.
    s.fail_from(5);
    block_on(import_restaurant(
        &s,
        &id("aaa"),
        with_lines(BOBA, &[L3]),
        now(),
    ))
    .unwrap();
    s.heal();
    let claim = block_on(s.get(&keys::line(&phone(L3)))).unwrap().unwrap();
    assert!(
        LineClaim::parse(&claim.value)
            .unwrap()
            .pending_until
            .is_some()
    );
    let much_later = now() + jiff::SignedDuration::from_hours(48);
    assert!(matches!(
        block_on(import_restaurant(
            &s,
            &id("thai"),
            with_lines(THAI, &[L3]),
            much_later
        )),
        Err(ImportError::LineTaken { .. })
    ));
    assert_eq!(view(&s, &id("aaa")).routes[2], Some(("aaa".to_owned(), 1)));
}

/// A store that yields the thread around every operation, so concurrent imports interleave.
struct Jittery(MemoryStore);

fn jitter() {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    static SEED: AtomicU32 = AtomicU32::new(0x9e37_79b9);
    let mut x = SEED.load(Relaxed);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    SEED.store(x, Relaxed);
    for _ in 0..x % 4 {
        std::thread::yield_now();
    }
}

impl Store for Jittery {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        jitter();
        let r = self.0.get(key).await;
        jitter();
        r
    }
    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        jitter();
        self.0.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        jitter();
        self.0.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.list(prefix).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Version>,
        value: &[u8],
    ) -> Result<(), StoreError> {
        jitter();
        self.0.compare_and_swap(key, expected, value).await
    }
}

#[test]
fn two_imports_racing_for_one_new_line_never_both_take_it() {
    for race in 0..200 {
        let s = Jittery(MemoryStore::new());
        let results: Vec<Result<_, ImportError>> = std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                block_on(import_restaurant(
                    &s,
                    &id("aaa"),
                    with_lines(BOBA, &[L1, L3]),
                    now(),
                ))
            });
            let b = scope.spawn(|| {
                block_on(import_restaurant(
                    &s,
                    &id("bbb"),
                    with_lines(THAI, &[L2, L3]),
                    now(),
                ))
            });
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        let won: Vec<&str> = ["aaa", "bbb"]
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(b, _)| *b)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "race {race}: exactly one import wins: {results:?}"
        );
        for r in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, ImportError::LineTaken { .. } | ImportError::Busy),
                    "race {race}: the loser is told why: {e:?}"
                );
            }
        }
        let routes = view(&s, &id(won[0])).routes;
        assert_eq!(
            routes[2].as_ref().map(|(b, _)| b.as_str()),
            Some(won[0]),
            "race {race}: the shared line routes to the winner"
        );
        // Only the winner's record lists the line.
        for b in ["aaa", "bbb"] {
            let record: Option<BusinessRecord> =
                block_on(read_json(&s, &keys::business(&id(b)))).unwrap();
            let lists = record.is_some_and(|r| r.lines.contains(&phone(L3)));
            assert_eq!(lists, b == won[0], "race {race}: {b}'s record");
        }
    }
}

#[test]
fn a_bundle_stored_by_an_older_release_is_rebuilt_from_the_document() {
    let s = MemoryStore::new();
    let b = id("boba");
    let doc = with_lines(BOBA, &[L1]);
    block_on(import_restaurant(&s, &b, doc.clone(), now())).unwrap();
    let record: BusinessRecord = block_on(read_json(&s, &keys::business(&b)))
        .unwrap()
        .unwrap();
    let fresh = block_on(load_published(&s, &record)).unwrap().unwrap();
    // Overwrite the committed bundle with what older releases stored: the JSON of the bundle.
    let key = record.published.as_ref().unwrap().knowledge.clone();
    block_on(s.put(&key, &serde_json::to_vec(&fresh).unwrap())).unwrap();
    let rebuilt = block_on(load_published(&s, &record)).unwrap().unwrap();
    assert_eq!(rebuilt.revision, record.revision);
    assert_eq!(rebuilt.restaurant, fresh.restaurant);
    assert_eq!(
        rebuilt.index.items().collect::<Vec<_>>(),
        fresh.index.items().collect::<Vec<_>>()
    );
    let hit = |p: &hostline_shared::tenancy::Published| {
        p.index
            .search(
                "tarot milk tea",
                hostline_shared::knowledge::KindFilter::MENU,
                1,
            )
            .first()
            .map(|h| h.id.clone())
    };
    assert_eq!(hit(&rebuilt), hit(&fresh));
    assert!(hit(&fresh).is_some());
    // Bytes that are neither are a corrupt record, not a silent miss.
    block_on(s.put(&key, b"HLKB\x01\x00\x00\x00garbage")).unwrap();
    assert!(matches!(
        block_on(load_published(&s, &record)),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn an_import_keeps_the_record_of_calls_already_charged() {
    use hostline_shared::calls::CallSid;
    use hostline_shared::tenancy::update_json;
    let s = MemoryStore::new();
    let b = id("boba");
    block_on(import_restaurant(&s, &b, with_lines(BOBA, &[L1]), now())).unwrap();
    let sid = CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap();
    block_on(update_json::<_, BusinessRecord, _>(
        &s,
        &keys::business(&b),
        |r| {
            let mut r = r?;
            r.balance_seconds = Some(100);
            assert!(r.charge_call(sid.as_str(), 30));
            Some(r)
        },
    ))
    .unwrap();
    // An import lands between the charge and the retried report: the charge is still known.
    block_on(import_restaurant(&s, &b, with_lines(BOBA, &[L1]), now())).unwrap();
    let mut r: BusinessRecord = block_on(read_json(&s, &keys::business(&b)))
        .unwrap()
        .unwrap();
    assert_eq!(r.balance_seconds, Some(70));
    assert!(!r.charge_call(sid.as_str(), 30), "charged once");
    assert_eq!(r.balance_seconds, Some(70));
}

#[test]
fn a_call_never_outlasts_the_prepaid_balance() {
    let s = MemoryStore::new();
    let b = id("boba");
    block_on(import_restaurant(&s, &b, with_lines(BOBA, &[L1]), now())).unwrap();
    let mut r: BusinessRecord = block_on(read_json(&s, &keys::business(&b)))
        .unwrap()
        .unwrap();
    assert_eq!(r.max_call_seconds(1800), 1800, "unmetered");
    for (balance, max) in [(95, 95), (5000, 1800), (0, 0), (-40, 0), (i64::MAX, 1800)] {
        r.balance_seconds = Some(balance);
        assert_eq!(r.max_call_seconds(1800), max, "balance {balance}");
    }
}

#[test]
fn an_availability_change_cut_short_at_any_write_leaves_the_old_menu_or_the_new_one() {
    use hostline_shared::publish::{import_at, set_availability};
    let item = "taro-milk-tea".to_owned();
    let state = |s: &FaultyStore<MemoryStore>| {
        let r: BusinessRecord = block_on(read_json(s, &keys::business(&id("boba"))))
            .unwrap()
            .unwrap();
        let doc = block_on(load_restaurant(s, &r)).unwrap().unwrap();
        let bundle = block_on(load_published(s, &r)).unwrap().unwrap();
        let in_doc = doc.items().find(|(_, i)| i.id == item).unwrap().1.available;
        let in_bundle = bundle
            .index
            .items()
            .find(|i| i.id == item)
            .unwrap()
            .available;
        assert_eq!(in_doc, in_bundle, "the document and the bundle agree");
        assert_eq!(bundle.revision, r.revision);
        (r.revision, in_doc)
    };
    let (mut cut, mut done) = (0, 0);
    for k in 1..=8 {
        let s = FaultyStore::new(MemoryStore::new());
        block_on(import_restaurant(
            &s,
            &id("boba"),
            with_lines(BOBA, &[L1]),
            now(),
        ))
        .unwrap();
        s.fail_from(k);
        let r = block_on(set_availability(
            &s,
            &id("boba"),
            &[(item.clone(), false)],
            now(),
        ));
        s.heal();
        match r {
            Ok(_) => {
                done += 1;
                assert_eq!(state(&s), (2, false));
            }
            Err(_) => {
                cut += 1;
                assert_eq!(state(&s), (1, true), "cut at write {k}");
            }
        }
    }
    assert!(
        cut >= 2 && done >= 1,
        "both outcomes were tried: {cut} cut, {done} done"
    );
    // A change derived from revision 1 is refused once another import made revision 2.
    let s = MemoryStore::new();
    block_on(import_restaurant(
        &s,
        &id("boba"),
        with_lines(BOBA, &[L1]),
        now(),
    ))
    .unwrap();
    block_on(import_restaurant(
        &s,
        &id("boba"),
        with_lines(BOBA, &[L1]),
        now(),
    ))
    .unwrap();
    let stale = block_on(import_at(
        &s,
        &id("boba"),
        with_lines(BOBA, &[L1]),
        now(),
        Some(1),
    ));
    assert!(matches!(stale, Err(ImportError::Busy)), "{stale:?}");
    let r = block_on(set_availability(
        &s,
        &id("boba"),
        &[("nope".into(), false)],
        now(),
    ));
    assert!(r.is_err());
}
