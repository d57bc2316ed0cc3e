//! Vapi server messages, parsed tolerantly (Vapi's published types, docs and real payloads
//! disagree), and the responses we send back.
//!
//! Tolerated shapes (each seen in Vapi's documentation or in real payloads):
//! - `timestamp` as epoch milliseconds or an ISO-8601 string;
//! - tool calls in `toolCallList`, the legacy `toolCalls`, or `toolWithToolCallList[].toolCall`;
//! - each call as `{id, function: {name, arguments}}` or flattened `{id, name, arguments}` /
//!   `{id, name, parameters}`; arguments as a JSON object or a JSON-encoded string.
//!
//! The wire shapes are serde types (every field optional, unknown fields ignored: Vapi adds
//! fields often); what a handler needs is then checked, and every error names the JSON path of
//! the field at fault (serde_path_to_error).

use crate::api::ApiError;
use crate::http::{Method, Request};
use crate::phone::PhoneE164;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The parts of a server message our handlers use.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `message.type`: "assistant-request", "tool-calls", "status-update", ...
    pub kind: String,
    pub timestamp: Option<jiff::Timestamp>,
    /// `message.phoneNumber.number`: the business line that was dialled (the tenant key).
    pub called_number: Option<PhoneE164>,
    /// `message.phoneNumber.id` or `message.call.phoneNumberId`: Vapi's id of that line.
    pub phone_number_id: Option<String>,
    /// `message.call.id`.
    pub call_id: Option<String>,
    /// `message.customer.number` or `message.call.customer.number`, as sent (may be absent or
    /// not E.164 for web calls).
    pub customer_number: Option<String>,
    pub tool_calls: Vec<ToolCall>,
}

/// One tool call, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments object, or why it could not be read (answered as that call's error).
    pub arguments: Result<Map<String, Value>, String>,
}

/// Why a body is not a usable Vapi message: the JSON path at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MessageError {
    pub field: String,
    pub message: String,
}

impl MessageError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<MessageError> for ApiError {
    /// A 400 naming the field.
    fn from(e: MessageError) -> Self {
        ApiError::field(400, e.field, e.message)
    }
}

/// What every Vapi webhook checks first, in this order: `POST` (else 405), `authorize` (the
/// route's check of the credential it accepts; its error is sent), a body that parses (else
/// 400 naming the field), and a message of type `kind`. `Ok(None)` for any other type, which
/// is answered `200 {}`: Vapi sends informational events to every server URL and needs no
/// answer to them.
pub fn accept<P>(
    req: &Request,
    authorize: impl FnOnce() -> Result<P, ApiError>,
    kind: &str,
) -> Result<Option<(P, Message)>, ApiError> {
    if req.method != Method::Post {
        return Err(ApiError::method_not_allowed());
    }
    let principal = authorize()?;
    let msg = parse_message(&req.body)?;
    if msg.kind != kind {
        return Ok(None);
    }
    Ok(Some((principal, msg)))
}

/// [`accept`] for the routes the per-business tool credential opens (tool calls from Vapi or
/// the relay): the credential decides the business and line, and a body naming another line
/// than the credential's is refused (403), so a credential cannot be replayed on another line.
pub fn accept_tool_message(
    req: &Request,
    tool_token_key: &str,
    now: jiff::Timestamp,
    kind: &str,
) -> Result<Option<(crate::credential::ToolCredential, Message)>, ApiError> {
    let Some((credential, msg)) = accept(
        req,
        || crate::api::tool_credential(req, tool_token_key, now),
        kind,
    )?
    else {
        return Ok(None);
    };
    if let Some(named) = &msg.called_number
        && named != &credential.line
    {
        return Err(ApiError::field(
            403,
            "message.phoneNumber.number",
            "names another line than the tool credential was issued for",
        ));
    }
    Ok(Some((credential, msg)))
}

/// The answer to a message [`accept`] set aside.
pub fn ignored() -> crate::http::Response {
    crate::http::Response::json(200, &serde_json::json!({}))
}

// The wire shapes, as serde types. Everything is optional here: what a handler needs is
// checked after, with the JSON path of the field at fault; unknown fields are ignored.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    #[serde(rename = "type")]
    kind: Option<String>,
    timestamp: Option<WireTimestamp>,
    phone_number: Option<WirePhone>,
    call: Option<WireCall>,
    customer: Option<WireCustomer>,
    tool_call_list: Option<Vec<WireToolCall>>,
    tool_calls: Option<Vec<WireToolCall>>,
    tool_with_tool_call_list: Option<Vec<WireToolWith>>,
}

