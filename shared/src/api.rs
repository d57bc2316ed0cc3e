//! The handler prelude every function shares: a [`Router`] (matchit) picks the route, the
//! function's `authorize` turns the request's credential into a [`Principal`] (with the
//! constructors here), the route does its work and returns `Result<Response, ApiError>`, and
//! [`ApiError::into_response`] turns an error into the response, logging once, with the
//! function and route, what the caller is not told.

use crate::auth::jwt::{self, Claims, JwtError, Permission};
use crate::auth::{secret_matches, vapi_request_authorized};
use crate::credential::{CredentialError, ToolCredential};
use crate::http::{Method, Request, Response};
use crate::ids::BusinessId;
use crate::store::StoreError;

/// Who a request comes from, once its credential has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator (`admin_token`): may act for any business named in the path.
    Operator,
    /// Vapi, proven by the shared webhook secret: knows it is Vapi, not which business.
    Vapi,
    /// A tool or event call, proven by a credential bound to one business and line.
    Tool(ToolCredential),
    /// The media relay (`service_token`).
    Relay,
    /// A person with an account (owner, admin or staff), by a verified access token: what
    /// they may do, and where, is in the claims, read without any store access.
    User(Claims),
    /// An API key of one business, by its token (looked up in the store).
    ApiKey(crate::auth::keys::ApiKey),
    /// A paired edge device of one business, by its token (looked up in the store).
    Device(crate::auth::keys::Device),
}

impl Principal {
    /// The operator, by `Authorization: Bearer <admin_token>`.
    pub fn operator(req: &Request, admin_token: &str) -> Result<Principal, ApiError> {
        match req.bearer() {
            Some(t) if secret_matches(t, admin_token) => Ok(Principal::Operator),
            _ => Err(ApiError::unauthorized("missing or invalid bearer token")),
        }
    }

    /// The media relay, by `Authorization: Bearer <service_token>`.
    pub fn relay(req: &Request, service_token: &str) -> Result<Principal, ApiError> {
        match req.bearer() {
            Some(t) if secret_matches(t, service_token) => Ok(Principal::Relay),
            _ => Err(ApiError::unauthorized("missing or invalid service token")),
        }
    }

    /// The operator (`admin_token`) or a person with an access token signed with `jwt_key`,
    /// both as `Authorization: Bearer …`.
    pub fn operator_or_user(
        req: &Request,
        admin_token: &str,
        jwt_key: &str,
        now_unix: i64,
    ) -> Result<Principal, ApiError> {
        let Some(token) = req.bearer() else {
            return Err(ApiError::unauthorized(
                "missing bearer token (Authorization: Bearer <access token>)",
            ));
        };
        if secret_matches(token, admin_token) {
            return Ok(Principal::Operator);
        }
        match jwt::verify(token, jwt_key.as_bytes(), now_unix) {
            Ok(claims) => Ok(Principal::User(claims)),
            Err(JwtError::Expired) => Err(ApiError::unauthorized(
                "the access token has expired; refresh it at /api/v1/auth/refresh",
            )),
            Err(JwtError::Invalid) => Err(ApiError::unauthorized("invalid bearer token")),
            Err(JwtError::NoKey) => {
                eprintln!("jwt_key is not set; refusing every access token");
                Err(ApiError::unauthorized("invalid bearer token"))
            }
        }
    }

    /// Whether this principal may do `permission` in `business`. A person whose token does
    /// not name the business gets the same 404 as for a business that does not exist, so ids
    /// of other tenants cannot be probed; one whose role lacks the permission gets a 403.
    pub fn may(&self, business: &BusinessId, permission: Permission) -> Result<(), ApiError> {
        match self {
            Principal::Operator => Ok(()),
            Principal::User(c) if c.allows(business, permission) => Ok(()),
            Principal::User(c) if c.businesses.contains(business) => {
                Err(ApiError::forbidden(format!(
                    "your role may not do this ({} is needed)",
                    permission.as_str()
                )))
            }
            Principal::User(_) => Err(ApiError::no_business(business)),
            Principal::ApiKey(k) if &k.business != business => Err(ApiError::no_business(business)),
            Principal::ApiKey(k) if k.permissions.contains(&permission) => Ok(()),
            Principal::ApiKey(_) => Err(ApiError::forbidden(format!(
                "this API key may not do this ({} is needed)",
                permission.as_str()
            ))),
            Principal::Device(d) if &d.business != business => Err(ApiError::no_business(business)),
            _ => Err(ApiError::forbidden("not allowed")),
        }
    }

