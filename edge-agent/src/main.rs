//! `edge-agent`: the command line. Each command's work lives in the library; this file parses
//! arguments and prints.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use edge_agent::agent::{self, Settings};
use edge_agent::codepage::CodePage;
use edge_agent::config::{self, DataDir, Device, FILE_VERSION, PrinterProfile, Role};
use edge_agent::printer::{self, Timeouts};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Hostline's kitchen printer agent: pulls print jobs from the cloud and prints them on
/// ESC/POS printers (raw TCP, port 9100).
#[derive(Parser)]
#[command(name = "edge-agent", version, about, long_about = None)]
struct Cli {
    /// Where the agent keeps its pairing, printers and queue
    /// [default: $XDG_DATA_HOME/hostline-edge-agent, ~/.local/share/hostline-edge-agent or ./edge-data].
    #[arg(long, global = true, env = "EDGE_AGENT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pair this agent with the restaurant, using the 6-digit code from the owner's dashboard.
    Pair {
        /// The cloud's base URL, e.g. https://api.example.com
        #[arg(long)]
        url: String,
        /// The pairing code.
        #[arg(long)]
        code: String,
        /// How the device appears in the dashboard.
        #[arg(long, default_value = "kitchen printer agent")]
        name: String,
        /// Replace an existing pairing.
        #[arg(long)]
        force: bool,
    },
    /// Poll for print jobs and print them, until stopped.
    Run(RunArgs),
    /// Show the queue, the printers, the last job and the agent's version.
    Status(TimeoutArgs),
    /// Manage the printers.
    Printers {
        #[command(subcommand)]
        command: PrintersCommand,
    },
    /// Print a sample ticket on every printer (or one).
    TestPrint {
        /// Only this printer.
        #[arg(long)]
        printer: Option<String>,
        #[command(flatten)]
        timeouts: TimeoutArgs,
    },
}

#[derive(Subcommand)]
enum PrintersCommand {
    /// List the printers.
    List,
    /// Add a printer (or replace one with the same id).
    Add(AddPrinter),
    /// Remove a printer.
    Remove {
        /// The printer's id.
        id: String,
    },
    /// Check that a printer answers and is ready (prints nothing).
    Test {
        /// The printer's id.
        id: String,
        #[command(flatten)]
        timeouts: TimeoutArgs,
    },
}

#[derive(Args)]
struct AddPrinter {
    /// Short id, e.g. "kitchen" or "bar".
    #[arg(long)]
    id: String,
    /// Display name [default: the id].
    #[arg(long)]
    name: Option<String>,
    /// Which tickets it prints.
    #[arg(long, value_enum, default_value = "kitchen")]
    role: Role,
    /// IP address or host name.
    #[arg(long)]
    host: String,
    #[arg(long, default_value_t = 9100)]
    port: u16,
    /// Paper width in mm: 58 (32 columns) or 80 (48 columns).
    #[arg(long, default_value_t = 80, value_parser = parse_paper)]
    paper: u16,
    /// Code page: cp437, cp858 or cp1252.
    #[arg(long, default_value = "cp437", value_parser = parse_code_page)]
    code_page: CodePage,
    /// Whether the printer has a cutter.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    cutter: bool,
    /// Whether a cash drawer is connected (opened after receipts).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    drawer: bool,
    /// Print the order number as a QR code.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    qr: bool,
    /// The printer that takes this one's tickets while it is down.
    #[arg(long)]
    backup: Option<String>,
}

fn parse_paper(s: &str) -> Result<u16, String> {
    match s.trim().trim_end_matches("mm").trim() {
        "58" => Ok(58),
        "80" => Ok(80),
        _ => Err(format!("paper width {s:?}: use 58 or 80")),
    }
}

fn parse_code_page(s: &str) -> Result<CodePage, String> {
    CodePage::parse(s).ok_or_else(|| format!("unknown code page {s:?}: use cp437, cp858 or cp1252"))
}

#[derive(Args, Clone, Copy)]
struct TimeoutArgs {
    /// Printer connect timeout, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    connect_timeout_ms: u64,
    /// How long to wait for the printer's status bytes, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    status_timeout_ms: u64,
    /// How long to wait for the printer to confirm a ticket, in milliseconds.
    #[arg(long, default_value_t = 45000)]
    print_timeout_ms: u64,
}

impl TimeoutArgs {
    fn timeouts(self) -> Timeouts {
        Timeouts {
            connect: Duration::from_millis(self.connect_timeout_ms),
            status: Duration::from_millis(self.status_timeout_ms),
            print: Duration::from_millis(self.print_timeout_ms),
        }
    }
}

