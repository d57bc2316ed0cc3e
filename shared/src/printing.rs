//! Print jobs: the kitchen's queue of tickets, and the wire types the edge agent reads.
//!
//! A job carries the structured [`Ticket`] (order number, fulfilment, time, lines with their
//! options and notes, totals), never printer bytes: the agent renders ESC/POS for its own
//! printers. Both ends use these types, so they agree by construction.
//!
//! One record per business, the [`PrintQueue`] at `biz/{b}/print-queue`, holds every job's
//! state and is changed only by compare-and-swap, so two agents polling at once can never
//! lease the same job. The queue is written *before* the order change that calls for the job
//! (checkout, or a staff member accepting an order) commits; a job is served only once its
//! order exists in a printable state. A crash between the two leaves a job nobody is served,
//! which is dropped once it is old ([`ORPHAN_AFTER_SECONDS`]), never a committed order
//! without its ticket.
//!
//! Leases: a poll leases the business's pending jobs to the calling device for
//! [`LEASE_SECONDS`]; the same device polling again gets its un-acknowledged jobs back with the
//! lease renewed (it keeps them in its own durable queue and deduplicates by id), another
//! device only after the lease has run out. An acknowledgement says printed (done) or failed
//! (kept, with the reason, for the kitchen display and a staff reprint).

use crate::ids::BusinessId;
use crate::money::Cents;
use crate::orders::{Fulfillment, Order, OrderStatus};
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{read_json, update_json};
use serde::{Deserialize, Serialize};

/// How long a poll's lease on a job lasts.
pub const LEASE_SECONDS: i64 = 120;
/// A queued job whose order never committed is dropped after this long.
pub const ORPHAN_AFTER_SECONDS: i64 = 15 * 60;
/// Finished jobs (printed, cancelled) stay listed this long for the display and reprints.
pub const KEEP_DONE_SECONDS: i64 = 24 * 60 * 60;
/// A job no agent printed within this long is marked failed ("not printed in time"): a
/// kitchen ticket half a day late helps no one, the owner sees it among the print jobs, and
/// the queue of a business with no printer (or one long offline) stays bounded.
pub const STALE_AFTER_SECONDS: i64 = 12 * 60 * 60;
/// Jobs handed out by one poll, at most.
pub const MAX_LEASED_PER_POLL: usize = 20;
/// Jobs waiting at most: beyond this the oldest waiting ones are marked failed ("too many
/// tickets waiting"), kept for a staff reprint. The queue is one record rewritten by every
/// checkout, so its size is every order's cost; a hundred tickets no printer has taken means
/// the kitchen is working from the display anyway.
pub const MAX_OPEN: usize = 100;
/// Finished jobs kept in the record (the newest; for the display, acknowledgements retried
/// late and reprints), within [`KEEP_DONE_SECONDS`].
pub const KEEP_FINISHED: usize = 50;

/// What a ticket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The kitchen ticket: what to make.
    Kitchen,
    /// The customer's receipt: with prices and totals.
    Receipt,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Kitchen => "kitchen",
            JobKind::Receipt => "receipt",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        match s {
            "kitchen" => Some(JobKind::Kitchen),
            "receipt" => Some(JobKind::Receipt),
            _ => None,
        }
    }
}

/// One option on a ticket line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOption {
    pub name: String,
    pub price_cents: Cents,
}

/// One line of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    pub quantity: u32,
    pub name: String,
    /// Options the caller chose (defaults the caller never mentioned are left off the
    /// kitchen's reading but kept here, marked, for the receipt's prices).
    pub options: Vec<TicketOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub line_cents: Cents,
}

/// Pickup or delivery, as the ticket shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TicketFulfillment {
    Pickup,
    Delivery { address: String, zone: String },
}

/// The structured ticket of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub business_id: BusinessId,
    pub order_id: String,
    /// The short number, as staff call it out.
    pub order_number: String,
    pub fulfillment: TicketFulfillment,
    pub placed_at: jiff::Timestamp,
    /// When the customer wants it (`None`: as soon as possible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted_at: Option<jiff::Timestamp>,
    /// The restaurant's time zone, for printing the times in local time.
    pub timezone: String,
    pub lines: Vec<TicketLine>,
    pub subtotal_cents: Cents,
    pub tax_cents: Cents,
    pub delivery_fee_cents: Cents,
    pub total_cents: Cents,
}

