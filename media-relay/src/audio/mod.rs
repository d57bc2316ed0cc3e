//! Audio conversion for agents that do not speak µ-law 8 kHz: G.711 µ-law <-> linear PCM and
//! anti-aliased resampling. Passthrough calls never touch this module.
//!
//! Owns, per call and per direction, the path between Twilio's µ-law 8 kHz and an agent's
//! linear16 (signed 16-bit little-endian, mono) at 8, 16, 24 or 48 kHz:
//!
//! - [`mulaw`]: the G.711 codec, table decode and branch-light encode, into caller buffers.
//! - [`resample`]: one streaming [`Resampler`] per direction (rubato's FFT resampler), 20 ms
//!   frames, filter state kept across frames.
//! - [`Transcoder`] (here): the two joined for one call, accepting chunks of any length.
//!
//! It must not sit on the passthrough path: when the agent takes µ-law 8 kHz itself (Deepgram
//! Voice Agent does), payloads are forwarded as they are and nothing here runs. It does no I/O,
//! no base64 and no framing of messages; the relay does those.
//!
//! Cost per 20 ms frame (release build, `cargo bench -p media-relay --bench transcode`, one core
//! of the 2-core AMD EPYC dev machine while other builds ran; mean, p99 in brackets):
//!
//! | agent rate | `twilio_to_agent` | `agent_to_twilio` |
//! |------------|-------------------|-------------------|
//! | 16 kHz     | 1.3 µs (2.7)      | 1.5 µs (1.7)      |
//! | 24 kHz     | 1.7 µs (2.3)      | 2.0 µs (3.8)      |
//! | 48 kHz     | 2.9 µs (5.3)      | 3.2 µs (5.5)      |
//!
//! Baselines in the same run: a µ-law decode of the frame alone 0.07 µs, a plain copy (what a
//! passthrough call pays) 0.03 µs; resampling is most of each figure. Both directions of one
//! call at 48 kHz take about 6 µs per 20 ms, 0.03% of a core. Runs on the shared machine
//! differ by up to ±30%.
//!
//! Added latency: 10 ms per direction (the filter's delay, see [`resample`]); none at 8 kHz.

pub mod mulaw;
pub mod resample;

use std::time::Duration;

pub use resample::{Resampler, SUPPORTED_RATES, TWILIO_RATE};

/// Why audio conversion could not be set up for a call. Converting audio itself cannot fail.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The agent asked for a rate this module has no tested path for.
    #[error("unsupported sample rate {0} Hz (supported: 8000, 16000, 24000, 48000)")]
    UnsupportedRate(u32),
    /// rubato chose chunk sizes other than one 20 ms frame per side (would be a rubato change).
    #[error(
        "resampler {from_hz}->{to_hz} Hz takes {input} and gives {output} samples per call, \
         not one 20 ms frame"
    )]
    FrameMismatch {
        from_hz: u32,
        to_hz: u32,
        input: usize,
        output: usize,
    },
    /// rubato refused the configuration.
    #[error("building the resampler")]
    Resampler(#[from] rubato::ResamplerConstructionError),
}

/// Samples converted per step before resampling: a stack buffer, so no call allocates for it.
/// 480 samples = 20 ms at 24 kHz; larger inputs go through in several steps.
const SCRATCH: usize = 480;

/// One call's transcoding in both directions. Create it when the call starts (it plans FFTs and
/// sizes buffers), then feed it every payload; nothing allocates per frame after the first few.
#[derive(Debug)]
pub struct Transcoder {
    /// Twilio's 8 kHz up (or through) to the agent's rate.
    to_agent: Resampler,
    /// The agent's rate down (or through) to Twilio's 8 kHz.
    to_twilio: Resampler,
    /// linear16 for the agent, rebuilt by each `twilio_to_agent` call and lent out.
    agent_out: Vec<u8>,
    /// µ-law for Twilio, rebuilt by each `agent_to_twilio` call and lent out.
    twilio_out: Vec<u8>,
    /// First byte of a sample whose second byte is in the agent's next chunk: agent chunks
    /// come in arbitrary byte lengths, odd ones included.
    odd_byte: Option<u8>,
}

