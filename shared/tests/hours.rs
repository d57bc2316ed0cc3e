//! Opening hours from the outside: overnight ranges, closures, daylight saving time in US and
//! European zones, the next-opening search, the spoken sentences, and properties that tie
//! `open_state` to `day_hours` for random schedules and instants.

use hostline_shared::hours::{
    DayHours, OpenState, SEARCH_DAYS, day_hours, describe_day, describe_now, describe_open_state,
    describe_week, open_state, week_summary,
};
use hostline_shared::restaurant::{ClockTime, Closure, Day, HoursRange, Restaurant};
use jiff::civil::{Date, DateTime, date};
use jiff::{SignedDuration, Timestamp, Zoned};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A minimal valid restaurant with the given zone, hours and closures.
fn restaurant(tz: &str, hours: Value, closures: Value) -> Restaurant {
    let doc = json!({
        "format": "hostline.restaurant/v1",
        "business": {
            "name": "Test Diner",
            "timezone": tz,
            "currency": "USD",
            "tax_rate_bps": 0,
            "address": "1 Main St",
        },
        "hours": hours,
        "closures": closures,
        "fulfillment": { "pickup": true, "delivery": false, "prep_minutes": 10 },
        "menu": {},
    });
    match Restaurant::parse(&doc.to_string()) {
        Ok(r) => r,
        Err(e) => panic!("test restaurant should parse: {e}"),
    }
}

/// A local wall-clock time in the restaurant's zone ("2026-06-13T00:30"); only for times that
/// are neither skipped nor repeated (DST tests use UTC instants).
fn local(r: &Restaurant, s: &str) -> Timestamp {
    let dt: DateTime = s.parse().expect("test datetimes are valid");
    r.business
        .timezone
        .tz()
        .to_ambiguous_timestamp(dt)
        .unambiguous()
        .expect("test local times are unambiguous")
}

fn utc(s: &str) -> Timestamp {
    s.parse().expect("test instants are valid")
}

fn zoned_utc(z: &Zoned) -> String {
    z.timestamp().to_string()
}

/// (opens_at, closes_at) of a day's intervals, as UTC instants.
fn intervals_utc(d: &DayHours) -> Vec<(String, String)> {
    d.intervals
        .iter()
        .map(|i| (zoned_utc(&i.opens_at), zoned_utc(&i.closes_at)))
        .collect()
}

fn closes_at(s: &OpenState) -> Option<Timestamp> {
    match s {
        OpenState::Open {
            closes_at: Some(c), ..
        } => Some(c.timestamp()),
        _ => None,
    }
}

fn opens_at(s: &OpenState) -> Option<Timestamp> {
    match s {
        OpenState::Closed {
            opens_at: Some(o), ..
        } => Some(o.timestamp()),
        _ => None,
    }
}

fn late_night() -> Restaurant {
    restaurant(
        "America/Chicago",
        json!([
            { "days": ["mon", "tue", "wed", "thu"], "open": "11:00", "close": "21:00" },
            { "days": ["fri"], "open": "11:00", "close": "01:00" },
            { "days": ["sat"], "open": "11:00", "close": "22:30" },
            { "days": ["sun"], "open": "12:00", "close": "21:00" }
        ]),
        json!([]),
    )
}

