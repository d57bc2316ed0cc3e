//! The Lambda entry point every function binary shares: the platform (store, blobs, outbound
//! HTTP, settings) built once per container at cold start, then each API Gateway event (HTTP
//! API, payload format 2.0) converted to a [`Request`], given to the function's handler, and its
//! [`Response`] converted back.
//!
//! A container serves one event at a time (Lambda's model), so the runtime is single-threaded:
//! less to start on a cold start, nothing to share between threads.

use crate::DynamoStore;
use crate::{EnvSettings, NativeHttp, S3Blobs, config_loader, dynamo_client, s3_client};
use hostline_shared::http::{Method, Request, Response};
use lambda_http::{Body, service_fn};
use std::future::Future;

pub use lambda_http::Error;

/// The largest request body a handler reads; larger bodies get a 413 (as on Spin and the runner).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a handler runs on, created once per container and borrowed by every event.
pub struct Platform {
    pub store: DynamoStore,
    pub blobs: S3Blobs,
    pub http: NativeHttp,
    pub settings: EnvSettings,
}

impl Platform {
    /// The platform the environment describes: `HOSTLINE_TABLE` and `HOSTLINE_BUCKET` (set by
    /// template.yaml), the SDK's own chain for region and credentials (the function's role),
    /// `AWS_ENDPOINT_URL` for an emulator (the SDK reads it) with `HOSTLINE_S3_PATH_STYLE=1`
    /// because a bucket cannot be a subdomain of 127.0.0.1.
    pub async fn from_env() -> Result<Platform, String> {
        let required = |name: &str| match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("{name} is not set")),
        };
        let table = required("HOSTLINE_TABLE")?;
        let bucket = required("HOSTLINE_BUCKET")?;
        let path_style = std::env::var("HOSTLINE_S3_PATH_STYLE").is_ok_and(|v| v == "1");
        let sdk = config_loader(None).load().await;
        let settings = EnvSettings::load(&sdk).await?;
        Ok(Platform {
            store: DynamoStore::new(dynamo_client(&sdk), table),
            blobs: S3Blobs::new(s3_client(&sdk, path_style), bucket),
            http: NativeHttp::new(),
            settings,
        })
    }
}

/// Runs a function on Lambda: builds the [`Platform`] and the function's configuration once,
/// then answers events with `handler` until Lambda stops the container. `function` names it in
/// logs. A platform that cannot be built (a missing setting) is reported to Lambda as an init
/// error, so the deployment fails loudly instead of answering 500s.
pub fn serve<C, H, Fut>(
    function: &'static str,
    config: impl AsyncFnOnce(&'static Platform) -> C,
    handler: H,
) -> Result<(), Error>
where
    C: 'static,
    H: Fn(Request, &'static Platform, &'static C) -> Fut + 'static,
    Fut: Future<Output = Response> + 'static,
{
    answer_events(function, async move || {
        let platform: &'static Platform = match Platform::from_env().await {
            Ok(p) => Box::leak(Box::new(p)),
            Err(e) => {
                eprintln!("{function}: cannot start: {e}");
                return Err(Error::from(e));
            }
        };
        let config: &'static C = Box::leak(Box::new(config(platform).await));
        Ok(move |req| handler(req, platform, config))
    })
}

/// [`serve`] for a function that needs no storage, no settings and no secrets (the health
/// check, the kitchen display's static page): nothing to build at cold start, and no
/// permission asked for.
pub fn serve_static<H, Fut>(function: &'static str, handler: H) -> Result<(), Error>
where
    H: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Response> + 'static,
{
    answer_events(function, async move || Ok(handler))
}

/// The event loop: `start` builds the handler once, then every event is answered with it.
fn answer_events<H, Fut>(
    function: &'static str,
    start: impl AsyncFnOnce() -> Result<H, Error>,
) -> Result<(), Error>
where
    H: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Response> + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Handlers' futures need not be `Send` (the compiler cannot always prove it of a generic
    // handler's, and one thread needs no such proof): each runs as a local task, and what the
    // runtime awaits is its join handle.
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let handler: &'static H = Box::leak(Box::new(start().await?));
        lambda_http::run(service_fn(move |event: lambda_http::Request| {
            let answer = tokio::task::spawn_local(async move {
                match read_request(event) {
                    Ok(req) => handler(req).await,
                    Err(resp) => resp,
                }
            });
            async move {
                let response = answer.await.unwrap_or_else(|e| {
                    eprintln!("{function}: the handler failed: {e}");
                    Response::internal()
                });
                Ok::<_, Error>(write_response(response))
            }
        }))
        .await
    })
}

/// An API Gateway request as a handler's [`Request`]: header names lower case, the body bounded
/// by [`MAX_BODY_BYTES`].
pub fn read_request(event: lambda_http::Request) -> Result<Request, Response> {
    let (parts, body) = event.into_parts();
    let body: &[u8] = body.as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(Response::error(413, "request body is larger than 1 MiB"));
    }
    Ok(Request {
        method: Method::parse(parts.method.as_str()),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| {
                Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    })
}

/// A handler's [`Response`] as API Gateway's: UTF-8 bodies as text, anything else as binary
/// (base64 on the wire, which API Gateway decodes).
pub fn write_response(resp: Response) -> lambda_http::Response<Body> {
    let mut builder = lambda_http::Response::builder().status(resp.status);
    for (name, value) in &resp.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match String::from_utf8(resp.body) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    builder.body(body).unwrap_or_else(|e| {
        eprintln!("a response could not be built: {e}");
        let mut resp =
            lambda_http::Response::new(Body::Text(r#"{"error":"internal error"}"#.to_owned()));
        *resp.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_keeps_method_path_query_headers_and_body() {
        let event = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://api.example/vapi/orders?x=1")
            .header("X-Vapi-Secret", "s")
            .body(Body::Text("{}".into()))
            .unwrap();
        let req = read_request(event).unwrap();
        assert_eq!(req.method, Method::Post);
        assert_eq!(
            (req.path.as_str(), req.query.as_deref()),
            ("/vapi/orders", Some("x=1"))
        );
        assert_eq!(req.header("x-vapi-secret"), Some("s"));
        assert_eq!(req.body, b"{}");
    }

    #[test]
    fn a_body_over_the_limit_is_a_413() {
        let event = lambda_http::http::Request::builder()
            .uri("/api/v1/x")
            .body(Body::Binary(vec![b'a'; MAX_BODY_BYTES + 1]))
            .unwrap();
        assert_eq!(read_request(event).unwrap_err().status, 413);
    }

    #[test]
    fn text_stays_text_and_bytes_stay_bytes() {
        let resp = write_response(Response::json(201, &serde_json::json!({"a": 1})));
        assert_eq!(resp.status(), 201);
        assert!(matches!(resp.body(), Body::Text(t) if t == r#"{"a":1}"#));
        assert_eq!(resp.headers()["content-type"], "application/json");
        let bytes = Response {
            status: 200,
            headers: vec![],
            body: vec![0x1b, 0x40, 0xff],
        };
        assert!(
            matches!(write_response(bytes).body(), Body::Binary(b) if b == &[0x1b, 0x40, 0xff])
        );
    }
}