    /// Vapi, by the shared webhook secret in any header Vapi uses for it.
    pub fn vapi(req: &Request, secret: &str) -> Result<Principal, ApiError> {
        if vapi_request_authorized(req, secret) {
            Ok(Principal::Vapi)
        } else {
            Err(ApiError::unauthorized("invalid or missing Vapi secret"))
        }
    }

    /// A tool call, by the credential in
    /// [`TOOL_TOKEN_HEADER`](crate::credential::TOOL_TOKEN_HEADER) signed with `key`.
    pub fn tool(req: &Request, key: &str, now_unix: i64) -> Result<Principal, ApiError> {
        match ToolCredential::from_request(req, key.as_bytes(), now_unix) {
            Ok(c) => Ok(Principal::Tool(c)),
            Err(CredentialError::NoKey) => {
                eprintln!("tool_token_key is not set; refusing every tool call");
                Err(ApiError::unauthorized(
                    "tool calls are not configured on this deployment",
                ))
            }
            Err(e) => Err(ApiError::unauthorized(e.to_string())),
        }
    }
}

/// The tool credential of a tool or event call (the only credential those routes accept:
/// the shared Vapi secret says nothing of which business a call is for).
pub fn tool_credential(
    req: &Request,
    key: &str,
    now: jiff::Timestamp,
) -> Result<ToolCredential, ApiError> {
    match Principal::tool(req, key, now.as_second())? {
        Principal::Tool(credential) => Ok(credential),
        _ => Err(ApiError::forbidden("not a tool credential")),
    }
}

/// Why a route could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A 4xx naming the offending field: `{"error", "field"}`.
    #[error("{field}: {message}")]
    Field {
        status: u16,
        field: String,
        message: String,
    },
    /// A 4xx without a field: `{"error"}`.
    #[error("{message}")]
    Refused { status: u16, message: String },
    /// A 4xx with a body of its own (e.g. a 409 naming the line another business owns).
    #[error("{status}")]
    Body {
        status: u16,
        body: serde_json::Value,
    },
    /// Too many attempts: 429 with `Retry-After` (seconds).
    #[error("{message}")]
    TooMany { message: String, retry_after: i64 },
    /// Storage failed: 503 + `Retry-After` when retrying may help, else an opaque 500.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Storage failed while doing something the log should name (see [`During`]).
    #[error("storage error {during}: {source}")]
    StoreDuring {
        during: String,
        #[source]
        source: StoreError,
    },
}

/// The one mapping of account errors to answers (owner API and onboarding).
impl From<crate::auth::accounts::AuthError> for ApiError {
    fn from(e: crate::auth::accounts::AuthError) -> ApiError {
        use crate::auth::accounts::AuthError;
        match e {
            AuthError::BadCredentials | AuthError::BadPin => ApiError::unauthorized(e.to_string()),
            AuthError::Throttled { retry_after } => ApiError::TooMany {
                message: e.to_string(),
                retry_after,
            },
            AuthError::EmailTaken => ApiError::field(409, "email", e.to_string()),
            AuthError::BusinessTaken => ApiError::field(409, "id", e.to_string()),
            AuthError::Invalid { field, message } => ApiError::field(400, field, message),
            AuthError::BadRefresh => ApiError::field(401, "refresh_token", e.to_string()),
            AuthError::NoKey => {
                eprintln!("jwt_key is not set; accounts cannot sign in");
                ApiError::refused(503, "accounts are not configured on this deployment")
            }
            AuthError::Store(e) => e.into(),
        }
    }
}

