//! One call, from Twilio's `start` to the usage report. Everything about a call lives in the
//! one task that runs [`run`]; nothing is shared with other calls except the metrics it folds
//! its counters into and the client pools.
//!
//! 1. **Start.** Wait for `start` (skipping `connected`). Anything else first, a malformed
//!    frame or a binary frame closes the socket with a reason; no agent connection is made.
//! 2. **Verify.** The stream token in `customParameters` must verify with the relay key, be
//!    unexpired and name the `start`'s call SID. The business and line come only from it.
//! 3. **Set up** (while still reading Twilio, whose audio is dropped and counted until the agent
//!    is ready): fetch the agent configuration, open the agent socket, send `Settings`, wait
//!    for `SettingsApplied`.
//! 4. **Relay** with one `select!` over both sockets, the tool calls in flight, the filler
//!    timer and a tick (counters, idle, max length, KeepAlive, shutdown):
//!    caller µ-law → binary to the agent; agent binary → Twilio `media` (both passed through
//!    for a µ-law agent, transcoded for a linear16 one); `UserStartedSpeaking`
//!    → `clear` before any later audio; `AgentAudioDone` → `mark`; marks echoed back tell
//!    played turns from interrupted ones; `FunctionCallRequest` → tool endpoints (concurrent,
//!    deadline, one filler) → `FunctionCallResponse`; DTMF `0` or `transfer_to_staff` →
//!    Twilio REST transfer.
//! 5. **Finish.** Close both sockets, count, log one `call ended` line, post the usage report.
//!
//! A write that cannot complete within `--write-timeout` ends the call: the socket buffers are
//! the only queues, and a peer that does not drain them is not listening anyway.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::future::{AbortHandle, Abortable, Aborted, BoxFuture};
use futures::stream::FuturesUnordered;
use futures::{FutureExt as _, SinkExt as _, StreamExt as _};
use hostline_shared::relay::{
    AgentConfig, CallEnd, StreamToken, TRANSFER_FUNCTION, TokenError, UsageReport, params,
};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tracing::{debug, info, warn};

use crate::agent::{self, AgentSocket, Event, FunctionCall};
use crate::audio::Transcoder;
use crate::config::AgentAudio;
use crate::functions::{FunctionsError, Retry, ToolCall};
use crate::metrics::{CallCounters, end_label};
use crate::pending::Ticket;
use crate::server::{CallSlot, Shared};
use crate::shutdown::{Phase, Shutdown};
use crate::transfer::{self, TransferError};
use crate::twilio::{self, Inbound, Start};

/// Twilio's side of a call.
pub type TwilioSocket = WebSocketStream<TokioIo<Upgraded>>;

/// Said once when a tool call is slow.
pub const FILLER: &str = "One moment while I check that.";
/// The answer to a tool call that missed its deadline.
pub const TOOL_TOO_SLOW: &str = "Sorry, that took too long; please ask again.";
/// The answer to a tool call whose endpoint failed.
pub const TOOL_FAILED: &str =
    "Sorry, I couldn't look that up right now; please try again in a moment.";
/// The answer to a function the business does not offer.
pub const TOOL_UNKNOWN: &str = "Sorry, that isn't something I can do on this line.";
/// The answer when too many function calls are already in flight.
pub const TOOL_BUSY: &str =
    "Sorry, I'm still working on the earlier requests; please ask again in a moment.";
/// Function answer when the business has no staff line.
pub const NO_TRANSFER: &str = "Transfers to the restaurant's staff aren't available. Tell the caller, and keep helping them yourself.";
/// Said on DTMF 0 when the business has no staff line.
pub const NO_TRANSFER_SAY: &str =
    "I'm sorry, I can't transfer you to the restaurant right now, but I'm happy to help.";
/// Function answer when the transfer request failed.
pub const TRANSFER_FAILED: &str =
    "The transfer did not go through. Apologize and keep helping the caller.";
/// Said on DTMF 0 when the transfer request failed.
pub const TRANSFER_FAILED_SAY: &str =
    "I'm sorry, I couldn't transfer you just now. How else can I help?";
/// Marks we send are named `agent-turn-<n>`.
const MARK_PREFIX: &str = "agent-turn-";
/// Frames between ticks past which the tick's checks run inline (see [`Call::relay`]).
const FLOOD_FRAMES: u64 = 1024;
/// Marks awaiting their echo; older ones are forgotten (Twilio echoes them in order).
const MAX_PENDING_MARKS: usize = 32;

/// How a call ended, what the sockets are told.
#[derive(Debug)]
struct Ending {
    /// For the usage report, the metrics and the log.
    by: CallEnd,
    /// Close code for Twilio's socket.
    code: CloseCode,
    /// Sent in the close frame and logged.
    reason: Cow<'static, str>,
}

/// What a handler tells the loop.
enum Flow {
    Continue,
    End(Ending),
}

fn end(by: CallEnd, code: CloseCode, reason: impl Into<Cow<'static, str>>) -> Flow {
    Flow::End(Ending {
        by,
        code,
        reason: reason.into(),
    })
}

/// A stream refused before it reached the agent.
struct Rejection {
    /// Metric label (`relay_calls_rejected_total{reason}`).
    label: &'static str,
    /// Close code for Twilio's socket.
    code: CloseCode,
    /// Sent in the close frame and logged.
    reason: Cow<'static, str>,
}

impl Rejection {
    fn new(
        label: &'static str,
        code: CloseCode,
        reason: impl Into<Cow<'static, str>>,
    ) -> Rejection {
        Rejection {
            label,
            code,
            reason: reason.into(),
        }
    }
}

/// Who the call is, from the `start` frame and the verified token.
#[derive(Debug, Clone)]
struct Ids {
    /// Twilio's call: logs, tool calls (`call.id`), the usage report, the transfer URL.
    call_sid: String,
    /// Named in every frame we send Twilio.
    stream_sid: String,
    /// From the verified token only (the webhook's `AccountSid`): the account of every REST
    /// call about this call (transfer, fallback).
    account_sid: String,
    /// The verified stream token, presented to the functions (agent configuration, usage).
    stream_token: String,
    /// From the verified token only.
    business_id: String,
    /// From the verified token only.
    line: String,
}

/// Runs one call on an upgraded Twilio socket. `ticket` is the socket's place among those
/// waiting for `start`; once the token verifies it is given back and a call slot is taken,
/// which holds the call's place under the cap and in the active-calls gauge until this
/// returns. `done` keeps the drain waiting for this task.
pub(crate) async fn run(
    mut twilio: TwilioSocket,
    shared: Arc<Shared>,
    shutdown: Shutdown,
    ticket: Ticket,
    done: mpsc::Sender<()>,
) {
    // Steps 1-3 and 5 run once per call and are boxed: inline, their state would size the
    // call's task for its whole life. Only step 4's loop stays in it.
    let Some((ready, slot)) = Box::pin(prepare(&mut twilio, &shared, shutdown, ticket, done)).await
    else {
        return;
    };
    // Dropped last: the cap, the gauge and the drain wait all cover the usage report too.
    let _slot = slot;
    let mut call = Call::new(ready, shared, twilio);
    let ending = call.relay().await;
    Box::pin(call.finish(ending)).await;
}

