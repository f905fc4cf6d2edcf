//! A worker: heartbeat, lease acquisition, renewal and balancing, and one
//! [`PartitionRun`] per owned partition (docs/cluster.md, "Workers").

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anomalyzer_serve::{ScoreSink, ServeConfig, ServiceMetrics};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bootstrap::Cluster;
use crate::consumer::{PartitionProgress, PartitionRun, SnapshotPolicy};
use crate::error::Result;
use crate::lease::{partition_key, HeldLease, LeaseRecord};
use crate::partition::PartitionState;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The worker's id (kept in its state directory).
    pub id: String,
    /// Configuration of new series.
    pub config: Arc<ServeConfig>,
    /// When partitions snapshot.
    pub snapshots: SnapshotPolicy,
    /// Points scored and rejected are counted here (for `/metrics`).
    pub metrics: ServiceMetrics,
    /// Where scores also go (the `--remote-write` output), if anywhere.
    pub score_sink: Option<Arc<dyn ScoreSink>>,
}

/// A partition this worker runs.
struct Owned {
    lease: Arc<HeldLease>,
    stop: watch::Sender<bool>,
    progress: watch::Receiver<PartitionProgress>,
    state: Arc<Mutex<PartitionState>>,
    task: JoinHandle<Result<()>>,
}

/// One owned partition as `/metrics` sees it.
#[derive(Debug, Clone)]
pub struct PartitionView {
    /// The partition.
    pub partition: u32,
    /// Its lease's epoch.
    pub epoch: u64,
    /// How far it is.
    pub progress: PartitionProgress,
    /// Its detectors.
    pub state: Arc<Mutex<PartitionState>>,
}

/// What the worker owns, for `/metrics` and logs.
#[derive(Debug, Clone, Default)]
pub struct WorkerStatus {
    /// Owned partitions, by partition.
    pub partitions: Vec<PartitionView>,
}

/// Runs a worker until `shutdown` resolves; then stops every partition
/// (each writes a final snapshot) and releases its leases. `status` is
/// updated every tick.
pub async fn run_worker(
    cluster: Cluster,
    options: WorkerOptions,
    status: watch::Sender<WorkerStatus>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let lease_time = cluster.settings.lease();
    let tick = lease_time / 4;
    let mut owned: BTreeMap<u32, Owned> = BTreeMap::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let worker_key = format!("w{}", options.id);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = interval.tick() => {}
        }
        let _ = cluster
            .workers
            .put(&worker_key, options.id.clone().into_bytes().into())
            .await;
        renew_all(&cluster, &options, &mut owned).await;
        reap(&cluster, &options, &mut owned).await;
        balance(&cluster, &options, &mut owned).await;
        let snapshot = WorkerStatus {
            partitions: owned
                .iter()
                .map(|(p, o)| PartitionView {
                    partition: *p,
                    epoch: o.lease.epoch(),
                    progress: *o.progress.borrow(),
                    state: Arc::clone(&o.state),
                })
                .collect(),
        };
        status.send_replace(snapshot);
    }
    let partitions: Vec<u32> = owned.keys().copied().collect();
    for p in partitions {
        release(&cluster, &mut owned, p).await;
    }
    let _ = cluster.workers.delete(&worker_key).await;
    Ok(())
}

/// Renews every held lease by CAS on its revision; a refused CAS fences
/// the partition at once.
async fn renew_all(cluster: &Cluster, options: &WorkerOptions, owned: &mut BTreeMap<u32, Owned>) {
    for (p, o) in owned.iter() {
        if o.lease.check().is_err() {
            continue;
        }
        let record = LeaseRecord {
            worker: options.id.clone(),
            epoch: o.lease.epoch(),
        };
        let value = serde_json::to_vec(&record).unwrap_or_default();
        let sent = Instant::now();
        match cluster
            .leases
            .update(partition_key(*p), value.into(), o.lease.revision())
            .await
        {
            Ok(revision) => o.lease.renewed(sent, revision),
            Err(e) if e.kind() == async_nats::jetstream::kv::UpdateErrorKind::WrongLastRevision => {
                eprintln!(
                    "worker {}: partition {p}: lease epoch {} taken over; fenced",
                    options.id,
                    o.lease.epoch()
                );
                o.lease.lose();
            }
            // NATS unreachable: keep trying until the lease's own deadline.
            Err(_) => {}
        }
    }
}

/// Drops partitions whose lease was lost; a run that ended (a NATS
/// failure, say) under a lease still held is restarted from the accepted
/// snapshot, keeping the lease.
async fn reap(cluster: &Cluster, options: &WorkerOptions, owned: &mut BTreeMap<u32, Owned>) {
    let ended: Vec<u32> = owned
        .iter()
        .filter(|(_, o)| o.lease.check().is_err() || o.task.is_finished())
        .map(|(p, _)| *p)
        .collect();
    for p in ended {
        let Some(o) = owned.remove(&p) else {
            continue;
        };
        let _ = o.stop.send(true);
        o.task.abort();
        if let Ok(Err(e)) = o.task.await {
            eprintln!("worker {}: partition {p}: {e}", options.id);
        }
        if o.lease.check().is_ok() {
            eprintln!(
                "worker {}: partition {p}: restarting from its snapshot (epoch {})",
                options.id,
                o.lease.epoch()
            );
            start(cluster, options, owned, o.lease);
        }
    }
}

