//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_spin::variable;
use spin_sdk::http::IntoResponse;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(hostline_spin::run("orders", req, |req, store| async move {
        let config = crate::handler::Config {
            tool_token_key: variable("tool_token_key").await.unwrap_or_default(),
            pii: hostline_shared::pii::PiiKeys::new(
                &variable("pii_hash_key").await.unwrap_or_default(),
                &variable("pii_encryption_key").await.unwrap_or_default(),
            ),
        };
        crate::handler::handle(&req, &store, &config, jiff::Timestamp::now()).await
    })
    .await)
}
