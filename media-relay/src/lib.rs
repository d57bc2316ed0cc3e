//! `media-relay`: bridges Twilio Media Streams to a voice agent (Deepgram Voice Agent v1).
//!
//! Twilio opens one WebSocket per call on `/twilio/media`; the relay checks the signed stream
//! token from the TwiML `<Parameter>`s, fetches the business's agent configuration from the
//! functions, opens the agent's WebSocket and passes µ-law 8 kHz audio through untouched in both
//! directions. Function calls from the agent go to the same tool endpoints Vapi uses; DTMF `0`
//! or the transfer function hands the caller to the restaurant through Twilio's REST API. When
//! either side ends, the other is closed and the call's usage is posted to the functions.
//!
//! Map of the crate (one file per concept, as in mini-redis):
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | the command line (`serve`, `bench`), the environment secrets, `--help` |
//! | [`config`] | what a running relay needs: endpoints, secrets, limits, agent model choices |
//! | [`server`] | the listener, `/healthz`, `/metrics`, the WebSocket upgrade and its signature, the call cap, drain |
//! | `pending` | sockets upgraded but not yet past a verified `start`: their own cap, oldest evicted |
//! | `seen` | call SIDs streamed within their token's lifetime: a replayed token is refused |
//! | [`call`] | one call from Twilio's `start` to the usage report: the only home of per-call state |
//! | [`twilio`] | Media Streams frames: borrowed parsing of what arrives, reused buffers for what leaves |
//! | [`agent`] | Deepgram Voice Agent messages, the `Settings` built from an `AgentConfig`, connecting |
//! | [`functions`] | the functions client: agent configuration, Vapi-shaped tool calls, usage reports |
//! | [`transfer`] | handing a call to the restaurant's staff line through Twilio's REST API |
//! | [`metrics`] | the Prometheus registry and the per-call counters folded into it |
//! | [`shutdown`] | the two-step stop: drain (no new calls), then end the calls still running |
//! | [`bench`] | the load tool: N paced calls against a relay child process, with figures |
//! | [`audio`] | G.711 and resampling for agents that want linear PCM (passthrough never uses it) |
//!
//! Design rules, and why:
//! - One task per call drives both sockets with `tokio::select!`: nothing about a call lives
//!   outside that task, and there is no channel in the audio path to grow. The kernel socket
//!   buffers are the only queues; a write that cannot finish within `--write-timeout` ends the
//!   call with a log line instead of buffering.
//! - Small WebSocket buffers, reused encode/decode buffers, borrowed JSON parsing and boxed
//!   one-off phases keep a passthrough call at 15–20 KB of memory (`media-relay bench`).
//! - Counters are kept per call and folded into the shared metrics once per tick, so the
//!   50-frames-a-second path touches no shared cache line.

pub mod agent;
pub mod audio;
pub mod bench;
pub mod call;
pub mod cli;
pub mod config;
pub mod functions;
pub mod metrics;
pub(crate) mod pending;
pub(crate) mod seen;
pub mod server;
pub mod shutdown;
pub mod transfer;
pub mod twilio;

pub use config::{AgentAudio, AgentOptions, Config, Limits, Secrets};
pub use server::{RunningRelay, start};
