//! The media relay's routes: the voice agent's configuration for a call's stream, and the
//! usage report when the call ends. Authorised by the service token (checked in `handler`)
//! *and* the call's stream token, which the relay presents in
//! [`STREAM_TOKEN_HEADER`](hostline_shared::relay::STREAM_TOKEN_HEADER): the business and the
//! call come from the token we signed, never from the path or the body alone.
//!
//! - agent-config arbitrates between relay instances: it marks the call record "stream
//!   started" with compare-and-swap, and a second request for the same call gets `409`, which
//!   the relay treats as a refused stream. Its answer carries the call's tool credential.
//! - usage charges a call once: the charge and the call SID it is for are written in one
//!   compare-and-swap of the business record, then the day's totals (also once per call SID),
//!   then the call record's usage mark. A report cut off anywhere and retried, or sent twice at
//!   once, is charged exactly once.

use crate::handler::Config;
use hostline_shared::api::{ApiError, During, parse_body};
use hostline_shared::blob::KvBlobs;
use hostline_shared::call_log::{self, Event, Report, VapiCallId};
use hostline_shared::calls::{CallRecord, CallSid, Disposition, charge_once};
use hostline_shared::credential::ToolCredential;
use hostline_shared::http::{Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::persona::{greeting, prompt};
use hostline_shared::phone::PhoneE164;
use hostline_shared::publish::load_restaurant;
use hostline_shared::relay::{
    AgentConfig, AgentFunction, STREAM_TOKEN_HEADER, StreamToken, TokenError, UsageReport,
};
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{Store, StoreError, keys};
use hostline_shared::tenancy::{BusinessRecord, read_json, update_json};
use hostline_shared::tools::{knowledge_tools, order_tools};

/// Where the knowledge tools are answered (the relay joins it to the functions' URL).
const KNOWLEDGE_PATH: &str = "/vapi/knowledge-base";
const ORDERS_PATH: &str = "/vapi/orders";
/// A call longer than this is cut off: nobody orders dinner for half an hour.
const MAX_CALL_SECONDS: u32 = 30 * 60;
/// Speech recognition takes a bounded list of words to favour.
const MAX_KEYTERMS: usize = 100;

/// The stream token the relay presents, signature checked (expiry is the caller's to check:
/// a usage report comes after it). The error names the header.
fn presented_token(req: &Request, config: &Config) -> Result<StreamToken, ApiError> {
    let Some(raw) = req.header(STREAM_TOKEN_HEADER) else {
        return Err(ApiError::field(
            401,
            STREAM_TOKEN_HEADER,
            "the call's stream token is required",
        ));
    };
    StreamToken::verify_signature(raw.trim(), config.relay_token_key.as_bytes()).map_err(|e| {
        let status = match e {
            TokenError::Malformed => 400,
            _ => 403,
        };
        ApiError::field(status, STREAM_TOKEN_HEADER, e.to_string())
    })
}

fn token_refused(message: &str) -> ApiError {
    ApiError::field(403, STREAM_TOKEN_HEADER, message)
}

/// How marking a call's stream as started went.
enum Mark {
    Started,
    AlreadyStreamed,
    NoCall,
}

/// `GET /internal/agent-config/{business}`: the configuration for this call's stream, once.
pub async fn agent_config<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    raw_id: &str,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let id = BusinessId::parse(raw_id)
        .map_err(|_| ApiError::field(400, "business_id", "not a business id"))?;
    let token = presented_token(req, config)?;
    if now.as_second() >= token.expires_at {
        return Err(token_refused("stream token expired"));
    }
    if token.business_id != id.as_str() {
        return Err(token_refused(
            "the stream token was issued for another business",
        ));
    }
    let (Ok(call_sid), Ok(line)) = (
        CallSid::parse(&token.call_sid),
        PhoneE164::parse_e164(&token.line),
    ) else {
        return Err(ApiError::field(
            400,
            STREAM_TOKEN_HEADER,
            "the stream token's call is malformed",
        ));
    };
    let during = || format!("loading agent config for {id}");
    let Some(record) = read_json::<_, BusinessRecord>(store, &keys::business(&id))
        .await
        .during(during)?
    else {
        return Err(ApiError::not_found(format!("no business {id}")));
    };
    let Some(restaurant) = load_restaurant(store, &record).await.during(during)? else {
        return Err(ApiError::not_found(format!("no business {id}")));
    };
    if !record.active {
        return Err(ApiError::refused(
            409,
            format!("business {id} is not taking calls"),
        ));
    }
    // Signed before the stream is marked: a missing key must not use up the call's one stream.
    let tool_token = ToolCredential::issue(id.clone(), line, now.as_second())
        .sign(config.tool_token_key.as_bytes())
        .map_err(|e| {
            eprintln!("twilio-voice: cannot sign a tool credential for {id}: {e}");
            ApiError::refused(503, "tool credentials are not configured")
        })?;
    let mut mark = Mark::NoCall;
    update_json::<_, CallRecord, _>(store, &keys::call(&id, &call_sid), |current| {
        let Some(mut call) = current else {
            mark = Mark::NoCall;
            return None;
        };
        if call.streamed() || call.disposition != Disposition::Connected {
            mark = Mark::AlreadyStreamed;
            return None;
        }
        mark = Mark::Started;
        call.stream_started_at = Some(now);
        Some(call)
    })
    .await
    .during(|| format!("marking the stream of {call_sid}"))?;
    match mark {
        Mark::Started => Ok(Response::json(
            200,
            &build_agent_config(&record, &restaurant, tool_token, now),
        )),
        Mark::AlreadyStreamed => {
            eprintln!("twilio-voice: second stream for {call_sid} refused");
            Err(ApiError::refused(
                409,
                format!("a stream already started for call {call_sid}"),
            ))
        }
        Mark::NoCall => Err(ApiError::refused(
            409,
            format!("no call {call_sid} was connected"),
        )),
    }
}

