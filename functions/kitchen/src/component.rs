//! The Spin component: platform in, platform out; the handler does the rest.

use spin_sdk::http::IntoResponse;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(match hostline_spin::read_request(req).await {
        Ok(req) => hostline_spin::write_response(crate::handler::handle(&req)),
        Err(resp) => hostline_spin::write_response(resp),
    })
}
