//! The inline assistant returned to Vapi: greeting, a system prompt built from the business
//! profile, the knowledge tools with their schemas and server URL, the events server URL and
//! metadata naming the business. Pure: the same inputs give the same JSON.

use hostline_shared::ids::BusinessId;
use hostline_shared::phone::PhoneE164;
use hostline_shared::restaurant::{Day, Restaurant};
use hostline_shared::speech::join_list;
use hostline_shared::tools::knowledge_tools;
use serde_json::{Value, json};

pub struct Inputs<'a> {
    pub business_id: &'a BusinessId,
    pub line: &'a PhoneE164,
    pub restaurant: &'a Restaurant,
    /// e.g. `https://hostline.example.com`; a trailing slash is tolerated.
    pub public_base_url: &'a str,
    /// Echoed in the tool and event server headers so Vapi authenticates its later calls the
    /// same way it authenticated this one (the requester already holds it).
    pub vapi_secret: &'a str,
    /// The message timestamp (or the clock): the prompt states the local date and time.
    pub now: jiff::Timestamp,
}

/// How long Vapi waits for a tool answer before giving up.
const TOOL_TIMEOUT_SECONDS: u32 = 20;

pub fn build(i: &Inputs<'_>) -> Value {
    let base = i.public_base_url.trim_end_matches('/');
    let r = i.restaurant;
    let server = |path: &str| {
        json!({
            "url": format!("{base}{path}"),
            "timeoutSeconds": TOOL_TIMEOUT_SECONDS,
            "headers": {"X-Vapi-Secret": i.vapi_secret},
        })
    };
    let tools: Vec<Value> = knowledge_tools()
        .into_iter()
        .map(|t| {
            json!({
                "type": "function",
                "async": false,
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                "server": server("/vapi/knowledge-base"),
            })
        })
        .collect();
    json!({
        "name": truncate(&format!("{} host", r.business.name), 40),
        "firstMessage": first_message(r),
        "firstMessageMode": "assistant-speaks-first",
        "model": {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "temperature": 0.3,
            "messages": [{"role": "system", "content": system_prompt(r, i.now)}],
            "tools": tools,
        },
        "server": server("/vapi/events"),
        "serverMessages": ["end-of-call-report", "status-update", "hang"],
        "metadata": {
            "business_id": i.business_id.as_str(),
            "line": i.line.as_str(),
        },
    })
}

/// Vapi caps assistant names; keep whole characters.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

pub fn first_message(r: &Restaurant) -> String {
    match &r.business.greeting {
        Some(g) if !g.trim().is_empty() => g.trim().to_owned(),
        _ => format!(
            "Thanks for calling {}! How can I help you?",
            r.business.name
        ),
    }
}

pub fn system_prompt(r: &Restaurant, now: jiff::Timestamp) -> String {
    let b = &r.business;
    let local = now.to_zoned(b.timezone.tz().clone());
    let today = local.strftime("%A, %B %-d, %Y, %-I:%M %p");
    let categories: Vec<&str> = r.menu.categories.iter().map(|c| c.name.as_str()).collect();
    let mut fulfil = Vec::new();
    if r.fulfillment.pickup {
        fulfil.push(format!(
            "pickup (ready in about {} minutes)",
            r.fulfillment.prep_minutes
        ));
    }
    if r.fulfillment.delivery {
        fulfil.push(match r.fulfillment.delivery_minutes {
            Some(m) => format!("delivery (about {m} minutes)"),
            None => "delivery".to_owned(),
        });
    }
    let fulfil = if fulfil.is_empty() {
        "dine-in only".to_owned()
    } else {
        join_list(&fulfil, "and")
    };
    format!(
        "You are the friendly phone host for {name}, a restaurant at {address}. \
It is now {today} local time ({tz}). \
The menu has these sections: {cats}. The restaurant offers {fulfil}. \
Weekly hours: {hours}. \
Rules: keep every reply short and natural, one or two sentences, as spoken on the phone. \
Never guess menu items, prices, hours, delivery areas or policies: call the tools (get_menu_info, \
get_modifiers_info, get_hours_info, get_delivery_info, search_faq) and say what they return. \
Callers' words reach you through speech recognition and may be misheard; pass the caller's words to \
the tools as said, and when a tool answer asks 'did you mean', ask the caller that question instead of assuming. \
Say prices the way the tools do, like five dollars fifty. \
Taking orders by phone is not available on this line yet: if a caller wants to order, tell them so kindly \
and offer to answer questions about the menu, hours or delivery. \
If you can't help, apologize briefly and suggest calling back later.",
        name = b.name,
        address = b.address,
        tz = b.timezone,
        cats = if categories.is_empty() {
            "none listed".to_owned()
        } else {
            join_list(&categories, "and")
        },
        hours = weekly_hours(r),
    )
}

/// "Monday to Friday 10:00-21:00; Saturday and Sunday 11:00-22:30" style, for the prompt.
fn weekly_hours(r: &Restaurant) -> String {
    if r.hours.is_empty() {
        return "not published".to_owned();
    }
    let parts: Vec<String> = r
        .hours
        .iter()
        .map(|h| {
            let days: Vec<&str> = Day::ALL
                .iter()
                .filter(|d| h.days.contains(d))
                .map(|d| d.name())
                .collect();
            format!("{} {}-{}", join_list(&days, "and"), h.open, h.close)
        })
        .collect();
    parts.join("; ")
}
