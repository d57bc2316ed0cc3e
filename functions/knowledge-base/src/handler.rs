//! The knowledge-base handler. The business and line come from the tool credential the
//! assistant (or the relay's agent configuration) carries, signed by us for one business and
//! one line; never from the body or tool arguments. A body that names another line is refused.

use crate::answers;
use hostline_shared::api::{ApiError, one_route};
use hostline_shared::credential::ToolCredential;
use hostline_shared::http::{Request, Response};
use hostline_shared::publish::load_published;
use hostline_shared::settings::Settings;
use hostline_shared::store::Store;
use hostline_shared::tenancy::{NotRouted, Published, credential_business};
use hostline_shared::vapi::{ToolResult, ToolResults, accept_tool_message, ignored};

#[derive(Debug, Clone)]
pub struct Config {
    /// Verifies the per-business tool credential (`tool_token_key`).
    pub tool_token_key: String,
}

/// The configuration from the platform's settings (Spin variables, or Lambda's environment).
pub async fn config(settings: &impl Settings) -> Config {
    Config {
        tool_token_key: settings.get("tool_token_key").await,
    }
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
    one_route(req, "/vapi/knowledge-base", "knowledge-base", || {
        tool_calls(req, store, config, now)
    })
    .await
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
    let now = msg.timestamp.unwrap_or(now);
    // What goes wrong from here on is spoken to the caller: Vapi reads a tool's result aloud,
    // and an HTTP error would leave the caller in silence.
    let results = match load(store, &credential).await {
        Ok(bundle) => msg
            .tool_calls
            .iter()
            .map(|call| match answers::answer(&bundle, call, now) {
                Ok(text) => ToolResult::ok(call, text),
                Err(text) => ToolResult::err(call, text),
            })
            .collect(),
        Err(spoken) => msg
            .tool_calls
            .iter()
            .map(|c| ToolResult::err(c, spoken))
            .collect(),
    };
    Ok(Response::json(200, &ToolResults { results }))
}

/// The published bundle of the credential's business, or the sentence to answer every call
/// with. The line must still belong to that business: a line moved to another business since
/// the credential was issued reads nothing of either.
async fn load<S: Store>(store: &S, credential: &ToolCredential) -> Result<Published, &'static str> {
    let business = match credential_business(store, credential).await {
        Ok(Ok(b)) => b,
        Ok(Err(NotRouted::Inactive)) => return Err(NOT_TAKING_CALLS),
        Ok(Err(NotRouted::UnknownLine)) => return Err(UNKNOWN_LINE),
        Err(e) => {
            eprintln!("knowledge-base: storage error routing a call: {e}");
            return Err(TROUBLE);
        }
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
