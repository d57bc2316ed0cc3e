//! Knowledge index benchmark on a synthetic 500-item menu: build time, stored size, load
//! (deserialize) time, what a loaded index's first search costs over later ones (nothing is
//! left to derive: the typo tables are stored), and search latency (mean, p50, p99) over a
//! mixed query set (exact names, typos, sound-alikes, descriptions, misses), against a naive
//! baseline run in the same process: Jaro-Winkler of the query against every item name.
//!
//! `cargo bench -p hostline-shared --bench search`. A plain binary (no harness) so it prints
//! what matters, including how often each approach finds the intended item. With
//! `INDEX_ONLY=1` it only runs the indexed searches (20 rounds), for `perf` or
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on the machine's load.

use hostline_shared::knowledge::{KindFilter, KnowledgeIndex, Stages};
use hostline_shared::restaurant::Restaurant;
use hostline_shared::tenancy::Published;
use std::hint::black_box;
use std::time::{Duration, Instant};

const ITEMS: usize = 500;
const CATEGORIES: usize = 25;
const GROUPS: usize = 40;
const OPTIONS_PER_GROUP: usize = 6;
const FAQS: usize = 40;

const STYLES: &[&str] = &[
    "Spicy",
    "Crispy",
    "Grilled",
    "Garlic",
    "Honey",
    "Smoked",
    "Roasted",
    "Classic",
    "House",
    "Double",
    "Sweet",
    "Lemon",
    "Chipotle",
    "Teriyaki",
    "Buffalo",
    "Cajun",
    "Korean",
    "Thai",
    "Tuscan",
    "Greek",
    "Sesame",
    "Ginger",
    "Pesto",
    "Truffle",
    "Jerk",
    "Szechuan",
    "Maple",
    "Black Pepper",
    "Coconut",
    "Sriracha",
    "Lemongrass",
    "Basil",
    "Tandoori",
    "Mango",
];
const PROTEINS: &[&str] = &[
    "Chicken", "Beef", "Pork", "Shrimp", "Salmon", "Tofu", "Lamb", "Turkey", "Duck", "Tuna",
    "Steak", "Mushroom", "Halloumi", "Brisket", "Calamari", "Eggplant", "Chorizo", "Meatball",
];
const DISHES: &[&str] = &[
    "Burger",
    "Sandwich",
    "Wrap",
    "Salad",
    "Bowl",
    "Tacos",
    "Pizza",
    "Pasta",
    "Curry",
    "Noodles",
    "Fried Rice",
    "Soup",
    "Skewers",
    "Wings",
    "Quesadilla",
    "Burrito",
    "Flatbread",
    "Ramen",
    "Pho",
    "Dumplings",
    "Bibimbap",
    "Shawarma",
    "Katsu",
    "Gyoza",
    "Tikka Masala",
    "Chilaquiles",
    "Bao",
    "Poke",
    "Risotto",
    "Gnocchi",
    "Empanadas",
    "Paella",
    "Udon",
    "Banh Mi",
    "Lasagna",
];
const INGREDIENTS: &[&str] = &[
    "potatoes",
    "peanuts",
    "basil",
    "fresh mozzarella",
    "pickled onions",
    "cilantro",
    "lime",
    "avocado",
    "cabbage",
    "scallions",
    "jalapenos",
    "feta",
    "cucumber",
    "tomatoes",
    "spinach",
    "mushrooms",
    "bean sprouts",
    "cashews",
    "pineapple",
    "corn",
    "black beans",
    "rice",
    "kimchi",
    "parmesan",
    "arugula",
    "roasted peppers",
    "sesame seeds",
    "chili oil",
    "garlic aioli",
];
const CATEGORY_NAMES: &[&str] = &[
    "Starters",
    "Soups",
    "Salads",
    "Bowls",
    "Noodles",
    "Rice Dishes",
    "Sandwiches",
    "Burgers",
    "Tacos",
    "Pizza",
    "Pasta",
    "Curries",
    "Grill",
    "Seafood",
    "Vegetarian",
    "Sides",
    "Kids",
    "Desserts",
    "Drinks",
    "Specials",
    "Breakfast",
    "Lunch Combos",
    "Wraps",
    "Dumplings",
    "Sushi",
];
const OPTION_WORDS: &[&str] = &[
    "Extra Cheese",
    "No Onions",
    "Add Bacon",
    "Gluten Free",
    "Large",
    "Small",
    "Medium",
    "Mild",
    "Hot",
    "Thai Hot",
    "Brown Rice",
    "Sticky Rice",
    "Ranch",
    "Blue Cheese",
    "Avocado",
    "Fried Egg",
    "Extra Sauce",
    "On the Side",
    "Whole Wheat",
    "Oat Milk",
    "Less Ice",
    "No Ice",
    "Half Sugar",
    "Boba Pearls",
    "Lychee Jelly",
    "Chipotle Mayo",
    "Pickles",
    "Jalapenos",
];

