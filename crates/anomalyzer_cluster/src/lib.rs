//! The anomalyzer service scaled out on NATS JetStream (issue 13,
//! docs/cluster.md): ingest nodes publish validated points into a stream
//! partitioned by the series' stable hash, and workers own partitions
//! through leases, apply every point to its detector exactly once and in
//! order, publish the scores and snapshot their state.
#![forbid(unsafe_code)]

mod bootstrap;
mod consumer;
mod error;
mod ingest;
mod lease;
mod messages;
mod partition;
mod publisher;
mod worker;
mod worker_metrics;

pub use bootstrap::{
    bootstrap, connect, points_subject, scores_subject, Cluster, ClusterOptions, ClusterSettings,
    DEFAULT_LEASE, DEFAULT_PARTITIONS, DUPLICATE_WINDOW, LEASES_BUCKET, POINTS_STREAM,
    SCORES_STREAM, SETTINGS_BUCKET, SNAPSHOTS_BUCKET, STATE_OBJECTS, WORKERS_BUCKET,
};
pub use consumer::{PartitionProgress, SnapshotPointer, SnapshotPolicy};
pub use error::{Error, Result};
pub use ingest::{ingest_router, IngestOptions};
pub use lease::{partition_key, LeaseRecord};
pub use messages::{
    decode_points, decode_scores, encode_points, encode_scores, group_by_partition,
    points_message_id, score_message_id, ScoreLine, EPOCH_HEADER,
};
pub use partition::PartitionState;
pub use publisher::{Placement, Publisher};
pub use worker::{run_worker, PartitionView, WorkerOptions, WorkerStatus};
pub use worker_metrics::worker_router;
