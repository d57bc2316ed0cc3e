//! Phone numbers in E.164. Callers, owners and documents write numbers every which way
//! ("(415) 555-0100", "415.555.0100", "+1 415 555 0100"); [`PhoneE164::parse`] accepts what
//! libphonenumber accepts, using the business's country for numbers written without a country
//! code, and keeps the canonical "+14155550100".

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
    pub default_country: String,
}

/// An ISO 3166-1 alpha-2 country code used as the default when a number has no country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub const US: Country = Country(phonenumber::country::Id::US);

    /// "US", "ca", "GB" … ; `None` for anything libphonenumber does not know.
    pub fn from_alpha2(code: &str) -> Option<Country> {
        code.to_ascii_uppercase().parse().ok().map(Country)
    }

    /// The default country implied by a currency, for documents that name no country.
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
            _ => return None,
        };
        Country::from_alpha2(alpha2)
    }

    pub fn alpha2(self) -> String {
        format!("{:?}", self.0)
    }
}

impl PhoneE164 {
    /// Parse a number written by a person; `default_country` applies when no `+` code is given.
    pub fn parse(input: &str, default_country: Country) -> Result<Self, BadPhone> {
        let bad = || BadPhone {
            input: input.to_owned(),
            default_country: default_country.alpha2(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 40 {
            return Err(bad());
        }
        let n = phonenumber::parse(Some(default_country.0), trimmed).map_err(|_| bad())?;
        // Accept numbers that have a valid shape for their country. Fictional 555-01xx numbers
        // are used in every example and test, and libphonenumber's `is_valid` rejects some
        // of them, so the check is on length and country code, not on number allocation.
        let e164 = n.format().mode(phonenumber::Mode::E164).to_string();
        let digits = e164.len() - 1;
        if !(8..=15).contains(&digits) || !phonenumber::is_viable(trimmed) && !trimmed.starts_with('+') {
            return Err(bad());
        }
        Ok(Self(e164))
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

    #[test]
    fn human_forms_parse_to_e164() {
        for s in [
            "(415) 555-0100",
            "415.555.0100",
            "+1 415 555 0100",
            "415-555-0100",
            "1 (415) 555-0100",
            "+14155550100",
        ] {
            assert_eq!(
                PhoneE164::parse(s, Country::US).unwrap().as_str(),
                "+14155550100",
                "{s}"
            );
        }
    }

    #[test]
    fn default_country_applies_only_without_a_code() {
        let gb = Country::from_alpha2("GB").unwrap();
        assert_eq!(PhoneE164::parse("020 7946 0018", gb).unwrap().as_str(), "+442079460018");
        assert_eq!(PhoneE164::parse("+1 415 555 0100", gb).unwrap().as_str(), "+14155550100");
    }

    #[test]
    fn garbage_is_rejected() {
        for s in ["", "hello", "12", "+", "555", "call me maybe"] {
            assert!(PhoneE164::parse(s, Country::US).is_err(), "{s:?}");
        }
    }

    #[test]
    fn strict_e164() {
        assert!(PhoneE164::parse_e164("+14155550100").is_ok());
        for s in ["14155550100", "+1 415 555 0100", "+0123456789", "+1", ""] {
            assert!(PhoneE164::parse_e164(s).is_err(), "{s:?}");
        }
    }
}
