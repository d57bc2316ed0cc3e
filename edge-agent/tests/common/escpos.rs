//! An ESC/POS decoder written from /work/shared/protocols/EDGE_PRINTING.md (A1), independent
//! of the agent's renderer: bytes → events, with text lines carrying the attributes in force
//! when they were printed. Any byte sequence it does not know is an error, so a stray command
//! (or a control byte inside text) fails the test instead of passing unseen.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub bold: bool,
    pub underline: bool,
    pub width: u8,
    pub height: u8,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Init,
    CodePage(u8),
    Line(Line),
    Feed(u8),
    Cut { partial: bool },
    Drawer { pin: u8 },
    Qr(String),
    StatusRequest(u8),
    PaperStatusRequest(u8),
}

/// The few high characters the tests use, per `ESC t` number (0 = CP437, 16 = CP1252,
/// 19 = CP858), from the code page charts.
fn high_char(page: u8, b: u8) -> char {
    match (page, b) {
        (0, 0x82) | (19, 0x82) | (16, 0xe9) => 'é',
        (0, 0x8a) | (19, 0x8a) | (16, 0xe8) => 'è',
        (0, 0x96) | (19, 0x96) | (16, 0xfb) => 'û',
        (19, 0xd5) | (16, 0x80) => '€',
        _ => '\u{fffd}',
    }
}

struct State {
    bold: bool,
    underline: bool,
    width: u8,
    height: u8,
    align: Align,
    page: u8,
    text: String,
    /// Attributes as of the line's first character.
    line_attrs: Option<(bool, bool, u8, u8, Align)>,
}

impl State {
    fn new() -> State {
        State {
            bold: false,
            underline: false,
            width: 1,
            height: 1,
            align: Align::Left,
            page: 0,
            text: String::new(),
            line_attrs: None,
        }
    }
    fn attrs(&self) -> (bool, bool, u8, u8, Align) {
        (
            self.bold,
            self.underline,
            self.width,
            self.height,
            self.align,
        )
    }
    fn at_line_start(&self) -> bool {
        self.text.is_empty()
    }
}

pub fn decode(bytes: &[u8]) -> Result<Vec<Event>, String> {
    let mut ev = Vec::new();
    let mut s = State::new();
    let mut i = 0;
    let need = |i: usize, n: usize| -> Result<(), String> {
        if i + n <= bytes.len() {
            Ok(())
        } else {
            Err(format!("truncated command at {i}"))
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x0a => {
                let (bold, underline, width, height, align) =
                    s.line_attrs.take().unwrap_or(s.attrs());
                ev.push(Event::Line(Line {
                    text: std::mem::take(&mut s.text),
                    bold,
                    underline,
                    width,
                    height,
                    align,
                }));
                i += 1;
            }
            0x1b => {
                need(i, 2)?;
                match bytes[i + 1] {
                    b'@' => {
                        s = State::new();
                        ev.push(Event::Init);
                        i += 2;
                    }
                    b'E' => {
                        need(i, 3)?;
                        s.bold = bytes[i + 2] & 1 == 1;
                        i += 3;
                    }
                    b'-' => {
                        need(i, 3)?;
                        s.underline = matches!(bytes[i + 2], 1 | 2 | 49 | 50);
                        i += 3;
                    }
                    b'!' => {
                        need(i, 3)?;
                        let n = bytes[i + 2];
                        s.bold = n & 0x08 != 0;
                        s.height = if n & 0x10 != 0 { 2 } else { 1 };
                        s.width = if n & 0x20 != 0 { 2 } else { 1 };
                        i += 3;
                    }
                    b'a' => {
                        need(i, 3)?;
                        if !s.at_line_start() {
                            return Err(format!("ESC a in the middle of a line at {i}"));
                        }
                        s.align = match bytes[i + 2] {
                            0 | 48 => Align::Left,
                            1 | 49 => Align::Center,
                            2 | 50 => Align::Right,
                            n => return Err(format!("ESC a {n}")),
                        };
                        i += 3;
                    }
                    b't' => {
                        need(i, 3)?;
                        s.page = bytes[i + 2];
                        ev.push(Event::CodePage(s.page));
                        i += 3;
                    }
                    b'd' => {
                        need(i, 3)?;
                        ev.push(Event::Feed(bytes[i + 2]));
                        i += 3;
                    }
                    b'p' => {
                        need(i, 5)?;
                        ev.push(Event::Drawer {
                            pin: if matches!(bytes[i + 2], 0 | 48) { 2 } else { 5 },
                        });
                        i += 5;
                    }
                    c => return Err(format!("unknown ESC {c:#04x} at {i}")),
                }
            }
            0x1d => {
                need(i, 2)?;
                match bytes[i + 1] {
                    b'!' => {
                        need(i, 3)?;
                        let n = bytes[i + 2];
                        s.height = (n & 0x0f) + 1;
                        s.width = (n >> 4) + 1;
                        i += 3;
                    }
                    b'V' => {
                        need(i, 3)?;
                        if !s.at_line_start() {
                            return Err(format!("GS V in the middle of a line at {i}"));
                        }
                        let m = bytes[i + 2];
                        let partial = matches!(m, 1 | 49 | 66);
                        ev.push(Event::Cut { partial });
                        i += if m == 65 || m == 66 { 4 } else { 3 };
                    }
                    b'r' => {
                        need(i, 3)?;
                        ev.push(Event::PaperStatusRequest(bytes[i + 2]));
                        i += 3;
                    }
                    b'(' => {
                        need(i, 5)?;
                        if bytes[i + 2] != b'k' {
                            return Err(format!("unknown GS ( {:#04x}", bytes[i + 2]));
                        }
                        let len = usize::from(bytes[i + 3]) + 256 * usize::from(bytes[i + 4]);
                        need(i, 5 + len)?;
                        let body = &bytes[i + 5..i + 5 + len];
                        // fn180 store: 31 50 30 data…
                        if body.len() >= 3 && body[0] == 0x31 && body[1] == 0x50 && body[2] == 0x30
                        {
                            ev.push(Event::Qr(String::from_utf8_lossy(&body[3..]).into_owned()));
                        }
                        i += 5 + len;
                    }
                    c => return Err(format!("unknown GS {c:#04x} at {i}")),
                }
            }
            0x10 => {
                need(i, 3)?;
                if bytes[i + 1] != 0x04 {
                    return Err(format!("unknown DLE sequence at {i}"));
                }
                ev.push(Event::StatusRequest(bytes[i + 2]));
                i += 3;
            }
            0x20..=0x7e => {
                if s.text.is_empty() {
                    s.line_attrs = Some(s.attrs());
                }
                s.text.push(b as char);
                i += 1;
            }
            0x80..=0xff => {
                if s.text.is_empty() {
                    s.line_attrs = Some(s.attrs());
                }
                s.text.push(high_char(s.page, b));
                i += 1;
            }
            c => return Err(format!("control byte {c:#04x} at {i}")),
        }
    }
    if !s.text.is_empty() {
        return Err(format!("text not ended by a line feed: {:?}", s.text));
    }
    Ok(ev)
}

/// The printed lines only.
pub fn lines(events: &[Event]) -> Vec<Line> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

/// The text of every printed line.
pub fn texts(bytes: &[u8]) -> Vec<String> {
    lines(&decode(bytes).expect("decodable ESC/POS"))
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// The first line of a ticket that says REPRINT, if any.
pub fn reprint_banner(bytes: &[u8]) -> Option<String> {
    texts(bytes).into_iter().find(|t| t.contains("REPRINT"))
}
