//! The wasmtime side: engine configuration, loading components, and running one request.
//!
//! Components are compiled once (through wasmtime's on-disk compilation cache, so a restart
//! only deserializes), linked, and pre-instantiated. Every request then gets a fresh `Store`
//! and instance, as on Spin: nothing a guest leaves in memory survives into the next request,
//! and a trap only ever poisons the store being thrown away anyway.
//!
//! Limits per request: linear memory (store limiter, and the pooling allocator's slot size),
//! wall-clock time (epoch interruption, checked every tick, plus an outer timeout for time
//! spent waiting on the host), and the number of instances alive at once (a semaphore sized
//! to the pool, so a burst queues instead of failing to allocate).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use tokio::sync::{Notify, Semaphore};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline,
};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::guest_output::{GuestOutput, Stream};
use crate::host::{self, ComponentEnv, HostState};
use crate::outbound::{OutboundHooks, OutboundPolicy};

/// Linear memory per pool slot reset in place (memset) instead of decommitted between
/// requests: more than a knowledge tool call dirties. Idle warm slots keep at most this much
/// resident each.
const KEEP_RESIDENT: usize = 16 << 20;
/// The same for tables.
const TABLE_KEEP_RESIDENT: usize = 1 << 20;

/// How often the epoch advances; the granularity of the time limit.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How long past the deadline a request parked in a host call may take before it is cut off;
/// guest code is stopped by the epoch at the deadline itself.
pub const HOST_WAIT_MARGIN: Duration = Duration::from_secs(1);

/// Limits and engine choices.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Use the pooling instance allocator (the default); `false` uses on-demand allocation.
    pub pooling: bool,
    /// Component instances alive at once (pool size and request concurrency).
    pub max_instances: u32,
    /// Linear memory per instance, in bytes.
    pub memory_limit: usize,
    /// Wall-clock limit for one request, waiting for an instance slot included.
    pub request_timeout: Duration,
    /// Longest a request waits for an instance slot when all `max_instances` are busy (never
    /// longer than `request_timeout`); then it is answered 503 with `Retry-After`.
    pub instance_wait: Duration,
    /// Where wasmtime keeps compiled code; `None` disables the compilation cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            pooling: true,
            max_instances: 64,
            memory_limit: 64 << 20,
            request_timeout: Duration::from_secs(10),
            instance_wait: Duration::from_secs(2),
            cache_dir: None,
        }
    }
}

/// Why a request produced no component response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The component could not be loaded at start-up.
    #[error("component failed to load: {0}")]
    NotLoaded(String),
    /// The request ran past the time limit.
    #[error("component exceeded the {0:?} time limit")]
    Timeout(Duration),
    /// Every instance slot stayed busy for as long as a request may wait for one.
    #[error("no instance slot free within {0:?}")]
    Busy(Duration),
    /// The guest asked for more linear memory than a request may use.
    #[error("component exceeded the {} MiB memory limit", .0 >> 20)]
    MemoryLimit(usize),
    /// The guest trapped or otherwise failed.
    #[error("{0}")]
    Failed(String),
}

/// wasmtime's [`StoreLimits`], remembering whether a memory grow was refused so a guest that
/// aborts on allocation failure is reported as hitting the memory limit, not as a bare trap.
pub struct RequestLimits {
    inner: StoreLimits,
    memory_denied: bool,
}

impl ResourceLimiter for RequestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.memory_denied = true;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_denied = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Bumps the engine epoch from a dedicated OS thread: a guest spinning in a loop occupies a
/// runtime worker, so the ticker must not depend on the async runtime making progress.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hostline-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Engine, linker and concurrency limit shared by all components.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    options: EngineOptions,
    permits: Arc<Semaphore>,
    in_flight: Arc<InFlight>,
    _ticker: EpochTicker,
}

/// Counts running requests, and wakes whoever waits for the count to reach zero.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// One running request; dropping it (the request's task ended, however) counts it out.
struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }

    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a request ending in between still wakes us.
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A component ready to serve: pre-instantiated, or the reason it is not.
pub struct LoadedComponent {
    /// Component id.
    pub id: Arc<str>,
    pre: Result<ServicePre<HostState>, String>,
    env: Arc<ComponentEnv>,
    policy: OutboundPolicy,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("id", &self.id)
            .field("loaded", &self.pre.is_ok())
            .finish_non_exhaustive()
    }
}

impl LoadedComponent {
    /// The load error, if the component could not be prepared.
    pub fn load_error(&self) -> Option<&str> {
        self.pre.as_ref().err().map(String::as_str)
    }
}

