//! Answering one query: turning the caller's words into query positions (each with the
//! vocabulary terms it may mean), scoring every entry those terms point to, and assigning
//! confidence.
//!
//! Scoring, per entry:
//! - *coverage*: how much of the query (weighted by term rarity) the entry explains in any field,
//!   scaled by how sure each word match is. A query word the menu does not know counts against
//!   every entry, so "pizza with sushi" is never a confident pizza.
//! - *field quality*: whether the words were found in the name, or only in the description or
//!   category. Description words count, less than name words.
//! - *name coverage*: how much of the entry's name (or one alias) the caller said, the last
//!   word of the name counting more.
//!
//! `score = coverage^1.5 × (½ + ¼·field quality + ¼·name coverage) × kind prior`. A query that
//! names an entry exactly scores 1; a description-only match tops out near 0.6.
//!
//! Two refinements: an item the caller named also counts the names of the options it offers
//! ("pad thai *with chicken*", "*large* pepperoni pizza"), and a stop word that sounds exactly
//! like a name word ("pad see *you*") can add to an entry that has it but never count against
//! one that does not.
//!
//! Confidence: `High` from 0.8 (and only for the best hit, and only when no hit of its kind is
//! within 0.06), `Medium` from 0.55, `Low` from 0.35; below that nothing is returned. The bands
//! were calibrated on `tests/knowledge_quality.rs`: exact and lightly misheard names land High,
//! description-only and heavily misheard ones Medium, one-known-word-of-several Low.

use super::fuzzy::{self, Lookup};
use super::packed::U32s;
use super::spans::{self, MAX_WINDOW_WORDS, Spans};
use super::text::{self, Word};
use super::{Confidence, EntryKind, Field, Hit, KindFilter, KnowledgeIndex, Posting, Terms, idf};
use serde::{Deserialize, Serialize};

/// Longest query considered, in words and in positions. Tool queries are short; this bounds
/// the work for a pasted paragraph.
const MAX_WORDS: usize = 24;
const MAX_POSITIONS: usize = 16;
/// Candidate terms kept per query word, and how far below the best one they may be.
const MAX_CANDIDATES: usize = 4;
const CANDIDATE_SPREAD: f32 = 0.2;
/// A joined pair of words ("pepper oni" → "pepperoni") replaces the pair only when at least
/// this close to a term.
const MIN_JOIN_SIMILARITY: f32 = 0.85;
/// A stop word counts only when it sounds just like a menu word ("pad see *you*"): the same
/// sound spelling and the same Double Metaphone code.
const MIN_STOP_SIMILARITY: f32 = 0.95;
/// Weight of a query word the menu does not know; numbers weigh little ("two pad thai").
const UNKNOWN_WORD_WEIGHT: f32 = 0.5;
const UNKNOWN_FAQ_WORD_WEIGHT: f32 = 0.3;
const UNKNOWN_NUMBER_WEIGHT: f32 = 0.1;

const HIGH: f32 = 0.8;
const MEDIUM: f32 = 0.55;
const LOW: f32 = 0.35;
/// The best hit is only High when the next hit of its kind is at least this far behind.
const AMBIGUITY_GAP: f32 = 0.06;

fn field_weight(f: Field) -> f32 {
    match f {
        Field::Name => 1.0,
        Field::Alias => 0.95,
        Field::Description => 0.45,
        Field::Context => 0.5,
    }
}

/// Ties and near-ties go to the thing a caller most often means.
fn kind_prior(k: EntryKind) -> f32 {
    match k {
        EntryKind::Item => 1.0,
        EntryKind::Category => 0.99,
        EntryKind::Faq => 0.97,
        EntryKind::ModifierOption => 0.96,
        EntryKind::ModifierGroup => 0.94,
    }
}

/// Which query stages a search runs: all of them, except in the search bench's baseline,
/// which measures the word-by-word search alone in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    /// Runs of words that sound like runs of name words ([`spans`]).
    pub sound_runs: bool,
    /// A caller's word the menu lacks standing for its lexicon glosses.
    pub lexicon: bool,
}

impl Stages {
    pub const ALL: Stages = Stages {
        sound_runs: true,
        lexicon: true,
    };
    pub const WORDS_ONLY: Stages = Stages {
        sound_runs: false,
        lexicon: false,
    };
}

/// One query word (or a joined pair, or half of a split word) and what it may mean.
#[derive(Debug, Clone)]
struct Position {
    /// (term id, similarity), best first; empty when the menu knows nothing like it.
    cands: Vec<(u32, f32)>,
    weight: f32,
    /// A stop word that happens to sound like a menu word: it can only add to an entry that
    /// contains that word, never count against one that does not.
    optional: bool,
    /// The word the caller ruled out ("the whole chicken, *not* the half"): it counts against
    /// an entry that has it (unless the entry's own name says "not"), never for one.
    negated: bool,
}

pub(super) fn search(
    index: &KnowledgeIndex,
    query: &str,
    kinds: KindFilter,
    limit: usize,
    stages: Stages,
) -> Vec<Hit> {
    let (mut hits, scored) = ranked(index, query, kinds, limit, LOW, stages);
    if let Some((first, rest)) = hits.split_first_mut() {
        let rival = scored
            .iter()
            .skip(1)
            .find(|(e, _)| kind_of(index, *e) == Some(first.kind))
            .map(|(_, s)| *s);
        if first.confidence == Confidence::High
            && rival.is_some_and(|r| first.score - r < AMBIGUITY_GAP)
        {
            first.confidence = Confidence::Medium;
        }
        for h in rest {
            h.confidence = h.confidence.min(Confidence::Medium);
        }
    }
    hits
}

/// The entries a query comes closest to, down to [`CLOSEST_FLOOR`], all at
/// [`Confidence::Low`]: what to offer after "I couldn't find that".
pub(super) fn closest(
    index: &KnowledgeIndex,
    query: &str,
    kinds: KindFilter,
    limit: usize,
) -> Vec<Hit> {
    let (mut hits, _) = ranked(index, query, kinds, limit, CLOSEST_FLOOR, Stages::ALL);
    for h in &mut hits {
        h.confidence = Confidence::Low;
    }
    hits
}

/// What a category's score is multiplied by when the caller asks what kinds there are.
const KIND_QUESTION_BOOST: f32 = 1.08;

/// Whether a query asks what kinds of something there are: "what" or "which" with a plural
/// ("what pastas do you have", "which kinds of pho", "what noodle soups are there").
fn asks_for_a_kind(words: &[Word]) -> bool {
    words
        .iter()
        .any(|w| matches!(w.raw.as_str(), "what" | "which" | "whats"))
        && words.iter().any(|w| {
            matches!(w.raw.as_str(), "kinds" | "types" | "sorts")
                || (!w.stop && w.raw.len() > 3 && w.raw.ends_with('s') && w.stem != w.raw)
        })
}

