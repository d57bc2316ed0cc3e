//! Test doubles on 127.0.0.1:0 — a fake Twilio Media Streams client, a fake voice agent, a fake
//! function collection that is also a fake Twilio REST API — and the relay started in-process
//! against them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use hostline_shared::relay::{AgentConfig, AgentFunction, StreamToken};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use media_relay::{Config, RunningRelay, Secrets};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{
    Request as WsRequest, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const SERVICE_TOKEN: &str = "test-service-token";
pub const RELAY_KEY: &[u8] = b"test-relay-key";
pub const DEEPGRAM_KEY: &str = "test-deepgram-key";
pub const TWILIO_SID: &str = "AC00000000000000000000000000000000";
/// What the fake Twilio's `start` frames name as their account: not the token's, so tests show
/// the relay's REST calls use the account from the verified token only.
pub const START_ACCOUNT_SID: &str = "ACdeadbeefdeadbeefdeadbeefdeadbeef";
/// The tool credential the fake functions hand out in the agent configuration.
pub const TOOL_TOKEN: &str = "t1.test-tool-credential.sig";
pub const TWILIO_TOKEN: &str = "test-twilio-token";
pub const CALL_SID: &str = "CA11111111111111111111111111111111";
pub const STREAM_SID: &str = "MZ22222222222222222222222222222222";
pub const BUSINESS: &str = "demo-boba";
pub const LINE: &str = "+14155550188";
pub const STAFF: &str = "+14155550100";
/// The `wss://` URL Twilio would stream to: upgrades are signed over it.
pub const PUBLIC_URL: &str = "wss://relay.example.test/twilio/media";

/// One 20 ms frame of µ-law silence.
pub const SILENCE: [u8; 160] = [0xFF; 160];

/// How long any single expectation may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A token for `call_sid`, valid for `ttl` seconds (negative: already expired).
pub fn token_for(business: &str, call_sid: &str, ttl: i64, key: &[u8]) -> String {
    StreamToken {
        business_id: business.into(),
        line: LINE.into(),
        call_sid: call_sid.into(),
        account_sid: TWILIO_SID.into(),
        expires_at: now() + ttl,
    }
    .sign(key)
    .expect("sign")
}

pub fn token() -> String {
    token_for(BUSINESS, CALL_SID, 120, RELAY_KEY)
}

pub fn agent_config(transfer_to: Option<&str>) -> AgentConfig {
    AgentConfig {
        business_id: BUSINESS.into(),
        business_name: "Demo Boba".into(),
        greeting: "Thanks for calling Demo Boba! How can I help?".into(),
        prompt: "You are the phone host of Demo Boba. Keep answers short.".into(),
        language: "en".into(),
        keyterms: vec!["taro".into(), "boba".into()],
        functions: vec![
            AgentFunction {
                name: "get_menu_info".into(),
                description: "Look up menu items".into(),
                parameters: json!({"type":"object","properties":{"query":{"type":"string"}}}),
                path: "/vapi/knowledge-base".into(),
            },
            AgentFunction {
                name: "get_hours_info".into(),
                description: "Opening hours".into(),
                parameters: json!({"type":"object","properties":{"day":{"type":"string"}}}),
                path: "/vapi/knowledge-base".into(),
            },
        ],
        transfer_to: transfer_to.map(str::to_owned),
        max_call_seconds: 900,
        tool_token: TOOL_TOKEN.into(),
    }
}

/// A request the fake functions received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    /// `x-hostline-stream-token`.
    pub stream_token: Option<String>,
    /// `x-hostline-tool-token`.
    pub tool_token: Option<String>,
    pub body: String,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `Twiml` of a Twilio REST call update (its only form field).
    pub fn twiml(&self) -> String {
        let form: Vec<(String, String)> = form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(form.len(), 1, "{form:?}");
        assert_eq!(form[0].0, "Twiml");
        form[0].1.clone()
    }
}

/// Behaviour and record of the fake functions (and fake Twilio REST).
#[derive(Default)]
pub struct FunctionsState {
    pub configs: HashMap<String, AgentConfig>,
    /// How long tool calls take.
    pub tool_delay: Duration,
    /// HTTP status of the Twilio REST fake.
    pub twilio_status: Option<u16>,
    /// Answer agent-config with this status instead (409: another stream has the call).
    pub agent_config_status: Option<u16>,
    /// Answer this many usage reports with 503 before accepting one.
    pub usage_failures: usize,
    pub requests: Vec<Seen>,
}

