//! `hostline-runner-probe`: a test component that exercises every host interface the runner
//! provides, one route per behaviour, so the runner's black-box tests can drive it over HTTP.
//!
//! Routes live under `/probe/` and take their arguments from the query string. Answers are
//! plain text or JSON; a host-side error is reported in the body with status 200 when it is
//! the behaviour under test (a denied store, an undefined variable), so the tests can tell an
//! expected refusal from a broken runner.
//!
//! It is a component and nothing else: on a native build the crate is empty.
#![cfg(target_arch = "wasm32")]

use spin_sdk::http::body::IncomingBodyExt as _;
use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::key_value::Store;

mod wasi_kv {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "hostline:platform/keyvalue-atomics",
        path: "../../../wit",
        generate_all,
    });
    pub use self::wasi::keyvalue::{atomics, batch, store};
}

use wasi_kv::{atomics, batch, store as bucket_store};

type Reply = (StatusCode, String);

fn ok(body: impl Into<String>) -> Reply {
    (StatusCode::OK, body.into())
}

fn query(req: &Request) -> Vec<(String, String)> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Percent-decoding for the few characters tests use in values.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> anyhow::Result<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| anyhow::anyhow!("missing query parameter {name:?}"))
}

fn label(q: &[(String, String)]) -> &str {
    param(q, "label").unwrap_or("default")
}

