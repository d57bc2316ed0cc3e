//! Reading and validating a restaurant document. Four passes, each error naming its JSON path:
//!
//! 1. **JSON**: syntax errors and duplicate keys (serde_json would silently keep the last one).
//! 2. **Phone lines**: `business.phone_lines[*].e164` may be written the way people write
//!    numbers ("(415) 555-0100"); they are rewritten to E.164 using the business's default
//!    country ([`BusinessProfile::default_country`]). This happens on the JSON value because the
//!    country is only known once `business` has been read.
//! 3. **Structure**: deserializing the typed document with `serde_path_to_error` (unknown fields,
//!    missing fields, wrong types, bad enum values, time strings, time zones).
//! 4. **Rules** ([`Restaurant::problems`]): everything serde cannot express. Decisions worth
//!    knowing:
//!    - A business may have no phone line yet (imported before a number is bought).
//!    - `tax_rate_bps` is capped at 3000 (30 %): no sales tax or VAT is that high, and a larger
//!      value is almost always a percentage typed as basis points the wrong way (8750 for 8.75 %).
//!    - Hours: `open == close` means open 24 hours from `open`; a `close` earlier than `open`
//!      runs past midnight; `24:00` is only a closing time. Ranges may not overlap, including an
//!      overnight range spilling into the next day's ranges (and Sunday into Monday).
//!    - ZIP codes must be 5 digits when the business is known to be in the US (explicit
//!      `country`, or USD); otherwise any 3-10 character postal code of letters, digits, spaces
//!      and dashes.
//!    - Option ids are unique across all modifier groups, because rules name options by id alone.
//!    - Counts are capped ([`MAX_ITEMS`] and friends) so the index built from a document stays
//!      small; the byte size of the body is the caller's to cap.

use super::{
    BusinessProfile, ClockTime, Day, Delivery, FORMAT_V1, Fulfillment, HoursRange, Menu,
    Restaurant, Rule,
};
use crate::ids::is_slug;
use crate::money::Cents;
use crate::phone::{Country, PhoneE164};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// A document error: the JSON path of the offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{path}: {message}")]
pub struct DocError {
    /// `menu.categories[0].items[3].price_cents`; empty for the document root.
    pub path: String,
    pub message: String,
}

impl DocError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Most menu items in one document.
pub const MAX_ITEMS: usize = 2000;
/// Most menu categories.
pub const MAX_CATEGORIES: usize = 200;
/// Most modifier groups.
pub const MAX_MODIFIER_GROUPS: usize = 500;
/// Most modifier options, all groups together.
pub const MAX_OPTIONS: usize = 5000;
/// Most menu rules.
pub const MAX_RULES: usize = 1000;
/// Most aliases on one item or option.
pub const MAX_ALIASES: usize = 50;
/// Most hours ranges.
pub const MAX_HOURS_RANGES: usize = 100;
/// Most closures (years of holidays).
pub const MAX_CLOSURES: usize = 1000;
/// Most phone lines.
pub const MAX_PHONE_LINES: usize = 50;
/// Most delivery zones.
pub const MAX_ZONES: usize = 200;
/// Most ZIP codes, all zones together.
pub const MAX_ZIPS: usize = 5000;
/// Most FAQ entries.
pub const MAX_FAQ: usize = 500;
/// Largest price, fee or minimum in cents ($1,000,000): far above any menu, far below any
/// overflow when totals are computed.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000;
/// Highest tax rate in basis points (30 %); see the module doc.
pub const MAX_TAX_RATE_BPS: u32 = 3000;
/// Longest prep or delivery time: a day.
pub const MAX_MINUTES: u32 = 24 * 60;

