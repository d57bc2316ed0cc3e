//! The outbound HTTP port over `wasi:http` (spin-sdk's `send`). The host enforces the
//! component's `allowed_outbound_hosts`; a refused or failed request is a
//! [`TransportError`], never a trap.

use hostline_shared::api::method_name;
use hostline_shared::outbound::{HttpClient, OutRequest, OutResponse, TransportError};
use spin_sdk::http::FullBody;
use spin_sdk::http::body::IncomingBodyExt;

/// The largest answer read from another service.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Sends through the Spin host.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHttp;

impl HttpClient for SpinHttp {
    async fn send(&self, req: OutRequest) -> Result<OutResponse, TransportError> {
        let mut builder = spin_sdk::http::Request::<()>::builder()
            .method(method_name(req.method))
            .uri(&req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(FullBody::new(bytes::Bytes::from(req.body)))
            .map_err(|e| TransportError(format!("bad request: {e}")))?;
        let response = spin_sdk::http::send(request)
            .await
            .map_err(|e| TransportError(format!("{e:?}")))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| TransportError(format!("reading the answer: {e:?}")))?;
        if body.len() > MAX_ANSWER_BYTES {
            return Err(TransportError("the answer is larger than 1 MiB".into()));
        }
        Ok(OutResponse {
            status,
            body: body.to_vec(),
        })
    }
}