#[test]
fn friday_night_runs_into_saturday() {
    let r = late_night();
    // Saturday 00:30: still Friday's service.
    let now = local(&r, "2026-06-13T00:30");
    let state = open_state(&r, now);
    assert_eq!(closes_at(&state), Some(local(&r, "2026-06-13T01:00")));
    match &state {
        OpenState::Open {
            next_opening_after_close: Some(next),
            ..
        } => assert_eq!(next.timestamp(), local(&r, "2026-06-13T11:00")),
        other => panic!("expected open with a next opening, got {other:?}"),
    }
    assert_eq!(
        describe_open_state(&state, now),
        "We're open now until 1 AM."
    );
    // Friday 23:00 too.
    assert_eq!(
        describe_now(&r, local(&r, "2026-06-12T23:00")),
        "We're open now until 1 AM."
    );

    // Saturday 01:30: closed until 11.
    let now = local(&r, "2026-06-13T01:30");
    let state = open_state(&r, now);
    assert_eq!(opens_at(&state), Some(local(&r, "2026-06-13T11:00")));
    assert_eq!(
        describe_open_state(&state, now),
        "We're closed right now; we open today at 11 AM."
    );

    // Saturday's hours start with Friday's spill-over.
    let sat = day_hours(&r, date(2026, 6, 13));
    assert_eq!(sat.day, Day::Sat);
    let shape: Vec<(String, String, bool)> = sat
        .intervals
        .iter()
        .map(|i| (i.open.to_string(), i.close.to_string(), i.spill_over))
        .collect();
    assert_eq!(
        shape,
        [
            ("00:00".into(), "01:00".into(), true),
            ("11:00".into(), "22:30".into(), false)
        ]
    );
    assert_eq!(sat.services().count(), 1);

    assert_eq!(
        describe_day(&r, date(2026, 6, 12)),
        "On Friday we're open 11 AM to 1 AM."
    );
    assert_eq!(
        describe_day(&r, date(2026, 6, 13)),
        "On Saturday we're open 11 AM to 10:30 PM."
    );
    assert_eq!(
        describe_day(&r, date(2026, 6, 14)),
        "On Sunday we're open noon to 9 PM."
    );
}

#[test]
fn open_now_until_and_closed_until_tomorrow() {
    let r = late_night();
    assert_eq!(
        describe_now(&r, local(&r, "2026-06-09T15:00")),
        "We're open now until 9 PM."
    );
    assert_eq!(
        describe_now(&r, local(&r, "2026-06-09T21:00")),
        "We're closed right now; we open tomorrow at 11 AM."
    );
    assert_eq!(
        describe_now(&r, local(&r, "2026-06-09T10:59")),
        "We're closed right now; we open today at 11 AM."
    );
}

#[test]
fn a_closure_stops_the_service_starting_that_day() {
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["fri", "sat", "sun"], "open": "11:00", "close": "01:00" }]),
        json!([{ "date": "2026-12-25", "reason": "Christmas Day" }]),
    );
    let now = local(&r, "2026-12-25T12:00");
    let state = open_state(&r, now);
    assert_eq!(
        state,
        OpenState::Closed {
            opens_at: Some(
                local(&r, "2026-12-26T11:00").to_zoned(r.business.timezone.tz().clone())
            ),
            reason: Some("Christmas Day".into()),
        }
    );
    assert_eq!(
        describe_open_state(&state, now),
        "We're closed today for Christmas Day; we open tomorrow at 11 AM."
    );
    // Friday's overnight service never started, so Saturday 00:30 is closed as well…
    let state = open_state(&r, local(&r, "2026-12-26T00:30"));
    assert_eq!(opens_at(&state), Some(local(&r, "2026-12-26T11:00")));
    // …and the closure day lists no hours.
    let xmas = day_hours(&r, date(2026, 12, 25));
    assert!(xmas.intervals.is_empty());
    assert_eq!(
        xmas.closure.and_then(|c| c.reason),
        Some("Christmas Day".into())
    );
    assert!(
        day_hours(&r, date(2026, 12, 26))
            .intervals
            .iter()
            .all(|i| !i.spill_over)
    );
    assert_eq!(
        describe_day(&r, date(2026, 12, 25)),
        "On Friday, December 25 we're closed for Christmas Day."
    );
}

