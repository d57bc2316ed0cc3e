//! The voice webhook and status callbacks. Both are authenticated by `X-Twilio-Signature`,
//! computed over `public_base_url` + the request path: the URL is ours, never taken from
//! request headers a caller controls.

use crate::handler::Config;
use hostline_shared::api::{ApiError, During};
use hostline_shared::calls::{AccountSid, CallRecord, CallSid, Disposition, StatusEvent};
use hostline_shared::http::{Request, Response};
use hostline_shared::phone::PhoneE164;
use hostline_shared::publish::load_restaurant;
use hostline_shared::relay::{STREAM_TOKEN_TTL_SECONDS, StreamToken, params};
use hostline_shared::store::{Store, StoreError, keys};
use hostline_shared::tenancy::{LineRoute, resolve_line, update_json};
use hostline_shared::twilio::{Form, signature_valid, twiml};

/// Said if the media stream ends while the caller is still on the line: the relay could not be
/// reached or the stream was cut. (When the relay itself hands the call on, the TwiML is
/// replaced and this is never reached.)
pub const CUT_OFF: &str =
    "Sorry, this call was cut off. Please call us back if you need anything else.";

/// Spoken when a line's business is metered and has used up its time.
pub const OUT_OF_BALANCE: &str =
    "Sorry, our phone assistant is unavailable right now. Please try again later.";
/// Spoken when the relay is not configured: a deployment fault, not the caller's.
pub const NOT_CONFIGURED: &str =
    "Sorry, we can't take your call right now. Please try again in a few minutes.";

fn xml(body: String) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: body.into_bytes(),
    }
}

/// The signed URL Twilio called: our public base URL, the path, and the query string if any.
fn public_url(config: &Config, req: &Request) -> String {
    let base = config.public_base_url.trim_end_matches('/');
    match &req.query {
        Some(q) => format!("{base}{}?{q}", req.path),
        None => format!("{base}{}", req.path),
    }
}

/// The form Twilio sent, once its `X-Twilio-Signature` verifies over our URL and the form:
/// what authorises Twilio's routes.
pub fn signed_form(req: &Request, config: &Config) -> Result<Form, ApiError> {
    let form = Form::parse(&req.body);
    let signature = req.header("x-twilio-signature").unwrap_or("");
    if !signature_valid(
        &config.twilio_auth_token,
        &public_url(config, req),
        &form,
        signature,
    ) {
        return Err(ApiError::forbidden("invalid or missing X-Twilio-Signature"));
    }
    Ok(form)
}

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, ApiError> {
    form.get(name)
        .ok_or_else(|| ApiError::field(400, name, format!("{name} is required")))
}

/// A webhook's `CallSid` (present and well-formed) and one more required field.
fn verified_call<'a>(form: &'a Form, other: &str) -> Result<(CallSid, &'a str), ApiError> {
    let other = required(form, other)?;
    let call_sid = CallSid::parse(required(form, "CallSid")?)
        .map_err(|e| ApiError::field(400, "CallSid", e.to_string()))?;
    Ok((call_sid, other))
}

/// The answer to a webhook for a call that already streamed (a replay, or a retry that came
/// too late): end the call, mint nothing.
fn hang_up() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>"#.to_owned()
}

/// `POST /twilio/voice`: answer the call with a stream to the relay, or a spoken refusal.
pub async fn incoming_call<S: Store>(
    form: &Form,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let (call_sid, to) = verified_call(form, "To")?;
    let account_sid = AccountSid::parse(required(form, "AccountSid")?)
        .map_err(|e| ApiError::field(400, "AccountSid", e.to_string()))?;
    // A `To` that is not a phone number (a SIP URI, a client name) cannot be one of our lines.
    let Ok(line) = PhoneE164::parse_e164(to) else {
        return Ok(xml(twiml::reject()));
    };
    match answer(store, config, &line, &call_sid, &account_sid, now).await {
        Ok(r) => Ok(r),
        Err(e) => {
            // The caller hears an apology rather than Twilio's application-error message.
            eprintln!("twilio-voice: storage error on call {call_sid}: {e}");
            Ok(xml(twiml::say_and_hang_up(NOT_CONFIGURED)))
        }
    }
}

