//! The command line: `media-relay serve` (the relay) and `media-relay bench` (the load tool).
//! Flags carry endpoints and limits; secrets come only from the environment, so they never
//! show in `ps` or shell history. `--help` on each subcommand explains every flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{AgentAudio, AgentOptions, Config, Limits, Secrets, parse_duration};

const ENVIRONMENT: &str = "\
Environment (secrets are never taken as flags):
  DEEPGRAM_API_KEY        sent as `Authorization: Token <key>` to the agent (--agent-url)
  HOSTLINE_SERVICE_TOKEN  bearer token for the functions' internal routes and tool endpoints
                          (the functions' `service_token` variable); required
  HOSTLINE_RELAY_KEY      key that verifies the stream token in the TwiML parameters (the
                          functions' `relay_token_key` variable); required
  TWILIO_ACCOUNT_SID      basic-auth user for Twilio's REST API, used for transfers to staff
                          and, when the agent fails, to hand the caller to staff or apologise
                          (an API key SID works too)
  TWILIO_AUTH_TOKEN       the account's auth token: checks X-Twilio-Signature on every upgrade
                          (against --public-url) and is the basic-auth password for Twilio's
                          REST API; required unless --insecure-skip-signature
  RUST_LOG                log filter (default `info`); logs are JSON lines on stdout

Endpoints served on --listen:
  GET /twilio/media   WebSocket for Twilio Media Streams (<Connect><Stream url=\"wss://…/twilio/media\">)
  GET /healthz        200 while accepting calls
  GET /metrics        Prometheus/OpenMetrics text

Signals: SIGTERM or Ctrl-C stops accepting calls and lets running calls finish for up to
--drain-timeout, then ends them; a second signal ends them at once.";

/// Bridges Twilio Media Streams to a voice agent (Deepgram Voice Agent v1).
#[derive(Debug, Parser)]
#[command(name = "media-relay", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay.
    #[command(after_help = ENVIRONMENT)]
    Serve(Box<ServeArgs>),
    /// Load tool: N simulated calls at real 20 ms pacing against a relay child process and an
    /// in-process fake agent; prints calls sustained, relay CPU and RSS per call, added latency
    /// and frames lost.
    Bench(BenchArgs),
}

/// `media-relay serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// WebSocket URL of the voice agent.
    #[arg(long, default_value = "wss://agent.deepgram.com/v1/agent/converse")]
    pub agent_url: String,
    /// Base URL of the function collection (agent configuration, tool endpoints, usage),
    /// e.g. http://127.0.0.1:3000 for `hostline up`.
    #[arg(long)]
    pub functions_url: String,
    /// Base URL of Twilio's REST API (transfers).
    #[arg(long, default_value = "https://api.twilio.com")]
    pub twilio_api_base: String,
    /// Public wss:// URL of /twilio/media as Twilio calls it: every upgrade must carry a valid
    /// X-Twilio-Signature over it (needs TWILIO_AUTH_TOKEN). Required unless
    /// --insecure-skip-signature.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Accept WebSocket upgrades without checking X-Twilio-Signature. For local runs only:
    /// anyone who can reach the port can then hold sockets open (the stream token still
    /// guards every call). Logged at WARN on start.
    #[arg(long, conflicts_with = "public_url")]
    pub insecure_skip_signature: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,

    /// Concurrent calls; new calls above it are refused with HTTP 503.
    #[arg(long, default_value_t = 2000)]
    pub max_calls: usize,
    /// End a call after this long without caller audio.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Longest call; a business's own limit can only lower it.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub max_call_seconds: Duration,
    /// After SIGTERM, how long running calls may continue before they are ended.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Send KeepAlive to the agent after this long without audio to it.
    #[arg(long, default_value = "8s", value_parser = parse_duration)]
    pub keepalive_interval: Duration,
    /// Time from the WebSocket upgrade to a `start` frame with a valid stream token.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub start_timeout: Duration,
    /// Sockets waiting for a valid `start` (they hold no call slot); a new upgrade beyond it
    /// closes the oldest waiting one.
    #[arg(long, default_value_t = 64)]
    pub max_pending_streams: usize,
    /// Time for a request to the functions for the agent configuration.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub functions_timeout: Duration,
    /// Time to connect to the agent.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Time for the agent to answer Settings with SettingsApplied.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub settings_timeout: Duration,
    /// Per-tool deadline; after it the agent hears that the lookup took too long.
    #[arg(long, default_value = "8s", value_parser = parse_duration)]
    pub tool_deadline: Duration,
    /// After this, a pending tool call makes the agent say "One moment while I check that."
    #[arg(long, default_value = "1500ms", value_parser = parse_duration)]
    pub tool_filler_after: Duration,
    /// Function calls in flight per call.
    #[arg(long, default_value_t = 8)]
    pub max_tools_in_flight: usize,
    /// Time for the usage report and for the transfer request to Twilio.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub report_timeout: Duration,
    /// Attempts at a call's usage report (idempotent per call SID) before it is given up.
    #[arg(long, default_value_t = 5)]
    pub report_attempts: u32,
    /// Wait before retrying a usage report; doubled before each later attempt.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub report_backoff: Duration,
    /// A socket write that cannot complete in this time ends the call (slow peer).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub write_timeout: Duration,
    /// WebSocket read buffer per socket, bytes.
    #[arg(long, default_value_t = 1024)]
    pub ws_read_buffer: usize,
    /// Largest frame accepted from Twilio, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_twilio_message: usize,
    /// Largest frame accepted from the agent, bytes.
    #[arg(long, default_value_t = 512 * 1024)]
    pub max_agent_message: usize,
    /// Largest media frame sent to Twilio, bytes of µ-law (agent audio is split to fit).
    #[arg(long, default_value_t = 3200)]
    pub max_media_chunk: usize,

    /// Speech recognition model (Deepgram).
    #[arg(long, default_value = "nova-3")]
    pub listen_model: String,
    /// LLM provider type for the agent's thinking.
    #[arg(long, default_value = "open_ai")]
    pub think_provider: String,
    /// LLM model.
    #[arg(long, default_value = "gpt-4o-mini")]
    pub think_model: String,
    /// Speech synthesis provider type.
    #[arg(long, default_value = "deepgram")]
    pub speak_provider: String,
    /// Speech synthesis model (voice).
    #[arg(long, default_value = "aura-2-thalia-en")]
    pub speak_model: String,
    /// Audio format asked of the agent, both directions: `mulaw` (Twilio's µ-law 8 kHz, passed
    /// through untouched) or `linear16[:<rate>]` (16-bit PCM at 8000, 16000 (default), 24000 or
    /// 48000 Hz; the relay decodes and resamples, adding about 10 ms each way).
    #[arg(long, default_value = "mulaw", value_parser = AgentAudio::parse)]
    pub agent_audio: AgentAudio,
}

impl ServeArgs {
    /// The relay's configuration from these flags and the given environment lookup.
    pub fn config(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let required = |name: &str| -> anyhow::Result<String> {
            env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                anyhow::anyhow!("{name} is not set (see `media-relay serve --help`)")
            })
        };
        let secrets = Secrets {
            deepgram_api_key: env("DEEPGRAM_API_KEY").unwrap_or_default(),
            service_token: required("HOSTLINE_SERVICE_TOKEN")?,
            relay_key: required("HOSTLINE_RELAY_KEY")?.into_bytes(),
            twilio_account_sid: env("TWILIO_ACCOUNT_SID").filter(|v| !v.is_empty()),
            twilio_auth_token: env("TWILIO_AUTH_TOKEN").filter(|v| !v.is_empty()),
        };
        for (name, url) in [
            ("--functions-url", &self.functions_url),
            ("--twilio-api-base", &self.twilio_api_base),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!("{name} must be an http:// or https:// URL, not `{url}`");
            }
        }
        if !(self.agent_url.starts_with("ws://") || self.agent_url.starts_with("wss://")) {
            anyhow::bail!(
                "--agent-url must be a ws:// or wss:// URL, not `{}`",
                self.agent_url
            );
        }
        check_signature_settings(
            self.public_url.as_deref(),
            self.insecure_skip_signature,
            secrets.twilio_auth_token.is_some(),
        )?;
        if self.max_calls == 0
            || self.max_tools_in_flight == 0
            || self.max_media_chunk == 0
            || self.max_pending_streams == 0
        {
            anyhow::bail!(
                "--max-calls, --max-pending-streams, --max-tools-in-flight and --max-media-chunk must be at least 1"
            );
        }
        let mut config = Config::new(self.listen, &self.agent_url, &self.functions_url, secrets);
        config.twilio_api_base = self.twilio_api_base.trim_end_matches('/').to_owned();
        config.public_url = self.public_url.clone();
        config.insecure_skip_signature = self.insecure_skip_signature;
        config.limits = Limits {
            max_calls: self.max_calls,
            idle_timeout: self.idle_timeout,
            max_call: self.max_call_seconds,
            drain_timeout: self.drain_timeout,
            keepalive_interval: self.keepalive_interval,
            start_timeout: self.start_timeout,
            max_pending_streams: self.max_pending_streams,
            functions_timeout: self.functions_timeout,
            connect_timeout: self.connect_timeout,
            settings_timeout: self.settings_timeout,
            tool_deadline: self.tool_deadline,
            tool_filler_after: self.tool_filler_after,
            max_tools_in_flight: self.max_tools_in_flight,
            report_timeout: self.report_timeout,
            report_attempts: self.report_attempts.max(1),
            report_backoff: self.report_backoff,
            write_timeout: self.write_timeout,
            ws_read_buffer: self.ws_read_buffer.max(256),
            max_twilio_message: self.max_twilio_message,
            max_agent_message: self.max_agent_message,
            max_media_chunk: self.max_media_chunk,
        };
        config.agent = AgentOptions {
            listen_model: self.listen_model.clone(),
            think_provider: self.think_provider.clone(),
            think_model: self.think_model.clone(),
            speak_provider: self.speak_provider.clone(),
            speak_model: self.speak_model.clone(),
            audio: self.agent_audio,
        };
        Ok(config)
    }
}

