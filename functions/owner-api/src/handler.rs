//! Routes of the owner API.
//!
//! | method | path | who | does |
//! |---|---|---|---|
//! | POST | `/api/v1/auth/signup` | anyone | `{email, password, name}`: a new owner account, signed in |
//! | POST | `/api/v1/auth/login` | anyone | `{email, password}` → `{access_token, refresh_token, expires_in}` |
//! | POST | `/api/v1/auth/refresh` | anyone | `{refresh_token}` → a new pair (the old one is spent) |
//! | POST | `/api/v1/auth/logout` | anyone | `{refresh_token}`: ends that login |
//! | POST | `/api/v1/auth/staff-login` | anyone | `{business_id, phone, pin}` → staff tokens |
//! | POST | `/api/v1/auth/password` | user | `{current_password, new_password}`: revokes every token |
//! | GET | `/api/v1/me` | user | the account behind the token |
//! | GET, POST | `/api/v1/businesses` | user, operator | list; create `{id, name}` |
//! | GET, PATCH | `/api/v1/businesses/{id}` | business:read / write | the record; `{"active"?, "transfer_to"?}` (`balance_seconds`: operator only) |
//! | PUT, GET | `/api/v1/businesses/{id}/restaurant` | business:write / read | import / export a `hostline.restaurant/v1` document |
//! | GET | `/api/v1/businesses/{id}/voice-lint` | business:read | the voice-lint of the stored document |
//! | GET, POST | `/api/v1/businesses/{id}/staff` | staff:manage | list; add `{name, phone, pin, permissions?}` |
//! | DELETE | `/api/v1/businesses/{id}/staff/{staff_id}` | staff:manage | remove |
//! | GET | `/api/v1/businesses/{id}/calls` | calls:read | the call log, newest first (`?limit`, `?cursor`) |
//! | GET | `/api/v1/businesses/{id}/calls/{call_id}` | calls:read | one call with its transcript |
//! | GET | `/api/v1/businesses/{id}/usage` | calls:read | calls and seconds per day (`?days`) |
//! | GET, POST | `/api/v1/businesses/{id}/api-keys` | staff:manage | list; create `{name, permissions?}` (the key is shown once) |
//! | DELETE | `/api/v1/businesses/{id}/api-keys/{key_id}` | staff:manage | revoke |
//! | POST | `/api/v1/businesses/{id}/devices/pairing-codes` | staff:manage | a one-time 6-digit code, valid 10 minutes |
//! | GET | `/api/v1/businesses/{id}/devices` | staff:manage | paired devices |
//! | DELETE | `/api/v1/businesses/{id}/devices/{device_id}` | staff:manage | unpair |
//! | POST | `/api/v1/businesses/{id}/cloudprnt-printers` | staff:manage | `{name, mac}`: a Star CloudPRNT printer; answers the URL to type into it |
//! | POST | `/api/v1/edge/status` | device | the agent's printers and queue, for the device list |
//! | POST, GET, DELETE | `/cloudprnt/{token}` | the printer (token in the URL) | Star CloudPRNT: poll, fetch the job, confirm it |
//! | POST | `/api/v1/edge/pair` | anyone (the code) | `{code, name}` → a device token bound to the code's business |
//! | GET | `/api/v1/edge/me` | device | the device a token belongs to |
//! | PUT | `/api/v1/businesses/{id}/menu/items/{item_id}/availability` | menu:availability | `{available}`: 86 an item or bring it back |
//! | POST | `/api/v1/businesses/{id}/menu/availability` | menu:availability | `{items: {item_id: bool}}`: many at once |
//! | GET, DELETE | `/api/v1/businesses/{id}/customers/{phone}` | customers:privacy | export / erase one customer's calls and transcripts |
//! | GET | `/api/v1/businesses/{id}/audit` | staff:manage | who changed what, newest first (`?limit`, `?cursor`) |
//! | GET | `/api/v1/openapi.json` | anyone | the OpenAPI 3.1 document of these routes |
//! | PUT | `/api/v1/vapi-numbers/{phone_number_id}` | operator | `{"e164": "+1..."}`: map a Vapi number id to a line |
//! | GET, POST | `/api/v1/line-pool` | operator | the free numbers onboarding gives out; add `{e164, vapi_phone_number_id?}` |
//! | DELETE | `/api/v1/line-pool/{phone}` | operator | remove a number not given out |
//!
//! The onboarding wizard (`/api/v1/onboarding/...`) is its own function (`functions/onboarding`).
//!
//! "user" is `Authorization: Bearer <access token>` (JWT, from login); an API key
//! (`Bearer hlk_…`) acts for its one business with the permissions it was given; a device
//! token (`Bearer hld_…`) only on the edge routes; "operator" is
//! `Authorization: Bearer <admin_token>`, which may act on any business. A token that does not
//! name a business gets the same 404 as a business that does not exist.

