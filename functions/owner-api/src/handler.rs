//! Routes of the owner API (first slice):
//!
//! | method | path | does |
//! |---|---|---|
//! | PUT | `/api/v1/businesses/{id}/restaurant` | import a `hostline.restaurant/v1` document |
//! | GET | `/api/v1/businesses/{id}/restaurant` | export it |
//! | GET | `/api/v1/businesses/{id}/voice-lint` | the voice-lint of the stored document (also in the import's answer) |
//! | GET | `/api/v1/businesses/{id}` | the business record (status, lines, revision) |
//! | PATCH | `/api/v1/businesses/{id}` | `{"active"?, "transfer_to"?, "balance_seconds"?}`: take calls or not, staff line, prepaid seconds |
//! | PUT | `/api/v1/vapi-numbers/{phone_number_id}` | `{"e164": "+1..."}`: map a Vapi number id to a line |
//!
//! Every route needs `Authorization: Bearer <admin_token>`; the business comes from the path,
//! which only the operator can choose.

use hostline_shared::api::{ApiError, Principal, Router, parse_body};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::knowledge::lint::voice_lint;
use hostline_shared::phone::PhoneE164;
use hostline_shared::publish::{ImportError, import_restaurant, load_restaurant};
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{Store, StoreError, keys};
use hostline_shared::tenancy::{
    BusinessRecord, MAX_BALANCE_SECONDS, read_json, update_json, valid_vapi_number_id,
};
use serde::Deserialize;
use serde_json::json;
use std::sync::LazyLock;

#[derive(Debug, Clone)]
pub struct Config {
    pub admin_token: String,
}

/// The routes, matched by [`Router`].
#[derive(Debug, Clone, Copy)]
enum Route {
    Restaurant,
    VoiceLint,
    Business,
    VapiNumber,
}

static ROUTER: LazyLock<Router<Route>> = LazyLock::new(|| {
    Router::new([
        ("/api/v1/businesses/{id}/restaurant", Route::Restaurant),
        ("/api/v1/businesses/{id}/voice-lint", Route::VoiceLint),
        ("/api/v1/businesses/{id}", Route::Business),
        ("/api/v1/vapi-numbers/{id}", Route::VapiNumber),
    ])
});

/// Only the operator's bearer token opens these routes (owner accounts are still to come).
fn authorize(req: &Request, config: &Config) -> Result<Principal, ApiError> {
    Principal::operator(req, &config.admin_token)
}

pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    route(req, store, config, now)
        .await
        .unwrap_or_else(|e| e.into_response("owner-api", req))
}