impl Ticket {
    /// The ticket of `order`, for a restaurant in `timezone`.
    pub fn of(order: &Order, timezone: &str) -> Ticket {
        Ticket {
            business_id: order.business_id.clone(),
            order_id: order.id.clone(),
            order_number: order.number.clone(),
            fulfillment: match &order.fulfillment {
                Fulfillment::Pickup => TicketFulfillment::Pickup,
                Fulfillment::Delivery { address, zone, .. } => TicketFulfillment::Delivery {
                    address: address.clone(),
                    zone: zone.clone(),
                },
            },
            placed_at: order.placed_at,
            wanted_at: order.wanted_at,
            timezone: timezone.to_owned(),
            lines: order
                .lines
                .iter()
                .map(|l| TicketLine {
                    quantity: l.quantity,
                    name: l.name.clone(),
                    options: l
                        .options
                        .iter()
                        .map(|o| TicketOption {
                            name: o.name.clone(),
                            price_cents: o.price_cents,
                        })
                        .collect(),
                    notes: l.notes.clone(),
                    line_cents: l.line_cents,
                })
                .collect(),
            subtotal_cents: order.totals.subtotal_cents,
            tax_cents: order.totals.tax_cents,
            delivery_fee_cents: order.totals.delivery_fee_cents,
            total_cents: order.totals.total_cents,
        }
    }
}

/// Where one job stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for an agent.
    Pending,
    /// Handed to `device` until `until`.
    Leased {
        device: String,
        until: jiff::Timestamp,
    },
    /// The agent reports it printed.
    Printed { device: String, at: jiff::Timestamp },
    /// The agent gave up on it; a staff reprint queues it again.
    Failed {
        device: String,
        at: jiff::Timestamp,
        reason: String,
    },
    /// Its order was cancelled before any agent took it.
    Cancelled { at: jiff::Timestamp },
}

/// One job in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedJob {
    /// `{order_id}.{kind}`, and `.r{n}` for the n-th reprint a person asked for.
    pub id: String,
    pub order_id: String,
    pub kind: JobKind,
    /// 0 for the first print; n for the n-th reprint asked for by staff.
    pub reprint: u32,
    #[serde(flatten)]
    pub state: JobState,
    /// How many times it has been leased.
    pub leases: u32,
    /// How many times the printer holding it reported trouble (paper out, cover open, offline)
    /// while it was out: printed again, it says REPRINT.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted: u32,
    pub queued_at: jiff::Timestamp,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl QueuedJob {
    fn new(order_id: &str, kind: JobKind, reprint: u32, now: jiff::Timestamp) -> QueuedJob {
        let id = match reprint {
            0 => format!("{order_id}.{}", kind.as_str()),
            n => format!("{order_id}.{}.r{n}", kind.as_str()),
        };
        QueuedJob {
            id,
            order_id: order_id.to_owned(),
            kind,
            reprint,
            state: JobState::Pending,
            leases: 0,
            interrupted: 0,
            queued_at: now,
        }
    }

    fn finished_at(&self) -> Option<jiff::Timestamp> {
        match &self.state {
            JobState::Printed { at, .. }
            | JobState::Failed { at, .. }
            | JobState::Cancelled { at } => Some(*at),
            _ => None,
        }
    }

    /// What an agent or printer is handed for it, under a lease until `until`.
    fn handed(&self, until: jiff::Timestamp, order: &Order, timezone: &str) -> PrintJob {
        PrintJob {
            id: self.id.clone(),
            kind: self.kind,
            reprint: self.reprint,
            leases: self.leases,
            lease_until: until,
            ticket: Ticket::of(order, timezone),
        }
    }

    /// Whether `device` may take it now.
    fn leasable_by(&self, device: &str, now: jiff::Timestamp) -> bool {
        match &self.state {
            JobState::Pending => true,
            JobState::Leased { device: d, until } => d == device || *until <= now,
            _ => false,
        }
    }
}

