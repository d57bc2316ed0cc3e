//! Application and component variables: resolution, templates, and locally generated secrets.
//!
//! Values follow Spin's local provider order: `SPIN_VARIABLE_<NAME>` from the environment, then
//! the manifest `default`. A required secret with neither gets a random value the first time
//! the runner starts on a data directory; it is kept in `generated-variables.json` (mode 0600,
//! written atomically)
//! so a restart reuses it and tokens handed out earlier stay valid. Component variables are
//! templates over application variables, rendered once at start-up.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::manifest::{Manifest, is_valid_variable_name};

/// File in the data directory holding generated secrets.
pub const GENERATED_FILE_NAME: &str = "generated-variables.json";

/// Why a template or variable could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum VariableError {
    /// `{{` without `}}`, or a bad name inside braces.
    #[error("bad template: {0}")]
    Template(String),
    /// A required, non-secret variable has no value.
    #[error(
        "application variable {name:?} is required but has no value: set SPIN_VARIABLE_{upper} (or give it a `default` in [variables])"
    )]
    Missing {
        /// Variable name.
        name: String,
        /// The environment variable that would provide it.
        upper: String,
    },
    /// Reading or writing the generated-secrets file failed.
    #[error("{path}: {message}")]
    Io {
        /// File path.
        path: String,
        /// What failed.
        message: String,
    },
}

