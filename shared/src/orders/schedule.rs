//! When the caller wants the order: as soon as possible, or a time later today or on one of
//! the next days, said as a person says it ("6:30 PM", "18:30", "at 7", "noon", "tomorrow at
//! noon", "Saturday 6 pm", "tonight at 8"), in the restaurant's time zone. A day is today,
//! tonight, tomorrow, or a weekday name (the next one to come, today included), at most
//! [`MAX_DAYS_AHEAD`] days ahead.
//!
//! A time without AM or PM is the next one of the two still to come that day ("6:30" at 2 PM is
//! 6:30 PM; "tonight at 7" is 7 PM; another day, the afternoon one from 1 to 11). A time is refused, in a sentence, when it has passed, when it is sooner than the
//! kitchen can have the order ready (`lead_minutes`: prep, or delivery time), or when the
//! restaurant is not open then. Wall-clock times become instants as in [`crate::hours`]
//! (jiff's compatible disambiguation across DST changes).

use crate::hours::{OpenState, open_state, spoken_clock, spoken_time};
use crate::restaurant::{ClockTime, Restaurant};
use jiff::Timestamp;

/// How far ahead an order may be scheduled, in days.
pub const MAX_DAYS_AHEAD: i8 = 6;

/// Which day the caller named, and whether they said "tonight".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    Today { tonight: bool },
    Weekday(jiff::civil::Weekday),
    Tomorrow,
}

/// The day words taken out of `said`; what is left is the clock time.
fn day_of(said: &str) -> (Option<Day>, String) {
    use jiff::civil::Weekday::*;
    let mut day = None;
    let mut rest = Vec::new();
    for w in said.split_whitespace() {
        let named = match w.trim_end_matches(',') {
            "today" | "this" | "afternoon" | "evening" | "morning" => Some(Day::Today {
                tonight: matches!(day, Some(Day::Today { tonight: true })),
            }),
            "tonight" => Some(Day::Today { tonight: true }),
            "tomorrow" | "tmrw" => Some(Day::Tomorrow),
            "monday" => Some(Day::Weekday(Monday)),
            "tuesday" => Some(Day::Weekday(Tuesday)),
            "wednesday" => Some(Day::Weekday(Wednesday)),
            "thursday" => Some(Day::Weekday(Thursday)),
            "friday" => Some(Day::Weekday(Friday)),
            "saturday" => Some(Day::Weekday(Saturday)),
            "sunday" => Some(Day::Weekday(Sunday)),
            "on" | "at" | "for" | "by" | "around" | "about" => {
                continue;
            }
            _ => None,
        };
        match named {
            // "tomorrow evening", "this afternoon": the day word wins over the part of the day.
            Some(Day::Today { .. }) if matches!(day, Some(Day::Tomorrow | Day::Weekday(_))) => {}
            Some(d) => day = Some(d),
            None => rest.push(w),
        }
    }
    (day, rest.join(" "))
}

/// What the caller asked for: `Ok(None)` as soon as possible, `Ok(Some(t))` that time
/// (today unless they named a day), or the sentence to say.
pub fn wanted_time(
    r: &Restaurant,
    said: &str,
    lead_minutes: u32,
    now: Timestamp,
) -> Result<Option<Timestamp>, String> {
    let said = said.trim().to_ascii_lowercase().replace('.', "");
    let said = said.strip_prefix("at ").unwrap_or(&said).trim();
    if said.is_empty()
        || ["asap", "as soon as possible", "now", "right away", "soon"].contains(&said)
    {
        return Ok(None);
    }
    let (day, clock) = day_of(said);
    let Some((minutes, meridiem_given)) = clock_minutes(&clock) else {
        return Err(
            "What time would you like it? For example, 6:30 PM, or tomorrow at noon.".into(),
        );
    };
    let tz = r.business.timezone.tz();
    let today = now.to_zoned(tz.clone()).date();
    let ahead: i8 = match day {
        None | Some(Day::Today { .. }) => 0,
        Some(Day::Tomorrow) => 1,
        Some(Day::Weekday(w)) => {
            (w.to_monday_zero_offset() - today.weekday().to_monday_zero_offset()).rem_euclid(7)
        }
    };
    if ahead > MAX_DAYS_AHEAD {
        return Err("I can only take orders for the next few days.".into());
    }
    let Ok(date) = today.checked_add(jiff::Span::new().days(ahead)) else {
        return Err("What day would you like it?".into());
    };
    let at = |m: u16| -> Option<Timestamp> {
        let t =
            jiff::civil::Time::new(i8::try_from(m / 60).ok()?, i8::try_from(m % 60).ok()?, 0, 0)
                .ok()?;
        date.to_datetime(t)
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp())
    };
    // Without AM/PM, 1:00 to 11:59 may be either half of the day: the next one to come
    // today, the evening one tonight, and the afternoon one on another day.
    let tonight = matches!(day, Some(Day::Today { tonight: true }));
    let candidates: Vec<u16> = if !meridiem_given && (60..720).contains(&minutes) {
        if ahead == 0 && !tonight {
            vec![minutes, minutes + 720]
        } else {
            vec![minutes + 720]
        }
    } else {
        vec![minutes]
    };
    let Some((minutes, when)) = candidates
        .iter()
        .filter_map(|m| Some((*m, at(*m)?)))
        .find(|(_, t)| *t > now)
    else {
        return Err(format!(
            "{} has already passed today; what time later today would you like it?",
            spoken_time(ClockTime { minutes })
        ));
    };
    let earliest = now
        .checked_add(jiff::SignedDuration::from_mins(i64::from(lead_minutes)))
        .unwrap_or(now);
    if when < earliest {
        return Err(format!(
            "The earliest we can have it is about {}.",
            spoken_clock(&earliest.to_zoned(tz.clone()))
        ));
    }
    if !matches!(open_state(r, when), OpenState::Open { .. }) {
        let on = if ahead == 0 {
            String::new()
        } else {
            format!(" on {}", crate::hours::spoken_date(date))
        };
        return Err(format!(
            "We're not open at {}{on}; what time while we're open would suit you?",
            spoken_time(ClockTime { minutes })
        ));
    }
    Ok(Some(when))
}

