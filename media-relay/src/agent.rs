//! The voice agent: Deepgram Voice Agent v1 (Deepgram's Voice Agent API). Builds the `Settings` message
//! from a business's [`AgentConfig`], parses the server messages the relay acts on, writes the
//! client messages it sends, and opens the socket.
//!
//! Audio is µ-law 8 kHz in both directions (`container: none`) by default, exactly what Twilio
//! carries, so the relay passes it through untouched; `--agent-audio linear16:<rate>` asks for
//! linear PCM instead and the call transcodes ([`crate::audio`]). Functions are declared without an `endpoint`,
//! which makes them client-side: the agent sends `FunctionCallRequest` and waits for our
//! `FunctionCallResponse`.

use std::sync::Arc;
use std::time::Duration;

use hostline_shared::relay::{AgentConfig, TRANSFER_FUNCTION};
use rustls::pki_types::ServerName;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::config::AgentOptions;

/// The agent's connection: plain TCP or TLS, boxed so the (large) TLS state is only allocated
/// when used instead of sitting inline in every call.
pub trait AgentIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AgentIo for T {}

/// The agent's socket.
pub type AgentSocket = WebSocketStream<Box<dyn AgentIo>>;

/// `KeepAlive`: sent only while no audio flows to the agent.
pub const KEEP_ALIVE: &str = r#"{"type":"KeepAlive"}"#;

/// What the agent hears on a transfer request when the business has no staff line.
const TRANSFER_DESCRIPTION: &str = "Transfer the caller to a person at the restaurant. Use it when the \
caller asks for a person, the staff or a manager, or when you cannot help them.";

/// The `Settings` message for one business (Deepgram's `Settings` reference).
pub fn settings(config: &AgentConfig, options: &AgentOptions) -> String {
    let mut functions: Vec<Value> = config
        .functions
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "description": f.description,
                "parameters": f.parameters,
            })
        })
        .collect();
    if config.transfer_to.is_some() && !config.functions.iter().any(|f| f.name == TRANSFER_FUNCTION)
    {
        functions.push(json!({
            "name": TRANSFER_FUNCTION,
            "description": TRANSFER_DESCRIPTION,
            "parameters": {"type": "object", "properties": {}, "required": []},
        }));
    }
    let mut listen = json!({"type": "deepgram", "model": options.listen_model});
    if !config.keyterms.is_empty() {
        listen["keyterms"] = json!(config.keyterms);
    }
    let mut think = json!({
        "provider": {"type": options.think_provider, "model": options.think_model},
        "prompt": config.prompt,
    });
    if !functions.is_empty() {
        think["functions"] = Value::Array(functions);
    }
    let (encoding, sample_rate) = options.audio.encoding_and_rate();
    json!({
        "type": "Settings",
        "tags": [format!("business:{}", config.business_id)],
        "audio": {
            "input": {"encoding": encoding, "sample_rate": sample_rate},
            "output": {"encoding": encoding, "sample_rate": sample_rate, "container": "none"},
        },
        "agent": {
            "language": config.language,
            "listen": {"provider": listen},
            "think": think,
            "speak": {"provider": {"type": options.speak_provider, "model": options.speak_model}},
            "greeting": config.greeting,
        },
    })
    .to_string()
}

/// A message from the agent that the relay acts on (Deepgram's server messages). Anything else parses
/// as [`Event::Other`] and is ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    Welcome,
    SettingsApplied,
    /// Barge-in: the caller started talking; stop playing the agent.
    UserStartedSpeaking,
    /// The last audio of the agent's turn was sent.
    AgentAudioDone,
    FunctionCallRequest {
        #[serde(default)]
        functions: Vec<FunctionCall>,
    },
    FunctionCallCancelled {
        /// Shape unconfirmed (§5): items may be objects with `id` or bare ids.
        #[serde(default)]
        functions: Vec<Value>,
    },
    ConversationText {
        #[serde(default)]
        role: String,
        #[serde(default)]
        content: String,
    },
    InjectionRefused {
        #[serde(default)]
        message: String,
    },
    Warning {
        #[serde(default)]
        description: String,
        #[serde(default)]
        code: String,
    },
    Error {
        #[serde(default)]
        description: String,
        #[serde(default)]
        code: String,
    },
    #[serde(other)]
    Other,
}

