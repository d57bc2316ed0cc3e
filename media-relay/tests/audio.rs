//! Signal-quality and streaming tests for `media_relay::audio`, through its public API only.
//!
//! Thresholds were set from measured values with a margin (the measured figure is next to each
//! assertion); `cargo test -p media-relay --test audio -- --nocapture` prints them again.

use std::f64::consts::PI;

use media_relay::audio::mulaw;
use media_relay::audio::resample::frame_len;
use media_relay::audio::{Resampler, TWILIO_RATE, Transcoder};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Signals and measurements

/// Linear sweep from `f0` to `f1` Hz over `seconds`, amplitude `amp` on the 16-bit scale.
fn sweep(rate: u32, seconds: f64, f0: f64, f1: f64, amp: f64) -> Vec<f32> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let phase = 2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * seconds));
            (amp * phase.sin()) as f32
        })
        .collect()
}

fn tone(rate: u32, samples: usize, freq: f64, amp: f64) -> Vec<f32> {
    (0..samples)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// A crude speech stand-in: a 140 Hz glottal-like harmonic series under a 4 Hz syllable
/// envelope, with peaks near -12 dBFS and a wide spread of levels, as real speech has.
fn speech_like(rate: u32, seconds: f64) -> Vec<f32> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let envelope = 0.15 + 0.85 * (2.0 * PI * 4.0 * t).sin().abs();
            let voice: f64 = (1..=20)
                .map(|h| {
                    let h = f64::from(h);
                    (2.0 * PI * 140.0 * h * t + h * h * 0.3).sin() / h
                })
                .sum();
            (3000.0 * envelope * voice) as f32
        })
        .collect()
}

/// Amplitude of the component at `freq`, from one Goertzel/DFT bin over a Hann window.
fn amplitude_at(signal: &[f32], rate: u32, freq: f64) -> f64 {
    let n = signal.len() as f64;
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (i, &x) in signal.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n).cos();
        let phase = 2.0 * PI * freq * i as f64 / f64::from(rate);
        re += w * f64::from(x) * phase.cos();
        im -= w * f64::from(x) * phase.sin();
        wsum += w;
    }
    2.0 * (re * re + im * im).sqrt() / wsum
}

