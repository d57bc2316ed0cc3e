//! The tool catalog: the functions a voice agent may call. Each tool's arguments are a serde
//! struct, and the JSON Schema every platform is given is derived from that same struct
//! (schemars), so what we advertise and what we read cannot drift apart. One list serves every
//! platform: the Vapi assistant (`model.tools`) and the media relay's agent `Settings`.
//!
//! Arguments are read leniently, as a voice model writes them: unknown fields are ignored,
//! strings are trimmed and a blank one counts as absent, and a number where text is expected
//! ("address_or_zip": 60647) is taken as its digits.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

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

/// `get_menu_info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct MenuInfoArgs {
    /// What the caller asked about, in their words.
    #[schemars(with = "Option<String>")]
    pub query: Option<Spoken>,
    /// A menu section, e.g. 'drinks' or 'pizza'.
    #[schemars(with = "Option<String>")]
    pub category: Option<Spoken>,
}

/// `get_modifiers_info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct ModifiersInfoArgs {
    /// The menu item, in the caller's words.
    #[schemars(with = "Option<String>", required)]
    pub item: Option<Spoken>,
}

/// `get_hours_info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct HoursInfoArgs {
    /// 'today', 'tomorrow', a weekday like 'saturday', or a date like '2026-12-24'.
    #[schemars(with = "Option<String>")]
    pub day: Option<Spoken>,
}

/// `get_delivery_info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct DeliveryInfoArgs {
    /// A ZIP code or a street address.
    #[schemars(with = "Option<String>")]
    pub address_or_zip: Option<Spoken>,
}

/// `search_faq`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct SearchFaqArgs {
    /// The caller's question.
    #[schemars(with = "Option<String>", required)]
    pub query: Option<Spoken>,
}

pub const ADD_TO_CART: &str = "add_to_cart";
pub const UPDATE_PENDING_ITEM: &str = "update_pending_item";
pub const CONFIRM_PENDING_TO_CART: &str = "confirm_pending_to_cart";
pub const CLEAR_PENDING_ITEM: &str = "clear_pending_item";
pub const REMOVE_FROM_CART: &str = "remove_from_cart";
pub const VIEW_CART: &str = "view_cart";
pub const SET_FULFILLMENT: &str = "set_fulfillment";
pub const CHECKOUT_ORDER: &str = "checkout_order";
pub const ORDER_STATUS: &str = "order_status";
pub const SAVE_PHONE_NUMBER: &str = "save_phone_number";
pub const LOOKUP_PREVIOUS_ORDERS: &str = "lookup_previous_orders";

/// `add_to_cart`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct AddToCartArgs {
    /// The menu item, in the caller's words.
    #[schemars(required)]
    pub item: Option<String>,
    /// How many (default 1).
    pub quantity: Option<u32>,
    /// Each choice the caller said (size, crust, toppings, sweetness...), in their words.
    pub modifiers: Option<Vec<String>>,
    /// Anything for the kitchen ('well done', 'no onions').
    pub notes: Option<String>,
}

/// `update_pending_item`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct UpdatePendingArgs {
    /// A new quantity.
    pub quantity: Option<u32>,
    /// The full list of choices now (replaces what was said before).
    pub modifiers: Option<Vec<String>>,
    pub notes: Option<String>,
}

/// `remove_from_cart`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct RemoveArgs {
    /// The line's number as read out by view_cart, or the item's name.
    #[schemars(required)]
    pub item_or_index: Option<String>,
}

/// `set_fulfillment`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct FulfillmentArgs {
    /// 'pickup' or 'delivery'.
    #[schemars(required)]
    pub r#type: Option<String>,
    /// For delivery: the street address with its ZIP code.
    pub address: Option<String>,
    /// When the caller wants it, if not as soon as possible: a time, like '18:30' or
    /// '6:30 PM', with a day when not today ('tomorrow at noon', 'Saturday 6 PM').
    pub time: Option<String>,
}

/// `save_phone_number`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct SavePhoneArgs {
    /// The number to text about the order, as the caller said it; 'this number' for the one
    /// they are calling from.
    #[schemars(required)]
    pub phone: Option<String>,
}

/// Tools that take no arguments.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct NoArgs {}

