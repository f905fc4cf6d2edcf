//! The accept loop of `anomalyzer serve`: HTTP/1.1 connections over the
//! router, with a header-read timeout for slow clients and a graceful
//! shutdown that stops accepting and lets requests in flight finish.
//!
//! axum's own `serve` has neither a header timeout nor a way to set one,
//! so connections are driven by hyper directly (as axum does inside).

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Default time a client has to send a request's headers, and the longest
/// an idle keep-alive connection is kept: 30 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionOptions {
    /// Time from the first byte of a request (or from the end of the
    /// previous one on a kept-alive connection) until its headers are in;
    /// past it the connection is closed. Bodies have their own deadline
    /// ([`ServeOptions::body_timeout`](crate::ServeOptions::body_timeout)).
    pub header_timeout: Duration,
    /// After shutdown is asked for, the longest requests in flight are
    /// waited for before their connections are dropped.
    pub drain_timeout: Duration,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            drain_timeout: Duration::from_secs(60),
        }
    }
}

/// How a [`serve`] loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished its request in flight and closed.
    Completely,
    /// The drain timeout passed with connections still open; they were
    /// dropped. The figure is how many were open when shutdown began.
    TimedOut(usize),
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, lets every request in flight finish (idle keep-alive
/// connections are closed at once) and returns once all connections are
/// closed or the drain timeout passed.
///
/// Accept errors (a full file table, say) do not stop the loop: it waits a
/// little and accepts again, as a server under load must.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ConnectionOptions,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let watched = graceful.watch(connection);
                    tokio::spawn(async move {
                        // A client that breaks off mid-request is its own
                        // business; nothing of its request was applied
                        // unless its answer was being written.
                        let _ = watched.await;
                    });
                }
                Err(e) => accept_failed(&e).await,
            },
        }
    }
    // Stop accepting: new connections are refused from here on.
    drop(listener);
    let open = graceful.count();
    match tokio::time::timeout(options.drain_timeout, graceful.shutdown()).await {
        Ok(()) => Drained::Completely,
        Err(_) => Drained::TimedOut(open),
    }
}

/// Errors of `accept` that concern one connection (reset before it was
/// accepted) are skipped; others (out of file descriptors) are waited out
/// briefly so the loop does not spin.
async fn accept_failed(e: &io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset => {}
        _ => tokio::time::sleep(Duration::from_millis(50)).await,
    }
}
