//! A worker's `GET /metrics`: the single-process service's exposition
//! (`anomalyzer_anomaly_score` of the worker's series, points scored and
//! rejected) plus the partitions it owns and the lag of each.

use std::fmt::Write as _;
use std::sync::{Arc, PoisonError};

use anomalyzer_serve::{
    openmetrics_to_text_004, render_metrics, wants_openmetrics, Batch, Error as ServeError,
    LastPoint, PointOutcome, SeriesKey, SeriesStatus, SeriesStore, ServiceMetrics, StoreStats,
    METRICS_CONTENT_TYPE, METRICS_TEXT_CONTENT_TYPE,
};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use globset::GlobMatcher;
use tokio::sync::watch;

use crate::worker::WorkerStatus;

/// The owned partitions' detectors, seen as a read-only store so that the
/// service's exposition can render them.
struct OwnedSeries(WorkerStatus);

impl SeriesStore for OwnedSeries {
    async fn apply(&self, _batch: &Batch) -> Result<Vec<PointOutcome>, ServeError> {
        Err(ServeError::Unavailable(
            "a worker takes points from the cluster, not over HTTP".into(),
        ))
    }

    fn is_ready(&self) -> bool {
        true
    }

    fn find(&self, _pattern: &GlobMatcher) -> Vec<SeriesStatus> {
        Vec::new()
    }

    fn explain(&self, _key: &SeriesKey) -> Option<LastPoint> {
        None
    }

    fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
        for view in &self.0.partitions {
            let state = view.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.for_each_score(min_score, visit);
        }
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            series: self
                .0
                .partitions
                .iter()
                .map(|v| {
                    let state = v.state.lock().unwrap_or_else(PoisonError::into_inner);
                    state.series_count() as u64
                })
                .sum(),
            wal_bytes: 0,
        }
    }
}

#[derive(Clone)]
struct MetricsState {
    status: watch::Receiver<WorkerStatus>,
    metrics: ServiceMetrics,
    min_score: f64,
}

/// `GET /metrics` and `GET /healthz` of a worker.
pub fn worker_router(
    status: watch::Receiver<WorkerStatus>,
    metrics: ServiceMetrics,
    min_score: f64,
) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(MetricsState {
            status,
            metrics,
            min_score,
        })
}

/// The worker's own families, in the text format 0.0.4.
fn partition_families(status: &WorkerStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP anomalyzer_partitions_owned Partitions this worker holds a lease on"
    );
    let _ = writeln!(out, "# TYPE anomalyzer_partitions_owned gauge");
    let _ = writeln!(
        out,
        "anomalyzer_partitions_owned {}",
        status.partitions.len()
    );
    let _ = writeln!(
        out,
        "# HELP anomalyzer_partition_lag Points messages of the partition not yet applied"
    );
    let _ = writeln!(out, "# TYPE anomalyzer_partition_lag gauge");
    for v in &status.partitions {
        let _ = writeln!(
            out,
            "anomalyzer_partition_lag{{partition=\"{}\"}} {}",
            v.partition, v.progress.lag
        );
    }
    out
}

async fn metrics_text(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    let status = state.status.borrow().clone();
    let own = partition_families(&status);
    let store = Arc::new(OwnedSeries(status));
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match render_metrics(&store, &state.metrics, state.min_score) {
        Ok(text) if wants_openmetrics(accept) => {
            // Our families go before the closing `# EOF`.
            let body = match text.strip_suffix("# EOF\n") {
                Some(head) => format!("{head}{own}# EOF\n"),
                None => format!("{text}{own}"),
            };
            ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], body).into_response()
        }
        Ok(text) => (
            [(header::CONTENT_TYPE, METRICS_TEXT_CONTENT_TYPE)],
            format!("{}{own}", openmetrics_to_text_004(&text)),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
