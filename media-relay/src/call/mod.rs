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
//!
//! | module | owns |
//! |---|---|
//! | this one | the call's types ([`Call`], its parts and counters), [`run`], socket helpers |
//! | `setup` | steps 1-3: `start`, the token, the replay check, the slot, the agent made ready |
//! | `relay` | step 4's loop and the audio paths both ways, the tick |
//! | `turns` | barge-in, the end of an agent turn, marks |
//! | `tools` | function calls, the filler, transfers to staff |
//! | `finish` | step 5, and the fallback when the agent fails with the caller on the line |

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

mod finish;
mod relay;
mod setup;
mod tools;
mod turns;

use finish::fall_back;
use setup::{prepare, staff_line};

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
