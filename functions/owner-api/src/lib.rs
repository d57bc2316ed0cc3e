//! The owner API: `/api/v1/...` routes for accounts and sessions (owners by email and
//! password, staff by phone and PIN), businesses, restaurant documents, and staff.
//! Authorised by an access token (JWT) whose claims name the businesses and permissions, or by
//! the operator's `admin_token`.
//!
//! - [`handler`]: routing and authorisation, the business routes;
//!   (importing itself is `hostline_shared::publish`: one commit point for the document, its
//!   knowledge bundle and the lines);
//! - `auth_routes`: sign-up, login, refresh, logout, staff login, password change, `me`;
//! - `staff`: a business's staff;
//! - `menu`: item availability (86) without re-importing;
//! - `sections`: hours and closures, fulfillment and delivery zones, FAQ and phone lines, each
//!   changed on its own route and published through the import's commit point;
//! - `devices`: API keys, edge devices and their pairing;
//! - `cloudprnt`: Star CloudPRNT printers (registered, and their protocol on
//!   `/cloudprnt/{token}`) and the edge agent's status reports;
//! - [`openapi`]: the OpenAPI 3.1 document of every route;
//! - `calls`: the call log (recorded by the calls function) and daily usage;
//! - `orders`: the orders the order tools place, moved through their lifecycle by staff,
//!   and the print-job queue the paired edge agents lease and acknowledge;
//! - `component` (wasm32 only): the Spin entry point.

mod auth_routes;
mod calls;
mod cloudprnt;
mod devices;
pub mod handler;
mod menu;
pub mod openapi;
mod orders;
mod sections;
mod staff;

#[cfg(target_arch = "wasm32")]
mod component;
