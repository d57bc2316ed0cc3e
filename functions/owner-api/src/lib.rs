//! The owner API, first slice: `/api/v1/...` routes to import and export a restaurant document
//! and to switch a business on or off. Authorised by the operator's `admin_token` (Bearer) until
//! owner accounts land.
//!
//! - [`handler`]: routing and authorisation;
//!   (importing itself is `hostline_shared::publish`: one commit point for the document, its
//!   knowledge bundle and the lines);
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
