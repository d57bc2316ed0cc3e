//! `/api/v1/onboarding/...`: the owner's wizard, from a Maps link to a live phone line. The
//! order of the steps and their limits are `hostline_shared::onboarding` (a pure state
//! machine); this function stores the wizard, authorises each step, and talks to Twilio, Vapi
//! and Places through `hostline_shared::providers`.
//!
//! - [`handler`]: the routes;
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
