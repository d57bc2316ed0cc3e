//! The settings port on Lambda: a function's settings are its environment variables, named as
//! spin.toml's variables in upper case (`tool_token_key` is `TOOL_TOKEN_KEY`), as template.yaml
//! sets them. Read once per container, at cold start.

use aws_config::SdkConfig;
use hostline_shared::settings::Settings;
use std::collections::HashMap;

/// The settings of one container.
#[derive(Debug, Clone, Default)]
pub struct EnvSettings {
    values: HashMap<String, String>,
}

impl EnvSettings {
    /// This process's environment.
    pub async fn load(_sdk: &SdkConfig) -> Result<EnvSettings, String> {
        Ok(EnvSettings::from_vars(std::env::vars()))
    }

    /// Settings from `(NAME, value)` pairs, as the environment has them.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> EnvSettings {
        EnvSettings {
            values: vars.into_iter().collect(),
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
