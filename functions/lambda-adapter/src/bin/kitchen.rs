//! `/kitchen/...` (the kitchen display's page and assets) on Lambda.

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve_static("kitchen", |req| async move {
        hostline_kitchen::handler::handle(&req)
    })
}