/// Lowest score [`closest`] offers.
const CLOSEST_FLOOR: f32 = 0.2;

/// The best `limit` hits scoring at least `floor`, with every scored entry, best first.
fn ranked(
    index: &KnowledgeIndex,
    query: &str,
    kinds: KindFilter,
    limit: usize,
    floor: f32,
    stages: Stages,
) -> (Vec<Hit>, Vec<(u32, f32)>) {
    if limit == 0 || index.entries.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let (positions, kind_question) = plan(index, query, kinds, stages);
    if !positions.iter().any(|p| !p.optional) {
        return (Vec::new(), Vec::new());
    }
    let mut scored = score(index, &positions, kinds, floor);
    // "what pastas do you have", "which kinds of pho": a question about a kind of dish.
    if kind_question {
        for (e, sc) in &mut scored {
            if kind_of(index, *e) == Some(EntryKind::Category) {
                *sc = (*sc * KIND_QUESTION_BOOST).min(1.0);
            }
        }
    }
    scored.sort_unstable_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| kind_rank(index, a.0).cmp(&kind_rank(index, b.0)))
            .then(a.0.cmp(&b.0))
    });
    let mut hits: Vec<Hit> = Vec::with_capacity(limit.min(scored.len()));
    for &(entry, s) in scored.iter().take(limit) {
        let Some((kind, id, name)) = index
            .entries
            .get(entry as usize)
            .and_then(|e| index.describe(e))
        else {
            continue;
        };
        hits.push(Hit {
            kind,
            id,
            name,
            score: s,
            confidence: band(s),
        });
    }
    (hits, scored)
}

/// Confidence band of a score; scores below [`LOW`] never leave [`score`].
pub(super) fn band(s: f32) -> Confidence {
    if s >= HIGH {
        Confidence::High
    } else if s >= MEDIUM {
        Confidence::Medium
    } else {
        Confidence::Low
    }
}

fn kind_of(index: &KnowledgeIndex, entry: u32) -> Option<EntryKind> {
    index
        .entries
        .get(entry as usize)
        .and_then(|e| EntryKind::from_code(e.kind))
}

fn kind_rank(index: &KnowledgeIndex, entry: u32) -> u8 {
    index
        .entries
        .get(entry as usize)
        .map_or(u8::MAX, |e| e.kind)
}

/// Query words → positions: exact terms, joined pairs, split words, then fuzzy candidates.
/// Also says whether the query asks what kinds of something there are ([`asks_for_a_kind`]).
fn plan(
    index: &KnowledgeIndex,
    query: &str,
    kinds: KindFilter,
    stages: Stages,
) -> (Vec<Position>, bool) {
    let ctx = Ctx { index, kinds };
    let mut words = text::words(query);
    words.truncate(MAX_WORDS);
    let exact: Vec<Option<u32>> = words
        .iter()
        .map(|w| if w.stop { None } else { ctx.exact(&w.stem) })
        .collect();

    let windows = match stages.sound_runs {
        true => span_windows(&ctx, &index.derived.spans, &words, &exact),
        false => Vec::new(),
    };

    // "not the half", "no onion", "without cheese": the first word after a negation (see
    // [`NEGATIONS`]; a "no" only when it does not open the sentence: "no, the large one"),
    // skipping filler, is ruled out (unless the menu says the negation itself: "Not Spicy" and
    // "No Onions" are names).
    let negation: Option<(usize, usize)> = words
        .iter()
        .enumerate()
        .position(|(k, w)| NEGATIONS.contains(&w.raw.as_str()) || (k > 0 && w.raw == "no"))
        .filter(|&n| exact[n].is_none())
        .and_then(|n| {
            (n + 1..words.len())
                .find(|&j| !words[j].stop && !words[j].is_number())
                .map(|j| (n, j))
        });
    let ruled_out = negation.map(|(_, j)| j);
    let mut out: Vec<Position> = Vec::new();
    // Positions of soft words only FAQ questions use (see below).
    let mut asking: Vec<usize> = Vec::new();
    // The word each position in `out` came from.
    let mut from: Vec<usize> = Vec::new();
    let (mut i, mut prev) = (0, 0);
    while i < words.len() && out.len() < MAX_POSITIONS {
        from.resize(out.len(), prev);
        prev = i;
        if negation.is_some_and(|(n, _)| n == i) {
            i += 1;
            continue;
        }
        // A run of words that sounds like a run of name words ("fuh tie", "chill a keel ace").
        if let Some(w) = windows.iter().find(|w| w.start == i && w.alt) {
            for (k, t) in index.derived.spans.terms_of(w.span).enumerate() {
                let Some(own) = exact[i + k] else { continue };
                let mut p = ctx.exact_position(own);
                if t != own {
                    p.cands.push((t, w.sim));
                }
                out.push(p);
            }
            i += w.len;
            continue;
        }
        if let Some(w) = windows.iter().find(|w| w.start == i) {
            for t in index.derived.spans.terms_of(w.span) {
                out.push(Position {
                    cands: vec![(t, w.sim)],
                    weight: ctx.weight(t),
                    optional: false,
                    negated: false,
                });
            }
            i += w.len;
            continue;
        }
        let w = &words[i];
        if w.stop {
            if let Some(p) = ctx.stop_position(w) {
                out.push(p);
            }
            i += 1;
            continue;
        }
        if w.soft {
            match exact[i].filter(|&t| ctx.names_with(t)) {
                None => {
                    i += 1;
                    continue;
                }
                // Kept only because FAQ questions ask with it ("Do you *take*
                // reservations?"): it is how a question is put, not what it is about, so it
                // supports an entry that has it and never counts against one that does not
                // ("do you take cards" is the payment question).
                Some(t) if !ctx.names_with_outside_faq(t) => {
                    let mut p = ctx.exact_position(t);
                    p.optional = true;
                    asking.push(out.len());
                    out.push(p);
                    i += 1;
                    continue;
                }
                Some(_) => {}
            }
        }
        // Recognizers split unfamiliar words ("tira misu", "pepper oni", "meat balls").
        if let Some(next) = words
            .get(i + 1)
            .filter(|nx| !nx.stop && !nx.is_number() && !w.is_number())
            && let Some(p) = ctx.joined(w, next, exact[i].is_some() && exact[i + 1].is_some())
        {
            out.push(p);
            i += 2;
            continue;
        }
        if let Some(t) = exact[i] {
            let mut p = ctx.exact_position(t);
            // A number is mostly a quantity ("two gorditas"): it adds to an entry whose name
            // has it ("24 wings") but never counts against one that does not. Not when only
            // options are searched: there the number is the choice ("four samosas" is the
            // Four Pieces option).
            p.optional = is_quantity(&words, i) && ctx.kinds.contains(EntryKind::Item);
            out.push(p);
            i += 1;
            continue;
        }
        // When only options are searched, a word the menu uses for something else only (an
        // item's: "four *samosas*", "hold the cilantro on the *sandwich*") names what the
        // option is for; it is not a misheard option word.
        if !ctx.kinds.contains(EntryKind::Item) && fuzzy::exact(ctx.terms(), &w.stem).is_some() {
            i += 1;
            continue;
        }
        // A word only the options use ("beef" in "pad see ew with beef") is an attribute of
        // the items that offer it; it may also be a mishearing of a word the items use.
        if let Some(t) = ctx.option_word(&w.stem) {
            let mut p = ctx.fuzzy_position(&w.stem, &w.raw, false);
            p.cands.insert(0, (t, 1.0));
            p.cands.retain(|c| c.1 >= 1.0 - CANDIDATE_SPREAD);
            p.cands.truncate(MAX_CANDIDATES);
            p.weight = ctx.weight(t);
            out.push(p);
            i += 1;
            continue;
        }
        // A word of another language the lexicon glosses with menu words ("pollo").
        // (Not when it is a close spelling of a menu word: "lasagne" is the lasagna.)
        let synonyms: Vec<(u32, usize)> = match stages.lexicon {
            true => index.synonyms_of(&w.raw, &w.stem).collect(),
            false => Vec::new(),
        };
        // The word's fuzzy candidates, computed once: for the lexicon, and if it is not taken
        // that way, for the word as said below.
        let mut fuzzy = match synonyms.is_empty() {
            true => None,
            false => Some(ctx.fuzzy_position(&w.stem, &w.raw, w.is_number())),
        };
        // (A word of three letters or fewer is too short for its spelling to say much: "sit"
        // is not a misspelt "sweet".)
        let spelled_like = if w.raw.len() <= 3 {
            SHORT_SPELLED_LIKE
        } else {
            SPELLED_LIKE
        };
        if let Some(mut p) = fuzzy.take_if(|p| p.cands.first().is_none_or(|c| c.1 < spelled_like)) {
            p.cands.retain(|c| c.1 >= SYNONYM_SIMILARITY);
            for (t, gloss_words) in synonyms {
                if ctx.lookup().wanted(t, ctx.kinds) && !p.cands.iter().any(|c| c.0 == t) {
                    p.cands.push((t, synonym_similarity(gloss_words)));
                }
            }
            p.cands.sort_by(|a, b| b.1.total_cmp(&a.1));
            if let Some(&(t, _)) = p.cands.first() {
                p.cands.truncate(MAX_CANDIDATES);
                p.weight = ctx.weight(t);
                out.push(p);
                i += 1;
                continue;
            }
        }
        // ... and join familiar ones ("milktea", "oatmilk").
        if let Some((a, b)) = ctx.split(&w.raw) {
            out.push(ctx.exact_position(a));
            out.push(ctx.exact_position(b));
            i += 1;
            continue;
        }
        out.push(fuzzy.unwrap_or_else(|| ctx.fuzzy_position(&w.stem, &w.raw, w.is_number())));
        i += 1;
    }
    from.resize(out.len(), prev);
    // ... unless the question is asked with nothing else ("do you have a *kids* menu").
    if out.iter().all(|p| p.optional) {
        for &k in &asking {
            out[k].optional = false;
        }
    }
    if let Some(j) = ruled_out {
        for (p, &f) in out.iter_mut().zip(&from) {
            if f == j && !p.optional && !p.cands.is_empty() {
                p.negated = true;
            }
        }
    }
    out.truncate(MAX_POSITIONS);
    (out, asks_for_a_kind(&words))
}

