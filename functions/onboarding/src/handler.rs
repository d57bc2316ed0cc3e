//! Routes of the onboarding wizard.
//!
//! | method | path | who | does |
//! |---|---|---|---|
//! | POST | `/api/v1/onboarding` | anyone | a new wizard: `{id, step, secret}` (the secret is shown once) |
//! | GET | `/api/v1/onboarding/{id}` | the wizard's bearer | state, the next step, what each step still needs |
//! | POST | `/api/v1/onboarding/{id}/identify` | secret | `{maps_url?, name?}` |
//! | POST | `/api/v1/onboarding/{id}/confirm` | secret | `{business_id, name, address, timezone, main_line}` |
//! | POST | `/api/v1/onboarding/{id}/verify` | secret | `{send: true, channel?}` sends a code; `{code}` checks it |
//! | POST | `/api/v1/onboarding/{id}/account` | secret | `{email, password, name}`: the owner and the business |
//! | POST | `/api/v1/onboarding/{id}/review` | owner | a restaurant document: imported; the greeting and a sample answer |
//! | POST | `/api/v1/onboarding/{id}/go-live` | owner | `{area_code?}`: a line attached, the business switched on |
//!
//! "secret" is `Authorization: Bearer <the wizard's secret>` until the account step has run;
//! from then on only the owner's access token (or the operator's `admin_token`) opens the
//! wizard. A wrong bearer gets the same 404 as a wizard that does not exist.
//!
//! External calls (Twilio, Vapi, Places) happen after the state that allows them is stored, so
//! a retried step never sends a second code inside the resend window nor buys a second number:
//! go-live records the line it got before attaching it, and a retry reuses that line.

use hostline_shared::api::{ApiError, Router, parse_body, parse_restaurant};
use hostline_shared::auth::accounts::{self, AuthError};
use hostline_shared::auth::jwt::{self, JwtError};
use hostline_shared::auth::secret_matches;
use hostline_shared::auth::tokens::{self, TokenKind};
use hostline_shared::hours::describe_now;
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::knowledge::lint::voice_lint;
use hostline_shared::line_pool;
use hostline_shared::onboarding::requests::{self, Channel};
use hostline_shared::onboarding::{
    Confirmed, Identified, Provisioned, Step, WIZARD_TTL_SECONDS, Wizard, WizardError,
    parse_maps_url,
};
use hostline_shared::outbound::HttpClient;
use hostline_shared::persona;
use hostline_shared::phone::{Country, PhoneE164};
use hostline_shared::providers::ProviderError;
use hostline_shared::providers::places::Places;
use hostline_shared::providers::twilio_api::TwilioApi;
use hostline_shared::providers::vapi_api::{TwilioNumber, VapiApi};
use hostline_shared::publish::{import_at, import_restaurant, load_restaurant};
use hostline_shared::restaurant::PhoneLine;
use hostline_shared::settings::{Settings, twilio_api};
use hostline_shared::store::{Store, StoreError, Version, keys};
use hostline_shared::tenancy::{
    BusinessRecord, learn_vapi_number, read_json, read_json_versioned, to_json, update_json,
};
use hostline_shared::twilio::xml_escape;
use hostline_shared::tz::TimeZoneName;
use serde_json::{Value, json};
use std::sync::LazyLock;

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub admin_token: String,
    /// Signs the owner's tokens from the account step on, and verifies them.
    pub jwt_key: String,
    /// Our public URL: the assistant-request and voice URLs a new line is pointed at.
    pub public_base_url: String,
    /// The secret Vapi sends us for a number we register (`X-Vapi-Secret`).
    pub vapi_secret: String,
    /// Twilio REST (codes, buying numbers); `None` when not configured.
    pub twilio: Option<TwilioApi>,
    /// Given to Vapi with a bought number, so Vapi can answer it.
    pub twilio_auth_token: String,
    /// The number codes are sent from (`twilio_verify_from`).
    pub verify_from: String,
    pub vapi: Option<VapiApi>,
    pub places: Option<Places>,
    /// Seconds of calls a business gets when it goes live without a balance set.
    pub trial_seconds: i64,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    Config {
        admin_token: settings.get("admin_token").await,
        jwt_key: settings.get("jwt_key").await,
        public_base_url: settings.get("public_base_url").await,
        vapi_secret: settings.get("vapi_secret").await,
        twilio: twilio_api(settings).await,
        twilio_auth_token: settings.get("twilio_auth_token").await,
        verify_from: settings.get("twilio_verify_from").await,
        vapi: VapiApi::configured(
            &settings.get("vapi_api_base").await,
            &settings.get("vapi_api_key").await,
        ),
        places: Places::configured(
            &settings.get("places_api_base").await,
            &settings.get("places_api_key").await,
        ),
        trial_seconds: settings.get("trial_seconds").await.parse().unwrap_or(0),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Start,
    Wizard,
    Step,
}

