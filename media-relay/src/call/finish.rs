//! Step 5: close both sockets, count, log, report usage (with retries); and the fallback that
//! hands the caller over when the agent fails.

use super::*;

impl Call {
    /// Step 5.
    pub(super) async fn finish(mut self, ending: Ending) {
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

/// The voice agent failed with the caller on the line. Twilio is told to put them through to
/// the staff line, or to apologise and hang up, before the stream is closed: closing it first
/// would only reach what follows `<Connect>` in the call's TwiML, a generic "cut off" sentence
/// and the end of the call.
pub(super) async fn fall_back(shared: &Shared, ids: &Ids, staff: Option<&str>) {
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