/// Every print job of one business.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintQueue {
    pub jobs: Vec<QueuedJob>,
}

impl PrintQueue {
    /// Drop what no one needs any more: finished jobs past [`KEEP_DONE_SECONDS`], and jobs
    /// whose order is known not to exist and which are past [`ORPHAN_AFTER_SECONDS`].
    /// Mark failed the jobs no agent printed within [`STALE_AFTER_SECONDS`] of `now`, the
    /// time a new job is queued (the same clock as every job's `queued_at`).
    fn expire_stale(&mut self, now: jiff::Timestamp) {
        for j in &mut self.jobs {
            if j.finished_at().is_none()
                && now.as_second() - j.queued_at.as_second() >= STALE_AFTER_SECONDS
            {
                j.state = JobState::Failed {
                    device: String::new(),
                    at: now,
                    reason: "not printed within 12 hours".into(),
                };
            }
        }
    }

    fn prune(&mut self, now: jiff::Timestamp, orphans: &[String]) {
        self.jobs.retain(|j| {
            if let Some(at) = j.finished_at() {
                return now.as_second() - at.as_second() < KEEP_DONE_SECONDS;
            }
            !(orphans.contains(&j.order_id)
                && now.as_second() - j.queued_at.as_second() >= ORPHAN_AFTER_SECONDS)
        });
        self.bound(now);
    }

    /// Keep the record small ([`crate::bounded`]): at most [`MAX_OPEN`] jobs waiting or
    /// leased and the newest [`KEEP_FINISHED`] finished ones.
    fn bound(&mut self, now: jiff::Timestamp) {
        crate::bounded::bound(
            &mut self.jobs,
            now,
            MAX_OPEN,
            KEEP_FINISHED,
            "tickets for a printer",
        );
    }
}

impl crate::bounded::Entry for QueuedJob {
    fn finished_at(&self) -> Option<jiff::Timestamp> {
        QueuedJob::finished_at(self)
    }
    fn waiting_since(&self) -> Option<jiff::Timestamp> {
        (self.state == JobState::Pending).then_some(self.queued_at)
    }
    fn give_up(&mut self, now: jiff::Timestamp, reason: String) {
        self.state = JobState::Failed {
            device: String::new(),
            at: now,
            reason,
        };
    }
}

/// What a poll hands an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintJob {
    pub id: String,
    pub kind: JobKind,
    /// 0 for the first print; n when a person asked for the n-th reprint.
    pub reprint: u32,
    /// How many times this job has been handed out (more than 1: an agent may have printed
    /// it before; the agent's own queue decides whether to mark it REPRINT).
    pub leases: u32,
    pub lease_until: jiff::Timestamp,
    pub ticket: Ticket,
}

impl PrintJob {
    /// Whether the paper should say REPRINT when a server renders it (a Star CloudPRNT
    /// printer keeps no memory of its own): a person asked for it again, it was handed out
    /// before, or its printer reported trouble while holding it.
    pub fn said_again(&self, interrupted: u32) -> bool {
        self.reprint > 0 || self.leases > 1 || interrupted > 0
    }
}

/// Queue the jobs an order calls for when it becomes accepted. Idempotent: a job already in
/// the queue (same id) is left as it is. Call it before the order change commits.
pub async fn enqueue<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    kinds: &[JobKind],
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    update_json::<_, PrintQueue, _>(store, &keys::print_queue(business), |q| {
        let mut q = q.unwrap_or_default();
        let before = q.clone();
        q.expire_stale(now);
        for kind in kinds {
            let job = QueuedJob::new(order_id, *kind, 0, now);
            if !q.jobs.iter().any(|j| j.id == job.id) {
                q.jobs.push(job);
            }
        }
        q.prune(now, &[]);
        (q != before).then_some(q)
    })
    .await
    .map(|_| ())
}

