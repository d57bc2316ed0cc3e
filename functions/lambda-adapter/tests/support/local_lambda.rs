//! The collection as AWS runs it, on this machine: every function binary of template.yaml as its
//! own process speaking the Lambda Runtime API to us, behind a local stand-in for API Gateway
//! (HTTP API, payload format 2.0) routing by template.yaml's paths, over the moto emulator for
//! DynamoDB and S3. Between the functions and the emulator sits a meter that counts what AWS
//! would bill: DynamoDB read and write request units (from the items' sizes, by DynamoDB's
//! rules), S3 requests and bytes; the Runtime API side times every invocation and each
//! process's init (start to its first request for work).
//!
//! Each function gets exactly the environment template.yaml gives it, its `!Ref`s resolved
//! against the parameter values a test passes (as `sam deploy --parameter-overrides` would) or
//! the template's defaults, plus what Lambda itself sets. The environment is otherwise empty, so
//! nothing from this machine (an AWS profile, a stray setting) leaks in.
//!
//! Like Lambda, a process handles one event at a time; events wait for it in order.
//! `HOSTLINE_METER_LOG=1` prints every DynamoDB request the meter sees, with its units.

use super::moto::{BUCKET, Emulator, TABLE};
use super::template::{self, SamFunction, repo_file};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The longest API Gateway waits for a function (its integration timeout).
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body the gateway takes (API Gateway's payload limit is 10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

type Reply = Result<Vec<u8>, String>;

struct Invocation {
    event: Vec<u8>,
    reply: oneshot::Sender<Reply>,
}

/// What one function used.
#[derive(Debug, Clone, Default)]
pub struct FunctionUsage {
    pub invocations: u64,
    /// What Lambda would bill for them: each invocation's duration (from handing the event out
    /// to the response coming back) rounded up to a whole millisecond.
    pub billed_ms: u64,
    /// Each process start's init duration: from spawning it to its first request for work.
    pub inits: Vec<Duration>,
    /// The largest resident set any of its processes reached, in KiB (Linux's VmHWM).
    pub max_rss_kib: u64,
}

/// What the functions asked of DynamoDB and S3, in AWS's billing units.
#[derive(Debug, Clone, Default)]
pub struct AwsUsage {
    /// DynamoDB requests by operation.
    pub dynamo_requests: BTreeMap<String, u64>,
    /// Read request units (on-demand): a strongly consistent read of up to 4 KB is one.
    pub read_units: f64,
    /// Write request units: a write of up to 1 KB is one; transactional writes count twice.
    pub write_units: f64,
    /// S3 PUT, COPY, POST and LIST requests (billed together).
    pub s3_class_a: u64,
    /// S3 GET and HEAD requests.
    pub s3_class_b: u64,
    /// Bytes written to S3.
    pub s3_bytes_in: u64,
}

struct Function {
    sam: SamFunction,
    runtime_api: SocketAddr,
    /// Where its SDK clients send DynamoDB, S3 and SSM requests: the meter, as this function.
    aws_endpoint: String,
    /// The actions its policies allow (`dynamodb:GetItem`, `s3:PutObject`, …).
    allowed: Vec<&'static str>,
    queue: mpsc::UnboundedSender<Invocation>,
    waiting: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: Mutex<HashMap<String, (oneshot::Sender<Reply>, Instant)>>,
    spawned_at: Mutex<Option<Instant>>,
    usage: Mutex<FunctionUsage>,
}

struct Shared {
    /// (path without `{proxy+}`, greedy, function index), longest first.
    routes: Vec<(String, bool, usize)>,
    functions: Vec<Arc<Function>>,
    emulator_url: String,
    forward: reqwest::Client,
    aws: Mutex<AwsUsage>,
    /// The size of every item the meter has seen written, by (pk, sk): what a delete of it costs.
    item_sizes: Mutex<HashMap<(String, String), u64>>,
    next_id: Mutex<u64>,
    /// Requests refused because the caller's policies do not allow them: (function, action).
    denied: Mutex<Vec<(String, String)>>,
}

/// The running collection. Dropping it stops every process and the emulator.
pub struct LocalLambda {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    /// The HTTP API's base URL (what Vapi and Twilio would be given).
    pub url: String,
    parameters: BTreeMap<String, String>,
    memory_mb: u64,
    global_env: Vec<(String, Option<String>)>,
    defaults: BTreeMap<String, Option<String>>,
    children: Vec<Child>,
    home: tempfile::TempDir,
    _emulator: Emulator,
}

impl LocalLambda {
    /// Starts the emulator (with the table and bucket), the gateway, the meter and every
    /// function of template.yaml, configured with `parameters` (template parameter name →
    /// value); a parameter left out takes the template's default, and one without a default
    /// that a function needs is a test error, as it would be for `sam deploy`. `ssm` are SSM
    /// parameters (full name, value) written as SecureStrings before any function starts.
    pub fn start(parameters: &[(&str, &str)], ssm: &[(&str, &str)]) -> LocalLambda {
        let sam = template::parse(&repo_file("template.yaml"));
        assert!(sam.problems.is_empty(), "{:?}", sam.problems);
        let emulator = Emulator::start();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            emulator.store().await;
            emulator.blobs().await;
            let client = aws_sdk_ssm::Client::new(&emulator.config().await);
            for (name, value) in ssm {
                client
                    .put_parameter()
                    .name(*name)
                    .value(*value)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .send()
                    .await
                    .expect("put an SSM parameter");
            }
        });
        let (shared, url) = runtime.block_on(async {
            let mut functions = Vec::new();
            let mut routes = Vec::new();
            let mut runtime_listeners = Vec::new();
            for (index, f) in sam.functions.iter().enumerate() {
                for path in &f.paths {
                    match path.strip_suffix("{proxy+}") {
                        Some(prefix) => routes.push((prefix.to_owned(), true, index)),
                        None => routes.push((path.clone(), false, index)),
                    }
                }
                let listener = bind().await;
                let meter = bind().await;
                let (queue, waiting) = mpsc::unbounded_channel();
                functions.push(Arc::new(Function {
                    sam: f.clone(),
                    runtime_api: listener.local_addr().expect("an address"),
                    aws_endpoint: format!("http://{}", meter.local_addr().expect("an address")),
                    allowed: f
                        .policies
                        .iter()
                        .flat_map(|p| granted_by(p))
                        .copied()
                        .collect(),
                    queue,
                    waiting: tokio::sync::Mutex::new(waiting),
                    in_flight: Mutex::new(HashMap::new()),
                    spawned_at: Mutex::new(None),
                    usage: Mutex::new(FunctionUsage::default()),
                }));
                runtime_listeners.push((listener, meter));
            }
            // API Gateway prefers an exact route, then the longest greedy one.
            routes.sort_by_key(|(p, greedy, _)| (*greedy, std::cmp::Reverse(p.len())));
            let shared = Arc::new(Shared {
                routes,
                functions,
                emulator_url: emulator.url.clone(),
                forward: reqwest::Client::new(),
                aws: Mutex::new(AwsUsage::default()),
                item_sizes: Mutex::new(HashMap::new()),
                next_id: Mutex::new(0),
                denied: Mutex::new(Vec::new()),
            });
            for (f, (listener, meter)) in shared.functions.iter().zip(runtime_listeners) {
                let (s, function) = (shared.clone(), f.clone());
                serve(listener, move |req| {
                    runtime_api(s.clone(), function.clone(), req)
                });
                let (s, function) = (shared.clone(), f.clone());
                serve(meter, move |req| {
                    meter_aws(s.clone(), function.clone(), req)
                });
            }
            let gateway = bind().await;
            let url = format!("http://{}", gateway.local_addr().expect("an address"));
            let s = shared.clone();
            serve(gateway, move |req| api_gateway(s.clone(), req));
            (shared, url)
        });
        let mut local = LocalLambda {
            runtime,
            shared,
            url,
            parameters: parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            memory_mb: sam.memory_mb,
            global_env: sam.global_env,
            defaults: sam.parameters,
            children: Vec::new(),
            home: tempfile::tempdir().expect("a temporary directory"),
            _emulator: emulator,
        };
        local.spawn_all();
        local
    }

    /// The memory every function is configured with (template.yaml's Globals), in MB.
    pub fn memory_mb(&self) -> u64 {
        self.memory_mb
    }

    fn value_of(&self, reference: &Option<String>, var: &str) -> String {
        let name = reference
            .as_deref()
            .unwrap_or_else(|| panic!("{var} is not a !Ref"));
        match name {
            "Table" => return TABLE.to_owned(),
            "Blobs" => return BUCKET.to_owned(),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return v.clone();
        }
        match self.defaults.get(name) {
            Some(Some(default)) => default.clone(),
            Some(None) => {
                panic!("template parameter {name} (for {var}) has no value and no default")
            }
            None => panic!("{var} refers to {name}, which template.yaml does not define"),
        }
    }

    fn spawn_all(&mut self) {
        for f in self.shared.functions.clone() {
            let mut command = Command::new(binary(&f.sam.binary));
            command.env_clear();
            for (var, reference) in self.global_env.iter().chain(&f.sam.env) {
                command.env(var, self.value_of(reference, var));
            }
            let home = self.home.path();
            command
                .env("AWS_LAMBDA_RUNTIME_API", f.runtime_api.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", &f.sam.id)
                .env(
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                    self.memory_mb.to_string(),
                )
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_ENDPOINT_URL", &f.aws_endpoint)
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", home.join("no-config"))
                .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
                .env("HOSTLINE_S3_PATH_STYLE", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit());
            *f.spawned_at.lock().unwrap() = Some(Instant::now());
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", f.sam.binary));
            self.children.push(child);
        }
    }

    fn stop_all(&mut self) {
        self.record_rss();
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every function process stopped (as Lambda retires containers) and started again: the
    /// next event of each is a cold start; the table and bucket keep everything.
    pub fn restart(&mut self) {
        self.stop_all();
        self.spawn_all();
    }

    fn record_rss(&self) {
        for (f, child) in self.shared.functions.iter().zip(&self.children) {
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
            let hwm = status.ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            });
            if let Some(kib) = hwm {
                let mut usage = f.usage.lock().unwrap();
                usage.max_rss_kib = usage.max_rss_kib.max(kib);
            }
        }
    }

    /// What each function (by binary name) used since the start or the last reset.
    pub fn function_usage(&self) -> BTreeMap<String, FunctionUsage> {
        self.record_rss();
        self.shared
            .functions
            .iter()
            .map(|f| (f.sam.binary.clone(), f.usage.lock().unwrap().clone()))
            .collect()
    }

    /// What the functions asked of DynamoDB and S3 since the start or the last reset.
    pub fn aws_usage(&self) -> AwsUsage {
        self.shared.aws.lock().unwrap().clone()
    }

    /// Every request a function's policies did not allow, as (binary, action): API calls the
    /// template forgot to grant (the request got AWS's AccessDenied).
    pub fn denied(&self) -> Vec<(String, String)> {
        self.shared.denied.lock().unwrap().clone()
    }

    /// Forget the counts so far (init durations are kept: they belong to the processes).
    pub fn reset_usage(&self) {
        *self.shared.aws.lock().unwrap() = AwsUsage::default();
        for f in &self.shared.functions {
            let mut u = f.usage.lock().unwrap();
            *u = FunctionUsage {
                inits: std::mem::take(&mut u.inits),
                max_rss_kib: u.max_rss_kib,
                ..FunctionUsage::default()
            };
        }
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        // The servers' tasks end with the runtime, dropped after this.
        self.stop_all();
    }
}

