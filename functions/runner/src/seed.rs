//! The demo restaurant seeded on first start, and the banner that tells you how to call it.
//!
//! The demo document is the repo's `fixtures/restaurants/demo-boba.json`, compiled in. Its
//! business id is the fixture's name (the document itself carries no id), and its demo line
//! is read from the document, so the banner can never drift from what was seeded. Seeding
//! goes through the owner-api component like any operator request, so it exercises the same
//! validation and indexing a real import does. A marker file remembers success; a failure
//! only logs a warning and is retried on the next start.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use serde::{Deserialize, Serialize};

use crate::app::App;

/// Defines the demo business id once, for both the constant and the fixture's file name.
macro_rules! demo_business_id {
    () => {
        "demo-boba"
    };
}

/// The demo business id (the fixture's name).
pub const DEMO_BUSINESS_ID: &str = demo_business_id!();

/// The demo document (`hostline.restaurant/v1`).
pub const DEMO_DOCUMENT: &str = include_str!(concat!(
    "../../../fixtures/restaurants/",
    demo_business_id!(),
    ".json"
));

/// Marker file written once the demo is in the store.
pub const SEED_MARKER: &str = "demo-seeded.json";

/// What the banner needs to know about the demo restaurant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoInfo {
    /// Business id.
    pub business_id: String,
    /// Display name.
    pub name: String,
    /// The line callers dial (E.164).
    pub line: String,
}

/// Result of the seeding step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOutcome {
    /// Seeding is turned off.
    Disabled,
    /// Seeded now.
    Seeded(DemoInfo),
    /// The data directory already holds it.
    AlreadySeeded(DemoInfo),
    /// Not seeded; why.
    Failed(String),
}

#[derive(Deserialize)]
struct Doc {
    business: DocBusiness,
}

#[derive(Deserialize)]
struct DocBusiness {
    name: String,
    phone_lines: Vec<DocLine>,
}

#[derive(Deserialize)]
struct DocLine {
    e164: String,
    #[serde(default)]
    priority: Option<i64>,
}

/// Reads the demo's name and main line (lowest priority number) from the document.
pub fn demo_info() -> Result<DemoInfo, String> {
    let doc: Doc = serde_json::from_str(DEMO_DOCUMENT)
        .map_err(|e| format!("demo document is not what the runner expects: {e}"))?;
    let line = doc
        .business
        .phone_lines
        .iter()
        .min_by_key(|l| l.priority.unwrap_or(i64::MAX))
        .ok_or("demo document has no phone_lines")?;
    Ok(DemoInfo {
        business_id: DEMO_BUSINESS_ID.to_owned(),
        name: doc.business.name,
        line: line.e164.clone(),
    })
}

