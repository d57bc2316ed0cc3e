//! Menu availability without re-importing: 86 an item (sold out) or bring it back, one at a
//! time or many at once. The stored document is changed and published again through the same
//! commit point as an import (`hostline_shared::publish::set_availability`), so the knowledge
//! tools say "sold out" from the next call on.

use hostline_shared::api::{ApiError, parse_body};
use hostline_shared::http::Response;
use hostline_shared::ids::{BusinessId, is_slug};
use hostline_shared::publish::{AvailabilityError, ImportError, set_availability};
use hostline_shared::store::Store;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Most items one bulk change may name.
const MAX_ITEMS: usize = 500;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Availability {
    pub available: bool,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkAvailability {
    /// Item id → available.
    #[schemars(length(min = 1, max = 500))]
    pub items: BTreeMap<String, bool>,
}

fn availability_error(e: AvailabilityError, field: impl FnOnce(&str) -> String) -> ApiError {
    match e {
        AvailabilityError::NoDocument => {
            ApiError::not_found("the business has no restaurant document")
        }
        AvailabilityError::UnknownItem(id) => {
            ApiError::field(400, field(&id), format!("no item {id} on the menu"))
        }
        AvailabilityError::Import(ImportError::Busy) => {
            ApiError::refused(409, "the menu changed repeatedly while updating; retry")
        }
        AvailabilityError::Import(ImportError::LineTaken { line, .. }) => ApiError::refused(
            409,
            format!("phone line {line} is being claimed by another business; retry"),
        ),
        AvailabilityError::Import(ImportError::Store(e)) | AvailabilityError::Store(e) => e.into(),
    }
}

fn answer(changed: Vec<String>, revision: u64) -> Response {
    Response::json(200, &json!({"changed": changed, "revision": revision}))
}

pub async fn put_item_availability<S: Store>(
    store: &S,
    business: &BusinessId,
    item_id: &str,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    if !is_slug(item_id) {
        return Err(ApiError::not_found(format!(
            "no item {item_id} on the menu"
        )));
    }
    let b: Availability = parse_body(body)?;
    let (changed, revision) =
        set_availability(store, business, &[(item_id.to_owned(), b.available)], now)
            .await
            .map_err(|e| match e {
                AvailabilityError::UnknownItem(id) => {
                    ApiError::not_found(format!("no item {id} on the menu"))
                }
                e => availability_error(e, |_| "item_id".into()),
            })?;
    Ok(answer(changed, revision))
}

pub async fn post_availability<S: Store>(
    store: &S,
    business: &BusinessId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: BulkAvailability = parse_body(body)?;
    if b.items.is_empty() || b.items.len() > MAX_ITEMS {
        return Err(ApiError::field(
            400,
            "items",
            format!("must name 1 to {MAX_ITEMS} items"),
        ));
    }
    if let Some(bad) = b.items.keys().find(|id| !is_slug(id)) {
        return Err(ApiError::field(
            400,
            format!("items.{bad}"),
            "is not an item id",
        ));
    }
    let changes: Vec<(String, bool)> = b.items.into_iter().collect();
    let (changed, revision) = set_availability(store, business, &changes, now)
        .await
        .map_err(|e| availability_error(e, |id| format!("items.{id}")))?;
    Ok(answer(changed, revision))
}
