//! The listener: HTTP/1.1 on one port for `/healthz`, `/metrics` and the WebSocket upgrade on
//! `/twilio/media`; the cap on concurrent calls; the drain on shutdown.
//!
//! - **Signature.** Every upgrade must carry `X-Twilio-Signature` over `--public-url`
//!   (`403` otherwise); only `--insecure-skip-signature` turns that off, loudly.
//! - **Cap.** A call takes a permit from an `Arc<Semaphore>` of `--max-calls` only once its
//!   `start` frame's stream token verifies ([`crate::call`]); a socket that has not got that
//!   far holds a place among `--max-pending-streams` instead ([`crate::pending`]), for at most
//!   `--start-timeout`. With no permit left the upgrade gets `503` (Twilio then ends the call
//!   with its error), and a verified stream that finds none is closed with 1013; both count as
//!   `relay_calls_rejected_total{reason="capacity"}`.
//! - **Drain.** [`RunningRelay::drain`] (SIGTERM in `main`) closes the listener, closes idle
//!   HTTP connections and lets calls finish; after `--drain-timeout` the remaining calls are
//!   told to end (see [`crate::shutdown`]). "All tasks done" is every task's clone of an
//!   `mpsc::Sender` dropped (mini-redis's pattern), so [`RunningRelay::wait`] returns only
//!   when no connection or call task is left.
//! - **Upgrade by hand** (hyper's `upgrade::on`, tungstenite's accept key) rather than a web
//!   framework: the HTTP connection's buffers are freed once the call starts, and the call
//!   task owns nothing but its two sockets and small buffers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::functions::Functions;
use crate::metrics::Metrics;
use crate::pending::{Pending, Ticket};
use crate::shutdown::{self, Phase, Shutdown, Trigger};
use crate::transfer::TwilioRest;

type Body = Full<Bytes>;

/// What every connection and call task shares. Read-only after start-up.
pub(crate) struct Shared {
    /// Endpoints, secrets, limits.
    pub config: Config,
    /// Where calls fold their counters; `/metrics` encodes it.
    pub metrics: Metrics,
    /// Agent configuration, tool calls and usage reports (one connection pool).
    pub functions: Functions,
    /// Transfers (same pool).
    pub twilio_rest: TwilioRest,
    /// TLS for `wss://` agents, built once (parsing the roots per call would cost milliseconds).
    pub agent_tls: Arc<rustls::ClientConfig>,
    /// Caps concurrent calls: a call holds one permit from its verified `start` to its usage
    /// report.
    pub limit: Arc<Semaphore>,
    /// Sockets upgraded and still waiting for a valid `start`.
    pub pending: Arc<Pending>,
    /// Calls this relay started a stream for, until their token expires.
    pub seen: crate::seen::SeenCalls,
    /// Small buffers and a frame cap for Twilio's sockets.
    pub twilio_ws: WebSocketConfig,
    /// Small buffers and a larger frame cap (TTS chunks) for the agent's sockets.
    pub agent_ws: WebSocketConfig,
}

