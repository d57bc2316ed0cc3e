//! The knowledge index: everything the menu and FAQ tools need to answer a caller, built once
//! when a restaurant document is saved, stored as one serialized value, loaded in one read per
//! request, and searched per tool call without any I/O.
//!
//! It owns two things that are designed together:
//! - the answer data: items with category, price, description and availability, modifier
//!   groups with their options and prices, rules, and the FAQ ([`ItemInfo`], [`GroupInfo`],
//!   [`OptionInfo`], [`CategoryInfo`], [`FaqInfo`]), so a tool answer never needs the document;
//! - the search structures: a vocabulary of normalized, stemmed terms with Double Metaphone
//!   codes and postings into the searchable entries, plus per-name weights. Typo and
//!   sound-alike tables are derived from the vocabulary on the first search (`fuzzy.rs`).
//!
//! Matching is built for text that went through speech recognition: `text.rs` says what is
//! normalized (case, accents, punctuation, spoken numbers, filler words, plurals), `fuzzy.rs`
//! how misheard, misspelled, split or joined words find menu words, and `search.rs` how entries
//! are scored and how [`Confidence`] is assigned.
//!
//! A tool handler loads the stored index, calls [`KnowledgeIndex::search`] with the kinds the
//! tool answers about ([`KindFilter::MENU`] for `get_menu_info`, [`KindFilter::MODIFIERS`],
//! [`KindFilter::FAQ`]), and answers from the accessors ([`KnowledgeIndex::item`],
//! [`KnowledgeIndex::item_groups`], …): directly on a `High` hit, with "did you mean …?" on
//! `Medium`, by asking the caller on `Low`, and "we don't have that" on no hit.
//!
//! It must not do I/O, read clocks or spawn threads (it runs inside Wasm components).

mod fuzzy;
mod lexicon;
pub mod lint;
mod packed;
mod records;
mod search;
pub use search::Stages;

/// The words of `text` as the search compares them (lower case, accents folded, stemmed),
/// without filler words: for a caller's phrase to be set against a menu entry's.
pub fn content_stems(text: &str) -> Vec<String> {
    text::words(text)
        .into_iter()
        .filter(|w| !w.stop)
        .map(|w| w.stem)
        .collect()
}

/// Whether `a` and `b` are the same word as a recognizer might write it ("peperoni",
/// "pepperoni"; "nan", "naan"): equal, or close in spelling for their length.
pub fn sounds_like_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let longest = a.chars().count().max(b.chars().count());
    longest >= 3 && strsim::damerau_levenshtein(a, b) <= (longest / 4).max(1)
}
mod spans;
mod text;

use crate::money::Cents;
use crate::restaurant::{Restaurant, Rule};
use records::Records;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::BitOr;

/// Version of the stored layout. A stored index with another value must be rebuilt from the
/// restaurant document (see [`KnowledgeIndex::is_current`]).
pub const INDEX_FORMAT: u32 = 13;

/// The index's rules as a JSON string inside whatever encoding holds the index.
mod rules_as_json {
    use crate::restaurant::Rule;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(rules: &[Rule], s: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_string(rules).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&json)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Rule>, D::Error> {
        let json = String::deserialize(d)?;
        serde_json::from_str(&json).map_err(serde::de::Error::custom)
    }
}

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Item,
    Category,
    ModifierOption,
    ModifierGroup,
    Faq,
}

impl EntryKind {
    const ALL: [EntryKind; 5] = [
        EntryKind::Item,
        EntryKind::Category,
        EntryKind::ModifierOption,
        EntryKind::ModifierGroup,
        EntryKind::Faq,
    ];

    /// Stored code, also its bit position in [`KindFilter`].
    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> Option<EntryKind> {
        EntryKind::ALL.get(usize::from(code)).copied()
    }
}

/// Which kinds of entries a search may return (a set; combine with `|`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KindFilter(u8);

impl KindFilter {
    pub const ALL: KindFilter = KindFilter(0b1_1111);
    /// Items and categories: what `get_menu_info` looks for.
    pub const MENU: KindFilter = KindFilter(0b0_0011);
    /// Modifier options and groups: what `get_modifiers_info` looks for.
    pub const MODIFIERS: KindFilter = KindFilter(0b0_1100);
    pub const ITEMS: KindFilter = KindFilter::only(EntryKind::Item);
    pub const OPTIONS: KindFilter = KindFilter::only(EntryKind::ModifierOption);
    pub const FAQ: KindFilter = KindFilter::only(EntryKind::Faq);

    pub const fn only(kind: EntryKind) -> KindFilter {
        KindFilter(1 << kind as u8)
    }

    pub const fn with(self, kind: EntryKind) -> KindFilter {
        KindFilter(self.0 | (1 << kind as u8))
    }

