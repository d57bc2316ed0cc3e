//! The onboarding wizard as a pure state machine: identify → confirm → verify → account →
//! review → go-live. The functions that run it (storage, SMS, Places, provisioning) decide
//! nothing about order; they ask [`Wizard::begin`] whether a step may run now and record its
//! outcome with the step's `complete_*` method.
//!
//! Rules: steps run strictly in order; the wizard can be left and resumed at any time (it is
//! one stored record); a finished step may be run again, changing its answer, until the step
//! after it has started — after that its answer is what later steps were built on.
//!
//! Also here: reading a Google Maps link offline ([`parse_maps_url`]) for the identify step.

use crate::ids::BusinessId;
use crate::phone::PhoneE164;
use serde::{Deserialize, Serialize};

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Identify,
    Confirm,
    Verify,
    Account,
    Review,
    GoLive,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Identify,
        Step::Confirm,
        Step::Verify,
        Step::Account,
        Step::Review,
        Step::GoLive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Identify => "identify",
            Step::Confirm => "confirm",
            Step::Verify => "verify",
            Step::Account => "account",
            Step::Review => "review",
            Step::GoLive => "go-live",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.as_str() == s)
    }

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    /// What a step still needs, said to the person doing it.
    pub fn needs(self) -> &'static str {
        match self {
            Step::Identify => "a Google Maps link to the restaurant, or its name",
            Step::Confirm => "the business id, name, address, time zone and main phone line",
            Step::Verify => {
                "the 6-digit code sent to the main line (send it with {\"send\": true})"
            }
            Step::Account => "the owner's email, password and name",
            Step::Review => "a restaurant document (hostline.restaurant/v1)",
            Step::GoLive => "nothing: a line is attached and the business switched on",
        }
    }
}

/// What the identify step found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identified {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
    /// From a Places search: the address and phone Google lists (suggestions for confirm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneE164>,
}

/// A line got for the business at go-live, recorded as soon as it is ours, so a go-live that
/// is retried after a failure reuses it instead of buying another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioned {
    pub e164: PhoneE164,
    /// `pool` (the operator's free numbers) or `twilio` (bought for this business).
    pub source: String,
    /// Twilio's id of a bought number (`PN…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twilio_sid: Option<String>,
    /// Vapi's id for the number, once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vapi_phone_number_id: Option<String>,
}

/// What the owner confirmed about the business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmed {
    pub business_id: BusinessId,
    pub name: String,
    pub address: String,
    pub timezone: String,
    pub main_line: PhoneE164,
}

/// The state of the verification code sent to the main line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Digest of the code (never the code).
    pub code_digest: String,
    pub sent_at: i64,
    pub expires_at: i64,
    /// Codes sent so far (each send replaces the code).
    pub sends: u32,
    /// Wrong codes entered for the current code.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<i64>,
}

/// How long a code is valid, how many wrong tries one code allows, how many codes one wizard
/// may send, and how long before another may be sent.
pub const CODE_TTL_SECONDS: i64 = 10 * 60;
pub const CODE_ATTEMPTS: u32 = 5;
pub const MAX_SENDS: u32 = 5;
pub const RESEND_AFTER_SECONDS: i64 = 30;
/// How long an unfinished wizard is kept.
pub const WIZARD_TTL_SECONDS: i64 = 7 * 24 * 60 * 60;

