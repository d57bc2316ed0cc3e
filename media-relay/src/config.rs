//! What a running relay needs. `main` builds it from the command line and the environment
//! ([`crate::cli`]); the tests build it directly, so both run the same server.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Everything [`crate::server::start`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen for Twilio's WebSockets and the health/metrics endpoints.
    pub listen: SocketAddr,
    /// `ws://` or `wss://` URL of the voice agent (Deepgram's `/v1/agent/converse`).
    pub agent_url: String,
    /// Base URL of the function collection (no trailing slash): the agent configuration, the
    /// tool endpoints and the usage route hang off it.
    pub functions_url: String,
    /// Base URL of Twilio's REST API; transfers update the call there. Tests use a fake.
    pub twilio_api_base: String,
    /// Public `wss://…/twilio/media` URL as Twilio signs it: the upgrade must carry a valid
    /// `X-Twilio-Signature` over it (keyed with `TWILIO_AUTH_TOKEN`). Required unless
    /// [`Config::insecure_skip_signature`]; the stream token authenticates every call either way.
    pub public_url: Option<String>,
    /// Accept upgrades without checking `X-Twilio-Signature` (`--insecure-skip-signature`):
    /// for local runs only, logged at WARN on start. Without it and without
    /// [`Config::public_url`], [`crate::start`] refuses to start.
    pub insecure_skip_signature: bool,
    /// Keys and tokens, from the environment.
    pub secrets: Secrets,
    /// Caps and timeouts.
    pub limits: Limits,
    /// The agent's providers and models, written into every `Settings`.
    pub agent: AgentOptions,
}

impl Config {
    /// A configuration with default limits and agent options.
    pub fn new(
        listen: SocketAddr,
        agent_url: impl Into<String>,
        functions_url: impl Into<String>,
        secrets: Secrets,
    ) -> Config {
        Config {
            listen,
            agent_url: agent_url.into(),
            functions_url: functions_url.into().trim_end_matches('/').to_owned(),
            twilio_api_base: "https://api.twilio.com".to_owned(),
            public_url: None,
            insecure_skip_signature: false,
            secrets,
            limits: Limits::default(),
            agent: AgentOptions::default(),
        }
    }
}

/// Secrets, from the environment only (never flags: they would show in `ps`).
#[derive(Clone, Default)]
pub struct Secrets {
    /// `Authorization: Token <key>` on the agent socket (`DEEPGRAM_API_KEY`).
    pub deepgram_api_key: String,
    /// Bearer token for the functions' internal routes and tool endpoints
    /// (`HOSTLINE_SERVICE_TOKEN`, the functions' `service_token`).
    pub service_token: String,
    /// HMAC key of the stream tokens in the TwiML parameters (`HOSTLINE_RELAY_KEY`, the
    /// functions' `relay_token_key`).
    pub relay_key: Vec<u8>,
    /// Basic-auth user for Twilio's REST API (`TWILIO_ACCOUNT_SID`, or an API key SID).
    pub twilio_account_sid: Option<String>,
    /// Basic-auth password for Twilio's REST API and the key of `X-Twilio-Signature`
    /// (`TWILIO_AUTH_TOKEN`, or an API key secret when no signature check is configured).
    pub twilio_auth_token: Option<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Say which secrets are present, never their values.
        f.debug_struct("Secrets")
            .field("deepgram_api_key", &!self.deepgram_api_key.is_empty())
            .field("service_token", &!self.service_token.is_empty())
            .field("relay_key", &!self.relay_key.is_empty())
            .field("twilio_account_sid", &self.twilio_account_sid.is_some())
            .field("twilio_auth_token", &self.twilio_auth_token.is_some())
            .finish()
    }
}

