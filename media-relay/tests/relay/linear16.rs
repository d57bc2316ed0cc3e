//! A linear16 agent (`--agent-audio linear16:<rate>`): the relay asks for PCM in `Settings`,
//! turns caller µ-law into PCM at the agent's rate and the agent's PCM back into µ-law frames.

use media_relay::AgentAudio;
use media_relay::audio::mulaw;
use serde_json::json;

use crate::support::*;

/// A tone as i16 samples at `rate`.
fn tone(hz: f64, rate: u32, samples: usize, amplitude: f64) -> Vec<i16> {
    (0..samples)
        .map(|n| {
            let t = n as f64 / f64::from(rate);
            (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16
        })
        .collect()
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Sign changes per second: twice the frequency of a clean tone.
fn crossings_per_second(samples: &[i16], rate: u32) -> f64 {
    let changes = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    changes as f64 * f64::from(rate) / samples.len() as f64
}

/// A relay for a linear16 agent at `rate` with one call started: (rig, Twilio side, agent
/// side after `SettingsApplied`, the `Settings` it got). Unlike `Rig::call`, no audio has
/// gone through.
/// `out` (at `rate`) is the `hz` tone of `reference`: within 10 % in level and 5 % in pitch.
fn assert_same_tone(out: &[i16], rate: u32, reference: &[i16], hz: f64) {
    let level = rms(out) / rms(reference);
    assert!((0.9..1.1).contains(&level), "level ratio {level}");
    let heard = crossings_per_second(out, rate) / 2.0;
    assert!(
        (hz * 0.95..hz * 1.05).contains(&heard),
        "a {hz} Hz tone came out at {heard} Hz"
    );
}

async fn linear16_call(rate: u32) -> (Rig, Twilio, AgentConn, serde_json::Value) {
    let mut rig = Rig::start(None, |config| {
        config.agent.audio = AgentAudio::Linear16 { sample_rate: rate };
    })
    .await;
    let mut twilio = Twilio::connect(rig.relay.addr()).await;
    twilio.start().await;
    let (agent, settings) = rig.agent.accept_ready().await;
    (rig, twilio, agent, settings)
}

/// The caller hangs up; the call ends with nothing left behind.
async fn hang_up(rig: &Rig, twilio: &mut Twilio, agent: &mut AgentConn) {
    twilio.stop().await;
    agent.closed().await;
    rig.no_calls_left().await;
}

#[tokio::test]
async fn caller_audio_reaches_a_linear16_agent_as_pcm_at_its_rate() {
    let (rig, mut twilio, mut agent, settings) = linear16_call(16_000).await;
    assert_eq!(
        settings["audio"],
        json!({"input": {"encoding": "linear16", "sample_rate": 16000},
            "output": {"encoding": "linear16", "sample_rate": 16000, "container": "none"}})
    );

    // 400 ms of a 1 kHz tone, µ-law 8 kHz in 20 ms frames as Twilio sends it.
    let caller = tone(1000.0, 8000, 3200, 8000.0);
    let mut pcm = Vec::new();
    for frame in caller.chunks(160) {
        let mut codes = [0u8; 160];
        mulaw::encode_slice(frame, &mut codes);
        twilio.media(&codes).await;
        let bytes = agent.audio().await;
        assert_eq!(
            bytes.len(),
            640,
            "one 20 ms frame of 16 kHz linear16 per frame"
        );
        pcm.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }
    assert_eq!(pcm.len(), 6400);
    // Past the filter's 10 ms: the same tone, at the same level, twice the samples.
    assert_same_tone(&pcm[640..], 16_000, &caller[320..], 1000.0);

    hang_up(&rig, &mut twilio, &mut agent).await;
    assert_eq!(rig.functions.usage().await["frames_in"], 20);
}

#[tokio::test]
async fn linear16_agent_speech_reaches_the_caller_as_mulaw_frames() {
    let (rig, mut twilio, mut agent, _) = linear16_call(24_000).await;

    // 300 ms of a 440 Hz tone at 24 kHz, sent in chunks of odd byte lengths.
    let speech = tone(440.0, 24_000, 7200, 6000.0);
    let bytes: Vec<u8> = speech.iter().flat_map(|s| s.to_le_bytes()).collect();
    for chunk in bytes.chunks(1001) {
        agent.send_audio(chunk).await;
    }
    agent.send_json(json!({"type": "AgentAudioDone"})).await;

    // Whole 20 ms µ-law frames, then the rest flushed at the end of the turn, then the mark.
    let mut heard = Vec::new();
    let mark = loop {
        let v = twilio.json().await;
        match v["event"].as_str() {
            Some("media") => {
                let audio = base64_payload(&v);
                assert_eq!(audio.len() % 160, 0, "whole frames only");
                heard.extend(audio);
            }
            _ => break v,
        }
    };
    assert_eq!(mark["event"], "mark");
    assert_eq!(mark["mark"]["name"], "agent-turn-1");
    // 300 ms = 2400 samples at 8 kHz, plus the filter's 10 ms padded to a frame.
    assert!(
        (2400..=2560).contains(&heard.len()),
        "{} µ-law samples for 300 ms of speech",
        heard.len()
    );
    let mut decoded = vec![0i16; heard.len()];
    mulaw::decode_slice(&heard, &mut decoded);
    assert_same_tone(&decoded[160..2320], 8000, &speech[480..], 440.0);

    hang_up(&rig, &mut twilio, &mut agent).await;
}

#[tokio::test]
async fn barge_in_drops_speech_held_in_the_resampler() {
    let (rig, mut twilio, mut agent, _) = linear16_call(16_000).await;

    // Less than a frame of loud speech: held back, nothing reaches Twilio yet.
    let loud: Vec<u8> = tone(500.0, 16_000, 200, 20_000.0)
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    agent.send_audio(&loud).await;
    agent
        .send_json(json!({"type": "UserStartedSpeaking"}))
        .await;
    let clear = twilio.json().await;
    assert_eq!(clear, json!({"event": "clear", "streamSid": STREAM_SID}));

    // The next reply starts with silence: none of the interrupted speech leaks into it.
    agent.send_audio(&[0u8; 640]).await;
    assert_eq!(twilio.media_audio().await, SILENCE.to_vec());

    hang_up(&rig, &mut twilio, &mut agent).await;
}

fn base64_payload(v: &serde_json::Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(v["media"]["payload"].as_str().expect("payload"))
        .expect("base64")
}
