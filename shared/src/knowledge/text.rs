//! Text to search words, applied identically to the menu when the index is built and to the
//! caller's query: accent folding, case and punctuation, numbers spoken as words, a few menu
//! abbreviations, filler and stop words, generic nouns ("dish", "style"), a light
//! plural/"-ing"/"-ed" stemmer, and a vowel-aware sound spelling used to score sound-alike
//! candidates.
//!
//! Nothing here knows about the index; every function is pure and allocation-light because it
//! runs on every query.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// One word of a text, ready to be looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// Normalized form before stemming ("potatoes"). Joined with a neighbour to undo a split
    /// ("pepper" + "oni"), which must happen before stemming.
    pub raw: String,
    /// The form stored in and looked up in the vocabulary ("potato").
    pub stem: String,
    /// Filler or function word ("um", "the", "can", "get"). Never indexed; in a query it only
    /// counts when it sounds exactly like a menu word ("pad see *you*").
    pub stop: bool,
    /// Generic noun ("dish", "style"): in a query, kept only if the menu uses it as is.
    pub soft: bool,
}

impl Word {
    pub fn is_number(&self) -> bool {
        self.stem.bytes().all(|b| b.is_ascii_digit())
    }
}

/// The longest word kept, in characters. Fuzzy matching costs time and memory quadratic in a
/// word's length; no dish name or misheard fragment of one comes near this ("worcestershire"
/// is 14), so a longer run of letters is noise (a pasted blob, a stuck key) and is dropped.
pub(crate) const MAX_WORD_CHARS: usize = 40;

/// The longest text read, in bytes (cut at a character boundary); the rest is ignored. Queries
/// are a few words and menu descriptions and FAQ answers a few sentences; this only bounds the
/// (linear) normalizing of a pasted blob, with room for a long word before the real ones.
pub(crate) const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Normalize and split `text` into words (see the module doc for the steps). At most
/// [`MAX_TEXT_BYTES`] of the text are read and words longer than [`MAX_WORD_CHARS`] are
/// dropped, so no input can make the later steps expensive.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let flat = normalize(truncate_at_char(text, MAX_TEXT_BYTES));
    let mut raw: Vec<&str> = Vec::new();
    for w in flat
        .split_whitespace()
        .filter(|w| w.chars().nth(MAX_WORD_CHARS).is_none())
    {
        match expand_abbreviation(w) {
            Some(expansion) => raw.extend(expansion.iter().copied()),
            None => raw.push(w),
        }
    }
    numbers_to_digits(&raw)
        .into_iter()
        .map(|(raw, from_one)| {
            // "one" is far more often a pronoun ("the spicy one") than a quantity worth matching.
            let stop = from_one || is_stop(&raw);
            let soft = is_soft(&raw);
            let stem = stem(&raw);
            Word {
                raw,
                stem,
                stop,
                soft,
            }
        })
        .collect()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lower case, accents folded ("jalapeño" → "jalapeno"), apostrophes dropped ("lover's" →
/// "lovers"), "&" → "and", "%" → "percent", every other non-alphanumeric a space, and a space
/// between digits and letters ("16oz" → "16 oz").
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev: Option<char> = None;
    // Where the word being written starts in `out`.
    let mut word_start = 0;
    // Plain ASCII (most queries) has nothing to decompose.
    let chars: Box<dyn Iterator<Item = char> + '_> = if text.is_ascii() {
        Box::new(text.chars())
    } else {
        Box::new(text.nfkd().filter(|c| !is_combining_mark(*c)))
    };
    for c in chars {
        // Letters Unicode does not decompose into a base letter and a mark.
        let folded = match c {
            'đ' | 'Đ' | 'ð' | 'Ð' => "d",
            'ø' | 'Ø' => "o",
            'ł' | 'Ł' => "l",
            'ı' => "i",
            'æ' | 'Æ' => "ae",
            'œ' | 'Œ' => "oe",
            'ß' => "ss",
            'þ' | 'Þ' => "th",
            _ => "",
        };
        for c in folded
            .chars()
            .chain((folded.is_empty()).then_some(c))
            .flat_map(char::to_lowercase)
        {
            if c.is_alphanumeric() {
                if let Some(p) = prev
                    && p.is_alphanumeric()
                    && p.is_ascii_digit() != c.is_ascii_digit()
                {
                    out.push(' ');
                }
                out.push(c);
                prev = Some(c);
                continue;
            }
            match c {
                // An Italian or French article elided onto its noun is a word of its own
                // ("all'amatriciana", "l'antipasto", "d'oro"); other apostrophes go.
                '\'' | '\u{2019}' | '\u{2018}' | '`' if is_elided_article(&out[word_start..]) => {
                    out.push(' ')
                }
                '\'' | '\u{2019}' | '\u{2018}' | '`' => continue,
                '&' => out.push_str(" and "),
                '%' => out.push_str(" percent "),
                _ => out.push(' '),
            }
            prev = Some(' ');
            word_start = out.len();
        }
    }
    out
}

