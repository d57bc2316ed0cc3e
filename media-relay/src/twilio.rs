//! Twilio Media Streams frames (Twilio's Media Streams WebSocket messages): what Twilio sends on a bidirectional
//! stream (`connected`, `start`, `media`, `dtmf`, `mark`, `stop`) and what we send back
//! (`media`, `mark`, `clear`). Every frame is JSON text; Twilio's numbers arrive as strings and
//! the relay reads none of them.
//!
//! `media` arrives 50 times a second per call, so parsing borrows from the frame (no
//! allocation unless the payload carries JSON escapes) and outgoing media is written into a
//! buffer the call reuses. This module does no I/O.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, BytesMut};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A frame from Twilio.
#[derive(Debug, PartialEq)]
pub enum Inbound<'a> {
    Connected,
    Start(Box<Start>),
    /// Base64 µ-law 8 kHz from the caller.
    Media {
        payload: Cow<'a, str>,
    },
    Dtmf {
        digit: Cow<'a, str>,
    },
    /// Playback reached a mark we sent (or a `clear` flushed it).
    Mark {
        name: Cow<'a, str>,
    },
    Stop,
    /// An event the relay does not act on; kept for the log.
    Other(Cow<'a, str>),
}

/// The `start` frame's `start` object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    /// Names the stream in everything we send back.
    pub stream_sid: String,
    /// The call; the stream token must name it.
    pub call_sid: String,
    /// The account, for the REST URL of a transfer.
    #[serde(default)]
    pub account_sid: String,
    /// The TwiML `<Parameter>`s; only trusted through the signed token among them.
    #[serde(default)]
    pub custom_parameters: HashMap<String, String>,
    /// Always µ-law 8 kHz mono per Twilio's docs; checked because passthrough depends on it.
    #[serde(default)]
    pub media_format: Option<MediaFormat>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    /// `audio/x-mulaw`; anything else cannot be passed through.
    #[serde(default)]
    pub encoding: String,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not a Media Streams frame: {0}")]
    Json(#[from] serde_json::Error),
    #[error("`{0}` frame without its `{0}` object")]
    Missing(&'static str),
    #[error("unsupported media format `{0}` (expected audio/x-mulaw)")]
    Format(String),
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    media: Option<RawMedia<'a>>,
    #[serde(default)]
    start: Option<Box<Start>>,
    #[serde(borrow, default)]
    dtmf: Option<RawDtmf<'a>>,
    #[serde(borrow, default)]
    mark: Option<RawMark<'a>>,
}

#[derive(Deserialize)]
struct RawMedia<'a> {
    #[serde(borrow)]
    payload: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawDtmf<'a> {
    #[serde(borrow)]
    digit: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawMark<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

/// Parses one text frame from Twilio.
pub fn parse(text: &str) -> Result<Inbound<'_>, FrameError> {
    let raw: Raw<'_> = serde_json::from_str(text)?;
    Ok(match raw.event.as_ref() {
        "media" => Inbound::Media {
            payload: raw.media.ok_or(FrameError::Missing("media"))?.payload,
        },
        "start" => {
            let start = raw.start.ok_or(FrameError::Missing("start"))?;
            if let Some(format) = &start.media_format
                && !format.encoding.is_empty()
                && format.encoding != "audio/x-mulaw"
            {
                return Err(FrameError::Format(format.encoding.clone()));
            }
            Inbound::Start(start)
        }
        "connected" => Inbound::Connected,
        "dtmf" => Inbound::Dtmf {
            digit: raw.dtmf.ok_or(FrameError::Missing("dtmf"))?.digit,
        },
        "mark" => Inbound::Mark {
            name: raw.mark.ok_or(FrameError::Missing("mark"))?.name,
        },
        "stop" => Inbound::Stop,
        _ => Inbound::Other(raw.event),
    })
}

/// Writes the frames we send on one stream.
#[derive(Debug)]
pub struct Writer {
    /// `{"event":"media","streamSid":"MZ…","media":{"payload":"`, built once per call.
    media_prefix: String,
    /// The stream SID as a JSON string (quoted and escaped), for the rarer frames.
    sid_json: String,
}

const MEDIA_SUFFIX: &str = "\"}}";

impl Writer {
    pub fn new(stream_sid: &str) -> Writer {
        let sid_json = serde_json::Value::from(stream_sid).to_string();
        Writer {
            media_prefix: format!(
                r#"{{"event":"media","streamSid":{sid_json},"media":{{"payload":""#
            ),
            sid_json,
        }
    }

    /// A `media` frame carrying `audio`, written into `buf` (which the caller keeps between
    /// frames so the allocation is reused once the previous frame has been sent).
    pub fn media(&self, buf: &mut BytesMut, audio: &[u8]) -> Utf8Bytes {
        let encoded = base64::encoded_len(audio.len(), true).unwrap_or(0);
        buf.clear();
        buf.reserve(self.media_prefix.len() + encoded + MEDIA_SUFFIX.len());
        buf.put_slice(self.media_prefix.as_bytes());
        let at = buf.len();
        buf.resize(at + encoded, 0);
        let written = STANDARD.encode_slice(audio, &mut buf[at..]).unwrap_or(0);
        buf.truncate(at + written);
        buf.put_slice(MEDIA_SUFFIX.as_bytes());
        let frame = buf.split().freeze();
        // Built from ASCII pieces only (the prefix is JSON text, the rest base64), so the
        // check cannot fail; it costs one pass over ~300 bytes.
        Utf8Bytes::try_from(frame).unwrap_or_else(|_| Utf8Bytes::from_static(""))
    }

