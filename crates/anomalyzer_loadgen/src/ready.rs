//! `wait-ready`: polls `GET /readyz` until it answers 200, for the restart
//! time figure (start the server, then this at once; the time it prints
//! runs from its own start).

use std::time::Duration;

use hyper::Method;
use serde::Serialize;
use tokio::time::Instant;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::target::Target;

/// Time between two polls.
const POLL_EVERY: Duration = Duration::from_millis(5);

/// How long the server took to be ready.
#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    /// Seconds from the first poll to the first 200.
    pub ready_after_seconds: f64,
    /// Polls made.
    pub polls: u64,
}

/// Polls until `/readyz` is 200 or `give_up` has passed.
pub async fn wait_ready(target: Target, give_up: Duration) -> Result<Ready> {
    let start = Instant::now();
    // One poll never waits longer than a second, so a hung connection is
    // retried rather than eating the whole budget.
    let mut connection = Connection::new(target.clone(), give_up.min(Duration::from_secs(1)));
    let mut polls = 0;
    loop {
        polls += 1;
        let last = match connection.send(Method::GET, "/readyz", None).await {
            Ok(answer) if answer.status == 200 => {
                return Ok(Ready {
                    ready_after_seconds: start.elapsed().as_secs_f64(),
                    polls,
                })
            }
            Ok(answer) => format!(
                "{} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body).trim()
            ),
            Err((_, detail)) => detail,
        };
        if start.elapsed() >= give_up {
            return Err(Error::NotReady {
                url: target.base,
                seconds: start.elapsed().as_secs_f64(),
                last,
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
