//! `media-relay bench`: the load tool.
//!
//! Runs the relay as a child process (this same executable, `serve`) and, in this process:
//! - a fake agent that answers `Settings`, sends one "ready" frame, then echoes every audio
//!   frame back (so audio flows both ways through the relay) and timestamps arrivals;
//! - a fake functions server that serves the agent configuration and takes usage reports;
//! - N simulated Twilio clients sending 160-byte µ-law frames at real 20 ms pacing.
//!
//! The load generator must stay cheap because it shares the machine with the relay: clients
//! and fakes each run on one current-thread runtime, and one 1 ms timer drives every
//! client's sends, one twentieth of the clients per tick, so calls are spread over the 20 ms
//! period as real calls are rather than sent in one burst. Each frame carries its send time,
//! its call and its sequence number in its first 16 bytes.
//!
//! Figures: calls sustained (all flowing through the window), relay CPU per call (utime+stime
//! from `/proc/<pid>/stat` over the window ÷ wall ÷ N), relay RSS per call ((RSS at N − RSS
//! idle) ÷ N from `/proc/<pid>/status`), one-way latency Twilio→relay→agent against the same
//! path without the relay (baseline), the relay's own per-frame histogram, frames lost both
//! ways, and this tool's own CPU. The baseline also gives a CPU reference: this process's CPU
//! per frame while it only writes and reads WebSocket frames on loopback, what one relayed
//! frame's socket work costs on this machine whatever the relay does.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use hostline_shared::relay::{AgentConfig, StreamToken};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::cli::BenchArgs;

const SERVICE_TOKEN: &str = "bench-service-token";
const RELAY_KEY: &str = "bench-relay-key";
/// The relay child checks `X-Twilio-Signature` against this URL, keyed with this token.
const PUBLIC_URL: &str = "wss://bench.invalid/twilio/media";
const TWILIO_AUTH_TOKEN: &str = "bench-twilio-token";
const FRAME: usize = 160;
/// Sequence number of the agent's "ready" frame.
const READY: u32 = u32::MAX;
/// Clients are spread over this many 1 ms ticks (one 20 ms frame period).
const GROUPS: usize = 20;
/// The agent's talk cycle in caller frames (2 s): with `--agent-talk F` it echoes the first
/// `F × TALK_CYCLE` frames of each cycle and stays silent for the rest, as a turn-taking agent
/// does; caller audio flows all the time, as Twilio streams silence too.
const TALK_CYCLE: u32 = 100;

/// Raises the soft open-file limit to the hard one; returns the resulting soft limit (0 if
/// it cannot be read).
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

/// A latency histogram with 1 µs buckets up to 100 ms, shared between threads.
struct Histogram {
    /// Counts per microsecond; the last bucket holds everything at or past the span.
    buckets: Vec<AtomicU32>,
    /// The exact maximum, which the buckets cannot give.
    max_us: AtomicU64,
}

impl Histogram {
    const SPAN_US: usize = 100_000;

    fn new() -> Histogram {
        Histogram {
            buckets: (0..=Self::SPAN_US).map(|_| AtomicU32::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }

    fn observe_ns(&self, ns: u64) {
        let us = ns / 1000;
        let slot = (us as usize).min(Self::SPAN_US);
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.max_us.store(0, Ordering::Relaxed);
    }

    /// (p50, p99, max) in milliseconds; `None` when empty.
    fn summary(&self) -> Option<(f64, f64, f64)> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| u64::from(b.load(Ordering::Relaxed)))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let quantile = |q: f64| {
            let rank = ((total as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (us, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    // The bucket's upper edge: a frame in bucket k took < k+1 µs.
                    return (us + 1) as f64 / 1000.0;
                }
            }
            Self::SPAN_US as f64 / 1000.0
        };
        let max = self.max_us.load(Ordering::Relaxed) as f64 / 1000.0;
        Some((quantile(0.5), quantile(0.99), max))
    }
}

/// Counters shared by the fakes, the clients and the report.
struct Stats {
    /// Frame timestamps are nanoseconds since this instant (one clock for every thread).
    epoch: Instant,
    /// Twilio → relay → agent, one way, through the relay.
    one_way: Histogram,
    /// Client → agent directly (no relay), same pacing: the baseline.
    baseline: Histogram,
    /// Twilio → agent → Twilio through the relay (round trip).
    round_trip: Histogram,
    /// Audio frames the clients sent (after their call was flowing).
    sent: AtomicU64,
    /// Frames the agent received from calls, and echoed back.
    agent_received: AtomicU64,
    /// Echoes the agent sent back (the base of agent→caller loss).
    agent_echoed: AtomicU64,
    /// Echoes the clients received.
    echoes: AtomicU64,
    /// Agent sockets the relay opened (one per call is expected).
    agent_connections: AtomicU64,
    /// Usage reports the relay posted (one per call is expected).
    usage_reports: AtomicU64,
    /// Measuring: the agent and clients only record latencies while set.
    measuring: AtomicBool,
    /// Caller frames per [`TALK_CYCLE`] the agent echoes (`--agent-talk`).
    talk_frames: u32,
}

impl Stats {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// One simulated call's state seen by both the sender and its reader.
struct Client {
    /// The agent's "ready" frame arrived: audio may be sent (and lost frames counted).
    flowing: AtomicBool,
    /// The relay closed the call or a send failed.
    closed: AtomicBool,
    /// Echoes received, to tell sustained calls from stalled ones.
    echoes: AtomicU64,
}

fn frame_header(frame: &[u8]) -> Option<(u64, u32, u32)> {
    if frame.len() < 16 {
        return None;
    }
    let ts = u64::from_le_bytes(frame[0..8].try_into().ok()?);
    let idx = u32::from_le_bytes(frame[8..12].try_into().ok()?);
    let seq = u32::from_le_bytes(frame[12..16].try_into().ok()?);
    Some((ts, idx, seq))
}

fn write_header(frame: &mut [u8], ts: u64, idx: u32, seq: u32) {
    frame[0..8].copy_from_slice(&ts.to_le_bytes());
    frame[8..12].copy_from_slice(&idx.to_le_bytes());
    frame[12..16].copy_from_slice(&seq.to_le_bytes());
}

fn small_ws() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Starts the fake agent and the fake functions on their own thread; returns their addresses.
fn start_fakes(stats: Arc<Stats>) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    let agent = StdListener::bind("127.0.0.1:0")?;
    let functions = StdListener::bind("127.0.0.1:0")?;
    agent.set_nonblocking(true)?;
    functions.set_nonblocking(true)?;
    let addrs = (agent.local_addr()?, functions.local_addr()?);
    std::thread::Builder::new()
        .name("bench-fakes".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("bench: fakes runtime: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let (Ok(agent), Ok(functions)) = (
                    TcpListener::from_std(agent),
                    TcpListener::from_std(functions),
                ) else {
                    eprintln!("bench: cannot register the fake listeners");
                    return;
                };
                tokio::spawn(serve_functions(functions, Arc::clone(&stats)));
                loop {
                    let Ok((stream, _)) = agent.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(fake_agent(stream, Arc::clone(&stats)));
                }
            });
        })?;
    Ok(addrs)
}

