//! Start-up, the HTTP/1.1 accept loop, and graceful shutdown.
//!
//! [`start`] does everything `hostline up` needs before it can answer: read the manifest,
//! resolve variables, open the database, compile components, bind the socket, seed the demo.
//! It returns a [`RunningServer`] with the bound address and a shutdown handle, so the binary,
//! the tests and the benchmark all start the runner the same way.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::app::{App, json_error};
use crate::manifest::Manifest;
use crate::runtime::{EngineOptions, Runtime};
use crate::seed::{DemoInfo, SeedOutcome};
use crate::store::{DB_FILE_NAME, KvStore};

/// Default [`RunnerConfig::max_body_bytes`]: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Default [`RunnerConfig::max_connections`]: well under the usual 1024 open-file limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default [`RunnerConfig::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`RunnerConfig::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything `start` needs.
#[derive(Clone)]
pub struct RunnerConfig {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Data directory (database, generated secrets, compilation cache).
    pub data_dir: PathBuf,
    /// Environment used for `SPIN_VARIABLE_*`; `None` reads the process environment.
    pub env: Option<BTreeMap<String, String>>,
    /// Engine limits; a `cache_dir` of `None` means `<data_dir>/wasmtime-cache`.
    pub engine: EngineOptions,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Connections served at once; a connection beyond this is answered 503 and closed at
    /// once, so a flood of sockets cannot exhaust file descriptors or starve the others.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open).
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body once its headers are in; a slower
    /// client gets 408 and its connection is closed.
    pub body_timeout: Duration,
    /// Seed the demo restaurant through owner-api on first start.
    pub seed_demo: bool,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `env` may carry secrets (SPIN_VARIABLE_*): show names only.
        f.debug_struct("RunnerConfig")
            .field("manifest", &self.manifest)
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "env",
                &self.env.as_ref().map(|m| m.keys().collect::<Vec<_>>()),
            )
            .field("engine", &self.engine)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("seed_demo", &self.seed_demo)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

impl RunnerConfig {
    /// Defaults for `manifest`: listen on 127.0.0.1:3000, data in `.hostline/`.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from(".hostline"),
            env: None,
            engine: EngineOptions::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            seed_demo: true,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A running server.
pub struct RunningServer {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    seed: SeedOutcome,
    data_dir: PathBuf,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Asks a running server to stop; clonable and usable from any task.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    /// Stops accepting connections and lets in-flight requests finish.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The loaded application.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// What happened to the demo seed.
    pub fn seed(&self) -> &SeedOutcome {
        &self.seed
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// The start-up banner; its first line is `hostline listening on <url>`.
    pub fn banner(&self) -> String {
        crate::seed::banner(&self.url(), &self.app, &self.seed, &self.data_dir)
    }

    /// Waits until the server has stopped (after a [`ShutdownHandle::shutdown`]), then
    /// releases the database.
    pub async fn wait(self) -> anyhow::Result<()> {
        let RunningServer { app, task, .. } = self;
        task.await?;
        // Requests whose clients left (or whose connections the shutdown grace cut) are still
        // finishing their writes. Each ends by its request deadline, so waiting that long
        // loses no write and cannot hang.
        let runtime = app.runtime();
        if runtime.in_flight() > 0 {
            tracing::info!(
                running = runtime.in_flight(),
                "waiting for component requests to finish"
            );
        }
        let bound = runtime.options().request_timeout + crate::runtime::HOST_WAIT_MARGIN;
        if tokio::time::timeout(bound, runtime.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(
                running = app.runtime().in_flight(),
                "shutdown deadline passed with component requests still running"
            );
        }
        // The accept loop has finished and no request holds the app any more, so this drops
        // the last database handle and redb closes the file cleanly.
        drop(app);
        Ok(())
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }
}

/// Starts the runner described by `config`.
pub async fn start(config: RunnerConfig) -> anyhow::Result<RunningServer> {
    let manifest = Manifest::load(&config.manifest)?;
    for warning in &manifest.warnings {
        tracing::warn!("{warning}");
    }

    for c in manifest.components.values() {
        if !c.source.exists() {
            let hint = if c.build_command.is_some() {
                " (run `hostline up --build` to build it)"
            } else {
                ""
            };
            anyhow::bail!(
                "{}: [component.{}] source: {} not found{hint}",
                manifest.path.display(),
                c.id,
                c.source.display()
            );
        }
    }

    crate::files::create_private_dir(
        &config.data_dir,
        &[DB_FILE_NAME, crate::variables::GENERATED_FILE_NAME],
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        )
    })?;

