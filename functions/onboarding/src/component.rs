//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_shared::providers::{places::Places, vapi_api::VapiApi};
use hostline_spin::{SpinHttp, twilio_api, variable};
use spin_sdk::http::IntoResponse;

async fn var(name: &str) -> String {
    variable(name).await.unwrap_or_default()
}

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(
        hostline_spin::run("onboarding", req, |req, store| async move {
            let twilio_auth_token = var("twilio_auth_token").await;
            let twilio = twilio_api().await;
            let config = crate::handler::Config {
                admin_token: var("admin_token").await,
                jwt_key: var("jwt_key").await,
                public_base_url: var("public_base_url").await,
                vapi_secret: var("vapi_secret").await,
                twilio,
                twilio_auth_token,
                verify_from: var("twilio_verify_from").await,
                vapi: VapiApi::configured(&var("vapi_api_base").await, &var("vapi_api_key").await),
                places: Places::configured(
                    &var("places_api_base").await,
                    &var("places_api_key").await,
                ),
                trial_seconds: var("trial_seconds").await.parse().unwrap_or(0),
            };
            crate::handler::handle(&req, &store, &SpinHttp, &config, jiff::Timestamp::now()).await
        })
        .await,
    )
}
