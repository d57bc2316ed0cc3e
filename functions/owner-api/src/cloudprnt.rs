//! Printers without an agent, and what devices say of themselves:
//! `POST /api/v1/businesses/{id}/cloudprnt-printers` registers a Star CloudPRNT printer and
//! answers the URL to type into it; `/cloudprnt/{token}` is that URL, where the printer polls
//! (POST), fetches its job (GET) and confirms it (DELETE, or GET with `code`); and
//! `POST /api/v1/edge/status` is the edge agent's report of its printers. The protocol's
//! parsing and rendering live in `hostline_shared::cloudprnt`, the queue in
//! `hostline_shared::printing`.

use crate::handler::os_entropy;
use crate::orders::timezone;
use hostline_shared::api::{ApiError, parse_body};
use hostline_shared::auth::keys::{self as credentials, Device, KeyError};
use hostline_shared::cloudprnt::{self, Poll};
use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;
use hostline_shared::printing::{
    self, Ack, AckRefused, DeviceStatus, PrinterProfile, PrinterStatus,
};
use hostline_shared::store::Store;
use serde::Deserialize;
use serde_json::json;

/// `POST …/cloudprnt-printers` body.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPrinter {
    /// What the staff call it ("Kitchen Star").
    #[schemars(length(min = 1, max = 100))]
    name: String,
    /// The printer's MAC address (on its self-test print), `00:11:62:0c:e5:c8`.
    #[schemars(length(min = 12, max = 17))]
    mac: String,
}

/// `POST /api/v1/businesses/{id}/cloudprnt-printers`: a device for the printer; the answer
/// carries the URL (with its token, shown once) to type into the printer's CloudPRNT settings.
pub async fn create_printer<S: Store>(
    store: &S,
    business: &BusinessId,
    body: &[u8],
    public_base_url: &str,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: NewPrinter = parse_body(body)?;
    let (device, token) = credentials::create_cloudprnt_printer(
        store,
        business,
        &b.name,
        &b.mac,
        now,
        &mut os_entropy,
    )
    .await
    .map_err(|e| match e {
        KeyError::Invalid { field, message } => ApiError::field(400, field, message),
        KeyError::Store(e) => e.into(),
        e => ApiError::refused(400, e.to_string()),
    })?;
    let mut body = device.public();
    body["url"] = json!(format!(
        "{}/cloudprnt/{token}",
        public_base_url.trim_end_matches('/')
    ));
    Ok(Response::json(201, &body))
}

/// `POST /api/v1/edge/status` body: the agent's printers and queue.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgeStatus {
    #[schemars(length(max = 20))]
    printers: Vec<EdgePrinter>,
    #[schemars(range(max = 1_000_000))]
    queue_length: u32,
    #[schemars(length(min = 1, max = 40))]
    agent_version: String,
    #[schemars(length(max = 200))]
    last_job: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgePrinter {
    #[schemars(length(min = 1, max = 64))]
    id: String,
    #[schemars(length(min = 1, max = 100))]
    name: String,
    /// online, offline, paper_out, cover_open, error, or unknown (not checked yet).
    #[schemars(regex(pattern = r"^(online|offline|paper_out|cover_open|error|unknown)$"))]
    state: String,
    /// How it is set up on the agent.
    profile: Option<PrinterProfile>,
}

const PRINTER_STATES: &[&str] = &[
    "online",
    "offline",
    "paper_out",
    "cover_open",
    "error",
    "unknown",
];

