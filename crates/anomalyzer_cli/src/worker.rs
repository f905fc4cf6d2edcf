//! `anomalyzer worker`: owns cluster partitions through leases, applies
//! their points to the series' detectors and publishes the scores
//! (docs/cluster.md). Also the cluster flags `anomalyzer ingest` shares.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anomalyzer_cluster::{
    bootstrap, connect, run_worker, worker_router, Cluster, ClusterOptions, SnapshotPolicy,
    WorkerOptions, WorkerStatus,
};
use anomalyzer_serve::{RemoteWriteOptions, RemoteWriter, ScoreSink, ServeConfig, ServiceMetrics};
use anyhow::{Context, Result};
use clap::Args;

use crate::diag::eprint_line;
use crate::exit::{BadInput, SUCCESS};
use crate::serve_flags::RemoteWriteUrl;

/// How long a stopping worker gives its `--remote-write` output to send
/// what is queued.
const REMOTE_WRITE_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// How to reach and, for the first node, create the cluster.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The NATS server, e.g. nats://127.0.0.1:4222.
    #[arg(long, value_name = "URL")]
    pub cluster: String,
    /// Partitions of a new cluster (default 64); must match an existing one.
    #[arg(long, value_name = "N")]
    pub partitions: Option<u32>,
    /// Lease time of a new cluster in milliseconds (default 10000); must
    /// match an existing one.
    #[arg(long, value_name = "MS")]
    pub lease_ms: Option<u64>,
    /// Replicas of the streams and buckets this node creates (3 in production).
    #[arg(long, value_name = "R", default_value_t = 1)]
    pub replicas: usize,
    /// Timeout of every JetStream request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub nats_timeout_ms: u64,
}

impl ClusterArgs {
    /// Connects and creates or joins the cluster.
    pub async fn join(&self) -> Result<Cluster> {
        let js = connect(&self.cluster, Duration::from_millis(self.nats_timeout_ms)).await?;
        let options = ClusterOptions {
            partitions: self.partitions,
            lease: self.lease_ms.map(Duration::from_millis),
            replicas: self.replicas,
        };
        Ok(bootstrap(js, options).await?)
    }
}

/// Arguments of `anomalyzer worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The worker's directory: its id (`worker-id`) and lock.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// Detector configuration of new series (TOML, as for `serve`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Snapshot a partition after this many points messages.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    snapshot_messages: u64,
    /// Snapshot a partition at least this often (milliseconds) while it moves.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    snapshot_interval_ms: u64,
    /// Serve GET /metrics and /healthz here (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// /metrics exports only series whose last score is at least this.
    #[arg(long, value_name = "X", default_value_t = 0.0)]
    metrics_min_score: f64,
    /// Also send every score as remote_write series `anomaly_score` to this
    /// endpoint (http or https), as `anomalyzer serve --remote-write` does.
    #[arg(long, value_name = "URL")]
    remote_write: Option<RemoteWriteUrl>,
}

/// Runs `anomalyzer worker` until SIGTERM or SIGINT.
pub fn run(args: WorkerArgs) -> Result<ExitCode> {
    let config = match &args.config {
        Some(path) => ServeConfig::load(path).map_err(|e| BadInput(e.to_string()))?,
        None => ServeConfig::default(),
    };
    if args.snapshot_messages == 0 {
        return Err(BadInput("--snapshot-messages must be at least 1".into()).into());
    }
    let remote_write = args
        .remote_write
        .as_ref()
        .map(|url| RemoteWriteOptions::new(url.uri().to_string()));
    if let Some(output) = &remote_write {
        output.check().map_err(|e| BadInput(e.to_string()))?;
    }
    let (id, _lock) = worker_identity(&args.state)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let cluster = args.cluster.join().await?;
        eprint_line!(
            "worker {id}: joined cluster at {} ({} partitions, lease {} ms)",
            args.cluster.cluster,
            cluster.settings.partitions,
            cluster.settings.lease_ms
        );
        let metrics = ServiceMetrics::default();
        let output = match remote_write {
            Some(output) => {
                let url = output.url.clone();
                let writer = RemoteWriter::start(output, metrics.remote_write())
                    .map_err(|e| BadInput(e.to_string()))?;
                eprint_line!("remote-write: every score goes to {url} as anomaly_score");
                Some(Arc::new(writer))
            }
            None => None,
        };
        let options = WorkerOptions {
            id,
            config: Arc::new(config),
            snapshots: SnapshotPolicy {
                messages: args.snapshot_messages,
                interval: Duration::from_millis(args.snapshot_interval_ms.max(1)),
            },
            metrics: metrics.clone(),
            score_sink: output.clone().map(|writer| writer as Arc<dyn ScoreSink>),
        };
        let (status, watch) = tokio::sync::watch::channel(WorkerStatus::default());
        if let Some(listen) = args.listen {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = listener
                .local_addr()
                .context("cannot read the bound address")?;
            let router = worker_router(watch, metrics, args.metrics_min_score);
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    eprint_line!("anomalyzer worker: /metrics server failed: {e}");
                }
            });
            eprint_line!("listening on {addr}");
        }
        let ran = run_worker(cluster, options, status, shutdown_signal()).await;
        if let Some(writer) = &output {
            let report = writer.shutdown(REMOTE_WRITE_FLUSH_DEADLINE).await;
            if report.flushed {
                eprint_line!("shutting down: remote-write: every queued score was sent");
            } else {
                eprint_line!(
                    "shutting down: remote-write: {} scores not sent within {} s, dropped",
                    report.dropped,
                    REMOTE_WRITE_FLUSH_DEADLINE.as_secs()
                );
            }
        }
        ran?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::from(SUCCESS))
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process still dies of the signal.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The worker's id from `DIR/worker-id` (made on first start), and the
/// lock on `DIR/lock` that keeps a second worker off the directory.
fn worker_identity(dir: &Path) -> Result<(String, fs::File)> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join("lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    lock.try_lock().map_err(|_| {
        BadInput(format!(
            "{}: another worker holds this state directory",
            dir.display()
        ))
    })?;
    let id_path = dir.join("worker-id");
    match fs::read_to_string(&id_path) {
        Ok(text) => {
            let id = text.trim().to_owned();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(BadInput(format!(
                    "{}: not a worker id (letters and digits)",
                    id_path.display()
                ))
                .into());
            }
            Ok((id, lock))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // RandomState is seeded from the OS's randomness.
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            let id = format!("{:016x}", hasher.finish());
            let tmp = dir.join("worker-id.tmp");
            let mut file = fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            writeln!(file, "{id}")
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            fs::rename(&tmp, &id_path).with_context(|| {
                format!("cannot rename {} to {}", tmp.display(), id_path.display())
            })?;
            Ok((id, lock))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", id_path.display())),
    }
}
