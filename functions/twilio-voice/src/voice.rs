//! The voice webhook and status callbacks. Both are authenticated by `X-Twilio-Signature`,
//! computed over `public_base_url` + the request path: the URL is ours, never taken from
//! request headers a caller controls.

use crate::calls::{self, CallRecord, StatusEvent};
use crate::handler::Config;
use hostline_shared::http::{Request, Response};
use hostline_shared::phone::PhoneE164;
use hostline_shared::relay::{STREAM_TOKEN_TTL_SECONDS, StreamToken, params};
use hostline_shared::publish::load_restaurant;
use hostline_shared::store::{Store, StoreError};
use hostline_shared::tenancy::{BusinessRecord, LineRoute, resolve_line, update_json};
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

/// Parse the form and check the signature; the error is the response to send.
fn verified_form(req: &Request, config: &Config) -> Result<Form, Response> {
    let form = Form::parse(&req.body);
    let signature = req.header("x-twilio-signature").unwrap_or("");
    if !signature_valid(
        &config.twilio_auth_token,
        &public_url(config, req),
        &form,
        signature,
    ) {
        return Err(Response::error(
            403,
            "invalid or missing X-Twilio-Signature",
        ));
    }
    Ok(form)
}

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, Response> {
    form.get(name)
        .ok_or_else(|| Response::field_error(400, name, &format!("{name} is required")))
}

/// A webhook's `CallSid` (present and well-formed) and one more required field.
fn verified_call<'a>(form: &'a Form, other: &str) -> Result<(&'a str, &'a str), Response> {
    let other = required(form, other)?;
    let call_sid = required(form, "CallSid")?;
    calls::check_call_sid("CallSid", call_sid)?;
    Ok((call_sid, other))
}

pub async fn incoming_call<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    let form = match verified_form(req, config) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (call_sid, to) = match verified_call(&form, "To") {
        Ok(v) => v,
        Err(r) => return r,
    };
    // A `To` that is not a phone number (a SIP URI, a client name) cannot be one of our lines.
    let Ok(line) = PhoneE164::parse_e164(to) else {
        return xml(twiml::reject());
    };
    match answer(store, config, &line, call_sid, now).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("twilio-voice: storage error on call {call_sid}: {e}");
            xml(twiml::say_and_hang_up(NOT_CONFIGURED))
        }
    }
}

async fn answer<S: Store>(
    store: &S,
    config: &Config,
    line: &PhoneE164,
    call_sid: &str,
    now: jiff::Timestamp,
) -> Result<Response, StoreError> {
    let (business, disposition, reply) = match resolve_line(store, Some(line), None).await? {
        // Nobody owns the line: refuse before answering, so nobody is billed.
        LineRoute::Unknown => return Ok(xml(twiml::reject())),
        LineRoute::Inactive { business, .. } => {
            let name = load_restaurant(store, &business)
                .await?
                .map(|r| r.business.name)
                .unwrap_or_else(|| "This restaurant".into());
            let say = format!(
                "Sorry, {name} isn't taking phone calls right now. Please try again later."
            );
            (business, "inactive", twiml::say_and_hang_up(&say))
        }
        LineRoute::Active { business, .. } if business.out_of_balance() => (
            business,
            "out_of_balance",
            twiml::say_and_hang_up(OUT_OF_BALANCE),
        ),
        LineRoute::Active { business, .. } => {
            match stream_twiml(config, &business, line, call_sid, now) {
                Some(t) => (business, "connected", t),
                None => {
                    eprintln!(
                        "twilio-voice: relay_url or relay_token_key is not set; refusing call {call_sid}"
                    );
                    (
                        business,
                        "not_configured",
                        twiml::say_and_hang_up(NOT_CONFIGURED),
                    )
                }
            }
        }
    };
    let record = CallRecord {
        call_sid: call_sid.to_owned(),
        business_id: business.id.clone(),
        line: Some(line.clone()),
        created_at: now,
        disposition: disposition.to_owned(),
        statuses: Vec::new(),
        usage: None,
    };
    // Twilio retries a webhook that timed out: keep the first record of a call.
    update_json::<_, CallRecord, _>(store, &calls::key(&business.id, call_sid), |current| {
        match current {
            Some(_) => None,
            None => Some(record.clone()),
        }
    })
    .await?;
    Ok(xml(reply))
}

fn stream_twiml(
    config: &Config,
    business: &BusinessRecord,
    line: &PhoneE164,
    call_sid: &str,
    now: jiff::Timestamp,
) -> Option<String> {
    if config.relay_url.is_empty() {
        return None;
    }
    let token = StreamToken {
        business_id: business.id.to_string(),
        line: line.to_string(),
        call_sid: call_sid.to_owned(),
        expires_at: now.as_second() + STREAM_TOKEN_TTL_SECONDS,
    }
    .sign(config.relay_token_key.as_bytes())
    .ok()?;
    Some(twiml::connect_stream(
        &config.relay_url,
        &[
            (params::BUSINESS_ID, business.id.as_str()),
            (params::CALL_SID, call_sid),
            (params::LINE, line.as_str()),
            (params::TOKEN, &token),
        ],
        CUT_OFF,
    ))
}

/// `POST /twilio/status`: append the status to the call's record. Callbacks for calls we never
/// connected (or for lines we don't own) are acknowledged and ignored.
pub async fn status_callback<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    let form = match verified_form(req, config) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (call_sid, status) = match verified_call(&form, "CallStatus") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let duration_seconds = match form.get("CallDuration").map(str::parse::<u32>) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            return Response::field_error(400, "CallDuration", "must be a whole number of seconds");
        }
    };
    let Some(line) = form.get("To").and_then(|t| PhoneE164::parse_e164(t).ok()) else {
        return Response::no_content();
    };
    let business = match resolve_line(store, Some(&line), None).await {
        Ok(LineRoute::Active { business, .. } | LineRoute::Inactive { business, .. }) => business,
        Ok(LineRoute::Unknown) => {
            return Response::no_content();
        }
        Err(e) => {
            eprintln!("twilio-voice: storage error on status for {call_sid}: {e}");
            // Twilio retries failed callbacks; a 503 asks it to.
            return Response::error(503, "storage unavailable; retry");
        }
    };
    let event = StatusEvent {
        status: status.to_owned(),
        at: now,
        duration_seconds,
    };
    let result =
        update_json::<_, CallRecord, _>(store, &calls::key(&business.id, call_sid), |current| {
            // Only calls we answered have a record; a status for another call is not ours to create.
            let mut record = current?;
            // Twilio may deliver a callback twice; keep one of each status.
            if record.statuses.iter().any(|s| s.status == event.status) {
                return None;
            }
            record.statuses.push(event.clone());
            Some(record)
        })
        .await;
    match result {
        Ok(_) => Response::no_content(),
        Err(e) => {
            eprintln!("twilio-voice: storage error on status for {call_sid}: {e}");
            Response::error(503, "storage unavailable; retry")
        }
    }
}
