//! The application: manifest, routes, loaded components, and request dispatch.
//!
//! [`App::dispatch`] is the one path every request takes, whether it came over HTTP or from
//! inside the runner (demo seeding): the built-in [`RUNNER_HEALTHZ`], then the manifest's routes, then a
//! fresh component instance. Component failures become JSON 500s naming the component, so a
//! broken or misbehaving function never takes the others down with it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body as _;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode, Uri};

use crate::host::ComponentEnv;
use crate::manifest::Manifest;
use crate::outbound::OutboundPolicy;
use crate::routes::Router;
use crate::runtime::{InvokeError, LoadedComponent, Runtime};
use crate::store::KvStore;
use crate::variables::ResolvedVariables;

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body.to_string())));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// `{"error": message}` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &serde_json::json!({ "error": message }))
}

/// Everything needed to serve the manifest.
pub struct App {
    /// The manifest served.
    pub manifest: Manifest,
    /// Resolved variables (application and per component).
    pub variables: ResolvedVariables,
    router: Router,
    components: HashMap<String, Arc<LoadedComponent>>,
    runtime: Arc<Runtime>,
    /// The database, flushed before each response leaves ([`App::dispatch`]).
    kv: KvStore,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.manifest.name)
            .field("components", &self.components.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The runner's own liveness route, answered without any component: the no-wasm baseline
/// the HTTP benchmark compares against. `/healthz` itself is a component in `spin.toml`
/// (`functions/healthz`), so every host of the manifest serves it the same way.
pub const RUNNER_HEALTHZ: &str = "/_hostline/healthz";

/// Headers the runner sets itself; a client-supplied copy must never reach a component.
const SPIN_HEADERS: [&str; 7] = [
    "spin-full-url",
    "spin-path-info",
    "spin-matched-route",
    "spin-component-route",
    "spin-raw-component-route",
    "spin-base-path",
    "spin-client-addr",
];

/// Connection-level headers: they describe the client's hop to us, not the request.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

impl App {
    /// Loads every component of the manifest (compiling them in parallel) into `runtime`.
    pub async fn load(
        manifest: Manifest,
        variables: ResolvedVariables,
        runtime: Arc<Runtime>,
        kv: KvStore,
    ) -> anyhow::Result<Self> {
        let app_stores: Arc<std::collections::HashSet<String>> = Arc::new(
            manifest
                .components
                .values()
                .flat_map(|c| c.key_value_stores.iter().cloned())
                .collect(),
        );
        let mut tasks = Vec::new();
        for (id, decl) in &manifest.components {
            let env = ComponentEnv {
                id: Arc::from(id.as_str()),
                stores: decl.key_value_stores.iter().cloned().collect(),
                app_stores: Arc::clone(&app_stores),
                variables: variables.components.get(id).cloned().unwrap_or_default(),
                kv: kv.clone(),
            };
            let hosts = crate::outbound::render_entries(
                &decl.allowed_outbound_hosts,
                &variables.application,
            )
            .map_err(|e| anyhow::anyhow!("[component.{id}] allowed_outbound_hosts: {e}"))?;
            let policy = OutboundPolicy::new(&hosts)
                .map_err(|e| anyhow::anyhow!("[component.{id}] allowed_outbound_hosts: {e}"))?;
            let runtime = Arc::clone(&runtime);
            let (id, source) = (id.clone(), decl.source.clone());
            // Compilation is CPU-bound; the blocking pool lets components compile in parallel.
            tasks.push(tokio::task::spawn_blocking(move || {
                runtime.load(&id, &source, env, policy)
            }));
        }
        let mut components = HashMap::new();
        for task in tasks {
            let loaded = task.await?;
            components.insert(loaded.id.to_string(), Arc::new(loaded));
        }
        Ok(Self {
            router: Router::new(manifest.routes.clone()),
            manifest,
            variables,
            components,
            runtime,
            kv,
        })
    }

    /// The runtime (engine, limits).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// A loaded component by id.
    pub fn component(&self, id: &str) -> Option<&LoadedComponent> {
        self.components.get(id).map(|c| &**c)
    }

    /// Whether some route would send `path` to a component.
    pub fn routes_path(&self, path: &str) -> bool {
        self.router.route(path).is_some()
    }

    /// Serves one request. `host` is what the client called us (for URLs given to guests).
    /// The answer leaves only once every write made so far is on disk ([`KvStore::flush`]):
    /// what a client was told is never lost in a crash.
    pub async fn dispatch(
        &self,
        request: Request<Full<Bytes>>,
        client: SocketAddr,
        default_host: &str,
    ) -> Response<Full<Bytes>> {
        let response = self.serve(request, client, default_host).await;
        match self.kv.flush().await {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(error = %e, "store flush failed; answering 503");
                json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage is unavailable; try again",
                )
            }
        }
    }

    async fn serve(
        &self,
        request: Request<Full<Bytes>>,
        client: SocketAddr,
        default_host: &str,
    ) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();

        if path == RUNNER_HEALTHZ {
            return if method == Method::GET || method == Method::HEAD {
                json_response(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
            } else {
                json_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("use GET {RUNNER_HEALTHZ}"),
                )
            };
        }

        let Some(matched) = self.router.route(&path) else {
            tracing::debug!(%method, %path, "no route");
            return json_error(StatusCode::NOT_FOUND, &format!("no route matches {path}"));
        };
        let Some(component) = self.components.get(matched.component) else {
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "route names a missing component",
            );
        };

        let request = match prepare_request(request, &matched, client, default_host) {
            Ok(r) => r,
            Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
        };

        let request_id: Arc<str> = Arc::from(next_request_id());
        let response = match self
            .runtime
            .invoke(component, request, Arc::clone(&request_id))
            .await
        {
            Ok(response) => response,
            Err(err) => self.error_response(component, &method, &path, &request_id, err),
        };
        tracing::info!(
            component = %component.id,
            %method,
            %path,
            request_id = &*request_id,
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "request"
        );
        response
    }
}