/// Minutes since midnight of "6:30 pm", "18:30", "6 pm", "630pm", "noon", "midnight", and
/// whether AM or PM was said.
fn clock_minutes(said: &str) -> Option<(u16, bool)> {
    match said {
        "noon" | "midday" => return Some((720, true)),
        "midnight" => return Some((0, true)),
        _ => {}
    }
    let compact: String = said.chars().filter(|c| !c.is_whitespace()).collect();
    let (digits, meridiem) = if let Some(d) = compact.strip_suffix("am") {
        (d, Some(false))
    } else if let Some(d) = compact.strip_suffix("pm") {
        (d, Some(true))
    } else if let Some(d) = compact.strip_suffix("o'clock") {
        (d, None)
    } else {
        (compact.as_str(), None)
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?),
        None if digits.len() >= 3 && digits.len() <= 4 => {
            let (h, m) = digits.split_at(digits.len() - 2);
            (h.parse().ok()?, m.parse().ok()?)
        }
        None => (digits.parse().ok()?, 0),
    };
    if m > 59 {
        return None;
    }
    let h = match meridiem {
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
        None if h <= 23 => h,
        None => return None,
    };
    Some((h * 60 + m, meridiem.is_some() || h == 0 || h >= 13))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_as_people_say_them() {
        assert_eq!(clock_minutes("6:30 pm"), Some((18 * 60 + 30, true)));
        assert_eq!(clock_minutes("6:30pm"), Some((18 * 60 + 30, true)));
        assert_eq!(clock_minutes("630 pm"), Some((18 * 60 + 30, true)));
        assert_eq!(clock_minutes("6 pm"), Some((18 * 60, true)));
        assert_eq!(clock_minutes("12 am"), Some((0, true)));
        assert_eq!(clock_minutes("12:15 pm"), Some((12 * 60 + 15, true)));
        assert_eq!(clock_minutes("18:30"), Some((18 * 60 + 30, true)));
        assert_eq!(clock_minutes("7"), Some((7 * 60, false)));
        assert_eq!(clock_minutes("7 o'clock"), Some((7 * 60, false)));
        assert_eq!(clock_minutes("noon"), Some((720, true)));
        for bad in ["25:00", "6:75", "13 pm", "tonight", "", "1234567"] {
            assert_eq!(clock_minutes(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_as_people_say_them() {
        use jiff::civil::Weekday;
        assert_eq!(
            day_of("tomorrow at noon"),
            (Some(Day::Tomorrow), "noon".into())
        );
        assert_eq!(
            day_of("noon tomorrow"),
            (Some(Day::Tomorrow), "noon".into())
        );
        assert_eq!(
            day_of("tomorrow evening at 6"),
            (Some(Day::Tomorrow), "6".into())
        );
        assert_eq!(
            day_of("tonight at 7"),
            (Some(Day::Today { tonight: true }), "7".into())
        );
        assert_eq!(
            day_of("on saturday, 6:30 pm"),
            (Some(Day::Weekday(Weekday::Saturday)), "6:30 pm".into())
        );
        assert_eq!(day_of("6:30 pm"), (None, "6:30 pm".into()));
    }
}
