//! The AWS adapter: the platform side of running Hostline's functions on Lambda. It owns the
//! [`Store`](hostline_shared::store::Store) port over one DynamoDB table ([`DynamoStore`]), the
//! [`Blobs`](hostline_shared::blob::Blobs) port over one S3 bucket ([`S3Blobs`]), and the SDK
//! configuration both are built from ([`config_loader`]). No restaurant logic lives here; the
//! Lambda entry points (lambda_http, one binary per function) come in a later slice.
//!
//! Clients are created once per process (a Lambda cold start) and borrowed by every request:
//! an SDK client holds the connection pool and the credential cache.

mod config;
mod dynamo;
mod s3;

pub use config::{config_loader, dynamo_client, s3_client};
pub use dynamo::{DynamoStore, attr, split_key};
pub use s3::S3Blobs;
