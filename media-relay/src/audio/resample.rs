//! Streaming, anti-aliased sample-rate conversion between the 8 kHz telephone rate and the rates
//! voice agents use (16, 24 and 48 kHz), one [`Resampler`] per direction per call.
//!
//! This file owns the framing around `rubato`'s synchronous FFT resampler ([`rubato::Fft`]): it
//! accepts input of any length, cuts it into fixed 20 ms frames, and hands each resampled frame
//! to the caller. It knows nothing of µ-law or byte order.
//!
//! Why `rubato::Fft` with both sides fixed: all supported ratios are integers (or their
//! inverses), so one 20 ms input frame always yields exactly one 20 ms output frame, with no
//! sample of jitter between calls and no output buffering. The FFT block is one frame, so the
//! anti-aliasing filter is a windowed sinc (squared Blackman-Harris) as long as one input frame.
//!
//! Latency: the filter delays the signal by half a frame, **10 ms** in every direction and at
//! every rate (e.g. 160 output samples for 8→16 kHz, 80 for 16→8 kHz; see
//! [`Resampler::delay_output_samples`]). On top of that, input that does not fill a whole frame
//! waits for the rest of it; a Twilio stream delivers whole 20 ms frames, so only agent audio,
//! which arrives in arbitrary chunks, can wait there (and [`Resampler::flush`] releases it).
//!
//! Response (measured in `tests/audio.rs`, every rate): flat (±0.01 dB) up to 3.4 kHz, the top
//! of the telephone band; -0.14 dB at 3.5 kHz, -10 dB at 3.7 kHz (the windowed sinc's cutoff is
//! 0.916 × 4 kHz ≈ 3.66 kHz). Tones above 4 kHz fold back into 0..4 kHz at -145 dB or less when
//! downsampling, and upsampling leaves images at -150 dB or less. An 8 kHz -> agent -> 8 kHz
//! round trip of a 100 Hz..3.4 kHz sweep comes back at 119 dB SNR (f32 rounding).
//!
//! Allocation: every buffer is sized in [`Resampler::new`]; pushing audio never allocates.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler as _, WindowFunction};

use super::AudioError;

/// The telephone side's rate: Twilio Media Streams are µ-law at 8 kHz.
pub const TWILIO_RATE: u32 = 8_000;

/// Rates a [`Resampler`] accepts. The relay converts between 8 kHz and each of the others, the
/// pairs the tests cover; 8 kHz to 8 kHz is a plain reframer.
pub const SUPPORTED_RATES: [u32; 4] = [8_000, 16_000, 24_000, 48_000];

/// One frame is 20 ms, the size of a Twilio media message: 1/50 s.
const FRAMES_PER_SECOND: u32 = 50;

/// Samples in one 20 ms frame at `rate`.
pub const fn frame_len(rate: u32) -> usize {
    (rate / FRAMES_PER_SECOND) as usize
}

