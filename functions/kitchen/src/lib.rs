//! `hostline-kitchen`: the kitchen display, a page for a wall screen.
//!
//! `GET /kitchen/{business_id}` serves one page (with its script and style under
//! `/kitchen/assets/`); everything it shows comes from the staff orders API in the browser:
//! staff sign in with their phone and PIN (`/api/v1/auth/staff-login`), the page polls
//! `/api/v1/businesses/{id}/orders` and `/print-jobs` every two seconds with `If-None-Match`
//! (an unchanged list is a 304 with no body), shows the live orders by status in large type,
//! bumps an order to its next status naming the version it shows, and warns when tickets are
//! not being printed. A serverless function cannot hold a stream open, so polling with ETags
//! is the update channel.
//!
//! - [`handler`]: the routes (static assets, each with an ETag, revalidated by the browser);
//! - `component` (wasm32 only): the Spin entry point.

pub mod handler;

#[cfg(target_arch = "wasm32")]
mod component;
