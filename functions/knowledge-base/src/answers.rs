//! The knowledge tools: pure functions from the published bundle, the call's arguments and the
//! time to one spoken line. `Ok` is a result to speak; `Err` is an error to speak (the call
//! could not be answered as asked, e.g. a required argument is missing).
//!
//! Answers use the knowledge index's confidence: a High hit is answered directly, a Medium hit
//! is answered with a "did you mean" so the agent confirms, Low hits are offered as choices,
//! and nothing is ever invented.

use crate::delivery;
use hostline_shared::hours::{describe_day, describe_now, describe_week};
use hostline_shared::knowledge::{
    Confidence, EntryKind, Hit, ItemInfo, KindFilter, KnowledgeIndex,
};
use hostline_shared::money::Cents;
use hostline_shared::restaurant::{Restaurant, Rule};
use hostline_shared::speech::join_list;
use hostline_shared::tenancy::Published;
use hostline_shared::tools::{KnowledgeCall, ToolArgsError, text};
use hostline_shared::vapi::ToolCall;
use jiff::civil::{Date, Weekday};

pub fn answer(p: &Published, call: &ToolCall, now: jiff::Timestamp) -> Result<String, String> {
    let args = match &call.arguments {
        Ok(a) => a,
        Err(why) => return Err(format!("Sorry, I couldn't read that request: {why}.")),
    };
    match KnowledgeCall::parse(&call.name, args) {
        Ok(KnowledgeCall::MenuInfo(a)) => {
            Ok(menu_info(&p.index, text(&a.query), text(&a.category)))
        }
        Ok(KnowledgeCall::ModifiersInfo(a)) => match text(&a.item) {
            Some(item) => Ok(modifiers_info(&p.index, item)),
            None => Err("Which menu item would you like the options for?".to_owned()),
        },
        Ok(KnowledgeCall::HoursInfo(a)) => Ok(hours_info(&p.restaurant, text(&a.day), now)),
        Ok(KnowledgeCall::DeliveryInfo(a)) => {
            Ok(delivery::answer(&p.restaurant, text(&a.address_or_zip)))
        }
        Ok(KnowledgeCall::SearchFaq(a)) => match text(&a.query) {
            Some(q) => Ok(faq(&p.index, q)),
            None => Err("What would you like to know?".to_owned()),
        },
        Err(ToolArgsError::UnknownTool(other)) => Err(format!(
            "Sorry, I can't do {} here.",
            other.replace('_', " ")
        )),
        Err(ToolArgsError::Invalid(why)) => {
            Err(format!("Sorry, I couldn't read that request: {why}."))
        }
    }
}

/// How many items to read out of a category before summarizing the rest.
const LIST_LIMIT: usize = 8;

// ---------------------------------------------------------------------------------------------
// get_menu_info

pub fn menu_info(ix: &KnowledgeIndex, query: Option<&str>, category: Option<&str>) -> String {
    match (query, category) {
        (None, None) => overview(ix),
        (None, Some(c)) => category_answer(ix, c),
        (Some(q), _) => query_answer(ix, q),
    }
}

fn overview(ix: &KnowledgeIndex) -> String {
    let parts: Vec<String> = ix
        .categories()
        .map(|c| {
            let names: Vec<&str> = ix
                .category_items(c)
                .take(3)
                .map(|i| i.name.as_str())
                .collect();
            if names.is_empty() {
                c.name.clone()
            } else {
                format!("{} like {}", c.name, join_list(&names, "and"))
            }
        })
        .collect();
    if parts.is_empty() {
        return "Our menu isn't available right now.".to_owned();
    }
    format!(
        "We have {}. What would you like to hear about?",
        join_list(&parts, "and")
    )
}

fn category_names(ix: &KnowledgeIndex) -> String {
    let names: Vec<&str> = ix.categories().map(|c| c.name.as_str()).collect();
    join_list(&names, "and")
}

fn category_answer(ix: &KnowledgeIndex, category: &str) -> String {
    let hits = ix.search(category, KindFilter::only(EntryKind::Category), 3);
    match hits.first() {
        Some(h) if h.confidence >= Confidence::Medium => list_category(ix, &h.name),
        _ => match ix.search(category, KindFilter::MENU, 1).first() {
            Some(h) if h.confidence >= Confidence::Medium => describe_hit(ix, h),
            _ => format!(
                "I couldn't find a {} section on our menu. We have {}.",
                echo(category),
                category_names(ix)
            ),
        },
    }
}