/// A function's binary: built by cargo beside this test, or in `HOSTLINE_LAMBDA_BIN_DIR` when
/// that is set (`target/release` after `cargo build --release -p hostline-lambda-adapter --bins`,
/// to time release builds' cold starts).
fn binary(name: &str) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("HOSTLINE_LAMBDA_BIN_DIR") {
        return std::path::Path::new(&dir).join(name);
    }
    let bins: [(&str, &str); 9] = [
        ("healthz", env!("CARGO_BIN_EXE_healthz")),
        ("assistant-request", env!("CARGO_BIN_EXE_assistant-request")),
        ("knowledge-base", env!("CARGO_BIN_EXE_knowledge-base")),
        ("calls", env!("CARGO_BIN_EXE_calls")),
        ("orders", env!("CARGO_BIN_EXE_orders")),
        ("kitchen", env!("CARGO_BIN_EXE_kitchen")),
        ("onboarding", env!("CARGO_BIN_EXE_onboarding")),
        ("owner-api", env!("CARGO_BIN_EXE_owner-api")),
        ("twilio-voice", env!("CARGO_BIN_EXE_twilio-voice")),
    ];
    bins.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, path)| path.into())
        .unwrap_or_else(|| {
            panic!("template.yaml names binary {name}, which this crate does not build")
        })
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