impl Restaurant {
    /// Parse and validate a `hostline.restaurant/v1` document. The first problem found is
    /// returned; [`Restaurant::problems`] lists all rule violations of a parsed document.
    pub fn parse(json: &str) -> Result<Restaurant, DocError> {
        let mut value = read_json(json)?;
        normalize_phone_lines(&mut value)?;
        let doc: Restaurant = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = json_path(e.path());
            structural_error(path, &e.inner().to_string())
        })?;
        doc.validate()?;
        Ok(doc)
    }

    /// The first rule this document breaks, if any. For documents built in code (an owner edit)
    /// before they are saved.
    pub fn validate(&self) -> Result<(), DocError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every rule this document breaks, section by section in document order (empty when
    /// valid). When a list is
    /// over its cap only the cap errors are returned: the other checks are not worth running.
    pub fn problems(&self) -> Vec<DocError> {
        let mut c = Checker::default();
        c.counts(self);
        if !c.errors.is_empty() {
            return c.errors;
        }
        if self.format != FORMAT_V1 {
            c.err(
                "format",
                format!("must be {FORMAT_V1:?} (got {:?})", self.format),
            );
        }
        c.business(&self.business);
        c.hours(&self.hours);
        c.closures(self);
        c.fulfillment(&self.fulfillment, &self.delivery);
        c.delivery(&self.delivery, &self.business);
        c.menu(&self.menu);
        for (i, f) in self.faq.iter().enumerate() {
            c.not_blank(format!("faq[{i}].q"), &f.q);
            c.not_blank(format!("faq[{i}].a"), &f.a);
        }
        c.errors
    }
}

/// Where a business's default phone country came from; ZIP codes are only held to the US
/// format when the business is known to be in the US.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CountrySource {
    Explicit,
    Currency,
    Fallback,
}

fn default_country(country: Option<&str>, currency: Option<&str>) -> (Country, CountrySource) {
    if let Some(c) = country.and_then(Country::from_alpha2) {
        return (c, CountrySource::Explicit);
    }
    if let Some(c) = currency.and_then(Country::from_currency) {
        return (c, CountrySource::Currency);
    }
    (Country::US, CountrySource::Fallback)
}

impl BusinessProfile {
    /// The country assumed for phone numbers written without a country code: `country` if set,
    /// else the one implied by `currency`, else the US.
    pub fn default_country(&self) -> Country {
        default_country(self.country.as_deref(), Some(&self.currency)).0
    }
}

// ---------------------------------------------------------------------------------------------
// Pass 1: JSON, refusing duplicate keys.

fn read_json(json: &str) -> Result<Value, DocError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let StrictJson(value) = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = json_path(e.path());
        structural_error(path, &e.inner().to_string())
    })?;
    de.end()
        .map_err(|e| DocError::new("", format!("not valid JSON: {e}")))?;
    Ok(value)
}

/// A `serde_json::Value` that refuses an object with the same key twice: the second copy would
/// silently win, and the owner would never learn why their edit did nothing.
struct StrictJson(Value);