use crate::auth_routes;
use crate::calls;
use crate::devices;
use crate::menu;
use crate::orders;
use crate::sections;
use crate::staff;
use hostline_shared::api::{ApiError, Principal, Router, parse_body, parse_restaurant};
use hostline_shared::auth::accounts::{self, User};
use hostline_shared::auth::jwt::{Permission, Role};
use hostline_shared::auth::keys as credentials;
use hostline_shared::auth::tokens::TokenKind;
use hostline_shared::blob::{Blobs, KvBlobs};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::knowledge::lint::voice_lint;
use hostline_shared::outbound::{HttpClient, NoOutbound};
use hostline_shared::outbox::{self, Texting};
use hostline_shared::phone::PhoneE164;
use hostline_shared::pii::PiiKeys;
use hostline_shared::publish::{import_restaurant, load_restaurant};
use hostline_shared::settings::{Settings, twilio_api};
use hostline_shared::store::{Store, StoreError, keys};
use hostline_shared::tenancy::{
    AssistantSettings, BusinessRecord, MAX_BALANCE_SECONDS, ModelChoice, VoiceChoice, read_json,
    setting_problem, update_json, valid_vapi_number_id,
};
use hostline_shared::tools::knowledge_tools;
use serde::Deserialize;
use serde_json::json;
use std::sync::LazyLock;

#[derive(Debug, Clone)]
pub struct Config {
    pub admin_token: String,
    /// Signs and verifies access tokens.
    pub jwt_key: String,
    /// Finds a customer's records by their number's keyed hash (`pii_hash_key`).
    pub pii_hash_key: String,
    /// Sends the order texts waiting in a business's outbox after a staff member moves an
    /// order, and on the kitchen's and the edge agent's polls (`None`: texts wait).
    pub texts: Option<Texting>,
    /// Where this deployment is reached (`public_base_url`): the CloudPRNT URL a printer is
    /// given starts with it.
    pub public_base_url: String,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    let pii_hash_key = settings.get("pii_hash_key").await;
    let pii = PiiKeys::new(&pii_hash_key, &settings.get("pii_encryption_key").await);
    Config {
        admin_token: settings.get("admin_token").await,
        jwt_key: settings.get("jwt_key").await,
        pii_hash_key,
        texts: Texting::configured(twilio_api(settings).await, pii),
        public_base_url: settings.get("public_base_url").await,
    }
}

/// The routes, matched by [`Router`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Signup,
    Login,
    Refresh,
    Logout,
    StaffLogin,
    Password,
    Me,
    Businesses,
    Business,
    Restaurant,
    VoiceLint,
    Staff,
    StaffMember,
    Calls,
    Call,
    Usage,
    ApiKeys,
    ApiKey,
    PairingCodes,
    Devices,
    Device,
    CloudPrntPrinters,
    EdgeStatus,
    EdgePair,
    EdgeMe,
    VapiNumber,
    OpenApi,
    ItemAvailability,
    Availability,
    Audit,
    Customer,
    LinePool,
    PoolLine,
    Hours,
    Delivery,
    Faq,
    Lines,
    Line,
    Orders,
    Order,
    OrderHistory,
    OrderStatus,
    OrderCancel,
    OrderReprint,
    OrderTicket,
    PrintJobs,
    EdgeJobs,
    EdgeJobAck,
}

