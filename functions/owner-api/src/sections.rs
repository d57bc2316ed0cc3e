//! Parts of the restaurant document an owner changes often, each on its own route so a change
//! to the hours does not mean re-sending the menu: hours and closures, fulfillment and
//! delivery zones, the FAQ, and phone lines. Each change is made to the stored document and
//! published again through the import's commit point, retried when a concurrent change wins
//! (`import_at` with the revision it was read at); the changed document is checked by the same
//! parser as an import, so errors name the same document paths (`hours[0].open`,
//! `delivery.zones[1].zips`, `business.phone_lines[2].e164`).

use hostline_shared::api::{ApiError, parse_restaurant};
use hostline_shared::http::Response;
use hostline_shared::ids::BusinessId;
use hostline_shared::publish::{ImportError, Outcome, import_at, load_restaurant};
use hostline_shared::restaurant::Restaurant;
use hostline_shared::store::{Store, keys};
use hostline_shared::tenancy::{BusinessRecord, read_json};
use serde_json::{Map, Value, json};

/// A document section's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `{hours?, closures?}`
    Hours,
    /// `{fulfillment?, zones?}`
    Delivery,
    /// `{faq}`
    Faq,
}

impl Section {
    /// The body's keys and where each lives in the document.
    fn keys(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Section::Hours => &[("hours", &["hours"]), ("closures", &["closures"])],
            Section::Delivery => &[
                ("fulfillment", &["fulfillment"]),
                ("zones", &["delivery", "zones"]),
            ],
            Section::Faq => &[("faq", &["faq"])],
        }
    }
}

fn no_document(id: &BusinessId) -> ApiError {
    ApiError::not_found(format!("business {id} has no restaurant document"))
}

async fn current<S: Store>(
    store: &S,
    id: &BusinessId,
) -> Result<(BusinessRecord, Restaurant), ApiError> {
    let record = read_json::<_, BusinessRecord>(store, &keys::business(id))
        .await?
        .ok_or_else(|| no_document(id))?;
    let doc = load_restaurant(store, &record)
        .await?
        .ok_or_else(|| no_document(id))?;
    Ok((record, doc))
}

fn get_path<'v>(v: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn set_path(v: &mut Value, path: &[&str], new: Value) {
    let mut at = v;
    for k in &path[..path.len() - 1] {
        if !at[*k].is_object() {
            at[*k] = json!({});
        }
        at = &mut at[*k];
    }
    at[path[path.len() - 1]] = new;
}

/// Change the stored document with `change` (on its JSON form) and publish it: the new
/// document and the import's outcome.
pub async fn edit<S: Store>(
    store: &S,
    id: &BusinessId,
    now: jiff::Timestamp,
    mut change: impl FnMut(&mut Value) -> Result<(), ApiError>,
) -> Result<(Value, Outcome), ApiError> {
    const ATTEMPTS: usize = 4;
    for _ in 0..ATTEMPTS {
        let (record, doc) = current(store, id).await?;
        let mut v = serde_json::to_value(&doc).map_err(|e| {
            eprintln!("owner-api: a stored document does not serialize: {e}");
            ApiError::refused(500, "internal error")
        })?;
        change(&mut v)?;
        let changed = parse_restaurant(v.to_string().as_bytes())?;
        let written = serde_json::to_value(&changed).unwrap_or(Value::Null);
        match import_at(store, id, changed, now, Some(record.revision)).await {
            Ok(outcome) => return Ok((written, outcome)),
            Err(ImportError::Busy) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ImportError::Busy.into())
}

/// `GET …/{section}`: the section's keys from the stored document.
pub async fn get<S: Store>(
    store: &S,
    id: &BusinessId,
    section: Section,
) -> Result<Response, ApiError> {
    let (record, doc) = current(store, id).await?;
    let v = serde_json::to_value(&doc).unwrap_or(Value::Null);
    Ok(Response::json(200, &view(section, &v, record.revision)))
}

fn view(section: Section, doc: &Value, revision: u64) -> Value {
    let mut out = Map::new();
    for (key, path) in section.keys() {
        let v = get_path(doc, path);
        out.insert(
            (*key).to_owned(),
            if v.is_null() { json!([]) } else { v.clone() },
        );
    }
    out.insert("revision".into(), json!(revision));
    Value::Object(out)
}

/// `PUT …/{section}`: replace the keys the body names (at least one).
pub async fn put<S: Store>(
    store: &S,
    id: &BusinessId,
    section: Section,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::refused(400, format!("malformed JSON: {e}")))?;
    let Some(fields) = body.as_object() else {
        return Err(ApiError::refused(400, "expected a JSON object"));
    };
    let names: Vec<&str> = section.keys().iter().map(|(k, _)| *k).collect();
    if let Some(unknown) = fields.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(ApiError::field(
            400,
            unknown.clone(),
            format!("unknown field; expected {}", names.join(", ")),
        ));
    }
    if fields.is_empty() {
        return Err(ApiError::refused(
            400,
            format!("name at least one of {}", names.join(", ")),
        ));
    }
    let (doc, outcome) = edit(store, id, now, |doc| {
        for (key, path) in section.keys() {
            if let Some(new) = fields.get(*key) {
                set_path(doc, path, new.clone());
            }
        }
        Ok(())
    })
    .await?;
    Ok(Response::json(
        200,
        &view(section, &doc, outcome.record.revision),
    ))
}

