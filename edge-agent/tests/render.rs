//! The renderer's output, read back through the independent decoder in `common/escpos.rs`.

mod common;

use common::escpos::{Align, Event, decode, lines};
use edge_agent::codepage::CodePage;
use edge_agent::render::{Layout, render};
use hostline_shared::printing::{JobKind, Ticket};

fn ticket() -> Ticket {
    let mut t: serde_json::Value = common::ticket("A17");
    t["lines"][0]["notes"] = "no onions, sauce on the side please".into();
    t["lines"][1]["name"] = "Crème brûlée with a very long name that must wrap".into();
    serde_json::from_value(t).unwrap()
}

fn layout(columns: usize) -> Layout {
    Layout {
        columns,
        code_page: CodePage::Cp437,
        cutter: true,
        drawer: false,
        qr: false,
    }
}

#[test]
fn the_decoder_reads_a_reference_stream_from_the_protocol_notes() {
    // Hand-assembled from EDGE_PRINTING.md A1 (python-escpos-like), not from our renderer.
    let mut b = vec![
        0x1b, 0x40, 0x1b, 0x74, 0x00, 0x1b, 0x61, 0x01, 0x1b, 0x21, 0x30,
    ];
    b.extend_from_slice(b"BIG\n");
    b.extend_from_slice(&[0x1b, 0x21, 0x00, 0x1b, 0x61, 0x00, 0x1b, 0x45, 0x01]);
    b.extend_from_slice(b"bold\n");
    b.extend_from_slice(&[
        0x1b, 0x70, 0x00, 0x32, 0x32, 0x1b, 0x64, 0x06, 0x1d, 0x56, 0x00,
    ]);
    let ev = decode(&b).unwrap();
    let l = lines(&ev);
    assert_eq!(
        (l[0].text.as_str(), l[0].width, l[0].height, l[0].align),
        ("BIG", 2, 2, Align::Center)
    );
    assert!(l[1].bold && l[1].align == Align::Left);
    assert!(ev.contains(&Event::Drawer { pin: 2 }));
    assert_eq!(ev.last(), Some(&Event::Cut { partial: false }));
    // A control byte inside text is refused.
    assert!(decode(b"ab\x07c\n").is_err());
}

#[test]
fn a_kitchen_ticket_has_a_big_centred_number_indented_options_and_highlighted_notes() {
    let bytes = render(&ticket(), JobKind::Kitchen, &layout(48), None);
    let ev = decode(&bytes).unwrap();
    assert_eq!(ev[0], Event::Init);
    assert_eq!(ev[1], Event::CodePage(0));
    let l = lines(&ev);
    let number = l.iter().find(|l| l.text == "#A17").expect("order number");
    assert_eq!(
        (number.width, number.height, number.align),
        (2, 2, Align::Center)
    );
    assert!(l.iter().any(|l| l.text == "KITCHEN"));
    assert!(l.iter().any(|l| l.text == "PICKUP" && l.bold));
    // 18:30 UTC is 1:30 PM in New York.
    assert!(l.iter().any(|l| l.text == "Placed 1:30 PM"), "{l:#?}");
    assert!(l.iter().any(|l| l.text == "Wanted ASAP" && l.bold));
    let burger = l
        .iter()
        .position(|l| l.text == "2x Cheeseburger")
        .expect("line");
    assert!(l[burger].bold && l[burger].align == Align::Left);
    assert_eq!(l[burger + 1].text, "   + Extra cheese");
    assert!(!l[burger + 1].bold);
    let note = &l[burger + 2];
    assert!(
        note.text.starts_with("   NOTE: no onions") && note.bold && note.underline,
        "{note:?}"
    );
    assert!(l.iter().any(|l| l.text.starts_with("1x Crème brûlée")));
    assert!(
        !l.iter()
            .any(|l| l.text.contains("TOTAL") || l.text.contains('$'))
    );
    assert!(!l.iter().any(|l| l.text.contains("REPRINT")));
    for line in &l {
        assert!(
            line.text.chars().count() * usize::from(line.width) <= 48,
            "{line:?}"
        );
    }
    assert_eq!(ev.last(), Some(&Event::Cut { partial: true }));
}

