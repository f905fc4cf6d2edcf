//! The accept loop `anomalyzer serve` runs (`anomalyzer_serve::serve`) on a
//! real loopback socket: a client that stalls in its headers is cut off, one
//! that stalls in its body gets 408, and a shutdown stops accepting, closes
//! idle connections and lets the request in flight finish before it
//! returns. Every wait is bounded; nothing sleeps to synchronise: the
//! request in flight is held inside the store by a gate the test opens.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anomalyzer_serve::{
    Batch, ConnectionOptions, Drained, LastPoint, PointOutcome, Result, SeriesKey, SeriesStatus,
    SeriesStore, ServeConfig, ServeOptions, ServiceMetrics, StoreStats,
};
use globset::GlobMatcher;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(10);

/// The in-memory test store behind a gate: each `apply` says it has
/// begun, then waits until the test opens the gate.
struct Gated {
    inner: support::MemoryStore,
    begun: Notify,
    gate: Notify,
}

impl SeriesStore for Gated {
    async fn apply(&self, batch: &Batch) -> Result<Vec<PointOutcome>> {
        self.begun.notify_one();
        self.gate.notified().await;
        self.inner.apply(batch).await
    }
    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }
    fn find(&self, pattern: &GlobMatcher) -> Vec<SeriesStatus> {
        self.inner.find(pattern)
    }
    fn explain(&self, key: &SeriesKey) -> Option<LastPoint> {
        self.inner.explain(key)
    }
    fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
        self.inner.for_each_score(min_score, visit);
    }
    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }
}

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Drained>,
    store: Arc<Gated>,
}

async fn start(timeout: Duration) -> Running {
    let options = ServeOptions {
        body_timeout: timeout,
        ..ServeOptions::default()
    };
    let metrics = ServiceMetrics::default();
    let store = Arc::new(Gated {
        inner: support::MemoryStore::new(ServeConfig::default(), 100, metrics.fsync_seconds()),
        begun: Notify::new(),
        gate: Notify::new(),
    });
    let router = anomalyzer_serve::router(Arc::clone(&store), metrics, options).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let connections = ConnectionOptions {
        header_timeout: timeout,
        drain_timeout: LIMIT,
    };
    let server = tokio::spawn(anomalyzer_serve::serve(
        listener,
        router,
        connections,
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        addr,
        stop,
        server,
        store,
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(LIMIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Reads until the server closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    // A reset also counts as closed: the server is gone either way.
    let _ = tokio::time::timeout(LIMIT, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection in time");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads one answer whose body is `Content-Length` bytes long.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().unwrap());
            if data.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(LIMIT, stream.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        assert!(n > 0, "closed before the answer ended: {text}");
        data.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn a_client_stalling_in_its_headers_is_cut_off() {
    let running = start(Duration::from_millis(300)).await;
    let mut stream = connect(running.addr).await;
    stream
        .write_all(b"POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // Without a header timeout this read would wait for ever (and fail
    // the bound above).
    let answer = read_to_close(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    running.stop.send(()).unwrap();
    let drained = tokio::time::timeout(LIMIT, running.server).await.unwrap();
    assert_eq!(drained.unwrap(), Drained::Completely);
}

#[tokio::test]
async fn a_client_stalling_in_its_body_gets_408_and_nothing_is_applied() {
    let running = start(Duration::from_millis(300)).await;
    let line = support::line("cpu", "{}", 1, 1.0);
    let mut stream = connect(running.addr).await;
    let head = format!(
        "POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        line.len() + 100
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(line.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains(r#"{"error":"request body not received within 0.3 s"}"#),
        "{answer}"
    );
    assert_eq!(running.store.inner.points_of("cpu"), 0);

    // remote_write answers in text, as its other errors.
    let mut stream = connect(running.addr).await;
    stream
        .write_all(
            b"POST /api/v1/write HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50\r\n\r\nabc",
        )
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.ends_with("request body not received within 0.3 s"),
        "{answer}"
    );
    running.stop.send(()).unwrap();
    let drained = tokio::time::timeout(LIMIT, running.server).await.unwrap();
    assert_eq!(drained.unwrap(), Drained::Completely);
}

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_the_request_in_flight() {
    let running = start(LIMIT).await;

    // An idle keep-alive connection, after one whole request.
    let mut idle = connect(running.addr).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    // A push held inside the store when shutdown is asked for.
    let body = [
        support::line("cpu", "{}", 1, 1.0),
        support::line("cpu", "{}", 2, 2.0),
    ]
    .join("\n");
    let mut busy = connect(running.addr).await;
    let request = format!(
        "POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    busy.write_all(request.as_bytes()).await.unwrap();
    tokio::time::timeout(LIMIT, running.store.begun.notified())
        .await
        .expect("the push reaches the store");

    running.stop.send(()).unwrap();
    // The idle connection is closed at once.
    let after = read_to_close(&mut idle).await;
    assert_eq!(after, "", "an idle connection gets nothing more");
    // New connections are refused once the listener is dropped.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match TcpStream::connect(running.addr).await {
            Err(_) => break,
            Ok(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "still accepting long after shutdown"
                );
                tokio::task::yield_now().await;
            }
        }
    }
    assert!(
        !running.server.is_finished(),
        "a request is still in flight"
    );

    // The request in flight completes and is applied.
    running.store.gate.notify_one();
    let answer = read_answer(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains(r#""accepted":2"#), "{answer}");
    assert_eq!(running.store.inner.points_of("cpu"), 2);
    let drained = tokio::time::timeout(LIMIT, running.server).await.unwrap();
    assert_eq!(drained.unwrap(), Drained::Completely);
}