/// One wizard's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wizard {
    pub id: String,
    /// Digest of the secret that authorises the steps before the account exists.
    pub secret_digest: String,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub identified: Option<Identified>,
    #[serde(default)]
    pub confirmed: Option<Confirmed>,
    #[serde(default)]
    pub verification: Option<Verification>,
    /// The owner's user id, once the account step ran.
    #[serde(default)]
    pub owner: Option<String>,
    /// The revision of the imported document, once the review step ran.
    #[serde(default)]
    pub reviewed_revision: Option<u64>,
    /// The line got for go-live (attached or not yet).
    #[serde(default)]
    pub provisioned: Option<Provisioned>,
    /// The line attached at go-live.
    #[serde(default)]
    pub live_line: Option<PhoneE164>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WizardError {
    #[error("{step} comes later: do {next} first")]
    TooEarly {
        step: &'static str,
        next: &'static str,
    },
    #[error("{step} can no longer be changed: {later} has started")]
    Settled {
        step: &'static str,
        later: &'static str,
    },
    #[error("the onboarding is finished")]
    Finished,
    #[error("the onboarding has expired; start again")]
    Expired,
    #[error("{0}")]
    Code(&'static str),
}

impl Wizard {
    pub fn new(id: String, secret_digest: String, now: i64) -> Wizard {
        Wizard {
            id,
            secret_digest,
            created_at: now,
            updated_at: now,
            identified: None,
            confirmed: None,
            verification: None,
            owner: None,
            reviewed_revision: None,
            provisioned: None,
            live_line: None,
        }
    }

    /// Whether `step` is done.
    pub fn done(&self, step: Step) -> bool {
        match step {
            Step::Identify => self.identified.is_some(),
            Step::Confirm => self.confirmed.is_some(),
            Step::Verify => self
                .verification
                .as_ref()
                .is_some_and(|v| v.verified_at.is_some()),
            Step::Account => self.owner.is_some(),
            Step::Review => self.reviewed_revision.is_some(),
            Step::GoLive => self.live_line.is_some(),
        }
    }

    /// Whether `step` has started (done, or part-way: a code sent).
    pub fn started(&self, step: Step) -> bool {
        self.done(step) || (step == Step::Verify && self.verification.is_some())
    }

    /// The first step not done (`None`: finished).
    pub fn next_step(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.done(*s))
    }

    pub fn expired(&self, now: i64) -> bool {
        self.next_step().is_some() && now - self.created_at >= WIZARD_TTL_SECONDS
    }

    /// May `step` run now? The next step may; a done step may again until the one after it
    /// has started.
    pub fn begin(&self, step: Step, now: i64) -> Result<(), WizardError> {
        let Some(next) = self.next_step() else {
            return Err(WizardError::Finished);
        };
        if self.expired(now) {
            return Err(WizardError::Expired);
        }
        if step == next {
            return Ok(());
        }
        if step > next {
            return Err(WizardError::TooEarly {
                step: step.as_str(),
                next: next.as_str(),
            });
        }
        match step.next() {
            Some(later) if self.started(later) => Err(WizardError::Settled {
                step: step.as_str(),
                later: later.as_str(),
            }),
            _ => Ok(()),
        }
    }

    /// Record a new code sent to the main line (its digest), checking the send limits.
    pub fn code_sent(&mut self, code_digest: String, now: i64) -> Result<(), WizardError> {
        let sends = match &self.verification {
            Some(v) if v.verified_at.is_some() => {
                return Err(WizardError::Code("the line is already verified"));
            }
            Some(v) if v.sends >= MAX_SENDS => {
                return Err(WizardError::Code(
                    "too many codes were sent; start again later",
                ));
            }
            Some(v) if now - v.sent_at < RESEND_AFTER_SECONDS => {
                return Err(WizardError::Code(
                    "a code was sent a moment ago; wait 30 seconds",
                ));
            }
            Some(v) => v.sends + 1,
            None => 1,
        };
        self.verification = Some(Verification {
            code_digest,
            sent_at: now,
            expires_at: now + CODE_TTL_SECONDS,
            sends,
            attempts: 0,
            verified_at: None,
        });
        self.updated_at = now;
        Ok(())
    }

    /// Check an entered code (by its digest; the caller compares in constant time and passes
    /// the result). A wrong code counts against the current code's attempts.
    pub fn code_entered(&mut self, matches: bool, now: i64) -> Result<(), WizardError> {
        let Some(v) = &mut self.verification else {
            return Err(WizardError::Code("no code has been sent yet"));
        };
        if v.verified_at.is_some() {
            return Ok(());
        }
        if now >= v.expires_at {
            return Err(WizardError::Code("the code has expired; send a new one"));
        }
        if v.attempts >= CODE_ATTEMPTS {
            return Err(WizardError::Code("too many wrong codes; send a new one"));
        }
        if matches {
            v.verified_at = Some(now);
        } else {
            v.attempts += 1;
            self.updated_at = now;
            return Err(WizardError::Code("the code is not right"));
        }
        self.updated_at = now;
        Ok(())
    }

    /// Confirming again with another main line means verifying again.
    pub fn complete_confirm(&mut self, c: Confirmed, now: i64) {
        if self.confirmed.as_ref().map(|old| &old.main_line) != Some(&c.main_line) {
            self.verification = None;
        }
        self.confirmed = Some(c);
        self.updated_at = now;
    }

    pub fn complete_identify(&mut self, i: Identified, now: i64) {
        self.identified = Some(i);
        self.updated_at = now;
    }

    pub fn complete_account(&mut self, user_id: String, now: i64) {
        self.owner = Some(user_id);
        self.updated_at = now;
    }

    pub fn complete_review(&mut self, revision: u64, now: i64) {
        self.reviewed_revision = Some(revision);
        self.updated_at = now;
    }

    pub fn complete_go_live(&mut self, line: PhoneE164, now: i64) {
        self.live_line = Some(line);
        self.updated_at = now;
    }

    /// Each step and what it still needs (`null` when done), for `GET /api/v1/onboarding/{id}`.
    pub fn summary(&self) -> serde_json::Value {
        let steps: Vec<serde_json::Value> = Step::ALL
            .iter()
            .map(|s| {
                serde_json::json!({
                    "step": s.as_str(),
                    "done": self.done(*s),
                    "needs": (!self.done(*s)).then(|| s.needs()),
                })
            })
            .collect();
        serde_json::json!({
            "id": self.id,
            "step": self.next_step().map(Step::as_str),
            "steps": steps,
            "identified": self.identified,
            "confirmed": self.confirmed,
            "verified": self.done(Step::Verify),
            "owner": self.owner,
            "reviewed_revision": self.reviewed_revision,
            "provisioned": self.provisioned,
            "live_line": self.live_line,
        })
    }
}

