//! Texts to customers about their orders: an outbox, so each event's text is sent once, a
//! failure is retried with backoff and recorded, and nothing a caller waits for (a tool's
//! answer) ever waits for Twilio.
//!
//! One record per business, the [`Outbox`] at `biz/{b}/outbox`, changed only by
//! compare-and-swap. A text is queued *before* the order change that calls for it commits
//! (checkout for "received", the move to ready for "ready"), with an id made of the order and
//! the event, so queueing again is a no-op; a text is sent only once its order shows the event
//! (a text queued by a checkout that never committed is dropped once old).
//!
//! Sending ([`drain`]) claims the due texts by compare-and-swap (state `sending` with a
//! deadline, so two drains never send the same text), opens the sealed number, sends through
//! Twilio's Messages API and records the message SID, or the error and the next attempt
//! ([`BACKOFF_SECONDS`]; after the last one the text is `failed`, kept for the owner to see).
//! A drain that dies between sending and recording leaves the claim to run out and the text to
//! be sent again: at least once, as the platforms allow. Drains run where no caller is
//! waiting: when a call's events or usage report arrive (the call is over), on the kitchen's
//! polls, and after a staff member moves an order.

use crate::ids::BusinessId;
use crate::orders::{Order, OrderStatus};
use crate::outbound::HttpClient;
use crate::phone::PhoneE164;
use crate::pii::PiiKeys;
use crate::providers::twilio_api::TwilioApi;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{read_json, update_json};
use serde::{Deserialize, Serialize};

/// Waits before the 2nd, 3rd, … attempt; after the last, the text has failed.
pub const BACKOFF_SECONDS: [i64; 4] = [30, 120, 600, 1800];
/// How long a drain's claim on a text lasts.
pub const CLAIM_SECONDS: i64 = 60;
/// Texts sent by one drain, at most (a drain runs inside someone's request).
pub const MAX_PER_DRAIN: usize = 5;
/// Sent and failed texts stay listed this long; a text whose order never committed is
/// dropped after [`crate::printing::ORPHAN_AFTER_SECONDS`].
pub const KEEP_DONE_SECONDS: i64 = 2 * 24 * 60 * 60;
/// A text still unsent this long after it was queued is marked failed ("not sent in time"):
/// an "order received" text hours late is noise, and the outbox of a business without Twilio
/// configured (whose texts no drain sends) stays bounded.
pub const STALE_AFTER_SECONDS: i64 = 6 * 60 * 60;
/// Texts waiting at most: beyond this the oldest waiting ones are marked failed. The outbox is
/// one record rewritten by every checkout, so its size is every order's cost.
pub const MAX_OPEN: usize = 100;
/// Sent and failed texts kept in the record (the newest), within [`KEEP_DONE_SECONDS`].
pub const KEEP_FINISHED: usize = 50;

/// What a text is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEvent {
    /// The order is in: number, items, total, when.
    Received,
    /// The order is ready for pickup (or out for delivery).
    Ready,
}

impl TextEvent {
    fn as_str(self) -> &'static str {
        match self {
            TextEvent::Received => "received",
            TextEvent::Ready => "ready",
        }
    }

    /// Whether `order` shows this event has happened.
    fn happened(self, order: &Order) -> bool {
        match self {
            TextEvent::Received => order.status != OrderStatus::Cancelled,
            TextEvent::Ready => order.history.iter().any(|h| h.status == OrderStatus::Ready),
        }
    }
}

/// Where one text stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TextState {
    /// Waiting to be sent at `due`.
    Pending {
        due: jiff::Timestamp,
    },
    /// A drain is sending it; another may take it after `until`.
    Sending {
        until: jiff::Timestamp,
    },
    Sent {
        at: jiff::Timestamp,
        sid: String,
    },
    /// Every attempt failed; `error` is the last one's.
    Failed {
        at: jiff::Timestamp,
        error: String,
    },
}

/// One text in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// `{order_id}.{event}`.
    pub id: String,
    pub order_id: String,
    pub event: TextEvent,
    /// The business line it is sent from (the one the caller dialled).
    pub from: PhoneE164,
    /// The customer's number, sealed ([`PiiKeys::seal`]).
    pub to_sealed: String,
    pub body: String,
    #[serde(flatten)]
    pub state: TextState,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub queued_at: jiff::Timestamp,
}

impl Text {
    fn done_at(&self) -> Option<jiff::Timestamp> {
        match &self.state {
            TextState::Sent { at, .. } | TextState::Failed { at, .. } => Some(*at),
            _ => None,
        }
    }

