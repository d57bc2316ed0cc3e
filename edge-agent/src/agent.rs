//! `edge-agent run`: the pull loop and one worker per printer.
//!
//! Threads, and why:
//! - the poller (the calling thread) owns every HTTP call: it sends the acknowledgements the
//!   queue owes, polls for jobs, writes them to the queue (one transaction) and wakes the
//!   printers they are for; while the cloud is unreachable it backs off with jitter;
//! - one worker per printer owns that printer's only connection: it takes its waiting jobs
//!   in arrival order, holds them while the printer is not ready (or hands them to the
//!   printer's backup), records each state change in the queue and tells the poller when a
//!   job is finished so the acknowledgement goes out at once.
//!
//! Every thread stops when the `stop` flag is set; the queue on disk is the only state that
//! matters across a restart (see `queue.rs`).

use crate::cloud::{Ack, AckAnswer, Cloud};
use crate::config::{DataDir, PrinterBook, PrinterProfile};
use crate::printer::{self, Delivery, Health, Timeouts};
use crate::queue::{Counts, LocalJob, Queue, State};
use crate::render::{Layout, render};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The loop's timings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Between polls while the cloud answers (the cloud's `poll_after_seconds` can lengthen it).
    pub poll: Duration,
    /// The longest wait between polls while the cloud is unreachable.
    pub max_backoff: Duration,
    /// How soon a held printer (offline, paper out) is checked again.
    pub printer_retry: Duration,
    /// How often an idle printer's status is checked for the status report.
    pub idle_check: Duration,
    pub timeouts: Timeouts,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            poll: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            printer_retry: Duration::from_secs(3),
            idle_check: Duration::from_secs(30),
            timeouts: Timeouts::default(),
        }
    }
}

/// What `status` shows while the agent runs (written to `status.json` after every poll);
/// the cloud gets its printers and queue ([`Snapshot::report`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub agent_version: String,
    pub written_at: jiff::Timestamp,
    pub cloud_url: String,
    pub cloud_last_ok: Option<jiff::Timestamp>,
    pub cloud_error: Option<String>,
    pub printers: BTreeMap<String, PrinterState>,
    pub queue: Counts,
    pub last_job: Option<LastJob>,
}

/// How often an unchanged status report is sent again.
const REPORT_EVERY: Duration = Duration::from_secs(60);