/// A one-direction, one-call streaming resampler. Keeps the filter state between frames, so
/// successive pushes join seamlessly; create one per direction when a call starts.
pub struct Resampler {
    /// The FFT resampler, fixed at one frame in and one frame out; `None` when both rates are
    /// equal, where frames pass through untouched (still reframed, so callers see one shape).
    inner: Option<Fft<f32>>,
    /// Input rate, for [`Resampler::delay`].
    from_hz: u32,
    /// Output rate, for [`Resampler::delay`].
    to_hz: u32,
    /// Samples per input frame (20 ms at `from_hz`).
    in_frame: usize,
    /// Input received but not yet a whole frame. Capacity `in_frame`, never more than that held.
    pending: Vec<f32>,
    /// One output frame (20 ms at `to_hz`), overwritten by every frame processed.
    out: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from_hz", &self.from_hz)
            .field("to_hz", &self.to_hz)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// Creates a resampler from `from_hz` to `to_hz`; both must be in [`SUPPORTED_RATES`].
    /// Costs a few FFT plans and buffers: do it once per call, not per frame.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, AudioError> {
        for rate in [from_hz, to_hz] {
            if !SUPPORTED_RATES.contains(&rate) {
                return Err(AudioError::UnsupportedRate(rate));
            }
        }
        let in_frame = frame_len(from_hz);
        let out_frame = frame_len(to_hz);
        let inner = if from_hz == to_hz {
            None
        } else {
            // One FFT block per frame (one sub-chunk): a longer block would raise the cutoff
            // towards 4 kHz but add delay; a shorter one would cut below 3.4 kHz. BlackmanHarris2
            // is rubato's default window, chosen for its stopband.
            let fft = Fft::<f32>::new_custom(
                from_hz as usize,
                to_hz as usize,
                in_frame,
                1,
                1,
                WindowFunction::BlackmanHarris2,
                FixedSync::Both,
            )?;
            // FixedSync::Both rounds chunk sizes to fit the ratio; ours fit exactly, and the
            // framing below relies on it.
            if fft.input_frames_next() != in_frame || fft.output_frames_next() != out_frame {
                return Err(AudioError::FrameMismatch {
                    from_hz,
                    to_hz,
                    input: fft.input_frames_next(),
                    output: fft.output_frames_next(),
                });
            }
            Some(fft)
        };
        Ok(Self {
            inner,
            from_hz,
            to_hz,
            in_frame,
            pending: Vec::with_capacity(in_frame),
            out: vec![0.0; out_frame],
        })
    }

    /// Input rate in Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// Output rate in Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Samples per input frame (20 ms at the input rate).
    pub fn input_frame_len(&self) -> usize {
        self.in_frame
    }

    /// Samples per output frame (20 ms at the output rate); every frame handed out has this length.
    pub fn output_frame_len(&self) -> usize {
        self.out.len()
    }

    /// Samples of input held back because they do not fill a frame yet.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The filter's delay in output samples: an input event at time `t` appears in the output at
    /// `t + delay`. Half an output frame (0 for equal rates).
    pub fn delay_output_samples(&self) -> usize {
        self.inner.as_ref().map_or(0, |fft| fft.output_delay())
    }

    /// The filter's delay as time: 10 ms whenever the rates differ.
    pub fn delay(&self) -> std::time::Duration {
        std::time::Duration::from_micros(
            self.delay_output_samples() as u64 * 1_000_000 / u64::from(self.to_hz),
        )
    }

    /// Feeds `input` (any length, samples on any scale) and calls `sink` once for every whole
    /// output frame that becomes ready, in order. Left-over input waits for the next call.
    pub fn push(&mut self, mut input: &[f32], mut sink: impl FnMut(&[f32])) {
        if !self.pending.is_empty() {
            let take = (self.in_frame - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < self.in_frame {
                return;
            }
            // Moved out so that `process_frame` can borrow `self` mutably; put back below with
            // its capacity intact.
            let pending = std::mem::take(&mut self.pending);
            sink(self.process_frame(&pending));
            self.pending = pending;
            self.pending.clear();
        }
        let mut frames = input.chunks_exact(self.in_frame);
        for frame in &mut frames {
            sink(self.process_frame(frame));
        }
        self.pending.extend_from_slice(frames.remainder());
    }

    /// Completes the pending partial frame with silence and pushes one more frame of silence
    /// through the filter, so every sample pushed so far comes out (followed by up to
    /// 1.5 frames of silence). For the end of an agent utterance; the filter state is clean
    /// afterwards only in the sense that it holds silence.
    pub fn flush(&mut self, mut sink: impl FnMut(&[f32])) {
        let silence = [0.0f32; frame_len(48_000)];
        if !self.pending.is_empty() {
            let missing = self.in_frame - self.pending.len();
            self.push(&silence[..missing], &mut sink);
        }
        if self.inner.is_some() {
            self.push(&silence[..self.in_frame], &mut sink);
        }
    }

    /// Forgets pending input and the filter's history (e.g. when Twilio is told to `clear`
    /// buffered playback): the next push starts as if the resampler were new.
    pub fn reset(&mut self) {
        self.pending.clear();
        if let Some(fft) = self.inner.as_mut() {
            fft.reset();
        }
    }

    /// Resamples exactly one input frame into `self.out`.
    fn process_frame(&mut self, frame: &[f32]) -> &[f32] {
        debug_assert_eq!(frame.len(), self.in_frame);
        let Some(fft) = self.inner.as_mut() else {
            self.out.copy_from_slice(frame);
            return &self.out;
        };
        let out_frame = self.out.len();
        // Sizes were checked against the resampler in `new`, so these cannot fail; a failure
        // would be a bug here, not bad input.
        let input = SequentialSlice::new(frame, 1, self.in_frame)
            .expect("input frame has in_frame samples");
        let mut output = SequentialSlice::new_mut(&mut self.out[..], 1, out_frame)
            .expect("output buffer has out_frame samples");
        let (read, written) = fft
            .process_into_buffer(&input, &mut output, None)
            .expect("frame sizes fixed at construction");
        debug_assert_eq!((read, written), (self.in_frame, out_frame));
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(resampler: &mut Resampler, input: &[f32], chunk: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            resampler.push(piece, |frame| out.extend_from_slice(frame));
        }
        out
    }

    #[test]
    fn frame_sizes_and_delay_for_every_rate() {
        for rate in [16_000, 24_000, 48_000] {
            let up = Resampler::new(TWILIO_RATE, rate).unwrap();
            assert_eq!(up.input_frame_len(), 160);
            assert_eq!(up.output_frame_len(), frame_len(rate));
            assert_eq!(up.delay_output_samples(), frame_len(rate) / 2);
            assert_eq!(up.delay(), std::time::Duration::from_millis(10));
            let down = Resampler::new(rate, TWILIO_RATE).unwrap();
            assert_eq!(down.input_frame_len(), frame_len(rate));
            assert_eq!(down.output_frame_len(), 160);
            assert_eq!(down.delay_output_samples(), 80);
            assert_eq!(down.delay(), std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn rejects_unsupported_rates() {
        assert!(matches!(
            Resampler::new(8_000, 44_100),
            Err(AudioError::UnsupportedRate(44_100))
        ));
        assert!(matches!(
            Resampler::new(0, 8_000),
            Err(AudioError::UnsupportedRate(0))
        ));
    }

    #[test]
    fn equal_rates_reframe_without_change() {
        let mut same = Resampler::new(8_000, 8_000).unwrap();
        assert_eq!(same.delay_output_samples(), 0);
        let input: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let out = collect(&mut same, &input, 37);
        assert_eq!(out.len(), 960);
        assert_eq!(out[..], input[..960]);
        assert_eq!(same.pending_len(), 40);
        let mut tail = Vec::new();
        same.flush(|frame| tail.extend_from_slice(frame));
        assert_eq!(tail.len(), 160);
        assert_eq!(tail[..40], input[960..]);
        assert!(tail[40..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn chunking_does_not_change_output() {
        let input: Vec<f32> = (0..16_000)
            .map(|i| 8000.0 * (i as f32 * 0.37).sin() + 3000.0 * (i as f32 * 0.051).cos())
            .collect();
        for (from, to) in [(8_000, 16_000), (48_000, 8_000)] {
            let whole = collect(&mut Resampler::new(from, to).unwrap(), &input, input.len());
            for chunk in [1, 7, 160, 161, 959, 4096] {
                let pieces = collect(&mut Resampler::new(from, to).unwrap(), &input, chunk);
                assert_eq!(pieces, whole, "{from}->{to} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn flush_releases_everything_pushed() {
        let mut up = Resampler::new(8_000, 16_000).unwrap();
        let mut out = Vec::new();
        up.push(&[1000.0; 100], |frame| out.extend_from_slice(frame));
        assert!(out.is_empty());
        up.flush(|frame| out.extend_from_slice(frame));
        // The partial frame completed with silence, plus one frame to drain the filter.
        assert_eq!(out.len(), 640);
        assert_eq!(up.pending_len(), 0);
        // 100 input samples = 200 output samples, starting after the 160-sample delay.
        let body = &out[160 + 20..160 + 180];
        assert!(body.iter().all(|&s| (s - 1000.0).abs() < 20.0), "{body:?}");
    }

    #[test]
    fn reset_forgets_history() {
        let input: Vec<f32> = (0..800).map(|i| (i as f32 * 0.2).sin() * 5000.0).collect();
        let mut fresh = Resampler::new(16_000, 8_000).unwrap();
        let expected = collect(&mut fresh, &input, 320);
        let mut reused = Resampler::new(16_000, 8_000).unwrap();
        collect(&mut reused, &[123.0; 500], 500);
        reused.reset();
        assert_eq!(reused.pending_len(), 0);
        assert_eq!(collect(&mut reused, &input, 320), expected);
    }
}
