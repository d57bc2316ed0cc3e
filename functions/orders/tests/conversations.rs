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
use hostline_shared::ids::BusinessId;
use hostline_shared::orders::checkout;
use hostline_shared::orders::{Fulfillment, Order};
use hostline_shared::phone::PhoneE164;
use hostline_shared::store::{MemoryStore, Store};
use hostline_test_support::fixtures::{import, lines_of};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const KEY: &str = "conversations-test-tool-key";

fn config() -> Config {
    Config {
        tool_token_key: KEY.into(),
        pii: hostline_shared::pii::PiiKeys::new("conv-test-hash-key", "conv-test-seal-key"),
    }
}

/// One step of a script: a tool call and what its spoken answer must (not) contain.
#[derive(Debug, Clone)]
struct Step {
    tool: String,
    args: Value,
    expect: Vec<String>,
    reject: Vec<String>,
}

/// One line of the expected order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpectedLine {
    item: String,
    quantity: u32,
    options: BTreeSet<String>,
}

/// The order a script must end with.
#[derive(Debug, Clone)]
struct ExpectedOrder {
    lines: Vec<ExpectedLine>,
    fulfillment: String,
    subtotal_cents: i64,
    tax_cents: i64,
    delivery_fee_cents: i64,
    total_cents: i64,
}

#[derive(Debug, Clone)]
struct Script {
    /// The file name, for failure messages.
    file: String,
    name: String,
    restaurant: String,
    at: String,
    caller: Option<String>,
    steps: Vec<Step>,
    order: Option<ExpectedOrder>,
    known_bug: Option<String>,
    /// The restaurant document's text.
    doc: String,
}

fn conversations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conversations")
}

fn restaurants_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/restaurants")
}

fn strings(v: &Value, file: &str, what: &str) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .unwrap_or_else(|| panic!("{file}: {what} must be a list of strings"))
                    .to_owned()
            })
            .collect(),
        _ => panic!("{file}: {what} must be a list of strings"),
    }
}

fn cents(v: &Value, file: &str, what: &str) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("{file}: order.{what} must be an integer number of cents"))
}

