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
