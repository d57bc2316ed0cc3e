//! `media-relay`: bridges Twilio Media Streams to a voice agent, one tokio task set per call.
//! Not built yet: see README.md (the voice relay issue).

fn main() {
    eprintln!("media-relay: not implemented yet; see media-relay/README.md");
    std::process::exit(2);
}