/// Queue the next reprint of one kind of ticket for an order, asked for by a person. Returns
/// the new job's id. Reprints are counted per order and kind by an atomic counter, so a
/// number (and the job id made of it) is never given twice, even after older jobs have left
/// the record; an agent that remembers an id would otherwise take a new reprint for an old one.
pub async fn reprint<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    kind: JobKind,
    now: jiff::Timestamp,
) -> Result<String, StoreError> {
    let counted = store
        .increment(&keys::reprints(business, order_id, kind.as_str()), 1)
        .await?;
    let job = QueuedJob::new(
        order_id,
        kind,
        u32::try_from(counted).unwrap_or(u32::MAX),
        now,
    );
    let id = job.id.clone();
    update_json::<_, PrintQueue, _>(store, &keys::print_queue(business), |q| {
        let mut q = q.unwrap_or_default();
        if q.jobs.iter().any(|j| j.id == job.id) {
            return None;
        }
        q.jobs.push(job.clone());
        q.bound(now);
        Some(q)
    })
    .await?;
    Ok(id)
}

/// Whether an order in `status` is printed: once the kitchen has it, until it is cancelled.
pub fn printable(status: OrderStatus) -> bool {
    !matches!(status, OrderStatus::Received | OrderStatus::Cancelled)
}

/// Lease the business's printable jobs to `device` (see the module doc) and return them with
/// their tickets: at most [`MAX_LEASED_PER_POLL`].
pub async fn lease<S: Store>(
    store: &S,
    business: &BusinessId,
    timezone: &str,
    device: &str,
    now: jiff::Timestamp,
) -> Result<Vec<PrintJob>, StoreError> {
    lease_up_to(store, business, timezone, device, now, MAX_LEASED_PER_POLL).await
}