impl App {
    /// What the client is told when a component produced no response: a generic JSON error
    /// and a request id. What went wrong inside the guest (trap, backtrace, load error) may
    /// describe its internals, so it goes to the log under the same request id, never into
    /// the body.
    fn error_response(
        &self,
        component: &LoadedComponent,
        method: &Method,
        path: &str,
        request_id: &str,
        err: InvokeError,
    ) -> Response<Full<Bytes>> {
        let (status, message) = match &err {
            InvokeError::Busy(waited) => {
                tracing::warn!(component = %component.id, %method, %path, %request_id, waited_ms = waited.as_millis() as u64, "no instance slot free; answering 503");
                let mut res = error_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is busy; retry shortly",
                    request_id,
                );
                res.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                return res;
            }
            InvokeError::Timeout(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request exceeded its time limit",
            ),
            InvokeError::MemoryLimit(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request exceeded its memory limit",
            ),
            InvokeError::NotLoaded(_) | InvokeError::Failed(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        tracing::error!(component = %component.id, %method, %path, %request_id, error = %err, "request failed");
        error_body(status, message, request_id)
    }
}

/// `{"error": message, "request_id": id}`.
fn error_body(status: StatusCode, message: &str, request_id: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        &serde_json::json!({ "error": message, "request_id": request_id }),
    )
}

/// A short id that ties an error response to its log line: the process start time and a
/// counter, so ids from different runs of the runner do not collide either.
fn next_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static EPOCH: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let epoch = *EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    format!("{epoch:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Gives the component an absolute URI and Spin's routing headers.
fn prepare_request(
    request: Request<Full<Bytes>>,
    matched: &crate::routes::RouteMatch<'_, '_>,
    client: SocketAddr,
    default_host: &str,
) -> Result<Request<Full<Bytes>>, String> {
    let (mut parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or(default_host)
        .to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let uri: Uri = Uri::builder()
        .scheme("http")
        .authority(host.as_str())
        .path_and_query(path_and_query.as_str())
        .build()
        .map_err(|e| format!("bad request target or Host header: {e}"))?;
    let full_url = uri.to_string();
    parts.uri = uri;

    for name in SPIN_HEADERS.iter().chain(&HOP_BY_HOP) {
        parts.headers.remove(*name);
    }
    // The body is already buffered, so its length is known whatever framing the client used.
    parts.headers.insert(
        hyper::header::CONTENT_LENGTH,
        HeaderValue::from(body.size_hint().exact().unwrap_or(0)),
    );
    let component_route = matched.pattern.component_route();
    let set =
        |headers: &mut hyper::HeaderMap, name: &'static str, value: &str| -> Result<(), String> {
            let value = HeaderValue::from_str(value).map_err(|e| format!("{name}: {e}"))?;
            headers.insert(HeaderName::from_static(name), value);
            Ok(())
        };
    set(&mut parts.headers, "spin-full-url", &full_url)?;
    set(&mut parts.headers, "spin-path-info", matched.path_info)?;
    set(
        &mut parts.headers,
        "spin-matched-route",
        matched.pattern.as_str(),
    )?;
    set(&mut parts.headers, "spin-component-route", component_route)?;
    set(
        &mut parts.headers,
        "spin-raw-component-route",
        matched.pattern.as_str(),
    )?;
    set(&mut parts.headers, "spin-base-path", "/")?;
    set(&mut parts.headers, "spin-client-addr", &client.to_string())?;
    Ok(Request::from_parts(parts, body))
}
