//! The kitchen printer agent: pairs with the cloud once, pulls print jobs into a durable local
//! queue, renders ESC/POS and prints on the restaurant's printers (raw TCP 9100), then
//! acknowledges. A ticket is never lost (the queue is written before anything prints) and
//! never printed twice without saying REPRINT.
//!
//! Modules, one concept each:
//! - [`config`]: the data directory: the pairing credential (0600), printer profiles.
//! - [`cloud`]: the cloud's edge routes (pair, jobs, ack) over HTTP(S).
//! - [`queue`]: the durable job queue (redb) and each job's state.
//! - [`render`]: ticket → ESC/POS bytes, a pure function; [`codepage`]: text → code page.
//! - [`printer`]: one printer over TCP: status bytes, send, the printed confirmation.
//! - [`agent`]: `run`: the poller and one worker per printer.
//! - [`commands`]: the other commands' work (status, test print), kept out of `main`.

pub mod agent;
pub mod cloud;
pub mod codepage;
pub mod commands;
pub mod config;
pub mod printer;
pub mod queue;
pub mod render;