async fn route<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let Principal::Operator = authorize(req, config)? else {
        return Err(ApiError::refused(403, "not allowed"));
    };
    let m = ROUTER.route(&req.path)?;
    match (m.route, req.method) {
        (Route::Restaurant, Method::Put) => {
            put_restaurant(store, &parse_id(m.param("id"))?, &req.body, now).await
        }
        (Route::Restaurant, Method::Get) => get_restaurant(store, &parse_id(m.param("id"))?).await,
        (Route::VoiceLint, Method::Get) => get_voice_lint(store, &parse_id(m.param("id"))?).await,
        (Route::Business, Method::Get) => get_business(store, &parse_id(m.param("id"))?).await,
        (Route::Business, Method::Patch) => {
            patch_business(store, &parse_id(m.param("id"))?, &req.body, now).await
        }
        (Route::VapiNumber, Method::Put) => put_vapi_number(store, m.param("id"), &req.body).await,
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn parse_id(raw: &str) -> Result<BusinessId, ApiError> {
    BusinessId::parse(raw).map_err(|e| ApiError::field(400, "business_id", e.to_string()))
}

async fn put_restaurant<S: Store>(
    store: &S,
    id: &BusinessId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(ApiError::refused(400, "request body is not UTF-8 JSON"));
    };
    if text.trim().is_empty() {
        return Err(ApiError::refused(
            400,
            "request body is empty; expected a hostline.restaurant/v1 document",
        ));
    }
    let doc = Restaurant::parse(text).map_err(|e| {
        let field = if e.path.is_empty() || e.path == "." {
            "document".to_owned()
        } else {
            e.path.clone()
        };
        ApiError::field(400, field, e.message)
    })?;
    // Advice only: an import is never refused for what the voice-lint finds.
    let lint = voice_lint(&doc);
    match import_restaurant(store, id, doc, now).await {
        Ok(outcome) => Ok(Response::json(
            if outcome.created { 201 } else { 200 },
            &json!({
                "business_id": id.as_str(),
                "revision": outcome.record.revision,
                "active": outcome.record.active,
                "lines": outcome.record.lines,
                "released_lines": outcome.released,
                "items": outcome.items,
                "voice_lint": lint,
            }),
        )),
        Err(ImportError::LineTaken { line, index }) => Err(ApiError::Body {
            status: 409,
            body: json!({
                "error": format!("phone line {line} already belongs to another business"),
                "field": format!("business.phone_lines[{index}].e164"),
                "line": line.as_str(),
            }),
        }),
        Err(ImportError::Busy) => Err(ApiError::refused(
            409,
            "another change to this business or one of its lines happened at the same time; retry",
        )),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

async fn get_restaurant<S: Store>(store: &S, id: &BusinessId) -> Result<Response, ApiError> {
    let no_document = || ApiError::not_found(format!("business {id} has no restaurant document"));
    let Some(record) = read_json::<_, BusinessRecord>(store, &keys::business(id)).await? else {
        return Err(no_document());
    };
    match load_restaurant(store, &record).await? {
        Some(r) => Ok(Response::json(200, &r)),
        None => Err(no_document()),
    }
}

async fn get_voice_lint<S: Store>(store: &S, id: &BusinessId) -> Result<Response, ApiError> {
    let no_document = || ApiError::not_found(format!("business {id} has no restaurant document"));
    let Some(record) = read_json::<_, BusinessRecord>(store, &keys::business(id)).await? else {
        return Err(no_document());
    };
    let Some(doc) = load_restaurant(store, &record).await? else {
        return Err(no_document());
    };
    Ok(Response::json(
        200,
        &json!({
            "business_id": id.as_str(),
            "revision": record.revision,
            "voice_lint": voice_lint(&doc),
        }),
    ))
}

async fn get_business<S: Store>(store: &S, id: &BusinessId) -> Result<Response, ApiError> {
    match read_json::<_, BusinessRecord>(store, &keys::business(id)).await? {
        Some(r) => Ok(Response::json(200, &BusinessView::of(&r))),
        None => Err(ApiError::not_found(format!("no business {id}"))),
    }
}

/// The business record as the API shows it: without the storage pointers.
#[derive(serde::Serialize)]
struct BusinessView<'a> {
    id: &'a BusinessId,
    active: bool,
    lines: &'a [PhoneE164],
    revision: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_to: Option<&'a PhoneE164>,
    #[serde(skip_serializing_if = "Option::is_none")]
    balance_seconds: Option<i64>,
    created_at: jiff::Timestamp,
    updated_at: jiff::Timestamp,
}

impl<'a> BusinessView<'a> {
    fn of(r: &'a BusinessRecord) -> Self {
        BusinessView {
            id: &r.id,
            active: r.active,
            lines: &r.lines,
            revision: r.revision,
            transfer_to: r.transfer_to.as_ref(),
            balance_seconds: r.balance_seconds,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BusinessPatch {
    active: Option<bool>,
    /// `null` removes the transfer line.
    #[serde(default, deserialize_with = "present")]
    transfer_to: Option<Option<String>>,
    /// `null` stops metering.
    #[serde(default, deserialize_with = "present")]
    balance_seconds: Option<Option<i64>>,
}

/// Tells "field absent" (outer `None`) from "field set to null" (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

async fn patch_business<S: Store>(
    store: &S,
    id: &BusinessId,
    bytes: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let patch: BusinessPatch = parse_body(bytes)?;
    let transfer_to = match &patch.transfer_to {
        Some(Some(raw)) => Some(Some(PhoneE164::parse_e164(raw).map_err(|_| {
            ApiError::field(
                400,
                "transfer_to",
                "must be an E.164 number like +14155550100, or null",
            )
        })?)),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(Some(b)) = patch.balance_seconds
        && !(0..=MAX_BALANCE_SECONDS).contains(&b)
    {
        return Err(ApiError::field(
            400,
            "balance_seconds",
            format!("must be a whole number of seconds from 0 to {MAX_BALANCE_SECONDS}, or null"),
        ));
    }
    // Compare-and-swap, so a concurrent import's record isn't overwritten.
    let mut found = true;
    let result = update_json::<_, BusinessRecord, _>(store, &keys::business(id), |current| {
        let Some(mut record) = current else {
            found = false;
            return None;
        };
        if let Some(a) = patch.active {
            record.active = a;
        }
        if let Some(t) = &transfer_to {
            record.transfer_to = t.clone();
        }
        if let Some(b) = patch.balance_seconds {
            record.balance_seconds = b;
        }
        record.updated_at = now;
        Some(record)
    })
    .await;
    match result {
        Ok(Some(record)) => Ok(Response::json(200, &BusinessView::of(&record))),
        Ok(None) if !found => Err(ApiError::not_found(format!("no business {id}"))),
        Ok(None) => Err(StoreError::Backend("business update wrote nothing".into()).into()),
        Err(StoreError::Conflict) => Err(ApiError::refused(
            409,
            "the business changed repeatedly while updating; retry",
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VapiNumber {
    e164: String,
}

async fn put_vapi_number<S: Store>(
    store: &S,
    phone_number_id: &str,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    if !valid_vapi_number_id(phone_number_id) {
        return Err(ApiError::field(
            400,
            "phone_number_id",
            "must be 1-100 letters, digits, '-' or '_'",
        ));
    }
    let v: VapiNumber = parse_body(bytes)?;
    let line = PhoneE164::parse_e164(&v.e164)
        .map_err(|_| ApiError::field(400, "e164", "must be an E.164 number like +14155550100"))?;
    store
        .put(
            &keys::vapi_number(phone_number_id),
            line.as_str().as_bytes(),
        )
        .await?;
    Ok(Response::json(
        200,
        &json!({"phone_number_id": phone_number_id, "e164": line}),
    ))
}