/// [`lease`], at most `max` jobs (a CloudPRNT printer takes one at a time). Jobs of cancelled
/// orders are marked cancelled; jobs of orders that never committed are skipped (and dropped
/// once old).
pub async fn lease_up_to<S: Store>(
    store: &S,
    business: &BusinessId,
    timezone: &str,
    device: &str,
    now: jiff::Timestamp,
    max: usize,
) -> Result<Vec<PrintJob>, StoreError> {
    let max = max.clamp(1, MAX_LEASED_PER_POLL);
    let Some(queue) = read_json::<_, PrintQueue>(store, &keys::print_queue(business)).await? else {
        return Ok(Vec::new());
    };
    // The orders behind the jobs this device could take: read before the compare-and-swap,
    // so the swap itself is one write.
    let mut orders: Vec<(String, Option<Order>)> = Vec::new();
    for job in queue.jobs.iter().filter(|j| j.leasable_by(device, now)) {
        if orders.len() >= MAX_LEASED_PER_POLL * 2 {
            break;
        }
        if !orders.iter().any(|(id, _)| id == &job.order_id) {
            let order = crate::orders::checkout::order(store, business, &job.order_id).await?;
            orders.push((job.order_id.clone(), order));
        }
    }
    let orphans: Vec<String> = orders
        .iter()
        .filter(|(_, o)| o.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let until = now
        .checked_add(jiff::SignedDuration::from_secs(LEASE_SECONDS))
        .unwrap_or(now);
    let mut handed: Vec<PrintJob> = Vec::new();
    update_json::<_, PrintQueue, _>(store, &keys::print_queue(business), |q| {
        let mut q = q?;
        handed.clear();
        let before = q.clone();
        for job in q.jobs.iter_mut() {
            if handed.len() >= max || !job.leasable_by(device, now) {
                continue;
            }
            let Some((_, Some(order))) = orders.iter().find(|(id, _)| id == &job.order_id) else {
                continue;
            };
            if order.status == OrderStatus::Cancelled {
                job.state = JobState::Cancelled { at: now };
                continue;
            }
            if !printable(order.status) {
                continue;
            }
            let renewing = matches!(&job.state, JobState::Leased { device: d, until } if d == device && *until > now);
            if !renewing {
                job.leases = job.leases.saturating_add(1);
            }
            job.state = JobState::Leased {
                device: device.to_owned(),
                until,
            };
            handed.push(job.handed(until, order, timezone));
        }
        q.prune(now, &orphans);
        (q != before).then_some(q)
    })
    .await?;
    Ok(handed)
}

/// The job `device` holds under a live lease (by id, or its first), with its ticket and its
/// count of interruptions; read only, so asking again gets the same job until the lease runs
/// out (a CloudPRNT printer's GET).
pub async fn held_by<S: Store>(
    store: &S,
    business: &BusinessId,
    timezone: &str,
    device: &str,
    job_id: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Option<(PrintJob, u32)>, StoreError> {
    let q = queue(store, business).await?;
    let Some((job, until)) = q.jobs.iter().find_map(|j| match &j.state {
        JobState::Leased { device: d, until }
            if d == device && *until > now && job_id.is_none_or(|id| id == j.id) =>
        {
            Some((j, *until))
        }
        _ => None,
    }) else {
        return Ok(None);
    };
    let Some(order) = crate::orders::checkout::order(store, business, &job.order_id).await? else {
        return Ok(None);
    };
    Ok(Some((job.handed(until, &order, timezone), job.interrupted)))
}

/// `device` reports trouble (paper out, cover open…): every job it holds is counted as
/// interrupted, so that printed again it says REPRINT. Call it when the trouble starts, not
/// on every report while it lasts.
pub async fn interrupt<S: Store>(
    store: &S,
    business: &BusinessId,
    device: &str,
) -> Result<usize, StoreError> {
    let mut marked = 0;
    update_json::<_, PrintQueue, _>(store, &keys::print_queue(business), |q| {
        let mut q = q?;
        marked = 0;
        for j in q.jobs.iter_mut() {
            if matches!(&j.state, JobState::Leased { device: d, .. } if d == device) {
                j.interrupted = j.interrupted.saturating_add(1);
                marked += 1;
            }
        }
        (marked > 0).then_some(q)
    })
    .await?;
    Ok(marked)
}

/// How often an unchanged status is written again (so "last seen" stays fresh without a
/// write on every poll).
pub const STATUS_REFRESH_SECONDS: i64 = 60;

/// What a device last said of itself and its printers, for the owner's device list and the
/// kitchen display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// The device's name when it reported (what the kitchen display calls it).
    #[serde(default)]
    pub name: String,
    pub seen_at: jiff::Timestamp,
    /// Everything prints (no printer offline, out of paper or open).
    pub ok: bool,
    /// The device's own words: a CloudPRNT status code, or the agent's summary.
    pub status: String,
    /// The agent's printers as it reports them (CloudPRNT: none; the device is the printer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub printers: Vec<PrinterStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_job: Option<String>,
}

/// One printer behind an edge agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterStatus {
    pub id: String,
    pub name: String,
    /// `online`, `offline`, `paper_out`, `cover_open`, `error`, or `unknown` (not checked yet).
    pub state: String,
    /// How the restaurant set the printer up on the agent, so the owner sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<PrinterProfile>,
}

/// A printer's profile as the agent keeps it (printer profiles, version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    /// The profile format's version (1).
    pub version: u32,
    /// kitchen, receipt or both.
    #[schemars(regex(pattern = r"^(kitchen|receipt|both)$"))]
    pub role: String,
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    pub port: u16,
    /// 58 (32 columns) or 80 (48 columns).
    pub paper_width_mm: u16,
    #[schemars(length(min = 1, max = 16))]
    pub code_page: String,
    pub cutter: bool,
    pub drawer: bool,
    #[serde(default)]
    pub qr: bool,
    /// The printer that takes this one's tickets while it is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub backup: Option<String>,
}

impl PrinterProfile {
    /// What is wrong with it, as `(field, message)` (the field relative to the profile).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if !matches!(self.role.as_str(), "kitchen" | "receipt" | "both") {
            return Some(("role", "must be kitchen, receipt or both"));
        }
        if self.host.trim().is_empty() || self.host.len() > 253 {
            return Some(("host", "must be 1 to 253 characters"));
        }
        if self.code_page.is_empty() || self.code_page.len() > 16 {
            return Some(("code_page", "must be 1 to 16 characters"));
        }
        if self
            .backup
            .as_ref()
            .is_some_and(|b| b.is_empty() || b.len() > 64)
        {
            return Some(("backup", "must be 1 to 64 characters"));
        }
        None
    }
}

