//! Test harness: builds the probe component once, writes a manifest pointing at it, and runs
//! the runner in-process on 127.0.0.1:0 with its own tokio runtime, so tests can drive it with
//! blocking HTTP from the test thread.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use hostline_runner::{EngineOptions, RunnerConfig, RunningServer, SeedOutcome};

// Not every includer (tests, benches) uses all of them.
#[allow(unused_imports)]
pub use hostline_test_support::{collection_manifest, target_dir, workspace_root};

/// Builds the probe component (once per test binary) and returns the `.wasm` path.
pub fn probe_wasm() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        hostline_test_support::build_components(&["hostline-runner-probe"]);
        let wasm = hostline_test_support::component_wasm("hostline-runner-probe");
        assert!(
            wasm.exists(),
            "probe built but {} is missing",
            wasm.display()
        );
        wasm
    })
}

/// Copies a test manifest from `tests/` into `dir`, pointing its sources at real files.
pub fn write_manifest(name: &str, dir: &Path) -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let text = std::fs::read_to_string(tests.join(name)).expect("test manifest");
    let text = text
        .replace(
            "\"../../../target/wasm32-wasip2/component/hostline_runner_probe.wasm\"",
            &format!("{:?}", probe_wasm().display().to_string()),
        )
        .replace(
            "\"broken.wasm\"",
            &format!("{:?}", tests.join("broken.wasm").display().to_string()),
        );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

/// Test knobs.
#[derive(Clone)]
pub struct Options {
    pub manifest: &'static str,
    pub env: BTreeMap<String, String>,
    pub request_timeout: Duration,
    pub seed_demo: bool,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_instances: u32,
    pub instance_wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            manifest: "probe.toml",
            env: BTreeMap::new(),
            request_timeout: Duration::from_secs(10),
            seed_demo: false,
            max_body_bytes: 1 << 20,
            max_connections: hostline_runner::server::DEFAULT_MAX_CONNECTIONS,
            header_timeout: hostline_runner::server::DEFAULT_HEADER_TIMEOUT,
            body_timeout: hostline_runner::server::DEFAULT_BODY_TIMEOUT,
            max_instances: EngineOptions::default().max_instances,
            instance_wait: EngineOptions::default().instance_wait,
        }
    }
}

/// A runner on its own runtime, with a temporary data directory.
pub struct TestServer {
    pub rt: tokio::runtime::Runtime,
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
    pub manifest: PathBuf,
    pub options: Options,
    pub client: reqwest::blocking::Client,
}

impl TestServer {
    pub fn start(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = write_manifest(options.manifest, dir.path());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let mut s = Self {
            rt,
            server: None,
            dir,
            manifest,
            options,
            client,
        };
        s.boot();
        s
    }

    pub fn config(&self) -> RunnerConfig {
        let mut config = RunnerConfig::new(&self.manifest);
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.data_dir = self.dir.path().join("data");
        config.env = Some(self.options.env.clone());
        config.seed_demo = self.options.seed_demo;
        config.max_body_bytes = self.options.max_body_bytes;
        config.max_connections = self.options.max_connections;
        config.header_timeout = self.options.header_timeout;
        config.body_timeout = self.options.body_timeout;
        config.shutdown_grace = Duration::from_secs(2);
        config.engine = EngineOptions {
            request_timeout: self.options.request_timeout,
            max_instances: self.options.max_instances,
            instance_wait: self.options.instance_wait,
            // Shared across tests and runs: only the first start compiles the probe.
            cache_dir: Some(target_dir().join("hostline-test-cache")),
            ..EngineOptions::default()
        };
        config
    }

    fn boot(&mut self) {
        let config = self.config();
        let server = self
            .rt
            .block_on(hostline_runner::start(config))
            .expect("runner starts");
        self.server = Some(server);
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    pub fn seed(&self) -> SeedOutcome {
        self.server().seed().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server().url())
    }

    /// GET and return status and body text.
    pub fn get(&self, path: &str) -> (u16, String) {
        let res = self.client.get(self.url(path)).send().expect("request");
        let status = res.status().as_u16();
        (status, res.text().expect("body"))
    }

    /// Stops the server (keeping the data directory).
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            self.rt.block_on(server.stop()).expect("clean stop");
        }
    }

    /// Stops and starts again on the same data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.boot();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.rt.block_on(server.stop());
        }
    }
}

/// Parses a JSON body.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 response (with a content-length body) from `stream`; `None` if the
/// connection ends before a whole response arrived.
pub fn read_response(stream: &mut impl std::io::BufRead) -> Option<RawResponse> {
    let mut status_line = String::new();
    if stream.read_line(&mut status_line).ok()? == 0 {
        return None;
    }
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().ok())
        .unwrap_or(Some(0))?;
    let mut body = vec![0; len];
    stream.read_exact(&mut body).ok()?;
    Some(RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Whether the peer has closed `stream`: a read returns end-of-file or a reset. Blocks until
/// one or the other (or data, which counts as "not closed"); the read timeout is only a
/// safety net so a broken runner fails the test instead of hanging it.
pub fn closed_by_peer(stream: &std::net::TcpStream) -> bool {
    use std::io::Read as _;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("read timeout");
    let mut buf = [0u8; 256];
    match (&*stream).read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
        ),
    }
}
