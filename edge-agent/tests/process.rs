//! The real binary: the command line, and SIGKILL at the worst moments.

mod common;

use common::fake_cloud::{self, FakeCloud};
use common::fake_printer::FakePrinter;
use common::{BIN, agent, job, ok, printed_orders, wait_until};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// A refusal: exit 1 for a refused command, 2 for a usage error (clap), message on stderr.
fn failed(out: &Output) -> String {
    assert!(matches!(out.status.code(), Some(1 | 2)), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Pair with `cloud` and add one kitchen printer on `port`.
fn set_up(dir: &Path, cloud: &FakeCloud, port: u16) {
    common::pair_with_kitchen_printer(
        dir,
        &["--url", &cloud.url(), "--code", fake_cloud::CODE],
        port,
    );
}

fn start_run(dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join(format!("agent-{}.log", fastrand_suffix()))).unwrap();
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args([
            "run",
            "--poll-ms",
            "50",
            "--max-backoff-ms",
            "300",
            "--printer-retry-ms",
            "100",
            "--print-timeout-ms",
            "10000",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start edge-agent run")
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// SIGKILL: no chance to tidy up.
fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["pair", "--help"],
        &["run", "--help"],
        &["status", "--help"],
        &["printers", "--help"],
        &["printers", "list", "--help"],
        &["printers", "add", "--help"],
        &["printers", "remove", "--help"],
        &["printers", "test", "--help"],
        &["test-print", "--help"],
    ] {
        let out = ok(&agent(dir.path(), args));
        assert!(out.contains("Usage: edge-agent"), "{args:?}: {out}");
    }
}

#[test]
fn pairing_keeps_the_token_private_and_the_printer_commands_work() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let url = cloud.url();

    let err = failed(&agent(&dir, &["run"]));
    assert!(err.contains("not paired"), "{err}");
    let err = failed(&agent(&dir, &["pair", "--url", &url, "--code", "000000"]));
    assert!(err.contains("pairing refused"), "{err}");
    ok(&agent(
        &dir,
        &[
            "pair",
            "--url",
            &url,
            "--code",
            "123456",
            "--name",
            "kitchen pi",
        ],
    ));
    let err = failed(&agent(&dir, &["pair", "--url", &url, "--code", "123456"]));
    assert!(err.contains("already paired"), "{err}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("device.json")), 0o600);
    }
    let device: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("device.json")).unwrap()).unwrap();
    assert_eq!(device["device_token"], fake_cloud::TOKEN);
    assert_eq!(device["name"], "kitchen pi");

    let err = failed(&agent(&dir, &["run"]));
    assert!(err.contains("no printers"), "{err}");
    let port = printer.port().to_string();
    ok(&agent(
        &dir,
        &[
            "printers",
            "add",
            "--id",
            "front",
            "--role",
            "receipt",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--paper",
            "58",
            "--drawer",
            "true",
        ],
    ));
    let err = failed(&agent(
        &dir,
        &[
            "printers", "add", "--id", "x", "--host", "h", "--paper", "70",
        ],
    ));
    assert!(err.contains("58 or 80"), "{err}");
    let err = failed(&agent(
        &dir,
        &[
            "printers", "add", "--id", "x", "--host", "h", "--backup", "nope",
        ],
    ));
    assert!(err.contains("backup"), "{err}");
    let list = ok(&agent(&dir, &["printers", "list"]));
    assert!(
        list.contains("front (front): Receipt tickets at 127.0.0.1:") && list.contains("58 mm"),
        "{list}"
    );
    let books: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("printers.json")).unwrap()).unwrap();
    assert_eq!(books["version"], 1);

    let test = ok(&agent(&dir, &["printers", "test", "front"]));
    assert!(test.contains("online"), "{test}");
    assert!(printer.printed().is_empty(), "a test prints nothing");
    ok(&agent(&dir, &["test-print"]));
    let printed = printer.printed();
    assert_eq!(printed.len(), 1);
    let lines = common::escpos::texts(&printed[0]);
    assert!(
        lines.contains(&"#TEST".to_owned()) && lines.contains(&"RECEIPT".to_owned()),
        "{lines:?}"
    );
    for l in &lines {
        assert!(l.chars().count() <= 32, "{l:?}");
    }

    let status = ok(&agent(&dir, &["status"]));
    assert!(status.contains("agent: not running"), "{status}");
    assert!(status.contains("front (front, 127.0.0.1:"), "{status}");
    assert!(status.contains("online"), "{status}");
    assert!(status.contains("queue: 0 waiting"), "{status}");

    printer.set_status(common::fake_printer::Status::PaperOut);
    let err = failed(&agent(&dir, &["printers", "test", "front"]));
    assert!(err.contains("not ready"), "{err}");
    ok(&agent(&dir, &["printers", "remove", "front"]));
    assert!(ok(&agent(&dir, &["printers", "list"])).contains("no printers"));
}