/// Limits and timeouts. The defaults here are the command line's defaults (a unit test in
/// [`crate::cli`] keeps them equal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Concurrent calls; above it the upgrade is answered 503 (Twilio then plays its error).
    pub max_calls: usize,
    /// No caller audio for this long ends the call (Twilio sends audio even during silence,
    /// so a quiet stream means a stuck one).
    pub idle_timeout: Duration,
    /// Hard cap on a call's length; the business's `max_call_seconds` can only lower it.
    pub max_call: Duration,
    /// After SIGTERM, how long running calls may go on before they are ended.
    pub drain_timeout: Duration,
    /// Send `KeepAlive` to the agent when no audio went to it for this long.
    pub keepalive_interval: Duration,
    /// Time from the WebSocket upgrade to a `start` frame with a valid stream token. Twilio
    /// sends `start` right after `connected`, so this can be short.
    pub start_timeout: Duration,
    /// Sockets upgraded but not yet past a valid `start` (they hold no call slot). When a new
    /// upgrade finds this many waiting, the oldest is closed to make room: a genuine stream
    /// waits one round trip, so the oldest waiting socket is almost always an idle one.
    pub max_pending_streams: usize,
    /// Time for one request to the functions (agent configuration).
    pub functions_timeout: Duration,
    /// Time to open the agent's WebSocket.
    pub connect_timeout: Duration,
    /// Time from `Settings` to the agent's `SettingsApplied`.
    pub settings_timeout: Duration,
    /// A tool call unanswered after this gets "Sorry, that took too long".
    pub tool_deadline: Duration,
    /// A tool call unanswered after this makes the agent say "One moment…" (once per request).
    pub tool_filler_after: Duration,
    /// Function calls in flight per call; more are answered at once with an apology.
    pub max_tools_in_flight: usize,
    /// Time for the usage report and for a transfer request.
    pub report_timeout: Duration,
    /// Attempts at a usage report (it is idempotent per call SID) before giving up.
    pub report_attempts: u32,
    /// Wait before the second attempt at a usage report; doubled before each later one.
    pub report_backoff: Duration,
    /// A socket write that cannot finish within this ends the call: the peer is not reading,
    /// and waiting longer would only hold audio nobody will hear.
    pub write_timeout: Duration,
    /// WebSocket read buffer per socket, bytes: one read per frame for Twilio frames (~350
    /// bytes) and small agent frames, several for large TTS chunks. tungstenite's default,
    /// 128 KiB, is allocated per socket and zero-filled up to its size on every read.
    pub ws_read_buffer: usize,
    /// Largest frame accepted from Twilio, bytes.
    pub max_twilio_message: usize,
    /// Largest frame accepted from the agent, bytes (TTS chunks).
    pub max_agent_message: usize,
    /// Agent audio is sent to Twilio in media frames of at most this many bytes, which bounds
    /// the relay's reused encode buffer.
    pub max_media_chunk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_calls: 2000,
            idle_timeout: Duration::from_secs(30),
            max_call: Duration::from_secs(3600),
            drain_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(8),
            start_timeout: Duration::from_secs(5),
            max_pending_streams: 64,
            functions_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            settings_timeout: Duration::from_secs(5),
            tool_deadline: Duration::from_secs(8),
            tool_filler_after: Duration::from_millis(1500),
            max_tools_in_flight: 8,
            report_timeout: Duration::from_secs(3),
            report_attempts: 5,
            report_backoff: Duration::from_millis(500),
            write_timeout: Duration::from_secs(2),
            ws_read_buffer: 1024,
            max_twilio_message: 64 * 1024,
            max_agent_message: 512 * 1024,
            max_media_chunk: 3200,
        }
    }
}

impl Limits {
    /// The longest a usage report can take with its retries: every attempt's timeout and
    /// every backoff wait.
    pub fn report_budget(&self) -> Duration {
        let attempts = self.report_attempts.max(1);
        let mut total = self.report_timeout.saturating_mul(attempts);
        let mut wait = self.report_backoff;
        for _ in 1..attempts {
            total = total.saturating_add(wait);
            wait = wait.saturating_mul(2);
        }
        total
    }