/// An import's refusal as an answer: a line another business owns is a 409 naming the
/// document field; a concurrent change is a 409 to retry.
impl From<crate::publish::ImportError> for ApiError {
    fn from(e: crate::publish::ImportError) -> ApiError {
        use crate::publish::ImportError;
        match e {
            ImportError::LineTaken { line, index } => ApiError::Body {
                status: 409,
                body: serde_json::json!({
                    "error": format!("phone line {line} already belongs to another business"),
                    "field": format!("business.phone_lines[{index}].e164"),
                    "line": line.as_str(),
                }),
            },
            ImportError::Busy => ApiError::refused(
                409,
                "another change to this business or one of its lines happened at the same time; retry",
            ),
            ImportError::Store(e) => e.into(),
        }
    }
}

/// A request body that must be a `hostline.restaurant/v1` document, parsed, or a 400 naming
/// the field at fault (`document` when the document as a whole is wrong).
pub fn parse_restaurant(body: &[u8]) -> Result<crate::restaurant::Restaurant, ApiError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(ApiError::refused(400, "request body is not UTF-8 JSON"));
    };
    if text.trim().is_empty() {
        return Err(ApiError::refused(
            400,
            "request body is empty; expected a hostline.restaurant/v1 document",
        ));
    }
    crate::restaurant::Restaurant::parse(text).map_err(|e| {
        let field = if e.path.is_empty() || e.path == "." {
            "document".to_owned()
        } else {
            e.path.clone()
        };
        ApiError::field(400, field, e.message)
    })
}

/// Names what a storage call was doing, for the one log line its failure gets:
/// `store.put(..).await.during(|| format!("marking the stream of {sid}"))?`.
pub trait During<T> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, ApiError>;
}

impl<T> During<T> for Result<T, StoreError> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|source| ApiError::StoreDuring {
            during: what(),
            source,
        })
    }
}

impl ApiError {
    pub fn field(status: u16, field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Field {
            status,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn refused(status: u16, message: impl Into<String>) -> Self {
        ApiError::Refused {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::refused(404, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::refused(401, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::refused(403, message)
    }

    /// The path is a route, the method is not one of its.
    pub fn method_not_allowed() -> Self {
        ApiError::refused(405, "method not allowed on this route")
    }

    /// The one answer for a business that does not exist or is not the caller's.
    pub fn no_business(id: &BusinessId) -> Self {
        ApiError::not_found(format!("no business {id}"))
    }

    /// No route has this path.
    pub fn no_route() -> Self {
        ApiError::refused(404, "no such route")
    }

    /// The response, logging what the caller is not told (storage faults) once, with the
    /// function and route.
    pub fn into_response(self, function: &str, req: &Request) -> Response {
        let method = method_name(req.method);
        match &self {
            ApiError::Store(e) => {
                eprintln!("{function}: storage error on {method} {}: {e}", req.path);
            }
            ApiError::StoreDuring { during, source } => {
                eprintln!(
                    "{function}: storage error {during} on {method} {}: {source}",
                    req.path
                );
            }
            _ => {}
        }
        self.response()
    }

    /// The response alone, logging nothing: for errors that carry everything the caller is
    /// told (routes use [`ApiError::into_response`]).
    pub fn response(self) -> Response {
        match self {
            ApiError::Field {
                status,
                field,
                message,
            } => Response::field_error(status, &field, &message),
            ApiError::Refused { status, message } => Response::error(status, &message),
            ApiError::Body { status, body } => Response::json(status, &body),
            ApiError::TooMany {
                message,
                retry_after,
            } => Response::error(429, &message)
                .with_header("retry-after", &retry_after.max(1).to_string()),
            ApiError::Store(e) | ApiError::StoreDuring { source: e, .. } => {
                Response::storage_error(&e)
            }
        }
    }
}

/// The whole of a function with one route: `path` (a trailing slash is the same route) runs
/// `f`; any other path is the router's 404; an error is answered, and logged, once.
pub async fn one_route<F, Fut>(req: &Request, path: &str, function: &str, f: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    let trimmed = req.path.trim_end_matches('/');
    let answer = if trimmed == path {
        f().await
    } else {
        Err(ApiError::no_route())
    };
    answer.unwrap_or_else(|e| e.into_response(function, req))
}

/// Parse a JSON body into `T`, or a 400 naming the field at fault (`{"error", "field"}`; no
/// field when the body as a whole is wrong: empty, or not JSON).
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::refused(
            400,
            "request body is empty; expected JSON",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            inner.to_string()
        };
        // A missing or unknown field is reported at its parent's path; name the field itself.
        let named = serde_field_named(&msg).map(|(_, f)| f.to_owned());
        let root = path == "." || path.is_empty();
        match (named, root) {
            (Some(f), true) => ApiError::field(400, f, msg),
            (Some(f), false) => ApiError::field(400, format!("{path}.{f}"), msg),
            (None, true) => ApiError::refused(400, msg),
            (None, false) => ApiError::field(400, path, msg),
        }
    })
}

/// The field a serde "unknown / missing / duplicate field `x`" message is about (serde
/// reports these at the parent's path), with the message's prefix.
pub fn serde_field_named(message: &str) -> Option<(&'static str, &str)> {
    ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.strip_prefix(prefix)?;
            let end = rest.find('`')?;
            Some((*prefix, &rest[..end]))
        })
        .filter(|(_, f)| !f.is_empty())
}

pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Other => "OTHER",
    }
}

/// Path → route, with `{name}` parameters (`/api/v1/businesses/{id}`). A path that matches no
/// route is a 404; a trailing slash is not a different route.
pub struct Router<R> {
    inner: matchit::Router<R>,
}

/// A matched route and its path parameters.
pub struct Matched<'r, 'p, R> {
    pub route: &'r R,
    params: matchit::Params<'r, 'p>,
}

impl<R> Matched<'_, '_, R> {
    /// A path parameter (present whenever the route's pattern names it).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or("")
    }
}

impl<R> Router<R> {
    /// Build from `(pattern, route)` pairs; a malformed or conflicting pattern is a bug in the
    /// table and panics at the first request in tests.
    pub fn new(routes: impl IntoIterator<Item = (&'static str, R)>) -> Router<R> {
        let mut inner = matchit::Router::new();
        for (pattern, route) in routes {
            if let Err(e) = inner.insert(pattern, route) {
                panic!("route {pattern}: {e}");
            }
        }
        Router { inner }
    }

    /// The route of `path`, or the 404 to answer.
    pub fn route<'r, 'p>(&'r self, path: &'p str) -> Result<Matched<'r, 'p, R>, ApiError> {
        self.at(path).ok_or_else(ApiError::no_route)
    }

    pub fn at<'r, 'p>(&'r self, path: &'p str) -> Option<Matched<'r, 'p, R>> {
        let path = match path.strip_suffix('/') {
            Some(p) if !p.is_empty() => p,
            _ => path,
        };
        self.inner.at(path).ok().map(|m| Matched {
            route: m.value,
            params: m.params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_with_params_and_trailing_slashes() {
        #[derive(Debug, PartialEq)]
        enum R {
            Business,
            Restaurant,
        }
        let r = Router::new([
            ("/api/v1/businesses/{id}", R::Business),
            ("/api/v1/businesses/{id}/restaurant", R::Restaurant),
        ]);
        let m = r.at("/api/v1/businesses/boba/restaurant/").unwrap();
        assert_eq!((m.route, m.param("id")), (&R::Restaurant, "boba"));
        let m = r.at("/api/v1/businesses/boba").unwrap();
        assert_eq!((m.route, m.param("id")), (&R::Business, "boba"));
        assert!(r.at("/api/v1/businesses").is_none());
        assert!(r.at("/api/v1/businesses/boba/menu").is_none());
    }

    #[test]
    fn storage_errors_are_503_when_retryable_and_never_leak() {
        let req = Request::new(Method::Get, "/x");
        let r = ApiError::Store(StoreError::Backend("disk on fire at /var/x".into()))
            .into_response("test", &req);
        assert_eq!(r.status, 503);
        assert!(
            r.headers
                .iter()
                .any(|(n, v)| n == "retry-after" && v == "1")
        );
        assert!(!r.body_str().contains("disk"));
        let r = ApiError::Store(StoreError::Corrupt("biz/x".into())).into_response("test", &req);
        assert_eq!(r.status, 500);
        assert!(!r.body_str().contains("biz/x"));
        let r = ApiError::field(400, "business_id", "bad").into_response("test", &req);
        assert_eq!(
            (r.status, r.body_str()),
            (400, r#"{"error":"bad","field":"business_id"}"#)
        );
    }
}
