//! The owner API, first slice: `/api/v1/...` routes to import and export a restaurant document
//! and to switch a business on or off. Authorised by the operator's `admin_token` (Bearer) until
//! owner accounts land.
//!
//! - [`handler`]: routing and authorisation;
//! - [`import`]: saving a document: claiming lines in the global index without ever taking a
//!   line from another business, then writing the document, its knowledge index and the record;
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;
pub mod import;

#[cfg(target_arch = "wasm32")]
mod component;
