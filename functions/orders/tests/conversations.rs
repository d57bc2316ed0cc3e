//! Scripted ordering conversations (`fixtures/conversations/*.json`) played through the order
//! tools' handler, natively: each file names a sample restaurant, the instant of its tool
//! calls, the caller ID and the steps a voice agent sends after a caller speaks; every spoken
//! answer is checked for what it must and must not say, and the order stored at the end
//! (lines, fulfilment, every money field to the cent) against the one worked out by hand
//! from the restaurant document.
//!
//! The same files are replayed with every tool call delivered twice (one after the other, and
//! from two threads at once), and two scripts are played interleaved and concurrently against
//! one store: none of that may change an answer or the order.
//!
//! The files are read from the directory at run time, so a new script is picked up without
//! touching this file. `CONVERSATIONS_SHOW=1` prints every answer as it is played. A script
//! marked `known_bug` is played like any other and fails the run while the bug stands. The schema is kept plain so another test can replay the same files
//! through the HTTP server.

use futures::executor::block_on;
use hostline_orders::handler::{Config, handle};
use hostline_shared::credential::{TOOL_TOKEN_HEADER, ToolCredential};
use hostline_shared::http::{Method, Request};
use hostline_shared::orders::checkout;
use hostline_shared::orders::{Fulfillment, Order};
use hostline_shared::phone::PhoneE164;
use hostline_shared::store::{MemoryStore, Store};
use hostline_test_support::conversations::{Script, all as scripts, lines_of_order};
use hostline_test_support::fixtures::import;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const KEY: &str = "conversations-test-tool-key";

fn config() -> Config {
    Config {
        tool_token_key: KEY.into(),
        pii: hostline_shared::pii::PiiKeys::new("conv-test-hash-key", "conv-test-seal-key"),
    }
}

/// Playing a script natively: its restaurant in a memory store, its steps through the
/// handler.
trait Native {
    fn store(&self) -> MemoryStore;
    fn import_into(&self, s: &MemoryStore);
    fn request(&self, call: &str, i: usize) -> Request;
    fn send(&self, s: &MemoryStore, call: &str, i: usize) -> Result<String, String>;
    fn stored_order(&self, s: &MemoryStore, call: &str) -> Option<Order>;
    fn order_count(&self, s: &MemoryStore) -> usize;
    fn judge_stored(&self, s: &MemoryStore, call: &str) -> Vec<String>;
}

impl Native for Script {
    /// A store holding this script's restaurant.
    fn store(&self) -> MemoryStore {
        let s = MemoryStore::new();
        self.import_into(&s);
        s
    }

    fn import_into(&self, s: &MemoryStore) {
        import(s, &self.restaurant, &self.doc);
    }

    /// The tool call of step `i` (0-based), as Vapi sends it, with the line's credential.
    fn request(&self, call: &str, i: usize) -> Request {
        let credential = ToolCredential::issue(
            self.business(),
            PhoneE164::parse_e164(&self.line()).unwrap(),
            self.instant().as_second(),
        )
        .sign(KEY.as_bytes())
        .unwrap();
        Request::new(Method::Post, "/vapi/orders")
            .with_header(TOOL_TOKEN_HEADER, &credential)
            .with_body(self.body(call, i).to_string())
    }