/// Steps 1-3. `None`: the stream was refused or ended during set-up (already closed,
/// counted and logged).
async fn prepare(
    twilio: &mut TwilioSocket,
    shared: &Arc<Shared>,
    mut shutdown: Shutdown,
    mut ticket: Ticket,
    done: mpsc::Sender<()>,
) -> Option<(CallParts, CallSlot)> {
    let start = match await_start(twilio, shared, &mut ticket, &mut shutdown).await {
        Ok(start) => start,
        Err(None) => return None,
        Err(Some(rejection)) => {
            reject(twilio, shared, rejection, None).await;
            return None;
        }
    };
    let token = match verify(&start, shared) {
        Ok(token) => token,
        Err(rejection) => {
            reject(twilio, shared, rejection, Some(&start.call_sid)).await;
            return None;
        }
    };
    // Verified: no longer waiting. A call streams once: a second stream with the same token
    // (a replay) is refused here, and across relays by the functions.
    drop(ticket);
    if !shared.seen.first_stream(
        &start.call_sid,
        token.expires_at,
        jiff::Timestamp::now().as_second(),
    ) {
        let rejection = Rejection::new(
            "stream_replayed",
            CloseCode::Policy,
            "a stream already started for this call",
        );
        reject(twilio, shared, rejection, Some(&start.call_sid)).await;
        return None;
    }
    let Ok(permit) = Arc::clone(&shared.limit).try_acquire_owned() else {
        warn!(call_sid = %start.call_sid, max_calls = shared.config.limits.max_calls, "call refused: at capacity");
        let rejection = Rejection::new("capacity", CloseCode::Again, "at capacity");
        reject(twilio, shared, rejection, Some(&start.call_sid)).await;
        return None;
    };
    let slot = CallSlot::new(&shared.metrics, permit, done);
    let transcoder = match shared.config.agent.audio {
        AgentAudio::Mulaw => None,
        AgentAudio::Linear16 { sample_rate } => match Transcoder::new(sample_rate) {
            Ok(transcoder) => Some(Box::new(transcoder)),
            Err(e) => {
                let reason = format!("agent audio cannot be converted: {e}");
                let rejection = Rejection::new("audio_unsupported", CloseCode::Error, reason);
                reject(twilio, shared, rejection, Some(&start.call_sid)).await;
                return None;
            }
        },
    };
    shared.metrics.calls.inc();
    let ids = Ids {
        call_sid: start.call_sid.clone(),
        stream_sid: start.stream_sid.clone(),
        account_sid: token.account_sid,
        stream_token: start
            .custom_parameters
            .get(params::TOKEN)
            .cloned()
            .unwrap_or_default(),
        business_id: token.business_id,
        line: token.line,
    };
    drop(start);
    info!(call_sid = %ids.call_sid, stream_sid = %ids.stream_sid, business_id = %ids.business_id, "call started");
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let mut counters = CallCounters::default();
    match setup(twilio, shared, &mut shutdown, &ids, &mut counters).await {
        Ok((config, agent, transfer_asked)) => Some((
            CallParts {
                transfer_asked,
                transcoder,
                shutdown,
                ids,
                agent,
                config,
                counters,
                started,
                started_at,
            },
            slot,
        )),
        Err(failure) => {
            if let Some(label) = failure.rejected {
                shared.metrics.reject(label);
            }
            shared.metrics.flush(&mut counters);
            shared.metrics.ended(failure.ending.by);
            let level_warn = failure.rejected.is_some();
            if level_warn {
                warn!(call_sid = %ids.call_sid, business_id = %ids.business_id, reason = %failure.ending.reason,
                    ended_by = end_label(failure.ending.by), "call ended before the agent was ready");
            } else {
                info!(call_sid = %ids.call_sid, business_id = %ids.business_id, reason = %failure.ending.reason,
                    ended_by = end_label(failure.ending.by), "call ended before the agent was ready");
            }
            if let Some(staff) = failure.fallback {
                fall_back(shared, &ids, staff.as_deref()).await;
            }
            let limit = shared.config.limits.write_timeout;
            close(twilio, failure.ending.code, &failure.ending.reason, limit).await;
            None
        }
    }
}

/// Reads until `start`, for at most `--start-timeout`, while no newer socket has evicted this
/// one and the relay is not draining. `Err(None)`: the socket closed first (nothing to answer).
async fn await_start(
    twilio: &mut TwilioSocket,
    shared: &Shared,
    ticket: &mut Ticket,
    shutdown: &mut Shutdown,
) -> Result<Box<Start>, Option<Rejection>> {
    let deadline = tokio::time::Instant::now() + shared.config.limits.start_timeout;
    loop {
        let msg = tokio::select! {
            msg = tokio::time::timeout_at(deadline, twilio.next()) => match msg {
                Ok(msg) => msg,
                Err(_) => {
                    return Err(Some(Rejection::new(
                        "start_timeout",
                        CloseCode::Policy,
                        "no start frame in time",
                    )));
                }
            },
            // Counted when the newer socket was admitted ([`crate::pending`]).
            _ = &mut ticket.evicted => {
                debug!("socket without start evicted by a newer upgrade");
                let limit = shared.config.limits.write_timeout;
                close(twilio, CloseCode::Again, "too many streams waiting for start", limit).await;
                return Err(None);
            }
            () = shutdown.reached(Phase::Draining) => {
                return Err(Some(Rejection::new(
                    "draining",
                    CloseCode::Away,
                    "relay shutting down",
                )));
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                return Err(Some(Rejection::new(
                    "malformed",
                    CloseCode::Unsupported,
                    "binary frames are not part of Media Streams",
                )));
            }
            Some(Ok(Message::Close(_))) | None => {
                shared.metrics.reject("closed_before_start");
                return Err(None);
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                shared.metrics.reject("closed_before_start");
                debug!(error = %e, "stream failed before start");
                return Err(None);
            }
        };
        match twilio::parse(&text) {
            Ok(Inbound::Connected) => continue,
            Ok(Inbound::Start(start)) => return Ok(start),
            Ok(_) => {
                return Err(Some(Rejection::new(
                    "no_start",
                    CloseCode::Policy,
                    "expected a start frame first",
                )));
            }
            Err(e) => {
                return Err(Some(Rejection::new(
                    "malformed",
                    CloseCode::Invalid,
                    format!("malformed frame: {e}"),
                )));
            }
        }
    }
}