impl Snapshot {
    /// The report for `POST /api/v1/edge/status`: every printer of `book`, its profile and
    /// its state as last checked (`unknown` before the first check).
    pub fn report(&self, book: &PrinterBook) -> serde_json::Value {
        let printers: Vec<serde_json::Value> = book
            .printers
            .iter()
            .map(|p| {
                let state = match self.printers.get(&p.id).and_then(|s| s.health.as_ref()) {
                    None => "unknown",
                    Some(Health::Ready { .. }) => "online",
                    Some(Health::PaperOut) => "paper_out",
                    Some(Health::CoverOpen) => "cover_open",
                    Some(Health::Error) => "error",
                    Some(Health::Offline | Health::Unreachable(_)) => "offline",
                };
                serde_json::json!({"id": p.id, "name": p.name, "state": state,
                    "profile": {"version": book.version, "role": p.role, "host": p.host,
                        "port": p.port, "paper_width_mm": p.paper_width_mm,
                        "code_page": p.code_page, "cutter": p.cutter, "drawer": p.drawer,
                        "qr": p.qr, "backup": p.backup}})
            })
            .take(20)
            .collect();
        let waiting = self.queue.waiting + self.queue.unknown + self.queue.sent;
        serde_json::json!({
            "printers": printers,
            "queue_length": waiting,
            "agent_version": self.agent_version,
            "last_job": self.last_job.as_ref().map(|j| j.id.clone()),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrinterState {
    pub address: String,
    pub health: Option<Health>,
    pub checked_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastJob {
    pub id: String,
    pub order_number: String,
    pub state: State,
    pub printer: Option<String>,
    pub at: jiff::Timestamp,
}

impl LastJob {
    pub fn of(job: &LocalJob) -> LastJob {
        LastJob {
            id: job.job.id.clone(),
            order_number: job.job.ticket.order_number.clone(),
            state: job.state,
            printer: job.printer.clone(),
            at: job.updated_at,
        }
    }
}

/// A line on stderr, with the time.
pub fn log(msg: impl std::fmt::Display) {
    eprintln!(
        "{} {msg}",
        jiff::Timestamp::now()
            .round(jiff::Unit::Millisecond)
            .unwrap_or_else(|_| jiff::Timestamp::now())
    );
}

/// The layout a printer profile asks for.
pub fn layout(p: &PrinterProfile) -> Layout {
    Layout {
        columns: p.columns(),
        code_page: p.code_page,
        cutter: p.cutter,
        drawer: p.drawer,
        qr: p.qr,
    }
}

/// The printer for a job: the one it is already on if that still exists, else by role.
fn route(book: &PrinterBook, job: &LocalJob) -> Option<String> {
    match &job.printer {
        Some(p) if book.get(p).is_some() => Some(p.clone()),
        _ => book.route(job.job.kind).map(|p| p.id.clone()),
    }
}

/// Run until `stop` is set. Fails at once if the agent is not paired, has no printers or
/// cannot open its queue; afterwards only a failing disk stops it.
pub fn run(data: &DataDir, settings: Settings, stop: Arc<AtomicBool>) -> Result<()> {
    let device = data.device()?;
    let book = data.printers()?;
    if book.printers.is_empty() {
        bail!("no printers yet: add one with `edge-agent printers add --id kitchen --host <ip>`");
    }
    let queue = Arc::new(Queue::open(&data.queue_path())?);
    let unknown = queue.recover(|j| route(&book, j), jiff::Timestamp::now())?;
    if unknown > 0 {
        log(format!(
            "{unknown} job(s) were being printed when the agent stopped: printing them again as REPRINT"
        ));
    }
    let cloud = Cloud::new(&device.url, &device.device_token)?;
    let snapshot = Arc::new(Mutex::new(Snapshot {
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        written_at: jiff::Timestamp::now(),
        cloud_url: device.url.clone(),
        cloud_last_ok: None,
        cloud_error: None,
        printers: book
            .printers
            .iter()
            .map(|p| {
                (
                    p.id.clone(),
                    PrinterState {
                        address: p.address(),
                        health: None,
                        checked_at: None,
                    },
                )
            })
            .collect(),
        queue: queue.counts()?,
        last_job: None,
    }));

    let (finished_tx, finished_rx) = channel::<()>();
    let mut receivers = Vec::new();
    let mut wakers = HashMap::new();
    for p in &book.printers {
        let (tx, rx) = channel::<()>();
        wakers.insert(p.id.clone(), tx);
        receivers.push((p.clone(), rx));
    }
    let wakers = Arc::new(wakers);
    let book = Arc::new(book);
    let mut workers = Vec::new();
    for (profile, wake) in receivers {
        let w = Worker {
            profile,
            book: Arc::clone(&book),
            queue: Arc::clone(&queue),
            snapshot: Arc::clone(&snapshot),
            wake,
            wakers: Arc::clone(&wakers),
            finished: finished_tx.clone(),
            settings,
            stop: Arc::clone(&stop),
        };
        workers.push(
            std::thread::Builder::new()
                .name(format!("printer-{}", w.profile.id))
                .spawn(move || w.run())
                .context("cannot start a printer thread")?,
        );
    }
    drop(finished_tx);

    log(format!(
        "edge-agent {} running: {} printer(s), cloud {}",
        env!("CARGO_PKG_VERSION"),
        book.printers.len(),
        device.url
    ));
    let poller = Poller {
        cloud,
        book: Arc::clone(&book),
        queue: Arc::clone(&queue),
        snapshot,
        wakers,
        finished: finished_rx,
        settings,
        stop: Arc::clone(&stop),
        data: data.clone(),
    };
    let outcome = poller.run();
    stop.store(true, Ordering::SeqCst);
    // Each worker finishes the ticket it is printing (and records it) before it stops.
    for w in workers {
        let _ = w.join();
    }
    if outcome.is_ok() {
        // A clean stop (SIGTERM, Ctrl-C): tell the cloud what was finished meanwhile, if it
        // answers; what it does not hear of now goes out on the next start.
        let _ = poller.send_acks();
        poller.write_snapshot();
        log("stopped");
    }
    outcome
}

/// The poll side: acknowledgements, polls, the status file.
struct Poller {
    cloud: Cloud,
    book: Arc<PrinterBook>,
    queue: Arc<Queue>,
    snapshot: Arc<Mutex<Snapshot>>,
    /// One sender per printer worker, to wake it when jobs arrive for it.
    wakers: Arc<HashMap<String, Sender<()>>>,
    /// Workers say here that a job is finished, so its acknowledgement goes out at once.
    finished: Receiver<()>,
    settings: Settings,
    stop: Arc<AtomicBool>,
    data: DataDir,
}

impl Poller {
    fn run(&self) -> Result<()> {
        let mut failures: u32 = 0;
        let mut last_prune = Instant::now();
        let mut reported: Option<(serde_json::Value, Instant)> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let acks_ok = self.send_acks()?;
            let delay = match self.cloud.poll() {
                Ok(poll) => {
                    failures = 0;
                    for bad in &poll.unreadable {
                        log(format!("skipped an unreadable job: {bad}"));
                    }
                    let route = |j: &hostline_shared::printing::PrintJob| {
                        self.book.route(j.kind).map(|p| p.id.clone())
                    };
                    let received = self
                        .queue
                        .receive(&poll.jobs, route, jiff::Timestamp::now())?;
                    for id in &received.new {
                        if let Some(job) = self.queue.get(id)? {
                            log(format!(
                                "queued {} (order #{}) for {}",
                                id,
                                job.job.ticket.order_number,
                                job.printer.as_deref().unwrap_or("no printer")
                            ));
                            if let Some(w) = job.printer.as_deref().and_then(|p| self.wakers.get(p))
                            {
                                let _ = w.send(());
                            }
                        }
                    }
                    if let Ok(mut s) = self.snapshot.lock() {
                        s.cloud_last_ok = Some(jiff::Timestamp::now());
                        if acks_ok {
                            s.cloud_error = None;
                        }
                    }
                    if received.ack_again > 0
                        || received.new.iter().any(|id| {
                            self.queue
                                .get(id)
                                .ok()
                                .flatten()
                                .is_some_and(|j| j.state.is_final())
                        })
                    {
                        // Finished jobs to (re)acknowledge: do it now, not after a poll interval.
                        Duration::ZERO
                    } else {
                        self.settings.poll.max(poll.poll_after.unwrap_or_default())
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let msg = format!("{e:#}");
                    if failures == 1 || failures.is_power_of_two() {
                        log(format!("cloud unreachable ({failures} in a row): {msg}"));
                    }
                    if let Ok(mut s) = self.snapshot.lock() {
                        s.cloud_error = Some(msg);
                    }
                    backoff(self.settings.poll, self.settings.max_backoff, failures)
                }
            };
            if last_prune.elapsed() > Duration::from_secs(3600) {
                self.queue.prune(jiff::Timestamp::now())?;
                last_prune = Instant::now();
            }
            self.write_snapshot();
            if failures == 0 {
                self.report(&mut reported);
            }
            self.wait(delay)?;
        }
        self.write_snapshot();
        Ok(())
    }

    /// Wait `delay`, sending acknowledgements as workers finish jobs; returns early on stop.
    fn wait(&self, delay: Duration) -> Result<()> {
        let until = Instant::now() + delay;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self
                .finished
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(()) => {
                    self.send_acks()?;
                    self.write_snapshot();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left.min(Duration::from_millis(200)));
                }
            }
        }
    }

    /// Tell the cloud about finished jobs. Returns false if the cloud could not be reached
    /// (the rest wait for the next round).
    fn send_acks(&self) -> Result<bool> {
        for job in self.queue.unacked()? {
            let ack = match job.state {
                State::Printed => Ack::Printed,
                _ => Ack::Failed(job.problem.clone().unwrap_or_else(|| "failed".to_owned())),
            };
            match self.cloud.ack(&job.job.id, &ack) {
                Ok(answer) => {
                    if let AckAnswer::Refused(why) = &answer {
                        log(format!(
                            "the cloud refused the acknowledgement of {}: {why}",
                            job.job.id
                        ));
                    }
                    let now = jiff::Timestamp::now();
                    self.queue.update(&job.job.id, now, |j| {
                        j.acked = true;
                        if let AckAnswer::Refused(why) = answer {
                            j.problem = Some(format!("acknowledgement refused: {why}"));
                        }
                    })?;
                }
                Err(e) => {
                    if let Ok(mut s) = self.snapshot.lock() {
                        s.cloud_error = Some(format!("{e:#}"));
                    }
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Send the status report when it changed, or [`REPORT_EVERY`]. A failure is only
    /// logged: the next poll tries again.
    fn report(&self, last: &mut Option<(serde_json::Value, Instant)>) {
        let Some(report) = self.snapshot.lock().ok().map(|s| s.report(&self.book)) else {
            return;
        };
        if last
            .as_ref()
            .is_some_and(|(sent, at)| *sent == report && at.elapsed() < REPORT_EVERY)
        {
            return;
        }
        match self.cloud.report(&report) {
            Ok(()) => *last = Some((report, Instant::now())),
            Err(e) => {
                if last.is_some() {
                    log(format!("status report not sent: {e:#}"));
                }
                *last = None;
            }
        }
    }

    fn write_snapshot(&self) {
        let Ok(mut s) = self.snapshot.lock() else {
            return;
        };
        s.written_at = jiff::Timestamp::now();
        if let Ok(jobs) = self.queue.all() {
            s.queue = crate::queue::counts(&jobs);
            if let Some(last) = jobs.iter().max_by_key(|j| j.updated_at) {
                s.last_job = Some(LastJob::of(last));
            }
        }
        let bytes = match serde_json::to_vec_pretty(&*s) {
            Ok(b) => b,
            Err(_) => return,
        };
        drop(s);
        if let Err(e) = crate::config::write_private(&self.data.status_path(), &bytes) {
            log(format!("cannot write the status file: {e:#}"));
        }
    }
}

/// The wait after `failures` failed polls in a row: doubling from `base` up to `max`, each a
/// random point in its upper half so many agents do not retry in step.
pub fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let full = base
        .saturating_mul(1u32 << exp)
        .min(max)
        .max(Duration::from_millis(1));
    let half = full / 2;
    let jitter_ms = fastrand::u64(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
    half + Duration::from_millis(jitter_ms)
}

/// One printer's side.
struct Worker {
    profile: PrinterProfile,
    book: Arc<PrinterBook>,
    queue: Arc<Queue>,
    snapshot: Arc<Mutex<Snapshot>>,
    /// Woken when the poller queues a job for this printer (or a printer hands its jobs here).
    wake: Receiver<()>,
    wakers: Arc<HashMap<String, Sender<()>>>,
    finished: Sender<()>,
    settings: Settings,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(self) {
        let mut last_check: Option<Instant> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let job = match self.queue.next_for(&self.profile.id) {
                Ok(j) => j,
                Err(e) => {
                    log(format!("{}: cannot read the queue: {e:#}", self.profile.id));
                    self.sleep(self.settings.printer_retry);
                    continue;
                }
            };
            let Some(job) = job else {
                if last_check.is_none_or(|t| t.elapsed() >= self.settings.idle_check) {
                    let health = printer::status(&self.profile.address(), &self.settings.timeouts);
                    self.record_health(health);
                    last_check = Some(Instant::now());
                }
                self.sleep(self.settings.poll);
                continue;
            };
            last_check = Some(Instant::now());
            if let Err(e) = self.print(&job) {
                log(format!("{}: {}: {e:#}", self.profile.id, job.job.id));
                self.sleep(self.settings.printer_retry);
            }
        }
    }

    /// Print one job and record what came of it.
    fn print(&self, job: &LocalJob) -> Result<()> {
        let id = job.job.id.as_str();
        let me = self.profile.id.as_str();
        let reprint = job.reprint_count();
        let bytes = render(
            &job.job.ticket,
            job.job.kind,
            &layout(&self.profile),
            reprint,
        );
        let outcome = printer::deliver(
            &self.profile.address(),
            &bytes,
            &self.settings.timeouts,
            || {
                self.queue
                    .update(id, jiff::Timestamp::now(), |j| {
                        j.state = State::Sent;
                        j.sends = j.sends.saturating_add(1);
                        j.printer = Some(me.to_owned());
                    })
                    .map(|_| ())
            },
        )?;
        let now = jiff::Timestamp::now();
        match outcome {
            Delivery::Printed => {
                self.queue.update(id, now, |j| {
                    j.state = State::Printed;
                    j.problem = None;
                })?;
                self.record_health(Health::Ready { paper_low: false });
                log(format!(
                    "{me}: printed {id} (order #{}){}",
                    job.job.ticket.order_number,
                    reprint
                        .map(|n| format!(" as REPRINT {n}"))
                        .unwrap_or_default()
                ));
                let _ = self.finished.send(());
            }
            Delivery::Unknown(why) => {
                self.queue.update(id, now, |j| {
                    j.state = State::Unknown;
                    j.problem = Some(why.clone());
                })?;
                log(format!(
                    "{me}: {id} may not have printed ({why}): it will print again as REPRINT"
                ));
                let health = printer::status(&self.profile.address(), &self.settings.timeouts);
                self.record_health(health);
                self.sleep(self.settings.printer_retry);
            }
            Delivery::NotSent(health) => {
                let why = format!("held: printer {me} {health}");
                if job.problem.as_deref() != Some(why.as_str()) {
                    log(format!("{me}: {health}; holding {id}"));
                    self.queue.update(id, now, |j| j.problem = Some(why))?;
                }
                self.record_health(health);
                if !self.hand_to_backup()? {
                    self.sleep(self.settings.printer_retry);
                }
            }
        }
        Ok(())
    }

    /// While this printer is down, move its waiting jobs to its backup if the backup is not
    /// known to be down too. Returns whether any moved.
    fn hand_to_backup(&self) -> Result<bool> {
        let Some(backup) = self.profile.backup.as_deref() else {
            return Ok(false);
        };
        if self.book.get(backup).is_none() {
            return Ok(false);
        }
        let backup_down = self
            .snapshot
            .lock()
            .ok()
            .and_then(|s| s.printers.get(backup).and_then(|p| p.health.clone()))
            .is_some_and(|h| !h.is_ready());
        if backup_down {
            return Ok(false);
        }
        let moved = self
            .queue
            .retarget(&self.profile.id, backup, jiff::Timestamp::now())?;
        if moved > 0 {
            log(format!(
                "{}: down, {moved} job(s) handed to {backup}",
                self.profile.id
            ));
            if let Some(w) = self.wakers.get(backup) {
                let _ = w.send(());
            }
        }
        Ok(moved > 0)
    }

    fn record_health(&self, health: Health) {
        if let Ok(mut s) = self.snapshot.lock()
            && let Some(p) = s.printers.get_mut(&self.profile.id)
        {
            p.health = Some(health);
            p.checked_at = Some(jiff::Timestamp::now());
        }
    }

    /// Sleep up to `d`, waking early for new jobs or a stop.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stop.load(Ordering::SeqCst) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.wake.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(()) => return,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left.min(Duration::from_millis(200)))
                }
            }
        }
    }
}
