//! Text to a printer's code page. Printers have no UTF-8: each character becomes one byte of
//! the code page the ticket selected with `ESC t n`, and a character the page lacks becomes a
//! visible `?` (never dropped, never a stray byte). Typographic quotes and dashes are folded to
//! ASCII first, since menus are full of them and CP437 has none.

use serde::{Deserialize, Serialize};

/// The code pages the renderer can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePage {
    /// IBM PC (US); every ESC/POS printer's power-on default.
    Cp437,
    /// Multilingual Latin 1 with the euro sign (Western Europe).
    Cp858,
    /// Windows-1252.
    Cp1252,
}

impl CodePage {
    /// `n` of `ESC t n` for this page (Epson's numbering, which most clones follow).
    pub fn escpos_number(self) -> u8 {
        match self {
            CodePage::Cp437 => 0,
            CodePage::Cp858 => 19,
            CodePage::Cp1252 => 16,
        }
    }

    pub fn parse(s: &str) -> Option<CodePage> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "cp437" | "437" => Some(CodePage::Cp437),
            "cp858" | "858" => Some(CodePage::Cp858),
            "cp1252" | "1252" | "windows1252" => Some(CodePage::Cp1252),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CodePage::Cp437 => "cp437",
            CodePage::Cp858 => "cp858",
            CodePage::Cp1252 => "cp1252",
        }
    }

    fn high_half(self) -> &'static str {
        match self {
            CodePage::Cp437 => CP437_HIGH,
            CodePage::Cp858 => CP858_HIGH,
            CodePage::Cp1252 => CP1252_HIGH,
        }
    }

    /// The byte for `c`, if the page has it. Control characters have none: they would be
    /// printer commands.
    pub fn byte_of(self, c: char) -> Option<u8> {
        if (' '..='~').contains(&c) {
            return Some(c as u8);
        }
        if c == '\u{fffd}' {
            return None;
        }
        self.high_half()
            .chars()
            .position(|h| h == c)
            .and_then(|i| u8::try_from(0x80 + i).ok())
    }

    /// The character byte `b` stands for (for tests and previews).
    pub fn char_of(self, b: u8) -> Option<char> {
        match b {
            0x20..=0x7e => Some(b as char),
            0x80..=0xff => self
                .high_half()
                .chars()
                .nth(usize::from(b - 0x80))
                .filter(|c| *c != '\u{fffd}'),
            _ => None,
        }
    }

    /// `text` in this code page: folded, then `?` for what the page lacks.
    pub fn encode(self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match fold(c) {
                Folded::One(c) => out.push(self.byte_of(c).unwrap_or(b'?')),
                Folded::Str(s) => out.extend(s.bytes()),
            }
        }
        out
    }
}

enum Folded {
    One(char),
    Str(&'static str),
}

/// Typography a kitchen printer needs no fidelity for, as ASCII; whitespace as a space.
fn fold(c: char) -> Folded {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' => Folded::One('\''),
        '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{2033}' => Folded::One('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Folded::One('-'),
        '\u{2026}' => Folded::Str("..."),
        c if c.is_whitespace() => Folded::One(' '),
        c => Folded::One(c),
    }
}

/// IBM code page 437 (US): bytes 0x80..=0xFF (generated from Python's `cp437` codec; U+FFFD: undefined).
const CP437_HIGH: &str = concat!(
    "ÇüéâäàåçêëèïîìÄÅ",
    "ÉæÆôöòûùÿÖÜ¢£¥₧ƒ",
    "áíóúñÑªº¿⌐¬½¼¡«»",
    "░▒▓│┤╡╢╖╕╣║╗╝╜╛┐",
    "└┴┬├─┼╞╟╚╔╩╦╠═╬╧",
    "╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀",
    "αßΓπΣσµτΦΘΩδ∞φε∩",
    "≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}",
);

/// Code page 858 (850, Western Europe, with the euro sign at 0xD5): bytes 0x80..=0xFF (generated from Python's `cp858` codec; U+FFFD: undefined).
const CP858_HIGH: &str = concat!(
    "ÇüéâäàåçêëèïîìÄÅ",
    "ÉæÆôöòûùÿÖÜø£Ø×ƒ",
    "áíóúñÑªº¿®¬½¼¡«»",
    "░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐",
    "└┴┬├─┼ãÃ╚╔╩╦╠═╬¤",
    "ðÐÊËÈ€ÍÎÏ┘┌█▄¦Ì▀",
    "ÓßÔÒõÕµþÞÚÛÙýÝ¯´",
    "\u{ad}±‗¾¶§÷¸°¨·¹³²■\u{a0}",
);

/// Windows-1252: bytes 0x80..=0xFF (generated from Python's `cp1252` codec; U+FFFD: undefined).
const CP1252_HIGH: &str = concat!(
    "€\u{fffd}‚ƒ„…†‡ˆ‰Š‹Œ\u{fffd}Ž\u{fffd}",
    "\u{fffd}‘’“”•–—˜™š›œ\u{fffd}žŸ",
    "\u{a0}¡¢£¤¥¦§¨©ª«¬\u{ad}®¯",
    "°±²³´µ¶·¸¹º»¼½¾¿",
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ",
    "ÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß",
    "àáâãäåæçèéêëìíîï",
    "ðñòóôõö÷øùúûüýþÿ",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_128_high_characters() {
        for page in [CodePage::Cp437, CodePage::Cp858, CodePage::Cp1252] {
            assert_eq!(page.high_half().chars().count(), 128, "{page:?}");
        }
    }

    #[test]
    fn accents_and_euro_map_and_the_rest_is_a_question_mark() {
        assert_eq!(
            CodePage::Cp437.encode("Crème brûlée"),
            b"Cr\x8ame br\x96l\x82e"
        );
        assert_eq!(CodePage::Cp858.encode("5 €"), b"5 \xd5");
        assert_eq!(CodePage::Cp1252.encode("5 €"), b"5 \x80");
        assert_eq!(CodePage::Cp437.encode("5 € 寿司"), b"5 ? ??");
        assert_eq!(
            CodePage::Cp437.encode("“Joe’s” – hot…"),
            b"\"Joe's\" - hot..."
        );
        assert_eq!(CodePage::Cp437.encode("a\tb\nc\x1bd"), b"a b c?d");
    }
}
