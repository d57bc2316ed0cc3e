//! Black-box tests of the relay over real sockets on 127.0.0.1: a fake Twilio client, a fake
//! voice agent and fake functions (also a fake Twilio REST API), all in this process. Tests
//! run on tokio's current-thread runtime unless they say otherwise, so log capture sees every
//! task. Limits are shortened per test instead of sleeping through the real ones.

mod calls;
mod linear16;
mod rejects;
mod server;
mod support;