/// Every route pattern and the route it is.
const ROUTES: &[(&str, Route)] = &[
    ("/api/v1/auth/signup", Route::Signup),
    ("/api/v1/auth/login", Route::Login),
    ("/api/v1/auth/refresh", Route::Refresh),
    ("/api/v1/auth/logout", Route::Logout),
    ("/api/v1/auth/staff-login", Route::StaffLogin),
    ("/api/v1/auth/password", Route::Password),
    ("/api/v1/me", Route::Me),
    ("/api/v1/businesses", Route::Businesses),
    ("/api/v1/businesses/{id}", Route::Business),
    ("/api/v1/businesses/{id}/restaurant", Route::Restaurant),
    ("/api/v1/businesses/{id}/voice-lint", Route::VoiceLint),
    ("/api/v1/businesses/{id}/staff", Route::Staff),
    (
        "/api/v1/businesses/{id}/staff/{staff_id}",
        Route::StaffMember,
    ),
    ("/api/v1/businesses/{id}/calls", Route::Calls),
    ("/api/v1/businesses/{id}/calls/{call_id}", Route::Call),
    ("/api/v1/businesses/{id}/usage", Route::Usage),
    ("/api/v1/businesses/{id}/api-keys", Route::ApiKeys),
    ("/api/v1/businesses/{id}/api-keys/{key_id}", Route::ApiKey),
    (
        "/api/v1/businesses/{id}/devices/pairing-codes",
        Route::PairingCodes,
    ),
    ("/api/v1/businesses/{id}/devices", Route::Devices),
    ("/api/v1/businesses/{id}/devices/{device_id}", Route::Device),
    (
        "/api/v1/businesses/{id}/cloudprnt-printers",
        Route::CloudPrntPrinters,
    ),
    ("/api/v1/edge/status", Route::EdgeStatus),
    ("/api/v1/edge/pair", Route::EdgePair),
    ("/api/v1/edge/me", Route::EdgeMe),
    ("/api/v1/vapi-numbers/{id}", Route::VapiNumber),
    ("/api/v1/openapi.json", Route::OpenApi),
    (
        "/api/v1/businesses/{id}/menu/items/{item_id}/availability",
        Route::ItemAvailability,
    ),
    (
        "/api/v1/businesses/{id}/menu/availability",
        Route::Availability,
    ),
    ("/api/v1/businesses/{id}/audit", Route::Audit),
    ("/api/v1/businesses/{id}/customers/{phone}", Route::Customer),
    ("/api/v1/businesses/{id}/hours", Route::Hours),
    ("/api/v1/businesses/{id}/delivery", Route::Delivery),
    ("/api/v1/businesses/{id}/faq", Route::Faq),
    ("/api/v1/businesses/{id}/lines", Route::Lines),
    ("/api/v1/businesses/{id}/lines/{phone}", Route::Line),
    ("/api/v1/line-pool", Route::LinePool),
    ("/api/v1/businesses/{id}/orders", Route::Orders),
    ("/api/v1/businesses/{id}/orders/{order_id}", Route::Order),
    (
        "/api/v1/businesses/{id}/orders/{order_id}/history",
        Route::OrderHistory,
    ),
    (
        "/api/v1/businesses/{id}/orders/{order_id}/status",
        Route::OrderStatus,
    ),
    (
        "/api/v1/businesses/{id}/orders/{order_id}/cancel",
        Route::OrderCancel,
    ),
    (
        "/api/v1/businesses/{id}/orders/{order_id}/reprint",
        Route::OrderReprint,
    ),
    (
        "/api/v1/businesses/{id}/orders/{order_id}/ticket",
        Route::OrderTicket,
    ),
    ("/api/v1/businesses/{id}/print-jobs", Route::PrintJobs),
    ("/api/v1/edge/jobs", Route::EdgeJobs),
    ("/api/v1/edge/jobs/{job_id}/ack", Route::EdgeJobAck),
    ("/api/v1/line-pool/{phone}", Route::PoolLine),
];

static ROUTER: LazyLock<Router<Route>> = LazyLock::new(|| Router::new(ROUTES.iter().copied()));

/// Every route pattern (`/api/v1/businesses/{id}`, …): what the OpenAPI document must cover.
pub fn route_patterns() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|(p, _)| *p)
}

/// The operator's `admin_token`, a person's access token, an API key or a device token. The
/// first two are checked without the store; keys and devices are looked up by digest.
async fn authorize<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Principal, ApiError> {
    let bearer = req.bearer().unwrap_or_default();
    let invalid = || ApiError::unauthorized("invalid bearer token");
    if bearer.starts_with(TokenKind::ApiKey.prefix()) {
        return match credentials::resolve_api_key(store, bearer).await? {
            Some(k) => Ok(Principal::ApiKey(k)),
            None => Err(invalid()),
        };
    }
    if bearer.starts_with(TokenKind::Device.prefix()) {
        return match credentials::resolve_device(store, bearer).await? {
            Some(d) => Ok(Principal::Device(d)),
            None => Err(invalid()),
        };
    }
    Principal::operator_or_user(req, &config.admin_token, &config.jwt_key, now.as_second())
}

/// Random bytes from the platform (WASI `random` in a component, the OS natively).
pub(crate) fn os_entropy(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the platform's random source failed");
}

/// [`handle_with`], with blobs kept in the same key-value store (the runner and Spin).
pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    handle_with(req, store, &KvBlobs::new(store), &NoOutbound, config, now).await
}

/// The handler, reading transcripts from `blobs` and sending texts through `http`.
pub async fn handle_with<S: Store, B: Blobs, H: HttpClient>(
    req: &Request,
    store: &S,
    blobs: &B,
    http: &H,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    let mut texts_for = None;
    let answer = match crate::cloudprnt::serve(req, store, now, &mut texts_for).await {
        Some(answer) => answer,
        None => route(req, store, blobs, config, now, &mut texts_for).await,
    }
    .unwrap_or_else(|e| e.into_response("owner-api", req));
    // The answer is settled; texts go out after it (a failure is the outbox's to retry).
    if let Some(business) = texts_for.filter(|_| answer.status < 300) {
        outbox::drain_after(store, http, config.texts.as_ref(), &business, now).await;
    }
    answer
}

