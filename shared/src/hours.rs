//! Opening hours in the restaurant's own time zone: open now, closes at, opens next, a day's
//! hours and the week, plus the single-line sentences a voice agent speaks about them. Time is
//! always passed in (`now`); nothing here reads a clock.
//!
//! Rules (the document side is checked in `restaurant/parse.rs`):
//! - A *service* is one hours range on one local date: it opens at `open` on that date and
//!   closes at `close`, on the same date when `close` is later than `open`, else on the next
//!   date (overnight). `open == close` is open 24 hours from `open`; `24:00` closes at midnight.
//! - Closures apply to services that **start** on the closure date. An overnight service that
//!   started the evening before still runs into the closure date's early morning (Christmas Eve
//!   11 AM to 1 AM stays open until 1 AM on Christmas Day); one starting on the closure date does
//!   not happen at all, its after-midnight part included.
//! - Wall-clock times become instants with jiff's `Disambiguation::Compatible`, chosen
//!   explicitly: a time skipped by a spring-forward gap (02:30) resolves forward (03:30), a time
//!   repeated by a fall-back fold (01:30) resolves to the earlier offset (the first 01:30). A
//!   service the gap leaves without time (02:30 to 03:00 becomes 03:30 to 03:00) is skipped.
//! - Services that touch or overlap (Friday 11 AM to midnight and Saturday 00:00 to 2 AM, or a
//!   24-hour business) form one stretch: "closes at" is the end of the stretch.
//! - "Opens next" looks [`SEARCH_DAYS`] days ahead, skipping closures; a stretch still open
//!   beyond that horizon is reported as open around the clock (`closes_at: None`).
//!
//! Public API: [`open_state`] → [`OpenState`]; [`day_hours`] → [`DayHours`] (that date's
//! intervals, including the previous evening's spill-over, or the closure); [`week_summary`]
//! (the regular week as written); speech: [`spoken_time`], [`describe_open_state`],
//! [`describe_now`], [`describe_day`], [`describe_week`]. `OpenState::Open::closes_at` is an
//! `Option` because a business open around the clock has no closing time to give; the
//! sentences take `now` as a [`Timestamp`] and read the zone from the state's own values.

use crate::restaurant::{ClockTime, Closure, Day, Restaurant};
use jiff::civil::{Date, Weekday};
use jiff::tz::{Disambiguation, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// How many days ahead "opens next" (and "closes at") looks.
pub const SEARCH_DAYS: i64 = 14;

/// Whether the restaurant is open at an instant, and what happens next.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenState {
    Open {
        /// When the current stretch of opening ends; `None` when it does not end within
        /// [`SEARCH_DAYS`] days (open around the clock).
        closes_at: Option<Zoned>,
        /// The first opening after `closes_at`, within [`SEARCH_DAYS`] days of now.
        next_opening_after_close: Option<Zoned>,
    },
    Closed {
        /// The next opening within [`SEARCH_DAYS`] days; `None` if there is none (or no hours).
        opens_at: Option<Zoned>,
        /// The closure's reason when today (local date) is a closure date with a reason.
        reason: Option<String>,
    },
}

impl OpenState {
    pub fn is_open(&self) -> bool {
        matches!(self, OpenState::Open { .. })
    }
}

/// What a local date's hours are.
#[derive(Debug, Clone, PartialEq)]
pub struct DayHours {
    pub date: Date,
    pub day: Day,
    /// Set when the date is a closure date: no service starts that day.
    pub closure: Option<Closure>,
    /// The times the restaurant is open on this date, in order: first the early-morning part of
    /// the previous day's overnight service (if any), then the services starting this date
    /// (whose `closes_at` may be on the next date).
    pub intervals: Vec<OpenInterval>,
}

impl DayHours {
    /// The services that start on this date (no spill-over from the day before).
    pub fn services(&self) -> impl Iterator<Item = &OpenInterval> {
        self.intervals.iter().filter(|i| !i.spill_over)
    }
}

/// One stretch of opening on a date.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenInterval {
    /// Opening time as written in the hours; 00:00 for a spill-over.
    pub open: ClockTime,
    /// Closing time as written (at or before `open` means the next day).
    pub close: ClockTime,
    /// The instant it opens (DST resolved); the start of the date for a spill-over.
    pub opens_at: Zoned,
    /// The instant it closes (DST resolved).
    pub closes_at: Zoned,
    /// True for the after-midnight part of the previous date's overnight service.
    pub spill_over: bool,
}

