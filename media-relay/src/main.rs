//! `media-relay`: the relay (`serve`) and its load tool (`bench`). Parsing, logging set-up,
//! the runtime and signals; everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use media_relay::cli::{Cli, Command, ServeArgs};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Bench(args) => match media_relay::bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("media-relay bench: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// JSON lines on stdout, `RUST_LOG` filter (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .init();
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging();
    let config = match args.config(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            error!(error = %e, "bad configuration");
            eprintln!("media-relay: {e:#}");
            return ExitCode::from(2);
        }
    };
    if config.insecure_skip_signature {
        eprintln!(
            "media-relay: WARNING: --insecure-skip-signature: X-Twilio-Signature is not checked; \
             anyone who can reach {} can open streams. Never run this way in production.",
            config.listen
        );
    }
    // Two descriptors per call, plus the pools.
    let wanted = config
        .limits
        .max_calls
        .saturating_mul(2)
        .saturating_add(256);
    let have = media_relay::bench::raise_fd_limit();
    if have < wanted as u64 {
        warn!(
            open_files = have,
            wanted, "the open-file limit is below what --max-calls needs"
        );
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        builder.worker_threads(workers.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut relay = media_relay::start(config).await?;
        tokio::select! {
            _ = terminate.recv() => info!(signal = "SIGTERM", "draining"),
            _ = interrupt.recv() => info!(signal = "SIGINT", "draining"),
        }
        relay.drain();
        tokio::select! {
            () = relay.wait() => {}
            _ = async { tokio::select! { _ = terminate.recv() => {}, _ = interrupt.recv() => {} } } => {
                warn!("second signal: ending every call now");
                relay.stop_now();
                relay.wait().await;
            }
        }
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %format!("{e:#}"), "relay failed");
            eprintln!("media-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}
