//! `anomalyzer serve`: many series in one durable process, over HTTP
//! (`docs/serve.md`).
//!
//! Start-up binds the socket first and prints `listening on ADDR`, then
//! recovers the state directory on a blocking thread while `/healthz`
//! answers 200 and `/readyz`, push and write answer 503. Once recovered the
//! store is installed and the service is ready.
//!
//! SIGTERM or SIGINT: stop accepting, let requests in flight finish, then
//! [`DurableStore::shutdown`] (sync and a full snapshot) and exit 0. A
//! second signal during that shutdown exits at once with 130 (SIGINT) or
//! 143 (SIGTERM): nothing acknowledged is lost (it was durable before it was
//! acknowledged), only the final snapshot is skipped, so the next start
//! replays more of the log.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anomalyzer_serve::{
    router, AuthToken, ConnectionOptions, Drained, DurableOptions, DurableStore, RecoverySummary,
    RemoteWriteOptions, RemoteWriter, ScoreSink, ServeConfig, ServeOptions, ServiceMetrics,
    Starting,
};
use anomalyzer_store::SyncPolicy;
use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::diag::eprint_line;
use crate::exit::{BadInput, SUCCESS};
use crate::serve_flags::{parse_client_timeout, parse_listen, parse_probability, RemoteWriteUrl};

/// How long the `--remote-write` output may take at shutdown to send what
/// is queued.
const REMOTE_WRITE_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Default `--max-series`.
const DEFAULT_MAX_SERIES: u64 = 1_000_000;

/// Arguments of `anomalyzer serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// State directory (created on the first run; one process at a time)
    #[arg(long, value_name = "DIR", required_unless_present = "cluster")]
    pub state: Option<PathBuf>,
    /// Ingest into the NATS JetStream cluster at URL instead (docs/cluster.md):
    /// points are published by partition and scored by `anomalyzer worker`s
    #[arg(long, value_name = "URL", conflicts_with_all = ["state", "sync", "max_series", "remote_write", "config", "metrics_min_score"])]
    pub cluster: Option<String>,
    /// Address to listen on (port 0 picks a free port; the address is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Detector configuration file (TOML): `[default]` and `[[series]]` blocks;
    /// applies to series created from now on
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// When points are made durable (and acknowledged): always, every-n:N,
    /// interval:MS or never
    #[arg(long, value_name = "POLICY", default_value = "always")]
    pub sync: SyncPolicy,
    /// Most series held; a request creating one more is refused with 429
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SERIES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_series: u64,
    /// File holding a bearer token every endpoint but /healthz then requires
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Also write every score as `anomaly_score` to this Prometheus
    /// remote_write endpoint (http or https)
    #[arg(long, value_name = "URL")]
    pub remote_write: Option<RemoteWriteUrl>,
    /// Export only series whose latest score is at least X on /metrics
    #[arg(long, value_name = "X", default_value_t = 0.0, value_parser = parse_probability)]
    pub metrics_min_score: f64,
    /// Seconds a client has to send a request's headers, and then its body
    /// (408 past it); also how long an idle connection is kept
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_client_timeout)]
    pub client_timeout: Duration,
}

/// Runs the service until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let config = match &args.config {
        Some(path) => ServeConfig::load(path).map_err(|e| BadInput(e.to_string()))?,
        None => ServeConfig::default(),
    };
    let auth = match &args.auth_token_file {
        Some(path) => Some(AuthToken::from_file(path).map_err(|e| BadInput(e.to_string()))?),
        None => None,
    };
    let options = ServeOptions {
        metrics_min_score: args.metrics_min_score,
        auth,
        body_timeout: args.client_timeout,
        ..ServeOptions::default()
    };
    options.check().map_err(|e| BadInput(e.to_string()))?;
    if let Some(url) = &args.cluster {
        return crate::ingest::serve_cluster(url, args.listen, options.auth);
    }
    // Checked before anything is bound; started in the runtime, below.
    let remote_write = args
        .remote_write
        .as_ref()
        .map(|url| RemoteWriteOptions::new(url.uri().to_string()));
    if let Some(output) = &remote_write {
        output.check().map_err(|e| BadInput(e.to_string()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("anomalyzer-serve")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args, Arc::new(config), options, remote_write))
}