async fn route<S: Store, B: Blobs>(
    req: &Request,
    store: &S,
    blobs: &B,
    config: &Config,
    now: jiff::Timestamp,
    texts_for: &mut Option<BusinessId>,
) -> Result<Response, ApiError> {
    let m = ROUTER.route(&req.path)?;
    let key = config.jwt_key.as_bytes();
    // The routes that make a session need none.
    match (m.route, req.method) {
        (Route::Signup, Method::Post) => return auth_routes::signup(store, key, req, now).await,
        (Route::Login, Method::Post) => return auth_routes::login(store, key, req, now).await,
        (Route::Refresh, Method::Post) => return auth_routes::refresh(store, key, req, now).await,
        (Route::Logout, Method::Post) => return auth_routes::logout(store, req).await,
        (Route::StaffLogin, Method::Post) => {
            return auth_routes::staff_login(store, key, req, now).await;
        }
        (Route::EdgePair, Method::Post) => {
            let answer = devices::pair(store, req, now).await?;
            let business = answer_field(&answer, &["business_id"]);
            if let (Some(b), Some(device)) = (
                business.and_then(|b| BusinessId::parse(&b).ok()),
                answer_field(&answer, &["id"]),
            ) {
                let target = Some(device.clone());
                audit(
                    store,
                    &b,
                    device,
                    "device.pair",
                    target,
                    serde_json::Value::Null,
                    now,
                )
                .await;
            }
            return Ok(answer);
        }
        (Route::OpenApi, Method::Get) => {
            return Ok(Response {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: crate::openapi::document().to_vec(),
            });
        }
        (
            Route::Signup
            | Route::Login
            | Route::Refresh
            | Route::Logout
            | Route::StaffLogin
            | Route::EdgePair
            | Route::OpenApi,
            _,
        ) => {
            return Err(ApiError::method_not_allowed());
        }
        _ => {}
    }
    let who = authorize(req, store, config, now).await?;
    // A device token opens the edge routes only.
    let edge_route = matches!(
        m.route,
        Route::EdgeMe | Route::EdgeJobs | Route::EdgeJobAck | Route::EdgeStatus
    );
    if matches!(who, Principal::Device(_)) && !edge_route {
        return Err(ApiError::forbidden("device tokens are for the edge routes"));
    }
    let business = || parse_id(m.param("id"));
    // Routes after which the business's waiting texts are sent: a move to ready queues one,
    // and the kitchen display and the edge agent poll often.
    *texts_for = match (m.route, &who) {
        (Route::EdgeJobs, Principal::Device(d)) => Some(d.business.clone()),
        (Route::Orders | Route::OrderStatus | Route::OrderCancel, _) => business().ok(),
        _ => None,
    };
    let answer = match (m.route, req.method) {
        (Route::Password, Method::Post) => {
            auth_routes::change_password(store, key, &who, req, now).await
        }
        (Route::Me, Method::Get) => auth_routes::me(store, &who).await,
        (Route::Businesses, Method::Get) => list_businesses(store, &who).await,
        (Route::Businesses, Method::Post) => create_business(store, key, &who, req, now).await,
        (Route::Restaurant, Method::Put) => {
            let id = business()?;
            who.may(&id, Permission::BusinessWrite)?;
            put_restaurant(store, &id, &req.body, now).await
        }
        (Route::Restaurant, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::BusinessRead)?;
            get_restaurant(store, &id).await
        }
        (Route::VoiceLint, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::BusinessRead)?;
            get_voice_lint(store, &id).await
        }
        (Route::Business, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::BusinessRead)?;
            get_business(store, &id).await
        }
        (Route::Business, Method::Patch) => {
            let id = business()?;
            who.may(&id, Permission::BusinessWrite)?;
            patch_business(store, &who, &id, &req.body, now).await
        }
        (Route::Staff, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            staff::list(store, &id).await
        }
        (Route::Staff, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            staff::add(store, &id, &req.body, now).await
        }
        (Route::StaffMember, Method::Delete) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            auth_routes::still_current(store, &who).await?;
            staff::remove(store, &id, m.param("staff_id")).await
        }
        (Route::Calls, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::CallsRead)?;
            calls::list(store, &id, req).await
        }
        (Route::Call, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::CallsRead)?;
            calls::get(store, blobs, &id, m.param("call_id")).await
        }
        (Route::Usage, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::CallsRead)?;
            calls::usage(store, &id, req, now).await
        }
        (Route::ApiKeys, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            devices::list_api_keys(store, &id).await
        }
        (Route::ApiKeys, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            devices::create_api_key(store, &id, &req.body, now).await
        }
        (Route::ApiKey, Method::Delete) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            auth_routes::still_current(store, &who).await?;
            devices::revoke_api_key(store, &id, m.param("key_id")).await
        }
        (Route::PairingCodes, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            devices::create_pairing_code(store, &id, now).await
        }
        (Route::Devices, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            devices::list_devices(store, &id).await
        }
        (Route::Device, Method::Delete) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            auth_routes::still_current(store, &who).await?;
            devices::revoke_device(store, &id, m.param("device_id")).await
        }
        (Route::CloudPrntPrinters, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            crate::cloudprnt::create_printer(store, &id, &req.body, &config.public_base_url, now)
                .await
        }
        (Route::EdgeStatus, Method::Post) => match &who {
            Principal::Device(d) => crate::cloudprnt::edge_status(store, d, &req.body, now).await,
            _ => Err(not_a_device()),
        },
        (Route::EdgeMe, Method::Get) => devices::me(&who),
        (Route::EdgeJobs, Method::Get) => match &who {
            Principal::Device(d) => orders::edge_jobs(store, d, now).await,
            _ => Err(not_a_device()),
        },
        (Route::EdgeJobAck, Method::Post) => match &who {
            Principal::Device(d) => {
                orders::edge_ack(store, d, m.param("job_id"), &req.body, now).await
            }
            _ => Err(not_a_device()),
        },
        (Route::Orders, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::OrdersRead)?;
            orders::list(store, &id, req).await
        }
        (Route::Order, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::OrdersRead)?;
            orders::get(store, &id, m.param("order_id")).await
        }
        (Route::OrderHistory, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::OrdersRead)?;
            orders::history(store, &id, m.param("order_id")).await
        }
        (Route::OrderTicket, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::OrdersRead)?;
            orders::ticket(store, &id, m.param("order_id")).await
        }
        (Route::PrintJobs, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::OrdersRead)?;
            orders::print_jobs(store, &id, req).await
        }
        (Route::OrderStatus, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::OrdersWrite)?;
            orders::set_status(store, &id, m.param("order_id"), actor(&who), &req.body, now).await
        }
        (Route::OrderCancel, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::OrdersWrite)?;
            orders::cancel(store, &id, m.param("order_id"), actor(&who), &req.body, now).await
        }
        (Route::OrderReprint, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::OrdersWrite)?;
            orders::reprint(store, &id, m.param("order_id"), &req.body, now).await
        }
        (Route::VapiNumber, Method::Put) => {
            let Principal::Operator = who else {
                return Err(ApiError::forbidden("only the operator maps Vapi numbers"));
            };
            put_vapi_number(store, m.param("id"), &req.body).await
        }
        (Route::Hours | Route::Delivery | Route::Faq, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::BusinessRead)?;
            sections::get(store, &id, section(*m.route)).await
        }
        (Route::Hours | Route::Delivery | Route::Faq, Method::Put) => {
            let id = business()?;
            who.may(&id, Permission::BusinessWrite)?;
            sections::put(store, &id, section(*m.route), &req.body, now).await
        }
        (Route::Lines, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::BusinessRead)?;
            sections::list_lines(store, &id).await
        }
        (Route::Lines, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::BusinessWrite)?;
            sections::add_line(store, &id, &req.body, now).await
        }
        (Route::Line, Method::Patch) => {
            let id = business()?;
            who.may(&id, Permission::BusinessWrite)?;
            let phone = parse_phone(m.param("phone"), "phone")?;
            sections::patch_line(store, &id, &phone, &req.body, now).await
        }
        (Route::Line, Method::Delete) => {
            let id = business()?;
            who.may(&id, Permission::BusinessWrite)?;
            let phone = parse_phone(m.param("phone"), "phone")?;
            sections::remove_line(store, &id, &phone, now).await
        }
        (Route::LinePool | Route::PoolLine, _) if !matches!(who, Principal::Operator) => Err(
            ApiError::forbidden("only the operator manages the line pool"),
        ),
        (Route::LinePool, Method::Get) => {
            let lines = hostline_shared::line_pool::list(store).await?;
            Ok(Response::json(200, &json!({"lines": lines})))
        }
        (Route::LinePool, Method::Post) => add_pool_line(store, &req.body, now).await,
        (Route::PoolLine, Method::Delete) => {
            let line = parse_phone(m.param("phone"), "phone")?;
            hostline_shared::line_pool::remove(store, &line)
                .await
                .map_err(pool_error)?;
            Ok(Response::json(200, &json!({"removed": line})))
        }
        (Route::ItemAvailability, Method::Put) => {
            let id = business()?;
            who.may(&id, Permission::MenuAvailability)?;
            menu::put_item_availability(store, &id, m.param("item_id"), &req.body, now).await
        }
        (Route::Availability, Method::Post) => {
            let id = business()?;
            who.may(&id, Permission::MenuAvailability)?;
            menu::post_availability(store, &id, &req.body, now).await
        }
        (Route::Customer, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::CustomersPrivacy)?;
            auth_routes::still_current(store, &who).await?;
            calls::export_customer(store, blobs, &id, m.param("phone"), &config.pii_hash_key).await
        }
        (Route::Customer, Method::Delete) => {
            let id = business()?;
            who.may(&id, Permission::CustomersPrivacy)?;
            auth_routes::still_current(store, &who).await?;
            calls::erase_customer(store, blobs, &id, m.param("phone"), &config.pii_hash_key).await
        }
        (Route::Audit, Method::Get) => {
            let id = business()?;
            who.may(&id, Permission::StaffManage)?;
            audit_log(store, &id, req).await
        }
        _ => Err(ApiError::method_not_allowed()),
    }?;
    if let Some(action) = audited(*m.route, req.method)
        && answer.status < 300
    {
        let business = match m.route {
            Route::Businesses => answer_field(&answer, &["business", "id"]),
            _ => Some(m.param("id").to_owned()),
        };
        // (Never the customer's phone number: customer routes are audited without a target.)
        let target = ["staff_id", "key_id", "device_id", "item_id", "order_id"]
            .iter()
            .map(|p| m.param(p))
            .find(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| answer_field(&answer, &["id"]).filter(|_| *m.route != Route::Businesses));
        let detail = match m.route {
            Route::Business
            | Route::Availability
            | Route::ItemAvailability
            | Route::OrderStatus
            | Route::OrderCancel
            | Route::OrderReprint => serde_json::from_slice(&req.body).unwrap_or_default(),
            Route::Restaurant => json!({"revision": answer_field(&answer, &["revision"])}),
            _ => serde_json::Value::Null,
        };
        if let Some(b) = business.and_then(|b| BusinessId::parse(&b).ok()) {
            audit(store, &b, actor(&who), action, target, detail, now).await;
        }
    }
    Ok(answer)
}

