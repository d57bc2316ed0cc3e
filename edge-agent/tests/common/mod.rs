//! Shared test code: the fakes, the decoder, job builders and an in-process agent.
#![allow(dead_code)]

pub mod escpos;
pub mod fake_cloud;
pub mod fake_printer;

use edge_agent::agent::Settings;
use edge_agent::codepage::CodePage;
use edge_agent::config::{DataDir, Device, FILE_VERSION, PrinterBook, PrinterProfile, Role};
use edge_agent::printer::Timeouts;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A ticket as the cloud sends it.
pub fn ticket(number: &str) -> Value {
    json!({
        "business_id": "pizza-place",
        "order_id": format!("o-{number}"),
        "order_number": number,
        "fulfillment": {"kind": "pickup"},
        "placed_at": "2026-12-07T18:30:00Z",
        "timezone": "America/New_York",
        "lines": [
            {"quantity": 2, "name": "Cheeseburger", "options": [{"name": "Extra cheese", "price_cents": 150}], "notes": "no onions", "line_cents": 2300},
            {"quantity": 1, "name": "Fries", "options": [], "line_cents": 400}
        ],
        "subtotal_cents": 2700, "tax_cents": 240, "delivery_fee_cents": 0, "total_cents": 2940
    })
}

/// A job as `GET /api/v1/edge/jobs` lists it.
pub fn job(number: &str, kind: &str) -> Value {
    json!({
        "id": format!("o-{number}.{kind}"),
        "kind": kind,
        "reprint": 0,
        "leases": 1,
        "lease_until": "2026-12-07T18:32:00Z",
        "ticket": ticket(number),
    })
}

pub fn profile(id: &str, role: Role, port: u16) -> PrinterProfile {
    PrinterProfile {
        id: id.to_owned(),
        name: id.to_owned(),
        role,
        host: "127.0.0.1".to_owned(),
        port,
        paper_width_mm: 80,
        code_page: CodePage::Cp437,
        cutter: true,
        drawer: false,
        qr: false,
        backup: None,
    }
}

/// Timings short enough for tests.
pub fn fast() -> Settings {
    Settings {
        poll: Duration::from_millis(50),
        max_backoff: Duration::from_millis(300),
        printer_retry: Duration::from_millis(100),
        idle_check: Duration::from_millis(500),
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            status: Duration::from_millis(500),
            print: Duration::from_millis(500),
        },
    }
}

/// Write a pairing and printers into `dir`.
pub fn prepare(dir: &std::path::Path, cloud_url: &str, printers: Vec<PrinterProfile>) -> DataDir {
    let data = DataDir::open(dir).unwrap();
    data.save_device(&Device {
        version: FILE_VERSION,
        url: cloud_url.to_owned(),
        device_token: fake_cloud::TOKEN.to_owned(),
        device_id: Some("dev-1".into()),
        business_id: Some("pizza-place".into()),
        name: "test".into(),
        paired_at: jiff::Timestamp::now(),
    })
    .unwrap();
    data.save_printers(&PrinterBook {
        version: FILE_VERSION,
        printers,
    })
    .unwrap();
    data
}

/// The agent's `run` on a thread of this process, stopped when dropped.
pub struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub fn start(data: &DataDir, settings: Settings) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s) = (data.clone(), Arc::clone(&stop));
        let thread = std::thread::spawn(move || edge_agent::agent::run(&d, settings, s));
        Running {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("agent thread").expect("agent run");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Wait until `cond` holds, failing the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The order numbers on the printed tickets, with their REPRINT banners.
pub fn printed_orders(tickets: &[Vec<u8>]) -> Vec<(String, Option<String>)> {
    tickets
        .iter()
        .map(|t| {
            let lines = escpos::texts(t);
            let number = lines
                .iter()
                .find(|l| l.starts_with('#'))
                .cloned()
                .unwrap_or_default();
            (number, escpos::reprint_banner(t))
        })
        .collect()
}

/// The agent binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_edge-agent");

/// One `edge-agent` command with its data in `dir`.
pub fn agent(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("EDGE_AGENT_DATA_DIR")
        .output()
        .expect("run edge-agent")
}

/// The command succeeded: its stdout (its whole output in the panic message otherwise).
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `edge-agent pair` with `pair_args` (`--url`, `--code`, …), then a kitchen printer on
/// 127.0.0.1:`port`, both with the real binary.
pub fn pair_with_kitchen_printer(dir: &std::path::Path, pair_args: &[&str], port: u16) {
    let mut args = vec!["pair"];
    args.extend_from_slice(pair_args);
    ok(&agent(dir, &args));
    let port = port.to_string();
    ok(&agent(
        dir,
        &[
            "printers",
            "add",
            "--id",
            "kitchen",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
    ));
}
