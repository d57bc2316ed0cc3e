//! The ticket's layout: what goes on the paper, line by line, with each line's style. One
//! layout for every printer path: the edge agent turns the rows into ESC/POS for its
//! printers; a Star CloudPRNT printer gets them as plain text from our server.
//!
//! Top to bottom: a REPRINT banner when the ticket may have printed before; the kind of
//! ticket; the order number, large; pickup or delivery (with the address); placed and wanted
//! times in the restaurant's time zone; the lines with quantities, their options indented and
//! their notes bold and underlined; totals on receipts. Large rows are wrapped to half the
//! width (they print double width).

use crate::money::Cents;
use crate::printing::{JobKind, Ticket, TicketFulfillment};

/// Where a row sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// One printed line and its style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub text: String,
    pub align: Align,
    pub bold: bool,
    pub underline: bool,
    /// Double width and height.
    pub large: bool,
}

/// The rows being laid out, with the style that applies to the next ones.
struct Rows {
    rows: Vec<Row>,
    align: Align,
    bold: bool,
    underline: bool,
    large: bool,
}

impl Rows {
    fn lines(&mut self, lines: Vec<String>) {
        for text in lines {
            self.rows.push(Row {
                text,
                align: self.align,
                bold: self.bold,
                underline: self.underline,
                large: self.large,
            });
        }
    }

    fn line(&mut self, text: &str) {
        self.lines(vec![text.to_owned()]);
    }
}

/// The rows of one ticket for paper `columns` wide (normal font). `reprint`: the REPRINT
/// count to show (`None`: a first print).
pub fn rows(ticket: &Ticket, kind: JobKind, columns: usize, reprint: Option<u32>) -> Vec<Row> {
    let cols = columns.max(16);
    let mut out = Rows {
        rows: Vec::new(),
        align: Align::Center,
        bold: false,
        underline: false,
        large: false,
    };
    if let Some(n) = reprint {
        out.bold = true;
        out.large = true;
        out.lines(wrap(&format!("** REPRINT {n} **"), cols / 2, 0, 0));
        out.large = false;
        out.bold = false;
    }
    out.line(match kind {
        JobKind::Kitchen => "KITCHEN",
        JobKind::Receipt => "RECEIPT",
    });
    out.large = true;
    out.lines(wrap(&format!("#{}", ticket.order_number), cols / 2, 0, 0));
    out.large = false;

    out.bold = true;
    match &ticket.fulfillment {
        TicketFulfillment::Pickup => out.line("PICKUP"),
        TicketFulfillment::Delivery { address, zone } => {
            out.line("DELIVERY");
            out.bold = false;
            out.lines(wrap(address, cols, 0, 0));
            if !zone.is_empty() {
                out.lines(wrap(&format!("Zone {zone}"), cols, 0, 0));
            }
        }
    }
    out.bold = false;
    out.line(&format!(
        "Placed {}",
        local_time(ticket.placed_at, &ticket.timezone, false)
    ));
    out.bold = kind == JobKind::Kitchen;
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
    out.bold = false;

    out.align = Align::Left;
    let rule = "-".repeat(cols);
    out.line(&rule);
    for line in &ticket.lines {
        let label = format!("{}x {}", line.quantity, line.name);
        out.bold = true;
        match kind {
            JobKind::Kitchen => out.lines(wrap(&label, cols, 0, 3)),
            JobKind::Receipt => out.lines(priced(&label, line.line_cents, cols, 0, 3)),
        }
        out.bold = false;
        for opt in &line.options {
            let text = format!("+ {}", opt.name);
            match kind {
                JobKind::Receipt if opt.price_cents.0 != 0 => {
                    out.lines(priced(&text, opt.price_cents, cols, 3, 5));
                }
                _ => out.lines(wrap(&text, cols, 3, 5)),
            }
        }
        if let Some(notes) = line
            .notes
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            out.bold = true;
            out.underline = true;
            out.lines(wrap(&format!("NOTE: {notes}"), cols, 3, 3));
            out.underline = false;
            out.bold = false;
        }
    }
    out.line(&rule);

    if kind == JobKind::Receipt {
        out.lines(priced("Subtotal", ticket.subtotal_cents, cols, 0, 0));
        out.lines(priced("Tax", ticket.tax_cents, cols, 0, 0));
        if ticket.delivery_fee_cents.0 != 0 {
            out.lines(priced("Delivery", ticket.delivery_fee_cents, cols, 0, 0));
        }
        out.bold = true;
        out.lines(priced("TOTAL", ticket.total_cents, cols, 0, 0));
        out.bold = false;
    }
    out.rows
}

/// The rows as plain text for a printer that takes `text/plain` in its normal font: centred
/// rows padded to `columns`, one line each (large rows print at normal size).
pub fn plain_text(rows: &[Row], columns: usize) -> String {
    let mut text = String::new();
    for r in rows {
        let line = match r.align {
            Align::Center => {
                let pad = columns.saturating_sub(r.text.chars().count()) / 2;
                format!("{}{}", " ".repeat(pad), r.text)
            }
            Align::Left => r.text.clone(),
        };
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
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
