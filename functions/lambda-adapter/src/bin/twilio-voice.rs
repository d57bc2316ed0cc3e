//! `/twilio/...` and `/internal/...` on Lambda.

use hostline_twilio_voice::handler;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "twilio-voice",
        async |p| handler::config(&p.settings).await,
        |req, p, config| async move {
            handler::handle(&req, &p.store, config, jiff::Timestamp::now()).await
        },
    )
}
