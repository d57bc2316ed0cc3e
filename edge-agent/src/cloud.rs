//! The cloud's edge routes, over HTTP(S) with the device's bearer token:
//! `POST /api/v1/edge/pair`, `GET /api/v1/edge/me`, `GET /api/v1/edge/jobs` and
//! `POST /api/v1/edge/jobs/{id}/ack`. Errors say whether trying again can help.

use anyhow::{Context, Result, anyhow, bail};
use hostline_shared::printing::PrintJob;
use reqwest::blocking::Client;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::time::Duration;

/// A client for one cloud.
#[derive(Clone)]
pub struct Cloud {
    base: Url,
    token: String,
    http: Client,
}

/// What a poll returned.
#[derive(Debug)]
pub struct Poll {
    pub jobs: Vec<PrintJob>,
    /// Jobs in the answer that could not be read (skipped, logged).
    pub unreadable: Vec<String>,
    pub poll_after: Option<Duration>,
}

/// The answer to pairing.
#[derive(Debug, Deserialize)]
pub struct Paired {
    pub device_token: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub business_id: Option<String>,
}

/// What the cloud said to an acknowledgement.
#[derive(Debug, PartialEq, Eq)]
pub enum AckAnswer {
    Taken,
    /// The cloud will never take it (unknown job, leased to another device): stop sending.
    Refused(String),
}

/// The final word on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    Printed,
    Failed(String),
}

fn client() -> Result<Client> {
    Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .user_agent(concat!("hostline-edge-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")
}

/// Parse the cloud's base URL (http or https).
pub fn base_url(url: &str) -> Result<Url> {
    let u = Url::parse(url.trim()).with_context(|| format!("{url:?} is not a URL"))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        bail!("{url:?}: the cloud URL must start with https:// (or http:// for a local test)");
    }
    Ok(u)
}

fn endpoint(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut u = base.clone();
    u.path_segments_mut()
        .map_err(|()| anyhow!("{base} cannot be a base URL"))?
        .pop_if_empty()
        .extend(segments);
    Ok(u)
}

/// A short, single-line excerpt of an error body.
fn excerpt(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// Exchange a pairing code for a device token.
pub fn pair(url: &str, code: &str, name: &str) -> Result<Paired> {
    let base = base_url(url)?;
    let u = endpoint(&base, &["api", "v1", "edge", "pair"])?;
    let res = client()?
        .post(u.clone())
        .json(&serde_json::json!({"code": code, "name": name}))
        .send()
        .with_context(|| format!("cannot reach {u}"))?;
    let status = res.status();
    let body = res.text().unwrap_or_default();
    if status != StatusCode::CREATED && status != StatusCode::OK {
        bail!("pairing refused ({status}): {}", excerpt(&body));
    }
    serde_json::from_str(&body)
        .with_context(|| format!("unexpected pairing answer: {}", excerpt(&body)))
}

impl Cloud {
    pub fn new(url: &str, token: &str) -> Result<Cloud> {
        Ok(Cloud {
            base: base_url(url)?,
            token: token.to_owned(),
            http: client()?,
        })
    }

    /// `GET /api/v1/edge/me`: the device this token belongs to.
    pub fn me(&self) -> Result<serde_json::Value> {
        let u = endpoint(&self.base, &["api", "v1", "edge", "me"])?;
        let res = self
            .http
            .get(u.clone())
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("cannot reach {u}"))?;
        let status = res.status();
        let body = res.text().unwrap_or_default();
        if !status.is_success() {
            bail!("{u}: {status}: {}", excerpt(&body));
        }
        serde_json::from_str(&body).context("unexpected answer from /edge/me")
    }

    /// `GET /api/v1/edge/jobs`: lease this restaurant's jobs.
    pub fn poll(&self) -> Result<Poll> {
        let u = endpoint(&self.base, &["api", "v1", "edge", "jobs"])?;
        let res = self
            .http
            .get(u.clone())
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("cannot reach {u}"))?;
        let status = res.status();
        let body = res
            .text()
            .with_context(|| format!("{u}: answer cut short"))?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            bail!(
                "{u}: the cloud refused this device ({status}); was it unpaired? Pair again with `edge-agent pair --force`"
            );
        }
        if !status.is_success() {
            bail!("{u}: {status}: {}", excerpt(&body));
        }
        #[derive(Deserialize)]
        struct Answer {
            jobs: Vec<serde_json::Value>,
            #[serde(default)]
            poll_after_seconds: Option<u64>,
        }
        let answer: Answer = serde_json::from_str(&body)
            .with_context(|| format!("{u}: unexpected answer: {}", excerpt(&body)))?;
        let mut jobs = Vec::with_capacity(answer.jobs.len());
        let mut unreadable = Vec::new();
        for value in answer.jobs {
            let id = value
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("(no id)")
                .to_owned();
            match serde_json::from_value::<PrintJob>(value) {
                Ok(job) => jobs.push(job),
                Err(e) => unreadable.push(format!("{id}: {e}")),
            }
        }
        Ok(Poll {
            jobs,
            unreadable,
            poll_after: answer.poll_after_seconds.map(Duration::from_secs),
        })
    }

    /// `POST /api/v1/edge/status`: the printers and the queue, for the owner's device list.
    pub fn report(&self, status: &serde_json::Value) -> Result<()> {
        let u = endpoint(&self.base, &["api", "v1", "edge", "status"])?;
        let res = self
            .http
            .post(u.clone())
            .bearer_auth(&self.token)
            .json(status)
            .send()
            .with_context(|| format!("cannot reach {u}"))?;
        let code = res.status();
        if !code.is_success() {
            bail!("{u}: {code}: {}", excerpt(&res.text().unwrap_or_default()));
        }
        Ok(())
    }

    /// `POST /api/v1/edge/jobs/{id}/ack`.
    pub fn ack(&self, job_id: &str, ack: &Ack) -> Result<AckAnswer> {
        let u = endpoint(&self.base, &["api", "v1", "edge", "jobs", job_id, "ack"])?;
        let body = match ack {
            Ack::Printed => serde_json::json!({"status": "printed"}),
            Ack::Failed(reason) => serde_json::json!({
                "status": "failed",
                "reason": reason.chars().take(200).collect::<String>(),
            }),
        };
        let res = self
            .http
            .post(u.clone())
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .with_context(|| format!("cannot reach {u}"))?;
        let status = res.status();
        let text = res.text().unwrap_or_default();
        if status.is_success() {
            return Ok(AckAnswer::Taken);
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::CONFLICT {
            return Ok(AckAnswer::Refused(format!("{status}: {}", excerpt(&text))));
        }
        bail!("{u}: {status}: {}", excerpt(&text))
    }
}