/// Every device's last report, one record per business (`device_id` → status): the kitchen
/// display reads it on every poll, so it is one read, not a listing of the devices.
pub type DeviceStatuses = std::collections::BTreeMap<String, DeviceStatus>;

/// Record what `device` says of itself; written when it changed or every
/// [`STATUS_REFRESH_SECONDS`]. Returns whether trouble began with this report (it was fine,
/// or never reported, and now is not).
pub async fn report_status<S: Store>(
    store: &S,
    business: &BusinessId,
    device: &str,
    status: DeviceStatus,
) -> Result<bool, StoreError> {
    let mut began = false;
    update_json::<_, DeviceStatuses, _>(store, &keys::device_statuses(business), |all| {
        let mut all = all.unwrap_or_default();
        let before = all.get(device);
        began = !status.ok && before.is_none_or(|b| b.ok);
        let fresh = before.is_some_and(|b| {
            let same = DeviceStatus {
                seen_at: b.seen_at,
                ..status.clone()
            } == *b;
            same && status.seen_at.as_second() - b.seen_at.as_second() < STATUS_REFRESH_SECONDS
        });
        if fresh {
            return None;
        }
        all.insert(device.to_owned(), status.clone());
        Some(all)
    })
    .await?;
    Ok(began)
}

/// Every device's last report.
pub async fn device_statuses<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<DeviceStatuses, StoreError> {
    Ok(read_json(store, &keys::device_statuses(business))
        .await?
        .unwrap_or_default())
}

/// Forget a device's reports (it was unpaired).
pub async fn forget_device<S: Store>(
    store: &S,
    business: &BusinessId,
    device: &str,
) -> Result<(), StoreError> {
    update_json::<_, DeviceStatuses, _>(store, &keys::device_statuses(business), |all| {
        let mut all = all?;
        all.remove(device)?;
        Some(all)
    })
    .await
    .map(|_| ())
}

/// What an agent reports of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    Printed,
    Failed(String),
}

/// Why an acknowledgement was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckRefused {
    #[error("no such print job")]
    NoJob,
    #[error("this job is leased to another device")]
    NotYours,
}

/// Record what `device` says of job `job_id`. Acknowledging a job already acknowledged the
/// same way is answered as done (the agent may retry after losing our answer); a device that
/// never held the job, or lost its lease to another device, is refused.
pub async fn acknowledge<S: Store>(
    store: &S,
    business: &BusinessId,
    device: &str,
    job_id: &str,
    ack: Ack,
    now: jiff::Timestamp,
) -> Result<Result<QueuedJob, AckRefused>, StoreError> {
    let mut outcome: Result<QueuedJob, AckRefused> = Err(AckRefused::NoJob);
    update_json::<_, PrintQueue, _>(store, &keys::print_queue(business), |q| {
        let mut q = q?;
        let Some(job) = q.jobs.iter_mut().find(|j| j.id == job_id) else {
            outcome = Err(AckRefused::NoJob);
            return None;
        };
        let holder = match &job.state {
            JobState::Leased { device: d, .. }
            | JobState::Printed { device: d, .. }
            | JobState::Failed { device: d, .. } => Some(d.as_str()),
            JobState::Pending | JobState::Cancelled { .. } => None,
        };
        if holder != Some(device) {
            outcome = Err(AckRefused::NotYours);
            return None;
        }
        let next = match &ack {
            Ack::Printed => JobState::Printed {
                device: device.to_owned(),
                at: now,
            },
            Ack::Failed(reason) => JobState::Failed {
                device: device.to_owned(),
                at: now,
                reason: reason.clone(),
            },
        };
        let same = matches!(
            (&job.state, &next),
            (JobState::Printed { .. }, JobState::Printed { .. })
                | (JobState::Failed { .. }, JobState::Failed { .. })
        );
        if same {
            outcome = Ok(job.clone());
            return None;
        }
        // A job printed is done: a late "failed" from a retry does not undo it.
        if matches!(job.state, JobState::Printed { .. }) {
            outcome = Ok(job.clone());
            return None;
        }
        job.state = next;
        outcome = Ok(job.clone());
        q.bound(now);
        Some(q)
    })
    .await?;
    Ok(outcome)
}

