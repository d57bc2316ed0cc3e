//! The call record: one per Twilio call, written by the voice webhook when the call is
//! connected to the relay, appended to by status callbacks, and completed by the relay's usage
//! report. Key: `biz/{business}/calls/{call_sid}`. No caller number is stored here: customer
//! phone numbers are personal data and get their own encrypted home with the orders work.

use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::relay::UsageReport;
use serde::{Deserialize, Serialize};

pub fn key(business: &BusinessId, call_sid: &str) -> String {
    format!("biz/{business}/calls/{call_sid}")
}

/// Daily usage totals: `biz/{business}/usage/{yyyy-mm-dd}` (UTC date the call ended).
pub fn usage_key(business: &BusinessId, date: jiff::civil::Date) -> String {
    format!("biz/{business}/usage/{date}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call_sid: String,
    pub business_id: BusinessId,
    /// The line that was dialled.
    pub line: Option<PhoneE164>,
    pub created_at: jiff::Timestamp,
    /// What we answered Twilio: "connected", "rejected", "inactive", "out_of_balance", ...
    pub disposition: String,
    /// Twilio status callbacks, in arrival order.
    #[serde(default)]
    pub statuses: Vec<StatusEvent>,
    /// The relay's report, once the stream has ended (at most once: it is what gets charged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub status: String,
    pub at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub calls: u32,
    pub seconds: u64,
}

/// Call SIDs are `CA` + 32 letters or digits; anything else is not a key we will write.
/// The error is a 400 naming `field`.
pub fn check_call_sid(field: &str, s: &str) -> Result<(), hostline_shared::http::Response> {
    let ok =
        s.len() == 34 && s.starts_with("CA") && s[2..].bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(hostline_shared::http::Response::field_error(
            400,
            field,
            "must be CA followed by 32 letters or digits",
        ))
    }
}
