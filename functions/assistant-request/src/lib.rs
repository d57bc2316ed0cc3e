//! `POST /vapi/assistant-request`: Vapi asks which assistant should answer a call; we find the
//! restaurant by the number dialled and answer with an inline assistant built from its profile.
//!
//! - [`handler`]: parse → authorize → route by line → load → reply (platform-free, tested natively);
//! - [`assistant`]: the assistant JSON (greeting, system prompt, tools, server URLs, metadata);
//! - `component` (wasm32 only): the Spin entry point, a thin shell around [`handler::handle`].

pub mod assistant;
pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
