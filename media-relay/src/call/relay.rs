//! Step 4: the loop over both sockets, the audio paths each way, agent events, the tick.

use super::*;

impl Call {
    pub(super) fn new(p: CallParts, shared: Arc<Shared>, twilio: TwilioSocket) -> Call {
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
    pub(super) async fn relay(&mut self) -> Ending {
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

    pub(super) async fn on_twilio(&mut self, msg: Option<Result<Message, WsError>>) -> Flow {
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
    pub(super) async fn caller_audio(&mut self, payload: &str, t0: Instant) -> Flow {
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

    pub(super) async fn on_agent(&mut self, msg: Option<Result<Message, WsError>>) -> Flow {
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
    pub(super) async fn agent_audio(&mut self, audio: Bytes, t0: Instant) -> Flow {
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
    pub(super) async fn play(&mut self, mulaw: &[u8]) -> Flow {
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

    pub(super) async fn agent_event(&mut self, text: &str) -> Flow {
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

    pub(super) async fn send_agent(&mut self, text: String) -> Flow {
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

    pub(super) async fn on_tick(&mut self) -> Flow {
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

    pub(super) fn write_failed(&self, e: SendError, side: Side) -> Flow {
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

    pub(super) fn flush(&mut self) {
        let c = &self.counters;
        self.totals.frames_in += c.frames_in;
        self.totals.frames_out += c.frames_out;
        self.totals.dropped += c.dropped;
        self.totals.turns_played += c.turns_played;
        self.totals.turns_interrupted += c.turns_interrupted;
        self.shared.metrics.flush(&mut self.counters);
    }
}
