//! The settings port on Lambda: a function's settings are its environment variables, named as
//! spin.toml's variables in upper case (`tool_token_key` is `TOOL_TOKEN_KEY`), as template.yaml
//! sets them; and, when `HOSTLINE_SECRETS_PATH` names an SSM Parameter Store path, the
//! parameters under it (`/hostline/prod/tool_token_key`; SecureString ones decrypted), which
//! take precedence over the environment. Read once per container, at cold start.

use aws_config::SdkConfig;
use hostline_shared::settings::Settings;
use std::collections::HashMap;

/// The environment variable naming the SSM path secrets are kept under.
pub const SECRETS_PATH: &str = "HOSTLINE_SECRETS_PATH";

/// The settings of one container.
#[derive(Debug, Clone, Default)]
pub struct EnvSettings {
    /// By upper-case name.
    values: HashMap<String, String>,
}

impl EnvSettings {
    /// This process's environment, then the parameters under `HOSTLINE_SECRETS_PATH` if it is
    /// set. A path that cannot be read stops the cold start: a function without its secrets
    /// would refuse every request.
    pub async fn load(sdk: &SdkConfig) -> Result<EnvSettings, String> {
        // `vars_os`: a variable that is not UTF-8 is skipped, where `vars` would panic.
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let mut settings = EnvSettings::from_vars(vars);
        let path = settings
            .values
            .get(SECRETS_PATH)
            .cloned()
            .unwrap_or_default();
        if !path.is_empty() {
            let client = aws_sdk_ssm::Client::new(sdk);
            settings.add_parameters(secrets_under(&client, &path).await?);
        }
        Ok(settings)
    }

    /// Settings from `(NAME, value)` pairs, as the environment has them.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> EnvSettings {
        EnvSettings {
            values: vars.into_iter().collect(),
        }
    }

    /// Parameters by their full names: the last segment, in upper case, is the setting.
    fn add_parameters(&mut self, parameters: Vec<(String, String)>) {
        for (name, value) in parameters {
            let setting = name
                .rsplit('/')
                .next()
                .unwrap_or(&name)
                .to_ascii_uppercase();
            self.values.insert(setting, value);
        }
    }
}

/// Every parameter directly under `path`, decrypted, following every page.
async fn secrets_under(
    client: &aws_sdk_ssm::Client,
    path: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_parameters_by_path()
            .path(path)
            .with_decryption(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading SSM parameters under {path}: {}",
                    aws_sdk_ssm::error::DisplayErrorContext(e)
                )
            })?;
        for p in page.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                found.push((name.to_owned(), value.to_owned()));
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

impl Settings for EnvSettings {
    async fn get(&self, name: &str) -> String {
        self.values
            .get(&name.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_case_and_parameters_win_over_the_environment() {
        let mut s = EnvSettings::from_vars([
            ("TOOL_TOKEN_KEY".to_owned(), "from-env".to_owned()),
            ("PUBLIC_BASE_URL".to_owned(), "https://x.test".to_owned()),
        ]);
        s.add_parameters(vec![(
            "/hostline/prod/tool_token_key".into(),
            "from-ssm".into(),
        )]);
        let get = |n| futures::executor::block_on(s.get(n));
        assert_eq!(get("tool_token_key"), "from-ssm");
        assert_eq!(get("public_base_url"), "https://x.test");
        assert_eq!(get("jwt_key"), "", "unset reads as empty");
    }
}
