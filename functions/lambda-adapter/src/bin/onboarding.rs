//! `/api/v1/onboarding/...` on Lambda.

use hostline_onboarding::handler;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "onboarding",
        async |p| handler::config(&p.settings).await,
        |req, p, config| async move {
            handler::handle(&req, &p.store, &p.http, config, jiff::Timestamp::now()).await
        },
    )
}
