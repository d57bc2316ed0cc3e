//! Helpers for integration tests: the sample restaurants and a store seeded with them
//! ([`fixtures`]), and the function collection as wasm components for the runner's own tests
//! and the media relay's round trip through the real tool endpoints; [`fake_http`], a local
//! stand-in for Twilio, Vapi or Places that records what it was sent; and [`deployment`], the
//! black-box route scenarios every deployment of the collection (`hostline up`, the Lambda
//! binaries) must pass.
//!
//! This crate sits at `<workspace>/test-support`, so it knows the workspace root from its own
//! manifest directory; a test crate elsewhere cannot share a helper file by path, because
//! `CARGO_MANIFEST_DIR` there names the including crate.
//!
//! Builds go through cargo into this run's target directory (honouring `CARGO_TARGET_DIR`), with
//! the `component` profile for `wasm32-wasip2` that `scripts/build-components` and `spin.toml`
//! use; when `scripts/test` has built them already, cargo finds nothing to do.

pub mod conversations;
pub mod deployment;
pub mod fake_http;
pub mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The headers an assistant-request answer tells Vapi to send on its tool calls (the
/// per-business tool credential), as `(name, value)` pairs: the first tool server's.
pub fn tool_server_headers(assistant_answer: &serde_json::Value) -> Vec<(String, String)> {
    assistant_answer["assistant"]["model"]["tools"][0]["server"]["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// When the order tests call: Friday 2026-12-04, 6 PM in Chicago (the sample pizzeria is open).
pub const ORDER_TIME: &str = "2026-12-05T00:00:00Z";

/// A Vapi `tool-calls` message at `at` on `line`, in the call `call` (its `id`, and its
/// `customer` when the caller's number is known), asking for one call of `name` with `args`.
pub fn tool_call_message(
    at: &str,
    line: &str,
    call: &serde_json::Value,
    id: &str,
    name: &str,
    args: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({"message": {"type": "tool-calls", "timestamp": at,
        "phoneNumber": {"number": line}, "call": call,
        "toolCallList": [{"id": id, "type": "function", "function": {"name": name, "arguments": args}}]}})
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root exists")
}

/// Where cargo puts build output for this run (honours `CARGO_TARGET_DIR`, relative to the
/// workspace root when relative).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => workspace_root().join(d),
        None => workspace_root().join("target"),
    }
}

/// Where a component package's `.wasm` lands after [`build_components`].
pub fn component_wasm(package: &str) -> PathBuf {
    target_dir()
        .join("wasm32-wasip2/component")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// Builds component packages for wasm32-wasip2 with the `component` profile into this run's
/// target directory, panicking with cargo's output if that fails.
pub fn build_components<S: AsRef<str>>(packages: &[S]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--target",
        "wasm32-wasip2",
        "--profile",
        "component",
    ]);
    for p in packages {
        cmd.args(["-p", p.as_ref()]);
    }
    let output = cmd
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cannot run cargo to build components");
    let names: Vec<&str> = packages.iter().map(AsRef::as_ref).collect();
    assert!(
        output.status.success(),
        "building {names:?} failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The cargo packages the build commands of a `spin.toml` name with `-p` (sorted, once each).
pub fn manifest_packages(manifest: &str) -> Vec<String> {
    let mut packages: Vec<String> = manifest
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("command") && l.contains("wasm32-wasip2"))
        .flat_map(|l| {
            let words: Vec<&str> = l
                .split(|c: char| c.is_whitespace() || c == '"' || c == '=')
                .filter(|w| !w.is_empty())
                .collect();
            words
                .windows(2)
                .filter(|w| w[0] == "-p")
                .map(|w| w[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

/// Builds every component the repository's `spin.toml` names (once per test binary) and
/// writes a copy of that manifest into `dir` whose `source = "target/…"` paths point into this
/// run's target directory. Returns the copy's path.
pub fn collection_manifest(dir: &Path) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let text = std::fs::read_to_string(workspace_root().join("spin.toml")).expect("spin.toml");
    BUILT.get_or_init(|| {
        let packages = manifest_packages(&text);
        assert!(
            !packages.is_empty(),
            "spin.toml names no component packages"
        );
        build_components(&packages);
    });
    let text = text.replace(
        "source = \"target/",
        &format!("source = \"{}/", target_dir().display()),
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_from_build_commands() {
        let manifest = r#"
[component.a.build]
command = "cargo build --target wasm32-wasip2 --profile component -p hostline-b"
[component.b.build]
command = "cargo build --target wasm32-wasip2 --profile component -p hostline-a -p hostline-b"
[component.c.build]
command = "make wasm"
"#;
        assert_eq!(manifest_packages(manifest), ["hostline-a", "hostline-b"]);
    }

    #[test]
    fn the_repository_manifest_names_the_function_crates() {
        let text = std::fs::read_to_string(workspace_root().join("spin.toml")).unwrap();
        let packages = manifest_packages(&text);
        for expected in [
            "hostline-assistant-request",
            "hostline-knowledge-base",
            "hostline-owner-api",
            "hostline-twilio-voice",
        ] {
            assert!(packages.iter().any(|p| p == expected), "{packages:?}");
        }
    }
}
