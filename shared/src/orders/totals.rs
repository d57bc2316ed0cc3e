//! A cart's money and its order-wide limits. Integer cents throughout: the subtotal is the sum
//! of the lines; tax is the subtotal times the restaurant's rate in basis points, rounded half
//! away from zero once for the whole order (never per line, so lines cannot round up one by
//! one); the delivery fee is added after tax, untaxed; the total is their sum.

use super::line::CartLine;
use crate::money::Cents;
use crate::restaurant::Restaurant;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal_cents: Cents,
    pub tax_cents: Cents,
    pub delivery_fee_cents: Cents,
    pub total_cents: Cents,
}

impl Totals {
    /// "$30.00 plus $3.23 tax and a $4.99 delivery fee: $38.22 in all."
    pub fn spoken(&self) -> String {
        let fee = if self.delivery_fee_cents == Cents::ZERO {
            String::new()
        } else {
            format!(" and a {} delivery fee", self.delivery_fee_cents.spoken())
        };
        format!(
            "{} plus {} tax{fee}: {} in all.",
            self.subtotal_cents.spoken(),
            self.tax_cents.spoken(),
            self.total_cents.spoken()
        )
    }
}

/// The totals of `lines` at the restaurant's tax rate, with `delivery_fee`. `None` only if the
/// sums overflow, which no real order does.
pub fn totals(r: &Restaurant, lines: &[CartLine], delivery_fee: Cents) -> Option<Totals> {
    let subtotal = lines
        .iter()
        .try_fold(Cents::ZERO, |acc, l| acc.checked_add(l.line_cents))?;
    let tax = subtotal.apply_bps(r.business.tax_rate_bps);
    let total = subtotal.checked_add(tax)?.checked_add(delivery_fee)?;
    Some(Totals {
        subtotal_cents: subtotal,
        tax_cents: tax,
        delivery_fee_cents: delivery_fee,
        total_cents: total,
    })
}

/// Why the cart as a whole cannot take a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartRefusal {
    TooManyItems { max: u32, already: u32 },
}

impl CartRefusal {
    pub fn sentence(&self) -> String {
        match self {
            CartRefusal::TooManyItems { max, already } => format!(
                "An order can have up to {max} items, and this one has {already}; I can't add that many more."
            ),
        }
    }
}

/// Whether `adding` may join `lines` under the restaurant's `max_items_per_order`.
pub fn check_cart(
    r: &Restaurant,
    lines: &[CartLine],
    adding: &CartLine,
) -> Result<(), CartRefusal> {
    let Some(max) = r.business.limits.max_items_per_order else {
        return Ok(());
    };
    let already: u32 = lines.iter().map(|l| l.quantity).sum();
    if already.saturating_add(adding.quantity) > max {
        return Err(CartRefusal::TooManyItems { max, already });
    }
    Ok(())
}
