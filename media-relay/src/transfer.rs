//! Handing a caller to the restaurant's staff line: Twilio's REST API replaces the call's
//! TwiML with a `<Dial>` (Twilio's Calls API, `twiml::dial` in shared). Twilio then ends the
//! media stream by itself; the relay closes both sockets as soon as the update is accepted.
//! The same update is the fallback when the voice agent fails: the caller is put through to the
//! staff line, or hears an apology before the call ends, instead of a silent hang-up.
//!
//! `POST {api}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, form
//! `Twiml=<Response><Say>…</Say><Dial>+1…</Dial></Response>`, basic auth.

use std::time::Duration;

use hostline_shared::calls::{AccountSid, CallSid};
use hostline_shared::twilio::twiml;

/// Said to the caller by Twilio before dialling.
pub const CONNECTING: &str = "Connecting you to the restaurant now.";
/// Said before dialling the staff line when the voice agent failed.
pub const AGENT_DOWN_CONNECTING: &str =
    "Sorry, our phone assistant isn't available right now. Connecting you to the restaurant.";
/// Said before hanging up when the voice agent failed and there is no staff line.
pub const AGENT_DOWN: &str =
    "Sorry, we can't take your call right now. Please try again in a few minutes.";

/// The TwiML a call gets when its voice agent fails: the staff line if there is one, else an
/// apology and a hang-up.
pub fn fallback_twiml(staff: Option<&str>) -> String {
    match staff {
        Some(to) => twiml::dial(to, Some(AGENT_DOWN_CONNECTING)),
        None => twiml::say_and_hang_up(AGENT_DOWN),
    }
}

/// Why a transfer did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("Twilio credentials are not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")]
    NotConfigured,
    #[error("the stream's account or call SID is not a Twilio SID")]
    BadSid,
    #[error("Twilio answered HTTP {0}: {1}")]
    Status(u16, String),
    #[error("request to Twilio failed: {0}")]
    Transport(#[source] reqwest::Error),
}

/// Twilio's REST API, as far as the relay uses it.
#[derive(Debug, Clone)]
pub struct TwilioRest {
    /// Shared connection pool.
    http: reqwest::Client,
    /// `https://api.twilio.com`, or a fake in tests.
    base: String,
    /// Basic-auth user and password; `None` disables transfers.
    auth: Option<(String, String)>,
}

impl TwilioRest {
    pub fn new(http: reqwest::Client, base: &str, auth: Option<(String, String)>) -> TwilioRest {
        TwilioRest {
            http,
            base: base.trim_end_matches('/').to_owned(),
            auth,
        }
    }

    pub fn configured(&self) -> bool {
        self.auth.is_some()
    }

    /// Redirects the live call to dial `to`.
    pub async fn transfer(
        &self,
        account_sid: &str,
        call_sid: &str,
        to: &str,
        limit: Duration,
    ) -> Result<(), TransferError> {
        let twiml = twiml::dial(to, Some(CONNECTING));
        self.update(account_sid, call_sid, &twiml, limit).await
    }

    /// Replaces the live call's TwiML (which ends its media stream).
    pub async fn update(
        &self,
        account_sid: &str,
        call_sid: &str,
        twiml: &str,
        limit: Duration,
    ) -> Result<(), TransferError> {
        let Some((user, password)) = &self.auth else {
            return Err(TransferError::NotConfigured);
        };
        // The SIDs go into the URL path: accept only what Twilio issues (the one rule in
        // `hostline_shared::calls`).
        if AccountSid::parse(account_sid).is_err() || CallSid::parse(call_sid).is_err() {
            return Err(TransferError::BadSid);
        }
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json",
            self.base
        );
        let response = self
            .http
            .post(url)
            .basic_auth(user, Some(password))
            .form(&[("Twiml", twiml)])
            .timeout(limit)
            .send()
            .await
            .map_err(TransferError::Transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(TransferError::Status(
            status.as_u16(),
            body.chars().take(200).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_dials_staff_or_apologises() {
        let xml = |sentence: &str| sentence.replace('\'', "&apos;");
        let staff = fallback_twiml(Some("+14155550100"));
        assert!(staff.contains(&xml(AGENT_DOWN_CONNECTING)), "{staff}");
        assert!(staff.contains("<Dial>+14155550100</Dial>"), "{staff}");
        let alone = fallback_twiml(None);
        assert!(alone.contains(&xml(AGENT_DOWN)), "{alone}");
        assert!(alone.contains("<Hangup"), "{alone}");
        assert!(!alone.contains("<Dial"), "{alone}");
    }
}