/// The audit action of a write route (`None` for reads).
fn audited(route: Route, method: Method) -> Option<&'static str> {
    Some(match (route, method) {
        (Route::Businesses, Method::Post) => "business.create",
        (Route::Business, Method::Patch) => "business.update",
        (Route::Restaurant, Method::Put) => "restaurant.import",
        (Route::Staff, Method::Post) => "staff.add",
        (Route::StaffMember, Method::Delete) => "staff.remove",
        (Route::ApiKeys, Method::Post) => "api_key.create",
        (Route::ApiKey, Method::Delete) => "api_key.revoke",
        (Route::PairingCodes, Method::Post) => "device.pairing_code",
        (Route::CloudPrntPrinters, Method::Post) => "device.cloudprnt",
        (Route::Device, Method::Delete) => "device.revoke",
        (Route::ItemAvailability, Method::Put) | (Route::Availability, Method::Post) => {
            "menu.availability"
        }
        (Route::Customer, Method::Get) => "customer.export",
        (Route::Customer, Method::Delete) => "customer.erase",
        (Route::Hours, Method::Put) => "hours.update",
        (Route::Delivery, Method::Put) => "delivery.update",
        (Route::Faq, Method::Put) => "faq.update",
        (Route::Lines, Method::Post) => "line.add",
        (Route::Line, Method::Patch) => "line.update",
        (Route::Line, Method::Delete) => "line.remove",
        (Route::OrderStatus, Method::Post) => "order.status",
        (Route::OrderCancel, Method::Post) => "order.cancel",
        (Route::OrderReprint, Method::Post) => "order.reprint",
        _ => return None,
    })
}

