//! The router behind a real socket: axum's HTTP/1.1 server on 127.0.0.1,
//! port 0, spoken to with hand-written requests, so the wire format (status
//! line, headers, early 413 on a declared oversize body) is what a client
//! sees. Every wait is bounded.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use anomalyzer_serve::{ServeConfig, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const LIMIT: Duration = Duration::from_secs(10);

/// Sends `request` bytes and reads the whole answer (the request asks the
/// server to close the connection).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::time::timeout(LIMIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    String::from_utf8(answer).expect("UTF-8 answer")
}

/// Sends `request` and reads only the status line and headers: for an
/// answer given before the body was read, where the server may then keep
/// the connection waiting for the rest of the body.
async fn exchange_head(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::time::timeout(LIMIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    stream.write_all(request).await.expect("send");
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(LIMIT, stream.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        assert!(n > 0, "connection closed before the headers ended");
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).expect("UTF-8 answer")
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn push_metrics_and_limits_over_a_real_connection() {
    let options = ServeOptions {
        body_limit: 4096,
        ..ServeOptions::default()
    };
    let (router, store, _) = support::app(ServeConfig::default(), 10, options);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let body = [
        support::line("cpu", r#"{"host":"a"}"#, 1, 1.0),
        support::line("cpu", r#"{"host":"a"}"#, 2, 2.0),
    ]
    .join("\n");
    let answer = exchange(addr, &post("/api/v1/push", &body)).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"accepted\":2"), "{answer}");
    assert_eq!(store.points_of("cpu"), 2);

    let bad = exchange(addr, &post("/api/v1/push", "{\"series\":\"cpu\"")).await;
    assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
    assert!(bad.contains("\"line\":1"), "{bad}");

    // Declared larger than the limit: refused without reading the body.
    let oversize = b"POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n";
    let answer = exchange_head(addr, oversize).await;
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );

    let metrics = exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        metrics.contains("content-type: text/plain; version=0.0.4"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"anomalyzer_anomaly_score{host="a",series="cpu"}"#),
        "{metrics}"
    );

    stop.send(()).expect("server still running");
    tokio::time::timeout(LIMIT, server)
        .await
        .expect("server stops in time")
        .expect("server task")
        .expect("server ran cleanly");
}