    /// Send step `i` in call `call`; the spoken answer (result or error), or why there is none.
    fn send(&self, s: &MemoryStore, call: &str, i: usize) -> Result<String, String> {
        let r = block_on(handle(&self.request(call, i), s, &config(), self.instant()));
        let body = String::from_utf8_lossy(&r.body).into_owned();
        if r.status != 200 {
            return Err(format!("status {}: {body}", r.status));
        }
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        let res = &v["results"][0];
        res["result"]
            .as_str()
            .or(res["error"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("no result in {body}"))
    }

    /// The order of call `call` as stored.
    fn stored_order(&self, s: &MemoryStore, call: &str) -> Option<Order> {
        block_on(checkout::order(s, &self.business(), &format!("o-{call}")))
            .unwrap_or_else(|e| panic!("{}: reading the order: {e}", self.file))
    }

    /// How many orders the business has.
    fn order_count(&self, s: &MemoryStore) -> usize {
        block_on(s.list(&format!("biz/{}/orders/", self.restaurant)))
            .unwrap()
            .len()
    }

    /// What is wrong with the order call `call` ended with.
    fn judge_stored(&self, s: &MemoryStore, call: &str) -> Vec<String> {
        let order = self
            .stored_order(s, call)
            .map(|o| serde_json::to_value(&o).expect("an order serializes"));
        self.judge_order(order.as_ref(), self.order_count(s))
    }
}

/// What identifies an order's content: lines, fulfilment, totals.
fn content(o: &Order) -> String {
    format!(
        "{:?} {:?} {:?}",
        lines_of_order(&serde_json::to_value(o).expect("an order serializes")),
        match &o.fulfillment {
            Fulfillment::Pickup => "pickup".to_owned(),
            Fulfillment::Delivery { zip, .. } => format!("delivery to {zip}"),
        },
        o.totals
    )
}

/// Play `script` once as written in call `call`: the answers, and what was wrong.
fn play(script: &Script, s: &MemoryStore, call: &str) -> (Vec<String>, Vec<String>) {
    let mut answers = Vec::new();
    let mut wrong = Vec::new();
    for i in 0..script.steps.len() {
        match script.send(s, call, i) {
            Ok(said) => {
                if std::env::var_os("CONVERSATIONS_SHOW").is_some() {
                    eprintln!("{} {} {}: {said}", script.file, i + 1, script.steps[i].tool);
                }
                wrong.extend(script.judge(i, &said));
                answers.push(said);
            }
            Err(e) => {
                wrong.push(format!("{} step {}: {e}", script.file, i + 1));
                answers.push(String::new());
            }
        }
    }
    wrong.extend(script.judge_stored(s, call));
    (answers, wrong)
}

/// Panics with every failure, grouped, after all scripts ran.
fn report(failures: Vec<String>, ran: usize) {
    if !failures.is_empty() {
        panic!(
            "{} failure(s) over {ran} scripts:\n - {}",
            failures.len(),
            failures.join("\n - ")
        );
    }
}

#[test]
fn there_are_enough_scripts_over_enough_restaurants() {
    let all = scripts();
    assert!(all.len() >= 25, "only {} scripts", all.len());
    let restaurants: BTreeSet<&str> = all.iter().map(|s| s.restaurant.as_str()).collect();
    assert!(restaurants.len() >= 4, "only {restaurants:?}");
    let names: BTreeSet<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), all.len(), "two scripts share a name");
}

#[test]
fn every_script_plays_as_written() {
    let all = scripts();
    let mut failures = Vec::new();
    for script in &all {
        let s = script.store();
        let call = script.call_id("c");
        let (_, wrong) = play(script, &s, &call);
        match (&script.known_bug, wrong.is_empty()) {
            (Some(bug), false) => {
                failures.push(format!("{} (known bug: {bug}):", script.file));
                failures.extend(wrong);
            }
            (Some(bug), true) => failures.push(format!(
                "{}: marked known_bug ({bug}) but now passes: drop the mark",
                script.file
            )),
            (None, _) => failures.extend(wrong),
        }
    }
    report(failures, all.len());
}

