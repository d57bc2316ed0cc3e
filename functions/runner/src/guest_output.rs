//! A guest's stdout and stderr, turned into log events.
//!
//! Whatever a component prints (a panic message, an `eprintln!` about a missing variable)
//! becomes one `tracing` event per line, target `guest`, with the component and the request
//! id, so it lands in the same log stream as the runner's own lines: JSON with `--log-json`,
//! never raw text in between. Output is capped per request and stream; past the cap the rest
//! is dropped (the guest's writes still succeed, so a chatty guest never fails for it).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes of output logged per request and stream.
const BUDGET: usize = 16 << 10;
/// A line longer than this is logged in pieces.
const MAX_LINE: usize = 4 << 10;

/// Which of the guest's streams.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// stdout: logged at INFO.
    Stdout,
    /// stderr: logged at WARN.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

struct Lines {
    component: Arc<str>,
    request_id: Arc<str>,
    stream: Stream,
    pending: Vec<u8>,
    used: usize,
    truncated: bool,
}

impl Lines {
    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            return;
        }
        let (component, request_id, stream) =
            (&*self.component, &*self.request_id, self.stream.name());
        match self.stream {
            Stream::Stdout => {
                tracing::info!(target: "guest", component, request_id, stream, "{text}")
            }
            Stream::Stderr => {
                tracing::warn!(target: "guest", component, request_id, stream, "{text}")
            }
        }
    }

    fn write(&mut self, mut bytes: &[u8]) {
        if self.truncated {
            return;
        }
        if self.used + bytes.len() > BUDGET {
            bytes = &bytes[..BUDGET - self.used];
            self.truncated = true;
        }
        self.used += bytes.len();
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            self.pending.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                let line = std::mem::take(&mut self.pending);
                self.emit(&line[..line.len() - 1]);
            } else {
                while self.pending.len() >= MAX_LINE {
                    let rest = self.pending.split_off(MAX_LINE);
                    let line = std::mem::replace(&mut self.pending, rest);
                    self.emit(&line);
                }
            }
        }
        if self.truncated {
            self.flush_partial();
            let (component, request_id, stream) =
                (&*self.component, &*self.request_id, self.stream.name());
            tracing::warn!(target: "guest", component, request_id, stream, limit = BUDGET, "guest output truncated");
        }
    }

    fn flush_partial(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        // The request is over: a last line without a newline is still worth seeing.
        self.flush_partial();
    }
}

/// One stream of one request; clones share the line buffer.
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<Lines>>);

impl GuestOutput {
    /// Output of `component` while it serves `request_id`.
    pub fn new(component: Arc<str>, request_id: Arc<str>, stream: Stream) -> Self {
        GuestOutput(Arc::new(Mutex::new(Lines {
            component,
            request_id,
            stream,
            pending: Vec::new(),
            used: 0,
            truncated: false,
        })))
    }

    fn write_bytes(&self, bytes: &[u8]) {
        // A poisoned lock only means an earlier log call panicked; keep logging.
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.write(bytes);
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready, and never full: past the budget bytes are dropped, not refused.
        Ok(64 << 10)
    }
}

// `Pollable` is an `async_trait`; this is the signature that macro would write.
impl Pollable for GuestOutput {
    fn ready<'life0, 'async_trait>(
        &'life0 mut self,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(std::future::ready(()))
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_past_the_budget_succeed_and_are_dropped() {
        let mut out = GuestOutput::new(Arc::from("c"), Arc::from("r"), Stream::Stdout);
        let chunk = Bytes::from(vec![b'x'; 1000]);
        for _ in 0..100 {
            assert!(out.check_write().expect("writable") > 0);
            out.write(chunk.clone()).expect("never refused");
        }
        let lines = out.0.lock().expect("lock");
        assert!(lines.truncated);
        assert_eq!(lines.used, BUDGET);
        assert!(lines.pending.len() < MAX_LINE);
    }

    #[test]
    fn lines_are_split_on_newlines_and_long_lines_in_pieces() {
        let out = GuestOutput::new(Arc::from("c"), Arc::from("r"), Stream::Stderr);
        out.write_bytes(b"one\ntw");
        assert_eq!(out.0.lock().expect("lock").pending, b"tw");
        out.write_bytes(b"o\n");
        assert!(out.0.lock().expect("lock").pending.is_empty());
        out.write_bytes(&vec![b'y'; MAX_LINE + 10]);
        assert_eq!(out.0.lock().expect("lock").pending.len(), 10);
    }
}
