//! Prometheus metrics (`GET /metrics`, OpenMetrics text from `prometheus-client`).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `relay_calls_active` | gauge | calls holding a slot (from a verified `start` to the usage report) |
//! | `relay_streams_pending` | gauge | upgraded sockets still waiting for a valid `start` (no slot) |
//! | `relay_calls_total` | counter | streams whose token verified |
//! | `relay_calls_rejected_total{reason}` | counter | streams refused: capacity, token, malformed, … |
//! | `relay_calls_ended_total{ended_by}` | counter | calls ended, by [`CallEnd`] |
//! | `relay_frames_in_total` | counter | caller audio frames sent to the agent |
//! | `relay_frames_out_total` | counter | agent audio frames sent to Twilio |
//! | `relay_frames_dropped_total{reason}` | counter | audio not forwarded (agent not ready yet) |
//! | `relay_latency_seconds` | histogram | per frame: read from one socket → written to the other |
//! | `relay_agent_errors_total` | counter | agent `Error` messages, failed connects and settings |
//! | `relay_tool_calls_total{outcome}` | counter | function calls: ok, error, timeout, unknown, … |
//! | `relay_transfers_total{outcome}` | counter | transfers to staff |
//! | `relay_fallbacks_total{outcome}` | counter | agent failures: `staff`, `apology`, `failed`, `not_configured` |
//! | `relay_agent_turns_total{outcome}` | counter | agent turns played to the end or interrupted |
//! | `relay_usage_reports_total{outcome}` | counter | usage reports posted or failed |
//!
//! The per-frame numbers are counted in the call task ([`CallCounters`]) and folded in here
//! once per tick: the audio path never writes a cache line another call writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hostline_shared::relay::CallEnd;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// One label, with a static value: the label sets here are small and known in advance.
pub type Label = [(&'static str, &'static str); 1];

/// Upper bounds of the latency buckets, nanoseconds.
const BUCKETS_NS: [u64; 13] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
];
/// The buckets above plus +Inf.
const SLOTS: usize = BUCKETS_NS.len() + 1;

/// The relay's metrics (each field is one metric of the module's table). Cloning is cheap
/// (every metric is a shared handle).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The registry `/metrics` encodes; shared so handlers need no lock around encoding.
    registry: Arc<Registry>,
    pub calls_active: Gauge,
    pub streams_pending: Gauge,
    pub calls: Counter,
    pub rejected: Family<Label, Counter>,
    pub ended: Family<Label, Counter>,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub frames_dropped: Family<Label, Counter>,
    pub latency: LatencyHistogram,
    pub agent_errors: Counter,
    pub tool_calls: Family<Label, Counter>,
    pub transfers: Family<Label, Counter>,
    pub fallbacks: Family<Label, Counter>,
    pub agent_turns: Family<Label, Counter>,
    pub usage_reports: Family<Label, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::default();
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            calls_active: Gauge::default(),
            streams_pending: Gauge::default(),
            calls: Counter::default(),
            rejected: Family::default(),
            ended: Family::default(),
            frames_in: Counter::default(),
            frames_out: Counter::default(),
            frames_dropped: Family::default(),
            latency: LatencyHistogram::default(),
            agent_errors: Counter::default(),
            tool_calls: Family::default(),
            transfers: Family::default(),
            fallbacks: Family::default(),
            agent_turns: Family::default(),
            usage_reports: Family::default(),
        };
        r.register(
            "relay_calls_active",
            "Call tasks alive",
            m.calls_active.clone(),
        );
        r.register(
            "relay_streams_pending",
            "Upgraded sockets waiting for a valid start (they hold no call slot)",
            m.streams_pending.clone(),
        );
        r.register(
            "relay_calls",
            "Streams whose token verified",
            m.calls.clone(),
        );
        r.register(
            "relay_calls_rejected",
            "Streams refused, by reason",
            m.rejected.clone(),
        );
        r.register(
            "relay_calls_ended",
            "Calls ended, by who or what ended them",
            m.ended.clone(),
        );
        r.register(
            "relay_frames_in",
            "Caller audio frames sent to the agent",
            m.frames_in.clone(),
        );
        r.register(
            "relay_frames_out",
            "Agent audio frames sent to Twilio",
            m.frames_out.clone(),
        );
        r.register(
            "relay_frames_dropped",
            "Audio frames not forwarded, by reason",
            m.frames_dropped.clone(),
        );
        r.register(
            "relay_latency_seconds",
            "Per frame: read from one socket to written to the other",
            m.latency.clone(),
        );
        r.register(
            "relay_agent_errors",
            "Agent errors (Error messages, failed connects or settings)",
            m.agent_errors.clone(),
        );
        r.register(
            "relay_tool_calls",
            "Function calls from the agent, by outcome",
            m.tool_calls.clone(),
        );
        r.register(
            "relay_transfers",
            "Transfers to staff, by outcome",
            m.transfers.clone(),
        );
        r.register(
            "relay_fallbacks",
            "Calls whose voice agent failed, by what the caller got: the staff line, an apology, or nothing (Twilio not configured or refused)",
            m.fallbacks.clone(),
        );
        r.register(
            "relay_agent_turns",
            "Agent turns played to the end or interrupted by the caller",
            m.agent_turns.clone(),
        );
        r.register(
            "relay_usage_reports",
            "Usage reports, by outcome",
            m.usage_reports.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            ..m
        }
    }

    /// The OpenMetrics text for `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&[("reason", reason)]).inc();
    }

    pub fn ended(&self, by: CallEnd) {
        self.ended
            .get_or_create(&[("ended_by", end_label(by))])
            .inc();
    }

    pub fn tool_call(&self, outcome: &'static str) {
        self.tool_calls.get_or_create(&[("outcome", outcome)]).inc();
    }

    pub fn transfer(&self, outcome: &'static str) {
        self.transfers.get_or_create(&[("outcome", outcome)]).inc();
    }

    pub fn fallback(&self, outcome: &'static str) {
        self.fallbacks.get_or_create(&[("outcome", outcome)]).inc();
    }

    pub fn usage_report(&self, outcome: &'static str) {
        self.usage_reports
            .get_or_create(&[("outcome", outcome)])
            .inc();
    }

    /// Folds a call's counters in and resets them.
    pub fn flush(&self, c: &mut CallCounters) {
        if c.frames_in > 0 {
            self.frames_in.inc_by(c.frames_in);
        }
        if c.frames_out > 0 {
            self.frames_out.inc_by(c.frames_out);
        }
        if c.dropped > 0 {
            self.frames_dropped
                .get_or_create(&[("reason", "agent_not_ready")])
                .inc_by(c.dropped);
        }
        for (outcome, n) in [
            ("played", c.turns_played),
            ("interrupted", c.turns_interrupted),
        ] {
            if n > 0 {
                self.agent_turns
                    .get_or_create(&[("outcome", outcome)])
                    .inc_by(n);
            }
        }
        self.latency.merge(&c.latency);
        c.reset();
    }
}