/// Decides what the call gets, keeps the first record of it (Twilio retries a webhook that
/// timed out; a replayed one is a retry too), and answers from that first record: a retry
/// before the stream started gets the same token back, one after it a hang-up.
async fn answer<S: Store>(
    store: &S,
    config: &Config,
    line: &PhoneE164,
    call_sid: &CallSid,
    account_sid: &AccountSid,
    now: jiff::Timestamp,
) -> Result<Response, StoreError> {
    let (business, disposition) = match resolve_line(store, Some(line), None).await? {
        // Nobody owns the line: refuse before answering, so nobody is billed.
        LineRoute::Unknown => return Ok(xml(twiml::reject())),
        LineRoute::Inactive { business, .. } => (business, Disposition::Inactive),
        LineRoute::Active { business, .. } if business.out_of_balance() => {
            (business, Disposition::OutOfBalance)
        }
        LineRoute::Active { business, .. } => {
            if config.relay_url.is_empty() || config.relay_token_key.is_empty() {
                eprintln!(
                    "twilio-voice: relay_url or relay_token_key is not set; refusing call {call_sid}"
                );
                (business, Disposition::NotConfigured)
            } else {
                (business, Disposition::Connected)
            }
        }
    };
    let fresh = CallRecord {
        call_sid: call_sid.clone(),
        business_id: business.id.clone(),
        line: Some(line.clone()),
        account_sid: Some(account_sid.clone()),
        created_at: now,
        disposition,
        stream_started_at: None,
        statuses: Vec::new(),
        usage: None,
    };
    let mut first: Option<CallRecord> = None;
    update_json::<_, CallRecord, _>(store, &keys::call(&business.id, call_sid), |current| {
        match current {
            Some(existing) => {
                first = Some(existing);
                None
            }
            None => {
                first = None;
                Some(fresh.clone())
            }
        }
    })
    .await?;
    let retried = first.is_some();
    let record = first.unwrap_or(fresh);
    if record.streamed() {
        eprintln!("twilio-voice: webhook for {call_sid}, which already streamed: hanging up");
        return Ok(xml(hang_up()));
    }
    if retried {
        eprintln!("twilio-voice: webhook retried for {call_sid}: answering as the first time");
    }
    let reply = match record.disposition {
        Disposition::Connected => match stream_twiml(config, &record, account_sid) {
            Some(t) => t,
            None => twiml::say_and_hang_up(NOT_CONFIGURED),
        },
        Disposition::Inactive => {
            let name = load_restaurant(store, &business)
                .await?
                .map(|r| r.business.name)
                .unwrap_or_else(|| "This restaurant".into());
            twiml::say_and_hang_up(&format!(
                "Sorry, {name} isn't taking phone calls right now. Please try again later."
            ))
        }
        Disposition::OutOfBalance => twiml::say_and_hang_up(OUT_OF_BALANCE),
        Disposition::NotConfigured => twiml::say_and_hang_up(NOT_CONFIGURED),
        Disposition::Rejected | Disposition::Unknown => twiml::reject(),
    };
    Ok(xml(reply))
}

/// The stream token of a call, from its first record: the same record always gives the same
/// token (the expiry is derived from when the call was first answered), so a retried webhook
/// never creates a second one.
pub fn stream_token(record: &CallRecord, fallback_account: &AccountSid) -> Option<StreamToken> {
    Some(StreamToken {
        business_id: record.business_id.to_string(),
        line: record.line.as_ref()?.to_string(),
        call_sid: record.call_sid.to_string(),
        account_sid: record
            .account_sid
            .as_ref()
            .unwrap_or(fallback_account)
            .to_string(),
        expires_at: record
            .created_at
            .as_second()
            .saturating_add(STREAM_TOKEN_TTL_SECONDS),
    })
}

fn stream_twiml(
    config: &Config,
    record: &CallRecord,
    fallback_account: &AccountSid,
) -> Option<String> {
    if config.relay_url.is_empty() {
        return None;
    }
    let claims = stream_token(record, fallback_account)?;
    let token = claims.sign(config.relay_token_key.as_bytes()).ok()?;
    Some(twiml::connect_stream(
        &config.relay_url,
        &[
            (params::BUSINESS_ID, claims.business_id.as_str()),
            (params::CALL_SID, claims.call_sid.as_str()),
            (params::LINE, claims.line.as_str()),
            (params::TOKEN, &token),
        ],
        CUT_OFF,
    ))
}

/// `POST /twilio/status`: append the status to the call's record. Callbacks for calls we never
/// connected (or for lines we don't own) are acknowledged and ignored. A storage failure is a
/// 503, which Twilio retries.
pub async fn status_callback<S: Store>(
    form: &Form,
    store: &S,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let (call_sid, status) = verified_call(form, "CallStatus")?;
    let duration_seconds = match form.get("CallDuration").map(str::parse::<u32>) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            return Err(ApiError::field(
                400,
                "CallDuration",
                "must be a whole number of seconds",
            ));
        }
    };
    let Some(line) = form.get("To").and_then(|t| PhoneE164::parse_e164(t).ok()) else {
        return Ok(Response::no_content());
    };
    let business = match resolve_line(store, Some(&line), None)
        .await
        .during(|| format!("routing the status of {call_sid}"))?
    {
        LineRoute::Active { business, .. } | LineRoute::Inactive { business, .. } => business,
        LineRoute::Unknown => return Ok(Response::no_content()),
    };
    let event = StatusEvent {
        status: status.to_owned(),
        at: now,
        duration_seconds,
    };
    update_json::<_, CallRecord, _>(store, &keys::call(&business.id, &call_sid), |current| {
        // Only calls we answered have a record; a status for another call is not ours to create.
        let mut record = current?;
        // Twilio may deliver a callback twice; keep one of each status.
        if record.statuses.iter().any(|s| s.status == event.status) {
            return None;
        }
        record.statuses.push(event.clone());
        Some(record)
    })
    .await
    .during(|| format!("recording the status of {call_sid}"))?;
    Ok(Response::no_content())
}