/// The order tools, answered by `POST /vapi/orders`. Nothing enters the cart until the caller
/// confirms the line read back to them.
pub fn order_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: ADD_TO_CART,
            description: "Stage one item the caller wants to order, with its quantity and choices in the caller's words. \
                It answers with a read-back (or what is missing, or why it can't be ordered): say it and ask the caller to confirm. \
                Nothing is in the order until confirm_pending_to_cart.",
            parameters: parameters::<AddToCartArgs>(),
        },
        ToolSpec {
            name: UPDATE_PENDING_ITEM,
            description: "Change the staged item before it is confirmed: quantity, choices (give the whole list) or notes.",
            parameters: parameters::<UpdatePendingArgs>(),
        },
        ToolSpec {
            name: CONFIRM_PENDING_TO_CART,
            description: "The caller said yes to the read-back: add the staged item to the order.",
            parameters: parameters::<NoArgs>(),
        },
        ToolSpec {
            name: CLEAR_PENDING_ITEM,
            description: "The caller does not want the staged item after all.",
            parameters: parameters::<NoArgs>(),
        },
        ToolSpec {
            name: REMOVE_FROM_CART,
            description: "Take an item off the order, by its number in view_cart's read-out or by name.",
            parameters: parameters::<RemoveArgs>(),
        },
        ToolSpec {
            name: VIEW_CART,
            description: "Read the order so far with its total.",
            parameters: parameters::<NoArgs>(),
        },
        ToolSpec {
            name: SET_FULFILLMENT,
            description: "Pickup or delivery, and when if the caller names a later time (today, tomorrow or a weekday). For delivery pass the address with its ZIP code: it checks the delivery area, fee and minimum.",
            parameters: parameters::<FulfillmentArgs>(),
        },
        ToolSpec {
            name: CHECKOUT_ORDER,
            description: "Place the order once the caller is done and has heard the total. Answers the order number: say it digit by digit.",
            parameters: parameters::<NoArgs>(),
        },
        ToolSpec {
            name: SAVE_PHONE_NUMBER,
            description: "The number to text the order confirmation to, if not the one the caller is calling from \
                ('this number' means that one).",
            parameters: parameters::<SavePhoneArgs>(),
        },
        ToolSpec {
            name: LOOKUP_PREVIOUS_ORDERS,
            description: "The caller's earlier orders from this number, for 'the usual' or 'same as last time'. \
                Add what they want again with add_to_cart.",
            parameters: parameters::<NoArgs>(),
        },
        ToolSpec {
            name: ORDER_STATUS,
            description: "Where this call's order is (received, being prepared, ready).",
            parameters: parameters::<NoArgs>(),
        },
    ]
}

/// A knowledge tool call with its arguments read.
#[derive(Debug, Clone, PartialEq)]
pub enum KnowledgeCall {
    MenuInfo(MenuInfoArgs),
    ModifiersInfo(ModifiersInfoArgs),
    HoursInfo(HoursInfoArgs),
    DeliveryInfo(DeliveryInfoArgs),
    SearchFaq(SearchFaqArgs),
}

/// Why a tool call could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolArgsError {
    #[error("there is no tool named {0}")]
    UnknownTool(String),
    #[error("{0}")]
    Invalid(String),
}

impl KnowledgeCall {
    /// Read the arguments of the tool `name`.
    pub fn parse(name: &str, args: &Map<String, Value>) -> Result<KnowledgeCall, ToolArgsError> {
        fn read<T: for<'de> Deserialize<'de>>(
            args: &Map<String, Value>,
        ) -> Result<T, ToolArgsError> {
            serde_json::from_value(Value::Object(args.clone()))
                .map_err(|e| ToolArgsError::Invalid(e.to_string()))
        }
        Ok(match name {
            GET_MENU_INFO => KnowledgeCall::MenuInfo(read(args)?),
            GET_MODIFIERS_INFO => KnowledgeCall::ModifiersInfo(read(args)?),
            GET_HOURS_INFO => KnowledgeCall::HoursInfo(read(args)?),
            GET_DELIVERY_INFO => KnowledgeCall::DeliveryInfo(read(args)?),
            SEARCH_FAQ => KnowledgeCall::SearchFaq(read(args)?),
            other => return Err(ToolArgsError::UnknownTool(other.to_owned())),
        })
    }
}

/// A spoken text argument, trimmed. A number where text is expected is taken as its digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoken(String);

impl Spoken {
    pub fn new(s: &str) -> Spoken {
        Spoken(s.trim().to_owned())
    }
}

/// The text of an optional spoken argument; a blank one counts as absent.
pub fn text(arg: &Option<Spoken>) -> Option<&str> {
    arg.as_ref().map(|s| s.0.as_str()).filter(|s| !s.is_empty())
}

impl<'de> Deserialize<'de> for Spoken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Spoken, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Spoken::new(&s)),
            Value::Number(n) => Ok(Spoken(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected text, got {}",
                match other {
                    Value::Bool(_) => "true or false",
                    Value::Array(_) => "a list",
                    _ => "an object",
                }
            ))),
        }
    }
}

/// The JSON Schema of `T` as function-calling APIs want it: a plain object schema, without
/// the meta-schema and title, optional text as `"type": "string"`.
fn parameters<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft07();
    settings.meta_schema = None;
    settings.inline_subschemas = true;
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("title");
        obj.remove("description");
        obj.entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            for prop in props.values_mut() {
                // An optional value is the value's own type to a function-calling model.
                if let Some([t, null]) = prop["type"].as_array().map(Vec::as_slice)
                    && null == "null"
                {
                    prop["type"] = t.clone();
                }
                if let Some(p) = prop.as_object_mut() {
                    p.remove("default");
                }
            }
        }
    }
    schema
}