#[test]
fn the_night_before_a_closure_still_runs_past_midnight() {
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["fri", "sat", "sun"], "open": "11:00", "close": "01:00" }]),
        json!([{ "date": "2026-12-26", "reason": "Boxing Day" }]),
    );
    let now = local(&r, "2026-12-26T00:30");
    assert_eq!(
        closes_at(&open_state(&r, now)),
        Some(local(&r, "2026-12-26T01:00"))
    );
    let boxing = day_hours(&r, date(2026, 12, 26));
    assert_eq!(boxing.intervals.len(), 1);
    assert!(boxing.intervals[0].spill_over);
    assert_eq!(
        describe_now(&r, local(&r, "2026-12-26T12:00")),
        "We're closed today for Boxing Day; we open tomorrow at 11 AM."
    );
}

#[test]
fn several_closed_days_name_the_weekday_of_reopening() {
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["mon", "tue", "wed", "thu", "fri", "sat"], "open": "10:00", "close": "21:00" }]),
        json!([
            { "date": "2026-12-24", "reason": "Christmas Eve" },
            { "date": "2026-12-25", "reason": "Christmas Day" }
        ]),
    );
    assert_eq!(
        describe_now(&r, local(&r, "2026-12-24T09:00")),
        "We're closed today for Christmas Eve; we open Saturday at 10 AM."
    );
    // A closure without a reason reads like any closed time.
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["mon", "tue", "wed", "thu", "fri"], "open": "10:00", "close": "21:00" }]),
        json!([{ "date": "2026-12-25" }]),
    );
    assert_eq!(
        describe_now(&r, local(&r, "2026-12-25T12:00")),
        "We're closed right now; we open Monday at 10 AM."
    );
}

#[test]
fn next_opening_search_skips_closures_and_stops_after_two_weeks() {
    let mondays_only = |closures: Value| {
        restaurant(
            "America/Chicago",
            json!([{ "days": ["mon"], "open": "10:00", "close": "14:00" }]),
            closures,
        )
    };
    // Within six days: the weekday.
    let r = mondays_only(json!([]));
    assert_eq!(
        describe_now(&r, local(&r, "2026-06-10T12:00")),
        "We're closed right now; we open Monday at 10 AM."
    );
    // Next Monday closed: the one after, 13 days ahead, by date.
    let r = mondays_only(json!([{ "date": "2026-06-15", "reason": "Staff training" }]));
    let now = local(&r, "2026-06-09T12:00");
    assert_eq!(
        opens_at(&open_state(&r, now)),
        Some(local(&r, "2026-06-22T10:00"))
    );
    assert_eq!(
        describe_now(&r, now),
        "We're closed right now; we open on June 22 at 10 AM."
    );
    // Both closed: nothing within the search window.
    let r = mondays_only(json!([{ "date": "2026-06-15" }, { "date": "2026-06-22" }]));
    let now = local(&r, "2026-06-09T12:00");
    assert_eq!(
        open_state(&r, now),
        OpenState::Closed {
            opens_at: None,
            reason: None
        }
    );
    assert_eq!(
        describe_now(&r, now),
        "We're closed right now, and we don't have opening hours in the next two weeks."
    );
    assert_eq!(SEARCH_DAYS, 14);
}

#[test]
fn open_state_knows_the_next_opening_after_close() {
    let r = late_night();
    match open_state(&r, local(&r, "2026-06-14T20:00")) {
        OpenState::Open {
            closes_at: Some(c),
            next_opening_after_close: Some(n),
        } => {
            assert_eq!(c.timestamp(), local(&r, "2026-06-14T21:00"));
            assert_eq!(n.timestamp(), local(&r, "2026-06-15T11:00"));
        }
        other => panic!("expected open, got {other:?}"),
    }
}

#[test]
fn no_hours_means_closed_with_no_opening() {
    let r = restaurant("America/Chicago", json!([]), json!([]));
    let now = utc("2026-06-09T17:00:00Z");
    assert_eq!(
        open_state(&r, now),
        OpenState::Closed {
            opens_at: None,
            reason: None
        }
    );
    assert!(day_hours(&r, date(2026, 6, 9)).intervals.is_empty());
    assert_eq!(
        describe_week(&r),
        "We don't have regular opening hours listed."
    );
    assert_eq!(
        describe_day(&r, date(2026, 6, 9)),
        "On Tuesday we're closed."
    );
}

