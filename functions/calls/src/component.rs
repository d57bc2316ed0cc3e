//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_shared::blob::KvBlobs;
use hostline_spin::{SpinHttp, SpinSettings};
use spin_sdk::http::IntoResponse;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(hostline_spin::run("calls", req, |req, store| async move {
        let config = crate::handler::config(&SpinSettings).await;
        let blobs = KvBlobs::new(&store);
        crate::handler::handle_with(
            &req,
            &store,
            &blobs,
            &SpinHttp,
            &config,
            jiff::Timestamp::now(),
        )
        .await
    })
    .await)
}
