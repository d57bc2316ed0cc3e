//! Call SIDs this relay has started a stream for, kept until their stream token expires: a
//! second stream with the same (still valid) token is refused here, before it costs a call
//! slot or a request. Across relay instances the functions arbitrate (the agent-config request
//! marks the call's stream as started, once); this set only saves the round trip and covers a
//! relay whose functions are slow to answer.
//!
//! Only verified tokens get in, so the set is bounded by the genuine call rate times the
//! token lifetime; expired entries are swept whenever the set doubles since the last sweep.

use std::collections::HashMap;
use std::sync::Mutex;

/// The call SIDs seen, each with its token's expiry (Unix seconds).
#[derive(Debug, Default)]
pub(crate) struct SeenCalls {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    expiry: HashMap<String, i64>,
    /// Sweep when the map reaches this size.
    sweep_at: usize,
}

/// Smallest size at which expired entries are swept.
const MIN_SWEEP: usize = 1024;

impl SeenCalls {
    /// Records `call_sid` (valid until `expires_at`); `false` if it was already seen and its
    /// token has not expired at `now`.
    pub fn first_stream(&self, call_sid: &str, expires_at: i64, now: i64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.expiry.get(call_sid).is_some_and(|&e| e > now) {
            return false;
        }
        if inner.expiry.len() >= inner.sweep_at.max(MIN_SWEEP) {
            inner.expiry.retain(|_, e| *e > now);
            inner.sweep_at = inner.expiry.len().saturating_mul(2);
        }
        inner.expiry.insert(call_sid.to_owned(), expires_at);
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().expiry.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_streams_once_per_token_lifetime() {
        let seen = SeenCalls::default();
        assert!(seen.first_stream("CA1", 100, 0));
        assert!(!seen.first_stream("CA1", 100, 99));
        assert!(seen.first_stream("CA2", 100, 0));
        // After the expiry the token itself no longer verifies; the entry may go.
        assert!(seen.first_stream("CA1", 300, 100));
    }

    #[test]
    fn expired_entries_are_swept() {
        let seen = SeenCalls::default();
        for n in 0..MIN_SWEEP {
            assert!(seen.first_stream(&format!("CA{n}"), 10, 0));
        }
        assert!(seen.first_stream("CAnew", 100, 50));
        assert_eq!(seen.len(), 1);
    }
}