#[test]
fn killed_while_the_printer_prints_the_ticket_comes_again_as_reprint_and_is_acked_once() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path(), &cloud, printer.port());
    cloud.add_job(job("901", "kitchen"));
    // The printer takes its time to confirm: the agent is killed in between.
    printer.with(|p| p.confirm_delay = Duration::from_secs(3));
    let run = start_run(dir.path());
    wait_until(LIMIT, "the ticket at the printer", || {
        printer.printed().len() == 1
    });
    kill(run);
    assert!(cloud.with(|c| c.acks.is_empty()));

    printer.with(|p| p.confirm_delay = Duration::ZERO);
    let run = start_run(dir.path());
    wait_until(LIMIT, "the ack", || {
        !cloud.acks_of("o-901.kitchen").is_empty()
    });
    // Some more polls: nothing else prints, nothing else is acknowledged.
    let polls = cloud.with(|c| c.polls);
    wait_until(LIMIT, "more polls", || cloud.with(|c| c.polls) >= polls + 3);
    let status = ok(&agent(dir.path(), &["status"]));
    kill(run);
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![
            ("#901".into(), None),
            ("#901".into(), Some("** REPRINT 1 **".into()))
        ]
    );
    assert_eq!(cloud.with(|c| c.acks.len()), 1);
    assert_eq!(cloud.acks_of("o-901.kitchen")[0]["status"], "printed");
    assert!(status.contains("agent: running"), "{status}");
    assert!(status.contains("last job: o-901.kitchen"), "{status}");
}

#[test]
fn killed_after_the_print_before_the_ack_acks_without_printing_again() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path(), &cloud, printer.port());
    cloud.add_job(job("902", "kitchen"));
    cloud.with(|c| c.acks_fail = true);
    let run = start_run(dir.path());
    wait_until(LIMIT, "an ack attempt", || {
        cloud.with(|c| c.ack_attempts) >= 1
    });
    kill(run);
    assert_eq!(printer.printed().len(), 1);

    cloud.with(|c| c.acks_fail = false);
    let run = start_run(dir.path());
    wait_until(LIMIT, "the ack", || {
        !cloud.acks_of("o-902.kitchen").is_empty()
    });
    let polls = cloud.with(|c| c.polls);
    wait_until(LIMIT, "more polls", || cloud.with(|c| c.polls) >= polls + 3);
    kill(run);
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![("#902".into(), None)]
    );
    assert_eq!(cloud.with(|c| c.acks.len()), 1);
}

#[test]
fn sigterm_finishes_the_ticket_being_printed_acknowledges_it_and_exits_cleanly() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path(), &cloud, printer.port());
    cloud.add_job(job("903", "kitchen"));
    // The printer is slow to confirm: the stop comes while the ticket is in it.
    printer.with(|p| p.confirm_delay = Duration::from_secs(2));
    let mut run = start_run(dir.path());
    wait_until(LIMIT, "the ticket at the printer", || {
        printer.printed().len() == 1
    });
    let sent = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());
    let start = std::time::Instant::now();
    let exit = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < LIMIT, "the agent did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "a clean stop exits 0: {exit:?}");
    // The ticket was finished and acknowledged before the agent went.
    let acks = cloud.acks_of("o-903.kitchen");
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0]["status"], "printed");

    // Started again: nothing prints twice, nothing is acknowledged twice.
    printer.with(|p| p.confirm_delay = Duration::ZERO);
    let run = start_run(dir.path());
    let polls = cloud.with(|c| c.polls);
    wait_until(LIMIT, "more polls", || cloud.with(|c| c.polls) >= polls + 3);
    kill(run);
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![("#903".into(), None)]
    );
    assert_eq!(cloud.with(|c| c.acks.len()), 1);
}
