//! Ticket → ESC/POS bytes: our own layout, a pure function with no I/O.
//!
//! Layout, top to bottom: `ESC @` and the code page; a REPRINT banner when the ticket may have
//! printed before; the kind of ticket; the order number double size and centred; pickup or
//! delivery (with the address); placed and wanted times in the restaurant's time zone; the
//! lines with quantities, their options indented and their notes bold and underlined; totals
//! on receipts; an optional QR of the order number; feed and cut; the drawer kick on receipts.
//!
//! Alignment and cut only take effect at the start of a line, so every `ESC a` and `GS V` is
//! written right after a line feed (or `ESC @`). Text goes through [`CodePage::encode`], which
//! never emits a control byte, so a menu item cannot smuggle a printer command in.

use crate::codepage::CodePage;
use hostline_shared::money::Cents;
use hostline_shared::printing::{JobKind, Ticket, TicketFulfillment};

/// How one printer wants its tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Characters per line in the normal font (32 on 58 mm paper, 48 on 80 mm).
    pub columns: usize,
    pub code_page: CodePage,
    pub cutter: bool,
    pub drawer: bool,
    pub qr: bool,
}

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const LF: u8 = 0x0a;

#[derive(Clone, Copy)]
enum Align {
    Left = 0,
    Center = 1,
}

/// The byte stream being written; always at the start of a line between calls.
struct Out {
    bytes: Vec<u8>,
    page: CodePage,
}

impl Out {
    fn cmd(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    fn align(&mut self, a: Align) {
        self.cmd(&[ESC, b'a', a as u8]);
    }

    fn bold(&mut self, on: bool) {
        self.cmd(&[ESC, b'E', u8::from(on)]);
    }

    fn underline(&mut self, on: bool) {
        self.cmd(&[ESC, b'-', u8::from(on)]);
    }

    /// Width and height multipliers, 1 or 2.
    fn size(&mut self, w: u8, h: u8) {
        let n = ((w.clamp(1, 8) - 1) << 4) | (h.clamp(1, 8) - 1);
        self.cmd(&[GS, b'!', n]);
    }

    fn line(&mut self, text: &str) {
        let encoded = self.page.encode(text);
        self.bytes.extend_from_slice(&encoded);
        self.bytes.push(LF);
    }

    fn lines(&mut self, lines: &[String]) {
        for l in lines {
            self.line(l);
        }
    }
}

/// The bytes of one ticket. `reprint`: the REPRINT count to show (`None`: a first print).
pub fn render(ticket: &Ticket, kind: JobKind, layout: &Layout, reprint: Option<u32>) -> Vec<u8> {
    let cols = layout.columns.max(16);
    let mut out = Out {
        bytes: Vec::with_capacity(1024),
        page: layout.code_page,
    };
    out.cmd(&[ESC, b'@']);
    out.cmd(&[ESC, b't', layout.code_page.escpos_number()]);

    out.align(Align::Center);
    if let Some(n) = reprint {
        out.bold(true);
        out.size(2, 2);
        out.lines(&wrap(&format!("** REPRINT {n} **"), cols / 2, 0, 0));
        out.size(1, 1);
        out.bold(false);
    }
    out.line(match kind {
        JobKind::Kitchen => "KITCHEN",
        JobKind::Receipt => "RECEIPT",
    });
    out.size(2, 2);
    out.lines(&wrap(&format!("#{}", ticket.order_number), cols / 2, 0, 0));
    out.size(1, 1);

    out.bold(true);
    match &ticket.fulfillment {
        TicketFulfillment::Pickup => out.line("PICKUP"),
        TicketFulfillment::Delivery { address, zone } => {
            out.line("DELIVERY");
            out.bold(false);
            out.lines(&wrap(address, cols, 0, 0));
            if !zone.is_empty() {
                out.lines(&wrap(&format!("Zone {zone}"), cols, 0, 0));
            }
        }
    }
    out.bold(false);
    out.line(&format!(
        "Placed {}",
        local_time(ticket.placed_at, &ticket.timezone, false)
    ));
    out.bold(kind == JobKind::Kitchen);
    match ticket.wanted_at {
        Some(at) => {
            let same_day =
                local_day(at, &ticket.timezone) == local_day(ticket.placed_at, &ticket.timezone);
            out.line(&format!(
                "Wanted {}",
                local_time(at, &ticket.timezone, !same_day)
            ));
        }
        None => out.line("Wanted ASAP"),
    }
    out.bold(false);

    out.align(Align::Left);
    let rule = "-".repeat(cols);
    out.line(&rule);
    for line in &ticket.lines {
        let label = format!("{}x {}", line.quantity, line.name);
        out.bold(true);
        match kind {
            JobKind::Kitchen => out.lines(&wrap(&label, cols, 0, 3)),
            JobKind::Receipt => out.lines(&priced(&label, line.line_cents, cols, 0, 3)),
        }
        out.bold(false);
        for opt in &line.options {
            let text = format!("+ {}", opt.name);
            match kind {
                JobKind::Receipt if opt.price_cents.0 != 0 => {
                    out.lines(&priced(&text, opt.price_cents, cols, 3, 5));
                }
                _ => out.lines(&wrap(&text, cols, 3, 5)),
            }
        }
        if let Some(notes) = line
            .notes
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            out.bold(true);
            out.underline(true);
            out.lines(&wrap(&format!("NOTE: {notes}"), cols, 3, 3));
            out.underline(false);
            out.bold(false);
        }
    }
    out.line(&rule);