#[derive(Deserialize)]
struct WirePhone {
    id: Option<String>,
    number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCall {
    id: Option<String>,
    phone_number_id: Option<String>,
    customer: Option<WireCustomer>,
}

#[derive(Deserialize)]
struct WireCustomer {
    number: Option<String>,
}

#[derive(Deserialize)]
struct WireFunction {
    name: Option<String>,
    arguments: Option<Value>,
}

/// `{id, function: {name, arguments}}`, or flattened `{id, name, arguments | parameters}`.
#[derive(Deserialize)]
struct WireToolCall {
    id: Option<String>,
    function: Option<WireFunction>,
    name: Option<String>,
    arguments: Option<Value>,
    parameters: Option<Value>,
}

/// `toolWithToolCallList[]`: the tool's configuration beside the call.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireToolWith {
    tool_call: Option<WireToolCall>,
    function: Option<WireFunction>,
    name: Option<String>,
}

/// Epoch milliseconds or an ISO-8601 string with an offset.
struct WireTimestamp(jiff::Timestamp);

impl<'de> Deserialize<'de> for WireTimestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Number(n) => {
                let ms = n
                    .as_i64()
                    .or_else(|| n.as_f64().map(|f| f as i64))
                    .ok_or_else(|| {
                        D::Error::custom("must be epoch milliseconds or an ISO-8601 string")
                    })?;
                jiff::Timestamp::from_millisecond(ms)
                    .map(WireTimestamp)
                    .map_err(|_| D::Error::custom("epoch milliseconds out of range"))
            }
            Value::String(s) => s
                .parse::<jiff::Timestamp>()
                .map(WireTimestamp)
                .map_err(|_| D::Error::custom("not an ISO-8601 timestamp with an offset")),
            _ => Err(D::Error::custom(
                "must be epoch milliseconds or an ISO-8601 string",
            )),
        }
    }
}

/// A serde error in words a caller can act on (serde names our private types).
fn plain(message: String) -> String {
    if message.contains("expected struct") || message.contains("expected a map") {
        "must be an object".to_owned()
    } else if message.contains("expected a sequence") {
        "must be an array".to_owned()
    } else if message.contains("expected a string") {
        "must be a string".to_owned()
    } else {
        message
    }
}

/// A present, non-empty string (the wire sends `""` for "none" as often as `null`).
fn some(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Parse a request body `{"message": {...}}`.
pub fn parse_message(body: &[u8]) -> Result<Message, MessageError> {
    if body.is_empty() {
        return Err(MessageError::new(
            "",
            "request body is empty; expected JSON",
        ));
    }
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| MessageError::new("", format!("malformed JSON: {e}")))?;
    let Some(m) = root.get("message") else {
        return Err(MessageError::new(
            "message",
            "missing; expected {\"message\": {...}}",
        ));
    };
    let m: WireMessage = serde_path_to_error::deserialize(m).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "message".to_owned()
        } else {
            format!("message.{path}")
        };
        MessageError::new(field, plain(e.into_inner().to_string()))
    })?;

    let kind = match m.kind {
        Some(k) if !k.is_empty() => k,
        Some(_) => {
            return Err(MessageError::new(
                "message.type",
                "must be a non-empty string",
            ));
        }
        None => return Err(MessageError::new("message.type", "missing")),
    };
    let (phone_number_id, called_number) = match m.phone_number {
        Some(p) => (some(p.id), some(p.number)),
        None => (None, None),
    };
    let called_number = match called_number {
        None => None,
        Some(s) => Some(PhoneE164::parse_e164(&s).map_err(|_| {
            MessageError::new(
                "message.phoneNumber.number",
                format!("{s:?} is not an E.164 number"),
            )
        })?),
    };
    let (call_id, call_phone_number_id, call_customer) = match m.call {
        Some(c) => (some(c.id), some(c.phone_number_id), c.customer),
        None => (None, None, None),
    };
    let customer_number = m
        .customer
        .and_then(|c| some(c.number))
        .or_else(|| call_customer.and_then(|c| some(c.number)));

    // Prefer the current list; fall back to the legacy alias, then to the tool-with-call list.
    let tool_calls = match (m.tool_call_list, m.tool_calls) {
        (Some(list), _) if !list.is_empty() => tool_calls(list, "toolCallList")?,
        (_, Some(list)) if !list.is_empty() => tool_calls(list, "toolCalls")?,
        _ => tools_with_calls(m.tool_with_tool_call_list.unwrap_or_default())?,
    };

    Ok(Message {
        kind,
        timestamp: m.timestamp.map(|t| t.0),
        called_number,
        phone_number_id: phone_number_id.or(call_phone_number_id),
        call_id,
        customer_number,
        tool_calls,
    })
}