/// `GET …/lines`.
pub async fn list_lines<S: Store>(store: &S, id: &BusinessId) -> Result<Response, ApiError> {
    let (record, doc) = current(store, id).await?;
    Ok(Response::json(
        200,
        &json!({"lines": doc.business.phone_lines, "revision": record.revision}),
    ))
}

/// `POST …/lines` `{e164, label, priority?}`: route another number to the business. The number
/// may be written as people write it; it is read in the document's country.
pub async fn add_line<S: Store>(
    store: &S,
    id: &BusinessId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let line: crate::handler::NewLine = hostline_shared::api::parse_body(body)?;
    let entry =
        json!({"e164": line.e164, "label": line.label, "priority": line.priority.unwrap_or(0)});
    let (doc, outcome) = edit(store, id, now, |doc| {
        match doc["business"]["phone_lines"].as_array_mut() {
            Some(lines) => lines.push(entry.clone()),
            None => doc["business"]["phone_lines"] = json!([entry.clone()]),
        }
        Ok(())
    })
    .await?;
    let lines = &doc["business"]["phone_lines"];
    let added = lines
        .as_array()
        .and_then(|l| l.last())
        .cloned()
        .unwrap_or(Value::Null);
    Ok(Response::json(
        201,
        &json!({"line": added, "lines": lines, "revision": outcome.record.revision}),
    ))
}

/// `PATCH …/lines/{phone}` `{label?, priority?}`.
pub async fn patch_line<S: Store>(
    store: &S,
    id: &BusinessId,
    phone: &hostline_shared::phone::PhoneE164,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let patch: crate::handler::LinePatch = hostline_shared::api::parse_body(body)?;
    let (doc, outcome) = edit(store, id, now, |doc| {
        let line = line_mut(doc, phone)?;
        if let Some(label) = &patch.label {
            line["label"] = json!(label);
        }
        if let Some(priority) = patch.priority {
            line["priority"] = json!(priority);
        }
        Ok(())
    })
    .await?;
    Ok(Response::json(
        200,
        &json!({"lines": doc["business"]["phone_lines"], "revision": outcome.record.revision}),
    ))
}

/// `DELETE …/lines/{phone}`: the number no longer routes here (it is released for others).
pub async fn remove_line<S: Store>(
    store: &S,
    id: &BusinessId,
    phone: &hostline_shared::phone::PhoneE164,
    now: jiff::Timestamp,
) -> Result<Response, ApiError> {
    let (doc, outcome) = edit(store, id, now, |doc| {
        line_mut(doc, phone)?;
        if let Some(lines) = doc["business"]["phone_lines"].as_array_mut() {
            lines.retain(|l| l["e164"].as_str() != Some(phone.as_str()));
        }
        Ok(())
    })
    .await?;
    Ok(Response::json(
        200,
        &json!({"lines": doc["business"]["phone_lines"], "released_lines": outcome.released, "revision": outcome.record.revision}),
    ))
}

fn line_mut<'v>(
    doc: &'v mut Value,
    phone: &hostline_shared::phone::PhoneE164,
) -> Result<&'v mut Value, ApiError> {
    doc["business"]["phone_lines"]
        .as_array_mut()
        .and_then(|l| {
            l.iter_mut()
                .find(|l| l["e164"].as_str() == Some(phone.as_str()))
        })
        .ok_or_else(|| ApiError::not_found(format!("no line {phone} on this business")))
}