/// A run of query words taken as a run of name words (see [`spans`]).
#[derive(Debug, Clone, Copy)]
struct Window {
    start: usize,
    len: usize,
    span: u32,
    sim: f32,
    /// A run of known words that sounds exactly like a run of other name words, word for
    /// word ("chow tom" for chạo tôm, where "chow" is on the menu too): its words keep their
    /// own terms and may also mean the span's.
    alt: bool,
}

/// How alike the sound skeletons of a run of query words and a run of name words must be.
const MIN_SPAN_SIMILARITY: f32 = 0.85;
/// What each more query word a run explains is worth, in similarity, when runs compete.
const SPAN_WORD_BONUS: f32 = 0.045;
/// A word this close to a menu word is that word, whatever the lexicon says it glosses.
const SPELLED_LIKE: f32 = 0.8;
/// [`SPELLED_LIKE`] for a word of three letters or fewer.
const SHORT_SPELLED_LIKE: f32 = 0.95;
/// How sure a lexicon gloss is taken to be ("pollo" for chicken).
const SYNONYM_SIMILARITY: f32 = 0.9;

/// How sure a lexicon gloss word is: a translation ("pollo" = chicken) is
/// [`SYNONYM_SIMILARITY`]; one word of a described dish ("pambazo" = chile bread sandwich) is
/// a guess, less sure the longer the description.
fn synonym_similarity(gloss_words: usize) -> f32 {
    match gloss_words {
        0 | 1 => SYNONYM_SIMILARITY,
        2 => SYNONYM_TWO_WORDS,
        _ => SYNONYM_MORE_WORDS,
    }
}
const SYNONYM_TWO_WORDS: f32 = 0.75;
const SYNONYM_MORE_WORDS: f32 = 0.6;
/// Skeletons with fewer consonants than this only match run for run, word for word.
const SHORT_SPAN_CONSONANTS: usize = 3;
/// Fewest words in a run made only of known and filler words.
const MIN_KNOWN_RUN: usize = 3;
/// How alike a short skeleton split over more query words than name words must be.
const SHORT_SPLIT_SIMILARITY: f32 = 0.9;
/// A span match is a sound-alike, never an exact match.
const MAX_SPAN_SIMILARITY: f32 = 0.95;
/// How alike a run of known words must sound to other name words to also mean them, and how
/// sure that other meaning is taken to be (below the words' own: "chow" is still chow).
const ALT_SPAN_SIMILARITY: f32 = 0.95;
const ALT_SIMILARITY: f32 = 0.9;

