//! The ingest side: one validated batch becomes one points message per
//! partition, and the caller hears back only once JetStream acknowledged
//! all of them.

use anomalyzer_serve::Batch;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::HeaderMap;
use futures_util::future::try_join_all;

use crate::bootstrap::{points_subject, Cluster};
use crate::error::{Error, Result};
use crate::messages::{encode_points, group_by_partition, points_message_id};

/// Where one point of a batch went: its partition and the stream sequence
/// of the points message holding it (the score message's id is
/// `<partition>:<sequence>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The partition.
    pub partition: u32,
    /// The points message's sequence in `ANOMALYZER_POINTS`.
    pub sequence: u64,
}

/// Publishes validated batches into the cluster.
#[derive(Debug, Clone)]
pub struct Publisher {
    cluster: Cluster,
}

impl Publisher {
    /// A publisher into `cluster`.
    #[must_use]
    pub fn new(cluster: Cluster) -> Self {
        Publisher { cluster }
    }

    /// The cluster's partition count.
    #[must_use]
    pub fn partitions(&self) -> u32 {
        self.cluster.settings.partitions
    }

    /// Publishes `batch`, one message per partition it touches, all at
    /// once, and waits for every acknowledgement. On `Ok` every point is in
    /// the stream (one placement per point, in batch order). On `Err` some
    /// messages may be stored: retrying the same batch is safe, the retry's
    /// messages have the same ids and JetStream drops them as duplicates.
    pub async fn publish(&self, batch: &Batch) -> Result<Vec<Placement>> {
        let points = batch.points();
        let groups = group_by_partition(points, self.partitions());
        let mut pending: Vec<(u32, &[usize], PublishAckFuture)> = Vec::with_capacity(groups.len());
        for (partition, indices) in &groups {
            let body = encode_points(indices.iter().map(|i| &points[*i]));
            let mut headers = HeaderMap::new();
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                points_message_id(*partition, &body).as_str(),
            );
            let subject = points_subject(*partition);
            let ack = self
                .cluster
                .js
                .publish_with_headers(subject.clone(), headers, body.into())
                .await
                .map_err(|e| Error::nats(format!("publish to {subject}"), e))?;
            pending.push((*partition, indices, ack));
        }
        let acks = try_join_all(
            pending
                .into_iter()
                .map(|(partition, indices, ack)| async move {
                    let ack = ack.await.map_err(|e| {
                        Error::nats(
                            format!("acknowledgement from {}", points_subject(partition)),
                            e,
                        )
                    })?;
                    Ok::<_, Error>((partition, indices, ack.sequence))
                }),
        )
        .await?;
        let mut placements = vec![
            Placement {
                partition: 0,
                sequence: 0
            };
            points.len()
        ];
        for (partition, indices, sequence) in acks {
            for i in indices {
                placements[*i] = Placement {
                    partition,
                    sequence,
                };
            }
        }
        Ok(placements)
    }
}