type HttpResponse = hyper::Response<Full<Bytes>>;

fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> HttpResponse {
    let mut builder = hyper::Response::builder().status(status);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    builder.body(Full::new(body.into())).expect("a response")
}

/// Serves HTTP/1 on `listener`, each request answered by `handle`.
fn serve<F, Fut>(listener: tokio::net::TcpListener, handle: F)
where
    F: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = HttpResponse> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handle = handle.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

async fn body_of(req: hyper::Request<Incoming>) -> Option<(hyper::http::request::Parts, Bytes)> {
    let (parts, body) = req.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .ok()?
        .to_bytes();
    Some((parts, bytes))
}

/// The Lambda Runtime API of one function: its process asks for the next event, then posts the
/// answer (or an error) for it.
async fn runtime_api(
    shared: Arc<Shared>,
    f: Arc<Function>,
    req: hyper::Request<Incoming>,
) -> HttpResponse {
    let Some((parts, body)) = body_of(req).await else {
        return respond(400, &[], "unreadable body");
    };
    let path = parts.uri.path().to_owned();
    if path == "/2018-06-01/runtime/invocation/next" {
        if let Some(spawned) = f.spawned_at.lock().unwrap().take() {
            f.usage.lock().unwrap().inits.push(spawned.elapsed());
        }
        let Some(invocation) = f.waiting.lock().await.recv().await else {
            return respond(500, &[], "the gateway stopped");
        };
        let id = {
            let mut next = shared.next_id.lock().unwrap();
            *next += 1;
            format!("req-{next}")
        };
        f.in_flight
            .lock()
            .unwrap()
            .insert(id.clone(), (invocation.reply, Instant::now()));
        let deadline = (std::time::SystemTime::now() + INTEGRATION_TIMEOUT)
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis()
            .to_string();
        let arn = format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            f.sam.id
        );
        return respond(
            200,
            &[
                ("content-type", "application/json"),
                ("lambda-runtime-aws-request-id", &id),
                ("lambda-runtime-deadline-ms", &deadline),
                ("lambda-runtime-invoked-function-arn", &arn),
            ],
            invocation.event,
        );
    }
    if path == "/2018-06-01/runtime/init/error" {
        eprintln!(
            "{}: init error: {}",
            f.sam.binary,
            String::from_utf8_lossy(&body)
        );
        return respond(202, &[], "{}");
    }
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") else {
        return respond(404, &[], "not a runtime API path");
    };
    let (id, outcome) = match rest.rsplit_once('/') {
        Some((id, "response")) => (id, Ok(body.to_vec())),
        Some((id, "error")) => (id, Err(String::from_utf8_lossy(&body).into_owned())),
        _ => return respond(404, &[], "not a runtime API path"),
    };
    let Some((reply, handed_at)) = f.in_flight.lock().unwrap().remove(id) else {
        return respond(400, &[], "no such invocation");
    };
    {
        let mut usage = f.usage.lock().unwrap();
        usage.invocations += 1;
        let took = handed_at.elapsed();
        // Lambda bills each invocation's duration rounded up to the millisecond.
        usage.billed_ms += took.as_nanos().div_ceil(1_000_000) as u64;
    }
    let _ = reply.send(outcome);
    respond(202, &[], "{}")
}

