//! `GET /api/v1/openapi.json`: an OpenAPI 3.1 document of every `/api/v1` route. Request
//! bodies are the schemas of the very structs the routes parse (schemars), so the document
//! cannot promise a field the route does not read; a test checks that its operations are
//! exactly the router's, and the API fuzz run (`scripts/api-fuzz`, schemathesis) checks the
//! running routes against it.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// The JSON Schema (2020-12, as OpenAPI 3.1 uses) of a request body type, inlined.
fn schema_of<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.meta_schema = None;
    settings.inline_subschemas = true;
    let mut v = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(o) = v.as_object_mut() {
        o.remove("title");
    }
    v
}

/// The request bodies, from the structs the routes parse.
struct RequestBodies {
    signup: Value,
    login: Value,
    refresh: Value,
    staff_login: Value,
    password: Value,
    new_business: Value,
    business_patch: Value,
    new_staff: Value,
    new_key: Value,
    pair: Value,
    availability: Value,
    bulk_availability: Value,
    vapi_number: Value,
    pool_line: Value,
    new_line: Value,
    line_patch: Value,
    identify: Value,
    confirm: Value,
    verify: Value,
    account: Value,
    go_live: Value,
    order_status: Value,
    order_cancel: Value,
    reprint: Value,
    job_ack: Value,
    new_printer: Value,
    edge_status: Value,
}

impl RequestBodies {
    fn new() -> Self {
        use crate::{auth_routes as a, devices as d, handler as h, staff as s};
        use hostline_shared::onboarding::requests as w;
        RequestBodies {
            signup: schema_of::<a::SignUp>(),
            login: schema_of::<a::Login>(),
            refresh: schema_of::<a::RefreshBody>(),
            staff_login: schema_of::<a::StaffLogin>(),
            password: schema_of::<a::PasswordChange>(),
            new_business: schema_of::<h::NewBusiness>(),
            business_patch: schema_of::<h::BusinessPatch>(),
            new_staff: schema_of::<s::NewStaff>(),
            new_key: schema_of::<d::NewKey>(),
            pair: schema_of::<d::Pair>(),
            availability: schema_of::<crate::menu::Availability>(),
            bulk_availability: schema_of::<crate::menu::BulkAvailability>(),
            vapi_number: schema_of::<h::VapiNumber>(),
            pool_line: schema_of::<h::NewPoolLine>(),
            new_line: schema_of::<h::NewLine>(),
            line_patch: schema_of::<h::LinePatch>(),
            identify: schema_of::<w::Identify>(),
            confirm: schema_of::<w::Confirm>(),
            verify: schema_of::<w::Verify>(),
            account: schema_of::<w::Account>(),
            go_live: schema_of::<w::GoLive>(),
            order_status: schema_of::<crate::orders::StatusBody>(),
            order_cancel: schema_of::<crate::orders::CancelBody>(),
            reprint: schema_of::<crate::orders::ReprintBody>(),
            job_ack: schema_of::<crate::orders::AckBody>(),
            new_printer: schema_of::<crate::cloudprnt::NewPrinter>(),
            edge_status: schema_of::<crate::cloudprnt::EdgeStatus>(),
        }
    }
}

/// One documented operation.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    /// Needs `Authorization: Bearer …`.
    auth: bool,
    body: Option<Value>,
    /// Query parameters: name and JSON type.
    query: &'static [(&'static str, &'static str)],
    ok: u16,
    response: Value,
    errors: &'static [u16],
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

