//! The agent's data directory: the device credential from pairing, the printer profiles, the
//! job queue and the last status snapshot. The directory is private to the agent's user
//! (0700) and the credential file is 0600: the device token opens the restaurant's print jobs.
//! Files are written whole (temporary file, fsync, rename), so a power cut leaves the old
//! version or the new one, never half of one.

use crate::codepage::CodePage;
use anyhow::{Context, Result, bail};
use hostline_shared::printing::JobKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The version written into every profile and credential file; a file with another version
/// is refused with a message rather than misread.
pub const FILE_VERSION: u32 = 1;

/// Where the agent keeps its state.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// The platform's place for the agent's data when `--data-dir` is not given:
/// `$XDG_DATA_HOME/hostline-edge-agent`, `~/.local/share/hostline-edge-agent`, else
/// `./edge-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("hostline-edge-agent");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home).join(".local/share/hostline-edge-agent");
    }
    PathBuf::from("edge-data")
}

impl DataDir {
    /// Open (creating it if needed) the directory, and make it private.
    pub fn open(root: &Path) -> Result<DataDir> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("cannot create the data directory {}", root.display()))?;
        set_mode(root, 0o700)?;
        Ok(DataDir {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn device_path(&self) -> PathBuf {
        self.root.join("device.json")
    }

    pub fn printers_path(&self) -> PathBuf {
        self.root.join("printers.json")
    }

    pub fn queue_path(&self) -> PathBuf {
        self.root.join("queue.redb")
    }

    pub fn status_path(&self) -> PathBuf {
        self.root.join("status.json")
    }

    /// The pairing, or a message saying how to pair.
    pub fn device(&self) -> Result<Device> {
        let path = self.device_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "this agent is not paired yet (no {}): run `edge-agent pair --url <cloud url> --code <code>`",
                path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let device: Device = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a device credential", path.display()))?;
        if device.version != FILE_VERSION {
            bail!(
                "{} has version {}; this agent reads version {FILE_VERSION}",
                path.display(),
                device.version
            );
        }
        Ok(device)
    }

    pub fn has_device(&self) -> bool {
        self.device_path().exists()
    }

    pub fn save_device(&self, device: &Device) -> Result<()> {
        write_private(&self.device_path(), &serde_json::to_vec_pretty(device)?)
    }

    /// The printer profiles (none yet: an empty book).
    pub fn printers(&self) -> Result<PrinterBook> {
        let path = self.printers_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PrinterBook::default());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let book: PrinterBook = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a printer list", path.display()))?;
        book.check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(book)
    }

    pub fn save_printers(&self, book: &PrinterBook) -> Result<()> {
        book.check()?;
        write_private(&self.printers_path(), &serde_json::to_vec_pretty(book)?)
    }
}

/// What pairing gave this agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    pub version: u32,
    /// The cloud's base URL, as given to `pair`.
    pub url: String,
    /// The device's bearer token (`hld_…`): shown once by the cloud, kept only here.
    pub device_token: String,
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub business_id: Option<String>,
    pub name: String,
    pub paired_at: jiff::Timestamp,
}

/// Which tickets a printer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Kitchen,
    Receipt,
    Both,
}

impl Role {
    pub fn takes(self, kind: JobKind) -> bool {
        matches!(
            (self, kind),
            (Role::Both, _) | (Role::Kitchen, JobKind::Kitchen) | (Role::Receipt, JobKind::Receipt)
        )
    }
}

fn default_port() -> u16 {
    9100
}

/// One printer, as the restaurant set it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterProfile {
    /// Short name used on the command line and as the backup reference ("grill").
    pub id: String,
    pub name: String,
    pub role: Role,
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// 58 (32 columns) or 80 (48 columns).
    pub paper_width_mm: u16,
    pub code_page: CodePage,
    /// Whether to cut after each ticket.
    pub cutter: bool,
    /// Whether a cash drawer hangs off it (kicked after a receipt).
    pub drawer: bool,
    /// Whether to print the order number as a QR code.
    #[serde(default)]
    pub qr: bool,
    /// The printer that takes this one's jobs while it is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

impl PrinterProfile {
    /// Characters per line in the normal font.
    pub fn columns(&self) -> usize {
        if self.paper_width_mm <= 58 { 32 } else { 48 }
    }

    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The printers file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterBook {
    pub version: u32,
    pub printers: Vec<PrinterProfile>,
}

impl Default for PrinterBook {
    fn default() -> Self {
        PrinterBook {
            version: FILE_VERSION,
            printers: Vec::new(),
        }
    }
}

impl PrinterBook {
    pub fn get(&self, id: &str) -> Option<&PrinterProfile> {
        self.printers.iter().find(|p| p.id == id)
    }

    /// The printer a job of `kind` goes to first: the first one, in file order, whose role
    /// takes it.
    pub fn route(&self, kind: JobKind) -> Option<&PrinterProfile> {
        self.printers.iter().find(|p| p.role.takes(kind))
    }

    /// The rules a printers file must keep.
    pub fn check(&self) -> Result<()> {
        if self.version != FILE_VERSION {
            bail!(
                "printers file version {}; this agent reads version {FILE_VERSION}",
                self.version
            );
        }
        for (i, p) in self.printers.iter().enumerate() {
            if p.id.is_empty()
                || !p
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("printer id {:?}: use letters, digits, - and _", p.id);
            }
            if self.printers[..i].iter().any(|q| q.id == p.id) {
                bail!("two printers have the id {:?}", p.id);
            }
            if p.host.trim().is_empty() {
                bail!("printer {:?} has no host", p.id);
            }
            if p.paper_width_mm != 58 && p.paper_width_mm != 80 {
                bail!("printer {:?}: paper width must be 58 or 80 mm", p.id);
            }
            if let Some(b) = &p.backup {
                if b == &p.id {
                    bail!("printer {:?} cannot be its own backup", p.id);
                }
                if !self.printers.iter().any(|q| &q.id == b) {
                    bail!(
                        "printer {:?} names a backup {:?} that is not in the list",
                        p.id,
                        b
                    );
                }
            }
        }
        Ok(())
    }
}

/// Write `bytes` to `path` whole, readable by the owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    set_mode(&tmp, 0o600)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}
