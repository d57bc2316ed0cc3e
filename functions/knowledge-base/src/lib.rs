//! `POST /vapi/knowledge-base`: the knowledge tools a voice agent calls during a call —
//! `get_menu_info`, `get_modifiers_info`, `get_hours_info`, `get_delivery_info`, `search_faq`.
//!
//! - [`handler`]: parse → authorize → route by the called line → load the published bundle in
//!   one read → answer every call in order (always HTTP 200, one result per call);
//! - [`answers`]: the tools themselves, pure functions from the bundle, the arguments and the
//!   time to one spoken line;
//! - `component` (wasm32 only): the Spin entry point.

pub mod answers;
pub mod delivery;
pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
