//! API keys and edge devices of a business, and the edge agent's pairing:
//! `/api/v1/businesses/{id}/api-keys`, `…/devices`, `…/devices/pairing-codes`,
//! `/api/v1/edge/pair` and `/api/v1/edge/me`. The account logic is
//! `hostline_shared::auth::keys`.

use crate::handler::os_entropy;
use hostline_shared::api::{ApiError, Principal, parse_body};
use hostline_shared::auth::jwt::Permission;
use hostline_shared::auth::keys::{self, KeyError};
use hostline_shared::http::{Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::printing;
use hostline_shared::store::Store;
use serde::Deserialize;
use serde_json::json;

fn key_error(e: KeyError) -> ApiError {
    match e {
        KeyError::Invalid { field, message } => ApiError::field(400, field, message),
        KeyError::BadCode => ApiError::field(401, "code", e.to_string()),
        KeyError::Throttled { retry_after } => ApiError::TooMany {
            message: e.to_string(),
            retry_after,
        },
        KeyError::Store(e) => e.into(),
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    #[schemars(length(min = 1, max = 100))]
    name: String,
    /// Defaults to `business:read`.
    #[serde(default)]
    permissions: Option<Vec<Permission>>,
}

pub async fn create_api_key<S: Store>(
    store: &S,
    business: &BusinessId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: NewKey = parse_body(body)?;
    let permissions = b
        .permissions
        .unwrap_or_else(|| vec![Permission::BusinessRead]);
    let (key, token) =
        keys::create_api_key(store, business, &b.name, permissions, now, &mut os_entropy)
            .await
            .map_err(key_error)?;
    let mut body = key.public();
    body["key"] = json!(token);
    Ok(Response::json(201, &body))
}

pub async fn list_api_keys<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<Response, ApiError> {
    let list = keys::list_api_keys(store, business).await?;
    let list: Vec<_> = list.iter().map(keys::ApiKey::public).collect();
    Ok(Response::json(200, &json!({ "api_keys": list })))
}

pub async fn revoke_api_key<S: Store>(
    store: &S,
    business: &BusinessId,
    id: &str,
) -> Result<Response, ApiError> {
    if keys::revoke_api_key(store, business, id).await? {
        Ok(Response::no_content())
    } else {
        Err(ApiError::not_found("no such API key"))
    }
}

pub async fn create_pairing_code<S: Store>(
    store: &S,
    business: &BusinessId,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let (code, expires_at) = keys::create_pairing_code(store, business, now, &mut os_entropy)
        .await
        .map_err(key_error)?;
    Ok(Response::json(
        201,
        &json!({"code": code, "expires_at": expires_at, "business_id": business}),
    ))
}

pub async fn list_devices<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<Response, ApiError> {
    let statuses = printing::device_statuses(store, business).await?;
    let mut list = Vec::new();
    for d in keys::list_devices(store, business).await? {
        let mut v = d.public();
        // What it last said of itself and its printers (none yet: never reported).
        v["status"] = json!(statuses.get(&d.id));
        list.push(v);
    }
    Ok(Response::json(200, &json!({ "devices": list })))
}

pub async fn revoke_device<S: Store>(
    store: &S,
    business: &BusinessId,
    id: &str,
) -> Result<Response, ApiError> {
    if keys::revoke_device(store, business, id).await? {
        Ok(Response::no_content())
    } else {
        Err(ApiError::not_found("no such device"))
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pair {
    #[schemars(regex(pattern = r"^[0-9]{6}$"))]
    code: String,
    #[schemars(length(min = 1, max = 100))]
    name: String,
}

/// `POST /api/v1/edge/pair {code, name}`: the code is the credential.
pub async fn pair<S: Store>(
    store: &S,
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: Pair = parse_body(&req.body)?;
    let (device, token) = keys::redeem_pairing_code(
        store,
        &b.code,
        &b.name,
        req.client_ip().as_deref(),
        now,
        &mut os_entropy,
    )
    .await
    .map_err(key_error)?;
    let mut body = device.public();
    body["device_token"] = json!(token);
    Ok(Response::json(201, &body))
}

/// `GET /api/v1/edge/me`: the device a token belongs to (the agent's "am I paired?").
pub fn me(who: &Principal) -> Result<Response, ApiError> {
    match who {
        Principal::Device(d) => Ok(Response::json(200, &d.public())),
        _ => Err(ApiError::forbidden("this route is for paired devices")),
    }
}
