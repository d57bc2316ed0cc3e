//! The call log: what Vapi's `status-update`, `end-of-call-report` and `hang` events say about
//! one call — and, for calls on the Twilio relay path, the relay's usage report read as an
//! end-of-call report (id: the call SID; [`log`], charged by the usage report itself) —
//! merged into one entry per call so that Vapi's retries and its
//! out-of-order delivery change nothing (every merge is idempotent and commutative: statuses
//! are a set, a report's fields are kept once set, times only move outward).
//!
//! Keys: the entry at `biz/{b}/vapi-calls/{call_id}`; its transcript (text and messages) in
//! blob storage ([`crate::blob`], `transcripts/{b}/{yyyy}/{mm}/{dd}/{call_id}.json`); a list index entry `biz/{b}/call-index/{rank}` whose
//! lexical order is newest first (see [`index_rank`]), so a page of the log is one prefix list.
//!
//! The caller's number is never stored in the clear: an entry keeps its keyed hash (to find a
//! customer's calls, `biz/{b}/customer-calls/{hash}/{call_id}`) and a sealed copy
//! ([`crate::pii`]); an owner can export or erase one customer's calls.

use crate::blob::{self, Blobs};
use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{newest_first, page_newest_first, read_json, to_json, update_json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A call id in the log: 1 to 64 letters, digits, `-` or `_` (Vapi sends UUIDs; a relay-path
/// call is its Twilio call SID). Safe in a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VapiCallId(String);

impl VapiCallId {
    pub fn parse(s: &str) -> Option<VapiCallId> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| VapiCallId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key this call is charged and counted under, apart from Twilio call SIDs.
    pub fn charge_key(&self) -> String {
        format!("vapi:{}", self.0)
    }
}

/// One status Vapi reported, with the time of the event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Status {
    pub at: jiff::Timestamp,
    pub status: String,
}

/// Everything known about one Vapi call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEntry {
    pub call_id: VapiCallId,
    pub line: Option<crate::phone::PhoneE164>,
    /// When we first heard of the call (the earliest event time); the list order.
    pub first_seen: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
    /// Vapi's cost in US dollars, as reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    /// Whether a transcript is stored.
    #[serde(default)]
    pub has_transcript: bool,
    /// Its blob ([`crate::blob::keys::transcript`]). Entries written before transcripts moved
    /// to blobs have none: theirs is at the store key `biz/{b}/transcripts/{call_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_key: Option<String>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    /// Times the assistant stalled (`hang` events), by event time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hangs: Vec<jiff::Timestamp>,
    /// Whether an end-of-call report has arrived.
    #[serde(default)]
    pub reported: bool,
    /// Who called, as a keyed hash and a sealed number (`None`: unknown, or erased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
}

/// The caller of a call, without their number in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// [`crate::pii::PiiKeys::hash`] of the number.
    pub hash: String,
    /// [`crate::pii::PiiKeys::seal`] of the number, for what must use it (never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl Caller {
    /// `number` as kept: its keyed hash and sealed with a fresh `nonce` (random bytes from
    /// the platform). `None` when the keys are not configured.
    pub fn of(keys: &crate::pii::PiiKeys, number: &PhoneE164, nonce: [u8; 12]) -> Option<Caller> {
        Some(Caller {
            hash: keys.hash(number)?,
            sealed: keys.seal(number, nonce),
        })
    }
}

/// The transcript of a call, kept apart from the entry (it can be large).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub call_id: VapiCallId,
    pub text: String,
    /// Vapi's message list (`role`, `message`, times), as sent.
    #[serde(default)]
    pub messages: Vec<Value>,
}

/// Longest text kept of a summary, and of a transcript; longest message list.
pub const MAX_SUMMARY_CHARS: usize = 4_000;
pub const MAX_TRANSCRIPT_CHARS: usize = 200_000;
pub const MAX_MESSAGES: usize = 2_000;

