//! The assistant-request handler. The tenant comes from the called line of a message that
//! carried our webhook secret; nothing in the body chooses it. The assistant it returns carries
//! a tool credential bound to that business and line: the shared secret proves the caller is
//! Vapi, the credential says which business its later tool calls act for.

use crate::assistant;
use hostline_shared::api::{ApiError, Principal, one_route};
use hostline_shared::credential::ToolCredential;
use hostline_shared::http::{Request, Response};
use hostline_shared::publish::load_restaurant;
use hostline_shared::settings::Settings;
use hostline_shared::store::{Store, StoreError};
use hostline_shared::tenancy::{LineRoute, learn_vapi_number, resolve_line, valid_vapi_number_id};
use hostline_shared::vapi::{Message, accept, ignored};
use serde_json::json;

/// The function's settings ([`config`] reads them).
#[derive(Debug, Clone)]
pub struct Config {
    pub vapi_secret: String,
    /// Signs the tool credential the assistant carries (`tool_token_key`).
    pub tool_token_key: String,
    /// Where Vapi reaches us: tool and event URLs are built from it.
    pub public_base_url: String,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    Config {
        vapi_secret: settings.get("vapi_secret").await,
        tool_token_key: settings.get("tool_token_key").await,
        public_base_url: settings.get("public_base_url").await,
    }
}

/// Spoken when we cannot answer for a reason that is ours (storage, configuration).
const TROUBLE: &str =
    "Sorry, we're having trouble answering right now. Please call back in a few minutes.";

/// Spoken to a caller on a line nobody owns.
pub const UNKNOWN_LINE: &str =
    "Sorry, this number isn't set up to take calls right now. Please try again later.";

/// The shared Vapi secret opens this route (and only this one): it proves the caller is Vapi;
/// the business comes from the line dialled.
fn authorize(req: &Request, config: &Config) -> Result<Principal, ApiError> {
    Principal::vapi(req, &config.vapi_secret)
}

pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    one_route(req, "/vapi/assistant-request", "assistant-request", || {
        assistant_request(req, store, config, now)
    })
    .await
}

async fn assistant_request<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    // Informational events sent to this URL by an org-level server setting get `200 {}`.
    let Some((_vapi, msg)) = accept(req, || authorize(req, config), "assistant-request")? else {
        return Ok(ignored());
    };
    match respond(store, config, &msg, msg.timestamp.unwrap_or(now)).await {
        Ok(r) => Ok(r),
        Err(e) => {
            eprintln!("assistant-request: storage error: {e}");
            // Vapi speaks `error` to the caller; a 500 would only leave them in silence.
            Ok(Response::json(200, &json!({"error": TROUBLE})))
        }
    }
}

async fn respond<S: Store>(
    store: &S,
    config: &Config,
    msg: &Message,
    now: jiff::Timestamp,
) -> Result<Response, StoreError> {
    let route = resolve_line(
        store,
        msg.called_number.as_ref(),
        msg.phone_number_id.as_deref(),
    )
    .await?;
    // Learn Vapi's id for a line only from a message whose number resolved to a business, so
    // an unknown line or a malformed id never writes a mapping.
    if let (Some(called), Some(id)) = (&msg.called_number, &msg.phone_number_id)
        && let LineRoute::Active { line, .. } | LineRoute::Inactive { line, .. } = &route
        && line == called
        && valid_vapi_number_id(id)
    {
        learn_vapi_number(store, id, line).await?;
    }
    let (business, line) = match route {
        LineRoute::Active { business, line } => (business, line),
        LineRoute::Inactive { business, .. } => {
            let name = load_restaurant(store, &business)
                .await?
                .map(|r| r.business.name)
                .unwrap_or_else(|| "This restaurant".to_owned());
            return Ok(Response::json(
                200,
                &json!({"error": format!("Sorry, {name} isn't taking phone calls right now. Please try again later.")}),
            ));
        }
        LineRoute::Unknown => return Ok(Response::json(200, &json!({"error": UNKNOWN_LINE}))),
    };
    let Some(restaurant) = load_restaurant(store, &business).await? else {
        return Ok(Response::json(200, &json!({"error": UNKNOWN_LINE})));
    };
    if business.out_of_balance() {
        return Ok(Response::json(
            200,
            &json!({"error": format!("Sorry, {} can't take phone calls right now. Please try again later.", restaurant.business.name)}),
        ));
    }
    let credential = ToolCredential::issue(business.id.clone(), line.clone(), now.as_second());
    let Ok(tool_token) = credential.sign(config.tool_token_key.as_bytes()) else {
        eprintln!("assistant-request: tool_token_key is not set; cannot hand out tool credentials");
        return Ok(Response::json(200, &json!({"error": TROUBLE})));
    };
    let a = assistant::build(&assistant::Inputs {
        business_id: &business.id,
        line: &line,
        restaurant: &restaurant,
        public_base_url: &config.public_base_url,
        tool_token: &tool_token,
        settings: &business.settings,
        transfer_to: business.transfer_to.as_ref(),
        max_call_seconds: business.max_call_seconds(assistant::MAX_CALL_SECONDS),
        now,
    });
    Ok(Response::json(200, &json!({ "assistant": a })))
}
