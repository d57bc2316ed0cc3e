//! A local stand-in for an outside HTTP service (Twilio REST, Vapi REST, Places): a hyper
//! server on 127.0.0.1, port 0, on its own thread, that answers each request with the first
//! rule whose method and path fragment match (404 otherwise) and keeps every request it got.
//! Stopped when dropped.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field of an `application/x-www-form-urlencoded` body.
    pub fn form(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

#[derive(Clone)]
struct Rule {
    method: String,
    path_part: String,
    status: u16,
    body: String,
}

/// A running fake service.
pub struct FakeHttp {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The rules a fake answers by, built before it starts.
#[derive(Default)]
pub struct FakeRules(Vec<Rule>);

impl FakeRules {
    pub fn new() -> FakeRules {
        FakeRules::default()
    }

    /// Answer `method` requests whose path contains `path_part` with `status` and a JSON `body`.
    pub fn on(mut self, method: &str, path_part: &str, status: u16, body: &str) -> FakeRules {
        self.0.push(Rule {
            method: method.to_owned(),
            path_part: path_part.to_owned(),
            status,
            body: body.to_owned(),
        });
        self
    }

    pub fn start(self) -> FakeHttp {
        let rules = Arc::new(self.0);
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a fake service");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let seen = Arc::clone(&received);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let (stream, _) = tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => match accepted {
                            Ok(a) => a,
                            Err(_) => continue,
                        },
                    };
                    let rules = Arc::clone(&rules);
                    let seen = Arc::clone(&seen);
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                                let rules = Arc::clone(&rules);
                                let seen = Arc::clone(&seen);
                                async move {
                                    let method = req.method().as_str().to_owned();
                                    let target = req
                                        .uri()
                                        .path_and_query()
                                        .map(|p| p.as_str().to_owned())
                                        .unwrap_or_default();
                                    let headers = req
                                        .headers()
                                        .iter()
                                        .map(|(n, v)| {
                                            (
                                                n.as_str().to_owned(),
                                                v.to_str().unwrap_or_default().to_owned(),
                                            )
                                        })
                                        .collect();
                                    let body = req
                                        .into_body()
                                        .collect()
                                        .await
                                        .map(|b| b.to_bytes().to_vec())
                                        .unwrap_or_default();
                                    let path =
                                        target.split('?').next().unwrap_or_default().to_owned();
                                    let rule = rules
                                        .iter()
                                        .find(|r| r.method == method && path.contains(&r.path_part))
                                        .cloned();
                                    if let Ok(mut s) = seen.lock() {
                                        s.push(Received {
                                            method,
                                            target,
                                            headers,
                                            body,
                                        });
                                    }
                                    let (status, body) = match rule {
                                        Some(r) => (r.status, r.body),
                                        None => {
                                            (404, r#"{"message":"no such fake route"}"#.to_owned())
                                        }
                                    };
                                    hyper::Response::builder()
                                        .status(status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(body)))
                                }
                            });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        FakeHttp {
            addr,
            received,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl FakeHttp {
    /// `http://127.0.0.1:<port>`: the base URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The requests whose path contains `part`.
    pub fn received_at(&self, part: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| {
                r.target
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .contains(part)
            })
            .collect()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn answers_by_rule_and_records() {
        let fake = FakeRules::new()
            .on("POST", "/Messages.json", 201, r#"{"sid":"SM1"}"#)
            .start();
        let mut s = std::net::TcpStream::connect(fake.addr).unwrap();
        let body = "To=%2B1&Body=hi";
        write!(
            s,
            "POST /2010-04-01/Accounts/AC1/Messages.json HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        assert!(answer.ends_with(r#"{"sid":"SM1"}"#), "{answer}");
        let got = fake.received_at("/Messages.json");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].form("Body").as_deref(), Some("hi"));
    }
}
