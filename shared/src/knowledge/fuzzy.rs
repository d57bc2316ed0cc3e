//! Finding vocabulary terms that a misheard query word may stand for, without scanning the
//! vocabulary: a symmetric deletion neighbourhood (every term and every term with one character
//! deleted, hashed) finds spelling neighbours, a table of Double Metaphone codes finds
//! sound-alikes, and a binary search of the sorted vocabulary finds words cut short. Each
//! candidate is then scored once with real string measures (optimal string alignment distance,
//! Jaro-Winkler on the letters and on the sound spelling).
//!
//! The tables are derived from the vocabulary when the index is built and stored with it as
//! flat byte tables, so loading them per tool call is a copy (see [`Lookup::build`]).

use super::packed::{Bytes, Pairs};
use super::{KindFilter, Posting, Terms, text};
use rphonetic::DoubleMetaphone;
use serde::{Deserialize, Serialize};

/// Longest Double Metaphone code kept: long enough to tell "margherita" from "margaret".
const MAX_CODE_LEN: usize = 6;
/// Query words shorter than this get no spelling candidates (three-letter words have too many
/// one-edit neighbours); sound-alikes still apply.
const MIN_TYPO_LEN: usize = 4;
/// From this length a query word may be two edits away from a term.
const TWO_EDITS_LEN: usize = 6;
/// At most this many terms that merely start with the query word are considered.
const MAX_PREFIX_CANDIDATES: usize = 8;
/// Candidates scoring below this are not worth considering.
pub(crate) const MIN_SIMILARITY: f32 = 0.6;

/// The Double Metaphone primary and alternate codes of a word as written (not stemmed: the
/// encoder knows English spelling, so "rice" must stay "rice", not "ric"); empty when the word
/// has no letters worth encoding (numbers, single letters).
pub(crate) fn phonetic_codes(raw: &str) -> (String, String) {
    // The encoder indexes bytes as characters: only plain ASCII letters go in.
    if raw.len() < 2 || !raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        return (String::new(), String::new());
    }
    let r = DoubleMetaphone::new(Some(MAX_CODE_LEN)).double_metaphone(raw);
    let (primary, alternate) = (r.primary(), r.alternate());
    let alternate = if alternate == primary {
        String::new()
    } else {
        alternate
    };
    (primary, alternate)
}

/// Search tables derived from the vocabulary, computed when the index is built and stored
/// with it as flat byte tables ([`packed`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Lookup {
    /// (hash of a term, or of a term with one character deleted; term id), sorted by hash.
    #[serde(rename = "d")]
    deletions: Pairs,
    /// (hash of a Double Metaphone code; term id), sorted by hash.
    #[serde(rename = "p")]
    phonetic: Pairs,
    /// Per term, the [`KindFilter`] bits of the entries it occurs in: a word the menu only
    /// uses for a modifier is no match for an item search, so it must not stop the search
    /// from trying what else the word may mean.
    #[serde(rename = "k")]
    kinds: Bytes,
}

impl Lookup {
    /// Derive the tables. Linear in the vocabulary size times the mean word length (plus a
    /// sort); for a 500-item menu a fraction of a millisecond, paid once per publish.
    pub fn build(terms: &Terms, entry_kinds: &[u8]) -> Lookup {
        let mut deletions = Vec::with_capacity(terms.len() * 8);
        let mut phonetic = Vec::with_capacity(terms.len() * 2);
        let mut kinds = Vec::with_capacity(terms.len());
        let mut chars: Vec<char> = Vec::new();
        for (id, term) in terms.iter().enumerate() {
            let id = id as u32;
            kinds.push(term.postings.iter().fold(0u8, |mask, &p| {
                let entry = Posting::unpack(p).entry as usize;
                let kind = entry_kinds.get(entry).copied().unwrap_or(0);
                mask | kind
            }));
            chars.clear();
            chars.extend(term.text.chars());
            if chars.len() >= MIN_TYPO_LEN - 1 && !is_numeric(term.text) {
                deletions.push((hash_without(&chars, usize::MAX, usize::MAX), id));
                for i in 0..chars.len() {
                    deletions.push((hash_without(&chars, i, usize::MAX), id));
                }
            }
            for code in [term.dm, term.dm2] {
                if !code.is_empty() {
                    phonetic.push((hash_str(code), id));
                }
            }
        }
        Lookup {
            deletions: Pairs::from_unsorted(deletions),
            phonetic: Pairs::from_unsorted(phonetic),
            kinds: Bytes(kinds),
        }
    }

