//! Star CloudPRNT: a Star printer that polls our server itself, so a kitchen needs no agent.
//! The wire format (Star's CloudPRNT protocol reference, v2.4): the printer POSTs its status
//! as JSON every few seconds; we answer whether a job is ready and in which media types; it
//! GETs the job (no side effects: a GET again returns the same job until a POST or DELETE
//! changes our state); it confirms with a DELETE carrying its status code (`200 OK` when it
//! printed), or with a GET carrying `code` when we ask for that.
//!
//! Here: the parsing and answers of that protocol and the job's rendering. The printer is a
//! device of its business ([`crate::auth::keys::create_cloudprnt_printer`]), its token in the
//! URL; jobs come from the business's print queue ([`crate::printing`]), one at a time.

use crate::printing::PrintJob;
use serde::Deserialize;

/// The media types we render a job in.
pub const MEDIA_TYPES: &[&str] = &["text/plain"];
/// Characters per line for `text/plain` (80 mm paper, font A: every CloudPRNT kitchen model).
pub const COLUMNS: usize = 48;

/// What the printer POSTs. Only `statusCode` is mandatory; printers send more than this.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Poll {
    /// `200 OK` when idle and well; otherwise the trouble (`410 …` paper out, …).
    pub status_code: String,
    /// The printer's MAC, `00:11:62:…`.
    #[serde(default, rename = "printerMAC")]
    pub printer_mac: Option<String>,
    /// The job it is working on (the token we gave with `jobReady`).
    #[serde(default)]
    pub job_token: Option<String>,
    #[serde(default)]
    pub printing_in_progress: Option<bool>,
    /// The raw ASB status, hex.
    #[serde(default)]
    pub status: Option<String>,
}

/// Whether a CloudPRNT status code says all is well (`2xx`).
pub fn ok(code: &str) -> bool {
    code.trim().starts_with('2')
}

/// The answer to a poll: the job ready (if any) and how to fetch and confirm it.
pub fn poll_reply(job: Option<&PrintJob>) -> serde_json::Value {
    match job {
        Some(j) => serde_json::json!({
            "jobReady": true,
            "mediaTypes": MEDIA_TYPES,
            "jobToken": j.id,
            "deleteMethod": "DELETE",
        }),
        None => serde_json::json!({ "jobReady": false }),
    }
}

/// The job as `text/plain`, with a REPRINT banner when the paper may have come out before
/// ([`PrintJob::said_again`]).
pub fn render_text(job: &PrintJob, interrupted: u32) -> String {
    let reprint = job
        .said_again(interrupted)
        .then(|| job.reprint.max(job.leases.saturating_sub(1)).max(1));
    let rows = crate::ticket_layout::rows(&job.ticket, job.kind, COLUMNS, reprint);
    let mut text = crate::ticket_layout::plain_text(&rows, COLUMNS);
    // Feed past the tear bar.
    text.push_str("\n\n\n");
    text
}
