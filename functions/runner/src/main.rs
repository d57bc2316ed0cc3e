//! `hostline`: the command line around the runner library.
//!
//! `hostline up` serves `spin.toml` until Ctrl-C or SIGTERM. The first stdout line is
//! `hostline listening on http://ADDR` for scripts and tests; logs go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hostline_runner::{RunnerConfig, start};

#[derive(Parser)]
#[command(
    name = "hostline",
    version,
    about = "Run Hostline's function collection locally"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the components in a Spin manifest.
    Up(UpArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Data directory: database, generated secrets, compilation cache.
    #[arg(long, default_value = ".hostline")]
    data: PathBuf,
    /// Run each component's build command first.
    #[arg(long)]
    build: bool,
    /// The Spin manifest.
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// Do not seed the demo restaurant.
    #[arg(long)]
    no_seed: bool,
    /// Log as JSON lines instead of compact text.
    #[arg(long)]
    log_json: bool,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    if args.build {
        let manifest = hostline_runner::manifest::Manifest::load(&args.manifest)?;
        let m = manifest.clone();
        tokio::task::spawn_blocking(move || hostline_runner::builder::build_all(&m)).await??;
    }
    let mut config = RunnerConfig::new(&args.manifest);
    config.listen = args.listen;
    config.data_dir = args.data;
    config.seed_demo = !args.no_seed;
    let server = start(config).await?;
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(server.banner().as_bytes())?;
        stdout.flush()?;
    }
    let handle = server.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.shutdown();
    });
    server.wait().await
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Commands::Up(args) = cli.command;
    init_logging(args.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hostline: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(up(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostline: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