/// Runs of query words that sound like runs of name words, chosen best first without overlap.
/// Only runs holding a word the vocabulary does not know are tried: "chicken tikka" needs no
/// help, "tick a masala" does.
fn span_windows(ctx: &Ctx, spans: &Spans, words: &[Word], exact: &[Option<u32>]) -> Vec<Window> {
    let mut found: Vec<Window> = Vec::new();
    let keys: Vec<Vec<u8>> = words.iter().map(|w| spans::word_skeleton(&w.raw)).collect();
    let mut joined: Vec<&str> = Vec::new();
    for start in 0..words.len() {
        // A run that starts on a filler word ("or chata", "a rose con lay che") must be a name
        // word cut into more words, and a close one: "have sushi" sounds like "bo xao sa".
        let filler_start = words[start].stop || words[start].soft;
        joined.clear();
        let mut unresolved = false;
        let mut fillers = 0;
        for len in 1..=MAX_WINDOW_WORDS.min(words.len() - start) {
            let w = &words[start + len - 1];
            if w.is_number() {
                break;
            }
            joined.push(w.raw.as_str());
            // (A name word cut up starts anywhere but rarely ends on "with" or "the".)
            let english_filler = w.stop && text::is_english_stop(&w.raw);
            unresolved |= !w.stop && !w.soft && exact[start + len - 1].is_none();
            fillers += usize::from(w.stop);
            // A run of known and filler words, mostly fillers, only counts as one name word
            // cut into three or more ("con so may" for consomé), and only when close.
            // ("can i get the" is a request, not a dish: such a run never starts on an
            // English filler word.)
            let known_run = !unresolved && fillers == 0 && !filler_start && len >= 2;
            if !unresolved
                && !known_run
                && (len < MIN_KNOWN_RUN
                    || 2 * fillers < len
                    || text::is_english_stop(&words[start].raw))
            {
                continue;
            }
            let key = spans::joined_skeleton(keys[start..start + len].iter().map(Vec::as_slice));
            if known_run {
                if !spans::usable(&key) || !spans.reachable(&key) {
                    continue;
                }
                let exacts: Vec<u32> = exact[start..start + len]
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                for m in spans.matches(&key, ALT_SPAN_SIMILARITY).into_iter().take(2) {
                    if spans.term_count(m.span) == len
                        && exacts.len() == len
                        && spans.terms_of(m.span).zip(&exacts).any(|(t, &e)| t != e)
                        && spans
                            .terms_of(m.span)
                            .all(|t| ctx.lookup().wanted(t, ctx.kinds))
                    {
                        found.push(Window {
                            start,
                            len,
                            span: m.span,
                            sim: ALT_SIMILARITY,
                            alt: true,
                        });
                    }
                }
                continue;
            }
            if !spans::usable(&key) {
                continue;
            }
            if !spans.reachable(&key) {
                // Longer runs from here only grow the skeleton.
                break;
            }
            let mut matches = spans.matches(&key, MIN_SPAN_SIMILARITY);
            // A "y" ending a word before a vowel may be the consonant it is in the name ("rey
            // anos" for rellenos) or a glide ("day oya" for de olla): both are tried.
            if let Some(other) = spans::seam_y_variant(&joined, &keys[start..start + len]) {
                matches.extend(spans.matches(&other, MIN_SPAN_SIMILARITY));
                matches.sort_unstable_by(|a, b| b.sim.total_cmp(&a.sim).then(a.span.cmp(&b.span)));
                matches.dedup_by_key(|m| m.span);
            }
            for m in matches.into_iter().take(2) {
                let terms = spans.term_count(m.span);
                if len == 1 && terms == 1 {
                    continue;
                }
                if (filler_start || !unresolved) && (len <= terms || m.sim < SHORT_SPLIT_SIMILARITY)
                {
                    continue;
                }
                // A short skeleton ("fuh tie", f-t) is only trusted word for word, or when a
                // recognizer cut one name word into several ("new key" for gnocchi): "sushi"
                // sounds like "xao sa" too.
                // Nor does it end on an English filler word: "pay with" is not "pâté".
                if spans::consonants(&key) < SHORT_SPAN_CONSONANTS
                    && (len < terms
                        || (len > terms && (m.sim < SHORT_SPLIT_SIMILARITY || english_filler)))
                {
                    continue;
                }
                if !spans
                    .terms_of(m.span)
                    .all(|t| ctx.lookup().wanted(t, ctx.kinds))
                {
                    continue;
                }
                found.push(Window {
                    start,
                    len,
                    span: m.span,
                    sim: m.sim.min(MAX_SPAN_SIMILARITY),
                    alt: false,
                });
            }
        }
    }
    // A run explaining more words is worth a little less similarity: "chill a keel ace" is
    // chilaquiles, though "keel ace" alone sounds more like "cola".
    // And a run that starts on a word of its own beats one that borrows a filler word:
    // "the fuh tie" is phở tái, not "the fuh" for tofu.
    let value = |w: &Window| {
        // (A filler of the menu's language, "es key tes", is as likely a syllable of the name.)
        let filler = words[w.start].soft || text::is_english_stop(&words[w.start].raw);
        w.sim + SPAN_WORD_BONUS * (w.len - 1) as f32
            - if filler { SPAN_WORD_BONUS * 2.0 } else { 0.0 }
            - if w.alt { 1.0 } else { 0.0 }
    };
    found.sort_by(|a, b| {
        value(b)
            .total_cmp(&value(a))
            .then(b.len.cmp(&a.len))
            .then(a.start.cmp(&b.start))
    });
    let mut chosen: Vec<Window> = Vec::new();
    for w in found {
        if chosen
            .iter()
            .all(|c| w.start + w.len <= c.start || c.start + c.len <= w.start)
        {
            chosen.push(w);
        }
    }
    chosen
}

/// Whether the number at `i` counts things ("two gorditas", "a dozen wings") rather than
/// naming a size or a strength ("25 percent", "16 ounce").
fn is_quantity(words: &[Word], i: usize) -> bool {
    const UNITS: [&str; 6] = ["percent", "ounce", "inch", "pound", "piec", "liter"];
    words[i].is_number()
        && words[i].stem.parse::<u32>().is_ok_and(|n| n <= 20)
        && !words
            .get(i + 1)
            .is_some_and(|n| UNITS.contains(&n.stem.as_str()))
}

/// What query planning looks things up in.
struct Ctx<'a> {
    index: &'a KnowledgeIndex,
    kinds: KindFilter,
}

