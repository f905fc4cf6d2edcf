//! What is sent: which series each request carries, their timestamps and
//! seeded values.
//!
//! The series `0..series` are cut into chunks of `batch` consecutive ids
//! (the last one may be shorter). Connection `w` of `C` owns the chunks
//! `c` with `c % C == w` and sends them in turn, so a series is only ever
//! sent by one connection, one request after the other: its timestamps
//! reach the server strictly increasing however the connections
//! interleave. The `k`-th request of a connection is its chunk
//! `k % owned` in round `k / owned`; a point of round `r` has the timestamp
//! `start_ms + r` milliseconds. `prefill` is round 0 of every chunk: each
//! series gets exactly one point.

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::error::{Error, Result};

/// The metric name of every generated series.
pub const METRIC: &str = "loadgen_value";

/// The label that tells the generated series apart: `id="000123"`.
pub const ID_LABEL: &str = "id";

/// One point to send: series id, timestamp in milliseconds, value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenPoint {
    /// Series id, `0..series`.
    pub series: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

/// The shape of the load, shared by every connection.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Number of series.
    pub series: u64,
    /// Points per request (series per chunk).
    pub batch: u64,
    /// Number of connections.
    pub connections: u64,
    /// Timestamp of round 0, in milliseconds since the epoch.
    pub start_ms: i64,
    /// Seed of the values.
    pub seed: u64,
}

impl Shape {
    /// Checks that every connection owns at least one chunk.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArguments(m));
        if self.series == 0 || self.batch == 0 || self.connections == 0 {
            return bad("--series, --batch and --concurrency must be at least 1".into());
        }
        let chunks = self.chunks();
        if self.connections > chunks {
            return bad(format!(
                "--concurrency {} is more than the {chunks} requests of {} points that --series {} \
                 makes; each connection needs series of its own to keep timestamps increasing",
                self.connections, self.batch, self.series
            ));
        }
        Ok(())
    }

    /// Number of chunks (requests per round).
    #[must_use]
    pub fn chunks(&self) -> u64 {
        self.series.div_ceil(self.batch)
    }

    /// Chunks owned by connection `w`.
    #[must_use]
    pub fn owned(&self, w: u64) -> u64 {
        let chunks = self.chunks();
        chunks / self.connections + u64::from(w < chunks % self.connections)
    }
}

/// The request stream of one connection.
#[derive(Debug)]
pub struct Stream {
    shape: Shape,
    connection: u64,
    owned: u64,
    next: u64,
    rng: Xoshiro256PlusPlus,
}

impl Stream {
    /// The stream of connection `w` (`w < shape.connections`).
    #[must_use]
    pub fn new(shape: Shape, w: u64) -> Stream {
        // Distinct, seeded streams per connection; the golden-ratio step
        // keeps neighbouring seeds far apart.
        let seed = shape.seed ^ (w.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Stream {
            shape,
            connection: w,
            owned: shape.owned(w),
            next: 0,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// Requests this connection sends per round (`prefill` sends one round).
    #[must_use]
    pub fn per_round(&self) -> u64 {
        self.owned
    }

    /// Fills `out` with the points of the next request.
    pub fn next_request(&mut self, out: &mut Vec<GenPoint>) {
        out.clear();
        let k = self.next;
        self.next += 1;
        let chunk = (k % self.owned) * self.shape.connections + self.connection;
        let round = (k / self.owned) as i64;
        let first = chunk * self.shape.batch;
        let last = (first + self.shape.batch).min(self.shape.series);
        for series in first..last {
            out.push(GenPoint {
                series,
                timestamp_ms: self.shape.start_ms + round,
                value: self.value(),
            });
        }
    }

    /// A level of 50 with noise of about ±10 and a +60 spike on about 1 %
    /// of points, so the detector has real work (its gate opens sometimes).
    fn value(&mut self) -> f64 {
        let r = self.rng.next_u64();
        let noise = ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 20.0;
        let spike = if (r & 0x7F) < 1 { 60.0 } else { 0.0 };
        50.0 + noise + spike
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn shape(series: u64, batch: u64, connections: u64) -> Shape {
        Shape {
            series,
            batch,
            connections,
            start_ms: 1_700_000_000_000,
            seed: 7,
        }
    }

    #[test]
    fn every_series_is_owned_by_one_connection_with_increasing_timestamps() {
        let s = shape(1050, 100, 3);
        s.check().unwrap();
        assert_eq!(s.chunks(), 11);
        assert_eq!((0..3).map(|w| s.owned(w)).sum::<u64>(), 11);
        let mut owner: HashMap<u64, u64> = HashMap::new();
        let mut last: HashMap<u64, i64> = HashMap::new();
        let mut buf = Vec::new();
        for w in 0..3 {
            let mut stream = Stream::new(s, w);
            for _ in 0..3 * stream.per_round() {
                stream.next_request(&mut buf);
                assert!(!buf.is_empty() && buf.len() <= 100);
                for p in &buf {
                    assert_eq!(*owner.entry(p.series).or_insert(w), w, "{p:?}");
                    if let Some(&t) = last.get(&p.series) {
                        assert!(p.timestamp_ms > t, "{p:?} after {t}");
                    }
                    last.insert(p.series, p.timestamp_ms);
                    assert!(p.value.is_finite());
                }
            }
        }
        assert_eq!(owner.len(), 1050, "every series is sent");
        assert!(last.values().all(|&t| t == 1_700_000_000_002));
    }

    #[test]
    fn one_round_gives_every_series_one_point() {
        let s = shape(1000, 64, 4);
        let mut seen = vec![0u32; 1000];
        let mut buf = Vec::new();
        for w in 0..4 {
            let mut stream = Stream::new(s, w);
            for _ in 0..stream.per_round() {
                stream.next_request(&mut buf);
                for p in &buf {
                    seen[p.series as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
    }

    #[test]
    fn values_are_seeded() {
        let s = shape(100, 10, 2);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Stream::new(s, 1).next_request(&mut a);
        Stream::new(s, 1).next_request(&mut b);
        assert_eq!(a, b);
        let mut c = Vec::new();
        Stream::new(Shape { seed: 8, ..s }, 1).next_request(&mut c);
        assert_ne!(a, c);
    }

    #[test]
    fn too_many_connections_are_refused() {
        let err = shape(1000, 500, 3).check().unwrap_err().to_string();
        assert!(err.contains("--concurrency 3"), "{err}");
        assert!(shape(0, 1, 1).check().is_err());
    }
}
