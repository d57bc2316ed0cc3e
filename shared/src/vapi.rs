//! Vapi server messages, parsed tolerantly (Vapi's published types, docs and real payloads
//! disagree), and the responses we send back.
//!
//! Tolerated shapes (each seen in Vapi's documentation or in real payloads):
//! - `timestamp` as epoch milliseconds or an ISO-8601 string;
//! - tool calls in `toolCallList`, the legacy `toolCalls`, or `toolWithToolCallList[].toolCall`;
//! - each call as `{id, function: {name, arguments}}` or flattened `{id, name, arguments}` /
//!   `{id, name, parameters}`; arguments as a JSON object or a JSON-encoded string.
//!
//! Unknown fields are ignored everywhere: Vapi adds fields often.

use crate::http::{Method, Request, Response};
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

    /// The 400 response naming the field.
    pub fn into_response(self) -> Response {
        Response::field_error(400, &self.field, &self.message)
    }
}

/// What every Vapi webhook checks first, in this order: `POST` (else 405), `authorized` (the
/// caller's check of the secret it accepts; else 401 with `denied`), a body that parses (else
/// 400 naming the field), and a message of type `kind`. Any other type is answered `200 {}`:
/// Vapi sends informational events to every server URL and needs no answer to them. `Err` is
/// the response to send.
pub fn accept(
    req: &Request,
    authorized: bool,
    denied: &str,
    kind: &str,
) -> Result<Message, Response> {
    if req.method != Method::Post {
        return Err(Response::method_not_allowed());
    }
    if !authorized {
        return Err(Response::unauthorized(denied));
    }
    let msg = parse_message(&req.body).map_err(MessageError::into_response)?;
    if msg.kind != kind {
        return Err(Response::json(200, &serde_json::json!({})));
    }
    Ok(msg)
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
    let m = root
        .get("message")
        .ok_or_else(|| MessageError::new("message", "missing; expected {\"message\": {...}}"))?;
    let m = m
        .as_object()
        .ok_or_else(|| MessageError::new("message", "must be an object"))?;

    let kind = match m.get("type") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(MessageError::new(
                "message.type",
                "must be a non-empty string",
            ));
        }
        None => return Err(MessageError::new("message.type", "missing")),
    };
    let timestamp = parse_timestamp(m.get("timestamp"))?;

    let phone = opt_object(m, "phoneNumber", "message.phoneNumber")?;
    let call = opt_object(m, "call", "message.call")?;
    let called_number = match phone.and_then(|p| p.get("number")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(PhoneE164::parse_e164(s).map_err(|_| {
            MessageError::new(
                "message.phoneNumber.number",
                format!("{s:?} is not an E.164 number"),
            )
        })?),
        Some(_) => {
            return Err(MessageError::new(
                "message.phoneNumber.number",
                "must be a string",
            ));
        }
    };
    let phone_number_id = opt_str(phone, "id", "message.phoneNumber.id")?.or(opt_str(
        call,
        "phoneNumberId",
        "message.call.phoneNumberId",
    )?);
    let call_id = opt_str(call, "id", "message.call.id")?;
    let customer = opt_object(m, "customer", "message.customer")?;
    let call_customer = match call {
        Some(c) => opt_object(c, "customer", "message.call.customer")?,
        None => None,
    };
    let customer_number = opt_str(customer, "number", "message.customer.number")?.or(opt_str(
        call_customer,
        "number",
        "message.call.customer.number",
    )?);

    let tool_calls = parse_tool_calls(m)?;

    Ok(Message {
        kind,
        timestamp,
        called_number,
        phone_number_id,
        call_id,
        customer_number,
        tool_calls,
    })
}

fn parse_timestamp(v: Option<&Value>) -> Result<Option<jiff::Timestamp>, MessageError> {
    let bad = |what: &str| MessageError::new("message.timestamp", what.to_owned());
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let ms = n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or_else(|| bad("must be epoch milliseconds or an ISO-8601 string"))?;
            jiff::Timestamp::from_millisecond(ms)
                .map(Some)
                .map_err(|_| bad("epoch milliseconds out of range"))
        }
        Some(Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .map(Some)
            .map_err(|_| bad("not an ISO-8601 timestamp with an offset")),
        Some(_) => Err(bad("must be epoch milliseconds or an ISO-8601 string")),
    }
}

