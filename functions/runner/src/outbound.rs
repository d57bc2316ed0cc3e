//! Outbound HTTP policy: a component may only call the hosts its manifest entry lists.
//!
//! `allowed_outbound_hosts` entries use Spin's syntax: `scheme://host[:port]`, where the scheme
//! may be `*`, the host may be `*` or `*.domain`, and the port may be a number, `*`, or a range
//! `a..b`; without a port the scheme's default applies. An empty list means no outbound HTTP.
//! The check runs in [`OutboundHooks::send_request`], so a denied call is an HTTP error the
//! guest can handle (`HTTP-request-denied`), never a trap.

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    ports: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    Subdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Range(u16, u16),
    SchemeDefault,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHost {
    /// Parses one entry.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let (scheme, rest) = entry.split_once("://").ok_or_else(|| {
            "expected scheme://host[:port], e.g. \"https://api.example.com\"".to_owned()
        })?;
        let scheme = match scheme {
            "*" => None,
            s if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.') =>
            {
                Some(s.to_ascii_lowercase())
            }
            _ => return Err(format!("invalid scheme {scheme:?}")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err("must not contain a path".into());
        }
        // IPv6 literals keep their colons inside brackets.
        let (host, port) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            HostPattern::Subdomain(domain.to_owned())
        } else if host.is_empty() || host.contains('*') {
            return Err(format!("invalid host {host:?}"));
        } else {
            HostPattern::Exact(host)
        };
        let ports = match port {
            None => {
                if scheme.as_deref().and_then(default_port).is_none() {
                    return Err("a port is required for this scheme".into());
                }
                PortPattern::SchemeDefault
            }
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => {
                    let a = a
                        .parse::<u16>()
                        .map_err(|_| format!("invalid port range {p:?}"))?;
                    let b = b
                        .parse::<u16>()
                        .map_err(|_| format!("invalid port range {p:?}"))?;
                    if a >= b {
                        return Err(format!("invalid port range {p:?}"));
                    }
                    // Spin's ranges are half-open, like Rust's.
                    PortPattern::Range(a, b - 1)
                }
                None => {
                    let n = p
                        .parse::<u16>()
                        .map_err(|_| format!("invalid port {p:?}"))?;
                    PortPattern::Range(n, n)
                }
            },
        };
        Ok(Self {
            scheme,
            host,
            ports,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        if let Some(s) = &self.scheme
            && *s != scheme
        {
            return false;
        }
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomain(d) => host
                .strip_suffix(d.as_str())
                .is_some_and(|prefix| prefix.ends_with('.')),
        };
        if !host_ok {
            return false;
        }
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        match self.ports {
            PortPattern::Any => true,
            PortPattern::Range(a, b) => (a..=b).contains(&port),
            PortPattern::SchemeDefault => Some(port) == default_port(&scheme),
        }
    }
}

/// Render templated entries (`"{{ twilio_api_base }}"`, as Spin allows) with the application
/// variables. A rendered value is a service's base URL, so only its `scheme://host[:port]` is
/// kept; an entry whose value is empty allows nothing (the service is not configured).
pub fn render_entries(
    entries: &[String],
    application: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in entries {
        if !entry.contains("{{") {
            out.push(entry.clone());
            continue;
        }
        let rendered =
            crate::variables::render(entry, application).map_err(|e| format!("{entry:?}: {e}"))?;
        let rendered = rendered.trim();
        if rendered.is_empty() {
            continue;
        }
        let origin = match rendered.split_once("://") {
            Some((scheme, rest)) => {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
                format!("{scheme}://{authority}")
            }
            None => rendered.to_owned(),
        };
        AllowedHost::parse(&origin).map_err(|e| format!("{entry:?} renders to {origin:?}: {e}"))?;
        out.push(origin);
    }
    Ok(out)
}

/// A component's outbound allow-list.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Arc<Vec<AllowedHost>>,
}