#[test]
fn spring_forward_in_chicago() {
    // 2026-03-08: 02:00 CST jumps to 03:00 CDT.
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["sun"], "open": "01:00", "close": "03:00" }]),
        json!([]),
    );
    let day = day_hours(&r, date(2026, 3, 8));
    // 01:00 CST to 03:00 CDT is one real hour.
    assert_eq!(
        intervals_utc(&day),
        [(
            "2026-03-08T07:00:00Z".to_owned(),
            "2026-03-08T08:00:00Z".to_owned()
        )]
    );
    let now = utc("2026-03-08T07:59:00Z");
    assert_eq!(
        closes_at(&open_state(&r, now)),
        Some(utc("2026-03-08T08:00:00Z"))
    );
    assert_eq!(describe_now(&r, now), "We're open now until 3 AM.");
    assert!(!open_state(&r, utc("2026-03-08T08:00:00Z")).is_open());

    // Opening at 02:30, a time that does not exist that day, resolves forward to 03:30 CDT.
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["sun"], "open": "02:30", "close": "05:00" }]),
        json!([]),
    );
    let now = utc("2026-03-08T08:15:00Z"); // 03:15 CDT
    let state = open_state(&r, now);
    assert_eq!(opens_at(&state), Some(utc("2026-03-08T08:30:00Z")));
    assert_eq!(
        describe_open_state(&state, now),
        "We're closed right now; we open today at 3:30 AM."
    );
    // A week later the same range opens at 02:30 CST… CDT, as written.
    assert_eq!(
        intervals_utc(&day_hours(&r, date(2026, 3, 15))),
        [(
            "2026-03-15T07:30:00Z".to_owned(),
            "2026-03-15T10:00:00Z".to_owned()
        )]
    );
}

#[test]
fn fall_back_in_chicago() {
    // 2026-11-01: 02:00 CDT falls back to 01:00 CST; 01:00-01:59 happens twice.
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["sun"], "open": "01:00", "close": "03:00" }]),
        json!([]),
    );
    // Opens at the first 01:00 (CDT), closes at 03:00 CST: three real hours.
    assert_eq!(
        intervals_utc(&day_hours(&r, date(2026, 11, 1))),
        [(
            "2026-11-01T06:00:00Z".to_owned(),
            "2026-11-01T09:00:00Z".to_owned()
        )]
    );
    // The second 01:30 (CST) is still open.
    assert!(open_state(&r, utc("2026-11-01T07:30:00Z")).is_open());

    // Closing at the ambiguous 01:30 means the first one.
    let r = restaurant(
        "America/Chicago",
        json!([{ "days": ["sat"], "open": "20:00", "close": "01:30" }]),
        json!([]),
    );
    let now = utc("2026-11-01T06:15:00Z"); // 01:15 CDT
    assert_eq!(
        closes_at(&open_state(&r, now)),
        Some(utc("2026-11-01T06:30:00Z"))
    );
    assert_eq!(describe_now(&r, now), "We're open now until 1:30 AM.");
    assert!(!open_state(&r, utc("2026-11-01T06:45:00Z")).is_open());
    assert!(!open_state(&r, utc("2026-11-01T07:15:00Z")).is_open());
}