/// Seeds the demo restaurant unless the marker says it is already there.
pub async fn seed_demo(app: &App, data_dir: &Path, addr: SocketAddr) -> SeedOutcome {
    let marker = data_dir.join(SEED_MARKER);
    if let Ok(text) = std::fs::read_to_string(&marker)
        && let Ok(info) = serde_json::from_str::<DemoInfo>(&text)
    {
        return SeedOutcome::AlreadySeeded(info);
    }
    let info = match demo_info() {
        Ok(i) => i,
        Err(e) => return SeedOutcome::Failed(e),
    };
    let path = format!("/api/v1/businesses/{}/restaurant", info.business_id);
    if !app.routes_path(&path) {
        return SeedOutcome::Failed(format!(
            "no route in {} serves {path} (is the owner-api component in the manifest?)",
            app.manifest.path.display()
        ));
    }
    let Some(token) = app.variables.application.get("admin_token") else {
        return SeedOutcome::Failed(format!(
            "{} declares no `admin_token` variable to authorize the import",
            app.manifest.path.display()
        ));
    };
    let request = Request::builder()
        .method(Method::PUT)
        .uri(path.as_str())
        .header(HOST, addr.to_string())
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(DEMO_DOCUMENT.as_bytes())));
    let request = match request {
        Ok(r) => r,
        Err(e) => return SeedOutcome::Failed(format!("cannot build the seed request: {e}")),
    };
    let response = app
        .dispatch(
            request,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &addr.to_string(),
        )
        .await;
    let status = response.status();
    if !status.is_success() {
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        let body: String = body.chars().take(300).collect();
        return SeedOutcome::Failed(format!("PUT {path} answered {status}: {body}"));
    }
    match serde_json::to_string_pretty(&info) {
        Ok(text) => {
            if let Err(e) = std::fs::write(&marker, text) {
                tracing::warn!(file = %marker.display(), error = %e, "demo seeded but the marker could not be written; it will be re-imported next start");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot record the demo seed"),
    }
    tracing::info!(business = %info.business_id, line = %info.line, "seeded the demo restaurant");
    SeedOutcome::Seeded(info)
}

/// Single-quotes a string for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `sed` script the banner uses to take the tool credential out of an assistant-request
/// answer (compact JSON on one line).
const TOOL_TOKEN_SED: &str = r#"s/.*"x-hostline-tool-token": *"\([^"]*\)".*/\1/p"#;

/// A shell line that sets `VAPI_SECRET` from wherever the runner got `vapi_secret`: the
/// generated-secrets file, the environment variable the user set, or the manifest default.
fn secret_assignment(app: &App, data_dir: &Path) -> String {
    if app.variables.generated.iter().any(|n| n == "vapi_secret") {
        let file = data_dir.join(crate::variables::GENERATED_FILE_NAME);
        let file = std::path::absolute(&file).unwrap_or(file);
        // The file is serde_json's pretty output: one `"name": "value"` per line.
        format!(
            "VAPI_SECRET=$(sed -n {} {})",
            shell_quote(r#"s/^ *"vapi_secret": *"\([^"]*\)".*/\1/p"#),
            shell_quote(&file.display().to_string())
        )
    } else if app.variables.from_env.iter().any(|n| n == "vapi_secret") {
        format!(
            "VAPI_SECRET=\"${}\"",
            crate::variables::env_name("vapi_secret")
        )
    } else {
        format!(
            "VAPI_SECRET=...   # the vapi_secret default in {}",
            app.manifest.path.display()
        )
    }
}

/// The start-up banner. Line 1 is the machine-readable `hostline listening on <url>`. It
/// never contains a secret's value.
pub fn banner(url: &str, app: &App, seed: &SeedOutcome, data_dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "hostline listening on {url}");
    let _ = writeln!(
        out,
        "  app {} · {} components · data in {}",
        app.manifest.name,
        app.manifest.components.len(),
        data_dir.display()
    );
    if !app.variables.generated.is_empty() {
        let _ = writeln!(
            out,
            "  local secrets {} generated in {} (set SPIN_VARIABLE_<NAME> to choose your own)",
            app.variables.generated.join(", "),
            data_dir
                .join(crate::variables::GENERATED_FILE_NAME)
                .display()
        );
    }
    match seed {
        SeedOutcome::Seeded(d) | SeedOutcome::AlreadySeeded(d) => {
            let _ = writeln!(
                out,
                "  demo restaurant: {} (business {}), line {}",
                d.name, d.business_id, d.line
            );
            if app.variables.application.contains_key("vapi_secret") {
                // Written out by hand to keep Vapi's field order, which reads better than
                // serde_json's sorted keys; the line goes through serde for escaping.
                let line = serde_json::Value::String(d.line.clone()).to_string();
                let assistant = format!(
                    r#"{{"message":{{"type":"assistant-request","phoneNumber":{{"number":{line}}},"call":{{"id":"demo-call"}}}}}}"#
                );
                let tool = format!(
                    r#"{{"message":{{"type":"tool-calls","phoneNumber":{{"number":{line}}},"call":{{"id":"demo-call"}},"toolCallList":[{{"id":"t1","type":"function","function":{{"name":"get_menu_info","arguments":{{"query":"taro milk tea"}}}}}}]}}}}"#
                );
                // The secret itself is never printed (terminals are scrolled back, shared and
                // logged): the commands read it from where it lives.
                let _ = writeln!(out, "  try:");
                let _ = writeln!(out, "    {}", secret_assignment(app, data_dir));
                let header = r#""X-Vapi-Secret: $VAPI_SECRET""#;
                let _ = writeln!(
                    out,
                    "    curl -s {url}/vapi/assistant-request -H {header} -H 'Content-Type: application/json' -d {}",
                    shell_quote(&assistant)
                );
                // Tool calls carry the per-business credential the assistant hands out.
                let _ = writeln!(
                    out,
                    "    TOOL_TOKEN=$(curl -s {url}/vapi/assistant-request -H {header} -H 'Content-Type: application/json' -d {} | sed -n {})",
                    shell_quote(&assistant),
                    shell_quote(TOOL_TOKEN_SED)
                );
                let _ = writeln!(
                    out,
                    "    curl -s {url}/vapi/knowledge-base -H \"X-Hostline-Tool-Token: $TOOL_TOKEN\" -H 'Content-Type: application/json' -d {}",
                    shell_quote(&tool)
                );
            }
        }
        SeedOutcome::Failed(reason) => {
            let _ = writeln!(out, "  demo restaurant not seeded: {reason}");
        }
        SeedOutcome::Disabled => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_info_comes_from_the_document() {
        let info = demo_info().expect("demo document parses");
        assert_eq!(info.business_id, "demo-boba");
        assert!(info.line.starts_with('+'), "{}", info.line);
        assert!(!info.name.is_empty());
    }

    #[test]
    fn banner_json_is_valid() {
        let line = serde_json::Value::String("+1555".into()).to_string();
        let tool = format!(
            r#"{{"message":{{"type":"tool-calls","phoneNumber":{{"number":{line}}},"call":{{"id":"demo-call"}},"toolCallList":[{{"id":"t1","type":"function","function":{{"name":"get_menu_info","arguments":{{"query":"taro milk tea"}}}}}}]}}}}"#
        );
        let v: serde_json::Value = serde_json::from_str(&tool).expect("valid JSON");
        assert_eq!(v["message"]["phoneNumber"]["number"], "+1555");
    }

    #[cfg(unix)]
    #[test]
    fn the_banner_sed_finds_the_tool_credential() {
        let answer = serde_json::json!({"assistant": {"model": {"tools": [
            {"server": {"url": "u", "headers": {"x-hostline-tool-token": "v1.abc-DEF_123.sig"}}},
            {"server": {"url": "u", "headers": {"x-hostline-tool-token": "v1.abc-DEF_123.sig"}}}
        ]}}});
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "printf %s {} | sed -n {}",
                shell_quote(&answer.to_string()),
                shell_quote(TOOL_TOKEN_SED)
            ))
            .output()
            .expect("sh");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "v1.abc-DEF_123.sig"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
