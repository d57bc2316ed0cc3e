//! Per-20 ms-frame cost of the transcoding path (`media_relay::audio`), with baselines measured
//! in the same run: a plain copy of the frame (what passthrough costs) and a µ-law decode alone.
//!
//! Run: `cargo bench -p media-relay --bench transcode`. Prints mean, p50, p99 and max per frame,
//! and each path's mean as a multiple of the µ-law-decode baseline. Frames over 100 µs are
//! counted as stalls (the thread was descheduled) and left out of `mean`, which is also
//! printed with them. Each case times 20 000 calls of one 20 ms frame (400 s of a speech-like
//! signal) after a warm-up.

use std::hint::black_box;
use std::time::{Duration, Instant};

use media_relay::audio::mulaw;
use media_relay::audio::resample::frame_len;
use media_relay::audio::{Resampler, Transcoder};

/// Frames timed per case: 20 000 × 20 ms = 400 s of audio.
const FRAMES: usize = 20_000;
/// Frames run before timing, so buffers and caches are warm.
const WARM_UP: usize = 500;
/// A frame slower than this was interrupted, not slow: the slowest path takes ~4 µs.
const STALL: Duration = Duration::from_micros(100);

/// Speech-like test signal at `rate`: harmonics of 140 Hz under a syllable envelope.
fn speech_like(rate: u32, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let envelope = 0.15 + 0.85 * (2.0 * std::f64::consts::PI * 4.0 * t).sin().abs();
            let voice: f64 = (1..=20)
                .map(|h| {
                    let h = f64::from(h);
                    (2.0 * std::f64::consts::PI * 140.0 * h * t + h * h * 0.3).sin() / h
                })
                .sum();
            (3000.0 * envelope * voice) as i16
        })
        .collect()
}

struct Stats {
    /// Mean over the frames that were not stalled: the code's cost.
    mean: Duration,
    /// Mean over all frames, stalls included.
    mean_all: Duration,
    /// Frames slower than [`STALL`]: the thread was descheduled (this machine has 2 shared
    /// cores), which says nothing about the code. They inflate `mean` and `max`, not `p50`.
    stalls: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Times `step(frame_index)` once per frame and summarizes.
fn measure(frames: usize, mut step: impl FnMut(usize)) -> Stats {
    for i in 0..WARM_UP {
        step(i % frames);
    }
    let mut times: Vec<Duration> = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let start = Instant::now();
        step(i % frames);
        times.push(start.elapsed());
    }
    let mean_all = times.iter().sum::<Duration>() / FRAMES as u32;
    times.sort_unstable();
    let stalls = times.iter().filter(|&&t| t > STALL).count();
    let kept = &times[..FRAMES - stalls];
    Stats {
        mean: kept.iter().sum::<Duration>() / kept.len().max(1) as u32,
        mean_all,
        stalls,
        p50: times[FRAMES / 2],
        p99: times[FRAMES * 99 / 100],
        max: times[FRAMES - 1],
    }
}

fn report(name: &str, stats: &Stats, baseline: Option<&Stats>) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ratio = baseline.map_or(String::new(), |base| {
        format!("  {:>6.1}x decode", us(stats.mean) / us(base.mean))
    });
    println!(
        "{name:<40} mean {:>6.3} µs  p50 {:>6.3}  p99 {:>6.3}  max {:>8.3}  stalls {:>2} \
         (mean with them {:>6.3}){ratio}",
        us(stats.mean),
        us(stats.p50),
        us(stats.p99),
        us(stats.max),
        stats.stalls,
        us(stats.mean_all),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, selects rates ("16000" …).
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let seconds = 10;

    let twilio_pcm = speech_like(8_000, 8_000 * seconds);
    let mut twilio_codes = vec![0u8; twilio_pcm.len()];
    mulaw::encode_slice(&twilio_pcm, &mut twilio_codes);
    let twilio_frames: Vec<&[u8]> = twilio_codes.chunks_exact(160).collect();

    println!(
        "per 20 ms frame, {FRAMES} frames each, after {WARM_UP} warm-up frames; \
         stalls = frames over {} µs (descheduled)",
        STALL.as_micros()
    );
    let mut copy_out = [0u8; 160];
    let copy = measure(twilio_frames.len(), |i| {
        copy_out.copy_from_slice(black_box(twilio_frames[i]));
        black_box(&copy_out);
    });
    report("baseline: copy 160 B (passthrough)", &copy, None);
    let mut decoded = [0i16; 160];
    let decode = measure(twilio_frames.len(), |i| {
        mulaw::decode_slice(black_box(twilio_frames[i]), &mut decoded);
        black_box(&decoded);
    });
    report("baseline: µ-law decode 160", &decode, None);
    let mut encoded = [0u8; 160];
    let encode = measure(twilio_frames.len(), |i| {
        mulaw::encode_slice(black_box(&twilio_pcm[i * 160..i * 160 + 160]), &mut encoded);
        black_box(&encoded);
    });
    report("µ-law encode 160", &encode, Some(&decode));

    for rate in [16_000u32, 24_000, 48_000] {
        if filter
            .as_ref()
            .is_some_and(|f| !rate.to_string().contains(f.as_str()))
        {
            continue;
        }
        println!("-- agent at {rate} Hz");
        let agent_frame = frame_len(rate);
        let agent_pcm = speech_like(rate, rate as usize * seconds);
        let agent_bytes: Vec<u8> = agent_pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let agent_frames: Vec<&[u8]> = agent_bytes.chunks_exact(agent_frame * 2).collect();

        // The resampler alone, on f32, to show where the time goes.
        let input_8k: Vec<f32> = twilio_pcm.iter().map(|&s| f32::from(s)).collect();
        let mut up = Resampler::new(8_000, rate).expect("supported rate");
        let up_only = measure(twilio_frames.len(), |i| {
            up.push(black_box(&input_8k[i * 160..i * 160 + 160]), |frame| {
                black_box(frame);
            });
        });
        report(
            &format!("resample only 8k->{}k", rate / 1000),
            &up_only,
            Some(&decode),
        );
        let input_agent: Vec<f32> = agent_pcm.iter().map(|&s| f32::from(s)).collect();
        let mut down = Resampler::new(rate, 8_000).expect("supported rate");
        let down_only = measure(agent_frames.len(), |i| {
            let frame = &input_agent[i * agent_frame..(i + 1) * agent_frame];
            down.push(black_box(frame), |out| {
                black_box(out);
            });
        });
        report(
            &format!("resample only {}k->8k", rate / 1000),
            &down_only,
            Some(&decode),
        );

        let mut transcoder = Transcoder::new(rate).expect("supported rate");
        let inbound = measure(twilio_frames.len(), |i| {
            black_box(transcoder.twilio_to_agent(black_box(twilio_frames[i])));
        });
        report(
            &format!("twilio_to_agent µ-law -> {}k linear16", rate / 1000),
            &inbound,
            Some(&decode),
        );
        let outbound = measure(agent_frames.len(), |i| {
            black_box(transcoder.agent_to_twilio(black_box(agent_frames[i])));
        });
        report(
            &format!("agent_to_twilio {}k linear16 -> µ-law", rate / 1000),
            &outbound,
            Some(&decode),
        );
    }
}
