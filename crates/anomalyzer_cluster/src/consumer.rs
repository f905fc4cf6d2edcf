//! One owned partition at work: claim its snapshot, load it, consume the
//! points stream from the next sequence, publish scores and snapshot
//! regularly; every write checked against the lease (docs/cluster.md).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anomalyzer_serve::{RejectReason, ScoreSink, ServeConfig, ServiceMetrics};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::kv;
use async_nats::HeaderMap;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use crate::bootstrap::{points_subject, scores_subject, Cluster, POINTS_STREAM};
use crate::error::{Error, Result};
use crate::lease::{partition_key, HeldLease};
use crate::messages::{decode_points, encode_scores, score_message_id, EPOCH_HEADER};
use crate::partition::PartitionState;

/// When a partition writes a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotPolicy {
    /// After this many points messages since the last one.
    pub messages: u64,
    /// Or after this long, if anything was applied.
    pub interval: Duration,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy {
            messages: 1_000,
            interval: Duration::from_secs(10),
        }
    }
}

/// The value of `p<p>` in `ANOMALYZER_SNAPSHOTS`: the accepted snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotPointer {
    /// The epoch of the lease that last claimed or wrote it.
    pub epoch: u64,
    /// The last points sequence the snapshot holds (0: none).
    pub sequence: u64,
    /// The object in `ANOMALYZER_STATE`, or none before the first snapshot.
    pub object: Option<String>,
}

/// Figures a partition shares with the worker (for logs and `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionProgress {
    /// Last points sequence applied.
    pub applied: u64,
    /// Series held.
    pub series: u64,
    /// Points messages of the partition in the stream and not yet applied
    /// (as the consumer last saw it).
    pub lag: u64,
}

/// What runs one partition until it is stopped or fails.
pub struct PartitionRun {
    /// The cluster.
    pub cluster: Cluster,
    /// The lease it runs under.
    pub lease: Arc<HeldLease>,
    /// The configuration of new series.
    pub config: Arc<ServeConfig>,
    /// When to snapshot.
    pub policy: SnapshotPolicy,
    /// Set to true to stop after a final snapshot.
    pub stop: watch::Receiver<bool>,
    /// Where progress is reported.
    pub progress: watch::Sender<PartitionProgress>,
    /// The partition's detectors, shared with `/metrics`.
    pub state: Arc<Mutex<PartitionState>>,
    /// Points scored and rejected are counted here.
    pub metrics: ServiceMetrics,
    /// Where scores also go once published (the `--remote-write` output).
    pub score_sink: Option<Arc<dyn ScoreSink>>,
}

/// Upper bound of score publishes awaiting their ack.
const MAX_PENDING_ACKS: usize = 512;

