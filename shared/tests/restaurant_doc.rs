//! The `hostline.restaurant/v1` document from the outside: two full valid documents, every rule
//! broken once with the exact path asserted, structural errors at depth, human-form phone
//! numbers, round trips, and random mutations.

use hostline_shared::money::Cents;
use hostline_shared::restaurant::{DocError, Restaurant, Rule};
use proptest::prelude::*;
use serde_json::{Value, json};

const TACOS: &str = include_str!("data/night-owl-tacos.json");
const CAFE: &str = include_str!("data/cafe-lumiere.json");

fn value(doc: &str) -> Value {
    serde_json::from_str(doc).expect("test documents are JSON")
}

fn parse_ok(doc: &str) -> Restaurant {
    match Restaurant::parse(doc) {
        Ok(r) => r,
        Err(e) => panic!("document should parse, got {e}"),
    }
}

/// The tacos document with `f` applied.
fn tacos_with(f: impl FnOnce(&mut Value)) -> String {
    let mut v = value(TACOS);
    f(&mut v);
    v.to_string()
}

/// Replace the value at a JSON pointer, or add it when the last key is new.
fn set(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer starts with /");
    v.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{parent} is an object in the test document"))
        .insert(key.to_owned(), new);
}

fn remove(v: &mut Value, pointer: &str, key: &str) {
    v.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{pointer} is an object"))
        .remove(key);
}

fn push(v: &mut Value, pointer: &str, new: Value) {
    v.pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("{pointer} is an array"))
        .push(new);
}

#[test]
fn both_documents_parse() {
    let tacos = parse_ok(TACOS);
    assert_eq!(tacos.business.name, "Night Owl Tacos");
    assert_eq!(tacos.items().count(), 6);
    assert_eq!(tacos.item("chips-salsa").map(|i| i.available), Some(false));
    assert_eq!(tacos.item("elote").map(|i| i.price_cents), Some(Cents(550)));
    assert_eq!(
        tacos
            .modifier_group("drink-size")
            .map(|g| g.options[0].price_cents),
        Some(Cents(-100))
    );
    assert!(matches!(tacos.menu.rules[1], Rule::Requires { .. }));

    let cafe = parse_ok(CAFE);
    assert_eq!(cafe.business.country.as_deref(), Some("FR"));
    assert_eq!(cafe.business.timezone.as_str(), "Europe/Paris");
    assert!(!cafe.fulfillment.delivery);
}

#[test]
fn phone_lines_in_human_form_become_e164() {
    let tacos = parse_ok(TACOS);
    let lines: Vec<&str> = tacos
        .business
        .phone_lines
        .iter()
        .map(|l| l.e164.as_str())
        .collect();
    assert_eq!(lines, ["+13125550150", "+13125550151", "+17735550152"]);
    assert_eq!(tacos.business.phone_lines[2].priority, 0);

    // FR is explicit in the café: its national number is read as French.
    let cafe = parse_ok(CAFE);
    assert_eq!(cafe.business.phone_lines[0].e164.as_str(), "+33123456789");

    // Without `country`, the currency decides: GBP reads national numbers as British.
    let gb = tacos_with(|v| {
        set(v, "/business/currency", json!("GBP"));
        set(v, "/business/timezone", json!("Europe/London"));
        set(
            v,
            "/business/phone_lines",
            json!([{ "e164": "020 7946 0018", "label": "main" }]),
        );
        set(v, "/delivery/zones/0/zips", json!(["SW1A 1AA"]));
        set(v, "/delivery/zones/1/zips", json!(["E1 6AN"]));
    });
    assert_eq!(
        parse_ok(&gb).business.phone_lines[0].e164.as_str(),
        "+442079460018"
    );
}

#[test]
fn unparseable_phone_lines_name_their_path() {
    let e = Restaurant::parse(&tacos_with(|v| {
        set(v, "/business/phone_lines/1/e164", json!("555-0151"));
    }))
    .expect_err("no area code");
    assert_eq!(e.path, "business.phone_lines[1].e164");
    assert!(
        e.message
            .contains("\"555-0151\" is not a valid phone number"),
        "{e}"
    );
    assert!(e.message.contains("read as US"), "{e}");
}

