//! The Spin host interfaces the runner gives its guests, and the per-request store state.
//!
//! Bindings are generated from the repo's `wit/` world `hostline:platform/host`:
//! `spin:key-value@3.0.0` and `spin:variables@3.0.0` (async functions), and the
//! `wasi:keyvalue@0.2.0-draft2` `store`, `batch` and `atomics` interfaces. wasi:cli, wasi:io
//! and wasi:http come from wasmtime-wasi and wasmtime-wasi-http.
//!
//! Access rules mirror Spin: a component may open only the store labels listed in its
//! manifest entry, and read only the variables declared in its `[component.X.variables]`.
//! Every guest-visible failure is a WIT error value; only a guest passing a handle it never
//! owned traps.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use wasmtime::component::{Accessor, FutureReader, HasSelf, Resource, ResourceTable, StreamReader};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::outbound::OutboundHooks;
use crate::store::{CasOutcome, KvStore, StoreError};

mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "hostline:platform/host",
        imports: {
            "spin:key-value/key-value": async | store | trappable,
            "spin:variables/variables": async | store | trappable,
            "wasi:keyvalue": async | trappable,
            default: trappable,
        },
        with: {
            "spin:key-value/key-value.store": super::SpinStore,
            "wasi:keyvalue/store.bucket": super::Bucket,
            "wasi:keyvalue/atomics.cas": super::Cas,
        },
    });
}

pub use generated::spin::key_value::key_value as spin_kv;
pub use generated::spin::variables::variables as spin_vars;
pub use generated::wasi::keyvalue::{
    atomics as wasi_atomics, batch as wasi_batch, store as wasi_store,
};

/// What one component is allowed to see; shared by all of its requests.
pub struct ComponentEnv {
    /// Component id from the manifest.
    pub id: Arc<str>,
    /// Store labels from `key_value_stores`.
    pub stores: HashSet<String>,
    /// Every label some component of the application may open.
    pub app_stores: Arc<HashSet<String>>,
    /// Rendered `[component.X.variables]`.
    pub variables: BTreeMap<String, String>,
    /// The database.
    pub kv: KvStore,
}

impl std::fmt::Debug for ComponentEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Variable values may be secrets; names are enough to debug with.
        f.debug_struct("ComponentEnv")
            .field("id", &self.id)
            .field("stores", &self.stores)
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// An open `spin:key-value` store: just the label, checked at open time.
#[derive(Debug)]
pub struct SpinStore {
    label: String,
}

/// An open `wasi:keyvalue` bucket.
#[derive(Debug)]
pub struct Bucket {
    label: String,
}

/// A `wasi:keyvalue` compare-and-swap handle: the key and the value seen when it was made.
#[derive(Debug)]
pub struct Cas {
    label: String,
    key: String,
    snapshot: Option<Vec<u8>>,
}

/// The data of one request's `Store`.
pub struct HostState {
    /// Resources of every interface share one table, as wasmtime-wasi expects.
    pub table: ResourceTable,
    /// wasi:cli and friends.
    pub wasi: WasiCtx,
    /// wasi:http.
    pub http: WasiHttpCtx,
    /// Outbound HTTP policy.
    pub hooks: OutboundHooks,
    /// Memory and instance caps for this request.
    pub limits: crate::runtime::RequestLimits,
    /// Component permissions and data.
    pub env: Arc<ComponentEnv>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Adds the Spin and wasi:keyvalue interfaces to a linker.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    spin_kv::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    spin_vars::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wasi_store::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wasi_batch::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wasi_atomics::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}

/// Why a label cannot be opened; both interfaces have the same two cases.
enum OpenDenied {
    NoSuchStore,
    AccessDenied,
}

impl ComponentEnv {
    /// A label the component lists is open to it. A store that exists for the application
    /// (listed by another component, or Spin's always-present "default") but not for this
    /// component is `access-denied`, as on Spin; a label nobody declared is `no-such-store`.
    fn check_label(&self, label: &str) -> Result<(), OpenDenied> {
        if self.stores.contains(label) {
            Ok(())
        } else if label == "default" || self.app_stores.contains(label) {
            Err(OpenDenied::AccessDenied)
        } else {
            Err(OpenDenied::NoSuchStore)
        }
    }
}

fn log_store_error(env: &ComponentEnv, err: &StoreError) {
    tracing::error!(component = %env.id, error = %err, "key-value store error");
}

// ---------------------------------------------------------------------------------------------
// spin:key-value@3.0.0

fn spin_err(env: &ComponentEnv, err: StoreError) -> spin_kv::Error {
    log_store_error(env, &err);
    spin_kv::Error::Other(err.to_string())
}

/// Looks up an open store and returns what an async call needs after the store borrow ends.
fn spin_handle<T>(
    accessor: &Accessor<T, HasSelf<HostState>>,
    store: &Resource<SpinStore>,
) -> wasmtime::Result<(Arc<ComponentEnv>, String)> {
    accessor.with(|mut access| {
        let state = access.get();
        let s = state.table.get(store)?;
        Ok((Arc::clone(&state.env), s.label.clone()))
    })
}

impl spin_kv::Host for HostState {}

impl spin_kv::HostStore for HostState {}