/// What one event says.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Status {
        at: jiff::Timestamp,
        status: String,
        ended_reason: Option<String>,
    },
    Report(Report),
    Hang {
        at: jiff::Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub at: jiff::Timestamp,
    pub ended_reason: Option<String>,
    pub started_at: Option<jiff::Timestamp>,
    pub ended_at: Option<jiff::Timestamp>,
    pub duration_seconds: Option<u32>,
    pub cost_usd: Option<f64>,
    pub summary: Option<String>,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    pub messages: Vec<Value>,
}

impl Report {
    /// Seconds to charge: the reported duration, else the span between start and end.
    pub fn billable_seconds(&self) -> Option<u32> {
        self.duration_seconds.or_else(|| {
            let (s, e) = (self.started_at?, self.ended_at?);
            let secs = e.as_second().checked_sub(s.as_second())?;
            u32::try_from(secs.max(0)).ok()
        })
    }
}

/// Reads the event fields of a Vapi message (`body` is the whole request body, already
/// accepted by [`crate::vapi::parse_message`]); `at` is the message time. `None` for a type
/// the call log does not record.
pub fn event_of(kind: &str, body: &Value, at: jiff::Timestamp) -> Option<Event> {
    let m = body.get("message")?;
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let time = |v: Option<&Value>| v.and_then(Value::as_str).and_then(|s| s.parse().ok());
    match kind {
        "status-update" => Some(Event::Status {
            at,
            status: text(m.get("status")).unwrap_or_else(|| "unknown".into()),
            ended_reason: text(m.get("endedReason")),
        }),
        "hang" => Some(Event::Hang { at }),
        "end-of-call-report" => {
            let artifact = m.get("artifact");
            let analysis = m.get("analysis");
            let duration = m
                .get("durationSeconds")
                .and_then(Value::as_f64)
                .or_else(|| {
                    m.get("durationMs")
                        .and_then(Value::as_f64)
                        .map(|ms| ms / 1000.0)
                })
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| d.ceil().min(f64::from(u32::MAX)) as u32);
            let messages = artifact
                .and_then(|a| a.get("messages"))
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .or_else(|| m.get("messages").and_then(Value::as_array))
                .map(|a| a.iter().take(MAX_MESSAGES).cloned().collect())
                .unwrap_or_default();
            Some(Event::Report(Report {
                at,
                ended_reason: text(m.get("endedReason")),
                started_at: time(m.get("startedAt")),
                ended_at: time(m.get("endedAt")),
                duration_seconds: duration,
                cost_usd: m
                    .get("cost")
                    .and_then(Value::as_f64)
                    .or_else(|| m.get("call")?.get("cost")?.as_f64())
                    .filter(|c| c.is_finite() && *c >= 0.0),
                summary: text(analysis.and_then(|a| a.get("summary")))
                    .or_else(|| text(m.get("summary")))
                    .map(|s| s.chars().take(MAX_SUMMARY_CHARS).collect()),
                recording_url: text(artifact.and_then(|a| a.get("recordingUrl")))
                    .or_else(|| text(m.get("recordingUrl")))
                    .filter(|u| u.starts_with("https://") && u.len() <= 2_000),
                transcript: text(artifact.and_then(|a| a.get("transcript")))
                    .or_else(|| text(m.get("transcript")))
                    .map(|t| t.chars().take(MAX_TRANSCRIPT_CHARS).collect()),
                messages,
            }))
        }
        _ => None,
    }
}

impl CallEntry {
    pub fn new(
        call_id: VapiCallId,
        line: Option<crate::phone::PhoneE164>,
        at: jiff::Timestamp,
    ) -> Self {
        CallEntry {
            call_id,
            line,
            first_seen: at,
            started_at: None,
            ended_at: None,
            duration_seconds: None,
            ended_reason: None,
            cost_usd: None,
            summary: None,
            recording_url: None,
            has_transcript: false,
            transcript_key: None,
            statuses: Vec::new(),
            hangs: Vec::new(),
            reported: false,
            caller: None,
        }
    }

