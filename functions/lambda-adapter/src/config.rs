//! SDK configuration for the adapters: one HTTPS client on rustls with ring (the crypto the rest
//! of the workspace uses, so no aws-lc C build), the latest behaviour version, and an optional
//! endpoint override. Production passes no endpoint and gets the default AWS chain (the Lambda
//! role's credentials, the function's region); tests point the same code at a local emulator.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// A loader for the shared SDK configuration. `endpoint_url` sends every service to one
/// address (a local emulator); `None` keeps AWS's own endpoints (or `AWS_ENDPOINT_URL`, which
/// the SDK reads itself). Callers may add a region or credentials before `load()`.
pub fn config_loader(endpoint_url: Option<&str>) -> ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    match endpoint_url {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    }
}

/// The DynamoDB client for a loaded configuration.
pub fn dynamo_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The S3 client for a loaded configuration. `path_style` addresses the bucket in the path
/// (`http://host/bucket/key`), which an emulator on 127.0.0.1 needs because a bucket name
/// cannot become a subdomain of an IP address; AWS itself takes virtual-hosted style (`false`).
pub fn s3_client(config: &SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
