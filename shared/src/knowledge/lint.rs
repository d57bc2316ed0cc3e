//! Voice-lint: what about a menu will trip a phone host, found when the menu is imported and
//! answered beside it (it never blocks an import).
//!
//! - `sound_alike`: two items, or two options of one group, whose names sound the same or
//!   nearly (their sound skeletons, see [`super::spans::skeleton`], collide or nearly do): a
//!   caller saying one may get the other.
//! - `unreachable`: saying an item's or option's own name does not find it first.
//! - `add_alias`: a name in another language the food lexicon cannot gloss: callers who ask
//!   for it in English will not find it until the owner adds the English as an alias.

use super::spans::{self, similarity, skeleton};
use super::{EntryKind, KindFilter, KnowledgeIndex, lexicon, text};
use crate::restaurant::Restaurant;
use serde::Serialize;
use std::collections::HashMap;

/// Skeletons at least this alike make two names sound-alikes ("Bun Cha" and "Boon Chah" are
/// the same; "Masala Dosa" and "Masala Chai" are not).
const SOUND_ALIKE: f32 = 0.95;
/// Warnings of each kind reported at most (a huge menu of near-twins says so once per pair up
/// to this many).
const MAX_PER_KIND: usize = 50;

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// `sound_alike`, `unreachable` or `add_alias`.
    pub kind: &'static str,
    /// The ids concerned (item ids, or option ids).
    pub ids: Vec<String>,
    /// What is wrong, for the owner.
    pub message: String,
    /// What to do about it.
    pub suggestion: String,
}

/// The voice-lint of a (validated) restaurant document.
pub fn voice_lint(r: &Restaurant) -> Vec<Warning> {
    let index = KnowledgeIndex::build(r);
    let mut out = Vec::new();
    let items: Vec<(&str, &str)> = r
        .items()
        .map(|(_, i)| (i.id.as_str(), i.name.as_str()))
        .collect();
    out.extend(sound_alikes(&items, "items").into_iter().take(MAX_PER_KIND));
    for g in &r.menu.modifier_groups {
        let options: Vec<(&str, &str)> = g
            .options
            .iter()
            .map(|o| (o.id.as_str(), o.name.as_str()))
            .collect();
        out.extend(
            sound_alikes(&options, &format!("options of {}", g.name))
                .into_iter()
                .take(MAX_PER_KIND),
        );
    }
    out.extend(unreachable(&index, r).into_iter().take(MAX_PER_KIND));
    out.extend(add_aliases(r).into_iter().take(MAX_PER_KIND));
    out
}

fn spoken_key(name: &str) -> Vec<u8> {
    skeleton(&text::normalize(name))
}

/// Pairs of names that sound alike, found through their skeletons' deletion neighbourhoods.
fn sound_alikes(named: &[(&str, &str)], what: &str) -> Vec<Warning> {
    let keys: Vec<Vec<u8>> = named.iter().map(|(_, n)| spoken_key(n)).collect();
    let mut buckets: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if !spans::usable(k) {
            continue;
        }
        buckets.entry(k.clone()).or_default().push(i);
        for d in 0..k.len() {
            let mut v = k.clone();
            v.remove(d);
            buckets.entry(v).or_default().push(i);
        }
    }
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for members in buckets.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                let pair = (a.min(b), a.max(b));
                if pair.0 != pair.1 && !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs
        .into_iter()
        .filter(|&(a, b)| {
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            text::normalize(named[a].1) != text::normalize(named[b].1)
                // "6 Wings" and "12 Wings" are told apart by the number.
                && digits(named[a].1) == digits(named[b].1)
                && similarity(&keys[a], &keys[b]) >= SOUND_ALIKE
        })
        .map(|(a, b)| Warning {
            kind: "sound_alike",
            ids: vec![named[a].0.to_owned(), named[b].0.to_owned()],
            message: format!(
                "{} \"{}\" and \"{}\" sound alike on the phone",
                what, named[a].1, named[b].1
            ),
            suggestion: format!(
                "give one of them an alias that tells them apart (what makes \"{}\" different)",
                named[b].1
            ),
        })
        .collect()
}

/// Items and options their own name does not find first.
fn unreachable(index: &KnowledgeIndex, r: &Restaurant) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut check = |kind: EntryKind, filter: KindFilter, id: &str, name: &str| {
        let hits = index.search(name, filter, 1);
        match hits.first() {
            Some(h) if h.kind == kind && h.id == id => {}
            // Another entry of the same name (an option offered in two groups) is the same
            // thing to a caller; the item it goes with tells them apart.
            Some(h) if h.kind == kind && text::normalize(&h.name) == text::normalize(name) => {}
            other => out.push(Warning {
                kind: "unreachable",
                ids: vec![id.to_owned()],
                message: match other {
                    Some(h) => format!("saying \"{name}\" finds \"{}\" first", h.name),
                    None => format!("saying \"{name}\" finds nothing"),
                },
                suggestion: format!("rename \"{name}\" or give it an alias callers would say"),
            }),
        }
    };
    for (_, item) in r.items() {
        check(EntryKind::Item, KindFilter::ITEMS, &item.id, &item.name);
    }
    for g in &r.menu.modifier_groups {
        for o in &g.options {
            check(
                EntryKind::ModifierOption,
                KindFilter::only(EntryKind::ModifierOption),
                &o.id,
                &o.name,
            );
        }
    }
    out
}