impl OutboundPolicy {
    /// Parses every entry; the manifest loader has already reported bad ones by name.
    pub fn new(entries: &[String]) -> Result<Self, String> {
        let allowed = entries
            .iter()
            .map(|e| AllowedHost::parse(e).map_err(|m| format!("{e:?}: {m}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allowed: Arc::new(allowed),
        })
    }

    /// Whether `uri` may be requested.
    pub fn allows_uri(&self, uri: &hyper::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed
            .iter()
            .any(|a| a.allows(scheme, host, uri.port_u16()))
    }
}

/// The `wasi:http` hooks for one request's store: the default client, behind the policy.
pub struct OutboundHooks {
    /// Which component (for logs).
    pub component: Arc<str>,
    /// The allow-list.
    pub policy: OutboundPolicy,
    /// The database: flushed before a request leaves, so no service outside is told of a
    /// write a crash could still undo ([`crate::store`]).
    pub kv: crate::store::KvStore,
}

type SendResult = Result<
    (
        hyper::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        if !self.policy.allows_uri(request.uri()) {
            tracing::warn!(
                component = %self.component,
                uri = %request.uri(),
                "outbound HTTP denied: not in allowed_outbound_hosts"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let kv = self.kv.clone();
        Box::new(async move {
            use http_body_util::BodyExt;
            kv.flush().await.map_err(|e| {
                tracing::error!(error = %e, "store flush before an outbound request failed");
                HttpError::InternalError(Some(format!("store flush failed: {e}")))
            })?;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entry: &str, url: &str) -> bool {
        let policy = OutboundPolicy::new(&[entry.to_owned()]).expect("valid entry");
        policy.allows_uri(&url.parse().expect("uri"))
    }

    #[test]
    fn templated_entries_render_to_origins() {
        let vars: std::collections::BTreeMap<String, String> = [
            ("api".to_owned(), "http://127.0.0.1:4001/base/".to_owned()),
            ("off".to_owned(), String::new()),
            ("bad".to_owned(), "not a url".to_owned()),
        ]
        .into();
        let entries = |e: &[&str]| e.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            render_entries(
                &entries(&["{{ api }}", "https://x.test", "{{ off }}"]),
                &vars
            )
            .unwrap(),
            ["http://127.0.0.1:4001", "https://x.test"]
        );
        let e = render_entries(&entries(&["{{ bad }}"]), &vars).unwrap_err();
        assert!(e.contains("renders to"), "{e}");
        assert!(render_entries(&entries(&["{{ nope }}"]), &vars).is_err());
    }

    #[test]
    fn matching() {
        assert!(allows(
            "https://api.twilio.com",
            "https://api.twilio.com/2010/x"
        ));
        assert!(!allows("https://api.twilio.com", "http://api.twilio.com/"));
        assert!(!allows(
            "https://api.twilio.com",
            "https://api.twilio.com:8443/"
        ));
        assert!(!allows("https://api.twilio.com", "https://evil.com/"));
        assert!(allows("http://127.0.0.1:*", "http://127.0.0.1:5555/x"));
        assert!(allows("http://127.0.0.1:*", "http://127.0.0.1/x"));
        assert!(!allows("http://127.0.0.1:*", "http://localhost:5555/x"));
        assert!(allows("https://*.vapi.ai", "https://api.vapi.ai/"));
        assert!(!allows("https://*.vapi.ai", "https://vapi.ai.evil.com/"));
        assert!(allows("*://*:*", "http://x:1/"));
        assert!(allows(
            "http://localhost:3000..3002",
            "http://localhost:3001/"
        ));
        assert!(!allows(
            "http://localhost:3000..3002",
            "http://localhost:3002/"
        ));
        assert!(!OutboundPolicy::default().allows_uri(&"https://a.b/".parse().expect("uri")));
    }

    #[test]
    fn bad_entries() {
        assert!(AllowedHost::parse("api.twilio.com").is_err());
        assert!(AllowedHost::parse("https://a.com/path").is_err());
        assert!(AllowedHost::parse("redis://a.com").is_err());
        assert!(AllowedHost::parse("https://a.com:x").is_err());
    }
}
