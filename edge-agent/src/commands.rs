//! `status` and `test-print`: what they read and print.

use crate::agent::{LastJob, Snapshot, layout};
use crate::config::{DataDir, PrinterProfile};
use crate::printer::{self, Delivery, Timeouts};
use crate::queue::Queue;
use crate::render::render;
use anyhow::{Result, bail};
use hostline_shared::ids::BusinessId;
use hostline_shared::money::Cents;
use hostline_shared::printing::{JobKind, Ticket, TicketFulfillment, TicketLine, TicketOption};
use std::fmt::Write as _;

/// A ticket that exercises the layout: options, a note, accents, delivery.
pub fn sample_ticket() -> Result<Ticket> {
    let line =
        |q: u32, name: &str, opts: &[(&str, i64)], notes: Option<&str>, cents: i64| TicketLine {
            quantity: q,
            name: name.to_owned(),
            options: opts
                .iter()
                .map(|(n, c)| TicketOption {
                    name: (*n).to_owned(),
                    price_cents: Cents(*c),
                })
                .collect(),
            notes: notes.map(str::to_owned),
            line_cents: Cents(cents),
        };
    Ok(Ticket {
        business_id: BusinessId::parse("test-print")?,
        order_id: "test-print".to_owned(),
        order_number: "TEST".to_owned(),
        fulfillment: TicketFulfillment::Pickup,
        placed_at: jiff::Timestamp::now(),
        wanted_at: None,
        timezone: "UTC".to_owned(),
        lines: vec![
            line(
                2,
                "Cheeseburger",
                &[("Extra cheese", 150), ("No pickles", 0)],
                Some("Well done"),
                2300,
            ),
            line(1, "Crème brûlée", &[], None, 750),
        ],
        subtotal_cents: Cents(3050),
        tax_cents: Cents(275),
        delivery_fee_cents: Cents(0),
        total_cents: Cents(3325),
    })
}

/// Print the sample ticket on `printer` now (not through the queue).
pub fn test_print(p: &PrinterProfile, timeouts: &Timeouts) -> Result<()> {
    let kind = match p.role {
        crate::config::Role::Receipt => JobKind::Receipt,
        _ => JobKind::Kitchen,
    };
    let bytes = render(&sample_ticket()?, kind, &layout(p), None);
    match printer::deliver(&p.address(), &bytes, timeouts, || {
        Ok::<(), anyhow::Error>(())
    })? {
        Delivery::Printed => Ok(()),
        Delivery::Unknown(why) => bail!("{}: sent, but the printer did not confirm: {why}", p.id),
        Delivery::NotSent(h) => bail!("{}: not printed: {h}", p.id),
    }
}

/// The `status` report. While `run` holds the queue, it is read from the agent's last
/// snapshot; otherwise from the queue itself, with each printer checked now.
pub fn status(data: &DataDir, timeouts: &Timeouts) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "edge-agent {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "data directory: {}", data.root().display());
    match data.device() {
        Ok(d) => {
            let _ = writeln!(
                out,
                "paired as {:?} with {} on {}",
                d.name, d.url, d.paired_at
            );
        }
        Err(e) => {
            let _ = writeln!(out, "not paired: {e:#}");
        }
    }
    let book = data.printers()?;
    match Queue::open(&data.queue_path()) {
        Ok(queue) => {
            let _ = writeln!(out, "agent: not running");
            let jobs = queue.all()?;
            let c = crate::queue::counts(&jobs);
            let _ = writeln!(
                out,
                "queue: {} waiting ({} to reprint), {} printed, {} failed, {} not yet acknowledged",
                c.waiting, c.unknown, c.printed, c.failed, c.unacked
            );
            if let Some(last) = jobs.iter().max_by_key(|j| j.updated_at) {
                write_last(&mut out, &LastJob::of(last));
            }
            let _ = writeln!(out, "printers:");
            for p in &book.printers {
                let health = printer::status(&p.address(), timeouts);
                let _ = writeln!(out, "  {} ({}, {}): {health}", p.id, p.name, p.address());
            }
        }
        Err(e) if e.downcast_ref::<crate::queue::InUse>().is_none() => return Err(e),
        Err(_) => {
            let snap: Option<Snapshot> = std::fs::read(data.status_path())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let Some(s) = snap else {
                let _ = writeln!(
                    out,
                    "agent: running (the queue is in use), no status snapshot yet"
                );
                return Ok(out);
            };
            let _ = writeln!(
                out,
                "agent: running {} (status as of {})",
                s.agent_version, s.written_at
            );
            match (&s.cloud_error, s.cloud_last_ok) {
                (Some(e), _) => {
                    let _ = writeln!(out, "cloud: unreachable: {e}");
                }
                (None, Some(at)) => {
                    let _ = writeln!(out, "cloud: ok (last poll {at})");
                }
                (None, None) => {
                    let _ = writeln!(out, "cloud: not polled yet");
                }
            }
            let c = &s.queue;
            let _ = writeln!(
                out,
                "queue: {} waiting ({} to reprint), {} printing, {} printed, {} failed, {} not yet acknowledged",
                c.waiting, c.unknown, c.sent, c.printed, c.failed, c.unacked
            );
            if let Some(last) = &s.last_job {
                write_last(&mut out, last);
            }
            let _ = writeln!(out, "printers:");
            for (id, p) in &s.printers {
                let health = p
                    .health
                    .as_ref()
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "not checked yet".to_owned());
                let _ = writeln!(out, "  {id} ({}): {health}", p.address);
            }
        }
    }
    let _ = writeln!(
        out,
        "(this report is local: the cloud has no route for agent status yet)"
    );
    Ok(out)
}

fn write_last(out: &mut String, last: &LastJob) {
    let _ = writeln!(
        out,
        "last job: {} (order #{}) {:?} on {} at {}",
        last.id,
        last.order_number,
        last.state,
        last.printer.as_deref().unwrap_or("no printer"),
        last.at
    );
}