impl Shared {
    fn new(config: Config) -> anyhow::Result<Shared> {
        let limits = &config.limits;
        let http = reqwest::Client::builder()
            .user_agent(concat!("hostline-media-relay/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .connect_timeout(limits.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            // A burst of calls ending together must not leave a thousand idle connections.
            .pool_max_idle_per_host(32)
            .build()?;
        let functions = Functions::new(
            http.clone(),
            &config.functions_url,
            &config.secrets.service_token,
        )?;
        let twilio_auth = match (
            &config.secrets.twilio_account_sid,
            &config.secrets.twilio_auth_token,
        ) {
            (Some(user), Some(password)) => Some((user.clone(), password.clone())),
            _ => None,
        };
        let twilio_rest = TwilioRest::new(http, &config.twilio_api_base, twilio_auth);
        let ws = |max_message: usize| {
            WebSocketConfig::default()
                .read_buffer_size(limits.ws_read_buffer)
                .write_buffer_size(0)
                .max_write_buffer_size(max_message.saturating_mul(2).max(64 * 1024))
                .max_message_size(Some(max_message))
                .max_frame_size(Some(max_message))
        };
        let metrics = Metrics::new();
        Ok(Shared {
            pending: Pending::new(limits.max_pending_streams, metrics.clone()),
            seen: crate::seen::SeenCalls::default(),
            twilio_ws: ws(limits.max_twilio_message),
            agent_ws: ws(limits.max_agent_message),
            limit: Arc::new(Semaphore::new(limits.max_calls)),
            agent_tls: crate::agent::tls_config()?,
            metrics,
            functions,
            twilio_rest,
            config,
        })
    }
}

/// A call's place: its permit under the cap, its count in `relay_calls_active`, and its
/// clone of the drain sender. Dropping it (when the call task ends) releases all three.
pub(crate) struct CallSlot {
    /// To decrement `relay_calls_active` on drop.
    metrics: Metrics,
    /// The call's place under `--max-calls`.
    _permit: OwnedSemaphorePermit,
    /// Keeps the drain waiting until this call is done.
    _done: mpsc::Sender<()>,
}

impl CallSlot {
    pub(crate) fn new(
        metrics: &Metrics,
        permit: OwnedSemaphorePermit,
        done: mpsc::Sender<()>,
    ) -> CallSlot {
        metrics.calls_active.inc();
        CallSlot {
            metrics: metrics.clone(),
            _permit: permit,
            _done: done,
        }
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.metrics.calls_active.dec();
    }
}

/// A relay serving in the background.
pub struct RunningRelay {
    /// The bound address (port 0 resolved).
    addr: SocketAddr,
    /// For the metrics and the active-calls count.
    shared: Arc<Shared>,
    /// Starts the drain and the stop.
    trigger: Arc<Trigger>,
    /// The accept loop, which returns when every task is done.
    task: JoinHandle<()>,
}

/// Binds `config.listen` and serves until [`RunningRelay::drain`].
pub async fn start(config: Config) -> anyhow::Result<RunningRelay> {
    crate::cli::check_signature_settings(
        config.public_url.as_deref(),
        config.insecure_skip_signature,
        config.secrets.twilio_auth_token.is_some(),
    )?;
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(config)?);
    let (trigger, shutdown) = shutdown::channel();
    let trigger = Arc::new(trigger);
    let task = tokio::spawn(serve(
        listener,
        Arc::clone(&shared),
        Arc::clone(&trigger),
        shutdown,
    ));
    info!(addr = %addr, max_calls = shared.config.limits.max_calls, agent_url = %shared.config.agent_url,
        functions_url = %shared.config.functions_url, public_url = shared.config.public_url.as_deref().unwrap_or(""), "listening");
    if shared.config.insecure_skip_signature {
        warn!(
            addr = %addr,
            "INSECURE: --insecure-skip-signature is set, X-Twilio-Signature is NOT checked on upgrades; \
             anyone who can reach this port can open streams. For local use only"
        );
    }
    Ok(RunningRelay {
        addr,
        shared,
        trigger,
        task,
    })
}

impl RunningRelay {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Call tasks alive right now.
    pub fn active_calls(&self) -> i64 {
        self.shared.metrics.calls_active.get()
    }

    /// Stop accepting; running calls continue until they end or the drain deadline passes.
    pub fn drain(&self) {
        self.trigger.advance(Phase::Draining);
    }

    /// End every call now.
    pub fn stop_now(&self) {
        self.trigger.advance(Phase::Stopping);
    }

    /// Waits until the server and every task it started are done (after [`Self::drain`]).
    pub async fn wait(&mut self) {
        if let Err(e) = (&mut self.task).await {
            warn!(error = %e, "server task failed");
        }
    }

    /// [`Self::drain`] then [`Self::wait`].
    pub async fn shutdown(mut self) {
        self.drain();
        self.wait().await;
    }
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    trigger: Arc<Trigger>,
    mut shutdown: Shutdown,
) {
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(stream, peer, Arc::clone(&shared), trigger.subscribe(), done_tx.clone()));
                }
                Err(e) => {
                    // Out of descriptors, usually: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = shutdown.reached(Phase::Draining) => break,
        }
    }
    drop(listener);
    drop(done_tx);
    let limits = &shared.config.limits;
    info!(calls = shared.metrics.calls_active.get(), drain_timeout = ?limits.drain_timeout, "draining: no new calls");
    // `recv` returns `None` once every task's sender is gone (nobody ever sends).
    let drained = tokio::select! {
        result = tokio::time::timeout(limits.drain_timeout, done_rx.recv()) => result.is_ok(),
        () = shutdown.reached(Phase::Stopping) => false,
    };
    if !drained {
        trigger.advance(Phase::Stopping);
        let left = shared.metrics.calls_active.get();
        if left > 0 {
            warn!(calls = left, "ending the calls still running");
        }
        // Each call needs at most a tick to notice, two close writes and its usage report
        // with its retries.
        let grace = limits.tick()
            + limits.write_timeout * 2
            + limits.report_budget()
            + Duration::from_secs(1);
        if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
            warn!(
                calls = shared.metrics.calls_active.get(),
                "calls did not end in time"
            );
        }
    }
    info!("stopped");
}

