//! Parsing and validating a restaurant document. Structural errors (unknown field, wrong type)
//! come from serde with the path tracked by `serde_path_to_error`; semantic errors (duplicate
//! ids, dangling references, bad hours) come from the checks below, each naming its path.

use super::{ClockTime, FORMAT_V1, Restaurant};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A document error: the JSON path of the offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{path}: {message}")]
pub struct DocError {
    /// `menu.categories[0].items[3].price_cents`; empty for the document root.
    pub path: String,
    pub message: String,
}

impl Restaurant {
    /// Parse and validate a `hostline.restaurant/v1` document.
    pub fn parse(json: &str) -> Result<Restaurant, DocError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let doc: Restaurant = serde_path_to_error::deserialize(de).map_err(|e| DocError {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
        if doc.format != FORMAT_V1 {
            return Err(DocError {
                path: "format".into(),
                message: format!("must be {FORMAT_V1:?}"),
            });
        }
        Ok(doc)
    }
}

impl ClockTime {
    /// "HH:MM", 00:00-23:59, or "24:00" (end of day).
    pub fn parse(s: &str) -> Option<ClockTime> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let h: u16 = h.parse().ok()?;
        let m: u16 = m.parse().ok()?;
        if (h < 24 && m < 60) || (h == 24 && m == 0) {
            Some(ClockTime { minutes: h * 60 + m })
        } else {
            None
        }
    }
}

impl std::fmt::Display for ClockTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClockTime::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("{s:?} is not a time of day as \"HH:MM\" (00:00-24:00)"))
        })
    }
}
