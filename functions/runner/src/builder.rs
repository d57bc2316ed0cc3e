//! `hostline up --build`: runs each component's `[component.X.build] command`.
//!
//! Commands run one after another through `sh -c` in the manifest's directory (or the
//! component's `workdir`), the way `spin build` runs them. Their output is logged line by line
//! (target `build`), because stdout is reserved for the banner whose first line tools parse.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use crate::manifest::Manifest;

/// Runs every build command; stops at the first failure with an error naming the component.
pub fn build_all(manifest: &Manifest) -> anyhow::Result<()> {
    // `source` paths in the manifest point into `target/` next to it; a build redirected by
    // CARGO_TARGET_DIR would succeed and still leave those paths missing.
    let redirected = std::env::var_os("CARGO_TARGET_DIR").is_some();
    if redirected {
        tracing::warn!(
            "ignoring CARGO_TARGET_DIR for build commands: the manifest's `source` paths expect the default target directory"
        );
    }
    for component in manifest.components.values() {
        let Some(command) = &component.build_command else {
            tracing::info!(component = %component.id, "no build command; skipping");
            continue;
        };
        let dir = match &component.build_workdir {
            Some(w) => manifest.base_dir.join(w),
            None => manifest.base_dir.clone(),
        };
        tracing::info!(component = %component.id, %command, "building");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&dir)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "[component.{}.build] cannot run `{command}` in {}: {e}",
                    component.id,
                    dir.display()
                )
            })?;
        // The command's output is logged line by line, so it follows the log format (JSON
        // with --log-json) instead of interleaving raw text with it.
        let forwarders: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| log_lines(&component.id, "stdout", s)),
            child
                .stderr
                .take()
                .map(|s| log_lines(&component.id, "stderr", s)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let status = child
            .wait()
            .map_err(|e| anyhow::anyhow!("[component.{}.build] `{command}`: {e}", component.id))?;
        for f in forwarders {
            let _ = f.join();
        }
        if !status.success() {
            anyhow::bail!(
                "[component.{}.build] `{command}` failed ({status}) in {}",
                component.id,
                dir.display()
            );
        }
    }
    Ok(())
}

/// Logs each line `from` produces, on a thread of its own, until it closes.
fn log_lines(
    component: &str,
    stream: &'static str,
    from: impl std::io::Read + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let component = component.to_owned();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(from).split(b'\n') {
            let Ok(line) = line else { break };
            let text = String::from_utf8_lossy(&line);
            tracing::info!(target: "build", component = %component, stream, "{}", text.trim_end());
        }
    })
}
