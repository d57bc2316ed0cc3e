//! `media-relay`: bridges Twilio Media Streams to a voice agent (Deepgram Voice Agent v1), one
//! isolated set of tasks per call. Work in progress; see README.md.

pub mod audio;