async fn serve(
    args: ServeArgs,
    config: Arc<ServeConfig>,
    mut options: ServeOptions,
    remote_write: Option<RemoteWriteOptions>,
) -> Result<ExitCode> {
    let state_dir = args
        .state
        .clone()
        .ok_or_else(|| BadInput("--state DIR is required without --cluster".into()))?;
    // Signals first, so a SIGTERM right after start-up is not lost.
    let shutdown = Shutdown::listen()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
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
    options.score_sink = output.clone().map(|writer| writer as Arc<dyn ScoreSink>);
    let slot = Arc::new(Starting::<DurableStore>::new());
    let app =
        router(Arc::clone(&slot), metrics.clone(), options).map_err(|e| BadInput(e.to_string()))?;
    let connections = ConnectionOptions {
        header_timeout: args.client_timeout,
        ..ConnectionOptions::default()
    };
    let server = tokio::spawn(anomalyzer_serve::serve(
        listener,
        app,
        connections,
        shutdown.requested(),
    ));
    eprint_line!("listening on {address}");

    let durable = DurableOptions {
        sync: args.sync,
        max_series: args.max_series,
        config: Arc::clone(&config),
        metrics,
    };
    let dir = state_dir.clone();
    let recovered = tokio::task::spawn_blocking(move || DurableStore::open(&dir, durable))
        .await
        .context("the recovery thread failed")?;
    match recovered {
        Ok((store, summary)) => {
            eprint_line!("state {}: {summary}", state_dir.display());
            report_config_changes(&summary, &config, args.config.as_deref());
            if slot.install(store).is_err() {
                unreachable!("the store is installed once, here");
            }
        }
        Err(e) => {
            shutdown.request();
            let _ = server.await;
            return Err(anyhow::Error::msg(format!(
                "cannot open the state directory {}: {e}",
                state_dir.display()
            )));
        }
    }

    shutdown.requested().await;
    eprint_line!("shutting down: no new connections; finishing requests in flight");
    if let Drained::TimedOut(open) = server.await.context("the server task failed")? {
        eprint_line!(
            "shutting down: connections still open after the drain timeout were dropped ({open} open at the start)"
        );
    }
    // No request is in flight any more, so no score is added: the output
    // flushes while the store syncs and snapshots.
    let flush = async {
        match &output {
            Some(writer) => Some(writer.shutdown(REMOTE_WRITE_FLUSH_DEADLINE).await),
            None => None,
        }
    };
    let store_shutdown = async {
        match slot.get().cloned() {
            Some(store) => tokio::task::spawn_blocking(move || store.shutdown())
                .await
                .context("the shutdown thread failed")?
                .map_err(|e| anyhow::Error::msg(format!("shutting down: {e}"))),
            None => Ok(()),
        }
    };
    let (flushed, stored) = tokio::join!(flush, store_shutdown);
    if let Some(report) = flushed {
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
    stored?;
    eprint_line!(
        "shut down: state synced and snapshotted in {}",
        state_dir.display()
    );
    Ok(ExitCode::from(SUCCESS))
}

/// Asks for shutdown on the first SIGTERM or SIGINT (or when start-up
/// fails); a second signal exits at once with 128 + its number.
struct Shutdown {
    asked: watch::Sender<bool>,
}

impl Shutdown {
    fn listen() -> Result<Self> {
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let (asked, _) = watch::channel(false);
        let sender = asked.clone();
        tokio::spawn(async move {
            let mut signals = 0;
            loop {
                let code = tokio::select! {
                    _ = term.recv() => 143,
                    _ = int.recv() => 130,
                };
                signals += 1;
                if signals > 1 {
                    eprint_line!("second signal: exiting at once, without the final snapshot");
                    std::process::exit(code);
                }
                sender.send_replace(true);
            }
        });
        Ok(Shutdown { asked })
    }

    fn request(&self) {
        self.asked.send_replace(true);
    }

    /// Resolves once shutdown has been asked for.
    fn requested(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut asked = self.asked.subscribe();
        async move {
            // The sender lives as long as the process runs.
            let _ = asked.wait_for(|&asked| asked).await;
        }
    }
}

/// Says on stderr which series keep a configuration other than the one
/// `--config` now gives them (a changed file applies to new series only),
/// with the file's patterns that now match them.
fn report_config_changes(summary: &RecoverySummary, config: &ServeConfig, file: Option<&Path>) {
    let count = summary.changed_conf_count();
    if count == 0 {
        return;
    }
    let listed = summary.changed_conf();
    let patterns: Vec<&str> = config.patterns().collect();
    let mut matched: BTreeSet<String> = BTreeSet::new();
    for key in listed {
        matched.insert(match config.resolve(key).block {
            Some(i) => format!(
                "[[series]] match = {:?}",
                patterns.get(i).copied().unwrap_or("?")
            ),
            None => "[default]".to_owned(),
        });
    }
    let names: Vec<String> = listed.iter().map(ToString::to_string).collect();
    let more = count.saturating_sub(listed.len() as u64);
    let origin = file.map_or_else(
        || "no --config".to_owned(),
        |f| format!("--config {}", f.display()),
    );
    eprint_line!(
        "{origin}: a changed configuration applies to new series only: {count} existing series keep \
         the configuration they were created with (what now matches them: {}): {}{}",
        matched.into_iter().collect::<Vec<_>>().join(", "),
        names.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    );
}
