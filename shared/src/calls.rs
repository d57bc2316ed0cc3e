//! Phone calls: Twilio's call and account SIDs (one validation rule for every place that
//! takes one: webhooks, stream tokens, usage reports, REST URLs, storage keys), and the call
//! record — one per Twilio call, written by the voice webhook when it answers, marked by the
//! relay's agent-config request when the media stream starts, appended to by status callbacks,
//! and completed by the relay's usage report. Key: `biz/{business}/calls/{call_sid}`.
//!
//! No caller number is stored here: customer phone numbers are personal data and get their
//! own encrypted home with the orders work.

use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use crate::relay::UsageReport;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// `prefix` + 32 hex digits: the shape of every Twilio SID we accept.
fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

macro_rules! sid_type {
    ($(#[$doc:meta])* $name:ident, $err:ident, $prefix:literal, $message:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error($message)]
        pub struct $err(pub String);

        impl $name {
            /// The prefix every SID of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            pub fn parse(s: &str) -> Result<$name, $err> {
                if is_sid(s, $prefix) {
                    Ok($name(s.to_owned()))
                } else {
                    Err($err(s.chars().take(40).collect()))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

sid_type!(
    /// A Twilio call SID (`CA` + 32 hex digits). Safe in a storage key and a URL path.
    CallSid,
    BadCallSid,
    "CA",
    "must be CA followed by 32 hexadecimal digits (got {0:?})"
);
sid_type!(
    /// A Twilio account SID (`AC` + 32 hex digits): whose call it is, and the account in the
    /// REST URL of anything done to the call.
    AccountSid,
    BadAccountSid,
    "AC",
    "must be AC followed by 32 hexadecimal digits (got {0:?})"
);

/// What the voice webhook answered Twilio for a call. Stored as the snake_case strings the
/// record has always held ("connected", "out_of_balance", ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Connected to the media relay with a stream token.
    Connected,
    /// Refused before answering (`<Reject>`).
    Rejected,
    /// The business is not taking calls: a polite refusal.
    Inactive,
    /// A metered business out of prepaid time: a polite refusal.
    OutOfBalance,
    /// The relay is not configured (a deployment fault): an apology.
    NotConfigured,
    /// A value written by a newer version; read, never written.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call_sid: CallSid,
    pub business_id: BusinessId,
    /// The line that was dialled.
    pub line: Option<PhoneE164>,
    /// The account the call belongs to (from the verified webhook); records written before it
    /// was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<AccountSid>,
    /// When the webhook first answered; the stream token's expiry is derived from it, so a
    /// retried webhook gets the same token back rather than a second one.
    pub created_at: jiff::Timestamp,
    pub disposition: Disposition,
    /// Set (once, by compare-and-swap) when the relay fetched the agent configuration for this
    /// call's stream: a second stream for the call is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_started_at: Option<jiff::Timestamp>,
    /// Twilio status callbacks, in arrival order.
    #[serde(default)]
    pub statuses: Vec<StatusEvent>,
    /// The relay's report, once the stream has ended (at most once: it is what gets charged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageReport>,
}

impl CallRecord {
    /// Whether the call's media stream has started or the call has already been reported: no
    /// new stream may start for it.
    pub fn streamed(&self) -> bool {
        self.stream_started_at.is_some() || self.usage.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub status: String,
    pub at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
}

/// How many recently counted call SIDs a [`DailyUsage`] remembers, so a report retried after
/// a failure part-way is not counted twice.
pub const RECENT_CALLS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub calls: u32,
    pub seconds: u64,
    /// The charge keys of the last [`RECENT_CALLS`] calls counted, newest last (call SIDs,
    /// or [`crate::call_log::VapiCallId::charge_key`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<String>,
}

impl DailyUsage {
    /// Count one call's seconds, once per call (within the last [`RECENT_CALLS`]). Returns
    /// whether it was counted now. Saturates instead of wrapping.
    pub fn count(&mut self, call: &str, seconds: u32) -> bool {
        if self.recent.iter().any(|c| c == call) {
            return false;
        }
        self.calls = self.calls.saturating_add(1);
        self.seconds = self.seconds.saturating_add(u64::from(seconds));
        remember(&mut self.recent, call);
        true
    }
}

/// Push `call` onto a bounded most-recent-last list.
pub fn remember(recent: &mut Vec<String>, call: &str) {
    recent.push(call.to_owned());
    if recent.len() > RECENT_CALLS {
        let excess = recent.len() - RECENT_CALLS;
        recent.drain(..excess);
    }
}

/// Charge call `charge_key` `seconds` to the business's balance and count it in the usage of
/// `day` (UTC), each once however often this runs: both marks are written in the same
/// compare-and-swap that applies them. `Ok(false)` (nothing written) when the business does
/// not exist. Used by the Vapi call log and the relay's usage report alike.
pub async fn charge_once<S: crate::store::Store>(
    store: &S,
    business: &BusinessId,
    charge_key: &str,
    seconds: u32,
    day: jiff::civil::Date,
) -> Result<bool, crate::store::StoreError> {
    use crate::store::keys;
    use crate::tenancy::{BusinessRecord, update_json};
    let mut exists = false;
    update_json::<_, BusinessRecord, _>(store, &keys::business(business), |current| {
        let mut b = current?;
        exists = true;
        b.charge_call(charge_key, seconds).then_some(b)
    })
    .await?;
    if !exists {
        return Ok(false);
    }
    update_json::<_, DailyUsage, _>(store, &keys::daily_usage(business, day), |current| {
        let mut u = current.unwrap_or_default();
        u.count(charge_key, seconds).then_some(u)
    })
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids() {
        assert!(CallSid::parse("CA11111111111111111111111111111111").is_ok());
        assert!(CallSid::parse("CAabcdef0123456789ABCDEF0123456789").is_ok());
        assert!(AccountSid::parse("AC00000000000000000000000000000000").is_ok());
        for bad in [
            "",
            "CA1111111111111111111111111111111",
            "CA111111111111111111111111111111111",
            "CA1111111111111111111111111111111/",
            "CA1111111111111111111111111111111z",
            "AC11111111111111111111111111111111",
            "../../etc",
        ] {
            assert!(CallSid::parse(bad).is_err(), "{bad:?}");
        }
        assert!(AccountSid::parse("CA11111111111111111111111111111111").is_err());
        let e = CallSid::parse("nope").unwrap_err().to_string();
        assert!(e.contains("CA followed by 32 hexadecimal digits"), "{e}");
        assert!(serde_json::from_str::<CallSid>(r#""CA1""#).is_err());
    }

    #[test]
    fn dispositions_read_the_strings_stored_today() {
        for (text, d) in [
            ("connected", Disposition::Connected),
            ("rejected", Disposition::Rejected),
            ("inactive", Disposition::Inactive),
            ("out_of_balance", Disposition::OutOfBalance),
            ("not_configured", Disposition::NotConfigured),
        ] {
            let json = format!("\"{text}\"");
            assert_eq!(serde_json::from_str::<Disposition>(&json).unwrap(), d);
            assert_eq!(serde_json::to_string(&d).unwrap(), json);
        }
        assert_eq!(
            serde_json::from_str::<Disposition>(r#""from_the_future""#).unwrap(),
            Disposition::Unknown
        );
    }

    #[test]
    fn records_written_before_stream_marks_still_parse() {
        let r: CallRecord = serde_json::from_str(
            r#"{"call_sid":"CA11111111111111111111111111111111","business_id":"boba",
            "line":"+14155550188","created_at":"2026-11-20T18:00:00Z","disposition":"connected",
            "statuses":[]}"#,
        )
        .unwrap();
        assert_eq!(r.disposition, Disposition::Connected);
        assert!(!r.streamed() && r.account_sid.is_none());
    }

    #[test]
    fn daily_usage_counts_each_call_once_and_saturates() {
        let sid = |n: u32| CallSid::parse(&format!("CA{n:032x}")).unwrap();
        let mut u = DailyUsage::default();
        assert!(u.count(sid(1).as_str(), 60));
        assert!(!u.count(sid(1).as_str(), 60));
        for n in 2..100 {
            u.count(sid(n).as_str(), 1);
        }
        assert_eq!(u.recent.len(), RECENT_CALLS);
        assert_eq!(u.recent.last().map(String::as_str), Some(sid(99).as_str()));
        let mut full = DailyUsage {
            calls: u32::MAX,
            seconds: u64::MAX,
            recent: Vec::new(),
        };
        full.count(sid(1).as_str(), u32::MAX);
        assert_eq!((full.calls, full.seconds), (u32::MAX, u64::MAX));
    }
}
