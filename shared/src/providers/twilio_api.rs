//! Twilio REST (API version 2010-04-01), the parts onboarding uses: a text message or a voice
//! call that says a code, and finding and buying a local number. Requests are form-encoded
//! with HTTP Basic auth (account SID : auth token); answers are JSON, errors
//! `{"code", "message", "more_info", "status"}` (../protocols §2.5).

use super::{ProviderError, base, json_answer, string_field};
use crate::calls::AccountSid;
use crate::http::Method;
use crate::outbound::{HttpClient, OutRequest};
use crate::phone::PhoneE164;

const SERVICE: &str = "Twilio";

/// Twilio REST for one account.
#[derive(Debug, Clone)]
pub struct TwilioApi {
    base: String,
    account: AccountSid,
    auth_token: String,
}

/// A number the account now owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedNumber {
    /// `PN…`
    pub sid: String,
    pub e164: PhoneE164,
}

impl TwilioApi {
    /// `None` unless the account SID is valid and the auth token set: then nothing is sent.
    pub fn configured(base_url: &str, account_sid: &str, auth_token: &str) -> Option<TwilioApi> {
        let account = AccountSid::parse(account_sid).ok()?;
        if auth_token.is_empty() || base_url.is_empty() {
            return None;
        }
        Some(TwilioApi {
            base: base(base_url),
            account,
            auth_token: auth_token.to_owned(),
        })
    }

    pub fn account(&self) -> &AccountSid {
        &self.account
    }

