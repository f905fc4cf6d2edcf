//! Streaming, probabilistic anomaly detection for time series.
//!
//! The seven statistical tests of the Go library
//! [lytics/anomalyzer](https://github.com/lytics/anomalyzer) — magnitude,
//! diff, highrank, lowrank, cdf, fence and bootstrap KS — combined into one
//! probability per pushed point, with the same semantics (see the project's
//! SPEC), a few documented deviations, and three things the Go library does
//! not give:
//!
//! - **Bounded**: the detector keeps only the last `A + R` values, so memory
//!   and per-push cost never grow with history.
//! - **Reproducible**: permutations come from xoshiro256++ generators (the
//!   `rand_xoshiro` crate: a fixed, fast algorithm) seeded by
//!   `(seed, push count, test)`; the same stream always gives bit-identical
//!   probabilities on every run and machine (`pow` comes from the portable
//!   `libm` crate), also after a crash and recovery.
//! - **Fast**: no allocation per push, no O(n²) ranking; a push costs
//!   0.45 µs with the default configuration (the Go library: 191 µs). See
//!   the workspace's BENCHMARKS.md.
//! - **Explained**: [`Anomalyzer::explain`] returns each test's probability
//!   and weight from the same draw as the score.
//!
//! Beside the seven, [`Preset::Robust`] runs four robust tests (a robust z
//! of the latest value, two level-shift tests, a seasonal test) through a
//! likelihood stage and alert shaping: it scores far better on the Numenta
//! Anomaly Benchmark (docs/quality.md) while every configuration of the
//! seven Go tests keeps its numbers bit for bit.
//!
//! This crate is pure computation: no I/O, no threads. Durable state lives in
//! the `anomalyzer_store` crate, the command line in `anomalyzer_cli`.
//!
//! ```
//! use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
//!
//! let conf = AnomalyzerConf::builder()
//!     .methods([Method::Diff, Method::Fence, Method::HighRank, Method::LowRank, Method::Magnitude])
//!     .active_size(1)
//!     .n_seasons(4)
//!     .upper_bound(5.0)
//!     .build()?;
//! let mut detector = Anomalyzer::new(conf, &[0.1, 2.05, 1.5, 2.5, 2.6, 2.55])?;
//! let p = detector.push(8.0)?;
//! assert!(p > 0.5, "a jump well past the fence is anomalous: {p}");
//! # Ok::<(), anomalyzer_ts::Error>(())
//! ```
//!
//! Feature `serde`: (de)serialisation of [`AnomalyzerConf`] (validated on the
//! way in, field names as in [`AnomalyzerConfBuilder`]) and [`Explanation`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod anomalyzer;
mod combine;
mod conf;
mod conf_patch;
mod error;
mod explanation;
mod method;
mod methods;
mod permutation;
mod preset;
mod robust;
mod scratch;
mod split;
mod stats;
mod window;

#[cfg(test)]
mod golden;

/// The workspace README's Rust examples, compiled and run as doctests so
/// they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

pub use anomalyzer::{Anomalyzer, DetectorState};
pub use conf::{
    AnomalyzerConf, AnomalyzerConfBuilder, DEFAULT_METHODS, DEFAULT_N_SEASONS, DEFAULT_PERM_COUNT,
    DEFAULT_SEED, DEFAULT_SENSITIVITY, EXACT_RANKS_MAX_WORK, MAX_PERM_COUNT, MAX_WINDOW,
};
pub use conf_patch::ConfPatch;
pub use error::{Error, Result};
pub use explanation::{Explanation, Gate, TestScore};
pub use method::Method;
pub use preset::Preset;
pub use robust::{RobustParams, RobustParts, MAX_ROBUST_SPAN};