/// One TCP connection: HTTP/1.1 until it is upgraded to a call or closed.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: Shutdown,
    done: mpsc::Sender<()>,
) {
    // Audio is many small frames: send each at once.
    let _ = stream.set_nodelay(true);
    let svc_shared = Arc::clone(&shared);
    let svc_shutdown = shutdown.clone();
    let svc_done = done.clone();
    let service = service_fn(move |req| {
        let response = route(req, &svc_shared, &svc_shutdown, &svc_done);
        async move { Ok::<_, Infallible>(response) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(16 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.reached(Phase::Draining) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(peer = %peer, error = %e, "http connection ended with an error");
    }
    drop(done);
}

fn route(
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    shutdown: &Shutdown,
    done: &mpsc::Sender<()>,
) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => healthz(shared, shutdown),
        (&Method::GET, "/metrics") => {
            let mut response = text(StatusCode::OK, shared.metrics.encode());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        (_, "/twilio/media") => upgrade(req, shared, shutdown, done),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn healthz(shared: &Shared, shutdown: &Shutdown) -> Response<Body> {
    let (status, word) = match shutdown.phase() {
        Phase::Running => (StatusCode::OK, "ok"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
    };
    let body = serde_json::json!({
        "status": word,
        "calls_active": shared.metrics.calls_active.get(),
        "max_calls": shared.config.limits.max_calls,
    });
    let mut response = text(status, body.to_string());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

/// Whether a header holds `token` in its comma-separated list (case-insensitive).
fn has_token(req: &Request<Incoming>, name: hyper::header::HeaderName, token: &str) -> bool {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// `/twilio/media`: checks, takes a slot under the cap, answers 101 and starts the call task.
fn upgrade(
    mut req: Request<Incoming>,
    shared: &Arc<Shared>,
    shutdown: &Shutdown,
    done: &mpsc::Sender<()>,
) -> Response<Body> {
    if req.method() != Method::GET
        || !has_token(&req, CONNECTION, "upgrade")
        || !has_token(&req, UPGRADE, "websocket")
    {
        return text(StatusCode::BAD_REQUEST, "expected a WebSocket upgrade\n");
    }
    if req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = text(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version\n",
        );
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) else {
        return text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
    };
    let accept = derive_accept_key(key.as_bytes());
    if shutdown.phase() != Phase::Running {
        shared.metrics.reject("draining");
        return unavailable("draining: not taking new calls\n");
    }
    if !shared.config.insecure_skip_signature && !signature_ok(&req, &shared.config) {
        shared.metrics.reject("twilio_signature");
        warn!(
            reason = "X-Twilio-Signature does not verify",
            "stream rejected"
        );
        return text(StatusCode::FORBIDDEN, "invalid X-Twilio-Signature\n");
    }
    // Not a reservation (the slot is taken after `start` verifies): a full relay says so
    // before the upgrade rather than after it.
    if shared.limit.available_permits() == 0 {
        shared.metrics.reject("capacity");
        warn!(
            max_calls = shared.config.limits.max_calls,
            "call refused: at capacity"
        );
        return unavailable("at capacity\n");
    }
    let ticket: Ticket = shared.pending.admit();
    let on_upgrade = hyper::upgrade::on(&mut req);
    let shared = Arc::clone(shared);
    let shutdown = shutdown.clone();
    let done = done.clone();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(shared.twilio_ws),
                )
                .await;
                crate::call::run(socket, shared, shutdown, ticket, done).await;
            }
            Err(e) => debug!(error = %e, "upgrade did not complete"),
        }
    });
    let mut response = text(StatusCode::SWITCHING_PROTOCOLS, Bytes::new());
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

/// Whether the upgrade carries Twilio's signature of `--public-url` (no parameters: a
/// WebSocket handshake has no form). Without a public URL or auth token nothing verifies
/// ([`start`] refuses to run that way unless the check is skipped on purpose).
fn signature_ok(req: &Request<Incoming>, config: &Config) -> bool {
    let (Some(url), Some(token)) = (&config.public_url, &config.secrets.twilio_auth_token) else {
        return false;
    };
    let signature = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = hostline_shared::twilio::Form::default();
    hostline_shared::twilio::signature_valid(token, url, &form, signature)
}

fn unavailable(body: &'static str) -> Response<Body> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, body);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
