//! Routing and authorisation for the twilio-voice function. Twilio's routes are authenticated
//! by `X-Twilio-Signature` over our own public URL; the relay's routes by the service token
//! here and the call's stream token in `internal`.

use crate::{internal, voice};
use hostline_shared::auth::secret_matches;
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::relay::routes;
use hostline_shared::store::Store;

/// Settings from Spin variables.
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

pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    let path = req.path.as_str();
    if let Some(rest) = path.strip_prefix("/internal/") {
        if !req
            .bearer()
            .is_some_and(|t| secret_matches(t, &config.service_token))
        {
            return Response::unauthorized("missing or invalid service token");
        }
        let agent_config = routes::AGENT_CONFIG.trim_start_matches("/internal/");
        let usage = routes::USAGE.trim_start_matches("/internal/");
        return match (req.method, rest.split_once('/')) {
            (Method::Get, Some((prefix, id))) if prefix == agent_config => {
                internal::agent_config(req, store, config, id, now).await
            }
            (Method::Post, None) if rest == usage => internal::usage(req, store, config, now).await,
            (_, Some((prefix, _))) if prefix == agent_config => Response::method_not_allowed(),
            (_, None) if rest == usage => Response::method_not_allowed(),
            _ => Response::not_found(),
        };
    }
    match (req.method, path) {
        (Method::Post, "/twilio/voice") => voice::incoming_call(req, store, config, now).await,
        (Method::Post, "/twilio/status") => voice::status_callback(req, store, config, now).await,
        (_, "/twilio/voice" | "/twilio/status") => Response::method_not_allowed(),
        _ => Response::not_found(),
    }
}
