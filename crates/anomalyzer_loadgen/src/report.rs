//! The report of a run: throughput, answers by status and latency
//! percentiles, as text for a person or JSON (`--json`) for a script.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::body::Format;
use crate::tally::Tally;

/// Latency percentiles of the successful requests, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// What a run did. The field names are the JSON report's.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `json`, `remote-write` or `prefill`.
    pub mode: &'static str,
    /// How points were sent.
    pub format: Format,
    /// The server's base URL.
    pub url: String,
    /// Series the load spreads over.
    pub series: u64,
    /// Points per request.
    pub batch: u64,
    /// Connections.
    pub concurrency: u64,
    /// `--rate`, the points per second aimed at (null: as fast as possible).
    pub target_rate: Option<f64>,
    /// `schedule` when paced (latency counts from when a request was due),
    /// `send` otherwise.
    pub latency_from: &'static str,
    /// From the start to the last answer.
    pub elapsed_seconds: f64,
    /// Requests answered with success (200 for push, 204 for write).
    pub requests: u64,
    /// Points in those requests.
    pub points: u64,
    /// Points the server scored (push answers' `accepted`; null for
    /// remote_write, whose 204 says nothing per point).
    pub accepted: Option<u64>,
    /// `points / elapsed_seconds`.
    pub points_per_second: f64,
    /// Failed requests, by HTTP status or `connect` / `timeout` / `io`.
    pub errors: BTreeMap<String, u64>,
    /// The first failure, for a quick diagnosis.
    pub first_error: Option<String>,
    /// Percentiles over successful requests.
    pub latency_ms: Latency,
    /// CPU seconds (user + system) this generator used during the run:
    /// on a shared machine, what it took away from the server.
    pub client_cpu_seconds: f64,
    /// `--server-pid`: CPU seconds the server used during the run.
    pub server_cpu_seconds: Option<f64>,
    /// `--server-pid`: the server's resident set size after the run.
    pub server_rss_bytes: Option<u64>,
}

/// The run's settings that the report repeats.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Mode name.
    pub mode: &'static str,
    /// How points were sent.
    pub format: Format,
    /// Base URL.
    pub url: String,
    /// Series.
    pub series: u64,
    /// Batch.
    pub batch: u64,
    /// Connections.
    pub concurrency: u64,
    /// `--rate`.
    pub rate: Option<f64>,
}

impl Report {
    /// The report of `tally` over `elapsed_seconds`.
    #[must_use]
    pub fn new(info: RunInfo, tally: &Tally, elapsed_seconds: f64) -> Report {
        let h = &tally.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let latency_ms = if h.is_empty() {
            Latency {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0.0,
                mean: 0.0,
            }
        } else {
            Latency {
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p99: ms(h.value_at_quantile(0.99)),
                max: ms(h.max()),
                mean: h.mean() / 1000.0,
            }
        };
        Report {
            mode: info.mode,
            format: info.format,
            url: info.url,
            series: info.series,
            batch: info.batch,
            concurrency: info.concurrency,
            target_rate: info.rate,
            latency_from: if info.rate.is_some() {
                "schedule"
            } else {
                "send"
            },
            elapsed_seconds,
            requests: tally.requests,
            points: tally.points,
            accepted: (info.format == Format::Json).then_some(tally.accepted),
            points_per_second: if elapsed_seconds > 0.0 {
                tally.points as f64 / elapsed_seconds
            } else {
                0.0
            },
            errors: tally.errors.clone(),
            first_error: tally.first_error.clone(),
            latency_ms,
            client_cpu_seconds: 0.0,
            server_cpu_seconds: None,
            server_rss_bytes: None,
        }
    }

    /// Requests that failed.
    #[must_use]
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The JSON report, one line.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A struct of numbers, strings and string-keyed maps always
        // serializes.
        serde_json::to_string(self).expect("the report serializes")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = match self.target_rate {
            Some(r) => format!("paced at {r:.0} points/s"),
            None => "as fast as answers come".into(),
        };
        writeln!(
            f,
            "{} to {}: {} series, batches of {}, {} connections, {rate}",
            self.mode, self.url, self.series, self.batch, self.concurrency
        )?;
        writeln!(
            f,
            "{:.0} points/s: {} points in {} requests over {:.3} s",
            self.points_per_second, self.points, self.requests, self.elapsed_seconds
        )?;
        if let Some(accepted) = self.accepted {
            writeln!(f, "accepted (scored) by the server: {accepted}")?;
        }
        let l = &self.latency_ms;
        writeln!(
            f,
            "latency (ms, from {}): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
            self.latency_from, l.p50, l.p90, l.p99, l.max, l.mean
        )?;
        if self.errors.is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            writeln!(f, "errors: {}", list.join(", "))?;
            if let Some(first) = &self.first_error {
                writeln!(f, "first error: {first}")?;
            }
        }
        write!(f, "CPU seconds: client {:.2}", self.client_cpu_seconds)?;
        match self.server_cpu_seconds {
            Some(server) => writeln!(f, ", server {server:.2}")?,
            None => writeln!(f)?,
        }
        if let Some(rss) = self.server_rss_bytes {
            writeln!(
                f,
                "server RSS: {rss} bytes ({:.1} MiB)",
                rss as f64 / 1048576.0
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn info(format: Format, rate: Option<f64>) -> RunInfo {
        RunInfo {
            mode: "json",
            format,
            url: "http://127.0.0.1:1".into(),
            series: 100,
            batch: 10,
            concurrency: 2,
            rate,
        }
    }

    #[test]
    fn json_report_has_the_documented_fields() {
        let mut tally = Tally::default();
        for _ in 0..4 {
            tally.success(10, 10, Duration::from_millis(2));
        }
        tally.failure("503", || "503: full".into());
        let report = Report::new(info(Format::Json, Some(100.0)), &tally, 2.0);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["requests"], 4);
        assert_eq!(v["points"], 40);
        assert_eq!(v["accepted"], 40);
        assert_eq!(v["points_per_second"], 20.0);
        assert_eq!(v["errors"]["503"], 1);
        assert_eq!(v["format"], "json");
        assert_eq!(v["latency_from"], "schedule");
        let p99 = v["latency_ms"]["p99"].as_f64().unwrap();
        assert!((1.99..=2.01).contains(&p99), "{p99}");
        assert_eq!(report.failed(), 1);
        let text = report.to_string();
        assert!(text.contains("errors: 503: 1"), "{text}");
        assert!(text.contains("first error: 503: full"), "{text}");
    }

    #[test]
    fn remote_write_reports_no_accepted_count() {
        let report = Report::new(info(Format::RemoteWrite, None), &Tally::default(), 0.0);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert!(v["accepted"].is_null());
        assert_eq!(v["format"], "remote-write");
        assert_eq!(v["latency_from"], "send");
        assert_eq!(v["latency_ms"]["max"], 0.0);
        assert!(report.to_string().contains("errors: none"));
    }
}
