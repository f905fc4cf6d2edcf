//! The settings of the `--remote-write` output ([`RemoteWriter`](crate::RemoteWriter)),
//! checked once before it starts.

use std::time::Duration;

use reqwest::Url;

use crate::error::{Error, Result};

/// The most concurrent senders [`RemoteWriteOptions::check`] accepts.
pub const MAX_SHARDS: usize = 256;

/// How the `--remote-write` output batches, queues and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteWriteOptions {
    /// The receiver, e.g. `http://127.0.0.1:9090/api/v1/write` (http or https).
    pub url: String,
    /// Most samples waiting to be sent, over all shards (each holds an
    /// equal part); past it new scores are dropped.
    pub queue_capacity: usize,
    /// Concurrent senders, each with its own queue and one request in
    /// flight; a series always uses the same one.
    pub shards: usize,
    /// Most samples in one request.
    pub max_samples_per_request: usize,
    /// Longest a sample waits for its batch to fill before it is sent.
    pub batch_deadline: Duration,
    /// Wait before the first retry; doubled after each failure.
    pub min_backoff: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
    /// A request without an answer by then has failed (and is retried).
    pub request_timeout: Duration,
}

impl RemoteWriteOptions {
    /// The defaults for `url`: a queue of 100 000 samples over 4 shards,
    /// 2 000 samples or 1 s per request, backoff from 30 ms to 5 s, 30 s
    /// per request.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        RemoteWriteOptions {
            url: url.into(),
            queue_capacity: 100_000,
            shards: 4,
            max_samples_per_request: 2_000,
            batch_deadline: Duration::from_secs(1),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The receiver's URL, checked: http or https with a host.
    pub fn parsed_url(&self) -> Result<Url> {
        let url = Url::parse(&self.url).map_err(|e| invalid(format!("{:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid(format!(
                "{:?}: not an http:// or https:// URL with a host",
                self.url
            )));
        }
        Ok(url)
    }

    /// Checks every field: a valid URL, sizes and durations above zero,
    /// 1 to 256 shards, at least one queued sample per shard, and
    /// `min_backoff` at most `max_backoff`.
    pub fn check(&self) -> Result<()> {
        self.parsed_url()?;
        if self.queue_capacity == 0 || self.max_samples_per_request == 0 {
            return Err(invalid(
                "the queue capacity and the samples per request must be at least 1".into(),
            ));
        }
        if !(1..=MAX_SHARDS).contains(&self.shards) || self.shards > self.queue_capacity {
            return Err(invalid(format!(
                "{} shards: there must be 1 to {MAX_SHARDS}, and no more than the queue capacity {}",
                self.shards, self.queue_capacity
            )));
        }
        if self.batch_deadline.is_zero()
            || self.min_backoff.is_zero()
            || self.request_timeout.is_zero()
        {
            return Err(invalid(
                "the batch deadline, backoff and request timeout must be above zero".into(),
            ));
        }
        if self.min_backoff > self.max_backoff {
            return Err(invalid(format!(
                "min backoff {:?} is above max backoff {:?}",
                self.min_backoff, self.max_backoff
            )));
        }
        Ok(())
    }
}

pub(crate) fn invalid(reason: String) -> Error {
    Error::InvalidConfig {
        origin: "--remote-write".into(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let ok = RemoteWriteOptions::new("http://127.0.0.1:9090/api/v1/write");
        assert!(ok.check().is_ok());
        assert!(RemoteWriteOptions::new("https://mimir.example/api/v1/push")
            .check()
            .is_ok());
        let message = |o: RemoteWriteOptions| o.check().unwrap_err().to_string();
        assert!(message(RemoteWriteOptions::new("localhost:9090")).contains("--remote-write"));
        assert!(message(RemoteWriteOptions::new("ftp://h/x")).contains("not an http://"));
        assert!(message(RemoteWriteOptions {
            queue_capacity: 0,
            ..ok.clone()
        })
        .contains("at least 1"));
        assert!(message(RemoteWriteOptions {
            batch_deadline: Duration::ZERO,
            ..ok.clone()
        })
        .contains("above zero"));
        assert!(message(RemoteWriteOptions {
            min_backoff: Duration::from_secs(9),
            ..ok
        })
        .contains("above max backoff"));
        for shards in [0, MAX_SHARDS + 1] {
            assert!(message(RemoteWriteOptions {
                shards,
                ..RemoteWriteOptions::new("http://h/")
            })
            .contains("shards"));
        }
    }
}