#[spin_sdk::http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let q = query(&req);
    // Spin's header, so the probe answers the same under any mount point.
    let route = req
        .headers()
        .get("spin-path-info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let reply: Reply = match route.as_str() {
        // --- spin:key-value ---------------------------------------------------------------
        "/kv/open" => match Store::open(label(&q)).await {
            Ok(_) => ok("ok"),
            Err(e) => ok(format!("{e:?}")),
        },
        "/kv/set" => {
            let store = Store::open(label(&q)).await?;
            store.set(param(&q, "key")?, param(&q, "value")?).await?;
            ok("ok")
        }
        "/kv/get" => {
            let store = Store::open(label(&q)).await?;
            match store.get(param(&q, "key")?).await? {
                Some(v) => ok(String::from_utf8_lossy(&v).into_owned()),
                None => (StatusCode::NOT_FOUND, "absent".into()),
            }
        }
        "/kv/delete" => {
            let store = Store::open(label(&q)).await?;
            store.delete(param(&q, "key")?).await?;
            ok("ok")
        }
        "/kv/exists" => {
            let store = Store::open(label(&q)).await?;
            ok(store.exists(param(&q, "key")?).await?.to_string())
        }
        "/kv/keys" => {
            let store = Store::open(label(&q)).await?;
            let keys = store.get_keys().await.collect().await?;
            ok(serde_json::to_string(&keys)?)
        }

        // --- wasi:keyvalue store / batch ------------------------------------------------------
        "/wasi/open" => match bucket_store::open(label(&q)) {
            Ok(_) => ok("ok"),
            Err(e) => ok(format!("{e:?}")),
        },
        "/wasi/get" => {
            let bucket = bucket_store::open(label(&q))?;
            match bucket.get(param(&q, "key")?)? {
                Some(v) => ok(String::from_utf8_lossy(&v).into_owned()),
                None => (StatusCode::NOT_FOUND, "absent".into()),
            }
        }
        "/wasi/set" => {
            let bucket = bucket_store::open(label(&q))?;
            bucket.set(param(&q, "key")?, param(&q, "value")?.as_bytes())?;
            ok("ok")
        }
        "/wasi/exists" => {
            let bucket = bucket_store::open(label(&q))?;
            ok(bucket.exists(param(&q, "key")?)?.to_string())
        }
        "/wasi/delete" => {
            let bucket = bucket_store::open(label(&q))?;
            bucket.delete(param(&q, "key")?)?;
            ok("ok")
        }
        "/wasi/list" => {
            let bucket = bucket_store::open(label(&q))?;
            let mut keys = Vec::new();
            let mut cursor = None;
            let mut pages = 0;
            loop {
                let page = bucket.list_keys(cursor.as_deref())?;
                pages += 1;
                keys.extend(page.keys);
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            ok(serde_json::json!({ "keys": keys, "pages": pages }).to_string())
        }
        "/wasi/batch" => {
            // set-many, get-many (with one missing key), delete-many, get-many again.
            let bucket = bucket_store::open(label(&q))?;
            let prefix = param(&q, "prefix")?;
            let (a, b, missing) = (
                format!("{prefix}a"),
                format!("{prefix}b"),
                format!("{prefix}missing"),
            );
            batch::set_many(
                &bucket,
                &[(a.clone(), b"1".to_vec()), (b.clone(), b"2".to_vec())],
            )?;
            let got = batch::get_many(&bucket, &[a.clone(), b.clone(), missing.clone()])?;
            let got: Vec<_> = got
                .into_iter()
                .map(|(k, v)| (k, v.map(|v| String::from_utf8_lossy(&v).into_owned())))
                .collect();
            batch::delete_many(&bucket, &[a.clone(), b.clone()])?;
            let after = batch::get_many(&bucket, &[a, b])?;
            ok(serde_json::json!({
                "got": got,
                "after_delete": after.iter().filter(|(_, v)| v.is_some()).count(),
            })
            .to_string())
        }

        // --- wasi:keyvalue atomics ---------------------------------------------------------
        "/incr" => {
            let bucket = bucket_store::open(label(&q))?;
            let delta = param(&q, "delta").unwrap_or("1").parse::<i64>()?;
            ok(atomics::increment(&bucket, param(&q, "key")?, delta)?.to_string())
        }
        "/cas/swap" => {
            // Unconditional-looking swap that must succeed when nobody interferes.
            let bucket = bucket_store::open(label(&q))?;
            let cas = atomics::Cas::new(&bucket, param(&q, "key")?)?;
            let before = cas.current()?;
            match atomics::swap(cas, param(&q, "value")?.as_bytes()) {
                Ok(()) => ok(serde_json::json!({
                    "swapped": true,
                    "before": before.map(|v| String::from_utf8_lossy(&v).into_owned()),
                })
                .to_string()),
                Err(e) => ok(
                    serde_json::json!({ "swapped": false, "error": format!("{e:?}") }).to_string(),
                ),
            }
        }
        "/cas/conflict" => {
            // Snapshot, then change the value behind the snapshot's back through the other
            // interface: the swap must fail and hand back a fresh handle that sees the change.
            let key = param(&q, "key")?;
            let bucket = bucket_store::open(label(&q))?;
            let cas = atomics::Cas::new(&bucket, key)?;
            let snapshot = cas.current()?;
            Store::open(label(&q))
                .await?
                .set(key, b"interloper")
                .await?;
            let first = atomics::swap(cas, b"mine");
            let (conflict, fresh_current, retried) = match first {
                Ok(()) => (false, None, false),
                Err(atomics::CasError::CasFailed(fresh)) => {
                    let current = fresh.current()?;
                    let retried = atomics::swap(fresh, b"mine").is_ok();
                    (true, current, retried)
                }
                Err(atomics::CasError::StoreError(e)) => anyhow::bail!("store error: {e:?}"),
            };
            let stored = bucket.get(key)?;
            let text = |v: Option<Vec<u8>>| v.map(|v| String::from_utf8_lossy(&v).into_owned());
            ok(serde_json::json!({
                "snapshot": text(snapshot),
                "conflict": conflict,
                "fresh_current": text(fresh_current),
                "retried": retried,
                "stored": text(stored),
            })
            .to_string())
        }
        "/cas/append" => {
            // Read-modify-write with retry: appends `item` to a comma-separated list.
            let key = param(&q, "key")?;
            let item = param(&q, "item")?;
            let bucket = bucket_store::open(label(&q))?;
            let mut cas = atomics::Cas::new(&bucket, key)?;
            let mut attempts = 1;
            loop {
                let current = cas
                    .current()?
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
                    .unwrap_or_default();
                let next = if current.is_empty() {
                    item.to_owned()
                } else {
                    format!("{current},{item}")
                };
                match atomics::swap(cas, next.as_bytes()) {
                    Ok(()) => break,
                    Err(atomics::CasError::CasFailed(fresh)) => {
                        cas = fresh;
                        attempts += 1;
                    }
                    Err(atomics::CasError::StoreError(e)) => anyhow::bail!("store error: {e:?}"),
                }
            }
            ok(attempts.to_string())
        }

        // --- spin:variables ------------------------------------------------------------------
        "/var" => match spin_sdk::variables::get(param(&q, "name")?).await {
            Ok(v) => ok(v),
            Err(e) => (StatusCode::NOT_FOUND, format!("{e:?}")),
        },

        // --- limits ----------------------------------------------------------------------------
        // --- the Store port's contract, run against the Spin adapter over this host ------
        // `contract::run` panics (a trap, so a 500) on the first broken rule.
        "/store-contract" => {
            let store = hostline_spin::SpinStore::open(label(&q))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            hostline_shared::store::contract::run(&store).await;
            ok("ok")
        }
        "/trap" => panic!("probe: deliberate trap"),
        "/loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "/alloc" => {
            let mb = param(&q, "mb")?.parse::<usize>()?;
            let mut v = vec![0u8; mb << 20];
            // Touch every page so the allocation is real.
            for i in (0..v.len()).step_by(4096) {
                v[i] = 1;
            }
            ok(std::hint::black_box(&v).len().to_string())
        }

        "/slow-writes" => {
            // Marks `{prefix}started`, then writes `{prefix}0` .. `{prefix}{n-1}` with a pause
            // before each: a multi-key write that takes a while, for tests that walk away.
            let prefix = param(&q, "prefix")?;
            let n = param(&q, "n")?.parse::<u32>()?;
            let ms = param(&q, "ms")?.parse::<u64>()?;
            let store = Store::open_default().await?;
            store.set(format!("{prefix}started"), b"1").await?;
            for i in 0..n {
                spin_sdk::time::sleep(std::time::Duration::from_millis(ms)).await;
                store.set(format!("{prefix}{i}"), b"written").await?;
            }
            ok(format!("wrote {n}"))
        }

        // --- the Spin adapter's compare-and-swap (hostline_spin::SpinStore) ------------------
        "/adapter/cas-incr" => {
            // Read-increment-CAS with retry through the Store port, pausing between the read
            // and the swap so concurrent requests really interleave. Answers the attempts.
            use hostline_shared::store::{Store as _, StoreError};
            let key = param(&q, "key")?;
            let pause = param(&q, "pause_ms").unwrap_or("0").parse::<u64>()?;
            let store = hostline_spin::SpinStore::open(label(&q))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut attempts = 0u32;
            loop {
                attempts += 1;
                let current = store.get(key).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let (n, version) = match &current {
                    Some(v) => (
                        std::str::from_utf8(&v.value)?.parse::<u64>()?,
                        Some(v.version),
                    ),
                    None => (0, None),
                };
                if pause > 0 {
                    spin_sdk::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                match store
                    .compare_and_swap(key, version, (n + 1).to_string().as_bytes())
                    .await
                {
                    Ok(()) => break,
                    Err(StoreError::Conflict) => continue,
                    Err(e) => anyhow::bail!("store error: {e}"),
                }
            }
            ok(attempts.to_string())
        }

        "/leftovers" => {
            // What a previous request left in this instance's memory: a static counter and a
            // page-spread static buffer, both dirtied here. A fresh instance sees zeros.
            use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            static BUFFER: [AtomicU8; 1 << 20] = [const { AtomicU8::new(0) }; 1 << 20];
            let before = COUNTER.fetch_add(1, Ordering::SeqCst);
            let mut dirty = 0usize;
            for i in (0..BUFFER.len()).step_by(4096) {
                if BUFFER[i].swap(0xAB, Ordering::SeqCst) != 0 {
                    dirty += 1;
                }
            }
            // And on the heap, where the allocator will likely hand back the same pages.
            let heap = vec![0xCDu8; 4 << 20];
            std::hint::black_box(&heap);
            ok(serde_json::json!({ "counter_before": before, "dirty_pages": dirty }).to_string())
        }

        "/sleep" => {
            let ms = param(&q, "ms")?.parse::<u64>()?;
            // Lets a test see that the request is in flight before it acts.
            if let Ok(key) = param(&q, "mark") {
                Store::open_default().await?.set(key, b"started").await?;
            }
            spin_sdk::time::sleep(std::time::Duration::from_millis(ms)).await;
            ok(format!("slept {ms}"))
        }

        // --- HTTP plumbing -----------------------------------------------------------------------
        "/echo" => {
            let method = req.method().to_string();
            let uri = req.uri().to_string();
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        serde_json::Value::String(v.to_str().unwrap_or("").to_owned()),
                    )
                })
                .collect();
            let body = req
                .into_body()
                .bytes()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            ok(serde_json::json!({
                "method": method,
                "uri": uri,
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            })
            .to_string())
        }
        "/outbound" => match spin_sdk::http::get(param(&q, "url")?).await {
            Ok(resp) => ok(format!("status {}", resp.status().as_u16())),
            Err(e) => ok(format!("error {e}")),
        },
        // --- stand-in for owner-api during demo seeding ------------------------------------
        r if r.starts_with("/businesses/") => {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let method = req.method().to_string();
            let body = req
                .into_body()
                .bytes()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let store = Store::open_default().await?;
            store.set(format!("seed:{method} {r}"), &body).await?;
            store.set("seed:authorization", auth.as_bytes()).await?;
            (StatusCode::CREATED, "imported".into())
        }
        _ => (StatusCode::NOT_FOUND, format!("probe: no route {route}")),
    };
    Ok(reply)
}
