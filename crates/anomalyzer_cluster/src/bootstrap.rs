//! Creating or joining a cluster: the streams, buckets and object store of
//! docs/cluster.md, and the settings every node must agree on.

use std::time::Duration;

use async_nats::jetstream::{self, kv, object_store, stream, Context};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Stream of points messages, subjects `anomalyzer.points.<p>`.
pub const POINTS_STREAM: &str = "ANOMALYZER_POINTS";
/// Stream of score messages, subjects `anomalyzer.scores.<p>`.
pub const SCORES_STREAM: &str = "ANOMALYZER_SCORES";
/// KV bucket holding the key `settings`.
pub const SETTINGS_BUCKET: &str = "ANOMALYZER_CLUSTER";
/// KV bucket of partition leases (`p<p>`), entries expire after the lease time.
pub const LEASES_BUCKET: &str = "ANOMALYZER_LEASES";
/// KV bucket of live workers (`w<id>`), entries expire after the lease time.
pub const WORKERS_BUCKET: &str = "ANOMALYZER_WORKERS";
/// KV bucket of accepted snapshots (`p<p>`).
pub const SNAPSHOTS_BUCKET: &str = "ANOMALYZER_SNAPSHOTS";
/// Object store of snapshot bodies.
pub const STATE_OBJECTS: &str = "ANOMALYZER_STATE";
/// JetStream's duplicate window on both streams.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Default number of partitions of a new cluster.
pub const DEFAULT_PARTITIONS: u32 = 64;
/// Default lease time of a new cluster.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// The subject of partition `p`'s points.
#[must_use]
pub fn points_subject(partition: u32) -> String {
    format!("anomalyzer.points.{partition}")
}

/// The subject of partition `p`'s scores.
#[must_use]
pub fn scores_subject(partition: u32) -> String {
    format!("anomalyzer.scores.{partition}")
}

/// What a node asks for when it creates or joins a cluster. `None` fields
/// take the stored value (or the default for a new cluster).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterOptions {
    /// Partitions; fixed when the cluster is created.
    pub partitions: Option<u32>,
    /// Lease time; fixed when the cluster is created.
    pub lease: Option<Duration>,
    /// Replicas of every stream and bucket created by this node.
    pub replicas: usize,
}

/// The settings stored in the cluster (`ANOMALYZER_CLUSTER`, key `settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Format of this record.
    pub version: u32,
    /// Number of partitions `P`.
    pub partitions: u32,
    /// Lease time in milliseconds.
    pub lease_ms: u64,
}

impl ClusterSettings {
    /// The lease time.
    #[must_use]
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }
}

/// Handles on everything a node uses, once the cluster exists.
#[derive(Clone)]
pub struct Cluster {
    /// The JetStream context (its timeout bounds every request).
    pub js: Context,
    /// The agreed settings.
    pub settings: ClusterSettings,
    /// Partition leases.
    pub leases: kv::Store,
    /// Live workers.
    pub workers: kv::Store,
    /// Accepted snapshots.
    pub snapshots: kv::Store,
    /// Snapshot bodies.
    pub objects: object_store::ObjectStore,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Connects to `url` with a JetStream context whose requests time out
/// after `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Result<Context> {
    let client = async_nats::ConnectOptions::new()
        .name("anomalyzer")
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|e| Error::nats(format!("connect to {url}"), e))?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(timeout)
        .build(client))
}