/// One agent connection: from the relay (`Settings` first) or a baseline client (`Baseline`).
async fn fake_agent(stream: tokio::net::TcpStream, stats: Arc<Stats>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(small_ws())).await
    else {
        return;
    };
    let baseline = match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"Settings\"") => false,
        Some(Ok(Message::Text(t))) if t.as_str() == "Baseline" => true,
        _ => return,
    };
    if !baseline {
        stats.agent_connections.fetch_add(1, Ordering::Relaxed);
        let mut ready = vec![0xFFu8; FRAME];
        write_header(&mut ready, stats.now_ns(), 0, READY);
        let applied = ws
            .send(Message::text(r#"{"type":"SettingsApplied"}"#))
            .await;
        if applied.is_err() || ws.send(Message::Binary(Bytes::from(ready))).await.is_err() {
            return;
        }
    }
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(Message::Binary(frame)) => {
                let Some((ts, _, seq)) = frame_header(&frame) else {
                    continue;
                };
                if stats.measuring.load(Ordering::Relaxed) {
                    let latency = stats.now_ns().saturating_sub(ts);
                    if baseline {
                        stats.baseline.observe_ns(latency);
                    } else {
                        stats.one_way.observe_ns(latency);
                    }
                }
                if baseline {
                    continue;
                }
                stats.agent_received.fetch_add(1, Ordering::Relaxed);
                if seq % TALK_CYCLE >= stats.talk_frames {
                    // Listening: this part of the cycle the agent says nothing.
                    continue;
                }
                if ws.send(Message::Binary(frame)).await.is_err() {
                    break;
                }
                stats.agent_echoed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

async fn serve_functions(listener: TcpListener, stats: Arc<Stats>) {
    let config = AgentConfig {
        business_id: "bench".into(),
        business_name: "Bench Bistro".into(),
        greeting: "Thanks for calling Bench Bistro!".into(),
        prompt: "You are the phone host of Bench Bistro.".into(),
        language: "en".into(),
        keyterms: vec![],
        functions: vec![],
        transfer_to: None,
        max_call_seconds: 3600,
        tool_token: String::new(),
    };
    let config = Bytes::from(serde_json::to_vec(&config).unwrap_or_default());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (config, stats) = (config.clone(), Arc::clone(&stats));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (config, stats) = (config.clone(), Arc::clone(&stats));
                async move {
                    let path = req.uri().path();
                    let response = if path.starts_with("/internal/agent-config/") {
                        Response::new(Full::new(config))
                    } else if path == "/internal/usage" {
                        stats.usage_reports.fetch_add(1, Ordering::Relaxed);
                        let mut r = Response::new(Full::new(Bytes::new()));
                        *r.status_mut() = StatusCode::NO_CONTENT;
                        r
                    } else {
                        let mut r = Response::new(Full::new(Bytes::new()));
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        r
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The relay child process; killed if still running when dropped.
struct Relay {
    /// The relay process, measured through `/proc/<pid>`.
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
    /// Its stdout and stderr, for when something goes wrong.
    log: PathBuf,
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Relay {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn terminate(&mut self, within: Duration) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.pid())?;
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("relay exited with {status}");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("relay did not exit within {within:?} of SIGTERM")
    }
}

fn spawn_relay(
    args: &BenchArgs,
    agent: SocketAddr,
    functions: SocketAddr,
) -> anyhow::Result<Relay> {
    let bin = match &args.relay_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find this executable")?,
    };
    // A free port: bind, read, release (the relay binds it a moment later).
    let addr = StdListener::bind("127.0.0.1:0")?.local_addr()?;
    let log = std::env::temp_dir().join(format!("media-relay-bench-{}.log", std::process::id()));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(&bin)
        .arg("serve")
        .args(["--listen", &addr.to_string()])
        .args(["--agent-url", &format!("ws://{agent}/v1/agent/converse")])
        .args(["--functions-url", &format!("http://{functions}")])
        .args(["--max-calls", &(args.calls + 16).to_string()])
        .args(["--idle-timeout", "120s"])
        // Signed upgrades, as in production: the check is part of what is measured.
        .args(["--public-url", PUBLIC_URL])
        .args(&args.relay_args)
        .env("TWILIO_AUTH_TOKEN", TWILIO_AUTH_TOKEN)
        .env("HOSTLINE_SERVICE_TOKEN", SERVICE_TOKEN)
        .env("HOSTLINE_RELAY_KEY", RELAY_KEY)
        .env("DEEPGRAM_API_KEY", "bench")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    Ok(Relay { child, addr, log })
}

/// GET of one of the relay's own endpoints (`/healthz`, `/metrics`): the body of a 200.
fn http_get(
    http: &reqwest::blocking::Client,
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<String> {
    let response = http.get(format!("http://{addr}{path}")).send()?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("GET {path}: HTTP {status}");
    }
    Ok(response.text()?)
}

/// CPU time of a process, seconds: (user, kernel).
fn cpu_seconds(pid: &str) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start at ") ".
    let rest = stat
        .rsplit_once(") ")
        .map(|(_, r)| r)
        .context("bad /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line: 12 and 13 after the name.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if ticks > 0 { ticks as f64 } else { 100.0 };
    Ok((utime / hz, stime / hz))
}

/// Resident set size, bytes.
fn rss_bytes(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .context("bad VmRSS")?
        .parse()?;
    Ok(kb * 1024)
}

/// The relay's own per-frame latency histogram from `/metrics`: (p50, p99) upper bounds, ms.
fn relay_histogram(metrics: &str) -> Option<(f64, f64)> {
    let mut buckets: Vec<(f64, u64)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("relay_latency_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let q = |q: f64| {
        let rank = (total as f64 * q).ceil() as u64;
        buckets
            .iter()
            .find(|(_, n)| *n >= rank)
            .map(|(le, _)| le * 1000.0)
    };
    Some((q(0.5)?, q(0.99)?))
}

fn metric_value(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The upgrade request Twilio would make: `X-Twilio-Signature` over [`PUBLIC_URL`].
fn signed_request(
    url: &str,
) -> anyhow::Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = url.into_client_request()?;
    let signature = hostline_shared::twilio::expected_signature(
        TWILIO_AUTH_TOKEN,
        PUBLIC_URL,
        &hostline_shared::twilio::Form::default(),
    );
    request
        .headers_mut()
        .insert("x-twilio-signature", signature.parse()?);
    Ok(request)
}

/// The Twilio side: connects the calls, paces the audio, reads the echoes.
async fn drive_clients(
    relay: SocketAddr,
    calls: usize,
    ramp: usize,
    stats: Arc<Stats>,
    phase: Arc<AtomicU32>,
    clients: Arc<Vec<Client>>,
) -> anyhow::Result<()> {
    type Sink = futures::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Message,
    >;
    let mut sinks: Vec<Option<Sink>> = (0..calls).map(|_| None).collect();
    let mut seqs = vec![0u32; calls];
    let url = format!("ws://{relay}/twilio/media");
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut ticks: usize = 0;
    let mut connected = 0usize;
    let ramp_started = Instant::now();
    let mut frame = vec![0xFFu8; FRAME];
    let mut text = String::with_capacity(512);
    let mut b64 = String::with_capacity(256);
    let key = RELAY_KEY.as_bytes();
    loop {
        tick.tick().await;
        ticks += 1;
        // Phase 2: stop sending (the measurement is over).
        if phase.load(Ordering::Relaxed) >= 2 {
            break;
        }
        // Ramp: start the calls due by now.
        let due = ((ramp_started.elapsed().as_secs_f64() * ramp as f64) as usize + 1).min(calls);
        while connected < due {
            let i = connected;
            connected += 1;
            let call_sid = format!("CA{i:032x}");
            let stream_sid = format!("MZ{i:032x}");
            let expires = jiff::Timestamp::now().as_second() + 3600;
            let token = StreamToken {
                business_id: "bench".into(),
                line: "+15550100000".into(),
                call_sid: call_sid.clone(),
                account_sid: "AC00000000000000000000000000000000".into(),
                expires_at: expires,
            }
            .sign(key)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
            let (ws, _) = match tokio_tungstenite::connect_async_with_config(
                signed_request(&url)?,
                Some(small_ws()),
                true,
            )
            .await
            {
                Ok(ok) => ok,
                Err(e) => {
                    eprintln!("bench: call {i} could not connect: {e}");
                    clients[i].closed.store(true, Ordering::Relaxed);
                    continue;
                }
            };
            let (mut sink, mut stream) = ws.split();
            let start = serde_json::json!({
                "event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
                "start": {"accountSid": "AC00000000000000000000000000000000", "streamSid": stream_sid,
                    "callSid": call_sid, "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {"token": token}},
            });
            let hello = sink
                .send(Message::text(
                    r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#,
                ))
                .await;
            if hello.is_err() || sink.send(Message::text(start.to_string())).await.is_err() {
                clients[i].closed.store(true, Ordering::Relaxed);
                continue;
            }
            sinks[i] = Some(sink);
            let (clients, stats) = (Arc::clone(&clients), Arc::clone(&stats));
            tokio::spawn(async move {
                let client = &clients[i];
                while let Some(msg) = stream.next().await {
                    match msg {
                        Ok(Message::Text(t)) => {
                            let Some(header) = payload_header(&t) else {
                                continue;
                            };
                            if header.2 == READY {
                                client.flowing.store(true, Ordering::Relaxed);
                                continue;
                            }
                            if stats.measuring.load(Ordering::Relaxed) {
                                stats
                                    .round_trip
                                    .observe_ns(stats.now_ns().saturating_sub(header.0));
                            }
                            client.echoes.fetch_add(1, Ordering::Relaxed);
                            stats.echoes.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                client.closed.store(true, Ordering::Relaxed);
            });
        }
        // Audio: this tick's group of flowing calls, one frame each.
        let group = ticks % GROUPS;
        for i in (group..calls).step_by(GROUPS) {
            if !clients[i].flowing.load(Ordering::Relaxed)
                || clients[i].closed.load(Ordering::Relaxed)
            {
                continue;
            }
            let Some(sink) = sinks[i].as_mut() else {
                continue;
            };
            seqs[i] += 1;
            write_header(&mut frame, stats.now_ns(), i as u32, seqs[i]);
            b64.clear();
            STANDARD.encode_string(&frame, &mut b64);
            text.clear();
            use std::fmt::Write as _;
            let _ = write!(
                text,
                r#"{{"event":"media","sequenceNumber":"{seq}","media":{{"track":"inbound","chunk":"{seq}","timestamp":"{ts}","payload":"{b64}"}},"streamSid":"MZ{i:032x}"}}"#,
                seq = seqs[i],
                ts = u64::from(seqs[i]) * 20,
            );
            if sink.send(Message::text(text.clone())).await.is_err() {
                clients[i].closed.store(true, Ordering::Relaxed);
                continue;
            }
            stats.sent.fetch_add(1, Ordering::Relaxed);
        }
        if phase.load(Ordering::Relaxed) == 0 && connected == calls {
            let flowing = clients
                .iter()
                .filter(|c| c.flowing.load(Ordering::Relaxed))
                .count();
            let closed = clients
                .iter()
                .filter(|c| c.closed.load(Ordering::Relaxed))
                .count();
            if flowing + closed >= calls {
                phase.store(1, Ordering::Relaxed);
            }
        }
    }
    // Let the last echoes land (the readers run while this sleeps), then hang up every call:
    // `stop`, then close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, sink) in sinks.iter_mut().enumerate() {
        if let Some(sink) = sink.as_mut() {
            let stop = format!(
                r#"{{"event":"stop","sequenceNumber":"{}","stop":{{"accountSid":"AC00000000000000000000000000000000","callSid":"CA{i:032x}"}},"streamSid":"MZ{i:032x}"}}"#,
                seqs[i] + 1
            );
            let _ = sink.send(Message::text(stop)).await;
            let _ = sink.close().await;
        }
    }
    Ok(())
}

/// The 16-byte header of a Twilio `media` frame's payload, without parsing the JSON.
fn payload_header(text: &str) -> Option<(u64, u32, u32)> {
    let at = text.find("\"payload\":\"")? + "\"payload\":\"".len();
    // 24 base64 characters = 18 bytes, which cover the header.
    let chunk = text.get(at..at + 24)?;
    let mut out = [0u8; 18];
    STANDARD.decode_slice(chunk, &mut out).ok()?;
    frame_header(&out)
}

/// Direct client → agent connections at the same pacing, no relay: the path's own latency.
/// Returns the frames sent while measuring.
async fn baseline(
    agent: SocketAddr,
    calls: usize,
    seconds: u64,
    stats: Arc<Stats>,
) -> anyhow::Result<u64> {
    let url = format!("ws://{agent}/baseline");
    let mut sinks = Vec::with_capacity(calls);
    for _ in 0..calls {
        let (mut ws, _) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(small_ws()), true)
                .await?;
        ws.send(Message::text("Baseline")).await?;
        sinks.push(ws);
    }
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut ticks = 0usize;
    let mut frame = vec![0xFFu8; FRAME];
    let mut sent = 0u64;
    while Instant::now() < until {
        tick.tick().await;
        ticks += 1;
        for i in ((ticks % GROUPS)..calls).step_by(GROUPS) {
            write_header(&mut frame, stats.now_ns(), i as u32, 1);
            sinks[i]
                .send(Message::Binary(Bytes::copy_from_slice(&frame)))
                .await?;
            sent += 1;
        }
    }
    for mut ws in sinks {
        let _ = ws.close(None).await;
    }
    Ok(sent)
}

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn fmt_ms(v: Option<(f64, f64, f64)>) -> String {
    // Quantiles in the histogram's overflow bucket are only known to be past its span.
    let q = |ms: f64| {
        if ms > Histogram::SPAN_US as f64 / 1000.0 {
            format!("> {} ms", Histogram::SPAN_US / 1000)
        } else {
            format!("{ms:.3} ms")
        }
    };
    match v {
        Some((p50, p99, max)) => format!("p50 {}  p99 {}  max {max:.3} ms", q(p50), q(p99)),
        None => "no samples".into(),
    }
}

/// Runs the benchmark and prints the report: the baseline without the relay, then the relay
/// child with N paced calls through it, one measurement window, the hang-up, the figures.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let talk_frames = talk_frames(&args)?;
    raise_fd_limit();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let stats = Arc::new(Stats::new(talk_frames));
    let (agent, functions) = start_fakes(Arc::clone(&stats))?;
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let floor_us = measure_baseline(&args, agent, &stats)?;
    let (mut relay, rss_idle) = start_relay(&args, agent, functions, &http)?;
    let calls = Calls::start(&args, relay.addr, &stats)?;
    calls.wait_until_flowing(&args);
    std::thread::sleep(Duration::from_secs(args.warmup));
    let window = Window::measure(&args, &relay, &http, &stats, &calls)?;
    let rss_after = calls.hang_up(&relay, &http)?;
    relay.terminate(Duration::from_secs(20))?;
    let report = Report {
        args: &args,
        command,
        talk_frames,
        floor_us,
        rss_idle,
        rss_after,
        window,
        stats: &stats,
        relay_log: relay.log.clone(),
    };
    report.print(&mut std::io::stdout().lock())
}

/// `--agent-talk` as frames of each [`TALK_CYCLE`], checked with `--calls` and `--seconds`.
fn talk_frames(args: &BenchArgs) -> anyhow::Result<u32> {
    if args.calls == 0 || args.seconds == 0 {
        bail!("--calls and --seconds must be at least 1");
    }
    let talk_frames = (args.agent_talk * f64::from(TALK_CYCLE)).round();
    if !(1.0..=f64::from(TALK_CYCLE)).contains(&talk_frames) {
        bail!(
            "--agent-talk must be between {} and 1 (the share of the time the agent speaks)",
            1.0 / f64::from(TALK_CYCLE)
        );
    }
    Ok(talk_frames as u32)
}

impl Stats {
    fn new(talk_frames: u32) -> Stats {
        Stats {
            epoch: Instant::now(),
            one_way: Histogram::new(),
            baseline: Histogram::new(),
            round_trip: Histogram::new(),
            sent: AtomicU64::new(0),
            agent_received: AtomicU64::new(0),
            agent_echoed: AtomicU64::new(0),
            echoes: AtomicU64::new(0),
            agent_connections: AtomicU64::new(0),
            usage_reports: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
            talk_frames,
        }
    }
}

/// The baseline, before the relay exists, at the same N and pacing. Returns this process's CPU
/// per frame in it, µs: one WebSocket frame written by a client and read by the fake agent,
/// over loopback, with nothing else to do. A relay pays one read and one write per relayed
/// frame too, so this is the floor it is compared with.
fn measure_baseline(
    args: &BenchArgs,
    agent: SocketAddr,
    stats: &Arc<Stats>,
) -> anyhow::Result<f64> {
    let baseline_seconds = args.seconds.clamp(1, 5);
    eprintln!(
        "bench: baseline (no relay): {} connections for {baseline_seconds} s",
        args.calls
    );
    let self_pid = std::process::id().to_string();
    stats.measuring.store(true, Ordering::Relaxed);
    let cpu0 = cpu_seconds(&self_pid)?;
    let frames = current_thread()?.block_on(baseline(
        agent,
        args.calls,
        baseline_seconds,
        Arc::clone(stats),
    ))?;
    let cpu1 = cpu_seconds(&self_pid)?;
    stats.measuring.store(false, Ordering::Relaxed);
    Ok(((cpu1.0 + cpu1.1) - (cpu0.0 + cpu0.1)) / frames.max(1) as f64 * 1e6)
}

/// Starts the relay child and waits for its `/healthz`; returns it and its idle RSS.
fn start_relay(
    args: &BenchArgs,
    agent: SocketAddr,
    functions: SocketAddr,
    http: &reqwest::blocking::Client,
) -> anyhow::Result<(Relay, u64)> {
    let mut relay = spawn_relay(args, agent, functions)?;
    let pid = relay.pid().to_string();
    let ready_by = Instant::now() + Duration::from_secs(10);
    while http_get(http, relay.addr, "/healthz").is_err() {
        if Instant::now() > ready_by {
            bail!("relay not ready after 10 s; log: {}", relay.log.display());
        }
        if let Some(status) = relay.child.try_wait()? {
            bail!("relay exited with {status}; log: {}", relay.log.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_bytes(&pid)?;
    eprintln!(
        "bench: relay pid {pid} ready on {}, idle RSS {:.1} MB",
        relay.addr,
        rss_idle as f64 / 1e6
    );
    Ok((relay, rss_idle))
}

/// The simulated calls, driven on their own thread while this one measures.
struct Calls {
    /// 0 ramping, 1 all flowing, 2 stop.
    phase: Arc<AtomicU32>,
    clients: Arc<Vec<Client>>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Calls {
    fn start(args: &BenchArgs, relay: SocketAddr, stats: &Arc<Stats>) -> anyhow::Result<Calls> {
        let phase = Arc::new(AtomicU32::new(0));
        let clients: Arc<Vec<Client>> = Arc::new(
            (0..args.calls)
                .map(|_| Client {
                    flowing: AtomicBool::new(false),
                    closed: AtomicBool::new(false),
                    echoes: AtomicU64::new(0),
                })
                .collect(),
        );
        let thread = {
            let (stats, phase, clients) =
                (Arc::clone(stats), Arc::clone(&phase), Arc::clone(&clients));
            let (calls, ramp) = (args.calls, args.ramp.max(1));
            std::thread::Builder::new()
                .name("bench-clients".into())
                .spawn(move || {
                    current_thread()?
                        .block_on(drive_clients(relay, calls, ramp, stats, phase, clients))
                })?
        };
        Ok(Calls {
            phase,
            clients,
            thread,
        })
    }

    /// Waits until every call flows (or the ramp's time is up: then measures anyway).
    fn wait_until_flowing(&self, args: &BenchArgs) {
        let ramp_limit = Duration::from_secs_f64(args.calls as f64 / args.ramp.max(1) as f64)
            + Duration::from_secs(30);
        let ramp_start = Instant::now();
        while self.phase.load(Ordering::Relaxed) == 0 {
            if ramp_start.elapsed() > ramp_limit {
                self.phase.store(1, Ordering::Relaxed);
                eprintln!(
                    "bench: not every call was flowing after {ramp_limit:?}; measuring anyway"
                );
                break;
            }
            if self.thread.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "bench: calls up after {:.1} s; warm-up {} s",
            ramp_start.elapsed().as_secs_f64(),
            args.warmup
        );
    }

    /// Stops sending, lets in-flight frames land, hangs up, waits for the relay to have no
    /// call left; returns the relay's RSS after.
    fn hang_up(self, relay: &Relay, http: &reqwest::blocking::Client) -> anyhow::Result<u64> {
        self.phase.store(2, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
        std::thread::sleep(Duration::from_secs(1));
        let ended_by = Instant::now() + Duration::from_secs(15);
        while Instant::now() < ended_by {
            let metrics = http_get(http, relay.addr, "/metrics").unwrap_or_default();
            if metric_value(&metrics, "relay_calls_active") == Some(0.0) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
        rss_bytes(&relay.pid().to_string())
    }
}

/// What one measurement window saw.
struct Window {
    elapsed: f64,
    relay_user: f64,
    relay_kernel: f64,
    self_cpu: f64,
    load0: String,
    load1: String,
    /// Frames sent by the clients in the window.
    sent: u64,
    /// Frames relayed either way in the window.
    relayed: u64,
    rss_loaded: u64,
    active: f64,
    sustained: usize,
    flowing: usize,
    /// The relay's per-frame histogram over the window: (p50, p99) ms.
    internal: Option<(f64, f64)>,
}

impl Window {
    fn measure(
        args: &BenchArgs,
        relay: &Relay,
        http: &reqwest::blocking::Client,
        stats: &Stats,
        calls: &Calls,
    ) -> anyhow::Result<Window> {
        let (pid, self_pid) = (relay.pid().to_string(), std::process::id().to_string());
        stats.one_way.reset();
        stats.round_trip.reset();
        let wall = Instant::now();
        let relay_cpu0 = cpu_seconds(&pid)?;
        let self_cpu0 = cpu_seconds(&self_pid)?;
        let metrics0 = http_get(http, relay.addr, "/metrics").unwrap_or_default();
        let load0 = loadavg();
        let counts0 = (
            stats.sent.load(Ordering::Relaxed),
            stats.agent_received.load(Ordering::Relaxed),
            stats.echoes.load(Ordering::Relaxed),
        );
        let echoes0: Vec<u64> = calls
            .clients
            .iter()
            .map(|c| c.echoes.load(Ordering::Relaxed))
            .collect();
        stats.measuring.store(true, Ordering::Relaxed);
        eprintln!("bench: measuring for {} s", args.seconds);
        std::thread::sleep(Duration::from_secs(args.seconds));
        stats.measuring.store(false, Ordering::Relaxed);
        let relay_cpu1 = cpu_seconds(&pid)?;
        let self_cpu1 = cpu_seconds(&self_pid)?;
        let elapsed = wall.elapsed().as_secs_f64();
        let load1 = loadavg();
        let sent = stats.sent.load(Ordering::Relaxed) - counts0.0;
        let relayed = (stats.agent_received.load(Ordering::Relaxed) - counts0.1)
            + (stats.echoes.load(Ordering::Relaxed) - counts0.2);
        let rss_loaded = rss_bytes(&pid)?;
        let metrics1 = http_get(http, relay.addr, "/metrics").unwrap_or_default();
        // Sustained: connected, flowing, not closed, and echoing all through the window.
        let sustained = calls
            .clients
            .iter()
            .zip(&echoes0)
            .filter(|(c, before)| {
                c.flowing.load(Ordering::Relaxed)
                    && !c.closed.load(Ordering::Relaxed)
                    && c.echoes.load(Ordering::Relaxed) > **before
            })
            .count();
        let flowing = calls
            .clients
            .iter()
            .filter(|c| c.flowing.load(Ordering::Relaxed))
            .count();
        Ok(Window {
            elapsed,
            relay_user: relay_cpu1.0 - relay_cpu0.0,
            relay_kernel: relay_cpu1.1 - relay_cpu0.1,
            self_cpu: (self_cpu1.0 + self_cpu1.1) - (self_cpu0.0 + self_cpu0.1),
            load0,
            load1,
            sent,
            relayed,
            rss_loaded,
            active: metric_value(&metrics1, "relay_calls_active").unwrap_or(0.0),
            sustained,
            flowing,
            // The window's share of the relay's histogram: end minus start, bucket by bucket.
            internal: relay_histogram(&diff_histogram(&metrics0, &metrics1)),
        })
    }
}

/// Everything the report prints.
struct Report<'a> {
    args: &'a BenchArgs,
    command: String,
    talk_frames: u32,
    floor_us: f64,
    rss_idle: u64,
    rss_after: u64,
    window: Window,
    stats: &'a Stats,
    relay_log: PathBuf,
}

impl Report<'_> {
    fn print(&self, out: &mut impl std::io::Write) -> anyhow::Result<()> {
        let (args, w, stats) = (self.args, &self.window, self.stats);
        let (talk_frames, floor_us, elapsed) = (self.talk_frames, self.floor_us, w.elapsed);
        let (relay_user, relay_kernel, self_cpu) = (w.relay_user, w.relay_kernel, w.self_cpu);
        let (sustained, flowing, active) = (w.sustained, w.flowing, w.active);
        let (rss_idle, rss_loaded, rss_after) = (self.rss_idle, w.rss_loaded, self.rss_after);
        let (window_sent, window_relayed, internal) = (w.sent, w.relayed, w.internal);
        let (load0, load1, command) = (&w.load0, &w.load1, &self.command);
        // Frames each call relays per second: the caller's 50, and the agent's share of 50 back.
        let frames_per_call = 50.0 * (1.0 + f64::from(talk_frames) / f64::from(TALK_CYCLE));
        let relay_cpu = relay_user + relay_kernel;
        let n = args.calls as f64;
        let sent = stats.sent.load(Ordering::Relaxed);
        let received = stats.agent_received.load(Ordering::Relaxed);
        let echoed = stats.agent_echoed.load(Ordering::Relaxed);
        let echoes = stats.echoes.load(Ordering::Relaxed);
        let relay_core = relay_cpu / elapsed;
        let per_call_pct = relay_core / n * 100.0;
        let rss_per_call = rss_loaded.saturating_sub(rss_idle) as f64 / n;
        let one_way = stats.one_way.summary();
        let base = stats.baseline.summary();
        let rtt = stats.round_trip.summary();
        let usage = stats.usage_reports.load(Ordering::Relaxed);
        writeln!(
            out,
            "media-relay bench: {} calls, {:.0} s window, {} cores",
            args.calls,
            elapsed,
            num_cpus()
        )?;
        writeln!(out, "  command                 {command}")?;
        writeln!(
            out,
            "  machine load            {load0} at the start, {load1} at the end (load average; others share these cores)"
        )?;
        let rate = window_sent as f64 / elapsed / n;
        writeln!(
            out,
            "  caller frame rate       {rate:.1} frames/s per call (target 50; lower means this machine could not keep pace)"
        )?;
        writeln!(
            out,
            "  agent talks             {:.0} % of the time (echoes {talk_frames} of every {TALK_CYCLE} caller frames; --agent-talk)",
            f64::from(talk_frames) * 100.0 / f64::from(TALK_CYCLE)
        )?;
        writeln!(
            out,
            "  calls sustained         {sustained} / {} (flowing {flowing}, relay active {active})",
            args.calls
        )?;
        writeln!(
            out,
            "  relay CPU per call      {per_call_pct:.4} % of a core (total {:.1} % of a core)",
            relay_core * 100.0
        )?;
        writeln!(
            out,
            "                          user {:.4} % + kernel {:.4} % (loopback: the kernel part includes the peers' TCP receive work)",
            relay_user / elapsed / n * 100.0,
            relay_kernel / elapsed / n * 100.0
        )?;
        if window_relayed > 0 {
            let per_frame_us = relay_cpu / window_relayed as f64 * 1e6;
            writeln!(
                out,
                "                          {per_frame_us:.1} µs per relayed frame → {:.4} % of a core per call at {frames_per_call:.0} frames/s",
                per_frame_us * frames_per_call / 1e6 * 100.0
            )?;
            writeln!(
                out,
                "  loopback reference      {floor_us:.1} µs per frame = {:.4} % per call at {frames_per_call:.0} frames/s; relay / reference = {:.2}",
                floor_us * frames_per_call / 1e6 * 100.0,
                per_frame_us / floor_us.max(f64::MIN_POSITIVE)
            )?;
            writeln!(
                out,
                "                          (this tool's own CPU per frame in the baseline: one WebSocket frame written and read on loopback, no relay)"
            )?;
        }
        writeln!(
            out,
            "  relay RSS per call      {:.1} KB (idle {:.1} MB, at {} calls {:.1} MB, after hang-up {:.1} MB)",
            rss_per_call / 1024.0,
            rss_idle as f64 / 1048576.0,
            args.calls,
            rss_loaded as f64 / 1048576.0,
            rss_after as f64 / 1048576.0
        )?;
        writeln!(
            out,
            "  one way via relay       {}   (Twilio client → relay → agent)",
            fmt_ms(one_way)
        )?;
        writeln!(
            out,
            "  one way, no relay       {}   (client → agent, same pacing: baseline)",
            fmt_ms(base)
        )?;
        let span_ms = Histogram::SPAN_US as f64 / 1000.0;
        if let (Some(a), Some(b)) = (one_way, base) {
            if a.1 <= span_ms {
                writeln!(
                    out,
                    "  added by the relay      p50 {:.3} ms  p99 {:.3} ms   (via relay minus baseline, per quantile)",
                    a.0 - b.0,
                    a.1 - b.1
                )?;
            } else {
                writeln!(
                    out,
                    "  added by the relay      p50 {:.3} ms  p99 > {span_ms} ms   (queueing: the machine is saturated)",
                    a.0 - b.0
                )?;
            }
        }
        if let Some((p50, p99)) = internal {
            writeln!(
                out,
                "  relay per frame         p50 <= {p50:.3} ms  p99 <= {p99:.3} ms   (relay's own histogram: read → written)"
            )?;
        }
        writeln!(
            out,
            "  round trip             {}   (Twilio → agent echo → Twilio)",
            fmt_ms(rtt)
        )?;
        writeln!(
            out,
            "  frames lost             caller→agent {} of {sent}; agent→caller {} of {echoed}",
            sent.saturating_sub(received),
            echoed.saturating_sub(echoes)
        )?;
        writeln!(
            out,
            "  bench CPU               {:.1} % of a core (clients, fake agent, fake functions)",
            self_cpu / elapsed * 100.0
        )?;
        writeln!(
            out,
            "  agent connections       {}; usage reports {usage}; relay log {}",
            stats.agent_connections.load(Ordering::Relaxed),
            self.relay_log.display()
        )?;
        let mut json = BTreeMap::new();
        json.insert("calls", serde_json::json!(args.calls));
        json.insert("seconds", serde_json::json!(elapsed));
        json.insert("sustained", serde_json::json!(sustained));
        json.insert("relay_cpu_pct_per_call", serde_json::json!(per_call_pct));
        json.insert(
            "relay_user_cpu_pct_per_call",
            serde_json::json!(relay_user / elapsed / n * 100.0),
        );
        json.insert(
            "relay_rss_kb_per_call",
            serde_json::json!(rss_per_call / 1024.0),
        );
        json.insert(
            "one_way_ms",
            serde_json::json!(one_way.map(|v| [v.0, v.1, v.2])),
        );
        json.insert(
            "baseline_ms",
            serde_json::json!(base.map(|v| [v.0, v.1, v.2])),
        );
        json.insert("frames_sent", serde_json::json!(sent));
        json.insert("caller_fps_per_call", serde_json::json!(rate));
        json.insert(
            "relay_us_per_frame",
            serde_json::json!(relay_cpu / window_relayed.max(1) as f64 * 1e6),
        );
        json.insert("floor_us_per_frame", serde_json::json!(floor_us));
        json.insert(
            "agent_talk",
            serde_json::json!(f64::from(talk_frames) / f64::from(TALK_CYCLE)),
        );
        json.insert(
            "frames_lost_in",
            serde_json::json!(sent.saturating_sub(received)),
        );
        json.insert(
            "frames_lost_out",
            serde_json::json!(echoed.saturating_sub(echoes)),
        );
        json.insert(
            "bench_cpu_pct",
            serde_json::json!(self_cpu / elapsed * 100.0),
        );
        writeln!(out, "{}", serde_json::to_string(&json)?)?;
        Ok(())
    }
}

/// `relay_latency_seconds_bucket` lines with the counts of `after` minus `before`.
fn diff_histogram(before: &str, after: &str) -> String {
    let counts = |text: &str| -> BTreeMap<String, u64> {
        text.lines()
            .filter(|l| l.starts_with("relay_latency_seconds_bucket"))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect()
    };
    let (b, a) = (counts(before), counts(after));
    a.iter()
        .map(|(name, n)| format!("{name} {}\n", n.saturating_sub(*b.get(name).unwrap_or(&0))))
        .collect()
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles() {
        let h = Histogram::new();
        assert!(h.summary().is_none());
        for us in 0..100u64 {
            h.observe_ns(us * 1000 + 500);
        }
        h.observe_ns(5_000_000);
        let (p50, p99, max) = h.summary().unwrap();
        // Upper bucket edges: the 51st of 101 samples took 50.5 µs, the 100th 99.5 µs.
        assert_eq!(p50, 0.051);
        assert_eq!(p99, 0.100);
        assert_eq!(max, 5.0);
    }

    #[test]
    fn payload_headers_survive_the_twilio_frame() {
        let mut frame = vec![0xFFu8; FRAME];
        write_header(&mut frame, 123_456_789, 7, 42);
        let writer = crate::twilio::Writer::new("MZ1");
        let text = writer.media(&mut bytes::BytesMut::new(), &frame);
        assert_eq!(payload_header(&text), Some((123_456_789, 7, 42)));
    }

    #[test]
    fn relay_histogram_from_metrics() {
        let before = "relay_latency_seconds_bucket{le=\"0.00001\"} 1\nrelay_latency_seconds_bucket{le=\"0.001\"} 1\nrelay_latency_seconds_bucket{le=\"+Inf\"} 1\n";
        let after = "relay_latency_seconds_bucket{le=\"0.00001\"} 51\nrelay_latency_seconds_bucket{le=\"0.001\"} 100\nrelay_latency_seconds_bucket{le=\"+Inf\"} 101\n";
        let (p50, p99) = relay_histogram(&diff_histogram(before, after)).unwrap();
        assert!((p50 - 0.01).abs() < 1e-9, "{p50}");
        assert!((p99 - 1.0).abs() < 1e-9, "{p99}");
    }
}