const ROUTES: &[(&str, Route)] = &[
    ("/api/v1/onboarding", Route::Start),
    ("/api/v1/onboarding/{wizard_id}", Route::Wizard),
    ("/api/v1/onboarding/{wizard_id}/{step}", Route::Step),
];

static ROUTER: LazyLock<Router<Route>> = LazyLock::new(|| Router::new(ROUTES.iter().copied()));

/// Every route, with `{step}` spelled out once per step (as the OpenAPI document lists them).
pub fn route_patterns() -> Vec<String> {
    let mut out = vec![
        "/api/v1/onboarding".to_owned(),
        "/api/v1/onboarding/{wizard_id}".to_owned(),
    ];
    out.extend(
        Step::ALL
            .iter()
            .map(|s| format!("/api/v1/onboarding/{{wizard_id}}/{}", s.as_str())),
    );
    out
}

/// Random bytes from the platform (WASI `random` in a component, the OS natively).
fn os_entropy(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the platform's random source failed");
}

pub async fn handle<S: Store, H: HttpClient>(
    req: &Request,
    store: &S,
    http: &H,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    route(req, store, http, config, now)
        .await
        .unwrap_or_else(|e| e.into_response("onboarding", req))
}

async fn route<S: Store, H: HttpClient>(
    req: &Request,
    store: &S,
    http: &H,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let m = ROUTER.route(&req.path)?;
    match (m.route, req.method) {
        (Route::Start, Method::Post) => start(store, req, now).await,
        (Route::Wizard, Method::Get) => {
            let (w, _) = load(store, m.param("wizard_id")).await?;
            authorize(&w, req, config, now)?;
            if w.expired(now.as_second()) {
                return Err(wizard_error(WizardError::Expired));
            }
            Ok(Response::json(200, &view(&w)))
        }
        (Route::Step, Method::Post) => {
            let Some(step) = Step::parse(m.param("step")) else {
                return Err(ApiError::field(
                    404,
                    "step",
                    "no such step: identify, confirm, verify, account, review or go-live",
                ));
            };
            let (mut w, version) = load(store, m.param("wizard_id")).await?;
            authorize(&w, req, config, now)?;
            w.begin(step, now.as_second()).map_err(wizard_error)?;
            let steps = Steps {
                store,
                http,
                config,
                req,
                now,
            };
            match step {
                Step::Identify => steps.identify(&mut w, version).await,
                Step::Confirm => steps.confirm(&mut w, version).await,
                Step::Verify => steps.verify(&mut w, version).await,
                Step::Account => steps.account(&mut w, version).await,
                Step::Review => steps.review(&mut w, version).await,
                Step::GoLive => steps.go_live(&mut w, version).await,
            }
        }
        (Route::Start | Route::Wizard | Route::Step, _) => Err(ApiError::method_not_allowed()),
    }
}

/// The wizard as its owner sees it: the state machine's summary and when it expires.
fn view(w: &Wizard) -> Value {
    let mut v = w.summary();
    v["expires_at"] = json!(
        jiff::Timestamp::from_second(w.created_at + WIZARD_TTL_SECONDS)
            .map(|t| t.to_string())
            .unwrap_or_default()
    );
    v
}

/// Wizards one client address may start per 15 minutes.
const STARTS_PER_ADDRESS: u32 = 10;
/// Codes one client address, and one destination number, may be sent per 15 minutes (a
/// wizard allows 5; these stop many wizards being used to text or call one number, or to
/// pump messages from one address).
const CODES_PER_ADDRESS: u32 = 10;
const CODES_PER_NUMBER: u32 = 5;

/// Count one use of a rate-limited scope: 429 when it is used up (the `limit`-th use within 15
/// minutes closes it for 15 minutes).
async fn rate_limit<S: Store>(
    store: &S,
    scope: &str,
    limit: u32,
    what: &str,
    now: jiff::Timestamp,
) -> Result<(), ApiError> {
    if let Some(until) = accounts::locked_until(store, scope, now).await? {
        return Err(ApiError::TooMany {
            message: format!("too many {what}; try again later"),
            retry_after: until - now.as_second(),
        });
    }
    accounts::record_failure(store, scope, limit, now).await?;
    Ok(())
}