impl OpenInterval {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.opens_at.timestamp() <= t && t < self.closes_at.timestamp()
    }
}

/// One hours range on one local date, as instants.
#[derive(Debug, Clone)]
struct Service {
    date: Date,
    open: ClockTime,
    close: ClockTime,
    start: Zoned,
    end: Zoned,
}

/// The instant of a wall-clock time `minutes` (0..=2880) after the start of `date`; minutes past
/// 1440 fall on the next date. See the module doc for the DST choice.
fn resolve(tz: &TimeZone, date: Date, minutes: u32) -> Option<Zoned> {
    let date = if minutes >= 1440 {
        date.tomorrow().ok()?
    } else {
        date
    };
    let m = minutes % 1440;
    let hour = i8::try_from(m / 60).ok()?;
    let minute = i8::try_from(m % 60).ok()?;
    tz.to_ambiguous_zoned(date.at(hour, minute, 0, 0))
        .disambiguate(Disambiguation::Compatible)
        .ok()
}

fn closure_on(r: &Restaurant, date: Date) -> Option<&Closure> {
    r.closures.iter().find(|c| c.date == date)
}

/// The services starting on `date`, in order of opening; none on a closure date.
fn services_on(r: &Restaurant, tz: &TimeZone, date: Date) -> Vec<Service> {
    if closure_on(r, date).is_some() {
        return Vec::new();
    }
    let day = Day::from_jiff(date.weekday());
    let mut out: Vec<Service> = r
        .hours
        .iter()
        .filter(|h| h.days.contains(&day) && h.open.minutes < 1440)
        .filter_map(|h| {
            let open = u32::from(h.open.minutes);
            let start = resolve(tz, date, open)?;
            let end = resolve(tz, date, open + u32::from(h.length_minutes()))?;
            // A spring-forward gap can swallow a short service whole.
            (end.timestamp() > start.timestamp()).then_some(Service {
                date,
                open: h.open,
                close: h.close,
                start,
                end,
            })
        })
        .collect();
    out.sort_by_key(|s| s.start.timestamp());
    out
}

