//! `POST /vapi/events`: the call events Vapi sends for every call of an assistant we returned
//! (`status-update`, `end-of-call-report`, `hang`), recorded in the call log of the business the
//! assistant's credential names, with the transcript, and the call's seconds charged once.
//! Owners read the log through the owner API (`GET /api/v1/businesses/{id}/calls`), which shares
//! `hostline_shared::call_log` with this function.
//!
//! - [`handler`]: parse → authorize (the per-business tool credential) → record → `200 {}`;
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