fn not_a_device() -> ApiError {
    ApiError::forbidden("the print-job routes take a paired device's token")
}

/// Who to name in the audit log.
fn actor(who: &Principal) -> String {
    match who {
        Principal::Operator => "operator".into(),
        Principal::User(c) => c.sub.clone(),
        Principal::ApiKey(k) => k.id.clone(),
        Principal::Device(d) => d.id.clone(),
        Principal::Vapi => "vapi".into(),
        Principal::Relay => "relay".into(),
        Principal::Tool(_) => "tool".into(),
    }
}

/// A string (or number) field of a JSON answer.
fn answer_field(answer: &Response, path: &[&str]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&answer.body).ok()?;
    let v = path.iter().try_fold(&v, |v, k| v.get(k))?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Append to the audit log. The change is already committed, so a failure here is logged,
/// not answered: the caller's change stands.
pub(crate) async fn audit<S: Store>(
    store: &S,
    business: &BusinessId,
    actor: String,
    action: &str,
    target: Option<String>,
    detail: serde_json::Value,
    now: jiff::Timestamp,
) {
    let mut nonce = [0u8; 4];
    os_entropy(&mut nonce);
    let entry = hostline_shared::audit::AuditEntry {
        at: now,
        actor,
        action: action.to_owned(),
        target,
        detail,
    };
    if let Err(e) =
        hostline_shared::audit::record(store, business, &entry, u32::from_le_bytes(nonce)).await
    {
        eprintln!("owner-api: could not write the audit entry {action} for {business}: {e}");
    }
}

async fn audit_log<S: Store>(
    store: &S,
    business: &BusinessId,
    req: &Request,
) -> Result<Response, ApiError> {
    let (limit, cursor) = calls::page(req)?;
    let (entries, next) =
        hostline_shared::audit::list(store, business, limit, cursor.as_deref()).await?;
    Ok(Response::json(
        200,
        &json!({"entries": entries, "next_cursor": next}),
    ))
}

pub(crate) fn parse_id(raw: &str) -> Result<BusinessId, ApiError> {
    BusinessId::parse(raw).map_err(|e| ApiError::field(400, "business_id", e.to_string()))
}