/// A tiny deterministic generator (no `rand` dependency): the same menu on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.next() as usize % list.len()]
    }
}

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The synthetic menu as a `hostline.restaurant/v1` document, and the item names in order.
fn synthetic_menu() -> (String, Vec<(String, String, String)>) {
    let mut rng = Lcg(42);
    let groups: Vec<serde_json::Value> = (0..GROUPS)
        .map(|g| {
            let options: Vec<serde_json::Value> = (0..OPTIONS_PER_GROUP)
                .map(|o| {
                    let name = rng.pick(OPTION_WORDS);
                    serde_json::json!({
                        "id": format!("g{g}-o{o}"), "name": name,
                        "price_cents": (rng.next() % 300) as i64 - 50, "aliases": []
                    })
                })
                .collect();
            serde_json::json!({
                "id": format!("group-{g}"), "name": format!("{} Choice {g}", rng.pick(OPTION_WORDS)),
                "min": 0, "max": 2, "options": options
            })
        })
        .collect();
    let mut items: Vec<Vec<serde_json::Value>> = vec![Vec::new(); CATEGORIES];
    let mut names = Vec::with_capacity(ITEMS);
    let mut seen = std::collections::HashSet::new();
    for i in 0..ITEMS {
        // Distinct names, so that "the right item" is well defined.
        let name = loop {
            let name = format!(
                "{} {} {}",
                rng.pick(STYLES),
                rng.pick(PROTEINS),
                rng.pick(DISHES)
            );
            if seen.insert(name.clone()) {
                break name;
            }
        };
        let (a, b, c) = (
            rng.pick(INGREDIENTS),
            rng.pick(INGREDIENTS),
            rng.pick(INGREDIENTS),
        );
        let description = format!("Made to order with {a}, {b} and {c}.");
        let id = format!("{}-{i}", slug(&name));
        let aliases: Vec<String> = if i % 7 == 0 {
            vec![format!("number {i}")]
        } else {
            Vec::new()
        };
        let item_groups: Vec<String> = (0..(i % 4))
            .map(|k| format!("group-{}", (i + k * 7) % GROUPS))
            .collect();
        items[i % CATEGORIES].push(serde_json::json!({
            "id": id, "name": name, "aliases": aliases, "price_cents": 500 + (rng.next() % 2000),
            "description": description, "modifier_groups": item_groups, "available": i % 50 != 0
        }));
        names.push((id, name, format!("{a} {b}")));
    }
    let categories: Vec<serde_json::Value> = items
        .into_iter()
        .enumerate()
        .map(|(c, items)| serde_json::json!({ "name": CATEGORY_NAMES[c % CATEGORY_NAMES.len()], "items": items }))
        .collect();
    let faq: Vec<serde_json::Value> = (0..FAQS)
        .map(|_| {
            serde_json::json!({
                "q": format!("Do you have {} options for {}?", rng.pick(STYLES), rng.pick(DISHES)),
                "a": format!("Yes, ask for the {} version; it comes with {}.", rng.pick(PROTEINS), rng.pick(INGREDIENTS)),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "format": "hostline.restaurant/v1",
        "business": { "name": "Bench Kitchen", "timezone": "America/Chicago", "currency": "USD",
            "tax_rate_bps": 1000, "address": "1 Bench St" },
        "fulfillment": { "pickup": true, "delivery": false, "prep_minutes": 15 },
        "menu": { "categories": categories, "modifier_groups": groups },
        "faq": faq
    });
    (doc.to_string(), names)
}

/// Query kinds in the mixed set, and the item each positive query means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Exact,
    Typo,
    Phonetic,
    Description,
    Miss,
}

/// A recognizer-style typo: drop one letter from the longest word.
fn typo(name: &str) -> String {
    let mut words: Vec<String> = name.to_lowercase().split(' ').map(str::to_owned).collect();
    if let Some(w) = words.iter_mut().max_by_key(|w| w.len()) {
        let mid = w.len() / 2;
        w.remove(mid);
    }
    words.join(" ")
}

/// Spell it the way it sounds.
fn phonetic(name: &str) -> String {
    name.to_lowercase()
        .replace("ph", "f")
        .replace("ck", "k")
        .replace("qu", "kw")
        .replace("ee", "ea")
        .replace("ai", "ie")
        .replace("c", "k")
        .replace("y", "i")
}

fn queries(names: &[(String, String, String)]) -> Vec<(Kind, String, Option<String>)> {
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    for _ in 0..60 {
        let (id, name, _) = &names[rng.next() as usize % names.len()];
        out.push((Kind::Exact, name.to_lowercase(), Some(id.clone())));
        let (id, name, _) = &names[rng.next() as usize % names.len()];
        out.push((Kind::Typo, typo(name), Some(id.clone())));
        let (id, name, _) = &names[rng.next() as usize % names.len()];
        out.push((Kind::Phonetic, phonetic(name), Some(id.clone())));
        let (id, name, ingredients) = &names[rng.next() as usize % names.len()];
        let dish = name.rsplit(' ').next().unwrap_or_default().to_lowercase();
        out.push((
            Kind::Description,
            format!("the {dish} with {ingredients}"),
            Some(id.clone()),
        ));
    }
    for q in [
        "do you sell cars",
        "xylophone lessons",
        "can I talk to the manager",
        "what is the meaning of life",
        "hamster food",
        "airport shuttle",
        "um uh yeah",
        "quantum physics",
        "snow tires",
        "birthday balloons",
    ] {
        for _ in 0..4 {
            out.push((Kind::Miss, q.to_owned(), None));
        }
    }
    out
}

fn naive_best<'a>(
    names: &'a [(String, String, String)],
    lowered: &[String],
    q: &str,
) -> Option<&'a str> {
    let q = q.to_lowercase();
    let mut best = (0.0, None);
    for (i, n) in lowered.iter().enumerate() {
        let s = strsim::jaro_winkler(&q, n);
        if s > best.0 {
            best = (s, Some(names[i].0.as_str()));
        }
    }
    best.1
}