#[test]
fn exported_documents_parse_back_equal() {
    for doc in [TACOS, CAFE] {
        let first = parse_ok(doc);
        let exported = serde_json::to_string(&first).expect("a restaurant serializes");
        let second = parse_ok(&exported);
        assert_eq!(first, second);
        // Export is canonical: exporting again gives the same text.
        assert_eq!(
            serde_json::to_string(&second).expect("a restaurant serializes"),
            exported
        );
    }
}

type Mutation = Box<dyn Fn(&mut Value)>;

/// Every rule broken once: (what, mutation, expected path, a fragment of the message).
fn rule_violations() -> Vec<(&'static str, Mutation, &'static str, &'static str)> {
    vec![
        (
            "wrong format",
            Box::new(|v| set(v, "/format", json!("hostline.restaurant/v2"))),
            "format",
            "must be \"hostline.restaurant/v1\"",
        ),
        (
            "blank business name",
            Box::new(|v| set(v, "/business/name", json!("   "))),
            "business.name",
            "must not be empty",
        ),
        (
            "lower-case currency",
            Box::new(|v| set(v, "/business/currency", json!("usd"))),
            "business.currency",
            "three-letter ISO 4217",
        ),
        (
            "tax written as a percentage",
            Box::new(|v| set(v, "/business/tax_rate_bps", json!(8750))),
            "business.tax_rate_bps",
            "basis points",
        ),
        (
            "unknown country",
            Box::new(|v| set(v, "/business/country", json!("XX"))),
            "business.country",
            "alpha-2",
        ),
        (
            "lower-case country",
            Box::new(|v| set(v, "/business/country", json!("us"))),
            "business.country",
            "upper case",
        ),
        (
            "blank legal name",
            Box::new(|v| set(v, "/business/legal_name", json!(""))),
            "business.legal_name",
            "must not be empty",
        ),
        (
            "zero items per order",
            Box::new(|v| set(v, "/business/limits/max_items_per_order", json!(0))),
            "business.limits.max_items_per_order",
            "at least 1",
        ),
        (
            "the same line twice, written two ways",
            Box::new(|v| set(v, "/business/phone_lines/1/e164", json!("+13125550150"))),
            "business.phone_lines[1].e164",
            "duplicate line +13125550150",
        ),
        (
            "blank line label",
            Box::new(|v| set(v, "/business/phone_lines/0/label", json!(" "))),
            "business.phone_lines[0].label",
            "must not be empty",
        ),
        (
            "hours without days",
            Box::new(|v| set(v, "/hours/0/days", json!([]))),
            "hours[0].days",
            "at least one day",
        ),
        (
            "a day twice in a range",
            Box::new(|v| set(v, "/hours/1/days", json!(["fri", "fri"]))),
            "hours[1].days[1]",
            "\"fri\" is listed twice",
        ),
        (
            "opening at 24:00",
            Box::new(|v| set(v, "/hours/0/open", json!("24:00"))),
            "hours[0].open",
            "only allowed as a closing time",
        ),
        (
            "overlap on the same day",
            Box::new(|v| {
                push(
                    v,
                    "/hours",
                    json!({ "days": ["tue"], "open": "21:00", "close": "23:00" }),
                )
            }),
            "hours[2]",
            "overlaps hours[0] on tue from 21:00 to 22:00",
        ),
        (
            "overnight spill-over overlaps the next morning",
            Box::new(|v| {
                push(
                    v,
                    "/hours",
                    json!({ "days": ["sat"], "open": "01:30", "close": "03:00" }),
                )
            }),
            "hours[2]",
            "overlaps hours[1] on sat from 01:30 to 02:00",
        ),
        (
            "Sunday night runs into Monday",
            Box::new(|v| {
                set(v, "/hours/0/days", json!(["mon", "tue", "wed", "thu"]));
                push(
                    v,
                    "/hours",
                    json!({ "days": ["sun"], "open": "20:00", "close": "11:30" }),
                )
            }),
            "hours[2]",
            "overlaps hours[0] on mon from 11:00 to 11:30",
        ),
        (
            "closure listed twice",
            Box::new(|v| push(v, "/closures", json!({ "date": "2026-12-25" }))),
            "closures[3].date",
            "2026-12-25 is listed twice (also closures[1])",
        ),
        (
            "blank closure reason",
            Box::new(|v| set(v, "/closures/0/reason", json!(""))),
            "closures[0].reason",
            "must not be empty",
        ),
        (
            "prep time over a day",
            Box::new(|v| set(v, "/fulfillment/prep_minutes", json!(1441))),
            "fulfillment.prep_minutes",
            "at most 1440",
        ),
        (
            "delivery without a delivery time",
            Box::new(|v| remove(v, "/fulfillment", "delivery_minutes")),
            "fulfillment.delivery_minutes",
            "required when delivery is on",
        ),
        (
            "delivery without zones",
            Box::new(|v| remove(v, "", "delivery")),
            "delivery.zones",
            "at least one zone",
        ),
        (
            "blank zone name",
            Box::new(|v| set(v, "/delivery/zones/1/name", json!(""))),
            "delivery.zones[1].name",
            "must not be empty",
        ),
        (
            "duplicate zone name",
            Box::new(|v| set(v, "/delivery/zones/1/name", json!("logan  square"))),
            "delivery.zones[1].name",
            "duplicate zone name",
        ),
        (
            "zone without zips",
            Box::new(|v| set(v, "/delivery/zones/0/zips", json!([]))),
            "delivery.zones[0].zips",
            "at least one",
        ),
        (
            "four-digit US zip",
            Box::new(|v| set(v, "/delivery/zones/1/zips/1", json!("6064"))),
            "delivery.zones[1].zips[1]",
            "5-digit ZIP",
        ),
        (
            "zip in two zones",
            Box::new(|v| set(v, "/delivery/zones/1/zips/1", json!("60647"))),
            "delivery.zones[1].zips[1]",
            "already in zone \"Logan Square\"",
        ),
        (
            "negative delivery fee",
            Box::new(|v| set(v, "/delivery/zones/0/fee_cents", json!(-1))),
            "delivery.zones[0].fee_cents",
            "must not be negative",
        ),
        (
            "negative minimum order",
            Box::new(|v| set(v, "/delivery/zones/1/min_order_cents", json!(-500))),
            "delivery.zones[1].min_order_cents",
            "must not be negative",
        ),
        (
            "blank category name",
            Box::new(|v| set(v, "/menu/categories/1/name", json!(""))),
            "menu.categories[1].name",
            "must not be empty",
        ),
        (
            "duplicate category name",
            Box::new(|v| set(v, "/menu/categories/2/name", json!("TACOS"))),
            "menu.categories[2].name",
            "duplicate category name",
        ),
        (
            "item id that is not a slug",
            Box::new(|v| set(v, "/menu/categories/1/items/0/id", json!("Street Corn"))),
            "menu.categories[1].items[0].id",
            "not a valid id",
        ),
        (
            "item id used in two categories",
            Box::new(|v| set(v, "/menu/categories/2/items/0/id", json!("elote"))),
            "menu.categories[2].items[0].id",
            "duplicate item id \"elote\" (first used at menu.categories[1].items[0])",
        ),
        (
            "blank item name",
            Box::new(|v| set(v, "/menu/categories/0/items/1/name", json!(""))),
            "menu.categories[0].items[1].name",
            "must not be empty",
        ),
        (
            "negative item price",
            Box::new(|v| set(v, "/menu/categories/0/items/2/price_cents", json!(-400))),
            "menu.categories[0].items[2].price_cents",
            "must not be negative",
        ),
        (
            "absurd item price",
            Box::new(|v| {
                set(
                    v,
                    "/menu/categories/0/items/0/price_cents",
                    json!(100_000_001),
                )
            }),
            "menu.categories[0].items[0].price_cents",
            "too large",
        ),
        (
            "blank item alias",
            Box::new(|v| set(v, "/menu/categories/0/items/0/aliases/1", json!(" "))),
            "menu.categories[0].items[0].aliases[1]",
            "must not be empty",
        ),
        (
            "item pointing at a missing modifier group",
            Box::new(|v| {
                set(
                    v,
                    "/menu/categories/0/items/1/modifier_groups/1",
                    json!("salsas"),
                )
            }),
            "menu.categories[0].items[1].modifier_groups[1]",
            "unknown modifier group \"salsas\"",
        ),
        (
            "the same group twice on an item",
            Box::new(|v| {
                set(
                    v,
                    "/menu/categories/0/items/1/modifier_groups/1",
                    json!("tortilla"),
                )
            }),
            "menu.categories[0].items[1].modifier_groups[1]",
            "listed twice on this item",
        ),
        (
            "duplicate group id",
            Box::new(|v| {
                set(v, "/menu/modifier_groups/2/id", json!("salsa"));
                set(v, "/menu/categories/2/items/0/modifier_groups", json!([]));
            }),
            "menu.modifier_groups[2].id",
            "duplicate modifier group id \"salsa\"",
        ),
        (
            "blank group name",
            Box::new(|v| set(v, "/menu/modifier_groups/0/name", json!(""))),
            "menu.modifier_groups[0].name",
            "must not be empty",
        ),
        (
            "min above max",
            Box::new(|v| set(v, "/menu/modifier_groups/1/min", json!(3))),
            "menu.modifier_groups[1].min",
            "must not be more than max (3 > 2)",
        ),
        (
            "max of zero",
            Box::new(|v| {
                set(v, "/menu/modifier_groups/1/max", json!(0));
            }),
            "menu.modifier_groups[1].max",
            "at least 1",
        ),
        (
            "max above the number of options",
            Box::new(|v| set(v, "/menu/modifier_groups/1/max", json!(4))),
            "menu.modifier_groups[1].max",
            "is 4 but the group has only 3 options",
        ),
        (
            "group without options",
            Box::new(|v| {
                set(v, "/menu/modifier_groups/1/options", json!([]));
                set(v, "/menu/rules", json!([]));
            }),
            "menu.modifier_groups[1].options",
            "at least one option",
        ),
        (
            "default that is not an option of the group",
            Box::new(|v| set(v, "/menu/modifier_groups/0/default", json!("salsa-verde"))),
            "menu.modifier_groups[0].default",
            "\"salsa-verde\" is not one of this group's options",
        ),
        (
            "option id that is not a slug",
            Box::new(|v| set(v, "/menu/modifier_groups/0/options/1/id", json!("flour_"))),
            "menu.modifier_groups[0].options[1].id",
            "not a valid id",
        ),
        (
            "option id reused in another group",
            Box::new(|v| set(v, "/menu/modifier_groups/2/options/0/id", json!("corn"))),
            "menu.modifier_groups[2].options[0].id",
            "duplicate option id \"corn\" (first used at menu.modifier_groups[0].options[0])",
        ),
        (
            "blank option name",
            Box::new(|v| set(v, "/menu/modifier_groups/2/options/2/name", json!(""))),
            "menu.modifier_groups[2].options[2].name",
            "must not be empty",
        ),
        (
            "blank option alias",
            Box::new(|v| set(v, "/menu/modifier_groups/1/options/0/aliases/0", json!(""))),
            "menu.modifier_groups[1].options[0].aliases[0]",
            "must not be empty",
        ),
        (
            "rule on an unknown option",
            Box::new(|v| set(v, "/menu/rules/0/option", json!("lettuce"))),
            "menu.rules[0].option",
            "unknown option \"lettuce\"",
        ),
        (
            "rule naming an unknown item",
            Box::new(|v| set(v, "/menu/rules/0/items", json!(["al-pastor", "pastor"]))),
            "menu.rules[0].items[1]",
            "unknown item \"pastor\"",
        ),
        (
            "unavailable_with no items",
            Box::new(|v| set(v, "/menu/rules/0/items", json!([]))),
            "menu.rules[0].items",
            "at least one item",
        ),
        (
            "requires an unknown option",
            Box::new(|v| set(v, "/menu/rules/1/needs", json!("salsa-rojo"))),
            "menu.rules[1].needs",
            "unknown option \"salsa-rojo\"",
        ),
        (
            "option requiring itself",
            Box::new(|v| set(v, "/menu/rules/1/needs", json!("habanero"))),
            "menu.rules[1].needs",
            "cannot require itself",
        ),
        (
            "blank rule message",
            Box::new(|v| set(v, "/menu/rules/1/message", json!(""))),
            "menu.rules[1].message",
            "must not be empty",
        ),
        (
            "blank faq answer",
            Box::new(|v| set(v, "/faq/1/a", json!("\n"))),
            "faq[1].a",
            "must not be empty",
        ),
        (
            "too many items",
            Box::new(|v| {
                let items: Vec<Value> = (0..2001)
                    .map(|n| json!({ "id": format!("item-{n}"), "name": "x", "price_cents": 1 }))
                    .collect();
                set(v, "/menu/categories/1/items", Value::Array(items));
            }),
            "menu.categories",
            "2005 items in all; at most 2000",
        ),
    ]
}