#[test]
fn every_tool_call_delivered_twice_in_a_row_is_answered_the_same_and_applied_once() {
    let all = scripts();
    let mut failures = Vec::new();
    for script in &all {
        // The order as played once, to compare with.
        let once = script.store();
        let call = script.call_id("d");
        let (first_answers, _) = play(script, &once, &call);
        let once_order = script.stored_order(&once, &call);

        let s = script.store();
        for (i, once_said) in first_answers.iter().enumerate() {
            let a = script.send(&s, &call, i);
            let b = script.send(&s, &call, i);
            if a != b {
                failures.push(format!(
                    "{} step {}: the repeated tool call answered {b:?}, the first {a:?}",
                    script.file,
                    i + 1
                ));
            }
            if let Ok(said) = &a
                && said != once_said
            {
                failures.push(format!(
                    "{} step {}: delivered twice it answered {said:?}, played once {once_said:?}",
                    script.file,
                    i + 1,
                ));
            }
        }
        let twice_order = script.stored_order(&s, &call);
        match (&once_order, &twice_order) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                if content(a) != content(b) || a.number != b.number {
                    failures.push(format!(
                        "{}: delivered twice the order is {} {}, played once {} {}",
                        script.file,
                        b.number,
                        content(b),
                        a.number,
                        content(a)
                    ));
                }
            }
            (a, b) => failures.push(format!(
                "{}: played once the order is {:?}, delivered twice {:?}",
                script.file,
                a.as_ref().map(content),
                b.as_ref().map(content)
            )),
        }
        let n = script.order_count(&s);
        if n != usize::from(twice_order.is_some()) {
            failures.push(format!("{}: {n} orders in the store", script.file));
        }
    }
    report(failures, all.len());
}

#[test]
fn every_tool_call_delivered_twice_at_once_is_answered_the_same_and_applied_once() {
    let all = scripts();
    let mut failures = Vec::new();
    for script in &all {
        let once = script.store();
        let call = script.call_id("p");
        play(script, &once, &call);
        let once_order = script.stored_order(&once, &call);

        let s = script.store();
        let mut checkout_answers = BTreeSet::new();
        for i in 0..script.steps.len() {
            let (a, b) = std::thread::scope(|scope| {
                let a = scope.spawn(|| script.send(&s, &call, i));
                let b = scope.spawn(|| script.send(&s, &call, i));
                (a.join().unwrap(), b.join().unwrap())
            });
            if a != b {
                failures.push(format!(
                    "{} step {}: the two copies sent at once answered {a:?} and {b:?}",
                    script.file,
                    i + 1
                ));
            }
            if script.steps[i].tool == "checkout_order"
                && let Ok(said) = &a
            {
                checkout_answers.insert(said.clone());
            }
        }
        let order = script.stored_order(&s, &call);
        match (&once_order, &order) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                if content(a) != content(b) {
                    failures.push(format!(
                        "{}: delivered twice at once the order is {}, played once {}",
                        script.file,
                        content(b),
                        content(a)
                    ));
                }
                // Every checkout answer names the one order's number.
                for said in &checkout_answers {
                    if said.contains("order number") && !said.contains(&b.spoken_number()) {
                        failures.push(format!(
                            "{}: a checkout answered {said:?}, but the order is number {}",
                            script.file, b.number
                        ));
                    }
                }
            }
            (a, b) => failures.push(format!(
                "{}: played once the order is {:?}, delivered twice at once {:?}",
                script.file,
                a.as_ref().map(content),
                b.as_ref().map(content)
            )),
        }
        let n = script.order_count(&s);
        if n != usize::from(order.is_some()) {
            failures.push(format!("{}: {n} orders in the store", script.file));
        }
    }
    report(failures, all.len());
}

/// Whether failure `w` is only the order number a script expects when it is the business's
/// first order of the day: with two calls in one store, one of them gets the next number.
fn only_the_number(w: &str) -> bool {
    w.contains("expected \"order number") || w.contains("expected \"Order number")
}

/// Scripts that end in an order, paired up by restaurant (two calls to the same business).
fn pairs(all: &[Script]) -> Vec<(&Script, &Script)> {
    let mut out = Vec::new();
    let with_order: Vec<&Script> = all
        .iter()
        .filter(|s| s.order.is_some() && s.known_bug.is_none())
        .collect();
    let mut used = BTreeSet::new();
    for (i, a) in with_order.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        if let Some((j, b)) = with_order
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(j, b)| !used.contains(j) && b.restaurant == a.restaurant && b.at == a.at)
        {
            used.insert(i);
            used.insert(j);
            out.push((*a, *b));
        }
    }
    out
}

