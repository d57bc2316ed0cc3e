//! Keeping a work record small. The print queue and the outbox are each one record per
//! business, rewritten by every checkout with compare-and-swap, so their size is every
//! order's cost: [`bound`] caps what waits and how much history stays.

/// One entry of a bounded record.
pub(crate) trait Entry {
    /// When it finished (printed, sent, failed, cancelled), if it has.
    fn finished_at(&self) -> Option<jiff::Timestamp>;
    /// When it was queued, if it is still waiting (not finished, and nobody has it now).
    fn waiting_since(&self) -> Option<jiff::Timestamp>;
    /// Mark it failed at `now` for `reason`.
    fn give_up(&mut self, now: jiff::Timestamp, reason: String);
}

/// Keep at most `max_open` unfinished entries (the oldest waiting ones beyond it fail, with a
/// reason naming `what`) and the newest `keep_finished` finished ones.
pub(crate) fn bound<E: Entry>(
    entries: &mut Vec<E>,
    now: jiff::Timestamp,
    max_open: usize,
    keep_finished: usize,
    what: &str,
) {
    let open = entries.iter().filter(|e| e.finished_at().is_none()).count();
    let mut waiting: Vec<&mut E> = entries
        .iter_mut()
        .filter(|e| e.waiting_since().is_some())
        .collect();
    waiting.sort_by_key(|e| e.waiting_since());
    for e in waiting.into_iter().take(open.saturating_sub(max_open)) {
        e.give_up(now, format!("more than {max_open} {what} waiting"));
    }
    let mut finished: Vec<(jiff::Timestamp, usize)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.finished_at().map(|at| (at, i)))
        .collect();
    if finished.len() > keep_finished {
        finished.sort_unstable_by(|a, b| b.cmp(a));
        let gone: std::collections::HashSet<usize> =
            finished[keep_finished..].iter().map(|&(_, i)| i).collect();
        let mut i = 0;
        entries.retain(|_| {
            i += 1;
            !gone.contains(&(i - 1))
        });
    }
}