/// API Gateway: the route's function gets the request as a payload-format-2.0 event, and its
/// answer becomes the HTTP response.
async fn api_gateway(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> HttpResponse {
    let message = |status, text: &str| {
        respond(
            status,
            &[("content-type", "application/json")],
            json!({"message": text}).to_string(),
        )
    };
    let Some((parts, body)) = body_of(req).await else {
        return message(413, "Request Entity Too Large");
    };
    let path = parts.uri.path().to_owned();
    let route = shared.routes.iter().find(|(p, greedy, _)| {
        if *greedy {
            path.strip_prefix(p.as_str())
                .is_some_and(|rest| !rest.is_empty())
        } else {
            path == *p
        }
    });
    let Some((route_path, greedy, index)) = route else {
        return message(404, "Not Found");
    };
    let f = &shared.functions[*index];
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name.as_str() == "cookie" {
            cookies.extend(value.split("; ").map(str::to_owned));
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let query = parts.uri.query().unwrap_or("").to_owned();
    let mut query_params: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        query_params
            .entry(k.into_owned())
            .and_modify(|old| {
                old.push(',');
                old.push_str(&v);
            })
            .or_insert(v.into_owned());
    }
    let (body_field, base64) = match std::str::from_utf8(&body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => {
            use base64::Engine;
            (
                Value::String(base64::engine::general_purpose::STANDARD.encode(&body)),
                true,
            )
        }
    };
    let route_key = if *greedy {
        format!("ANY {route_path}{{proxy+}}")
    } else {
        format!("ANY {route_path}")
    };
    let now = jiff::Timestamp::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host").cloned().unwrap_or_else(|| "localhost".into()),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": format!("gw-{}", now.as_nanosecond()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.as_millisecond(),
        },
        "isBase64Encoded": base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query_params.is_empty() {
        event["queryStringParameters"] = json!(query_params);
    }
    if *greedy {
        event["pathParameters"] = json!({"proxy": &path[route_path.len()..]});
    }
    if !body_field.is_null() {
        event["body"] = body_field;
    }
    let (reply, answer) = oneshot::channel();
    let invocation = Invocation {
        event: event.to_string().into_bytes(),
        reply,
    };
    if f.queue.send(invocation).is_err() {
        return message(500, "Internal Server Error");
    }
    let answer = match tokio::time::timeout(INTEGRATION_TIMEOUT, answer).await {
        Ok(Ok(Ok(answer))) => answer,
        Ok(Ok(Err(error))) => {
            eprintln!("{}: invocation error: {error}", f.sam.binary);
            return message(500, "Internal Server Error");
        }
        Ok(Err(_)) => return message(500, "Internal Server Error"),
        Err(_) => return message(503, "Service Unavailable"),
    };
    lambda_answer(&answer).unwrap_or_else(|| {
        eprintln!(
            "{}: an answer API Gateway cannot use: {}",
            f.sam.binary,
            String::from_utf8_lossy(&answer)
        );
        message(500, "Internal Server Error")
    })
}

/// A function's payload-format-2.0 answer as the HTTP response API Gateway sends.
fn lambda_answer(answer: &[u8]) -> Option<HttpResponse> {
    let v: Value = serde_json::from_slice(answer).ok()?;
    let status = v["statusCode"].as_u64()? as u16;
    let mut builder = hyper::Response::builder().status(status);
    for (name, value) in v["headers"].as_object().into_iter().flatten() {
        builder = builder.header(name.as_str(), value.as_str()?);
    }
    for (name, values) in v["multiValueHeaders"].as_object().into_iter().flatten() {
        for value in values.as_array().into_iter().flatten() {
            builder = builder.header(name.as_str(), value.as_str()?);
        }
    }
    for cookie in v["cookies"].as_array().into_iter().flatten() {
        builder = builder.header("set-cookie", cookie.as_str()?);
    }
    let body = v["body"].as_str().unwrap_or("");
    let body = if v["isBase64Encoded"].as_bool() == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?
    } else {
        body.as_bytes().to_vec()
    };
    builder.body(Full::new(Bytes::from(body))).ok()
}

