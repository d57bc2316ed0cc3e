//! `POST /vapi/orders`: the order tools a voice agent calls during a call — stage a line and
//! read it back, confirm it into the cart, change or drop it, remove a line, read the cart,
//! choose pickup or delivery, check out, and ask after an order. The rules, money and the
//! cart record are `hostline_shared::orders`; this function finds what the caller named with
//! the same speech-tolerant search as the knowledge tools and says every answer as a sentence.
//!
//! - [`handler`]: parse → authorize (the per-business tool credential) → one answer per tool
//!   call (always 200, as Vapi reads results aloud);
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
