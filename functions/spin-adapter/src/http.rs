//! spin-sdk HTTP types <-> `hostline_shared::http`.

use hostline_shared::http::{Method, Request, Response};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, HeaderMap, HeaderName, HeaderValue, IntoResponse, StatusCode};

/// The largest request body a handler will read; larger bodies get a 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Convert an incoming request, reading the whole body (bounded by [`MAX_BODY_BYTES`]).
pub async fn read_request(req: spin_sdk::http::Request) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let method = Method::parse(parts.method.as_str());
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect::<Vec<_>>();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        && len > MAX_BODY_BYTES
    {
        return Err(Response::error(413, "request body is larger than 1 MiB"));
    }
    let body = body
        .bytes()
        .await
        .map_err(|_| Response::error(400, "the request body could not be read"))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(Response::error(413, "request body is larger than 1 MiB"));
    }
    Ok(Request {
        method,
        path,
        query,
        headers,
        body: body.to_vec(),
    })
}

/// Convert a handler response into one spin-sdk can send.
pub fn write_response(resp: Response) -> impl IntoResponse {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (n, v) in &resp.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(n.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            headers.append(n, v);
        }
    }
    (
        status,
        headers,
        FullBody::new(bytes::Bytes::from(resp.body)),
    )
}
