//! `/kitchen/...` (the kitchen display's page and assets) on Lambda.

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "kitchen",
        async |_| (),
        |req, _, _| async move { hostline_kitchen::handler::handle(&req) },
    )
}
