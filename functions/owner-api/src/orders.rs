//! `/api/v1/businesses/{id}/orders…` and `/api/v1/edge/jobs…`: the staff's and owner's view
//! of the orders the order tools place, their lifecycle, and the kitchen printers' job queue.
//!
//! The orders function writes orders; these routes read them and move them through their
//! life (`hostline_shared::orders::lifecycle`), and hand print jobs to the paired edge agents
//! (`hostline_shared::printing`). Routing sends all of `/api/v1/...` to this component, so
//! they live here beside the other business routes, over the same shared domain.

use hostline_shared::api::{ApiError, parse_body};
use hostline_shared::auth::keys::Device;
use hostline_shared::http::{Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::orders::checkout::{self, Order};
use hostline_shared::orders::{Channel, Move, MoveRefused, OrderStatus, Shop, change_status};
use hostline_shared::printing::{self, Ack, AckRefused, JobKind, Ticket};
use hostline_shared::publish::load_restaurant;
use hostline_shared::store::{Store, keys};
use hostline_shared::tenancy::{BusinessRecord, read_json};
use serde::Deserialize;
use serde_json::{Value, json};

/// Index entries looked at for one page of a filtered list, at most: a filter that matches
/// little answers a short page with a cursor rather than reading the whole history.
const MAX_SCANNED: usize = 500;

/// An order as the API shows it: the stored order with its `version` (what a change must
/// name), without the caller's sealed number.
pub(crate) fn view(o: &Order) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.remove("phone");
        m.insert("has_phone".into(), json!(o.phone.is_some()));
        m.insert("version".into(), json!(o.version()));
    }
    v
}

/// What `GET …/orders` filters on.
struct Filter {
    statuses: Option<Vec<OrderStatus>>,
    day: Option<jiff::civil::Date>,
    channel: Option<Channel>,
}

impl Filter {
    fn of(req: &Request) -> Result<Filter, ApiError> {
        let statuses = match req.query_param("status") {
            None => None,
            Some(raw) => Some(
                raw.split(',')
                    .map(|s| OrderStatus::parse(s.trim()))
                    .collect::<Option<Vec<_>>>()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        ApiError::field(
                            400,
                            "status",
                            "must be one or more of received, accepted, preparing, ready, \
                             completed, cancelled, separated by commas",
                        )
                    })?,
            ),
        };
        let day = match req.query_param("date") {
            None => None,
            Some(raw) => Some(raw.parse::<jiff::civil::Date>().map_err(|_| {
                ApiError::field(400, "date", "must be a date like 2026-12-07 (local day)")
            })?),
        };
        let channel = match req.query_param("channel").as_deref() {
            None => None,
            Some("vapi") => Some(Channel::Vapi),
            Some("twilio") => Some(Channel::Twilio),
            Some(_) => {
                return Err(ApiError::field(400, "channel", "must be vapi or twilio"));
            }
        };
        Ok(Filter {
            statuses,
            day,
            channel,
        })
    }

    fn keeps(&self, o: &Order) -> bool {
        self.statuses.as_ref().is_none_or(|s| s.contains(&o.status))
            && self.day.is_none_or(|d| o.day == d)
            && self.channel.is_none_or(|c| o.channel == c)
    }
}

/// `GET …/orders`: newest first, with an ETag (a display polling it gets a bodiless 304 while
/// nothing changed), filtered by `?status=a,b`, `?date=YYYY-MM-DD` (the local day
/// the order's number belongs to) and `?channel=vapi|twilio`, paged by `?limit` and `?cursor`.
pub async fn list<S: Store>(
    store: &S,
    business: &BusinessId,
    req: &Request,
) -> Result<Response, ApiError> {
    let (limit, cursor) = crate::calls::page(req)?;
    let filter = Filter::of(req)?;
    let prefix = keys::order_index(business, "");
    let suffixes: Vec<String> = store
        .list(&prefix)
        .await?
        .into_iter()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
        .filter(|s| cursor.as_deref().is_none_or(|c| s.as_str() > c))
        .collect();
    let mut orders = Vec::new();
    let mut next = None;
    for (scanned, suffix) in suffixes.iter().enumerate() {
        if orders.len() == limit || scanned == MAX_SCANNED {
            next = Some(suffixes[scanned - 1].clone());
            break;
        }
        // `{rank}-{order_id}`; an entry whose order never committed is skipped.
        let Some((_, order_id)) = suffix.split_once('-') else {
            continue;
        };
        if let Some(o) = checkout::order(store, business, order_id).await?
            && filter.keeps(&o)
        {
            orders.push(view(&o));
        }
    }
    Ok(Response::json(200, &json!({"orders": orders, "next_cursor": next})).with_etag(req))
}