    /// Whether stored tables fit the vocabulary they were stored with.
    pub fn fits(&self, terms: &Terms) -> bool {
        self.deletions.is_well_formed()
            && self.phonetic.is_well_formed()
            && self.kinds.0.len() == terms.len()
    }

    /// Whether the term occurs in any entry of the wanted kinds.
    pub fn wanted(&self, term: u32, filter: KindFilter) -> bool {
        self.kinds
            .0
            .get(term as usize)
            .is_some_and(|&k| KindFilter::from_bits(k).intersects(filter))
    }
}

/// The id of the term spelled exactly `stem`.
pub(crate) fn exact(terms: &Terms, stem: &str) -> Option<u32> {
    let i = terms.lower_bound(stem);
    (i < terms.len() && terms.text(i) == stem).then_some(i as u32)
}

/// Terms that a query word (`stem`, and `raw` as it was written) may be a misspelling or
/// mishearing of, with a similarity in [`MIN_SIMILARITY`]..=0.95 (1.0 is reserved for exact
/// matches, which this does not return). Appends to `out` as (term id, similarity), best first.
pub(crate) fn similar(
    terms: &Terms,
    lookup: &Lookup,
    stem: &str,
    raw: &str,
    out: &mut Vec<(u32, f32)>,
) {
    let chars: Vec<char> = stem.chars().collect();
    let mut found: Vec<(u32, bool)> = Vec::new();
    if chars.len() >= MIN_TYPO_LEN && !is_numeric(stem) {
        let mut hashes = Vec::with_capacity(1 + chars.len() * (1 + chars.len() / 2));
        hashes.push(hash_without(&chars, usize::MAX, usize::MAX));
        for i in 0..chars.len() {
            hashes.push(hash_without(&chars, i, usize::MAX));
            if chars.len() >= TWO_EDITS_LEN {
                for j in i + 1..chars.len() {
                    hashes.push(hash_without(&chars, i, j));
                }
            }
        }
        hashes.sort_unstable();
        hashes.dedup();
        for h in hashes {
            for id in lookup.deletions.ids_of(h) {
                found.push((id, false));
            }
        }
    }
    // Words cut short by the recognizer or the caller ("drunk" noodles, "mozz" sticks): the
    // vocabulary is sorted, so the terms that start with the word are one contiguous run. The
    // word as said, not its stem: "shake" is not a short "shaken".
    if raw.chars().count() >= MIN_TYPO_LEN {
        let lo = terms.lower_bound(raw);
        let run = (lo..terms.len())
            .map(|i| (i, terms.text(i)))
            .take_while(|(_, t)| t.starts_with(raw));
        for (i, t) in run.take(MAX_PREFIX_CANDIDATES) {
            // One letter more is an inflection ("shake", "shaken"), not a word cut short.
            if t.len() >= raw.len() + 2 {
                found.push((i as u32, false));
            }
        }
    }
    let (dm, dm2) = phonetic_codes(raw);
    for code in [dm, dm2] {
        if code.is_empty() {
            continue;
        }
        for id in lookup.phonetic.ids_of(hash_str(&code)) {
            found.push((id, true));
        }
    }
    // A term found both ways keeps the phonetic flag.
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    found.dedup_by_key(|f| f.0);

    let start = out.len();
    let q_sound = text::sound(raw);
    for (id, same_code) in found {
        let Some(term) = terms.get(id as usize) else {
            continue;
        };
        if term.text == stem {
            continue;
        }
        let s = similarity(stem, &q_sound, term.text, term.sound, same_code);
        if s >= MIN_SIMILARITY {
            out.push((id, s));
        }
    }
    out[start..].sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// How likely a caller who said (or a recognizer that wrote) `q` meant the term `t`.
///
/// The better of two readings: a spelling reading (edit distance relative to length, allowed
/// up to one edit for short words and two for long ones) and a sound reading (Jaro-Winkler on
/// the letters or on the sound spelling, which rewards shared beginnings the way listeners
/// do). Sharing a Double Metaphone code adds a little. Capped below an exact match.
pub(crate) fn similarity(q: &str, q_sound: &str, t: &str, t_sound: &str, same_code: bool) -> f32 {
    let lq = q.chars().count();
    let lt = t.chars().count();
    let max_edits = if lq >= TWO_EDITS_LEN { 2 } else { 1 };
    let d = strsim::osa_distance(q, t);
    let spelling = if lq >= MIN_TYPO_LEN && d <= max_edits {
        1.0 - 1.2 * d as f32 / lq.max(lt) as f32
    } else {
        0.0
    };
    let jw = strsim::jaro_winkler(q, t).max(strsim::jaro_winkler(q_sound, t_sound)) as f32;
    let sound = if jw >= 0.75 {
        0.5 + 0.4 * (jw - 0.75) / 0.25
    } else {
        0.0
    };
    let bonus = if same_code { 0.05 } else { 0.0 };
    (spelling.max(sound) + bonus).min(0.95)
}

fn is_numeric(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over the characters of `chars` except positions `skip1` and `skip2`. Collisions only
/// cost a wasted verification: every candidate is re-scored on the real strings.
fn hash_without(chars: &[char], skip1: usize, skip2: usize) -> u64 {
    let mut h = FNV_OFFSET;
    for (i, &c) in chars.iter().enumerate() {
        if i == skip1 || i == skip2 {
            continue;
        }
        h = (h ^ u64::from(u32::from(c))).wrapping_mul(FNV_PRIME);
    }
    h
}

fn hash_str(s: &str) -> u64 {
    let chars: Vec<char> = s.chars().collect();
    hash_without(&chars, usize::MAX, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phonetic_codes_take_any_letters_without_panicking() {
        for w in ["đac", "пельмени", "中文", "ñame", "x", "a1"] {
            let (dm, dm2) = phonetic_codes(w);
            assert!(dm.is_empty() && dm2.is_empty(), "{w}: {dm} {dm2}");
        }
        assert_eq!(phonetic_codes("dac").0, "TK");
    }

    fn vocab(words: &[&str]) -> Terms {
        let mut words: Vec<&str> = words.to_vec();
        words.sort_unstable();
        let mut terms = Terms::default();
        for w in words {
            let (dm, dm2) = phonetic_codes(w);
            terms.push(super::super::Term {
                text: w,
                dm: &dm,
                dm2: &dm2,
                sound: &text::sound(w),
                df: 1,
                postings: &[],
            });
        }
        terms
    }

    fn best(terms: &Terms, q: &str) -> Option<(String, f32)> {
        let lookup = Lookup::build(terms, &[]);
        let mut out = Vec::new();
        similar(terms, &lookup, q, q, &mut out);
        out.first()
            .map(|&(id, s)| (terms.text(id as usize).to_owned(), s))
    }

    #[test]
    fn deletion_neighbourhood_finds_typos() {
        let terms = vocab(&[
            "taro",
            "margherita",
            "calamari",
            "gluten",
            "bruschetta",
            "pizza",
            "drunken",
        ]);
        for (q, want) in [
            ("drunk", "drunken"),
            ("tarot", "taro"),
            ("margarita", "margherita"),
            ("calamary", "calamari"),
            ("glutton", "gluten"),
            ("brushetta", "bruschetta"),
            ("piza", "pizza"),
        ] {
            let got = best(&terms, q);
            assert_eq!(
                got.as_ref().map(|g| g.0.as_str()),
                Some(want),
                "{q}: {got:?}"
            );
        }
    }

    #[test]
    fn phonetic_codes_find_sound_alikes() {
        let terms = vocab(&["kha", "gai", "ew", "tea", "thai", "knot", "giardiniera"]);
        for (q, want) in [
            ("ka", "kha"),
            ("gui", "gai"),
            ("you", "ew"),
            ("tee", "tea"),
            ("ti", "thai"),
            ("not", "knot"),
            ("jardiniera", "giardiniera"),
        ] {
            let got = best(&terms, q);
            assert_eq!(
                got.as_ref().map(|g| g.0.as_str()),
                Some(want),
                "{q}: {got:?}"
            );
        }
    }

    #[test]
    fn unrelated_words_are_not_candidates() {
        let terms = vocab(&["curri", "pizza", "cheese", "wing"]);
        for q in ["car", "sushi", "taco", "burger"] {
            assert_eq!(best(&terms, q), None, "{q}");
        }
    }

    #[test]
    fn similarity_orders_closeness() {
        let s = |q: &str, t: &str| similarity(q, &text::sound(q), t, &text::sound(t), false);
        assert!(s("calamary", "calamari") > s("calamry", "calamari") - 0.2);
        assert!(s("margarita", "margherita") > 0.8);
        assert!(s("tarot", "taro") > 0.75);
        assert!(s("glutton", "gluten") > 0.6);
        assert!(s("wine", "wing") < 0.85);
        assert_eq!(s("pizza", "sushi"), 0.0);
    }
}