/// What a Google Maps link says about a place, read offline.
#[derive(Debug, Clone, PartialEq)]
pub struct MapsPlace {
    pub name: Option<String>,
    pub place_id: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// Read a Google Maps link: `…/maps/place/<name>/@<lat>,<lng>,<zoom>z/…`,
/// `…/maps/search/?api=1&query=<name>&query_place_id=<id>`, `…/maps?q=place_id:<id>` and
/// `…/maps?q=<name>`. Short links (`maps.app.goo.gl`) need a network round trip to expand, so
/// they are refused with a message saying so.
pub fn parse_maps_url(url: &str) -> Result<MapsPlace, &'static str> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must be a Google Maps link (https://www.google.com/maps/...)")?;
    let (host, path_query) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    if host == "maps.app.goo.gl" || host == "goo.gl" {
        return Err(
            "short links cannot be read offline; open it and paste the full link from the address bar",
        );
    }
    let google = host == "google.com"
        || host.starts_with("www.google.")
        || host.starts_with("maps.google.")
        || host.starts_with("google.");
    if !google {
        return Err("must be a Google Maps link (https://www.google.com/maps/...)");
    }
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    if !path.starts_with("maps") {
        return Err("must be a Google Maps link (https://www.google.com/maps/...)");
    }
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut place = MapsPlace {
        name: None,
        place_id: None,
        lat: None,
        lng: None,
    };
    let segments: Vec<&str> = path.split('/').collect();
    if let Some(i) = segments.iter().position(|s| *s == "place")
        && let Some(name) = segments.get(i + 1)
        && !name.starts_with('@')
    {
        place.name = Some(decode(name)).filter(|n| !n.is_empty());
    }
    if let Some(at) = segments.iter().find(|s| s.starts_with('@')) {
        let mut parts = at[1..].split(',');
        let lat = parts.next().and_then(|v| v.parse::<f64>().ok());
        let lng = parts.next().and_then(|v| v.parse::<f64>().ok());
        if let (Some(lat), Some(lng)) = (lat, lng)
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lng)
        {
            place.lat = Some(lat);
            place.lng = Some(lng);
        }
    }
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim();
        match k.as_ref() {
            "query_place_id" if valid_place_id(v) => place.place_id = Some(v.to_owned()),
            "q" | "query" => match v.strip_prefix("place_id:") {
                Some(id) if valid_place_id(id) => place.place_id = Some(id.to_owned()),
                Some(_) => {}
                None if place.name.is_none() && !v.is_empty() => place.name = Some(v.to_owned()),
                None => {}
            },
            _ => {}
        }
    }
    if place.name.is_none() && place.place_id.is_none() {
        return Err(
            "the link names no place; open the restaurant in Google Maps and copy that link",
        );
    }
    Ok(place)
}