/// One function call the agent asks for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionCall {
    /// Echoed in our `FunctionCallResponse` and used as the Vapi `toolCallId`.
    pub id: String,
    /// Looked up in the business's functions (or the transfer function).
    pub name: String,
    /// A JSON string per the docs; an object is accepted too.
    #[serde(default)]
    pub arguments: Value,
    /// Only client-side calls are ours to answer.
    #[serde(default = "client_side_default")]
    pub client_side: bool,
}

fn client_side_default() -> bool {
    // Every function we declare is client-side (no endpoint), so a missing flag means ours.
    true
}

impl FunctionCall {
    /// The arguments as a JSON value: the string parsed when it is JSON, else as given (the
    /// tool endpoints report unusable arguments themselves).
    pub fn arguments(&self) -> Value {
        match &self.arguments {
            Value::String(s) if s.trim().is_empty() => json!({}),
            Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| self.arguments.clone()),
            Value::Null => json!({}),
            other => other.clone(),
        }
    }
}

/// Parses a text message from the agent.
pub fn parse(text: &str) -> Result<Event, serde_json::Error> {
    serde_json::from_str(text)
}

/// The ids in a `FunctionCallCancelled` list.
pub fn cancelled_ids(functions: &[Value]) -> Vec<String> {
    functions
        .iter()
        .filter_map(|f| match f {
            Value::String(id) => Some(id.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .collect()
}

/// `FunctionCallResponse` (`content` is a string).
pub fn function_call_response(id: &str, name: &str, content: &str) -> String {
    json!({"type": "FunctionCallResponse", "id": id, "name": name, "content": content}).to_string()
}

/// `InjectAgentMessage`: makes the agent say `message`.
pub fn inject_agent_message(message: &str) -> String {
    json!({"type": "InjectAgentMessage", "message": message}).to_string()
}

/// Why the agent's socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("agent URL is invalid: {0}")]
    Url(String),
    #[error("could not connect to the agent: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("could not connect to the agent: {0}")]
    Io(#[from] std::io::Error),
    #[error("the agent did not accept the connection within {0:?}")]
    Timeout(Duration),
}

/// TLS for `wss://` agents: ring and the webpki roots (no CA files needed in the image),
/// built once per process.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens the agent's socket with `Authorization: Token <key>`.
pub async fn connect(
    url: &str,
    api_key: &str,
    tls: &Arc<rustls::ClientConfig>,
    ws_config: WebSocketConfig,
    limit: Duration,
) -> Result<AgentSocket, ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    if !api_key.is_empty() {
        let mut value = HeaderValue::from_str(&format!("Token {api_key}")).map_err(|_| {
            ConnectError::Url("DEEPGRAM_API_KEY is not a valid header value".into())
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert("authorization", value);
    }
    let secure = url.starts_with("wss://");
    let host = request
        .uri()
        .host()
        .ok_or_else(|| ConnectError::Url("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = request
        .uri()
        .port_u16()
        .unwrap_or(if secure { 443 } else { 80 });
    let tls = Arc::clone(tls);
    let connecting = async move {
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        // Audio frames are small and must leave at once.
        tcp.set_nodelay(true)?;
        let io: Box<dyn AgentIo> = if secure {
            let name = ServerName::try_from(host)
                .map_err(|e| ConnectError::Url(format!("bad host name: {e}")))?;
            Box::new(TlsConnector::from(tls).connect(name, tcp).await?)
        } else {
            Box::new(tcp)
        };
        let (socket, _response) =
            tokio_tungstenite::client_async_with_config(request, io, Some(ws_config)).await?;
        Ok::<_, ConnectError>(socket)
    };
    match tokio::time::timeout(limit, connecting).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError::Timeout(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hostline_shared::relay::AgentFunction;

    fn config(transfer: Option<&str>) -> AgentConfig {
        AgentConfig {
            business_id: "demo-boba".into(),
            business_name: "Demo Boba".into(),
            greeting: "Thanks for calling Demo Boba!".into(),
            prompt: "You are the host.".into(),
            language: "en".into(),
            keyterms: vec!["taro".into()],
            functions: vec![AgentFunction {
                name: "get_menu_info".into(),
                description: "Menu".into(),
                parameters: json!({"type":"object","properties":{"query":{"type":"string"}}}),
                path: "/vapi/knowledge-base".into(),
            }],
            transfer_to: transfer.map(str::to_owned),
            max_call_seconds: 600,
            tool_token: "t1.x.y".into(),
        }
    }

    #[test]
    fn settings_match_the_documented_shape() {
        let s: Value = serde_json::from_str(&settings(
            &config(Some("+14155550100")),
            &AgentOptions::default(),
        ))
        .unwrap();
        assert_eq!(s["type"], "Settings");
        assert_eq!(
            s["audio"]["input"],
            json!({"encoding":"mulaw","sample_rate":8000})
        );
        assert_eq!(
            s["audio"]["output"],
            json!({"encoding":"mulaw","sample_rate":8000,"container":"none"})
        );
        let linear: Value = serde_json::from_str(&settings(
            &config(None),
            &AgentOptions {
                audio: crate::config::AgentAudio::Linear16 {
                    sample_rate: 24_000,
                },
                ..AgentOptions::default()
            },
        ))
        .unwrap();
        assert_eq!(
            linear["audio"],
            json!({"input": {"encoding":"linear16","sample_rate":24000},
                "output": {"encoding":"linear16","sample_rate":24000,"container":"none"}})
        );
        let agent = &s["agent"];
        assert_eq!(agent["language"], "en");
        assert_eq!(
            agent["listen"]["provider"],
            json!({"type":"deepgram","model":"nova-3","keyterms":["taro"]})
        );
        assert_eq!(
            agent["think"]["provider"],
            json!({"type":"open_ai","model":"gpt-4o-mini"})
        );
        assert_eq!(agent["think"]["prompt"], "You are the host.");
        let names: Vec<&str> = agent["think"]["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["get_menu_info", TRANSFER_FUNCTION]);
        assert!(agent["think"]["functions"][0].get("endpoint").is_none());
        assert!(agent["think"]["functions"][0].get("path").is_none());
        assert_eq!(
            agent["speak"]["provider"],
            json!({"type":"deepgram","model":"aura-2-thalia-en"})
        );
        assert_eq!(agent["greeting"], "Thanks for calling Demo Boba!");

        let without: Value =
            serde_json::from_str(&settings(&config(None), &AgentOptions::default())).unwrap();
        assert_eq!(
            without["agent"]["think"]["functions"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn parses_agent_messages() {
        assert_eq!(
            parse(r#"{"type":"Welcome","request_id":"r"}"#).unwrap(),
            Event::Welcome
        );
        assert_eq!(
            parse(r#"{"type":"UserStartedSpeaking"}"#).unwrap(),
            Event::UserStartedSpeaking
        );
        assert_eq!(
            parse(r#"{"type":"History","role":"user"}"#).unwrap(),
            Event::Other
        );
        let Event::FunctionCallRequest { functions } = parse(
            r#"{"type":"FunctionCallRequest","functions":[{"id":"fc_1","name":"get_menu_info","arguments":"{\"query\": \"taro\"}","client_side":true}]}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(functions[0].arguments(), json!({"query":"taro"}));
        assert!(functions[0].client_side);
        let Event::FunctionCallCancelled { functions } = parse(
            r#"{"type":"FunctionCallCancelled","functions":[{"id":"fc_1","name":"x"},"fc_2"]}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(cancelled_ids(&functions), ["fc_1", "fc_2"]);
        assert!(matches!(
            parse(r#"{"type":"Error","description":"bad","code":"X"}"#).unwrap(),
            Event::Error { description, .. } if description == "bad"
        ));
        assert!(parse("nope").is_err());
    }

    #[test]
    fn client_messages() {
        let v: Value =
            serde_json::from_str(&function_call_response("fc_1", "get_menu_info", "Taro")).unwrap();
        assert_eq!(
            v,
            json!({"type":"FunctionCallResponse","id":"fc_1","name":"get_menu_info","content":"Taro"})
        );
        let v: Value = serde_json::from_str(&inject_agent_message("One moment")).unwrap();
        assert_eq!(
            v,
            json!({"type":"InjectAgentMessage","message":"One moment"})
        );
        assert!(tls_config().is_ok());
    }
}