impl Transcoder {
    /// Sets up both directions for an agent that speaks linear16 at `agent_rate` Hz
    /// (one of [`SUPPORTED_RATES`]).
    pub fn new(agent_rate: u32) -> Result<Self, AudioError> {
        let to_agent = Resampler::new(TWILIO_RATE, agent_rate)?;
        let to_twilio = Resampler::new(agent_rate, TWILIO_RATE)?;
        // One frame's worth, the size nearly every call sees; larger inputs grow them once.
        let agent_out = Vec::with_capacity(to_agent.output_frame_len() * 2);
        let twilio_out = Vec::with_capacity(to_twilio.output_frame_len());
        Ok(Self {
            to_agent,
            to_twilio,
            agent_out,
            twilio_out,
            odd_byte: None,
        })
    }

    /// The agent's sample rate in Hz.
    pub fn agent_rate(&self) -> u32 {
        self.to_agent.to_hz()
    }

    /// Delay each direction adds (the resampling filter's): 10 ms, or zero at 8 kHz. Framing can
    /// add up to one more frame for agent audio that arrives in pieces.
    pub fn latency(&self) -> Duration {
        self.to_agent.delay()
    }

    /// Converts a Twilio media payload (raw µ-law, any length; Twilio sends 160 bytes = 20 ms)
    /// to linear16 little-endian at the agent's rate. Returns the audio completed by this call:
    /// whole 20 ms frames, empty while a partial frame waits for the rest.
    pub fn twilio_to_agent(&mut self, mulaw: &[u8]) -> &[u8] {
        self.agent_out.clear();
        let mut scratch = [0f32; SCRATCH];
        for chunk in mulaw.chunks(SCRATCH) {
            let samples = &mut scratch[..chunk.len()];
            mulaw::decode_slice_f32(chunk, samples);
            let out = &mut self.agent_out;
            self.to_agent
                .push(samples, |frame| append_linear16(out, frame));
        }
        &self.agent_out
    }

    /// Converts agent audio (linear16 little-endian at the agent's rate, any byte length, odd
    /// ones included) to µ-law 8 kHz for Twilio. Returns whole 20 ms frames (multiples of 160
    /// bytes) completed by this call; the rest waits for the next chunk or [`Self::flush_to_twilio`].
    pub fn agent_to_twilio(&mut self, linear16_le: &[u8]) -> &[u8] {
        self.twilio_out.clear();
        let mut bytes = linear16_le;
        if let Some(low) = self.odd_byte.take() {
            let Some((&high, rest)) = bytes.split_first() else {
                self.odd_byte = Some(low);
                return &self.twilio_out;
            };
            let sample = f32::from(i16::from_le_bytes([low, high]));
            let out = &mut self.twilio_out;
            self.to_twilio
                .push(&[sample], |frame| append_mulaw(out, frame));
            bytes = rest;
        }
        let mut scratch = [0f32; SCRATCH];
        for chunk in bytes.chunks(SCRATCH * 2) {
            let pairs = chunk.chunks_exact(2);
            self.odd_byte = pairs.remainder().first().copied();
            let count = pairs.len();
            for (sample, pair) in scratch.iter_mut().zip(pairs) {
                *sample = f32::from(i16::from_le_bytes([pair[0], pair[1]]));
            }
            let out = &mut self.twilio_out;
            self.to_twilio
                .push(&scratch[..count], |frame| append_mulaw(out, frame));
        }
        &self.twilio_out
    }

    /// Releases the agent audio still held back (a partial frame and the filter's 10 ms), padded
    /// with silence to whole frames: call it when the agent says its utterance is complete, so
    /// the end of the sentence is not held until it speaks again. A dangling odd byte is dropped.
    pub fn flush_to_twilio(&mut self) -> &[u8] {
        self.twilio_out.clear();
        self.odd_byte = None;
        let out = &mut self.twilio_out;
        self.to_twilio.flush(|frame| append_mulaw(out, frame));
        &self.twilio_out
    }

