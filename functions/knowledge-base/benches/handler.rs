//! One knowledge tool call through the handler, natively, on the demo restaurant: the whole
//! request (credential, routing, loading the stored bundle, search, answer) against, in the
//! same run, the part the stored bundle's format decides: loading it as stored today (binary)
//! and as it was stored before (the JSON of the bundle with the whole document).
//!
//! `cargo bench -p hostline-knowledge-base --bench handler`. With `HANDLER_ONLY=1` it runs
//! only the whole handler, for `valgrind --tool=callgrind` (instruction counts do not depend on
//! the machine's load).

use futures::executor::block_on;
use hostline_knowledge_base::handler::{Config, handle};
use hostline_shared::credential::{TOOL_TOKEN_HEADER, ToolCredential};
use hostline_shared::http::{Method, Request};
use hostline_shared::ids::BusinessId;
use hostline_shared::knowledge::KindFilter;
use hostline_shared::phone::PhoneE164;
use hostline_shared::publish::load_published;
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{Store, keys};
use hostline_shared::tenancy::{BusinessRecord, Published, read_json};
use hostline_test_support::fixtures::{BOBA, lines_of, seeded};
use std::hint::black_box;
use std::time::{Duration, Instant};

const KEY: &str = "bench-tool-token-key";
const ROUNDS: u32 = 2000;

fn per_call(mut f: impl FnMut()) -> Duration {
    for _ in 0..ROUNDS / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..ROUNDS {
        f();
    }
    t.elapsed() / ROUNDS
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let store = seeded();
    let line = lines_of(BOBA)[0].clone();
    let now = jiff::Timestamp::now();
    let token = ToolCredential::issue(
        BusinessId::parse("boba").unwrap_or_else(|e| panic!("{e}")),
        PhoneE164::parse_e164(&line).unwrap_or_else(|e| panic!("{e}")),
        now.as_second(),
    )
    .sign(KEY.as_bytes())
    .unwrap_or_else(|e| panic!("{e}"));
    let body = serde_json::json!({"message": {"type": "tool-calls", "call": {"id": "c1"},
        "toolCallList": [{"id": "t1", "function": {"name": "get_menu_info",
            "arguments": {"query": "tarot milk tea"}}}]}})
    .to_string();
    let req = Request::new(Method::Post, "/vapi/knowledge-base")
        .with_header(TOOL_TOKEN_HEADER, &token)
        .with_body(body);
    let config = Config {
        tool_token_key: KEY.into(),
    };
    let answer = block_on(handle(&req, &store, &config, now));
    assert_eq!(answer.status, 200, "{}", answer.body_str());
    assert!(
        answer.body_str().contains("Taro Milk Tea"),
        "{}",
        answer.body_str()
    );
    let whole = per_call(|| {
        black_box(block_on(handle(black_box(&req), &store, &config, now)));
    });
    if std::env::var_os("HANDLER_ONLY").is_some() {
        println!("HANDLER_ONLY {:.1} us per call", us(whole));
        return;
    }

    // The stored bundle, and the JSON bundle older releases stored (with the whole document).
    let boba = BusinessId::parse("boba").unwrap_or_else(|e| panic!("{e}"));
    let record: BusinessRecord = block_on(read_json(&store, &keys::business(&boba)))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("seeded record"));
    let key = record
        .published
        .as_ref()
        .map(|p| p.knowledge.clone())
        .unwrap_or_default();
    let binary = block_on(store.get(&key))
        .ok()
        .flatten()
        .map(|v| v.value)
        .unwrap_or_default();
    let full = Restaurant::parse(BOBA).unwrap_or_else(|e| panic!("{e}"));
    let mut old = Published::build(record.id.clone(), record.revision, full.clone());
    old.restaurant = full;
    let old_json = serde_json::to_vec(&old).unwrap_or_default();
    // Loading includes the first search, which derives the typo tables either way.
    let load_binary = per_call(|| {
        let p = Published::decode(black_box(&binary)).unwrap_or_else(|e| panic!("{e}"));
        black_box(p.index.search("taro", KindFilter::MENU, 1));
    });
    let load_json = per_call(|| {
        let p: Published =
            serde_json::from_slice(black_box(&old_json)).unwrap_or_else(|e| panic!("{e}"));
        black_box(p.index.search("taro", KindFilter::MENU, 1));
    });
    let load_via_store = per_call(|| {
        black_box(block_on(load_published(&store, &record)).ok());
    });

    println!("knowledge tool call on the demo restaurant, natively, {ROUNDS} rounds:");
    println!(
        "  whole handler (credential, routing, bundle, search, answer): {:>7.1} us",
        us(whole)
    );
    println!(
        "  stored bundle {:.1} KiB binary: load + first search {:>7.1} us (through the store {:.1} us)",
        binary.len() as f64 / 1024.0,
        us(load_binary),
        us(load_via_store)
    );
    println!(
        "  the JSON bundle of before, {:.1} KiB:   load + first search {:>7.1} us  ({:.1}x the binary)",
        old_json.len() as f64 / 1024.0,
        us(load_json),
        load_json.as_secs_f64() / load_binary.as_secs_f64().max(1e-12)
    );
}
