//! Talking to one ESC/POS printer on raw TCP (port 9100).
//!
//! Every exchange is one short connection: connect with a timeout, ask the real-time status
//! (`DLE EOT 1`, `2`, `4`: one byte each, read by count with a deadline, since some printers
//! send each byte in its own packet), and only if the printer is ready send the ticket followed
//! by `GS r 1`. The printer answers `GS r` only after everything before it has been processed,
//! so that answer is our "printed". No answer (timeout, connection dropped) means the ticket
//! may or may not be on paper: the caller marks it unknown and prints it again with a REPRINT
//! banner. Exactly-once is impossible across a dropped connection; at-least-once, labelled, is
//! what we give.
//!
//! This module must not decide what to do with a job: it reports what happened.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// How long each step may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// For the three status bytes.
    pub status: Duration,
    /// From the last byte sent until the `GS r` answer (a long ticket on a slow printer).
    pub print: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            status: Duration::from_secs(3),
            print: Duration::from_secs(45),
        }
    }
}

/// What the printer's status bytes say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum Health {
    Ready {
        /// The roll is nearly out (still prints).
        paper_low: bool,
    },
    PaperOut,
    CoverOpen,
    /// The printer reports an error (cutter jam, overheating…).
    Error,
    /// Offline for another reason (e.g. the feed button is held).
    Offline,
    /// No connection, or no status answer.
    Unreachable(String),
}

impl Health {
    pub fn is_ready(&self) -> bool {
        matches!(self, Health::Ready { .. })
    }

    /// Classify the answers to `DLE EOT 1`, `DLE EOT 2` and `DLE EOT 4`.
    pub fn from_status(printer: u8, offline_cause: u8, paper: u8) -> Health {
        let paper_end = paper & 0x60 != 0 || offline_cause & 0x20 != 0;
        if paper_end {
            Health::PaperOut
        } else if offline_cause & 0x04 != 0 {
            Health::CoverOpen
        } else if offline_cause & 0x40 != 0 {
            Health::Error
        } else if printer & 0x08 != 0 {
            Health::Offline
        } else {
            Health::Ready {
                paper_low: paper & 0x0c != 0,
            }
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::Ready { paper_low: false } => write!(f, "online"),
            Health::Ready { paper_low: true } => write!(f, "online (paper low)"),
            Health::PaperOut => write!(f, "paper out"),
            Health::CoverOpen => write!(f, "cover open"),
            Health::Error => write!(f, "printer error"),
            Health::Offline => write!(f, "offline"),
            Health::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// What one attempt to print came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The printer answered `GS r` after the ticket: it is on paper.
    Printed,
    /// Bytes may have reached the printer but it never said so: print again, as REPRINT.
    Unknown(String),
    /// Nothing was sent: the printer is not ready.
    NotSent(Health),
}

const STATUS_REQUEST: [u8; 9] = [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4];
const PRINTED_PROBE: [u8; 3] = [0x1d, b'r', 1];

fn connect(address: &str, t: &Timeouts) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?
        .collect();
    let mut last = format!("{address} has no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, t.connect) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let _ = s.set_write_timeout(Some(t.print));
                return Ok(s);
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

/// A real-time status reply (`DLE EOT`): `0xx1xx10`.
fn is_status_reply(b: u8) -> bool {
    b & 0x93 == 0x12
}

/// A `GS r` reply: `0xx0xxxx`.
fn is_gs_r_reply(b: u8) -> bool {
    b & 0x90 == 0
}

/// Read `buf.len()` bytes that `wanted` accepts before `deadline`, one at a time (printers
/// may send each in its own packet) and skipping bytes that are something else (automatic
/// status back, XON/XOFF).
fn read_replies(
    s: &mut TcpStream,
    buf: &mut [u8],
    wanted: fn(u8) -> bool,
    deadline: Instant,
) -> Result<(), String> {
    let mut got = 0;
    let mut byte = [0u8; 1];
    while got < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let timed_out = || {
            format!(
                "no answer within the time limit ({got}/{} bytes)",
                buf.len()
            )
        };
        if left.is_zero() {
            return Err(timed_out());
        }
        s.set_read_timeout(Some(left))
            .map_err(|e| format!("socket: {e}"))?;
        match s.read(&mut byte) {
            Ok(0) => return Err("the printer closed the connection".to_owned()),
            Ok(_) if wanted(byte[0]) => {
                buf[got] = byte[0];
                got += 1;
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("connection lost: {e}")),
        }
    }
    Ok(())
}

fn query_status(s: &mut TcpStream, t: &Timeouts) -> Health {
    if let Err(e) = s.write_all(&STATUS_REQUEST).and_then(|()| s.flush()) {
        return Health::Unreachable(format!("cannot send the status request: {e}"));
    }
    let mut status = [0u8; 3];
    match read_replies(s, &mut status, is_status_reply, Instant::now() + t.status) {
        Ok(()) => Health::from_status(status[0], status[1], status[2]),
        Err(e) => Health::Unreachable(format!("status: {e}")),
    }
}

/// The printer's state, on a connection of its own.
pub fn status(address: &str, t: &Timeouts) -> Health {
    match connect(address, t) {
        Ok(mut s) => query_status(&mut s, t),
        Err(e) => Health::Unreachable(e),
    }
}

/// Print `ticket` if the printer is ready. `before_send` runs after the status check and before
/// the first byte goes out (the caller records the job as sent there); if it fails nothing is
/// sent and its error is returned.
pub fn deliver<E>(
    address: &str,
    ticket: &[u8],
    t: &Timeouts,
    before_send: impl FnOnce() -> Result<(), E>,
) -> Result<Delivery, E> {
    let mut s = match connect(address, t) {
        Ok(s) => s,
        Err(e) => return Ok(Delivery::NotSent(Health::Unreachable(e))),
    };
    let health = query_status(&mut s, t);
    if !health.is_ready() {
        return Ok(Delivery::NotSent(health));
    }
    before_send()?;
    let sent = s
        .write_all(ticket)
        .and_then(|()| s.write_all(&PRINTED_PROBE))
        .and_then(|()| s.flush());
    if let Err(e) = sent {
        return Ok(Delivery::Unknown(format!(
            "connection lost while sending: {e}"
        )));
    }
    let mut answer = [0u8; 1];
    Ok(
        match read_replies(&mut s, &mut answer, is_gs_r_reply, Instant::now() + t.print) {
            Ok(()) => Delivery::Printed,
            Err(e) => Delivery::Unknown(format!("no confirmation after printing: {e}")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::Health;

    #[test]
    fn status_bytes_classify() {
        // A TM-m30III's bytes when all is well.
        assert_eq!(
            Health::from_status(0x16, 0x12, 0x12),
            Health::Ready { paper_low: false }
        );
        assert_eq!(Health::from_status(0x1e, 0x12, 0x12), Health::Offline);
        assert_eq!(Health::from_status(0x1e, 0x16, 0x12), Health::CoverOpen);
        assert_eq!(Health::from_status(0x1e, 0x32, 0x72), Health::PaperOut);
        assert_eq!(
            Health::from_status(0x16, 0x12, 0x1e),
            Health::Ready { paper_low: true }
        );
        assert_eq!(Health::from_status(0x1e, 0x52, 0x12), Health::Error);
    }
}
