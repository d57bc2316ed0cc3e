//! The inline assistant returned to Vapi: greeting, a system prompt built from the business
//! profile, the knowledge tools (and, when the business takes orders, the order tools on
//! `/vapi/orders`) with their schemas and server URL (carrying the call's tool
//! credential), and metadata naming the business. Pure: the same inputs give the same JSON.
//!
//! Call events (`status-update`, `end-of-call-report`, `hang`) go to `/vapi/events` (the calls
//! function) with the same credential, so the call log is kept under this business.

use hostline_shared::credential::TOOL_TOKEN_HEADER;
use hostline_shared::ids::BusinessId;
use hostline_shared::persona::{greeting, prompt};
use hostline_shared::phone::PhoneE164;
use hostline_shared::restaurant::Restaurant;
use hostline_shared::tenancy::AssistantSettings;
use hostline_shared::tools::{knowledge_tools, order_tools};
use serde_json::{Value, json};

pub struct Inputs<'a> {
    pub business_id: &'a BusinessId,
    pub line: &'a PhoneE164,
    pub restaurant: &'a Restaurant,
    /// e.g. `https://hostline.example.com`; a trailing slash is tolerated.
    pub public_base_url: &'a str,
    /// The signed credential for this business and line
    /// ([`hostline_shared::credential::ToolCredential`]), sent with every tool call; the tool
    /// route takes the tenant from it.
    pub tool_token: &'a str,
    /// The owner's settings: greeting, prompt additions, voice, model, enabled tools.
    pub settings: &'a AssistantSettings,
    /// The staff line callers may be transferred to (Vapi's transfer tool), if any.
    pub transfer_to: Option<&'a PhoneE164>,
    /// The longest this call may last (the business's prepaid balance can make it shorter).
    pub max_call_seconds: u32,
    /// The message timestamp (or the clock): the prompt states the local date and time.
    pub now: jiff::Timestamp,
}

/// The longest any call lasts.
pub const MAX_CALL_SECONDS: u32 = 30 * 60;
/// Vapi's floor for `maxDurationSeconds`: a balance below it still gets this much.
const VAPI_MIN_DURATION_SECONDS: u32 = 10;

/// How long Vapi waits for a tool answer before giving up.
const TOOL_TIMEOUT_SECONDS: u32 = 20;

pub fn build(i: &Inputs<'_>) -> Value {
    let base = i.public_base_url.trim_end_matches('/');
    let r = i.restaurant;
    let server = |path: &str| {
        json!({
            "url": format!("{base}{path}"),
            "timeoutSeconds": TOOL_TIMEOUT_SECONDS,
            "headers": {TOOL_TOKEN_HEADER: i.tool_token},
        })
    };
    let mut tools: Vec<Value> = knowledge_tools()
        .into_iter()
        .filter(|t| i.settings.tool_enabled(t.name))
        .map(|t| {
            json!({
                "type": "function",
                "async": false,
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                "server": server("/vapi/knowledge-base"),
            })
        })
        .collect();
    if i.settings.ordering_on(r) {
        tools.extend(order_tools().into_iter().map(|t| {
            json!({
                "type": "function",
                "async": false,
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                "server": server("/vapi/orders"),
            })
        }));
    }
    if let Some(line) = i.transfer_to {
        tools.push(json!({
            "type": "transferCall",
            "destinations": [{
                "type": "number",
                "number": line.as_str(),
                "message": "One moment, I'll connect you with someone at the restaurant.",
                "description": "the restaurant's staff, when the caller asks for a person or you cannot help",
            }],
        }));
    }
    let (model_provider, model) = match &i.settings.model {
        Some(m) => (m.provider.as_str(), m.model.as_str()),
        None => ("openai", "gpt-4o-mini"),
    };
    let mut assistant = json!({
        "name": truncate(&format!("{} host", r.business.name), 40),
        "firstMessage": greeting(r, i.settings),
        "firstMessageMode": "assistant-speaks-first",
        "maxDurationSeconds": i.max_call_seconds.max(VAPI_MIN_DURATION_SECONDS),
        "model": {
            "provider": model_provider,
            "model": model,
            "temperature": 0.3,
            "messages": [{"role": "system", "content": prompt(r, i.settings, i.now)}],
            "tools": tools,
        },
        "server": server("/vapi/events"),
        "serverMessages": ["status-update", "end-of-call-report", "hang", "tool-calls"],
        "metadata": {
            "business_id": i.business_id.as_str(),
            "line": i.line.as_str(),
        },
    });
    if let Some(v) = &i.settings.voice {
        assistant["voice"] = json!({"provider": v.provider, "voiceId": v.voice_id});
    }
    assistant
}

/// Vapi caps assistant names; keep whole characters.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