/// Fake function collection + Twilio REST on one port.
#[derive(Clone)]
pub struct FakeFunctions {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FunctionsState>>,
}

impl FakeFunctions {
    pub async fn start(config: AgentConfig) -> FakeFunctions {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut state = FunctionsState::default();
        state.configs.insert(config.business_id.clone(), config);
        let state = Arc::new(Mutex::new(state));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let state = Arc::clone(&state);
                        async move {
                            Ok::<_, std::convert::Infallible>(functions_answer(req, state).await)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeFunctions { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_tool_delay(&self, d: Duration) {
        self.state.lock().unwrap().tool_delay = d;
    }

    pub fn requests(&self, path_prefix: &str) -> Vec<Seen> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// Waits for a request under `path_prefix` and returns the first.
    pub async fn wait_for(&self, path_prefix: &str) -> Seen {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(seen) = self.requests(path_prefix).into_iter().next() {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no request to {path_prefix} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The usage report (waits for it).
    pub async fn usage(&self) -> Value {
        self.wait_for("/internal/usage").await.json()
    }
}

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn functions_answer(
    req: Request<Incoming>,
    state: Arc<Mutex<FunctionsState>>,
) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let stream_token = header("x-hostline-stream-token");
    let tool_token = header("x-hostline-tool-token");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let (delay, config, twilio_status, config_status, usage_fails) = {
        let mut s = state.lock().unwrap();
        s.requests.push(Seen {
            method: method.clone(),
            path: path.clone(),
            authorization: authorization.clone(),
            stream_token: stream_token.clone(),
            tool_token: tool_token.clone(),
            body: body.clone(),
        });
        let business = path.strip_prefix("/internal/agent-config/").unwrap_or("");
        let usage_fails = path == "/internal/usage" && s.usage_failures > 0;
        if usage_fails {
            s.usage_failures -= 1;
        }
        (
            s.tool_delay,
            s.configs.get(business).cloned(),
            s.twilio_status,
            s.agent_config_status,
            usage_fails,
        )
    };
    if path.starts_with("/2010-04-01/") {
        let status = twilio_status.unwrap_or(200);
        return respond(
            StatusCode::from_u16(status).unwrap(),
            r#"{"sid":"CA","status":"in-progress"}"#,
        );
    }
    if path.starts_with("/vapi/") {
        // The tool endpoints take the tool credential and nothing else.
        if tool_token.as_deref() != Some(TOOL_TOKEN) {
            return respond(StatusCode::UNAUTHORIZED, "{}");
        }
        tokio::time::sleep(delay).await;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let call = &v["message"]["toolCallList"][0];
        let name = call["function"]["name"].as_str().unwrap_or("");
        let result = format!("{name} answered {}", call["function"]["arguments"]);
        return respond(
            StatusCode::OK,
            json!({"results":[{"toolCallId": call["id"], "name": name, "result": result}]})
                .to_string(),
        );
    }
    if authorization.as_deref() != Some(&format!("Bearer {SERVICE_TOKEN}"))
        || stream_token.is_none()
    {
        return respond(StatusCode::UNAUTHORIZED, "{}");
    }
    if path.starts_with("/internal/agent-config/") {
        if let Some(status) = config_status {
            return respond(
                StatusCode::from_u16(status).unwrap(),
                r#"{"error":"refused"}"#,
            );
        }
        return match config {
            Some(config) => respond(StatusCode::OK, serde_json::to_vec(&config).unwrap()),
            None => respond(StatusCode::NOT_FOUND, r#"{"error":"unknown business"}"#),
        };
    }
    if path == "/internal/usage" {
        if usage_fails {
            return respond(StatusCode::SERVICE_UNAVAILABLE, r#"{"error":"busy"}"#);
        }
        return respond(StatusCode::NO_CONTENT, "");
    }
    respond(StatusCode::NOT_FOUND, "{}")
}

/// What the fake agent receives.
#[derive(Debug)]
pub enum FromRelay {
    Json(Value),
    Audio(Vec<u8>),
    Closed(Option<CloseFrame>),
}

/// The fake voice agent: hands each accepted connection to the test.
pub struct FakeAgent {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    incoming: mpsc::Receiver<AgentConn>,
}

pub struct AgentConn {
    pub ws: WebSocketStream<TcpStream>,
    pub authorization: Option<String>,
    pub path: String,
}

impl FakeAgent {
    pub async fn start() -> FakeAgent {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let (tx, incoming) = mpsc::channel(16);
        let count = Arc::clone(&connections);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (tx, count) = (tx.clone(), Arc::clone(&count));
                tokio::spawn(async move {
                    let seen = Arc::new(Mutex::new((None, String::new())));
                    let record = Arc::clone(&seen);
                    // The error type is tungstenite's (`Callback`), not ours to shrink.
                    #[allow(clippy::result_large_err)]
                    let callback = move |req: &WsRequest, resp: WsResponse| {
                        let auth = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        *record.lock().unwrap() = (auth, req.uri().path().to_owned());
                        Ok(resp)
                    };
                    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await {
                        count.fetch_add(1, Ordering::SeqCst);
                        let (authorization, path) = seen.lock().unwrap().clone();
                        let _ = tx
                            .send(AgentConn {
                                ws,
                                authorization,
                                path,
                            })
                            .await;
                    }
                });
            }
        });
        FakeAgent {
            addr,
            connections,
            incoming,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/v1/agent/converse", self.addr)
    }

    /// The next connection from the relay.
    pub async fn accept(&mut self) -> AgentConn {
        tokio::time::timeout(WAIT, self.incoming.recv())
            .await
            .expect("the relay did not connect to the agent")
            .expect("agent listener gone")
    }

    /// Accepts, checks the Settings, answers SettingsApplied; returns the Settings.
    pub async fn accept_ready(&mut self) -> (AgentConn, Value) {
        let mut conn = self.accept().await;
        let settings = conn.json().await;
        assert_eq!(settings["type"], "Settings", "first message: {settings}");
        conn.send_json(json!({"type": "SettingsApplied"})).await;
        (conn, settings)
    }
}

impl AgentConn {
    pub async fn recv(&mut self) -> FromRelay {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("nothing from the relay on the agent socket");
            return match msg {
                Some(Ok(Message::Text(t))) => {
                    FromRelay::Json(serde_json::from_str(&t).expect("agent got non-JSON text"))
                }
                Some(Ok(Message::Binary(b))) => FromRelay::Audio(b.to_vec()),
                Some(Ok(Message::Close(frame))) => FromRelay::Closed(frame),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => FromRelay::Closed(None),
            };
        }
    }

    /// The next JSON message, skipping audio.
    pub async fn json(&mut self) -> Value {
        loop {
            match self.recv().await {
                FromRelay::Json(v) => return v,
                FromRelay::Audio(_) => continue,
                FromRelay::Closed(f) => panic!("agent socket closed while waiting for JSON: {f:?}"),
            }
        }
    }

    /// The next JSON message of `kind`, skipping audio and `KeepAlive`.
    pub async fn json_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.json().await;
            if v["type"] == kind {
                return v;
            }
            assert_eq!(v["type"], "KeepAlive", "expected {kind}, got {v}");
        }
    }

    pub async fn audio(&mut self) -> Vec<u8> {
        loop {
            match self.recv().await {
                FromRelay::Audio(a) => return a,
                FromRelay::Json(v) if v["type"] == "KeepAlive" => continue,
                other => panic!("expected audio, got {other:?}"),
            }
        }
    }

    /// Reads until the relay closes this socket; returns the close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            if let FromRelay::Closed(frame) = self.recv().await {
                return frame;
            }
        }
    }

    pub async fn send_json(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("agent send");
    }

    pub async fn send_audio(&mut self, audio: &[u8]) {
        self.ws
            .send(Message::Binary(Bytes::copy_from_slice(audio)))
            .await
            .expect("agent send audio");
    }

    pub async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// What the fake Twilio client receives.
