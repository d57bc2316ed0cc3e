//! Per-request instantiation cost: pre-instantiated component -> fresh `Store` + instance.
//!
//! Runs the same measurement with the pooling allocator (what `hostline up` uses) and with
//! wasmtime's default on-demand allocator as the baseline, then a whole in-process request
//! (instantiate, a key-value read, response) on the pooling engine. Prints p50/p99 and the
//! pooling/on-demand ratio. Target: instantiate p50 <= 100 µs.
//!
//! `cargo bench -p hostline-runner --bench instantiate` (release build; builds the probe).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hostline_runner::host::ComponentEnv;
use hostline_runner::outbound::OutboundPolicy;
use hostline_runner::runtime::{EngineOptions, LoadedComponent, Runtime};
use hostline_runner::store::KvStore;
use http_body_util::Full;

const WARMUP: usize = 200;
const SAMPLES: usize = 3000;
const REQUEST_SAMPLES: usize = 1000;

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort_unstable();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Stats {
        p50: pick(0.50),
        p99: pick(0.99),
        mean: total / samples.len() as u32,
    }
}

fn setup(
    pooling: bool,
    kv: &KvStore,
    cache: &std::path::Path,
) -> (Arc<Runtime>, Arc<LoadedComponent>) {
    let runtime = Runtime::new(EngineOptions {
        pooling,
        cache_dir: Some(cache.to_path_buf()),
        ..EngineOptions::default()
    })
    .expect("engine");
    let env = ComponentEnv {
        id: Arc::from("probe"),
        stores: ["default".to_owned()].into_iter().collect(),
        app_stores: Arc::new(HashSet::from(["default".to_owned()])),
        variables: BTreeMap::new(),
        kv: kv.clone(),
    };
    let component = runtime.load(
        "probe",
        support::probe_wasm(),
        env,
        OutboundPolicy::default(),
    );
    if let Some(e) = component.load_error() {
        panic!("probe failed to load: {e}");
    }
    (Arc::new(runtime), Arc::new(component))
}

fn measure_instantiate(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    c: &LoadedComponent,
) -> Stats {
    rt.block_on(async {
        for _ in 0..WARMUP {
            runtime.instantiate_only(c).await.expect("instantiate");
        }
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            runtime.instantiate_only(c).await.expect("instantiate");
            samples.push(t.elapsed());
        }
        stats(samples)
    })
}

fn measure_request(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    c: &Arc<LoadedComponent>,
) -> Stats {
    let request = || {
        hyper::Request::builder()
            .uri("http://127.0.0.1/probe/kv/get?key=bench")
            .header("spin-path-info", "/kv/get")
            .body(Full::new(Bytes::new()))
            .expect("request")
    };
    rt.block_on(async {
        for _ in 0..WARMUP {
            runtime
                .invoke(c, request(), Arc::from("bench"))
                .await
                .expect("request");
        }
        let mut samples = Vec::with_capacity(REQUEST_SAMPLES);
        for _ in 0..REQUEST_SAMPLES {
            let t = Instant::now();
            let res = runtime
                .invoke(c, request(), Arc::from("bench"))
                .await
                .expect("request");
            samples.push(t.elapsed());
            assert_eq!(res.status().as_u16(), 200);
        }
        stats(samples)
    })
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either way.
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = KvStore::open(&dir.path().join("bench.redb")).expect("db");
    let cache = support::target_dir().join("hostline-bench-cache");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(kv.set("default", "bench", b"value".to_vec()))
        .expect("seed key");

    let (pool_rt, pool_c) = setup(true, &kv, &cache);
    let pooled = measure_instantiate(&rt, &pool_rt, &pool_c);
    let request = measure_request(&rt, &pool_rt, &pool_c);
    drop((pool_c, pool_rt));

    let (od_rt, od_c) = setup(false, &kv, &cache);
    let on_demand = measure_instantiate(&rt, &od_rt, &od_c);

    println!(
        "instantiate (fresh Store + instance from a pre-instantiated component), {SAMPLES} samples:"
    );
    for (name, s) in [("pooling  ", &pooled), ("on-demand", &on_demand)] {
        println!(
            "  {name}  p50 {:8.1} µs   p99 {:8.1} µs   mean {:8.1} µs",
            us(s.p50),
            us(s.p99),
            us(s.mean)
        );
    }
    println!(
        "  pooling / on-demand p50 ratio: {:.2} ({:.1}x faster)",
        us(pooled.p50) / us(on_demand.p50),
        us(on_demand.p50) / us(pooled.p50)
    );
    println!(
        "whole in-process request (instantiate + key-value get + response), pooling, {REQUEST_SAMPLES} samples:"
    );
    println!(
        "            p50 {:8.1} µs   p99 {:8.1} µs   mean {:8.1} µs",
        us(request.p50),
        us(request.p99),
        us(request.mean)
    );
    let target = Duration::from_micros(100);
    println!(
        "target instantiate p50 <= 100 µs: {}",
        if pooled.p50 <= target {
            "met"
        } else {
            "NOT met"
        }
    );
}
