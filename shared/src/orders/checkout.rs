//! The storage side of ordering: one cart record per call, changed with compare-and-swap and
//! answering a repeated tool call with its first answer; and checkout, which turns a cart into
//! an order exactly once.
//!
//! Keys: the cart at `biz/{b}/carts/{call}`; orders at `biz/{b}/orders/{order}` (the id is
//! `o-{call}`: one order per call, so a retried checkout finds the order it made); the day's
//! counter at `biz/{b}/order-count/{date}` (local date); the list index at
//! `biz/{b}/order-index/{rank}`, newest first, and under the contact number's keyed hash at
//! `biz/{b}/customer-orders/{hash}/{rank}` (for "the usual").
//!
//! Checkout's steps, each safe to repeat after a crash at any point: the order number is
//! allocated (an atomic increment: a number is never given twice, and one allocated
//! by a checkout that then failed is skipped, never reused); the list index entry; the order,
//! created only if absent (the commit point: from here the order exists); the cart marked
//! with it. A retry finds the cart marked, or the order present, and answers the same order.
//! An order accepted at once ([`Placement::auto_accept`]) has its print jobs queued before
//! the commit point ([`crate::printing`]).

use super::cart::{Cart, Fulfillment};
use super::line::CartLine;
use super::totals::Totals;
use crate::call_log::Caller;
use crate::hours::{OpenState, describe_open_state, open_state};
use crate::ids::BusinessId;
use crate::outbox::{self, TextEvent};
use crate::phone::PhoneE164;
use crate::restaurant::Restaurant;
use crate::store::{Store, StoreError, keys};
use crate::tenancy::{newest_first, read_json, read_json_versioned, to_json, update_json};
use serde::{Deserialize, Serialize};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Received,
    Accepted,
    Preparing,
    Ready,
    Completed,
    Cancelled,
}

/// One change of status: what, when, by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: jiff::Timestamp,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A placed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    /// Short, read digit by digit ("1 0 7"); unique per business per local day.
    pub number: String,
    pub business_id: BusinessId,
    pub call_id: String,
    pub lines: Vec<CartLine>,
    pub fulfillment: Fulfillment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Caller>,
    pub totals: Totals,
    pub status: OrderStatus,
    pub history: Vec<StatusChange>,
    pub placed_at: jiff::Timestamp,
    /// The local date its number belongs to.
    pub day: jiff::civil::Date,
    /// The voice path that took it.
    #[serde(default)]
    pub channel: Channel,
    /// The business line the caller dialled (texts about the order come from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<PhoneE164>,
}

impl Order {
    /// The number as it is said: each digit on its own.
    pub fn spoken_number(&self) -> String {
        self.number
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A call id safe in a key: 1 to 64 letters, digits, `-` or `_`.
pub fn valid_call_id(id: &str) -> bool {
    crate::call_log::VapiCallId::parse(id).is_some()
}

/// Run one tool call against the call's cart: `change` edits a copy and returns the answer;
/// the cart is written with compare-and-swap (retried when another tool call of the same call
/// won) together with the answer, so the same `tool_call_id` again returns that answer without
/// applying it twice. An expired cart starts afresh.
pub async fn with_cart<S: Store>(
    store: &S,
    business: &BusinessId,
    call_id: &str,
    tool_call_id: &str,
    now: jiff::Timestamp,
    mut change: impl FnMut(&mut Cart) -> String,
) -> Result<String, StoreError> {
    let key = keys::cart(business, call_id);
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let (current, version) = match read_json_versioned::<_, Cart>(store, &key).await? {
            Some((c, v)) => (Some(c), Some(v)),
            None => (None, None),
        };
        if let Some(c) = &current
            && let Some(a) = c.answered(tool_call_id)
        {
            return Ok(a.to_owned());
        }
        let mut cart = match current {
            Some(c) if !c.expired(now) => c,
            _ => Cart::new(call_id, now),
        };
        let answer = if cart.order_id.is_some() {
            "This order is already placed; for changes, please ask for the restaurant.".to_owned()
        } else {
            change(&mut cart)
        };
        cart.remember(tool_call_id, &answer);
        cart.updated_at = now;
        match store
            .compare_and_swap(&key, version, &to_json(&cart)?)
            .await
        {
            Ok(()) => return Ok(answer),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

/// The call's cart as stored (for reading; `None`: none yet).
pub async fn cart<S: Store>(
    store: &S,
    business: &BusinessId,
    call_id: &str,
) -> Result<Option<Cart>, StoreError> {
    read_json(store, &keys::cart(business, call_id)).await
}

/// What checkout answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// The order (placed now, or by an earlier try of this call's checkout).
    Placed(Box<Order>),
    /// Not placed; the sentence says what is missing.
    NotReady(String),
}

/// "Ready for pickup around 6:40 PM" / "Arriving around 7 PM": the order's time, or now plus
/// the kitchen's lead time, in the restaurant's zone.
fn ready_by(r: &Restaurant, order: &Order, now: jiff::Timestamp) -> String {
    let (lead, lead_in) = match order.fulfillment {
        Fulfillment::Pickup => (r.fulfillment.prep_minutes, "Ready for pickup around"),
        Fulfillment::Delivery { .. } => (
            r.fulfillment
                .delivery_minutes
                .unwrap_or(r.fulfillment.prep_minutes),
            "Arriving around",
        ),
    };
    let at = order.wanted_at.unwrap_or_else(|| {
        now.checked_add(jiff::SignedDuration::from_mins(i64::from(lead)))
            .unwrap_or(now)
    });
    format!(
        "{lead_in} {}",
        crate::hours::spoken_when(at, now, r.business.timezone.tz())
    )
}

/// Next number of the day: an atomic increment of the day's counter. Numbers start at 101
/// so every one has three digits until the 900th order of a day.
async fn allocate_number<S: Store>(
    store: &S,
    business: &BusinessId,
    day: jiff::civil::Date,
) -> Result<String, StoreError> {
    let counted = store
        .increment(&keys::order_counter(business, day), 1)
        .await?;
    Ok((100 + counted).to_string())
}

/// The order's number: the one an earlier try of this checkout claimed, or a new one of the
/// day, claimed by put-if-absent. Two tries racing both say (and text) the winner's number;
/// the loser's counter step is skipped, never reused.
async fn number_for<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    day: jiff::civil::Date,
) -> Result<String, StoreError> {
    let key = keys::order_number(business, order_id);
    if let Some(n) = read_json::<_, String>(store, &key).await? {
        return Ok(n);
    }
    let n = allocate_number(store, business, day).await?;
    match store.compare_and_swap(&key, None, &to_json(&n)?).await {
        Ok(()) => Ok(n),
        Err(StoreError::Conflict) => read_json::<_, String>(store, &key)
            .await?
            .ok_or_else(|| StoreError::Backend("order number claim vanished".into())),
        Err(e) => Err(e),
    }
}

/// How a placed order starts its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Placement {
    /// Accept it at once (the kitchen gets its ticket without anyone touching a screen);
    /// otherwise it waits, received, for staff to accept it.
    pub auto_accept: bool,
    /// Print a customer receipt beside the kitchen ticket.
    pub receipts: bool,
}

/// Which voice path took the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A Vapi call (`message.call.id`).
    #[default]
    Vapi,
    /// A Twilio call through the media relay (the call SID).
    Twilio,
}

