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
}

impl Default for Options {
    fn default() -> Self {
        Self {
            manifest: "probe.toml",
            env: BTreeMap::new(),
            request_timeout: Duration::from_secs(10),
            seed_demo: false,
            max_body_bytes: 1 << 20,
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
        config.shutdown_grace = Duration::from_secs(2);
        config.engine = EngineOptions {
            request_timeout: self.options.request_timeout,
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