fn list_category(ix: &KnowledgeIndex, name: &str) -> String {
    let Some(cat) = ix.category(name) else {
        return format!("We have {}.", category_names(ix));
    };
    let items: Vec<&ItemInfo> = ix.category_items(cat).collect();
    let listed: Vec<String> = items
        .iter()
        .take(LIST_LIMIT)
        .map(|i| {
            if i.available {
                format!("{} for {}", i.name, i.price.spoken())
            } else {
                format!("{} (sold out today)", i.name)
            }
        })
        .collect();
    let more = items.len().saturating_sub(LIST_LIMIT);
    let tail = if more > 0 {
        format!(", and {more} more")
    } else {
        String::new()
    };
    if listed.is_empty() {
        return format!("There's nothing in {} right now.", cat.name);
    }
    format!(
        "In {} we have {}{tail}.",
        cat.name,
        join_list(&listed, "and")
    )
}

/// Hits this close to the best one are treated as equally likely.
const TIE_MARGIN: f32 = 0.05;

fn query_answer(ix: &KnowledgeIndex, query: &str) -> String {
    let kinds = KindFilter::MENU.with(EntryKind::ModifierOption);
    let hits = ix.search(query, kinds, 5);
    let Some(top) = hits.first() else {
        return not_found(ix, query);
    };
    match top.confidence {
        Confidence::High => {
            let ties: Vec<&Hit> = hits
                .iter()
                .filter(|h| {
                    h.confidence == Confidence::High
                        && h.kind == EntryKind::Item
                        && top.score - h.score <= TIE_MARGIN
                })
                .collect();
            if top.kind == EntryKind::Item && ties.len() > 1 {
                let names: Vec<String> = ties
                    .iter()
                    .filter_map(|h| item_with_price(ix, &h.id))
                    .collect();
                format!(
                    "We have {}. Which one would you like?",
                    join_list(&names, "and")
                )
            } else {
                describe_hit(ix, top)
            }
        }
        Confidence::Medium => {
            // Several near-equal guesses (a generic word like "pizza"): offer them, don't pick.
            let close: Vec<String> = hits
                .iter()
                .filter(|h| h.kind == EntryKind::Item && top.score - h.score <= TIE_MARGIN)
                .filter_map(|h| item_with_price(ix, &h.id))
                .collect();
            let second = hits
                .get(1)
                .filter(|h| h.kind == top.kind && top.score - h.score <= TIE_MARGIN);
            if top.kind == EntryKind::Item && close.len() > 2 {
                format!(
                    "We have {}. Which one would you like?",
                    join_list(&close, "and")
                )
            } else if let Some(second) = second {
                // Two close guesses: ask, don't pick.
                format!("Did you mean the {} or the {}?", top.name, second.name)
            } else {
                format!("Did you mean {}? {}", top.name, describe_hit_plain(ix, top))
            }
        }
        Confidence::Low => {
            let names: Vec<&str> = hits.iter().take(3).map(|h| h.name.as_str()).collect();
            format!(
                "I'm not sure I caught that. Did you mean {}?",
                join_list(&names, "or")
            )
        }
    }
}

fn not_found(ix: &KnowledgeIndex, query: &str) -> String {
    let kinds = KindFilter::MENU.with(EntryKind::ModifierOption);
    let closest: Vec<String> = ix
        .closest(query, kinds, 2)
        .into_iter()
        .map(|h| h.name)
        .collect();
    if !closest.is_empty() {
        return format!(
            "Sorry, I couldn't find {} on our menu. The closest we have {} {}.",
            echo(query),
            if closest.len() == 1 { "is" } else { "are" },
            join_list(&closest, "and")
        );
    }
    format!(
        "Sorry, I couldn't find {} on our menu. We have {}.",
        echo(query),
        category_names(ix)
    )
}

/// The caller's words, to repeat back in an answer; "that" when they are too long to say back
/// (a pasted blob, a runaway transcript).
fn echo(words: &str) -> &str {
    const MAX_ECHO_CHARS: usize = 60;
    let words = words.trim();
    if words.chars().nth(MAX_ECHO_CHARS).is_some() {
        "that"
    } else {
        words
    }
}

fn item_with_price(ix: &KnowledgeIndex, id: &str) -> Option<String> {
    ix.item(id)
        .map(|i| format!("{} for {}", i.name, i.price.spoken()))
}