    fn due(&self, now: jiff::Timestamp) -> bool {
        match &self.state {
            TextState::Pending { due } => *due <= now,
            TextState::Sending { until } => *until <= now,
            _ => false,
        }
    }
}

/// Every text of one business.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    pub texts: Vec<Text>,
}

impl Outbox {
    /// Keep the record small ([`crate::bounded`]): at most [`MAX_OPEN`] texts waiting or
    /// being sent and the newest [`KEEP_FINISHED`] sent or failed ones.
    fn bound(&mut self, now: jiff::Timestamp) {
        crate::bounded::bound(&mut self.texts, now, MAX_OPEN, KEEP_FINISHED, "texts");
    }
}

impl crate::bounded::Entry for Text {
    fn finished_at(&self) -> Option<jiff::Timestamp> {
        self.done_at()
    }
    fn waiting_since(&self) -> Option<jiff::Timestamp> {
        matches!(self.state, TextState::Pending { .. }).then_some(self.queued_at)
    }
    fn give_up(&mut self, now: jiff::Timestamp, reason: String) {
        self.state = TextState::Failed {
            at: now,
            error: reason,
        };
    }
}

fn plus(t: jiff::Timestamp, seconds: i64) -> jiff::Timestamp {
    t.checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or(t)
}

/// The text of `event` for `order` of restaurant `name`, or `None` when the order has no
/// number to text (the caller gave none and the call had no caller ID).
pub fn compose(
    order: &Order,
    event: TextEvent,
    name: &str,
    from: &PhoneE164,
    ready_by: Option<&str>,
    now: jiff::Timestamp,
) -> Option<Text> {
    let to_sealed = order.phone.as_ref()?.sealed.clone()?;
    let body = match event {
        TextEvent::Received => {
            let when = ready_by.map(|w| format!(" {w}.")).unwrap_or_default();
            format!(
                "{name}: order {} is in. {}. Total {}.{when}",
                order.number,
                order.said_lines(),
                order.totals.total_cents.spoken()
            )
        }
        TextEvent::Ready => match order.fulfillment {
            crate::orders::Fulfillment::Pickup => {
                format!("{name}: order {} is ready for pickup.", order.number)
            }
            crate::orders::Fulfillment::Delivery { .. } => {
                format!("{name}: order {} is ready and on its way.", order.number)
            }
        },
    };
    Some(Text {
        id: format!("{}.{}", order.id, event.as_str()),
        order_id: order.id.clone(),
        event,
        from: from.clone(),
        to_sealed,
        body,
        state: TextState::Pending { due: now },
        attempts: 0,
        last_error: None,
        queued_at: now,
    })
}

/// Queue `text` unless a text with its id is already there. Call it before the order change
/// that calls for the text commits.
pub async fn enqueue<S: Store>(
    store: &S,
    business: &BusinessId,
    text: Text,
) -> Result<(), StoreError> {
    update_json::<_, Outbox, _>(store, &keys::outbox(business), |o| {
        let mut o = o.unwrap_or_default();
        if o.texts.iter().any(|t| t.id == text.id) {
            return None;
        }
        let now = text.queued_at;
        for t in &mut o.texts {
            if t.done_at().is_none()
                && now.as_second() - t.queued_at.as_second() >= STALE_AFTER_SECONDS
            {
                t.state = TextState::Failed {
                    at: now,
                    error: "not sent within 6 hours".into(),
                };
            }
        }
        o.texts.retain(|t| {
            t.done_at()
                .is_none_or(|at| now.as_second() - at.as_second() < KEEP_DONE_SECONDS)
        });
        o.texts.push(text.clone());
        o.bound(now);
        Some(o)
    })
    .await
    .map(|_| ())
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub failed: usize,
}