impl Channel {
    /// The channel a cart's call id belongs to: Twilio call SIDs have their own shape.
    pub fn of_call(call_id: &str) -> Channel {
        if crate::calls::CallSid::parse(call_id).is_ok() {
            Channel::Twilio
        } else {
            Channel::Vapi
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Vapi => "vapi",
            Channel::Twilio => "twilio",
        }
    }
}

/// How the order reached us: the number the caller is calling from and the business line
/// they dialled (the one texts about the order are sent from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Via {
    /// Caller ID, as kept: the order's contact when the caller gave no other
    /// ([`Cart::phone`]).
    pub caller: Option<Caller>,
    pub line: Option<PhoneE164>,
}

/// Place the call's order, held as received for staff to accept ([`checkout_with`]).
pub async fn checkout<S: Store>(
    store: &S,
    r: &Restaurant,
    business: &BusinessId,
    call_id: &str,
    now: jiff::Timestamp,
) -> Result<Checkout, StoreError> {
    checkout_with(
        store,
        r,
        business,
        call_id,
        Placement::default(),
        &Via::default(),
        now,
    )
    .await
}

/// Place the call's order: once, however often it is asked (see the module doc). With
/// `placement.auto_accept` the order commits already accepted, its print jobs queued before
/// the commit point. The order is listed under its contact number for "the usual", and the
/// text telling the customer it is in is queued ([`crate::outbox`]) before the commit point.
pub async fn checkout_with<S: Store>(
    store: &S,
    r: &Restaurant,
    business: &BusinessId,
    call_id: &str,
    placement: Placement,
    via: &Via,
    now: jiff::Timestamp,
) -> Result<Checkout, StoreError> {
    let order_id = format!("o-{call_id}");
    let order_key = keys::order(business, &order_id);
    let cart_key = keys::cart(business, call_id);
    let Some(c) = read_json::<_, Cart>(store, &cart_key)
        .await?
        .filter(|c| !c.expired(now) || c.order_id.is_some())
    else {
        return Ok(Checkout::NotReady(
            "The order is empty; what would you like?".into(),
        ));
    };
    if let Some(existing) = read_json::<_, Order>(store, &order_key).await? {
        mark_cart(store, business, call_id, &order_id, now).await?;
        return Ok(Checkout::Placed(Box::new(existing)));
    }
    if let Some(why) = c.not_ready(r) {
        return Ok(Checkout::NotReady(why));
    }
    let state = open_state(r, now);
    // While closed, only an order for a later time when the restaurant is open.
    let scheduled = c
        .wanted_at
        .is_some_and(|t| t > now && open_state(r, t).is_open());
    if matches!(state, OpenState::Closed { .. }) && !scheduled {
        return Ok(Checkout::NotReady(format!(
            "{} I can take the order for a time when we're open.",
            describe_open_state(&state, now)
        )));
    }
    let Some(totals) = c.totals(r) else {
        return Ok(Checkout::NotReady(
            "That's more than I can put on one order.".into(),
        ));
    };
    let Some(fulfillment) = c.fulfillment.clone() else {
        return Ok(Checkout::NotReady("Is this for pickup or delivery?".into()));
    };
    let day = now.to_zoned(r.business.timezone.tz().clone()).date();
    let number = number_for(store, business, &order_id, day).await?;
    let mut order = Order {
        id: order_id.clone(),
        number,
        business_id: business.clone(),
        call_id: call_id.to_owned(),
        lines: c.lines.clone(),
        fulfillment,
        wanted_at: c.wanted_at,
        phone: c.phone.clone().or_else(|| via.caller.clone()),
        line: via.line.clone(),
        totals,
        status: OrderStatus::Received,
        history: vec![StatusChange {
            status: OrderStatus::Received,
            at: now,
            by: "phone".into(),
            reason: None,
        }],
        placed_at: now,
        day,
        channel: Channel::of_call(call_id),
    };
    if placement.auto_accept {
        order.status = OrderStatus::Accepted;
        order.history.push(StatusChange {
            status: OrderStatus::Accepted,
            at: now,
            by: "auto".into(),
            reason: None,
        });
        crate::printing::enqueue(
            store,
            business,
            &order_id,
            &super::lifecycle::print_kinds(placement.receipts),
            now,
        )
        .await?;
    }
    if let Some(line) = &order.line
        && let Some(text) = outbox::compose(
            &order,
            TextEvent::Received,
            &r.business.name,
            line,
            Some(&ready_by(r, &order, now)),
            now,
        )
    {
        outbox::enqueue(store, business, text).await?;
    }
    let rank = format!("{}-{order_id}", newest_first(now));
    let listed = keys::order_index(business, &rank);
    let by_customer = order
        .phone
        .as_ref()
        .map(|phone| keys::customer_order(business, &phone.hash, &rank));
    let mut entries: Vec<(&str, &[u8])> = vec![(listed.as_str(), order_id.as_bytes())];
    if let Some(k) = &by_customer {
        entries.push((k.as_str(), order_id.as_bytes()));
    }
    store.put_many(&entries).await?;
    let placed = match store
        .compare_and_swap(&order_key, None, &to_json(&order)?)
        .await
    {
        Ok(()) => order,
        // Another try of this checkout got there first: its order stands (this number is
        // skipped, never reused).
        Err(StoreError::Conflict) => read_json::<_, Order>(store, &order_key)
            .await?
            .ok_or_else(|| StoreError::Backend("order vanished after a conflict".into()))?,
        Err(e) => return Err(e),
    };
    mark_cart(store, business, call_id, &order_id, now).await?;
    Ok(Checkout::Placed(Box::new(placed)))
}