/// The relay checks `X-Twilio-Signature` on every upgrade, against `--public-url`; running
/// without the check takes `--insecure-skip-signature`. Also run by [`crate::start`].
pub fn check_signature_settings(
    public_url: Option<&str>,
    insecure_skip_signature: bool,
    have_auth_token: bool,
) -> anyhow::Result<()> {
    match (public_url, insecure_skip_signature) {
        (Some(_), true) => {
            anyhow::bail!("--public-url and --insecure-skip-signature exclude each other")
        }
        (None, false) => anyhow::bail!(
            "refusing to start: --public-url is required (the wss:// URL Twilio streams to; every \
             upgrade's X-Twilio-Signature is checked against it). For a local run without Twilio, \
             pass --insecure-skip-signature"
        ),
        (Some(url), false) => {
            if !(url.starts_with("wss://") || url.starts_with("ws://")) {
                anyhow::bail!("--public-url must be the wss:// URL Twilio streams to, not `{url}`");
            }
            if !have_auth_token {
                anyhow::bail!(
                    "--public-url checks X-Twilio-Signature, which needs TWILIO_AUTH_TOKEN"
                );
            }
            Ok(())
        }
        (None, true) => Ok(()),
    }
}

/// `media-relay bench`.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Concurrent simulated calls.
    #[arg(long, default_value_t = 100)]
    pub calls: usize,
    /// Length of the measurement window, seconds (after all calls are flowing and a warm-up).
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Relay binary to run as the child process (default: this executable).
    #[arg(long)]
    pub relay_bin: Option<PathBuf>,
    /// New calls started per second during ramp-up.
    #[arg(long, default_value_t = 250)]
    pub ramp: usize,
    /// Warm-up after all calls flow, before measuring, seconds.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Share of the time the fake agent speaks (0.01 to 1): it echoes that share of each 2 s of
    /// caller audio back through the relay. 1 (the default) is the worst case, an agent that
    /// never stops talking; real calls take turns.
    #[arg(long, default_value_t = 1.0)]
    pub agent_talk: f64,
    /// Extra flags passed to `media-relay serve` (repeat; e.g. --relay-arg=--workers=1).
    #[arg(long = "relay-arg", allow_hyphen_values = true)]
    pub relay_args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let mut all = vec![
            "media-relay",
            "serve",
            "--functions-url",
            "http://127.0.0.1:3000",
        ];
        if !args.contains(&"--public-url") {
            all.push("--insecure-skip-signature");
        }
        all.extend_from_slice(args);
        match Cli::parse_from(all).command {
            Command::Serve(s) => *s,
            Command::Bench(_) => unreachable!(),
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "HOSTLINE_SERVICE_TOKEN" => Some("svc".into()),
            "HOSTLINE_RELAY_KEY" => Some("key".into()),
            _ => None,
        }
    }

    fn env_with_twilio(name: &str) -> Option<String> {
        match name {
            "TWILIO_AUTH_TOKEN" => Some("twilio".into()),
            other => env(other),
        }
    }

    #[test]
    fn the_signature_check_is_on_unless_explicitly_skipped() {
        let bare = |args: &[&str]| {
            let mut all = vec!["media-relay", "serve", "--functions-url", "http://x:1"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).map(|cli| match cli.command {
                Command::Serve(s) => *s,
                Command::Bench(_) => unreachable!(),
            })
        };
        // Neither flag: refused, with a message that says what to do.
        let e = bare(&[]).unwrap().config(env_with_twilio).unwrap_err();
        assert!(e.to_string().contains("--public-url is required"), "{e}");
        assert!(e.to_string().contains("--insecure-skip-signature"), "{e}");
        // The public URL needs the auth token that keys the signature.
        let public = ["--public-url", "wss://relay.example/twilio/media"];
        assert!(bare(&public).unwrap().config(env).is_err());
        let c = bare(&public).unwrap().config(env_with_twilio).unwrap();
        assert_eq!(c.public_url.as_deref(), Some(public[1]));
        assert!(!c.insecure_skip_signature);
        assert!(
            bare(&["--public-url", "https://relay.example/twilio/media"])
                .unwrap()
                .config(env_with_twilio)
                .is_err()
        );
        // Both at once is a mistake, caught by the parser.
        assert!(bare(&[public[0], public[1], "--insecure-skip-signature"]).is_err());
        let c = bare(&["--insecure-skip-signature"])
            .unwrap()
            .config(env)
            .unwrap();
        assert!(c.insecure_skip_signature && c.public_url.is_none());
    }

    #[test]
    fn flag_defaults_match_the_library_defaults() {
        let config = serve(&[]).config(env).unwrap();
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.agent, AgentOptions::default());
        assert_eq!(config.functions_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn secrets_are_required_and_urls_checked() {
        assert!(serve(&[]).config(|_| None).is_err());
        assert!(serve(&["--agent-url", "http://x"]).config(env).is_err());
        assert!(
            serve(&["--public-url", "wss://relay.example/twilio/media"])
                .config(env)
                .is_err()
        );
        let c = serve(&["--idle-timeout", "250ms", "--max-calls", "3"])
            .config(env)
            .unwrap();
        assert_eq!(c.limits.idle_timeout, Duration::from_millis(250));
        assert_eq!(c.limits.max_calls, 3);
        assert_eq!(c.secrets.relay_key, b"key");
    }

    #[test]
    fn agent_audio_flag() {
        let audio = |flag: &str| {
            Cli::try_parse_from([
                "media-relay",
                "serve",
                "--functions-url",
                "http://127.0.0.1:3000",
                "--agent-audio",
                flag,
            ])
            .map(|cli| match cli.command {
                Command::Serve(s) => s.agent_audio,
                Command::Bench(_) => unreachable!(),
            })
        };
        assert_eq!(audio("mulaw").unwrap(), AgentAudio::Mulaw);
        assert_eq!(
            audio("linear16").unwrap(),
            AgentAudio::Linear16 {
                sample_rate: 16_000
            }
        );
        assert_eq!(
            audio("linear16:48000").unwrap(),
            AgentAudio::Linear16 {
                sample_rate: 48_000
            }
        );
        let bad = audio("linear16:44100").unwrap_err().to_string();
        assert!(bad.contains("44100 Hz is not supported"), "{bad}");
        let bad = audio("opus").unwrap_err().to_string();
        assert!(bad.contains("not an agent audio format"), "{bad}");
        assert!(audio("linear16:fast").is_err());
        assert_eq!(
            serve(&["--agent-audio", "linear16:24000"])
                .config(env)
                .unwrap()
                .agent
                .audio
                .to_string(),
            "linear16:24000"
        );
    }
}