#[test]
fn around_the_clock_in_los_angeles() {
    let every_day = json!([{
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "open": "00:00", "close": "00:00"
    }]);
    let r = restaurant("America/Los_Angeles", every_day.clone(), json!([]));
    for now in [
        "2026-03-08T09:59:00Z", // 01:59 PST, just before the jump
        "2026-03-08T10:00:00Z", // 03:00 PDT
        "2026-11-01T08:30:00Z", // the first 01:30
        "2026-11-01T09:30:00Z", // the second 01:30
        "2026-07-04T19:00:00Z",
    ] {
        let state = open_state(&r, utc(now));
        assert_eq!(
            state,
            OpenState::Open {
                closes_at: None,
                next_opening_after_close: None
            },
            "{now}"
        );
        assert_eq!(
            describe_open_state(&state, utc(now)),
            "We're open now, around the clock."
        );
    }
    // The days themselves are 23 and 25 hours long.
    let length = |d: Date| {
        let day = day_hours(&r, d);
        assert_eq!(day.intervals.len(), 1, "{d}");
        day.intervals[0]
            .closes_at
            .timestamp()
            .duration_since(day.intervals[0].opens_at.timestamp())
    };
    assert_eq!(length(date(2026, 3, 8)), SignedDuration::from_hours(23));
    assert_eq!(length(date(2026, 11, 1)), SignedDuration::from_hours(25));
    assert_eq!(length(date(2026, 7, 4)), SignedDuration::from_hours(24));
    assert_eq!(
        describe_week(&r),
        "We're open 24 hours a day, seven days a week."
    );
    assert_eq!(
        describe_day(&r, date(2026, 7, 4)),
        "On Saturday we're open 24 hours."
    );

    // With a closure, the stretch ends at the closure's midnight.
    let r = restaurant(
        "America/Los_Angeles",
        every_day,
        json!([{ "date": "2026-11-26", "reason": "Thanksgiving" }]),
    );
    let now = local(&r, "2026-11-25T20:00");
    assert_eq!(
        closes_at(&open_state(&r, now)),
        Some(local(&r, "2026-11-26T00:00"))
    );
    assert_eq!(describe_now(&r, now), "We're open now until midnight.");
    assert_eq!(
        describe_now(&r, local(&r, "2026-11-20T20:00")),
        "We're open now until Thursday at midnight."
    );
    assert_eq!(
        describe_now(&r, local(&r, "2026-11-26T08:00")),
        "We're closed today for Thanksgiving; we open tomorrow at midnight."
    );
}

#[test]
fn los_angeles_range_across_spring_forward() {
    let r = restaurant(
        "America/Los_Angeles",
        json!([{ "days": ["sat"], "open": "22:00", "close": "03:00" }]),
        json!([]),
    );
    // Saturday 22:00 PST to Sunday 03:00 PDT: four real hours.
    assert_eq!(
        intervals_utc(&day_hours(&r, date(2026, 3, 7))),
        [(
            "2026-03-08T06:00:00Z".to_owned(),
            "2026-03-08T10:00:00Z".to_owned()
        )]
    );
    let sunday = day_hours(&r, date(2026, 3, 8));
    assert_eq!(
        intervals_utc(&sunday),
        [(
            "2026-03-08T08:00:00Z".to_owned(),
            "2026-03-08T10:00:00Z".to_owned()
        )]
    );
    assert!(sunday.intervals[0].spill_over);
}