#[derive(Debug)]
pub enum FromTwilioSide {
    Json(Value),
    Closed(Option<CloseFrame>),
}

/// The fake Twilio: a Media Streams client.
pub struct Twilio {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u64,
}

/// An upgrade request to the relay, signed as Twilio signs it (over [`PUBLIC_URL`]).
pub fn signed_upgrade(
    relay: SocketAddr,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{relay}/twilio/media")
        .into_client_request()
        .unwrap();
    let signature = hostline_shared::twilio::expected_signature(
        TWILIO_TOKEN,
        PUBLIC_URL,
        &hostline_shared::twilio::Form::default(),
    );
    request
        .headers_mut()
        .insert("x-twilio-signature", signature.parse().unwrap());
    request
}

impl Twilio {
    /// A signed upgrade, as Twilio makes it.
    pub async fn connect(relay: SocketAddr) -> Twilio {
        let (ws, _) = tokio_tungstenite::connect_async(signed_upgrade(relay))
            .await
            .expect("connect to the relay");
        Twilio { ws, seq: 0 }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("twilio send");
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    fn next_seq(&mut self) -> String {
        self.seq += 1;
        self.seq.to_string()
    }

    /// `connected` then `start` for `call_sid` with these custom parameters.
    pub async fn start_with(&mut self, call_sid: &str, params: Value) {
        self.send_json(json!({"event":"connected","protocol":"Call","version":"1.0.0"}))
            .await;
        let seq = self.next_seq();
        self.send_json(json!({
            "event": "start", "sequenceNumber": seq, "streamSid": STREAM_SID,
            "start": {"accountSid": START_ACCOUNT_SID, "streamSid": STREAM_SID, "callSid": call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": params},
        }))
        .await;
    }

    /// A normal start with a valid token.
    pub async fn start(&mut self) {
        self.start_with(
            CALL_SID,
            json!({"token": token(), "business_id": BUSINESS, "line": LINE}),
        )
        .await;
    }

    pub async fn media(&mut self, audio: &[u8]) {
        let seq = self.next_seq();
        self.send_json(json!({"event":"media","sequenceNumber": seq, "streamSid": STREAM_SID,
            "media": {"track":"inbound","chunk": seq,"timestamp":"20","payload": STANDARD.encode(audio)}}))
            .await;
    }

    pub async fn dtmf(&mut self, digit: &str) {
        let seq = self.next_seq();
        self.send_json(json!({"event":"dtmf","streamSid":STREAM_SID,"sequenceNumber":seq,"dtmf":{"track":"inbound_track","digit":digit}}))
            .await;
    }

    pub async fn mark(&mut self, name: &str) {
        let seq = self.next_seq();
        self.send_json(json!({"event":"mark","sequenceNumber":seq,"streamSid":STREAM_SID,"mark":{"name":name}}))
            .await;
    }

    pub async fn stop(&mut self) {
        let seq = self.next_seq();
        self.send_json(
            json!({"event":"stop","sequenceNumber":seq,"streamSid":STREAM_SID,
            "stop":{"accountSid":TWILIO_SID,"callSid":CALL_SID}}),
        )
        .await;
    }

    pub async fn recv(&mut self) -> FromTwilioSide {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("nothing from the relay on the Twilio socket");
            return match msg {
                Some(Ok(Message::Text(t))) => {
                    FromTwilioSide::Json(serde_json::from_str(&t).expect("twilio got non-JSON"))
                }
                Some(Ok(Message::Close(frame))) => FromTwilioSide::Closed(frame),
                Some(Ok(Message::Binary(_))) => panic!("the relay sent Twilio a binary frame"),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => FromTwilioSide::Closed(None),
            };
        }
    }

    pub async fn json(&mut self) -> Value {
        match self.recv().await {
            FromTwilioSide::Json(v) => v,
            FromTwilioSide::Closed(f) => {
                panic!("Twilio socket closed while waiting for a frame: {f:?}")
            }
        }
    }

    /// The audio of the next `media` frame.
    pub async fn media_audio(&mut self) -> Vec<u8> {
        let v = self.json().await;
        assert_eq!(v["event"], "media", "expected media, got {v}");
        assert_eq!(v["streamSid"], STREAM_SID);
        STANDARD
            .decode(v["media"]["payload"].as_str().expect("payload"))
            .expect("base64")
    }

    /// Reads until the relay closes the socket; returns the close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            if let FromTwilioSide::Closed(frame) = self.recv().await {
                return frame;
            }
        }
    }
}

