//! The food lexicon (`shared/data/food-lexicon.txt`): dish words of many cuisines with the
//! English a caller may say instead. At publish time each menu name holding such words gets
//! glossed variants as extra phrases ("Tacos de Lengua" → "tacos tongue", "Postres" →
//! "desserts"), so a caller who translates, or describes a dish in the words a menu in another
//! language leaves out, still finds it. The file is data; its syntax is in its header.

use super::text;
use std::collections::HashMap;
use std::sync::OnceLock;

const SOURCE: &str = include_str!("../../data/food-lexicon.txt");
/// The syntax version the parser reads (the file's first line names it).
const FORMAT_LINE: &str = "# Hostline food lexicon, format 1.";
/// Longest term, in words.
const MAX_TERM_WORDS: usize = 4;
/// Glossed variants made per name.
const MAX_VARIANTS: usize = 3;

struct Lexicon {
    /// Normalized term ("flor de calabaza") → normalized glosses, most common first.
    terms: HashMap<String, Vec<String>>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| parse(SOURCE))
}

fn norm(s: &str) -> String {
    text::normalize(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse(source: &str) -> Lexicon {
    let mut terms: HashMap<String, Vec<String>> = HashMap::new();
    // A file of another syntax is not guessed at (the test below keeps the two in step).
    if source.lines().next() != Some(FORMAT_LINE) {
        return Lexicon { terms };
    }
    for line in source.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((term, glosses)) = line.split_once('=') else {
            continue;
        };
        let term = norm(term);
        if term.is_empty() || term.split(' ').count() > MAX_TERM_WORDS {
            continue;
        }
        let entry = terms.entry(term).or_default();
        for g in glosses.split(',').map(norm).filter(|g| !g.is_empty()) {
            if !entry.contains(&g) {
                entry.push(g);
            }
        }
    }
    Lexicon { terms }
}

/// Glossed variants of a menu name, each different from the name: every lexicon term in it
/// (longest first) replaced by its first gloss, then by its second, and so on. Empty when the
/// name holds no lexicon term.
pub(crate) fn glossed(name: &str) -> Vec<String> {
    let lex = lexicon();
    let normalized = norm(name);
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    // The segmentation covering the most words with terms (then the fewest terms): "pho bo
    // vien" is phở + bò viên (meatballs), not "pho bo" + an unknown "vien". best[i] is the
    // (covered words, -terms) of the best segmentation of words[i..] and its first step.
    let n = words.len();
    let term_at = |i: usize, k: usize| lex.terms.get(&words[i..i + k].join(" "));
    let mut best: Vec<((usize, i64), usize)> = vec![((0, 0), 1); n + 1];
    for i in (0..n).rev() {
        let ((c, t), _) = best[i + 1];
        best[i] = ((c, t), 1);
        for k in 1..=MAX_TERM_WORDS.min(n - i) {
            if term_at(i, k).is_some_and(|g| !g.is_empty()) {
                let ((c2, t2), _) = best[i + k];
                let cand = (c2 + k, t2 - 1);
                if cand > best[i].0 {
                    best[i] = (cand, k);
                }
            }
        }
    }
    // Each part: a word kept as is, or the glosses of a term.
    let mut parts: Vec<Result<&str, &[String]>> = Vec::new();
    let mut found = false;
    let mut i = 0;
    while i < n {
        let k = best[i].1;
        match term_at(i, k).filter(|g| !g.is_empty()) {
            Some(glosses) if best[i].0.0 > best[i + k].0.0 => {
                parts.push(Err(glosses.as_slice()));
                found = true;
            }
            _ => {
                for w in &words[i..i + k] {
                    parts.push(Ok(w));
                }
            }
        }
        i += k;
    }
    if !found {
        return Vec::new();
    }
    let variants = parts
        .iter()
        .filter_map(|p| p.err().map(<[String]>::len))
        .max()
        .unwrap_or(0)
        .min(MAX_VARIANTS);
    let mut out: Vec<String> = Vec::new();
    for v in 0..variants {
        let phrase = parts
            .iter()
            .map(|p| match p {
                Ok(w) => *w,
                Err(g) => g[v.min(g.len() - 1)].as_str(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        if phrase != normalized && !out.contains(&phrase) {
            out.push(phrase);
        }
    }
    out
}

/// Every one-word term with its glosses' words, each with the fewest content words of a gloss
/// it is in: for the query side, a caller's word the menu does not use ("pollo", "tarjeta")
/// stands for the English words it glosses, and a word of a one-word gloss ("pollo" =
/// chicken) is surer than a word of a described dish ("pambazo" = chile bread sandwich).
pub(crate) fn one_word_terms() -> impl Iterator<Item = (&'static str, Vec<(&'static str, usize)>)> {
    lexicon()
        .terms
        .iter()
        .filter(|(t, _)| !t.contains(' '))
        .map(|(t, glosses)| {
            let mut words: Vec<(&str, usize)> = Vec::new();
            for g in glosses {
                let content = g.split(' ').filter(|w| !text::is_stop(w)).count().max(1);
                for w in g.split(' ') {
                    match words.iter_mut().find(|x| x.0 == w) {
                        Some(x) => x.1 = x.1.min(content),
                        None => words.push((w, content)),
                    }
                }
            }
            (t.as_str(), words)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_the_format_we_read_and_every_line_parses() {
        assert_eq!(SOURCE.lines().next(), Some(FORMAT_LINE));
        for line in SOURCE.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (term, glosses) = line.split_once('=').unwrap_or_else(|| panic!("{line}"));
            assert!(!norm(term).is_empty(), "{line}");
            assert!(norm(term).split(' ').count() <= MAX_TERM_WORDS, "{line}");
            assert!(glosses.split(',').all(|g| !norm(g).is_empty()), "{line}");
        }
    }

    #[test]
    fn names_are_glossed_longest_term_first() {
        assert_eq!(
            glossed("Tacos de Lengua"),
            ["tacos de tongue", "tacos de beef tongue"]
        );
        assert!(glossed("Quesadilla de Flor de Calabaza")[0].contains("squash blossom"));
        assert_eq!(glossed("Postres")[0], "desserts");
        assert!(glossed("Phở Tái")[0] == "noodle soup rare beef");
        assert!(glossed("Margherita Pizza").is_empty());
        // The segmentation covering most words wins over the longest first term.
        assert_eq!(glossed("Phở Bò Viên")[0], "noodle soup meatballs");
    }
}
