//! Steps 1-3: Twilio's `start`, the stream token, the replay check, the call slot, and the
//! agent made ready while Twilio is still read.

use super::*;

/// Steps 1-3. `None`: the stream was refused or ended during set-up (already closed,
/// counted and logged).
pub(super) async fn prepare(
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
pub(super) async fn await_start(
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
pub(super) fn verify(start: &Start, shared: &Shared) -> Result<StreamToken, Rejection> {
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

pub(super) async fn reject(
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
pub(super) struct SetupFailure {
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
pub(super) enum SetupError {
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
pub(super) async fn setup(
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
pub(super) async fn connect_agent(
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
pub(super) fn staff_line(config: &AgentConfig) -> Option<String> {
    config.transfer_to.clone().filter(|t| !t.trim().is_empty())
}

/// Connects to the agent, sends `Settings` and waits for `SettingsApplied`.
pub(super) async fn ready_agent(
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