/// The knowledge tools, answered by `POST /vapi/knowledge-base`.
pub fn knowledge_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: GET_MENU_INFO,
            description: "Look up menu items, prices and descriptions. Pass what the caller said as `query` \
                (an item name, a description like 'the curry with potatoes', or a topping); pass `category` \
                to list a section of the menu; pass neither for an overview. Never guess menu facts: call this.",
            parameters: parameters::<MenuInfoArgs>(),
        },
        ToolSpec {
            name: GET_MODIFIERS_INFO,
            description: "List the choices for one menu item (sizes, toppings, sweetness, sauces) with prices, \
                which are required and what the defaults are.",
            parameters: parameters::<ModifiersInfoArgs>(),
        },
        ToolSpec {
            name: GET_HOURS_INFO,
            description: "Opening hours in the restaurant's local time. With no `day` it answers whether the \
                restaurant is open right now and until when, or when it opens next.",
            parameters: parameters::<HoursInfoArgs>(),
        },
        ToolSpec {
            name: GET_DELIVERY_INFO,
            description: "Whether the restaurant delivers, to which areas, fees, minimums and times. Pass the \
                caller's ZIP code or address to check one location.",
            parameters: parameters::<DeliveryInfoArgs>(),
        },
        ToolSpec {
            name: SEARCH_FAQ,
            description: "Answers to common questions about the restaurant: parking, dietary options, payment, \
                catering and the like.",
            parameters: parameters::<SearchFaqArgs>(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_tool_schemas_are_plain_objects_with_their_required_fields() {
        let tools = order_tools();
        let add = &tools
            .iter()
            .find(|t| t.name == ADD_TO_CART)
            .unwrap()
            .parameters;
        assert_eq!(add["required"], json!(["item"]));
        assert_eq!(add["properties"]["modifiers"]["type"], "array");
        assert_eq!(add["properties"]["modifiers"]["items"]["type"], "string");
        assert_eq!(add["properties"]["quantity"]["type"], "integer");
        let fulfil = &tools
            .iter()
            .find(|t| t.name == SET_FULFILLMENT)
            .unwrap()
            .parameters;
        assert_eq!(fulfil["required"], json!(["type"]));
        for t in &tools {
            assert_eq!(t.parameters["type"], "object", "{}", t.name);
            assert!(
                t.parameters["properties"].is_object() || t.parameters.get("properties").is_none(),
                "{}",
                t.name
            );
        }
        let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), 11);
        assert!(knowledge_tools().iter().all(|k| !names.contains(&k.name)));
    }

    #[test]
    fn schemas_are_derived_from_the_argument_types() {
        let tools = knowledge_tools();
        let by_name = |n: &str| {
            tools
                .iter()
                .find(|t| t.name == n)
                .unwrap()
                .parameters
                .clone()
        };
        assert_eq!(
            by_name(GET_MODIFIERS_INFO),
            json!({
                "type": "object",
                "properties": {
                    "item": {"type": "string", "description": "The menu item, in the caller's words."}
                },
                "required": ["item"]
            })
        );
        assert_eq!(
            by_name(GET_MENU_INFO),
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What the caller asked about, in their words."},
                    "category": {"type": "string", "description": "A menu section, e.g. 'drinks' or 'pizza'."}
                },
                "required": []
            })
        );
        for t in &tools {
            assert_eq!(t.parameters["type"], "object", "{}", t.name);
            let props = t.parameters["properties"].as_object().unwrap();
            for r in t.parameters["required"].as_array().unwrap() {
                assert!(props.contains_key(r.as_str().unwrap()), "{}: {r}", t.name);
            }
            // Every advertised tool is one the parser reads.
            assert!(
                KnowledgeCall::parse(t.name, &Map::new()).is_ok(),
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn arguments_are_read_leniently_and_typed() {
        let args = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            KnowledgeCall::parse(
                GET_DELIVERY_INFO,
                &args(json!({"address_or_zip": 60647, "business_id": "other"}))
            ),
            Ok(KnowledgeCall::DeliveryInfo(DeliveryInfoArgs {
                address_or_zip: Some(Spoken::new("60647"))
            }))
        );
        let Ok(KnowledgeCall::MenuInfo(menu)) = KnowledgeCall::parse(
            GET_MENU_INFO,
            &args(json!({"query": "  taro  ", "category": " "})),
        ) else {
            panic!("menu args");
        };
        assert_eq!(
            (text(&menu.query), text(&menu.category)),
            (Some("taro"), None)
        );
        assert_eq!(
            KnowledgeCall::parse(GET_MODIFIERS_INFO, &args(json!({"item": null}))),
            Ok(KnowledgeCall::ModifiersInfo(ModifiersInfoArgs {
                item: None
            }))
        );
        let bad = KnowledgeCall::parse(SEARCH_FAQ, &args(json!({"query": ["a"]}))).unwrap_err();
        assert_eq!(
            bad,
            ToolArgsError::Invalid("expected text, got a list".into())
        );
        assert_eq!(
            KnowledgeCall::parse("make_coffee", &Map::new()),
            Err(ToolArgsError::UnknownTool("make_coffee".into()))
        );
    }
}
