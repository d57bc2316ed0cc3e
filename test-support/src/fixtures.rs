//! The repo's sample restaurants (`fixtures/restaurants/`) and a store seeded with them, for
//! the handlers' native tests. Every test that needs "the three sample businesses" gets the
//! same ones, under the same ids, imported the same way (`hostline_shared::publish`).

use futures::executor::block_on;
use hostline_shared::ids::BusinessId;
use hostline_shared::publish::import_restaurant;
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::MemoryStore;
use serde_json::{Value, json};

pub const BOBA: &str = include_str!("../../fixtures/restaurants/demo-boba.json");
pub const THAI: &str = include_str!("../../fixtures/restaurants/golden-lotus-thai.json");
pub const PIZZA: &str = include_str!("../../fixtures/restaurants/windy-city-slice.json");

/// (business id, document) of every sample, in a fixed order.
pub const SAMPLES: [(&str, &str); 3] = [("boba", BOBA), ("thai", THAI), ("pizza", PIZZA)];

/// When [`seeded`] imports the samples: Friday 2026-11-20, 18:00 UTC.
pub const SEEDED_AT: &str = "2026-11-20T18:00:00Z";

/// A store holding the three samples, each under its [`SAMPLES`] id.
pub fn seeded() -> MemoryStore {
    let s = MemoryStore::new();
    for (id, doc) in SAMPLES {
        import(&s, id, doc);
    }
    s
}

/// Import `doc` for business `id` into `s`; panics (naming the business) if it is refused.
pub fn import(s: &MemoryStore, id: &str, doc: &str) {
    let Ok(business) = BusinessId::parse(id) else {
        panic!("{id} is not a business id");
    };
    let restaurant = match Restaurant::parse(doc) {
        Ok(r) => r,
        Err(e) => panic!("sample {id} does not parse: {e}"),
    };
    let now: jiff::Timestamp = match SEEDED_AT.parse() {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = block_on(import_restaurant(s, &business, restaurant, now)) {
        panic!("importing {id}: {e}");
    }
}

/// The business id of a sample document.
pub fn id_of(doc: &str) -> &'static str {
    match SAMPLES.iter().find(|(_, d)| *d == doc) {
        Some((id, _)) => id,
        None => panic!("not one of the samples"),
    }
}

/// A document's phone lines (E.164), in document order.
pub fn lines_of(doc: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(doc).unwrap_or_default();
    v["business"]["phone_lines"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l["e164"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A document's business name.
pub fn name_of(doc: &str) -> String {
    let v: Value = serde_json::from_str(doc).unwrap_or_default();
    v["business"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `doc` with its phone lines replaced by `lines` (as JSON text).
pub fn with_lines(doc: &str, lines: &[&str]) -> String {
    let mut v: Value = serde_json::from_str(doc).unwrap_or_default();
    v["business"]["phone_lines"] = Value::Array(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| json!({"e164": l, "label": format!("line {i}"), "priority": i + 1}))
            .collect(),
    );
    v.to_string()
}