/// The bodies of the wizard's steps (`POST /api/v1/onboarding/{id}/{step}`), parsed by the
/// onboarding function and documented from these same types in the OpenAPI document.
pub mod requests {
    use schemars::JsonSchema;
    use serde::Deserialize;

    /// identify: a Google Maps link, or the restaurant's name (searched with Places when a
    /// key is configured), or both.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Identify {
        #[serde(default)]
        #[schemars(length(max = 2048))]
        pub maps_url: Option<String>,
        #[serde(default)]
        #[schemars(length(min = 1, max = 200))]
        pub name: Option<String>,
    }

    /// confirm: what the business is; `business_id` becomes its id for good.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Confirm {
        #[schemars(
            length(min = 3, max = 64),
            regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")
        )]
        pub business_id: String,
        #[schemars(length(min = 1, max = 100))]
        pub name: String,
        #[schemars(length(min = 1, max = 300))]
        pub address: String,
        /// An IANA time zone, e.g. `America/Chicago`.
        #[schemars(length(min = 1, max = 64))]
        pub timezone: String,
        /// The restaurant's own number, where the code is sent.
        #[schemars(length(min = 3, max = 32))]
        pub main_line: String,
    }

    /// verify: `{"send": true, "channel"?: "sms" | "voice"}` sends a code; `{"code"}` checks it.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Verify {
        #[serde(default)]
        pub send: bool,
        #[serde(default)]
        pub channel: Option<Channel>,
        #[serde(default)]
        #[schemars(regex(pattern = r"^[0-9]{6}$"))]
        pub code: Option<String>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Channel {
        Sms,
        Voice,
    }

    /// account: the owner (a new account, or an existing one proven by its password).
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Account {
        #[schemars(email, length(max = 254))]
        pub email: String,
        #[schemars(length(min = 10, max = 256))]
        pub password: String,
        #[schemars(length(min = 1, max = 100))]
        pub name: String,
    }

    /// go-live: optionally, the area code a bought number should have (default: the main
    /// line's, for North American numbers).
    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct GoLive {
        #[serde(default)]
        #[schemars(regex(pattern = r"^[2-9][0-9]{2}$"))]
        pub area_code: Option<String>,
    }
}

