//! The restaurant document `hostline.restaurant/v1`: what an owner (or the onboarding wizard)
//! imports and exports. [`Restaurant::parse`] is the only way in from outside: it rejects unknown
//! fields, duplicate ids, dangling references, negative item prices and bad hours, and every
//! error names the JSON path of the field at fault (`menu.categories[0].items[3].price_cents`).
//!
//! The types below are the validated document: a `Restaurant` value that exists obeys every rule
//! in `parse.rs`. Serializing one gives back a valid document (export).

mod parse;

pub use parse::DocError;

use crate::money::Cents;
use crate::phone::PhoneE164;
use crate::tz::TimeZoneName;
use serde::{Deserialize, Serialize};

/// The `format` marker every document carries.
pub const FORMAT_V1: &str = "hostline.restaurant/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restaurant {
    /// Always [`FORMAT_V1`].
    pub format: String,
    pub business: BusinessProfile,
    #[serde(default)]
    pub hours: Vec<HoursRange>,
    #[serde(default)]
    pub closures: Vec<Closure>,
    pub fulfillment: Fulfillment,
    #[serde(default, skip_serializing_if = "Delivery::is_empty")]
    pub delivery: Delivery,
    pub menu: Menu,
    #[serde(default)]
    pub faq: Vec<Faq>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessProfile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    pub timezone: TimeZoneName,
    /// ISO 4217, upper case ("USD").
    pub currency: String,
    /// Sales tax in basis points: 875 = 8.75 %.
    pub tax_rate_bps: u32,
    pub address: String,
    /// ISO 3166-1 alpha-2. Our extension to the format: the default country for phone numbers
    /// written without a country code. When absent it is inferred from the currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default)]
    pub phone_lines: Vec<PhoneLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneLine {
    /// Canonical E.164 after parsing (documents may write a human form; see `parse.rs`).
    pub e164: PhoneE164,
    pub label: String,
    #[serde(default)]
    pub priority: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items_per_order: Option<u32>,
}

impl Limits {
    fn is_empty(&self) -> bool {
        self.max_items_per_order.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    pub fn from_jiff(w: jiff::civil::Weekday) -> Day {
        use jiff::civil::Weekday as W;
        match w {
            W::Monday => Day::Mon,
            W::Tuesday => Day::Tue,
            W::Wednesday => Day::Wed,
            W::Thursday => Day::Thu,
            W::Friday => Day::Fri,
            W::Saturday => Day::Sat,
            W::Sunday => Day::Sun,
        }
    }

    /// "Monday" …, for speech.
    pub fn name(self) -> &'static str {
        match self {
            Day::Mon => "Monday",
            Day::Tue => "Tuesday",
            Day::Wed => "Wednesday",
            Day::Thu => "Thursday",
            Day::Fri => "Friday",
            Day::Sat => "Saturday",
            Day::Sun => "Sunday",
        }
    }
}

/// A local wall-clock time of day, "HH:MM", 00:00 to 23:59 (and "24:00" as a closing time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    /// Minutes since local midnight, 0..=1440.
    pub minutes: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursRange {
    pub days: Vec<Day>,
    pub open: ClockTime,
    /// Earlier than (or equal to) `open` means the range runs past midnight into the next day.
    pub close: ClockTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub date: jiff::civil::Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fulfillment {
    pub pickup: bool,
    pub delivery: bool,
    pub prep_minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_minutes: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    #[serde(default)]
    pub zones: Vec<DeliveryZone>,
}

impl Delivery {
    fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryZone {
    pub name: String,
    pub zips: Vec<String>,
    pub fee_cents: Cents,
    pub min_order_cents: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    #[serde(default)]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub modifier_groups: Vec<ModifierGroup>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    #[serde(default)]
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Never negative (checked by `parse`).
    pub price_cents: Cents,
    #[serde(default)]
    pub description: String,
    /// Ids of entries in `menu.modifier_groups`; every one exists (checked by `parse`).
    #[serde(default)]
    pub modifier_groups: Vec<String>,
    /// `false` = 86'd: known, but not orderable right now.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifierGroup {
    pub id: String,
    pub name: String,
    pub min: u32,
    pub max: u32,
    /// An option id applied when the caller says nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    pub options: Vec<ModifierOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifierOption {
    pub id: String,
    pub name: String,
    /// May be negative (a smaller size).
    pub price_cents: Cents,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// Choosing `option` needs `needs` on the same line.
    Requires {
        option: String,
        needs: String,
        message: String,
    },
    /// `option` may not be chosen on any of `items`.
    UnavailableWith {
        option: String,
        items: Vec<String>,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    pub q: String,
    pub a: String,
}

impl Restaurant {
    /// Every item with its category name, in document order.
    pub fn items(&self) -> impl Iterator<Item = (&Category, &Item)> {
        self.menu
            .categories
            .iter()
            .flat_map(|c| c.items.iter().map(move |i| (c, i)))
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().map(|(_, i)| i).find(|i| i.id == id)
    }

    pub fn modifier_group(&self, id: &str) -> Option<&ModifierGroup> {
        self.menu.modifier_groups.iter().find(|g| g.id == id)
    }
}
