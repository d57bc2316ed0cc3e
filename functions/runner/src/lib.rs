//! `hostline-runner`: serves the function collection described by `spin.toml` as real
//! WebAssembly components on wasmtime, with an embedded durable key-value store.
//!
//! Start it in-process with [`start`] and a [`RunnerConfig`]; the returned [`RunningServer`]
//! knows its bound address and stops with [`RunningServer::stop`]. The `hostline` binary is a
//! thin command-line shell around the same call.
//!
//! | module | owns |
//! |---|---|
//! | [`manifest`] | reading and validating `spin.toml` |
//! | [`variables`] | application/component variables, generated local secrets |
//! | [`routes`] | route patterns and most-specific-match routing |
//! | [`store`] | the redb database behind every key-value interface |
//! | [`guest_output`] | guest stdout/stderr as log events with the request's context |
//! | [`host`] | Spin and wasi:keyvalue host interfaces, per-request store state |
//! | [`outbound`] | `allowed_outbound_hosts` enforcement |
//! | [`runtime`] | wasmtime engine, component loading, one request per fresh instance |
//! | [`app`] | dispatch of one request (built-ins, routing, Spin headers, errors) |
//! | [`server`] | start-up, HTTP/1.1 accept loop, graceful shutdown |
//! | [`seed`] | the demo restaurant and the start-up banner |
//! | [`builder`] | running component build commands |
//! | [`files`] | owner-only data directory, database and secrets files |

pub mod app;
pub mod builder;
pub mod files;
pub mod guest_output;
pub mod host;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod runtime;
pub mod seed;
pub mod server;
pub mod store;
pub mod variables;

pub use runtime::EngineOptions;
pub use seed::SeedOutcome;
pub use server::{RunnerConfig, RunningServer, ShutdownHandle, start};