/// A Places id: 10 to 300 characters of base64url-ish text (`ChIJ…`).
fn valid_place_id(s: &str) -> bool {
    (10..=300).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirmed(line: &str) -> Confirmed {
        Confirmed {
            business_id: BusinessId::parse("golden-lotus").unwrap(),
            name: "Golden Lotus".into(),
            address: "1 Main St".into(),
            timezone: "America/New_York".into(),
            main_line: PhoneE164::parse_e164(line).unwrap(),
        }
    }

    fn identified() -> Identified {
        Identified {
            name: "Golden Lotus".into(),
            place_id: None,
            lat: None,
            lng: None,
            address: None,
            phone: None,
        }
    }

    #[test]
    fn steps_run_in_order_and_repeat_until_the_next_starts() {
        let mut w = Wizard::new("w".into(), "d".into(), 0);
        assert_eq!(w.next_step(), Some(Step::Identify));
        assert!(matches!(
            w.begin(Step::Confirm, 1),
            Err(WizardError::TooEarly {
                next: "identify",
                ..
            })
        ));
        w.begin(Step::Identify, 1).unwrap();
        w.complete_identify(identified(), 1);
        // Identify may be repeated while confirm has not started.
        w.begin(Step::Identify, 2).unwrap();
        w.begin(Step::Confirm, 2).unwrap();
        w.complete_confirm(confirmed("+12125550170"), 2);
        assert!(matches!(
            w.begin(Step::Identify, 3),
            Err(WizardError::Settled {
                later: "confirm",
                ..
            })
        ));
        // Confirm may be repeated until a code is sent; then it is settled.
        w.begin(Step::Confirm, 3).unwrap();
        w.code_sent("digest".into(), 3).unwrap();
        assert!(matches!(
            w.begin(Step::Confirm, 4),
            Err(WizardError::Settled {
                later: "verify",
                ..
            })
        ));
        assert_eq!(w.next_step(), Some(Step::Verify));
        assert!(w.code_entered(false, 10).is_err());
        w.code_entered(true, 11).unwrap();
        assert_eq!(w.next_step(), Some(Step::Account));
        w.complete_account("u_1".into(), 12);
        w.complete_review(1, 13);
        w.complete_go_live(PhoneE164::parse_e164("+12125550170").unwrap(), 14);
        assert_eq!(w.next_step(), None);
        assert_eq!(w.begin(Step::GoLive, 15), Err(WizardError::Finished));
        let s = w.summary();
        assert!(s["step"].is_null() && s["steps"][5]["done"] == true);
    }

    #[test]
    fn codes_expire_limit_attempts_and_sends() {
        let mut w = Wizard::new("w".into(), "d".into(), 0);
        w.complete_identify(identified(), 0);
        w.complete_confirm(confirmed("+12125550170"), 0);
        assert!(w.code_entered(true, 1).is_err(), "nothing sent yet");
        w.code_sent("a".into(), 0).unwrap();
        assert!(w.code_sent("b".into(), 10).is_err(), "resend too soon");
        for _ in 0..CODE_ATTEMPTS {
            assert!(w.code_entered(false, 20).is_err());
        }
        assert_eq!(
            w.code_entered(true, 21),
            Err(WizardError::Code("too many wrong codes; send a new one"))
        );
        w.code_sent("c".into(), 40).unwrap();
        assert_eq!(
            w.code_entered(true, 40 + CODE_TTL_SECONDS),
            Err(WizardError::Code("the code has expired; send a new one"))
        );
        for t in 0..3 {
            w.code_sent("d".into(), 100 + t * 60).unwrap();
        }
        assert!(
            w.code_sent("e".into(), 400).is_err(),
            "at most {MAX_SENDS} codes"
        );
        // Confirming another main line drops the verification.
        let mut v = Wizard::new("v".into(), "d".into(), 0);
        v.complete_identify(identified(), 0);
        v.complete_confirm(confirmed("+12125550170"), 0);
        v.complete_confirm(confirmed("+12125550171"), 1);
        assert!(v.verification.is_none());
        assert!(Wizard::new("x".into(), "d".into(), 0).expired(WIZARD_TTL_SECONDS));
    }

    #[test]
    fn maps_links_are_read_offline() {
        let p = parse_maps_url(
            "https://www.google.com/maps/place/Golden+Lotus+Thai+Kitchen/@40.7648,-73.9911,17z/data=!3m1!4b1",
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("Golden Lotus Thai Kitchen"));
        assert_eq!((p.lat, p.lng), (Some(40.7648), Some(-73.9911)));
        let p = parse_maps_url(
            "https://www.google.com/maps/search/?api=1&query=Trattoria%20Nonna&query_place_id=ChIJN1t_tDeuEmsRUsoyG83frY4",
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("Trattoria Nonna"));
        assert_eq!(p.place_id.as_deref(), Some("ChIJN1t_tDeuEmsRUsoyG83frY4"));
        let p =
            parse_maps_url("https://maps.google.com/maps?q=place_id:ChIJN1t_tDeuEmsRUsoyG83frY4")
                .unwrap();
        assert_eq!(p.place_id.as_deref(), Some("ChIJN1t_tDeuEmsRUsoyG83frY4"));
        assert!(
            parse_maps_url("https://maps.app.goo.gl/abc123")
                .unwrap_err()
                .contains("short links")
        );
        assert!(parse_maps_url("https://evil.example/maps/place/X").is_err());
        assert!(parse_maps_url("not a url").is_err());
        assert!(parse_maps_url("https://www.google.com/maps/@40.1,-73.2,17z").is_err());
        assert!(parse_maps_url("https://www.google.com/search?q=pizza").is_err());
    }
}
