//! `/api/v1/auth/*` and `/api/v1/me`: sessions. The account logic is
//! `hostline_shared::auth::accounts`; this maps requests to it and its errors to responses.

use crate::handler::os_entropy;
use hostline_shared::api::{ApiError, Principal, parse_body};
use hostline_shared::auth::accounts::{self, Account, Staff, User};
use hostline_shared::auth::jwt::Role;
use hostline_shared::auth::password;
use hostline_shared::http::{Request, Response};
use hostline_shared::store::{Store, keys};
use hostline_shared::tenancy::{read_json, update_json};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignUp {
    #[schemars(email, length(max = 254))]
    email: String,
    #[schemars(length(min = 10, max = 256))]
    password: String,
    #[schemars(length(min = 1, max = 100))]
    name: String,
}

pub async fn signup<S: Store>(
    store: &S,
    key: &[u8],
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: SignUp = parse_body(&req.body)?;
    let (user, pair) = accounts::signup(
        store,
        key,
        &b.email,
        &b.password,
        &b.name,
        now,
        &mut os_entropy,
    )
    .await?;
    let mut body = serde_json::to_value(&pair).unwrap_or_default();
    body["user"] = user.public();
    Ok(Response::json(201, &body))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    #[schemars(email, length(max = 254))]
    email: String,
    #[schemars(length(max = 256))]
    password: String,
}

pub async fn login<S: Store>(
    store: &S,
    key: &[u8],
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: Login = parse_body(&req.body)?;
    let pair = accounts::login(
        store,
        key,
        &b.email,
        &b.password,
        req.client_ip().as_deref(),
        now,
        &mut os_entropy,
    )
    .await?;
    Ok(Response::json(200, &pair))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffLogin {
    #[schemars(
        length(min = 3, max = 64),
        regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    business_id: String,
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    phone: String,
    #[schemars(regex(pattern = r"^[0-9]{4,8}$"))]
    pin: String,
}

pub async fn staff_login<S: Store>(
    store: &S,
    key: &[u8],
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: StaffLogin = parse_body(&req.body)?;
    let business = crate::handler::parse_id(&b.business_id)?;
    let phone = crate::handler::parse_phone(&b.phone, "phone")?;
    let pair = accounts::staff_login(
        store,
        key,
        &business,
        &phone,
        &b.pin,
        req.client_ip().as_deref(),
        now,
        &mut os_entropy,
    )
    .await?;
    Ok(Response::json(200, &pair))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

pub async fn refresh<S: Store>(
    store: &S,
    key: &[u8],
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: RefreshBody = parse_body(&req.body)?;
    let pair = accounts::refresh(store, key, &b.refresh_token, now, &mut os_entropy).await?;
    Ok(Response::json(200, &pair))
}

pub async fn logout<S: Store>(store: &S, req: &Request) -> Result<Response, ApiError> {
    let b: RefreshBody = parse_body(&req.body)?;
    accounts::logout(store, &b.refresh_token).await?;
    Ok(Response::no_content())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    #[schemars(length(max = 256))]
    current_password: String,
    #[schemars(length(min = 10, max = 256))]
    new_password: String,
}

/// A password change: the current password again, the new one, and every token issued before
/// (access and refresh, on every device) stops working; the answer is a fresh pair.
pub async fn change_password<S: Store>(
    store: &S,
    key: &[u8],
    who: &Principal,
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let user = current_user(store, who).await?;
    let b: PasswordChange = parse_body(&req.body)?;
    if !password::verify(&b.current_password, &user.password_hash) {
        return Err(ApiError::field(
            403,
            "current_password",
            "the current password is not right",
        ));
    }
    if let Some(problem) = password::password_problem(&b.new_password) {
        return Err(ApiError::field(400, "new_password", problem));
    }
    let mut salt = [0u8; password::SALT_LEN];
    os_entropy(&mut salt);
    let hash = password::hash(&b.new_password, &salt);
    let seen = user.token_version;
    let updated = update_json::<_, User, _>(store, &keys::user(&user.id), |u| {
        let mut u = u?;
        if u.token_version != seen {
            return None;
        }
        u.password_hash = hash.clone();
        u.token_version = u.token_version.wrapping_add(1);
        u.updated_at = now;
        Some(u)
    })
    .await?
    .ok_or_else(|| ApiError::unauthorized("the access token has been revoked; log in again"))?;
    let pair = accounts::issue_pair(
        store,
        key,
        &Account::User(updated),
        None,
        now,
        &mut os_entropy,
    )
    .await?;
    Ok(Response::json(200, &pair))
}

/// The account behind the token (read fresh, so a business added a moment ago shows).
pub async fn me<S: Store>(store: &S, who: &Principal) -> Result<Response, ApiError> {
    match who {
        Principal::Operator => Ok(Response::json(200, &json!({"role": "operator"}))),
        Principal::User(c) if c.role == Role::Staff => {
            let staff = current_staff(store, who).await?;
            let mut body = staff.public();
            body["role"] = json!("staff");
            Ok(Response::json(200, &body))
        }
        Principal::User(_) => Ok(Response::json(
            200,
            &current_user(store, who).await?.public(),
        )),
        Principal::ApiKey(k) => {
            let mut body = k.public();
            body["role"] = json!("api_key");
            Ok(Response::json(200, &body))
        }
        Principal::Device(d) => {
            let mut body = d.public();
            body["role"] = json!("device");
            Ok(Response::json(200, &body))
        }
        _ => Err(ApiError::forbidden("not allowed")),
    }
}

/// For sensitive requests: the token's version must still be the account's (a password
/// change, or a revocation, bumps it). The operator token has no version.
pub async fn still_current<S: Store>(store: &S, who: &Principal) -> Result<(), ApiError> {
    match who {
        Principal::User(c) if c.role == Role::Staff => current_staff(store, who).await.map(|_| ()),
        Principal::User(_) => current_user(store, who).await.map(|_| ()),
        _ => Ok(()),
    }
}

fn revoked() -> ApiError {
    ApiError::unauthorized("the access token has been revoked; log in again")
}

async fn current_user<S: Store>(store: &S, who: &Principal) -> Result<User, ApiError> {
    let Principal::User(c) = who else {
        return Err(ApiError::forbidden(
            "this route is for accounts, not the operator token",
        ));
    };
    match read_json::<_, User>(store, &keys::user(&c.sub)).await? {
        Some(u) if u.token_version == c.tv => Ok(u),
        _ => Err(revoked()),
    }
}

async fn current_staff<S: Store>(store: &S, who: &Principal) -> Result<Staff, ApiError> {
    let Principal::User(c) = who else {
        return Err(ApiError::forbidden("this route is for accounts"));
    };
    let Some(business) = c.businesses.first() else {
        return Err(revoked());
    };
    match read_json::<_, Staff>(store, &keys::staff(business, &c.sub)).await? {
        Some(s) if s.active && s.token_version == c.tv => Ok(s),
        _ => Err(revoked()),
    }
}
