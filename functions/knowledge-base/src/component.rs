//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_spin::SpinSettings;
use spin_sdk::http::IntoResponse;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(
        hostline_spin::run("knowledge-base", req, |req, store| async move {
            let config = crate::handler::config(&SpinSettings).await;
            crate::handler::handle(&req, &store, &config, jiff::Timestamp::now()).await
        })
        .await,
    )
}
