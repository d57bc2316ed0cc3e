//! `/api/v1/businesses/{id}/calls` and `/usage`: the call log the calls function records from
//! Vapi's events, and the seconds used per day.

use hostline_shared::api::ApiError;
use hostline_shared::blob::Blobs;
use hostline_shared::call_log::{self, VapiCallId};
use hostline_shared::calls::DailyUsage;
use hostline_shared::http::{Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::pii::PiiKeys;
use hostline_shared::store::{Store, keys};
use hostline_shared::tenancy::read_json;
use serde_json::json;

/// Page size when none is asked for, and the largest one may ask for.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// `?limit=1..100` (default 20) and `?cursor=` (the `next_cursor` of the page before): the
/// paging of every log.
pub(crate) fn page(req: &Request) -> Result<(usize, Option<String>), ApiError> {
    let limit = match req.query_param("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    400,
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let cursor = req.query_param("cursor").map(|c| c.into_owned());
    if let Some(c) = &cursor
        && (c.is_empty()
            || c.len() > 100
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(ApiError::field(
            400,
            "cursor",
            "is not a cursor this API gave out",
        ));
    }
    Ok((limit, cursor))
}

/// The call log, newest call first, paged by [`page`].
pub async fn list<S: Store>(
    store: &S,
    business: &BusinessId,
    req: &Request,
) -> Result<Response, ApiError> {
    let (limit, cursor) = page(req)?;
    let (calls, next) = call_log::list(store, business, limit, cursor.as_deref()).await?;
    let calls: Vec<_> = calls.into_iter().map(shown).collect();
    Ok(Response::json(
        200,
        &json!({"calls": calls, "next_cursor": next}),
    ))
}

/// One call with its transcript.
pub async fn get<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    call_id: &str,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no such call");
    let id = VapiCallId::parse(call_id).ok_or_else(not_found)?;
    let (entry, transcript) = call_log::get(store, blobs, business, &id)
        .await?
        .ok_or_else(not_found)?;
    let entry = shown(entry);
    let mut body = serde_json::to_value(&entry).unwrap_or_default();
    body["transcript"] = serde_json::to_value(&transcript).unwrap_or_default();
    Ok(Response::json(200, &body))
}

/// `?days=1..366` (default 30): calls and seconds per UTC day, newest first, days without
/// calls left out.
pub async fn usage<S: Store>(
    store: &S,
    business: &BusinessId,
    req: &Request,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let days = match req.query_param("days") {
        None => 30,
        Some(v) => v
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=366).contains(n))
            .ok_or_else(|| ApiError::field(400, "days", "must be a whole number from 1 to 366"))?,
    };
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut out = Vec::new();
    let (mut calls, mut seconds) = (0u64, 0u64);
    for back in 0..days {
        let Ok(day) = today.checked_sub(jiff::Span::new().days(back)) else {
            break;
        };
        if let Some(u) =
            read_json::<_, DailyUsage>(store, &keys::daily_usage(business, day)).await?
        {
            calls += u64::from(u.calls);
            seconds += u.seconds;
            out.push(json!({"date": day.to_string(), "calls": u.calls, "seconds": u.seconds}));
        }
    }
    Ok(Response::json(
        200,
        &json!({"days": out, "total": {"calls": calls, "seconds": seconds}}),
    ))
}

/// A call as the API shows it: the caller by their hash only (the sealed number is for the
/// functions that must use it, not for display).
fn shown(mut entry: call_log::CallEntry) -> call_log::CallEntry {
    if let Some(c) = &mut entry.caller {
        c.sealed = None;
    }
    entry.transcript_key = None;
    entry
}

/// The keyed hash a customer's records are found by, from the number in the path.
fn customer_hash(phone: &str, pii_hash_key: &str) -> Result<String, ApiError> {
    let number = crate::handler::parse_phone(phone, "phone")?;
    PiiKeys::new(pii_hash_key, "").hash(&number).ok_or_else(|| {
        eprintln!("owner-api: pii_hash_key is not set; customer records cannot be found");
        ApiError::refused(
            503,
            "customer records are not configured on this deployment",
        )
    })
}

/// Everything kept about one customer: their calls with transcripts (without the sealed
/// number).
pub async fn export_customer<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    phone: &str,
    pii_hash_key: &str,
) -> Result<Response, ApiError> {
    let hash = customer_hash(phone, pii_hash_key)?;
    let calls: Vec<_> = call_log::customer_calls(store, blobs, business, &hash)
        .await?
        .into_iter()
        .map(|(entry, transcript)| {
            let entry = shown(entry);
            let mut v = serde_json::to_value(&entry).unwrap_or_default();
            v["transcript"] = serde_json::to_value(&transcript).unwrap_or_default();
            v
        })
        .collect();
    Ok(Response::json(200, &json!({"calls": calls})))
}

/// Erase one customer: transcripts, summaries, recordings and the caller of each of their
/// calls (the calls' durations stay, for usage and billing).
pub async fn erase_customer<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    phone: &str,
    pii_hash_key: &str,
) -> Result<Response, ApiError> {
    let hash = customer_hash(phone, pii_hash_key)?;
    let erased = call_log::erase_customer(store, blobs, business, &hash).await?;
    Ok(Response::json(200, &json!({"erased_calls": erased})))
}