    pub const fn contains(self, kind: EntryKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    const fn from_bits(bits: u8) -> KindFilter {
        KindFilter(bits)
    }

    const fn intersects(self, other: KindFilter) -> bool {
        self.0 & other.0 != 0
    }
}

impl From<EntryKind> for KindFilter {
    fn from(kind: EntryKind) -> KindFilter {
        KindFilter::only(kind)
    }
}

impl BitOr for KindFilter {
    type Output = KindFilter;
    fn bitor(self, rhs: KindFilter) -> KindFilter {
        KindFilter(self.0 | rhs.0)
    }
}

/// How sure the index is about a hit. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Something matched weakly: ask the caller to clarify, perhaps offering this.
    Low,
    /// A likely match: answer, but confirm ("did you mean the Massaman Curry?").
    Medium,
    /// The caller named this: answer directly.
    High,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub kind: EntryKind,
    /// Item id, option id, group id, category name, or the FAQ's position ("0", "1", …).
    pub id: String,
    /// Display name: item, option, group or category name, or the FAQ question.
    pub name: String,
    /// 0.0..=1.0; comparable within one search, calibrated against the [`Confidence`] bands.
    pub score: f32,
    pub confidence: Confidence,
}

/// A menu item as a tool answer needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemInfo {
    pub id: String,
    pub name: String,
    /// Name of the item's category.
    pub category: String,
    pub price: Cents,
    pub description: String,
    /// `false` = 86'd: the item is known but cannot be ordered now.
    pub available: bool,
    /// Ids of the item's modifier groups, in menu order.
    pub modifier_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryInfo {
    pub name: String,
    /// Ids of the category's items, in menu order.
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub id: String,
    pub name: String,
    pub min: u32,
    pub max: u32,
    /// Option id applied when the caller says nothing.
    pub default: Option<String>,
    /// Ids of the group's options, in menu order.
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionInfo {
    pub id: String,
    pub name: String,
    /// May be negative (a smaller size).
    pub price: Cents,
    /// Id of the option's group.
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqInfo {
    pub question: String,
    pub answer: String,
}

/// The search index plus the answer data; see the module documentation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KnowledgeIndex {
    /// [`INDEX_FORMAT`] when built.
    format: u32,
    /// The answer records, decoded only when read (see [`records`]).
    items: Records<ItemInfo>,
    categories: Records<CategoryInfo>,
    groups: Records<GroupInfo>,
    options: Records<OptionInfo>,
    faqs: Records<FaqInfo>,
    /// Kept as one JSON string: the rule type is internally tagged, which compact binary
    /// encodings cannot read back.
    #[serde(with = "rules_as_json")]
    rules: Vec<Rule>,
    /// Everything a search can return, in build order (items first, in menu order).
    entries: Vec<Entry>,
    /// The vocabulary, sorted by text so exact look-ups are a binary search.
    terms: Terms,
    /// Typo and sound-alike tables and item-option links, computed from the above when the
    /// index is built and stored as flat byte tables: loading them is a copy, where rebuilding
    /// them took longer than the search itself on every tool call.
    #[serde(rename = "x")]
    derived: Derived,
}

/// Search structures computed from the others (see [`KnowledgeIndex::build`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Derived {
    lookup: fuzzy::Lookup,
    links: search::Links,
    spans: spans::Spans,
    synonyms: packed::Pairs,
}

/// A searchable thing: an item, category, option, group or FAQ.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// [`EntryKind::code`].
    #[serde(rename = "k")]
    kind: u8,
    /// Position in the answer vector of that kind.
    #[serde(rename = "i")]
    idx: u32,
    /// The name (phrase 0) and each alias: how much of it a query may cover.
    #[serde(rename = "p")]
    phrases: Vec<Phrase>,
}

/// Weight of a name or alias (the sum of its distinct terms' weights) and its head term (the
/// last word: "curry" in "Massaman Curry").
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Phrase(f32, u32);

/// A name's last word counts this much more when the caller said it: in "Curry Puffs" the dish
/// is a puff, in "Massaman Curry" a curry. An unsaid head costs no more than any other word,
/// so "pepperoni" still finds "Pepperoni Pizza" before "Extra Pepperoni".
const HEAD_WEIGHT: f32 = 1.5;

/// One vocabulary term, as read from the [`Terms`] table.
#[derive(Debug, Clone, Copy)]
struct Term<'a> {
    /// Normalized, stemmed text.
    text: &'a str,
    /// Double Metaphone primary and alternate codes ("" when none or the same).
    dm: &'a str,
    dm2: &'a str,
    /// [`text::sound`] of the word as written, to score sound-alike candidates.
    sound: &'a str,
    /// Number of entries containing the term, for its weight.
    df: u32,
    /// Packed [`Posting`]s, sorted.
    postings: &'a [u32],
}