/// DynamoDB's size of an item (a map of attribute values in its JSON wire format): each
/// attribute's name plus its value (strings and binaries by length, numbers by digits, sets
/// and documents by their members plus a few bytes each).
pub fn item_size(item: &Value) -> u64 {
    item.as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    let Some((kind, v)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let number = |n: &Value| {
        n.as_str()
            .map_or(1, |s| s.trim_start_matches('-').len() as u64 / 2 + 1)
    };
    let binary = |b: &Value| b.as_str().map_or(0, |s| s.len() as u64 * 3 / 4);
    match kind.as_str() {
        "S" => v.as_str().map_or(0, |s| s.len() as u64),
        "N" => number(v),
        "B" => binary(v),
        "BOOL" | "NULL" => 1,
        "SS" => v
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().map_or(0, |s| s.len() as u64))
            .sum(),
        "NS" => v.as_array().into_iter().flatten().map(number).sum(),
        "BS" => v.as_array().into_iter().flatten().map(binary).sum(),
        "L" => {
            3 + v
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| 1 + value_size(e))
                .sum::<u64>()
        }
        "M" => {
            3 + v
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, e)| 1 + k.len() as u64 + value_size(e))
                .sum::<u64>()
        }
        _ => 0,
    }
}

pub fn units(bytes: u64, unit: u64) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

