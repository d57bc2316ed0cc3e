//! The AWS adapter: the platform side of running Hostline's functions on Lambda. It owns the
//! [`Store`](hostline_shared::store::Store) port over one DynamoDB table ([`DynamoStore`]), the
//! [`Blobs`](hostline_shared::blob::Blobs) port over one S3 bucket ([`S3Blobs`]), outbound HTTP
//! ([`NativeHttp`]), settings from the environment ([`EnvSettings`]), the SDK configuration
//! ([`config_loader`]), and the Lambda entry point ([`serve`]) the binaries in `src/bin` (one
//! per function, named as in spin.toml and template.yaml) are made of. No restaurant logic
//! lives here.
//!
//! Clients are created once per process (a Lambda cold start) and borrowed by every request:
//! an SDK client holds the connection pool and the credential cache.

mod config;
mod dynamo;
mod function;
mod http_client;
mod s3;
mod settings;

pub use config::{config_loader, dynamo_client, s3_client};
pub use dynamo::{DynamoStore, attr, split_key};
pub use function::{
    Error, MAX_BODY_BYTES, Platform, read_request, serve, serve_static, write_response,
};
pub use http_client::NativeHttp;
pub use s3::S3Blobs;
pub use settings::EnvSettings;
