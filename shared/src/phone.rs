//! Phone numbers in E.164. Callers, owners and documents write numbers every which way
//! ("(415) 555-0100", "415.555.0100", "+1 415 555 0100"); [`PhoneE164::parse`] reads them with
//! libphonenumber (the `phonenumber` crate), using the business's country for numbers written
//! without a country code, and keeps the canonical "+14155550100".
//!
//! What counts as a phone number (the rule [`PhoneE164::parse`] applies):
//! 1. The text holds only what people write around digits: digits, spaces, `+` (first only),
//!    `( ) - . /`. Letters are refused: libphonenumber would happily read "call 415 555 0100 now"
//!    or the vanity "1-800-FLOWERS", and an extension ("x12") cannot be dialled as E.164.
//! 2. libphonenumber parses it, and the country calling code is an assigned one.
//! 3. The national number is *plausible* for that country: its length is one the country's
//!    numbering plan uses (any number type) and it starts the way the plan's numbers start (the
//!    plan's general pattern). Local-only forms such as a US number without its area code fail.
//! 4. Allocation is NOT checked (no `is_valid`): fictional 555-01xx numbers, used in every
//!    example and test, and brand-new area codes must be accepted.
//!
//! Stored and wire forms are canonical, so deserializing a [`PhoneE164`] accepts only E.164
//! ([`PhoneE164::parse_e164`]); human forms go through [`PhoneE164::parse`] explicitly.

use phonenumber::metadata::DATABASE;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// A phone number in canonical E.164 form ("+14155550100").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PhoneE164(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid phone number{}", if .default_country.is_empty() { String::new() } else { format!(" (numbers without a country code are read as {})", .default_country) })]
pub struct BadPhone {
    pub input: String,
    /// Alpha-2 code of the country assumed for numbers without a `+` code; empty when none was
    /// assumed (strict E.164 parsing).
    pub default_country: String,
}

/// An ISO 3166-1 alpha-2 country code used as the default when a number has no country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub const US: Country = Country(phonenumber::country::Id::US);

    /// "US", "ca", "GB" … ; `None` for anything that is not a two-letter code libphonenumber
    /// knows.
    pub fn from_alpha2(code: &str) -> Option<Country> {
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        code.to_ascii_uppercase().parse().ok().map(Country)
    }

    /// The default country implied by a currency, for documents that name no country. Only
    /// currencies used by a single country are mapped: the euro, for one, says nothing about
    /// which country a number belongs to.
    pub fn from_currency(currency: &str) -> Option<Country> {
        let alpha2 = match currency.to_ascii_uppercase().as_str() {
            "USD" => "US",
            "CAD" => "CA",
            "GBP" => "GB",
            "AUD" => "AU",
            "NZD" => "NZ",
            "MXN" => "MX",
            "INR" => "IN",
            "JPY" => "JP",
            "SGD" => "SG",
            "CHF" => "CH",
            "HKD" => "HK",
            "ZAR" => "ZA",
            "SEK" => "SE",
            "NOK" => "NO",
            "DKK" => "DK",
            "PLN" => "PL",
            "CZK" => "CZ",
            "BRL" => "BR",
            "KRW" => "KR",
            "CNY" => "CN",
            "PHP" => "PH",
            "THB" => "TH",
            "AED" => "AE",
            "ILS" => "IL",
            "TRY" => "TR",
            _ => return None,
        };
        Country::from_alpha2(alpha2)
    }

    /// The upper-case alpha-2 code ("US").
    pub fn alpha2(self) -> String {
        let code: &str = self.0.as_ref();
        code.to_owned()
    }
}

/// Longest input worth handing to libphonenumber; anything longer is not one phone number.
const MAX_INPUT_CHARS: usize = 40;

impl PhoneE164 {
    /// Parse a number written by a person; `default_country` applies when no `+` code is given.
    /// See the module documentation for exactly what is accepted.
    pub fn parse(input: &str, default_country: Country) -> Result<Self, BadPhone> {
        let bad = || BadPhone {
            input: input.to_owned(),
            default_country: default_country.alpha2(),
        };
        let s = input.trim();
        if s.is_empty() || s.chars().count() > MAX_INPUT_CHARS || !human_phone_chars(s) {
            return Err(bad());
        }
        if let Some(p) = nanp_fast_path(s, default_country) {
            return Ok(p);
        }
        Self::parse_with_libphonenumber(s, default_country).map_err(|_| bad())
    }

    /// Rules 2 and 3 through libphonenumber. Its metadata loads on first use (about 0.14 s
    /// natively, more in a component, where every request is a fresh instance): the
    /// [`nanp_fast_path`] spares the common case.
    fn parse_with_libphonenumber(s: &str, default_country: Country) -> Result<Self, BadPhone> {
        let bad = || BadPhone {
            input: s.to_owned(),
            default_country: default_country.alpha2(),
        };
        let n = phonenumber::parse(Some(default_country.0), s).map_err(|_| bad())?;
        if n.extension().is_some() {
            return Err(bad());
        }
        let code = n.code().value();
        // The national significant number with its leading zeros (Italian numbers keep them).
        let national = format!(
            "{}{}",
            "0".repeat(usize::from(n.national().zeros())),
            n.national().value()
        );
        if !plausible_national_number(code, &national) {
            return Err(bad());
        }
        let e164 = format!("+{code}{national}");
        Self::parse_e164(&e164).map_err(|_| bad())
    }

