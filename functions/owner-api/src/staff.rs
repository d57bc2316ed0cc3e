//! `/api/v1/businesses/{id}/staff`: the people who log in with a phone and PIN to work the
//! orders of one business.

use crate::handler::os_entropy;
use hostline_shared::api::{ApiError, parse_body};
use hostline_shared::auth::accounts;
use hostline_shared::auth::jwt::Permission;
use hostline_shared::http::Response;
use hostline_shared::ids::BusinessId;
use hostline_shared::store::Store;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewStaff {
    #[schemars(length(min = 1, max = 100))]
    name: String,
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    phone: String,
    #[schemars(regex(pattern = r"^[0-9]{4,8}$"))]
    pin: String,
    /// Defaults to menu availability and the order tools.
    #[serde(default)]
    permissions: Option<Vec<Permission>>,
}

pub async fn add<S: Store>(
    store: &S,
    business: &BusinessId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: NewStaff = parse_body(body)?;
    let phone = crate::handler::parse_phone(&b.phone, "phone")?;
    let permissions = b.permissions.unwrap_or_else(|| Permission::STAFF.to_vec());
    let staff = accounts::add_staff(
        store,
        business,
        &b.name,
        phone,
        &b.pin,
        permissions,
        now,
        &mut os_entropy,
    )
    .await?;
    Ok(Response::json(201, &staff.public()))
}

pub async fn list<S: Store>(store: &S, business: &BusinessId) -> Result<Response, ApiError> {
    let staff = accounts::list_staff(store, business).await?;
    let staff: Vec<_> = staff.iter().map(accounts::Staff::public).collect();
    Ok(Response::json(200, &json!({ "staff": staff })))
}

pub async fn remove<S: Store>(
    store: &S,
    business: &BusinessId,
    staff_id: &str,
) -> Result<Response, ApiError> {
    if !hostline_shared::auth::tokens::is_id("s_", staff_id) {
        return Err(ApiError::not_found("no such staff member"));
    }
    if accounts::remove_staff(store, business, staff_id).await? {
        Ok(Response::no_content())
    } else {
        Err(ApiError::not_found("no such staff member"))
    }
}
