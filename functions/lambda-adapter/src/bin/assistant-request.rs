//! `/vapi/assistant-request` on Lambda.

use hostline_assistant_request::handler;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "assistant-request",
        async |p| handler::config(&p.settings).await,
        |req, p, config| async move {
            handler::handle(&req, &p.store, config, jiff::Timestamp::now()).await
        },
    )
}
