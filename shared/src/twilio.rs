//! Twilio: webhook form parsing, `X-Twilio-Signature` validation and the TwiML we answer with.
//!
//! Signature (Twilio's `RequestValidator`): base64(HMAC-SHA1(auth token, URL + each form
//! parameter's name and value, sorted by name then value)). The URL is the public URL Twilio
//! requested — we build it from our own `public_base_url`, never from request headers, and
//! accept it with the default port both stripped and added, as Twilio's own validators do.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Form parameters in the order they arrived (names may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Parse an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a parameter, if present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

/// The string Twilio signs: the URL, then every name+value in sorted order.
fn signing_string(url: &str, form: &Form) -> String {
    let mut pairs: Vec<&(String, String)> = form.0.iter().collect();
    pairs.sort_by(|a, b| {
        a.0.as_bytes()
            .cmp(b.0.as_bytes())
            .then(a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    let mut s = String::with_capacity(url.len() + 256);
    s.push_str(url);
    for (k, v) in pairs {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// The signature Twilio would send for `url` and `form`.
pub fn expected_signature(auth_token: &str, url: &str, form: &Form) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(signing_string(url, form).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `url` as written, with the default port removed, and with it added.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let default_port = match scheme {
        "https" | "wss" => "443",
        "http" | "ws" => "80",
        _ => return out,
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => (h, Some(p)),
        _ => (authority, None),
    };
    out.push(format!("{scheme}://{host}{tail}"));
    if port.is_none() {
        out.push(format!("{scheme}://{host}:{default_port}{tail}"));
    }
    out.dedup();
    out
}

/// Whether `signature` is Twilio's signature of this request. An empty auth token never
/// validates: an unset secret must lock the webhook.
pub fn signature_valid(auth_token: &str, url: &str, form: &Form, signature: &str) -> bool {
    if auth_token.is_empty() || signature.is_empty() {
        return false;
    }
    // Check every variant so the time taken does not depend on which one matched.
    url_variants(url).iter().fold(false, |ok, u| {
        let expected = expected_signature(auth_token, u, form);
        let eq: bool = expected
            .as_bytes()
            .ct_eq(signature.trim().as_bytes())
            .into();
        ok | eq
    })
}

/// Escape text for an XML attribute or element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// TwiML documents we answer with.
pub mod twiml {
    use super::xml_escape;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#;

    /// Refuse the call before it is answered: the caller hears busy/rejected, nobody is billed.
    pub fn reject() -> String {
        format!(r#"{HEAD}<Reject reason="rejected" /></Response>"#)
    }

    /// Answer, say one sentence, hang up.
    pub fn say_and_hang_up(sentence: &str) -> String {
        format!(
            "{HEAD}<Say>{}</Say><Hangup /></Response>",
            xml_escape(sentence)
        )
    }

    /// Connect the call to a bidirectional media stream, passing parameters (Twilio drops query
    /// strings from stream URLs, so everything goes in `<Parameter>`s). `<Connect>` ends when the
    /// stream does and Twilio moves on to the next verb: `afterwards` is said then (a relay that
    /// cannot be reached, or a stream cut before the caller hung up) before the call ends.
    pub fn connect_stream(url: &str, params: &[(&str, &str)], afterwards: &str) -> String {
        let mut s = format!(r#"{HEAD}<Connect><Stream url="{}">"#, xml_escape(url));
        for (name, value) in params {
            s.push_str(&format!(
                r#"<Parameter name="{}" value="{}" />"#,
                xml_escape(name),
                xml_escape(value)
            ));
        }
        s.push_str("</Stream></Connect>");
        s.push_str(&format!("<Say>{}</Say></Response>", xml_escape(afterwards)));
        s
    }

    /// Transfer the call to a phone number (used through the REST API's `Twiml` parameter).
    pub fn dial(number: &str, sentence: Option<&str>) -> String {
        let say = sentence
            .map(|s| format!("<Say>{}</Say>", xml_escape(s)))
            .unwrap_or_default();
        format!("{HEAD}{say}<Dial>{}</Dial></Response>", xml_escape(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn first_row() -> Form {
        form(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    // Twilio's published vectors (twilio-python tests/unit/test_request_validator.py).
    #[test]
    fn published_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            expected_signature("12345", url, &first_row()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(signature_valid(
            "12345",
            url,
            &first_row(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // A non-default port is stripped too, as Twilio's validator does.
        assert!(signature_valid(
            "12345",
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &first_row(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert_eq!(
            expected_signature(
                "12345",
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                &first_row()
            ),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        assert_eq!(
            expected_signature(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &first_row()
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        // With and without the default port validate interchangeably.
        assert!(signature_valid(
            "12345",
            url,
            &first_row(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert!(signature_valid(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &first_row(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert_eq!(
            expected_signature(
                "12345",
                "http://mycompany.com:80/myapp.php?foo=1&bar=2",
                &first_row()
            ),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
        let multi = form(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            expected_signature("12345", url, &multi),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        let voice = form(&[
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", "CA11111111111111111111111111111111"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("From", "+15551230001"),
            ("To", "+15559870002"),
        ]);
        assert_eq!(
            expected_signature(
                "test_auth_token",
                "https://example.com/twilio/voice",
                &voice
            ),
            "fTognQlCMtuUwmF5RVxf/z2rDEk="
        );
        // The media stream handshake vector: wss URL, no parameters.
        assert_eq!(
            expected_signature(
                "test_auth_token",
                "wss://example.com/media",
                &Form::default()
            ),
            "ClB8LehjMnGRx9MB1lTF8/cfHC8="
        );
    }

    #[test]
    fn wrong_token_url_params_or_empty_secret_fail() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!signature_valid("54321", url, &first_row(), sig));
        assert!(!signature_valid(
            "12345",
            "https://evil.com/myapp.php?foo=1&bar=2",
            &first_row(),
            sig
        ));
        let mut tampered = first_row();
        tampered.0[4].1 = "+18005551213".into();
        assert!(!signature_valid("12345", url, &tampered, sig));
        assert!(!signature_valid("", url, &first_row(), sig));
        assert!(!signature_valid("12345", url, &first_row(), ""));
    }

    #[test]
    fn form_parsing_decodes() {
        let f = Form::parse(b"From=%2B15551230001&To=%2B15559870002&Body=Hi+there&Empty=");
        assert_eq!(f.get("From"), Some("+15551230001"));
        assert_eq!(f.get("Body"), Some("Hi there"));
        assert_eq!(f.get("Empty"), None);
        assert_eq!(f.get("Missing"), None);
    }

    #[test]
    fn twiml_is_escaped() {
        assert_eq!(
            twiml::say_and_hang_up("Luigi's <closed> & gone"),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Luigi&apos;s &lt;closed&gt; &amp; gone</Say><Hangup /></Response>"#
        );
        assert_eq!(
            twiml::connect_stream(
                "wss://relay.example.com/twilio/media",
                &[("business_id", "a\"b")],
                "Sorry, we've been cut off."
            ),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://relay.example.com/twilio/media"><Parameter name="business_id" value="a&quot;b" /></Stream></Connect><Say>Sorry, we&apos;ve been cut off.</Say></Response>"#
        );
        assert!(twiml::reject().contains("<Reject"));
    }
}