impl<'a> Ctx<'a> {
    fn terms(&self) -> &'a Terms {
        &self.index.terms
    }

    fn lookup(&self) -> &'a Lookup {
        &self.index.derived.lookup
    }

    /// The term spelled `stem`, if it occurs in an entry of the wanted kinds.
    fn exact(&self, stem: &str) -> Option<u32> {
        fuzzy::exact(self.terms(), stem).filter(|&t| self.lookup().wanted(t, self.kinds))
    }

    /// Whether a wanted entry has term `t` in its name, an alias or its category: "side" in
    /// "Sides", not only in "a cup of consomé on the side" of a description.
    fn names_with(&self, t: u32) -> bool {
        self.named_in(t, |_| true)
    }

    /// [`Ctx::names_with`], leaving FAQ questions out.
    fn names_with_outside_faq(&self, t: u32) -> bool {
        self.named_in(t, |k| k != EntryKind::Faq)
    }

    /// Whether a wanted entry of a kind `also` accepts has term `t` outside its description.
    fn named_in(&self, t: u32, also: impl Fn(EntryKind) -> bool) -> bool {
        self.terms().postings_of(t as usize).iter().any(|&packed| {
            let post = Posting::unpack(packed);
            !matches!(post.field, Field::Description)
                && kind_of(self.index, post.entry)
                    .is_some_and(|k| self.kinds.contains(k) && also(k))
        })
    }

    /// The term spelled `stem` if it is only wanted as an option name of items searched for.
    fn option_word(&self, stem: &str) -> Option<u32> {
        if !self.kinds.contains(EntryKind::Item) {
            return None;
        }
        let options = KindFilter::only(EntryKind::ModifierOption);
        fuzzy::exact(self.terms(), stem).filter(|&t| self.lookup().wanted(t, options))
    }

    /// Fuzzy candidates of a word among terms of the wanted kinds, best first.
    fn similar(&self, stem: &str, raw: &str) -> Vec<(u32, f32)> {
        let mut cands = Vec::new();
        fuzzy::similar(self.terms(), self.lookup(), stem, raw, &mut cands);
        cands.retain(|c| self.lookup().wanted(c.0, self.kinds));
        cands
    }

    fn weight(&self, t: u32) -> f32 {
        term_weight(self.terms(), self.index.entries.len(), t)
    }

    fn exact_position(&self, t: u32) -> Position {
        Position {
            cands: vec![(t, 1.0)],
            weight: self.weight(t),
            optional: false,
            negated: false,
        }
    }

    fn fuzzy_position(&self, stem: &str, raw: &str, number: bool) -> Position {
        let mut cands = self.similar(stem, raw);
        let best = cands.first().map_or(0.0, |c| c.1);
        cands.retain(|c| c.1 >= best - CANDIDATE_SPREAD);
        cands.truncate(MAX_CANDIDATES);
        let weight = match cands.first() {
            Some(&(t, _)) => self.weight(t),
            None if number => UNKNOWN_NUMBER_WEIGHT,
            // A question is phrased freely ("can we sit outside" for "Do you have patio
            // seating?"): in an FAQ-only search a word no entry uses weighs less.
            None if self.kinds == KindFilter::FAQ => UNKNOWN_FAQ_WORD_WEIGHT,
            None => UNKNOWN_WORD_WEIGHT,
        };
        Position {
            cands,
            weight,
            optional: false,
            negated: false,
        }
    }

    fn stop_position(&self, w: &Word) -> Option<Position> {
        if w.stem.len() < 2 || w.is_number() {
            return None;
        }
        let mut cands = self.similar(&w.stem, &w.raw);
        cands.retain(|c| c.1 >= MIN_STOP_SIMILARITY);
        cands.truncate(1);
        let &(t, _) = cands.first()?;
        Some(Position {
            weight: self.weight(t),
            cands,
            optional: true,
            negated: false,
        })
    }

    /// Two words read as one. When both are known words, only an exact joined term counts
    /// ("meat balls" → "meatball"); otherwise a close one does too.
    fn joined(&self, a: &Word, b: &Word, both_known: bool) -> Option<Position> {
        let raw = format!("{}{}", a.raw, b.raw);
        let stem = text::stem(&raw);
        if let Some(t) = self.exact(&stem) {
            return Some(self.exact_position(t));
        }
        if both_known || stem.len() < 6 {
            return None;
        }
        let p = self.fuzzy_position(&stem, &raw, false);
        p.cands
            .first()
            .is_some_and(|c| c.1 >= MIN_JOIN_SIMILARITY)
            .then_some(p)
    }

    /// A word that is two vocabulary terms written together.
    fn split(&self, raw: &str) -> Option<(u32, u32)> {
        if raw.len() < 6 || !raw.is_ascii() {
            return None;
        }
        (3..=raw.len() - 3).find_map(|k| {
            let a = self.exact(&text::stem(&raw[..k]))?;
            let b = self.exact(&text::stem(&raw[k..]))?;
            Some((a, b))
        })
    }
}

fn term_weight(terms: &Terms, n: usize, t: u32) -> f32 {
    terms.df.get(t as usize).map_or(0.0, |&df| idf(df, n))
}

/// Which modifier groups each item offers and which group each option is in, by entry id, so
/// that "pad thai with shrimp" or "large pepperoni pizza" count the option words for the items
/// that offer them. Computed when the index is built and stored with it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Links {
    /// Per entry, the end offset of its groups in `item_groups` (an item's group indexes;
    /// none for other kinds).
    #[serde(rename = "e")]
    item_group_ends: U32s,
    #[serde(rename = "g")]
    item_groups: U32s,
    /// Per entry: the group index of an option, `u32::MAX` for other kinds.
    #[serde(rename = "o")]
    option_group: U32s,
}

impl Links {
    pub(super) fn build(index: &KnowledgeIndex) -> Links {
        let group_index: std::collections::HashMap<&str, u32> = index
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), i as u32))
            .collect();
        let mut links = Links::default();
        for e in &index.entries {
            let i = e.idx as usize;
            let mut group = u32::MAX;
            match EntryKind::from_code(e.kind) {
                Some(EntryKind::Item) => {
                    if let Some(it) = index.items.get(i) {
                        for g in &it.modifier_groups {
                            if let Some(&gi) = group_index.get(g.as_str()) {
                                links.item_groups.push(gi);
                            }
                        }
                    }
                }
                Some(EntryKind::ModifierOption) => {
                    if let Some(&gi) = index
                        .options
                        .get(i)
                        .and_then(|o| group_index.get(o.group.as_str()))
                    {
                        group = gi;
                    }
                }
                _ => {}
            }
            links.item_group_ends.push(links.item_groups.len() as u32);
            links.option_group.push(group);
        }
        links
    }

    /// The group indexes an item entry offers (none for other kinds).
    fn groups_of(&self, entry: u32) -> impl Iterator<Item = u32> + '_ {
        let e = entry as usize;
        let start = match e {
            0 => 0,
            _ => self.item_group_ends.get(e - 1).unwrap_or(0) as usize,
        };
        let end = self.item_group_ends.get(e).unwrap_or(0) as usize;
        self.item_groups.range(start, end.max(start))
    }

    /// The group index of an option entry.
    fn group_of(&self, entry: u32) -> Option<u32> {
        self.option_group
            .get(entry as usize)
            .filter(|&g| g != u32::MAX)
    }

    /// Whether stored links fit the entries they were stored with.
    pub(super) fn fits(&self, entries: usize) -> bool {
        self.item_group_ends.is_well_formed()
            && self.item_groups.is_well_formed()
            && self.option_group.is_well_formed()
            && self.item_group_ends.len() == entries
            && self.option_group.len() == entries
    }
}