/// Articles and prepositions Italian and French elide before a vowel ("all'", "dell'", "l'").
fn is_elided_article(word: &str) -> bool {
    matches!(
        word,
        "l" | "d" | "all" | "dall" | "dell" | "nell" | "sull" | "un" | "c" | "qu" | "j"
    )
}

/// Abbreviations a menu or a transcript writes where the other side says the word.
fn expand_abbreviation(w: &str) -> Option<&'static [&'static str]> {
    Some(match w {
        "bbq" => &["barbecue"],
        "xl" => &["extra", "large"],
        "oz" => &["ounce"],
        "lb" | "lbs" => &["pound"],
        "pc" | "pcs" => &["piece"],
        "w" => &["with"],
        "n" => &["and"],
        _ => return None,
    })
}

enum Num {
    Unit(u32),
    Tens(u32),
    Hundred,
}

fn number_word(w: &str) -> Option<Num> {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(v) = UNITS.iter().position(|u| *u == w) {
        return Some(Num::Unit(v as u32));
    }
    if let Some(v) = TENS.iter().position(|t| *t == w) {
        return Some(Num::Tens(20 + 10 * v as u32));
    }
    // Spanish and Italian callers count in their own language ("dos tacos", "due cannoli").
    let unit = |v| Some(Num::Unit(v));
    match w {
        "dos" | "due" => return unit(2),
        "tres" | "tre" => return unit(3),
        "cuatro" | "quattro" => return unit(4),
        "cinco" | "cinque" => return unit(5),
        "seis" | "sei" => return unit(6),
        "siete" | "sette" => return unit(7),
        "ocho" | "otto" => return unit(8),
        "nueve" => return unit(9),
        "diez" | "dieci" => return unit(10),
        "doce" | "dodici" => return unit(12),
        _ => {}
    }
    match w {
        "dozen" => Some(Num::Unit(12)),
        "hundred" => Some(Num::Hundred),
        _ => None,
    }
}

/// Spoken numbers to digits so that "four cheese" meets "4 cheese" and "twenty four wings"
/// meets "24 Wings". Returns each word with whether it was a lone "one".
fn numbers_to_digits(words: &[&str]) -> Vec<(String, bool)> {
    let mut out = Vec::with_capacity(words.len());
    // The number being read and whether it is exactly the word "one".
    let mut acc: Option<(u32, bool)> = None;
    let flush = |acc: &mut Option<(u32, bool)>, out: &mut Vec<(String, bool)>| {
        if let Some((n, lone_one)) = acc.take() {
            out.push((n.to_string(), lone_one));
        }
    };
    for w in words {
        match number_word(w) {
            Some(Num::Unit(v)) => match acc {
                // "twenty" + "four", "one hundred" + "five".
                Some((a, _))
                    if (a % 100 >= 20 && a % 10 == 0 && v < 10) || (a >= 100 && a % 100 == 0) =>
                {
                    acc = Some((a + v, false));
                }
                _ => {
                    flush(&mut acc, &mut out);
                    acc = Some((v, *w == "one"));
                }
            },
            Some(Num::Tens(v)) => match acc {
                Some((a, _)) if a >= 100 && a % 100 == 0 => acc = Some((a + v, false)),
                _ => {
                    flush(&mut acc, &mut out);
                    acc = Some((v, false));
                }
            },
            Some(Num::Hundred) => match acc {
                Some((a, _)) if a < 100 => acc = Some((a.max(1) * 100, false)),
                _ => {
                    flush(&mut acc, &mut out);
                    acc = Some((100, false));
                }
            },
            None => {
                flush(&mut acc, &mut out);
                out.push(((*w).to_owned(), false));
            }
        }
    }
    flush(&mut acc, &mut out);
    out
}