/// The relay's configuration for the tests: short limits so timeouts happen in milliseconds.
pub fn config(functions: &FakeFunctions, agent: &FakeAgent) -> Config {
    let secrets = Secrets {
        deepgram_api_key: DEEPGRAM_KEY.into(),
        service_token: SERVICE_TOKEN.into(),
        relay_key: RELAY_KEY.to_vec(),
        twilio_account_sid: Some(TWILIO_SID.into()),
        twilio_auth_token: Some(TWILIO_TOKEN.into()),
    };
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        agent.url(),
        functions.url(),
        secrets,
    );
    config.twilio_api_base = functions.url();
    config.public_url = Some(PUBLIC_URL.into());
    config.limits.start_timeout = Duration::from_secs(2);
    config.limits.report_backoff = Duration::from_millis(5);
    config.limits.drain_timeout = Duration::from_secs(5);
    config
}

/// Fakes and a relay wired together.
pub struct Rig {
    pub functions: FakeFunctions,
    pub agent: FakeAgent,
    pub relay: RunningRelay,
    /// `RELAY_TEST_LOG=1` prints the relay's logs of this test to stderr.
    _log: Option<tracing::subscriber::DefaultGuard>,
}

impl Rig {
    pub async fn start(transfer_to: Option<&str>, tweak: impl FnOnce(&mut Config)) -> Rig {
        let functions = FakeFunctions::start(agent_config(transfer_to)).await;
        let agent = FakeAgent::start().await;
        let mut config = config(&functions, &agent);
        tweak(&mut config);
        let relay = media_relay::start(config).await.expect("relay starts");
        let _log = std::env::var_os("RELAY_TEST_LOG").map(|_| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_test_writer()
                .finish();
            tracing::subscriber::set_default(subscriber)
        });
        Rig {
            functions,
            agent,
            relay,
            _log,
        }
    }

    /// A started call whose agent is ready: (Twilio side, agent side, Settings). A caller
    /// frame (160 × 0xFF) has gone through, so the relay is past its set-up.
    ///
    /// On a current-thread runtime that takes exactly one frame. On a multi-thread one the
    /// relay's set-up loop can read a frame sent right after `SettingsApplied` before it sees
    /// `SettingsApplied` (the two sockets' readiness arrive independently), and drops it, as it
    /// drops all audio before the agent is ready; so frames are sent until one arrives.
    pub async fn call(&mut self) -> (Twilio, AgentConn, Value) {
        self.call_as(CALL_SID).await
    }

    /// [`Rig::call`] for another call SID (a relay streams each call once).
    pub async fn call_as(&mut self, call_sid: &str) -> (Twilio, AgentConn, Value) {
        let mut twilio = Twilio::connect(self.relay.addr()).await;
        let token = token_for(BUSINESS, call_sid, 120, RELAY_KEY);
        twilio
            .start_with(
                call_sid,
                json!({"token": token, "business_id": BUSINESS, "line": LINE}),
            )
            .await;
        let (mut agent, settings) = self.agent.accept_ready().await;
        for sent in 1.. {
            twilio.media(&SILENCE).await;
            match tokio::time::timeout(Duration::from_millis(500), agent.audio()).await {
                Ok(audio) => {
                    assert_eq!(audio, SILENCE);
                    break;
                }
                Err(_) if sent < 10 => continue,
                Err(_) => panic!("none of {sent} caller frames reached the agent"),
            }
        }
        (twilio, agent, settings)
    }

    /// Waits until no call task is left.
    pub async fn no_calls_left(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.relay.active_calls() != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "call tasks left: {}",
                self.relay.active_calls()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn metrics(&self) -> String {
        self.relay.metrics().encode()
    }
}

/// Whether the OpenMetrics text has this exact sample line.
pub fn has_line(metrics: &str, line: &str) -> bool {
    metrics.lines().any(|l| l == line)
}

/// Logs captured on the current thread (tests run on a current-thread runtime, so every relay
/// task logs here).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    /// The captured JSON lines.
    pub fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The first line whose message is `message`.
    pub fn find(&self, message: &str) -> Option<Value> {
        self.lines().into_iter().find(|l| l["message"] == message)
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
