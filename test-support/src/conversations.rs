//! The scripted ordering conversations (`fixtures/conversations/*.json`), as data any test can
//! play: through the order tools' handler natively (functions/orders/tests/conversations.rs)
//! or through `hostline up` over HTTP (functions/runner/tests/collection.rs). A script names a
//! sample restaurant, the instant of its tool calls, the caller ID, the steps a voice agent
//! sends after a caller speaks (each with what its spoken answer must and must not say) and
//! the order it must end with, worked out by hand from the restaurant document.

use hostline_shared::ids::BusinessId;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::fixtures::lines_of;

fn conversations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/conversations")
}

fn restaurants_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/restaurants")
}

/// One step of a script: a tool call and what its spoken answer must (not) contain.
#[derive(Debug, Clone)]
pub struct Step {
    pub tool: String,
    pub args: Value,
    pub expect: Vec<String>,
    pub reject: Vec<String>,
}

/// One line of the expected order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedLine {
    pub item: String,
    pub quantity: u32,
    pub options: BTreeSet<String>,
}

/// The order a script must end with.
#[derive(Debug, Clone)]
pub struct ExpectedOrder {
    pub lines: Vec<ExpectedLine>,
    pub fulfillment: String,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub delivery_fee_cents: i64,
    pub total_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Script {
    /// The file name, for failure messages.
    pub file: String,
    pub name: String,
    pub restaurant: String,
    pub at: String,
    pub caller: Option<String>,
    pub steps: Vec<Step>,
    pub order: Option<ExpectedOrder>,
    pub known_bug: Option<String>,
    /// The restaurant document's text.
    pub doc: String,
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

pub fn parse_script(file: &str, text: &str) -> Script {
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
pub fn all() -> Vec<Script> {
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
    pub fn business(&self) -> BusinessId {
        BusinessId::parse(&self.restaurant)
            .unwrap_or_else(|_| panic!("{}: {} is not a business id", self.file, self.restaurant))
    }

    pub fn line(&self) -> String {
        lines_of(&self.doc)
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("{}: {} has no phone line", self.file, self.restaurant))
    }

    pub fn instant(&self) -> jiff::Timestamp {
        self.at
            .parse()
            .unwrap_or_else(|e| panic!("{}: `at` {}: {e}", self.file, self.at))
    }

    /// The per-script call id (letters, digits and '-', at most 64).
    pub fn call_id(&self, tag: &str) -> String {
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

    /// What is wrong with step `i`'s answer (empty: nothing).
    pub fn judge(&self, i: usize, said: &str) -> Vec<String> {
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

    /// Step `i` (0-based) of call `call` as Vapi sends it: a `tool-calls` message.
    pub fn body(&self, call: &str, i: usize) -> Value {
        let step = &self.steps[i];
        let mut call_json = json!({"id": call});
        if let Some(c) = &self.caller {
            call_json["customer"] = json!({"number": c});
        }
        json!({"message": {"type": "tool-calls", "timestamp": self.at,
            "phoneNumber": {"number": self.line()}, "call": call_json,
            "toolCallList": [{"id": format!("t{}", i + 1), "type": "function",
                "function": {"name": step.tool, "arguments": step.args}}]}})
    }

    /// What is wrong with the order a call ended with (`order`: the stored order's JSON, or
    /// `None`) when the business holds `count` orders in all (empty: nothing).
    pub fn judge_order(&self, order: Option<&Value>, count: usize) -> Vec<String> {
        let f = &self.file;
        let Some(want) = &self.order else {
            let mut wrong = Vec::new();
            if let Some(o) = order {
                wrong.push(format!(
                    "{f}: expected no order, found order {} with {:?}",
                    o["number"],
                    lines_of_order(o)
                ));
            }
            if count != 0 {
                wrong.push(format!("{f}: expected no order, the business has {count}"));
            }
            return wrong;
        };
        let Some(o) = order else {
            return vec![format!("{f}: expected an order, none was placed")];
        };
        let mut wrong = Vec::new();
        if count != 1 {
            wrong.push(format!("{f}: expected one order, the business has {count}"));
        }
        let got = lines_of_order(o);
        if got != want.lines {
            wrong.push(format!(
                "{f}: order lines\n   expected {:?}\n   got      {got:?}",
                want.lines
            ));
        }
        let kind = o["fulfillment"]["kind"].as_str().unwrap_or_default();
        if kind != want.fulfillment {
            wrong.push(format!(
                "{f}: fulfillment: expected {}, got {kind}",
                want.fulfillment
            ));
        }
        for (what, expected) in [
            ("subtotal_cents", want.subtotal_cents),
            ("tax_cents", want.tax_cents),
            ("delivery_fee_cents", want.delivery_fee_cents),
            ("total_cents", want.total_cents),
        ] {
            let actual = o["totals"][what].as_i64();
            if actual != Some(expected) {
                wrong.push(format!("{f}: {what}: expected {expected}, got {actual:?}"));
            }
        }
        wrong
    }
}

/// The lines of an order as stored (its JSON: `lines[].name`, `quantity`, `options[].name`).
pub fn lines_of_order(order: &Value) -> Vec<ExpectedLine> {
    order["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| ExpectedLine {
                    item: l["name"].as_str().unwrap_or_default().to_owned(),
                    quantity: l["quantity"]
                        .as_u64()
                        .and_then(|q| u32::try_from(q).ok())
                        .unwrap_or_default(),
                    options: l["options"]
                        .as_array()
                        .map(|os| {
                            os.iter()
                                .filter_map(|o| o["name"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}
