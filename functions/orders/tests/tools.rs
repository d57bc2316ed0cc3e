//! The order tools through the handler, natively, over the sample pizzeria: a whole spoken
//! order from first item to order number, with the menu's refusals on the way, repeated tool
//! calls, and two calls at once.

use futures::executor::block_on;
use hostline_orders::handler::{Config, handle};
use hostline_shared::credential::{TOOL_TOKEN_HEADER, ToolCredential};
use hostline_shared::http::{Method, Request};
use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::store::{MemoryStore, Store};
use hostline_test_support::fixtures::{PIZZA, lines_of, seeded};
use serde_json::{Value, json};

const KEY: &str = "orders-test-tool-key";
/// Friday 2026-12-04, 6 PM in Chicago: the pizzeria is open.
const AT: &str = "2026-12-05T00:00:00Z";

fn line() -> String {
    lines_of(PIZZA)[0].clone()
}

fn credential() -> String {
    ToolCredential::issue(
        BusinessId::parse("pizza").unwrap(),
        PhoneE164::parse_e164(&line()).unwrap(),
        AT.parse::<jiff::Timestamp>().unwrap().as_second(),
    )
    .sign(KEY.as_bytes())
    .unwrap()
}

/// The caller ID of the calls in these tests, unless one says otherwise.
const CALLER: &str = "+13125559876";

fn config() -> Config {
    Config {
        tool_token_key: KEY.into(),
        pii: hostline_shared::pii::PiiKeys::new("orders-test-hash-key", "orders-test-seal-key"),
    }
}

/// One tool call in call `call`, as Vapi sends it; the spoken result (or error).
fn tool(s: &MemoryStore, call: &str, id: &str, name: &str, args: Value) -> String {
    tool_from(s, call, id, name, args, AT, Some(CALLER))
}