impl<T> spin_kv::HostStoreWithStore<T> for HasSelf<HostState> {
    async fn drop(accessor: &Accessor<T, Self>, rep: Resource<SpinStore>) -> wasmtime::Result<()> {
        accessor.with(|mut access| access.get().table.delete(rep))?;
        Ok(())
    }

    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<SpinStore>, spin_kv::Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            match state.env.check_label(&label) {
                Ok(()) => Ok(Ok(state.table.push(SpinStore { label })?)),
                Err(OpenDenied::AccessDenied) => Ok(Err(spin_kv::Error::AccessDenied)),
                Err(OpenDenied::NoSuchStore) => Ok(Err(spin_kv::Error::NoSuchStore)),
            }
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, spin_kv::Error>> {
        let (env, label) = spin_handle(accessor, &store)?;
        Ok(env
            .kv
            .get(&label, &key)
            .await
            .map_err(|e| spin_err(&env, e)))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<SpinStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let (env, label) = spin_handle(accessor, &store)?;
        Ok(env
            .kv
            .set(&label, &key, value)
            .await
            .map_err(|e| spin_err(&env, e)))
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let (env, label) = spin_handle(accessor, &store)?;
        Ok(env
            .kv
            .delete(&label, &key)
            .await
            .map_err(|e| spin_err(&env, e)))
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, spin_kv::Error>> {
        let (env, label) = spin_handle(accessor, &store)?;
        Ok(env
            .kv
            .exists(&label, &key)
            .await
            .map_err(|e| spin_err(&env, e)))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<SpinStore>,
    ) -> wasmtime::Result<(
        StreamReader<String>,
        FutureReader<Result<(), spin_kv::Error>>,
    )> {
        let (env, label) = spin_handle(accessor, &store)?;
        // The whole key list is read up front: a redb read transaction cannot outlive this
        // call, and the stores here are small enough that streaming would buy nothing.
        let (keys, result) = match env.kv.keys(&label).await {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(spin_err(&env, e))),
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let future = FutureReader::new(
                &mut access,
                std::future::ready(Ok::<_, wasmtime::Error>(result)),
            )?;
            Ok((stream, future))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// spin:variables@3.0.0

impl spin_vars::Host for HostState {}

impl<T> spin_vars::HostWithStore<T> for HasSelf<HostState> {
    async fn get(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, spin_vars::Error>> {
        accessor.with(|mut access| {
            let env = &access.get().env;
            if !crate::manifest::is_valid_variable_name(&name) {
                return Ok(Err(spin_vars::Error::InvalidName(name)));
            }
            Ok(match env.variables.get(&name) {
                Some(v) => Ok(v.clone()),
                None => Err(spin_vars::Error::Undefined(format!(
                    "no variable {name:?} for component {}",
                    env.id
                ))),
            })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// wasi:keyvalue@0.2.0-draft2

fn wasi_err(env: &ComponentEnv, err: StoreError) -> wasi_store::Error {
    log_store_error(env, &err);
    wasi_store::Error::Other(err.to_string())
}

/// Page size for `list-keys`; the cursor is the last key of the previous page.
const LIST_KEYS_PAGE: usize = 1000;

impl HostState {
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<(Arc<ComponentEnv>, String)> {
        let b = self.table.get(bucket)?;
        Ok((Arc::clone(&self.env), b.label.clone()))
    }
}

impl wasi_store::Host for HostState {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, wasi_store::Error>> {
        match self.env.check_label(&identifier) {
            Ok(()) => Ok(Ok(self.table.push(Bucket { label: identifier })?)),
            Err(OpenDenied::AccessDenied) => Ok(Err(wasi_store::Error::AccessDenied)),
            Err(OpenDenied::NoSuchStore) => Ok(Err(wasi_store::Error::NoSuchStore)),
        }
    }
}

impl wasi_store::HostBucket for HostState {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .get(&label, &key)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .set(&label, &key, value)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn delete(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .delete(&label, &key)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn exists(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .exists(&label, &key)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<wasi_store::KeyResponse, wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(
            match env.kv.list_keys(&label, cursor, LIST_KEYS_PAGE).await {
                Ok((keys, more)) => {
                    let cursor = if more { keys.last().cloned() } else { None };
                    Ok(wasi_store::KeyResponse { keys, cursor })
                }
                Err(e) => Err(wasi_err(&env, e)),
            },
        )
    }

    async fn drop(&mut self, rep: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

impl wasi_batch::Host for HostState {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .get_many(&label, keys)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .set_many(&label, key_values)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .delete_many(&label, keys)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }
}

impl wasi_atomics::Host for HostState {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        Ok(env
            .kv
            .increment(&label, &key, delta)
            .await
            .map_err(|e| wasi_err(&env, e)))
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wasi_atomics::CasError>> {
        // `swap` consumes the handle whatever the outcome.
        let Cas {
            label,
            key,
            snapshot,
        } = self.table.delete(cas)?;
        let env = Arc::clone(&self.env);
        match env.kv.compare_and_swap(&label, &key, snapshot, value).await {
            Ok(CasOutcome::Swapped) => Ok(Ok(())),
            Ok(CasOutcome::Conflict(current)) => {
                let fresh = self.table.push(Cas {
                    label,
                    key,
                    snapshot: current,
                })?;
                Ok(Err(wasi_atomics::CasError::CasFailed(fresh)))
            }
            Err(e) => Ok(Err(wasi_atomics::CasError::StoreError(wasi_err(&env, e)))),
        }
    }
}

impl wasi_atomics::HostCas for HostState {
    async fn new(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<Cas>, wasi_store::Error>> {
        let (env, label) = self.bucket(&bucket)?;
        match env.kv.get(&label, &key).await {
            Ok(snapshot) => Ok(Ok(self.table.push(Cas {
                label,
                key,
                snapshot,
            })?)),
            Err(e) => Ok(Err(wasi_err(&env, e))),
        }
    }

    async fn current(
        &mut self,
        cas: Resource<Cas>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_store::Error>> {
        // The snapshot, not a fresh read: the guest decides what to write from this value,
        // and `swap` succeeds only if the store still holds exactly it.
        Ok(Ok(self.table.get(&cas)?.snapshot.clone()))
    }

    async fn drop(&mut self, rep: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}
