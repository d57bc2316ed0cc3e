//! IANA time zones. The tz database is bundled into the binary (jiff's `tzdb-bundle-always`), so
//! the same answers come out natively and inside a Wasm component, which has no /usr/share/zoneinfo.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A valid IANA time zone name together with its rules.
#[derive(Clone)]
pub struct TimeZoneName {
    name: String,
    tz: jiff::tz::TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown IANA time zone {0:?} (expected a name like \"America/Chicago\")")]
pub struct BadTimeZone(pub String);

impl TimeZoneName {
    /// A name from the bundled IANA database, matched without regard to case and stored in its
    /// canonical spelling ("america/chicago" becomes "America/Chicago").
    pub fn parse(name: &str) -> Result<Self, BadTimeZone> {
        let bad = || BadTimeZone(name.to_owned());
        // Only names from the database: a fixed offset like "+05:00" or a POSIX TZ string would
        // silently ignore daylight saving time.
        if !name.contains('/') && !name.eq_ignore_ascii_case("UTC") {
            return Err(bad());
        }
        let tz = jiff::tz::db().get(name).map_err(|_| bad())?;
        // "Etc/Unknown" is jiff's placeholder for "no idea", not a place.
        if tz.is_unknown() {
            return Err(bad());
        }
        let canonical = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Self {
            name: canonical,
            tz,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for TimeZoneName {}

impl std::hash::Hash for TimeZoneName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZoneName({})", self.name)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for TimeZoneName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TimeZoneName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_parse() {
        for z in [
            "America/Los_Angeles",
            "America/Chicago",
            "Europe/London",
            "Asia/Kolkata",
            "UTC",
        ] {
            assert_eq!(TimeZoneName::parse(z).unwrap().as_str(), z);
        }
    }

    #[test]
    fn names_are_canonicalized() {
        assert_eq!(
            TimeZoneName::parse("america/chicago").map(|z| z.to_string()),
            Ok("America/Chicago".to_owned())
        );
        assert_eq!(
            TimeZoneName::parse("utc").map(|z| z.to_string()),
            Ok("UTC".to_owned())
        );
    }

    #[test]
    fn unknown_zones_fail() {
        for z in [
            "",
            "PST",
            "America/Springfield",
            "+05:00",
            "Mars/Olympus_Mons",
            "Etc/Unknown",
            "EST5EDT,M3.2.0,M11.1.0",
        ] {
            assert!(TimeZoneName::parse(z).is_err(), "{z:?}");
        }
    }
}
