//! The order tools. The business and line come from the tool credential (as for the
//! knowledge tools); the cart is the call's (`message.call.id`). Every tool call is answered
//! with a sentence to say; a repeated `toolCallId` gets its first answer back, unapplied.
//!
//! | tool | arguments | does |
//! |---|---|---|
//! | `add_to_cart` | `item`, `quantity?`, `modifiers?` (list or comma-separated), `notes?` | stages one line and reads it back |
//! | `update_pending_item` | `quantity?`, `modifiers?`, `notes?` | changes the staged line (modifiers given replace the ones said) |
//! | `confirm_pending_to_cart` | — | the caller said yes: the staged line joins the cart |
//! | `clear_pending_item` | — | drops the staged line |
//! | `remove_from_cart` | `item_or_index` | removes a line, by its number in the read-out or by name |
//! | `view_cart` | — | reads the cart and its totals |
//! | `set_fulfillment` | `type` (`pickup`/`delivery`), `address?`, `time?` | delivery checks the zone by zip, its fee and minimum; a time later today is checked against the lead time and the hours |
//! | `save_phone_number` | `phone` ("this number": the caller's) | the number the order's texts go to (kept hashed and sealed) |
//! | `lookup_previous_orders` | — | the caller's last order from this number, for "the usual" |
//! | `checkout_order` | — | places the order once; answers its number and total |
//! | `order_status` | — | the status of this call's order |

use hostline_shared::api::{ApiError, one_route};
use hostline_shared::call_log::Caller;
use hostline_shared::credential::ToolCredential;
use hostline_shared::hours::{spoken_date, spoken_when};
use hostline_shared::http::{Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::knowledge::{Confidence, KindFilter, content_stems, sounds_like_word};
use hostline_shared::orders::checkout::{self, valid_call_id};
use hostline_shared::orders::schedule::wanted_time;
use hostline_shared::orders::{
    Cart, Checkout, LineRequest, OrderStatus, Placement, Via, check_line,
};
use hostline_shared::phone::{Country, PhoneE164};
use hostline_shared::pii::PiiKeys;
use hostline_shared::publish::{load_published, load_restaurant};
use hostline_shared::restaurant::Restaurant;
use hostline_shared::settings::Settings;
use hostline_shared::store::Store;
use hostline_shared::tenancy::{NotRouted, Published, credential_business};
use hostline_shared::tools;
use hostline_shared::vapi::{ToolCall, ToolResult, ToolResults, accept_tool_message, ignored};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Config {
    /// Verifies the per-business tool credential (`tool_token_key`).
    pub tool_token_key: String,
    /// Keeps the customer's number as a keyed hash and sealed (`pii_hash_key`,
    /// `pii_encryption_key`), never in the clear.
    pub pii: PiiKeys,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    Config {
        tool_token_key: settings.get("tool_token_key").await,
        pii: PiiKeys::new(
            &settings.get("pii_hash_key").await,
            &settings.get("pii_encryption_key").await,
        ),
    }
}

const UNKNOWN_LINE: &str = "Sorry, I can't take an order for this phone line.";
const NOT_TAKING_CALLS: &str = "Sorry, this restaurant isn't taking orders right now.";
const TROUBLE: &str =
    "Sorry, I'm having trouble with the order system right now; please try again in a moment.";
const NO_ORDERING: &str = "Sorry, this restaurant doesn't take orders by phone.";

pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    one_route(req, "/vapi/orders", "orders", || {
        tool_calls(req, store, config, now)
    })
    .await
}

/// What a tool call needs of the business: its search index and its whole document (the
/// menu's groups and rules).
struct Menu {
    business: BusinessId,
    published: Published,
    doc: Restaurant,
    /// Whether an order goes straight to the kitchen (and with a receipt): the owner's
    /// settings.
    placement: Placement,
}