    /// `clear`: Twilio drops the audio it has buffered and returns pending marks.
    pub fn clear(&self) -> String {
        format!(r#"{{"event":"clear","streamSid":{}}}"#, self.sid_json)
    }

    /// `mark`: Twilio echoes it when playback of everything sent before it completes.
    pub fn mark(&self, name: &str) -> String {
        let name = serde_json::Value::from(name).to_string();
        format!(
            r#"{{"event":"mark","streamSid":{},"mark":{{"name":{name}}}}}"#,
            self.sid_json
        )
    }
}

/// Decodes a `media` payload into `buf` (cleared first; its allocation is reused).
pub fn decode_payload(payload: &str, buf: &mut BytesMut) -> Result<(), base64::DecodeSliceError> {
    buf.clear();
    let estimate = base64::decoded_len_estimate(payload.len());
    buf.resize(estimate, 0);
    let n = STANDARD.decode_slice(payload.as_bytes(), &mut buf[..])?;
    buf.truncate(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_frames() {
        assert_eq!(
            parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#).unwrap(),
            Inbound::Connected
        );
        let start = parse(
            r#"{"event":"start","sequenceNumber":"1",
            "start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],
            "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},
            "customParameters":{"token":"v1.x.y","business_id":"evil"}},"streamSid":"MZ1"}"#,
        )
        .unwrap();
        let Inbound::Start(s) = start else {
            panic!("not start: {start:?}")
        };
        assert_eq!(
            (
                s.stream_sid.as_str(),
                s.call_sid.as_str(),
                s.account_sid.as_str()
            ),
            ("MZ1", "CA1", "AC1")
        );
        assert_eq!(s.custom_parameters["token"], "v1.x.y");
        let media = parse(
            r#"{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"no+JhoaJjpzS"},"streamSid":"MZ1"}"#,
        )
        .unwrap();
        assert_eq!(
            media,
            Inbound::Media {
                payload: Cow::Borrowed("no+JhoaJjpzS")
            }
        );
        assert!(matches!(
            parse(r#"{"event":"media","media":{"payload":"a\/b="}}"#).unwrap(),
            Inbound::Media { payload: Cow::Owned(p) } if p == "a/b="
        ));
        assert_eq!(
            parse(r#"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"0"}}"#).unwrap(),
            Inbound::Dtmf { digit: "0".into() }
        );
        assert_eq!(
            parse(r#"{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"agent-turn-1"}}"#).unwrap(),
            Inbound::Mark { name: "agent-turn-1".into() }
        );
        assert_eq!(
            parse(r#"{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC1","callSid":"CA1"},"streamSid":"MZ1"}"#).unwrap(),
            Inbound::Stop
        );
        assert_eq!(
            parse(r#"{"event":"future"}"#).unwrap(),
            Inbound::Other("future".into())
        );
    }

    #[test]
    fn rejects_malformed_frames() {
        for bad in [
            "not json",
            "{}",
            r#"{"event":"media"}"#,
            r#"{"event":"media","media":{}}"#,
            r#"{"event":"start"}"#,
            r#"{"event":"start","start":{"streamSid":"MZ"}}"#,
            r#"{"event":"start","start":{"streamSid":"MZ","callSid":"CA","mediaFormat":{"encoding":"audio/l16"}}}"#,
            r#"{"event":"mark","mark":{}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_media_clear_and_mark() {
        let w = Writer::new("MZ\"1");
        let mut buf = BytesMut::new();
        let frame = w.media(&mut buf, &[0xff, 0x7f, 0x00]);
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["event"], "media");
        assert_eq!(v["streamSid"], "MZ\"1");
        assert_eq!(v["media"]["payload"], "/38A");
        let v: serde_json::Value = serde_json::from_str(&w.clear()).unwrap();
        assert_eq!(v, serde_json::json!({"event":"clear","streamSid":"MZ\"1"}));
        let v: serde_json::Value = serde_json::from_str(&w.mark("agent-turn-2")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event":"mark","streamSid":"MZ\"1","mark":{"name":"agent-turn-2"}})
        );
    }

    #[test]
    fn payload_round_trip_reuses_the_buffer() {
        let w = Writer::new("MZ1");
        let audio: Vec<u8> = (0..=255).collect();
        let mut out = BytesMut::new();
        let mut back = BytesMut::new();
        for _ in 0..3 {
            let frame = w.media(&mut out, &audio);
            let Inbound::Media { payload } = parse(&frame).unwrap() else {
                panic!()
            };
            decode_payload(&payload, &mut back).unwrap();
            assert_eq!(&back[..], &audio[..]);
        }
        assert!(decode_payload("***", &mut back).is_err());
    }
}
