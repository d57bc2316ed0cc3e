//! The durable job queue (redb, one file in the data directory).
//!
//! Every job the cloud hands us is written here, in one transaction per poll, before anything
//! is printed; every change of a job's state is its own committed transaction. Order of
//! writes for one print: `sent` is committed before the first byte goes to the printer, and
//! `printed` after the printer confirms. So after a crash a job is never silently lost: one
//! found in `sent` at start-up may be on paper or not, and becomes `unknown` (printed again
//! with a REPRINT banner).
//!
//! Jobs are deduplicated by the cloud's job id: a job seen again is not queued twice. Jobs
//! stay here after they are acknowledged (pruned after [`KEEP_DONE`]) so a job the cloud hands
//! out again, for instance because our acknowledgement was lost, is acknowledged again
//! rather than printed again.

use anyhow::{Context, Result};
use hostline_shared::printing::PrintJob;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;

const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_SEQ: &str = "next_seq";

/// How long an acknowledged job is kept for deduplication (the cloud lists finished jobs for
/// 24 hours).
pub const KEEP_DONE: jiff::SignedDuration = jiff::SignedDuration::from_hours(48);

/// Where a job stands on this agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Queued, not sent to a printer yet.
    Received,
    /// Bytes are (being) sent; the printer has not confirmed.
    Sent,
    /// The printer confirmed it.
    Printed,
    /// We gave up on it (no printer takes its kind).
    Failed,
    /// It may or may not be on paper: printed again, with a REPRINT banner.
    Unknown,
}

impl State {
    /// Waiting for a printer.
    pub fn waiting(self) -> bool {
        matches!(self, State::Received | State::Unknown)
    }

    /// Done on our side; the cloud is told.
    pub fn is_final(self) -> bool {
        matches!(self, State::Printed | State::Failed)
    }
}

/// One job in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalJob {
    /// Arrival order: a printer takes its jobs in this order.
    pub seq: u64,
    pub job: PrintJob,
    pub state: State,
    /// The printer it goes to (`None`: no printer takes its kind).
    pub printer: Option<String>,
    /// How many times its bytes went to a printer.
    pub sends: u32,
    /// The cloud had leased it before we first saw it (another agent, or this one before its
    /// queue was lost, may have printed it): its first print carries a REPRINT banner.
    pub seen_elsewhere: bool,
    /// The cloud has our final word on it.
    pub acked: bool,
    /// The last problem with it (printer offline, no confirmation…), for `status`.
    #[serde(default)]
    pub problem: Option<String>,
    pub received_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

impl LocalJob {
    /// The REPRINT count its next print shows: the cloud's reprint number plus our own earlier
    /// sends (plus one if it may have printed elsewhere). `None` for a first print.
    pub fn reprint_count(&self) -> Option<u32> {
        let n = self
            .job
            .reprint
            .saturating_add(self.sends)
            .saturating_add(u32::from(self.seen_elsewhere));
        (n > 0).then_some(n)
    }
}

/// What one poll's jobs did to the queue.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Ids of the jobs queued now.
    pub new: Vec<String>,
    /// Finished jobs the cloud still hands out: their acknowledgement is sent again.
    pub ack_again: usize,
}

/// Counts for `status`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub waiting: usize,
    pub unknown: usize,
    pub sent: usize,
    pub printed: usize,
    pub failed: usize,
    pub unacked: usize,
}

/// Another process (a running agent) holds the queue.
#[derive(Debug, thiserror::Error)]
#[error("the queue {} is in use by another edge-agent process", .0.display())]
pub struct InUse(pub std::path::PathBuf);

pub struct Queue {
    db: Database,
}