/// The vocabulary, sorted by text, stored flat: every term's four strings back to back in one
/// string and every term's postings back to back in one vector, with end offsets. Loading it is
/// a handful of allocations whatever the menu's size (a vector of terms would be several per
/// term), which is most of the cost of loading an index per tool call.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Terms {
    /// text, dm, dm2, sound of term 0, then of term 1, ...
    #[serde(rename = "s")]
    strings: String,
    /// Per term, the end offsets of its four strings in `strings`.
    #[serde(rename = "e")]
    string_ends: packed::U32Vec,
    #[serde(rename = "d")]
    df: packed::U32Vec,
    #[serde(rename = "p")]
    postings: packed::U32Vec,
    /// Per term, the end offset of its postings in `postings`.
    #[serde(rename = "q")]
    posting_ends: packed::U32Vec,
}

impl Terms {
    fn len(&self) -> usize {
        self.df.len()
    }

    fn push(&mut self, t: Term<'_>) {
        for s in [t.text, t.dm, t.dm2, t.sound] {
            self.strings.push_str(s);
            self.string_ends.push(self.strings.len() as u32);
        }
        self.df.push(t.df);
        self.postings.extend_from_slice(t.postings);
        self.posting_ends.push(self.postings.len() as u32);
    }

    /// Term `i`; `None` past the end. A table that does not hold together (offsets out of
    /// order or range, or off a character boundary: only a corrupt stored value) reads as
    /// empty strings and postings, never as a panic.
    fn get(&self, i: usize) -> Option<Term<'_>> {
        let df = *self.df.get(i)?;
        Some(Term {
            text: self.string(4 * i),
            dm: self.string(4 * i + 1),
            dm2: self.string(4 * i + 2),
            sound: self.string(4 * i + 3),
            df,
            postings: self.postings_of(i),
        })
    }

    /// String `k` of the table (term `k / 4`'s text, dm, dm2 or sound).
    fn string(&self, k: usize) -> &str {
        let end = |k: usize| self.string_ends.get(k).map_or(0, |&e| e as usize);
        let start = if k == 0 { 0 } else { end(k - 1) };
        self.strings.get(start..end(k)).unwrap_or("")
    }

    /// Term `i`'s text alone (what the binary search compares).
    fn text(&self, i: usize) -> &str {
        self.string(4 * i)
    }

    /// Term `i`'s postings alone (what scoring walks).
    fn postings_of(&self, i: usize) -> &[u32] {
        let p_end = |k: usize| self.posting_ends.get(k).map_or(0, |&e| e as usize);
        let p_start = if i == 0 { 0 } else { p_end(i - 1) };
        self.postings.get(p_start..p_end(i)).unwrap_or(&[])
    }

    fn iter(&self) -> impl Iterator<Item = Term<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The index of the first term whose text is not less than `s` (the table is sorted).
    fn lower_bound(&self, s: &str) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.text(mid) < s {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Where an entry's text a term occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Alias,
    /// Item description or FAQ answer.
    Description,
    /// Item's category name or option's group name.
    Context,
}

impl Field {
    const ALL: [Field; 4] = [
        Field::Name,
        Field::Alias,
        Field::Description,
        Field::Context,
    ];
}

/// A term occurrence packed in a `u32`: entry (20 bits), field (2 bits), phrase (10 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posting {
    entry: u32,
    field: Field,
    phrase: u16,
}

const MAX_ENTRIES: usize = 1 << 20;
const MAX_PHRASES: usize = 1 << 10;

impl Posting {
    fn pack(self) -> u32 {
        (self.entry << 12) | ((self.field as u32) << 10) | u32::from(self.phrase)
    }

    fn unpack(p: u32) -> Posting {
        Posting {
            entry: p >> 12,
            field: Field::ALL[((p >> 10) & 0b11) as usize],
            phrase: (p & 0x3ff) as u16,
        }
    }
}

/// Term weight: rare terms say more about what the caller wants. In 0..=1.
fn idf(df: u32, entries: usize) -> f32 {
    let n = entries.max(1) as f32;
    let df = df.max(1) as f32;
    ((1.0 + n / df).ln() / (1.0 + n).ln()).min(1.0)
}

/// (hash of a lexicon word the vocabulary lacks, vocabulary term it glosses): "tarjeta" →
/// "card" when the FAQ speaks of cards. See [`search`] for its use.
fn synonyms(terms: &Terms) -> packed::Pairs {
    let mut pairs = Vec::new();
    for (word, glosses) in lexicon::one_word_terms() {
        let stem = text::stem(word);
        if fuzzy::exact(terms, &stem).is_some() {
            continue;
        }
        let key = synonym_key(word, &stem);
        for (g, gloss_words) in glosses {
            if text::is_stop(g) {
                continue;
            }
            if let Some(t) = fuzzy::exact(terms, &text::stem(g)) {
                pairs.push((key, pack_synonym(t, gloss_words)));
            }
        }
    }
    packed::Pairs::from_unsorted(pairs)
}

/// A synonym's term id with how many content words its gloss has (at most 15, in the top 4
/// bits; term ids stay far below 2^28).
fn pack_synonym(term: u32, gloss_words: usize) -> u32 {
    (term & SYNONYM_TERM_MASK) | ((gloss_words.min(15) as u32) << SYNONYM_WORDS_SHIFT)
}