/// Checks the stream token against the `start` frame.
fn verify(start: &Start, shared: &Shared) -> Result<StreamToken, Rejection> {
    let Some(token) = start.custom_parameters.get(params::TOKEN) else {
        return Err(Rejection::new(
            "token_missing",
            CloseCode::Policy,
            "missing stream token",
        ));
    };
    let now = jiff::Timestamp::now().as_second();
    StreamToken::verify(
        token,
        &shared.config.secrets.relay_key,
        now,
        &start.call_sid,
    )
    .map_err(|e| {
        let label = match e {
            TokenError::Malformed => "token_malformed",
            TokenError::BadSignature => "token_bad_signature",
            TokenError::Expired => "token_expired",
            TokenError::WrongCall => "token_wrong_call",
            TokenError::NoKey => "token_no_key",
        };
        Rejection::new(label, CloseCode::Policy, e.to_string())
    })
}

async fn reject(
    twilio: &mut TwilioSocket,
    shared: &Shared,
    rejection: Rejection,
    call_sid: Option<&str>,
) {
    shared.metrics.reject(rejection.label);
    warn!(
        call_sid = call_sid.unwrap_or(""),
        reason = %rejection.reason,
        rejected = rejection.label,
        "stream rejected"
    );
    close(
        twilio,
        rejection.code,
        &rejection.reason,
        shared.config.limits.write_timeout,
    )
    .await;
}

/// A call that ended during set-up.
struct SetupFailure {
    /// How the call ended and what Twilio is told.
    ending: Ending,
    /// Counted as a rejection too (the relay refused it, as opposed to the caller leaving).
    rejected: Option<&'static str>,
    /// The agent is down with the caller on the line: [`fall_back`] to this staff line (or to
    /// an apology when `Some(None)`).
    fallback: Option<Option<String>>,
}

/// Why the agent could not be made ready.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("agent configuration: {0}")]
    Config(#[from] FunctionsError),
    #[error(transparent)]
    Connect(#[from] agent::ConnectError),
    #[error("sending Settings failed: {0}")]
    Send(String),
    #[error("the agent refused the settings: {0}")]
    Settings(String),
    #[error("no SettingsApplied within {0:?}")]
    SettingsTimeout(Duration),
    #[error("the agent closed during set-up: {0}")]
    Closed(String),
}

/// Step 3: the agent made ready while Twilio is still read (audio dropped, stop honoured,
/// DTMF 0 remembered: the returned flag).
async fn setup(
    twilio: &mut TwilioSocket,
    shared: &Arc<Shared>,
    shutdown: &mut Shutdown,
    ids: &Ids,
    counters: &mut CallCounters,
) -> Result<(AgentConfig, AgentSocket, bool), SetupFailure> {
    // Boxed: the connect future is large and only lives during set-up; inline it would size
    // the call's task for its whole life.
    type Connecting = Result<(AgentConfig, AgentSocket), (SetupError, Option<String>)>;
    let mut connecting: BoxFuture<'static, Connecting> = connect_agent(
        Arc::clone(shared),
        ids.business_id.clone(),
        ids.stream_token.clone(),
    )
    .boxed();
    let mut transfer_asked = false;
    loop {
        tokio::select! {
            // The agent first: once it is ready, Twilio's next frame belongs to the call.
            biased;
            result = &mut connecting => {
                return result.map(|(config, agent)| (config, agent, transfer_asked)).map_err(|(e, staff)| {
                    let (label, code, reason): (&'static str, CloseCode, &'static str) = match &e {
                        SetupError::Config(FunctionsError::NotFound) => {
                            ("unknown_business", CloseCode::Policy, "unknown business")
                        }
                        // Another stream has this call (a replay, maybe on another relay):
                        // this one is not the caller's, so no fallback touches the call.
                        SetupError::Config(FunctionsError::Refused(_)) => {
                            ("stream_refused", CloseCode::Policy, "stream refused for this call")
                        }
                        SetupError::Config(_) => {
                            ("config_unavailable", CloseCode::Error, "agent configuration unavailable")
                        }
                        _ => {
                            shared.metrics.agent_errors.inc();
                            ("agent_unavailable", CloseCode::Error, "voice agent unavailable")
                        }
                    };
                    warn!(call_sid = %ids.call_sid, business_id = %ids.business_id, error = %e, "agent set-up failed");
                    SetupFailure {
                        ending: Ending { by: CallEnd::Error, code, reason: reason.into() },
                        rejected: Some(label),
                        // A line that is not ours gets nothing; a real caller of a business
                        // whose agent is down gets the staff line or an apology.
                        fallback: (label != "unknown_business" && label != "stream_refused")
                            .then_some(staff),
                    }
                });
            }
            msg = twilio.next() => {
                let failure = |by, code, reason: Cow<'static, str>| SetupFailure {
                    ending: Ending { by, code, reason },
                    rejected: None,
                    fallback: None,
                };
                match msg {
                    Some(Ok(Message::Text(text))) => match twilio::parse(&text) {
                        Ok(Inbound::Media { .. }) => counters.dropped += 1,
                        // Remembered: the transfer starts as soon as the call does.
                        Ok(Inbound::Dtmf { digit }) if digit == "0" => transfer_asked = true,
                        Ok(Inbound::Stop) => {
                            return Err(failure(CallEnd::Caller, CloseCode::Normal, "caller hung up".into()));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            return Err(failure(CallEnd::Error, CloseCode::Invalid, format!("malformed frame: {e}").into()));
                        }
                    },
                    Some(Ok(Message::Binary(_))) => {
                        return Err(failure(
                            CallEnd::Error,
                            CloseCode::Unsupported,
                            "binary frames are not part of Media Streams".into(),
                        ));
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        return Err(failure(CallEnd::Caller, CloseCode::Normal, "caller hung up".into()));
                    }
                    Some(Ok(_)) => {}
                }
            }
            _ = shutdown.reached(Phase::Stopping) => {
                return Err(SetupFailure {
                    ending: Ending { by: CallEnd::Shutdown, code: CloseCode::Away, reason: "relay shutting down".into() },
                    rejected: None,
                    fallback: None,
                });
            }
        }
    }
}

/// Fetches the configuration, connects, sends `Settings`, waits for `SettingsApplied`.
/// On failure, also the business's staff line when the configuration was fetched.
async fn connect_agent(
    shared: Arc<Shared>,
    business_id: String,
    stream_token: String,
) -> Result<(AgentConfig, AgentSocket), (SetupError, Option<String>)> {
    let limits = &shared.config.limits;
    let config = shared
        .functions
        .agent_config(&business_id, &stream_token, limits.functions_timeout)
        .await
        .map_err(|e| (SetupError::Config(e), None))?;
    match ready_agent(&shared, &config, &business_id).await {
        Ok(socket) => Ok((config, socket)),
        Err(e) => {
            let staff = staff_line(&config);
            Err((e, staff))
        }
    }
}