#[test]
fn two_calls_interleaved_never_see_each_others_cart() {
    let all = scripts();
    let pairs = pairs(&all);
    assert!(
        !pairs.is_empty(),
        "no two scripts share a restaurant and instant"
    );
    let mut failures = Vec::new();
    for (a, b) in &pairs {
        let s = a.store();
        let (ca, cb) = (a.call_id("ia"), b.call_id("ib"));
        let n = a.steps.len().max(b.steps.len());
        for i in 0..n {
            if i < a.steps.len() {
                match a.send(&s, &ca, i) {
                    Ok(said) => failures.extend(
                        a.judge(i, &said)
                            .into_iter()
                            .filter(|w| !only_the_number(w)),
                    ),
                    Err(e) => failures.push(format!("{} step {}: {e}", a.file, i + 1)),
                }
            }
            if i < b.steps.len() {
                match b.send(&s, &cb, i) {
                    Ok(said) => failures.extend(
                        b.judge(i, &said)
                            .into_iter()
                            .filter(|w| !only_the_number(w)),
                    ),
                    Err(e) => failures.push(format!("{} step {}: {e}", b.file, i + 1)),
                }
            }
        }
        for (script, call) in [(a, &ca), (b, &cb)] {
            failures.extend(
                script
                    .judge_stored(&s, call)
                    .into_iter()
                    // Two calls make two orders in the one store.
                    .filter(|w| !w.contains("the business has 2")),
            );
        }
        let (oa, ob) = (a.stored_order(&s, &ca), b.stored_order(&s, &cb));
        if let (Some(oa), Some(ob)) = (oa, ob)
            && oa.number == ob.number
        {
            failures.push(format!(
                "{} and {}: both orders are number {}",
                a.file, b.file, oa.number
            ));
        }
        if a.order_count(&s) != 2 {
            failures.push(format!(
                "{} and {}: {} orders in the store, expected 2",
                a.file,
                b.file,
                a.order_count(&s)
            ));
        }
    }
    report(failures, pairs.len() * 2);
}

#[test]
fn two_calls_at_once_never_see_each_others_cart() {
    let all = scripts();
    let pairs = pairs(&all);
    let mut failures = Vec::new();
    for (a, b) in &pairs {
        let s = a.store();
        let (ca, cb) = (a.call_id("ja"), b.call_id("jb"));
        let (wa, wb) = std::thread::scope(|scope| {
            let ta = scope.spawn(|| play(a, &s, &ca).1);
            let tb = scope.spawn(|| play(b, &s, &cb).1);
            (ta.join().unwrap(), tb.join().unwrap())
        });
        for w in wa.into_iter().chain(wb) {
            if !w.contains("the business has 2") && !only_the_number(&w) {
                failures.push(w);
            }
        }
        let (oa, ob) = (a.stored_order(&s, &ca), b.stored_order(&s, &cb));
        if let (Some(oa), Some(ob)) = (oa, ob)
            && oa.number == ob.number
        {
            failures.push(format!(
                "{} and {}: both orders are number {}",
                a.file, b.file, oa.number
            ));
        }
    }
    report(failures, pairs.len() * 2);
}

/// Where a [`Paced`] store stops its call's checkout until the test lets it go on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PauseAt {
    /// Before queueing the order's text (the order number is already allocated).
    Outbox,
    /// Before the order's commit point (its text already queued).
    OrderCommit,
}

/// A store that pauses one copy of a checkout at a chosen point, so two copies of the same
/// tool call interleave in a known order.
struct Paced<'a> {
    inner: &'a MemoryStore,
    at: PauseAt,
    outbox_key: String,
    order_key: String,
    paused: std::sync::mpsc::SyncSender<()>,
    go: std::sync::mpsc::Receiver<()>,
    done: std::cell::Cell<bool>,
}

impl Paced<'_> {
    fn pause(&self, here: PauseAt, key: &str) {
        let key_matches = match here {
            PauseAt::Outbox => key == self.outbox_key,
            PauseAt::OrderCommit => key == self.order_key,
        };
        if self.at == here && key_matches && !self.done.get() {
            self.done.set(true);
            self.paused.send(()).unwrap();
            self.go.recv().unwrap();
        }
    }
}

