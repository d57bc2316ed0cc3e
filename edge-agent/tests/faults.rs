//! The agent in this process against a fake cloud and fake printers: every ticket printed once
//! and acknowledged, or printed again with a REPRINT banner; none lost, none silently doubled.

mod common;

use common::fake_cloud::FakeCloud;
use common::fake_printer::{FakePrinter, Status};
use common::{Running, fast, job, prepare, printed_orders, profile, wait_until};
use edge_agent::config::Role;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

fn acked_printed(cloud: &FakeCloud, id: &str) -> usize {
    cloud
        .acks_of(id)
        .iter()
        .filter(|a| a["status"] == "printed")
        .count()
}

fn first_print(number: &str) -> (String, Option<String>) {
    (format!("#{number}"), None)
}

#[test]
fn jobs_print_once_in_order_and_are_acknowledged_once() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    for n in ["101", "102", "103"] {
        cloud.add_job(job(n, "kitchen"));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "three acks", || cloud.with(|c| c.acks.len()) == 3);
    // A few more polls: the cloud no longer lists them, nothing else prints.
    let polls = cloud.with(|c| c.polls);
    wait_until(LIMIT, "more polls", || cloud.with(|c| c.polls) >= polls + 3);
    agent.stop();
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![first_print("101"), first_print("102"), first_print("103")]
    );
    for n in ["101", "102", "103"] {
        assert_eq!(acked_printed(&cloud, &format!("o-{n}.kitchen")), 1);
    }
    assert_eq!(
        printer.with(|p| p.max_open),
        1,
        "one connection per printer at a time"
    );
}

#[test]
fn a_job_delivered_again_is_printed_once_and_acknowledged_again() {
    let cloud = FakeCloud::start();
    cloud.with(|c| c.keep_serving_acked = true);
    let printer = FakePrinter::start();
    cloud.add_job(job("201", "kitchen"));
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    // The cloud keeps handing the job out (as if our acknowledgements were lost).
    wait_until(LIMIT, "three acks of the same job", || {
        acked_printed(&cloud, "o-201.kitchen") >= 3
    });
    agent.stop();
    assert_eq!(printed_orders(&printer.printed()), vec![first_print("201")]);
}

#[test]
fn an_offline_printer_holds_its_jobs_until_it_is_back() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    printer.set_status(Status::Offline);
    cloud.add_job(job("301", "kitchen"));
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "status checks while offline", || {
        printer.with(|p| p.connections) >= 3
    });
    assert!(printer.printed().is_empty());
    assert!(
        cloud.with(|c| c.acks.is_empty()),
        "nothing acknowledged while held"
    );
    let status = std::fs::read_to_string(data.status_path()).unwrap();
    assert!(status.contains("offline"), "{status}");
    printer.set_status(Status::CoverOpen);
    std::thread::sleep(Duration::from_millis(250));
    assert!(printer.printed().is_empty());
    printer.set_status(Status::Ready);
    wait_until(LIMIT, "the ack", || {
        acked_printed(&cloud, "o-301.kitchen") == 1
    });
    agent.stop();
    assert_eq!(printed_orders(&printer.printed()), vec![first_print("301")]);
}

#[test]
fn paper_out_mid_queue_holds_the_rest_in_order() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    printer.with(|p| p.paper_out_after = Some(1));
    for n in ["401", "402", "403"] {
        cloud.add_job(job(n, "kitchen"));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "the first ack", || cloud.with(|c| c.acks.len()) == 1);
    wait_until(LIMIT, "a held status check", || {
        printer.with(|p| p.connections) >= 4
    });
    assert_eq!(printer.printed().len(), 1);
    assert_eq!(printer.with(|p| p.status), Some(Status::PaperOut));
    printer.set_status(Status::Ready);
    wait_until(LIMIT, "all acks", || cloud.with(|c| c.acks.len()) == 3);
    agent.stop();
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![first_print("401"), first_print("402"), first_print("403")]
    );
}

#[test]
fn a_connection_dropped_after_the_ticket_means_reprint_with_a_banner() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    printer.with(|p| p.drop_after_write = 1);
    cloud.add_job(job("501", "kitchen"));
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "the ack", || {
        acked_printed(&cloud, "o-501.kitchen") == 1
    });
    agent.stop();
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![
            first_print("501"),
            ("#501".into(), Some("** REPRINT 1 **".into()))
        ]
    );
    assert_eq!(cloud.with(|c| c.acks.len()), 1);
}