fn time_per_query<F: FnMut(&str)>(
    qs: &[(Kind, String, Option<String>)],
    rounds: usize,
    mut f: F,
) -> Vec<Duration> {
    let mut per_query = vec![Duration::ZERO; qs.len()];
    for _ in 0..rounds {
        for (i, (_, q, _)) in qs.iter().enumerate() {
            let t = Instant::now();
            f(q);
            per_query[i] += t.elapsed();
        }
    }
    per_query.iter().map(|d| *d / rounds as u32).collect()
}

fn stats(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort_unstable();
    let us = |x: Duration| x.as_secs_f64() * 1e6;
    let mean = d.iter().map(|x| us(*x)).sum::<f64>() / d.len().max(1) as f64;
    let p = |q: f64| us(d[((d.len() - 1) as f64 * q).round() as usize]);
    (mean, p(0.5), p(0.99))
}

fn main() {
    let (json, names) = synthetic_menu();
    let restaurant = match Restaurant::parse(&json) {
        Ok(r) => r,
        Err(e) => panic!("synthetic menu does not parse: {e}"),
    };

    if std::env::var_os("INDEX_ONLY").is_some() {
        let index = KnowledgeIndex::build(&restaurant);
        // What a profiler should see: searches, not the naive scan or the loads.
        let qs = queries(&names);
        let t = Instant::now();
        for _ in 0..20 {
            for (_, q, _) in &qs {
                black_box(index.search(black_box(q), KindFilter::MENU, 5));
            }
        }
        println!("INDEX_ONLY {:?}", t.elapsed() / (20 * qs.len() as u32));
        return;
    }
    let builds = 20;
    let t = Instant::now();
    for _ in 0..builds {
        black_box(KnowledgeIndex::build(black_box(&restaurant)));
    }
    let build = t.elapsed() / builds;
    let index = KnowledgeIndex::build(&restaurant);
    let stored = postcard::to_allocvec(&index).unwrap_or_default();

    let loads = 50;
    let t = Instant::now();
    for _ in 0..loads {
        black_box(postcard::from_bytes::<KnowledgeIndex>(black_box(&stored)).ok());
    }
    let load = t.elapsed() / loads;
    // A loaded index's first search against its second: what is left to derive on load.
    let mut first = Duration::ZERO;
    let mut second = Duration::ZERO;
    for _ in 0..loads {
        let Ok(fresh) = postcard::from_bytes::<KnowledgeIndex>(&stored) else {
            panic!("stored index does not load");
        };
        let t = Instant::now();
        black_box(fresh.search("garlic chicken burger", KindFilter::ALL, 5));
        first += t.elapsed();
        let t = Instant::now();
        black_box(fresh.search("garlic chicken burger", KindFilter::ALL, 5));
        second += t.elapsed();
    }
    let derive = first.saturating_sub(second) / loads;

    // The stored bundle a tool call reads: binary (postcard) against the JSON of before.
    let bundle = Published::build(
        hostline_shared::ids::BusinessId::parse("bench").unwrap_or_else(|e| panic!("{e}")),
        1,
        restaurant.clone(),
    );
    let binary = bundle.encode().unwrap_or_else(|e| panic!("{e}"));
    let old_json = {
        let mut full = bundle.clone();
        full.restaurant = restaurant.clone();
        serde_json::to_vec(&full).unwrap_or_default()
    };
    let t = Instant::now();
    for _ in 0..loads {
        black_box(Published::decode(black_box(&binary)).ok());
    }
    let bundle_load = t.elapsed() / loads;
    let t = Instant::now();
    for _ in 0..loads {
        black_box(serde_json::from_slice::<Published>(black_box(&old_json)).ok());
    }
    let json_bundle_load = t.elapsed() / loads;

    let qs = queries(&names);
    for _ in 0..3 {
        for (_, q, _) in &qs {
            black_box(index.search(q, KindFilter::MENU, 5));
        }
    }
    let rounds = 30;
    let indexed = time_per_query(&qs, rounds, |q| {
        black_box(index.search(black_box(q), KindFilter::MENU, 5));
    });
    // The baseline from the same run: the word-by-word search, without the cross-word
    // sound-alike and lexicon stages.
    let words_only = time_per_query(&qs, rounds, |q| {
        black_box(index.search_with(black_box(q), KindFilter::MENU, 5, Stages::WORDS_ONLY));
    });
    let lowered: Vec<String> = names.iter().map(|n| n.1.to_lowercase()).collect();
    let naive = time_per_query(&qs, rounds, |q| {
        black_box(naive_best(&names, &lowered, black_box(q)));
    });

    println!(
        "knowledge index, synthetic menu: {ITEMS} items, {CATEGORIES} categories, {GROUPS} groups x {OPTIONS_PER_GROUP} options, {FAQS} FAQs"
    );
    println!(
        "  build:                    {:>9.2} ms",
        build.as_secs_f64() * 1e3
    );
    println!(
        "  stored size (postcard):   {:>9.1} KiB",
        stored.len() as f64 / 1024.0
    );
    println!(
        "  load (deserialize):       {:>9.2} ms",
        load.as_secs_f64() * 1e3
    );
    println!(
        "  1st search over later ones: {:>7.2} ms",
        derive.as_secs_f64() * 1e3
    );
    println!(
        "  tool-call bundle: binary {:.1} KiB loads in {:.3} ms; the JSON bundle of before ({:.1} KiB, with the whole document) {:.3} ms: {:.1}x",
        binary.len() as f64 / 1024.0,
        bundle_load.as_secs_f64() * 1e3,
        old_json.len() as f64 / 1024.0,
        json_bundle_load.as_secs_f64() * 1e3,
        json_bundle_load.as_secs_f64() / bundle_load.as_secs_f64().max(1e-12)
    );
    let (m, p50, p99) = stats(indexed.clone());
    let (nm, np50, np99) = stats(naive.clone());
    println!("  search, {} mixed queries x {rounds} rounds:", qs.len());
    println!("    index:          mean {m:>7.1} us  p50 {p50:>7.1} us  p99 {p99:>7.1} us");
    let (wm, wp50, wp99) = stats(words_only.clone());
    println!(
        "    words only:     mean {wm:>7.1} us  p50 {wp50:>7.1} us  p99 {wp99:>7.1} us  (baseline: no cross-word or lexicon stage; whole search {:.2}x its p99)",
        p99 / wp99.max(1e-9)
    );
    println!("    naive JW scan:  mean {nm:>7.1} us  p50 {np50:>7.1} us  p99 {np99:>7.1} us");
    println!(
        "    index is {:.1}x faster than the naive scan (mean)",
        nm / m
    );
    for kind in [
        Kind::Exact,
        Kind::Typo,
        Kind::Phonetic,
        Kind::Description,
        Kind::Miss,
    ] {
        let sel: Vec<usize> = (0..qs.len()).filter(|&i| qs[i].0 == kind).collect();
        let (km, _, kp99) = stats(sel.iter().map(|&i| indexed[i]).collect());
        let (hit_index, hit_naive) = sel.iter().fold((0, 0), |(a, b), &i| {
            let (_, q, want) = &qs[i];
            let got = index.search(q, KindFilter::MENU, 1);
            let ok_index = match want {
                Some(id) => got.first().is_some_and(|h| &h.id == id),
                None => got
                    .iter()
                    .all(|h| h.confidence == hostline_shared::knowledge::Confidence::Low),
            };
            let ok_naive = match want {
                Some(id) => naive_best(&names, &lowered, q) == Some(id.as_str()),
                // The naive scan always returns its best guess: a miss is never recognized.
                None => false,
            };
            (a + usize::from(ok_index), b + usize::from(ok_naive))
        });
        println!(
            "    {:<12} n={:<3} mean {km:>6.1} us  p99 {kp99:>6.1} us  right: index {hit_index}/{n}, naive {hit_naive}/{n}",
            format!("{kind:?}"),
            sel.len(),
            n = sel.len()
        );
    }
}
