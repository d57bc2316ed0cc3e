//! The outbound HTTP port on Lambda (Twilio REST, Vapi REST, Places): reqwest over rustls with
//! the Mozilla roots, one client (connection pool) per container, bounded in time and size.

use hostline_shared::api::method_name;
use hostline_shared::outbound::{HttpClient, OutRequest, OutResponse, TransportError};
use std::time::Duration;

/// The largest answer read from another service.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Sends requests to other services.
#[derive(Debug, Clone)]
pub struct NativeHttp {
    client: reqwest::Client,
}

impl NativeHttp {
    pub fn new() -> NativeHttp {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        NativeHttp { client }
    }
}

impl Default for NativeHttp {
    fn default() -> Self {
        NativeHttp::new()
    }
}

impl HttpClient for NativeHttp {
    async fn send(&self, req: OutRequest) -> Result<OutResponse, TransportError> {
        let method = reqwest::Method::from_bytes(method_name(req.method).as_bytes())
            .map_err(|e| TransportError(format!("bad method: {e}")))?;
        let mut builder = self.client.request(method, &req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder
            .body(req.body)
            .send()
            .await
            .map_err(|e| TransportError(e.to_string()))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| TransportError(format!("reading the answer: {e}")))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(TransportError("the answer is larger than 1 MiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutResponse { status, body })
    }
}