/// Items named in another language that neither an alias nor the lexicon puts into English:
/// most of the name's words carry accents ("Bánh Khọt"; not "Crème Brûlée Milk Tea" or
/// "Jalapeño Poppers", which callers say as written).
fn add_aliases(r: &Restaurant) -> Vec<Warning> {
    let foreign = |name: &str| {
        let words: Vec<&str> = name.split_whitespace().collect();
        let accented = words.iter().filter(|w| !w.is_ascii()).count();
        2 * accented > words.len()
    };
    r.items()
        .filter(|(_, item)| {
            item.aliases.is_empty()
                && foreign(&item.name)
                && lexicon::glossed(&item.name).is_empty()
        })
        .map(|(_, item)| Warning {
            kind: "add_alias",
            ids: vec![item.id.clone()],
            message: format!(
                "\"{}\" is in another language and has no English alias",
                item.name
            ),
            suggestion: format!(
                "add the English callers would use for \"{}\" as an alias",
                item.name
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(items: &str, options: &str) -> Restaurant {
        let text = format!(
            r#"{{
          "format": "hostline.restaurant/v1",
          "business": {{"name": "T", "address": "1 Main St, Chicago, IL 60601",
            "timezone": "America/Chicago", "currency": "USD", "tax_rate_bps": 1000,
            "phone_lines": [{{"e164": "+17735550199", "label": "main"}}]}},
          "hours": [{{"days": ["mon"], "open": "10:00", "close": "22:00"}}],
          "fulfillment": {{"pickup": true, "delivery": false, "prep_minutes": 10}},
          "menu": {{"categories": [{{"name": "Food", "items": [{items}]}}],
            "modifier_groups": [{{"id": "sauce", "name": "Sauce", "min": 0, "max": 1,
              "options": [{options}]}}]}},
          "faq": []
        }}"#
        );
        match Restaurant::parse(&text) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    fn item(id: &str, name: &str, aliases: &str) -> String {
        format!(
            r#"{{"id": "{id}", "name": "{name}", "price_cents": 900, "aliases": [{aliases}],
              "description": "A dish.", "modifier_groups": ["sauce"]}}"#
        )
    }

    fn option(id: &str, name: &str) -> String {
        format!(r#"{{"id": "{id}", "name": "{name}", "price_cents": 0}}"#)
    }

    #[test]
    fn planted_sound_alikes_are_exactly_the_warnings() {
        let items = [
            item("bun-cha", "Bun Cha", ""),
            item("boon-chah", "Boon Chah", ""),
            item("margherita", "Margherita Pizza", ""),
            item("carbonara", "Spaghetti Carbonara", ""),
        ]
        .join(",");
        let options = [
            option("salsa-roja", "Salsa Roja"),
            option("salsa-rosa", "Salsa Rosa"),
            option("ranch", "Ranch"),
        ]
        .join(",");
        let warnings = voice_lint(&doc(&items, &options));
        let alike: Vec<&Vec<String>> = warnings
            .iter()
            .filter(|w| w.kind == "sound_alike")
            .map(|w| &w.ids)
            .collect();
        assert_eq!(
            alike,
            [
                &vec!["bun-cha".to_owned(), "boon-chah".to_owned()],
                &vec!["salsa-roja".to_owned(), "salsa-rosa".to_owned()],
            ],
            "{warnings:#?}"
        );
    }

    #[test]
    fn an_item_its_name_cannot_reach_and_a_foreign_name_without_english() {
        let items = [
            item("plain", "Pizza", ""),
            item("special", "Pizza Pizza", ""),
            item("banh-khot", "Bánh Khọt", ""),
            item("com-ga", "Cơm Gà", ""),
            item("bo-kho", "Bò Kho", "\"beef stew\""),
        ]
        .join(",");
        let warnings = voice_lint(&doc(&items, &option("none", "No Sauce")));
        let of = |kind: &str| -> Vec<String> {
            warnings
                .iter()
                .filter(|w| w.kind == kind)
                .flat_map(|w| w.ids.clone())
                .collect()
        };
        // "Cơm Gà" is glossed by the lexicon (rice, chicken) and "Bò Kho" has an English
        // alias; nothing puts "Bánh Khọt" into English.
        assert_eq!(of("add_alias"), ["banh-khot"], "{warnings:#?}");
        // "Pizza" and "Pizza Pizza" say the same words: one of them is not found by its name.
        assert_eq!(of("unreachable").len(), 1, "{warnings:#?}");
        assert!(["plain", "special"].contains(&of("unreachable")[0].as_str()));
    }
}
