//! Money is integer cents, always. [`Cents`] is signed because modifier options may lower a
//! price (a small pizza is -$4.00); whether a negative amount is allowed is decided where the
//! amount is used (an item price may not be negative, an option price may).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Mul};

/// An amount of money in the smallest unit of the business's currency.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self` × `bps` / 10 000, rounded half away from zero (how sales tax is usually rounded).
    /// Saturates at the `i64` range instead of wrapping; document amounts are capped far below.
    pub fn apply_bps(self, bps: u32) -> Cents {
        let num = i128::from(self.0) * i128::from(bps);
        let q = num / 10_000;
        let r = num % 10_000;
        let rounded = if r.abs() * 2 >= 10_000 {
            q + num.signum()
        } else {
            q
        };
        Cents(i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX }))
    }

    /// `None` on overflow, for totals built from many lines.
    pub fn checked_add(self, rhs: Cents) -> Option<Cents> {
        self.0.checked_add(rhs.0).map(Cents)
    }

    /// `None` on overflow, for a line price times a quantity.
    pub fn checked_mul(self, rhs: i64) -> Option<Cents> {
        self.0.checked_mul(rhs).map(Cents)
    }

    /// Spoken form in US dollars style: "$5.50", "$14", "minus $4". Single line, no markdown.
    pub fn spoken(self) -> String {
        let sign = if self.0 < 0 { "minus " } else { "" };
        let abs = self.0.unsigned_abs();
        let (d, c) = (abs / 100, abs % 100);
        if c == 0 {
            format!("{sign}${d}")
        } else {
            format!("{sign}${d}.{c:02}")
        }
    }
}

impl fmt::Display for Cents {
    /// Display for receipts and logs: always two decimals ("$14.00", "-$4.00").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, rhs: Cents) -> Cents {
        Cents(self.0 + rhs.0)
    }
}

impl std::iter::Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, |a, b| a + b)
    }
}

impl Mul<i64> for Cents {
    type Output = Cents;
    fn mul(self, rhs: i64) -> Cents {
        Cents(self.0 * rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spoken_forms() {
        assert_eq!(Cents(550).spoken(), "$5.50");
        assert_eq!(Cents(1400).spoken(), "$14");
        assert_eq!(Cents(5).spoken(), "$0.05");
        assert_eq!(Cents(-400).spoken(), "minus $4");
        assert_eq!(Cents(-400).to_string(), "-$4.00");
        assert_eq!(Cents(123456).to_string(), "$1234.56");
    }

    #[test]
    fn tax_rounds_half_away_from_zero() {
        assert_eq!(Cents(1000).apply_bps(875), Cents(88)); // 87.5 -> 88
        assert_eq!(Cents(1000).apply_bps(1025), Cents(103)); // 102.5 -> 103
        assert_eq!(Cents(999).apply_bps(875), Cents(87)); // 87.41 -> 87
        assert_eq!(Cents(-1000).apply_bps(875), Cents(-88));
        assert_eq!(Cents(0).apply_bps(875), Cents(0));
        assert_eq!(Cents(i64::MAX).apply_bps(u32::MAX), Cents(i64::MAX));
        assert_eq!(Cents(i64::MIN).apply_bps(u32::MAX), Cents(i64::MIN));
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Cents(1).checked_add(Cents(2)), Some(Cents(3)));
        assert_eq!(Cents(i64::MAX).checked_add(Cents(1)), None);
        assert_eq!(Cents(550).checked_mul(3), Some(Cents(1650)));
        assert_eq!(Cents(i64::MAX).checked_mul(2), None);
        assert_eq!([Cents(1), Cents(2)].into_iter().sum::<Cents>(), Cents(3));
    }

    proptest! {
        #[test]
        fn tax_is_within_half_a_cent(c in -10_000_000i64..10_000_000, bps in 0u32..5_000) {
            let exact = c as f64 * bps as f64 / 10_000.0;
            let got = Cents(c).apply_bps(bps).0 as f64;
            prop_assert!((got - exact).abs() <= 0.5 + 1e-9);
        }

        #[test]
        fn tax_is_monotonic(a in 0i64..1_000_000, b in 0i64..1_000_000, bps in 0u32..5_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(Cents(lo).apply_bps(bps) <= Cents(hi).apply_bps(bps));
        }

        #[test]
        fn display_round_trips(c in -10_000_000i64..10_000_000) {
            let s = Cents(c).to_string();
            let neg = s.starts_with('-');
            let digits: String = s.chars().filter(|ch| ch.is_ascii_digit()).collect();
            let v: i64 = digits.parse().unwrap();
            prop_assert_eq!(if neg { -v } else { v }, c);
        }
    }
}