async fn mark_cart<S: Store>(
    store: &S,
    business: &BusinessId,
    call_id: &str,
    order_id: &str,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    update_json::<_, Cart, _>(store, &keys::cart(business, call_id), |c| {
        let mut c = c?;
        if c.order_id.as_deref() == Some(order_id) {
            return None;
        }
        c.order_id = Some(order_id.to_owned());
        c.pending = None;
        c.updated_at = now;
        Some(c)
    })
    .await
    .map(|_| ())
}

/// One order.
pub async fn order<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
) -> Result<Option<Order>, StoreError> {
    if !order_id.strip_prefix("o-").is_some_and(valid_call_id) {
        return Ok(None);
    }
    read_json(store, &keys::order(business, order_id)).await
}

/// The orders placed with contact number `hash` (a keyed hash, [`crate::pii::PiiKeys::hash`]),
/// newest first, at most `limit`, leaving out `except` (the asking call's own order).
pub async fn orders_of<S: Store>(
    store: &S,
    business: &BusinessId,
    hash: &str,
    limit: usize,
    except: &str,
) -> Result<Vec<Order>, StoreError> {
    let prefix = keys::customer_order(business, hash, "");
    let mut found = Vec::new();
    for key in store.list(&prefix).await? {
        if found.len() == limit {
            break;
        }
        let Some(order_id) = store.get_value(&key).await? else {
            continue;
        };
        let order_id = String::from_utf8_lossy(&order_id).into_owned();
        if order_id == except {
            continue;
        }
        // An entry whose checkout never committed has no order: skipped.
        if let Some(o) = order(store, business, &order_id).await? {
            found.push(o);
        }
    }
    Ok(found)
}

impl Order {
    /// What was in it, as said: "2 Pepperoni Pizza (Large (14 inch), Mushrooms) and 1 Garlic
    /// Knots". Options the caller did not choose (defaults) are left out.
    pub fn said_lines(&self) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| {
                let chosen: Vec<&str> = l
                    .options
                    .iter()
                    .filter(|o| !o.by_default)
                    .map(|o| o.name.as_str())
                    .collect();
                if chosen.is_empty() {
                    format!("{} {}", l.quantity, l.name)
                } else {
                    format!("{} {} ({})", l.quantity, l.name, chosen.join(", "))
                }
            })
            .collect();
        match lines.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}