async fn found<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
) -> Result<Order, ApiError> {
    checkout::order(store, business, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {order_id:?} in this business")))
}

/// `GET …/orders/{order_id}`.
pub async fn get<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
) -> Result<Response, ApiError> {
    Ok(Response::json(
        200,
        &view(&found(store, business, order_id).await?),
    ))
}

/// `GET …/orders/{order_id}/history`: every change, oldest first.
pub async fn history<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
) -> Result<Response, ApiError> {
    let o = found(store, business, order_id).await?;
    Ok(Response::json(
        200,
        &json!({"order_id": o.id, "version": o.version(), "history": o.history}),
    ))
}

/// `POST …/orders/{order_id}/status` body.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// received, accepted, preparing, ready, completed or cancelled; forward only.
    status: String,
    /// The order's `version` as you last read it.
    #[schemars(range(min = 0))]
    version: u32,
    /// Why (required to cancel).
    #[schemars(length(max = 200))]
    reason: Option<String>,
}

/// `POST …/orders/{order_id}/cancel` body.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// The order's `version` as you last read it.
    #[schemars(range(min = 0))]
    version: u32,
    /// Why it is cancelled (said to nobody; kept in the history).
    #[schemars(length(min = 1, max = 200))]
    reason: String,
}

/// `POST …/orders/{order_id}/reprint` body.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReprintBody {
    /// kitchen (the default) or receipt.
    kind: Option<String>,
}

/// The business's name (texts are signed with it) and whether it prints receipts, read at
/// the moment an order moves.
async fn shop_of<S: Store>(store: &S, business: &BusinessId) -> Result<(String, bool), ApiError> {
    let record = read_json::<_, BusinessRecord>(store, &keys::business(business)).await?;
    Ok(match record {
        Some(b) => (
            b.name.clone().unwrap_or_else(|| business.to_string()),
            b.settings.placement().receipts,
        ),
        None => (business.to_string(), false),
    })
}

/// Move an order as asked, answering the order, or why not.
async fn apply<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    mv: Move,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let (name, receipts) = shop_of(store, business).await?;
    let shop = Shop {
        name: &name,
        receipts,
    };
    match change_status(store, business, order_id, &mv, shop, now).await? {
        Ok(o) => Ok(Response::json(200, &view(&o))),
        Err(MoveRefused::NoOrder) => Err(ApiError::not_found(format!(
            "no order {order_id:?} in this business"
        ))),
        Err(e @ MoveRefused::Stale { .. }) => {
            let MoveRefused::Stale { current, .. } = &e else {
                return Err(ApiError::refused(409, e.to_string()));
            };
            Err(ApiError::Body {
                status: 409,
                body: json!({"error": e.to_string(), "field": "version", "order": view(current)}),
            })
        }
        Err(e @ MoveRefused::NotAllowed { .. }) => {
            Err(ApiError::field(422, "status", e.to_string()))
        }
        Err(e @ MoveRefused::NeedsReason) => Err(ApiError::field(400, "reason", e.to_string())),
    }
}

/// `POST …/orders/{order_id}/status`.
pub async fn set_status<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    by: String,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: StatusBody = parse_body(body)?;
    let to = OrderStatus::parse(b.status.trim()).ok_or_else(|| {
        ApiError::field(
            400,
            "status",
            "must be received, accepted, preparing, ready, completed or cancelled",
        )
    })?;
    let mv = Move {
        to,
        version: b.version,
        by,
        reason: b.reason,
    };
    apply(store, business, order_id, mv, now).await
}

