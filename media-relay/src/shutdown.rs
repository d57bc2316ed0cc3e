//! Stopping in two steps, fanned out to every task through one `watch` channel:
//!
//! 1. [`Phase::Draining`]: the listener is closed (no new calls); open HTTP connections finish
//!    and close; running calls go on.
//! 2. [`Phase::Stopping`]: the drain deadline passed (or a second signal came); every call
//!    ends now with `ended_by: shutdown`, closes both sockets and reports its usage.
//!
//! Why `watch` and not mini-redis's `broadcast`: a call checks the phase on its timer tick
//! (`Shutdown::is_stopping`, an atomic version check), so the 50-frames-a-second loop never
//! polls a receiver whose every poll would take the channel's lock shared by all calls.

use tokio::sync::watch;

/// Where the relay is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    Draining,
    Stopping,
}

/// The sending side, owned by the server.
#[derive(Debug)]
pub struct Trigger(watch::Sender<Phase>);

/// A task's view of the phase.
#[derive(Clone, Debug)]
pub struct Shutdown {
    /// The server's phase.
    rx: watch::Receiver<Phase>,
    /// Seen `Stopping` already: later checks need not look at the channel again.
    stopping: bool,
}

/// A new trigger and its first listener.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(Phase::Running);
    (Trigger(tx), Shutdown::new(rx))
}

impl Trigger {
    /// Moves forward to `phase` (never back).
    pub fn advance(&self, phase: Phase) {
        self.0.send_if_modified(|p| {
            if phase > *p {
                *p = phase;
                true
            } else {
                false
            }
        });
    }

    pub fn phase(&self) -> Phase {
        *self.0.borrow()
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown::new(self.0.subscribe())
    }
}

impl Shutdown {
    fn new(rx: watch::Receiver<Phase>) -> Shutdown {
        Shutdown {
            rx,
            stopping: false,
        }
    }

    pub fn phase(&self) -> Phase {
        *self.rx.borrow()
    }

    /// Whether running calls must end now. Cheap: an atomic load unless the phase changed.
    pub fn is_stopping(&mut self) -> bool {
        if !self.stopping {
            self.stopping = match self.rx.has_changed() {
                Ok(false) => false,
                Ok(true) => *self.rx.borrow_and_update() == Phase::Stopping,
                // The trigger is gone: the server is gone, so stop too.
                Err(_) => true,
            };
        }
        self.stopping
    }

    /// Waits until the phase is at least `phase` (or the server is gone).
    pub async fn reached(&mut self, phase: Phase) {
        // An error means the trigger was dropped: the server is gone, so stop too.
        let _ = self.rx.wait_for(|p| *p >= phase).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_only_move_forward() {
        let (trigger, mut listener) = channel();
        assert!(!listener.is_stopping());
        trigger.advance(Phase::Draining);
        assert!(!listener.is_stopping());
        assert_eq!(listener.phase(), Phase::Draining);
        trigger.advance(Phase::Stopping);
        trigger.advance(Phase::Running);
        assert!(listener.is_stopping());
        assert!(listener.is_stopping(), "stays stopping once seen");
        listener.reached(Phase::Draining).await;
    }
}