/// Creates the cluster's streams, buckets and settings, or checks and joins
/// an existing cluster. Idempotent: every node calls it at start.
pub async fn bootstrap(js: Context, options: ClusterOptions) -> Result<Cluster> {
    let replicas = options.replicas.max(1);
    let wanted = ClusterSettings {
        version: 1,
        partitions: options.partitions.unwrap_or(DEFAULT_PARTITIONS),
        lease_ms: u64::try_from(options.lease.unwrap_or(DEFAULT_LEASE).as_millis())
            .unwrap_or(u64::MAX),
    };
    if wanted.partitions == 0 || wanted.partitions > 65_536 {
        return Err(Error::Settings(format!(
            "partitions must be 1 to 65536, not {}",
            wanted.partitions
        )));
    }
    if wanted.lease_ms < 200 {
        return Err(Error::Settings(format!(
            "the lease time must be at least 200 ms, not {} ms",
            wanted.lease_ms
        )));
    }
    let settings_kv = bucket(&js, SETTINGS_BUCKET, None, replicas).await?;
    let body = serde_json::to_vec(&wanted).unwrap_or_default();
    let settings = match settings_kv.create("settings", body.into()).await {
        Ok(_) => wanted,
        Err(create_error) => {
            let stored = settings_kv
                .get("settings")
                .await
                .map_err(|e| Error::nats("read cluster settings", e))?
                .ok_or_else(|| Error::nats("create cluster settings", create_error.to_string()))?;
            let stored: ClusterSettings = serde_json::from_slice(&stored)
                .map_err(|e| Error::Settings(format!("stored settings unreadable: {e}")))?;
            check_agrees(&stored, &options)?;
            stored
        }
    };
    for (name, subjects) in [
        (POINTS_STREAM, "anomalyzer.points.*"),
        (SCORES_STREAM, "anomalyzer.scores.*"),
    ] {
        let config = stream::Config {
            name: name.to_owned(),
            subjects: vec![subjects.to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            num_replicas: replicas,
            ..Default::default()
        };
        js.get_or_create_stream(config)
            .await
            .map_err(|e| Error::nats(format!("create stream {name}"), e))?;
    }
    let lease = Some(settings.lease());
    let leases = bucket(&js, LEASES_BUCKET, lease, replicas).await?;
    let workers = bucket(&js, WORKERS_BUCKET, lease, replicas).await?;
    let snapshots = bucket(&js, SNAPSHOTS_BUCKET, None, replicas).await?;
    // As for the buckets: the object store's stream is made by hand.
    let config = stream::Config {
        name: format!("OBJ_{STATE_OBJECTS}"),
        subjects: vec![
            format!("$O.{STATE_OBJECTS}.C.>"),
            format!("$O.{STATE_OBJECTS}.M.>"),
        ],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        allow_direct: true,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| Error::nats(format!("create object store {STATE_OBJECTS}"), e))?;
    let objects = js
        .get_object_store(STATE_OBJECTS)
        .await
        .map_err(|e| Error::nats(format!("open object store {STATE_OBJECTS}"), e))?;
    Ok(Cluster {
        js,
        settings,
        leases,
        workers,
        snapshots,
        objects,
    })
}

fn check_agrees(stored: &ClusterSettings, options: &ClusterOptions) -> Result<()> {
    if stored.version != 1 {
        return Err(Error::Settings(format!(
            "stored settings have version {}, this build reads version 1",
            stored.version
        )));
    }
    if let Some(p) = options.partitions.filter(|p| *p != stored.partitions) {
        return Err(Error::Settings(format!(
            "the cluster has {} partitions, fixed when it was created; --partitions {p} disagrees",
            stored.partitions
        )));
    }
    if let Some(lease) = options.lease {
        let ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        if ms != stored.lease_ms {
            return Err(Error::Settings(format!(
                "the cluster's lease time is {} ms, fixed when it was created; {ms} ms disagrees",
                stored.lease_ms
            )));
        }
    }
    Ok(())
}

/// Gets a KV bucket, creating it (history 1, file storage) when absent.
///
/// The bucket's stream is created by hand, with the KV conventions of
/// async-nats' own `create_key_value` (stream `KV_<bucket>`, subjects
/// `$KV.<bucket>.>`, rollups, direct get): that function first reads the
/// account info in a 2.10 shape (`reserved_memory`) that nats-server 2.9
/// does not send, and fails there.
async fn bucket(
    js: &Context,
    name: &str,
    max_age: Option<Duration>,
    replicas: usize,
) -> Result<kv::Store> {
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: max_age.unwrap_or_default(),
        storage: stream::StorageType::File,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| Error::nats(format!("create bucket {name}"), e))?;
    js.get_key_value(name)
        .await
        .map_err(|e| Error::nats(format!("open bucket {name}"), e))
}
