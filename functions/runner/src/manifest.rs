//! Reading a Spin manifest (version 2) into the runner's view of the application.
//!
//! Only the parts `hostline up` acts on are modelled: application variables, HTTP triggers,
//! and per-component source, key-value stores, outbound hosts, variables and build command.
//! Everything else a Spin manifest may carry (files, environment, watch globs, other trigger
//! types) is accepted and ignored, so the same `spin.toml` keeps working on a real Spin host.
//! Errors name the manifest file and the offending field, because they are shown to someone
//! who just edited that file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::routes::RoutePattern;

/// A manifest problem, phrased for the person editing the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ManifestError {
    /// The manifest path as given.
    pub file: String,
    /// What is wrong, naming the field.
    pub message: String,
}

/// The parsed and validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Path of the manifest file.
    pub path: PathBuf,
    /// Directory relative to which `source` paths and build commands are resolved.
    pub base_dir: PathBuf,
    /// `[application] name`.
    pub name: String,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]` entries that have a public route, in manifest order.
    pub routes: Vec<(RoutePattern, String)>,
    /// `[component.X]`, by id.
    pub components: BTreeMap<String, ComponentDecl>,
    /// Things worth telling the user that do not stop start-up (unknown or unsupported fields).
    pub warnings: Vec<String>,
}

/// One application variable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Value when nothing overrides it.
    #[serde(default)]
    pub default: Option<String>,
    /// Start-up fails (or a secret is generated) when no value is available.
    #[serde(default)]
    pub required: bool,
    /// Never logged; generated locally when required and unset.
    #[serde(default)]
    pub secret: bool,
}

/// One component, with its source resolved against the manifest directory.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    /// The `[component.X]` id.
    pub id: String,
    /// Absolute-or-manifest-relative path of the `.wasm` file.
    pub source: PathBuf,
    /// Store labels the component may open.
    pub key_value_stores: Vec<String>,
    /// `allowed_outbound_hosts` entries, as written.
    pub allowed_outbound_hosts: Vec<String>,
    /// `[component.X.variables]`: name to template.
    pub variables: BTreeMap<String, String>,
    /// `[component.X.build] command`.
    pub build_command: Option<String>,
    /// `[component.X.build] workdir`, relative to the manifest directory.
    pub build_workdir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    #[serde(default)]
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize, Default)]
struct RawApplication {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: RawRoute,
    component: toml::Value,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
struct RawComponent {
    source: toml::Value,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    build: Option<RawBuild>,
    /// Everything else: Spin fields this runner does not act on, or typos.
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

/// Component fields Spin defines that `hostline up` accepts but does not act on.
const SPIN_FIELDS_IGNORED: &[&str] = &[
    "description",
    "files",
    "exclude_files",
    "environment",
    "sqlite_databases",
    "ai_models",
    "dependencies",
    "dependencies_inherit_configuration",
    "tool",
];

#[derive(Deserialize)]
struct RawBuild {
    #[serde(default)]
    command: Option<toml::Value>,
    #[serde(default)]
    workdir: Option<String>,
}

/// Spin's rule for variable names: lower-case ASCII letters, digits and underscores,
/// starting with a letter.
pub fn is_valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let file = path.display().to_string();
        let err = |message: String| ManifestError {
            file: file.clone(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let base_dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self::parse(&text, path, &base_dir)
    }

    /// Parses manifest text; `path` is only used in messages and `base_dir` to resolve paths.
    pub fn parse(text: &str, path: &Path, base_dir: &Path) -> Result<Self, ManifestError> {
        let file = path.display().to_string();
        let err = |message: String| ManifestError {
            file: file.clone(),
            message,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| err(e.to_string()))?;

        match raw.spin_manifest_version.as_integer() {
            Some(2) => {}
            _ => {
                return Err(err(format!(
                    "spin_manifest_version: expected 2, found {}",
                    raw.spin_manifest_version
                )));
            }
        }

        for (name, decl) in &raw.variables {
            if !is_valid_variable_name(name) {
                return Err(err(format!(
                    "[variables] {name:?}: names must be lower-case letters, digits and '_', starting with a letter"
                )));
            }
            if decl.required && decl.default.is_some() {
                return Err(err(format!(
                    "[variables] {name}: `required = true` and `default` cannot both be set"
                )));
            }
            if !decl.required && decl.default.is_none() {
                return Err(err(format!(
                    "[variables] {name}: set either a `default` or `required = true`"
                )));
            }
        }

        let mut components = BTreeMap::new();
        let mut warnings = Vec::new();
        for (id, c) in raw.component {
            for field in c.other.keys() {
                warnings.push(if SPIN_FIELDS_IGNORED.contains(&field.as_str()) {
                    format!(
                        "{file}: [component.{id}] {field}: not supported by `hostline up`; ignored"
                    )
                } else {
                    format!("{file}: [component.{id}] {field}: unknown field; ignored (a typo?)")
                });
            }
            let source = match &c.source {
                toml::Value::String(s) if !s.is_empty() => base_dir.join(s),
                toml::Value::String(_) => {
                    return Err(err(format!("[component.{id}] source: must not be empty")));
                }
                _ => {
                    return Err(err(format!(
                        "[component.{id}] source: only a local file path is supported by `hostline up` (found {})",
                        c.source
                    )));
                }
            };
            for label in &c.key_value_stores {
                if label.is_empty() {
                    return Err(err(format!(
                        "[component.{id}] key_value_stores: labels must not be empty"
                    )));
                }
            }
            for host in &c.allowed_outbound_hosts {
                // A templated entry ("{{ twilio_api_base }}") is checked once rendered.
                if host.contains("{{") {
                    let refs = crate::variables::template_references(host).map_err(|e| {
                        err(format!("[component.{id}] allowed_outbound_hosts: {e}"))
                    })?;
                    if let Some(r) = refs.iter().find(|r| !raw.variables.contains_key(*r)) {
                        return Err(err(format!(
                            "[component.{id}] allowed_outbound_hosts: {host:?} names undefined application variable {r:?} (declare it under [variables])"
                        )));
                    }
                    continue;
                }
                crate::outbound::AllowedHost::parse(host).map_err(|e| {
                    err(format!(
                        "[component.{id}] allowed_outbound_hosts: {host:?}: {e}"
                    ))
                })?;
            }
            for (name, template) in &c.variables {
                if !is_valid_variable_name(name) {
                    return Err(err(format!(
                        "[component.{id}.variables] {name:?}: names must be lower-case letters, digits and '_', starting with a letter"
                    )));
                }
                let refs = crate::variables::template_references(template)
                    .map_err(|e| err(format!("[component.{id}.variables] {name}: {e}")))?;
                for r in refs {
                    if !raw.variables.contains_key(&r) {
                        return Err(err(format!(
                            "[component.{id}.variables] {name}: template {template:?} names undefined application variable {r:?} (declare it under [variables])"
                        )));
                    }
                }
            }
            let (build_command, build_workdir) = match c.build {
                None => (None, None),
                Some(b) => {
                    let command = match b.command {
                        None => None,
                        Some(toml::Value::String(s)) => Some(s),
                        Some(toml::Value::Array(parts)) => {
                            // Spin also accepts a list of commands run in order.
                            let mut cmds = Vec::new();
                            for p in parts {
                                match p {
                                    toml::Value::String(s) => cmds.push(s),
                                    other => {
                                        return Err(err(format!(
                                            "[component.{id}.build] command: expected strings, found {other}"
                                        )));
                                    }
                                }
                            }
                            Some(cmds.join(" && "))
                        }
                        Some(other) => {
                            return Err(err(format!(
                                "[component.{id}.build] command: expected a string, found {other}"
                            )));
                        }
                    };
                    (command, b.workdir.map(PathBuf::from))
                }
            };
            components.insert(
                id.clone(),
                ComponentDecl {
                    id,
                    source,
                    key_value_stores: c.key_value_stores,
                    allowed_outbound_hosts: c.allowed_outbound_hosts,
                    variables: c.variables,
                    build_command,
                    build_workdir,
                },
            );
        }

        let mut routes = Vec::new();
        for (i, t) in raw.trigger.http.into_iter().enumerate() {
            let component = match t.component {
                toml::Value::String(s) => s,
                other => {
                    return Err(err(format!(
                        "[[trigger.http]] #{n} component: only a component id is supported (found {other})",
                        n = i + 1
                    )));
                }
            };
            if !components.contains_key(&component) {
                return Err(err(format!(
                    "[[trigger.http]] #{n} component: {component:?} is not defined (no [component.{component}])",
                    n = i + 1
                )));
            }
            match t.route {
                RawRoute::Private { private: true } => {}
                RawRoute::Private { private: false } => {
                    return Err(err(format!(
                        "[[trigger.http]] #{n} route: expected a path or {{ private = true }}",
                        n = i + 1
                    )));
                }
                RawRoute::Path(route) => {
                    let pattern = RoutePattern::parse(&route).map_err(|e| {
                        err(format!(
                            "[[trigger.http]] #{n} route {route:?}: {e}",
                            n = i + 1
                        ))
                    })?;
                    if let Some((_, other)) = routes
                        .iter()
                        .find(|(p, _): &&(RoutePattern, String)| p.as_str() == pattern.as_str())
                    {
                        return Err(err(format!(
                            "[[trigger.http]] #{n} route {route:?}: already routed to component {other:?}",
                            n = i + 1
                        )));
                    }
                    routes.push((pattern, component));
                }
            }
        }

        Ok(Manifest {
            path: path.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            name: raw.application.name.unwrap_or_else(|| "app".into()),
            variables: raw.variables,
            routes,
            components,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("spin.toml"), Path::new("/app"))
    }

    const GOOD: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[variables]
secret = { required = true, secret = true }
greeting = { default = "hi" }
[[trigger.http]]
route = "/api/..."
component = "api"
[component.api]
source = "api.wasm"
key_value_stores = ["default"]
allowed_outbound_hosts = ["https://example.com"]
[component.api.variables]
message = "{{ greeting }}, {{secret}}!"
literal = "plain"
[component.api.build]
command = "make"
"#;

    #[test]
    fn parses_the_parts_we_use() {
        let m = parse(GOOD).expect("valid");
        assert_eq!(m.name, "x");
        let api = &m.components["api"];
        assert_eq!(api.source, Path::new("/app/api.wasm"));
        assert_eq!(api.key_value_stores, vec!["default"]);
        assert_eq!(api.build_command.as_deref(), Some("make"));
        assert_eq!(m.routes.len(), 1);
        assert!(m.variables["secret"].secret);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn unknown_component_fields_warn() {
        let m = parse(&GOOD.replace(
            "key_value_stores = [\"default\"]",
            "key_value_store = [\"default\"]\nfiles = [\"a\"]",
        ))
        .expect("still valid");
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("key_value_store: unknown field"))
        );
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("files: not supported"))
        );
        assert!(m.components["api"].key_value_stores.is_empty());
    }

    #[test]
    fn undefined_template_variable_is_named() {
        let bad = GOOD.replace("{{secret}}", "{{ nope }}");
        let e = parse(&bad).expect_err("invalid").to_string();
        assert!(e.contains("spin.toml"), "{e}");
        assert!(e.contains("[component.api.variables] message"), "{e}");
        assert!(e.contains("\"nope\""), "{e}");
    }

    #[test]
    fn unknown_component_in_trigger() {
        let bad = GOOD.replace("component = \"api\"", "component = \"apx\"");
        let e = parse(&bad).expect_err("invalid").to_string();
        assert!(e.contains("\"apx\" is not defined"), "{e}");
    }

    #[test]
    fn version_and_syntax_errors() {
        let e = parse("spin_manifest_version = 1")
            .expect_err("v1")
            .to_string();
        assert!(e.contains("spin_manifest_version"), "{e}");
        let e = parse("spin_manifest_version = 2\n[component.a]\n")
            .expect_err("no source")
            .to_string();
        assert!(e.contains("source"), "{e}");
    }
}
