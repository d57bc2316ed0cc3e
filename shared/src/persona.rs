//! The phone host's persona for one restaurant: its greeting and the system prompt built from
//! the business profile. Every voice platform uses the same words: the Vapi assistant
//! (assistant-request) and the voice agent behind the media relay (twilio-voice).

use crate::restaurant::{Day, Restaurant};
use crate::speech::join_list;
use crate::tenancy::AssistantSettings;

/// The greeting: the owner's setting, else the document's, else ours.
pub fn greeting(r: &Restaurant, settings: &AssistantSettings) -> String {
    match &settings.greeting {
        Some(g) if !g.trim().is_empty() => g.trim().to_owned(),
        _ => first_message(r),
    }
}

/// The system prompt with the owner's own instructions, if any, after ours.
pub fn prompt(r: &Restaurant, settings: &AssistantSettings, now: jiff::Timestamp) -> String {
    let mut p = system_prompt(r, now, settings.ordering_on(r));
    if let Some(extra) = settings.prompt_additions.as_deref().map(str::trim)
        && !extra.is_empty()
    {
        p.push_str("\n\nThe restaurant's own instructions (follow them unless they conflict with the rules above):\n");
        p.push_str(extra);
    }
    p
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

pub fn system_prompt(r: &Restaurant, now: jiff::Timestamp, ordering: bool) -> String {
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
{orders} \
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
        orders = if ordering { ORDERING } else { NO_ORDERING },
    )
}

/// How the host takes an order: stage, read back, confirm, fulfilment, total, checkout.
const ORDERING: &str = "You take orders by phone. For each item the caller wants, call add_to_cart with the item, \
quantity and choices in their words, say the read-back it answers and ask them to confirm; call \
confirm_pending_to_cart only after they say yes, update_pending_item if they change it, clear_pending_item if \
they drop it. If a tool asks a question (a size, a choice), ask the caller exactly that; never choose for them. \
Ask whether the order is for pickup or delivery and call set_fulfillment (for delivery, with the address and \
ZIP code; with a time if they want it later, today or another day). If they want texts at another number than the one they \
call from, call save_phone_number. For 'the usual' or 'same as last time', call lookup_previous_orders. When \
they are done, call view_cart and read the order and total back, then call checkout_order and tell them the \
order number digit by digit.";

/// What the host says when ordering is off.
const NO_ORDERING: &str = "Taking orders by phone is not available on this line: if a caller wants to order, tell \
them so kindly and offer to answer questions about the menu, hours or delivery.";

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