/// Services starting on `first` through `last` (inclusive), ordered by opening instant.
fn services_between(r: &Restaurant, tz: &TimeZone, first: Date, last: Date) -> Vec<Service> {
    let mut out = Vec::new();
    let mut date = first;
    while date <= last {
        out.extend(services_on(r, tz, date));
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    out.sort_by_key(|s| s.start.timestamp());
    out
}

fn add_days(date: Date, n: i64) -> Date {
    date.checked_add(n.days()).unwrap_or(date)
}

/// Open or closed at `now`, in the restaurant's time zone (`business.timezone`).
pub fn open_state(r: &Restaurant, now: Timestamp) -> OpenState {
    let tz = r.business.timezone.tz();
    let today = now.to_zoned(tz.clone()).date();
    let last_opening_date = add_days(today, SEARCH_DAYS);
    // One extra day so a stretch running past the horizon is seen to do so.
    let services = services_between(r, tz, add_days(today, -1), add_days(today, SEARCH_DAYS + 1));
    let first_start_after = |t: Timestamp| {
        services
            .iter()
            .find(|s| s.start.timestamp() > t && s.date <= last_opening_date)
            .map(|s| s.start.clone())
    };

    let current = services
        .iter()
        .filter(|s| s.start.timestamp() <= now && now < s.end.timestamp())
        .max_by_key(|s| s.end.timestamp());
    let Some(current) = current else {
        return OpenState::Closed {
            opens_at: first_start_after(now),
            reason: closure_on(r, today).and_then(|c| c.reason.clone()),
        };
    };
    // Follow touching or overlapping services to the end of the stretch (sorted by start, so
    // the first one starting after the stretch ends stops it).
    let mut end = current.end.clone();
    for s in &services {
        if s.start.timestamp() > end.timestamp() {
            break;
        }
        if s.end.timestamp() > end.timestamp() {
            end = s.end.clone();
        }
    }
    let horizon = now
        .checked_add(SignedDuration::from_hours(24 * SEARCH_DAYS))
        .unwrap_or(Timestamp::MAX);
    if end.timestamp() > horizon {
        return OpenState::Open {
            closes_at: None,
            next_opening_after_close: None,
        };
    }
    OpenState::Open {
        next_opening_after_close: first_start_after(end.timestamp()),
        closes_at: Some(end),
    }
}

/// The hours of a local date: the previous evening's spill-over and the services starting on
/// the date (none on a closure date).
pub fn day_hours(r: &Restaurant, date: Date) -> DayHours {
    let tz = r.business.timezone.tz();
    let mut intervals = Vec::new();
    let day_start = date.to_zoned(tz.clone()).ok();
    if let (Ok(prev), Some(day_start)) = (date.yesterday(), &day_start) {
        for s in services_on(r, tz, prev) {
            if s.end.timestamp() > day_start.timestamp() {
                intervals.push(OpenInterval {
                    open: ClockTime::MIDNIGHT,
                    close: s.close,
                    opens_at: day_start.clone(),
                    closes_at: s.end,
                    spill_over: true,
                });
            }
        }
    }
    intervals.extend(services_on(r, tz, date).into_iter().map(|s| OpenInterval {
        open: s.open,
        close: s.close,
        opens_at: s.start,
        closes_at: s.end,
        spill_over: false,
    }));
    intervals.sort_by_key(|i| i.opens_at.timestamp());
    DayHours {
        date,
        day: Day::from_jiff(date.weekday()),
        closure: closure_on(r, date).cloned(),
        intervals,
    }
}

/// A day's ranges as written: (open, close), a close at or before the open running past
/// midnight.
pub type DaySchedule = Vec<(ClockTime, ClockTime)>;

/// The regular week as written (closures ignored): Monday to Sunday, each with its ranges'
/// (open, close) in order of opening; a close at or before the open runs past midnight. A day
/// with no hours has an empty list.
pub fn week_summary(r: &Restaurant) -> Vec<(Day, DaySchedule)> {
    Day::ALL
        .iter()
        .map(|&day| {
            let mut ranges: Vec<(ClockTime, ClockTime)> = r
                .hours
                .iter()
                .filter(|h| h.days.contains(&day))
                .map(|h| (h.open, h.close))
                .collect();
            ranges.sort();
            (day, ranges)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Speech. Every sentence is one line, no markdown, written to be read aloud.

/// "10 AM", "10:30 PM", "noon", "midnight" (00:00 and 24:00), "12:30 AM".
pub fn spoken_time(t: ClockTime) -> String {
    let minutes = t.minutes % 1440;
    match minutes {
        0 => return "midnight".to_owned(),
        720 => return "noon".to_owned(),
        _ => {}
    }
    let (h, m) = (minutes / 60, minutes % 60);
    let suffix = if h < 12 { "AM" } else { "PM" };
    let h12 = match h % 12 {
        0 => 12,
        h => h,
    };
    if m == 0 {
        format!("{h12} {suffix}")
    } else {
        format!("{h12}:{m:02} {suffix}")
    }
}

/// A local time said aloud ("6:30 PM", "noon").
pub fn spoken_clock(z: &Zoned) -> String {
    spoken_time(clock_of(z))
}

/// An instant as said to a caller who is speaking at `now`: "6:30 PM" today, "12 PM
/// tomorrow", "6 PM on Saturday, December 12" further out, in time zone `tz`.
pub fn spoken_when(at: jiff::Timestamp, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let z = at.to_zoned(tz.clone());
    let today = now.to_zoned(tz.clone()).date();
    let clock = spoken_clock(&z);
    match today.until(z.date()).map(|s| s.get_days()).unwrap_or(-1) {
        0 => clock,
        1 => format!("{clock} tomorrow"),
        _ => format!(
            "{clock} on {}, {}",
            weekday_name(z.date().weekday()),
            spoken_date(z.date())
        ),
    }
}

fn clock_of(z: &Zoned) -> ClockTime {
    let minutes = i32::from(z.hour()) * 60 + i32::from(z.minute());
    ClockTime {
        minutes: u16::try_from(minutes).unwrap_or(0),
    }
}

fn month_name(month: i8) -> &'static str {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    usize::try_from(month - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("")
}

fn weekday_name(w: Weekday) -> &'static str {
    Day::from_jiff(w).name()
}

/// "December 27".
pub fn spoken_date(d: Date) -> String {
    format!("{} {}", month_name(d.month()), d.day())
}

/// How a person names `target` seen from `today`: "today", "tomorrow", a weekday within the
/// next six days, "on December 27" beyond.
fn spoken_day_from(today: Date, target: Date) -> String {
    let days = today.until(target).map(|s| s.get_days()).unwrap_or(-1);
    match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        2..=6 => weekday_name(target.weekday()).to_owned(),
        _ => format!("on {}", spoken_date(target)),
    }
}

/// "at 10 AM", "at noon".
fn at_time(z: &Zoned) -> String {
    format!("at {}", spoken_time(clock_of(z)))
}

/// A closure reason as it reads after "closed today for": trimmed, one line, without a
/// repeated "closed for" or a final period.
fn reason_phrase(reason: &str) -> String {
    let r = crate::speech::single_line(reason);
    let r = r.trim().trim_end_matches('.').trim();
    let lower = r.to_ascii_lowercase();
    let r = ["closed for ", "closed "]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| &r[p.len()..]))
        .unwrap_or(r);
    let r = r.trim();
    // "Closed" alone says nothing the sentence does not already say.
    if r.eq_ignore_ascii_case("closed") {
        return String::new();
    }
    r.to_owned()
}

