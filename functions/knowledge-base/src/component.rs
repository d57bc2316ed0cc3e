//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_spin::{STORE_LABEL, SpinStore, read_request, variable, write_response};
use spin_sdk::http::IntoResponse;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    let req = match read_request(req).await {
        Ok(r) => r,
        Err(resp) => return Ok(write_response(resp)),
    };
    let store = match SpinStore::open(STORE_LABEL).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("knowledge-base: cannot open store: {e}");
            return Ok(write_response(hostline_shared::http::Response::internal()));
        }
    };
    let config = crate::handler::Config {
        vapi_secret: variable("vapi_secret").await.unwrap_or_default(),
        service_token: variable("service_token").await.unwrap_or_default(),
    };
    let resp = crate::handler::handle(&req, &store, &config, jiff::Timestamp::now()).await;
    Ok(write_response(resp))
}