fn tool_calls(list: Vec<WireToolCall>, key: &str) -> Result<Vec<ToolCall>, MessageError> {
    list.into_iter()
        .enumerate()
        .map(|(i, c)| tool_call(c, &format!("message.{key}[{i}]"), None))
        .collect()
}

fn tools_with_calls(list: Vec<WireToolWith>) -> Result<Vec<ToolCall>, MessageError> {
    list.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let path = format!("message.toolWithToolCallList[{i}].toolCall");
            let call = w
                .tool_call
                .ok_or_else(|| MessageError::new(path.clone(), "missing"))?;
            // A docs example puts the name on the tool config only.
            let config_name = some(w.function.and_then(|f| f.name)).or(some(w.name));
            tool_call(call, &path, config_name)
        })
        .collect()
}

fn tool_call(
    c: WireToolCall,
    path: &str,
    fallback_name: Option<String>,
) -> Result<ToolCall, MessageError> {
    let Some(id) = some(c.id) else {
        return Err(MessageError::new(
            format!("{path}.id"),
            "missing or not a string",
        ));
    };
    let (function_name, function_arguments) = match c.function {
        Some(f) => (some(f.name), f.arguments),
        None => (None, None),
    };
    let Some(name) = function_name.or(some(c.name)).or(fallback_name) else {
        return Err(MessageError::new(
            format!("{path}.function.name"),
            "missing",
        ));
    };
    let raw = function_arguments.or(c.arguments).or(c.parameters);
    let arguments = match raw {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(a)) => Ok(a),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(a)) => Ok(a),
            Ok(_) => Err("the arguments were not a JSON object".to_owned()),
            Err(_) => Err("the arguments were not valid JSON".to_owned()),
        },
        Some(_) => Err("the arguments were not a JSON object".to_owned()),
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// One entry of a tool-calls response. `result` and `error` are single-line spoken strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResult {
    pub tool_call_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ToolResult {
    pub fn ok(call: &ToolCall, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            result: Some(crate::speech::single_line(&text.into())),
            error: None,
        }
    }

    pub fn err(call: &ToolCall, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            result: None,
            error: Some(crate::speech::single_line(&text.into())),
        }
    }
}