/// The business's queue as stored (the display's view of the printers' work).
pub async fn queue<S: Store>(store: &S, business: &BusinessId) -> Result<PrintQueue, StoreError> {
    Ok(read_json(store, &keys::print_queue(business))
        .await?
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn job_ids_name_order_kind_and_reprint() {
        assert_eq!(
            QueuedJob::new("o-c1", JobKind::Kitchen, 0, t(0)).id,
            "o-c1.kitchen"
        );
        assert_eq!(
            QueuedJob::new("o-c1", JobKind::Receipt, 2, t(0)).id,
            "o-c1.receipt.r2"
        );
    }

    #[test]
    fn a_lease_is_the_holders_until_it_runs_out() {
        let mut j = QueuedJob::new("o-c1", JobKind::Kitchen, 0, t(0));
        assert!(j.leasable_by("a", t(0)));
        j.state = JobState::Leased {
            device: "a".into(),
            until: t(120),
        };
        assert!(j.leasable_by("a", t(10)));
        assert!(!j.leasable_by("b", t(119)));
        assert!(j.leasable_by("b", t(120)));
    }

    #[test]
    fn the_record_stays_bounded() {
        let mut q = PrintQueue::default();
        for i in 0..(MAX_OPEN as i64 + 30) {
            q.jobs.push(QueuedJob::new(
                &format!("o-w{i}"),
                JobKind::Kitchen,
                0,
                t(i),
            ));
        }
        for i in 0..(KEEP_FINISHED as i64 + 20) {
            let mut j = QueuedJob::new(&format!("o-p{i}"), JobKind::Kitchen, 0, t(0));
            j.state = JobState::Printed {
                device: "d".into(),
                at: t(1000 + i),
            };
            q.jobs.push(j);
        }
        q.bound(t(5000));
        let open: Vec<&str> = q
            .jobs
            .iter()
            .filter(|j| j.finished_at().is_none())
            .map(|j| j.order_id.as_str())
            .collect();
        assert_eq!(open.len(), MAX_OPEN);
        // The 30 oldest waiting jobs failed just now, so they are the newest finished ones
        // and stay listed (for a reprint); of the printed ones only the newest remain.
        assert_eq!(open[0], "o-w30");
        let failed = q
            .jobs
            .iter()
            .filter(|j| matches!(j.state, JobState::Failed { .. }))
            .count();
        assert_eq!(failed, 30);
        let printed: Vec<usize> = q
            .jobs
            .iter()
            .filter(|j| matches!(j.state, JobState::Printed { .. }))
            .map(|j| j.order_id.trim_start_matches("o-p").parse().unwrap())
            .collect();
        assert_eq!(printed.len(), KEEP_FINISHED - 30);
        assert!(printed.iter().all(|&i| i >= 50), "{printed:?}");
    }

    #[test]
    fn pruning_keeps_pending_and_recent_jobs() {
        let mut q = PrintQueue::default();
        let mut old_done = QueuedJob::new("o-a", JobKind::Kitchen, 0, t(0));
        old_done.state = JobState::Printed {
            device: "d".into(),
            at: t(0),
        };
        let pending = QueuedJob::new("o-b", JobKind::Kitchen, 0, t(0));
        let orphan = QueuedJob::new("o-c", JobKind::Kitchen, 0, t(0));
        let young_orphan = QueuedJob::new("o-d", JobKind::Kitchen, 0, t(KEEP_DONE_SECONDS));
        q.jobs = vec![old_done, pending, orphan, young_orphan];
        q.prune(t(KEEP_DONE_SECONDS + 1), &["o-c".into(), "o-d".into()]);
        let ids: Vec<&str> = q.jobs.iter().map(|j| j.order_id.as_str()).collect();
        assert_eq!(ids, ["o-b", "o-d"]);
    }
}