/// The label value of a [`CallEnd`].
pub fn end_label(by: CallEnd) -> &'static str {
    match by {
        CallEnd::Caller => "caller",
        CallEnd::Agent => "agent",
        CallEnd::Transferred => "transferred",
        CallEnd::Idle => "idle",
        CallEnd::MaxDuration => "max_duration",
        CallEnd::Shutdown => "shutdown",
        CallEnd::Error => "error",
    }
}

/// What a call counted since its last flush.
/// Fields as in the module's table: frames in/out, audio dropped before the agent was ready,
/// agent turns played/interrupted, per-frame latency.
#[derive(Debug, Default, Clone)]
pub struct CallCounters {
    pub frames_in: u64,
    pub frames_out: u64,
    pub dropped: u64,
    pub turns_played: u64,
    pub turns_interrupted: u64,
    pub latency: LocalHistogram,
}

impl CallCounters {
    fn reset(&mut self) {
        *self = CallCounters::default();
    }
}

/// A call's own latency counts between flushes (no atomics, no sharing).
#[derive(Debug, Default, Clone)]
pub struct LocalHistogram {
    /// Observations per bucket of `BUCKETS_NS` (+Inf last).
    counts: [u32; SLOTS],
    /// For the histogram's `_sum`.
    sum_ns: u64,
}

impl LocalHistogram {
    pub fn observe(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let slot = BUCKETS_NS
            .iter()
            .position(|&b| ns <= b)
            .unwrap_or(BUCKETS_NS.len());
        self.counts[slot] = self.counts[slot].saturating_add(1);
        self.sum_ns = self.sum_ns.saturating_add(ns);
    }
}

/// A histogram of atomics that whole [`LocalHistogram`]s are merged into, encoded as a
/// Prometheus histogram. (prometheus-client's own takes a lock per observation.)
#[derive(Debug, Default, Clone)]
pub struct LatencyHistogram(Arc<LatencyInner>);

#[derive(Debug, Default)]
struct LatencyInner {
    /// Observations per bucket, merged from the calls' local histograms.
    counts: [AtomicU64; SLOTS],
    /// For `_sum`.
    sum_ns: AtomicU64,
}

impl LatencyHistogram {
    fn merge(&self, local: &LocalHistogram) {
        let mut any = false;
        for (shared, &n) in self.0.counts.iter().zip(local.counts.iter()) {
            if n > 0 {
                shared.fetch_add(u64::from(n), Ordering::Relaxed);
                any = true;
            }
        }
        if any {
            self.0.sum_ns.fetch_add(local.sum_ns, Ordering::Relaxed);
        }
    }

    /// Per-bucket counts: (upper bound in seconds, count), +Inf last.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        let mut out: Vec<(f64, u64)> = BUCKETS_NS
            .iter()
            .zip(self.0.counts.iter())
            .map(|(&b, c)| (b as f64 / 1e9, c.load(Ordering::Relaxed)))
            .collect();
        out.push((
            f64::INFINITY,
            self.0.counts[SLOTS - 1].load(Ordering::Relaxed),
        ));
        out
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let buckets = self.buckets();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.0.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names_labels_and_histogram() {
        let m = Metrics::new();
        m.calls_active.inc();
        m.reject("capacity");
        m.ended(CallEnd::Caller);
        let mut c = CallCounters {
            frames_in: 3,
            frames_out: 2,
            ..CallCounters::default()
        };
        c.latency.observe(Duration::from_micros(7));
        c.latency.observe(Duration::from_millis(3));
        c.latency.observe(Duration::from_secs(1));
        m.flush(&mut c);
        assert_eq!(c.frames_in, 0);
        let text = m.encode();
        for line in [
            "relay_calls_active 1",
            "relay_calls_rejected_total{reason=\"capacity\"} 1",
            "relay_calls_ended_total{ended_by=\"caller\"} 1",
            "relay_frames_in_total 3",
            "relay_frames_out_total 2",
            "relay_latency_seconds_count 3",
            "relay_latency_seconds_bucket{le=\"0.00001\"} 1",
            "relay_latency_seconds_bucket{le=\"0.005\"} 2",
            "relay_latency_seconds_bucket{le=\"+Inf\"} 3",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