#[derive(Args)]
struct RunArgs {
    /// Between polls, in milliseconds (the cloud may ask for longer).
    #[arg(long, default_value_t = 2000)]
    poll_ms: u64,
    /// The longest wait between polls while the cloud is unreachable, in milliseconds.
    #[arg(long, default_value_t = 60000)]
    max_backoff_ms: u64,
    /// How soon a printer that is offline or out of paper is checked again, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    printer_retry_ms: u64,
    /// How often an idle printer's status is checked, in milliseconds.
    #[arg(long, default_value_t = 30000)]
    idle_check_ms: u64,
    #[command(flatten)]
    timeouts: TimeoutArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("edge-agent: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = cli.data_dir.unwrap_or_else(config::default_data_dir);
    let data = DataDir::open(&root)?;
    match cli.command {
        Command::Pair {
            url,
            code,
            name,
            force,
        } => {
            if data.has_device() && !force {
                let d = data.device()?;
                bail!(
                    "already paired as {:?} with {}; pass --force to pair again",
                    d.name,
                    d.url
                );
            }
            let code = code.trim();
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                bail!("the pairing code is 6 digits");
            }
            if url.trim_start().starts_with("http://") {
                eprintln!("warning: {url} is plain http; the device token will travel unencrypted");
            }
            let paired = edge_agent::cloud::pair(&url, code, &name)?;
            data.save_device(&Device {
                version: FILE_VERSION,
                url: url.trim().to_owned(),
                device_token: paired.device_token,
                device_id: paired.id,
                business_id: paired.business_id,
                name: name.clone(),
                paired_at: jiff::Timestamp::now(),
            })?;
            println!(
                "paired as {name:?}; the credential is in {}",
                data.device_path().display()
            );
        }
        Command::Run(args) => {
            let settings = Settings {
                poll: Duration::from_millis(args.poll_ms.max(10)),
                max_backoff: Duration::from_millis(args.max_backoff_ms.max(args.poll_ms)),
                printer_retry: Duration::from_millis(args.printer_retry_ms.max(10)),
                idle_check: Duration::from_millis(args.idle_check_ms.max(10)),
                timeouts: args.timeouts.timeouts(),
            };
            // SIGTERM (systemd's stop) and Ctrl-C ask the loops to finish: the ticket being
            // printed is completed and recorded, acknowledgements go out, then exit 0.
            let stop = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                signal_hook::flag::register(signal, Arc::clone(&stop))
                    .context("cannot register the stop signals")?;
            }
            agent::run(&data, settings, stop)?;
        }
        Command::Status(t) => {
            print!("{}", edge_agent::commands::status(&data, &t.timeouts())?);
        }
        Command::Printers { command } => printers(&data, command)?,
        Command::TestPrint { printer, timeouts } => {
            let book = data.printers()?;
            let chosen: Vec<&PrinterProfile> = match &printer {
                Some(id) => vec![book.get(id).with_context(|| {
                    format!("no printer {id:?}; see `edge-agent printers list`")
                })?],
                None => book.printers.iter().collect(),
            };
            if chosen.is_empty() {
                bail!("no printers yet: add one with `edge-agent printers add`");
            }
            let mut failed = 0;
            for p in chosen {
                match edge_agent::commands::test_print(p, &timeouts.timeouts()) {
                    Ok(()) => println!("{}: printed", p.id),
                    Err(e) => {
                        failed += 1;
                        println!("{e:#}");
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} printer(s) did not print");
            }
        }
    }
    Ok(())
}

fn printers(data: &DataDir, command: PrintersCommand) -> Result<()> {
    let mut book = data.printers()?;
    match command {
        PrintersCommand::List => {
            if book.printers.is_empty() {
                println!("no printers yet: add one with `edge-agent printers add`");
            }
            for p in &book.printers {
                println!(
                    "{} ({}): {:?} tickets at {}, {} mm, {}, cutter {}, drawer {}, qr {}{}",
                    p.id,
                    p.name,
                    p.role,
                    p.address(),
                    p.paper_width_mm,
                    p.code_page.as_str(),
                    p.cutter,
                    p.drawer,
                    p.qr,
                    p.backup
                        .as_deref()
                        .map(|b| format!(", backup {b}"))
                        .unwrap_or_default()
                );
            }
        }
        PrintersCommand::Add(a) => {
            let profile = PrinterProfile {
                name: a.name.unwrap_or_else(|| a.id.clone()),
                id: a.id,
                role: a.role,
                host: a.host,
                port: a.port,
                paper_width_mm: a.paper,
                code_page: a.code_page,
                cutter: a.cutter,
                drawer: a.drawer,
                qr: a.qr,
                backup: a.backup,
            };
            let id = profile.id.clone();
            match book.printers.iter_mut().find(|p| p.id == id) {
                Some(existing) => *existing = profile,
                None => book.printers.push(profile),
            }
            data.save_printers(&book)?;
            println!("saved printer {id}; check it with `edge-agent printers test {id}`");
        }
        PrintersCommand::Remove { id } => {
            if book
                .printers
                .iter()
                .any(|p| p.backup.as_deref() == Some(id.as_str()))
            {
                bail!("{id} is another printer's backup; change that printer first");
            }
            let before = book.printers.len();
            book.printers.retain(|p| p.id != id);
            if book.printers.len() == before {
                bail!("no printer {id:?}");
            }
            data.save_printers(&book)?;
            println!("removed printer {id}");
        }
        PrintersCommand::Test { id, timeouts } => {
            let p = book
                .get(&id)
                .with_context(|| format!("no printer {id:?}; see `edge-agent printers list`"))?;
            let health = printer::status(&p.address(), &timeouts.timeouts());
            println!("{id} ({}): {health}", p.address());
            if !health.is_ready() {
                bail!("{id} is not ready");
            }
        }
    }
    Ok(())
}
