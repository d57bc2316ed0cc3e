//! Search quality on restaurants of other cuisines, from query sets kept as data, each written
//! blind by a helper session that saw the menu, not the search code or any other set:
//! - `<restaurant>.json` (set "tuning") and `<restaurant>.tuning-2.json` (a second, larger
//!   round written later): tuned on, their misses listed with `QUERY_SETS_VERBOSE=1`;
//! - `<restaurant>.held-out.json` (written after the first tuning round) and
//!   `<restaurant>.held-out-2.json` (written during the second and first run after it): never
//!   tuned on, only their counts are printed.
//!
//! A query is right when the top hit is the one wanted (`want`), one of the two a genuinely
//! ambiguous query may mean (`want_either`), or, for something the restaurant does not have
//! (`want: null`), when nothing comes back at Medium or above. Top-1 accuracy is printed per
//! restaurant and set, and per class for the tuned sets (`-- --nocapture`); misses are listed
//! for tuned sets only (`QUERY_SETS_VERBOSE=1`), so the held-out sets stay blind.

use hostline_shared::knowledge::{Confidence, EntryKind, Hit, KindFilter, KnowledgeIndex};
use hostline_shared::restaurant::Restaurant;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-1 floor of every set, tuned and held-out alike: a little below the lowest figure
/// measured (the goal is 0.95; see the README).
const FLOOR: f64 = 0.80;

#[derive(Deserialize)]
struct QuerySet {
    restaurant: String,
    set: String,
    queries: Vec<Query>,
}

#[derive(Deserialize)]
struct Query {
    q: String,
    filter: String,
    #[serde(default)]
    want: Option<Want>,
    #[serde(default)]
    want_either: Option<Vec<Want>>,
    class: String,
}

#[derive(Deserialize, Clone, PartialEq, Debug)]
struct Want {
    kind: String,
    id: String,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn sets() -> Vec<QuerySet> {
    let dir = fixtures().join("queries");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

fn index_of(restaurant: &str) -> KnowledgeIndex {
    let path = fixtures().join(format!("restaurants/{restaurant}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = Restaurant::parse(&text).unwrap_or_else(|e| panic!("{restaurant}: {e}"));
    KnowledgeIndex::build(&doc)
}

fn filter(name: &str) -> KindFilter {
    match name {
        "menu" => KindFilter::MENU,
        "modifiers" => KindFilter::MODIFIERS,
        "faq" => KindFilter::FAQ,
        "all" => KindFilter::ALL,
        other => panic!("unknown filter {other:?}"),
    }
}

fn kind(name: &str) -> EntryKind {
    match name {
        "item" => EntryKind::Item,
        "category" => EntryKind::Category,
        "option" => EntryKind::ModifierOption,
        "group" => EntryKind::ModifierGroup,
        "faq" => EntryKind::Faq,
        other => panic!("unknown kind {other:?}"),
    }
}

fn is(hit: &Hit, want: &Want) -> bool {
    hit.kind == kind(&want.kind) && hit.id == want.id
}

/// Whether the search answered `query` right, and what it answered.
fn judge(index: &KnowledgeIndex, query: &Query) -> (bool, String) {
    let hits = index.search(&query.q, filter(&query.filter), 3);
    let top = hits.first();
    let said = match top {
        Some(h) => format!("{:?} {} ({:.2} {:?})", h.kind, h.id, h.score, h.confidence),
        None => "nothing".to_owned(),
    };
    let right = match (&query.want, &query.want_either) {
        (Some(w), _) => top.is_some_and(|h| is(h, w)),
        (None, Some(either)) => top.is_some_and(|h| either.iter().any(|w| is(h, w))),
        (None, None) => top.is_none_or(|h| h.confidence < Confidence::Medium),
    };
    (right, said)
}

#[test]
fn query_sets_meet_their_floor() {
    let verbose = std::env::var_os("QUERY_SETS_VERBOSE").is_some();
    let mut indexes: BTreeMap<String, KnowledgeIndex> = BTreeMap::new();
    let mut below = Vec::new();
    let sets = sets();
    assert!(!sets.is_empty(), "no query sets in fixtures/queries");
    for set in &sets {
        let index = indexes
            .entry(set.restaurant.clone())
            .or_insert_with(|| index_of(&set.restaurant));
        let tuned = set.set.starts_with("tuning");
        let mut by_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut misses = Vec::new();
        for q in &set.queries {
            let (right, said) = judge(index, q);
            let c = by_class.entry(q.class.as_str()).or_default();
            c.1 += 1;
            if right {
                c.0 += 1;
            } else {
                misses.push(format!("{:?} [{}] → {said}", q.q, q.class));
            }
        }
        let ok: usize = by_class.values().map(|c| c.0).sum();
        let n = set.queries.len();
        let accuracy = ok as f64 / n.max(1) as f64;
        println!(
            "{} ({}): top-1 {ok}/{n} = {:.1}%",
            set.restaurant,
            set.set,
            accuracy * 100.0
        );
        if tuned {
            let classes: Vec<String> = by_class
                .iter()
                .map(|(c, (ok, n))| format!("{c} {ok}/{n}"))
                .collect();
            println!("  {}", classes.join(", "));
            if verbose {
                for m in &misses {
                    println!("  MISS {m}");
                }
            }
        }
        if n == 0 || accuracy < FLOOR {
            below.push(format!(
                "{} ({}): {:.3} below {FLOOR}",
                set.restaurant, set.set, accuracy
            ));
        }
    }
    assert!(below.is_empty(), "{}", below.join("\n"));
}

/// Every expected answer names something the restaurant has: a query set that drifted from
/// its menu would score misses that are not the search's.
#[test]
fn query_sets_name_what_the_menus_have() {
    for set in sets() {
        let doc_path = fixtures().join(format!("restaurants/{}.json", set.restaurant));
        let text = std::fs::read_to_string(&doc_path).unwrap_or_default();
        let doc = Restaurant::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", set.restaurant));
        let exists = |w: &Want| match w.kind.as_str() {
            "item" => doc.items().any(|(_, i)| i.id == w.id),
            "category" => doc.menu.categories.iter().any(|c| c.name == w.id),
            "option" => doc
                .menu
                .modifier_groups
                .iter()
                .any(|g| g.options.iter().any(|o| o.id == w.id)),
            "group" => doc.menu.modifier_groups.iter().any(|g| g.id == w.id),
            "faq" => w.id.parse::<usize>().is_ok_and(|i| i < doc.faq.len()),
            _ => false,
        };
        for q in &set.queries {
            filter(&q.filter);
            let wants: Vec<&Want> = q
                .want
                .iter()
                .chain(q.want_either.iter().flatten())
                .collect();
            for w in wants {
                assert!(exists(w), "{}: {:?} wants {w:?}", set.restaurant, q.q);
            }
            if let Some(e) = &q.want_either {
                assert_eq!(e.len(), 2, "{}: {:?}", set.restaurant, q.q);
            }
        }
    }
}
