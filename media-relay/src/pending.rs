//! Sockets between the WebSocket upgrade and a verified `start`. They hold no call slot (a
//! slot is taken only once the stream token verifies), but each costs a task and two small
//! buffers, so they have their own small cap (`--max-pending-streams`) and deadline
//! (`--start-timeout`).
//!
//! When an upgrade finds the cap full, the **oldest** waiting socket is told to close and the
//! new one takes its place. A genuine Twilio stream sends `start` one round trip after the
//! upgrade, so it is almost never the oldest; sockets opened and left idle are. Refusing the
//! newest instead would let a few hundred idle sockets lock genuine calls out until their
//! deadline.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// The waiting sockets, oldest first.
pub(crate) struct Pending {
    cap: usize,
    metrics: Metrics,
    inner: Mutex<Inner>,
}

struct Inner {
    next_id: u64,
    /// Each waiting socket's id and the sender that tells it to close.
    waiting: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// One socket's place among the waiting. Dropping it (the `start` verified, or the socket
/// ended) gives the place back.
pub(crate) struct Ticket {
    id: u64,
    pending: Arc<Pending>,
    /// Resolves when a newer upgrade evicted this socket.
    pub evicted: oneshot::Receiver<()>,
}

impl Pending {
    pub fn new(cap: usize, metrics: Metrics) -> Arc<Pending> {
        Arc::new(Pending {
            cap: cap.max(1),
            metrics,
            inner: Mutex::new(Inner {
                next_id: 0,
                waiting: VecDeque::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The queue stays consistent across a panic elsewhere: every change is one call.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new socket, evicting the oldest waiting one if the cap is reached
    /// (counted as `relay_calls_rejected_total{reason="pending_evicted"}` here, at once, so
    /// the count never lags the eviction).
    pub fn admit(self: &Arc<Pending>) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        while inner.waiting.len() >= self.cap {
            let Some((_, oldest)) = inner.waiting.pop_front() else {
                break;
            };
            let _ = oldest.send(());
            self.metrics.streams_pending.dec();
            self.metrics.reject("pending_evicted");
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.waiting.push_back((id, tx));
        self.metrics.streams_pending.inc();
        drop(inner);
        Ticket {
            id,
            pending: Arc::clone(self),
            evicted: rx,
        }
    }

    /// Sockets waiting now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().waiting.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.pending.lock();
        // Small queue (the cap): a scan is cheaper than an index.
        if let Some(at) = inner.waiting.iter().position(|(id, _)| *id == self.id) {
            inner.waiting.remove(at);
            self.pending.metrics.streams_pending.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_waiting_socket_makes_room() {
        let metrics = Metrics::new();
        let pending = Pending::new(2, metrics.clone());
        let mut first = pending.admit();
        let mut second = pending.admit();
        assert_eq!(pending.len(), 2);
        let mut third = pending.admit();
        assert_eq!(pending.len(), 2);
        assert!(first.evicted.try_recv().is_ok(), "oldest told to close");
        assert!(second.evicted.try_recv().is_err());
        drop(first);
        assert_eq!(pending.len(), 2, "an evicted ticket's drop changes nothing");
        drop(second);
        assert_eq!(pending.len(), 1);
        assert!(third.evicted.try_recv().is_err());
        drop(third);
        assert!(pending.is_empty());
        assert_eq!(metrics.streams_pending.get(), 0);
    }
}