const SYNONYM_WORDS_SHIFT: u32 = 28;
const SYNONYM_TERM_MASK: u32 = (1 << SYNONYM_WORDS_SHIFT) - 1;

/// What a lexicon word is looked up by: its stem, or for a short word (Vietnamese "cơm",
/// "bò"), the word exactly as said (marked apart), so that "comes" is not rice.
fn synonym_key(raw: &str, stem: &str) -> u64 {
    match raw.len() <= SHORT_LEXICON_WORD {
        true => synonym_hash(raw) ^ 1,
        false => synonym_hash(stem),
    }
}

/// Lexicon words this short (in bytes) must be said exactly.
const SHORT_LEXICON_WORD: usize = 3;

/// FNV-1a of a stem, for [`synonyms`] (a collision only offers a wrong candidate, which the
/// scoring then weighs like any other).
fn synonym_hash(stem: &str) -> u64 {
    stem.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An entry's name and the other phrases it is found by.
struct Names<'a> {
    name: &'a str,
    /// The owner's aliases, then glossed variants from the food lexicon (see [`lexicon`]).
    aliases: Vec<String>,
    /// How many phrases (the name first) the menu itself says, for sound-alike runs.
    sounded: usize,
}

impl<'a> Names<'a> {
    /// A name with its aliases and their glossed variants.
    fn glossed(name: &'a str, aliases: &[String]) -> Names<'a> {
        let mut all = aliases.to_vec();
        for g in lexicon::glossed(name) {
            if !all.iter().any(|a| text::normalize(a).trim() == g) {
                all.push(g);
            }
        }
        Names {
            name,
            aliases: all,
            sounded: 1 + aliases.len(),
        }
    }

    /// A name alone, never matched across words (groups, FAQ questions).
    fn plain(name: &'a str) -> Names<'a> {
        Names {
            name,
            aliases: Vec::new(),
            sounded: 0,
        }
    }
}

impl KnowledgeIndex {
    /// Build the index for a (validated) restaurant document.
    pub fn build(r: &Restaurant) -> KnowledgeIndex {
        let mut b = Builder::default();
        let mut items: Vec<(String, ItemInfo)> = Vec::new();
        let mut categories: Vec<(String, CategoryInfo)> = Vec::new();
        let mut options: Vec<(String, OptionInfo)> = Vec::new();
        let mut groups: Vec<(String, GroupInfo)> = Vec::new();
        let mut faqs: Vec<(String, FaqInfo)> = Vec::new();
        for cat in &r.menu.categories {
            // An item's context is its category's name, glossed too ("Insalate" is salads).
            let context = std::iter::once(cat.name.clone())
                .chain(lexicon::glossed(&cat.name))
                .collect::<Vec<_>>()
                .join(" ");
            for item in &cat.items {
                b.add(
                    EntryKind::Item,
                    items.len(),
                    &Names::glossed(&item.name, &item.aliases),
                    &item.description,
                    &context,
                );
                items.push((
                    item.id.clone(),
                    ItemInfo {
                        id: item.id.clone(),
                        name: item.name.clone(),
                        category: cat.name.clone(),
                        price: item.price_cents,
                        description: item.description.clone(),
                        available: item.available,
                        modifier_groups: item.modifier_groups.clone(),
                    },
                ));
            }
        }
        for cat in &r.menu.categories {
            b.add(
                EntryKind::Category,
                categories.len(),
                &Names::glossed(&cat.name, &[]),
                "",
                "",
            );
            categories.push((
                cat.name.clone(),
                CategoryInfo {
                    name: cat.name.clone(),
                    items: cat.items.iter().map(|i| i.id.clone()).collect(),
                },
            ));
        }
        for g in &r.menu.modifier_groups {
            for o in &g.options {
                b.add(
                    EntryKind::ModifierOption,
                    options.len(),
                    &Names::glossed(&o.name, &o.aliases),
                    "",
                    &g.name,
                );
                options.push((
                    o.id.clone(),
                    OptionInfo {
                        id: o.id.clone(),
                        name: o.name.clone(),
                        price: o.price_cents,
                        group: g.id.clone(),
                    },
                ));
            }
        }
        for g in &r.menu.modifier_groups {
            b.add(
                EntryKind::ModifierGroup,
                groups.len(),
                &Names::plain(&g.name),
                "",
                "",
            );
            groups.push((
                g.id.clone(),
                GroupInfo {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    min: g.min,
                    max: g.max,
                    default: g.default.clone(),
                    options: g.options.iter().map(|o| o.id.clone()).collect(),
                },
            ));
        }
        for f in &r.faq {
            b.add(EntryKind::Faq, faqs.len(), &Names::plain(&f.q), &f.a, "");
            // FAQs are found by position (their hit id), not by key.
            faqs.push((
                String::new(),
                FaqInfo {
                    question: f.q.clone(),
                    answer: f.a.clone(),
                },
            ));
        }
        let (entries, terms, spans) = b.finish();
        let mut idx = KnowledgeIndex {
            format: INDEX_FORMAT,
            items: Records::build(items),
            categories: Records::build(categories),
            groups: Records::build(groups),
            options: Records::build(options),
            faqs: Records::build(faqs),
            rules: r.menu.rules.clone(),
            entries,
            terms,
            derived: Derived::default(),
        };
        let entry_kinds: Vec<u8> = idx.entries.iter().map(|e| 1u8 << (e.kind & 7)).collect();
        idx.derived = Derived {
            lookup: fuzzy::Lookup::build(&idx.terms, &entry_kinds),
            links: search::Links::build(&idx),
            spans,
            synonyms: synonyms(&idx.terms),
        };
        idx
    }

    /// Ranked hits for a spoken-style query, best first, at most `limit`, only kinds in
    /// `kinds`. Hits below [`Confidence::Low`] are not returned, so an empty result means
    /// "we don't have that". Only the first hit can be [`Confidence::High`], and only when no
    /// other hit of its kind comes close.
    pub fn search(&self, query: &str, kinds: KindFilter, limit: usize) -> Vec<Hit> {
        search::search(self, query, kinds, limit, Stages::ALL)
    }

    /// [`KnowledgeIndex::search`] with only some query stages: for benchmarks that compare
    /// the word-by-word search with the whole one in the same run.
    pub fn search_with(
        &self,
        query: &str,
        kinds: KindFilter,
        limit: usize,
        stages: Stages,
    ) -> Vec<Hit> {
        search::search(self, query, kinds, limit, stages)
    }

    /// What to offer when [`KnowledgeIndex::search`] finds nothing: the entries the query
    /// comes closest to, weaker than any search hit, all [`Confidence::Low`], best first.
    pub fn closest(&self, query: &str, kinds: KindFilter, limit: usize) -> Vec<Hit> {
        search::closest(self, query, kinds, limit)
    }

    /// `false` for an index stored by an older build (or whose stored tables do not fit its
    /// vocabulary): rebuild it from the document.
    pub fn is_current(&self) -> bool {
        self.format == INDEX_FORMAT
            && self.derived.lookup.fits(&self.terms)
            && self.derived.links.fits(self.entries.len())
            && self.derived.spans.fits()
            && self.derived.synonyms.is_well_formed()
            && self.items.is_well_formed()
            && self.categories.is_well_formed()
            && self.groups.is_well_formed()
            && self.options.is_well_formed()
            && self.faqs.is_well_formed()
    }

    /// Every item in menu order (each decoded on first read: see [`records`]).
    pub fn items(&self) -> impl Iterator<Item = &ItemInfo> + '_ {
        self.items.iter()
    }

    pub fn item(&self, id: &str) -> Option<&ItemInfo> {
        self.items.find(id)
    }

    pub fn categories(&self) -> impl Iterator<Item = &CategoryInfo> + '_ {
        self.categories.iter()
    }