/// The business's staff line, if it has one.
fn staff_line(config: &AgentConfig) -> Option<String> {
    config.transfer_to.clone().filter(|t| !t.trim().is_empty())
}

/// Connects to the agent, sends `Settings` and waits for `SettingsApplied`.
async fn ready_agent(
    shared: &Shared,
    config: &AgentConfig,
    business_id: &str,
) -> Result<AgentSocket, SetupError> {
    let limits = &shared.config.limits;
    let mut socket = agent::connect(
        &shared.config.agent_url,
        &shared.config.secrets.deepgram_api_key,
        &shared.agent_tls,
        shared.agent_ws,
        limits.connect_timeout,
    )
    .await?;
    let settings = agent::settings(config, &shared.config.agent);
    send_within(&mut socket, Message::text(settings), limits.write_timeout)
        .await
        .map_err(|e| SetupError::Send(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + limits.settings_timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| SetupError::SettingsTimeout(limits.settings_timeout))?;
        match msg {
            Some(Ok(Message::Text(text))) => match agent::parse(&text) {
                Ok(Event::SettingsApplied) => return Ok(socket),
                Ok(Event::Error { description, code }) => {
                    return Err(SetupError::Settings(format!("{code}: {description}")));
                }
                Ok(Event::Warning { description, code }) => {
                    warn!(business_id = %business_id, code = %code, description = %description, "agent warning during set-up");
                }
                _ => {}
            },
            Some(Ok(Message::Close(frame))) => {
                return Err(SetupError::Closed(
                    frame.map(|f| f.to_string()).unwrap_or_default(),
                ));
            }
            None => return Err(SetupError::Closed(String::new())),
            Some(Err(e)) => return Err(SetupError::Closed(e.to_string())),
            // Audio before SettingsApplied has nowhere to go yet.
            Some(Ok(_)) => {}
        }
    }
}

/// A finished tool call or transfer.
enum Done {
    Tool {
        id: String,
        name: String,
        content: String,
        outcome: &'static str,
    },
    Transfer {
        result: Result<(), TransferError>,
        /// The function call that asked, to answer it; `None` for DTMF.
        via: Option<(String, String)>,
    },
}

/// A mark we sent and its fate.
#[derive(Debug, Clone, Copy)]
struct PendingMark {
    /// The `n` of `agent-turn-<n>`.
    turn: u32,
    /// A `clear` went out after it: its echo means flushed, not played.
    cleared: bool,
}

/// Whole-call totals for the usage report and the last log line.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    frames_in: u64,
    frames_out: u64,
    dropped: u64,
    turns_played: u64,
    turns_interrupted: u64,
    function_calls: u32,
    barge_ins: u32,
}

/// What set-up hands to the relay loop (see the fields of [`Call`] for why each is kept).
struct CallParts {
    transfer_asked: bool,
    /// Set for a linear16 agent; `None` passes audio through.
    transcoder: Option<Box<Transcoder>>,
    shutdown: Shutdown,
    ids: Ids,
    agent: AgentSocket,
    /// Read once into the call's tool table and transfer line, then dropped.
    config: AgentConfig,
    /// Frames dropped during set-up, carried into the call's counts.
    counters: CallCounters,
    started: Instant,
    started_at: jiff::Timestamp,
}

/// A call whose agent is ready: the state of step 4.
struct Call {
    /// Limits, clients and metrics shared by all calls.
    shared: Arc<Shared>,
    /// Checked on each tick for the end of the drain.
    shutdown: Shutdown,
    ids: Ids,
    /// The two sockets this task drives; nothing else reads or writes them.
    twilio: TwilioSocket,
    agent: AgentSocket,
    /// Function name → tool endpoint path. The prompt and greeting are not kept: they were
    /// only needed for `Settings`, and a long prompt would sit in memory all call.
    tools: Vec<(String, String)>,
    /// The call's tool credential (from the agent configuration), sent with every tool call.
    tool_token: Arc<str>,
    /// The staff line for DTMF 0 and `transfer_to_staff`.
    transfer_to: Option<String>,
    /// Writes Twilio frames for this stream.
    writer: twilio::Writer,
    /// Reused buffer: caller audio decoded from base64.
    decoded: BytesMut,
    /// Reused buffer: agent audio encoded into a Twilio `media` frame.
    encoded: BytesMut,
    /// Audio conversion for a linear16 agent (boxed: its buffers and filter state are only
    /// paid for by calls that need them); `None` for µ-law passthrough.
    transcoder: Option<Box<Transcoder>>,
    /// Counted since the last tick, folded into the metrics then.
    counters: CallCounters,
    /// Whole-call sums of the counters, for the usage report and the last log line.
    totals: Totals,
    /// Drives timers, counter flushes and the shutdown check.
    tick: Interval,
    /// For the call's length (monotonic).
    started: Instant,
    /// For the usage report (wall clock).
    started_at: jiff::Timestamp,
    /// The call's end by the maximum length.
    deadline: Instant,
    /// For the idle limit.
    last_caller_audio: Instant,
    /// Audio or KeepAlive last sent to the agent, for KeepAlive.
    last_to_agent: Instant,
    /// Agent turns that had audio, for mark names.
    turn: u32,
    /// Agent audio went to Twilio since the last mark or clear.
    turn_has_audio: bool,
    /// Marks sent and not yet echoed, oldest first.
    marks: VecDeque<PendingMark>,
    /// Tool calls and the transfer in flight, polled by the call's own task.
    pending: FuturesUnordered<Abortable<BoxFuture<'static, Done>>>,
    /// Abort handles of tool calls by function call id, for `FunctionCallCancelled`.
    tool_handles: Vec<(String, AbortHandle)>,
    /// Fires the filler while tool calls are slow; armed when the first one starts.
    filler: Option<Pin<Box<Sleep>>>,
    /// A transfer request is out: a second one is not started.
    transferring: bool,
    /// DTMF 0 came during set-up: transfer first thing.
    transfer_asked: bool,
}