/// A query word naming an option counts this much (times its similarity) as explained, and as
/// field quality, for an item offering the option and named by the query.
const MODIFIER_WEIGHT: f32 = 0.8;
/// Name coverage from which an item counts its options (see [`score`]).
const MIN_NAMED_FOR_OPTIONS: f32 = 0.5;
/// Words that rule out the next one ("not the half", "without cheese"); "no" too, unless it
/// opens the sentence. (Not "sin" or "senza": tried, they cost more than they gained.)
const NEGATIONS: [&str; 2] = ["not", "without"];
/// What an entry having a word the caller ruled out ("not the half") keeps of its score.
const RULED_OUT_FACTOR: f32 = 0.6;

/// One term occurrence reached from a query position.
#[derive(Debug, Clone, Copy)]
struct Touch {
    entry: u32,
    pos: u8,
    field: Field,
    phrase: u16,
    term: u32,
    sim: f32,
}

/// (entry, score) for every entry of the wanted kinds scoring at least `floor`.
fn score(
    index: &KnowledgeIndex,
    positions: &[Position],
    kinds: KindFilter,
    floor: f32,
) -> Vec<(u32, f32)> {
    let n = index.entries.len();
    let links = &index.derived.links;
    let want_items = kinds.contains(EntryKind::Item);
    let mut touches: Vec<Touch> = Vec::new();
    // (position, group, similarity) of query words naming a modifier option.
    let mut options: Vec<(u8, u32, f32)> = Vec::new();
    for (pi, p) in positions.iter().enumerate() {
        for &(term, sim) in &p.cands {
            for &packed in index.terms.postings_of(term as usize) {
                let post = Posting::unpack(packed);
                let kind = kind_of(index, post.entry);
                if want_items
                    && kind == Some(EntryKind::ModifierOption)
                    && matches!(post.field, Field::Name | Field::Alias)
                    && let Some(g) = links.group_of(post.entry)
                {
                    options.push((pi as u8, g, sim));
                }
                if kind.is_some_and(|k| kinds.contains(k)) {
                    touches.push(Touch {
                        entry: post.entry,
                        pos: pi as u8,
                        field: post.field,
                        phrase: post.phrase,
                        term,
                        sim,
                    });
                }
            }
        }
    }
    touches.sort_unstable_by_key(|t| t.entry);

    let required: f32 = positions
        .iter()
        .filter(|p| !p.optional && !p.negated)
        .map(|p| p.weight)
        .sum();
    let mut out = Vec::new();
    let mut explained = [0f32; MAX_POSITIONS];
    let mut strength = [0f32; MAX_POSITIONS];
    // (phrase, term, similarity) of name and alias matches in the current entry.
    let mut named: Vec<(u16, u32, f32)> = Vec::new();
    for group in touches.chunk_by(|a, b| a.entry == b.entry) {
        let Some(entry) = index.entries.get(group[0].entry as usize) else {
            continue;
        };
        let Some(kind) = EntryKind::from_code(entry.kind) else {
            continue;
        };
        explained.fill(0.0);
        strength.fill(0.0);
        named.clear();
        for t in group {
            let p = usize::from(t.pos);
            explained[p] = explained[p].max(t.sim);
            strength[p] = strength[p].max(t.sim * field_weight(t.field));
            if matches!(t.field, Field::Name | Field::Alias) {
                match named.iter_mut().find(|x| x.0 == t.phrase && x.1 == t.term) {
                    Some(x) => x.2 = x.2.max(t.sim),
                    None => named.push((t.phrase, t.term, t.sim)),
                }
            }
        }
        let name_coverage = name_coverage(index, entry, &named, n);
        // Options qualify an item the caller named ("pad thai with chicken"); they do not
        // describe one ("the noodles with peanuts" is the one whose description has peanuts,
        // not any dish that takes extra peanuts).
        if kind == EntryKind::Item && name_coverage >= MIN_NAMED_FOR_OPTIONS && !options.is_empty()
        {
            let groups: Vec<u32> = links.groups_of(group[0].entry).collect();
            for &(pos, _, sim) in options.iter().filter(|o| groups.contains(&o.1)) {
                let p = usize::from(pos);
                explained[p] = explained[p].max(sim * MODIFIER_WEIGHT);
                strength[p] = strength[p].max(sim * MODIFIER_WEIGHT);
            }
        }
        let (mut said, mut strong, mut total, mut required_said) = (0.0, 0.0, required, 0.0);
        let mut ruled_out = false;
        for (p, pos) in positions.iter().enumerate() {
            if pos.negated {
                ruled_out |= explained[p] > 0.0;
            } else if pos.optional {
                // An optional word the entry has counts as said, wherever it is: "tortillas
                // by the *dozen*" in an answer must not make the match look weaker.
                if explained[p] > 0.0 {
                    said += pos.weight * explained[p];
                    strong += pos.weight * explained[p];
                    total += pos.weight;
                }
            } else {
                said += pos.weight * explained[p];
                strong += pos.weight * strength[p];
                required_said += pos.weight * explained[p];
            }
        }
        // A stop word that sounds like a name word supports a match, it cannot make one:
        // "do *you* sell cars" is not a question about Pad See *Ew*.
        if required_said <= 0.0 || total <= 0.0 {
            continue;
        }
        let coverage = (said / total).min(1.0);
        let field_quality = strong / said;
        let s = coverage
            * coverage.sqrt()
            * (0.5 + 0.25 * field_quality + 0.25 * name_coverage)
            * kind_prior(kind)
            * if ruled_out { RULED_OUT_FACTOR } else { 1.0 };
        if s >= floor {
            out.push((group[0].entry, s));
        }
    }
    out
}