pub fn build_agent_config(
    record: &BusinessRecord,
    r: &Restaurant,
    tool_token: String,
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
        greeting: greeting(r, &record.settings),
        prompt: prompt(r, &record.settings, now),
        language: "en".into(),
        keyterms,
        functions: knowledge_tools()
            .iter()
            .filter(|t| record.settings.tool_enabled(t.name))
            .map(|t| AgentFunction::from_spec(t, KNOWLEDGE_PATH))
            .chain(
                order_tools()
                    .iter()
                    .filter(|_| record.settings.ordering_on(r))
                    .map(|t| AgentFunction::from_spec(t, ORDERS_PATH)),
            )
            .collect(),
        transfer_to: record.transfer_to.as_ref().map(ToString::to_string),
        max_call_seconds: record.max_call_seconds(MAX_CALL_SECONDS),
        tool_token,
    }
}

/// `POST /internal/usage`: charge the call's prepaid seconds, add it to the day's totals and
/// store the report on the call record, each exactly once per call SID however often the
/// report is retried. The business and the call come from the stream token (its signature and
/// call SID are checked, not its expiry: the call ended long after the token was used).
pub async fn usage<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let token = presented_token(req, config)?;
    let report: UsageReport = parse_body(&req.body)?;
    let call_sid = CallSid::parse(&report.call_sid)
        .map_err(|e| ApiError::field(400, "call_sid", e.to_string()))?;
    if report.call_sid != token.call_sid {
        return Err(ApiError::field(
            403,
            "call_sid",
            "does not match the stream token's call",
        ));
    }
    if report.business_id != token.business_id {
        return Err(ApiError::field(
            403,
            "business_id",
            "does not match the stream token's business",
        ));
    }
    let id = BusinessId::parse(&token.business_id).map_err(|_| {
        ApiError::field(
            400,
            STREAM_TOKEN_HEADER,
            "the stream token's business is malformed",
        )
    })?;
    let ended = report
        .ended_at
        .parse::<jiff::Timestamp>()
        .map_err(|_| ApiError::field(400, "ended_at", "must be an RFC 3339 timestamp"))?;
    if report.started_at.parse::<jiff::Timestamp>().is_err() {
        return Err(ApiError::field(
            400,
            "started_at",
            "must be an RFC 3339 timestamp",
        ));
    }
    let line = PhoneE164::parse_e164(&token.line).ok();
    if record_usage(store, &id, line.as_ref(), &call_sid, &report, ended, now)
        .await
        .during(|| format!("recording usage of {call_sid}"))?
    {
        Ok(Response::no_content())
    } else {
        Err(ApiError::not_found(format!("no business {id}")))
    }
}

/// `Ok(false)` when the business does not exist.
async fn record_usage<S: Store>(
    store: &S,
    id: &BusinessId,
    line: Option<&PhoneE164>,
    call_sid: &CallSid,
    report: &UsageReport,
    ended: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let call_key = keys::call(id, call_sid);
    // 0. Reported before (the usage mark is written last): nothing left to do.
    if read_json::<_, CallRecord>(store, &call_key)
        .await?
        .is_some_and(|c| c.usage.is_some())
    {
        return Ok(true);
    }
    // 1-2. Charge, and count the day's totals (UTC date the call ended), each marked with the
    //    call SID in the compare-and-swap that applies it: a report retried after a failure at
    //    any later step is not charged or counted again.
    let day = ended.to_zoned(jiff::tz::TimeZone::UTC).date();
    if !charge_once(store, id, call_sid.as_str(), report.seconds, day).await? {
        return Ok(false);
    }
    // 3. The owner's call log, the same entry Vapi calls get (charged above, not here).
    if let Some(log_id) = VapiCallId::parse(call_sid.as_str()) {
        let started = report.started_at.parse::<jiff::Timestamp>().ok();
        let event = Event::Report(Report {
            at: ended,
            ended_reason: Some(report.ended_by.as_str().to_owned()),
            started_at: started,
            ended_at: Some(ended),
            duration_seconds: Some(report.seconds),
            cost_usd: None,
            summary: None,
            recording_url: None,
            transcript: None,
            messages: Vec::new(),
        });
        // (No transcript on this path, so no blob is written.)
        call_log::log(store, &KvBlobs::new(store), id, line, &log_id, &event, None).await?;
    }
    // 4. The call's usage mark, last: once it is there, step 0 short-cuts every retry.
    update_json::<_, CallRecord, _>(store, &call_key, |current| {
        let mut call = current.unwrap_or_else(|| CallRecord {
            call_sid: call_sid.clone(),
            business_id: id.clone(),
            line: None,
            account_sid: None,
            created_at: now,
            disposition: Disposition::Connected,
            stream_started_at: None,
            statuses: Vec::new(),
            usage: None,
        });
        if call.usage.is_some() {
            return None;
        }
        call.usage = Some(report.clone());
        Some(call)
    })
    .await?;
    Ok(true)
}
