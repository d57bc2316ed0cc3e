//! `/vapi/events` on Lambda: call transcripts go to S3.

use hostline_calls::handler;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "calls",
        async |p| handler::config(&p.settings).await,
        |req, p, config| async move {
            let now = jiff::Timestamp::now();
            handler::handle_with(&req, &p.store, &p.blobs, &p.http, config, now).await
        },
    )
}
