//! The staged cart of one call: a line is staged and read back, and enters the cart only when
//! the caller confirms it; fulfilment (pickup, or delivery to a zone by zip) and the caller's
//! phone are set on it; checkout turns it into an order ([`super::checkout`]). Pure state: the
//! storage side (one record per call, compare-and-swap, repeated tool calls) is in
//! [`super::checkout`].

use super::line::CartLine;
use super::totals::{CartRefusal, Totals, check_cart, totals};
use crate::call_log::Caller;
use crate::money::Cents;
use crate::restaurant::Restaurant;
use serde::{Deserialize, Serialize};

/// How long an untouched cart is kept (a call is far shorter).
pub const CART_TTL_SECONDS: i64 = 6 * 60 * 60;
/// Answers kept for repeated tool calls (per cart).
pub const REMEMBERED_ANSWERS: usize = 64;

/// Pickup, or delivery to a zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fulfillment {
    Pickup,
    Delivery {
        /// What the caller gave (a zip, or an address ending in one).
        address: String,
        zip: String,
        zone: String,
        fee_cents: Cents,
        min_order_cents: Cents,
    },
}

/// One tool call's answer, kept so the same `toolCallId` delivered again gets it back
/// without being applied twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    pub tool_call_id: String,
    pub answer: String,
}

/// One call's cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub call_id: String,
    /// The line read back and waiting for the caller's yes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<CartLine>,
    #[serde(default)]
    pub lines: Vec<CartLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<Fulfillment>,
    /// When the order is wanted (`None`: as soon as it is ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted_at: Option<jiff::Timestamp>,
    /// The number texts go to, hashed and sealed ([`crate::pii`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Caller>,
    #[serde(default)]
    pub answers: Vec<Answered>,
    /// The order this cart became (then it takes no more changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

