//! The settings port: how a function reads its configuration (secrets, other services' URLs)
//! whatever it runs on. Names are spin.toml's variable names (`tool_token_key`); the Spin
//! adapter reads them as Spin variables, the Lambda adapter from the environment in upper case
//! (`TOOL_TOKEN_KEY`, as template.yaml sets them). Each function builds its `Config` from this
//! port in one place (`config()` in its handler), used by every platform's entry point.

use crate::providers::twilio_api::TwilioApi;
use std::collections::HashMap;
use std::future::Future;

/// Where a function's settings come from.
pub trait Settings {
    /// The setting `name` (lower snake case, as in spin.toml); empty when it is not set.
    fn get(&self, name: &str) -> impl Future<Output = String>;
}

impl<T: Settings> Settings for &T {
    fn get(&self, name: &str) -> impl Future<Output = String> {
        (**self).get(name)
    }
}

/// Fixed settings (tests, tools): a name absent from the map is unset.
impl Settings for HashMap<String, String> {
    async fn get(&self, name: &str) -> String {
        HashMap::get(self, name).cloned().unwrap_or_default()
    }
}

/// Twilio's REST API as the settings configure it (`twilio_api_base`, `twilio_account_sid`,
/// `twilio_auth_token`); `None` until an account is set.
pub async fn twilio_api(settings: &impl Settings) -> Option<TwilioApi> {
    TwilioApi::configured(
        &settings.get("twilio_api_base").await,
        &settings.get("twilio_account_sid").await,
        &settings.get("twilio_auth_token").await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_is_configured_only_with_an_account_and_a_token() {
        let mut s: HashMap<String, String> = [
            ("twilio_api_base", "http://127.0.0.1:9/"),
            ("twilio_account_sid", "AC0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert!(futures::executor::block_on(twilio_api(&s)).is_none());
        s.insert("twilio_auth_token".into(), "token".into());
        let api = futures::executor::block_on(twilio_api(&s)).expect("configured");
        assert_eq!(api.account().as_str(), "AC0123456789abcdef0123456789abcdef");
        assert_eq!(futures::executor::block_on(Settings::get(&s, "unset")), "");
    }
}
