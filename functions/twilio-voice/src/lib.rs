//! The Twilio side of a call, and what the media relay needs from the functions.
//!
//! | route | caller, auth | does |
//! |---|---|---|
//! | `POST /twilio/voice` | Twilio, `X-Twilio-Signature` | TwiML: connect the call to the media relay, or refuse it |
//! | `POST /twilio/status` | Twilio, `X-Twilio-Signature` | record call status callbacks |
//! | `GET /internal/agent-config/{business_id}` | media relay, `Bearer <service_token>` + stream token | the voice agent's configuration and tool credential, once per call |
//! | `POST /internal/usage` | media relay, `Bearer <service_token>` + stream token | record a finished call's usage, charge prepaid seconds once |
//!
//! - [`handler`]: routing and authorisation;
//! - [`voice`]: the voice webhook and status callbacks;
//! - [`internal`]: the relay's routes;
//! - the per-call record both sides update is `hostline_shared::calls`;
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;
pub mod internal;
pub mod voice;

#[cfg(target_arch = "wasm32")]
mod component;
