//! An order's life after checkout: received → accepted → preparing → ready → completed, or
//! cancelled with a reason. Moves go forward only (a step may be skipped: a counter order goes
//! straight from accepted to ready); a completed or cancelled order is final.
//!
//! Every change is recorded in the order's history with who made it and when, and is written
//! with compare-and-swap against the version the person saw ([`Order::version`], the number
//! of changes so far), so two staff screens cannot overwrite each other: the second is told
//! the order moved and shown where it stands.
//!
//! The first move out of `received` (into any status but cancelled) is the kitchen accepting
//! the order: its print jobs are queued ([`crate::printing::enqueue`]) *before* the order's
//! compare-and-swap commits the move, so an accepted order always has its tickets; a crash in
//! between leaves the order received and a job no agent is served.

use super::checkout::{Order, OrderStatus, StatusChange, order};
use crate::ids::BusinessId;
use crate::outbox::{self, TextEvent};
use crate::printing::{self, JobKind};
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{read_json_versioned, to_json};

/// Longest cancellation reason kept.
pub const MAX_REASON_CHARS: usize = 200;

impl OrderStatus {
    /// The step a "bump" on the kitchen display moves to.
    pub fn next(self) -> Option<OrderStatus> {
        match self {
            OrderStatus::Received => Some(OrderStatus::Accepted),
            OrderStatus::Accepted => Some(OrderStatus::Preparing),
            OrderStatus::Preparing => Some(OrderStatus::Ready),
            OrderStatus::Ready => Some(OrderStatus::Completed),
            OrderStatus::Completed | OrderStatus::Cancelled => None,
        }
    }

    fn rank(self) -> u8 {
        match self {
            OrderStatus::Received => 0,
            OrderStatus::Accepted => 1,
            OrderStatus::Preparing => 2,
            OrderStatus::Ready => 3,
            OrderStatus::Completed => 4,
            OrderStatus::Cancelled => 5,
        }
    }

    /// Whether nothing more can happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "received",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Preparing => "preparing",
            OrderStatus::Ready => "ready",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        Some(match s {
            "received" => OrderStatus::Received,
            "accepted" => OrderStatus::Accepted,
            "preparing" => OrderStatus::Preparing,
            "ready" => OrderStatus::Ready,
            "completed" => OrderStatus::Completed,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }
}

impl Order {
    /// The version a change must name: how many changes the order has had.
    pub fn version(&self) -> u32 {
        u32::try_from(self.history.len()).unwrap_or(u32::MAX)
    }
}

/// A move someone asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub to: OrderStatus,
    /// The version the person saw.
    pub version: u32,
    /// Who asks ("user:…", "staff:…", "operator").
    pub by: String,
    /// Required for a cancellation.
    pub reason: Option<String>,
}

/// Why a move was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefused {
    #[error("no such order")]
    NoOrder,
    /// Someone else changed the order since `version` was read.
    #[error("the order changed since version {seen}; it is now {}", .current.status.as_str())]
    Stale { seen: u32, current: Box<Order> },
    #[error("an order that is {} cannot become {}", .from.as_str(), .to.as_str())]
    NotAllowed { from: OrderStatus, to: OrderStatus },
    #[error("a cancellation needs a reason (1 to 200 characters)")]
    NeedsReason,
}

/// Whether an order may move from `from` to `to`.
pub fn allowed(from: OrderStatus, to: OrderStatus) -> bool {
    if from.is_final() || from == to {
        return false;
    }
    to == OrderStatus::Cancelled || to.rank() > from.rank()
}

/// The print jobs an accepted order calls for.
pub fn print_kinds(receipts: bool) -> Vec<JobKind> {
    let mut kinds = vec![JobKind::Kitchen];
    if receipts {
        kinds.push(JobKind::Receipt);
    }
    kinds
}

/// What a move needs to know of the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shop<'a> {
    /// The name texts to customers are signed with.
    pub name: &'a str,
    /// Whether a receipt is printed beside the kitchen ticket.
    pub receipts: bool,
}

/// Move order `order_id` as asked (see the module doc). Becoming ready queues the text that
/// tells the customer ([`crate::outbox`]), before the move commits.
pub async fn change_status<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    mv: &Move,
    shop: Shop<'_>,
    now: jiff::Timestamp,
) -> Result<Result<Order, MoveRefused>, StoreError> {
    let reason = mv
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if mv.to == OrderStatus::Cancelled
        && reason.is_none_or(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Ok(Err(MoveRefused::NeedsReason));
    }
    // The id is checked (and an unknown one answered) by the plain read first.
    if order(store, business, order_id).await?.is_none() {
        return Ok(Err(MoveRefused::NoOrder));
    }
    let key = keys::order(business, order_id);
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let Some((mut o, version)) = read_json_versioned::<_, Order>(store, &key).await? else {
            return Ok(Err(MoveRefused::NoOrder));
        };
        if o.version() != mv.version {
            return Ok(Err(MoveRefused::Stale {
                seen: mv.version,
                current: Box::new(o),
            }));
        }
        if !allowed(o.status, mv.to) {
            return Ok(Err(MoveRefused::NotAllowed {
                from: o.status,
                to: mv.to,
            }));
        }
        if o.status == OrderStatus::Received && mv.to != OrderStatus::Cancelled {
            printing::enqueue(store, business, order_id, &print_kinds(shop.receipts), now).await?;
        }
        if mv.to == OrderStatus::Ready
            && let Some(line) = &o.line
            && let Some(text) = outbox::compose(&o, TextEvent::Ready, shop.name, line, None, now)
        {
            outbox::enqueue(store, business, text).await?;
        }
        o.status = mv.to;
        o.history.push(StatusChange {
            status: mv.to,
            at: now,
            by: mv.by.clone(),
            reason: reason.map(str::to_owned),
        });
        match store
            .compare_and_swap(&key, Some(version), &to_json(&o)?)
            .await
        {
            Ok(()) => return Ok(Ok(o)),
            // Another writer got in between the read and the swap: read again, which answers
            // Stale (it changed the version) unless the write was the same order unchanged.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn moves_go_forward_and_final_states_stay() {
        assert!(allowed(Received, Accepted));
        assert!(allowed(Accepted, Ready));
        assert!(allowed(Preparing, Cancelled));
        assert!(!allowed(Ready, Preparing));
        assert!(!allowed(Completed, Cancelled));
        assert!(!allowed(Cancelled, Accepted));
        assert!(!allowed(Accepted, Accepted));
        assert_eq!(Ready.next(), Some(Completed));
        assert_eq!(Completed.next(), None);
    }

    #[test]
    fn statuses_read_as_they_are_written() {
        for s in [Received, Accepted, Preparing, Ready, Completed, Cancelled] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        assert_eq!(OrderStatus::parse("done"), None);
    }
}