    /// Drops agent audio not yet returned and the filter's history, e.g. on barge-in when
    /// Twilio is told to `clear` its playback: stale speech must not leak into the next reply.
    pub fn clear_to_twilio(&mut self) {
        self.odd_byte = None;
        self.to_twilio.reset();
    }
}

/// Appends `frame` as linear16 little-endian, rounded and saturated.
fn append_linear16(out: &mut Vec<u8>, frame: &[f32]) {
    let start = out.len();
    out.resize(start + frame.len() * 2, 0);
    for (bytes, &sample) in out[start..].chunks_exact_mut(2).zip(frame) {
        bytes.copy_from_slice(&mulaw::f32_to_i16(sample).to_le_bytes());
    }
}

/// Appends `frame` as µ-law codes.
fn append_mulaw(out: &mut Vec<u8>, frame: &[f32]) {
    let start = out.len();
    out.resize(start + frame.len(), 0);
    mulaw::encode_slice_f32(frame, &mut out[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_stays_silence_both_ways() {
        for rate in SUPPORTED_RATES {
            let mut transcoder = Transcoder::new(rate).unwrap();
            let pcm = transcoder.twilio_to_agent(&[mulaw::SILENCE; 160]);
            assert_eq!(pcm.len(), resample::frame_len(rate) * 2);
            assert!(pcm.iter().all(|&b| b == 0));
            let zeros = vec![0u8; resample::frame_len(rate) * 2];
            let codes = transcoder.agent_to_twilio(&zeros);
            assert_eq!(codes, &[mulaw::SILENCE; 160][..]);
        }
    }

    #[test]
    fn odd_byte_chunks_give_the_same_frames() {
        let mut pcm = Vec::new();
        for i in 0..2400 {
            let s = (8000.0 * (i as f32 * 0.05).sin()) as i16;
            pcm.extend_from_slice(&s.to_le_bytes());
        }
        let whole = Transcoder::new(24_000)
            .unwrap()
            .agent_to_twilio(&pcm)
            .to_vec();
        assert_eq!(whole.len(), 800);
        let mut transcoder = Transcoder::new(24_000).unwrap();
        let mut pieces = Vec::new();
        for chunk in pcm.chunks(333) {
            pieces.extend_from_slice(transcoder.agent_to_twilio(chunk));
        }
        assert_eq!(pieces, whole);
        // A lone byte is kept, not lost.
        let mut transcoder = Transcoder::new(16_000).unwrap();
        assert!(transcoder.agent_to_twilio(&[0x34]).is_empty());
        assert!(transcoder.agent_to_twilio(&[]).is_empty());
        assert_eq!(transcoder.odd_byte, Some(0x34));
        transcoder.agent_to_twilio(&[0x12]);
        assert_eq!(transcoder.odd_byte, None);
        assert_eq!(transcoder.to_twilio.pending_len(), 1);
    }

    #[test]
    fn flush_and_clear() {
        let mut transcoder = Transcoder::new(16_000).unwrap();
        let loud: Vec<u8> = std::iter::repeat_n(10_000i16.to_le_bytes(), 100)
            .flatten()
            .collect();
        assert!(transcoder.agent_to_twilio(&loud).is_empty());
        let tail = transcoder.flush_to_twilio().to_vec();
        assert_eq!(tail.len(), 320);
        assert!(tail.iter().any(|&c| c != mulaw::SILENCE));
        transcoder.agent_to_twilio(&loud);
        transcoder.clear_to_twilio();
        let after = transcoder.agent_to_twilio(&[0u8; 640]);
        assert_eq!(after, &[mulaw::SILENCE; 160][..]);
    }

    #[test]
    fn rejects_unsupported_agent_rate() {
        assert!(matches!(
            Transcoder::new(22_050),
            Err(AudioError::UnsupportedRate(22_050))
        ));
    }
}