/// The best share of one name or alias the query said, by term weight.
fn name_coverage(
    index: &KnowledgeIndex,
    entry: &super::Entry,
    named: &[(u16, u32, f32)],
    n: usize,
) -> f32 {
    let mut best = 0f32;
    for (p, phrase) in entry.phrases.iter().enumerate() {
        let super::Phrase(total, head) = *phrase;
        if total <= 0.0 {
            continue;
        }
        let (mut matched, mut total) = (0.0, total);
        for &(_, term, sim) in named.iter().filter(|x| usize::from(x.0) == p) {
            let w = term_weight(&index.terms, n, term);
            if term == head {
                matched += sim * w * super::HEAD_WEIGHT;
                total += w * (super::HEAD_WEIGHT - 1.0);
            } else {
                matched += sim * w;
            }
        }
        let alias_discount = if p == 0 {
            1.0
        } else {
            field_weight(Field::Alias)
        };
        best = best.max((matched / total).min(1.0) * alias_discount);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restaurant::Restaurant;

    const DOC: &str = r#"{
      "format": "hostline.restaurant/v1",
      "business": { "name": "T", "timezone": "America/New_York", "currency": "USD",
        "tax_rate_bps": 0, "address": "1 Main St" },
      "fulfillment": { "pickup": true, "delivery": false, "prep_minutes": 10 },
      "menu": {
        "categories": [
          { "name": "Curries", "items": [
            { "id": "massaman", "name": "Massaman Curry", "price_cents": 1600,
              "description": "Mild curry with potatoes, onions and peanuts." },
            { "id": "green", "name": "Green Curry", "price_cents": 1500,
              "description": "Coconut curry with eggplant and basil." } ] },
          { "name": "Noodles", "items": [
            { "id": "pad-see-ew", "name": "Pad See Ew", "price_cents": 1450,
              "description": "Wide rice noodles with sweet soy and broccoli." },
            { "id": "pad-thai", "name": "Pad Thai", "price_cents": 1450,
              "description": "Rice noodles with tamarind, egg and crushed peanuts." } ] }
        ]
      }
    }"#;

    /// An index of a test restaurant with this `menu` (a JSON object) and `faq` (a JSON array).
    fn index_of(menu: &str, faq: &str) -> KnowledgeIndex {
        let doc = format!(
            r#"{{
              "format": "hostline.restaurant/v1",
              "business": {{ "name": "T", "timezone": "America/New_York", "currency": "USD",
                "tax_rate_bps": 0, "address": "1 Main St" }},
              "fulfillment": {{ "pickup": true, "delivery": false, "prep_minutes": 10 }},
              "menu": {menu},
              "faq": {faq}
            }}"#
        );
        KnowledgeIndex::build(&Restaurant::parse(&doc).expect("test document parses"))
    }

    /// An index of a menu with one category holding `items` (a JSON array).
    fn one_category(category: &str, items: &str) -> KnowledgeIndex {
        index_of(
            &format!(r#"{{ "categories": [ {{ "name": "{category}", "items": {items} }} ] }}"#),
            "[]",
        )
    }

    /// The id of the FAQ a question finds first.
    fn first_faq(idx: &KnowledgeIndex, q: &str) -> Option<String> {
        idx.search(q, KindFilter::FAQ, 1)
            .first()
            .map(|h| h.id.clone())
    }

    fn index() -> KnowledgeIndex {
        KnowledgeIndex::build(&Restaurant::parse(DOC).expect("test document parses"))
    }

    fn top(idx: &KnowledgeIndex, q: &str) -> Option<(String, Confidence)> {
        idx.search(q, KindFilter::ITEMS, 3)
            .into_iter()
            .next()
            .map(|h| (h.id, h.confidence))
    }

    #[test]
    fn a_verb_only_faq_questions_ask_with_does_not_decide_which_question() {
        let idx = index_of(
            r#"{ "categories": [ { "name": "Soups", "items": [
              { "id": "pho", "name": "Beef Pho", "price_cents": 1400 } ] } ] }"#,
            r#"[
              { "q": "Do you take reservations?", "a": "Only for parties of eight or more." },
              { "q": "What payment do you accept?", "a": "Cash and all major cards." },
              { "q": "Do you have a kids menu?", "a": "A small pho is popular with kids." }
            ]"#,
        );
        let faq = |q: &str| first_faq(&idx, q);
        // "take" is only in the reservations question: it must not rule the payment one out.
        assert_eq!(faq("do you take cards").as_deref(), Some("1"));
        assert_eq!(faq("do you take reservations").as_deref(), Some("0"));
        // A question asked with such a word alone still finds the one that has it.
        assert_eq!(faq("do you have a kids menu").as_deref(), Some("2"));
    }

    #[test]
    fn questions_are_found_in_the_words_callers_ask_them_with() {
        let idx = index_of(
            r#"{ "categories": [ { "name": "Pasta", "items": [
              { "id": "ragu", "name": "Tagliatelle al Ragu", "price_cents": 1900 },
              { "id": "tea", "name": "Sweet Tea", "price_cents": 300 } ] } ] }"#,
            r#"[
              { "q": "Do you take reservations?", "a": "Only for parties of two to eight." },
              { "q": "Do you have outdoor seating?", "a": "A small patio, May to October." },
              { "q": "Is your meat halal?", "a": "No, and pork is in several dishes." },
              { "q": "Can I bring my own wine?", "a": "Yes, corkage is 25 dollars a bottle." },
              { "q": "Is your pasta made in house?", "a": "The egg pasta is made every morning." }
            ]"#,
        );
        let faq = |q: &str| first_faq(&idx, q);
        // The lexicon's English section: outside is outdoor, sitting is seating, booking is a
        // reservation.
        assert_eq!(faq("can we sit outside").as_deref(), Some("1"));
        // Searching everything, "sit" is still not read as a spelling of "sweet".
        let any = idx.search("can we sit outside", KindFilter::ALL, 1);
        assert_eq!(
            any.first().map(|h| (h.kind, h.id.as_str())),
            Some((EntryKind::Faq, "1"))
        );
        assert_eq!(faq("can i book a table").as_deref(), Some("0"));
        // "only" is how the question is put, not what it is about.
        assert_eq!(faq("we only eat halal").as_deref(), Some("2"));
        // "own" only decides when it is all there is.
        assert_eq!(faq("do you make your own pasta").as_deref(), Some("4"));
        assert_eq!(faq("can i bring my own").as_deref(), Some("3"));
    }

    #[test]
    fn in_an_options_search_the_number_is_the_choice_and_the_item_is_context() {
        let idx = index_of(
            r#"{
              "categories": [ { "name": "Starters", "items": [
                { "id": "samosa", "name": "Vegetable Samosa", "price_cents": 600,
                  "modifier_groups": ["pieces"] } ] } ],
              "modifier_groups": [ { "id": "pieces", "name": "Pieces", "min": 1, "max": 1,
                "options": [ { "id": "two", "name": "Two Pieces", "price_cents": 0 },
                             { "id": "four", "name": "Four Pieces", "price_cents": 500 } ] } ]
            }"#,
            "[]",
        );
        let option = |q: &str| {
            idx.search(q, KindFilter::OPTIONS, 1)
                .first()
                .map(|h| (h.id.clone(), h.confidence))
        };
        assert_eq!(
            option("four samosas"),
            Some(("four".into(), Confidence::High))
        );
        assert_eq!(
            option("just two samosas"),
            Some(("two".into(), Confidence::High))
        );
        // Searching items, the number is still only a quantity.
        assert_eq!(
            top(&idx, "four samosas").map(|(id, _)| id).as_deref(),
            Some("samosa")
        );
    }

    #[test]
    fn exact_name_is_high() {
        let idx = index();
        assert_eq!(
            top(&idx, "Pad Thai"),
            Some(("pad-thai".into(), Confidence::High))
        );
        assert_eq!(
            top(&idx, "massaman curry"),
            Some(("massaman".into(), Confidence::High))
        );
    }

    #[test]
    fn misheard_names_still_match() {
        let idx = index();
        assert_eq!(
            top(&idx, "pad see you").map(|t| t.0),
            Some("pad-see-ew".into())
        );
        assert_eq!(top(&idx, "pad tie").map(|t| t.0), Some("pad-thai".into()));
        assert_eq!(top(&idx, "masaman").map(|t| t.0), Some("massaman".into()));
    }

    #[test]
    fn descriptions_count_but_less_than_names() {
        let idx = index();
        let hit = top(&idx, "the curry with potatoes").expect("a hit");
        assert_eq!(hit.0, "massaman");
        assert!(hit.1 < Confidence::High, "{hit:?}");
    }

    #[test]
    fn unknown_things_are_not_confident() {
        let idx = index();
        for q in ["sushi", "do you sell cars", "um", "the", ""] {
            let hits = idx.search(q, KindFilter::ALL, 3);
            assert!(
                hits.iter().all(|h| h.confidence == Confidence::Low),
                "{q}: {hits:?}"
            );
        }
        // Half a known query is not a confident match either.
        let hits = idx.search("green curry with sushi", KindFilter::ALL, 3);
        assert!(
            hits.first()
                .is_some_and(|h| h.confidence < Confidence::High),
            "{hits:?}"
        );
    }

    #[test]
    fn confidence_bands() {
        assert_eq!(band(1.0), Confidence::High);
        assert_eq!(band(HIGH), Confidence::High);
        assert_eq!(band(0.7), Confidence::Medium);
        assert_eq!(band(LOW), Confidence::Low);
    }

    #[test]
    fn near_ties_are_not_high() {
        let idx = index();
        // Both curries are "curry"; neither was named.
        let hits = idx.search("curry", KindFilter::ITEMS, 3);
        assert!(hits.len() >= 2, "{hits:?}");
        assert!(
            hits.iter().all(|h| h.confidence < Confidence::High),
            "{hits:?}"
        );
    }

    #[test]
    fn known_words_that_sound_like_other_name_words_may_mean_them() {
        let idx = one_category(
            "Mains",
            r#"[
                { "id": "chow-mein", "name": "Chow Mein", "price_cents": 1200 },
                { "id": "tom-yum", "name": "Tom Yum", "price_cents": 1200 },
                { "id": "chao-tom", "name": "Chạo Tôm", "price_cents": 1200 }
            ]"#,
        );
        // "chow" and "tom" are both on the menu, but said together they are chạo tôm.
        assert_eq!(
            top(&idx, "do you have chow tom").map(|t| t.0),
            Some("chao-tom".into())
        );
        // Their own meanings still come first when that is what was said.
        assert_eq!(
            top(&idx, "chow mein").map(|t| t.0),
            Some("chow-mein".into())
        );
        assert_eq!(top(&idx, "tom yum").map(|t| t.0), Some("tom-yum".into()));
    }

    #[test]
    fn a_word_after_not_counts_against_what_has_it() {
        let idx = index();
        assert_eq!(
            top(&idx, "the curry, not the green one").map(|t| t.0),
            Some("massaman".into())
        );
        assert_eq!(
            top(&idx, "the green one not the massaman curry").map(|t| t.0),
            Some("green".into())
        );
        assert_eq!(
            top(&idx, "pad thai without peanuts").map(|t| t.0),
            Some("pad-thai".into())
        );
        // Any number of them, anywhere, answers without a panic.
        for q in [
            "not",
            "no",
            "not not no",
            "curry not",
            "no curry no green not the",
            "without",
        ] {
            idx.search(q, KindFilter::ALL, 3);
        }
    }

    #[test]
    fn a_translated_word_is_surer_than_a_described_dish() {
        let idx = one_category(
            "Mains",
            r#"[
                { "id": "chicken-tacos", "name": "Chicken Tacos", "price_cents": 1200 },
                { "id": "ham-sandwich", "name": "Ham Sandwich", "price_cents": 1200 }
            ]"#,
        );
        // "pollo" is chicken.
        assert_eq!(
            top(&idx, "tacos de pollo"),
            Some(("chicken-tacos".into(), Confidence::High))
        );
        // A pambazo is a chile bread sandwich: a ham sandwich is at most a guess.
        let hits = idx.search("do you have pambazos", KindFilter::MENU, 3);
        assert!(
            hits.iter().all(|h| h.confidence == Confidence::Low),
            "{hits:?}"
        );
    }

    #[test]
    fn what_kinds_there_are_is_a_question_about_a_category() {
        let idx = one_category(
            "Pasta e Risotto",
            r#"[
                { "id": "pasta-e-fagioli", "name": "Pasta e Fagioli", "price_cents": 1200 },
                { "id": "risotto", "name": "Risotto Milanese", "price_cents": 1200 }
            ]"#,
        );
        let first = |q: &str| {
            idx.search(q, KindFilter::MENU, 3)
                .first()
                .map(|h| (h.kind, h.id.clone()))
        };
        assert_eq!(
            first("what pastas do you have"),
            Some((EntryKind::Category, "Pasta e Risotto".into()))
        );
        // A question about one dish stays about the dish.
        assert_eq!(
            first("what's in the pasta e fagioli"),
            Some((EntryKind::Item, "pasta-e-fagioli".into()))
        );
    }

    #[test]
    fn a_short_lexicon_word_counts_only_as_said() {
        let idx = one_category(
            "Mains",
            r#"[
                { "id": "fried-rice", "name": "Fried Rice", "price_cents": 1200 }
            ]"#,
        );
        // Vietnamese "cơm" is rice; "comes" only stems to the same letters.
        assert_eq!(top(&idx, "com").map(|t| t.0), Some("fried-rice".into()));
        assert_eq!(top(&idx, "comes"), None);
    }

    #[test]
    fn only_wanted_kinds_and_limit() {
        let idx = index();
        let hits = idx.search("curries", KindFilter::ALL, 10);
        assert_eq!(hits.first().map(|h| h.kind), Some(EntryKind::Category));
        let hits = idx.search("curries", KindFilter::ITEMS, 1);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].kind, EntryKind::Item);
        assert!(idx.search("curries", KindFilter::ITEMS, 0).is_empty());
    }
}