enum Piece<'a> {
    Literal(&'a str),
    Var(&'a str),
}

fn parse_template(template: &str) -> Result<Vec<Piece<'_>>, VariableError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            pieces.push(Piece::Literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| VariableError::Template(format!("unclosed '{{{{' in {template:?}")))?;
        let name = after[..end].trim();
        if !is_valid_variable_name(name) {
            return Err(VariableError::Template(format!(
                "{name:?} in {template:?} is not a valid variable name"
            )));
        }
        pieces.push(Piece::Var(name));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Ok(pieces)
}

/// Names of the application variables a template refers to.
pub fn template_references(template: &str) -> Result<Vec<String>, VariableError> {
    Ok(parse_template(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(v) => Some(v.to_owned()),
            Piece::Literal(_) => None,
        })
        .collect())
}

/// Renders a template against resolved application variables.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, VariableError> {
    let mut out = String::new();
    for piece in parse_template(template)? {
        match piece {
            Piece::Literal(l) => out.push_str(l),
            Piece::Var(v) => out.push_str(
                values
                    .get(v)
                    .ok_or_else(|| VariableError::Template(format!("{v:?} is undefined")))?,
            ),
        }
    }
    Ok(out)
}

/// The environment variable Spin reads for an application variable.
pub fn env_name(variable: &str) -> String {
    format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())
}

/// Resolved variables for the whole application.
#[derive(Clone, Default)]
pub struct ResolvedVariables {
    /// Application variable values.
    pub application: BTreeMap<String, String>,
    /// Rendered component variables, by component id.
    pub components: HashMap<String, BTreeMap<String, String>>,
    /// Names of secrets generated (this start or an earlier one) rather than configured.
    pub generated: Vec<String>,
    /// Names of variables set through `SPIN_VARIABLE_<NAME>`.
    pub from_env: Vec<String>,
}

impl std::fmt::Debug for ResolvedVariables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values include secrets; a stray `{:?}` must not print them.
        f.debug_struct("ResolvedVariables")
            .field("application", &self.application.keys().collect::<Vec<_>>())
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// Resolves every variable. `env` looks up environment variables (the process environment in
/// production, a map in tests); `data_dir` is where generated secrets live.
pub fn resolve(
    manifest: &Manifest,
    env: &dyn Fn(&str) -> Option<String>,
    data_dir: &Path,
) -> Result<ResolvedVariables, VariableError> {
    let generated_path = data_dir.join(GENERATED_FILE_NAME);
    let mut generated_store = load_generated(&generated_path)?;
    let mut generated_changed = false;
    let mut resolved = ResolvedVariables::default();

    for (name, decl) in &manifest.variables {
        let value = if let Some(v) = env(&env_name(name)) {
            resolved.from_env.push(name.clone());
            v
        } else if let Some(d) = &decl.default {
            d.clone()
        } else if decl.required && decl.secret {
            resolved.generated.push(name.clone());
            match generated_store.get(name) {
                Some(v) => v.clone(),
                None => {
                    let v = random_hex(32).map_err(|message| VariableError::Io {
                        path: generated_path.display().to_string(),
                        message,
                    })?;
                    generated_store.insert(name.clone(), v.clone());
                    generated_changed = true;
                    v
                }
            }
        } else {
            return Err(VariableError::Missing {
                name: name.clone(),
                upper: env_name(name),
            });
        };
        resolved.application.insert(name.clone(), value);
    }

    if generated_changed {
        save_generated(&generated_path, &generated_store)?;
    }

    for (id, component) in &manifest.components {
        let mut vars = BTreeMap::new();
        for (name, template) in &component.variables {
            vars.insert(name.clone(), render(template, &resolved.application)?);
        }
        resolved.components.insert(id.clone(), vars);
    }
    Ok(resolved)
}

fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn load_generated(path: &Path) -> Result<BTreeMap<String, String>, VariableError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            // A file written by an older runner (or copied in) may be readable by others.
            if let Err(e) = crate::files::ensure_private_file(path) {
                tracing::warn!(file = %path.display(), error = %e, "cannot make the secrets file owner-only");
            }
            serde_json::from_str(&text).map_err(|e| VariableError::Io {
                path: path.display().to_string(),
                message: format!("not a JSON object of strings: {e}"),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(VariableError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

fn save_generated(path: &Path, values: &BTreeMap<String, String>) -> Result<(), VariableError> {
    let text = serde_json::to_string_pretty(values).map_err(|e| VariableError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    // Never half a secrets file, never a world-readable one, even briefly.
    crate::files::write_private_atomic(path, text.as_bytes()).map_err(|e| VariableError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let mut values = BTreeMap::new();
        values.insert("a".to_owned(), "1".to_owned());
        values.insert("b_2".to_owned(), "two".to_owned());
        assert_eq!(render("x{{a}}y{{ b_2 }}z", &values).expect("ok"), "x1ytwoz");
        assert_eq!(render("plain", &values).expect("ok"), "plain");
        assert!(render("{{ a", &values).is_err());
        assert!(render("{{ A }}", &values).is_err());
        assert_eq!(
            template_references("{{a}}-{{ b_2}}").expect("ok"),
            vec!["a", "b_2"]
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("vapi_secret"), "SPIN_VARIABLE_VAPI_SECRET");
    }

    #[test]
    fn generated_secrets_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = Manifest::parse(
            r#"
spin_manifest_version = 2
[variables]
token = { required = true, secret = true }
plain = { default = "d" }
[component.c]
source = "c.wasm"
[component.c.variables]
t = "{{ token }}"
p = "<{{ plain }}>"
"#,
            Path::new("spin.toml"),
            Path::new("."),
        )
        .expect("manifest");
        let none = |_: &str| None;
        let first = resolve(&m, &none, dir.path()).expect("resolve");
        let token = first.application["token"].clone();
        assert_eq!(token.len(), 64);
        assert_eq!(first.components["c"]["t"], token);
        assert_eq!(first.components["c"]["p"], "<d>");
        assert_eq!(first.generated, vec!["token"]);
        let second = resolve(&m, &none, dir.path()).expect("resolve");
        assert_eq!(second.application["token"], token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(GENERATED_FILE_NAME))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let env = |k: &str| (k == "SPIN_VARIABLE_PLAIN").then(|| "over".to_owned());
        let third = resolve(&m, &env, dir.path()).expect("resolve");
        assert_eq!(third.components["c"]["p"], "<over>");
    }

    #[cfg(unix)]
    #[test]
    fn secrets_file_is_owner_only_even_after_an_interrupted_write() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let m = Manifest::parse(
            "spin_manifest_version = 2\n[variables]\ntoken = { required = true, secret = true }\n",
            Path::new("spin.toml"),
            Path::new("."),
        )
        .expect("manifest");
        // What an interrupted write by a careless writer leaves: a world-readable temp file.
        let tmp = dir.path().join(format!("{GENERATED_FILE_NAME}.tmp"));
        std::fs::write(&tmp, b"{\"token\": \"half").expect("stale");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let resolved = resolve(&m, &|_| None, dir.path()).expect("resolve");
        let file = dir.path().join(GENERATED_FILE_NAME);
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        let saved: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        assert_eq!(saved["token"], resolved.application["token"]);

        // A permissive file from an older runner is tightened when it is read.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let again = resolve(&m, &|_| None, dir.path()).expect("resolve");
        assert_eq!(again.application["token"], resolved.application["token"]);
        assert_eq!(mode(&file), 0o600);
    }

    #[test]
    fn required_plain_variable_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = Manifest::parse(
            "spin_manifest_version = 2\n[variables]\nneeded = { required = true }\n",
            Path::new("spin.toml"),
            Path::new("."),
        )
        .expect("manifest");
        let e = resolve(&m, &|_| None, dir.path())
            .expect_err("missing")
            .to_string();
        assert!(e.contains("SPIN_VARIABLE_NEEDED"), "{e}");
    }
}