impl PartitionRun {
    /// Runs the partition: returns `Ok` after a requested stop (with a
    /// final snapshot written), or the error that ended it (a fenced lease,
    /// a NATS failure, a damaged message).
    pub async fn run(mut self) -> Result<()> {
        let p = self.lease.partition();
        let (loaded, mut pointer_revision, mut pointer) = self.claim().await?;
        *self.lock() = loaded;
        let state = Arc::clone(&self.state);
        let applied = || {
            state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sequence()
        };
        let start = match applied() {
            0 => DeliverPolicy::All,
            s => DeliverPolicy::ByStartSequence {
                start_sequence: s + 1,
            },
        };
        let stream = self
            .cluster
            .js
            .get_stream(POINTS_STREAM)
            .await
            .map_err(|e| Error::nats(format!("open stream {POINTS_STREAM}"), e))?;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: points_subject(p),
                deliver_policy: start,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::nats(format!("consume {}", points_subject(p)), e))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| Error::nats(format!("consume {}", points_subject(p)), e))?;
        let mut pending: VecDeque<PublishAckFuture> = VecDeque::new();
        let mut since_snapshot = 0u64;
        let mut last_snapshot = Instant::now();
        let scores = scores_subject(p);
        let tick = self.policy.interval.min(Duration::from_millis(500));
        loop {
            let next = tokio::select! {
                changed = self.stop.changed() => {
                    if changed.is_err() || *self.stop.borrow() {
                        drain(&mut pending, p).await?;
                        if since_snapshot > 0 {
                            self.snapshot(&mut pointer_revision, &mut pointer).await?;
                        }
                        return Ok(());
                    }
                    continue;
                }
                next = tokio::time::timeout(tick, messages.next()) => next,
            };
            match next {
                Err(_elapsed) => {}
                Ok(None) => {
                    return Err(Error::nats(
                        format!("consume {}", points_subject(p)),
                        "stream ended",
                    ))
                }
                Ok(Some(Err(e))) => {
                    return Err(Error::nats(format!("consume {}", points_subject(p)), e))
                }
                Ok(Some(Ok(message))) => {
                    let info = message.info().map_err(|e| {
                        Error::nats(format!("message info on {}", points_subject(p)), e)
                    })?;
                    let (sequence, lag) = (info.stream_sequence, info.pending);
                    if sequence <= applied() {
                        continue;
                    }
                    let what = format!("{POINTS_STREAM} message {sequence}");
                    let points = decode_points(&message.payload, &what)?;
                    let (lines, outcomes, series) = {
                        let mut state = self.lock();
                        let (lines, outcomes) =
                            state.apply_with_outcomes(sequence, &points, &self.config)?;
                        (lines, outcomes, state.series_count())
                    };
                    self.metrics.count_scored(lines.len() as u64);
                    self.metrics.count_rejected(
                        RejectReason::OutOfOrder,
                        (points.len() - lines.len()) as u64,
                    );
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        async_nats::header::NATS_MESSAGE_ID,
                        score_message_id(p, sequence).as_str(),
                    );
                    headers.insert(EPOCH_HEADER, self.lease.epoch().to_string().as_str());
                    // The fence: nothing is published past the lease's deadline.
                    self.lease.check()?;
                    let ack = self
                        .cluster
                        .js
                        .publish_with_headers(scores.clone(), headers, encode_scores(&lines).into())
                        .await
                        .map_err(|e| Error::nats(format!("publish to {scores}"), e))?;
                    pending.push_back(ack);
                    // Past the fence, as the score message: a fenced worker's
                    // late scores reach neither.
                    if let Some(sink) = &self.score_sink {
                        sink.scored(&points, &outcomes);
                    }
                    while pending.len() > MAX_PENDING_ACKS {
                        if let Some(ack) = pending.pop_front() {
                            ack.await
                                .map_err(|e| Error::nats(format!("ack from {scores}"), e))?;
                        }
                    }
                    since_snapshot += 1;
                    self.progress.send_replace(PartitionProgress {
                        applied: sequence,
                        series: series as u64,
                        lag,
                    });
                }
            }
            let due = since_snapshot >= self.policy.messages
                || (since_snapshot > 0 && last_snapshot.elapsed() >= self.policy.interval);
            if due {
                drain(&mut pending, p).await?;
                self.snapshot(&mut pointer_revision, &mut pointer).await?;
                since_snapshot = 0;
                last_snapshot = Instant::now();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PartitionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the snapshot key over for this epoch (a CAS that fences every
    /// earlier owner's snapshots), then loads the snapshot it points to.
    async fn claim(&self) -> Result<(PartitionState, u64, SnapshotPointer)> {
        let p = self.lease.partition();
        let key = partition_key(p);
        let snapshots = &self.cluster.snapshots;
        loop {
            self.lease.check()?;
            let entry = snapshots
                .entry(key.clone())
                .await
                .map_err(|e| Error::nats(format!("read snapshot pointer {key}"), e))?;
            let current = match &entry {
                Some(e) if e.operation == kv::Operation::Put => serde_json::from_slice::<
                    SnapshotPointer,
                >(&e.value)
                .map_err(|err| Error::Corrupt {
                    what: format!("snapshot pointer {key}"),
                    reason: err.to_string(),
                })?,
                _ => SnapshotPointer {
                    epoch: 0,
                    sequence: 0,
                    object: None,
                },
            };
            if current.epoch > self.lease.epoch() {
                return Err(Error::Fenced {
                    partition: p,
                    reason: format!(
                        "snapshot claimed by epoch {}, this lease is epoch {}",
                        current.epoch,
                        self.lease.epoch()
                    ),
                });
            }
            let claimed = SnapshotPointer {
                epoch: self.lease.epoch(),
                ..current.clone()
            };
            let body = serde_json::to_vec(&claimed).unwrap_or_default();
            let written = match &entry {
                Some(e) => snapshots.update(&key, body.into(), e.revision).await.ok(),
                None => snapshots.create(&key, body.into()).await.ok(),
            };
            let Some(revision) = written else {
                // Someone wrote it in between: read again.
                continue;
            };
            let state = match &claimed.object {
                None => PartitionState::new(p),
                Some(name) => self.load(name).await?,
            };
            if state.partition() != p || state.sequence() != claimed.sequence {
                return Err(Error::Corrupt {
                    what: format!("snapshot object {:?}", claimed.object),
                    reason: format!(
                        "holds partition {} at sequence {}, its pointer says partition {p} at {}",
                        state.partition(),
                        state.sequence(),
                        claimed.sequence
                    ),
                });
            }
            return Ok((state, revision, claimed));
        }
    }

    async fn load(&self, name: &str) -> Result<PartitionState> {
        let mut object = self
            .cluster
            .objects
            .get(name)
            .await
            .map_err(|e| Error::nats(format!("read snapshot object {name}"), e))?;
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::nats(format!("read snapshot object {name}"), e))?;
        Ok(PartitionState::restore(&bytes, &format!("snapshot object {name}"))?.0)
    }

    /// Writes the object, then accepts it by CAS on the pointer; a fenced
    /// worker's CAS fails and its object is removed.
    async fn snapshot(
        &self,
        pointer_revision: &mut u64,
        pointer: &mut SnapshotPointer,
    ) -> Result<()> {
        self.lease.check()?;
        let p = self.lease.partition();
        let epoch = self.lease.epoch();
        let (sequence, body) = {
            let state = self.lock();
            (state.sequence(), state.snapshot(epoch))
        };
        let name = format!("p{p}-e{epoch}-s{sequence}");
        self.cluster
            .objects
            .put(name.as_str(), &mut body.as_slice())
            .await
            .map_err(|e| Error::nats(format!("write snapshot object {name}"), e))?;
        let accepted = SnapshotPointer {
            epoch,
            sequence,
            object: Some(name.clone()),
        };
        let value = serde_json::to_vec(&accepted).unwrap_or_default();
        let key = partition_key(p);
        match self
            .cluster
            .snapshots
            .update(&key, value.into(), *pointer_revision)
            .await
        {
            Ok(revision) => {
                *pointer_revision = revision;
                let previous = std::mem::replace(pointer, accepted);
                if let Some(old) = previous.object.filter(|old| *old != name) {
                    // A leftover object is only wasted space.
                    let _ = self.cluster.objects.delete(&old).await;
                }
                Ok(())
            }
            Err(e) => {
                let _ = self.cluster.objects.delete(&name).await;
                self.lease.lose();
                Err(Error::Fenced {
                    partition: p,
                    reason: format!("epoch {epoch}: snapshot {name} refused ({e})"),
                })
            }
        }
    }
}

async fn drain(pending: &mut VecDeque<PublishAckFuture>, p: u32) -> Result<()> {
    while let Some(ack) = pending.pop_front() {
        ack.await
            .map_err(|e| Error::nats(format!("ack from {}", scores_subject(p)), e))?;
    }
    Ok(())
}
