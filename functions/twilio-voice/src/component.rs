//! The Spin component: platform in, platform out; the handler does the rest.

use hostline_spin::variable;
use spin_sdk::http::IntoResponse;

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    Ok(
        hostline_spin::run("twilio-voice", req, |req, store| async move {
            let config = crate::handler::Config {
                twilio_auth_token: variable("twilio_auth_token").await.unwrap_or_default(),
                public_base_url: variable("public_base_url").await.unwrap_or_default(),
                relay_url: variable("relay_url").await.unwrap_or_default(),
                relay_token_key: variable("relay_token_key").await.unwrap_or_default(),
                service_token: variable("service_token").await.unwrap_or_default(),
                tool_token_key: variable("tool_token_key").await.unwrap_or_default(),
            };
            crate::handler::handle(&req, &store, &config, jiff::Timestamp::now()).await
        })
        .await,
    )
}
