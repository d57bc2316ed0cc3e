//! Routing and authorisation for the twilio-voice function. Twilio's routes are authenticated
//! by `X-Twilio-Signature` over our own public URL; the relay's routes by the service token
//! here and the call's stream token in `internal`.

use crate::{internal, voice};
use hostline_shared::api::{ApiError, Principal, Router};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::relay::routes;
use hostline_shared::settings::Settings;
use hostline_shared::store::Store;
use std::sync::LazyLock;

/// The function's settings ([`config`] reads them).
#[derive(Debug, Clone)]
pub struct Config {
    /// Signs Twilio's webhooks (and authenticates REST calls, later).
    pub twilio_auth_token: String,
    /// The collection's public URL: what Twilio called, so what its signature covers.
    pub public_base_url: String,
    /// `wss://` URL of the media relay, written into the TwiML `<Stream>`.
    pub relay_url: String,
    /// Signs the stream token the relay verifies.
    pub relay_token_key: String,
    /// The relay's bearer token for the internal routes.
    pub service_token: String,
    /// Signs the tool credential handed to the relay in the agent configuration.
    pub tool_token_key: String,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    Config {
        twilio_auth_token: settings.get("twilio_auth_token").await,
        public_base_url: settings.get("public_base_url").await,
        relay_url: settings.get("relay_url").await,
        relay_token_key: settings.get("relay_token_key").await,
        service_token: settings.get("service_token").await,
        tool_token_key: settings.get("tool_token_key").await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Voice,
    Status,
    AgentConfig,
    Usage,
}

static ROUTER: LazyLock<Router<Route>> = LazyLock::new(|| {
    Router::new([
        ("/twilio/voice", Route::Voice),
        ("/twilio/status", Route::Status),
        (routes::AGENT_CONFIG_PATTERN, Route::AgentConfig),
        (routes::USAGE, Route::Usage),
    ])
});

pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    route(req, store, config, now)
        .await
        .unwrap_or_else(|e| e.into_response("twilio-voice", req))
}

async fn route<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let m = ROUTER.route(&req.path)?;
    let route = *m.route;
    // The relay's routes need its service token before anything else is said about them;
    // Twilio's are checked by their signature, which covers the form, once it is parsed.
    if matches!(route, Route::AgentConfig | Route::Usage) {
        authorize_relay(req, config)?;
    }
    match (route, req.method) {
        (Route::Voice, Method::Post) => {
            voice::incoming_call(&voice::signed_form(req, config)?, store, config, now).await
        }
        (Route::Status, Method::Post) => {
            voice::status_callback(&voice::signed_form(req, config)?, store, now).await
        }
        (Route::AgentConfig, Method::Get) => {
            internal::agent_config(req, store, config, m.param("business"), now).await
        }
        (Route::Usage, Method::Post) => internal::usage(req, store, config, now).await,
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The relay, by its service token (the call's stream token is checked by each route).
fn authorize_relay(req: &Request, config: &Config) -> Result<(), ApiError> {
    match Principal::relay(req, &config.service_token)? {
        Principal::Relay => Ok(()),
        _ => Err(ApiError::forbidden("not the media relay")),
    }
}
