//! `hostline up --build`: runs each component's `[component.X.build] command`.
//!
//! Commands run one after another through `sh -c` in the manifest's directory (or the
//! component's `workdir`), the way `spin build` runs them. Their output streams to our
//! stderr, because stdout is reserved for the banner whose first line tools parse.

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
        eprintln!("hostline: building {}: {command}", component.id);
        let status = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&dir)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| {
                anyhow::anyhow!(
                    "[component.{}.build] cannot run `{command}` in {}: {e}",
                    component.id,
                    dir.display()
                )
            })?;
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