    /// By exact name (a [`Hit::id`] of kind `Category`).
    pub fn category(&self, name: &str) -> Option<&CategoryInfo> {
        self.categories.find(name)
    }

    pub fn category_items<'a>(
        &'a self,
        category: &'a CategoryInfo,
    ) -> impl Iterator<Item = &'a ItemInfo> {
        category.items.iter().filter_map(|id| self.item(id))
    }

    pub fn groups(&self) -> impl Iterator<Item = &GroupInfo> + '_ {
        self.groups.iter()
    }

    pub fn group(&self, id: &str) -> Option<&GroupInfo> {
        self.groups.find(id)
    }

    /// The item's modifier groups, in menu order.
    pub fn item_groups<'a>(&'a self, item: &'a ItemInfo) -> impl Iterator<Item = &'a GroupInfo> {
        item.modifier_groups.iter().filter_map(|id| self.group(id))
    }

    pub fn group_options<'a>(
        &'a self,
        group: &'a GroupInfo,
    ) -> impl Iterator<Item = &'a OptionInfo> {
        group.options.iter().filter_map(|id| self.option(id))
    }

    pub fn default_option(&self, group: &GroupInfo) -> Option<&OptionInfo> {
        group.default.as_deref().and_then(|id| self.option(id))
    }

    pub fn options(&self) -> impl Iterator<Item = &OptionInfo> + '_ {
        self.options.iter()
    }

    pub fn option(&self, id: &str) -> Option<&OptionInfo> {
        self.options.find(id)
    }

    pub fn option_group(&self, option: &OptionInfo) -> Option<&GroupInfo> {
        self.group(&option.group)
    }

    /// Items whose groups offer this option.
    pub fn items_with_option<'a>(
        &'a self,
        option: &'a OptionInfo,
    ) -> impl Iterator<Item = &'a ItemInfo> {
        self.items
            .iter()
            .filter(move |i| i.modifier_groups.contains(&option.group))
    }

    pub fn faqs(&self) -> impl Iterator<Item = &FaqInfo> + '_ {
        self.faqs.iter()
    }

    /// By a [`Hit::id`] of kind `Faq` (its position, "0", "1", …).
    pub fn faq(&self, id: &str) -> Option<&FaqInfo> {
        id.parse::<usize>().ok().and_then(|i| self.faqs.get(i))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Rules that mention the option (as the chosen option or as the one it needs).
    pub fn rules_for_option<'a>(&'a self, option_id: &'a str) -> impl Iterator<Item = &'a Rule> {
        self.rules.iter().filter(move |r| match r {
            Rule::Requires { option, needs, .. } => option == option_id || needs == option_id,
            Rule::UnavailableWith { option, .. } => option == option_id,
        })
    }

    /// `unavailable_with` rules that name the item.
    pub fn rules_for_item<'a>(&'a self, item_id: &'a str) -> impl Iterator<Item = &'a Rule> {
        self.rules.iter().filter(move |r| match r {
            Rule::Requires { .. } => false,
            Rule::UnavailableWith { items, .. } => items.iter().any(|i| i == item_id),
        })
    }

    /// The vocabulary terms a lexicon word the menu does not use stands for, each with how
    /// many content words its gloss has.
    fn synonyms_of<'a>(&'a self, raw: &str, stem: &str) -> impl Iterator<Item = (u32, usize)> + 'a {
        self.derived
            .synonyms
            .ids_of(synonym_key(raw, stem))
            .map(|p| (p & SYNONYM_TERM_MASK, (p >> SYNONYM_WORDS_SHIFT) as usize))
    }

    /// Kind, id and display name of an entry.
    fn describe(&self, entry: &Entry) -> Option<(EntryKind, String, String)> {
        let kind = EntryKind::from_code(entry.kind)?;
        let i = entry.idx as usize;
        Some(match kind {
            EntryKind::Item => {
                let it = self.items.get(i)?;
                (kind, it.id.clone(), it.name.clone())
            }
            EntryKind::Category => {
                let c = self.categories.get(i)?;
                (kind, c.name.clone(), c.name.clone())
            }
            EntryKind::ModifierOption => {
                let o = self.options.get(i)?;
                (kind, o.id.clone(), o.name.clone())
            }
            EntryKind::ModifierGroup => {
                let g = self.groups.get(i)?;
                (kind, g.id.clone(), g.name.clone())
            }
            EntryKind::Faq => {
                let f = self.faqs.get(i)?;
                (kind, i.to_string(), f.question.clone())
            }
        })
    }
}