    /// Merge one event in. Applying the same events in any order, any number of times, gives
    /// the same entry (except `first_seen`, the earliest time seen, which is order-free too).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Status {
                at,
                status,
                ended_reason,
            } => {
                self.first_seen = self.first_seen.min(*at);
                let s = Status {
                    at: *at,
                    status: status.chars().take(40).collect(),
                };
                if !self.statuses.contains(&s) && self.statuses.len() < 64 {
                    self.statuses.push(s);
                    self.statuses.sort();
                }
                if self.ended_reason.is_none() {
                    self.ended_reason.clone_from(ended_reason);
                }
            }
            Event::Hang { at } => {
                self.first_seen = self.first_seen.min(*at);
                if !self.hangs.contains(at) && self.hangs.len() < 64 {
                    self.hangs.push(*at);
                    self.hangs.sort();
                }
            }
            Event::Report(r) => {
                self.first_seen = self.first_seen.min(r.at);
                if let Some(s) = r.started_at {
                    self.first_seen = self.first_seen.min(s);
                }
                self.reported = true;
                // A report's fields are kept once set: a replay or a late duplicate leaves
                // them as the first report had them.
                keep(&mut self.ended_reason, &r.ended_reason);
                keep(&mut self.started_at, &r.started_at);
                keep(&mut self.ended_at, &r.ended_at);
                if self.duration_seconds.is_none() {
                    self.duration_seconds = r.billable_seconds();
                }
                if self.cost_usd.is_none() {
                    self.cost_usd = r.cost_usd;
                }
                keep(&mut self.summary, &r.summary);
                keep(&mut self.recording_url, &r.recording_url);
                self.has_transcript |= r.transcript.is_some() || !r.messages.is_empty();
            }
        }
    }

    /// The status most recently reported.
    pub fn last_status(&self) -> Option<&str> {
        self.statuses.last().map(|s| s.status.as_str())
    }
}

/// Record one event of call `call_id` on `line` of `business`; returns the merged entry.
/// Safe to repeat and to run out of order: each step is idempotent, and a failure part-way
/// leaves what a retry completes. Steps: [`log`], then for a report the charge and the day's
/// usage, each marked in the same write that applies it.
pub async fn record<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    line: Option<&PhoneE164>,
    call_id: &VapiCallId,
    event: &Event,
    caller: Option<&Caller>,
) -> Result<CallEntry, StoreError> {
    let entry = log(store, blobs, business, line, call_id, event, caller).await?;
    let at = event_time(event);
    if let (Event::Report(_), Some(seconds)) = (event, entry.duration_seconds) {
        let day = entry
            .ended_at
            .unwrap_or(at)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        crate::calls::charge_once(store, business, &call_id.charge_key(), seconds, day).await?;
    }
    Ok(entry)
}

/// Put one event in the log without charging anything: for calls charged elsewhere (the relay
/// path's usage report charges the call by its SID). Steps: the caller's index entry, the
/// transcript (created once), the list index entry (before the entry, so an entry is never
/// unlisted), the entry (merged with compare-and-swap).
pub async fn log<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    line: Option<&PhoneE164>,
    call_id: &VapiCallId,
    event: &Event,
    caller: Option<&Caller>,
) -> Result<CallEntry, StoreError> {
    if let Some(c) = caller {
        store
            .put(&keys::customer_call(business, &c.hash, call_id), b"")
            .await?;
    }
    let key = keys::vapi_call(business, call_id);
    let at = event_time(event);
    let existing = read_json::<_, CallEntry>(store, &key).await?;
    // The transcript, filed under the day the call started; a replayed report finds the
    // entry pointing at it already (or the blob there) and writes nothing new.
    let mut transcript_key = existing.as_ref().and_then(|e| e.transcript_key.clone());
    if let Event::Report(r) = event
        && (r.transcript.is_some() || !r.messages.is_empty())
        && transcript_key.is_none()
    {
        let t = Transcript {
            call_id: call_id.clone(),
            text: r.transcript.clone().unwrap_or_default(),
            messages: r.messages.clone(),
        };
        let day = r
            .started_at
            .unwrap_or(r.at)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        let blob = blob::keys::transcript(business, day, call_id);
        blobs.put_if_absent(&blob, &to_json(&t)?).await?;
        transcript_key = Some(blob);
    }
    if existing.is_none() {
        let rank = index_rank(at, call_id);
        store
            .put(
                &keys::call_index(business, &rank),
                call_id.as_str().as_bytes(),
            )
            .await?;
    }
    let entry = update_json::<_, CallEntry, _>(store, &key, |current| {
        let mut e = current.unwrap_or_else(|| CallEntry::new(call_id.clone(), line.cloned(), at));
        e.apply(event);
        if e.transcript_key.is_none() {
            e.transcript_key.clone_from(&transcript_key);
        }
        Some(e)
    })
    .await?
    .ok_or_else(|| StoreError::Backend("call entry update wrote nothing".into()))?;
    Ok(entry)
}