impl Cart {
    pub fn new(call_id: &str, now: jiff::Timestamp) -> Cart {
        Cart {
            call_id: call_id.to_owned(),
            pending: None,
            lines: Vec::new(),
            fulfillment: None,
            wanted_at: None,
            phone: None,
            answers: Vec::new(),
            order_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn expired(&self, now: jiff::Timestamp) -> bool {
        now.as_second() - self.updated_at.as_second() >= CART_TTL_SECONDS
    }

    /// The answer already given to `tool_call_id`, if any.
    pub fn answered(&self, tool_call_id: &str) -> Option<&str> {
        self.answers
            .iter()
            .find(|a| a.tool_call_id == tool_call_id)
            .map(|a| a.answer.as_str())
    }

    /// Remember `answer` for `tool_call_id` (the oldest is forgotten past the limit).
    pub fn remember(&mut self, tool_call_id: &str, answer: &str) {
        if self.answered(tool_call_id).is_some() {
            return;
        }
        self.answers.push(Answered {
            tool_call_id: tool_call_id.to_owned(),
            answer: answer.to_owned(),
        });
        if self.answers.len() > REMEMBERED_ANSWERS {
            self.answers.remove(0);
        }
    }

    /// Stage `line` (replacing any line still waiting) and say it back.
    pub fn stage(&mut self, line: CartLine) -> String {
        let s = format!("That's {}. Shall I add it to your order?", line.read_back());
        self.pending = Some(line);
        s
    }

    /// The caller said yes: the staged line joins the cart.
    pub fn confirm_pending(&mut self, r: &Restaurant) -> Result<String, String> {
        let Some(line) = self.pending.take() else {
            return Err("There's nothing waiting to be added. What would you like?".into());
        };
        if let Err(e) = check_cart(r, &self.lines, &line) {
            let s = e.sentence();
            self.pending = Some(line);
            return Err(s);
        }
        let said = line.read_back();
        self.lines.push(line);
        Ok(format!("Added {said}. {} Anything else?", self.summary(r)))
    }

    pub fn clear_pending(&mut self) -> String {
        match self.pending.take() {
            Some(l) => format!("Okay, I won't add the {}.", l.name),
            None => "Okay.".into(),
        }
    }

    /// Remove the line at `index` (1-based, as the caller hears the cart read).
    pub fn remove(&mut self, r: &Restaurant, index: usize) -> Result<String, String> {
        if index == 0 || index > self.lines.len() {
            return Err(format!(
                "There's no item {index} in your order; it has {} {}.",
                self.lines.len(),
                if self.lines.len() == 1 {
                    "item"
                } else {
                    "items"
                }
            ));
        }
        let gone = self.lines.remove(index - 1);
        Ok(format!("Removed the {}. {}", gone.name, self.summary(r)))
    }

    /// The items in the cart.
    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    /// The cart's money so far, with the delivery fee once delivery is chosen.
    pub fn totals(&self, r: &Restaurant) -> Option<Totals> {
        let fee = match &self.fulfillment {
            Some(Fulfillment::Delivery { fee_cents, .. }) => *fee_cents,
            _ => Cents::ZERO,
        };
        totals(r, &self.lines, fee)
    }

    /// "Your order so far: 3 items, $41.50 before tax."
    pub fn summary(&self, r: &Restaurant) -> String {
        let n = self.item_count();
        let sub = self
            .totals(r)
            .map(|t| t.subtotal_cents)
            .unwrap_or(Cents::ZERO);
        format!(
            "Your order so far: {n} {}, {} before tax.",
            if n == 1 { "item" } else { "items" },
            sub.spoken()
        )
    }

    /// The cart read out, line by line.
    pub fn view(&self, r: &Restaurant) -> String {
        if self.lines.is_empty() {
            return match &self.pending {
                Some(p) => format!(
                    "Your order is empty so far; {} is waiting for your okay.",
                    p.read_back()
                ),
                None => "Your order is empty so far.".into(),
            };
        }
        let lines: Vec<String> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}: {}", i + 1, l.read_back()))
            .collect();
        let mut s = format!("{}. ", lines.join("; "));
        match self.totals(r) {
            Some(t) => s.push_str(&format!("That's {}", t.spoken())),
            None => s.push_str(&self.summary(r)),
        }
        s
    }

    /// Pickup, if the restaurant offers it.
    pub fn set_pickup(&mut self, r: &Restaurant) -> Result<String, String> {
        if !r.fulfillment.pickup {
            return Err("Sorry, we only deliver; what's the delivery address or zip code?".into());
        }
        self.fulfillment = Some(Fulfillment::Pickup);
        Ok(format!(
            "Pickup it is; it'll be ready about {} minutes after you order.",
            r.fulfillment.prep_minutes
        ))
    }

    /// Delivery to the zone whose zips include the one in `address` (a zip, or an address
    /// ending in one).
    pub fn set_delivery(&mut self, r: &Restaurant, address: &str) -> Result<String, String> {
        if !r.fulfillment.delivery {
            return Err("Sorry, we don't deliver; the order can be picked up.".into());
        }
        let Some(zip) = zip_in(address) else {
            return Err("What's the zip code for the delivery?".into());
        };
        let Some(zone) = r.delivery.zones.iter().find(|z| z.zips.contains(&zip)) else {
            return Err(format!(
                "Sorry, we don't deliver to {}; the order can be picked up instead.",
                spell_zip(&zip)
            ));
        };
        self.fulfillment = Some(Fulfillment::Delivery {
            address: address.trim().chars().take(200).collect(),
            zip: zip.clone(),
            zone: zone.name.clone(),
            fee_cents: zone.fee_cents,
            min_order_cents: zone.min_order_cents,
        });
        let minutes = r
            .fulfillment
            .delivery_minutes
            .unwrap_or(r.fulfillment.prep_minutes);
        let minimum = if zone.min_order_cents > Cents::ZERO {
            format!(", with a {} minimum", zone.min_order_cents.spoken())
        } else {
            String::new()
        };
        Ok(format!(
            "We deliver there: the delivery fee is {}{minimum}, and it takes about {minutes} minutes.",
            zone.fee_cents.spoken()
        ))
    }

    /// What still stops checkout, as the sentence to say (`None`: ready).
    pub fn not_ready(&self, r: &Restaurant) -> Option<String> {
        if self.lines.is_empty() {
            return Some(match &self.pending {
                Some(_) => "Shall I add the item I read back first?".into(),
                None => "The order is empty; what would you like?".into(),
            });
        }
        let Some(f) = &self.fulfillment else {
            return Some("Is this for pickup or delivery?".into());
        };
        if let Fulfillment::Delivery {
            min_order_cents, ..
        } = f
        {
            let sub = self
                .totals(r)
                .map(|t| t.subtotal_cents)
                .unwrap_or(Cents::ZERO);
            if sub < *min_order_cents {
                return Some(format!(
                    "Delivery there needs at least {} before tax; the order is {}.",
                    min_order_cents.spoken(),
                    sub.spoken()
                ));
            }
        }
        None
    }
}

/// The zip in what the caller said: the last run of exactly five digits.
fn zip_in(s: &str) -> Option<String> {
    s.split(|c: char| !c.is_ascii_digit())
        .rfind(|w| w.len() == 5)
        .map(str::to_owned)
}

/// "6 0 6 0 7", so a zip is read digit by digit.
fn spell_zip(zip: &str) -> String {
    zip.chars().map(String::from).collect::<Vec<_>>().join(" ")
}

impl From<CartRefusal> for String {
    fn from(e: CartRefusal) -> String {
        e.sentence()
    }
}
