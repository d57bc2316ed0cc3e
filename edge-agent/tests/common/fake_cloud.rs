//! A fake Hostline cloud on 127.0.0.1 (port 0), std sockets only: `POST /api/v1/edge/pair`,
//! `GET /api/v1/edge/jobs` (the jobs not yet acknowledged, like the real lease), and
//! `POST /api/v1/edge/jobs/{id}/ack`. It can be taken down (connections dropped unanswered),
//! made to refuse acknowledgements (503), or to keep serving acknowledged jobs.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TOKEN: &str = "hld_test_token";
pub const CODE: &str = "123456";

#[derive(Default)]
pub struct Cloud {
    pub jobs: Vec<Value>,
    pub down: bool,
    pub acks_fail: bool,
    pub keep_serving_acked: bool,
    /// (job id, body) of every acknowledgement taken.
    pub acks: Vec<(String, Value)>,
    pub ack_attempts: usize,
    pub polls: usize,
    pub dropped: usize,
}

pub struct FakeCloud {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<Cloud>>,
    stop: Arc<AtomicBool>,
}

impl FakeCloud {
    pub fn start() -> FakeCloud {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake cloud");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(Mutex::new(Cloud::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let st = Arc::clone(&st);
                        std::thread::spawn(move || {
                            let _ = serve(s, st);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeCloud { addr, state, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Cloud) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn add_job(&self, job: Value) {
        self.with(|c| c.jobs.push(job));
    }

    /// Acknowledgements taken for `id`.
    pub fn acks_of(&self, id: &str) -> Vec<Value> {
        self.with(|c| {
            c.acks
                .iter()
                .filter(|(j, _)| j == id)
                .map(|(_, b)| b.clone())
                .collect()
        })
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(s: TcpStream, state: Arc<Mutex<Cloud>>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(s.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0usize;
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.trim().parse().unwrap_or(0),
                "authorization" => auth = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();

    let mut c = state.lock().unwrap();
    if c.down {
        c.dropped += 1;
        return Ok(()); // dropped unanswered
    }
    let authorized = auth == format!("Bearer {TOKEN}");
    let (status, answer) = if method == "POST" && path == "/api/v1/edge/pair" {
        let b: Value = serde_json::from_slice(&body).unwrap_or_default();
        if b["code"] == CODE {
            (
                201,
                json!({"id": "dev-1", "business_id": "pizza-place", "device_token": TOKEN}),
            )
        } else {
            (400, json!({"message": "no such pairing code"}))
        }
    } else if !authorized {
        (401, json!({"message": "device token required"}))
    } else if method == "GET" && path == "/api/v1/edge/jobs" {
        c.polls += 1;
        let acked: Vec<String> = c.acks.iter().map(|(id, _)| id.clone()).collect();
        let keep = c.keep_serving_acked;
        let jobs: Vec<Value> = c
            .jobs
            .iter()
            .filter(|j| keep || !acked.iter().any(|a| j["id"] == a.as_str()))
            .cloned()
            .collect();
        (200, json!({"jobs": jobs, "poll_after_seconds": 0}))
    } else if method == "POST" && path.starts_with("/api/v1/edge/jobs/") && path.ends_with("/ack") {
        c.ack_attempts += 1;
        if c.acks_fail {
            (503, json!({"message": "try later"}))
        } else {
            let id = path["/api/v1/edge/jobs/".len()..path.len() - "/ack".len()].to_owned();
            let b: Value = serde_json::from_slice(&body).unwrap_or_default();
            c.acks.push((id, b));
            (200, json!({}))
        }
    } else {
        (404, json!({"message": "no such route"}))
    };
    drop(c);
    let text = answer.to_string();
    let mut s = reader.into_inner();
    write!(
        s,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    )?;
    s.flush()
}