    /// Parse a number that must already be canonical E.164 ("+14155550100"), as platforms send.
    pub fn parse_e164(input: &str) -> Result<Self, BadPhone> {
        let bad = || BadPhone {
            input: input.to_owned(),
            default_country: String::new(),
        };
        let s = input.trim();
        let digits = s.strip_prefix('+').ok_or_else(bad)?;
        if !(8..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(bad());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Rule 1 of the module doc: digits and the punctuation people put between them, a `+` only in
/// front, and at least one digit.
/// The answer [`PhoneE164::parse_with_libphonenumber`] gives for the everyday North American
/// forms, without loading its metadata: ten digits, or eleven starting with the trunk `1`,
/// read with a US or Canadian default (or after `+1`), whose national number starts 2–9, the
/// +1 plan's general pattern (`[2-9]\d{9}`) and length. Anything else goes to libphonenumber;
/// a property test holds the two to the same answers.
fn nanp_fast_path(s: &str, default_country: Country) -> Option<PhoneE164> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let national = if s.starts_with('+') {
        digits.strip_prefix('1').filter(|n| n.len() == 10)?
    } else if matches!(
        default_country.0,
        phonenumber::country::Id::US | phonenumber::country::Id::CA
    ) {
        match digits.len() {
            10 => digits.as_str(),
            11 => digits.strip_prefix('1')?,
            _ => return None,
        }
    } else {
        return None;
    };
    if !national.starts_with(|c: char| ('2'..='9').contains(&c)) {
        return None;
    }
    Some(PhoneE164(format!("+1{national}")))
}

fn human_phone_chars(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.' | '/'))
}

/// Rule 3 of the module doc. Every region sharing the calling code counts (+1 is the US,
/// Canada and the Caribbean), so a number is plausible if any of them could hold it.
fn plausible_national_number(code: u16, national: &str) -> bool {
    let Some(plans) = DATABASE.by_code(&code) else {
        return false;
    };
    let Ok(len) = u16::try_from(national.len()) else {
        return false;
    };
    plans.into_iter().any(|meta| {
        let d = meta.descriptors();
        // The general descriptor carries no lengths in libphonenumber's metadata; the typed
        // ones (fixed line, mobile, toll free …) do.
        let length_ok = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.uan(),
            d.pager(),
        ]
        .into_iter()
        .flatten()
        .chain(std::iter::once(d.general()))
        .any(|desc| desc.possible_length().contains(&len));
        let shape_ok = d
            .general()
            .national_number()
            .find(national)
            .is_some_and(|m| m.start() == 0);
        length_ok && shape_ok
    })
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneE164 {
    /// Stored and wire forms are canonical E.164; human forms go through [`PhoneE164::parse`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PhoneE164::parse_e164(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn us(s: &str) -> Result<String, BadPhone> {
        PhoneE164::parse(s, Country::US).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn human_forms_parse_to_e164() {
        for s in [
            "(415) 555-0100",
            "415.555.0100",
            "+1 415 555 0100",
            "415-555-0100",
            "1-415-555-0100",
            "1 (415) 555-0100",
            "+14155550100",
            "  +1 (415) 555-0100 ",
            "415/555/0100",
        ] {
            assert_eq!(us(s).as_deref(), Ok("+14155550100"), "{s}");
        }
    }

    #[test]
    fn international_numbers_keep_their_country() {
        assert_eq!(us("+44 20 7946 0018").as_deref(), Ok("+442079460018"));
        assert_eq!(us("+49 30 123456").as_deref(), Ok("+4930123456"));
        let it = Country::from_alpha2("it").expect("IT is a country");
        // Italian numbers keep their leading zero after the country code.
        assert_eq!(
            PhoneE164::parse("06 1234 5678", it).map(|p| p.to_string()),
            Ok("+390612345678".to_owned())
        );
    }

    #[test]
    fn default_country_applies_only_without_a_code() {
        let gb = Country::from_alpha2("GB").expect("GB is a country");
        assert_eq!(
            PhoneE164::parse("020 7946 0018", gb).map(|p| p.to_string()),
            Ok("+442079460018".to_owned())
        );
        assert_eq!(
            PhoneE164::parse("+1 415 555 0100", gb).map(|p| p.to_string()),
            Ok("+14155550100".to_owned())
        );
    }

    #[test]
    fn fictional_and_toll_free_numbers_are_accepted() {
        for s in [
            "(312) 555-0142",
            "(312) 555-0199",
            "(800) 555-0199",
            "(299) 255-1234",
        ] {
            assert!(us(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for s in [
            "",
            "   ",
            "hello",
            "12",
            "+",
            "555",
            "555-0100",
            "call me maybe",
            "call 415 555 0100 now",
            "1-800-FLOWERS",
            "415 555 0100 x12",
            "(015) 555-0100",
            "415 555 0100 415",
            "+999 1234 5678",
            "+44 20 7946 001",
            "++1 415 555 0100",
            "415+555+0100",
            "4155550100415550100415550100415550100415",
        ] {
            assert!(us(s).is_err(), "{s:?} should be rejected, got {:?}", us(s));
        }
    }

    #[test]
    fn errors_say_which_country_was_assumed() {
        let e = us("555-0100").expect_err("no area code");
        assert_eq!(
            e.to_string(),
            "\"555-0100\" is not a valid phone number (numbers without a country code are read as US)"
        );
    }

    #[test]
    fn strict_e164() {
        assert!(PhoneE164::parse_e164("+14155550100").is_ok());
        for s in ["14155550100", "+1 415 555 0100", "+0123456789", "+1", ""] {
            assert!(PhoneE164::parse_e164(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn countries() {
        assert_eq!(Country::from_alpha2("us"), Some(Country::US));
        assert_eq!(
            Country::from_alpha2("GB").map(Country::alpha2).as_deref(),
            Some("GB")
        );
        for bad in ["", "U", "USA", "ZZ", "00", "001"] {
            assert_eq!(Country::from_alpha2(bad), None, "{bad:?}");
        }
        assert_eq!(Country::from_currency("usd"), Some(Country::US));
        assert_eq!(Country::from_currency("EUR"), None);
    }

    /// Ways people write the same NANP number.
    fn nanp_forms(area: u32, exchange: u32, line: u32) -> Vec<String> {
        vec![
            format!("({area}) {exchange}-{line:04}"),
            format!("{area}.{exchange}.{line:04}"),
            format!("{area}-{exchange}-{line:04}"),
            format!("{area}{exchange}{line:04}"),
            format!("1-{area}-{exchange}-{line:04}"),
            format!("1 ({area}) {exchange}-{line:04}"),
            format!("+1 {area} {exchange} {line:04}"),
            format!("+1 ({area}) {exchange}-{line:04}"),
            format!("+1{area}{exchange}{line:04}"),
        ]
    }

    proptest! {
        #[test]
        fn nanp_numbers_parse_the_same_in_every_form(
            area in 200u32..1000,
            exchange in 200u32..1000,
            line in 0u32..10_000,
        ) {
            let expected = format!("+1{area}{exchange}{line:04}");
            for form in nanp_forms(area, exchange, line) {
                prop_assert_eq!(us(&form), Ok(expected.clone()), "{}", form);
            }
        }

        #[test]
        fn the_nanp_fast_path_answers_as_libphonenumber_does(
            s in "[+]?[0-9 ().-]{0,20}",
            canada in proptest::bool::ANY,
        ) {
            let country = if canada { Country::from_alpha2("CA").unwrap() } else { Country::US };
            if human_phone_chars(s.trim()) && let Some(fast) = nanp_fast_path(s.trim(), country) {
                let slow = PhoneE164::parse_with_libphonenumber(s.trim(), country);
                prop_assert_eq!(slow.as_ref(), Ok(&fast), "{}", s);
            }
        }

        #[test]
        fn the_fast_path_and_libphonenumber_agree_on_ten_digit_forms(
            area in 0u32..1000,
            exchange in 0u32..1000,
            line in 0u32..10_000,
            canada in proptest::bool::ANY,
        ) {
            let country = if canada { Country::from_alpha2("CA").unwrap() } else { Country::US };
            for form in [
                format!("{area:03}{exchange:03}{line:04}"),
                format!("1 ({area:03}) {exchange:03}-{line:04}"),
                format!("+1 {area:03} {exchange:03} {line:04}"),
                format!("{area:03}.{exchange:03}.{line:04}"),
            ] {
                let slow = PhoneE164::parse_with_libphonenumber(&form, country).ok();
                let fast = nanp_fast_path(&form, country);
                if fast.is_some() {
                    prop_assert_eq!(&slow, &fast, "{}", form);
                }
                // The fast path declines only what it cannot answer; it never accepts more.
                prop_assert!(fast.is_none() || slow.is_some(), "{}", form);
            }
        }

        #[test]
        fn parse_is_idempotent(s in "[+]?[0-9 ().-]{0,20}") {
            if let Ok(p) = PhoneE164::parse(&s, Country::US) {
                let again = PhoneE164::parse(p.as_str(), Country::US);
                prop_assert_eq!(again.as_ref(), Ok(&p));
                let strict = PhoneE164::parse_e164(p.as_str());
                prop_assert_eq!(strict.as_ref(), Ok(&p));
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,50}") {
            let _ = PhoneE164::parse(&s, Country::US);
        }
    }
}
