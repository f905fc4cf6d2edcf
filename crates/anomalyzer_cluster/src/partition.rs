//! One partition's detectors: applying points messages in stream order,
//! and the snapshot that lets another worker continue bit-identically.
//! Pure: no I/O here.

use std::collections::HashMap;
use std::sync::Arc;

use anomalyzer_serve::{
    plan_order, IdentityLimits, Point, PointOutcome, SeriesKey, ServeConfig, Timestamp,
};
use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, DetectorState};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::messages::ScoreLine;

/// A series' detector and its last accepted timestamp.
#[derive(Debug)]
struct Slot {
    detector: Anomalyzer,
    last: Timestamp,
    /// The last point's probability (for `/metrics`), if known.
    probability: Option<f64>,
}

/// The detectors of one partition and how far into the points stream they
/// have been applied.
#[derive(Debug)]
pub struct PartitionState {
    partition: u32,
    sequence: u64,
    series: HashMap<SeriesKey, Slot>,
}

impl PartitionState {
    /// An empty partition, before stream sequence 1.
    #[must_use]
    pub fn new(partition: u32) -> Self {
        PartitionState {
            partition,
            sequence: 0,
            series: HashMap::new(),
        }
    }

    /// The partition.
    #[must_use]
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The stream sequence of the last points message applied (0: none).
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Number of series held.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Calls `visit` with each series' key and last probability, for those
    /// at or above `min_score`.
    pub fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
        for (key, slot) in &self.series {
            if let Some(p) = slot.probability.filter(|p| *p >= min_score) {
                visit(key, p);
            }
        }
    }

    /// Applies the points message at `sequence`: the out-of-order rule,
    /// then each admitted point to its series' detector (a new series gets
    /// `config`'s configuration). Returns one line per scored point, in
    /// order. A sequence at or below the last applied one is refused, so a
    /// message is never applied twice.
    pub fn apply(
        &mut self,
        sequence: u64,
        points: &[Point],
        config: &ServeConfig,
    ) -> Result<Vec<ScoreLine>> {
        self.apply_with_outcomes(sequence, points, config)
            .map(|(lines, _)| lines)
    }

    /// As [`apply`](Self::apply), also giving what became of each point (one
    /// outcome per point, in order), for a [`ScoreSink`](anomalyzer_serve::ScoreSink).
    pub fn apply_with_outcomes(
        &mut self,
        sequence: u64,
        points: &[Point],
        config: &ServeConfig,
    ) -> Result<(Vec<ScoreLine>, Vec<PointOutcome>)> {
        if sequence <= self.sequence {
            return Err(Error::Corrupt {
                what: format!("partition {} message {sequence}", self.partition),
                reason: format!("already applied up to {}", self.sequence),
            });
        }
        let plan = plan_order(points, |k| self.series.get(k).map(|s| s.last));
        let mut lines = Vec::with_capacity(points.len());
        let mut outcomes = Vec::with_capacity(points.len());
        for (point, verdict) in points.iter().zip(plan) {
            if let Some(reason) = verdict {
                outcomes.push(PointOutcome::Rejected(reason));
                continue;
            }
            let slot = match self.series.get_mut(&point.key) {
                Some(slot) => slot,
                None => {
                    let conf = config.resolve(&point.key).conf;
                    let detector = Anomalyzer::with_shared_conf(conf, &[])?;
                    self.series.entry(point.key.clone()).or_insert(Slot {
                        detector,
                        last: point.timestamp,
                        probability: None,
                    })
                }
            };
            let probability = slot.detector.push(point.value)?;
            slot.last = point.timestamp;
            slot.probability = Some(probability);
            lines.push(ScoreLine::new(point, probability));
            outcomes.push(PointOutcome::Scored(probability));
        }
        self.sequence = sequence;
        Ok((lines, outcomes))
    }

    /// The snapshot body: `{"partition", "epoch", "sequence", "confs",
    /// "series": [{"series", "labels", "conf", "state", "last",
    /// "probability"}]}`, series
    /// in key order, configurations shared by index.
    pub fn snapshot(&self, epoch: u64) -> Vec<u8> {
        let mut keys: Vec<&SeriesKey> = self.series.keys().collect();
        keys.sort();
        let mut confs: Vec<Arc<AnomalyzerConf>> = Vec::new();
        let mut series = Vec::with_capacity(keys.len());
        for key in keys {
            let slot = &self.series[key];
            let shared = slot.detector.shared_conf();
            let conf = match confs
                .iter()
                .position(|c| Arc::ptr_eq(c, shared) || **c == **shared)
            {
                Some(i) => i,
                None => {
                    confs.push(Arc::clone(shared));
                    confs.len() - 1
                }
            };
            series.push(SnapshotSeries {
                series: key.name().to_owned(),
                labels: key
                    .labels()
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
                conf,
                state: slot.detector.state(),
                last: slot.last.as_nanos(),
                probability: slot.probability,
            });
        }
        let body = SnapshotBody {
            partition: self.partition,
            epoch,
            sequence: self.sequence,
            confs: confs.iter().map(|c| (**c).clone()).collect(),
            series,
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// Reads a snapshot body back; `what` names it in errors. Returns the
    /// state and the epoch that wrote it.
    pub fn restore(bytes: &[u8], what: &str) -> Result<(Self, u64)> {
        let corrupt = |reason: String| Error::Corrupt {
            what: what.to_owned(),
            reason,
        };
        let body: SnapshotBody =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let confs: Vec<Arc<AnomalyzerConf>> = body.confs.into_iter().map(Arc::new).collect();
        let limits = IdentityLimits::default();
        let mut series = HashMap::with_capacity(body.series.len());
        for s in body.series {
            let labels = s
                .labels
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(v) => Ok((k, v)),
                    other => Err(corrupt(format!("label {k} is not a string: {other}"))),
                })
                .collect::<Result<Vec<_>>>()?;
            let key =
                SeriesKey::new(s.series, labels, &limits).map_err(|e| corrupt(e.to_string()))?;
            let conf = confs
                .get(s.conf)
                .ok_or_else(|| corrupt(format!("series {key}: no configuration {}", s.conf)))?;
            let detector = Anomalyzer::from_state(Arc::clone(conf), s.state)
                .map_err(|e| corrupt(format!("series {key}: {e}")))?;
            series.insert(
                key,
                Slot {
                    detector,
                    last: Timestamp::from_nanos(s.last),
                    probability: s.probability,
                },
            );
        }
        Ok((
            PartitionState {
                partition: body.partition,
                sequence: body.sequence,
                series,
            },
            body.epoch,
        ))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    partition: u32,
    epoch: u64,
    sequence: u64,
    confs: Vec<AnomalyzerConf>,
    series: Vec<SnapshotSeries>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotSeries {
    series: String,
    labels: Map<String, Value>,
    conf: usize,
    state: DetectorState,
    last: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probability: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_xoshiro::rand_core::{Rng, SeedableRng};

    fn point(host: &str, t: i64, v: f64) -> Point {
        Point {
            key: SeriesKey::new(
                "cpu",
                [("host".to_owned(), host.to_owned())],
                &IdentityLimits::default(),
            )
            .unwrap(),
            timestamp: Timestamp::from_nanos(t),
            value: v,
        }
    }

    fn messages() -> Vec<Vec<Point>> {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        (0..40)
            .map(|m| {
                (0..6)
                    .map(|i| {
                        let v = (rng.next_u64() % 1000) as f64 / 10.0;
                        point(&format!("h{}", i % 3), m * 10 + i, v)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn scores_equal_a_bare_detector_per_series() {
        let config = ServeConfig::default();
        let mut state = PartitionState::new(0);
        let mut got: HashMap<String, Vec<u64>> = HashMap::new();
        let mut values: HashMap<String, Vec<f64>> = HashMap::new();
        let mut last: HashMap<String, i64> = HashMap::new();
        for (i, m) in messages().iter().enumerate() {
            for p in m {
                let host = p.key.labels()[0].1.clone();
                if last.get(&host).is_none_or(|t| p.timestamp.as_nanos() > *t) {
                    last.insert(host.clone(), p.timestamp.as_nanos());
                    values.entry(host).or_default().push(p.value);
                }
            }
            for line in state.apply(i as u64 + 1, m, &config).unwrap() {
                let host = line.labels["host"].as_str().unwrap().to_owned();
                got.entry(host)
                    .or_default()
                    .push(line.probability.to_bits());
            }
        }
        for (host, vals) in values {
            let mut bare =
                Anomalyzer::with_shared_conf(Arc::clone(config.default_conf()), &[]).unwrap();
            let want: Vec<u64> = vals
                .iter()
                .map(|v| bare.push(*v).unwrap().to_bits())
                .collect();
            assert_eq!(got[&host], want, "series {host}");
        }
    }

    #[test]
    fn out_of_order_points_and_replayed_messages_are_refused() {
        let config = ServeConfig::default();
        let mut state = PartitionState::new(3);
        let lines = state
            .apply(
                5,
                &[point("a", 10, 1.0), point("a", 10, 2.0), point("a", 9, 3.0)],
                &config,
            )
            .unwrap();
        assert_eq!(lines.len(), 1);
        assert!(state.apply(5, &[point("a", 11, 1.0)], &config).is_err());
        assert!(state.apply(4, &[point("a", 11, 1.0)], &config).is_err());
        assert_eq!(
            state
                .apply(6, &[point("a", 10, 1.0)], &config)
                .unwrap()
                .len(),
            0
        );
        assert_eq!(state.sequence(), 6);
        // Each point's outcome, in order, with the scored one's probability.
        let (lines, outcomes) = state
            .apply_with_outcomes(7, &[point("a", 12, 4.0), point("a", 12, 5.0)], &config)
            .unwrap();
        assert_eq!(
            outcomes,
            [
                PointOutcome::Scored(lines[0].probability),
                PointOutcome::Rejected(anomalyzer_serve::RejectReason::OutOfOrder)
            ]
        );
    }

    #[test]
    fn a_restored_snapshot_continues_bit_identically() {
        let config = ServeConfig::default();
        let all = messages();
        let mut straight = PartitionState::new(2);
        let mut resumed = PartitionState::new(2);
        for (i, m) in all.iter().enumerate().take(20) {
            straight.apply(i as u64 + 1, m, &config).unwrap();
            resumed.apply(i as u64 + 1, m, &config).unwrap();
        }
        let bytes = resumed.snapshot(17);
        let (mut resumed, epoch) = PartitionState::restore(&bytes, "snap").unwrap();
        assert_eq!(
            (epoch, resumed.sequence(), resumed.partition()),
            (17, 20, 2)
        );
        for (i, m) in all.iter().enumerate().skip(20) {
            let a = straight.apply(i as u64 + 1, m, &config).unwrap();
            let b = resumed.apply(i as u64 + 1, m, &config).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn damaged_snapshots_are_refused_with_their_name() {
        let err = PartitionState::restore(b"{\"partition\":1}", "object p1-e2-s3").unwrap_err();
        assert!(err.to_string().contains("object p1-e2-s3"), "{err}");
        let mut state = PartitionState::new(1);
        state
            .apply(1, &[point("a", 1, 1.0)], &ServeConfig::default())
            .unwrap();
        let text = String::from_utf8(state.snapshot(1)).unwrap();
        let broken = text.replace("\"conf\":0", "\"conf\":5");
        assert!(PartitionState::restore(broken.as_bytes(), "x").is_err());
    }
}
