//! The kitchen display's routes: the page and its two assets, embedded in the component.
//! Nothing here reads the store or any secret: the page talks to the staff API itself.

use hostline_shared::http::{Method, Request, Response};
use hostline_shared::ids::BusinessId;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// One embedded file.
struct Asset {
    body: &'static str,
    content_type: &'static str,
}

const PAGE: Asset = Asset {
    body: INDEX,
    content_type: "text/html; charset=utf-8",
};
const SCRIPT: Asset = Asset {
    body: APP_JS,
    content_type: "text/javascript; charset=utf-8",
};
const STYLE: Asset = Asset {
    body: APP_CSS,
    content_type: "text/css; charset=utf-8",
};

/// What the page may load and talk to: only this origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

pub fn handle(req: &Request) -> Response {
    if !matches!(req.method, Method::Get) {
        return Response::method_not_allowed().with_header("allow", "GET");
    }
    let path = req.path.trim_end_matches('/');
    let asset = match path.strip_prefix("/kitchen/") {
        Some("assets/app.js") => &SCRIPT,
        Some("assets/app.css") => &STYLE,
        Some(id) if BusinessId::parse(id).is_ok() => &PAGE,
        _ => {
            return Response::error(
                404,
                "no such page: open /kitchen/{business_id} for a business's display",
            );
        }
    };
    // Revalidated on every load (no-cache), answered 304 while the build is the same.
    Response {
        status: 200,
        headers: vec![("content-type".into(), asset.content_type.into())],
        body: asset.body.as_bytes().to_vec(),
    }
    .with_etag(req)
    .with_header("cache-control", "no-cache")
    .with_header("content-security-policy", CSP)
    .with_header("x-content-type-options", "nosniff")
    .with_header("referrer-policy", "no-referrer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Response {
        handle(&Request::new(Method::Get, path))
    }

    fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_business_page_and_its_assets_are_served_and_revalidated() {
        let page = get("/kitchen/windy");
        assert_eq!(page.status, 200);
        assert!(page.body_str().contains("/kitchen/assets/app.js"));
        assert_eq!(
            header(&page, "content-type"),
            Some("text/html; charset=utf-8")
        );
        let etag = header(&page, "etag").unwrap().to_owned();
        let again = handle(
            &Request::new(Method::Get, "/kitchen/windy").with_header("if-none-match", &etag),
        );
        assert_eq!((again.status, again.body.len()), (304, 0));
        let js = get("/kitchen/assets/app.js");
        assert_eq!(js.status, 200);
        assert_ne!(header(&js, "etag"), Some(etag.as_str()));
        assert!(
            header(&js, "content-security-policy")
                .unwrap()
                .contains("script-src 'self'")
        );
    }

    #[test]
    fn anything_else_is_a_json_404_or_405() {
        for path in [
            "/kitchen",
            "/kitchen/",
            "/kitchen/Not_An_Id",
            "/kitchen/assets/x.js",
            "/kitchen/a/b",
        ] {
            let r = get(path);
            assert_eq!(r.status, 404, "{path}");
            assert!(r.body_str().contains("\"error\""), "{path}");
        }
        let r = handle(&Request::new(Method::Post, "/kitchen/windy"));
        assert_eq!((r.status, header(&r, "allow")), (405, Some("GET")));
    }
}