impl Call {
    fn new(p: CallParts, shared: Arc<Shared>, twilio: TwilioSocket) -> Call {
        let limits = &shared.config.limits;
        let mut max = limits.max_call;
        if p.config.max_call_seconds > 0 {
            max = max.min(Duration::from_secs(u64::from(p.config.max_call_seconds)));
        }
        let mut tick = tokio::time::interval(limits.tick());
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let now = Instant::now();
        Call {
            tool_token: Arc::from(p.config.tool_token.as_str()),
            tools: p
                .config
                .functions
                .iter()
                .map(|f| (f.name.clone(), f.path.clone()))
                .collect(),
            transfer_to: staff_line(&p.config),
            writer: twilio::Writer::new(&p.ids.stream_sid),
            decoded: BytesMut::new(),
            encoded: BytesMut::new(),
            transcoder: p.transcoder,
            counters: p.counters,
            totals: Totals::default(),
            tick,
            started: p.started,
            started_at: p.started_at,
            deadline: p.started + max,
            last_caller_audio: now,
            last_to_agent: now,
            turn: 0,
            turn_has_audio: false,
            marks: VecDeque::new(),
            pending: FuturesUnordered::new(),
            tool_handles: Vec::new(),
            filler: None,
            transferring: false,
            transfer_asked: p.transfer_asked,
            shared,
            shutdown: p.shutdown,
            ids: p.ids,
            twilio,
            agent: p.agent,
        }
    }

    /// Step 4: until one side ends, a limit is reached or the relay stops. Only the audio
    /// paths are awaited inline; everything else is boxed so this loop's state (which lives in
    /// the task for the whole call) stays small.
    async fn relay(&mut self) -> Ending {
        if std::mem::take(&mut self.transfer_asked)
            && let Flow::End(ending) = Box::pin(self.start_transfer(None)).await
        {
            return ending;
        }
        loop {
            // Biased: a ready socket is served without polling the timers (which showed up in
            // profiles when polled on every frame). Caller audio first: it is small and
            // periodic, while agent audio comes in bursts.
            let mut flow = tokio::select! {
                biased;
                msg = self.twilio.next() => self.on_twilio(msg).await,
                msg = self.agent.next() => self.on_agent(msg).await,
                Some(done) = self.pending.next(), if !self.pending.is_empty() => Box::pin(self.on_done(done)).await,
                () = wait(&mut self.filler), if self.filler.is_some() => Box::pin(self.on_filler()).await,
                _ = self.tick.tick() => Box::pin(self.on_tick()).await,
            };
            // A peer that never lets its socket go quiet would starve the tick (and with it the
            // limits); at 50 frames a second the tick always comes first.
            if matches!(flow, Flow::Continue)
                && self.counters.frames_in + self.counters.frames_out >= FLOOD_FRAMES
            {
                flow = Box::pin(self.on_tick()).await;
            }
            if let Flow::End(ending) = flow {
                return ending;
            }
        }
    }