/// One spoken line for a state computed at `now`: "We're open now until 9 PM.", "We're closed
/// right now; we open tomorrow at 10 AM.", "We're closed today for Christmas Day; we open
/// Friday at 10 AM."
pub fn describe_open_state(state: &OpenState, now: Timestamp) -> String {
    match state {
        OpenState::Open {
            closes_at: None, ..
        } => "We're open now, around the clock.".to_owned(),
        OpenState::Open {
            closes_at: Some(close),
            ..
        } => {
            let today = now.to_zoned(close.time_zone().clone()).date();
            let close_date = close.date();
            // "until 1 AM" at 11 PM needs no day: closing in the small hours after today is
            // still "tonight" to a caller.
            let tonight = close_date == today
                || (today.tomorrow().ok() == Some(close_date) && close.hour() < 6);
            if tonight {
                format!("We're open now until {}.", spoken_time(clock_of(close)))
            } else {
                format!(
                    "We're open now until {} {}.",
                    spoken_day_from(today, close_date),
                    at_time(close)
                )
            }
        }
        OpenState::Closed { opens_at, reason } => {
            let lead = match reason.as_deref().map(reason_phrase) {
                Some(r) if !r.is_empty() => format!("We're closed today for {r}"),
                _ => "We're closed right now".to_owned(),
            };
            match opens_at {
                Some(open) => {
                    let today = now.to_zoned(open.time_zone().clone()).date();
                    format!(
                        "{lead}; we open {} {}.",
                        spoken_day_from(today, open.date()),
                        at_time(open)
                    )
                }
                None => format!("{lead}, and we don't have opening hours in the next two weeks."),
            }
        }
    }
}

/// [`describe_open_state`] of [`open_state`] at `now`.
pub fn describe_now(r: &Restaurant, now: Timestamp) -> String {
    describe_open_state(&open_state(r, now), now)
}