async fn tool_calls<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let Some((credential, msg)) =
        accept_tool_message(req, &config.tool_token_key, now, "tool-calls")?
    else {
        return Ok(ignored());
    };
    let Some(call_id) = msg.call_id.as_deref().filter(|c| valid_call_id(c)) else {
        return Err(ApiError::field(
            400,
            "message.call.id",
            "missing, or not 1-64 letters, digits, '-' or '_'",
        ));
    };
    let now = msg.timestamp.unwrap_or(now);
    let menu = load(store, &credential).await;
    let caller = msg
        .customer_number
        .as_deref()
        .and_then(|n| PhoneE164::parse_e164(n).ok());
    let ctx = CallContext {
        call_id,
        line: &credential.line,
        caller: caller.as_ref(),
        pii: &config.pii,
        now,
    };
    let mut results = Vec::new();
    for call in &msg.tool_calls {
        let result = match &menu {
            Ok(m) => match answer(store, m, &ctx, call).await {
                Ok(text) => ToolResult::ok(call, text),
                Err(text) => ToolResult::err(call, text),
            },
            Err(spoken) => ToolResult::err(call, *spoken),
        };
        results.push(result);
    }
    Ok(Response::json(200, &ToolResults { results }))
}

async fn load<S: Store>(store: &S, credential: &ToolCredential) -> Result<Menu, &'static str> {
    let trouble = |e: hostline_shared::store::StoreError| {
        eprintln!(
            "orders: storage error loading {}: {e}",
            credential.business_id
        );
        TROUBLE
    };
    let business = match credential_business(store, credential)
        .await
        .map_err(trouble)?
    {
        Ok(b) => b,
        Err(NotRouted::Inactive) => return Err(NOT_TAKING_CALLS),
        Err(NotRouted::UnknownLine) => return Err(UNKNOWN_LINE),
    };
    let published = load_published(store, &business)
        .await
        .map_err(trouble)?
        .ok_or(UNKNOWN_LINE)?;
    let doc = load_restaurant(store, &business)
        .await
        .map_err(trouble)?
        .ok_or(UNKNOWN_LINE)?;
    if !doc.fulfillment.pickup && !doc.fulfillment.delivery {
        return Err(NO_ORDERING);
    }
    Ok(Menu {
        business: business.id.clone(),
        published,
        doc,
        placement: business.settings.placement(),
    })
}

fn arg_str<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A quantity as a number or a numeral string; absent → `None`.
fn arg_quantity(args: &Map<String, Value>) -> Result<Option<u32>, String> {
    match args.get("quantity") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| "How many would you like?".to_owned()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| "How many would you like?".to_owned()),
        Some(_) => Err("How many would you like?".to_owned()),
    }
}

/// Modifiers as a list of phrases or one comma-separated phrase.
fn arg_modifiers(args: &Map<String, Value>) -> Option<Vec<String>> {
    let phrases: Vec<String> = match args.get("modifiers")? {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(s) => s.split([',', ';']).map(str::to_owned).collect(),
        _ => return None,
    };
    Some(
        phrases
            .into_iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .take(20)
            .collect(),
    )
}

/// The item the caller named, or the sentence to say (with the closest matches).
fn find_item(m: &Menu, said: &str) -> Result<String, String> {
    let hits = m.published.index.search(said, KindFilter::ITEMS, 3);
    if let Some(best) = hits.first()
        && best.confidence != Confidence::Low
    {
        // Two near-equal likely matches: ask rather than pick one silently.
        if let Some(second) = hits.get(1)
            && best.confidence == Confidence::Medium
            && second.confidence != Confidence::Low
            && best.score - second.score < 0.03
        {
            return Err(format!(
                "Did you mean the {} or the {}?",
                best.name, second.name
            ));
        }
        return Ok(best.id.clone());
    }
    let close = m.published.index.closest(said, KindFilter::ITEMS, 3);
    let names: Vec<String> = close.into_iter().map(|h| h.name).collect();
    Err(match names.as_slice() {
        [] => format!("I couldn't find {said} on the menu."),
        [one] => format!("I couldn't find {said} on the menu; did you mean the {one}?"),
        [init @ .., last] => format!(
            "I couldn't find {said} on the menu; did you mean the {} or the {last}?",
            init.join(", the ")
        ),
    })
}