fn snr_db(reference: &[f32], actual: &[f32]) -> f64 {
    assert_eq!(reference.len(), actual.len());
    let signal: f64 = reference.iter().map(|&r| f64::from(r).powi(2)).sum();
    let noise: f64 = reference
        .iter()
        .zip(actual)
        .map(|(&r, &a)| (f64::from(a) - f64::from(r)).powi(2))
        .sum();
    10.0 * (signal / noise).log10()
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// Runs `input` through `resampler` in `chunk`-sized pushes, then flushes.
fn run(resampler: &mut Resampler, input: &[f32], chunk: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(input.len() * 6 + 2000);
    for piece in input.chunks(chunk) {
        resampler.push(piece, |frame| out.extend_from_slice(frame));
    }
    resampler.flush(|frame| out.extend_from_slice(frame));
    out
}

/// Lag (in samples) at which `actual` best matches `reference`, searched over `0..max_lag`.
fn best_lag(reference: &[f32], actual: &[f32], max_lag: usize) -> usize {
    let span = reference.len() - max_lag;
    (0..max_lag)
        .max_by(|&a, &b| {
            let corr = |lag: usize| -> f64 {
                (0..span)
                    .map(|i| f64::from(reference[i]) * f64::from(actual[i + lag]))
                    .sum()
            };
            corr(a).total_cmp(&corr(b))
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Resampling quality

/// 8 kHz -> agent rate -> 8 kHz on a 100 Hz..3.4 kHz sweep: returns (lag, SNR up to 3 kHz,
/// SNR up to 3.4 kHz). The sweep's first and last 20 ms are left out: it starts and stops
/// abruptly, and a step has energy above any cutoff (keeping the abrupt end: 45.4 dB up to 3.4 kHz).
fn round_trip(agent_rate: u32) -> (usize, f64, f64) {
    let seconds = 2.0;
    let input = sweep(TWILIO_RATE, seconds, 100.0, 3400.0, 16_000.0);
    let mut up = Resampler::new(TWILIO_RATE, agent_rate).unwrap();
    let mut down = Resampler::new(agent_rate, TWILIO_RATE).unwrap();
    let delay =
        up.delay_output_samples() * 160 / frame_len(agent_rate) + down.delay_output_samples();
    let upsampled = run(&mut up, &input, 160);
    let output = run(&mut down, &upsampled, frame_len(agent_rate));
    let lag = best_lag(&input[..4000], &output[..4400], 400);
    assert_eq!(lag, delay, "measured lag differs from the documented delay");
    let aligned = &output[delay..delay + input.len()];
    // The sweep passes 3 kHz at t = (3000-100)/(3400-100) * 2 s.
    let at_3k = ((3000.0 - 100.0) / 3300.0 * seconds * 8000.0) as usize;
    let skip = 160;
    (
        lag,
        snr_db(&input[skip..at_3k], &aligned[skip..at_3k]),
        snr_db(
            &input[skip..input.len() - 160],
            &aligned[skip..input.len() - 160],
        ),
    )
}

#[test]
fn round_trip_sweep_via_16k() {
    let (lag, snr_3k, snr_34) = round_trip(16_000);
    println!(
        "8k->16k->8k: lag {lag} samples, SNR {snr_3k:.1} dB to 3 kHz, {snr_34:.1} dB to 3.4 kHz"
    );
    assert_eq!(lag, 160);
    // Measured 131.4 and 118.9 dB: f32 rounding, the filter is flat to 3.4 kHz.
    assert!(snr_3k >= 100.0, "{snr_3k}");
    assert!(snr_34 >= 100.0, "{snr_34}");
}

#[test]
fn round_trip_sweep_via_24k_and_48k() {
    for rate in [24_000, 48_000] {
        let (lag, snr_3k, snr_34) = round_trip(rate);
        println!(
            "8k->{rate}->8k: lag {lag} samples, SNR {snr_3k:.1} dB to 3 kHz, {snr_34:.1} dB to 3.4 kHz"
        );
        assert_eq!(lag, 160);
        // Measured 131.0 / 126.6 dB to 3 kHz, 119.0 / 118.6 dB to 3.4 kHz.
        assert!(snr_3k >= 100.0, "{rate}: {snr_3k}");
        assert!(snr_34 >= 100.0, "{rate}: {snr_34}");
    }
}

/// Level in dB of `freq` after resampling a tone at `freq` from `from` to `to`, steady state.
fn tone_gain_db(from: u32, to: u32, freq: f64, measure_at: f64) -> f64 {
    let amp = 10_000.0;
    let input = tone(from, frame_len(from) * 50, freq, amp);
    let mut resampler = Resampler::new(from, to).unwrap();
    let output = run(&mut resampler, &input, frame_len(from));
    // Skip the start-up (delay plus a frame) and stop before the flush's silence.
    let window = &output[frame_len(to) * 5..frame_len(to) * 45];
    db(amplitude_at(window, to, measure_at) / amp)
}

#[test]
fn downsampling_rejects_tones_above_4khz() {
    let cases: [(u32, &[f64]); 3] = [
        (16_000, &[4_500.0, 5_000.0, 6_000.0, 7_000.0]),
        (24_000, &[4_500.0, 5_000.0, 7_000.0, 9_000.0, 11_000.0]),
        (
            48_000,
            &[4_500.0, 5_000.0, 10_000.0, 15_000.0, 19_000.0, 23_000.0],
        ),
    ];
    for (rate, tones) in cases {
        for &freq in tones {
            // Where the tone would land in 0..4 kHz after decimation to 8 kHz.
            let alias = (freq % 8_000.0).min(8_000.0 - freq % 8_000.0);
            let gain = tone_gain_db(rate, TWILIO_RATE, freq, alias);
            println!("{rate}->8k: {freq} Hz tone, alias at {alias} Hz: {gain:.1} dB");
            // Measured -145 dB (48 kHz, 19 kHz tone) to -238 dB; the brief asked for 40-60.
            assert!(
                gain <= -100.0,
                "{rate} Hz, {freq} Hz tone aliased at {gain:.1} dB"
            );
        }
    }
}

#[test]
fn upsampling_rejects_images() {
    for rate in [16_000, 24_000, 48_000] {
        for freq in [1_000.0, 3_000.0] {
            // The first image of a tone at f sampled at 8 kHz is 8 kHz - f.
            let image = 8_000.0 - freq;
            let gain = tone_gain_db(TWILIO_RATE, rate, freq, image);
            println!("8k->{rate}: {freq} Hz tone, image at {image} Hz: {gain:.1} dB");
            // Measured -154 dB (16 kHz, 1 kHz tone) to -177 dB.
            assert!(gain <= -100.0, "{rate}: image of {freq} Hz at {gain:.1} dB");
        }
    }
}

#[test]
fn passband_tones_keep_their_level() {
    for rate in [16_000, 24_000, 48_000] {
        for freq in [300.0, 1_000.0, 3_000.0] {
            let up = tone_gain_db(TWILIO_RATE, rate, freq, freq);
            let down = tone_gain_db(rate, TWILIO_RATE, freq, freq);
            println!("{freq} Hz: 8k->{rate} {up:+.3} dB, {rate}->8k {down:+.3} dB");
            // Measured 0.000 dB at every rate and tone.
            assert!(
                up.abs() <= 0.1 && down.abs() <= 0.1,
                "{rate}, {freq} Hz: {up} / {down}"
            );
        }
    }
}

/// The filter's roll-off at the top of the telephone band (300-3400 Hz), one pass.
#[test]
fn telephone_band_edge() {
    for rate in [16_000, 24_000, 48_000] {
        for freq in [3_300.0, 3_400.0, 3_500.0, 3_700.0] {
            let up = tone_gain_db(TWILIO_RATE, rate, freq, freq);
            let down = tone_gain_db(rate, TWILIO_RATE, freq, freq);
            println!("{freq} Hz: 8k->{rate} {up:+.2} dB, {rate}->8k {down:+.2} dB");
            // Measured: 0.00 dB to 3.4 kHz, -0.14 dB at 3.5 kHz, -10.06 dB at 3.7 kHz.
            if freq <= 3_400.0 {
                assert!(
                    up >= -0.1 && down >= -0.1,
                    "{rate}, {freq} Hz: {up} / {down}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// µ-law quality

fn mulaw_round_trip(signal: &[f32]) -> Vec<f32> {
    let pcm: Vec<i16> = signal.iter().map(|&s| mulaw::f32_to_i16(s)).collect();
    let mut codes = vec![0u8; pcm.len()];
    mulaw::encode_slice(&pcm, &mut codes);
    let mut back = vec![0i16; pcm.len()];
    mulaw::decode_slice(&codes, &mut back);
    back.into_iter().map(f32::from).collect()
}

#[test]
fn mulaw_snr_on_speech_level_signals() {
    for dbfs in [-10.0, -20.0, -30.0] {
        let amp = 32_767.0 * 10f64.powf(dbfs / 20.0);
        let signal = tone(8_000, 8_000, 1_017.0, amp);
        let snr = snr_db(&signal, &mulaw_round_trip(&signal));
        println!("µ-law, 1 kHz sine at {dbfs} dBFS: SNR {snr:.1} dB");
        // Measured 37.2, 38.2 and 34.9 dB: quieter signals sit in finer segments but with
        // fewer steps per amplitude, the classic µ-law plateau starting to fall off.
        let floor = if dbfs > -25.0 { 36.0 } else { 34.0 };
        assert!(snr >= floor, "{dbfs} dBFS: {snr}");
    }
    let speech = speech_like(8_000, 2.0);
    let snr = snr_db(&speech, &mulaw_round_trip(&speech));
    println!("µ-law, speech-like signal: SNR {snr:.1} dB");
    assert!(snr >= 35.0, "{snr}"); // measured 37.0 dB
}

/// Whole path both ways at speech level: µ-law -> agent linear16 -> µ-law. A decoded code is the
/// middle of its interval and the resamplers keep a band-limited signal to far less than half a
/// step, so re-encoding mostly finds the same code: the loss is small next to µ-law's own.
#[test]
fn transcoder_round_trip_snr() {
    let speech = speech_like(8_000, 2.0);
    let pcm: Vec<i16> = speech.iter().map(|&s| mulaw::f32_to_i16(s)).collect();
    let mut codes = vec![0u8; pcm.len()];
    mulaw::encode_slice(&pcm, &mut codes);
    let mut reference = vec![0i16; codes.len()];
    mulaw::decode_slice(&codes, &mut reference);

    for rate in [8_000, 16_000, 24_000, 48_000] {
        let mut transcoder = Transcoder::new(rate).unwrap();
        let mut back = Vec::new();
        for frame in codes.chunks(160) {
            let linear = transcoder.twilio_to_agent(frame).to_vec();
            back.extend_from_slice(transcoder.agent_to_twilio(&linear));
        }
        back.extend_from_slice(transcoder.flush_to_twilio());
        let delay = if rate == 8_000 { 0 } else { 160 };
        assert_eq!(
            transcoder.latency().as_millis(),
            if rate == 8_000 { 0 } else { 10 }
        );
        let mut decoded = vec![0i16; back.len()];
        mulaw::decode_slice(&back, &mut decoded);
        // The last 10 ms are still inside the Twilio-to-agent filter (a live call keeps sending
        // frames; only the agent side has a flush), so compare up to there.
        let compared = reference.len() - delay;
        let reference: Vec<f32> = reference[..compared]
            .iter()
            .map(|&s| f32::from(s))
            .collect();
        let aligned: Vec<f32> = decoded[delay..delay + compared]
            .iter()
            .map(|&s| f32::from(s))
            .collect();
        let snr = snr_db(&reference, &aligned);
        println!("µ-law -> {rate} Hz linear16 -> µ-law, speech-like: SNR {snr:.1} dB");
        if rate == 8_000 {
            // No resampling: decode then encode is exact.
            assert_eq!(aligned, reference);
        } else {
            assert!(snr >= 50.0, "{rate}: {snr}"); // measured 55.2..55.6 dB
            // Against the speech before its first µ-law encoding: µ-law's own ~37 dB.
            let original: Vec<f32> = pcm[..compared].iter().map(|&s| f32::from(s)).collect();
            let overall = snr_db(&original, &aligned);
            println!("  vs the linear original: SNR {overall:.1} dB");
            assert!(overall >= 35.0, "{rate}: {overall}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming

#[test]
fn twilio_side_is_independent_of_payload_size() {
    let speech = speech_like(8_000, 1.0);
    let mut codes = vec![0u8; speech.len()];
    let pcm: Vec<i16> = speech.iter().map(|&s| mulaw::f32_to_i16(s)).collect();
    mulaw::encode_slice(&pcm, &mut codes);
    for rate in [16_000, 24_000, 48_000] {
        let whole = Transcoder::new(rate)
            .unwrap()
            .twilio_to_agent(&codes)
            .to_vec();
        assert_eq!(whole.len(), codes.len() / 160 * frame_len(rate) * 2);
        for chunk in [160, 1, 7, 333, 1600] {
            let mut transcoder = Transcoder::new(rate).unwrap();
            let mut pieces = Vec::new();
            for payload in codes.chunks(chunk) {
                pieces.extend_from_slice(transcoder.twilio_to_agent(payload));
            }
            assert!(pieces == whole, "{rate} Hz, payloads of {chunk} bytes");
        }
    }
}

#[test]
fn agent_side_is_independent_of_chunk_size() {
    for rate in [16_000, 24_000, 48_000] {
        let speech = speech_like(rate, 1.0);
        let bytes: Vec<u8> = speech
            .iter()
            .flat_map(|&s| mulaw::f32_to_i16(s).to_le_bytes())
            .collect();
        let whole = Transcoder::new(rate)
            .unwrap()
            .agent_to_twilio(&bytes)
            .to_vec();
        assert_eq!(whole.len(), 8_000);
        for chunk in [frame_len(rate) * 2, 1, 3, 641, 4095] {
            let mut transcoder = Transcoder::new(rate).unwrap();
            let mut pieces = Vec::new();
            for piece in bytes.chunks(chunk) {
                let out = transcoder.agent_to_twilio(piece);
                assert_eq!(out.len() % 160, 0, "only whole frames go to Twilio");
                pieces.extend_from_slice(out);
            }
            assert!(pieces == whole, "{rate} Hz, chunks of {chunk} bytes");
        }
    }
}

#[test]
fn resampler_output_is_continuous_across_frames() {
    // A steady tone processed frame by frame must show no seams at frame boundaries: compare
    // against the ideal tone at the output rate, delayed by the filter.
    let freq = 440.0;
    let input = tone(8_000, 8_000, freq, 10_000.0);
    let mut up = Resampler::new(8_000, 48_000).unwrap();
    let delay = up.delay_output_samples();
    let out = run(&mut up, &input, 160);
    let ideal = tone(48_000, 48_000, freq, 10_000.0);
    let start = 960 * 2;
    let end = 48_000 - 960;
    let snr = snr_db(&ideal[start - delay..end - delay], &out[start..end]);
    println!("8k->48k 440 Hz tone vs ideal: SNR {snr:.1} dB");
    assert!(snr >= 100.0, "{snr}"); // measured 126.9 dB
}

/// Counts heap allocations made by the current thread, to check the no-allocation-per-frame
/// claim; other tests running in parallel do not disturb the count.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts on the side.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn no_allocation_per_frame_after_warm_up() {
    for rate in [16_000, 24_000, 48_000] {
        let mut transcoder = Transcoder::new(rate).unwrap();
        let twilio_frame = [0x55u8; 160];
        let agent_frame = vec![0x33u8; frame_len(rate) * 2];
        let stream = |transcoder: &mut Transcoder, frames: usize| {
            for _ in 0..frames {
                transcoder.twilio_to_agent(&twilio_frame);
                transcoder.agent_to_twilio(&agent_frame);
                transcoder.agent_to_twilio(&agent_frame[..333]);
            }
            transcoder.flush_to_twilio();
        };
        // Warm-up: the first calls size the output buffers to the largest output seen.
        stream(&mut transcoder, 5);
        let before = ALLOCATIONS.with(|n| n.get());
        // The counter itself works: one allocation is seen.
        drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
        assert_eq!(ALLOCATIONS.with(|n| n.get()), before + 1);
        let before = before + 1;
        stream(&mut transcoder, 200);
        let after = ALLOCATIONS.with(|n| n.get());
        assert_eq!(after - before, 0, "{rate} Hz: allocations while streaming");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    // Integration tests have no src/ beside them for proptest's regression files; failures
    // print their minimal input instead.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mulaw_round_trip_is_within_half_a_step(sample in any::<i16>()) {
        let code = mulaw::encode(sample);
        let back = i32::from(mulaw::decode(code));
        let magnitude = i32::from(sample).abs();
        let bound = if magnitude > 32_635 { magnitude - 32_124 } else { 1 << (mulaw::segment(code) + 2) };
        prop_assert!((i32::from(sample) - back).abs() <= bound);
        // Re-encoding a decoded value is stable.
        prop_assert_eq!(mulaw::encode(mulaw::decode(code)), if code == 0x7F { 0xFF } else { code });
    }

    #[test]
    fn mulaw_preserves_order(a in any::<i16>(), b in any::<i16>()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(mulaw::decode(mulaw::encode(lo)) <= mulaw::decode(mulaw::encode(hi)));
    }

    #[test]
    fn any_split_of_agent_audio_gives_the_same_frames(
        samples in proptest::collection::vec(any::<i16>(), 0..2000),
        cuts in proptest::collection::vec(0usize..4000, 0..12),
    ) {
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let whole = Transcoder::new(16_000).unwrap().agent_to_twilio(&bytes).to_vec();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let mut transcoder = Transcoder::new(16_000).unwrap();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([bytes.len()]) {
            pieces.extend_from_slice(transcoder.agent_to_twilio(&bytes[start..cut]));
            start = cut;
        }
        prop_assert_eq!(pieces, whole);
    }
}