#[test]
fn every_rule_names_its_path() {
    let mut failures = Vec::new();
    for (what, mutate, path, fragment) in rule_violations() {
        let doc = tacos_with(|v| mutate(v));
        match Restaurant::parse(&doc) {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(e) if e.path != path || !e.message.contains(fragment) => failures.push(format!(
                "{what}: got `{e}`, expected `{path}: …{fragment}…`"
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn problems_lists_every_violation_in_order() {
    let doc = tacos_with(|v| {
        set(v, "/business/name", json!(""));
        set(v, "/menu/categories/0/items/2/price_cents", json!(-1));
        set(v, "/faq/0/q", json!(""));
    });
    // `parse` stops at the first, so check the typed document directly.
    let mut r = parse_ok(TACOS);
    r.business.name.clear();
    r.menu.categories[0].items[2].price_cents = Cents(-1);
    r.faq[0].q.clear();
    let paths: Vec<String> = r.problems().into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "business.name",
            "menu.categories[0].items[2].price_cents",
            "faq[0].q"
        ]
    );
    assert_eq!(
        Restaurant::parse(&doc).map_err(|e| e.path),
        Err("business.name".to_owned())
    );
    assert_eq!(
        r.validate().map_err(|e| e.path),
        Err("business.name".to_owned())
    );
}

#[test]
fn valid_edge_cases_are_accepted() {
    let docs = [
        // No phone line yet: imported before a number is bought.
        tacos_with(|v| set(v, "/business/phone_lines", json!([]))),
        // 24 hours a day, written both ways.
        tacos_with(|v| {
            set(
                v,
                "/hours",
                json!([
                    { "days": ["mon", "tue", "wed", "thu", "fri"], "open": "00:00", "close": "00:00" },
                    { "days": ["sat", "sun"], "open": "00:00", "close": "24:00" }
                ]),
            )
        }),
        // Ranges that touch are not an overlap; neither is a whole-day range from 10 AM.
        tacos_with(|v| {
            set(
                v,
                "/hours",
                json!([
                    { "days": ["fri"], "open": "11:00", "close": "24:00" },
                    { "days": ["sat"], "open": "00:00", "close": "02:00" },
                    { "days": ["sun"], "open": "10:00", "close": "10:00" },
                    { "days": ["mon"], "open": "10:00", "close": "22:00" }
                ]),
            )
        }),
        // No hours at all, no delivery, an empty menu.
        tacos_with(|v| {
            set(v, "/hours", json!([]));
            set(v, "/fulfillment/delivery", json!(false));
            set(v, "/menu", json!({}));
        }),
        // Free options and negative option prices.
        tacos_with(|v| {
            set(
                v,
                "/menu/modifier_groups/2/options/0/price_cents",
                json!(-350),
            )
        }),
        // 30% tax is the cap, not over it.
        tacos_with(|v| set(v, "/business/tax_rate_bps", json!(3000))),
        // Lower-case time zone names are canonicalised.
        tacos_with(|v| set(v, "/business/timezone", json!("america/chicago"))),
    ];
    for doc in docs {
        parse_ok(&doc);
    }
    let r = parse_ok(&tacos_with(|v| {
        set(v, "/business/timezone", json!("america/chicago"))
    }));
    assert_eq!(r.business.timezone.as_str(), "America/Chicago");
}

fn structural(doc: &str) -> DocError {
    Restaurant::parse(doc).expect_err("document should be rejected")
}

#[test]
fn unknown_fields_are_named_at_depth() {
    let e = structural(&tacos_with(|v| {
        set(v, "/menu/categories/0/items/1/colour", json!("red"))
    }));
    assert_eq!(e.path, "menu.categories[0].items[1].colour");
    assert!(
        e.message
            .starts_with("unknown field \"colour\", expected one of \"id\", \"name\""),
        "{e}"
    );

    let e = structural(&tacos_with(|v| {
        set(v, "/business/limits/max_orders", json!(3))
    }));
    assert_eq!(e.path, "business.limits.max_orders");

    let e = structural(&tacos_with(|v| set(v, "/menu/rules/1/colour", json!(1))));
    assert_eq!(e.path, "menu.rules[1].colour");

    let e = structural(&tacos_with(|v| set(v, "/extra", json!(true))));
    assert_eq!(e.path, "extra");
}

#[test]
fn structural_errors_name_their_path() {
    let cases: Vec<(Mutation, &str, &str)> = vec![
        (
            Box::new(|v| set(v, "/menu/categories/0/items/0/price_cents", json!(4.5))),
            "menu.categories[0].items[0].price_cents",
            "expected a whole number",
        ),
        (
            Box::new(|v| set(v, "/menu/categories/0/items/0/price_cents", json!("4.50"))),
            "menu.categories[0].items[0].price_cents",
            "invalid type: string \"4.50\"",
        ),
        (
            Box::new(|v| set(v, "/business/tax_rate_bps", json!(-5))),
            "business.tax_rate_bps",
            "expected a whole number, 0 or more",
        ),
        (
            Box::new(|v| set(v, "/hours/1/close", json!("25:00"))),
            "hours[1].close",
            "\"25:00\" is not a time of day",
        ),
        (
            Box::new(|v| set(v, "/hours/0/days/2", json!("tuesday"))),
            "hours[0].days[2]",
            "unknown variant \"tuesday\"",
        ),
        (
            Box::new(|v| set(v, "/closures/0/date", json!("2026-02-30"))),
            "closures[0].date",
            "",
        ),
        (
            Box::new(|v| set(v, "/business/timezone", json!("America/Springfield"))),
            "business.timezone",
            "unknown IANA time zone",
        ),
        (
            Box::new(|v| remove(v, "/business", "timezone")),
            "business.timezone",
            "is required",
        ),
        (Box::new(|v| remove(v, "", "menu")), "menu", "is required"),
        (
            Box::new(|v| set(v, "/menu/rules/0/kind", json!("forbids"))),
            "menu.rules[0].kind",
            "unknown variant \"forbids\"",
        ),
        (
            Box::new(|v| set(v, "/menu/categories/0/items", json!({}))),
            "menu.categories[0].items",
            "expected a list",
        ),
        (
            Box::new(|v| set(v, "/fulfillment", json!([]))),
            "fulfillment",
            "expected an object",
        ),
        (
            Box::new(|v| set(v, "/business/phone_lines/0/e164", json!(3125550150_u64))),
            "business.phone_lines[0].e164",
            "invalid type",
        ),
    ];
    let mut failures = Vec::new();
    for (mutate, path, fragment) in cases {
        let e = structural(&tacos_with(|v| mutate(v)));
        if e.path != path || !e.message.contains(fragment) || e.message.contains('`') {
            failures.push(format!("got `{e}`, expected `{path}: …{fragment}…`"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn duplicate_keys_are_rejected() {
    let doc = TACOS.replacen(
        "\"name\": \"Night Owl Tacos\",",
        "\"name\": \"Night Owl Tacos\", \"name\": \"Day Owl\",",
        1,
    );
    let e = structural(&doc);
    assert_eq!(e.path, "business.name");
    assert!(e.message.contains("duplicate field \"name\""), "{e}");
}

#[test]
fn json_syntax_errors_say_where() {
    let e = structural("{\"format\": \"hostline.restaurant/v1\",\n  \"business\": }");
    assert_eq!(e.path, "business");
    assert!(e.message.contains("line 2"), "{e}");
    let e = structural(&format!("{TACOS} trailing"));
    assert_eq!(e.path, "");
    assert!(e.message.contains("not valid JSON"), "{e}");
    let e = structural("[]");
    assert_eq!(e.path, "");
}

/// Values a mutation may put anywhere in a document.
fn any_json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-5i64..3000).prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(vec![
            "",
            " ",
            "mon",
            "sun",
            "25:00",
            "24:00",
            "00:00",
            "11:30",
            "2026-12-25",
            "USD",
            "+14155550100",
            "(415) 555-0100",
            "corn",
            "salsa",
            "al-pastor",
            "tortilla",
            "requires",
            "unavailable_with",
            "America/Chicago",
            "Mars/Base",
            "60647",
            "Ünïcödé ☕",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        Just(json!([])),
        Just(json!({})),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(Value),
    RemoveKey,
    DuplicateElement,
    AddKey(String, Value),
}

fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => any_json_leaf().prop_map(Edit::Replace),
        2 => Just(Edit::RemoveKey),
        2 => Just(Edit::DuplicateElement),
        1 => ("[a-z_]{1,8}", any_json_leaf()).prop_map(|(k, v)| Edit::AddKey(k, v)),
    ]
}

/// Walk down `v` following `choices` (each picks a child), then apply `edit` there. The root
/// itself is never replaced, so every error must be about some field.
fn mutate(v: &mut Value, choices: &[usize], edit: &Edit) {
    let mut node = v;
    for (depth, &c) in choices.iter().enumerate() {
        let last = depth + 1 == choices.len();
        let len = match &*node {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let i = c % len;
        if last || depth > 0 && c % 5 == 0 {
            match (edit, node) {
                (Edit::RemoveKey, Value::Object(m)) => {
                    if let Some(k) = m.keys().nth(i).cloned() {
                        m.remove(&k);
                    }
                }
                (Edit::RemoveKey, Value::Array(a)) => {
                    a.remove(i);
                }
                (Edit::DuplicateElement, Value::Array(a)) => {
                    let copy = a[i].clone();
                    a.push(copy);
                }
                (Edit::AddKey(k, val), Value::Object(m)) => {
                    m.insert(k.clone(), val.clone());
                }
                (Edit::Replace(val), Value::Object(m)) => {
                    if let Some(slot) = m.values_mut().nth(i) {
                        *slot = val.clone();
                    }
                }
                (Edit::Replace(val), Value::Array(a)) => a[i] = val.clone(),
                _ => {}
            }
            return;
        }
        node = match node {
            Value::Object(m) => match m.values_mut().nth(i) {
                Some(child) => child,
                None => return,
            },
            Value::Array(a) => &mut a[i],
            _ => return,
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_documents_parse_or_name_a_path(
        which in 0usize..2,
        choices in prop::collection::vec(any::<usize>(), 1..7),
        edits in prop::collection::vec(any_edit(), 1..3),
    ) {
        let mut v = value([TACOS, CAFE][which]);
        for edit in &edits {
            mutate(&mut v, &choices, edit);
        }
        match Restaurant::parse(&v.to_string()) {
            Ok(r) => {
                // Whatever parses exports to a document that parses to the same value.
                let exported = serde_json::to_string(&r).expect("a restaurant serializes");
                let again = Restaurant::parse(&exported);
                prop_assert_eq!(again.as_ref(), Ok(&r));
            }
            Err(e) => {
                prop_assert!(!e.path.is_empty(), "empty path for {}", e);
                prop_assert!(!e.message.trim().is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = Restaurant::parse(&s);
    }

    #[test]
    fn random_hours_are_accepted_or_overlap(
        ranges in prop::collection::vec(
            (prop::collection::vec(0usize..7, 1..4), 0u16..1440, 0u16..=1440),
            0..5,
        ),
    ) {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let hours: Vec<Value> = ranges
            .iter()
            .map(|(days, open, close)| {
                let mut ds: Vec<&str> = days.iter().map(|&d| DAYS[d]).collect();
                ds.sort();
                ds.dedup();
                json!({
                    "days": ds,
                    "open": format!("{:02}:{:02}", open / 60, open % 60),
                    "close": format!("{:02}:{:02}", close / 60, close % 60),
                })
            })
            .collect();
        let doc = tacos_with(|v| set(v, "/hours", Value::Array(hours)));
        match Restaurant::parse(&doc) {
            Ok(r) => prop_assert_eq!(r.hours.len(), ranges.len()),
            Err(e) => {
                prop_assert!(e.path.starts_with("hours["), "{}", e);
                prop_assert!(e.message.starts_with("overlaps hours["), "{}", e);
            }
        }
    }
}