    fn url(&self, resource: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}",
            self.base, self.account
        )
    }

    fn request(&self, method: Method, resource: &str) -> OutRequest {
        OutRequest::new(method, self.url(resource))
            .basic_auth(self.account.as_str(), &self.auth_token)
    }

    /// Send a text message; the message SID.
    pub async fn send_sms<H: HttpClient>(
        &self,
        http: &H,
        from: &PhoneE164,
        to: &PhoneE164,
        body: &str,
    ) -> Result<String, ProviderError> {
        let req = self.request(Method::Post, "Messages.json").form(&[
            ("To", to.as_str()),
            ("From", from.as_str()),
            ("Body", body),
        ]);
        let answer = json_answer(SERVICE, http.send(req).await)?;
        string_field(SERVICE, &answer, "/sid")
    }

    /// Place a call that plays `twiml`; the call SID.
    pub async fn call_with_twiml<H: HttpClient>(
        &self,
        http: &H,
        from: &PhoneE164,
        to: &PhoneE164,
        twiml: &str,
    ) -> Result<String, ProviderError> {
        let req = self.request(Method::Post, "Calls.json").form(&[
            ("To", to.as_str()),
            ("From", from.as_str()),
            ("Twiml", twiml),
        ]);
        let answer = json_answer(SERVICE, http.send(req).await)?;
        string_field(SERVICE, &answer, "/sid")
    }

    /// Local numbers for sale in `country` (ISO code, e.g. `US`), voice- and SMS-capable, in
    /// `area_code` when given.
    pub async fn available_local<H: HttpClient>(
        &self,
        http: &H,
        country: &str,
        area_code: Option<&str>,
    ) -> Result<Vec<PhoneE164>, ProviderError> {
        // Built in its own scope: the serializer is not `Send`, and this future must be.
        let query = {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("VoiceEnabled", "true");
            query.append_pair("SmsEnabled", "true");
            query.append_pair("PageSize", "10");
            if let Some(code) = area_code {
                query.append_pair("AreaCode", code);
            }
            query.finish()
        };
        let country: String = country
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(2)
            .collect();
        let mut req = self.request(
            Method::Get,
            &format!("AvailablePhoneNumbers/{country}/Local.json"),
        );
        req.url = format!("{}?{query}", req.url);
        let answer = json_answer(SERVICE, http.send(req).await)?;
        let numbers = answer
            .get("available_phone_numbers")
            .and_then(|a| a.as_array())
            .ok_or_else(|| ProviderError::Malformed {
                service: SERVICE,
                detail: "no available_phone_numbers list".into(),
            })?;
        Ok(numbers
            .iter()
            .filter_map(|n| n.get("phone_number")?.as_str())
            .filter_map(|n| PhoneE164::parse_e164(n).ok())
            .collect())
    }

    /// Buy `number`, sending its calls to `voice_url` when given (a number registered with
    /// Vapi gets its voice URL from Vapi instead). `label` becomes its friendly name.
    pub async fn buy_number<H: HttpClient>(
        &self,
        http: &H,
        number: &PhoneE164,
        voice_url: Option<&str>,
        label: &str,
    ) -> Result<OwnedNumber, ProviderError> {
        let mut fields = vec![("PhoneNumber", number.as_str()), ("FriendlyName", label)];
        if let Some(url) = voice_url {
            fields.push(("VoiceUrl", url));
            fields.push(("VoiceMethod", "POST"));
        }
        let req = self
            .request(Method::Post, "IncomingPhoneNumbers.json")
            .form(&fields);
        let answer = json_answer(SERVICE, http.send(req).await)?;
        let sid = string_field(SERVICE, &answer, "/sid")?;
        let e164 = string_field(SERVICE, &answer, "/phone_number")?;
        let e164 = PhoneE164::parse_e164(&e164).map_err(|e| ProviderError::Malformed {
            service: SERVICE,
            detail: format!("phone_number: {e}"),
        })?;
        Ok(OwnedNumber { sid, e164 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::Scripted;
    use futures::executor::block_on;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";

    fn api() -> TwilioApi {
        TwilioApi::configured("http://twilio.test/", AC, "tok").unwrap()
    }

    fn e164(s: &str) -> PhoneE164 {
        PhoneE164::parse_e164(s).unwrap()
    }

    #[test]
    fn unconfigured_without_a_valid_account() {
        assert!(TwilioApi::configured("http://t", "", "tok").is_none());
        assert!(TwilioApi::configured("http://t", "AC12", "tok").is_none());
        assert!(TwilioApi::configured("http://t", AC, "").is_none());
    }

    #[test]
    fn sms_is_a_form_post_with_basic_auth() {
        let http = Scripted::new().on(Method::Post, "/Messages.json", 201, r#"{"sid":"SM1"}"#);
        let sid = block_on(api().send_sms(
            &http,
            &e164("+13125550100"),
            &e164("+13125550111"),
            "Your code is 123456",
        ))
        .unwrap();
        assert_eq!(sid, "SM1");
        let sent = &http.seen()[0];
        assert_eq!(
            sent.url,
            format!("http://twilio.test/2010-04-01/Accounts/{AC}/Messages.json")
        );
        let body = String::from_utf8(sent.body.clone()).unwrap();
        assert_eq!(
            body,
            "To=%2B13125550111&From=%2B13125550100&Body=Your+code+is+123456"
        );
        assert!(
            sent.header_value("authorization")
                .unwrap()
                .starts_with("Basic ")
        );
    }

    #[test]
    fn errors_carry_twilios_message() {
        let http = Scripted::new().on(
            Method::Post,
            "/Messages.json",
            400,
            r#"{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}"#,
        );
        let e = block_on(api().send_sms(&http, &e164("+13125550100"), &e164("+13125550111"), "x"))
            .unwrap_err();
        assert_eq!(
            e,
            ProviderError::Refused {
                service: "Twilio",
                status: 400,
                message: "The 'To' number is not a valid phone number.".into()
            }
        );
    }

    #[test]
    fn search_and_buy() {
        let http = Scripted::new()
            .on(
                Method::Get,
                "/AvailablePhoneNumbers/US/Local.json",
                200,
                r#"{"available_phone_numbers":[{"phone_number":"+13125550142"},{"phone_number":"bogus"}]}"#,
            )
            .on(
                Method::Post,
                "/IncomingPhoneNumbers.json",
                201,
                r#"{"sid":"PN1","phone_number":"+13125550142"}"#,
            );
        let found = block_on(api().available_local(&http, "US", Some("312"))).unwrap();
        assert_eq!(found, [e164("+13125550142")]);
        assert!(
            http.seen()[0]
                .url
                .ends_with("Local.json?VoiceEnabled=true&SmsEnabled=true&PageSize=10&AreaCode=312")
        );
        let owned = block_on(api().buy_number(
            &http,
            &found[0],
            Some("https://h.test/twilio/voice"),
            "Hostline: biz",
        ))
        .unwrap();
        assert_eq!(owned.e164, found[0]);
        let body = String::from_utf8(http.seen()[1].body.clone()).unwrap();
        assert!(
            body.contains("VoiceUrl=https%3A%2F%2Fh.test%2Ftwilio%2Fvoice"),
            "{body}"
        );
    }

    #[test]
    fn unreachable_and_malformed() {
        let http = Scripted::new().on(Method::Post, "/Calls.json", 201, "not json");
        let e = block_on(api().call_with_twiml(
            &http,
            &e164("+13125550100"),
            &e164("+13125550111"),
            "<Response/>",
        ))
        .unwrap_err();
        assert!(matches!(e, ProviderError::Malformed { .. }), "{e:?}");
        let e = block_on(api().send_sms(&http, &e164("+13125550100"), &e164("+13125550111"), "x"))
            .unwrap_err();
        assert!(matches!(e, ProviderError::Unreachable { .. }), "{e:?}");
    }
}
