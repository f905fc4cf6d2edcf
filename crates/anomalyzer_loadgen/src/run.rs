//! Runs the load: one task per connection, each sending its own series
//! (see [`workload`](crate::workload)) on the shared schedule, then merges
//! their tallies.

use std::time::Duration;

use hyper::Method;
use tokio::time::Instant;

use crate::body::Format;
use crate::connection::{Answer, Connection};
use crate::pacing::Schedule;
use crate::tally::Tally;
use crate::target::Target;
use crate::workload::{Shape, Stream};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Load {
    /// Where.
    pub target: Target,
    /// How points are encoded and sent.
    pub format: Format,
    /// Series, batch, connections, timestamps, seed.
    pub shape: Shape,
    /// Pacing and when to stop.
    pub schedule: Schedule,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Runs `load`; returns the merged tally and the seconds from the start
/// to the last answer.
pub async fn run(load: Load) -> (Tally, f64) {
    let tasks: Vec<_> = (0..load.shape.connections)
        .map(|w| tokio::spawn(connection_task(load.clone(), w)))
        .collect();
    let mut total = Tally::default();
    let mut end = load.schedule.start;
    for task in tasks {
        match task.await {
            Ok((tally, finished)) => {
                total.merge(tally);
                end = end.max(finished);
            }
            // A connection task only ends by returning; a panic in one is
            // a bug, reported rather than hidden.
            Err(e) => total.failure("task", || format!("connection task failed: {e}")),
        }
    }
    (total, (end - load.schedule.start).as_secs_f64())
}

/// The requests of connection `w`; returns its tally and when its last
/// answer came.
async fn connection_task(load: Load, w: u64) -> (Tally, Instant) {
    let mut stream = Stream::new(load.shape, w);
    let mut connection = Connection::new(load.target.clone(), load.timeout);
    let mut tally = Tally::default();
    let mut points = Vec::with_capacity(load.shape.batch as usize);
    let mut last = load.schedule.start;
    for k in 0.. {
        let g = k * load.shape.connections + w;
        let due = load.schedule.due(g);
        if !load
            .schedule
            .includes(g, k, stream.per_round(), due.unwrap_or_else(Instant::now))
        {
            break;
        }
        // The body is made before the due time, so encoding is not part of
        // the latency of a paced request.
        stream.next_request(&mut points);
        let payload = load.format.encode(&points);
        if let Some(due) = due {
            tokio::time::sleep_until(due).await;
        }
        let sent = Instant::now();
        let from = due.unwrap_or(sent);
        let result = connection
            .send(Method::POST, load.format.path(), Some(payload))
            .await;
        last = Instant::now();
        let n = points.len() as u64;
        match result {
            Ok(answer) if answer.status == load.format.success() => {
                match accepted(load.format, &answer, n) {
                    Some(accepted) => tally.success(n, accepted, last - from),
                    None => tally.failure("unreadable answer", || {
                        format!(
                            "{} answer without \"accepted\": {}",
                            answer.status,
                            excerpt(&answer)
                        )
                    }),
                }
            }
            Ok(answer) => tally.failure(&answer.status.to_string(), || {
                format!("{}: {}", answer.status, excerpt(&answer))
            }),
            Err((failure, detail)) => tally.failure(failure.key(), || detail),
        }
    }
    (tally, last)
}

/// Points the server scored: a push answer's `"accepted"` (the answer's
/// first key, so only its start is read); a remote_write 204 says nothing
/// per point, so all `n` count.
fn accepted(format: Format, answer: &Answer, n: u64) -> Option<u64> {
    match format {
        Format::RemoteWrite => Some(n),
        Format::Json => {
            const KEY: &[u8] = b"\"accepted\":";
            let head = &answer.body[..answer.body.len().min(64)];
            let at = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
            let digits: Vec<u8> = head[at..]
                .iter()
                .copied()
                .skip_while(|b| *b == b' ')
                .take_while(u8::is_ascii_digit)
                .collect();
            std::str::from_utf8(&digits).ok()?.parse().ok()
        }
    }
}

/// The start of an answer body, for the report's `first_error`.
fn excerpt(answer: &Answer) -> String {
    let text = String::from_utf8_lossy(&answer.body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn the_accepted_count_is_read_from_the_push_answer() {
        let a = answer(r#"{"accepted":998,"results":[]}"#);
        assert_eq!(accepted(Format::Json, &a, 1000), Some(998));
        assert_eq!(
            accepted(Format::Json, &answer(r#"{"results":[]}"#), 1),
            None
        );
        assert_eq!(accepted(Format::RemoteWrite, &answer(""), 7), Some(7));
    }

    #[test]
    fn long_error_bodies_are_cut() {
        let long = answer(&"x".repeat(500));
        assert_eq!(excerpt(&long).chars().count(), 201);
        assert_eq!(excerpt(&answer(" short\n")), "short");
    }
}