fn describe_hit(ix: &KnowledgeIndex, h: &Hit) -> String {
    match h.kind {
        EntryKind::Item => ix.item(&h.id).map(|i| {
            if i.available {
                format!("Yes, we have {}.", describe_item(ix, i))
            } else {
                format!("{}.", describe_item(ix, i))
            }
        }),
        _ => Some(describe_hit_plain(ix, h)),
    }
    .unwrap_or_else(|| format!("We have {}.", h.name))
}

/// A hit described without confirming that it is what the caller asked for.
fn describe_hit_plain(ix: &KnowledgeIndex, h: &Hit) -> String {
    match h.kind {
        EntryKind::Item => ix.item(&h.id).map(|i| {
            if i.available {
                format!("We have {}.", describe_item(ix, i))
            } else {
                format!("{}.", describe_item(ix, i))
            }
        }),
        EntryKind::Category => Some(list_category(ix, &h.name)),
        EntryKind::ModifierOption => describe_option(ix, &h.id),
        EntryKind::ModifierGroup => ix.group(&h.id).map(|g| {
            let names: Vec<&str> = ix.group_options(g).map(|o| o.name.as_str()).collect();
            format!("For {} you can choose {}.", g.name, join_list(&names, "or"))
        }),
        EntryKind::Faq => ix.faq(&h.id).map(|f| f.answer.clone()),
    }
    .unwrap_or_else(|| format!("We have {}.", h.name))
}

/// "Taro Milk Tea for $5.75. <description> You can choose ..." (to follow "We have"), or the
/// sold-out sentence; without the final period.
fn describe_item(ix: &KnowledgeIndex, i: &ItemInfo) -> String {
    if !i.available {
        return format!("{} is on our menu, but it's sold out right now", i.name);
    }
    let mut s = format!("{} for {}", i.name, i.price.spoken());
    let desc = i.description.trim();
    if !desc.is_empty() {
        s.push_str(". ");
        s.push_str(&hostline_shared::speech::sentence(desc));
    }
    let groups: Vec<String> = ix.item_groups(i).map(|g| g.name.to_lowercase()).collect();
    if !groups.is_empty() {
        if desc.is_empty() {
            s.push('.');
        }
        s.push_str(&format!(" You can choose {}", join_list(&groups, "and")));
    }
    s.trim_end_matches('.').to_owned()
}

fn describe_option(ix: &KnowledgeIndex, option_id: &str) -> Option<String> {
    let o = ix.option(option_id)?;
    let g = ix.option_group(o)?;
    let items: Vec<&str> = ix
        .items_with_option(o)
        .filter(|i| i.available)
        .map(|i| i.name.as_str())
        .collect();
    let price = option_price(o.price);
    let on = match items.len() {
        0 => String::new(),
        n if n <= 4 => format!(" on {}", join_list(&items, "and")),
        n => format!(" on {n} of our items, like {} and {}", items[0], items[1]),
    };
    Some(format!(
        "Yes, {} is one of our {} choices{on}, {price}.",
        o.name,
        g.name.to_lowercase()
    ))
}

/// "for 75 cents extra" style: how an add-on's price sounds.
fn option_price(c: Cents) -> String {
    match c.0 {
        0 => "at no extra charge".to_owned(),
        n if n > 0 => format!("for {} extra", c.spoken()),
        _ => format!("for {} less", Cents(-c.0).spoken()),
    }
}

// ---------------------------------------------------------------------------------------------
// get_modifiers_info