/// `POST /api/v1/edge/status`: what the agent says of its printers, kept for the owner's
/// device list and the kitchen display.
pub async fn edge_status<S: Store>(
    store: &S,
    device: &Device,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let b: EdgeStatus = parse_body(body)?;
    if b.printers.len() > 20 {
        return Err(ApiError::field(400, "printers", "at most 20 printers"));
    }
    let clip = |s: &str, n: usize| s.trim().chars().take(n).collect::<String>();
    let mut printers = Vec::new();
    for (i, p) in b.printers.iter().enumerate() {
        if !PRINTER_STATES.contains(&p.state.as_str()) {
            return Err(ApiError::field(
                400,
                format!("printers[{i}].state"),
                "must be online, offline, paper_out, cover_open, error or unknown",
            ));
        }
        if let Some((field, message)) = p.profile.as_ref().and_then(PrinterProfile::problem) {
            return Err(ApiError::field(
                400,
                format!("printers[{i}].profile.{field}"),
                message,
            ));
        }
        printers.push(PrinterStatus {
            id: clip(&p.id, 64),
            name: clip(&p.name, 100),
            state: p.state.clone(),
            profile: p.profile.clone(),
        });
    }
    let troubled: Vec<String> = printers
        .iter()
        .filter(|p| !matches!(p.state.as_str(), "online" | "unknown"))
        .map(|p| format!("{} ({})", p.name, p.state.replace('_', " ")))
        .collect();
    let status = DeviceStatus {
        name: device.name.clone(),
        seen_at: now,
        ok: troubled.is_empty(),
        status: if troubled.is_empty() {
            format!("{} printer(s) online", printers.len())
        } else {
            format!("not printing: {}", troubled.join(", "))
        },
        printers,
        queue_length: Some(b.queue_length),
        agent_version: Some(clip(&b.agent_version, 40)),
        last_job: b.last_job.as_deref().map(|j| clip(j, 200)),
    };
    printing::report_status(store, &device.business, &device.id, status).await?;
    Ok(Response::no_content())
}

/// The printer's request on `/cloudprnt/{token}`; `None` when the path is not ours. A poll
/// names the business whose waiting texts go out after the answer (`texts_for`), as the edge
/// agent's polls do.
pub async fn serve<S: Store>(
    req: &Request,
    store: &S,
    now: jiff::Timestamp,
    texts_for: &mut Option<BusinessId>,
) -> Option<Result<Response, ApiError>> {
    let token = req.path.strip_prefix("/cloudprnt/")?;
    Some(printer_request(req, store, token, now, texts_for).await)
}

