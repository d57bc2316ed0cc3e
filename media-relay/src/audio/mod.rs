//! Audio conversion for agents that do not speak µ-law 8 kHz: G.711 µ-law <-> linear PCM and
//! anti-aliased resampling. Passthrough calls never touch this module.