fn event_time(event: &Event) -> jiff::Timestamp {
    match event {
        Event::Status { at, .. } | Event::Hang { at } => *at,
        Event::Report(r) => r.started_at.unwrap_or(r.at).min(r.at),
    }
}

/// One page of a business's call log, newest first, and the cursor of the next page.
pub async fn list<S: Store>(
    store: &S,
    business: &BusinessId,
    limit: usize,
    after: Option<&str>,
) -> Result<(Vec<CallEntry>, Option<String>), StoreError> {
    let prefix = keys::call_index(business, "");
    // A call whose first write was retried may be indexed twice: list it once.
    let mut seen = std::collections::HashSet::new();
    page_newest_first(store, &prefix, limit, after, async |rank| {
        let Some(id) = rank
            .split_once('-')
            .and_then(|(_, id)| VapiCallId::parse(id))
        else {
            return Ok(None);
        };
        if !seen.insert(id.clone()) {
            return Ok(None);
        }
        read_json::<_, CallEntry>(store, &keys::vapi_call(business, &id)).await
    })
    .await
}

/// One call and its transcript.
pub async fn get<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    call_id: &VapiCallId,
) -> Result<Option<(CallEntry, Option<Transcript>)>, StoreError> {
    let Some(entry) = read_json::<_, CallEntry>(store, &keys::vapi_call(business, call_id)).await?
    else {
        return Ok(None);
    };
    let transcript = match (&entry.transcript_key, entry.has_transcript) {
        (Some(blob), true) => match blobs.get(blob).await? {
            Some(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("{blob}: {e}")))?,
            ),
            None => None,
        },
        (None, true) => read_json(store, &keys::transcript(business, call_id)).await?,
        _ => None,
    };
    Ok(Some((entry, transcript)))
}

/// Every call of one customer (by their number's keyed hash), with transcripts: what an
/// owner exports for that customer.
pub async fn customer_calls<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    hash: &str,
) -> Result<Vec<(CallEntry, Option<Transcript>)>, StoreError> {
    let prefix = keys::customer_calls(business, hash);
    let mut out = Vec::new();
    for key in store.list(&prefix).await? {
        let Some(id) = key.strip_prefix(&prefix).and_then(VapiCallId::parse) else {
            continue;
        };
        if let Some(call) = get(store, blobs, business, &id).await? {
            out.push(call);
        }
    }
    Ok(out)
}

/// Erase one customer from the log: each of their calls loses its transcript and its caller
/// (the entry itself stays, for the business's usage and billing), then the index entry goes.
/// Safe to repeat; returns how many calls were erased now.
pub async fn erase_customer<S: Store, B: Blobs>(
    store: &S,
    blobs: &B,
    business: &BusinessId,
    hash: &str,
) -> Result<usize, StoreError> {
    let prefix = keys::customer_calls(business, hash);
    let mut erased = 0;
    for key in store.list(&prefix).await? {
        let Some(id) = key.strip_prefix(&prefix).and_then(VapiCallId::parse) else {
            continue;
        };
        let entry = read_json::<_, CallEntry>(store, &keys::vapi_call(business, &id)).await?;
        if let Some(blob) = entry.and_then(|e| e.transcript_key) {
            blobs.delete(&blob).await?;
        }
        store.delete(&keys::transcript(business, &id)).await?;
        update_json::<_, CallEntry, _>(store, &keys::vapi_call(business, &id), |e| {
            let mut e = e?;
            e.caller = None;
            e.has_transcript = false;
            e.transcript_key = None;
            e.summary = None;
            e.recording_url = None;
            Some(e)
        })
        .await?;
        store.delete(&key).await?;
        erased += 1;
    }
    Ok(erased)
}