async fn start<S: Store>(
    store: &S,
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    if let Some(ip) = req.client_ip() {
        let scope = keys::throttle("onboarding-addr", &tokens::digest(&ip));
        rate_limit(
            store,
            &scope,
            STARTS_PER_ADDRESS,
            "onboardings from this address",
            now,
        )
        .await?;
    }
    let id = tokens::new_id("ob_", &mut os_entropy);
    let secret = tokens::mint(TokenKind::Onboarding, &mut os_entropy);
    let w = Wizard::new(id.clone(), tokens::digest(&secret), now.as_second());
    match store
        .compare_and_swap(&keys::onboarding(&id), None, &to_json(&w)?)
        .await
    {
        Ok(()) => {}
        // 64 random bits colliding: say so rather than overwrite someone's wizard.
        Err(StoreError::Conflict) => {
            return Err(ApiError::refused(409, "try again"));
        }
        Err(e) => return Err(e.into()),
    }
    let mut body = view(&w);
    body["secret"] = json!(secret);
    Ok(Response::json(201, &body).with_header("location", &format!("/api/v1/onboarding/{id}")))
}

async fn load<S: Store>(store: &S, id: &str) -> Result<(Wizard, Version), ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "no onboarding {}",
            id.chars().take(40).collect::<String>()
        ))
    };
    if !tokens::is_id("ob_", id) {
        return Err(missing());
    }
    read_json_versioned::<_, Wizard>(store, &keys::onboarding(id))
        .await?
        .ok_or_else(missing)
}