/// Takes free partitions up to this worker's share, or releases those
/// above it.
async fn balance(cluster: &Cluster, options: &WorkerOptions, owned: &mut BTreeMap<u32, Owned>) {
    let partitions = cluster.settings.partitions;
    let live = match key_set(&cluster.workers).await {
        Some(keys) => keys.len().max(1) as u32,
        None => return,
    };
    let share = partitions.div_ceil(live) as usize;
    if owned.len() > share {
        let extra: Vec<u32> = owned
            .keys()
            .rev()
            .take(owned.len() - share)
            .copied()
            .collect();
        for p in extra {
            release(cluster, owned, p).await;
        }
        return;
    }
    if owned.len() >= share {
        return;
    }
    let Some(held) = key_set(&cluster.leases).await else {
        return;
    };
    // Start from an offset of our own so that workers do not all race for
    // partition 0.
    let offset = (xxhash_rust::xxh3::xxh3_64(options.id.as_bytes()) % u64::from(partitions)) as u32;
    for i in 0..partitions {
        if owned.len() >= share {
            break;
        }
        let p = (offset + i) % partitions;
        if owned.contains_key(&p) || held.contains(&partition_key(p)) {
            continue;
        }
        acquire(cluster, options, owned, p).await;
    }
}

async fn acquire(
    cluster: &Cluster,
    options: &WorkerOptions,
    owned: &mut BTreeMap<u32, Owned>,
    p: u32,
) {
    let key = partition_key(p);
    let sent = Instant::now();
    // The epoch is the revision of the create; its value names it too, so
    // the record is written twice: create (claims), then update (records).
    let Ok(revision) = cluster.leases.create(&key, Vec::new().into()).await else {
        return;
    };
    let lease = Arc::new(HeldLease::new(p, revision, sent, cluster.settings.lease()));
    let record = LeaseRecord {
        worker: options.id.clone(),
        epoch: revision,
    };
    let value = serde_json::to_vec(&record).unwrap_or_default();
    match cluster.leases.update(&key, value.into(), revision).await {
        Ok(r) => lease.renewed(sent, r),
        Err(_) => return,
    }
    eprintln!(
        "worker {}: took partition {p} (epoch {revision})",
        options.id
    );
    start(cluster, options, owned, lease);
}

/// Spawns the run of partition `lease.partition()`.
fn start(
    cluster: &Cluster,
    options: &WorkerOptions,
    owned: &mut BTreeMap<u32, Owned>,
    lease: Arc<HeldLease>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (progress_tx, progress_rx) = watch::channel(PartitionProgress::default());
    let state = Arc::new(Mutex::new(PartitionState::new(lease.partition())));
    let run = PartitionRun {
        cluster: cluster.clone(),
        lease: Arc::clone(&lease),
        config: Arc::clone(&options.config),
        policy: options.snapshots,
        stop: stop_rx,
        progress: progress_tx,
        state: Arc::clone(&state),
        metrics: options.metrics.clone(),
        score_sink: options.score_sink.clone(),
    };
    owned.insert(
        lease.partition(),
        Owned {
            lease,
            stop: stop_tx,
            progress: progress_rx,
            state,
            task: tokio::spawn(run.run()),
        },
    );
}

/// Stops a partition (it snapshots), then deletes its lease on the
/// revision we hold, so another worker can take it at once.
async fn release(cluster: &Cluster, owned: &mut BTreeMap<u32, Owned>, p: u32) {
    let Some(o) = owned.remove(&p) else {
        return;
    };
    let _ = o.stop.send(true);
    let finished = tokio::time::timeout(cluster.settings.lease() / 2, o.task).await;
    match finished {
        Ok(Ok(Ok(()))) => {
            if o.lease.check().is_ok() {
                let _ = cluster
                    .leases
                    .delete_expect_revision(partition_key(p), Some(o.lease.revision()))
                    .await;
                eprintln!("released partition {p} (epoch {})", o.lease.epoch());
            }
        }
        Ok(Ok(Err(e))) => eprintln!("partition {p}: {e}"),
        Ok(Err(_)) | Err(_) => eprintln!("partition {p}: did not stop in time; its lease expires"),
    }
    o.lease.lose();
}

/// The keys of a bucket, or `None` when NATS does not answer.
async fn key_set(store: &async_nats::jetstream::kv::Store) -> Option<BTreeSet<String>> {
    let keys = tokio::time::timeout(Duration::from_secs(2), async {
        let mut keys = store.keys().await.ok()?;
        let mut set = BTreeSet::new();
        while let Some(k) = keys.next().await {
            set.insert(k.ok()?);
        }
        Some(set)
    })
    .await;
    keys.ok().flatten()
}