#[test]
fn a_receipt_has_prices_right_aligned_totals_a_qr_and_opens_the_drawer() {
    let mut lay = layout(32);
    lay.drawer = true;
    lay.qr = true;
    let bytes = render(&ticket(), JobKind::Receipt, &lay, None);
    let ev = decode(&bytes).unwrap();
    let l = lines(&ev);
    let burger = l
        .iter()
        .find(|l| l.text.starts_with("2x Cheeseburger"))
        .unwrap();
    assert!(
        burger.text.ends_with("$23.00") && burger.text.chars().count() == 32,
        "{burger:?}"
    );
    assert!(
        l.iter()
            .any(|l| l.text.starts_with("   + Extra cheese") && l.text.ends_with("$1.50"))
    );
    let total = l.iter().find(|l| l.text.starts_with("TOTAL")).unwrap();
    assert!(total.bold && total.text.ends_with("$29.40"));
    assert!(
        l.iter()
            .any(|l| l.text.starts_with("Tax") && l.text.ends_with("$2.40"))
    );
    assert!(!l.iter().any(|l| l.text.starts_with("Delivery")));
    assert!(ev.contains(&Event::Qr("A17".into())));
    assert!(ev.contains(&Event::Drawer { pin: 2 }));
    for line in &l {
        assert!(
            line.text.chars().count() * usize::from(line.width) <= 32,
            "{line:?}"
        );
    }
    // The long name wrapped with a hanging indent.
    let i = l
        .iter()
        .position(|l| l.text.starts_with("1x Crème"))
        .unwrap();
    assert!(l[i + 1].text.starts_with("   "), "{:?}", &l[i..i + 2]);
}

#[test]
fn a_reprint_says_so_first_in_big_letters() {
    let bytes = render(&ticket(), JobKind::Kitchen, &layout(48), Some(2));
    let l = lines(&decode(&bytes).unwrap());
    assert_eq!(l[0].text, "** REPRINT 2 **");
    assert!(l[0].bold && l[0].width == 2 && l[0].height == 2 && l[0].align == Align::Center);
}

#[test]
fn text_is_transcoded_to_the_printers_code_page_with_a_visible_fallback() {
    let mut t = ticket();
    t.lines[1].name = "Café € 寿司".into();
    for (page, n, expected) in [
        (CodePage::Cp437, 0, "1x Café ? ??"),
        (CodePage::Cp858, 19, "1x Café € ??"),
        (CodePage::Cp1252, 16, "1x Café € ??"),
    ] {
        let mut lay = layout(48);
        lay.code_page = page;
        let ev = decode(&render(&t, JobKind::Kitchen, &lay, None)).unwrap();
        assert!(ev.contains(&Event::CodePage(n)), "{page:?}");
        assert!(
            lines(&ev).iter().any(|l| l.text == expected),
            "{page:?}: {:#?}",
            lines(&ev)
        );
    }
}

#[test]
fn delivery_tickets_show_the_address_and_a_later_day() {
    let mut t = ticket();
    t.fulfillment = hostline_shared::printing::TicketFulfillment::Delivery {
        address: "12 Long Street, Apartment 4B, Springfield".into(),
        zone: "10001".into(),
    };
    t.wanted_at = Some("2026-12-08T17:00:00Z".parse().unwrap());
    let l = lines(&decode(&render(&t, JobKind::Kitchen, &layout(32), None)).unwrap());
    assert!(l.iter().any(|l| l.text == "DELIVERY" && l.bold));
    assert!(l.iter().any(|l| l.text.starts_with("12 Long Street")));
    assert!(l.iter().any(|l| l.text == "Zone 10001"));
    assert!(
        l.iter().any(|l| l.text == "Wanted Tue Dec 8 12:00 PM"),
        "{l:#?}"
    );
}
