//! The call-events handler. The business and line come from the tool credential the assistant
//! carries in its `server.headers` (signed by us for one business and one line), never from the
//! body; a body that names another line is refused.
//!
//! Vapi does not retry a failed event by default, and may deliver events out of order or
//! twice: recording is idempotent and order-free (`hostline_shared::call_log`), and a storage
//! failure is answered 503 so a configured retry (`backoffPlan`) can succeed.

use hostline_shared::api::{ApiError, one_route, tool_credential};
use hostline_shared::blob::{Blobs, KvBlobs};
use hostline_shared::call_log::{self, Caller, VapiCallId};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::outbound::{HttpClient, NoOutbound};
use hostline_shared::outbox::{self, Texting};
use hostline_shared::phone::PhoneE164;
use hostline_shared::pii::PiiKeys;
use hostline_shared::settings::{Settings, twilio_api};
use hostline_shared::store::Store;
use hostline_shared::vapi::{ignored, parse_message};

#[derive(Debug, Clone)]
pub struct Config {
    /// Verifies the per-business credential (`tool_token_key`).
    pub tool_token_key: String,
    /// Hash and seal the caller's number (`pii_hash_key`, `pii_encryption_key`).
    pub pii: PiiKeys,
    /// Sends the business's waiting order texts once a call's event is recorded: the call's
    /// own "order received" text goes out as the call ends (`None`: texts wait).
    pub texts: Option<Texting>,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    let pii = PiiKeys::new(
        &settings.get("pii_hash_key").await,
        &settings.get("pii_encryption_key").await,
    );
    Config {
        tool_token_key: settings.get("tool_token_key").await,
        texts: Texting::configured(twilio_api(settings).await, pii.clone()),
        pii,
    }
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

/// The handler, with transcripts going to `blobs` and texts through `http`.
pub async fn handle_with<S: Store, B: Blobs, H: HttpClient>(
    req: &Request,
    store: &S,
    blobs: &B,
    http: &H,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    let mut recorded_for = None;
    let answer = one_route(req, "/vapi/events", "calls", || {
        events(req, store, blobs, config, now, &mut recorded_for)
    })
    .await;
    // Vapi has its answer's content settled; the texts go out after it.
    if let Some(business) = recorded_for.filter(|_| answer.status < 300) {
        outbox::drain_after(store, http, config.texts.as_ref(), &business, now).await;
    }
    answer
}

async fn events<S: Store, B: Blobs>(
    req: &Request,
    store: &S,
    blobs: &B,
    config: &Config,
    now: jiff::Timestamp,
    recorded_for: &mut Option<BusinessId>,
) -> Result<Response, ApiError> {
    if req.method != Method::Post {
        return Err(ApiError::method_not_allowed());
    }
    let credential = tool_credential(req, &config.tool_token_key, now)?;
    let msg = parse_message(&req.body)?;
    if let Some(named) = &msg.called_number
        && named != &credential.line
    {
        return Err(ApiError::field(
            403,
            "message.phoneNumber.number",
            "names another line than the credential was issued for",
        ));
    }
    let at = msg.timestamp.unwrap_or(now);
    // The body parsed as a Vapi message above; read the event's own fields from it.
    let body: serde_json::Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::refused(400, format!("malformed JSON: {e}")))?;
    let Some(event) = call_log::event_of(&msg.kind, &body, at) else {
        return Ok(ignored());
    };
    let Some(call_id) = msg.call_id.as_deref().and_then(VapiCallId::parse) else {
        return Err(ApiError::field(
            400,
            "message.call.id",
            "missing, or not 1-64 letters, digits, '-' or '_'",
        ));
    };
    // The caller's number is kept only as a keyed hash and sealed (never in the clear).
    let caller = msg
        .customer_number
        .as_deref()
        .and_then(|n| PhoneE164::parse_e164(n).ok())
        .and_then(|n| {
            let mut nonce = [0u8; 12];
            getrandom::fill(&mut nonce).ok()?;
            Caller::of(&config.pii, &n, nonce)
        });
    call_log::record(
        store,
        blobs,
        &credential.business_id,
        Some(&credential.line),
        &call_id,
        &event,
        caller.as_ref(),
    )
    .await?;
    *recorded_for = Some(credential.business_id.clone());
    Ok(ignored())
}
