//! Agent turns: barge-in (`clear`), the end of a turn (`mark`), and the marks Twilio echoes.

use super::*;

impl Call {
    /// The caller talks over the agent: Twilio drops what it has buffered, at once.
    pub(super) async fn barge_in(&mut self) -> Flow {
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
    pub(super) async fn end_of_turn(&mut self) -> Flow {
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
    pub(super) fn on_mark(&mut self, name: &str) {
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
}
