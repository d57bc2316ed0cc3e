//! Order lines and totals against the pizza sample's real menu rules: defaults, required
//! choices, min/max, options of other items, `requires` and `unavailable_with`, 86'd items,
//! quantities, and money to the cent.

use hostline_shared::money::Cents;
use hostline_shared::orders::{
    CartLine, CartRefusal, LineRefusal, LineRequest, check_cart, check_line, totals,
};
use hostline_shared::restaurant::Restaurant;

const PIZZA: &str = include_str!("../../fixtures/restaurants/windy-city-slice.json");

fn menu() -> Restaurant {
    Restaurant::parse(PIZZA).expect("the pizza sample parses")
}

fn req(item: &str, quantity: u32, options: &[&str]) -> LineRequest {
    LineRequest {
        item_id: item.into(),
        quantity,
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        notes: None,
    }
}

fn refused(r: &Restaurant, q: &LineRequest) -> (LineRefusal, String) {
    let e = check_line(r, q).expect_err("refused");
    let s = e.sentence();
    (e, s)
}

#[test]
fn a_line_is_priced_from_item_and_options_times_quantity() {
    let r = menu();
    let line = check_line(
        &r,
        &req(
            "pepperoni-pizza",
            2,
            &[
                "size-large",
                "crust-hand-tossed",
                "top-mushrooms",
                "top-mushrooms",
            ],
        ),
    )
    .unwrap();
    // 16.00 + large 4.00 + hand-tossed 0 + mushrooms 2.00 (said twice, counted once) = 22.00.
    assert_eq!(line.unit_cents, Cents(2200));
    assert_eq!(line.line_cents, Cents(4400));
    assert_eq!(
        line.read_back(),
        "2 Pepperoni Pizza, Large (14 inch), Hand-Tossed, Mushrooms, $44"
    );
    assert!(line.options.iter().all(|o| !o.by_default));
}

#[test]
fn defaults_apply_when_the_caller_says_nothing() {
    let r = menu();
    let line = check_line(&r, &req("margherita-pizza", 1, &[])).unwrap();
    let chosen: Vec<(&str, bool)> = line
        .options
        .iter()
        .map(|o| (o.id.as_str(), o.by_default))
        .collect();
    assert_eq!(chosen, [("size-medium", true), ("crust-tavern", true)]);
    assert_eq!(line.line_cents, Cents(1500));
    // A choice replaces the default of its group only.
    let line = check_line(&r, &req("margherita-pizza", 1, &["size-small"])).unwrap();
    assert_eq!(line.options[0].id, "size-small");
    assert_eq!(line.options[1].id, "crust-tavern");
    assert_eq!(line.line_cents, Cents(1100));
}

