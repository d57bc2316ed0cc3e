//! Orders: the domain the order tools stand on, as plain functions over the restaurant
//! document (no storage, no clock reads).
//!
//! - [`line`]: one order line checked against the menu's rules — the item exists and is not
//!   86'd, every option belongs to one of the item's groups, each group's min/max (defaults
//!   applied when the caller said nothing; a required choice without a default is asked for,
//!   never guessed), `requires` and `unavailable_with` rules, quantity bounds — each refusal a
//!   sentence for the voice agent to say; and the line priced in integer cents.
//! - [`cart`]: one call's staged cart — a line is read back and enters only on the caller's
//!   yes; pickup or delivery (zone by zip, its fee and minimum); what still stops checkout.
//! - [`checkout`]: the cart record (compare-and-swap, a repeated tool call answered with its
//!   first answer) and checkout, which places one order per call with a short number unique per
//!   business per day, safe to retry after a crash at any step.
//! - [`totals`]: a cart's subtotal, tax (basis points, rounded half-up once per order),
//!   delivery fee and total, and the order-wide limits (`max_items_per_order`).
//! - [`schedule`]: "as soon as possible" or a time later today, checked against the kitchen's
//!   lead time and the opening hours.
//! - [`lifecycle`]: received → accepted → preparing → ready → completed (or cancelled), each
//!   change by compare-and-swap against the version the person saw; accepting queues the
//!   order's print jobs ([`crate::printing`]).

pub mod cart;
pub mod checkout;
pub mod lifecycle;
pub mod line;
pub mod schedule;
pub mod totals;

pub use cart::{Cart, Fulfillment};
pub use checkout::{
    Channel, Checkout, Order, OrderStatus, Placement, Via, checkout, checkout_with, with_cart,
};
pub use lifecycle::{Move, MoveRefused, Shop, change_status};
pub use line::{CartLine, ChosenOption, LineRefusal, LineRequest, check_line};
pub use totals::{CartRefusal, Totals, check_cart, totals};