impl Store for Paced<'_> {
    async fn get(
        &self,
        key: &str,
    ) -> Result<Option<hostline_shared::store::Versioned>, hostline_shared::store::StoreError> {
        self.pause(PauseAt::Outbox, key);
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: &[u8]) -> Result<(), hostline_shared::store::StoreError> {
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), hostline_shared::store::StoreError> {
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, hostline_shared::store::StoreError> {
        self.inner.list(prefix).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<hostline_shared::store::Version>,
        value: &[u8],
    ) -> Result<(), hostline_shared::store::StoreError> {
        if expected.is_none() {
            self.pause(PauseAt::OrderCommit, key);
        }
        self.inner.compare_and_swap(key, expected, value).await
    }
}

/// A checkout delivered twice at once (the platform retrying while the first is still
/// running), interleaved the worst way the store allows: copy A allocates its number and
/// pauses; copy B allocates the next, queues the customer's text and pauses before its commit;
/// A commits. There is one order, and the text telling the customer it is in must carry that
/// order's number.
#[test]
fn a_checkout_delivered_twice_at_once_texts_the_number_of_the_one_order() {
    let all = scripts();
    let script = all
        .iter()
        .find(|s| s.caller.is_some() && s.order.is_some() && s.known_bug.is_none())
        .expect("a script with a caller that ends in an order");
    let first_checkout = script
        .steps
        .iter()
        .position(|s| s.tool == "checkout_order")
        .expect("a checkout step");
    let s = script.store();
    let call = script.call_id("race");
    for i in 0..first_checkout {
        script.send(&s, &call, i).unwrap();
    }
    let business = script.business();
    let outbox_key = hostline_shared::store::keys::outbox(&business);
    let order_key = hostline_shared::store::keys::order(&business, &format!("o-{call}"));
    let copy = |at: PauseAt,
                paused: std::sync::mpsc::SyncSender<()>,
                go: std::sync::mpsc::Receiver<()>| {
        let paced = Paced {
            inner: &s,
            at,
            outbox_key: outbox_key.clone(),
            order_key: order_key.clone(),
            paused,
            go,
            done: std::cell::Cell::new(false),
        };
        let r = block_on(handle(
            &script.request(&call, first_checkout),
            &paced,
            &config(),
            script.instant(),
        ));
        String::from_utf8_lossy(&r.body).into_owned()
    };
    let (said_a, said_b) = std::thread::scope(|scope| {
        let (a_paused_tx, a_paused) = std::sync::mpsc::sync_channel(1);
        let (a_go, a_go_rx) = std::sync::mpsc::sync_channel(1);
        let (b_paused_tx, b_paused) = std::sync::mpsc::sync_channel(1);
        let (b_go, b_go_rx) = std::sync::mpsc::sync_channel(1);
        let a = scope.spawn(|| copy(PauseAt::Outbox, a_paused_tx, a_go_rx));
        a_paused.recv().unwrap();
        let b = scope.spawn(|| copy(PauseAt::OrderCommit, b_paused_tx, b_go_rx));
        b_paused.recv().unwrap();
        a_go.send(()).unwrap();
        let said_a = a.join().unwrap();
        b_go.send(()).unwrap();
        (said_a, b.join().unwrap())
    });
    assert_eq!(
        said_a, said_b,
        "{}: the two copies answered differently",
        script.file
    );
    let order = script
        .stored_order(&s, &call)
        .unwrap_or_else(|| panic!("{}: no order", script.file));
    assert_eq!(script.order_count(&s), 1, "{}", script.file);
    let outbox: Value = serde_json::from_slice(
        &block_on(s.get_value(&outbox_key))
            .unwrap()
            .unwrap_or_else(|| panic!("{}: no text queued", script.file)),
    )
    .unwrap();
    let texts: Vec<&str> = outbox["texts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["order_id"] == json!(order.id))
        .filter_map(|t| t["body"].as_str())
        .collect();
    assert_eq!(texts.len(), 1, "{}: texts {texts:?}", script.file);
    assert!(
        texts[0].contains(&format!("order {} is in", order.number)),
        "{}: the order is number {}, but the customer is texted {:?}",
        script.file,
        order.number,
        texts[0]
    );
}