fn opt_object<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, MessageError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(MessageError::new(path, "must be an object")),
    }
}

fn opt_str(
    m: Option<&Map<String, Value>>,
    key: &str,
    path: &str,
) -> Result<Option<String>, MessageError> {
    match m.and_then(|m| m.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MessageError::new(path, "must be a string")),
    }
}

fn parse_tool_calls(m: &Map<String, Value>) -> Result<Vec<ToolCall>, MessageError> {
    // Prefer the current list; fall back to the legacy alias, then to the tool-with-call list.
    for key in ["toolCallList", "toolCalls"] {
        match m.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(a)) if a.is_empty() => continue,
            Some(Value::Array(a)) => {
                return a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| parse_tool_call(v, &format!("message.{key}[{i}]")))
                    .collect();
            }
            Some(_) => {
                return Err(MessageError::new(
                    format!("message.{key}"),
                    "must be an array",
                ));
            }
        }
    }
    match m.get("toolWithToolCallList") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let path = format!("message.toolWithToolCallList[{i}]");
                let call = v
                    .get("toolCall")
                    .ok_or_else(|| MessageError::new(format!("{path}.toolCall"), "missing"))?;
                let mut tc = parse_tool_call(call, &format!("{path}.toolCall"))?;
                if tc.name.is_empty() {
                    // A docs example puts the name on the tool config only.
                    if let Some(n) = v
                        .pointer("/function/name")
                        .or(v.get("name"))
                        .and_then(Value::as_str)
                    {
                        tc.name = n.to_owned();
                    }
                }
                if tc.name.is_empty() {
                    return Err(MessageError::new(
                        format!("{path}.toolCall.function.name"),
                        "missing",
                    ));
                }
                Ok(tc)
            })
            .collect(),
        Some(_) => Err(MessageError::new(
            "message.toolWithToolCallList",
            "must be an array",
        )),
    }
}

fn parse_tool_call(v: &Value, path: &str) -> Result<ToolCall, MessageError> {
    let o = v
        .as_object()
        .ok_or_else(|| MessageError::new(path, "must be an object"))?;
    let id = match o.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(MessageError::new(
                format!("{path}.id"),
                "missing or not a string",
            ));
        }
    };
    let function = match o.get("function") {
        None | Some(Value::Null) => None,
        Some(Value::Object(f)) => Some(f),
        Some(_) => {
            return Err(MessageError::new(
                format!("{path}.function"),
                "must be an object",
            ));
        }
    };
    let name = function
        .and_then(|f| f.get("name"))
        .or_else(|| o.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let name_optional = path.ends_with(".toolCall");
    if name.is_empty() && !name_optional {
        return Err(MessageError::new(
            format!("{path}.function.name"),
            "missing",
        ));
    }
    let raw = function
        .and_then(|f| f.get("arguments"))
        .or_else(|| o.get("arguments"))
        .or_else(|| o.get("parameters"));
    let arguments = match raw {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(a)) => Ok(a.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
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
        let status = |r: Result<Message, Response>| r.map(|m| m.kind).map_err(|r| r.status);
        assert_eq!(
            status(accept(
                &Request::new(Method::Get, "/vapi/x"),
                false,
                "no",
                "tool-calls"
            )),
            Err(405)
        );
        let denied = accept(&post, false, "bad secret", "tool-calls").unwrap_err();
        assert_eq!(denied.status, 401);
        assert!(String::from_utf8_lossy(&denied.body).contains("bad secret"));
        let garbage = Request::new(Method::Post, "/vapi/x").with_body("{");
        assert_eq!(status(accept(&garbage, true, "no", "tool-calls")), Err(400));
        let other = accept(&post, true, "no", "assistant-request").unwrap_err();
        assert_eq!((other.status, other.body.as_slice()), (200, &b"{}"[..]));
        assert_eq!(
            status(accept(&post, true, "no", "tool-calls")),
            Ok("tool-calls".to_owned())
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
