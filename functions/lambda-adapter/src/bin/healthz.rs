//! `/healthz` on Lambda: the same answer as the Spin component's.

use hostline_shared::api::method_name;
use hostline_shared::http::Response;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve_static("healthz", |req| async move {
        let health = hostline_healthz::answer(method_name(req.method));
        let resp = Response {
            status: health.status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: health.body.as_bytes().to_vec(),
        };
        match health.allow {
            Some(allow) => resp.with_header("allow", allow),
            None => resp,
        }
    })
}
