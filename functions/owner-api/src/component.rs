//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_shared::blob::KvBlobs;
use hostline_shared::outbox::Texting;
use hostline_shared::pii::PiiKeys;
use hostline_spin::{SpinHttp, twilio_api, variable};
use spin_sdk::http::IntoResponse;

async fn var(name: &str) -> String {
    variable(name).await.unwrap_or_default()
}

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(
        hostline_spin::run("owner-api", req, |req, store| async move {
            let pii_hash_key = var("pii_hash_key").await;
            let pii = PiiKeys::new(&pii_hash_key, &var("pii_encryption_key").await);
            let config = crate::handler::Config {
                admin_token: var("admin_token").await,
                jwt_key: var("jwt_key").await,
                pii_hash_key,
                texts: Texting::configured(twilio_api().await, pii),
                public_base_url: var("public_base_url").await,
            };
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
        .await,
    )
}