async fn printer_request<S: Store>(
    req: &Request,
    store: &S,
    token: &str,
    now: jiff::Timestamp,
    texts_for: &mut Option<BusinessId>,
) -> Result<Response, ApiError> {
    // The token is the credential; a wrong one gets what a wrong bearer token gets.
    let device = match credentials::resolve_device(store, token).await? {
        Some(d) if d.cloudprnt_mac.is_some() => d,
        _ => return Err(ApiError::unauthorized("unknown printer URL")),
    };
    if req.method == Method::Post {
        *texts_for = Some(device.business.clone());
    }
    // A URL typed into a second printer by mistake must not print the first one's tickets.
    let said_mac = match req.method {
        Method::Post => None,
        _ => req.query_param("mac").map(|m| m.into_owned()),
    };
    if let Some(mac) = said_mac {
        check_mac(&device, &mac)?;
    }
    match req.method {
        Method::Post => poll(req, store, &device, now).await,
        Method::Get if req.query_param("code").is_some() => confirm(req, store, &device, now).await,
        Method::Get => fetch(req, store, &device, now).await,
        Method::Delete => confirm(req, store, &device, now).await,
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn check_mac(device: &Device, said: &str) -> Result<(), ApiError> {
    let said = credentials::normalize_mac(said);
    if said.is_some() && said != device.cloudprnt_mac {
        return Err(ApiError::forbidden(
            "this URL belongs to a printer with another MAC address",
        ));
    }
    Ok(())
}

/// POST: the printer's status; the answer says whether a job is ready (leasing it to this
/// printer). Trouble reported while it holds a job marks that job, so it prints again as
/// REPRINT.
async fn poll<S: Store>(
    req: &Request,
    store: &S,
    device: &Device,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let p: Poll = serde_json::from_slice(&req.body).map_err(|e| {
        let field = if e.to_string().contains("statusCode") {
            "statusCode"
        } else {
            "body"
        };
        ApiError::field(400, field, format!("not a CloudPRNT poll: {e}"))
    })?;
    if let Some(mac) = &p.printer_mac {
        check_mac(device, mac)?;
    }
    let code: String = p.status_code.trim().chars().take(100).collect();
    let ok = cloudprnt::ok(&code);
    let status = DeviceStatus {
        name: device.name.clone(),
        seen_at: now,
        ok,
        status: code,
        printers: Vec::new(),
        queue_length: None,
        agent_version: None,
        last_job: p
            .job_token
            .as_deref()
            .map(|j| j.chars().take(200).collect()),
    };
    let began = printing::report_status(store, &device.business, &device.id, status).await?;
    if began {
        printing::interrupt(store, &device.business, &device.id).await?;
    }
    if !ok {
        // A printer in trouble takes nothing new; what it holds waits for it (or, once its
        // lease runs out, for another printer).
        return Ok(Response::json(200, &cloudprnt::poll_reply(None)));
    }
    let tz = timezone(store, &device.business).await?;
    let job = match printing::held_by(store, &device.business, &tz, &device.id, None, now).await? {
        Some((job, _)) => Some(job),
        None => printing::lease_up_to(store, &device.business, &tz, &device.id, now, 1)
            .await?
            .into_iter()
            .next(),
    };
    Ok(Response::json(200, &cloudprnt::poll_reply(job.as_ref())))
}

/// GET: the job this printer holds, rendered; no side effects, so a GET again gets the
/// same bytes.
async fn fetch<S: Store>(
    req: &Request,
    store: &S,
    device: &Device,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let media = req.query_param("type");
    if let Some(t) = media.as_deref()
        && !cloudprnt::MEDIA_TYPES.contains(&t)
    {
        return Err(ApiError::refused(
            415,
            format!("media type {t:?} is not offered; ask for text/plain"),
        ));
    }
    let tz = timezone(store, &device.business).await?;
    let token = req.query_param("token");
    match printing::held_by(
        store,
        &device.business,
        &tz,
        &device.id,
        token.as_deref(),
        now,
    )
    .await?
    {
        Some((job, interrupted)) => Ok(Response {
            status: 200,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: cloudprnt::render_text(&job, interrupted).into_bytes(),
        }),
        None => Err(ApiError::not_found("no job for this printer")),
    }
}

/// DELETE (or GET with `code`): the printer's word on the job it was given: `2xx` printed,
/// anything else failed (kept, for a staff reprint).
async fn confirm<S: Store>(
    req: &Request,
    store: &S,
    device: &Device,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let Some(code) = req.query_param("code").map(|c| c.trim().to_owned()) else {
        return Err(ApiError::field(
            400,
            "code",
            "the printer's status code is missing",
        ));
    };
    let job_id = match req.query_param("token") {
        Some(t) => t.into_owned(),
        None => {
            let tz = timezone(store, &device.business).await?;
            match printing::held_by(store, &device.business, &tz, &device.id, None, now).await? {
                Some((job, _)) => job.id,
                None => return Err(ApiError::not_found("no job for this printer")),
            }
        }
    };
    let ack = if cloudprnt::ok(&code) {
        Ack::Printed
    } else {
        Ack::Failed(format!(
            "the printer reported {}",
            code.chars().take(100).collect::<String>()
        ))
    };
    match printing::acknowledge(store, &device.business, &device.id, &job_id, ack, now).await? {
        Ok(_) => Ok(Response::json(200, &json!({"job": job_id, "code": code}))),
        Err(AckRefused::NoJob) => Err(ApiError::not_found(format!("no print job {job_id:?}"))),
        Err(e @ AckRefused::NotYours) => Err(ApiError::refused(409, e.to_string())),
    }
}