impl Queue {
    /// Open (or create) the queue. Fails with a clear message if another agent holds it.
    pub fn open(path: &Path) -> Result<Queue> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => anyhow::Error::new(InUse(path.to_owned())),
            e => anyhow::anyhow!("cannot open the queue {}: {e}", path.display()),
        })?;
        let tx = db.begin_write()?;
        tx.open_table(JOBS)?;
        tx.open_table(META)?;
        tx.commit()?;
        Ok(Queue { db })
    }

    /// Queue the jobs of one poll, in one transaction. `route` names the printer for a job.
    pub fn receive(
        &self,
        jobs: &[PrintJob],
        route: impl Fn(&PrintJob) -> Option<String>,
        now: jiff::Timestamp,
    ) -> Result<Received> {
        let mut outcome = Received::default();
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(JOBS)?;
            let mut meta = tx.open_table(META)?;
            let mut seq = meta.get(NEXT_SEQ)?.map(|v| v.value()).unwrap_or(1);
            for job in jobs {
                let known = table
                    .get(job.id.as_str())?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                match known {
                    Some(mut local) => {
                        if local.state.is_final() && local.acked {
                            local.acked = false;
                            local.updated_at = now;
                            table.insert(job.id.as_str(), encode(&local)?.as_slice())?;
                            outcome.ack_again += 1;
                        }
                    }
                    None => {
                        let printer = route(job);
                        let local = LocalJob {
                            seq,
                            job: job.clone(),
                            state: if printer.is_some() {
                                State::Received
                            } else {
                                State::Failed
                            },
                            problem: printer
                                .is_none()
                                .then(|| format!("no printer takes {} tickets", job.kind.as_str())),
                            printer,
                            sends: 0,
                            seen_elsewhere: job.leases > 1,
                            acked: false,
                            received_at: now,
                            updated_at: now,
                        };
                        seq += 1;
                        table.insert(job.id.as_str(), encode(&local)?.as_slice())?;
                        outcome.new.push(job.id.clone());
                    }
                }
            }
            meta.insert(NEXT_SEQ, seq)?;
        }
        tx.commit().context("cannot commit received jobs")?;
        Ok(outcome)
    }

    /// At start-up: jobs caught in `sent` become `unknown`; waiting jobs whose printer is gone
    /// are routed again. Returns how many jobs became unknown.
    pub fn recover(
        &self,
        route: impl Fn(&LocalJob) -> Option<String>,
        now: jiff::Timestamp,
    ) -> Result<usize> {
        let mut unknown = 0;
        for job in self.all()? {
            if job.state == State::Sent {
                unknown += 1;
                self.update(&job.job.id, now, |j| {
                    j.state = State::Unknown;
                    j.problem = Some(
                        "the agent stopped before the printer confirmed: printing again as REPRINT"
                            .to_owned(),
                    );
                })?;
            }
            if job.state.waiting() || job.state == State::Sent {
                let printer = route(&job);
                if printer != job.printer && printer.is_some() {
                    self.update(&job.job.id, now, |j| j.printer = printer)?;
                }
            }
        }
        Ok(unknown)
    }

    /// Change one job in its own transaction; returns it as changed.
    pub fn update(
        &self,
        id: &str,
        now: jiff::Timestamp,
        change: impl FnOnce(&mut LocalJob),
    ) -> Result<Option<LocalJob>> {
        let tx = self.db.begin_write()?;
        let changed = {
            let mut table = tx.open_table(JOBS)?;
            let current = table.get(id)?.map(|v| decode(v.value())).transpose()?;
            match current {
                Some(mut job) => {
                    change(&mut job);
                    job.updated_at = now;
                    table.insert(id, encode(&job)?.as_slice())?;
                    Some(job)
                }
                None => None,
            }
        };
        tx.commit().context("cannot commit a job's state")?;
        Ok(changed)
    }

    /// The first waiting job for `printer`, in arrival order.
    pub fn next_for(&self, printer: &str) -> Result<Option<LocalJob>> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|j| j.state.waiting() && j.printer.as_deref() == Some(printer))
            .min_by_key(|j| j.seq))
    }

    /// Move `from`'s waiting jobs to `to`; returns how many moved.
    pub fn retarget(&self, from: &str, to: &str, now: jiff::Timestamp) -> Result<usize> {
        let mut moved = 0;
        for job in self.all()? {
            if job.state.waiting() && job.printer.as_deref() == Some(from) {
                self.update(&job.job.id, now, |j| j.printer = Some(to.to_owned()))?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Finished jobs the cloud has not been told about, oldest first.
    pub fn unacked(&self) -> Result<Vec<LocalJob>> {
        let mut jobs: Vec<LocalJob> = self
            .all()?
            .into_iter()
            .filter(|j| j.state.is_final() && !j.acked)
            .collect();
        jobs.sort_by_key(|j| j.seq);
        Ok(jobs)
    }

    /// Every job, in arrival order.
    pub fn all(&self) -> Result<Vec<LocalJob>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(JOBS)?;
        let mut jobs = Vec::new();
        for entry in table.iter()? {
            let (_, v) = entry?;
            jobs.push(decode(v.value())?);
        }
        jobs.sort_by_key(|j| j.seq);
        Ok(jobs)
    }

    pub fn get(&self, id: &str) -> Result<Option<LocalJob>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(JOBS)?;
        let job = table.get(id)?.map(|v| decode(v.value())).transpose()?;
        Ok(job)
    }

    pub fn counts(&self) -> Result<Counts> {
        Ok(counts(&self.all()?))
    }

    /// Forget acknowledged jobs older than [`KEEP_DONE`].
    pub fn prune(&self, now: jiff::Timestamp) -> Result<usize> {
        let old: Vec<String> = self
            .all()?
            .into_iter()
            .filter(|j| {
                j.state.is_final() && j.acked && now.duration_since(j.updated_at) > KEEP_DONE
            })
            .map(|j| j.job.id)
            .collect();
        if old.is_empty() {
            return Ok(0);
        }
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(JOBS)?;
            for id in &old {
                table.remove(id.as_str())?;
            }
        }
        tx.commit()?;
        Ok(old.len())
    }
}

pub fn counts(jobs: &[LocalJob]) -> Counts {
    let mut c = Counts::default();
    for j in jobs {
        match j.state {
            State::Received => c.waiting += 1,
            State::Unknown => {
                c.waiting += 1;
                c.unknown += 1;
            }
            State::Sent => c.sent += 1,
            State::Printed => c.printed += 1,
            State::Failed => c.failed += 1,
        }
        if j.state.is_final() && !j.acked {
            c.unacked += 1;
        }
    }
    c
}

fn encode(job: &LocalJob) -> Result<Vec<u8>> {
    serde_json::to_vec(job).context("cannot encode a queued job")
}

fn decode(bytes: &[u8]) -> Result<LocalJob> {
    serde_json::from_slice(bytes).context("a queued job is unreadable")
}