/// A phone number in E.164 form, or a 400 naming `field`.
pub(crate) fn parse_phone(raw: &str, field: &str) -> Result<PhoneE164, ApiError> {
    PhoneE164::parse_e164(raw)
        .map_err(|_| ApiError::field(400, field, "must be an E.164 number like +14155550100"))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewBusiness {
    #[schemars(
        length(min = 3, max = 64),
        regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    id: String,
    #[schemars(length(min = 1, max = 100))]
    name: String,
}

/// An owner creates a business (inactive, without a menu). The answer carries a new access
/// token that names it, so the next call can use it at once.
async fn create_business<S: Store>(
    store: &S,
    jwt_key: &[u8],
    who: &Principal,
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let user_id = match who {
        Principal::User(c) if matches!(c.role, Role::Owner | Role::Admin) => c.sub.clone(),
        Principal::User(_) => {
            return Err(ApiError::forbidden(
                "staff accounts cannot create businesses",
            ));
        }
        _ => {
            return Err(ApiError::forbidden(
                "businesses are created by their owner's account (the operator imports with PUT …/restaurant)",
            ));
        }
    };
    let body: NewBusiness = parse_body(&req.body)?;
    let id = BusinessId::parse(&body.id).map_err(|e| ApiError::field(400, "id", e.to_string()))?;
    let (record, user) = accounts::create_business(store, &user_id, &id, &body.name, now).await?;
    let access_token = hostline_shared::auth::jwt::issue(&user.claims(now.as_second()), jwt_key)
        .map_err(|_| ApiError::from(accounts::AuthError::NoKey))?;
    Ok(Response::json(
        201,
        &json!({
            "business": BusinessView::of(&record),
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": hostline_shared::auth::jwt::ACCESS_TTL_SECONDS,
        }),
    ))
}

/// The businesses the caller may see: an owner's own (from the account, so one created a
/// moment ago is there), a staff member's one, or every business for the operator.
async fn list_businesses<S: Store>(store: &S, who: &Principal) -> Result<Response, ApiError> {
    let ids: Vec<BusinessId> = match who {
        Principal::Operator => store
            .list("biz/")
            .await?
            .iter()
            .filter_map(|k| k.strip_prefix("biz/")?.strip_suffix("/business"))
            .filter_map(|id| BusinessId::parse(id).ok())
            .collect(),
        Principal::User(c) if c.role == Role::Staff => c.businesses.clone(),
        Principal::ApiKey(k) => vec![k.business.clone()],
        Principal::User(c) => match read_json::<_, User>(store, &keys::user(&c.sub)).await? {
            Some(u) => u.businesses,
            None => Vec::new(),
        },
        _ => return Err(ApiError::forbidden("not allowed")),
    };
    let mut businesses = Vec::new();
    for id in &ids {
        if let Some(r) = read_json::<_, BusinessRecord>(store, &keys::business(id)).await? {
            businesses.push(BusinessSummary {
                id: r.id,
                name: r.name,
                active: r.active,
                revision: r.revision,
            });
        }
    }
    Ok(Response::json(200, &json!({ "businesses": businesses })))
}

#[derive(serde::Serialize)]
struct BusinessSummary {
    id: BusinessId,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    active: bool,
    revision: u64,
}

async fn put_restaurant<S: Store>(
    store: &S,
    id: &BusinessId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let doc = parse_restaurant(body)?;
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
        Err(e) => Err(e.into()),
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
        None => Err(ApiError::no_business(id)),
    }
}

/// The business record as the API shows it: without the storage pointers.
#[derive(serde::Serialize)]
struct BusinessView<'a> {
    id: &'a BusinessId,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    active: bool,
    lines: &'a [PhoneE164],
    revision: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_to: Option<&'a PhoneE164>,
    #[serde(skip_serializing_if = "Option::is_none")]
    balance_seconds: Option<i64>,
    settings: &'a AssistantSettings,
    created_at: jiff::Timestamp,
    updated_at: jiff::Timestamp,
}

