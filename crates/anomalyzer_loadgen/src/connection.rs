//! One keep-alive HTTP/1.1 connection to the server (hyper's client
//! connection on a tokio TCP stream), reopened after any failure.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::target::Target;

/// Largest answer body read; the server's push answer for a batch of
/// 100 000 points is far below this.
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// An answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The body, read in full.
    pub body: Bytes,
}

/// A request body with its `Content-Type` and `Content-Encoding`.
#[derive(Debug)]
pub struct Payload {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Content-Encoding`, if any.
    pub encoding: Option<&'static str>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Why a request got no answer. These are counted by kind in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// TCP connect or HTTP handshake failed.
    Connect,
    /// No complete answer within the request timeout.
    Timeout,
    /// The connection broke while sending or reading.
    Io,
    /// The answer body was larger than [`MAX_ANSWER_BYTES`].
    AnswerTooLarge,
}

impl Failure {
    /// The key of this failure in the report's `errors`.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Timeout => "timeout",
            Failure::Io => "io",
            Failure::AnswerTooLarge => "answer too large",
        }
    }
}

/// A connection that reconnects lazily: the next request after a failure
/// opens a new one.
pub struct Connection {
    target: Target,
    timeout: Duration,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection to `target`; nothing is opened until the first request.
    #[must_use]
    pub fn new(target: Target, timeout: Duration) -> Connection {
        Connection {
            target,
            timeout,
            sender: None,
        }
    }

    /// Sends one request and reads its whole answer, within the timeout
    /// (connecting counts towards it).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        payload: Option<Payload>,
    ) -> Result<Answer, (Failure, String)> {
        match tokio::time::timeout(self.timeout, self.exchange(method, path, payload)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(failure)) => {
                self.sender = None;
                Err(failure)
            }
            Err(_) => {
                self.sender = None;
                Err((
                    Failure::Timeout,
                    format!("no answer within {:?}", self.timeout),
                ))
            }
        }
    }

    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        payload: Option<Payload>,
    ) -> Result<Answer, (Failure, String)> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.open().await?),
        };
        sender
            .ready()
            .await
            .map_err(|e| (Failure::Io, e.to_string()))?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.target.authority.as_str());
        if let Some(auth) = &self.target.authorization {
            let value = HeaderValue::from_str(auth).map_err(|e| (Failure::Io, e.to_string()))?;
            request = request.header(AUTHORIZATION, value);
        }
        let body = match payload {
            Some(payload) => {
                request = request.header(CONTENT_TYPE, payload.content_type);
                if let Some(encoding) = payload.encoding {
                    request = request.header(CONTENT_ENCODING, encoding);
                }
                Full::new(Bytes::from(payload.bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request
            .body(body)
            .map_err(|e| (Failure::Io, e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| (Failure::Io, e.to_string()))?;
        let status = response.status().as_u16();
        let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
        let body = limited
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    (Failure::AnswerTooLarge, e.to_string())
                } else {
                    (Failure::Io, e.to_string())
                }
            })?
            .to_bytes();
        Ok(Answer { status, body })
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, (Failure, String)> {
        let connect = |e: &dyn std::fmt::Display| {
            (Failure::Connect, format!("{}: {e}", self.target.authority))
        };
        let stream = TcpStream::connect(self.target.authority.as_str())
            .await
            .map_err(|e| connect(&e))?;
        // Small answers must not wait for Nagle's algorithm.
        stream.set_nodelay(true).map_err(|e| connect(&e))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect(&e))?;
        // The connection's I/O runs on its own task; it ends when the
        // sender is dropped or the server closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}