    /// How often a call checks its timers, flushes its counters and looks for shutdown: often
    /// enough for the shortest limit, never more than once a second.
    pub fn tick(&self) -> Duration {
        let shortest = self
            .idle_timeout
            .min(self.keepalive_interval)
            .min(self.max_call);
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// The agent's providers and models (Deepgram's `Settings.agent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentOptions {
    /// Speech recognition model (`agent.listen.provider`, type `deepgram`).
    pub listen_model: String,
    /// LLM provider type (`agent.think.provider.type`).
    pub think_provider: String,
    /// LLM model (`agent.think.provider.model`).
    pub think_model: String,
    /// Speech synthesis provider type (`agent.speak.provider.type`).
    pub speak_provider: String,
    /// Speech synthesis model or voice (`agent.speak.provider.model`).
    pub speak_model: String,
    /// The audio format asked for in `Settings.audio`, both directions.
    pub audio: AgentAudio,
}

/// The audio the agent takes and gives (Deepgram's `Settings.audio.input` / `audio.output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentAudio {
    /// µ-law 8 kHz both ways: what Twilio carries, so payloads pass through untouched.
    Mulaw,
    /// linear16 (signed 16-bit little-endian, mono) at this rate both ways: the relay decodes,
    /// resamples and re-encodes ([`crate::audio::Transcoder`]). Build it with
    /// [`AgentAudio::parse`] or check the rate against [`crate::audio::SUPPORTED_RATES`].
    Linear16 { sample_rate: u32 },
}

impl AgentAudio {
    /// `mulaw`, `linear16` (16 kHz) or `linear16:<rate>` with a rate of
    /// [`crate::audio::SUPPORTED_RATES`].
    pub fn parse(text: &str) -> Result<AgentAudio, String> {
        let text = text.trim();
        let (encoding, rate) = match text.split_once(':') {
            Some((encoding, rate)) => (encoding, Some(rate)),
            None => (text, None),
        };
        match (encoding, rate) {
            ("mulaw", None | Some("8000")) => Ok(AgentAudio::Mulaw),
            ("linear16", rate) => {
                let sample_rate = match rate {
                    None => 16_000,
                    Some(rate) => rate
                        .parse::<u32>()
                        .map_err(|_| format!("`{rate}` is not a sample rate in Hz"))?,
                };
                if !crate::audio::SUPPORTED_RATES.contains(&sample_rate) {
                    return Err(format!(
                        "linear16 at {sample_rate} Hz is not supported (use one of {:?})",
                        crate::audio::SUPPORTED_RATES
                    ));
                }
                Ok(AgentAudio::Linear16 { sample_rate })
            }
            _ => Err(format!(
                "`{text}` is not an agent audio format (use mulaw, linear16 or linear16:<rate>)"
            )),
        }
    }

    /// The `encoding` and `sample_rate` named in `Settings`.
    pub fn encoding_and_rate(self) -> (&'static str, u32) {
        match self {
            AgentAudio::Mulaw => ("mulaw", crate::audio::TWILIO_RATE),
            AgentAudio::Linear16 { sample_rate } => ("linear16", sample_rate),
        }
    }
}

impl fmt::Display for AgentAudio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentAudio::Mulaw => f.write_str("mulaw"),
            AgentAudio::Linear16 { sample_rate } => write!(f, "linear16:{sample_rate}"),
        }
    }
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            listen_model: "nova-3".to_owned(),
            think_provider: "open_ai".to_owned(),
            think_model: "gpt-4o-mini".to_owned(),
            speak_provider: "deepgram".to_owned(),
            speak_model: "aura-2-thalia-en".to_owned(),
            audio: AgentAudio::Mulaw,
        }
    }
}

/// Parses `250ms`, `30s`, `5m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 250ms, 30s, 5m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit `{other}` in `{text}` (ms, s, m, h)")),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn tick_follows_the_shortest_limit() {
        assert_eq!(Limits::default().tick(), Duration::from_secs(1));
        let short = Limits {
            idle_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        assert_eq!(short.tick(), Duration::from_millis(50));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secrets {
            service_token: "hunter2".into(),
            ..Secrets::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