pub fn modifiers_info(ix: &KnowledgeIndex, item: &str) -> String {
    let hits = ix.search(item, KindFilter::ITEMS, 3);
    let Some(top) = hits.first().filter(|h| h.confidence >= Confidence::Medium) else {
        let offers: Vec<&str> = hits.iter().map(|h| h.name.as_str()).collect();
        return if offers.is_empty() {
            format!("Sorry, I couldn't find {} on our menu.", echo(item))
        } else {
            format!(
                "I'm not sure which item you mean. Did you mean {}?",
                join_list(&offers, "or")
            )
        };
    };
    let Some(i) = ix.item(&top.id) else {
        return format!("Sorry, I couldn't find {} on our menu.", echo(item));
    };
    let prefix = if top.confidence == Confidence::Medium {
        format!("Did you mean {}? ", i.name)
    } else {
        String::new()
    };
    let groups: Vec<String> = ix
        .item_groups(i)
        .map(|g| {
            let opts: Vec<String> = ix
                .group_options(g)
                .map(|o| match o.price.0 {
                    0 => o.name.clone(),
                    n if n > 0 => format!("{} plus {}", o.name, o.price.spoken()),
                    _ => format!("{} {} less", o.name, Cents(-o.price.0).spoken()),
                })
                .collect();
            let how = match (g.min, g.max) {
                (1, 1) => "pick one".to_owned(),
                (0, 1) => "optional, pick one".to_owned(),
                (0, m) => format!("optional, up to {m}"),
                (a, b) if a == b => format!("pick {a}"),
                (a, b) => format!("pick {a} to {b}"),
            };
            let default = ix
                .default_option(g)
                .map(|o| format!(", {} if you don't say", o.name))
                .unwrap_or_default();
            format!("{} ({how}{default}): {}", g.name, join_list(&opts, "or"))
        })
        .collect();
    if groups.is_empty() {
        return format!(
            "{prefix}{} has no options to choose; it's {}.",
            i.name,
            i.price.spoken()
        );
    }
    let rules: Vec<String> = ix
        .rules()
        .iter()
        .filter(|r| rule_applies_to(ix, r, i))
        .map(|r| match r {
            Rule::Requires { message, .. } | Rule::UnavailableWith { message, .. } => {
                hostline_shared::speech::sentence(message)
            }
        })
        .collect();
    let rules = if rules.is_empty() {
        String::new()
    } else {
        format!(" {}", rules.join(" "))
    };
    format!(
        "{prefix}{} is {}. Choices: {}.{rules}",
        i.name,
        i.price.spoken(),
        groups.join("; ")
    )
}