#[test]
fn a_printer_that_never_confirms_gets_the_ticket_again_as_reprint() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    // Slower than the agent's print timeout (500 ms) once, then normal.
    printer.with(|p| p.confirm_delay = Duration::from_millis(900));
    cloud.add_job(job("502", "kitchen"));
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "the first copy", || printer.printed().len() == 1);
    printer.with(|p| p.confirm_delay = Duration::ZERO);
    wait_until(LIMIT, "the ack", || {
        acked_printed(&cloud, "o-502.kitchen") == 1
    });
    agent.stop();
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![
            first_print("502"),
            ("#502".into(), Some("** REPRINT 1 **".into()))
        ]
    );
}

#[test]
fn while_the_cloud_is_down_the_agent_backs_off_and_catches_up_after() {
    let cloud = FakeCloud::start();
    cloud.with(|c| c.down = true);
    let printer = FakePrinter::start();
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    std::thread::sleep(Duration::from_millis(1200));
    let tries = cloud.with(|c| c.dropped);
    // 50 ms polls would be ~24 tries; backing off (up to 300 ms) makes far fewer.
    assert!((2..=12).contains(&tries), "{tries} tries in 1.2 s");
    cloud.with(|c| {
        c.down = false;
        c.jobs.push(job("601", "kitchen"));
    });
    wait_until(LIMIT, "the first job's ack", || {
        acked_printed(&cloud, "o-601.kitchen") == 1
    });
    // The cloud refuses acknowledgements for a while after the print: the ack waits and is
    // retried, the ticket is not printed again.
    cloud.with(|c| {
        c.acks_fail = true;
        c.jobs.push(job("602", "kitchen"));
    });
    wait_until(LIMIT, "the second ticket", || printer.printed().len() == 2);
    let attempts = cloud.with(|c| c.ack_attempts);
    wait_until(LIMIT, "refused ack retries", || {
        cloud.with(|c| c.ack_attempts) >= attempts + 2
    });
    cloud.with(|c| c.acks_fail = false);
    wait_until(LIMIT, "the second job's ack", || {
        acked_printed(&cloud, "o-602.kitchen") == 1
    });
    let status = std::fs::read_to_string(data.status_path()).unwrap();
    agent.stop();
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![first_print("601"), first_print("602")]
    );
    assert!(status.contains("\"agent_version\""), "{status}");
}

#[test]
fn a_down_printers_jobs_go_to_its_backup() {
    let cloud = FakeCloud::start();
    let main = FakePrinter::start();
    let backup = FakePrinter::start();
    main.set_status(Status::PaperOut);
    cloud.add_job(job("701", "kitchen"));
    cloud.add_job(job("702", "kitchen"));
    let mut kitchen = profile("kitchen", Role::Kitchen, main.port());
    kitchen.backup = Some("bar".into());
    let bar = profile("bar", Role::Receipt, backup.port());
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(dir.path(), &cloud.url(), vec![kitchen, bar]);
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "both acks", || cloud.with(|c| c.acks.len()) == 2);
    agent.stop();
    assert!(main.printed().is_empty());
    assert_eq!(
        printed_orders(&backup.printed()),
        vec![first_print("701"), first_print("702")]
    );
}

#[test]
fn the_clouds_reprints_and_jobs_leased_before_carry_a_banner() {
    let cloud = FakeCloud::start();
    let printer = FakePrinter::start();
    let mut staff_reprint = job("801", "kitchen");
    staff_reprint["id"] = "o-801.kitchen.r2".into();
    staff_reprint["reprint"] = 2.into();
    let mut leased_before = job("802", "kitchen");
    leased_before["leases"] = 2.into();
    cloud.add_job(staff_reprint);
    cloud.add_job(leased_before);
    cloud.add_job(job("803", "receipt"));
    let dir = tempfile::tempdir().unwrap();
    let data = prepare(
        dir.path(),
        &cloud.url(),
        vec![profile("kitchen", Role::Kitchen, printer.port())],
    );
    let agent = Running::start(&data, fast());
    wait_until(LIMIT, "three acks", || cloud.with(|c| c.acks.len()) == 3);
    agent.stop();
    assert_eq!(
        printed_orders(&printer.printed()),
        vec![
            ("#801".into(), Some("** REPRINT 2 **".into())),
            ("#802".into(), Some("** REPRINT 1 **".into())),
        ]
    );
    // No printer takes receipts: the cloud is told, so staff can see it.
    let receipt = cloud.acks_of("o-803.receipt");
    assert_eq!(receipt.len(), 1);
    assert_eq!(receipt[0]["status"], "failed");
    assert!(
        receipt[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no printer takes receipt")
    );
}