/// Send the business's due texts (see the module doc). Storage errors stop the drain;
/// Twilio's errors are recorded on the text and retried later.
pub async fn drain<S: Store, H: HttpClient>(
    store: &S,
    http: &H,
    twilio: &TwilioApi,
    pii: &PiiKeys,
    business: &BusinessId,
    now: jiff::Timestamp,
) -> Result<Drained, StoreError> {
    let key = keys::outbox(business);
    let Some(outbox) = read_json::<_, Outbox>(store, &key).await? else {
        return Ok(Drained::default());
    };
    // Texts whose order shows the event; others wait (or are dropped once old: their
    // checkout never committed).
    let mut ready = Vec::new();
    let mut orphans = Vec::new();
    for t in outbox
        .texts
        .iter()
        .filter(|t| t.due(now))
        .take(MAX_PER_DRAIN)
    {
        match crate::orders::checkout::order(store, business, &t.order_id).await? {
            Some(o) if t.event.happened(&o) => ready.push(t.id.clone()),
            Some(_) => {}
            None => orphans.push(t.order_id.clone()),
        }
    }
    // Claim them in one swap: a concurrent drain sees them `sending`.
    let until = plus(now, CLAIM_SECONDS);
    let mut claimed: Vec<Text> = Vec::new();
    update_json::<_, Outbox, _>(store, &key, |o| {
        let mut o = o?;
        claimed.clear();
        let before = o.clone();
        for t in o.texts.iter_mut() {
            if ready.contains(&t.id) && t.due(now) {
                t.state = TextState::Sending { until };
                t.attempts = t.attempts.saturating_add(1);
                claimed.push(t.clone());
            }
        }
        o.texts.retain(|t| {
            let orphan = orphans.contains(&t.order_id)
                && now.as_second() - t.queued_at.as_second()
                    >= crate::printing::ORPHAN_AFTER_SECONDS;
            let expired = t
                .done_at()
                .is_some_and(|at| now.as_second() - at.as_second() >= KEEP_DONE_SECONDS);
            !orphan && !expired
        });
        (o != before).then_some(o)
    })
    .await?;
    let mut done = Drained::default();
    for t in claimed {
        let result = match pii.open(&t.to_sealed) {
            Some(to) => twilio
                .send_sms(http, &t.from, &to, &t.body)
                .await
                .map_err(|e| e.to_string()),
            None => {
                Err("the customer's number cannot be opened (pii_encryption_key changed?)".into())
            }
        };
        let ok = result.is_ok();
        settle(store, business, &t.id, result, now).await?;
        if ok {
            done.sent += 1;
        } else {
            done.failed += 1;
        }
    }
    Ok(done)
}

/// Record how sending `id` went.
async fn settle<S: Store>(
    store: &S,
    business: &BusinessId,
    id: &str,
    result: Result<String, String>,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    update_json::<_, Outbox, _>(store, &keys::outbox(business), |o| {
        let mut o = o?;
        let t = o.texts.iter_mut().find(|t| t.id == id)?;
        match &result {
            Ok(sid) => {
                t.state = TextState::Sent {
                    at: now,
                    sid: sid.clone(),
                };
                t.last_error = None;
            }
            Err(e) => {
                t.last_error = Some(e.clone());
                let tried = usize::try_from(t.attempts).unwrap_or(usize::MAX);
                t.state = match BACKOFF_SECONDS.get(tried.saturating_sub(1)) {
                    Some(wait) => TextState::Pending {
                        due: plus(now, *wait),
                    },
                    None => TextState::Failed {
                        at: now,
                        error: e.clone(),
                    },
                };
            }
        }
        o.bound(now);
        Some(o)
    })
    .await
    .map(|_| ())
}

/// The business's outbox as stored.
pub async fn outbox<S: Store>(store: &S, business: &BusinessId) -> Result<Outbox, StoreError> {
    Ok(read_json(store, &keys::outbox(business))
        .await?
        .unwrap_or_default())
}

/// What a function needs to send the outbox's texts: Twilio's account (`twilio_api_base`,
/// `twilio_account_sid`, `twilio_auth_token`) and the keys that open a customer's sealed
/// number (`pii_encryption_key`).
#[derive(Clone)]
pub struct Texting {
    pub twilio: TwilioApi,
    pub pii: PiiKeys,
}

impl std::fmt::Debug for Texting {
    // (No secrets: the account only.)
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texting")
            .field("account", self.twilio.account())
            .finish_non_exhaustive()
    }
}

impl Texting {
    /// `None` when Twilio is not configured (texts then wait in the outbox, unsent).
    pub fn configured(twilio: Option<TwilioApi>, pii: PiiKeys) -> Option<Texting> {
        twilio.map(|twilio| Texting { twilio, pii })
    }
}

/// [`drain`] where no caller may see it fail: after a request's answer is settled. A
/// storage error is logged and left for the next drain; without Twilio configured nothing
/// is sent (the texts wait, visible to the owner).
pub async fn drain_after<S: Store, H: HttpClient>(
    store: &S,
    http: &H,
    texting: Option<&Texting>,
    business: &BusinessId,
    now: jiff::Timestamp,
) {
    let Some(t) = texting else {
        return;
    };
    match drain(store, http, &t.twilio, &t.pii, business, now).await {
        Ok(d) if d.failed > 0 => {
            eprintln!(
                "outbox {business}: {} text(s) sent, {} failed (will retry)",
                d.sent, d.failed
            );
        }
        Ok(_) => {}
        Err(e) => eprintln!("outbox {business}: storage error while sending texts: {e}"),
    }
}