impl<'a> BusinessView<'a> {
    fn of(r: &'a BusinessRecord) -> Self {
        BusinessView {
            id: &r.id,
            name: r.name.as_deref(),
            active: r.active,
            lines: &r.lines,
            revision: r.revision,
            transfer_to: r.transfer_to.as_ref(),
            balance_seconds: r.balance_seconds,
            settings: &r.settings,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BusinessPatch {
    active: Option<bool>,
    /// `null` removes the transfer line.
    #[serde(default, deserialize_with = "present")]
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    transfer_to: Option<Option<String>>,
    /// `null` stops metering (operator only).
    #[serde(default, deserialize_with = "present")]
    #[schemars(range(min = 0, max = 316_224_000))]
    balance_seconds: Option<Option<i64>>,
    /// The host's first words (`null`: the document's greeting).
    #[serde(default, deserialize_with = "present")]
    #[schemars(length(min = 1, max = 300))]
    greeting: Option<Option<String>>,
    /// Instructions appended to the host's prompt (`null`: none).
    #[serde(default, deserialize_with = "present")]
    #[schemars(length(min = 1, max = 2000))]
    prompt_additions: Option<Option<String>>,
    /// `{provider, voice_id}` (`null`: our default voice).
    #[serde(default, deserialize_with = "present")]
    voice: Option<Option<VoiceChoice>>,
    /// `{provider, model}` (`null`: our default model).
    #[serde(default, deserialize_with = "present")]
    model: Option<Option<ModelChoice>>,
    /// The knowledge tools the host may use (`null`: all).
    #[serde(default, deserialize_with = "present")]
    enabled_tools: Option<Option<Vec<String>>>,
    /// Taking orders by phone (`null`: on whenever the document offers pickup or delivery).
    #[serde(default, deserialize_with = "present")]
    ordering: Option<Option<bool>>,
    /// Orders taken by phone go straight to the kitchen, accepted and printed (`null`: yes);
    /// `false` holds them as received until staff accept them.
    #[serde(default, deserialize_with = "present")]
    auto_accept_orders: Option<Option<bool>>,
    /// Print a customer receipt beside each kitchen ticket (`null`: no).
    #[serde(default, deserialize_with = "present")]
    print_receipts: Option<Option<bool>>,
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
    who: &Principal,
    id: &BusinessId,
    bytes: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let patch: BusinessPatch = parse_body(bytes)?;
    if patch.balance_seconds.is_some() && *who != Principal::Operator {
        return Err(ApiError::field(
            403,
            "balance_seconds",
            "only the operator sets the balance (top-ups)",
        ));
    }
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
    let tools: Vec<&str> = knowledge_tools().iter().map(|t| t.name).collect();
    if let Some((field, message)) = setting_problem(
        patch.greeting.as_ref().and_then(|g| g.as_deref()),
        patch.prompt_additions.as_ref().and_then(|p| p.as_deref()),
        patch.voice.as_ref().and_then(|v| v.as_ref()),
        patch.model.as_ref().and_then(|m| m.as_ref()),
        patch.enabled_tools.as_ref().and_then(|t| t.as_deref()),
        &tools,
    ) {
        return Err(ApiError::field(400, field, message));
    }
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
        let settings = &mut record.settings;
        if let Some(g) = &patch.greeting {
            settings.greeting = g.as_ref().map(|g| g.trim().to_owned());
        }
        if let Some(p) = &patch.prompt_additions {
            settings.prompt_additions = p.as_ref().map(|p| p.trim().to_owned());
        }
        if let Some(v) = &patch.voice {
            settings.voice.clone_from(v);
        }
        if let Some(m) = &patch.model {
            settings.model.clone_from(m);
        }
        if let Some(t) = &patch.enabled_tools {
            settings.enabled_tools.clone_from(t);
        }
        if let Some(o) = patch.ordering {
            settings.ordering = o;
        }
        if let Some(a) = patch.auto_accept_orders {
            settings.auto_accept_orders = a;
        }
        if let Some(r) = patch.print_receipts {
            settings.print_receipts = r;
        }
        record.updated_at = now;
        Some(record)
    })
    .await;
    match result {
        Ok(Some(record)) => Ok(Response::json(200, &BusinessView::of(&record))),
        Ok(None) if !found => Err(ApiError::no_business(id)),
        Ok(None) => Err(StoreError::Backend("business update wrote nothing".into()).into()),
        Err(StoreError::Conflict) => Err(ApiError::refused(
            409,
            "the business changed repeatedly while updating; retry",
        )),
        Err(e) => Err(e.into()),
    }
}

fn section(route: Route) -> sections::Section {
    match route {
        Route::Hours => sections::Section::Hours,
        Route::Delivery => sections::Section::Delivery,
        _ => sections::Section::Faq,
    }
}

/// `POST …/lines`: a number to route to the business.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewLine {
    /// E.164, or as people write it in the restaurant's country.
    #[schemars(length(min = 3, max = 32))]
    pub e164: String,
    #[schemars(length(min = 1, max = 60))]
    pub label: String,
    #[serde(default)]
    #[schemars(range(max = 1000))]
    pub priority: Option<u32>,
}

/// `PATCH …/lines/{phone}`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinePatch {
    #[serde(default)]
    #[schemars(length(min = 1, max = 60))]
    pub label: Option<String>,
    #[serde(default)]
    #[schemars(range(max = 1000))]
    pub priority: Option<u32>,
}

/// A number for the operator's pool (its calls must already reach us; see
/// `hostline_shared::line_pool`).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPoolLine {
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    e164: String,
    /// Vapi's id for the number, when it is registered with Vapi.
    #[serde(default)]
    #[schemars(length(min = 1, max = 100), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    vapi_phone_number_id: Option<String>,
}

fn pool_error(e: hostline_shared::line_pool::PoolError) -> ApiError {
    use hostline_shared::line_pool::PoolError;
    match e {
        PoolError::Exists(_) | PoolError::Routed(_) | PoolError::Taken(_) => {
            ApiError::field(409, "e164", e.to_string())
        }
        PoolError::Missing(_) => ApiError::not_found(e.to_string()),
        PoolError::Store(e) => e.into(),
    }
}

async fn add_pool_line<S: Store>(
    store: &S,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: NewPoolLine = parse_body(body)?;
    let line = parse_phone(&b.e164, "e164")?;
    if let Some(id) = &b.vapi_phone_number_id
        && !valid_vapi_number_id(id)
    {
        return Err(ApiError::field(
            400,
            "vapi_phone_number_id",
            "must be 1-100 letters, digits, '-' or '_'",
        ));
    }
    let added = hostline_shared::line_pool::add(store, line, b.vapi_phone_number_id, now)
        .await
        .map_err(pool_error)?;
    Ok(Response::json(201, &added))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VapiNumber {
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{6,14}$"))]
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
    let line = parse_phone(&v.e164, "e164")?;
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