/// Store the wizard if nobody changed it since `version` was read; its new version.
async fn save<S: Store>(store: &S, w: &Wizard, version: Version) -> Result<Version, ApiError> {
    let bytes = to_json(w)?;
    match store
        .compare_and_swap(&keys::onboarding(&w.id), Some(version), &bytes)
        .await
    {
        Ok(()) => Ok(Version::of(&bytes)),
        Err(StoreError::Conflict) => Err(ApiError::refused(
            409,
            "this onboarding changed at the same time in another request; look at it again and retry",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The wizard's secret before the account exists; the owner's access token after; the
/// operator always. A bearer that is none of these gets the 404 of a missing wizard.
fn authorize(
    w: &Wizard,
    req: &Request,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<(), ApiError> {
    let Some(bearer) = req.bearer() else {
        return Err(ApiError::unauthorized(
            "missing bearer token: the onboarding secret, or once the account exists, the owner's access token",
        ));
    };
    if secret_matches(bearer, &config.admin_token) {
        return Ok(());
    }
    let hidden = || ApiError::not_found(format!("no onboarding {}", w.id));
    match &w.owner {
        None if tokens::well_formed(TokenKind::Onboarding, bearer)
            && secret_matches(&tokens::digest(bearer), &w.secret_digest) =>
        {
            Ok(())
        }
        None => Err(hidden()),
        Some(owner) => {
            if tokens::well_formed(TokenKind::Onboarding, bearer)
                && secret_matches(&tokens::digest(bearer), &w.secret_digest)
            {
                return Err(ApiError::unauthorized(
                    "the owner account exists: sign in (/api/v1/auth/login) and use its access token",
                ));
            }
            // (The operator's token was taken above.) An expired token says so; a token that
            // is not the owner's looks like no wizard.
            match jwt::verify(bearer, config.jwt_key.as_bytes(), now.as_second()) {
                Ok(c) if &c.sub == owner => Ok(()),
                Err(JwtError::Expired) => Err(ApiError::unauthorized(
                    "the access token has expired; refresh it at /api/v1/auth/refresh",
                )),
                _ => Err(hidden()),
            }
        }
    }
}

fn wizard_error(e: WizardError) -> ApiError {
    let message = e.to_string();
    match e {
        WizardError::TooEarly { next, .. } => ApiError::Body {
            status: 409,
            body: json!({"error": message, "next_step": next}),
        },
        WizardError::Settled { .. } | WizardError::Finished => ApiError::refused(409, message),
        WizardError::Expired => ApiError::refused(410, message),
        WizardError::Code(m) if m.starts_with("too many") => ApiError::TooMany {
            message,
            retry_after: hostline_shared::onboarding::CODE_TTL_SECONDS,
        },
        WizardError::Code(m) if m.starts_with("a code was sent") => ApiError::TooMany {
            message,
            retry_after: hostline_shared::onboarding::RESEND_AFTER_SECONDS,
        },
        WizardError::Code(m) if m.contains("already verified") => ApiError::refused(409, message),
        WizardError::Code(_) => ApiError::field(400, "code", message),
    }
}

/// A failed call to another service: a refusal about the input names the field; anything
/// else is a 502 that says which service failed (its own words, never our credentials).
fn provider_error(e: ProviderError, field: &str) -> ApiError {
    eprintln!("onboarding: {}", redact_numbers(&e.to_string()));
    match &e {
        ProviderError::Refused { status, .. } if (400..500).contains(status) && *status != 401 => {
            ApiError::field(422, field, e.to_string())
        }
        _ => ApiError::refused(502, e.to_string()),
    }
}

/// A service's message with every run of 7 or more digits (a phone number, spaced or not)
/// masked, so no number reaches the log.
fn redact_numbers(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < chars.len() {
        // A run of digits, allowing the separators people and services write numbers with.
        let mut j = i;
        let mut digits = 0;
        while j < chars.len()
            && (chars[j].is_ascii_digit() || (digits > 0 && " -().".contains(chars[j])))
        {
            digits += usize::from(chars[j].is_ascii_digit());
            j += 1;
        }
        if digits >= 7 {
            out.push_str("[number]");
            // Keep a separator the run swallowed at its end (", " or " ").
            while j > i && !chars[j - 1].is_ascii_digit() {
                j -= 1;
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A service the step needs is not set up by the operator (no `Retry-After`: configuration
/// does not change in seconds).
fn not_configured(what: &str) -> ApiError {
    ApiError::refused(503, format!("{what} is not configured on this server"))
}

/// One step's request and what it may use.
struct Steps<'a, S, H> {
    store: &'a S,
    http: &'a H,
    config: &'a Config,
    req: &'a Request,
    now: jiff::Timestamp,
}

impl<S: Store, H: HttpClient> Steps<'_, S, H> {
    fn now(&self) -> i64 {
        self.now.as_second()
    }

    fn answer(&self, status: u16, w: &Wizard, mut extra: Value) -> Response {
        extra["onboarding"] = view(w);
        Response::json(status, &extra)
    }

    async fn identify(&self, w: &mut Wizard, version: Version) -> Result<Response, ApiError> {
        let b: requests::Identify = parse_body(&self.req.body)?;
        let name = b.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let mut found = Identified {
            name: String::new(),
            place_id: None,
            lat: None,
            lng: None,
            address: None,
            phone: None,
        };
        let mut candidates = Vec::new();
        let mut warning = None;
        if let Some(url) = &b.maps_url {
            let place = parse_maps_url(url).map_err(|m| ApiError::field(400, "maps_url", m))?;
            found.name = place.name.unwrap_or_default();
            found.place_id = place.place_id;
            found.lat = place.lat;
            found.lng = place.lng;
        }
        if let Some(n) = name {
            found.name = n.chars().take(200).collect();
        }
        if found.name.is_empty() {
            return Err(ApiError::field(
                400,
                if b.maps_url.is_some() {
                    "name"
                } else {
                    "maps_url"
                },
                if b.maps_url.is_some() {
                    "the link names no place name; add the restaurant's name"
                } else {
                    "give a Google Maps link to the restaurant, or its name"
                },
            ));
        }
        // A name without a place: ask Places, when configured, and suggest what it finds.
        if found.place_id.is_none()
            && let Some(places) = &self.config.places
        {
            match places.search(self.http, &found.name).await {
                Ok(list) => candidates = list,
                Err(e) => {
                    eprintln!("onboarding: {}", redact_numbers(&e.to_string()));
                    warning = Some("the place search is unavailable; confirm the details by hand");
                }
            }
            if let Some(best) = candidates.first() {
                found.place_id = Some(best.place_id.clone());
                found.lat = best.lat;
                found.lng = best.lng;
                found.address = best.address.clone();
                found.phone = best.phone.clone();
            }
        }
        w.complete_identify(found, self.now());
        save(self.store, w, version).await?;
        let mut extra = json!({"candidates": candidates});
        if let Some(m) = warning {
            extra["warning"] = json!(m);
        }
        Ok(self.answer(200, w, extra))
    }

    async fn confirm(&self, w: &mut Wizard, version: Version) -> Result<Response, ApiError> {
        let b: requests::Confirm = parse_body(&self.req.body)?;
        let business_id = BusinessId::parse(&b.business_id)
            .map_err(|e| ApiError::field(400, "business_id", e.to_string()))?;
        let name = accounts::normalize_name(&b.name, "name")?;
        let address = b.address.trim();
        if address.is_empty() || address.chars().count() > 300 {
            return Err(ApiError::field(400, "address", "must be 1-300 characters"));
        }
        let timezone = TimeZoneName::parse(b.timezone.trim())
            .map_err(|e| ApiError::field(400, "timezone", e.to_string()))?;
        let main_line = PhoneE164::parse(&b.main_line, Country::US)
            .map_err(|e| ApiError::field(400, "main_line", e.to_string()))?;
        // An id another business already has is refused now, not at the account step.
        if let Some(existing) =
            read_json::<_, BusinessRecord>(self.store, &keys::business(&business_id)).await?
            && (w.owner.is_none() || existing.owner != w.owner)
        {
            return Err(ApiError::field(
                409,
                "business_id",
                format!("{business_id} is taken; choose another id"),
            ));
        }
        w.complete_confirm(
            Confirmed {
                business_id,
                name,
                address: address.to_owned(),
                timezone: timezone.as_str().to_owned(),
                main_line,
            },
            self.now(),
        );
        save(self.store, w, version).await?;
        Ok(self.answer(200, w, json!({})))
    }

    async fn verify(&self, w: &mut Wizard, version: Version) -> Result<Response, ApiError> {
        let b: requests::Verify = parse_body(&self.req.body)?;
        let confirmed = w
            .confirmed
            .clone()
            .ok_or_else(|| wizard_error(WizardError::Finished))?;
        match (b.send, b.code) {
            (true, None) => {
                let Some(twilio) = &self.config.twilio else {
                    return Err(not_configured("sending codes (twilio_account_sid)"));
                };
                let Ok(from) = PhoneE164::parse_e164(&self.config.verify_from) else {
                    return Err(not_configured("sending codes (twilio_verify_from)"));
                };
                let code = six_digits();
                w.code_sent(code_digest(&w.id, &code), self.now())
                    .map_err(wizard_error)?;
                let to = keys::throttle("code-to", &tokens::digest(confirmed.main_line.as_str()));
                rate_limit(
                    self.store,
                    &to,
                    CODES_PER_NUMBER,
                    "codes to this number",
                    self.now,
                )
                .await?;
                if let Some(ip) = self.req.client_ip() {
                    let from = keys::throttle("code-addr", &tokens::digest(&ip));
                    rate_limit(
                        self.store,
                        &from,
                        CODES_PER_ADDRESS,
                        "codes from this address",
                        self.now,
                    )
                    .await?;
                }
                // Stored before it is sent: a lost answer never lets a second code out early.
                save(self.store, w, version).await?;
                let channel = b.channel.unwrap_or(Channel::Sms);
                let sent = match channel {
                    Channel::Sms => {
                        let text = format!(
                            "Your Hostline code for {} is {code}. It expires in 10 minutes.",
                            confirmed.name
                        );
                        twilio
                            .send_sms(self.http, &from, &confirmed.main_line, &text)
                            .await
                    }
                    Channel::Voice => {
                        let twiml = voice_code(&confirmed.name, &code);
                        twilio
                            .call_with_twiml(self.http, &from, &confirmed.main_line, &twiml)
                            .await
                    }
                };
                sent.map_err(|e| provider_error(e, "main_line"))?;
                Ok(self.answer(
                    202,
                    w,
                    json!({
                        "sent_to": confirmed.main_line,
                        "channel": match channel { Channel::Sms => "sms", Channel::Voice => "voice" },
                    }),
                ))
            }
            (false, Some(code)) => {
                if code.len() != 6 || !code.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(ApiError::field(400, "code", "must be the 6 digits sent"));
                }
                let matches = w
                    .verification
                    .as_ref()
                    .is_some_and(|v| secret_matches(&code_digest(&w.id, &code), &v.code_digest));
                let outcome = w.code_entered(matches, self.now());
                // A wrong code counts, so the count is stored whatever the outcome.
                save(self.store, w, version).await?;
                outcome.map_err(wizard_error)?;
                Ok(self.answer(200, w, json!({"verified": true})))
            }
            _ => Err(ApiError::refused(
                400,
                "send {\"send\": true} for a code, or {\"code\": \"123456\"} to check one",
            )),
        }
    }

    async fn account(&self, w: &mut Wizard, version: Version) -> Result<Response, ApiError> {
        let b: requests::Account = parse_body(&self.req.body)?;
        if w.owner.is_some() {
            return Err(ApiError::refused(
                409,
                "the owner account exists: sign in at /api/v1/auth/login and continue with review",
            ));
        }
        let confirmed = w
            .confirmed
            .clone()
            .ok_or_else(|| wizard_error(WizardError::Finished))?;
        let key = self.config.jwt_key.as_bytes();
        let (user, pair) = match accounts::signup(
            self.store,
            key,
            &b.email,
            &b.password,
            &b.name,
            self.now,
            &mut os_entropy,
        )
        .await
        {
            Ok(done) => done,
            // An existing owner adds this restaurant by proving the account is theirs (the
            // login throttles apply); also how a retried account step finishes.
            Err(AuthError::EmailTaken) => {
                let pair = accounts::login(
                    self.store,
                    key,
                    &b.email,
                    &b.password,
                    self.req.client_ip().as_deref(),
                    self.now,
                    &mut os_entropy,
                )
                .await?;
                let user = accounts::user_by_email(self.store, &b.email)
                    .await?
                    .ok_or(AuthError::BadCredentials)?;
                (user, pair)
            }
            Err(e) => return Err(e.into()),
        };
        let (_, user) = accounts::create_business(
            self.store,
            &user.id,
            &confirmed.business_id,
            &confirmed.name,
            self.now,
        )
        .await
        .map_err(|e| match e {
            AuthError::BusinessTaken => ApiError::field(
                409,
                "business_id",
                format!("{} is taken; confirm another id", confirmed.business_id),
            ),
            e => e.into(),
        })?;
        w.complete_account(user.id.clone(), self.now());
        save(self.store, w, version).await?;
        audit(
            self.store,
            &confirmed.business_id,
            &user.id,
            "business.create",
            json!({"onboarding": w.id}),
            self.now,
        )
        .await;
        // A token naming the new business (the sign-up one was minted before it existed).
        let access_token = jwt::issue(&user.claims(self.now()), key)
            .map_err(|_| ApiError::from(AuthError::NoKey))?;
        Ok(self.answer(
            201,
            w,
            json!({
                "access_token": access_token,
                "refresh_token": pair.refresh_token,
                "token_type": "Bearer",
                "expires_in": pair.expires_in,
                "user": user.public(),
                "business_id": confirmed.business_id,
            }),
        ))
    }

    async fn review(&self, w: &mut Wizard, version: Version) -> Result<Response, ApiError> {
        let doc = parse_restaurant(&self.req.body)?;
        let confirmed = w
            .confirmed
            .clone()
            .ok_or_else(|| wizard_error(WizardError::Finished))?;
        let business = &confirmed.business_id;
        let record = read_json::<_, BusinessRecord>(self.store, &keys::business(business))
            .await?
            .ok_or_else(|| ApiError::no_business(business))?;
        // Advice, not refusals: what the voice-lint finds, and where the document disagrees
        // with what the owner confirmed.
        let lint = voice_lint(&doc);
        let mut differences = Vec::new();
        let b = &doc.business;
        for (field, confirmed_value, document) in [
            ("business.name", confirmed.name.as_str(), b.name.as_str()),
            (
                "business.timezone",
                confirmed.timezone.as_str(),
                b.timezone.as_str(),
            ),
            (
                "business.address",
                confirmed.address.as_str(),
                b.address.as_str(),
            ),
        ] {
            if !confirmed_value.eq_ignore_ascii_case(document.trim()) {
                differences.push(
                    json!({"field": field, "confirmed": confirmed_value, "document": document}),
                );
            }
        }
        let greeting = persona::greeting(&doc, &record.settings);
        let sample = describe_now(&doc, self.now);
        let outcome = import_restaurant(self.store, business, doc, self.now).await?;
        w.complete_review(outcome.record.revision, self.now());
        save(self.store, w, version).await?;
        audit(
            self.store,
            business,
            w.owner.as_deref().unwrap_or("operator"),
            "restaurant.import",
            json!({"revision": outcome.record.revision, "onboarding": w.id}),
            self.now,
        )
        .await;
        Ok(self.answer(
            200,
            w,
            json!({
                "revision": outcome.record.revision,
                "items": outcome.items,
                "greeting": greeting,
                "sample": {"question": "Are you open right now?", "answer": sample},
                "voice_lint": lint,
                "differences": differences,
            }),
        ))
    }

    async fn go_live(&self, w: &mut Wizard, version: Version) -> Result<Response, ApiError> {
        let b: requests::GoLive = if self.req.body.is_empty() {
            requests::GoLive::default()
        } else {
            parse_body(&self.req.body)?
        };
        let confirmed = w
            .confirmed
            .clone()
            .ok_or_else(|| wizard_error(WizardError::Finished))?;
        let business = confirmed.business_id.clone();
        let mut version = version;

        // 1. A line: the one got before (a retry), the operator's pool, or a bought one.
        if w.provisioned.is_none() {
            let got = match line_pool::take(self.store, &business, self.now).await? {
                Some(line) => Provisioned {
                    e164: line.e164,
                    source: "pool".into(),
                    twilio_sid: None,
                    vapi_phone_number_id: line.vapi_phone_number_id,
                },
                None => self.buy_line(&confirmed, b.area_code.as_deref()).await?,
            };
            w.provisioned = Some(got);
            w.updated_at = self.now();
            version = save(self.store, w, version).await?;
        }
        let Some(mut provisioned) = w.provisioned.clone() else {
            return Err(ApiError::refused(409, "no line was got for go-live; retry"));
        };

        // 2. A bought number answers through Vapi when Vapi is configured.
        if provisioned.source == "twilio"
            && provisioned.vapi_phone_number_id.is_none()
            && let Some(vapi) = &self.config.vapi
            && let Some(twilio) = &self.config.twilio
        {
            let server_url = format!(
                "{}/vapi/assistant-request",
                self.config.public_base_url.trim_end_matches('/')
            );
            let id = vapi
                .register_twilio_number(
                    self.http,
                    &TwilioNumber {
                        number: &provisioned.e164,
                        twilio_account_sid: twilio.account().as_str(),
                        twilio_auth_token: &self.config.twilio_auth_token,
                        name: &confirmed.name,
                        server_url: &server_url,
                        server_secret: &self.config.vapi_secret,
                    },
                )
                .await
                .map_err(|e| provider_error(e, "line"))?;
            provisioned.vapi_phone_number_id = Some(id);
            w.provisioned = Some(provisioned.clone());
            w.updated_at = self.now();
            version = save(self.store, w, version).await?;
        }
        if let Some(id) = &provisioned.vapi_phone_number_id {
            learn_vapi_number(self.store, id, &provisioned.e164).await?;
        }

        // 3. The line joins the restaurant's document (one commit: the import's), then the
        //    business is switched on.
        let record = read_json::<_, BusinessRecord>(self.store, &keys::business(&business))
            .await?
            .ok_or_else(|| ApiError::no_business(&business))?;
        if !record.lines.contains(&provisioned.e164) {
            let Some(mut doc) = load_restaurant(self.store, &record).await? else {
                return Err(ApiError::refused(
                    409,
                    "review comes first: import the restaurant",
                ));
            };
            doc.business.phone_lines.push(PhoneLine {
                e164: provisioned.e164.clone(),
                label: "Hostline".into(),
                priority: 0,
            });
            import_at(self.store, &business, doc, self.now, Some(record.revision)).await?;
        }
        let trial = self.config.trial_seconds.max(0);
        let record =
            update_json::<_, BusinessRecord, _>(self.store, &keys::business(&business), |r| {
                let mut r = r?;
                r.active = true;
                if r.balance_seconds.is_none() {
                    r.balance_seconds = Some(trial);
                }
                r.updated_at = self.now;
                Some(r)
            })
            .await?
            .ok_or_else(|| ApiError::no_business(&business))?;

        w.complete_go_live(provisioned.e164.clone(), self.now());
        save(self.store, w, version).await?;
        audit(
            self.store,
            &business,
            w.owner.as_deref().unwrap_or("operator"),
            "business.go_live",
            json!({"line": provisioned.e164, "source": provisioned.source, "onboarding": w.id}),
            self.now,
        )
        .await;
        Ok(self.answer(
            200,
            w,
            json!({
                "business_id": business,
                "line": provisioned.e164,
                "source": provisioned.source,
                "vapi_phone_number_id": provisioned.vapi_phone_number_id,
                "active": record.active,
                "balance_seconds": record.balance_seconds,
            }),
        ))
    }

    /// Buy a local number (the main line's area code first, for North American lines).
    async fn buy_line(
        &self,
        confirmed: &Confirmed,
        area_code: Option<&str>,
    ) -> Result<Provisioned, ApiError> {
        let Some(twilio) = &self.config.twilio else {
            return Err(not_configured(
                "the operator's line pool is empty, and buying numbers (twilio_account_sid)",
            ));
        };
        let main = confirmed.main_line.as_str();
        let (country, own_area) = match main.strip_prefix("+1") {
            Some(rest) if rest.len() == 10 => ("US", Some(&rest[..3])),
            _ => ("US", None),
        };
        let wanted = area_code.or(own_area);
        let mut numbers = twilio
            .available_local(self.http, country, wanted)
            .await
            .map_err(|e| provider_error(e, "area_code"))?;
        if numbers.is_empty() && wanted.is_some() {
            numbers = twilio
                .available_local(self.http, country, None)
                .await
                .map_err(|e| provider_error(e, "area_code"))?;
        }
        let Some(number) = numbers.first() else {
            return Err(ApiError::refused(
                502,
                "Twilio has no local numbers for sale right now; retry later",
            ));
        };
        // Without Vapi the relay path answers: the number's calls come to /twilio/voice.
        let voice_url = self.config.vapi.is_none().then(|| {
            format!(
                "{}/twilio/voice",
                self.config.public_base_url.trim_end_matches('/')
            )
        });
        let owned = twilio
            .buy_number(
                self.http,
                number,
                voice_url.as_deref(),
                &format!("Hostline {}", confirmed.business_id),
            )
            .await
            .map_err(|e| provider_error(e, "area_code"))?;
        Ok(Provisioned {
            e164: owned.e164,
            source: "twilio".into(),
            twilio_sid: Some(owned.sid),
            vapi_phone_number_id: None,
        })
    }
}

/// The audit entry of a wizard step that changed the business (best effort, after the change
/// committed: the step's own answer does not depend on it).
async fn audit<S: Store>(
    store: &S,
    business: &BusinessId,
    actor: &str,
    action: &str,
    detail: Value,
    now: jiff::Timestamp,
) {
    let nonce: [u8; 4] = tokens::random(&mut os_entropy);
    let entry = hostline_shared::audit::AuditEntry {
        at: now,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: None,
        detail,
    };
    if let Err(e) =
        hostline_shared::audit::record(store, business, &entry, u32::from_le_bytes(nonce)).await
    {
        eprintln!("onboarding: could not write the audit entry {action} for {business}: {e}");
    }
}

/// A uniformly random 6-digit code.
fn six_digits() -> String {
    loop {
        let b: [u8; 4] = tokens::random(&mut os_entropy);
        let n = u32::from_be_bytes(b);
        // Reject the top sliver so every code is equally likely.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// What is stored of a code: bound to the wizard, so one digest never matches elsewhere.
fn code_digest(wizard: &str, code: &str) -> String {
    tokens::digest(&format!("{wizard}:{code}"))
}

/// The call that reads a code out, twice, digit by digit.
fn voice_code(name: &str, code: &str) -> String {
    let digits: Vec<String> = code.chars().map(String::from).collect();
    let spoken = digits.join(", ");
    format!(
        "<Response><Say>Hello. This is Hostline, setting up the phone host for {}. Your code is {spoken}. Again, your code is {spoken}. Goodbye.</Say></Response>",
        xml_escape(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_bound_to_their_wizard() {
        for _ in 0..100 {
            let c = six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_ne!(code_digest("ob_a", "123456"), code_digest("ob_b", "123456"));
    }

    #[test]
    fn logged_messages_lose_phone_numbers_but_keep_other_numbers() {
        assert_eq!(
            redact_numbers("The 'To' number +1 312-555-0100 is not a valid phone number."),
            "The 'To' number +[number] is not a valid phone number."
        );
        assert_eq!(
            redact_numbers("Twilio refused the request (400): error 21211, see +13125550100"),
            "Twilio refused the request (400): error 21211, see +[number]"
        );
    }

    #[test]
    fn the_voice_code_reads_each_digit_and_escapes_the_name() {
        let t = voice_code("Tom & Jerry's", "120034");
        assert!(t.contains("1, 2, 0, 0, 3, 4"), "{t}");
        assert!(t.contains("Tom &amp; Jerry"), "{t}");
    }
}