    async fn on_twilio(&mut self, msg: Option<Result<Message, WsError>>) -> Flow {
        let t0 = Instant::now();
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                return end(
                    CallEnd::Error,
                    CloseCode::Unsupported,
                    "binary frames are not part of Media Streams",
                );
            }
            Some(Ok(Message::Close(_))) | None => {
                return end(
                    CallEnd::Caller,
                    CloseCode::Normal,
                    "stream closed by Twilio",
                );
            }
            Some(Ok(_)) => return Flow::Continue,
            Some(Err(e)) => return socket_failed(e, CallEnd::Caller),
        };
        match twilio::parse(&text) {
            Ok(Inbound::Media { payload }) => self.caller_audio(&payload, t0).await,
            Ok(Inbound::Stop) => end(CallEnd::Caller, CloseCode::Normal, "caller hung up"),
            Ok(Inbound::Mark { name }) => {
                self.on_mark(&name);
                Flow::Continue
            }
            Ok(Inbound::Dtmf { digit }) if digit == "0" => {
                Box::pin(self.start_transfer(None)).await
            }
            Ok(Inbound::Dtmf { digit }) => {
                debug!(call_sid = %self.ids.call_sid, digit = %digit, "dtmf ignored");
                Flow::Continue
            }
            Ok(Inbound::Start(_)) => {
                warn!(call_sid = %self.ids.call_sid, "second start frame ignored");
                Flow::Continue
            }
            Ok(Inbound::Connected) | Ok(Inbound::Other(_)) => Flow::Continue,
            Err(e) => {
                warn!(call_sid = %self.ids.call_sid, error = %e, "malformed frame from Twilio");
                end(
                    CallEnd::Error,
                    CloseCode::Invalid,
                    format!("malformed frame: {e}"),
                )
            }
        }
    }

    /// Caller audio: base64 → the same bytes (or, for a linear16 agent, the same audio as
    /// linear16 at its rate), binary, to the agent.
    async fn caller_audio(&mut self, payload: &str, t0: Instant) -> Flow {
        if twilio::decode_payload(payload, &mut self.decoded).is_err() {
            warn!(call_sid = %self.ids.call_sid, "media payload is not base64");
            return end(
                CallEnd::Error,
                CloseCode::Invalid,
                "media payload is not base64",
            );
        }
        self.last_caller_audio = t0;
        let audio = match self.transcoder.as_mut() {
            None => self.decoded.split().freeze(),
            Some(transcoder) => {
                let pcm = transcoder.twilio_to_agent(&self.decoded);
                if pcm.is_empty() {
                    // Part of a frame: it goes out with the rest.
                    return Flow::Continue;
                }
                Bytes::copy_from_slice(pcm)
            }
        };
        let limit = self.shared.config.limits.write_timeout;
        if let Err(e) = send_within(&mut self.agent, Message::Binary(audio), limit).await {
            return self.write_failed(e, Side::Agent);
        }
        self.last_to_agent = t0;
        self.counters.frames_in += 1;
        self.counters.latency.observe(t0.elapsed());
        Flow::Continue
    }

    async fn on_agent(&mut self, msg: Option<Result<Message, WsError>>) -> Flow {
        let t0 = Instant::now();
        match msg {
            Some(Ok(Message::Binary(audio))) => self.agent_audio(audio, t0).await,
            Some(Ok(Message::Text(text))) => Box::pin(self.agent_event(&text)).await,
            Some(Ok(Message::Close(frame))) => {
                info!(call_sid = %self.ids.call_sid, close = %frame.map(|f| f.to_string()).unwrap_or_default(), "agent closed");
                end(
                    CallEnd::Agent,
                    CloseCode::Normal,
                    "the agent ended the call",
                )
            }
            None => end(
                CallEnd::Agent,
                CloseCode::Normal,
                "the agent ended the call",
            ),
            Some(Ok(_)) => Flow::Continue,
            Some(Err(e)) => socket_failed(e, CallEnd::Agent),
        }
    }

    /// Agent audio: the same bytes (or, from a linear16 agent, the audio as µ-law 8 kHz),
    /// base64, in Twilio `media` frames.
    async fn agent_audio(&mut self, audio: Bytes, t0: Instant) -> Flow {
        let flow = match self.transcoder.take() {
            None => self.play(&audio).await,
            Some(mut transcoder) => {
                let flow = self.play(transcoder.agent_to_twilio(&audio)).await;
                self.transcoder = Some(transcoder);
                flow
            }
        };
        if !audio.is_empty() {
            self.turn_has_audio = true;
        }
        self.counters.latency.observe(t0.elapsed());
        flow
    }

    /// µ-law audio to Twilio, in `media` frames of at most `--max-media-chunk` bytes.
    async fn play(&mut self, mulaw: &[u8]) -> Flow {
        let limits = &self.shared.config.limits;
        let (chunk, limit) = (limits.max_media_chunk, limits.write_timeout);
        for piece in mulaw.chunks(chunk) {
            let frame = self.writer.media(&mut self.encoded, piece);
            if let Err(e) = send_within(&mut self.twilio, Message::Text(frame), limit).await {
                return self.write_failed(e, Side::Twilio);
            }
            self.counters.frames_out += 1;
        }
        Flow::Continue
    }

    async fn agent_event(&mut self, text: &str) -> Flow {
        let event = match agent::parse(text) {
            Ok(event) => event,
            Err(e) => {
                debug!(call_sid = %self.ids.call_sid, error = %e, "unreadable agent message ignored");
                return Flow::Continue;
            }
        };
        match event {
            Event::UserStartedSpeaking => self.barge_in().await,
            Event::AgentAudioDone => self.end_of_turn().await,
            Event::FunctionCallRequest { functions } => self.function_calls(functions).await,
            Event::FunctionCallCancelled { functions } => {
                for id in agent::cancelled_ids(&functions) {
                    self.tool_handles.retain(|(pending, handle)| {
                        if *pending == id {
                            handle.abort();
                            false
                        } else {
                            true
                        }
                    });
                }
                Flow::Continue
            }
            Event::Error { description, code } => {
                self.shared.metrics.agent_errors.inc();
                warn!(call_sid = %self.ids.call_sid, code = %code, description = %description, "agent error");
                end(CallEnd::Agent, CloseCode::Error, "the voice agent failed")
            }
            Event::Warning { description, code } => {
                warn!(call_sid = %self.ids.call_sid, code = %code, description = %description, "agent warning");
                Flow::Continue
            }
            Event::InjectionRefused { message } => {
                debug!(call_sid = %self.ids.call_sid, message = %message, "agent refused an injected message");
                Flow::Continue
            }
            // The caller's words are not logged.
            Event::ConversationText { role, .. } => {
                debug!(call_sid = %self.ids.call_sid, role = %role, "conversation text");
                Flow::Continue
            }
            Event::Welcome | Event::SettingsApplied | Event::Other => {
                debug!(call_sid = %self.ids.call_sid, message = %text.chars().take(80).collect::<String>(), "agent message ignored");
                Flow::Continue
            }
        }
    }

    /// The caller talks over the agent: Twilio drops what it has buffered, at once.
    async fn barge_in(&mut self) -> Flow {
        if let Some(transcoder) = self.transcoder.as_mut() {
            // Speech held back in the resampler belongs to the interrupted reply.
            transcoder.clear_to_twilio();
        }
        let clear = self.writer.clear();
        if let Err(e) = send_within(
            &mut self.twilio,
            Message::text(clear),
            self.shared.config.limits.write_timeout,
        )
        .await
        {
            return self.write_failed(e, Side::Twilio);
        }
        for mark in &mut self.marks {
            mark.cleared = true;
        }
        if self.turn_has_audio {
            // Cut off before its end: no mark was sent for it.
            self.turn_has_audio = false;
            self.counters.turns_interrupted += 1;
        }
        self.totals.barge_ins += 1;
        debug!(call_sid = %self.ids.call_sid, "barge-in: cleared Twilio's buffer");
        Flow::Continue
    }

    /// The agent's turn is fully sent: a mark tells us when it has been played.
    async fn end_of_turn(&mut self) -> Flow {
        if !self.turn_has_audio {
            return Flow::Continue;
        }
        if let Some(mut transcoder) = self.transcoder.take() {
            // The end of the sentence, held back by framing and the filter, goes before the mark.
            let flow = self.play(transcoder.flush_to_twilio()).await;
            self.transcoder = Some(transcoder);
            if let Flow::End(_) = flow {
                return flow;
            }
        }
        self.turn_has_audio = false;
        self.turn += 1;
        let mark = self.writer.mark(&format!("{MARK_PREFIX}{}", self.turn));
        if let Err(e) = send_within(
            &mut self.twilio,
            Message::text(mark),
            self.shared.config.limits.write_timeout,
        )
        .await
        {
            return self.write_failed(e, Side::Twilio);
        }
        if self.marks.len() == MAX_PENDING_MARKS {
            self.marks.pop_front();
        }
        self.marks.push_back(PendingMark {
            turn: self.turn,
            cleared: false,
        });
        Flow::Continue
    }

    /// Twilio echoed a mark: that turn was played (or flushed by a `clear`).
    fn on_mark(&mut self, name: &str) {
        let Some(turn) = name
            .strip_prefix(MARK_PREFIX)
            .and_then(|n| n.parse::<u32>().ok())
        else {
            debug!(call_sid = %self.ids.call_sid, mark = %name, "unknown mark");
            return;
        };
        let Some(at) = self.marks.iter().position(|m| m.turn == turn) else {
            return;
        };
        if let Some(mark) = self.marks.remove(at) {
            if mark.cleared {
                self.counters.turns_interrupted += 1;
            } else {
                self.counters.turns_played += 1;
                debug!(call_sid = %self.ids.call_sid, turn, "agent turn played");
            }
        }
    }

    async fn function_calls(&mut self, calls: Vec<FunctionCall>) -> Flow {
        let limits = self.shared.config.limits.clone();
        for call in calls {
            if !call.client_side {
                continue;
            }
            self.totals.function_calls += 1;
            if call.name == TRANSFER_FUNCTION {
                if let Flow::End(ending) = self.start_transfer(Some((call.id, call.name))).await {
                    return Flow::End(ending);
                }
                continue;
            }
            let answer_now = if self.tool_handles.len() >= limits.max_tools_in_flight {
                Some((TOOL_BUSY, "busy"))
            } else if !self.tools.iter().any(|(name, _)| *name == call.name) {
                warn!(call_sid = %self.ids.call_sid, function = %call.name, "agent called an unknown function");
                Some((TOOL_UNKNOWN, "unknown"))
            } else {
                None
            };
            if let Some((content, outcome)) = answer_now {
                self.shared.metrics.tool_call(outcome);
                if let Flow::End(ending) = self.answer(&call.id, &call.name, content).await {
                    return Flow::End(ending);
                }
                continue;
            }
            let path = self
                .tools
                .iter()
                .find(|(name, _)| *name == call.name)
                .map(|(_, path)| path.clone())
                .unwrap_or_default();
            let shared = Arc::clone(&self.shared);
            let (call_sid, line) = (self.ids.call_sid.clone(), self.ids.line.clone());
            let tool_token = Arc::clone(&self.tool_token);
            let arguments = call.arguments();
            let (id, name) = (call.id, call.name);
            let handle_id = id.clone();
            let deadline = limits.tool_deadline;
            let work = async move {
                let request = ToolCall {
                    call_sid: &call_sid,
                    line: &line,
                    id: &id,
                    name: &name,
                    arguments,
                };
                let (content, outcome) = match tokio::time::timeout(
                    deadline,
                    shared.functions.tool_call(&path, &tool_token, &request),
                )
                .await
                {
                    Ok(Ok(content)) => (content, "ok"),
                    Ok(Err(e)) => {
                        warn!(call_sid = %call_sid, function = %name, error = %e, "tool call failed");
                        (TOOL_FAILED.to_owned(), "error")
                    }
                    Err(_) => {
                        warn!(call_sid = %call_sid, function = %name, deadline = ?deadline, "tool call missed its deadline");
                        (TOOL_TOO_SLOW.to_owned(), "timeout")
                    }
                };
                Done::Tool {
                    id,
                    name,
                    content,
                    outcome,
                }
            };
            let (work, handle) = futures::future::abortable(work.boxed());
            self.pending.push(work);
            self.tool_handles.push((handle_id, handle));
        }
        if !self.tool_handles.is_empty() && self.filler.is_none() {
            self.filler = Some(Box::pin(tokio::time::sleep(limits.tool_filler_after)));
        }
        Flow::Continue
    }

    async fn on_done(&mut self, done: Result<Done, Aborted>) -> Flow {
        match done {
            // Cancelled by the agent: not answered.
            Err(Aborted) => {
                if self.tool_handles.is_empty() {
                    self.filler = None;
                }
                Flow::Continue
            }
            Ok(Done::Tool {
                id,
                name,
                content,
                outcome,
            }) => {
                self.tool_handles.retain(|(pending, _)| *pending != id);
                if self.tool_handles.is_empty() {
                    self.filler = None;
                }
                self.shared.metrics.tool_call(outcome);
                self.answer(&id, &name, &content).await
            }
            Ok(Done::Transfer { result, via }) => match result {
                Ok(()) => {
                    self.shared.metrics.transfer("ok");
                    info!(call_sid = %self.ids.call_sid, "call transferred to staff");
                    end(
                        CallEnd::Transferred,
                        CloseCode::Normal,
                        "transferred to staff",
                    )
                }
                Err(e) => {
                    self.shared.metrics.transfer("failed");
                    warn!(call_sid = %self.ids.call_sid, error = %e, "transfer failed");
                    self.transferring = false;
                    match via {
                        Some((id, name)) => self.answer(&id, &name, TRANSFER_FAILED).await,
                        None => self.say(TRANSFER_FAILED_SAY).await,
                    }
                }
            },
        }
    }

    /// The filler is due: tool calls are still out.
    async fn on_filler(&mut self) -> Flow {
        self.filler = None;
        if self.tool_handles.is_empty() {
            return Flow::Continue;
        }
        debug!(call_sid = %self.ids.call_sid, "tool call slow: filler");
        self.say(FILLER).await
    }

    /// DTMF 0 (`via: None`) or the transfer function.
    async fn start_transfer(&mut self, via: Option<(String, String)>) -> Flow {
        if self.transferring {
            return match via {
                Some((id, name)) => {
                    self.answer(&id, &name, "The transfer is already under way.")
                        .await
                }
                None => Flow::Continue,
            };
        }
        let Some(to) = self.transfer_to.clone() else {
            self.shared.metrics.transfer("unavailable");
            info!(call_sid = %self.ids.call_sid, "transfer asked for, but the business has no staff line");
            return match via {
                Some((id, name)) => self.answer(&id, &name, NO_TRANSFER).await,
                None => self.say(NO_TRANSFER_SAY).await,
            };
        };
        self.transferring = true;
        info!(call_sid = %self.ids.call_sid, by = if via.is_some() { "function" } else { "dtmf" }, "transferring to staff");
        let shared = Arc::clone(&self.shared);
        let (account, call) = (self.ids.account_sid.clone(), self.ids.call_sid.clone());
        let limit = shared.config.limits.report_timeout;
        let work = async move {
            let result = shared
                .twilio_rest
                .transfer(&account, &call, &to, limit)
                .await;
            Done::Transfer { result, via }
        };
        // Never aborted: the handle is dropped.
        let (work, _) = futures::future::abortable(work.boxed());
        self.pending.push(work);
        Flow::Continue
    }

    /// `FunctionCallResponse`.
    async fn answer(&mut self, id: &str, name: &str, content: &str) -> Flow {
        let message = agent::function_call_response(id, name, content);
        self.send_agent(message).await
    }

    /// `InjectAgentMessage`.
    async fn say(&mut self, sentence: &str) -> Flow {
        let message = agent::inject_agent_message(sentence);
        self.send_agent(message).await
    }

    async fn send_agent(&mut self, text: String) -> Flow {
        match send_within(
            &mut self.agent,
            Message::text(text),
            self.shared.config.limits.write_timeout,
        )
        .await
        {
            Ok(()) => Flow::Continue,
            Err(e) => self.write_failed(e, Side::Agent),
        }
    }

    async fn on_tick(&mut self) -> Flow {
        self.flush();
        let limits = &self.shared.config.limits;
        let now = Instant::now();
        if self.shutdown.is_stopping() {
            return end(CallEnd::Shutdown, CloseCode::Away, "relay shutting down");
        }
        if now >= self.deadline {
            return end(
                CallEnd::MaxDuration,
                CloseCode::Normal,
                "maximum call length reached",
            );
        }
        if now.duration_since(self.last_caller_audio) >= limits.idle_timeout {
            return end(CallEnd::Idle, CloseCode::Normal, "no audio from the caller");
        }
        if now.duration_since(self.last_to_agent) >= limits.keepalive_interval {
            self.last_to_agent = now;
            return self.send_agent(agent::KEEP_ALIVE.to_owned()).await;
        }
        Flow::Continue
    }

    fn write_failed(&self, e: SendError, side: Side) -> Flow {
        match e {
            SendError::Timeout => {
                warn!(call_sid = %self.ids.call_sid, peer = side.name(), "peer is not reading: ending the call");
                end(
                    CallEnd::Error,
                    CloseCode::Again,
                    format!("{} is not reading", side.name()),
                )
            }
            SendError::Ws(e) => socket_failed(e, side.ends_as()),
        }
    }

    fn flush(&mut self) {
        let c = &self.counters;
        self.totals.frames_in += c.frames_in;
        self.totals.frames_out += c.frames_out;
        self.totals.dropped += c.dropped;
        self.totals.turns_played += c.turns_played;
        self.totals.turns_interrupted += c.turns_interrupted;
        self.shared.metrics.flush(&mut self.counters);
    }

    /// Step 5.
    async fn finish(mut self, ending: Ending) {
        let limits = self.shared.config.limits.clone();
        // Tool calls still out are abandoned; their requests are dropped with them.
        self.pending.clear();
        self.tool_handles.clear();
        if ending.by == CallEnd::Agent && !self.transferring {
            fall_back(&self.shared, &self.ids, self.transfer_to.as_deref()).await;
        }
        close(
            &mut self.twilio,
            ending.code,
            &ending.reason,
            limits.write_timeout,
        )
        .await;
        close(
            &mut self.agent,
            CloseCode::Normal,
            "call ended",
            limits.write_timeout,
        )
        .await;
        self.flush();
        self.shared.metrics.ended(ending.by);
        let elapsed = self.started.elapsed();
        let seconds = u32::try_from(elapsed.as_millis().div_ceil(1000)).unwrap_or(u32::MAX);
        let t = self.totals;
        info!(
            call_sid = %self.ids.call_sid,
            business_id = %self.ids.business_id,
            ended_by = end_label(ending.by),
            reason = %ending.reason,
            seconds,
            frames_in = t.frames_in,
            frames_out = t.frames_out,
            frames_dropped = t.dropped,
            function_calls = t.function_calls,
            agent_turns = self.turn,
            turns_played = t.turns_played,
            turns_interrupted = t.turns_interrupted,
            barge_ins = t.barge_ins,
            "call ended"
        );
        let report = UsageReport {
            business_id: self.ids.business_id.clone(),
            call_sid: self.ids.call_sid.clone(),
            started_at: self.started_at.to_string(),
            ended_at: jiff::Timestamp::now().to_string(),
            seconds,
            frames_in: t.frames_in,
            frames_out: t.frames_out,
            function_calls: t.function_calls,
            turns_played: u32::try_from(t.turns_played).unwrap_or(u32::MAX),
            turns_interrupted: u32::try_from(t.turns_interrupted).unwrap_or(u32::MAX),
            barge_ins: t.barge_ins,
            ended_by: ending.by,
        };
        let shared = Arc::clone(&self.shared);
        let (call_sid, stream_token) = (
            self.ids.call_sid.clone(),
            std::mem::take(&mut self.ids.stream_token),
        );
        // The sockets go before the report's wait.
        drop(self);
        // Boxed for the same reason as the set-up future. Retried: the report is idempotent
        // per call SID (the functions charge it once), and a lost one is unbilled time.
        let retry = Retry {
            attempts: limits.report_attempts,
            backoff: limits.report_backoff,
        };
        let reporting = Box::pin(async {
            shared
                .functions
                .report_usage_with_retries(&report, &stream_token, limits.report_timeout, retry)
                .await
        });
        match reporting.await {
            (attempts, Ok(())) => {
                shared.metrics.usage_report("ok");
                if attempts > 1 {
                    info!(call_sid = %call_sid, attempts, "usage report accepted after retries");
                }
            }
            (attempts, Err(e)) => {
                shared.metrics.usage_report("failed");
                warn!(call_sid = %call_sid, attempts, error = %e, "usage report failed");
            }
        }
    }
}