    let env_lookup = |name: &str| -> Option<String> {
        match &config.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    };
    let variables = crate::variables::resolve(&manifest, &env_lookup, &config.data_dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.path.display()))?;
    for name in &variables.generated {
        tracing::info!(
            variable = %name,
            file = %config.data_dir.join(crate::variables::GENERATED_FILE_NAME).display(),
            "using a generated local secret (set SPIN_VARIABLE_{} to choose your own)",
            name.to_ascii_uppercase()
        );
    }

    let db_path = config.data_dir.join(DB_FILE_NAME);
    let kv = KvStore::open(&db_path)?;

    let mut engine_options = config.engine.clone();
    if engine_options.cache_dir.is_none() {
        engine_options.cache_dir = Some(config.data_dir.join("wasmtime-cache"));
    }
    let runtime = Arc::new(Runtime::new(engine_options)?);
    let app = Arc::new(App::load(manifest, variables, runtime, kv).await?);

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;

    let seed = if config.seed_demo {
        crate::seed::seed_demo(&app, &config.data_dir, addr).await
    } else {
        SeedOutcome::Disabled
    };
    if let SeedOutcome::Failed(reason) = &seed {
        tracing::warn!(reason = %reason, "demo restaurant not seeded");
    }

    let (shutdown, shutdown_rx) = watch::channel(false);
    let limits = ConnLimits {
        max_body: config.max_body_bytes,
        max_connections: config.max_connections.max(1),
        header_timeout: config.header_timeout,
        body_timeout: config.body_timeout,
    };
    let task = tokio::spawn(serve(
        listener,
        Arc::clone(&app),
        shutdown_rx,
        limits,
        config.shutdown_grace,
    ));
    tracing::info!(%addr, app = %app.manifest.name, "listening");
    Ok(RunningServer {
        addr,
        app,
        shutdown,
        task,
        seed,
        data_dir: config.data_dir,
    })
}

impl SeedOutcome {
    /// The demo business, when it is (now or already) in the store.
    pub fn demo(&self) -> Option<&DemoInfo> {
        match self {
            SeedOutcome::Seeded(d) | SeedOutcome::AlreadySeeded(d) => Some(d),
            _ => None,
        }
    }
}

/// Per-connection limits, from [`RunnerConfig`].
#[derive(Debug, Clone, Copy)]
struct ConnLimits {
    max_body: usize,
    max_connections: usize,
    header_timeout: Duration,
    body_timeout: Duration,
}

/// Answers 503 to a connection over the cap and closes it. The answer goes straight into the
/// fresh socket's send buffer, without waiting on the client at all: a client that cannot take
/// it right now just sees the connection close.
fn refuse(stream: tokio::net::TcpStream) {
    use std::io::Write as _;
    const BODY: &str = r#"{"error":"too many connections"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    if let Ok(std) = stream.into_std() {
        let _ = (&std).write(response.as_bytes());
    }
}

async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
    limits: ConnLimits,
    grace: Duration,
) {
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "localhost".into());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    // Refusals are counted and logged at most once a second, so a flood cannot flood the log.
    let mut refused: u64 = 0;
    let mut refused_logged: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Usually EMFILE: back off instead of spinning on the error.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    refuse(stream);
                    refused += 1;
                    if refused_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(%peer, refused, max_connections = limits.max_connections, "refusing connections: too many open");
                        refused = 0;
                        refused_logged = Some(Instant::now());
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let local = local.clone();
                let mut conn_shutdown = shutdown.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    let service = service_fn(move |req: Request<Incoming>| {
                        let app = Arc::clone(&app);
                        let local = local.clone();
                        async move {
                            Ok::<_, Infallible>(handle(req, &app, peer, &local, limits).await)
                        }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_timeout)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        result = conn.as_mut() => {
                            if let Err(e) = result {
                                tracing::debug!(%peer, error = %e, "connection error");
                            }
                        }
                        _ = conn_shutdown.changed() => {
                            // Finish the request in flight, then close instead of keeping alive.
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            "shutdown deadline passed; dropping unfinished connections"
        );
        connections.shutdown().await;
    }
    tracing::info!("server stopped");
}

async fn handle(
    req: Request<Incoming>,
    app: &App,
    peer: SocketAddr,
    local: &str,
    limits: ConnLimits,
) -> Response<Full<Bytes>> {
    let max_body = limits.max_body;
    let (parts, body) = req.into_parts();
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body exceeds {max_body} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return too_large();
    }
    let read = tokio::time::timeout(limits.body_timeout, Limited::new(body, max_body).collect());
    let Ok(read) = read.await else {
        tracing::info!(%peer, method = %parts.method, path = %parts.uri.path(), timeout_ms = limits.body_timeout.as_millis() as u64, "request body not received in time");
        let mut res = json_error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "request body not received within {} ms",
                limits.body_timeout.as_millis()
            ),
        );
        // The rest of the body may still be on its way: this connection is done.
        res.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        return res;
    };
    let body = match read {
        Ok(b) => b.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large();
        }
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read request body: {e}"),
            );
        }
    };
    app.dispatch(Request::from_parts(parts, Full::new(body)), peer, local)
        .await
}