/// "11 AM to 10:30 PM", "24 hours", "24 hours from 10 AM".
fn span_phrase(open: ClockTime, close: ClockTime) -> String {
    let whole_day = open.minutes % 1440 == close.minutes % 1440;
    match (whole_day, open.minutes) {
        (true, 0) => "24 hours".to_owned(),
        (true, _) => format!("24 hours from {}", spoken_time(open)),
        (false, _) => format!("{} to {}", spoken_time(open), spoken_time(close)),
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One spoken line about a date: "On Saturday we're open 11 AM to 10:30 PM.", "On Friday
/// we're open 11 AM to 1 AM.", "On Monday we're closed.", "On Friday, December 25 we're closed
/// for Christmas Day." Only services starting that date are named (the previous evening's
/// spill-over belongs to the previous day).
pub fn describe_day(r: &Restaurant, date: Date) -> String {
    let hours = day_hours(r, date);
    let weekday = weekday_name(date.weekday());
    if let Some(c) = &hours.closure {
        let when = format!("{weekday}, {}", spoken_date(date));
        return match c.reason.as_deref().map(reason_phrase) {
            Some(reason) if !reason.is_empty() => format!("On {when} we're closed for {reason}."),
            _ => format!("On {when} we're closed."),
        };
    }
    // The schedule as written, so a DST night does not turn "2 AM" into "3 AM".
    let day = Day::from_jiff(date.weekday());
    let phrases: Vec<String> = week_summary(r)
        .into_iter()
        .find(|(d, _)| *d == day)
        .map(|(_, ranges)| ranges.into_iter().map(|(o, c)| span_phrase(o, c)).collect())
        .unwrap_or_default();
    if phrases.is_empty() {
        format!("On {weekday} we're closed.")
    } else {
        format!("On {weekday} we're open {}.", and_list(&phrases))
    }
}

/// "Monday", "Saturday and Sunday", "Monday to Friday" for a run of consecutive days.
fn day_run(days: &[Day]) -> String {
    match days {
        [] => String::new(),
        [one] => one.name().to_owned(),
        [a, b] => format!("{} and {}", a.name(), b.name()),
        [first, .., last] => format!("{} to {}", first.name(), last.name()),
    }
}

/// The regular week in one spoken line: "We're open Monday to Friday 10 AM to 9 PM, and
/// Saturday and Sunday 11 AM to 10:30 PM.", with "; we're closed Monday." for days without
/// hours. Closures are not mentioned.
pub fn describe_week(r: &Restaurant) -> String {
    let week = week_summary(r);
    if week.iter().all(|(_, ranges)| ranges.is_empty()) {
        return "We don't have regular opening hours listed.".to_owned();
    }
    // Runs of consecutive days with the same schedule.
    let mut runs: Vec<(Vec<Day>, DaySchedule)> = Vec::new();
    for (day, ranges) in week {
        match runs.last_mut() {
            Some((days, same)) if *same == ranges => days.push(day),
            _ => runs.push((vec![day], ranges)),
        }
    }
    if let [(_, ranges)] = runs.as_slice()
        && let [(o, c)] = ranges.as_slice()
        && o.minutes == 0
        && c.minutes % 1440 == 0
    {
        return "We're open 24 hours a day, seven days a week.".to_owned();
    }
    let every_day = runs.len() == 1;
    let mut open_parts = Vec::new();
    let mut closed_days = Vec::new();
    for (days, ranges) in &runs {
        if ranges.is_empty() {
            closed_days.push(day_run(days));
            continue;
        }
        let spans: Vec<String> = ranges.iter().map(|&(o, c)| span_phrase(o, c)).collect();
        let when = if every_day {
            "every day".to_owned()
        } else {
            day_run(days)
        };
        open_parts.push(format!("{when} {}", and_list(&spans)));
    }
    let open = match open_parts.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
        [] => String::new(),
    };
    if closed_days.is_empty() {
        format!("We're open {open}.")
    } else {
        format!(
            "We're open {open}; we're closed {}.",
            and_list(&closed_days)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ClockTime {
        ClockTime::parse(s).unwrap_or(ClockTime::MIDNIGHT)
    }

    #[test]
    fn spoken_times() {
        assert_eq!(spoken_time(t("10:00")), "10 AM");
        assert_eq!(spoken_time(t("22:30")), "10:30 PM");
        assert_eq!(spoken_time(t("12:00")), "noon");
        assert_eq!(spoken_time(t("00:00")), "midnight");
        assert_eq!(spoken_time(t("24:00")), "midnight");
        assert_eq!(spoken_time(t("00:30")), "12:30 AM");
        assert_eq!(spoken_time(t("12:05")), "12:05 PM");
        assert_eq!(spoken_time(t("01:00")), "1 AM");
    }

    #[test]
    fn spoken_days() {
        let today = jiff::civil::date(2026, 12, 25); // a Friday
        assert_eq!(spoken_day_from(today, today), "today");
        assert_eq!(
            spoken_day_from(today, jiff::civil::date(2026, 12, 26)),
            "tomorrow"
        );
        assert_eq!(
            spoken_day_from(today, jiff::civil::date(2026, 12, 31)),
            "Thursday"
        );
        assert_eq!(
            spoken_day_from(today, jiff::civil::date(2027, 1, 1)),
            "on January 1"
        );
    }

    #[test]
    fn span_phrases() {
        assert_eq!(span_phrase(t("11:00"), t("01:00")), "11 AM to 1 AM");
        assert_eq!(span_phrase(t("00:00"), t("00:00")), "24 hours");
        assert_eq!(span_phrase(t("00:00"), t("24:00")), "24 hours");
        assert_eq!(span_phrase(t("10:00"), t("10:00")), "24 hours from 10 AM");
        assert_eq!(span_phrase(t("12:00"), t("24:00")), "noon to midnight");
    }

    #[test]
    fn reasons_read_after_closed_for() {
        assert_eq!(reason_phrase("Christmas Day"), "Christmas Day");
        assert_eq!(reason_phrase("Closed for renovation."), "renovation");
        assert_eq!(reason_phrase("  staff\nparty "), "staff party");
        assert_eq!(reason_phrase("Closed."), "");
    }

    #[test]
    fn day_runs() {
        assert_eq!(day_run(&[Day::Mon]), "Monday");
        assert_eq!(day_run(&[Day::Sat, Day::Sun]), "Saturday and Sunday");
        assert_eq!(
            day_run(&[Day::Mon, Day::Tue, Day::Wed]),
            "Monday to Wednesday"
        );
    }
}
