//! The media relay's routes: the voice agent's configuration for a business, and the usage
//! report when a call ends. Authorised by the service token (checked in `handler`); the
//! business in the path was taken by the relay from a stream token we signed.

use crate::calls::{self, CallRecord, DailyUsage};
use hostline_shared::http::{Response, parse_json};
use hostline_shared::ids::BusinessId;
use hostline_shared::persona::{first_message, system_prompt};
use hostline_shared::relay::{AgentConfig, AgentFunction, UsageReport};
use hostline_shared::publish::load_restaurant;
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{Store, StoreError, keys};
use hostline_shared::tenancy::{BusinessRecord, read_json, update_json};
use hostline_shared::tools::knowledge_tools;

/// Where the knowledge tools are answered (the relay joins it to the functions' URL).
const KNOWLEDGE_PATH: &str = "/vapi/knowledge-base";
/// A call longer than this is cut off: nobody orders dinner for half an hour.
const MAX_CALL_SECONDS: u32 = 30 * 60;
/// Speech recognition takes a bounded list of words to favour.
const MAX_KEYTERMS: usize = 100;

pub async fn agent_config<S: Store>(store: &S, raw_id: &str, now: jiff::Timestamp) -> Response {
    let Ok(id) = BusinessId::parse(raw_id) else {
        return Response::field_error(400, "business_id", "not a business id");
    };
    let loaded = async {
        let Some(record) = read_json::<_, BusinessRecord>(store, &keys::business(&id)).await?
        else {
            return Ok((None, None));
        };
        let restaurant = load_restaurant(store, &record).await?;
        Ok::<_, StoreError>((Some(record), restaurant))
    }
    .await;
    let (record, restaurant) = match loaded {
        Ok((Some(rec), Some(r))) => (rec, r),
        Ok(_) => return Response::error(404, &format!("no business {id}")),
        Err(e) => {
            eprintln!("twilio-voice: storage error loading agent config for {id}: {e}");
            return Response::error(503, "storage unavailable; retry");
        }
    };
    if !record.active {
        return Response::error(409, &format!("business {id} is not taking calls"));
    }
    Response::json(200, &build_agent_config(&record, &restaurant, now))
}

pub fn build_agent_config(
    record: &BusinessRecord,
    r: &Restaurant,
    now: jiff::Timestamp,
) -> AgentConfig {
    let mut keyterms: Vec<String> = Vec::new();
    let mut push = |t: &str| {
        let t = t.trim();
        if !t.is_empty()
            && !keyterms.iter().any(|k| k.eq_ignore_ascii_case(t))
            && keyterms.len() < MAX_KEYTERMS
        {
            keyterms.push(t.to_owned());
        }
    };
    push(&r.business.name);
    for (_, item) in r.items() {
        push(&item.name);
    }
    for c in &r.menu.categories {
        push(&c.name);
    }
    AgentConfig {
        business_id: record.id.to_string(),
        business_name: r.business.name.clone(),
        greeting: first_message(r),
        prompt: system_prompt(r, now),
        language: "en".into(),
        keyterms,
        functions: knowledge_tools()
            .iter()
            .map(|t| AgentFunction::from_spec(t, KNOWLEDGE_PATH))
            .collect(),
        transfer_to: record.transfer_to.as_ref().map(ToString::to_string),
        max_call_seconds: MAX_CALL_SECONDS,
    }
}

/// `POST /internal/usage`: store the report on the call record (once: a retried report is
/// acknowledged but not counted again), charge prepaid seconds, add to the day's totals.
pub async fn usage<S: Store>(store: &S, body: &[u8], now: jiff::Timestamp) -> Response {
    let report: UsageReport = match parse_json(body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Ok(id) = BusinessId::parse(&report.business_id) else {
        return Response::field_error(400, "business_id", "not a business id");
    };
    if let Err(r) = calls::check_call_sid("call_sid", &report.call_sid) {
        return r;
    }
    let Ok(ended) = report.ended_at.parse::<jiff::Timestamp>() else {
        return Response::field_error(400, "ended_at", "must be an RFC 3339 timestamp");
    };
    if report.started_at.parse::<jiff::Timestamp>().is_err() {
        return Response::field_error(400, "started_at", "must be an RFC 3339 timestamp");
    }
    match record_usage(store, &id, &report, ended, now).await {
        Ok(true) => Response::no_content(),
        Ok(false) => Response::error(404, &format!("no business {id}")),
        Err(e) => {
            eprintln!(
                "twilio-voice: storage error recording usage of {}: {e}",
                report.call_sid
            );
            Response::error(503, "storage unavailable; retry")
        }
    }
}

/// `Ok(false)` when the business does not exist.
async fn record_usage<S: Store>(
    store: &S,
    id: &BusinessId,
    report: &UsageReport,
    ended: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    if read_json::<_, BusinessRecord>(store, &keys::business(id))
        .await?
        .is_none()
    {
        return Ok(false);
    }
    // 1. Mark the call as reported. Marking first means a crash between the steps under-charges
    //    a call rather than charging it twice when the relay retries.
    let mut first_report = false;
    update_json::<_, CallRecord, _>(store, &calls::key(id, &report.call_sid), |current| {
        let mut record = current.unwrap_or_else(|| CallRecord {
            call_sid: report.call_sid.clone(),
            business_id: id.clone(),
            line: None,
            created_at: now,
            disposition: "connected".into(),
            statuses: Vec::new(),
            usage: None,
        });
        if record.usage.is_some() {
            first_report = false;
            return None;
        }
        first_report = true;
        record.usage = Some(report.clone());
        Some(record)
    })
    .await?;
    if !first_report {
        return Ok(true);
    }
    // 2. Charge a metered business.
    update_json::<_, BusinessRecord, _>(store, &keys::business(id), |current| {
        let mut b = current?;
        let left = b.balance_seconds?;
        b.balance_seconds = Some(left - i64::from(report.seconds));
        Some(b)
    })
    .await?;
    // 3. The day's totals (UTC date the call ended).
    let day = ended.to_zoned(jiff::tz::TimeZone::UTC).date();
    update_json::<_, DailyUsage, _>(store, &calls::usage_key(id, day), |current| {
        let mut u = current.unwrap_or_default();
        u.calls += 1;
        u.seconds += u64::from(report.seconds);
        Some(u)
    })
    .await?;
    Ok(true)
}