fn rule_applies_to(ix: &KnowledgeIndex, r: &Rule, item: &ItemInfo) -> bool {
    let has_option = |id: &str| {
        ix.option(id)
            .is_some_and(|o| item.modifier_groups.contains(&o.group))
    };
    match r {
        Rule::Requires { option, .. } => has_option(option),
        Rule::UnavailableWith { option, items, .. } => {
            items.contains(&item.id) && has_option(option)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// get_hours_info

pub fn hours_info(r: &Restaurant, day: Option<&str>, now: jiff::Timestamp) -> String {
    let today = now.to_zoned(r.business.timezone.tz().clone()).date();
    if let Some(date) = day.and_then(|d| named_closure(r, d, today)) {
        return describe_day(r, date);
    }
    match day.map(parse_day) {
        None | Some(DayQuery::Today) => {
            format!("{} {}", describe_now(r, now), describe_day(r, today))
        }
        Some(DayQuery::Date(d)) => describe_day(r, d.resolve(today)),
        Some(DayQuery::Weekend) => {
            let sat = DayRef::Weekday(Weekday::Saturday).resolve(today);
            let sun = DayRef::Weekday(Weekday::Sunday).resolve(today);
            let (first, second) = if sun < sat { (sun, sat) } else { (sat, sun) };
            format!("{} {}", describe_day(r, first), describe_day(r, second))
        }
        Some(DayQuery::Week) => describe_week(r),
    }
}

enum DayQuery {
    Today,
    Date(DayRef),
    Weekend,
    Week,
}

enum DayRef {
    Tomorrow,
    Weekday(Weekday),
    Exact(Date),
    /// Month and day, in the coming year.
    MonthDay(i8, i8),
}

impl DayRef {
    fn resolve(&self, today: Date) -> Date {
        match self {
            DayRef::Tomorrow => today.tomorrow().unwrap_or(today),
            DayRef::Weekday(w) => {
                let ahead = (w.to_monday_zero_offset() - today.weekday().to_monday_zero_offset())
                    .rem_euclid(7);
                today
                    .checked_add(jiff::Span::new().days(i64::from(ahead)))
                    .unwrap_or(today)
            }
            DayRef::Exact(d) => *d,
            DayRef::MonthDay(m, d) => {
                let this_year = Date::new(today.year(), *m, *d).ok();
                match this_year {
                    Some(x) if x >= today => x,
                    _ => Date::new(today.year() + 1, *m, *d).unwrap_or(today),
                }
            }
        }
    }
}

fn parse_day(raw: &str) -> DayQuery {
    let s = raw.trim().to_lowercase();
    if let Ok(d) = s.parse::<Date>() {
        return DayQuery::Date(DayRef::Exact(d));
    }
    let words: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    if has("tomorrow") {
        return DayQuery::Date(DayRef::Tomorrow);
    }
    if has("today") || has("now") || has("tonight") || words.is_empty() {
        return DayQuery::Today;
    }
    if has("weekend") {
        return DayQuery::Weekend;
    }
    for w in &words {
        if let Some(wd) = weekday(w) {
            return DayQuery::Date(DayRef::Weekday(wd));
        }
    }
    if let Some(md) = month_day(&words) {
        return DayQuery::Date(md);
    }
    DayQuery::Week
}

/// A closure named in the question ("are you open on thanksgiving?"): the next one whose reason
/// shares a word with it.
fn named_closure(r: &Restaurant, day: &str, today: Date) -> Option<Date> {
    let words: Vec<String> = day
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 4)
        .map(str::to_owned)
        .collect();
    r.closures
        .iter()
        .filter(|c| c.date >= today)
        .filter(|c| {
            c.reason.as_deref().is_some_and(|reason| {
                let reason = reason.to_lowercase();
                words.iter().any(|w| reason.contains(w.as_str()))
            })
        })
        .map(|c| c.date)
        .min()
}

fn weekday(w: &str) -> Option<Weekday> {
    let w = w.trim_end_matches('s');
    Some(match w {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tues" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

fn month_day(words: &[&str]) -> Option<DayRef> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month_of = |w: &str| {
        MONTHS
            .iter()
            .position(|m| w.starts_with(m) && (w.len() == 3 || w.len() >= 4))
            .map(|i| i as i8 + 1)
    };
    let day_of = |w: &str| {
        let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
        let rest = &w[digits.len()..];
        let ok_suffix = matches!(rest, "" | "st" | "nd" | "rd" | "th");
        digits
            .parse::<i8>()
            .ok()
            .filter(|d| (1..=31).contains(d) && ok_suffix)
    };
    for (i, w) in words.iter().enumerate() {
        if let Some(m) = month_of(w) {
            let day = words.get(i + 1).and_then(|n| day_of(n)).or_else(|| {
                i.checked_sub(1)
                    .and_then(|j| words.get(j))
                    .and_then(|n| day_of(n))
            });
            if let Some(d) = day {
                return Some(DayRef::MonthDay(m, d));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// search_faq

pub fn faq(ix: &KnowledgeIndex, query: &str) -> String {
    let hits = ix.search(query, KindFilter::FAQ, 2);
    match hits.first() {
        Some(h) if h.confidence >= Confidence::Medium => ix
            .faq(&h.id)
            .map(|f| f.answer.clone())
            .unwrap_or_else(no_answer),
        _ => no_answer(),
    }
}

fn no_answer() -> String {
    "I don't have information about that. I can help with the menu, hours or delivery.".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A taqueria whose two tongue-and-cheek tacos sound alike, and nothing like a burger.
    fn taqueria() -> KnowledgeIndex {
        let doc = r#"{
          "format": "hostline.restaurant/v1",
          "business": {"name": "T", "address": "1 Main St, Chicago, IL 60601", "timezone": "America/Chicago", "currency": "USD",
            "tax_rate_bps": 1000, "phone_lines": [{"e164": "+17735550199", "label": "main"}]},
          "hours": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "open": "10:00", "close": "22:00"}],
          "fulfillment": {"pickup": true, "delivery": false, "prep_minutes": 10},
          "menu": {"categories": [{"name": "Tacos", "items": [
            {"id": "taco-lengua", "name": "Taco de Lengua", "price_cents": 450,
             "description": "Braised beef tongue, onion, cilantro."},
            {"id": "taco-cabeza", "name": "Taco de Cabeza", "price_cents": 450,
             "description": "Slow steamed beef head, onion, cilantro."},
            {"id": "agua-jamaica", "name": "Agua de Jamaica", "price_cents": 350,
             "description": "Chilled hibiscus flower water."}
          ]}]},
          "faq": []
        }"#;
        let r = match Restaurant::parse(doc) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        KnowledgeIndex::build(&r)
    }

    #[test]
    fn two_close_guesses_are_both_offered() {
        let ix = taqueria();
        let hits = ix.search("the beef taco", KindFilter::MENU, 3);
        assert!(hits.len() >= 2, "{hits:?}");
        assert_eq!(
            menu_info(&ix, Some("the beef taco"), None),
            "Did you mean the Taco de Lengua or the Taco de Cabeza?"
        );
    }

    #[test]
    fn nothing_found_names_the_closest_two() {
        let ix = taqueria();
        assert_eq!(
            menu_info(&ix, Some("a lengua burrito with jamaica"), None),
            "Sorry, I couldn't find a lengua burrito with jamaica on our menu. The closest we \
             have are Taco de Lengua and Agua de Jamaica."
        );
    }
}
