//! Function calls to the tool endpoints (concurrent, deadline, one filler), cancellation,
//! and transfers to staff (DTMF 0 or `transfer_to_staff`).

use super::*;

impl Call {
    pub(super) async fn function_calls(&mut self, calls: Vec<FunctionCall>) -> Flow {
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

    pub(super) async fn on_done(&mut self, done: Result<Done, Aborted>) -> Flow {
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
    pub(super) async fn on_filler(&mut self) -> Flow {
        self.filler = None;
        if self.tool_handles.is_empty() {
            return Flow::Continue;
        }
        debug!(call_sid = %self.ids.call_sid, "tool call slow: filler");
        self.say(FILLER).await
    }

    /// DTMF 0 (`via: None`) or the transfer function.
    pub(super) async fn start_transfer(&mut self, via: Option<(String, String)>) -> Flow {
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
    pub(super) async fn answer(&mut self, id: &str, name: &str, content: &str) -> Flow {
        let message = agent::function_call_response(id, name, content);
        self.send_agent(message).await
    }

    /// `InjectAgentMessage`.
    pub(super) async fn say(&mut self, sentence: &str) -> Flow {
        let message = agent::inject_agent_message(sentence);
        self.send_agent(message).await
    }
}