/// Collects terms and postings while entries are added; computes weights at the end, when
/// document frequencies are known.
#[derive(Default)]
struct Builder {
    /// Stem → (shortest spelling seen, usually the singular, for its phonetic codes; packed
    /// postings). Sorted, so term ids come out in vocabulary order.
    terms: BTreeMap<String, (String, BTreeSet<u32>)>,
    /// (kind, index, stems of each phrase in order).
    entries: Vec<(EntryKind, usize, Vec<Vec<String>>)>,
    /// Names and aliases of items, categories and options as (raw, stem) words, for
    /// [`spans::Spans`].
    spoken: Vec<Vec<(String, Option<String>)>>,
}

impl Builder {
    fn add(
        &mut self,
        kind: EntryKind,
        idx: usize,
        names: &Names,
        description: &str,
        context: &str,
    ) {
        if self.entries.len() >= MAX_ENTRIES {
            return;
        }
        let entry = self.entries.len() as u32;
        let mut phrases = Vec::new();
        for (p, phrase) in std::iter::once(names.name)
            .chain(names.aliases.iter().map(String::as_str))
            .take(MAX_PHRASES)
            .enumerate()
        {
            let words = text::words(phrase);
            // A name made only of stop words ("On the Side") must still be findable.
            let all_stop = words.iter().all(|w| w.stop);
            let field = if p == 0 { Field::Name } else { Field::Alias };
            let mut stems = Vec::with_capacity(words.len());
            let mut spoken = Vec::with_capacity(words.len());
            for w in words {
                if w.stop && !all_stop {
                    // Said, not indexed: "de" in "birria de res" is heard too.
                    spoken.push((w.raw, None));
                    continue;
                }
                self.post(&w, entry, field, p as u16);
                spoken.push((w.raw.clone(), Some(w.stem.clone())));
                stems.push(w.stem);
            }
            // Sound-alike runs come from what the menu says (name and the owner's aliases),
            // not from lexicon glosses, which are English a caller says as written.
            if p < names.sounded
                && matches!(
                    kind,
                    EntryKind::Item | EntryKind::Category | EntryKind::ModifierOption
                )
            {
                self.spoken.push(spoken);
            }
            phrases.push(stems);
        }
        for (field, body) in [(Field::Description, description), (Field::Context, context)] {
            for w in text::words(body).into_iter().filter(|w| !w.stop) {
                self.post(&w, entry, field, 0);
            }
        }
        self.entries.push((kind, idx, phrases));
    }

