//! The knowledge-base handler. The business and line come from the tool credential the
//! assistant (or the relay's agent configuration) carries, signed by us for one business and
//! one line; never from the body or tool arguments. A body that names another line is refused.

use crate::answers;
use hostline_shared::credential::{CredentialError, ToolCredential};
use hostline_shared::http::{Request, Response};
use hostline_shared::publish::load_published;
use hostline_shared::store::Store;
use hostline_shared::tenancy::{LineRoute, Published, resolve_line};
use hostline_shared::vapi::{ToolResult, ToolResults, accept};

#[derive(Debug, Clone)]
pub struct Config {
    /// Verifies the per-business tool credential (`tool_token_key`).
    pub tool_token_key: String,
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
    let credential =
        ToolCredential::from_request(req, config.tool_token_key.as_bytes(), now.as_second());
    let denied = match &credential {
        Err(CredentialError::NoKey) => {
            eprintln!("knowledge-base: tool_token_key is not set; refusing every tool call");
            "tool calls are not configured on this deployment".to_owned()
        }
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    let msg = match accept(req, credential.is_ok(), &denied, "tool-calls") {
        Ok(m) => m,
        Err(response) => return response,
    };
    let Ok(credential) = credential else {
        return Response::unauthorized(&denied);
    };
    if let Some(named) = &msg.called_number
        && named != &credential.line
    {
        return Response::field_error(
            403,
            "message.phoneNumber.number",
            "names another line than the tool credential was issued for",
        );
    }
    let now = msg.timestamp.unwrap_or(now);
    let bundle = match load(store, &credential).await {
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
        .map(|call| match answers::answer(&bundle, call, now) {
            Ok(text) => ToolResult::ok(call, text),
            Err(text) => ToolResult::err(call, text),
        })
        .collect();
    Response::json(200, &ToolResults { results })
}

/// The published bundle of the credential's business, or the sentence to answer every call
/// with. The line must still belong to that business: a line moved to another business since
/// the credential was issued reads nothing of either.
async fn load<S: Store>(store: &S, credential: &ToolCredential) -> Result<Published, &'static str> {
    let route = resolve_line(store, Some(&credential.line), None)
        .await
        .map_err(|e| {
            eprintln!("knowledge-base: storage error routing a call: {e}");
            TROUBLE
        })?;
    let business = match route {
        LineRoute::Active { business, .. } if business.id == credential.business_id => business,
        LineRoute::Inactive { business, .. } if business.id == credential.business_id => {
            return Err(NOT_TAKING_CALLS);
        }
        _ => return Err(UNKNOWN_LINE),
    };
    // (A bundle stored by an older release is rebuilt from the document by load_published.)
    match load_published(store, &business).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(UNKNOWN_LINE),
        Err(e) => {
            eprintln!("knowledge-base: storage error loading {}: {e}", business.id);
            Err(TROUBLE)
        }
    }
}
