//! HTTP route patterns from `[[trigger.http]]` and the choice of component for a request path.
//!
//! Spin's rules, reduced to what the manifest uses: a route is either exact (`/vapi/events`)
//! or a trailing wildcard (`/api/v1/...`, which also matches `/api/v1` itself). An exact match
//! beats any wildcard, and among wildcards the longest prefix wins, so adding a more specific
//! route never depends on manifest order.

/// A parsed route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    raw: String,
    /// The path without the `/...` suffix, with no trailing slash (empty for the root).
    prefix: String,
    wildcard: bool,
}

/// Why a route string was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// Routes are absolute paths.
    #[error("must start with '/'")]
    NotAbsolute,
    /// `...` may only be the final segment.
    #[error("'...' is only allowed as the last segment")]
    MisplacedWildcard,
}

impl RoutePattern {
    /// Parses a route as written in the manifest.
    pub fn parse(route: &str) -> Result<Self, RouteError> {
        if !route.starts_with('/') {
            return Err(RouteError::NotAbsolute);
        }
        let (prefix, wildcard) = match route.strip_suffix("/...") {
            Some(p) => (p, true),
            None => (route, false),
        };
        if prefix.contains("...") {
            return Err(RouteError::MisplacedWildcard);
        }
        let prefix = prefix.trim_end_matches('/').to_owned();
        Ok(Self {
            raw: route.to_owned(),
            prefix,
            wildcard,
        })
    }

    /// The route as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The part of the route before any wildcard (`spin-component-route`).
    pub fn component_route(&self) -> &str {
        &self.prefix
    }

    /// If `path` matches, the part of it after the route (`spin-path-info`).
    pub fn matches<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.wildcard {
            let rest = path.strip_prefix(self.prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some(rest)
        } else {
            let normalized = if path.len() > 1 {
                path.trim_end_matches('/')
            } else {
                path
            };
            let wanted = if self.prefix.is_empty() {
                "/"
            } else {
                &self.prefix
            };
            (normalized == wanted).then_some("")
        }
    }

    /// Orders candidates: exact routes first, then longer prefixes.
    fn specificity(&self) -> (bool, usize) {
        (!self.wildcard, self.prefix.len())
    }
}

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'r, 'p> {
    /// The component id.
    pub component: &'r str,
    /// The pattern that matched.
    pub pattern: &'r RoutePattern,
    /// Path after the matched prefix.
    pub path_info: &'p str,
}

/// The routing table.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<(RoutePattern, String)>,
}

impl Router {
    /// Builds a router from `(pattern, component id)` pairs.
    pub fn new(routes: Vec<(RoutePattern, String)>) -> Self {
        Self { routes }
    }

    /// The most specific route matching `path`.
    pub fn route<'r, 'p>(&'r self, path: &'p str) -> Option<RouteMatch<'r, 'p>> {
        self.routes
            .iter()
            .filter_map(|(pattern, component)| {
                pattern.matches(path).map(|path_info| RouteMatch {
                    component,
                    pattern,
                    path_info,
                })
            })
            .max_by_key(|m| m.pattern.specificity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::new(
            routes
                .iter()
                .map(|(r, c)| (RoutePattern::parse(r).expect("route"), (*c).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn most_specific_wins() {
        let r = router(&[
            ("/...", "catch-all"),
            ("/api/v1/...", "api"),
            ("/api/v1/edge/...", "edge"),
            ("/api/v1/health", "exact"),
        ]);
        let c = |p: &str| r.route(p).map(|m| m.component.to_owned());
        assert_eq!(c("/api/v1/businesses/x").as_deref(), Some("api"));
        assert_eq!(c("/api/v1").as_deref(), Some("api"));
        assert_eq!(c("/api/v1/edge/jobs").as_deref(), Some("edge"));
        assert_eq!(c("/api/v1/health").as_deref(), Some("exact"));
        assert_eq!(c("/api/v1x").as_deref(), Some("catch-all"));
        assert_eq!(c("/").as_deref(), Some("catch-all"));
        let m = r.route("/api/v1/edge/jobs/1").expect("match");
        assert_eq!(m.path_info, "/jobs/1");
        assert_eq!(m.pattern.component_route(), "/api/v1/edge");
    }

    #[test]
    fn exact_routes_only_match_themselves() {
        let r = router(&[("/vapi/knowledge-base", "kb")]);
        assert!(r.route("/vapi/knowledge-base").is_some());
        assert!(r.route("/vapi/knowledge-base/").is_some());
        assert!(r.route("/vapi/knowledge-base/x").is_none());
        assert!(r.route("/vapi").is_none());
    }

    #[test]
    fn rejects_bad_routes() {
        assert!(RoutePattern::parse("api").is_err());
        assert!(RoutePattern::parse("/a/.../b").is_err());
    }
}