/// [`tool`] at instant `at`, from caller ID `caller`.
fn tool_from(
    s: &MemoryStore,
    call: &str,
    id: &str,
    name: &str,
    args: Value,
    at: &str,
    caller: Option<&str>,
) -> String {
    let mut call_json = json!({"id": call});
    if let Some(c) = caller {
        call_json["customer"] = json!({"number": c});
    }
    let body = hostline_test_support::tool_call_message(at, &line(), &call_json, id, name, args);
    let req = Request::new(Method::Post, "/vapi/orders")
        .with_header(TOOL_TOKEN_HEADER, &credential())
        .with_body(body.to_string());
    let r = block_on(handle(&req, s, &config(), AT.parse().unwrap()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    let res = &v["results"][0];
    res["result"]
        .as_str()
        .or(res["error"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn a_spoken_order_from_first_item_to_order_number() {
    let s = seeded();
    let said = tool(
        &s,
        "call-1",
        "1",
        "add_to_cart",
        json!({"item": "pepperoni pizza", "quantity": 2, "modifiers": ["large", "mushrooms"]}),
    );
    assert_eq!(
        said,
        "That's 2 Pepperoni Pizza, Large (14 inch), Tavern Thin, Mushrooms, $44. Shall I add it to your order?"
    );
    // The caller changes their mind before saying yes: hand-tossed, just one.
    let said = tool(
        &s,
        "call-1",
        "2",
        "update_pending_item",
        json!({"quantity": 1, "modifiers": "large, mushrooms, hand tossed"}),
    );
    assert_eq!(
        said,
        "That's 1 Pepperoni Pizza, Large (14 inch), Hand-Tossed, Mushrooms, $22. Shall I add it to your order?"
    );
    let said = tool(&s, "call-1", "3", "confirm_pending_to_cart", json!({}));
    assert!(said.starts_with("Added 1 Pepperoni Pizza"), "{said}");
    tool(
        &s,
        "call-1",
        "4",
        "add_to_cart",
        json!({"item": "garlic knots", "quantity": "2"}),
    );
    tool(&s, "call-1", "5", "confirm_pending_to_cart", json!({}));
    // A repeated tool call: the first answer, not a second line.
    let again = tool(&s, "call-1", "5", "confirm_pending_to_cart", json!({}));
    assert!(again.starts_with("Added 2 Garlic Knots"), "{again}");
    let said = tool(
        &s,
        "call-1",
        "6",
        "set_fulfillment",
        json!({"type": "delivery", "address": "2400 N Milwaukee Ave, 60647"}),
    );
    assert!(
        said.starts_with("We deliver there: the delivery fee is $2.99"),
        "{said}"
    );
    let said = tool(&s, "call-1", "7", "view_cart", json!({}));
    // 22.00 + 13.00 = 35.00; tax 10.75 % = 3.7625 → 3.76; fee 2.99: 41.75.
    assert_eq!(
        said,
        "1: 1 Pepperoni Pizza, Large (14 inch), Hand-Tossed, Mushrooms, $22; 2: 2 Garlic Knots, $13. That's $35 plus $3.76 tax and a $2.99 delivery fee: $41.75 in all."
    );
    let said = tool(&s, "call-1", "8", "checkout_order", json!({}));
    assert_eq!(
        said,
        "Your order is in: order number 1 0 1. The total is $41.75. It'll be with you in about 40 minutes."
    );
    // Asked again (a new tool call id): the same order, no second one.
    let said = tool(&s, "call-1", "9", "checkout_order", json!({}));
    assert!(said.contains("order number 1 0 1"), "{said}");
    assert_eq!(block_on(s.list("biz/pizza/orders/")).unwrap().len(), 1);
    let said = tool(&s, "call-1", "10", "order_status", json!({}));
    assert_eq!(said, "Order number 1 0 1 is accepted by the kitchen.");
    // Accepted at once (the owner has not asked to accept orders by hand): the kitchen
    // ticket is queued for the printers.
    let queue = block_on(hostline_shared::printing::queue(
        &s,
        &hostline_shared::ids::BusinessId::parse("pizza").unwrap(),
    ))
    .unwrap();
    let jobs: Vec<&str> = queue.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(jobs, ["o-call-1.kitchen"]);
}

#[test]
fn the_menu_refuses_in_sentences_and_unknown_items_get_the_closest() {
    let s = seeded();
    let said = tool(
        &s,
        "c",
        "1",
        "add_to_cart",
        json!({"item": "italian lemon ice"}),
    );
    assert_eq!(said, "Sorry, the Italian Lemon Ice is sold out right now.");
    let said = tool(
        &s,
        "c",
        "2",
        "add_to_cart",
        json!({"item": "meat lovers pizza", "modifiers": ["gluten free crust"]}),
    );
    assert!(
        said.starts_with("The gluten-free crust can't hold the heavy meat pies"),
        "{said}"
    );
    let said = tool(
        &s,
        "c",
        "3",
        "add_to_cart",
        json!({"item": "garlic knots", "modifiers": ["mushrooms"]}),
    );
    assert_eq!(said, "Mushrooms isn't an option for the Garlic Knots.");
    let said = tool(
        &s,
        "c",
        "4",
        "add_to_cart",
        json!({"item": "chicken wings", "modifiers": ["lemon pepper"]}),
    );
    assert_eq!(
        said,
        "The lemon pepper dry rub wings come with ranch, so please add the ranch dip."
    );
    let said = tool(
        &s,
        "c",
        "5",
        "add_to_cart",
        json!({"item": "sushi platter"}),
    );
    assert!(
        said.starts_with("I couldn't find sushi platter on the menu"),
        "{said}"
    );
    let said = tool(&s, "c", "6", "checkout_order", json!({}));
    assert_eq!(said, "The order is empty; what would you like?");
    let said = tool(
        &s,
        "c",
        "7",
        "set_fulfillment",
        json!({"type": "delivery", "address": "60601"}),
    );
    assert_eq!(
        said,
        "Sorry, we don't deliver to 6 0 6 0 1; the order can be picked up instead."
    );
}

#[test]
fn two_calls_at_once_never_share_a_cart() {
    let s = seeded();
    tool(
        &s,
        "call-a",
        "1",
        "add_to_cart",
        json!({"item": "cannoli", "quantity": 3}),
    );
    tool(
        &s,
        "call-b",
        "1",
        "add_to_cart",
        json!({"item": "tiramisu"}),
    );
    tool(&s, "call-a", "2", "confirm_pending_to_cart", json!({}));
    tool(&s, "call-b", "2", "confirm_pending_to_cart", json!({}));
    let a = tool(&s, "call-a", "3", "view_cart", json!({}));
    let b = tool(&s, "call-b", "3", "view_cart", json!({}));
    assert!(a.contains("3 Cannoli") && !a.contains("Tiramisu"), "{a}");
    assert!(b.contains("1 Tiramisu") && !b.contains("Cannoli"), "{b}");
}

#[test]
fn a_request_without_a_credential_or_call_is_refused() {
    let s = seeded();
    let body = json!({"message": {"type": "tool-calls", "call": {"id": "c"},
        "toolCallList": [{"id": "1", "type": "function", "function": {"name": "view_cart", "arguments": {}}}]}});
    let cfg = config();
    let r = block_on(handle(
        &Request::new(Method::Post, "/vapi/orders").with_body(body.to_string()),
        &s,
        &cfg,
        AT.parse().unwrap(),
    ));
    assert_eq!(r.status, 401);
    let no_call = json!({"message": {"type": "tool-calls",
        "toolCallList": [{"id": "1", "type": "function", "function": {"name": "view_cart", "arguments": {}}}]}});
    let r = block_on(handle(
        &Request::new(Method::Post, "/vapi/orders")
            .with_header(TOOL_TOKEN_HEADER, &credential())
            .with_body(no_call.to_string()),
        &s,
        &cfg,
        AT.parse().unwrap(),
    ));
    assert_eq!(r.status, 400);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["field"], "message.call.id");
}

#[test]
fn every_advertised_order_tool_is_answered() {
    let s = seeded();
    for t in hostline_shared::tools::order_tools() {
        let said = tool(&s, "every", t.name, t.name, json!({}));
        assert_ne!(said, "Sorry, I can't do that here.", "{}", t.name);
    }
}

/// Stage and confirm `item` in `call` (tool call ids from `n`).
fn add(s: &MemoryStore, call: &str, n: u32, item: Value, at: &str, caller: Option<&str>) {
    let said = tool_from(s, call, &format!("{n}a"), "add_to_cart", item, at, caller);
    assert!(said.starts_with("That's"), "{said}");
    let said = tool_from(
        s,
        call,
        &format!("{n}b"),
        "confirm_pending_to_cart",
        json!({}),
        at,
        caller,
    );
    assert!(said.starts_with("Added"), "{said}");
}

#[test]
fn a_time_later_today_is_checked_against_the_lead_time_and_the_hours() {
    let s = seeded();
    add(
        &s,
        "later",
        1,
        json!({"item": "garlic knots"}),
        AT,
        Some(CALLER),
    );
    let fulfil = |id: &str, time: &str, at: &str| {
        tool_from(
            &s,
            "later",
            id,
            "set_fulfillment",
            json!({"type": "pickup", "time": time}),
            at,
            Some(CALLER),
        )
    };
    // Friday 6 PM: pickup takes 20 minutes.
    assert_eq!(
        fulfil("f1", "6:05 PM", AT),
        "The earliest we can have it is about 6:20 PM."
    );
    assert_eq!(
        fulfil("f2", "5 pm", AT),
        "5 PM has already passed today; what time later today would you like it?"
    );
    assert_eq!(
        fulfil("f3", "tonight", AT),
        "What time would you like it? For example, 6:30 PM, or tomorrow at noon."
    );
    let said = fulfil("f4", "8:30", AT);
    assert!(said.ends_with("I'll have it for 8:30 PM."), "{said}");
    // Another day: said with its day, and the checkout tells the time, not "in 20 minutes".
    let said = fulfil("f6", "tomorrow at 1", AT);
    assert!(said.ends_with("I'll have it for 1 PM tomorrow."), "{said}");
    let said = fulfil("f7", "sunday 6:30 pm", AT);
    assert!(
        said.ends_with("I'll have it for 6:30 PM on Sunday, December 6."),
        "{said}"
    );
    let said = tool_from(
        &s,
        "later",
        "c1",
        "checkout_order",
        json!({}),
        AT,
        Some(CALLER),
    );
    assert!(
        said.ends_with("It'll be ready for pickup at 6:30 PM on Sunday, December 6."),
        "{said}"
    );
    // Sunday noon: the pizzeria closes at 9 PM.
    let sunday = "2026-12-06T18:00:00Z";
    assert_eq!(
        fulfil("f5", "10 PM", sunday),
        "We're not open at 10 PM; what time while we're open would suit you?"
    );
}

#[test]
fn while_closed_an_order_is_taken_only_for_a_time_when_open() {
    let s = seeded();
    // Tuesday 10 AM in Chicago: closed until 11.
    let tuesday = "2026-12-08T16:00:00Z";
    add(
        &s,
        "early",
        1,
        json!({"item": "garlic knots"}),
        tuesday,
        Some(CALLER),
    );
    let said = tool_from(
        &s,
        "early",
        "f1",
        "set_fulfillment",
        json!({"type": "pickup"}),
        tuesday,
        Some(CALLER),
    );
    assert!(said.starts_with("Pickup"), "{said}");
    let said = tool_from(
        &s,
        "early",
        "c1",
        "checkout_order",
        json!({}),
        tuesday,
        Some(CALLER),
    );
    assert!(
        said.starts_with("We're closed right now; we open today at 11 AM.")
            && said.ends_with("I can take the order for a time when we're open."),
        "{said}"
    );
    let said = tool_from(
        &s,
        "early",
        "f2",
        "set_fulfillment",
        json!({"type": "pickup", "time": "11:30 am"}),
        tuesday,
        Some(CALLER),
    );
    assert!(said.ends_with("I'll have it for 11:30 AM."), "{said}");
    let said = tool_from(
        &s,
        "early",
        "c2",
        "checkout_order",
        json!({}),
        tuesday,
        Some(CALLER),
    );
    assert!(said.starts_with("Your order is in"), "{said}");
    let order: Value = serde_json::from_slice(
        &block_on(s.get_value("biz/pizza/orders/o-early"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(order["wanted_at"], "2026-12-08T17:30:00Z");
}

#[test]
fn the_usual_is_found_by_the_callers_number_kept_only_hashed() {
    let s = seeded();
    add(
        &s,
        "first",
        1,
        json!({"item": "pepperoni pizza", "modifiers": ["large", "mushrooms"]}),
        AT,
        Some(CALLER),
    );
    add(
        &s,
        "first",
        2,
        json!({"item": "garlic knots", "quantity": 2}),
        AT,
        Some(CALLER),
    );
    tool(
        &s,
        "first",
        "f",
        "set_fulfillment",
        json!({"type": "pickup"}),
    );
    let said = tool(&s, "first", "c", "checkout_order", json!({}));
    assert!(said.starts_with("Your order is in"), "{said}");
    // The number is on the order only as a keyed hash and sealed.
    let stored = String::from_utf8(
        block_on(s.get_value("biz/pizza/orders/o-first"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(!stored.contains("5559876"), "{stored}");
    assert!(stored.contains("\"hash\""), "{stored}");

    let usual = |call: &str, caller: Option<&str>| {
        tool_from(
            &s,
            call,
            "u",
            "lookup_previous_orders",
            json!({}),
            AT,
            caller,
        )
    };
    assert_eq!(
        usual("second", Some(CALLER)),
        "Last time, on December 4, you had 1 Pepperoni Pizza (Large (14 inch), Mushrooms) and 2 Garlic Knots. Would you like the same again?"
    );
    assert_eq!(
        usual("third", Some("+13125550000")),
        "I don't see any earlier orders from this number."
    );
    assert_eq!(
        usual("fourth", None),
        "I can't see the number you're calling from, so I can't look up earlier orders."
    );
    // A call that names another number finds that number's orders.
    let said = tool_from(
        &s,
        "fifth",
        "p",
        "save_phone_number",
        json!({"phone": "(312) 555-9876"}),
        AT,
        None,
    );
    assert_eq!(
        said,
        "Got it: I'll text about the order to the number ending in 9 8 7 6."
    );
    assert!(usual("fifth", None).starts_with("Last time, on December 4"));
    // "This number" is the caller ID; a number that can't be read is asked for again.
    let said = tool_from(
        &s,
        "sixth",
        "p",
        "save_phone_number",
        json!({"phone": "this number"}),
        AT,
        Some("+13125550123"),
    );
    assert_eq!(
        said,
        "Got it: I'll text about the order to the number ending in 0 1 2 3."
    );
    let said = tool_from(
        &s,
        "sixth",
        "q",
        "save_phone_number",
        json!({"phone": "banana"}),
        AT,
        Some("+13125550123"),
    );
    assert_eq!(
        said,
        "Sorry, I didn't get that number; could you say it again, digit by digit?"
    );
}

/// A choice said together with the item ("a large pepperoni", "hand tossed cheese pizza")
/// counts as a choice, unless the caller's modifiers already chose in that group; words of
/// the item's own name and description never do.
#[test]
fn a_choice_said_with_the_item_is_taken_as_a_choice() {
    let s = seeded();
    let said = tool(
        &s,
        "phrase-1",
        "1",
        "add_to_cart",
        json!({"item": "a large pepperoni"}),
    );
    assert!(said.contains("Large (14 inch)"), "{said}");
    let said = tool(
        &s,
        "phrase-2",
        "1",
        "add_to_cart",
        json!({"item": "hand tossed pepperoni pizza", "modifiers": ["small"]}),
    );
    assert!(said.contains("Hand-Tossed"), "{said}");
    assert!(said.contains("Small"), "{said}");
    assert!(!said.contains("Large"), "{said}");
    // The caller's own modifiers win over the same group named in the item phrase.
    let said = tool(
        &s,
        "phrase-3",
        "1",
        "add_to_cart",
        json!({"item": "large pepperoni pizza", "modifiers": ["medium"]}),
    );
    assert!(said.contains("Medium"), "{said}");
    assert!(!said.contains("Large"), "{said}");
    // Nothing extra when the phrase is only the item.
    let plain = tool(
        &s,
        "phrase-4",
        "1",
        "add_to_cart",
        json!({"item": "pepperoni pizza"}),
    );
    assert!(plain.contains("Medium (12 inch), Tavern Thin,"), "{plain}");
}
