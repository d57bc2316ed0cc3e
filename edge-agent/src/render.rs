//! Ticket → ESC/POS bytes, a pure function with no I/O. The layout (what goes on which line,
//! in which style) is shared with every printer path ([`hostline_shared::ticket_layout`]);
//! this module writes it for ESC/POS: `ESC @` and the code page, each row with its alignment,
//! emphasis, underline and size, an optional QR of the order number, feed and cut, and the
//! drawer kick on receipts.
//!
//! Alignment and cut only take effect at the start of a line, so every `ESC a` and `GS V` is
//! written right after a line feed (or `ESC @`). Text goes through [`CodePage::encode`], which
//! never emits a control byte, so a menu item cannot smuggle a printer command in.

use crate::codepage::CodePage;
use hostline_shared::printing::{JobKind, Ticket};
use hostline_shared::ticket_layout::{self, Align, Row};

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
        let n = match a {
            Align::Left => 0,
            Align::Center => 1,
        };
        self.cmd(&[ESC, b'a', n]);
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

    /// One row, switching style only where it changes from the row before.
    fn row(&mut self, row: &Row, before: Option<&Row>) {
        if before.is_none_or(|b| b.align != row.align) {
            self.align(row.align);
        }
        if before.is_none_or(|b| b.bold != row.bold) {
            self.bold(row.bold);
        }
        if before.is_none_or(|b| b.underline != row.underline) {
            self.underline(row.underline);
        }
        if before.is_none_or(|b| b.large != row.large) {
            let n = if row.large { 2 } else { 1 };
            self.size(n, n);
        }
        self.line(&row.text);
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
    let rows = ticket_layout::rows(ticket, kind, cols, reprint);
    let mut before: Option<&Row> = None;
    for row in &rows {
        out.row(row, before);
        before = Some(row);
    }
    // Back to plain text for what follows.
    out.bold(false);
    out.underline(false);
    out.size(1, 1);

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
