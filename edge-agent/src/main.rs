//! `edge-agent`: pulls print jobs for one restaurant and prints them on ESC/POS printers.
//! Not built yet: see edge-agent/README.md.

fn main() {
    eprintln!("edge-agent: not implemented yet; see edge-agent/README.md");
    std::process::exit(2);
}