/// Set `mine` from `theirs` unless it is set already.
fn keep<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
    if mine.is_none() {
        mine.clone_from(theirs);
    }
}

/// The list-index rank of a call first seen at `at`: a fixed-width number that sorts newest
/// first, then the call id (so two calls in the same millisecond both have a place).
pub fn index_rank(at: jiff::Timestamp, call_id: &VapiCallId) -> String {
    format!("{}-{}", newest_first(at), call_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn report() -> Event {
        let body = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
            "startedAt": "2026-12-01T18:00:00Z", "endedAt": "2026-12-01T18:02:05.500Z",
            "cost": 0.21, "summary": "Asked about hours.",
            "artifact": {"transcript": "AI: Hi\nUser: Are you open?", "messages": [{"role": "bot", "message": "Hi"}],
                "recordingUrl": "https://storage.vapi.ai/rec.wav"}}});
        event_of("end-of-call-report", &body, t("2026-12-01T18:02:06Z")).unwrap()
    }

    fn status(s: &str, at: &str) -> Event {
        let body = json!({"message": {"type": "status-update", "status": s}});
        event_of("status-update", &body, t(at)).unwrap()
    }

    #[test]
    fn reports_are_read_with_fallbacks() {
        let Event::Report(r) = report() else { panic!() };
        assert_eq!(r.billable_seconds(), Some(125));
        assert_eq!(r.ended_reason.as_deref(), Some("customer-ended-call"));
        assert_eq!(
            r.recording_url.as_deref(),
            Some("https://storage.vapi.ai/rec.wav")
        );
        let body = json!({"message": {"type": "end-of-call-report", "durationSeconds": 61.2,
            "summary": "top-level", "transcript": "t", "recordingUrl": "http://not-https"}});
        let Some(Event::Report(r)) =
            event_of("end-of-call-report", &body, t("2026-12-01T18:00:00Z"))
        else {
            panic!()
        };
        assert_eq!(r.billable_seconds(), Some(62));
        assert_eq!(r.summary.as_deref(), Some("top-level"));
        assert_eq!(r.recording_url, None, "only https recording links are kept");
        assert!(event_of("transcript", &body, t("2026-12-01T18:00:00Z")).is_none());
    }

    #[test]
    fn merging_is_idempotent_and_order_free() {
        let events = [
            status("ringing", "2026-12-01T17:59:58Z"),
            status("in-progress", "2026-12-01T18:00:00Z"),
            report(),
            status("ended", "2026-12-01T18:02:06Z"),
        ];
        let id = VapiCallId::parse("c-1").unwrap();
        let mut forward = CallEntry::new(id.clone(), None, t("2026-12-01T18:10:00Z"));
        for e in &events {
            forward.apply(e);
        }
        let mut backward = CallEntry::new(id.clone(), None, t("2026-12-01T18:10:00Z"));
        for e in events.iter().rev().chain(events.iter()) {
            backward.apply(e);
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.last_status(), Some("ended"));
        assert_eq!(forward.duration_seconds, Some(125));
        assert_eq!(forward.first_seen, t("2026-12-01T17:59:58Z"));
        assert!(forward.reported && forward.has_transcript);
    }

    #[test]
    fn ids_and_ranks() {
        assert!(VapiCallId::parse("305b7217-6d48-433b-bda9-0f00a1731234").is_some());
        for bad in ["", "a/b", "../x", &"x".repeat(65)] {
            assert!(VapiCallId::parse(bad).is_none(), "{bad:?}");
        }
        let id = VapiCallId::parse("a").unwrap();
        let older = index_rank(t("2026-12-01T18:00:00Z"), &id);
        let newer = index_rank(t("2026-12-01T18:00:01Z"), &id);
        assert!(newer < older, "newest sorts first");
        assert_eq!(older.len(), newer.len());
    }
}