fn parse_script(file: &str, text: &str) -> Script {
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: not valid JSON: {e}"));
    let field = |name: &str| -> String {
        v[name]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: `{name}` must be a string"))
            .to_owned()
    };
    let restaurant = field("restaurant");
    let doc = std::fs::read_to_string(restaurants_dir().join(format!("{restaurant}.json")))
        .unwrap_or_else(|e| panic!("{file}: restaurant {restaurant}: {e}"));
    let steps = v["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: `steps` must be a list"))
        .iter()
        .enumerate()
        .map(|(i, s)| Step {
            tool: s["tool"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: step {}: `tool` must be a string", i + 1))
                .to_owned(),
            args: match &s["args"] {
                Value::Null => json!({}),
                a => a.clone(),
            },
            expect: strings(&s["expect"], file, &format!("step {} expect", i + 1)),
            reject: strings(&s["reject"], file, &format!("step {} reject", i + 1)),
        })
        .collect();
    let order = match &v["order"] {
        Value::Null => None,
        o => Some(ExpectedOrder {
            lines: o["lines"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: order.lines must be a list"))
                .iter()
                .map(|l| ExpectedLine {
                    item: l["item"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{file}: order line without item"))
                        .to_owned(),
                    quantity: l["quantity"]
                        .as_u64()
                        .and_then(|q| u32::try_from(q).ok())
                        .unwrap_or_else(|| panic!("{file}: order line without quantity")),
                    options: strings(&l["options"], file, "order line options")
                        .into_iter()
                        .collect(),
                })
                .collect(),
            fulfillment: o["fulfillment"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: order.fulfillment must be a string"))
                .to_owned(),
            subtotal_cents: cents(&o["subtotal_cents"], file, "subtotal_cents"),
            tax_cents: cents(&o["tax_cents"], file, "tax_cents"),
            delivery_fee_cents: cents(&o["delivery_fee_cents"], file, "delivery_fee_cents"),
            total_cents: cents(&o["total_cents"], file, "total_cents"),
        }),
    };
    let caller = v["caller"].as_str().map(str::to_owned);
    Script {
        file: file.to_owned(),
        name: field("name"),
        at: field("at"),
        restaurant,
        caller,
        steps,
        order,
        known_bug: v["known_bug"].as_str().map(str::to_owned),
        doc,
    }
}

/// Every script, in file-name order.
fn scripts() -> Vec<Script> {
    let dir = conversations_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{file}: {e}"));
            parse_script(&file, &text)
        })
        .collect()
}

impl Script {
    fn business(&self) -> BusinessId {
        BusinessId::parse(&self.restaurant)
            .unwrap_or_else(|_| panic!("{}: {} is not a business id", self.file, self.restaurant))
    }

    fn line(&self) -> String {
        lines_of(&self.doc)
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("{}: {} has no phone line", self.file, self.restaurant))
    }

    fn instant(&self) -> jiff::Timestamp {
        self.at
            .parse()
            .unwrap_or_else(|e| panic!("{}: `at` {}: {e}", self.file, self.at))
    }

    /// The per-script call id (letters, digits and '-', at most 64).
    fn call_id(&self, tag: &str) -> String {
        let stem = self.file.trim_end_matches(".json");
        let mut id: String = format!("{tag}-{stem}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        id.truncate(64);
        id
    }

    /// A store holding this script's restaurant.
    fn store(&self) -> MemoryStore {
        let s = MemoryStore::new();
        self.import_into(&s);
        s
    }

    fn import_into(&self, s: &MemoryStore) {
        import(s, &self.restaurant, &self.doc);
    }

    /// The tool call of step `i` (0-based), as Vapi sends it.
    fn request(&self, call: &str, i: usize) -> Request {
        let step = &self.steps[i];
        let line = self.line();
        let mut call_json = json!({"id": call});
        if let Some(c) = &self.caller {
            call_json["customer"] = json!({"number": c});
        }
        let body = json!({"message": {"type": "tool-calls", "timestamp": self.at,
            "phoneNumber": {"number": line}, "call": call_json,
            "toolCallList": [{"id": format!("t{}", i + 1), "type": "function",
                "function": {"name": step.tool, "arguments": step.args}}]}});
        let credential = ToolCredential::issue(
            self.business(),
            PhoneE164::parse_e164(&line).unwrap(),
            self.instant().as_second(),
        )
        .sign(KEY.as_bytes())
        .unwrap();
        Request::new(Method::Post, "/vapi/orders")
            .with_header(TOOL_TOKEN_HEADER, &credential)
            .with_body(body.to_string())
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

    /// What is wrong with step `i`'s answer (empty: nothing).
    fn judge(&self, i: usize, said: &str) -> Vec<String> {
        let step = &self.steps[i];
        let lower = said.to_lowercase();
        let mut wrong = Vec::new();
        for e in &step.expect {
            if !lower.contains(&e.to_lowercase()) {
                wrong.push(format!(
                    "{} step {} ({}): expected {e:?} in {said:?}",
                    self.file,
                    i + 1,
                    step.tool
                ));
            }
        }
        for r in &step.reject {
            if lower.contains(&r.to_lowercase()) {
                wrong.push(format!(
                    "{} step {} ({}): must not say {r:?}, said {said:?}",
                    self.file,
                    i + 1,
                    step.tool
                ));
            }
        }
        wrong
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

    /// What is wrong with the order of call `call` (empty: nothing).
    fn judge_order(&self, s: &MemoryStore, call: &str) -> Vec<String> {
        let f = &self.file;
        let stored = self.stored_order(s, call);
        let count = self.order_count(s);
        let Some(want) = &self.order else {
            let mut wrong = Vec::new();
            if let Some(o) = stored {
                wrong.push(format!(
                    "{f}: expected no order, found order {} with {:?}",
                    o.number,
                    got_lines(&o)
                ));
            }
            if count != 0 {
                wrong.push(format!("{f}: expected no order, the store has {count}"));
            }
            return wrong;
        };
        let Some(o) = stored else {
            return vec![format!("{f}: expected an order, none was placed")];
        };
        let mut wrong = Vec::new();
        if count != 1 {
            wrong.push(format!("{f}: expected one order, the store has {count}"));
        }
        let got = got_lines(&o);
        if got != want.lines {
            wrong.push(format!(
                "{f}: order lines\n   expected {:?}\n   got      {got:?}",
                want.lines
            ));
        }
        let kind = match o.fulfillment {
            Fulfillment::Pickup => "pickup",
            Fulfillment::Delivery { .. } => "delivery",
        };
        if kind != want.fulfillment {
            wrong.push(format!(
                "{f}: fulfillment: expected {}, got {kind}",
                want.fulfillment
            ));
        }
        let t = &o.totals;
        for (what, expected, actual) in [
            ("subtotal_cents", want.subtotal_cents, t.subtotal_cents),
            ("tax_cents", want.tax_cents, t.tax_cents),
            (
                "delivery_fee_cents",
                want.delivery_fee_cents,
                t.delivery_fee_cents,
            ),
            ("total_cents", want.total_cents, t.total_cents),
        ] {
            let actual = cents_of(actual);
            if actual != expected {
                wrong.push(format!("{f}: {what}: expected {expected}, got {actual}"));
            }
        }
        wrong
    }
}

fn cents_of(c: hostline_shared::money::Cents) -> i64 {
    c.0
}

fn got_lines(o: &Order) -> Vec<ExpectedLine> {
    o.lines
        .iter()
        .map(|l| ExpectedLine {
            item: l.name.clone(),
            quantity: l.quantity,
            options: l.options.iter().map(|o| o.name.clone()).collect(),
        })
        .collect()
}

/// What identifies an order's content: lines, fulfilment, totals.
fn content(o: &Order) -> String {
    format!(
        "{:?} {:?} {:?}",
        got_lines(o),
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
    wrong.extend(script.judge_order(s, call));
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
                    .judge_order(&s, call)
                    .into_iter()
                    // Two calls make two orders in the one store.
                    .filter(|w| !w.contains("the store has 2")),
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
            if !w.contains("the store has 2") && !only_the_number(&w) {
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