    if kind == JobKind::Receipt {
        out.lines(&priced("Subtotal", ticket.subtotal_cents, cols, 0, 0));
        out.lines(&priced("Tax", ticket.tax_cents, cols, 0, 0));
        if ticket.delivery_fee_cents.0 != 0 {
            out.lines(&priced("Delivery", ticket.delivery_fee_cents, cols, 0, 0));
        }
        out.bold(true);
        out.lines(&priced("TOTAL", ticket.total_cents, cols, 0, 0));
        out.bold(false);
    }

    if layout.qr {
        out.align(Align::Center);
        qr(&mut out, ticket.order_number.as_bytes());
        out.line("");
        out.align(Align::Left);
    }

    // Feed past the cutter blade, then cut (partial: the ticket stays on the printer until
    // someone takes it).
    out.cmd(&[ESC, b'd', 4]);
    if layout.cutter {
        out.cmd(&[GS, b'V', 1]);
    }
    if layout.drawer && kind == JobKind::Receipt {
        // Pin 2, 50 ms on, 500 ms off.
        out.cmd(&[ESC, b'p', 0, 25, 250]);
    }
    out.bytes
}

/// QR model 2 of `data` (printable ASCII only), module size 6, error correction M.
fn qr(out: &mut Out, data: &[u8]) {
    let data: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| (0x20..0x7f).contains(b))
        .collect();
    let len = data.len() + 3;
    let (pl, ph) = ((len % 256) as u8, (len / 256) as u8);
    out.cmd(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0]);
    out.cmd(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, 6]);
    out.cmd(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, 0x31]);
    out.cmd(&[GS, b'(', b'k', pl, ph, 0x31, 0x50, 0x30]);
    out.cmd(&data);
    out.cmd(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
}

fn zoned(at: jiff::Timestamp, tz: &str) -> jiff::Zoned {
    at.in_tz(tz)
        .unwrap_or_else(|_| at.to_zoned(jiff::tz::TimeZone::UTC))
}

fn local_day(at: jiff::Timestamp, tz: &str) -> jiff::civil::Date {
    zoned(at, tz).date()
}

/// "6:05 PM", or "Tue Dec 8 6:05 PM" with the date.
fn local_time(at: jiff::Timestamp, tz: &str, with_date: bool) -> String {
    let z = zoned(at, tz);
    if with_date {
        z.strftime("%a %b %-d %-I:%M %p").to_string()
    } else {
        z.strftime("%-I:%M %p").to_string()
    }
}

/// `label` with `price` right-aligned on its first line; the label wraps with `indent` on the
/// first line and `hang` after.
fn priced(label: &str, price: Cents, cols: usize, indent: usize, hang: usize) -> Vec<String> {
    let price = price.to_string();
    let room = cols.saturating_sub(price.chars().count() + 1).max(8);
    let mut lines = wrap(label, room, indent, hang);
    if let Some(first) = lines.first_mut() {
        let pad = cols.saturating_sub(first.chars().count() + price.chars().count());
        first.push_str(&" ".repeat(pad.max(1)));
        first.push_str(&price);
    }
    lines
}

/// Word-wrap `text` to `width` characters: `indent` spaces before the first line, `hang` before
/// the others; a word longer than a line is split.
pub fn wrap(text: &str, width: usize, indent: usize, hang: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = " ".repeat(indent);
    let mut used = indent;
    let mut empty = true;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let sep = usize::from(!empty);
            if used + sep + word.len() <= width {
                if !empty {
                    current.push(' ');
                }
                current.extend(word.iter());
                used += sep + word.len();
                empty = false;
                break;
            }
            if !empty {
                lines.push(std::mem::take(&mut current));
                current = " ".repeat(hang);
                used = hang;
                empty = true;
                continue;
            }
            // A word longer than a whole line: split it.
            let room = width.saturating_sub(used).max(1);
            let rest = word.split_off(room.min(word.len()));
            current.extend(word.iter());
            lines.push(std::mem::take(&mut current));
            current = " ".repeat(hang);
            used = hang;
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !empty || lines.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_on_words_with_hanging_indent() {
        assert_eq!(
            wrap("2x Spicy chicken sandwich with fries", 16, 0, 3),
            ["2x Spicy chicken", "   sandwich with", "   fries"]
        );
        assert_eq!(wrap("abcdefghij", 4, 0, 0), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10, 0, 0), [""]);
        for l in wrap("Supercalifragilistic expialidocious x", 8, 3, 3) {
            assert!(l.chars().count() <= 8, "{l:?}");
        }
    }
}
