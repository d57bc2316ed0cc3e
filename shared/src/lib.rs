//! `hostline-shared`: the restaurant domain, the wire types of the platforms we talk to, and the
//! ports the function handlers use. Everything here is plain data and plain functions: no Spin,
//! no Lambda, no tokio, no files, no clock reads (time is always passed in).
//!
//! Map of the crate:
//! - [`ids`], [`phone`], [`money`], [`tz`]: validated value types ("parse, don't validate").
//! - [`restaurant`]: the `hostline.restaurant/v1` document, parsed with errors that name the
//!   JSON path of the offending field.
//! - [`hours`]: open now / opens next / closes at, in the restaurant's time zone.
//! - [`knowledge`]: the search index built when a restaurant is saved and loaded in one read per
//!   request; matches spoken queries despite speech-recognition errors.
//! - [`vapi`]: tolerant parsing of Vapi server messages and the responses we send back.
//! - [`store`]: the storage port (get / put / delete / list / compare-and-swap) and an
//!   in-memory implementation with the contract suite every implementation must pass.
//! - [`http`]: the plain request/response types handlers take and return, and JSON errors.
//! - [`api`]: the handler prelude: the typed principal, one error type that becomes the
//!   response and is logged once, and the path router.
//! - [`blob`]: the blob port beside the store (transcripts), kept in the key-value store
//!   by the runner and Spin, and its contract suite.
//! - [`audit`]: who changed what in a business, newest first.
//! - [`auth`]: secret comparison for webhooks; owner and staff accounts, access tokens (JWT),
//!   refresh rotation, password and PIN hashing, opaque tokens kept as digests.
//! - [`credential`]: the per-business, per-line tool credential the tool and event routes
//!   take the tenant from; [`signed`]: the signed-claims format behind it and the stream token.
//! - [`tenancy`]: routing a call to its business by the line dialled; the business record and
//!   the published bundle (restaurant + knowledge index) a tool call reads in one go.
//! - [`tools`]: the tool catalog (names and JSON schemas) every voice platform is given.
//! - [`persona`]: the host's greeting and system prompt for one restaurant, for every platform.
//! - [`twilio`]: Twilio webhook forms, `X-Twilio-Signature` validation, the TwiML we answer with.
//! - [`relay`]: the contract with the media relay: the signed stream token, the agent
//!   configuration and the usage report.
//! - [`line_pool`]: the operator's free numbers, taken one at a time at go-live.
//! - [`onboarding`]: the owner wizard's steps as a pure state machine; reading Maps links.
//! - [`orders`]: an order line checked against the menu's rules and priced in integer cents;
//!   a cart's totals (tax rounded once per order) and limits; checkout; the order's
//!   lifecycle (received → accepted → preparing → ready → completed, or cancelled).
//! - [`outbox`]: texts to customers about their orders, each sent once, retried with backoff,
//!   never on a caller's time.
//! - [`printing`]: the kitchen's print-job queue (leases, acknowledgements, reprints) and the
//!   ticket wire types the edge agent renders.
//! - [`outbound`]: the outbound HTTP port (requests to other services) and a scripted client
//!   for tests; [`providers`]: one small client each for Twilio REST, Vapi REST and Places.
//! - [`pii`]: customers' phone numbers as a keyed hash (lookup) and sealed (AES-256-GCM).
//! - [`publish`]: importing a restaurant with one commit point (stage revisioned content,
//!   compare-and-swap the business record), pending line claims, and the committed readers.
//! - [`call_log`]: Vapi call events merged into one log entry per call (idempotent, order-free).
//! - [`calls`]: Twilio call and account SIDs (one validation rule) and the per-call record.
//! - [`settings`]: the settings port (secrets, service URLs) every platform implements.
//! - [`speech`]: turning values into single-line speakable text ("$5.50", "10:30 PM").

pub mod api;
pub mod audit;
pub mod auth;
pub mod blob;
mod bounded;
pub mod call_log;
pub mod calls;
pub mod cloudprnt;
pub mod credential;
pub mod hours;
pub mod http;
pub mod ids;
pub mod knowledge;
pub mod line_pool;
pub mod money;
pub mod onboarding;
pub mod orders;
pub mod outbound;
pub mod outbox;
pub mod persona;
pub mod phone;
pub mod pii;
pub mod printing;
pub mod providers;
pub mod publish;
pub mod relay;
pub mod restaurant;
pub mod settings;
pub mod signed;
pub mod speech;
pub mod store;
pub mod tenancy;
pub mod ticket_layout;
pub mod tools;
pub mod twilio;
pub mod tz;
pub mod vapi;
