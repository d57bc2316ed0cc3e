//! The Spin adapter: what turns a function handler into a Spin component. It owns the platform
//! side only — converting spin-sdk requests and responses to `hostline_shared::http`, reading
//! Spin variables, and implementing the [`Store`](hostline_shared::store::Store) port over Spin's
//! key-value interfaces, and the outbound HTTP port over `wasi:http`. No restaurant logic lives
//! here.
//!
//! Storage: plain reads and writes use `spin:key-value@3.0.0` (spin-sdk's `key_value`);
//! compare-and-swap uses `wasi:keyvalue/atomics@0.2.0-draft2`, which Spin backs with the same
//! store. Both open the store labelled [`STORE_LABEL`], which every component lists in its
//! `key_value_stores` in spin.toml.
//!
//! Everything here compiles only for wasm32; on a native build the crate is empty.
#![cfg(target_arch = "wasm32")]

mod bindings {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "hostline:platform/keyvalue-atomics",
        path: "../../wit",
        generate_all,
    });
}

mod http;
mod outbound;
mod store;

pub use http::{read_request, write_response};
pub use outbound::SpinHttp;
pub use store::SpinStore;

use spin_sdk::http::IntoResponse;
use std::future::Future;

/// The key-value store label every component uses.
pub const STORE_LABEL: &str = "default";

/// Read a Spin variable; `None` when it is not defined for this component or is empty.
pub async fn variable(name: &str) -> Option<String> {
    match spin_sdk::variables::get(name).await {
        Ok(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// The settings port over Spin variables: a variable that is not defined for this component
/// reads as empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinSettings;

impl hostline_shared::settings::Settings for SpinSettings {
    async fn get(&self, name: &str) -> String {
        variable(name).await.unwrap_or_default()
    }
}

/// The whole life of a request in a component: read it (bounded), open the store, run the
/// handler, write its response. `component` names the function in logs.
pub async fn run<F, Fut>(
    component: &str,
    req: spin_sdk::http::Request,
    handler: F,
) -> impl IntoResponse
where
    F: FnOnce(hostline_shared::http::Request, SpinStore) -> Fut,
    Fut: Future<Output = hostline_shared::http::Response>,
{
    let req = match read_request(req).await {
        Ok(r) => r,
        Err(resp) => return write_response(resp),
    };
    let store = match SpinStore::open(STORE_LABEL).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{component}: cannot open store {STORE_LABEL:?}: {e}");
            return write_response(hostline_shared::http::Response::internal());
        }
    };
    write_response(handler(req, store).await)
}