/// `POST …/orders/{order_id}/cancel`.
pub async fn cancel<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    by: String,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: CancelBody = parse_body(body)?;
    let mv = Move {
        to: OrderStatus::Cancelled,
        version: b.version,
        by,
        reason: Some(b.reason),
    };
    apply(store, business, order_id, mv, now).await
}

/// `POST …/orders/{order_id}/reprint`: queue the ticket again, marked as a reprint.
pub async fn reprint<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: ReprintBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReprintBody { kind: None }
    } else {
        parse_body(body)?
    };
    let kind = match b.kind.as_deref() {
        None => JobKind::Kitchen,
        Some(k) => JobKind::parse(k)
            .ok_or_else(|| ApiError::field(400, "kind", "must be kitchen or receipt"))?,
    };
    let o = found(store, business, order_id).await?;
    if !printing::printable(o.status) {
        return Err(ApiError::field(
            422,
            "order_id",
            format!(
                "an order that is {} is not printed (accept it first)",
                o.status.as_str()
            ),
        ));
    }
    let job = printing::reprint(store, business, order_id, kind, now).await?;
    Ok(Response::json(201, &json!({"job_id": job})))
}

/// `GET …/print-jobs`: the queue as it stands (pending, leased, printed, failed), and what
/// each printing device last said of itself (`printers`), so the kitchen display can say
/// which printer is down.
pub async fn print_jobs<S: Store>(
    store: &S,
    business: &BusinessId,
    req: &Request,
) -> Result<Response, ApiError> {
    let q = printing::queue(store, business).await?;
    let printers: Vec<_> = printing::device_statuses(store, business)
        .await?
        .into_iter()
        .map(|(id, status)| json!({"device_id": id, "name": status.name, "status": status}))
        .collect();
    Ok(Response::json(200, &json!({"jobs": q.jobs, "printers": printers})).with_etag(req))
}

/// The restaurant's time zone, for the tickets' local times.
pub(crate) async fn timezone<S: Store>(
    store: &S,
    business: &BusinessId,
) -> Result<String, ApiError> {
    let Some(record) = read_json::<_, BusinessRecord>(store, &keys::business(business)).await?
    else {
        return Ok("UTC".to_owned());
    };
    Ok(load_restaurant(store, &record)
        .await?
        .map(|r| r.business.timezone.to_string())
        .unwrap_or_else(|| "UTC".to_owned()))
}

/// `GET /api/v1/edge/jobs`: lease the device's business's jobs to it.
pub async fn edge_jobs<S: Store>(
    store: &S,
    device: &Device,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let tz = timezone(store, &device.business).await?;
    let jobs = printing::lease(store, &device.business, &tz, &device.id, now).await?;
    Ok(Response::json(
        200,
        &json!({"jobs": jobs, "poll_after_seconds": 2}),
    ))
}

/// `POST /api/v1/edge/jobs/{job_id}/ack` body.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// printed or failed.
    status: String,
    /// Why it failed (paper out, printer offline…).
    #[schemars(length(max = 200))]
    reason: Option<String>,
}

/// `POST /api/v1/edge/jobs/{job_id}/ack`.
pub async fn edge_ack<S: Store>(
    store: &S,
    device: &Device,
    job_id: &str,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: AckBody = parse_body(body)?;
    let ack = match b.status.as_str() {
        "printed" => Ack::Printed,
        "failed" => {
            let reason = b
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("no reason given");
            Ack::Failed(reason.chars().take(200).collect())
        }
        _ => return Err(ApiError::field(400, "status", "must be printed or failed")),
    };
    match printing::acknowledge(store, &device.business, &device.id, job_id, ack, now).await? {
        Ok(job) => Ok(Response::json(200, &job)),
        Err(AckRefused::NoJob) => Err(ApiError::not_found(format!("no print job {job_id:?}"))),
        Err(e @ AckRefused::NotYours) => Err(ApiError::refused(409, e.to_string())),
    }
}

/// The ticket of one order (for a staff reprint preview and tests).
pub async fn ticket<S: Store>(
    store: &S,
    business: &BusinessId,
    order_id: &str,
) -> Result<Response, ApiError> {
    let o = found(store, business, order_id).await?;
    let tz = timezone(store, business).await?;
    Ok(Response::json(200, &Ticket::of(&o, &tz)))
}