/// Filler and function words: what callers wrap a dish name in. Sorted for binary search.
/// Words that change an order ("no", "less", "extra", "half", "without") are deliberately absent.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "actually",
    "again",
    "ah",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "anywhere",
    "are",
    "as",
    "at",
    "available",
    "be",
    "been",
    "but",
    "buy",
    "by",
    "can",
    "carry",
    "comes",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "er",
    "erm",
    "every",
    "everyday",
    "for",
    "from",
    "get",
    "gimme",
    "give",
    "go",
    "going",
    "gonna",
    "got",
    "had",
    "has",
    "have",
    "having",
    "hello",
    "hey",
    "hi",
    "hm",
    "hmm",
    "how",
    "i",
    "id",
    "if",
    "ill",
    "im",
    "in",
    "into",
    "is",
    "it",
    "its",
    "ive",
    "just",
    "kind",
    "kinda",
    "know",
    "lemme",
    "let",
    "lets",
    "like",
    "look",
    "looking",
    "make",
    "may",
    "maybe",
    "me",
    "menu",
    "mhm",
    "might",
    "mm",
    "much",
    "my",
    "need",
    "of",
    "offer",
    "oh",
    "ok",
    "okay",
    "on",
    "only",
    "or",
    "order",
    "ordering",
    "our",
    "please",
    "price",
    "purchase",
    "put",
    "really",
    "right",
    "say",
    "sell",
    "serve",
    "should",
    "so",
    "some",
    "something",
    "somewhere",
    "sort",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "thats",
    "the",
    "them",
    "then",
    "there",
    "theres",
    "these",
    "they",
    "thing",
    "think",
    "this",
    "those",
    "to",
    "today",
    "try",
    "type",
    "uh",
    "uhh",
    "uhm",
    "um",
    "umm",
    "us",
    "wanna",
    "want",
    "was",
    "we",
    "well",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "will",
    "with",
    "would",
    "yeah",
    "yes",
    "you",
    "your",
    "youre",
    "yours",
];

/// The same for callers speaking a restaurant's other language, as an English recognizer
/// writes them: Spanish above all ("quiero", "me da", "una orden de", "por favor", "tienen"),
/// and the request words of Italian, Vietnamese and Hindi callers ("vorrei", "cho em", "ek").
/// Words that change an order ("sin", "mas", "senza") are absent here too. Sorted.
const OTHER_LANGUAGE_STOP_WORDS: &[&str] = &[
    "aap",
    "accha",
    "aceptan",
    "acha",
    "ahi",
    "ai",
    "al",
    "algo",
    "alla",
    "alle",
    "allora",
    "anche",
    "ancora",
    "anh",
    "aqui",
    "aur",
    "avete",
    "bana",
    "banaiye",
    "bhaiya",
    "bhi",
    "buenas",
    "buenos",
    "buonasera",
    "buongiorno",
    "cai",
    "chahiye",
    "chalega",
    "cho",
    "ciao",
    "como",
    "con",
    "cual",
    "cuanto",
    "cuesta",
    "cuestan",
    "da",
    "dalna",
    "dame",
    "dan",
    "das",
    "de",
    "dedo",
    "degli",
    "del",
    "della",
    "delle",
    "deme",
    "dena",
    "di",
    "dias",
    "dijiye",
    "ecco",
    "ek",
    "el",
    "em",
    "en",
    "es",
    "esa",
    "ese",
    "eso",
    "esta",
    "este",
    "fate",
    "favor",
    "favore",
    "gli",
    "gracias",
    "grazie",
    "haan",
    "hacen",
    "hai",
    "hain",
    "hay",
    "hoga",
    "hola",
    "hoy",
    "il",
    "ji",
    "kariye",
    "karna",
    "kay",
    "ke",
    "kitna",
    "kitne",
    "kya",
    "la",
    "las",
    "le",
    "lena",
    "lijiye",
    "llevar",
    "lo",
    "los",
    "manda",
    "mandas",
    "me",
    "mein",
    "mi",
    "milega",
    "milta",
    "mot",
    "mujhe",
    "noches",
    "nomas",
    "oggi",
    "orden",
    "oru",
    "paas",
    "para",
    "pass",
    "per",
    "pero",
    "podria",
    "podrian",
    "pone",
    "ponga",
    "por",
    "porfa",
    "posso",
    "potete",
    "potrei",
    "prego",
    "prendiamo",
    "prendo",
    "puede",
    "puedo",
    "que",
    "quella",
    "quello",
    "queria",
    "questo",
    "quiero",
    "quisiera",
    "rakhiye",
    "rakhna",
    "regala",
    "sakta",
    "sakte",
    "sakti",
    "se",
    "si",
    "siamo",
    "sirven",
    "sono",
    "stasera",
    "tambien",
    "tardes",
    "tengo",
    "theek",
    "tiene",
    "tienen",
    "tienes",
    "toi",
    "traer",
    "tu",
    "un",
    "una",
    "unas",
    "uno",
    "unos",
    "usted",
    "venden",
    "venum",
    "vorrei",
    "vorremmo",
    "wala",
    "wale",
    "wali",
    "xin",
    "ya",
];