/// Which socket.
#[derive(Clone, Copy)]
enum Side {
    Twilio,
    Agent,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Twilio => "twilio",
            Side::Agent => "agent",
        }
    }

    fn ends_as(self) -> CallEnd {
        match self {
            Side::Twilio => CallEnd::Caller,
            Side::Agent => CallEnd::Agent,
        }
    }
}

/// A read or write error on a socket: a closed connection is the peer leaving; anything else
/// (oversized or invalid frames) is a protocol error.
fn socket_failed(e: WsError, by: CallEnd) -> Flow {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_) => {
            end(by, CloseCode::Normal, "connection closed")
        }
        WsError::Capacity(e) => end(
            CallEnd::Error,
            CloseCode::Size,
            format!("frame too large: {e}"),
        ),
        e => end(
            CallEnd::Error,
            CloseCode::Protocol,
            format!("protocol error: {e}"),
        ),
    }
}

/// The voice agent failed with the caller on the line. Twilio is told to put them through to
/// the staff line, or to apologise and hang up, before the stream is closed: closing it first
/// would only reach what follows `<Connect>` in the call's TwiML, a generic "cut off" sentence
/// and the end of the call.
async fn fall_back(shared: &Shared, ids: &Ids, staff: Option<&str>) {
    if !shared.twilio_rest.configured() {
        shared.metrics.fallback("not_configured");
        warn!(call_sid = %ids.call_sid, "agent failed and Twilio credentials are not set: the call falls through to its TwiML");
        return;
    }
    let twiml = transfer::fallback_twiml(staff);
    let limit = shared.config.limits.report_timeout;
    match shared
        .twilio_rest
        .update(&ids.account_sid, &ids.call_sid, &twiml, limit)
        .await
    {
        Ok(()) => {
            let outcome = if staff.is_some() { "staff" } else { "apology" };
            shared.metrics.fallback(outcome);
            info!(call_sid = %ids.call_sid, fallback = outcome, "agent failed: caller handed over");
        }
        Err(e) => {
            shared.metrics.fallback("failed");
            warn!(call_sid = %ids.call_sid, error = %e, "agent failed and the fallback was refused");
        }
    }
}

/// Waits for an armed timer (the branch is disabled when there is none).
async fn wait(timer: &mut Option<Pin<Box<Sleep>>>) {
    match timer {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Why a send did not complete.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("the peer did not take the frame in time")]
    Timeout,
    #[error(transparent)]
    Ws(#[from] WsError),
}

/// Sends one message, giving up after `limit`. The common case (the kernel takes the frame at
/// once) completes on the first poll and arms no timer.
pub(crate) async fn send_within<S>(
    ws: &mut WebSocketStream<S>,
    msg: Message,
    limit: Duration,
) -> Result<(), SendError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut sending = pin!(ws.send(msg));
    if let Poll::Ready(result) = poll_fn(|cx| Poll::Ready(sending.as_mut().poll(cx))).await {
        return result.map_err(SendError::Ws);
    }
    match tokio::time::timeout(limit, sending).await {
        Ok(result) => result.map_err(SendError::Ws),
        Err(_) => Err(SendError::Timeout),
    }
}

/// Sends a close frame (best effort, bounded) and leaves the socket to be dropped.
async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &str, limit: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A close reason is at most 123 bytes.
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..cut]),
    };
    let _ = tokio::time::timeout(limit, ws.close(Some(frame))).await;
}