impl<'de> Deserialize<'de> for StrictJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictJson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictJson, E> {
        Ok(StrictJson(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<StrictJson, E> {
        Ok(StrictJson(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StrictJson, D::Error> {
        StrictJson::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictJson, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictJson(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(StrictJson(Value::Array(out)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictJson, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                // Same shape as serde's own "unknown field" so `structural_error` adds the key
                // to the path.
                return Err(de::Error::custom(format!(
                    "duplicate field `{key}`, it appears twice in this object"
                )));
            }
            let StrictJson(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(StrictJson(Value::Object(out)))
    }
}

// ---------------------------------------------------------------------------------------------
// Pass 2: phone lines in human form.

fn normalize_phone_lines(doc: &mut Value) -> Result<(), DocError> {
    let Some(business) = doc.get("business").and_then(Value::as_object) else {
        return Ok(()); // the structural pass reports a missing or malformed `business`
    };
    let country = business.get("country").and_then(Value::as_str);
    if let Some(c) = country
        && !valid_alpha2(c)
    {
        // Report this before any phone line, which would otherwise be read in the wrong country.
        return Err(country_error(c));
    }
    let currency = business.get("currency").and_then(Value::as_str);
    let (country, source) = default_country(country, currency);
    let Some(lines) = doc
        .get_mut("business")
        .and_then(|b| b.get_mut("phone_lines"))
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    for (i, line) in lines.iter_mut().enumerate() {
        let Some(e164) = line.get_mut("e164") else {
            continue;
        };
        let Some(written) = e164.as_str() else {
            continue; // wrong type: the structural pass names it
        };
        match PhoneE164::parse(written, country) {
            Ok(p) => *e164 = Value::String(p.as_str().to_owned()),
            Err(bad) => {
                let hint = if source == CountrySource::Explicit {
                    "; include the area code, or write it in international form (+ and the country code)"
                } else {
                    "; include the area code, write it in international form (+ and the country code), or set business.country"
                };
                return Err(DocError::new(
                    format!("business.phone_lines[{i}].e164"),
                    format!("{bad}{hint}"),
                ));
            }
        }
    }
    Ok(())
}

fn valid_alpha2(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) && Country::from_alpha2(c).is_some()
}

fn country_error(c: &str) -> DocError {
    DocError::new(
        "business.country",
        format!("{c:?} is not a known ISO 3166-1 alpha-2 country code in upper case, like \"US\""),
    )
}

// ---------------------------------------------------------------------------------------------
// Pass 3 helpers: paths and owner-readable serde messages.

/// `menu.categories[0].items[3]` from serde_path_to_error's segments (its own `Display` writes
/// "." for the root and "?" for unknown segments).
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// Turns a serde message into one for an owner: the field an "unknown/missing/duplicate field"
/// error is about goes into the path, Rust type names become words, backticks become quotes.
fn structural_error(mut path: String, message: &str) -> DocError {
    let field_named = crate::api::serde_field_named(message);
    let message = match field_named {
        Some(("missing field `", field)) => {
            push_key(&mut path, field);
            "is required".to_owned()
        }
        Some((_, field)) => {
            push_key(&mut path, field);
            message.to_owned()
        }
        None => message.to_owned(),
    };
    let mut message = message
        .replace("expected i64", "expected a whole number")
        .replace("expected u32", "expected a whole number, 0 or more")
        .replace("expected u16", "expected a whole number, 0 or more")
        .replace("expected a sequence", "expected a list")
        .replace("expected a borrowed string", "expected a string")
        .replace(
            "expected internally tagged enum Rule",
            "expected a rule object with a \"kind\"",
        );
    message = unbacktick(&message);
    if let Some(at) = message.find("expected struct ") {
        message.truncate(at);
        message.push_str("expected an object");
    }
    DocError::new(path, message)
}

/// serde quotes names and values in backticks; owners get double quotes around names and
/// strings, and bare numbers ("floating point 4.5", not "floating point \"4.5\"").
fn unbacktick(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        let quoted = i % 2 == 1;
        if quoted && part.parse::<f64>().is_err() {
            out.push('"');
            out.push_str(part);
            out.push('"');
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Append `key` to `path` unless it is already the last segment (serde_path_to_error records
/// the key of an unknown field itself, but not that of a missing one).
fn push_key(path: &mut String, key: &str) {
    if path == key || path.ends_with(&format!(".{key}")) {
        return;
    }
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

// ---------------------------------------------------------------------------------------------
// Pass 4: the rules.

#[derive(Default)]
struct Checker {
    errors: Vec<DocError>,
}

/// Lower-case id of a day as written in documents ("tue").
fn day_id(d: Day) -> &'static str {
    match d {
        Day::Mon => "mon",
        Day::Tue => "tue",
        Day::Wed => "wed",
        Day::Thu => "thu",
        Day::Fri => "fri",
        Day::Sat => "sat",
        Day::Sun => "sun",
    }
}

fn day_index(d: Day) -> u32 {
    match d {
        Day::Mon => 0,
        Day::Tue => 1,
        Day::Wed => 2,
        Day::Thu => 3,
        Day::Fri => 4,
        Day::Sat => 5,
        Day::Sun => 6,
    }
}

const DAY_MINUTES: u32 = 24 * 60;
const WEEK_MINUTES: u32 = 7 * DAY_MINUTES;

/// How a name is compared for duplicates: callers say them, so case and spacing don't count.
fn name_key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Checker {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(DocError::new(path, message));
    }

    fn not_blank(&mut self, path: impl Into<String>, s: &str) {
        if s.trim().is_empty() {
            self.err(path, "must not be empty");
        }
    }

    /// Optional text that, when given, must say something: an empty greeting is a mistake,
    /// leaving the field out is how to ask for the default.
    fn not_blank_if_set(&mut self, path: &str, s: Option<&str>) {
        if s.is_some_and(|s| s.trim().is_empty()) {
            self.err(path, "must not be empty (leave the field out instead)");
        }
    }

    fn cap(&mut self, path: &str, what: &str, n: usize, max: usize) {
        if n > max {
            self.err(
                path,
                format!("has {n} {what}; at most {max} are supported in one document"),
            );
        }
    }

    fn amount(&mut self, path: String, c: Cents, may_be_negative: bool) {
        if c.is_negative() && !may_be_negative {
            self.err(path, "must not be negative");
        } else if c.0.unsigned_abs() > MAX_AMOUNT_CENTS.unsigned_abs() {
            self.err(
                path,
                format!(
                    "{c} is too large (amounts are in cents; at most {})",
                    Cents(MAX_AMOUNT_CENTS)
                ),
            );
        }
    }

    fn aliases(&mut self, path: &str, aliases: &[String]) {
        self.cap(
            &format!("{path}.aliases"),
            "aliases",
            aliases.len(),
            MAX_ALIASES,
        );
        for (k, a) in aliases.iter().enumerate() {
            self.not_blank(format!("{path}.aliases[{k}]"), a);
        }
    }

    fn counts(&mut self, r: &Restaurant) {
        let items: usize = r.menu.categories.iter().map(|c| c.items.len()).sum();
        let options: usize = r.menu.modifier_groups.iter().map(|g| g.options.len()).sum();
        let zips: usize = r.delivery.zones.iter().map(|z| z.zips.len()).sum();
        self.cap(
            "business.phone_lines",
            "phone lines",
            r.business.phone_lines.len(),
            MAX_PHONE_LINES,
        );
        self.cap("hours", "hours ranges", r.hours.len(), MAX_HOURS_RANGES);
        self.cap("closures", "closures", r.closures.len(), MAX_CLOSURES);
        self.cap(
            "delivery.zones",
            "delivery zones",
            r.delivery.zones.len(),
            MAX_ZONES,
        );
        self.cap("delivery.zones", "ZIP codes in all", zips, MAX_ZIPS);
        self.cap(
            "menu.categories",
            "categories",
            r.menu.categories.len(),
            MAX_CATEGORIES,
        );
        self.cap("menu.categories", "items in all", items, MAX_ITEMS);
        self.cap(
            "menu.modifier_groups",
            "modifier groups",
            r.menu.modifier_groups.len(),
            MAX_MODIFIER_GROUPS,
        );
        self.cap(
            "menu.modifier_groups",
            "options in all",
            options,
            MAX_OPTIONS,
        );
        self.cap("menu.rules", "rules", r.menu.rules.len(), MAX_RULES);
        self.cap("faq", "entries", r.faq.len(), MAX_FAQ);
    }

    fn business(&mut self, b: &BusinessProfile) {
        self.not_blank("business.name", &b.name);
        self.not_blank_if_set("business.legal_name", b.legal_name.as_deref());
        self.not_blank_if_set("business.greeting", b.greeting.as_deref());
        if b.currency.len() != 3 || !b.currency.bytes().all(|c| c.is_ascii_uppercase()) {
            self.err(
                "business.currency",
                format!(
                    "{:?} is not a three-letter ISO 4217 code in upper case, like \"USD\"",
                    b.currency
                ),
            );
        }
        if b.tax_rate_bps > MAX_TAX_RATE_BPS {
            self.err(
                "business.tax_rate_bps",
                format!(
                    "{} basis points is a {}.{:02}% tax; tax_rate_bps is in basis points (875 = 8.75%) and at most {MAX_TAX_RATE_BPS} (30%)",
                    b.tax_rate_bps,
                    b.tax_rate_bps / 100,
                    b.tax_rate_bps % 100
                ),
            );
        }
        if let Some(c) = b.country.as_deref()
            && !valid_alpha2(c)
        {
            self.errors.push(country_error(c));
        }
        if b.limits.max_items_per_order == Some(0) {
            self.err("business.limits.max_items_per_order", "must be at least 1");
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, line) in b.phone_lines.iter().enumerate() {
            self.not_blank(format!("business.phone_lines[{i}].label"), &line.label);
            if let Some(first) = seen.insert(line.e164.as_str(), i) {
                // Keep pointing at the first occurrence for a third copy too.
                seen.insert(line.e164.as_str(), first);
                self.err(
                    format!("business.phone_lines[{i}].e164"),
                    format!(
                        "duplicate line {} (already business.phone_lines[{first}])",
                        line.e164
                    ),
                );
            }
        }
    }

    fn hours(&mut self, hours: &[HoursRange]) {
        // Each (range, day) as a half-open interval in minutes since Monday 00:00; an overnight
        // range ends past the end of its day (and Sunday's past the end of the week).
        let mut spans: Vec<(usize, u32, u32)> = Vec::new();
        for (i, h) in hours.iter().enumerate() {
            if h.days.is_empty() {
                self.err(format!("hours[{i}].days"), "must list at least one day");
            }
            let mut days = Vec::new();
            for (k, d) in h.days.iter().enumerate() {
                if days.contains(d) {
                    self.err(
                        format!("hours[{i}].days[{k}]"),
                        format!("\"{}\" is listed twice in this range", day_id(*d)),
                    );
                } else {
                    days.push(*d);
                }
            }
            if h.open.minutes >= ClockTime::END_OF_DAY.minutes {
                self.err(
                    format!("hours[{i}].open"),
                    "24:00 is only allowed as a closing time; write 00:00 to open at midnight",
                );
                continue;
            }
            let open = u32::from(h.open.minutes);
            let len = u32::from(h.length_minutes());
            for d in days {
                let start = day_index(d) * DAY_MINUTES + open;
                spans.push((i, start, start + len));
            }
        }
        // One range never overlaps itself (its days start 24 hours apart and it lasts at most
        // 24 hours), so only pairs of ranges are compared; each pair is reported once, on the
        // later range.
        let mut reported = HashSet::new();
        let mut overlaps = Vec::new();
        for (a, &(i, s1, e1)) in spans.iter().enumerate() {
            for &(j, s2, e2) in &spans[a + 1..] {
                let (i, j) = (i.min(j), i.max(j));
                if i == j || reported.contains(&(i, j)) {
                    continue;
                }
                // The week wraps (Sunday night runs into Monday morning): compare the first
                // span, moved one week on, with the second moved by zero, one and two weeks.
                for k in 0..3 {
                    let from = (s1 + WEEK_MINUTES).max(s2 + k * WEEK_MINUTES);
                    let to = (e1 + WEEK_MINUTES).min(e2 + k * WEEK_MINUTES);
                    if from < to {
                        reported.insert((i, j));
                        let day = Day::ALL[((from / DAY_MINUTES) % 7) as usize];
                        let start = ClockTime {
                            minutes: (from % DAY_MINUTES) as u16,
                        };
                        let end = ClockTime {
                            minutes: ((to - 1) % DAY_MINUTES + 1) as u16,
                        };
                        overlaps.push((
                            j,
                            i,
                            DocError::new(
                                format!("hours[{j}]"),
                                format!(
                                    "overlaps hours[{i}] on {} from {start} to {end}",
                                    day_id(day)
                                ),
                            ),
                        ));
                        break;
                    }
                }
            }
        }
        overlaps.sort_by_key(|&(j, i, _)| (j, i));
        self.errors.extend(overlaps.into_iter().map(|(_, _, e)| e));
    }

    fn closures(&mut self, r: &Restaurant) {
        let mut seen = HashMap::new();
        for (i, c) in r.closures.iter().enumerate() {
            self.not_blank_if_set(&format!("closures[{i}].reason"), c.reason.as_deref());
            if let Some(first) = seen.get(&c.date) {
                self.err(
                    format!("closures[{i}].date"),
                    format!("{} is listed twice (also closures[{first}])", c.date),
                );
            } else {
                seen.insert(c.date, i);
            }
        }
    }

    fn fulfillment(&mut self, f: &Fulfillment, d: &Delivery) {
        if f.prep_minutes > MAX_MINUTES {
            self.err(
                "fulfillment.prep_minutes",
                "must be at most 1440 (24 hours)",
            );
        }
        match f.delivery_minutes {
            Some(m) if m > MAX_MINUTES => {
                self.err(
                    "fulfillment.delivery_minutes",
                    "must be at most 1440 (24 hours)",
                );
            }
            None if f.delivery => {
                self.err(
                    "fulfillment.delivery_minutes",
                    "is required when delivery is on (how long a delivery takes, in minutes)",
                );
            }
            _ => {}
        }
        if f.delivery && d.zones.is_empty() {
            self.err(
                "delivery.zones",
                "must list at least one zone when fulfillment.delivery is true",
            );
        }
    }

    fn delivery(&mut self, d: &Delivery, b: &BusinessProfile) {
        let (country, source) = default_country(b.country.as_deref(), Some(&b.currency));
        let us_zips = country == Country::US && source != CountrySource::Fallback;
        let mut names = HashMap::new();
        let mut zips: HashMap<String, usize> = HashMap::new();
        for (z, zone) in d.zones.iter().enumerate() {
            let path = format!("delivery.zones[{z}]");
            self.not_blank(format!("{path}.name"), &zone.name);
            if !zone.name.trim().is_empty()
                && let Some(first) = names.insert(name_key(&zone.name), z)
            {
                self.err(
                    format!("{path}.name"),
                    format!(
                        "duplicate zone name {:?} (also delivery.zones[{first}])",
                        zone.name
                    ),
                );
            }
            if zone.zips.is_empty() {
                self.err(
                    format!("{path}.zips"),
                    "must list at least one ZIP or postal code",
                );
            }
            for (k, zip) in zone.zips.iter().enumerate() {
                let zpath = format!("{path}.zips[{k}]");
                if us_zips && !(zip.len() == 5 && zip.bytes().all(|c| c.is_ascii_digit())) {
                    self.err(zpath, format!("{zip:?} is not a 5-digit ZIP code"));
                    continue;
                }
                if !postal_code(zip) {
                    self.err(
                        zpath,
                        format!(
                            "{zip:?} is not a postal code (3-10 letters, digits, spaces or dashes)"
                        ),
                    );
                    continue;
                }
                let key: String = zip
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                match zips.get(&key) {
                    Some(&first) if first == z => {
                        self.err(zpath, format!("{zip} is listed twice in this zone"));
                    }
                    Some(&first) => self.err(
                        zpath,
                        format!(
                            "{zip} is already in zone {:?} (delivery.zones[{first}]); a ZIP code belongs to one zone",
                            d.zones[first].name
                        ),
                    ),
                    None => {
                        zips.insert(key, z);
                    }
                }
            }
            self.amount(format!("{path}.fee_cents"), zone.fee_cents, false);
            self.amount(
                format!("{path}.min_order_cents"),
                zone.min_order_cents,
                false,
            );
        }
    }

    fn menu(&mut self, m: &Menu) {
        let mut category_names = HashMap::new();
        let mut item_ids: HashMap<&str, String> = HashMap::new();
        let group_ids: HashSet<&str> = m.modifier_groups.iter().map(|g| g.id.as_str()).collect();
        for (ci, cat) in m.categories.iter().enumerate() {
            let cpath = format!("menu.categories[{ci}]");
            self.not_blank(format!("{cpath}.name"), &cat.name);
            if !cat.name.trim().is_empty()
                && let Some(first) = category_names.insert(name_key(&cat.name), ci)
            {
                self.err(
                    format!("{cpath}.name"),
                    format!(
                        "duplicate category name {:?} (also menu.categories[{first}])",
                        cat.name
                    ),
                );
            }
            for (ii, item) in cat.items.iter().enumerate() {
                let ipath = format!("{cpath}.items[{ii}]");
                self.slug(&format!("{ipath}.id"), &item.id, "taro-milk-tea");
                if let Some(first) = item_ids.get(item.id.as_str()) {
                    self.err(
                        format!("{ipath}.id"),
                        format!("duplicate item id {:?} (first used at {first})", item.id),
                    );
                } else {
                    item_ids.insert(&item.id, ipath.clone());
                }
                self.not_blank(format!("{ipath}.name"), &item.name);
                self.aliases(&ipath, &item.aliases);
                self.amount(format!("{ipath}.price_cents"), item.price_cents, false);
                let mut on_item = HashSet::new();
                for (k, g) in item.modifier_groups.iter().enumerate() {
                    let gpath = format!("{ipath}.modifier_groups[{k}]");
                    if !group_ids.contains(g.as_str()) {
                        self.err(
                            gpath,
                            format!("unknown modifier group {g:?} (no entry in menu.modifier_groups has this id)"),
                        );
                    } else if !on_item.insert(g.as_str()) {
                        self.err(
                            gpath,
                            format!("modifier group {g:?} is listed twice on this item"),
                        );
                    }
                }
            }
        }

        let mut seen_groups: HashMap<&str, usize> = HashMap::new();
        let mut option_ids: HashMap<&str, String> = HashMap::new();
        for (gi, g) in m.modifier_groups.iter().enumerate() {
            let gpath = format!("menu.modifier_groups[{gi}]");
            self.slug(&format!("{gpath}.id"), &g.id, "extra-toppings");
            if let Some(first) = seen_groups.get(g.id.as_str()) {
                self.err(
                    format!("{gpath}.id"),
                    format!("duplicate modifier group id {:?} (first used at menu.modifier_groups[{first}])", g.id),
                );
            } else {
                seen_groups.insert(&g.id, gi);
            }
            self.not_blank(format!("{gpath}.name"), &g.name);
            let n = g.options.len();
            if n == 0 {
                self.err(format!("{gpath}.options"), "must list at least one option");
            } else if g.max == 0 {
                self.err(format!("{gpath}.max"), "must be at least 1");
            } else if g.max as usize > n {
                self.err(
                    format!("{gpath}.max"),
                    format!(
                        "is {} but the group has only {n} option{}",
                        g.max,
                        if n == 1 { "" } else { "s" }
                    ),
                );
            }
            if g.min > g.max {
                self.err(
                    format!("{gpath}.min"),
                    format!("must not be more than max ({} > {})", g.min, g.max),
                );
            }
            if let Some(d) = &g.default
                && !g.options.iter().any(|o| &o.id == d)
            {
                self.err(
                    format!("{gpath}.default"),
                    format!("{d:?} is not one of this group's options"),
                );
            }
            for (oi, o) in g.options.iter().enumerate() {
                let opath = format!("{gpath}.options[{oi}]");
                self.slug(&format!("{opath}.id"), &o.id, "extra-cheese");
                if let Some(first) = option_ids.get(o.id.as_str()) {
                    self.err(
                        format!("{opath}.id"),
                        format!(
                            "duplicate option id {:?} (first used at {first}); option ids must be unique across all groups because rules name options by id",
                            o.id
                        ),
                    );
                } else {
                    option_ids.insert(&o.id, opath.clone());
                }
                self.not_blank(format!("{opath}.name"), &o.name);
                self.aliases(&opath, &o.aliases);
                self.amount(format!("{opath}.price_cents"), o.price_cents, true);
            }
        }

        for (ri, rule) in m.rules.iter().enumerate() {
            let rpath = format!("menu.rules[{ri}]");
            let unknown_option =
                |o: &str| format!("unknown option {o:?} (no modifier option has this id)");
            match rule {
                Rule::Requires {
                    option,
                    needs,
                    message,
                } => {
                    if !option_ids.contains_key(option.as_str()) {
                        self.err(format!("{rpath}.option"), unknown_option(option));
                    }
                    if !option_ids.contains_key(needs.as_str()) {
                        self.err(format!("{rpath}.needs"), unknown_option(needs));
                    } else if option == needs {
                        self.err(format!("{rpath}.needs"), "an option cannot require itself");
                    }
                    self.not_blank(format!("{rpath}.message"), message);
                }
                Rule::UnavailableWith {
                    option,
                    items,
                    message,
                } => {
                    if !option_ids.contains_key(option.as_str()) {
                        self.err(format!("{rpath}.option"), unknown_option(option));
                    }
                    if items.is_empty() {
                        self.err(format!("{rpath}.items"), "must list at least one item id");
                    }
                    self.cap(&format!("{rpath}.items"), "items", items.len(), MAX_ITEMS);
                    for (k, id) in items.iter().enumerate() {
                        if !item_ids.contains_key(id.as_str()) {
                            self.err(
                                format!("{rpath}.items[{k}]"),
                                format!("unknown item {id:?} (no menu item has this id)"),
                            );
                        }
                    }
                    self.not_blank(format!("{rpath}.message"), message);
                }
            }
        }
    }

    fn slug(&mut self, path: &str, id: &str, example: &str) {
        if !is_slug(id) {
            self.err(
                path,
                format!("{id:?} is not a valid id: use 1-64 lower-case letters, digits and single dashes, like {example:?}"),
            );
        }
    }
}

/// A postal code outside the US: 3-10 characters of letters, digits, spaces and dashes,
/// beginning and ending with a letter or digit ("SW1A 1AA", "75001", "K1A-0B1").
fn postal_code(s: &str) -> bool {
    (3..=10).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

// ---------------------------------------------------------------------------------------------
// Clock times.

impl ClockTime {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: ClockTime = ClockTime { minutes: 0 };
    /// "24:00": the end of the day, only meaningful as a closing time.
    pub const END_OF_DAY: ClockTime = ClockTime { minutes: 24 * 60 };

    /// "HH:MM" (or "H:MM"), 00:00-23:59, or "24:00" (end of day).
    pub fn parse(s: &str) -> Option<ClockTime> {
        let (h, m) = s.split_once(':')?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !(1..=2).contains(&h.len()) || m.len() != 2 || !digits(h) || !digits(m) {
            return None;
        }
        let h: u16 = h.parse().ok()?;
        let m: u16 = m.parse().ok()?;
        if (h < 24 && m < 60) || (h == 24 && m == 0) {
            Some(ClockTime {
                minutes: h * 60 + m,
            })
        } else {
            None
        }
    }

    /// Hour of the day, 0-24.
    pub fn hour(self) -> u16 {
        self.minutes / 60
    }

    /// Minute of the hour, 0-59.
    pub fn minute(self) -> u16 {
        self.minutes % 60
    }
}

impl HoursRange {
    /// How long the range lasts in wall-clock minutes, 1 to 1440: `close` at or before `open`
    /// runs into the next day, so `open == close` is a full 24 hours.
    pub fn length_minutes(&self) -> u16 {
        let (open, close) = (self.open.minutes % 1440, self.close.minutes);
        if close > open {
            close - open
        } else {
            close + 1440 - open
        }
    }

    /// Whether the range runs past midnight into the next day (24-hour ranges included, except
    /// 00:00 to 24:00 / 00:00, which ends exactly at midnight).
    pub fn is_overnight(&self) -> bool {
        u32::from(self.open.minutes) + u32::from(self.length_minutes()) > 1440
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
            de::Error::custom(format!(
                "{s:?} is not a time of day as \"HH:MM\" (00:00-24:00)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times() {
        assert_eq!(ClockTime::parse("00:00"), Some(ClockTime::MIDNIGHT));
        assert_eq!(ClockTime::parse("9:30").map(|t| t.minutes), Some(570));
        assert_eq!(ClockTime::parse("24:00"), Some(ClockTime::END_OF_DAY));
        for bad in [
            "", "24:01", "12:60", "+1:00", "1:5", "123:00", "ab:cd", "12-00", "12:00:00",
        ] {
            assert_eq!(ClockTime::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn range_lengths() {
        let r = |o: &str, c: &str| HoursRange {
            days: vec![Day::Mon],
            open: ClockTime::parse(o).unwrap_or(ClockTime::MIDNIGHT),
            close: ClockTime::parse(c).unwrap_or(ClockTime::MIDNIGHT),
        };
        assert_eq!(r("10:00", "21:00").length_minutes(), 660);
        assert_eq!(r("11:00", "01:00").length_minutes(), 840);
        assert!(r("11:00", "01:00").is_overnight());
        assert_eq!(r("10:00", "10:00").length_minutes(), 1440);
        assert!(r("10:00", "10:00").is_overnight());
        assert_eq!(r("00:00", "00:00").length_minutes(), 1440);
        assert!(!r("00:00", "00:00").is_overnight());
        assert_eq!(r("00:00", "24:00").length_minutes(), 1440);
        assert_eq!(r("18:00", "24:00").length_minutes(), 360);
        assert!(!r("18:00", "24:00").is_overnight());
    }

    #[test]
    fn structural_messages_are_for_owners() {
        let e = structural_error(
            "business".into(),
            "unknown field `colour`, expected one of `name`, `address`",
        );
        assert_eq!(e.path, "business.colour");
        assert_eq!(
            e.message,
            "unknown field \"colour\", expected one of \"name\", \"address\""
        );
        let e = structural_error("".into(), "missing field `menu`");
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("menu", "is required")
        );
        let e = structural_error(
            "x".into(),
            "invalid type: string \"a\", expected struct Menu",
        );
        assert_eq!(e.message, "invalid type: string \"a\", expected an object");
        let e = structural_error(
            "x".into(),
            "invalid type: floating point `4.5`, expected i64",
        );
        assert_eq!(
            e.message,
            "invalid type: floating point 4.5, expected a whole number"
        );
    }

    #[test]
    fn postal_codes() {
        for ok in ["SW1A 1AA", "75001", "K1A-0B1", "110"] {
            assert!(postal_code(ok), "{ok}");
        }
        for bad in ["", "12", " 123", "123 ", "12345678901", "12_34", "ab/cd"] {
            assert!(!postal_code(bad), "{bad}");
        }
    }
}