/// Option ids for what the caller said about `item_id`: an option of the item's own groups
/// first; an option of another item is passed on so the menu check says it doesn't go.
fn find_options(m: &Menu, item_id: &str, phrases: &[String]) -> Result<Vec<String>, String> {
    let doc = &m.doc;
    let item = doc.item(item_id);
    let own: Vec<&str> = item
        .map(|i| {
            doc.menu
                .modifier_groups
                .iter()
                .filter(|g| i.modifier_groups.contains(&g.id))
                .flat_map(|g| g.options.iter().map(|o| o.id.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut ids = Vec::new();
    for phrase in phrases {
        let hits = m.published.index.search(phrase, KindFilter::OPTIONS, 10);
        let likely: Vec<_> = hits
            .iter()
            .filter(|h| h.confidence != Confidence::Low)
            .collect();
        if let Some(h) = likely.iter().find(|h| own.contains(&h.id.as_str())) {
            ids.push(h.id.clone());
        } else if let Some(h) = likely.first() {
            ids.push(h.id.clone());
        } else {
            let name = item.map(|i| i.name.as_str()).unwrap_or("item");
            return Err(format!(
                "I couldn't find {phrase} as a choice for the {name}."
            ));
        }
    }
    Ok(ids)
}

/// Choices the caller named inside the item's own phrase ("a large pepperoni", "hand tossed
/// cheese pizza"): runs of words that are not the item's name, aliases or description (nor a
/// misheard spelling of one of their words), each matched to the one option of the item's own
/// groups whose name holds all of the run's words with the fewest others ("large" is Large
/// (14 inch), not Extra Large (16 inch)); a tie is left for the caller to say. Only groups
/// the caller's `modifiers` left open, unless the group takes several.
fn options_in_item_phrase(m: &Menu, item_id: &str, said: &str, chosen: &[String]) -> Vec<String> {
    let doc = &m.doc;
    let Some(item) = doc.item(item_id) else {
        return Vec::new();
    };
    let groups: Vec<_> = doc
        .menu
        .modifier_groups
        .iter()
        .filter(|g| item.modifier_groups.contains(&g.id))
        .collect();
    let group_of = |option: &str| {
        groups
            .iter()
            .find(|g| g.options.iter().any(|o| o.id == option))
            .copied()
    };
    let mut known = content_stems(&item.name);
    known.extend(content_stems(&item.description));
    for a in &item.aliases {
        known.extend(content_stems(a));
    }
    let is_number = |w: &str| w.chars().all(|c| c.is_ascii_digit());
    // Runs of leftover words, in order.
    let mut runs: Vec<Vec<String>> = vec![Vec::new()];
    for w in content_stems(said) {
        let leftover = !is_number(&w) && !known.iter().any(|k| sounds_like_word(k, &w));
        match (leftover, runs.last_mut()) {
            (true, Some(run)) => run.push(w),
            (false, Some(run)) if !run.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    let mut taken: Vec<&str> = chosen
        .iter()
        .filter_map(|o| group_of(o))
        .map(|g| g.id.as_str())
        .collect();
    let mut found = Vec::new();
    for run in runs.iter().filter(|r| !r.is_empty()) {
        // (extra words, option id, group)
        let mut fits: Vec<(usize, &str, &str, u32)> = Vec::new();
        for g in &groups {
            for o in &g.options {
                let mut words = content_stems(&o.name);
                for a in &o.aliases {
                    words.extend(content_stems(a));
                }
                if run.iter().all(|w| words.contains(w)) {
                    let extra = words
                        .iter()
                        .filter(|w| !is_number(w) && !run.contains(w))
                        .count();
                    fits.push((extra, o.id.as_str(), g.id.as_str(), g.max));
                }
            }
        }
        fits.sort_unstable();
        let best = match fits.as_slice() {
            [one] => one,
            [a, b, ..] if a.0 < b.0 => a,
            _ => continue,
        };
        let (_, option, group, max) = *best;
        if (max > 1 || !taken.contains(&group))
            && !chosen.iter().any(|c| c == option)
            && !found.iter().any(|f| f == option)
        {
            found.push(option.to_owned());
            taken.push(group);
        }
    }
    found
}

/// What a tool call knows of the call it belongs to.
struct CallContext<'a> {
    call_id: &'a str,
    /// The business line the caller dialled (from the tool credential).
    line: &'a PhoneE164,
    /// The number the caller is calling from (caller ID), when the platform gave one.
    caller: Option<&'a PhoneE164>,
    pii: &'a PiiKeys,
    now: jiff::Timestamp,
}

impl CallContext<'_> {
    /// A number as kept on an order: keyed hash and sealed.
    fn kept(&self, number: &PhoneE164) -> Option<Caller> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).ok()?;
        Caller::of(self.pii, number, nonce)
    }
}

/// Apply `change` to the call's cart as tool call `tool_call_id` (once, however often sent).
async fn edit<S: Store>(
    store: &S,
    m: &Menu,
    call_id: &str,
    tool_call_id: &str,
    now: jiff::Timestamp,
    change: impl FnMut(&mut Cart) -> String,
) -> Result<String, String> {
    checkout::with_cart(store, &m.business, call_id, tool_call_id, now, change)
        .await
        .map_err(|e| {
            eprintln!("orders: storage error on the cart of {call_id}: {e}");
            TROUBLE.to_owned()
        })
}

/// One tool call's answer (`Err`: said as the tool's error).
async fn answer<S: Store>(
    store: &S,
    m: &Menu,
    ctx: &CallContext<'_>,
    call: &ToolCall,
) -> Result<String, String> {
    let (call_id, now) = (ctx.call_id, ctx.now);
    let args = call.arguments.clone().map_err(|e| {
        eprintln!("orders: unreadable arguments for {}: {e}", call.name);
        "Sorry, I didn't catch that; could you say it again?".to_owned()
    })?;
    let doc = &m.doc;
    match call.name.as_str() {
        tools::ADD_TO_CART => {
            let Some(said) = arg_str(&args, "item") else {
                return Err("What would you like to order?".into());
            };
            let item_id = find_item(m, said)?;
            let mut options = find_options(m, &item_id, &arg_modifiers(&args).unwrap_or_default())?;
            let named_with_item = options_in_item_phrase(m, &item_id, said, &options);
            options.extend(named_with_item);
            let req = LineRequest {
                item_id,
                quantity: arg_quantity(&args)?.unwrap_or(1),
                options,
                notes: arg_str(&args, "notes").map(str::to_owned),
            };
            let line = check_line(doc, &req).map_err(|e| e.sentence())?;
            edit(store, m, call_id, &call.id, now, move |c| {
                c.stage(line.clone())
            })
            .await
        }
        tools::UPDATE_PENDING_ITEM => {
            let quantity = arg_quantity(&args)?;
            let modifiers = arg_modifiers(&args);
            let notes = arg_str(&args, "notes").map(str::to_owned);
            let current = checkout::cart(store, &m.business, call_id)
                .await
                .map_err(|_| TROUBLE.to_owned())?
                .and_then(|c| c.pending);
            let Some(pending) = current else {
                return Err("There's nothing waiting to be changed; what would you like?".into());
            };
            let options = match &modifiers {
                Some(phrases) => find_options(m, &pending.item_id, phrases)?,
                None => pending
                    .options
                    .iter()
                    .filter(|o| !o.by_default)
                    .map(|o| o.id.clone())
                    .collect(),
            };
            let req = LineRequest {
                item_id: pending.item_id.clone(),
                quantity: quantity.unwrap_or(pending.quantity),
                options,
                notes: notes.or(pending.notes.clone()),
            };
            let line = check_line(doc, &req).map_err(|e| e.sentence())?;
            edit(store, m, call_id, &call.id, now, move |c| {
                c.stage(line.clone())
            })
            .await
        }
        tools::CONFIRM_PENDING_TO_CART => {
            edit(store, m, call_id, &call.id, now, |c| {
                c.confirm_pending(doc).unwrap_or_else(|e| e)
            })
            .await
        }
        tools::CLEAR_PENDING_ITEM => {
            edit(store, m, call_id, &call.id, now, |c| c.clear_pending()).await
        }
        tools::REMOVE_FROM_CART => {
            let target = match args.get("item_or_index") {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s.trim().to_owned(),
                _ => return Err("Which item should I take off?".into()),
            };
            edit(store, m, call_id, &call.id, now, move |c| {
                let index = match target.parse::<usize>() {
                    Ok(i) => i,
                    Err(_) => {
                        let wanted = find_item(m, &target).ok();
                        match c
                            .lines
                            .iter()
                            .position(|l| Some(&l.item_id) == wanted.as_ref())
                        {
                            Some(i) => i + 1,
                            None => return format!("I don't see {target} in your order."),
                        }
                    }
                };
                c.remove(doc, index).unwrap_or_else(|e| e)
            })
            .await
        }
        tools::VIEW_CART => Ok(checkout::cart(store, &m.business, call_id)
            .await
            .map_err(|_| TROUBLE.to_owned())?
            .filter(|c| !c.expired(now))
            .map(|c| c.view(doc))
            .unwrap_or_else(|| "Your order is empty so far.".into())),
        tools::SET_FULFILLMENT => {
            let kind = arg_str(&args, "type").map(str::to_ascii_lowercase);
            let address = arg_str(&args, "address").map(str::to_owned);
            let delivery = match kind.as_deref() {
                Some("pickup") | Some("pick up") | Some("carryout") => false,
                Some("delivery") => true,
                _ => return Err("Is this for pickup or delivery?".into()),
            };
            if delivery && address.is_none() {
                return Err("What's the delivery address, with the zip code?".into());
            }
            let lead = if delivery {
                doc.fulfillment
                    .delivery_minutes
                    .unwrap_or(doc.fulfillment.prep_minutes)
            } else {
                doc.fulfillment.prep_minutes
            };
            let wanted = match arg_str(&args, "time") {
                Some(t) => wanted_time(doc, t, lead, now)?,
                None => None,
            };
            let tz = doc.business.timezone.tz().clone();
            edit(store, m, call_id, &call.id, now, move |c| {
                let said = match &address {
                    Some(a) if delivery => c.set_delivery(doc, a),
                    _ => c.set_pickup(doc),
                };
                match (said, wanted) {
                    (Ok(said), Some(t)) => {
                        c.wanted_at = Some(t);
                        format!("{said} I'll have it for {}.", spoken_when(t, now, &tz))
                    }
                    (Ok(said), None) => {
                        c.wanted_at = None;
                        said
                    }
                    (Err(e), _) => e,
                }
            })
            .await
        }
        tools::SAVE_PHONE_NUMBER => {
            let said = arg_str(&args, "phone").unwrap_or("this number");
            let lower = said.to_ascii_lowercase();
            let digits = said.chars().filter(char::is_ascii_digit).count();
            let number = if digits < 7
                && ["this", "same", "my", "calling", "current"]
                    .iter()
                    .any(|w| lower.contains(w))
            {
                ctx.caller.cloned().ok_or(
                    "I can't see the number you're calling from; what number should I use?",
                )?
            } else {
                let country = Country::from_currency(&doc.business.currency).unwrap_or(Country::US);
                PhoneE164::parse(said, country).map_err(
                    |_| "Sorry, I didn't get that number; could you say it again, digit by digit?",
                )?
            };
            let kept = ctx.kept(&number).ok_or_else(|| {
                eprintln!("orders: pii keys are not set; cannot keep a phone number");
                TROUBLE.to_owned()
            })?;
            let digits: Vec<char> = number.as_str().chars().collect();
            let last4 = spaced(&digits[digits.len().saturating_sub(4)..]);
            edit(store, m, call_id, &call.id, now, move |c| {
                c.phone = Some(kept.clone());
                format!("Got it: I'll text about the order to the number ending in {last4}.")
            })
            .await
        }
        tools::LOOKUP_PREVIOUS_ORDERS => {
            let saved = checkout::cart(store, &m.business, call_id)
                .await
                .map_err(|_| TROUBLE.to_owned())?
                .and_then(|c| c.phone)
                .map(|p| p.hash);
            let Some(hash) = saved.or_else(|| ctx.caller.and_then(|n| ctx.pii.hash(n))) else {
                return Ok(
                    "I can't see the number you're calling from, so I can't look up earlier orders."
                        .into(),
                );
            };
            let own = format!("o-{call_id}");
            let earlier = checkout::orders_of(store, &m.business, &hash, 3, &own)
                .await
                .map_err(|_| TROUBLE.to_owned())?;
            Ok(match earlier.first() {
                None => "I don't see any earlier orders from this number.".into(),
                Some(last) => format!(
                    "Last time, on {}, you had {}. Would you like the same again?",
                    spoken_date(last.day),
                    last.said_lines()
                ),
            })
        }
        tools::CHECKOUT_ORDER => {
            let via = Via {
                caller: ctx.caller.and_then(|n| ctx.kept(n)),
                line: Some(ctx.line.clone()),
            };
            let placed =
                checkout::checkout_with(store, doc, &m.business, call_id, m.placement, &via, now)
                    .await
                    .map_err(|e| {
                        eprintln!("orders: storage error checking out {call_id}: {e}");
                        TROUBLE.to_owned()
                    })?;
            match placed {
                Checkout::Placed(o) => {
                    let tz = doc.business.timezone.tz();
                    let when = match (&o.fulfillment, o.wanted_at) {
                        (hostline_shared::orders::Fulfillment::Pickup, Some(t)) => {
                            format!("It'll be ready for pickup at {}.", spoken_when(t, now, tz))
                        }
                        (hostline_shared::orders::Fulfillment::Delivery { .. }, Some(t)) => {
                            format!("It'll be with you around {}.", spoken_when(t, now, tz))
                        }
                        _ => match &o.fulfillment {
                            hostline_shared::orders::Fulfillment::Pickup => format!(
                                "It'll be ready for pickup in about {} minutes.",
                                doc.fulfillment.prep_minutes
                            ),
                            hostline_shared::orders::Fulfillment::Delivery { .. } => format!(
                                "It'll be with you in about {} minutes.",
                                doc.fulfillment
                                    .delivery_minutes
                                    .unwrap_or(doc.fulfillment.prep_minutes)
                            ),
                        },
                    };
                    Ok(format!(
                        "Your order is in: order number {}. The total is {}. {when}",
                        o.spoken_number(),
                        o.totals.total_cents.spoken()
                    ))
                }
                Checkout::NotReady(why) => Err(why),
            }
        }
        tools::ORDER_STATUS => {
            let order = checkout::order(store, &m.business, &format!("o-{call_id}"))
                .await
                .map_err(|_| TROUBLE.to_owned())?;
            Ok(match order {
                None => "There's no order on this call yet.".into(),
                Some(o) => format!(
                    "Order number {} is {}.",
                    o.spoken_number(),
                    match o.status {
                        OrderStatus::Received => "in, waiting for the kitchen",
                        OrderStatus::Accepted => "accepted by the kitchen",
                        OrderStatus::Preparing => "being prepared",
                        OrderStatus::Ready => "ready",
                        OrderStatus::Completed => "complete",
                        OrderStatus::Cancelled => "cancelled",
                    }
                ),
            })
        }
        other => {
            eprintln!("orders: unknown tool {other:?}");
            Err("Sorry, I can't do that here.".into())
        }
    }
}

/// Digits said one by one: "0 1 2 3".
fn spaced(digits: &[char]) -> String {
    digits
        .iter()
        .map(char::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
