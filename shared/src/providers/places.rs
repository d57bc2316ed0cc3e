//! Google Places API (New), Text Search: `POST {base}/v1/places:searchText` with
//! `{"textQuery"}`, the key in `X-Goog-Api-Key`, and a field mask naming the fields we read
//! (Google bills by the fields asked for). Used by the identify step only when a key is
//! configured; a Maps link is read offline without it.

use super::{ProviderError, base, json_answer};
use crate::http::Method;
use crate::outbound::{HttpClient, OutRequest};
use crate::phone::PhoneE164;
use serde_json::json;

const SERVICE: &str = "Google Places";
const FIELDS: &str = "places.id,places.displayName,places.formattedAddress,places.location,places.internationalPhoneNumber";

/// Places for one API key.
#[derive(Debug, Clone)]
pub struct Places {
    base: String,
    api_key: String,
}

/// One place a search found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    pub place_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneE164>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
}

impl Places {
    /// `None` without a key: then only Maps links identify a restaurant.
    pub fn configured(base_url: &str, api_key: &str) -> Option<Places> {
        if api_key.is_empty() || base_url.is_empty() {
            return None;
        }
        Some(Places {
            base: base(base_url),
            api_key: api_key.to_owned(),
        })
    }

    /// Up to five places matching `query` ("Windy City Slice Chicago").
    pub async fn search<H: HttpClient>(
        &self,
        http: &H,
        query: &str,
    ) -> Result<Vec<Candidate>, ProviderError> {
        let req = OutRequest::new(Method::Post, format!("{}/v1/places:searchText", self.base))
            .header("x-goog-api-key", self.api_key.clone())
            .header("x-goog-fieldmask", FIELDS)
            .json(&json!({"textQuery": query, "pageSize": 5}));
        let answer = json_answer(SERVICE, http.send(req).await)?;
        // No match is `{}`.
        let places = answer
            .get("places")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default();
        Ok(places
            .iter()
            .filter_map(|p| {
                Some(Candidate {
                    place_id: p.get("id")?.as_str()?.to_owned(),
                    name: p.pointer("/displayName/text")?.as_str()?.to_owned(),
                    address: p
                        .get("formattedAddress")
                        .and_then(|a| a.as_str())
                        .map(str::to_owned),
                    phone: p
                        .get("internationalPhoneNumber")
                        .and_then(|n| n.as_str())
                        .and_then(|n| PhoneE164::parse(n, crate::phone::Country::US).ok()),
                    lat: p.pointer("/location/latitude").and_then(|v| v.as_f64()),
                    lng: p.pointer("/location/longitude").and_then(|v| v.as_f64()),
                })
            })
            .take(5)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::Scripted;
    use futures::executor::block_on;

    #[test]
    fn search_reads_the_fields_it_asked_for() {
        let http = Scripted::new().on(
            Method::Post,
            "/v1/places:searchText",
            200,
            r#"{"places":[{"id":"ChIJ1","displayName":{"text":"Windy City Slice","languageCode":"en"},
                "formattedAddress":"1 W Madison St, Chicago, IL 60602, USA",
                "location":{"latitude":41.88,"longitude":-87.63},
                "internationalPhoneNumber":"+1 312-555-0100"},
               {"displayName":{"text":"no id"}}]}"#,
        );
        let p = Places::configured("http://places.test", "k").unwrap();
        let found = block_on(p.search(&http, "windy city slice")).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "Windy City Slice");
        assert_eq!(found[0].phone.as_ref().unwrap().as_str(), "+13125550100");
        assert_eq!(found[0].lat, Some(41.88));
        let sent = &http.seen()[0];
        assert_eq!(sent.header_value("x-goog-api-key"), Some("k"));
        assert!(
            sent.header_value("x-goog-fieldmask")
                .unwrap()
                .contains("places.id")
        );
    }

    #[test]
    fn no_match_is_empty_and_errors_name_google() {
        let http = Scripted::new().on(Method::Post, "searchText", 200, "{}");
        let p = Places::configured("http://places.test", "k").unwrap();
        assert!(block_on(p.search(&http, "nowhere")).unwrap().is_empty());
        let http = Scripted::new().on(
            Method::Post,
            "searchText",
            403,
            r#"{"error":{"code":403,"message":"API key not valid.","status":"PERMISSION_DENIED"}}"#,
        );
        let e = block_on(p.search(&http, "x")).unwrap_err();
        assert!(e.to_string().contains("API key not valid."), "{e}");
        assert!(Places::configured("http://places.test", "").is_none());
    }
}
