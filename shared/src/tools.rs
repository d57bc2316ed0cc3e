//! The tool catalog: the functions a voice agent may call, with their JSON-Schema parameters.
//! One list serves every platform: the Vapi assistant (`model.tools`), and later the media
//! relay's Deepgram `Settings` (`agent.think.functions`). The handlers that implement the tools
//! match on the same names.

use serde_json::{Value, json};

/// One callable function.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

pub const GET_MENU_INFO: &str = "get_menu_info";
pub const GET_MODIFIERS_INFO: &str = "get_modifiers_info";
pub const GET_HOURS_INFO: &str = "get_hours_info";
pub const GET_DELIVERY_INFO: &str = "get_delivery_info";
pub const SEARCH_FAQ: &str = "search_faq";

/// The knowledge tools, answered by `POST /vapi/knowledge-base`.
pub fn knowledge_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: GET_MENU_INFO,
            description: "Look up menu items, prices and descriptions. Pass what the caller said as `query` \
                (an item name, a description like 'the curry with potatoes', or a topping); pass `category` \
                to list a section of the menu; pass neither for an overview. Never guess menu facts: call this.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What the caller asked about, in their words."},
                    "category": {"type": "string", "description": "A menu section, e.g. 'drinks' or 'pizza'."}
                },
                "required": []
            }),
        },
        ToolSpec {
            name: GET_MODIFIERS_INFO,
            description: "List the choices for one menu item (sizes, toppings, sweetness, sauces) with prices, \
                which are required and what the defaults are.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "item": {"type": "string", "description": "The menu item, in the caller's words."}
                },
                "required": ["item"]
            }),
        },
        ToolSpec {
            name: GET_HOURS_INFO,
            description: "Opening hours in the restaurant's local time. With no `day` it answers whether the \
                restaurant is open right now and until when, or when it opens next.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "day": {"type": "string", "description": "'today', 'tomorrow', a weekday like 'saturday', or a date like '2026-12-24'."}
                },
                "required": []
            }),
        },
        ToolSpec {
            name: GET_DELIVERY_INFO,
            description: "Whether the restaurant delivers, to which areas, fees, minimums and times. Pass the \
                caller's ZIP code or address to check one location.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "address_or_zip": {"type": "string", "description": "A ZIP code or a street address."}
                },
                "required": []
            }),
        },
        ToolSpec {
            name: SEARCH_FAQ,
            description: "Answers to common questions about the restaurant: parking, dietary options, payment, \
                catering and the like.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The caller's question."}
                },
                "required": ["query"]
            }),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_required_props_exist() {
        for t in knowledge_tools() {
            assert_eq!(t.parameters["type"], "object", "{}", t.name);
            let props = t.parameters["properties"].as_object().unwrap();
            for r in t.parameters["required"].as_array().unwrap() {
                assert!(props.contains_key(r.as_str().unwrap()), "{}: {r}", t.name);
            }
        }
    }
}