/// `{"results": [...]}`: one per call, same order as requested, always HTTP 200.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResults {
    pub results: Vec<ToolResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_checks_method_auth_body_and_kind_in_that_order() {
        let body = br#"{"message": {"type": "tool-calls", "toolCallList": []}}"#.to_vec();
        let post = Request::new(Method::Post, "/vapi/x").with_body(body.clone());
        let yes = || Ok::<_, ApiError>(7);
        let no = || Err::<u8, _>(ApiError::unauthorized("bad secret"));
        let status = |r: Result<Option<(u8, Message)>, ApiError>| {
            r.map(|m| m.map(|(p, m)| (p, m.kind)))
                .map_err(|e| e.response().status)
        };
        assert_eq!(
            status(accept(
                &Request::new(Method::Get, "/vapi/x"),
                no,
                "tool-calls"
            )),
            Err(405)
        );
        let denied = accept(&post, no, "tool-calls").unwrap_err().response();
        assert_eq!(denied.status, 401);
        assert!(denied.body_str().contains("bad secret"));
        let garbage = Request::new(Method::Post, "/vapi/x").with_body("{");
        assert_eq!(status(accept(&garbage, yes, "tool-calls")), Err(400));
        assert_eq!(status(accept(&post, yes, "assistant-request")), Ok(None));
        assert_eq!(
            status(accept(&post, yes, "tool-calls")),
            Ok(Some((7, "tool-calls".to_owned())))
        );
    }

    fn parse(s: &str) -> Message {
        parse_message(s.as_bytes()).unwrap()
    }

    #[test]
    fn assistant_request_with_iso_timestamp() {
        let m = parse(
            r#"{"message":{"type":"assistant-request","timestamp":"2026-11-20T18:07:29.700Z",
            "call":{"id":"c1","phoneNumberId":"pn1","customer":{"number":"+14155550123"}},
            "phoneNumber":{"id":"pn1","number":"+14155550100"}}}"#,
        );
        assert_eq!(m.kind, "assistant-request");
        assert_eq!(m.called_number.unwrap().as_str(), "+14155550100");
        assert_eq!(m.phone_number_id.as_deref(), Some("pn1"));
        assert_eq!(m.call_id.as_deref(), Some("c1"));
        assert_eq!(m.customer_number.as_deref(), Some("+14155550123"));
        assert_eq!(m.timestamp.unwrap().to_string(), "2026-11-20T18:07:29.7Z");
    }

    #[test]
    fn millisecond_timestamp_and_string_arguments() {
        let m = parse(
            r#"{"message":{"type":"tool-calls","timestamp":1763662137931,
            "toolCalls":[{"id":"a","type":"function","function":{"name":"get_modifiers_info","arguments":"{\"item\":\"taro milk tea\"}"}}],
            "call":{"id":"c","phoneNumberId":"pn"}}}"#,
        );
        assert_eq!(m.timestamp.unwrap().as_millisecond(), 1763662137931);
        assert_eq!(m.tool_calls.len(), 1);
        assert_eq!(
            m.tool_calls[0].arguments.as_ref().unwrap()["item"],
            "taro milk tea"
        );
        assert_eq!(m.phone_number_id.as_deref(), Some("pn"));
        assert_eq!(m.called_number, None);
    }

    #[test]
    fn object_arguments_flattened_and_parameters() {
        let m = parse(
            r#"{"message":{"type":"tool-calls","toolCallList":[
              {"id":"1","function":{"name":"get_menu_info","arguments":{"query":"boba"}}},
              {"id":"2","name":"search_faq","arguments":{"query":"parking"}},
              {"id":"3","name":"get_hours_info","parameters":{"day":"sunday"}},
              {"id":"4","function":{"name":"get_hours_info"}},
              {"id":"5","function":{"name":"get_menu_info","arguments":"{broken"}}]}}"#,
        );
        let names: Vec<_> = m.tool_calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "get_menu_info",
                "search_faq",
                "get_hours_info",
                "get_hours_info",
                "get_menu_info"
            ]
        );
        assert_eq!(m.tool_calls[0].arguments.as_ref().unwrap()["query"], "boba");
        assert_eq!(
            m.tool_calls[1].arguments.as_ref().unwrap()["query"],
            "parking"
        );
        assert_eq!(m.tool_calls[2].arguments.as_ref().unwrap()["day"], "sunday");
        assert_eq!(m.tool_calls[3].arguments, Ok(Map::new()));
        assert!(m.tool_calls[4].arguments.is_err());
    }

    #[test]
    fn tool_with_tool_call_list_fallback() {
        let m = parse(
            r#"{"message":{"type":"tool-calls","toolCallList":[],"toolWithToolCallList":[
              {"type":"function","function":{"name":"search_faq"},"toolCall":{"id":"x","function":{"arguments":{"query":"q"}}}}]}}"#,
        );
        assert_eq!(m.tool_calls[0].name, "search_faq");
        assert_eq!(m.tool_calls[0].id, "x");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("", ""),
            ("{", ""),
            ("[]", "message"),
            (r#"{"message":1}"#, "message"),
            (r#"{"message":{}}"#, "message.type"),
            (
                r#"{"message":{"type":"x","timestamp":true}}"#,
                "message.timestamp",
            ),
            (
                r#"{"message":{"type":"x","timestamp":"yesterday"}}"#,
                "message.timestamp",
            ),
            (
                r#"{"message":{"type":"x","phoneNumber":{"number":"415"}}}"#,
                "message.phoneNumber.number",
            ),
            (
                r#"{"message":{"type":"x","phoneNumber":"+1415"}}"#,
                "message.phoneNumber",
            ),
            (
                r#"{"message":{"type":"x","toolCallList":{}}}"#,
                "message.toolCallList",
            ),
            (
                r#"{"message":{"type":"x","toolCallList":[{"function":{"name":"a"}}]}}"#,
                "message.toolCallList[0].id",
            ),
            (
                r#"{"message":{"type":"x","toolCallList":[{"id":"1"}]}}"#,
                "message.toolCallList[0].function.name",
            ),
        ];
        for (body, field) in cases {
            let e = parse_message(body.as_bytes()).unwrap_err();
            assert_eq!(e.field, field, "{body}");
        }
    }

    #[test]
    fn results_serialize_in_vapi_shape() {
        let call = ToolCall {
            id: "t1".into(),
            name: "get_menu_info".into(),
            arguments: Ok(Map::new()),
        };
        let r = ToolResults {
            results: vec![
                ToolResult::ok(&call, "Yes.\nWe have it."),
                ToolResult::err(&call, "No"),
            ],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"results":[{"toolCallId":"t1","name":"get_menu_info","result":"Yes. We have it."},{"toolCallId":"t1","name":"get_menu_info","error":"No"}]}"#
        );
    }
}