    fn post(&mut self, word: &text::Word, entry: u32, field: Field, phrase: u16) {
        let posting = Posting {
            entry,
            field,
            phrase,
        }
        .pack();
        match self.terms.get_mut(&word.stem) {
            Some((raw, set)) => {
                if word.raw.len() < raw.len() {
                    raw.clone_from(&word.raw);
                }
                set.insert(posting);
            }
            None => {
                self.terms.insert(
                    word.stem.clone(),
                    (word.raw.clone(), BTreeSet::from([posting])),
                );
            }
        }
    }

    fn finish(self) -> (Vec<Entry>, Terms, spans::Spans) {
        let n = self.entries.len();
        let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
        let mut terms = Terms::default();
        for (i, (text, (raw, postings))) in self.terms.iter().enumerate() {
            ids.insert(text, i as u32);
            // Category and group names are repeated on every item and option they hold;
            // counting those would make "pizza" look common only because of the category name.
            let mut entries: Vec<u32> = postings
                .iter()
                .map(|&p| Posting::unpack(p))
                .filter(|p| p.field != Field::Context)
                .map(|p| p.entry)
                .collect();
            entries.dedup();
            let (dm, dm2) = fuzzy::phonetic_codes(raw);
            let postings: Vec<u32> = postings.iter().copied().collect();
            terms.push(Term {
                text,
                dm: &dm,
                dm2: &dm2,
                sound: &text::sound(raw),
                df: entries.len() as u32,
                postings: &postings,
            });
        }
        let entries = self
            .entries
            .iter()
            .map(|(kind, idx, phrases)| Entry {
                kind: kind.code(),
                idx: *idx as u32,
                phrases: phrases
                    .iter()
                    .map(|stems| {
                        let head = stems.last().and_then(|s| ids.get(s.as_str()).copied());
                        let mut seen: Vec<&str> = Vec::new();
                        let mut total = 0.0;
                        for s in stems {
                            if seen.contains(&s.as_str()) {
                                continue;
                            }
                            seen.push(s);
                            if let Some(&id) = ids.get(s.as_str()) {
                                total += terms.get(id as usize).map_or(0.0, |t| idf(t.df, n));
                            }
                        }
                        Phrase(total, head.unwrap_or(u32::MAX))
                    })
                    .collect(),
            })
            .collect();
        let spoken: Vec<Vec<(String, Option<u32>)>> = self
            .spoken
            .iter()
            .map(|words| {
                words
                    .iter()
                    .map(|(raw, stem)| {
                        (
                            raw.clone(),
                            stem.as_ref().and_then(|s| ids.get(s.as_str()).copied()),
                        )
                    })
                    .collect()
            })
            .collect();
        (entries, terms, spans::Spans::build(&spoken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
      "format": "hostline.restaurant/v1",
      "business": { "name": "T", "timezone": "America/Chicago", "currency": "USD",
        "tax_rate_bps": 0, "address": "1 Main St" },
      "fulfillment": { "pickup": true, "delivery": false, "prep_minutes": 10 },
      "menu": {
        "categories": [
          { "name": "Pizza", "items": [
            { "id": "margherita", "name": "Margherita Pizza", "price_cents": 1500,
              "description": "Tomato, fresh mozzarella, basil.", "modifier_groups": ["size"] },
            { "id": "pepperoni", "name": "Pepperoni Pizza", "price_cents": 1600,
              "description": "Tomato sauce, mozzarella, pepperoni.", "modifier_groups": ["size"] } ] },
          { "name": "Desserts", "items": [
            { "id": "cannoli", "name": "Cannoli", "price_cents": 500, "available": false,
              "description": "Two shells with ricotta." } ] }
        ],
        "modifier_groups": [
          { "id": "size", "name": "Size", "min": 1, "max": 1, "default": "size-m", "options": [
            { "id": "size-s", "name": "Small (10 inch)", "price_cents": -400 },
            { "id": "size-m", "name": "Medium (12 inch)", "price_cents": 0 } ] } ],
        "rules": [ { "kind": "unavailable_with", "option": "size-s", "items": ["pepperoni"],
          "message": "No small pepperoni." } ]
      },
      "faq": [ { "q": "Is there parking?", "a": "Street parking on Main." } ]
    }"#;

    fn index() -> KnowledgeIndex {
        let r = Restaurant::parse(DOC).expect("test document parses");
        KnowledgeIndex::build(&r)
    }

    #[test]
    fn postings_pack_and_unpack() {
        for p in [
            Posting {
                entry: 0,
                field: Field::Name,
                phrase: 0,
            },
            Posting {
                entry: (MAX_ENTRIES - 1) as u32,
                field: Field::Context,
                phrase: (MAX_PHRASES - 1) as u16,
            },
            Posting {
                entry: 12345,
                field: Field::Alias,
                phrase: 7,
            },
        ] {
            assert_eq!(Posting::unpack(p.pack()), p);
        }
    }

    #[test]
    fn vocabulary_is_sorted_and_weighted() {
        let idx = index();
        let texts: Vec<&str> = idx.terms.iter().map(|t| t.text).collect();
        assert!(texts.len() > 20 && texts.windows(2).all(|w| w[0] < w[1]));
        let term = |w: &str| {
            let id = fuzzy::exact(&idx.terms, w).unwrap_or_else(|| panic!("{w} is a term"));
            idx.terms.get(id as usize).unwrap()
        };
        let (pizza, cannoli) = (term("pizza"), term("cannoli"));
        assert_eq!((pizza.text, cannoli.text), ("pizza", "cannoli"));
        assert!(!pizza.postings.is_empty() && !pizza.sound.is_empty());
        assert!(idf(pizza.df, idx.entries.len()) < idf(cannoli.df, idx.entries.len()));
        // Stop words are never indexed.
        assert!(fuzzy::exact(&idx.terms, "is").is_none());
    }

    #[test]
    fn a_term_table_that_does_not_hold_together_reads_empty_not_a_panic() {
        let mut t = Terms::default();
        t.push(Term {
            text: "taro",
            dm: "TR",
            dm2: "",
            sound: "taru",
            df: 1,
            postings: &[7],
        });
        let ok = t.get(0).unwrap();
        assert_eq!(
            (ok.text, ok.dm, ok.sound, ok.postings),
            ("taro", "TR", "taru", &[7][..])
        );
        assert!(t.get(1).is_none());
        t.string_ends = packed::U32Vec(vec![9, 2, 1, 400]);
        t.posting_ends = packed::U32Vec(vec![5]);
        t.strings = "tàro".into(); // an offset inside the two-byte à
        let bad = t.get(0).unwrap();
        assert_eq!((bad.text, bad.postings), ("", &[][..]));
    }

    #[test]
    fn answer_data_is_complete() {
        let idx = index();
        let m = idx.item("margherita").expect("item");
        assert_eq!(m.price, Cents(1500));
        assert_eq!(m.category, "Pizza");
        assert!(!idx.item("cannoli").expect("item").available);
        let groups: Vec<&str> = idx.item_groups(m).map(|g| g.name.as_str()).collect();
        assert_eq!(groups, ["Size"]);
        let size = idx.group("size").expect("group");
        let opts: Vec<(&str, Cents)> = idx
            .group_options(size)
            .map(|o| (o.name.as_str(), o.price))
            .collect();
        assert_eq!(
            opts,
            [
                ("Small (10 inch)", Cents(-400)),
                ("Medium (12 inch)", Cents(0))
            ]
        );
        assert_eq!(
            idx.default_option(size).map(|o| o.id.as_str()),
            Some("size-m")
        );
        assert_eq!(idx.rules_for_item("pepperoni").count(), 1);
        assert_eq!(idx.rules_for_option("size-s").count(), 1);
        let desserts = idx.category("Desserts").expect("category");
        assert_eq!(idx.category_items(desserts).count(), 1);
        assert_eq!(
            idx.faq("0").map(|f| f.answer.as_str()),
            Some("Street parking on Main.")
        );
        assert!(idx.faq("7").is_none());
        let small = idx.option("size-s").expect("option");
        assert_eq!(idx.items_with_option(small).count(), 2);
    }

    #[test]
    fn kind_filter_is_a_set() {
        let f = KindFilter::ITEMS | KindFilter::FAQ;
        assert!(f.contains(EntryKind::Item) && f.contains(EntryKind::Faq));
        assert!(!f.contains(EntryKind::Category));
        assert!(KindFilter::MENU.contains(EntryKind::Category));
        assert!(KindFilter::MODIFIERS.contains(EntryKind::ModifierGroup));
        assert_eq!(KindFilter::from(EntryKind::Faq), KindFilter::FAQ);
        assert!(EntryKind::ALL.iter().all(|k| KindFilter::ALL.contains(*k)));
        assert!(
            EntryKind::ALL
                .iter()
                .all(|k| EntryKind::from_code(k.code()) == Some(*k))
        );
    }

    #[test]
    fn serde_round_trip_gives_identical_results() {
        let idx = index();
        let json = serde_json::to_string(&idx).expect("serializes");
        let back: KnowledgeIndex = serde_json::from_str(&json).expect("deserializes");
        assert!(back.is_current());
        assert_eq!(serde_json::to_string(&back).expect("serializes"), json);
        for q in [
            "margarita pizza",
            "pepper oni",
            "canolis",
            "where do I park",
            "small",
            "sushi",
        ] {
            assert_eq!(
                idx.search(q, KindFilter::ALL, 5),
                back.search(q, KindFilter::ALL, 5),
                "{q}"
            );
        }
    }
}