fn key_of(key: &Value) -> (String, String) {
    let s = |name: &str| key[name]["S"].as_str().unwrap_or("").to_owned();
    (s("pk"), s("sk"))
}

/// The actions a SAM policy template (or the template's own managed policy) allows, as the
/// SAM policy templates list them.
fn granted_by(policy: &str) -> &'static [&'static str] {
    const DYNAMO_READ: &[&str] = &[
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
    ];
    match policy {
        "DynamoDBReadPolicy" => DYNAMO_READ,
        "DynamoDBCrudPolicy" => &[
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ],
        "S3ReadPolicy" => &["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
        "S3CrudPolicy" => &[
            "s3:GetObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:PutObject",
            "s3:DeleteObject",
        ],
        "SecretsRead" => &["ssm:GetParametersByPath"],
        other => panic!("template.yaml uses policy {other}, which the local IAM does not know"),
    }
}

/// The IAM action of a request to DynamoDB, SSM or S3.
fn action_of(parts: &hyper::http::request::Parts, target: Option<&str>) -> String {
    if let Some(target) = target {
        let (service, operation) = target.split_once('.').unwrap_or((target, ""));
        let service = if service.starts_with("DynamoDB") {
            "dynamodb"
        } else {
            "ssm"
        };
        return format!("{service}:{operation}");
    }
    let object = parts.uri.path().trim_matches('/').contains('/');
    let listing = parts.uri.query().is_some_and(|q| q.contains("list-type"));
    match parts.method.as_str() {
        "GET" if listing || !object => "s3:ListBucket",
        "GET" | "HEAD" => "s3:GetObject",
        "PUT" | "POST" => "s3:PutObject",
        "DELETE" => "s3:DeleteObject",
        _ => "s3:Unknown",
    }
    .to_owned()
}

/// The meter: for one function, refuses what its policies do not allow (as IAM would), then
/// forwards every DynamoDB, SSM and S3 request to the emulator and counts it.
async fn meter_aws(
    shared: Arc<Shared>,
    f: Arc<Function>,
    req: hyper::Request<Incoming>,
) -> HttpResponse {
    let Some((parts, body)) = body_of(req).await else {
        return respond(400, &[], "unreadable body");
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let action = action_of(&parts, target.as_deref());
    if !f.allowed.contains(&action.as_str()) {
        shared
            .denied
            .lock()
            .unwrap()
            .push((f.sam.binary.clone(), action.clone()));
        let message = format!("{} is not authorized to perform: {action}", f.sam.id);
        return match target {
            Some(_) => respond(
                400,
                &[("content-type", "application/x-amz-json-1.0")],
                json!({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message})
                    .to_string(),
            ),
            None => respond(
                403,
                &[("content-type", "application/xml")],
                format!("<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"),
            ),
        };
    }
    let url = format!(
        "{}{}",
        shared.emulator_url,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut forward = shared.forward.request(parts.method.clone(), url);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(body.clone()).send().await {
        Ok(a) => a,
        Err(e) => return respond(502, &[], format!("the emulator: {e}")),
    };
    let status = answer.status().as_u16();
    let headers: Vec<(String, String)> = answer
        .headers()
        .iter()
        .filter(|(n, _)| {
            !matches!(
                n.as_str(),
                "transfer-encoding" | "connection" | "content-length"
            )
        })
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let answer_body = answer.bytes().await.unwrap_or_default();
    match target
        .as_deref()
        .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
    {
        Some(operation) => count_dynamo(&shared, operation, &body, &answer_body),
        None => count_s3(&shared, &parts, body.len() as u64),
    }
    let mut builder = hyper::Response::builder().status(status);
    for (n, v) in &headers {
        builder = builder.header(n, v);
    }
    builder.body(Full::new(answer_body)).expect("a response")
}

fn count_dynamo(shared: &Shared, operation: &str, request: &[u8], answer: &[u8]) {
    let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
    let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let consistency = |r: &Value| {
        if r["ConsistentRead"] == json!(true) {
            1.0
        } else {
            0.5
        }
    };
    let mut sizes = shared.item_sizes.lock().unwrap();
    let write = |sizes: &mut HashMap<(String, String), u64>, item: &Value| {
        let size = item_size(item);
        sizes.insert(key_of(item), size);
        units(size, 1024)
    };
    let (reads, writes) = match operation {
        "GetItem" => (
            units(item_size(&answer["Item"]), 4096) * consistency(&request),
            0.0,
        ),
        "Query" | "Scan" => {
            let bytes: u64 = answer["Items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(item_size)
                .sum();
            (units(bytes, 4096) * consistency(&request), 0.0)
        }
        "PutItem" => (0.0, write(&mut sizes, &request["Item"])),
        "DeleteItem" => {
            let key = key_of(&request["Key"]);
            (0.0, units(sizes.remove(&key).unwrap_or(1), 1024))
        }
        "UpdateItem" => {
            let key = key_of(&request["Key"]);
            (0.0, units(sizes.get(&key).copied().unwrap_or(1), 1024))
        }
        "TransactWriteItems" | "BatchWriteItem" => {
            let mut total = 0.0;
            let items: Vec<Value> = match operation {
                "TransactWriteItems" => request["TransactItems"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                _ => request["RequestItems"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .flat_map(|(_, v)| v.as_array().cloned().unwrap_or_default())
                    .collect(),
            };
            let factor = if operation == "TransactWriteItems" {
                2.0
            } else {
                1.0
            };
            for entry in items {
                let put = entry
                    .get("Put")
                    .or(entry.get("PutRequest"))
                    .map(|p| &p["Item"]);
                let written = match put {
                    Some(item) => write(&mut sizes, item),
                    None => {
                        let key = ["Delete", "DeleteRequest", "Update", "ConditionCheck"]
                            .iter()
                            .find_map(|k| entry.get(*k))
                            .map(|e| key_of(&e["Key"]))
                            .unwrap_or_default();
                        units(sizes.get(&key).copied().unwrap_or(1), 1024)
                    }
                };
                total += factor * written;
            }
            (0.0, total)
        }
        _ => (0.0, 0.0),
    };
    drop(sizes);
    if std::env::var_os("HOSTLINE_METER_LOG").is_some() {
        let key = match request.get("Key") {
            Some(key) => key_of(key),
            None => key_of(&request["Item"]),
        };
        eprintln!(
            "meter: {operation} {}|{} read units {reads}, write units {writes}",
            key.0, key.1
        );
    }
    let mut aws = shared.aws.lock().unwrap();
    *aws.dynamo_requests.entry(operation.to_owned()).or_default() += 1;
    aws.read_units += reads;
    aws.write_units += writes;
}

fn count_s3(shared: &Shared, parts: &hyper::http::request::Parts, bytes_in: u64) {
    let mut aws = shared.aws.lock().unwrap();
    let listing = parts.uri.query().is_some_and(|q| q.contains("list-type"));
    match parts.method.as_str() {
        "PUT" | "POST" | "COPY" => {
            aws.s3_class_a += 1;
            aws.s3_bytes_in += bytes_in;
        }
        "GET" if listing => aws.s3_class_a += 1,
        "GET" | "HEAD" => aws.s3_class_b += 1,
        _ => {} // DELETE is free.
    }
}