impl Runtime {
    /// Builds the engine and linker.
    pub fn new(options: EngineOptions) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.wasm_component_model_async(true);
        config.epoch_interruption(true);
        // `HOSTLINE_PERFMAP=1` writes /tmp/perf-<pid>.map so that `perf record` names guest
        // functions (build the components unstripped to see their names).
        if std::env::var_os("HOSTLINE_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if options.pooling {
            let n = options.max_instances.max(1);
            let mut pool = PoolingAllocationConfig::new();
            // A Rust component is a handful of core instances (main module, shims, adapters);
            // these ratios leave headroom while keeping the reserved address space modest.
            pool.total_component_instances(n)
                .total_core_instances(n * 8)
                .total_memories(n * 2)
                .total_tables(n * 8)
                .total_stacks(n * 4)
                .total_gc_heaps(n)
                .max_memory_size(options.memory_limit)
                .max_unused_warm_slots(n)
                // Measured with the HTTP bench's open loop (perf): by default a slot's memory
                // is decommitted with madvise when an instance is dropped, so every request
                // page-faults its heap back in and the madvise shoots down TLBs on the other
                // cores. Keeping the pages a request actually dirtied resident and resetting
                // them with memset (found with Linux's PAGEMAP_SCAN where available) avoids
                // both; memory beyond the bound is still decommitted.
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(TABLE_KEEP_RESIDENT)
                .pagemap_scan(wasmtime::Enabled::Auto);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        if let Some(dir) = &options.cache_dir {
            let dir = std::path::absolute(dir)?;
            std::fs::create_dir_all(&dir)?;
            let mut cache = CacheConfig::new();
            cache.with_directory(dir);
            config.cache(Some(Cache::new(cache)?));
        }
        let engine = Engine::new(&config)?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        host::add_to_linker(&mut linker)?;

        let ticker = EpochTicker::start(&engine)?;
        let permits = Arc::new(Semaphore::new(options.max_instances.max(1) as usize));
        Ok(Self {
            engine,
            linker,
            options,
            permits,
            in_flight: Arc::default(),
            _ticker: ticker,
        })
    }

