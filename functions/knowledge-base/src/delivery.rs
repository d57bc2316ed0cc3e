//! `get_delivery_info`: whether we deliver, where, for how much, and how long it takes.
//! A caller gives a ZIP code or an address (possibly with the ZIP spoken digit by digit);
//! we find the postal code in it and look up the zone.

use hostline_shared::restaurant::{DeliveryZone, Restaurant};
use hostline_shared::speech::join_list;

pub fn answer(r: &Restaurant, address_or_zip: Option<&str>) -> String {
    if !r.fulfillment.delivery || r.delivery.zones.is_empty() {
        return if r.fulfillment.pickup {
            format!(
                "Sorry, we don't deliver. Pickup is available, and orders are usually ready in about {} minutes.",
                r.fulfillment.prep_minutes
            )
        } else {
            "Sorry, we don't offer delivery.".to_owned()
        };
    }
    let zones = &r.delivery.zones;
    let Some(query) = address_or_zip.map(str::trim).filter(|q| !q.is_empty()) else {
        return overview(r);
    };
    let codes = postal_codes(query);
    if let Some((code, zone)) = codes
        .iter()
        .rev()
        .find_map(|c| zone_for(zones, c).map(|z| (c, z)))
    {
        return format!(
            "Yes, we deliver to {code}, in our {} area. {}",
            zone.name,
            terms(r, zone)
        );
    }
    if let Some(code) = codes
        .iter()
        .rev()
        .find(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_digit()))
    {
        return format!(
            "Sorry, {code} is outside our delivery area. We deliver to {}.{}",
            area_list(zones),
            pickup_offer(r)
        );
    }
    // No postal code: the caller may have named a neighbourhood we use as a zone name.
    let q = query.to_lowercase();
    if let Some(zone) = zones.iter().find(|z| q.contains(&z.name.to_lowercase())) {
        return format!("Yes, we deliver to {}. {}", zone.name, terms(r, zone));
    }
    format!(
        "I need the ZIP code to check delivery for that address. We deliver to {}. What's the ZIP code?",
        area_list(zones)
    )
}

fn overview(r: &Restaurant) -> String {
    let zones = &r.delivery.zones;
    let min_fee = zones.iter().map(|z| z.fee_cents).min().unwrap_or_default();
    let max_fee = zones.iter().map(|z| z.fee_cents).max().unwrap_or_default();
    let fee = if min_fee == max_fee {
        format!("The delivery fee is {}", min_fee.spoken())
    } else {
        format!(
            "Delivery fees run from {} to {}",
            min_fee.spoken(),
            max_fee.spoken()
        )
    };
    let time = r
        .fulfillment
        .delivery_minutes
        .map(|m| format!(", and delivery takes about {m} minutes"))
        .unwrap_or_default();
    format!(
        "We deliver to {}. {fee}{time}. What's your ZIP code? I can check it.",
        area_list(zones)
    )
}

fn terms(r: &Restaurant, z: &DeliveryZone) -> String {
    let minimum = if z.min_order_cents.0 > 0 {
        format!(", the minimum order is {}", z.min_order_cents.spoken())
    } else {
        String::new()
    };
    let time = r
        .fulfillment
        .delivery_minutes
        .map(|m| format!(", and it takes about {m} minutes"))
        .unwrap_or_default();
    let fee = if z.fee_cents.0 == 0 {
        "Delivery is free".to_owned()
    } else {
        format!("The delivery fee is {}", z.fee_cents.spoken())
    };
    format!("{fee}{minimum}{time}.")
}

fn pickup_offer(r: &Restaurant) -> String {
    if r.fulfillment.pickup {
        format!(
            " Pickup is available too, usually ready in about {} minutes.",
            r.fulfillment.prep_minutes
        )
    } else {
        String::new()
    }
}

/// "Little Italy (60607 and 60608), West Loop (60661 and 60606)".
fn area_list(zones: &[DeliveryZone]) -> String {
    let parts: Vec<String> = zones
        .iter()
        .map(|z| format!("{} ({})", z.name, join_list(&z.zips, "and")))
        .collect();
    join_list(&parts, "and")
}

fn zone_for<'a>(zones: &'a [DeliveryZone], code: &str) -> Option<&'a DeliveryZone> {
    let norm = normalize_code(code);
    zones
        .iter()
        .find(|z| z.zips.iter().any(|zip| normalize_code(zip) == norm))
}

fn normalize_code(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Candidate postal codes in what the caller said, in order: every alphanumeric token, plus
/// runs of single digits joined ("6 0 6 0 7" → "60607"), plus ZIP+4 heads ("60607-1234").
fn postal_codes(s: &str) -> Vec<String> {
    let tokens: Vec<&str> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    for t in &tokens {
        if t.len() == 1 && t.as_bytes()[0].is_ascii_digit() {
            run.push_str(t);
            continue;
        }
        if run.len() >= 5 {
            out.push(std::mem::take(&mut run));
        }
        run.clear();
        out.push((*t).to_owned());
    }
    if run.len() >= 5 {
        out.push(run);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_code_candidates() {
        assert!(postal_codes("1440 W Taylor St, Chicago, IL 60607").contains(&"60607".to_owned()));
        assert!(postal_codes("6 0 6 0 7").contains(&"60607".to_owned()));
        assert!(postal_codes("60607-1234").contains(&"60607".to_owned()));
        assert!(postal_codes("").is_empty());
    }
}