#[test]
fn europe_berlin() {
    let r = restaurant(
        "Europe/Berlin",
        json!([
            { "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "10:00", "close": "22:00" }
        ]),
        json!([]),
    );
    // Summer (CEST, +2): 08:30Z is 10:30.
    let now = utc("2026-07-01T08:30:00Z");
    assert_eq!(
        closes_at(&open_state(&r, now)),
        Some(utc("2026-07-01T20:00:00Z"))
    );
    assert_eq!(describe_now(&r, now), "We're open now until 10 PM.");
    // Winter (CET, +1): 08:30Z is 09:30.
    let now = utc("2026-01-14T08:30:00Z");
    assert_eq!(
        opens_at(&open_state(&r, now)),
        Some(utc("2026-01-14T09:00:00Z"))
    );
    assert_eq!(
        describe_now(&r, now),
        "We're closed right now; we open today at 10 AM."
    );
    // The day Europe springs forward (2026-03-29, 02:00 CET -> 03:00 CEST).
    assert_eq!(
        intervals_utc(&day_hours(&r, date(2026, 3, 29))),
        [(
            "2026-03-29T08:00:00Z".to_owned(),
            "2026-03-29T20:00:00Z".to_owned()
        )]
    );
    assert_eq!(describe_week(&r), "We're open every day 10 AM to 10 PM.");
}

#[test]
fn week_summary_and_spoken_week() {
    let r = late_night();
    let week = week_summary(&r);
    assert_eq!(week.len(), 7);
    assert_eq!(week[4].0, Day::Fri);
    assert_eq!(
        week[4].1,
        [(
            ClockTime::parse("11:00").expect("valid"),
            ClockTime::parse("01:00").expect("valid")
        )]
    );
    assert_eq!(
        describe_week(&r),
        "We're open Monday to Thursday 11 AM to 9 PM, Friday 11 AM to 1 AM, Saturday 11 AM to 10:30 PM, and Sunday noon to 9 PM."
    );

    let r = restaurant(
        "Europe/Paris",
        json!([
            { "days": ["tue", "wed", "thu", "fri", "sat"], "open": "12:00", "close": "14:30" },
            { "days": ["tue", "wed", "thu", "fri", "sat"], "open": "19:00", "close": "22:30" },
            { "days": ["sun"], "open": "10:00", "close": "15:00" }
        ]),
        json!([]),
    );
    assert_eq!(
        describe_week(&r),
        "We're open Tuesday to Saturday noon to 2:30 PM and 7 PM to 10:30 PM, and Sunday 10 AM to 3 PM; we're closed Monday."
    );
    assert_eq!(
        describe_day(&r, date(2026, 6, 12)),
        "On Friday we're open noon to 2:30 PM and 7 PM to 10:30 PM."
    );
    // Between lunch and dinner.
    assert_eq!(
        describe_now(&r, local(&r, "2026-06-12T15:00")),
        "We're closed right now; we open today at 7 PM."
    );
}

#[test]
fn touching_ranges_make_one_stretch() {
    let r = restaurant(
        "America/Chicago",
        json!([
            { "days": ["fri"], "open": "11:00", "close": "24:00" },
            { "days": ["sat"], "open": "00:00", "close": "02:00" }
        ]),
        json!([]),
    );
    let now = local(&r, "2026-06-12T23:00");
    assert_eq!(
        closes_at(&open_state(&r, now)),
        Some(local(&r, "2026-06-13T02:00"))
    );
    assert_eq!(describe_now(&r, now), "We're open now until 2 AM.");
}

// ---------------------------------------------------------------------------------------------
// Properties over random schedules, closures, zones and instants.

const ZONES: [&str; 6] = [
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Australia/Lord_Howe", // half-hour DST shifts
    "Asia/Kolkata",        // no DST
    "America/St_Johns",    // DST at a :30 offset
];

fn any_range() -> impl Strategy<Value = HoursRange> {
    (
        1u8..128,
        prop_oneof![(0u16..96).prop_map(|q| q * 15), 0u16..1440],
        prop_oneof![(0u16..=96).prop_map(|q| q * 15), 0u16..=1440],
    )
        .prop_map(|(mask, open, close)| HoursRange {
            days: Day::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, d)| *d)
                .collect(),
            open: ClockTime { minutes: open },
            close: ClockTime { minutes: close },
        })
}

