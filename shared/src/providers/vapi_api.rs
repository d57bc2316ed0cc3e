//! Vapi REST, the one call onboarding makes: import a Twilio number into Vapi
//! (`POST /phone-number`, provider `twilio`) with its server pointed at our assistant-request
//! URL, so Vapi asks us for the assistant on every call to it. Auth: `Authorization: Bearer
//! <private API key>`. Vapi answers with the phone number object; we keep its `id`, which later
//! messages carry as `phoneNumber.id` / `call.phoneNumberId`.

use super::{ProviderError, base, json_answer, string_field};
use crate::http::Method;
use crate::outbound::{HttpClient, OutRequest};
use crate::phone::PhoneE164;
use serde_json::json;

const SERVICE: &str = "Vapi";

/// Vapi REST for one organisation's private key.
#[derive(Debug, Clone)]
pub struct VapiApi {
    base: String,
    api_key: String,
}

/// What Vapi needs to answer a Twilio number and ask us for its assistant.
#[derive(Debug, Clone)]
pub struct TwilioNumber<'a> {
    pub number: &'a PhoneE164,
    pub twilio_account_sid: &'a str,
    pub twilio_auth_token: &'a str,
    /// Shown in Vapi's dashboard (Vapi allows 40 characters; longer is cut).
    pub name: &'a str,
    /// Our `/vapi/assistant-request` URL.
    pub server_url: &'a str,
    /// Sent back to us as `X-Vapi-Secret` on every request for this number.
    pub server_secret: &'a str,
}

impl VapiApi {
    /// `None` without a key: then numbers are not registered with Vapi.
    pub fn configured(base_url: &str, api_key: &str) -> Option<VapiApi> {
        if api_key.is_empty() || base_url.is_empty() {
            return None;
        }
        Some(VapiApi {
            base: base(base_url),
            api_key: api_key.to_owned(),
        })
    }

    /// Import `n` into Vapi; Vapi's id for it.
    pub async fn register_twilio_number<H: HttpClient>(
        &self,
        http: &H,
        n: &TwilioNumber<'_>,
    ) -> Result<String, ProviderError> {
        let name: String = n.name.chars().take(40).collect();
        let req = OutRequest::new(Method::Post, format!("{}/phone-number", self.base))
            .bearer(&self.api_key)
            .json(&json!({
                "provider": "twilio",
                "number": n.number.as_str(),
                "twilioAccountSid": n.twilio_account_sid,
                "twilioAuthToken": n.twilio_auth_token,
                "name": name,
                "server": {
                    "url": n.server_url,
                    "headers": {"X-Vapi-Secret": n.server_secret},
                },
            }));
        let answer = json_answer(SERVICE, http.send(req).await)?;
        string_field(SERVICE, &answer, "/id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::Scripted;
    use futures::executor::block_on;

    #[test]
    fn registers_with_our_server_and_secret() {
        let http = Scripted::new().on(
            Method::Post,
            "/phone-number",
            201,
            r#"{"id":"5a5a04dc-dcbe-45b1-8f64-fd32a253d135","provider":"twilio"}"#,
        );
        let api = VapiApi::configured("http://vapi.test/", "key").unwrap();
        let number = PhoneE164::parse_e164("+13125550142").unwrap();
        let id = block_on(api.register_twilio_number(
            &http,
            &TwilioNumber {
                number: &number,
                twilio_account_sid: "AC0123456789abcdef0123456789abcdef",
                twilio_auth_token: "tok",
                name: "A very long restaurant name that Vapi would refuse",
                server_url: "https://h.test/vapi/assistant-request",
                server_secret: "s3cret",
            },
        ))
        .unwrap();
        assert_eq!(id, "5a5a04dc-dcbe-45b1-8f64-fd32a253d135");
        let sent = &http.seen()[0];
        assert_eq!(sent.url, "http://vapi.test/phone-number");
        assert_eq!(sent.header_value("authorization"), Some("Bearer key"));
        let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(
            body["server"]["url"],
            "https://h.test/vapi/assistant-request"
        );
        assert_eq!(body["server"]["headers"]["X-Vapi-Secret"], "s3cret");
        assert_eq!(body["name"].as_str().unwrap().chars().count(), 40);
    }

    #[test]
    fn refusal_names_vapis_message() {
        let http = Scripted::new().on(
            Method::Post,
            "/phone-number",
            400,
            r#"{"message":["number must be a valid phone number"],"error":"Bad Request"}"#,
        );
        let api = VapiApi::configured("http://vapi.test", "key").unwrap();
        let number = PhoneE164::parse_e164("+13125550142").unwrap();
        let e = block_on(api.register_twilio_number(
            &http,
            &TwilioNumber {
                number: &number,
                twilio_account_sid: "AC",
                twilio_auth_token: "t",
                name: "n",
                server_url: "u",
                server_secret: "s",
            },
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("number must be a valid phone number"),
            "{e}"
        );
        assert!(VapiApi::configured("http://vapi.test", "").is_none());
    }
}
