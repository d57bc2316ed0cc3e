//! A fake ESC/POS network printer on 127.0.0.1 (port 0): answers `DLE EOT n` with status
//! bytes, records every ticket that reaches paper, and answers `GS r` after a ticket. It can
//! be told to be offline, out of paper (now or after some tickets), slow to confirm, or to
//! drop the connection after a ticket without confirming.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ready,
    Offline,
    PaperOut,
    CoverOpen,
}

#[derive(Default)]
pub struct Printer {
    pub status: Option<Status>,
    /// Wait this long before answering `GS r`.
    pub confirm_delay: Duration,
    /// Drop the connection after the next N tickets instead of confirming (they still print).
    pub drop_after_write: u32,
    /// Run out of paper after this many more tickets.
    pub paper_out_after: Option<u32>,
    /// Every ticket that reached paper, in order.
    pub printed: Vec<Vec<u8>>,
    /// When each ticket in `printed` was complete (its closing `GS r 1` read).
    pub printed_at: Vec<Instant>,
    pub connections: usize,
    open: usize,
    pub max_open: usize,
}

pub struct FakePrinter {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<Printer>>,
    stop: Arc<AtomicBool>,
}

impl FakePrinter {
    pub fn start() -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake printer");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(Mutex::new(Printer {
            status: Some(Status::Ready),
            ..Printer::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let st = Arc::clone(&st);
                        std::thread::spawn(move || serve(s, st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakePrinter { addr, state, stop }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set_status(&self, s: Status) {
        self.state.lock().unwrap().status = Some(s);
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Printer) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn printed(&self) -> Vec<Vec<u8>> {
        self.state.lock().unwrap().printed.clone()
    }
}

impl Drop for FakePrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn status_byte(status: Status, n: u8) -> u8 {
    match (status, n) {
        (Status::Ready, 1) => 0x16,
        (_, 1) => 0x1e,
        (Status::CoverOpen, 2) => 0x16,
        (Status::PaperOut, 2) => 0x32,
        (_, 2) => 0x12,
        (Status::PaperOut, 4) => 0x72,
        (_, 4) => 0x12,
        _ => 0x12,
    }
}

struct OpenGuard(Arc<Mutex<Printer>>);
impl Drop for OpenGuard {
    fn drop(&mut self) {
        if let Ok(mut p) = self.0.lock() {
            p.open -= 1;
        }
    }
}

fn serve(mut s: TcpStream, state: Arc<Mutex<Printer>>) {
    {
        let mut p = state.lock().unwrap();
        p.connections += 1;
        p.open += 1;
        p.max_open = p.max_open.max(p.open);
    }
    let _guard = OpenGuard(Arc::clone(&state));
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        // Real-time status requests come first on a connection.
        while buf.len() >= 3 && buf[0] == 0x10 && buf[1] == 0x04 {
            let status = state.lock().unwrap().status.unwrap_or(Status::Ready);
            let byte = status_byte(status, buf[2]);
            buf.drain(..3);
            if s.write_all(&[byte]).is_err() {
                return;
            }
        }
        // A ticket ends with GS r 1.
        if buf.ends_with(&[0x1d, b'r', 1]) {
            let ticket = buf[..buf.len() - 3].to_vec();
            buf.clear();
            let (delay, drop_it) = {
                let mut p = state.lock().unwrap();
                p.printed.push(ticket);
                p.printed_at.push(Instant::now());
                if let Some(n) = p.paper_out_after.as_mut() {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        p.paper_out_after = None;
                        p.status = Some(Status::PaperOut);
                    }
                }
                let drop_it = p.drop_after_write > 0;
                if drop_it {
                    p.drop_after_write -= 1;
                }
                (p.confirm_delay, drop_it)
            };
            if drop_it {
                return;
            }
            std::thread::sleep(delay);
            // GS r 1: paper sensor status, `0xx0xxxx` (here: paper present). An automatic
            // status byte first, as printers with ASB enabled send: the agent must skip it.
            if s.write_all(&[0x10, 0x00]).is_err() {
                return;
            }
        }
    }
}