    /// The engine options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Compiles (or fetches from cache), links and pre-instantiates one component. Failures
    /// are kept in the result rather than returned, so one broken component leaves the rest
    /// of the application serving.
    pub fn load(
        &self,
        id: &str,
        source: &Path,
        env: ComponentEnv,
        policy: OutboundPolicy,
    ) -> LoadedComponent {
        let started = Instant::now();
        let pre = (|| -> anyhow::Result<ServicePre<HostState>> {
            if !source.exists() {
                anyhow::bail!(
                    "{}: file not found (build it first, e.g. `hostline up --build`)",
                    source.display()
                );
            }
            let component = Component::from_file(&self.engine, source)
                .map_err(|e| anyhow::anyhow!("{}: {e:#}", source.display()))?;
            let instance_pre = self
                .linker
                .instantiate_pre(&component)
                .map_err(|e| anyhow::anyhow!("{}: cannot link: {e:#}", source.display()))?;
            ServicePre::new(instance_pre).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not an HTTP component (expected an export of wasi:http/handler@0.3.0): {e:#}",
                    source.display()
                )
            })
        })()
        .map_err(|e| format!("{e:#}"));
        match &pre {
            Ok(_) => tracing::info!(
                component = id,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "component ready"
            ),
            Err(e) => {
                tracing::error!(component = id, error = %e, "component failed to load; its routes will answer 500")
            }
        }
        LoadedComponent {
            id: Arc::from(id),
            pre,
            env: Arc::new(env),
            policy,
        }
    }

    fn new_store(
        &self,
        component: &LoadedComponent,
        deadline: Instant,
        request_id: &Arc<str>,
    ) -> Store<HostState> {
        // Guest output becomes log events with the request's context (the runner's stdout
        // carries the banner and must stay machine-readable; stderr carries the log).
        let output =
            |stream| GuestOutput::new(Arc::clone(&component.id), Arc::clone(request_id), stream);
        let wasi = WasiCtx::builder()
            .stdout(output(Stream::Stdout))
            .stderr(output(Stream::Stderr))
            .build();
        let state = HostState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                component: Arc::clone(&component.id),
                policy: component.policy.clone(),
                kv: component.env.kv.clone(),
            },
            limits: RequestLimits {
                inner: StoreLimitsBuilder::new()
                    .memory_size(self.options.memory_limit)
                    .instances(256)
                    .tables(256)
                    .memories(16)
                    .build(),
                memory_denied: false,
            },
            env: Arc::clone(&component.env),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(Trap::Interrupt.into())
            } else {
                // Yield at every tick so a busy guest shares its worker thread fairly.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Instantiates the component in a fresh store and drops it again: the per-request
    /// overhead before any guest code runs (used by the benchmark).
    pub async fn instantiate_only(&self, component: &LoadedComponent) -> anyhow::Result<()> {
        let pre = component.pre.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut store = self.new_store(
            component,
            Instant::now() + self.options.request_timeout,
            &Arc::from("instantiate-only"),
        );
        let _service = pre.instantiate_async(&mut store).await?;
        Ok(())
    }

    /// Runs one request through a fresh instance of `component` and buffers the response.
    ///
    /// Once the request has an instance, it runs in a task of its own: if the caller stops
    /// waiting (the client hung up and hyper dropped the request), the guest is still driven
    /// to completion, bounded by the request deadline, so a multi-key write is never cut off
    /// half way by a disconnect. [`Runtime::wait_idle`] waits for such requests.
    pub async fn invoke(
        self: &Arc<Self>,
        component: &Arc<LoadedComponent>,
        request: Request<Full<Bytes>>,
        request_id: Arc<str>,
    ) -> Result<Response<Full<Bytes>>, InvokeError> {
        if let Err(e) = &component.pre {
            return Err(InvokeError::NotLoaded(e.clone()));
        }
        let timeout = self.options.request_timeout;
        let deadline = Instant::now() + timeout;
        // A burst beyond the pool queues here, but only briefly: a request that cannot get a
        // slot soon is better told to retry than left to eat its whole deadline in the queue.
        // A client that leaves while queued has started nothing, so this part may be dropped.
        let wait = self.options.instance_wait.min(timeout);
        let permit =
            match tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(InvokeError::Failed("runner is shutting down".into())),
                Err(_) => return Err(InvokeError::Busy(wait)),
            };
        let in_flight = self.in_flight.enter();
        let runtime = Arc::clone(self);
        let component = Arc::clone(component);
        let task = tokio::spawn(async move {
            let result = runtime
                .run(&component, request, deadline, &request_id)
                .await;
            // Counted out only once nothing of the request is left, the component (and so
            // the database handle) included: whoever waits for idle may then close the store.
            drop((component, runtime, permit));
            drop(in_flight);
            result
        });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(InvokeError::Failed(format!("request task failed: {e}"))),
        }
    }

    /// Waits until no request started by [`Runtime::invoke`] is still running, including
    /// those whose clients have gone.
    pub async fn wait_idle(&self) {
        self.in_flight.idle().await;
    }

    /// Requests started by [`Runtime::invoke`] that are still running.
    pub fn in_flight(&self) -> usize {
        self.in_flight.count.load(Ordering::SeqCst)
    }

    async fn run(
        &self,
        component: &LoadedComponent,
        request: Request<Full<Bytes>>,
        deadline: Instant,
        request_id: &Arc<str>,
    ) -> Result<Response<Full<Bytes>>, InvokeError> {
        let pre = component
            .pre
            .as_ref()
            .map_err(|e| InvokeError::NotLoaded(e.clone()))?;
        let timeout = self.options.request_timeout;
        let work = async {
            let mut store = self.new_store(component, deadline, request_id);
            let memory_limit = self.options.memory_limit;
            let service = match pre.instantiate_async(&mut store).await {
                Ok(s) => s,
                Err(e) => {
                    return Err(classify(
                        e,
                        timeout,
                        store.data().limits.memory_denied,
                        memory_limit,
                    ));
                }
            };
            let (request, request_io) =
                wasmtime_wasi_http::p3::Request::from_http(&mut store.data_mut().hooks, request);
            let outcome = store
                .run_concurrent(async |store| {
                    let response = match service.handle(store, request).await? {
                        Ok(r) => r,
                        Err(code) => {
                            return Ok(Err(format!("component returned error-code {code:?}")));
                        }
                    };
                    let response =
                        store.with(|store| response.into_http(store, async { Ok(()) }))?;
                    let (parts, body) = response.into_parts();
                    // Buffering keeps the store's lifetime to this call; responses here are
                    // small JSON documents.
                    let body = match body.collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(e) => return Ok(Err(format!("response body failed: {e}"))),
                    };
                    wasmtime::Result::Ok(Ok(Response::from_parts(parts, Full::new(body))))
                })
                .await;
            // The request body was buffered before the call, so there is no I/O to wait for;
            // dropping the future just releases it.
            drop(request_io);
            match outcome {
                Ok(Ok(Ok(response))) => Ok(response),
                Ok(Ok(Err(message))) => Err(InvokeError::Failed(message)),
                Ok(Err(e)) | Err(e) => Err(classify(
                    e,
                    timeout,
                    store.data().limits.memory_denied,
                    memory_limit,
                )),
            }
        };
        // The epoch limit stops guest code; this also bounds time spent parked in host calls.
        match tokio::time::timeout_at((deadline + HOST_WAIT_MARGIN).into(), work).await {
            Ok(r) => r,
            Err(_) => Err(InvokeError::Timeout(timeout)),
        }
    }
}

/// Classifies a wasmtime error. The detail (trap, wasm backtrace, root cause) is kept in
/// [`InvokeError::Failed`] for the log; the client only ever sees a generic error.
fn classify(
    err: wasmtime::Error,
    timeout: Duration,
    memory_denied: bool,
    memory_limit: usize,
) -> InvokeError {
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => InvokeError::Timeout(timeout),
        _ if memory_denied => InvokeError::MemoryLimit(memory_limit),
        Some(trap) => InvokeError::Failed(format!("wasm trap: {trap}: {err:?}")),
        None => InvokeError::Failed(format!("{err:?}")),
    }
}
