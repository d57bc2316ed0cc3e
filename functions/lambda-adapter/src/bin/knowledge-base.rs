//! `/vapi/knowledge-base` on Lambda.

use hostline_knowledge_base::handler;

fn main() -> Result<(), hostline_lambda_adapter::Error> {
    hostline_lambda_adapter::serve(
        "knowledge-base",
        async |p| handler::config(&p.settings).await,
        |req, p, config| async move {
            handler::handle(&req, &p.store, config, jiff::Timestamp::now()).await
        },
    )
}