/// Instants in 2026, half of them within a day of a DST transition of the US or Europe.
fn any_instant() -> impl Strategy<Value = Timestamp> {
    let start = utc("2026-01-01T00:00:00Z").as_second();
    let transitions = [
        utc("2026-03-08T08:00:00Z").as_second(),
        utc("2026-11-01T07:00:00Z").as_second(),
        utc("2026-03-29T01:00:00Z").as_second(),
        utc("2026-10-25T01:00:00Z").as_second(),
    ];
    prop_oneof![
        (0i64..365 * 86_400).prop_map(move |s| start + s),
        (
            prop::sample::select(transitions.to_vec()),
            -86_400i64..86_400
        )
            .prop_map(|(t, d)| t + d),
    ]
    .prop_map(|s| Timestamp::from_second(s).expect("2026 is in range"))
}

fn schedule() -> impl Strategy<Value = Restaurant> {
    (
        prop::sample::select(ZONES.to_vec()),
        prop::collection::vec(any_range(), 0..4),
        prop::collection::vec(0i64..380, 0..5),
    )
        .prop_map(|(tz, hours, closure_days)| {
            let mut r = restaurant(tz, json!([]), json!([]));
            r.hours = hours;
            r.closures = closure_days
                .into_iter()
                .map(|d| Closure {
                    date: date(2025, 12, 25)
                        .checked_add(jiff::Span::new().days(d))
                        .expect("in range"),
                    reason: (d % 2 == 0).then(|| format!("closure {d}")),
                })
                .collect();
            r
        })
}

fn second_before(t: Timestamp) -> Timestamp {
    t.checked_sub(SignedDuration::from_secs(1))
        .expect("in range")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn open_state_agrees_with_day_hours(r in schedule(), now in any_instant()) {
        let state = open_state(&r, now);
        let today = now.to_zoned(r.business.timezone.tz().clone()).date();
        let in_today = day_hours(&r, today).intervals.iter().any(|i| i.contains(now));
        prop_assert_eq!(state.is_open(), in_today, "{:?} at {}", state, now);
        // One line, no markdown, always a sentence.
        let said = describe_open_state(&state, now);
        prop_assert!(said.ends_with('.') && !said.contains('\n') && !said.contains('*'), "{}", said);
    }

    #[test]
    fn closing_and_opening_are_in_the_future_and_consistent(
        r in schedule(),
        now in any_instant(),
    ) {
        match open_state(&r, now) {
            OpenState::Open { closes_at, next_opening_after_close } => {
                if let Some(c) = closes_at {
                    let c = c.timestamp();
                    prop_assert!(c > now);
                    prop_assert!(!open_state(&r, c).is_open(), "still open at close {}", c);
                    prop_assert!(open_state(&r, second_before(c)).is_open());
                    if let Some(n) = next_opening_after_close {
                        prop_assert!(n.timestamp() > c);
                        prop_assert!(open_state(&r, n.timestamp()).is_open());
                    }
                } else {
                    prop_assert!(next_opening_after_close.is_none());
                }
            }
            OpenState::Closed { opens_at, reason } => {
                if let Some(o) = opens_at {
                    let o = o.timestamp();
                    prop_assert!(o > now);
                    prop_assert!(o <= now + SignedDuration::from_hours(24 * (SEARCH_DAYS + 1)));
                    prop_assert!(open_state(&r, o).is_open(), "not open at opening {}", o);
                    let before = second_before(o);
                    if before > now {
                        prop_assert!(!open_state(&r, before).is_open());
                    }
                }
                if reason.is_some() {
                    let today = now.to_zoned(r.business.timezone.tz().clone()).date();
                    prop_assert!(r.closures.iter().any(|c| c.date == today));
                }
            }
        }
    }

    #[test]
    fn spoken_days_are_single_sentences(r in schedule(), day in 0i64..365) {
        let d = date(2026, 1, 1).checked_add(jiff::Span::new().days(day)).expect("in range");
        let said = describe_day(&r, d);
        prop_assert!(said.starts_with("On ") && said.ends_with('.') && !said.contains('\n'), "{}", said);
        let week = describe_week(&r);
        prop_assert!(week.ends_with('.') && !week.contains('\n'), "{}", week);
    }
}
