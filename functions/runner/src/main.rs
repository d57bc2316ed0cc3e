//! `hostline`: the command line around the runner library.
//!
//! `hostline up` serves `spin.toml` until Ctrl-C or SIGTERM. The first stdout line is
//! `hostline listening on http://ADDR` for scripts and tests. Everything else goes through
//! `tracing` to stderr (compact text, or JSON lines with `--log-json`): the runner's own
//! events, guest stdout/stderr (target `guest`) and build command output (target `build`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::time::Duration;

use hostline_runner::{EngineOptions, RunnerConfig, server, start};

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

    /// Connections open at once; one more is answered 503 and closed at once.
    #[arg(long, default_value_t = server::DEFAULT_MAX_CONNECTIONS, value_name = "N", help_heading = "Limits")]
    max_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open. Durations: 500ms, 10s, 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Limits")]
    header_timeout: Duration,
    /// Time a client has, once its headers are in, to send the request body; a slower client
    /// gets 408 and its connection is closed.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Limits")]
    body_timeout: Duration,
    /// Largest request body accepted (larger: 413).
    #[arg(long, default_value_t = server::DEFAULT_MAX_BODY_BYTES, value_name = "BYTES", help_heading = "Limits")]
    max_body_bytes: usize,
    /// Component instances running at once (the instance pool's size).
    #[arg(long, default_value_t = EngineOptions::default().max_instances, value_name = "N", help_heading = "Limits")]
    max_instances: u32,
    /// Longest a request waits for a free instance when all are busy; then it gets 503 with
    /// Retry-After. Counts against --request-timeout.
    #[arg(long, default_value = "2s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Limits")]
    instance_wait: Duration,
    /// Wall-clock limit for one request in a component, from the moment its body is in.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Limits")]
    request_timeout: Duration,
    /// Linear memory one component instance may use.
    #[arg(long, default_value_t = EngineOptions::default().memory_limit >> 20, value_name = "MIB", help_heading = "Limits")]
    memory_limit_mib: usize,
}

/// `250ms`, `10s`, `2m` (a bare number is seconds).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 10s or 2m"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long")),
        other => Err(format!("unknown unit {other:?} (use ms, s or m)")),
    }
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
    config.max_connections = args.max_connections;
    config.header_timeout = args.header_timeout;
    config.body_timeout = args.body_timeout;
    config.max_body_bytes = args.max_body_bytes;
    config.engine.max_instances = args.max_instances;
    config.engine.instance_wait = args.instance_wait;
    config.engine.request_timeout = args.request_timeout;
    config.engine.memory_limit = args.memory_limit_mib.checked_mul(1 << 20).ok_or_else(|| {
        anyhow::anyhow!("--memory-limit-mib {} is too large", args.memory_limit_mib)
    })?;
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
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(up(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "hostline up failed");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn limits_are_documented_options_with_defaults() {
        use clap::CommandFactory as _;
        let mut cli = Cli::command();
        let up = cli.find_subcommand_mut("up").expect("up");
        let help = up.render_long_help().to_string();
        for option in [
            "--max-connections",
            "--header-timeout",
            "--body-timeout",
            "--max-body-bytes",
            "--max-instances",
            "--instance-wait",
            "--request-timeout",
            "--memory-limit-mib",
        ] {
            assert!(help.contains(option), "{option} missing from:\n{help}");
        }
        assert!(help.contains("[default: 512]"), "{help}");
        let args = Cli::try_parse_from(["hostline", "up"]).expect("defaults parse");
        let Commands::Up(args) = args.command;
        assert_eq!(args.body_timeout, Duration::from_secs(10));
        assert_eq!(args.instance_wait, Duration::from_secs(2));
        assert_eq!(args.max_connections, server::DEFAULT_MAX_CONNECTIONS);
    }
}