/// Whether a word is an English filler word (as written).
pub(crate) fn is_english_stop(raw: &str) -> bool {
    STOP_WORDS.binary_search(&raw).is_ok()
}

/// Whether a word is filler: in either list, as written or once stemmed ("kinds").
pub(crate) fn is_stop(raw: &str) -> bool {
    let listed = |w: &str| {
        STOP_WORDS.binary_search(&w).is_ok() || OTHER_LANGUAGE_STOP_WORDS.binary_search(&w).is_ok()
    };
    listed(raw)
        || raw
            .strip_suffix('s')
            .is_some_and(|w| w.len() >= 3 && listed(w))
}

/// Generic nouns callers put around a dish ("the *dish* with cashews", "tavern *style*"). Unlike
/// stop words they are indexed ("Deep Dish", "Lunch Special"), and a query keeps them only when
/// the menu uses them; otherwise they are dropped instead of being guessed at. Sorted.
const SOFT_WORDS: &[&str] = &[
    "accept",
    "beverage",
    "beverages",
    "big",
    "bottle",
    "bowl",
    "bowls",
    "child",
    "children",
    "choice",
    "choices",
    "couple",
    "cup",
    "cups",
    "daughter",
    "dish",
    "dishes",
    "drink",
    "drinks",
    "everybody",
    "everyone",
    "family",
    "flavor",
    "flavors",
    "food",
    "foods",
    "glass",
    "guys",
    "instead",
    "item",
    "items",
    "kid",
    "kids",
    "large",
    "later",
    "little",
    "meal",
    "meals",
    "normal",
    "now",
    "option",
    "options",
    "own",
    "pair",
    "people",
    "person",
    "piece",
    "pieces",
    "plain",
    "plate",
    "plates",
    "portion",
    "regular",
    "selection",
    "side",
    "sides",
    "small",
    "son",
    "special",
    "specials",
    "start",
    "starting",
    "stuff",
    "style",
    "styles",
    "take",
    "tonight",
    "use",
    "usual",
    "version",
    "versions",
    "whole",
];

pub(crate) fn is_soft(raw: &str) -> bool {
    SOFT_WORDS.binary_search(&raw).is_ok()
}

/// A light English stemmer: plurals ("wings", "cannolis", "potatoes", "berries", "sandwiches"),
/// "-ing" and "-ed" ("catering" → "cater", "toppings" → "top", "iced" → "ice"), a final silent
/// "e", and a final "y"/"ie" → "i" ("curry" and "curries", "fry" and "fried" meet). Both sides
/// go through it, so only consistency matters, not dictionary correctness. Words with digits or
/// non-ASCII letters are left alone.
pub(crate) fn stem(raw: &str) -> String {
    if raw.len() < 4 || !raw.bytes().all(|b| b.is_ascii_lowercase()) {
        return fold_final_y(raw);
    }
    let mut w = raw.to_owned();
    if let Some(base) = w.strip_suffix("ies").filter(|b| b.len() >= 2) {
        w = format!("{base}i");
    } else if let Some(base) = w.strip_suffix("oes").filter(|b| b.len() >= 3) {
        w = format!("{base}o");
    } else if ["ches", "shes", "xes", "sses", "zzes"]
        .iter()
        .any(|s| w.ends_with(s))
    {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        w.truncate(w.len() - 1);
    }
    // "reservation" meets "reserve", "hottest" meets "hot", "spiciest" meets "spicy".
    if w.len() >= 8
        && let Some(base) = w.strip_suffix("ation")
    {
        w = base.to_owned();
    }
    let suffix = if w.ends_with("ing") || (w.len() >= 7 && w.ends_with("est")) {
        3
    } else if w.ends_with("ed") && !w.ends_with("eed") {
        2
    } else {
        0
    };
    if suffix > 0 {
        let base = &w[..w.len() - suffix];
        if base.len() >= 3 && base.bytes().any(|b| b"aeiouy".contains(&b)) {
            let b = base.as_bytes();
            let n = b.len();
            // "topping" → "topp" → "top", but "dressing" keeps its "ss" and "grilled" its "ll".
            let undouble = b[n - 1] == b[n - 2] && !b"lsz".contains(&b[n - 1]);
            w = base[..if undouble { n - 1 } else { n }].to_owned();
        } else if suffix == 2 && base.len() < 3 {
            // "iced" → "ice", where dropping "ed" would leave too little.
            w.truncate(w.len() - 1);
        }
    }
    // A final silent "e" goes, so "bake", "baked" and "baking" all become "bak".
    if w.len() >= 4 && w.ends_with('e') && !w.ends_with("ee") {
        w.truncate(w.len() - 1);
    }
    fold_final_y(&w)
}