#[test]
fn a_required_choice_without_a_default_is_asked_for_listing_the_choices() {
    let doc = PIZZA.replacen(r#""default": "size-medium", "#, "", 1);
    assert_ne!(doc, PIZZA, "the sample's pizza-size default was removed");
    let r = Restaurant::parse(&doc).unwrap();
    let (e, s) = refused(&r, &req("pepperoni-pizza", 1, &[]));
    assert!(matches!(e, LineRefusal::ChoiceNeeded { .. }), "{e:?}");
    assert_eq!(
        s,
        "Which pizza size would you like for the Pepperoni Pizza: Small (10 inch), Medium (12 inch), Large (14 inch) or Extra Large (16 inch)?"
    );
}

#[test]
fn group_maximums_are_enforced() {
    let r = menu();
    let (_, s) = refused(
        &r,
        &req(
            "chicken-wings",
            1,
            &["sauce-buffalo", "sauce-bbq", "sauce-garlic-parm"],
        ),
    );
    assert_eq!(
        s,
        "You can choose up to 2 wing sauce for the Chicken Wings."
    );
    let (_, s) = refused(
        &r,
        &req("margherita-pizza", 1, &["size-small", "size-large"]),
    );
    assert_eq!(
        s,
        "You can choose up to 1 pizza size for the Margherita Pizza."
    );
    let ok = check_line(
        &r,
        &req("chicken-wings", 1, &["sauce-buffalo", "sauce-bbq"]),
    )
    .unwrap();
    assert_eq!(ok.line_cents, Cents(1100));
}

#[test]
fn options_of_other_items_and_unknown_options_are_refused() {
    let r = menu();
    let (e, s) = refused(&r, &req("garlic-knots", 1, &["top-mushrooms"]));
    assert!(matches!(e, LineRefusal::NotOnItem { .. }));
    assert_eq!(s, "Mushrooms isn't an option for the Garlic Knots.");
    let (e, s) = refused(&r, &req("garlic-knots", 1, &["no-such-option"]));
    assert!(matches!(e, LineRefusal::UnknownOption { .. }));
    assert_eq!(s, "I couldn't find that option for the Garlic Knots.");
    let (e, _) = refused(&r, &req("no-such-item", 1, &[]));
    assert!(matches!(e, LineRefusal::UnknownItem { .. }));
}

#[test]
fn the_menus_rules_refuse_in_the_restaurants_words() {
    let r = menu();
    let (_, s) = refused(&r, &req("meat-lovers-pizza", 1, &["crust-gluten-free"]));
    assert!(
        s.starts_with("The gluten-free crust can't hold the heavy meat pies"),
        "{s}"
    );
    // The same crust on another pizza is fine, and costs its 3.00.
    let ok = check_line(&r, &req("margherita-pizza", 1, &["crust-gluten-free"])).unwrap();
    assert_eq!(ok.line_cents, Cents(1800));
    let (_, s) = refused(&r, &req("chicken-wings", 1, &["sauce-lemon-pepper"]));
    assert_eq!(
        s,
        "The lemon pepper dry rub wings come with ranch, so please add the ranch dip."
    );
    assert!(
        check_line(
            &r,
            &req("chicken-wings", 1, &["sauce-lemon-pepper", "dip-ranch"])
        )
        .is_ok()
    );
}

#[test]
fn sold_out_items_and_bad_quantities_are_refused() {
    let r = menu();
    let (_, s) = refused(&r, &req("lemon-ice", 1, &[]));
    assert_eq!(s, "Sorry, the Italian Lemon Ice is sold out right now.");
    for q in [0, 100] {
        let (e, _) = refused(&r, &req("garlic-knots", q, &[]));
        assert!(matches!(e, LineRefusal::Quantity { .. }), "{q}");
    }
    assert!(check_line(&r, &req("garlic-knots", 99, &[])).is_ok());
}

#[test]
fn notes_are_kept_tidy_and_read_back() {
    let r = menu();
    let mut q = req("garlic-knots", 1, &[]);
    q.notes = Some("  extra   crispy\nplease ".into());
    let line = check_line(&r, &q).unwrap();
    assert_eq!(line.notes.as_deref(), Some("extra crispy please"));
    assert_eq!(
        line.read_back(),
        "1 Garlic Knots (note: extra crispy please), $6.50"
    );
    q.notes = Some("   ".into());
    assert_eq!(check_line(&r, &q).unwrap().notes, None);
}

#[test]
fn totals_round_tax_half_up_once_per_order() {
    let r = menu();
    // 2 large pepperoni with mushrooms (44.00) + garlic knots (6.50) = 50.50 at 10.75 %:
    // 5.42875 → 5.43; with a 4.99 delivery fee, 60.92.
    let lines = [
        check_line(
            &r,
            &req("pepperoni-pizza", 2, &["size-large", "top-mushrooms"]),
        )
        .unwrap(),
        check_line(&r, &req("garlic-knots", 1, &[])).unwrap(),
    ];
    let t = totals(&r, &lines, Cents(499)).unwrap();
    assert_eq!(
        (
            t.subtotal_cents,
            t.tax_cents,
            t.delivery_fee_cents,
            t.total_cents
        ),
        (Cents(5050), Cents(543), Cents(499), Cents(6092))
    );
    assert_eq!(
        t.spoken(),
        "$50.50 plus $5.43 tax and a $4.99 delivery fee: $60.92 in all."
    );
    // Exactly half a cent rounds up: 2.00 at 10.75 % is 21.5 cents → 22.
    let two_dollars = CartLine {
        line_cents: Cents(200),
        unit_cents: Cents(200),
        ..lines[1].clone()
    };
    let t = totals(&r, std::slice::from_ref(&two_dollars), Cents::ZERO).unwrap();
    assert_eq!((t.tax_cents, t.total_cents), (Cents(22), Cents(222)));
    assert_eq!(t.spoken(), "$2 plus $0.22 tax: $2.22 in all.");
    // Once per order, not per line: three 2.00 lines are 6.00 → 64.5 → 65 cents, where
    // rounding each line would give 66.
    let three = [two_dollars.clone(), two_dollars.clone(), two_dollars];
    assert_eq!(
        totals(&r, &three, Cents::ZERO).unwrap().tax_cents,
        Cents(65)
    );
}

#[test]
fn max_items_per_order_counts_quantities() {
    let r = menu();
    let knots = check_line(&r, &req("garlic-knots", 20, &[])).unwrap();
    let more = check_line(&r, &req("garlic-knots", 10, &[])).unwrap();
    assert!(check_cart(&r, std::slice::from_ref(&knots), &more).is_ok());
    let one_too_many = check_line(&r, &req("garlic-knots", 11, &[])).unwrap();
    let e = check_cart(&r, std::slice::from_ref(&knots), &one_too_many).unwrap_err();
    assert_eq!(
        e,
        CartRefusal::TooManyItems {
            max: 30,
            already: 20
        }
    );
    assert!(e.sentence().contains("up to 30 items"));
}

mod carts {
    use super::*;
    use futures::executor::block_on;
    use hostline_shared::ids::BusinessId;
    use hostline_shared::orders::{Checkout, Fulfillment, checkout, with_cart};
    use hostline_shared::store::{FaultyStore, MemoryStore, Store};

    /// Friday 2026-12-04, 6 PM in Chicago: the pizzeria is open.
    pub(super) fn open_at() -> jiff::Timestamp {
        "2026-12-05T00:00:00Z".parse().unwrap()
    }

    pub(super) fn biz() -> BusinessId {
        BusinessId::parse("windy").unwrap()
    }

    /// One tool call: stage a line (checked) or another cart change.
    fn tool<S: Store>(
        s: &S,
        call: &str,
        tool_call: &str,
        change: impl FnMut(&mut hostline_shared::orders::Cart) -> String,
    ) -> String {
        block_on(with_cart(s, &biz(), call, tool_call, open_at(), change)).unwrap()
    }

    fn stage(
        r: &Restaurant,
        q: LineRequest,
    ) -> impl FnMut(&mut hostline_shared::orders::Cart) -> String {
        let r = r.clone();
        move |c| match check_line(&r, &q) {
            Ok(line) => c.stage(line),
            Err(e) => e.sentence(),
        }
    }

    fn confirm(r: &Restaurant) -> impl FnMut(&mut hostline_shared::orders::Cart) -> String {
        let r = r.clone();
        move |c| c.confirm_pending(&r).unwrap_or_else(|e| e)
    }

    /// Two large pepperoni with mushrooms and garlic knots, for delivery to 60647.
    pub(super) fn fill<S: Store>(s: &S, r: &Restaurant, call: &str) {
        let said = tool(
            s,
            call,
            "t1",
            stage(
                r,
                req("pepperoni-pizza", 2, &["size-large", "top-mushrooms"]),
            ),
        );
        assert_eq!(
            said,
            "That's 2 Pepperoni Pizza, Large (14 inch), Tavern Thin, Mushrooms, $44. Shall I add it to your order?"
        );
        let said = tool(s, call, "t2", confirm(r));
        assert!(said.starts_with("Added 2 Pepperoni Pizza"), "{said}");
        tool(s, call, "t3", stage(r, req("garlic-knots", 1, &[])));
        tool(s, call, "t4", confirm(r));
        let rr = r.clone();
        let said = tool(s, call, "t5", move |c| {
            c.set_delivery(&rr, "2400 N Milwaukee Ave, Chicago 60647")
                .unwrap_or_else(|e| e)
        });
        assert_eq!(
            said,
            "We deliver there: the delivery fee is $2.99, with a $15 minimum, and it takes about 40 minutes."
        );
    }

    #[test]
    fn a_staged_cart_becomes_one_order_however_often_checkout_is_asked() {
        let r = menu();
        let s = MemoryStore::new();
        fill(&s, &r, "call-1");
        // A repeated tool call returns its first answer and is not applied again.
        let again = tool(&s, "call-1", "t4", |_| {
            panic!("a repeated tool call must not run")
        });
        assert!(again.starts_with("Added 1 Garlic Knots"), "{again}");
        let cart = block_on(hostline_shared::orders::checkout::cart(
            &s,
            &biz(),
            "call-1",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(cart.lines.len(), 2);
        let view = cart.view(&r);
        assert_eq!(
            view,
            "1: 2 Pepperoni Pizza, Large (14 inch), Tavern Thin, Mushrooms, $44; 2: 1 Garlic Knots, $6.50. That's $50.50 plus $5.43 tax and a $2.99 delivery fee: $58.92 in all."
        );

        let Checkout::Placed(order) =
            block_on(checkout(&s, &r, &biz(), "call-1", open_at())).unwrap()
        else {
            panic!("not placed");
        };
        assert_eq!(order.number, "101");
        assert_eq!(order.spoken_number(), "1 0 1");
        assert_eq!(order.totals.total_cents, Cents(5892));
        assert!(
            matches!(order.fulfillment, Fulfillment::Delivery { ref zone, .. } if zone == "Logan Square")
        );
        for _ in 0..3 {
            let Checkout::Placed(same) =
                block_on(checkout(&s, &r, &biz(), "call-1", open_at())).unwrap()
            else {
                panic!("not placed");
            };
            assert_eq!(same, order);
        }
        // The cart takes no more changes.
        let said = tool(&s, "call-1", "t9", stage(&r, req("cannoli", 1, &[])));
        assert!(said.contains("already placed"), "{said}");
        // Another call gets the next number; orders are one per call.
        fill(&s, &r, "call-2");
        let Checkout::Placed(second) =
            block_on(checkout(&s, &r, &biz(), "call-2", open_at())).unwrap()
        else {
            panic!("not placed");
        };
        assert_eq!(second.number, "102");
        assert_eq!(block_on(s.list("biz/windy/orders/")).unwrap().len(), 2);
    }

    #[test]
    fn checkout_says_what_is_missing_and_refuses_while_closed() {
        let r = menu();
        let s = MemoryStore::new();
        let not_ready =
            |call: &str, at: jiff::Timestamp| match block_on(checkout(&s, &r, &biz(), call, at))
                .unwrap()
            {
                Checkout::NotReady(why) => why,
                Checkout::Placed(o) => panic!("placed {o:?}"),
            };
        assert_eq!(
            not_ready("c", open_at()),
            "The order is empty; what would you like?"
        );
        tool(&s, "c", "1", stage(&r, req("garlic-knots", 1, &[])));
        assert_eq!(
            not_ready("c", open_at()),
            "Shall I add the item I read back first?"
        );
        tool(&s, "c", "2", confirm(&r));
        assert_eq!(not_ready("c", open_at()), "Is this for pickup or delivery?");
        let rr = r.clone();
        let said = tool(&s, "c", "3", move |c| {
            c.set_delivery(&rr, "60601").unwrap_or_else(|e| e)
        });
        assert_eq!(
            said,
            "Sorry, we don't deliver to 6 0 6 0 1; the order can be picked up instead."
        );
        let rr = r.clone();
        tool(&s, "c", "4", move |c| {
            c.set_delivery(&rr, "60618").unwrap_or_else(|e| e)
        });
        assert_eq!(
            not_ready("c", open_at()),
            "Delivery there needs at least $25 before tax; the order is $6.50."
        );
        let rr = r.clone();
        tool(&s, "c", "5", move |c| {
            c.set_pickup(&rr).unwrap_or_else(|e| e)
        });
        assert!(matches!(
            block_on(checkout(&s, &r, &biz(), "c", open_at())).unwrap(),
            Checkout::Placed(_)
        ));
        // Monday (closed all day) at noon in Chicago: a cart made then is refused, with the
        // next opening.
        let monday: jiff::Timestamp = "2026-12-07T18:00:00Z".parse().unwrap();
        let rr = r.clone();
        for (id, change) in [
            (
                "m1",
                Box::new(stage(&r, req("garlic-knots", 1, &[])))
                    as Box<dyn FnMut(&mut hostline_shared::orders::Cart) -> String>,
            ),
            ("m2", Box::new(confirm(&r))),
            (
                "m3",
                Box::new(move |c: &mut hostline_shared::orders::Cart| {
                    c.set_pickup(&rr).unwrap_or_else(|e| e)
                }),
            ),
        ] {
            block_on(with_cart(&s, &biz(), "monday", id, monday, change)).unwrap();
        }
        let why = not_ready("monday", monday);
        assert!(
            why.starts_with("We're closed right now; we open tomorrow at 11 AM."),
            "{why}"
        );
    }

    #[test]
    fn checkout_cut_short_at_any_write_places_exactly_one_order_and_never_reuses_a_number() {
        let r = menu();
        // How many writes a checkout makes.
        let probe = FaultyStore::new(MemoryStore::new());
        fill(&probe, &r, "call");
        let before = probe.writes();
        block_on(checkout(&probe, &r, &biz(), "call", open_at())).unwrap();
        let writes = probe.writes() - before;
        assert!(writes >= 4, "{writes}");
        for k in 1..=writes {
            let s = FaultyStore::new(MemoryStore::new());
            fill(&s, &r, "call");
            s.fail_from(k);
            assert!(
                block_on(checkout(&s, &r, &biz(), "call", open_at())).is_err(),
                "write {k}"
            );
            s.heal();
            let Checkout::Placed(order) =
                block_on(checkout(&s, &r, &biz(), "call", open_at())).unwrap()
            else {
                panic!("not placed after a failure at write {k}");
            };
            let orders = block_on(s.inner().list("biz/windy/orders/")).unwrap();
            assert_eq!(orders.len(), 1, "write {k}");
            // A number allocated by the failed try is skipped, not given again.
            let counter = hostline_shared::store::counter_value(
                &block_on(
                    s.inner()
                        .get_value(&format!("biz/windy/order-count/{}", order.day)),
                )
                .unwrap()
                .unwrap(),
            )
            .unwrap();
            assert_eq!(order.number, (100 + counter).to_string(), "write {k}");
            // And the next call's order gets a fresh number.
            fill(&s, &r, "next");
            let Checkout::Placed(next) =
                block_on(checkout(&s, &r, &biz(), "next", open_at())).unwrap()
            else {
                panic!("next not placed");
            };
            assert_ne!(next.number, order.number);
        }
    }

    #[test]
    fn removing_and_clearing_lines() {
        let r = menu();
        let mut c = hostline_shared::orders::Cart::new("c", open_at());
        c.stage(check_line(&r, &req("cannoli", 2, &[])).unwrap());
        assert_eq!(c.clear_pending(), "Okay, I won't add the Cannoli.");
        c.stage(check_line(&r, &req("cannoli", 2, &[])).unwrap());
        c.confirm_pending(&r).unwrap();
        c.stage(check_line(&r, &req("tiramisu", 1, &[])).unwrap());
        c.confirm_pending(&r).unwrap();
        assert_eq!(
            c.remove(&r, 3).unwrap_err(),
            "There's no item 3 in your order; it has 2 items."
        );
        assert_eq!(
            c.remove(&r, 1).unwrap(),
            "Removed the Cannoli. Your order so far: 1 item, $8.50 before tax."
        );
        // The order-wide cap keeps the staged line waiting rather than dropping it.
        c.stage(check_line(&r, &req("garlic-knots", 30, &[])).unwrap());
        let e = c.confirm_pending(&r).unwrap_err();
        assert!(e.contains("up to 30 items"), "{e}");
        assert!(c.pending.is_some());
    }
}

/// After checkout: accepting (at once, or by staff) queues the kitchen's tickets before the
/// order commits; staff moves go forward only, against the version they saw; agents lease,
/// acknowledge and reprint jobs without ever sharing one.
mod lifecycle {
    use super::carts::{biz, fill, open_at};
    use super::*;
    use futures::executor::block_on;
    use hostline_shared::orders::checkout::order;
    use hostline_shared::orders::{
        Checkout, Move, MoveRefused, OrderStatus, Placement, Shop, Via, change_status, checkout,
        checkout_with,
    };

    fn keys() -> hostline_shared::pii::PiiKeys {
        hostline_shared::pii::PiiKeys::new("orders-test-hash", "orders-test-seal")
    }

    /// A call from +1 312 555 9876 to the pizzeria's main line.
    fn via() -> Via {
        let caller = PhoneE164::parse_e164("+13125559876").unwrap();
        Via {
            caller: Caller::of(&keys(), &caller, [7; 12]),
            line: Some(PhoneE164::parse_e164("+13125550160").unwrap()),
        }
    }

    fn shop(receipts: bool) -> Shop<'static> {
        Shop {
            name: "Windy City Slice",
            receipts,
        }
    }
    use hostline_shared::call_log::Caller;
    use hostline_shared::phone::PhoneE164;
    use hostline_shared::printing::{Ack, AckRefused, JobKind, JobState, LEASE_SECONDS, lease};
    use hostline_shared::store::{FaultyStore, MemoryStore, Store};
    use std::sync::Arc;

    const AUTO: Placement = Placement {
        auto_accept: true,
        receipts: true,
    };

    fn later(s: i64) -> jiff::Timestamp {
        open_at()
            .checked_add(jiff::SignedDuration::from_secs(s))
            .unwrap()
    }

    fn place<S: Store>(
        s: &S,
        r: &Restaurant,
        call: &str,
        p: Placement,
    ) -> hostline_shared::orders::Order {
        fill(s, r, call);
        match block_on(checkout_with(
            s,
            r,
            &biz(),
            call,
            p,
            &Via::default(),
            open_at(),
        ))
        .unwrap()
        {
            Checkout::Placed(o) => *o,
            Checkout::NotReady(why) => panic!("not placed: {why}"),
        }
    }

    fn mv(to: OrderStatus, version: u32) -> Move {
        Move {
            to,
            version,
            by: "staff:ana".into(),
            reason: None,
        }
    }

    /// A ticket no agent printed within 12 hours (a business with no printer, or one offline
    /// all day) is marked failed for the owner to see, and gone a day later: the queue stays
    /// bounded. The same for texts no drain sends (no Twilio configured): failed after 6
    /// hours, gone 2 days later.
    #[test]
    fn undeliverable_tickets_and_texts_fail_in_time_and_are_dropped_later() {
        use hostline_shared::outbox::{self, Text, TextEvent, TextState};
        use hostline_shared::printing::{self, STALE_AFTER_SECONDS};
        let s = MemoryStore::new();
        let kitchen = [JobKind::Kitchen];
        let t0 = open_at();
        block_on(printing::enqueue(&s, &biz(), "o-a", &kitchen, t0)).unwrap();
        block_on(printing::enqueue(&s, &biz(), "o-b", &kitchen, later(60))).unwrap();
        let q = block_on(printing::queue(&s, &biz())).unwrap();
        assert!(q.jobs.iter().all(|j| j.state == JobState::Pending), "{q:?}");
        block_on(printing::enqueue(
            &s,
            &biz(),
            "o-c",
            &kitchen,
            later(STALE_AFTER_SECONDS),
        ))
        .unwrap();
        let q = block_on(printing::queue(&s, &biz())).unwrap();
        let state = |id: &str| q.jobs.iter().find(|j| j.id == id).map(|j| j.state.clone());
        assert!(
            matches!(state("o-a.kitchen"), Some(JobState::Failed { reason, .. }) if reason.contains("12 hours")),
            "{q:?}"
        );
        assert_eq!(state("o-b.kitchen"), Some(JobState::Pending), "{q:?}");
        block_on(printing::enqueue(
            &s,
            &biz(),
            "o-d",
            &kitchen,
            later(STALE_AFTER_SECONDS + 24 * 60 * 60 + 60),
        ))
        .unwrap();
        let q = block_on(printing::queue(&s, &biz())).unwrap();
        // o-a (failed a day and more ago) is gone; o-b and o-c went stale since.
        let ids: Vec<&str> = q.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["o-b.kitchen", "o-c.kitchen", "o-d.kitchen"], "{q:?}");
        assert!(
            q.jobs[..2]
                .iter()
                .all(|j| matches!(j.state, JobState::Failed { .. })),
            "{q:?}"
        );

        let text = |order: &str, at: jiff::Timestamp| Text {
            id: format!("{order}.received"),
            order_id: order.to_owned(),
            event: TextEvent::Received,
            from: PhoneE164::parse_e164("+13125550160").unwrap(),
            to_sealed: "sealed".into(),
            body: "Windy City Slice: order 101 is in.".into(),
            state: TextState::Pending { due: at },
            attempts: 0,
            last_error: None,
            queued_at: at,
        };
        block_on(outbox::enqueue(&s, &biz(), text("o-a", t0))).unwrap();
        block_on(outbox::enqueue(
            &s,
            &biz(),
            text("o-b", later(outbox::STALE_AFTER_SECONDS)),
        ))
        .unwrap();
        let o = block_on(outbox::outbox(&s, &biz())).unwrap();
        assert!(
            matches!(&o.texts[0].state, TextState::Failed { error, .. } if error.contains("6 hours")),
            "{o:?}"
        );
        assert!(
            matches!(o.texts[1].state, TextState::Pending { .. }),
            "{o:?}"
        );
        block_on(outbox::enqueue(
            &s,
            &biz(),
            text(
                "o-c",
                later(outbox::STALE_AFTER_SECONDS + outbox::KEEP_DONE_SECONDS + 60),
            ),
        ))
        .unwrap();
        let o = block_on(outbox::outbox(&s, &biz())).unwrap();
        let ids: Vec<&str> = o.texts.iter().map(|t| t.order_id.as_str()).collect();
        // o-b went stale and was marked failed at that last enqueue; o-a is long gone.
        assert_eq!(ids, ["o-b", "o-c"], "{o:?}");
    }

    #[test]
    fn an_order_accepted_at_checkout_has_its_tickets_leased_to_one_agent() {
        let r = menu();
        let s = MemoryStore::new();
        let o = place(&s, &r, "call-1", AUTO);
        assert_eq!(o.status, OrderStatus::Accepted);
        assert_eq!(o.version(), 2);
        let jobs = block_on(lease(&s, &biz(), "America/Chicago", "dev-a", open_at())).unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["o-call-1.kitchen", "o-call-1.receipt"]);
        let kitchen = &jobs[0];
        assert_eq!(kitchen.ticket.order_number, o.number);
        assert_eq!(kitchen.ticket.total_cents, Cents(5892));
        assert_eq!(kitchen.ticket.lines.len(), 2);
        assert_eq!(kitchen.ticket.lines[0].name, "Pepperoni Pizza");
        assert_eq!((kitchen.reprint, kitchen.leases), (0, 1));
        // Another agent gets nothing while the lease runs; the holder gets its jobs again,
        // the lease renewed and not counted twice.
        assert!(
            block_on(lease(&s, &biz(), "UTC", "dev-b", later(10)))
                .unwrap()
                .is_empty()
        );
        let again = block_on(lease(&s, &biz(), "UTC", "dev-a", later(10))).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].leases, 1);
        // Printed by its holder; a retried ack is answered the same; nobody else may ack it.
        let ack = |dev: &str, job: &str, a: Ack| {
            block_on(hostline_shared::printing::acknowledge(
                &s,
                &biz(),
                dev,
                job,
                a,
                later(20),
            ))
            .unwrap()
        };
        assert_eq!(
            ack("dev-b", "o-call-1.kitchen", Ack::Printed),
            Err(AckRefused::NotYours)
        );
        assert!(matches!(
            ack("dev-a", "o-call-1.kitchen", Ack::Printed)
                .unwrap()
                .state,
            JobState::Printed { .. }
        ));
        assert!(matches!(
            ack("dev-a", "o-call-1.kitchen", Ack::Printed)
                .unwrap()
                .state,
            JobState::Printed { .. }
        ));
        assert_eq!(
            ack("dev-a", "nope.kitchen", Ack::Printed),
            Err(AckRefused::NoJob)
        );
        // The receipt's holder went quiet: after the lease another agent takes it over, and
        // the count says it was handed out before.
        let taken = block_on(lease(&s, &biz(), "UTC", "dev-b", later(30 + LEASE_SECONDS))).unwrap();
        let ids: Vec<(&str, u32)> = taken.iter().map(|j| (j.id.as_str(), j.leases)).collect();
        assert_eq!(ids, [("o-call-1.receipt", 2)]);
        // A reprint asked for by staff is its own job, marked as such.
        let id = block_on(hostline_shared::printing::reprint(
            &s,
            &biz(),
            "o-call-1",
            JobKind::Kitchen,
            later(40),
        ))
        .unwrap();
        assert_eq!(id, "o-call-1.kitchen.r1");
        let jobs = block_on(lease(&s, &biz(), "UTC", "dev-a", later(41))).unwrap();
        let ids: Vec<(&str, u32)> = jobs.iter().map(|j| (j.id.as_str(), j.reprint)).collect();
        assert_eq!(ids, [("o-call-1.kitchen.r1", 1)]);
    }

    #[test]
    fn a_held_order_prints_only_once_staff_accept_it_and_moves_go_forward_only() {
        let r = menu();
        let s = MemoryStore::new();
        let o = place(&s, &r, "call-1", Placement::default());
        assert_eq!((o.status, o.version()), (OrderStatus::Received, 1));
        assert!(
            block_on(lease(&s, &biz(), "UTC", "dev", open_at()))
                .unwrap()
                .is_empty()
        );
        let change = |m: Move, at: i64| {
            block_on(change_status(
                &s,
                &biz(),
                "o-call-1",
                &m,
                shop(false),
                later(at),
            ))
            .unwrap()
        };
        let accepted = change(mv(OrderStatus::Accepted, 1), 1).unwrap();
        assert_eq!(
            (accepted.status, accepted.version()),
            (OrderStatus::Accepted, 2)
        );
        assert_eq!(accepted.history[1].by, "staff:ana");
        let jobs = block_on(lease(&s, &biz(), "UTC", "dev", later(2))).unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(
            ids,
            ["o-call-1.kitchen"],
            "no receipt unless the business prints them"
        );
        // A second screen that still shows version 1 is told the order moved.
        match change(mv(OrderStatus::Preparing, 1), 3) {
            Err(MoveRefused::Stale { seen: 1, current }) => {
                assert_eq!(current.status, OrderStatus::Accepted)
            }
            other => panic!("{other:?}"),
        }
        assert!(change(mv(OrderStatus::Ready, 2), 4).is_ok());
        assert!(matches!(
            change(mv(OrderStatus::Preparing, 3), 5),
            Err(MoveRefused::NotAllowed {
                from: OrderStatus::Ready,
                to: OrderStatus::Preparing
            })
        ));
        assert_eq!(
            change(mv(OrderStatus::Cancelled, 3), 6),
            Err(MoveRefused::NeedsReason)
        );
        let done = change(mv(OrderStatus::Completed, 3), 7).unwrap();
        assert_eq!(done.version(), 4);
        let statuses: Vec<OrderStatus> = done.history.iter().map(|h| h.status).collect();
        assert_eq!(
            statuses,
            [
                OrderStatus::Received,
                OrderStatus::Accepted,
                OrderStatus::Ready,
                OrderStatus::Completed
            ]
        );
        let late_cancel = Move {
            reason: Some("too late".into()),
            ..mv(OrderStatus::Cancelled, 4)
        };
        assert!(matches!(
            change(late_cancel, 8),
            Err(MoveRefused::NotAllowed {
                from: OrderStatus::Completed,
                ..
            })
        ));
        assert_eq!(
            block_on(change_status(
                &s,
                &biz(),
                "o-nope",
                &mv(OrderStatus::Accepted, 1),
                shop(false),
                later(9)
            ))
            .unwrap(),
            Err(MoveRefused::NoOrder)
        );
    }

    #[test]
    fn a_job_whose_order_is_cancelled_before_an_agent_takes_it_is_never_printed() {
        let r = menu();
        let s = MemoryStore::new();
        place(&s, &r, "call-1", AUTO);
        let cancel = Move {
            reason: Some("customer called back".into()),
            ..mv(OrderStatus::Cancelled, 2)
        };
        let o = block_on(change_status(
            &s,
            &biz(),
            "o-call-1",
            &cancel,
            shop(true),
            later(1),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(o.history[2].reason.as_deref(), Some("customer called back"));
        assert!(
            block_on(lease(&s, &biz(), "UTC", "dev", later(2)))
                .unwrap()
                .is_empty()
        );
        let q = block_on(hostline_shared::printing::queue(&s, &biz())).unwrap();
        assert!(
            q.jobs
                .iter()
                .all(|j| matches!(j.state, JobState::Cancelled { .. }))
        );
    }

    #[test]
    fn two_screens_moving_one_order_at_once_make_exactly_one_change() {
        let r = menu();
        for round in 0..20 {
            let s = Arc::new(MemoryStore::new());
            place(&*s, &r, "call-1", Placement::default());
            let handles: Vec<_> = [OrderStatus::Accepted, OrderStatus::Cancelled]
                .into_iter()
                .map(|to| {
                    let s = Arc::clone(&s);
                    std::thread::spawn(move || {
                        let m = Move {
                            reason: Some("race".into()),
                            ..mv(to, 1)
                        };
                        block_on(change_status(
                            &*s,
                            &biz(),
                            "o-call-1",
                            &m,
                            shop(false),
                            later(1),
                        ))
                        .unwrap()
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let won = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(won, 1, "round {round}: {results:?}");
            let o = block_on(order(&*s, &biz(), "o-call-1")).unwrap().unwrap();
            assert_eq!(o.version(), 2, "round {round}");
        }
    }

    #[test]
    fn two_agents_polling_at_once_never_share_a_job() {
        let r = menu();
        for round in 0..20 {
            let s = Arc::new(MemoryStore::new());
            for call in ["c1", "c2", "c3"] {
                place(&*s, &r, call, AUTO);
            }
            let handles: Vec<_> = ["dev-a", "dev-b"]
                .into_iter()
                .map(|dev| {
                    let s = Arc::clone(&s);
                    std::thread::spawn(move || {
                        block_on(lease(&*s, &biz(), "UTC", dev, open_at())).unwrap()
                    })
                })
                .collect();
            let mut ids: Vec<String> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .map(|j| j.id)
                .collect();
            let total = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), total, "round {round}: a job went to both agents");
            assert_eq!(total, 6, "round {round}");
        }
    }

    #[test]
    fn an_accepting_checkout_cut_short_at_any_write_never_commits_an_order_without_its_ticket() {
        let r = menu();
        let probe = FaultyStore::new(MemoryStore::new());
        fill(&probe, &r, "call");
        let before = probe.writes();
        block_on(checkout_with(
            &probe,
            &r,
            &biz(),
            "call",
            AUTO,
            &via(),
            open_at(),
        ))
        .unwrap();
        let writes = probe.writes() - before;
        assert!(writes >= 5, "{writes}");
        for k in 1..=writes {
            let s = FaultyStore::new(MemoryStore::new());
            fill(&s, &r, "call");
            s.fail_from(k);
            let _ = block_on(checkout_with(
                &s,
                &r,
                &biz(),
                "call",
                AUTO,
                &via(),
                open_at(),
            ));
            s.heal();
            // No retry: whatever committed must be whole.
            let placed = block_on(order(s.inner(), &biz(), "o-call")).unwrap();
            let jobs = block_on(lease(s.inner(), &biz(), "UTC", "dev", open_at())).unwrap();
            let texts = block_on(hostline_shared::outbox::outbox(s.inner(), &biz())).unwrap();
            match placed {
                Some(o) => {
                    assert_eq!(o.status, OrderStatus::Accepted, "write {k}");
                    assert_eq!(
                        jobs.len(),
                        2,
                        "write {k}: a committed order without tickets"
                    );
                    let ids: Vec<&str> = texts.texts.iter().map(|t| t.id.as_str()).collect();
                    assert_eq!(ids, ["o-call.received"], "write {k}: no text for the order");
                }
                None => assert!(jobs.is_empty(), "write {k}: a ticket for no order"),
            }
        }
        // The plain checkout (held for staff) queues nothing.
        let s = MemoryStore::new();
        fill(&s, &r, "held");
        block_on(checkout(&s, &r, &biz(), "held", open_at())).unwrap();
        assert!(
            block_on(s.get_value("biz/windy/print-queue"))
                .unwrap()
                .is_none()
        );
    }

    fn twilio() -> hostline_shared::providers::twilio_api::TwilioApi {
        hostline_shared::providers::twilio_api::TwilioApi::configured(
            "http://127.0.0.1:9",
            "AC0123456789abcdef0123456789abcdef",
            "test-auth-token",
        )
        .unwrap()
    }

    fn form_of(body: &[u8]) -> std::collections::BTreeMap<String, String> {
        form_urlencoded::parse(body).into_owned().collect()
    }

    #[test]
    fn the_customer_is_texted_once_when_the_order_is_in_and_when_it_is_ready() {
        use hostline_shared::http::Method;
        use hostline_shared::outbound::Scripted;
        use hostline_shared::outbox::{TextState, drain, outbox};
        let r = menu();
        let s = MemoryStore::new();
        fill(&s, &r, "call-1");
        let Checkout::Placed(o) = block_on(checkout_with(
            &s,
            &r,
            &biz(),
            "call-1",
            Placement::default(),
            &via(),
            open_at(),
        ))
        .unwrap() else {
            panic!("not placed")
        };
        assert!(o.phone.is_some());
        let http = Scripted::new().on(Method::Post, "/Messages.json", 201, r#"{"sid":"SM1"}"#);
        let sent = block_on(drain(&s, &http, &twilio(), &keys(), &biz(), later(1))).unwrap();
        assert_eq!((sent.sent, sent.failed), (1, 0));
        // Again (another poll, another event): nothing more is sent.
        block_on(drain(&s, &http, &twilio(), &keys(), &biz(), later(2))).unwrap();
        let seen = http.seen();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0]
                .url
                .ends_with("/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json")
        );
        let form = form_of(&seen[0].body);
        assert_eq!(form["To"], "+13125559876");
        assert_eq!(form["From"], "+13125550160");
        assert_eq!(
            form["Body"],
            "Windy City Slice: order 101 is in. 2 Pepperoni Pizza (Large (14 inch), Mushrooms) and 1 Garlic Knots. Total $58.92. Arriving around 6:40 PM."
        );
        // Ready: queued with the move, sent by the next drain.
        for (to, v) in [(OrderStatus::Accepted, 1), (OrderStatus::Ready, 2)] {
            block_on(change_status(
                &s,
                &biz(),
                "o-call-1",
                &mv(to, v),
                shop(false),
                later(3),
            ))
            .unwrap()
            .unwrap();
        }
        block_on(drain(&s, &http, &twilio(), &keys(), &biz(), later(4))).unwrap();
        let seen = http.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            form_of(&seen[1].body)["Body"],
            "Windy City Slice: order 101 is ready and on its way."
        );
        let states: Vec<bool> = block_on(outbox(&s, &biz()))
            .unwrap()
            .texts
            .iter()
            .map(|t| matches!(t.state, TextState::Sent { .. }))
            .collect();
        assert_eq!(states, [true, true]);
    }

    #[test]
    fn a_text_twilio_refuses_is_retried_with_backoff_then_kept_as_failed() {
        use hostline_shared::http::Method;
        use hostline_shared::outbound::Scripted;
        use hostline_shared::outbox::{BACKOFF_SECONDS, TextState, drain, outbox};
        let r = menu();
        let s = MemoryStore::new();
        fill(&s, &r, "call-1");
        block_on(checkout_with(
            &s,
            &r,
            &biz(),
            "call-1",
            AUTO,
            &via(),
            open_at(),
        ))
        .unwrap();
        let down = Scripted::new().on(
            Method::Post,
            "/Messages.json",
            500,
            r#"{"code":20500,"message":"Internal Server Error"}"#,
        );
        let mut at = 0;
        for wait in BACKOFF_SECONDS {
            let d = block_on(drain(&s, &down, &twilio(), &keys(), &biz(), later(at))).unwrap();
            assert_eq!(d.failed, 1, "at {at}");
            // Not before its time.
            let d = block_on(drain(
                &s,
                &down,
                &twilio(),
                &keys(),
                &biz(),
                later(at + wait - 1),
            ))
            .unwrap();
            assert_eq!(d.failed + d.sent, 0, "at {}", at + wait - 1);
            at += wait;
        }
        block_on(drain(&s, &down, &twilio(), &keys(), &biz(), later(at))).unwrap();
        assert_eq!(down.seen().len(), BACKOFF_SECONDS.len() + 1);
        let text = &block_on(outbox(&s, &biz())).unwrap().texts[0];
        assert!(
            matches!(&text.state, TextState::Failed { error, .. } if error.contains("Internal Server Error")),
            "{text:?}"
        );
        // Failed is final: no more attempts.
        block_on(drain(
            &s,
            &down,
            &twilio(),
            &keys(),
            &biz(),
            later(at + 100_000),
        ))
        .unwrap();
        assert_eq!(down.seen().len(), BACKOFF_SECONDS.len() + 1);
    }

    #[test]
    fn two_drains_at_once_send_each_text_once() {
        use hostline_shared::http::Method;
        use hostline_shared::outbound::Scripted;
        use hostline_shared::outbox::drain;
        let r = menu();
        for round in 0..20 {
            let s = Arc::new(MemoryStore::new());
            for call in ["c1", "c2", "c3"] {
                fill(&*s, &r, call);
                block_on(checkout_with(
                    &*s,
                    &r,
                    &biz(),
                    call,
                    AUTO,
                    &via(),
                    open_at(),
                ))
                .unwrap();
            }
            let http = Arc::new(Scripted::new().on(
                Method::Post,
                "/Messages.json",
                201,
                r#"{"sid":"SM1"}"#,
            ));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (s, http) = (Arc::clone(&s), Arc::clone(&http));
                    std::thread::spawn(move || {
                        block_on(drain(&*s, &*http, &twilio(), &keys(), &biz(), later(1))).unwrap()
                    })
                })
                .collect();
            let sent: usize = handles.into_iter().map(|h| h.join().unwrap().sent).sum();
            assert_eq!((sent, http.seen().len()), (3, 3), "round {round}");
        }
    }
}
