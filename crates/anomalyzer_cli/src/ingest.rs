//! `anomalyzer ingest` and `anomalyzer serve --cluster URL`: the cluster's
//! ingest node (docs/cluster.md, "Ingest"). `ingest` also takes the flags
//! that create a cluster (`--partitions`, `--lease-ms`, ...).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anomalyzer_cluster::{ingest_router, IngestOptions, Publisher};
use anomalyzer_serve::AuthToken;
use anyhow::{Context, Result};
use clap::Args;

use crate::diag::eprint_line;
use crate::exit::{BadInput, SUCCESS};
use crate::worker::{shutdown_signal, ClusterArgs};

/// Arguments of `anomalyzer ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    /// Every route but /healthz then needs `Authorization: Bearer <token>`.
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<PathBuf>,
}

/// Runs the ingest node until SIGTERM or SIGINT.
pub fn run(args: IngestArgs) -> Result<ExitCode> {
    let auth = match &args.auth_token_file {
        Some(path) => Some(AuthToken::from_file(path).map_err(|e| BadInput(e.to_string()))?),
        None => None,
    };
    run_ingest(&args.cluster, args.listen, auth)
}

/// `anomalyzer serve --cluster URL`: the ingest node with the cluster's
/// stored (or default) settings.
pub fn serve_cluster(url: &str, listen: SocketAddr, auth: Option<AuthToken>) -> Result<ExitCode> {
    let cluster = ClusterArgs {
        cluster: url.to_owned(),
        partitions: None,
        lease_ms: None,
        replicas: 1,
        nats_timeout_ms: 2000,
    };
    run_ingest(&cluster, listen, auth)
}

fn run_ingest(
    cluster_args: &ClusterArgs,
    listen: SocketAddr,
    auth: Option<AuthToken>,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let cluster = cluster_args.join().await?;
        let partitions = cluster.settings.partitions;
        let router = ingest_router(
            Publisher::new(cluster),
            IngestOptions {
                auth,
                ..IngestOptions::default()
            },
        );
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        eprint_line!(
            "ingest into {} ({partitions} partitions)",
            cluster_args.cluster
        );
        eprint_line!("listening on {addr}");
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("HTTP server failed")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::from(SUCCESS))
}
