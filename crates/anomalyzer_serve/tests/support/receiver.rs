//! A remote_write receiver on a loopback port, for the output's tests: it
//! records every request (headers and decoded samples) and answers with
//! the statuses it is told to, one per request, then 204.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anomalyzer_serve::{decode_write_request, IdentityLimits, Point};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::sync::Semaphore;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    /// The samples, decoded with the service's own remote_write decoder.
    pub points: Vec<Point>,
    /// The status it was answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<u16>>,
    /// When set, each request waits for a permit before it is answered.
    gate: Option<Semaphore>,
}

/// The receiver; it stops with the test's runtime.
pub struct Receiver {
    inner: Arc<Inner>,
    pub url: String,
}

impl Receiver {
    /// Answers `script`'s statuses in turn, then 204 to everything.
    pub async fn start(script: &[u16]) -> Receiver {
        Self::start_inner(script, None).await
    }

    /// Like [`start`](Self::start), but holds every request until
    /// [`release`](Self::release) lets it through.
    pub async fn gated() -> Receiver {
        Self::start_inner(&[], Some(Semaphore::new(0))).await
    }

    async fn start_inner(script: &[u16], gate: Option<Semaphore>) -> Receiver {
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(script.iter().copied().collect()),
            gate,
        });
        let app = Router::new()
            .route("/api/v1/write", post(receive))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { inner, url }
    }

    /// Lets `n` held requests be answered.
    pub fn release(&self, n: usize) {
        self.inner
            .gate
            .as_ref()
            .expect("a gated receiver")
            .add_permits(n);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.requests();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} requests arrived",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let batch = decode_write_request(&body, &IdentityLimits::default(), 64 << 20)
        .expect("the output sends valid remote_write bodies");
    let status = inner.script.lock().unwrap().pop_front().unwrap_or(204);
    inner.requests.lock().unwrap().push(Received {
        headers,
        points: batch.into_points(),
        status,
    });
    if let Some(gate) = &inner.gate {
        gate.acquire().await.unwrap().forget();
    }
    (
        StatusCode::from_u16(status).unwrap(),
        format!("scripted answer {status}"),
    )
}
