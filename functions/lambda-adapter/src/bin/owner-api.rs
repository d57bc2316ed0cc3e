//! `/api/v1/...` and `/cloudprnt/...` on Lambda: call transcripts are read from S3.

use hostline_owner_api::handler;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "owner-api",
        async |p| handler::config(&p.settings).await,
        |req, p, config| async move {
            let now = jiff::Timestamp::now();
            handler::handle_with(&req, &p.store, &p.blobs, &p.http, config, now).await
        },
    )
}