fn fold_final_y(w: &str) -> String {
    if w.len() >= 3 && w.is_ascii() {
        if let Some(base) = w.strip_suffix("ie") {
            return format!("{base}i");
        }
        if let Some(base) = w.strip_suffix('y') {
            return format!("{base}i");
        }
    }
    w.to_owned()
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// A rough spelling of how a word sounds, keeping the vowels that Double Metaphone drops:
/// "kha" and "ka", "gai" and "guy", "ew" and "you", "tea" and "tee", "soy" and "soi", "khao"
/// and "cow" come out the same. Used to score candidates, never to find them.
pub(crate) fn sound(word: &str) -> String {
    let b = word.as_bytes();
    if !word.is_ascii() {
        return word.to_owned();
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    // Silent first letters: "knot", "gnocchi", "pneumonia", "wrap".
    let mut i = match b {
        [b'k' | b'g' | b'p', b'n', ..] | [b'w', b'r', ..] => 1,
        _ => 0,
    };
    let vowel_runs = count_vowel_runs(b);
    let push = |out: &mut Vec<u8>, c: u8| {
        if out.last() != Some(&c) {
            out.push(c);
        }
    };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let vowel_like = |j: usize| -> bool {
            match b.get(j) {
                Some(&v) if is_vowel(v) => true,
                // "y" is a vowel except before a vowel; "w" is one after a vowel ("cow", "ew").
                Some(b'y') => !b.get(j + 1).is_some_and(|&n| is_vowel(n)),
                Some(b'w') => j > 0 && is_vowel(b[j - 1]),
                _ => false,
            }
        };
        if vowel_like(i) {
            let start = i;
            while i < b.len() && vowel_like(i) {
                i += 1;
            }
            let run = &word[start..i];
            let at_end = i == b.len();
            // Final silent "e" after a consonant ("cake", "creme").
            if run == "e" && at_end && start >= 2 {
                continue;
            }
            // A vowel, one consonant and a final silent "e" make the vowel long ("white",
            // "lime", "cake"), which is what tells "white" from "with".
            let magic_e = i + 2 == b.len() && b[i + 1] == b'e' && !is_vowel(b[i]);
            let class = match run {
                // Final "uy" (stemmed to "ui") as in "guy", "buy".
                "ui" if at_end => b"ai".as_slice(),
                // One-syllable words whose "ie"/"y" the stemmer folded to "i": "tie", "fry".
                "i" | "ie" | "y" if at_end && vowel_runs == 1 && start > 0 => b"ai".as_slice(),
                "i" if magic_e => b"ai".as_slice(),
                "a" if magic_e => b"ei".as_slice(),
                _ => vowel_class(run),
            };
            for &v in class {
                push(&mut out, v);
            }
            continue;
        }
        match (c, next) {
            (b'p', Some(b'h')) => {
                push(&mut out, b'f');
                i += 2;
            }
            (b's', Some(b'h')) => {
                push(&mut out, b'x');
                i += 2;
            }
            (b'c', Some(b'h')) => {
                push(&mut out, b'c');
                i += 2;
            }
            (b'c', Some(b'k')) => {
                push(&mut out, b'k');
                i += 2;
            }
            (b'c', Some(b'e' | b'i' | b'y')) => {
                push(&mut out, b's');
                i += 1;
            }
            (b'c' | b'q', _) => {
                push(&mut out, b'k');
                i += 1;
            }
            (b'x', _) => {
                push(&mut out, b'k');
                out.push(b's');
                i += 1;
            }
            (b'z', _) => {
                push(&mut out, b's');
                i += 1;
            }
            // "kh", "gh", "th", "rh", "wh", "dh", "bh": the h adds nothing a caller hears.
            (_, Some(b'h')) => {
                push(&mut out, c);
                i += 2;
            }
            (b'h', _) if i > 0 => i += 1,
            // A "y" before a vowel at the start is a glide: "you" sounds like "ew".
            (b'y', _) if i == 0 => i += 1,
            _ => {
                push(&mut out, c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

fn count_vowel_runs(b: &[u8]) -> usize {
    let mut runs = 0;
    let mut in_run = false;
    for &c in b {
        let v = is_vowel(c) || c == b'y';
        if v && !in_run {
            runs += 1;
        }
        in_run = v;
    }
    runs
}

fn vowel_class(run: &str) -> &'static [u8] {
    match run {
        "a" => b"a",
        "e" => b"e",
        "o" | "oa" | "oe" => b"o",
        "i" | "y" | "ee" | "ea" | "ie" | "ey" | "ii" | "eye" => b"i",
        "u" | "oo" | "ou" | "ew" | "eu" | "ue" | "ui" | "uu" => b"u",
        "au" | "ao" | "aw" | "aou" | "ow" => b"au",
        "oi" | "oy" => b"oi",
        "ai" | "ay" | "uy" | "ei" | "uye" | "aye" | "ae" => b"ai",
        _ => match run.as_bytes().first() {
            Some(b'a') => b"a",
            Some(b'e') => b"e",
            Some(b'i') | Some(b'y') => b"i",
            Some(b'o') => b"o",
            _ => b"u",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(s: &str) -> Vec<String> {
        words(s)
            .into_iter()
            .filter(|w| !w.stop)
            .map(|w| w.stem)
            .collect()
    }

    #[test]
    fn nouns_of_action_and_superlatives_meet_their_base() {
        assert_eq!(stem("reservations"), stem("reserve"));
        assert_eq!(stem("hottest"), stem("hot"));
        assert_eq!(stem("spiciest"), stem("spicy"));
        assert_eq!(stem("largest"), stem("large"));
        // Short words keep what looks like an ending.
        assert_eq!(stem("best"), "best");
        assert_eq!(stem("nation"), "nation");
    }

    #[test]
    fn word_lists_are_sorted_and_disjoint() {
        for list in [STOP_WORDS, OTHER_LANGUAGE_STOP_WORDS, SOFT_WORDS] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted, list);
        }
        assert!(SOFT_WORDS.iter().all(|w| !is_stop(w)));
    }

    #[test]
    fn normalizes_case_accents_and_punctuation() {
        assert_eq!(normalize("Crème Brûlée"), "creme brulee");
        assert_eq!(normalize("Jalapeño Poppers!"), "jalapeno poppers ");
        // Letters that do not decompose into a base and a mark fold too.
        assert_eq!(normalize("Bánh Mì Đặc Biệt"), "banh mi dac biet");
        assert_eq!(
            normalize("Smørrebrød, Œufs, Straße"),
            "smorrebrod  oeufs  strasse"
        );
        assert_eq!(normalize("Meat Lover's"), "meat lovers");
        assert_eq!(
            normalize("Bucatini all'Amatriciana"),
            "bucatini all amatriciana"
        );
        assert_eq!(normalize("l’antipasto"), "l antipasto");
        assert_eq!(normalize("Mac & Cheese"), "mac  and  cheese");
        assert_eq!(normalize("50% sweet"), "50 percent  sweet");
        assert_eq!(normalize("16oz"), "16 oz");
        assert_eq!(normalize("Hand-Tossed"), "hand tossed");
    }

    #[test]
    fn tokenizes_and_drops_filler() {
        assert_eq!(stems("Um, can I get the Pad Thai?"), ["pad", "thai"]);
        assert_eq!(
            stems("I'd like a taro milk tea please"),
            ["taro", "milk", "tea"]
        );
        assert_eq!(stems("no ice, less sugar"), ["no", "ice", "less", "sugar"]);
        assert_eq!(
            stems("BBQ chicken w/ ranch"),
            ["barbecu", "chicken", "ranch"]
        );
        assert_eq!(stems("XL pizza"), ["extra", "larg", "pizza"]);
        // "What comes with it" asks; "come" itself may be Vietnamese cơm (rice), so it stays.
        assert_eq!(stems("what comes on the kids menu"), ["kid"]);
        assert_eq!(stems("come ga"), ["com", "ga"]);
        assert_eq!(stems("we only eat halal"), ["eat", "halal"]);
    }

    #[test]
    fn overlong_words_and_texts_are_bounded() {
        let long = "a".repeat(10_000);
        assert_eq!(
            stems(&format!("{long} taro")),
            ["taro"],
            "a 10,000-letter word is dropped"
        );
        let edge = "b".repeat(MAX_WORD_CHARS);
        assert_eq!(
            stems(&edge),
            [edge.as_str()],
            "a word of exactly the cap is kept"
        );
        let over = "b".repeat(MAX_WORD_CHARS + 1);
        assert!(
            stems(&over).is_empty(),
            "one letter over the cap is dropped"
        );
        // A text is read up to the byte cap, cut on a character boundary (é is two bytes).
        let text = format!("{} taro", "é ".repeat(MAX_TEXT_BYTES));
        let w = words(&text);
        assert!(
            w.len() <= MAX_TEXT_BYTES / 3 + 1,
            "only the first {MAX_TEXT_BYTES} bytes are read"
        );
        assert!(
            w.iter().all(|w| w.raw == "e"),
            "the word after the cap is not read"
        );
    }

    #[test]
    fn spoken_numbers_become_digits() {
        assert_eq!(stems("four cheese"), ["4", "chees"]);
        assert_eq!(stems("twenty four wings"), ["24", "wing"]);
        assert_eq!(stems("fifty percent sugar"), ["50", "percent", "sugar"]);
        assert_eq!(stems("one hundred percent"), ["100", "percent"]);
        assert_eq!(stems("a dozen wings"), ["12", "wing"]);
        assert_eq!(stems("sixteen inch"), ["16", "inch"]);
        assert_eq!(stems("two three"), ["2", "3"]);
        // A lone "one" is a pronoun more often than a number.
        assert_eq!(stems("the spicy one"), ["spici"]);
    }

    #[test]
    fn stems_plurals_and_ing() {
        let pairs = [
            ("wings", "wing"),
            ("wing", "wing"),
            ("cannolis", "cannoli"),
            ("potatoes", "potato"),
            ("berries", "berri"),
            ("berry", "berri"),
            ("cookies", "cooki"),
            ("cookie", "cooki"),
            ("pies", "pi"),
            ("pie", "pi"),
            ("sandwiches", "sandwich"),
            ("glasses", "glass"),
            ("hummus", "hummus"),
            ("catering", "cater"),
            ("cater", "cater"),
            ("parking", "park"),
            ("toppings", "top"),
            ("dressing", "dress"),
            ("spring", "spring"),
            ("curries", "curri"),
            ("curry", "curri"),
            ("soy", "soi"),
            ("iced", "ice"),
            ("ice", "ice"),
            ("baked", "bak"),
            ("bake", "bak"),
            ("baking", "bak"),
            ("fried", "fri"),
            ("fries", "fri"),
            ("fry", "fri"),
            ("grilled", "grill"),
            ("sauces", "sauc"),
            ("sauce", "sauc"),
            ("coffee", "coffee"),
            ("seed", "seed"),
            ("12", "12"),
        ];
        for (word, want) in pairs {
            assert_eq!(stem(word), want, "{word}");
        }
    }

    #[test]
    fn sound_spelling_joins_what_callers_confuse() {
        let same = [
            ("kha", "ka"),
            ("gai", "gui"),
            ("ew", "you"),
            ("tea", "tee"),
            ("soi", "soy"),
            ("khao", "cow"),
            ("calamari", "calamari"),
            ("margherita", "margerita"),
            ("phở", "phở"),
            ("pho", "fo"),
        ];
        for (a, b) in same {
            assert_eq!(sound(a), sound(b), "{a} / {b}");
        }
        assert_eq!(sound(&stem("tie")), sound("thai"));
        assert_eq!(sound("tie"), sound("thai"));
        assert_eq!(sound("fry"), sound("fri"));
        assert_ne!(sound("white"), sound("with"));
        assert_ne!(sound("wine"), sound("wing"));
        assert_eq!(sound("not"), sound("knot"));
        assert_ne!(sound("car"), sound("curri"));
        assert_ne!(sound("tea"), sound("toe"));
    }
}
