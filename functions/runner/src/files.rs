//! Owner-only files and directories for the data directory.
//!
//! The data directory holds the database and the generated secrets, so it is created `0700`
//! and those files `0600`, whatever the process umask: modes are set explicitly after
//! creation, not left to `mode()` (which the umask can only narrow, and which an existing file
//! does not get at all). Secrets are written atomically: a fresh temporary file, created
//! `0600` and never reused from an earlier, interrupted write, then renamed into place.

use std::io;
use std::path::Path;

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// The permission bits of `path` (`None` off Unix).
pub fn mode(path: &Path) -> io::Result<Option<u32>> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        Ok(Some(meta.permissions().mode() & 0o777))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

/// Creates `dir` (and missing parents) with mode 0700 on the directory itself. An existing
/// directory that group or others can enter is tightened when it is evidently the runner's
/// (empty, or holding one of `own_files`); any other existing directory is left alone with a
/// warning, since `--data` may point somewhere shared.
pub fn create_private_dir(dir: &Path, own_files: &[&str]) -> io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let Some(mode) = mode(dir)? else {
                return Ok(());
            };
            if mode & 0o077 == 0 {
                return Ok(());
            }
            let ours = std::fs::read_dir(dir)?.next().is_none()
                || own_files.iter().any(|f| dir.join(f).exists());
            if ours {
                set_mode(dir, 0o700)?;
                tracing::info!(dir = %dir.display(), was = format!("{mode:o}"), "data directory made owner-only (0700)");
            } else {
                tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "data directory is readable by other users; secrets inside stay 0600");
            }
            Ok(())
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a directory",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            match builder.create(dir) {
                Ok(()) => {}
                // Lost a race with another process creating it: fine, tighten below.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            set_mode(dir, 0o700)
        }
        Err(e) => Err(e),
    }
}

/// Makes sure `path` exists as a file with mode 0600 (creating it empty if missing), without
/// touching its contents: the database is then opened on a file that was never readable by
/// anyone else.
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    drop(file);
    set_mode(path, 0o600)
}

/// Replaces `path` with `contents` atomically, the new file 0600 from its creation.
pub fn write_private_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    // A temporary file left by an interrupted write may have any mode (an older runner, a
    // restored backup): never write secrets into it, start from a new one.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    let written = (|| {
        // The umask may have narrowed 0600 further (harmless) — but set it exactly anyway.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents)?;
        file.sync_all()
    })();
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable.
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_stale_permissive_temp_file_is_not_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.json");
        let tmp = dir.path().join("secrets.json.tmp");
        std::fs::write(&tmp, b"half a secret").expect("stale tmp");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private_atomic(&path, b"{}").expect("write");
        assert_eq!(mode(&path).expect("mode"), Some(0o600));
        assert_eq!(std::fs::read(&path).expect("read"), b"{}");
        assert!(!tmp.exists());
    }

    #[test]
    fn existing_files_and_dirs_are_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let db = data.join("db");
        std::fs::write(&db, b"").expect("db");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        ensure_private_file(&db).expect("private file");
        assert_eq!(mode(&db).expect("mode"), Some(0o600));
        create_private_dir(&data, &["db"]).expect("private dir");
        assert_eq!(mode(&data).expect("mode"), Some(0o700));

        // Someone else's directory is not changed.
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::write(shared.join("notes.txt"), b"x").expect("file");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&shared, &["db"]).expect("left alone");
        assert_eq!(mode(&shared).expect("mode"), Some(0o755));

        let fresh = dir.path().join("a/b/fresh");
        create_private_dir(&fresh, &["db"]).expect("created");
        assert_eq!(mode(&fresh).expect("mode"), Some(0o700));
    }
}
