//! The knowledge-base handler. The business comes from the called line of a message that
//! carried our webhook secret, never from tool arguments.

use crate::answers;
use hostline_shared::auth::tool_request_authorized;
use hostline_shared::http::{Request, Response};
use hostline_shared::knowledge::KnowledgeIndex;
use hostline_shared::store::{Store, keys};
use hostline_shared::tenancy::{LineRoute, Published, read_json, resolve_line};
use hostline_shared::vapi::{ToolResult, ToolResults, accept};

#[derive(Debug, Clone)]
pub struct Config {
    pub vapi_secret: String,
    /// The media relay's token: it calls the same tools for Twilio calls.
    pub service_token: String,
}

const UNKNOWN_LINE: &str = "Sorry, I can't look that up for this phone line.";
const NOT_TAKING_CALLS: &str = "Sorry, this restaurant isn't taking phone calls right now.";
const TROUBLE: &str = "Sorry, I'm having trouble looking that up right now.";

pub async fn handle<S: Store>(
    req: &Request,
    store: &S,
    config: &Config,
    now: jiff::Timestamp,
) -> Response {
    let msg = match accept(
        req,
        tool_request_authorized(req, &config.vapi_secret, &config.service_token),
        "invalid or missing Vapi secret or service token",
        "tool-calls",
    ) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let now = msg.timestamp.unwrap_or(now);
    let bundle = match load(store, &msg).await {
        Ok(b) => b,
        Err(spoken) => {
            let results = msg
                .tool_calls
                .iter()
                .map(|c| ToolResult::err(c, spoken))
                .collect();
            return Response::json(200, &ToolResults { results });
        }
    };
    let results = msg
        .tool_calls
        .iter()
        .map(|call| match &call.arguments {
            Err(why) => {
                ToolResult::err(call, format!("Sorry, I couldn't read that request: {why}."))
            }
            Ok(_) => match answers::answer(&bundle, call, now) {
                Ok(text) => ToolResult::ok(call, text),
                Err(text) => ToolResult::err(call, text),
            },
        })
        .collect();
    Response::json(200, &ToolResults { results })
}

/// The published bundle of the called line's business, or the sentence to answer every call with.
async fn load<S: Store>(
    store: &S,
    msg: &hostline_shared::vapi::Message,
) -> Result<Published, &'static str> {
    let route = resolve_line(
        store,
        msg.called_number.as_ref(),
        msg.phone_number_id.as_deref(),
    )
    .await
    .map_err(|e| {
        eprintln!("knowledge-base: storage error routing a call: {e}");
        TROUBLE
    })?;
    let business = match route {
        LineRoute::Active { business, .. } => business,
        LineRoute::Inactive { .. } => return Err(NOT_TAKING_CALLS),
        LineRoute::Unknown => return Err(UNKNOWN_LINE),
    };
    match read_json::<_, Published>(store, &keys::knowledge(&business.id)).await {
        Ok(Some(mut p)) => {
            // An index saved by an older release: rebuild it from the document it came with.
            if !p.index.is_current() {
                p.index = KnowledgeIndex::build(&p.restaurant);
            }
            Ok(p)
        }
        Ok(None) => Err(UNKNOWN_LINE),
        Err(e) => {
            eprintln!("knowledge-base: storage error loading {}: {e}", business.id);
            Err(TROUBLE)
        }
    }
}