fn token_pair() -> Value {
    obj(
        &["access_token", "refresh_token", "token_type", "expires_in"],
        json!({
            "access_token": {"type": "string"},
            "refresh_token": {"type": "string"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
        }),
    )
}

fn business_view() -> Value {
    obj(
        &[
            "id",
            "active",
            "lines",
            "revision",
            "created_at",
            "updated_at",
        ],
        json!({
            "id": {"type": "string"},
            "name": {"type": "string"},
            "active": {"type": "boolean"},
            "lines": {"type": "array", "items": {"type": "string"}},
            "revision": {"type": "integer", "minimum": 0},
            "transfer_to": {"type": "string"},
            "balance_seconds": {"type": "integer"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
        }),
    )
}

fn order_view() -> Value {
    obj(
        &[
            "id", "number", "status", "version", "lines", "totals", "history",
        ],
        json!({
            "id": {"type": "string"},
            "number": {"type": "string"},
            "status": {"enum": ["received", "accepted", "preparing", "ready", "completed", "cancelled"]},
            "version": {"type": "integer", "minimum": 0},
            "lines": {"type": "array", "items": {"type": "object"}},
            "totals": {"type": "object"},
            "history": {"type": "array", "items": {"type": "object"}},
        }),
    )
}

fn list_of(key: &str) -> Value {
    json!({"type": "object", "required": [key], "properties": {key: {"type": "array", "items": {"type": "object"}}}})
}

fn any_object() -> Value {
    json!({"type": "object"})
}

fn ops(bodies: &RequestBodies) -> Vec<Op> {
    let b = |v: &Value| Some(v.clone());
    let restaurant_doc = json!({
        "type": "object",
        "description": "A hostline.restaurant/v1 document (see fixtures/restaurants/ for samples)."
    });
    vec![
        Op {
            method: "post",
            path: "/api/v1/auth/signup",
            id: "signup",
            summary: "Create an owner account, signed in",
            auth: false,
            body: b(&bodies.signup),
            query: &[],
            ok: 201,
            response: token_pair(),
            errors: &[400, 409, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/login",
            id: "login",
            summary: "Log in with email and password",
            auth: false,
            body: b(&bodies.login),
            query: &[],
            ok: 200,
            response: token_pair(),
            errors: &[400, 401, 429, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/refresh",
            id: "refresh",
            summary: "Trade a refresh token for a new pair (the old one is spent)",
            auth: false,
            body: b(&bodies.refresh),
            query: &[],
            ok: 200,
            response: token_pair(),
            errors: &[400, 401, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/logout",
            id: "logout",
            summary: "End the login a refresh token belongs to",
            auth: false,
            body: b(&bodies.refresh),
            query: &[],
            ok: 204,
            response: Value::Null,
            errors: &[400, 401, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/staff-login",
            id: "staffLogin",
            summary: "Log a staff member in with phone and PIN",
            auth: false,
            body: b(&bodies.staff_login),
            query: &[],
            ok: 200,
            response: token_pair(),
            errors: &[400, 401, 429, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/auth/password",
            id: "changePassword",
            summary: "Change the password; every earlier token is revoked",
            auth: true,
            body: b(&bodies.password),
            query: &[],
            ok: 200,
            response: token_pair(),
            errors: &[400, 401, 403, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/me",
            id: "me",
            summary: "The account behind the token",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: any_object(),
            errors: &[401, 403, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses",
            id: "listBusinesses",
            summary: "The caller's businesses (every business for the operator)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: list_of("businesses"),
            errors: &[401, 403, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses",
            id: "createBusiness",
            summary: "An owner creates a business (inactive, without a menu)",
            auth: true,
            body: b(&bodies.new_business),
            query: &[],
            ok: 201,
            response: obj(
                &["business", "access_token"],
                json!({"business": business_view(), "access_token": {"type": "string"}}),
            ),
            errors: &[400, 401, 403, 409, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}",
            id: "getBusiness",
            summary: "The business record",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: business_view(),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "patch",
            path: "/api/v1/businesses/{id}",
            id: "patchBusiness",
            summary: "Take calls or not, transfer line, balance (operator)",
            auth: true,
            body: b(&bodies.business_patch),
            query: &[],
            ok: 200,
            response: business_view(),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "put",
            path: "/api/v1/businesses/{id}/restaurant",
            id: "importRestaurant",
            summary: "Import a restaurant document (its lines, menu, hours, zones, FAQ)",
            auth: true,
            body: Some(restaurant_doc.clone()),
            query: &[],
            ok: 200,
            response: obj(
                &["business_id", "revision", "voice_lint"],
                json!({"business_id": {"type": "string"}, "revision": {"type": "integer"}, "voice_lint": {"type": "array"}}),
            ),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/restaurant",
            id: "exportRestaurant",
            summary: "Export the restaurant document",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: restaurant_doc.clone(),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/voice-lint",
            id: "voiceLint",
            summary: "Items and options that sound alike, or cannot be reached by voice",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: obj(
                &["business_id", "revision", "voice_lint"],
                json!({"business_id": {"type": "string"}, "revision": {"type": "integer"}, "voice_lint": {"type": "array"}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/staff",
            id: "listStaff",
            summary: "The business's staff",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: list_of("staff"),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/staff",
            id: "addStaff",
            summary: "Add a staff member (phone and PIN)",
            auth: true,
            body: b(&bodies.new_staff),
            query: &[],
            ok: 201,
            response: any_object(),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "delete",
            path: "/api/v1/businesses/{id}/staff/{staff_id}",
            id: "removeStaff",
            summary: "Remove a staff member",
            auth: true,
            body: None,
            query: &[],
            ok: 204,
            response: Value::Null,
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/calls",
            id: "listCalls",
            summary: "The call log, newest first",
            auth: true,
            body: None,
            query: &[("limit", "integer"), ("cursor", "string")],
            ok: 200,
            response: obj(
                &["calls", "next_cursor"],
                json!({"calls": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/calls/{call_id}",
            id: "getCall",
            summary: "One call with its transcript",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: any_object(),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/usage",
            id: "usage",
            summary: "Calls and seconds per UTC day",
            auth: true,
            body: None,
            query: &[("days", "integer")],
            ok: 200,
            response: obj(
                &["days", "total"],
                json!({"days": {"type": "array"}, "total": {"type": "object"}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/api-keys",
            id: "listApiKeys",
            summary: "The business's API keys (never the keys themselves)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: list_of("api_keys"),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/api-keys",
            id: "createApiKey",
            summary: "A new API key, shown once",
            auth: true,
            body: b(&bodies.new_key),
            query: &[],
            ok: 201,
            response: obj(
                &["id", "key"],
                json!({"id": {"type": "string"}, "key": {"type": "string"}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "delete",
            path: "/api/v1/businesses/{id}/api-keys/{key_id}",
            id: "revokeApiKey",
            summary: "Revoke an API key",
            auth: true,
            body: None,
            query: &[],
            ok: 204,
            response: Value::Null,
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/devices/pairing-codes",
            id: "createPairingCode",
            summary: "A one-time 6-digit code an edge device pairs with (10 minutes)",
            auth: true,
            body: None,
            query: &[],
            ok: 201,
            response: obj(
                &["code", "expires_at"],
                json!({"code": {"type": "string", "pattern": "^[0-9]{6}$"}, "expires_at": {"type": "string"}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/devices",
            id: "listDevices",
            summary: "Paired edge devices",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: list_of("devices"),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "delete",
            path: "/api/v1/businesses/{id}/devices/{device_id}",
            id: "revokeDevice",
            summary: "Unpair a device",
            auth: true,
            body: None,
            query: &[],
            ok: 204,
            response: Value::Null,
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/cloudprnt-printers",
            id: "createCloudPrntPrinter",
            summary: "Register a Star CloudPRNT printer; the answer's url (shown once) goes into the printer",
            auth: true,
            body: b(&bodies.new_printer),
            query: &[],
            ok: 201,
            response: obj(
                &["id", "name", "mac", "url"],
                json!({"id": {"type": "string"}, "name": {"type": "string"},
                       "mac": {"type": "string"}, "url": {"type": "string"}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/edge/status",
            id: "edgeStatus",
            summary: "The edge agent's report of its printers and queue",
            auth: true,
            body: b(&bodies.edge_status),
            query: &[],
            ok: 204,
            response: Value::Null,
            errors: &[400, 401, 403, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/edge/pair",
            id: "pairDevice",
            summary: "Trade a pairing code for a device token",
            auth: false,
            body: b(&bodies.pair),
            query: &[],
            ok: 201,
            response: obj(
                &["id", "business_id", "device_token"],
                json!({"id": {"type": "string"}, "business_id": {"type": "string"}, "device_token": {"type": "string"}}),
            ),
            errors: &[400, 401, 429, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/edge/me",
            id: "edgeMe",
            summary: "The device a device token belongs to",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: any_object(),
            errors: &[401, 403, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/edge/jobs",
            id: "edgeJobs",
            summary: "Lease this device's business's print jobs (each with its structured ticket)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: obj(
                &["jobs", "poll_after_seconds"],
                json!({"jobs": {"type": "array", "items": {"type": "object"}},
                       "poll_after_seconds": {"type": "integer"}}),
            ),
            errors: &[401, 403, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/edge/jobs/{job_id}/ack",
            id: "edgeJobAck",
            summary: "Report a leased print job printed or failed",
            auth: true,
            body: b(&bodies.job_ack),
            query: &[],
            ok: 200,
            response: any_object(),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/orders",
            id: "listOrders",
            summary: "Orders, newest first, filtered by status, local date and channel",
            auth: true,
            body: None,
            query: &[
                ("status", "string"),
                ("date", "string"),
                ("channel", "string"),
                ("limit", "integer"),
                ("cursor", "string"),
            ],
            ok: 200,
            response: obj(
                &["orders", "next_cursor"],
                json!({"orders": {"type": "array", "items": {"type": "object"}},
                       "next_cursor": {"type": ["string", "null"]}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/orders/{order_id}",
            id: "getOrder",
            summary: "One order, with the version a change must name",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: order_view(),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/orders/{order_id}/history",
            id: "orderHistory",
            summary: "Every status change of one order: what, when, by whom",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: obj(
                &["order_id", "version", "history"],
                json!({"order_id": {"type": "string"}, "version": {"type": "integer"},
                       "history": {"type": "array", "items": {"type": "object"}}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/orders/{order_id}/ticket",
            id: "orderTicket",
            summary: "The structured kitchen ticket of one order",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: any_object(),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/orders/{order_id}/status",
            id: "setOrderStatus",
            summary: "Move an order forward (or cancel it), naming the version you saw",
            auth: true,
            body: b(&bodies.order_status),
            query: &[],
            ok: 200,
            response: order_view(),
            errors: &[400, 401, 403, 404, 409, 422, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/orders/{order_id}/cancel",
            id: "cancelOrder",
            summary: "Cancel an order with a reason, naming the version you saw",
            auth: true,
            body: b(&bodies.order_cancel),
            query: &[],
            ok: 200,
            response: order_view(),
            errors: &[400, 401, 403, 404, 409, 422, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/orders/{order_id}/reprint",
            id: "reprintOrder",
            summary: "Queue an accepted order's ticket again, marked as a reprint",
            auth: true,
            body: b(&bodies.reprint),
            query: &[],
            ok: 201,
            response: obj(&["job_id"], json!({"job_id": {"type": "string"}})),
            errors: &[400, 401, 403, 404, 422, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/print-jobs",
            id: "printJobs",
            summary: "The print-job queue (pending, leased, printed, failed) and each printing device's last status",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: obj(
                &["jobs", "printers"],
                json!({"jobs": {"type": "array", "items": {"type": "object"}},
                       "printers": {"type": "array", "items": {"type": "object"}}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "put",
            path: "/api/v1/vapi-numbers/{id}",
            id: "mapVapiNumber",
            summary: "Map a Vapi phone-number id to a line (operator)",
            auth: true,
            body: b(&bodies.vapi_number),
            query: &[],
            ok: 200,
            response: obj(
                &["phone_number_id", "e164"],
                json!({"phone_number_id": {"type": "string"}, "e164": {"type": "string"}}),
            ),
            errors: &[400, 401, 403, 503],
        },
        Op {
            method: "put",
            path: "/api/v1/businesses/{id}/menu/items/{item_id}/availability",
            id: "setItemAvailability",
            summary: "86 an item (sold out) or bring it back",
            auth: true,
            body: b(&bodies.availability),
            query: &[],
            ok: 200,
            response: obj(
                &["changed", "revision"],
                json!({"changed": {"type": "array", "items": {"type": "string"}}, "revision": {"type": "integer"}}),
            ),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/menu/availability",
            id: "setAvailability",
            summary: "Set the availability of many items at once",
            auth: true,
            body: b(&bodies.bulk_availability),
            query: &[],
            ok: 200,
            response: obj(
                &["changed", "revision"],
                json!({"changed": {"type": "array", "items": {"type": "string"}}, "revision": {"type": "integer"}}),
            ),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/audit",
            id: "auditLog",
            summary: "Who changed what, newest first",
            auth: true,
            body: None,
            query: &[("limit", "integer"), ("cursor", "string")],
            ok: 200,
            response: obj(
                &["entries", "next_cursor"],
                json!({"entries": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/businesses/{id}/customers/{phone}",
            id: "exportCustomer",
            summary: "Everything kept about one customer (their calls and transcripts)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: list_of("calls"),
            errors: &[400, 401, 403, 404, 503],
        },
        Op {
            method: "delete",
            path: "/api/v1/businesses/{id}/customers/{phone}",
            id: "eraseCustomer",
            summary: "Erase one customer's transcripts, summaries and caller data",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: obj(
                &["erased_calls"],
                json!({"erased_calls": {"type": "integer", "minimum": 0}}),
            ),
            errors: &[400, 401, 403, 404, 503],
        },
        section_op(
            "get",
            "/api/v1/businesses/{id}/hours",
            "getHours",
            "Opening hours and closures",
            None,
            sections::hours(),
        ),
        section_op(
            "put",
            "/api/v1/businesses/{id}/hours",
            "putHours",
            "Replace the opening hours and/or closures",
            Some(sections::hours()),
            sections::hours(),
        ),
        section_op(
            "get",
            "/api/v1/businesses/{id}/delivery",
            "getDelivery",
            "Pickup/delivery settings and delivery zones",
            None,
            sections::delivery(),
        ),
        section_op(
            "put",
            "/api/v1/businesses/{id}/delivery",
            "putDelivery",
            "Replace the fulfillment settings and/or delivery zones",
            Some(sections::delivery()),
            sections::delivery(),
        ),
        section_op(
            "get",
            "/api/v1/businesses/{id}/faq",
            "getFaq",
            "The FAQ",
            None,
            sections::faq(),
        ),
        section_op(
            "put",
            "/api/v1/businesses/{id}/faq",
            "putFaq",
            "Replace the FAQ",
            Some(sections::faq()),
            sections::faq(),
        ),
        section_op(
            "get",
            "/api/v1/businesses/{id}/lines",
            "listLines",
            "The phone lines that route to the business",
            None,
            sections::lines(),
        ),
        Op {
            method: "post",
            path: "/api/v1/businesses/{id}/lines",
            id: "addLine",
            summary: "Route another number to the business (unique system-wide)",
            auth: true,
            body: b(&bodies.new_line),
            query: &[],
            ok: 201,
            response: sections::lines(),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "patch",
            path: "/api/v1/businesses/{id}/lines/{phone}",
            id: "patchLine",
            summary: "Relabel or reprioritise a line",
            auth: true,
            body: b(&bodies.line_patch),
            query: &[],
            ok: 200,
            response: sections::lines(),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "delete",
            path: "/api/v1/businesses/{id}/lines/{phone}",
            id: "removeLine",
            summary: "Stop routing a number to the business (it is released)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: sections::lines(),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/line-pool",
            id: "listLinePool",
            summary: "The operator's numbers for new businesses, free and given out (operator)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: list_of("lines"),
            errors: &[401, 403, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/line-pool",
            id: "addPoolLine",
            summary: "Add a number whose calls already reach us to the pool (operator)",
            auth: true,
            body: b(&bodies.pool_line),
            query: &[],
            ok: 201,
            response: obj(
                &["e164", "added_at"],
                json!({"e164": {"type": "string"}, "added_at": {"type": "string"}}),
            ),
            errors: &[400, 401, 403, 409, 503],
        },
        Op {
            method: "delete",
            path: "/api/v1/line-pool/{phone}",
            id: "removePoolLine",
            summary: "Remove a number not given out (operator)",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: obj(&["removed"], json!({"removed": {"type": "string"}})),
            errors: &[400, 401, 403, 404, 409, 503],
        },
        Op {
            method: "post",
            path: "/api/v1/onboarding",
            id: "startOnboarding",
            summary: "Start the onboarding wizard; the secret it answers authorises the steps until the account exists",
            auth: false,
            body: None,
            query: &[],
            ok: 201,
            response: obj(
                &["id", "step", "secret", "steps"],
                json!({
                "id": {"type": "string"}, "step": {"type": "string"}, "secret": {"type": "string"},
                "steps": {"type": "array"}, "expires_at": {"type": "string"}}),
            ),
            errors: &[409, 429, 503],
        },
        Op {
            method: "get",
            path: "/api/v1/onboarding/{wizard_id}",
            id: "getOnboarding",
            summary: "The wizard's state, its next step and what each step still needs",
            auth: true,
            body: None,
            query: &[],
            ok: 200,
            response: wizard_view(),
            errors: &[401, 404, 410, 503],
        },
        onboarding_step(
            "identify",
            "Identify the restaurant by a Google Maps link or its name",
            b(&bodies.identify),
            200,
        ),
        onboarding_step(
            "confirm",
            "Confirm the business id, name, address, time zone and main line",
            b(&bodies.confirm),
            200,
        ),
        onboarding_step(
            "verify",
            "Send a 6-digit code to the main line ({send: true}), or check one ({code})",
            b(&bodies.verify),
            200,
        ),
        onboarding_step(
            "account",
            "Create (or sign in) the owner and create the business",
            b(&bodies.account),
            201,
        ),
        onboarding_step(
            "review",
            "Import the restaurant document; answers the greeting and a sample answer",
            Some(restaurant_doc.clone()),
            200,
        ),
        onboarding_step(
            "go-live",
            "Attach a line (from the pool, or bought) and switch the business on",
            b(&bodies.go_live),
            200,
        ),
        Op {
            method: "get",
            path: "/api/v1/openapi.json",
            id: "openapi",
            summary: "This document",
            auth: false,
            body: None,
            query: &[],
            ok: 200,
            response: any_object(),
            errors: &[],
        },
    ]
}

/// The document-section routes' bodies and answers.
mod sections {
    use serde_json::{Value, json};

    fn array() -> Value {
        json!({"type": "array", "items": {"type": "object"}})
    }

    pub fn hours() -> Value {
        json!({"type": "object", "properties": {"hours": array(), "closures": array(), "revision": {"type": "integer"}},
            "description": "Sections of the restaurant document (see its format); a PUT replaces the keys it names."})
    }

    pub fn delivery() -> Value {
        json!({"type": "object", "properties": {"fulfillment": {"type": "object"}, "zones": array(), "revision": {"type": "integer"}}})
    }

    pub fn faq() -> Value {
        json!({"type": "object", "properties": {"faq": array(), "revision": {"type": "integer"}}})
    }

    pub fn lines() -> Value {
        json!({"type": "object", "required": ["lines", "revision"], "properties": {"lines": array(), "revision": {"type": "integer"}}})
    }
}

fn section_op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    body: Option<Value>,
    response: Value,
) -> Op {
    Op {
        method,
        path,
        id,
        summary,
        auth: true,
        body,
        query: &[],
        ok: 200,
        response,
        errors: if method == "get" {
            &[400, 401, 403, 404, 503]
        } else {
            &[400, 401, 403, 404, 409, 503]
        },
    }
}

fn wizard_view() -> Value {
    obj(
        &["id", "steps", "verified"],
        json!({
            "id": {"type": "string"},
            "step": {"type": ["string", "null"]},
            "steps": {"type": "array", "items": {"type": "object"}},
            "verified": {"type": "boolean"},
            "expires_at": {"type": "string"},
        }),
    )
}

/// `POST /api/v1/onboarding/{wizard_id}/<step>`: the wizard's routes are one pattern with a
/// `{step}` parameter, documented as one operation per step with its own body.
fn onboarding_step(step: &'static str, summary: &'static str, body: Option<Value>, ok: u16) -> Op {
    let (path, id): (&'static str, &'static str) = match step {
        "identify" => (
            "/api/v1/onboarding/{wizard_id}/identify",
            "onboardingIdentify",
        ),
        "confirm" => (
            "/api/v1/onboarding/{wizard_id}/confirm",
            "onboardingConfirm",
        ),
        "verify" => ("/api/v1/onboarding/{wizard_id}/verify", "onboardingVerify"),
        "account" => (
            "/api/v1/onboarding/{wizard_id}/account",
            "onboardingAccount",
        ),
        "review" => ("/api/v1/onboarding/{wizard_id}/review", "onboardingReview"),
        _ => ("/api/v1/onboarding/{wizard_id}/go-live", "onboardingGoLive"),
    };
    Op {
        method: "post",
        path,
        id,
        summary,
        auth: true,
        body,
        query: &[],
        ok,
        response: obj(&["onboarding"], json!({"onboarding": wizard_view()})),
        errors: &[400, 401, 404, 409, 410, 422, 429, 502, 503],
    }
}

fn path_param(name: &str) -> Value {
    let schema = if name == "wizard_id" {
        json!({"type": "string", "pattern": "^ob_[0-9a-f]{16}$"})
    } else if name == "id" {
        json!({"type": "string", "minLength": 3, "maxLength": 64, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"})
    } else if name == "order_id" {
        json!({"type": "string", "pattern": "^o-[A-Za-z0-9_-]{1,64}$"})
    } else if name == "job_id" {
        json!({"type": "string", "pattern": "^o-[A-Za-z0-9_-]{1,64}\\.(kitchen|receipt)(\\.r[0-9]{1,9})?$"})
    } else if name == "phone" {
        json!({"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"})
    } else {
        json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"})
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

/// The schema of a query parameter: the bounds the routes check.
fn query_schema(name: &str, ty: &str) -> Value {
    match name {
        "limit" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        "days" => json!({"type": "integer", "minimum": 1, "maximum": 366}),
        "cursor" => json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$"}),
        "status" => {
            json!({"type": "string", "pattern": "^(received|accepted|preparing|ready|completed|cancelled)(,(received|accepted|preparing|ready|completed|cancelled))*$"})
        }
        "date" => json!({"type": "string", "format": "date"}),
        "channel" => json!({"enum": ["vapi", "twilio"]}),
        _ => json!({"type": ty}),
    }
}

fn build() -> Value {
    let bodies = RequestBodies::new();
    let mut paths: Map<String, Value> = Map::new();
    for op in ops(&bodies) {
        let mut o = Map::new();
        o.insert("operationId".into(), json!(op.id));
        o.insert("summary".into(), json!(op.summary));
        let mut params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(path_param)
            .collect();
        for (name, ty) in op.query {
            params.push(
                json!({"name": name, "in": "query", "required": false, "schema": query_schema(name, ty)}),
            );
        }
        if !params.is_empty() {
            o.insert("parameters".into(), Value::Array(params));
        }
        o.insert(
            "security".into(),
            if op.auth {
                json!([{"bearer": []}])
            } else {
                json!([])
            },
        );
        if let Some(schema) = op.body {
            o.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        let mut responses = Map::new();
        let ok = if op.response.is_null() {
            json!({"description": "Done"})
        } else {
            json!({"description": "OK", "content": {"application/json": {"schema": op.response}}})
        };
        responses.insert(op.ok.to_string(), ok);
        for code in op.errors {
            let name = if *code == 429 || *code == 503 {
                "Retry"
            } else {
                "Error"
            };
            responses.insert(
                code.to_string(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
        o.insert("responses".into(), Value::Object(responses));
        let entry = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(op.method.to_owned(), Value::Object(o));
        }
    }
    let error = json!({"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "field": {"type": "string"}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hostline API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Owners, staff, businesses, menus, call log, API keys and edge devices. Errors are {\"error\", \"field\"?}; 429 and 503 carry Retry-After."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "An access token (JWT from login), an API key (hlk_…), a device token (hld_…), or the operator's admin_token."}},
            "schemas": {"Error": error},
            "responses": {
                "Error": {"description": "Refused; `field` names the offending field when there is one",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Retry": {"description": "Try again after Retry-After seconds",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            }
        }
    })
}

static DOCUMENT: LazyLock<Vec<u8>> =
    LazyLock::new(|| serde_json::to_vec(&build()).unwrap_or_default());

/// The document, serialized once per instance.
pub fn document() -> &'static [u8] {
    &DOCUMENT
}

/// `(method, path)` of every documented operation (for the consistency test).
pub fn operations() -> Vec<(&'static str, &'static str)> {
    ops(&RequestBodies::new())
        .into_iter()
        .map(|o| (o.method, o.path))
        .collect()
}
