//! A real Prometheus (the Debian package `prometheus`, installed by
//! `.ci/run`) on a free loopback port, with a temporary TSDB, a generated
//! `prometheus.yml` and the remote-write receiver on; killed on drop.
//!
//! Where the environment variable `CI` is set, a missing `prometheus`
//! fails the test; elsewhere [`Prometheus::start`] returns `None` and the
//! test says it did not run.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// The binary: `$PROMETHEUS` when set, else `prometheus` on the `PATH`.
fn binary() -> String {
    std::env::var("PROMETHEUS").unwrap_or_else(|_| "prometheus".into())
}

/// A running Prometheus; killed (and its directory removed) on drop.
pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `config` as its `prometheus.yml` and waits
    /// (at most 60 s) until `/-/ready` answers 200. `None` when the binary
    /// is missing and `CI` is not set.
    pub async fn start(config: &str) -> Option<Prometheus> {
        if let Err(e) = Command::new(binary()).arg("--version").output() {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI is set but {} cannot be run: {e} (apt-get install -y prometheus)",
                    binary()
                );
            }
            eprintln!(
                "not run: {} cannot be run ({e}); install the Debian package `prometheus`",
                binary()
            );
            return None;
        }
        // A free port can be taken by someone else before Prometheus binds
        // it; then Prometheus exits and another port is tried.
        let mut last_log = String::new();
        for _ in 0..3 {
            match Self::try_start(config).await {
                Ok(prometheus) => return Some(prometheus),
                Err(log) => last_log = log,
            }
        }
        panic!("prometheus did not start:\n{last_log}");
    }

    async fn try_start(config: &str) -> Result<Prometheus, String> {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_port();
        let config_path = dir.path().join("prometheus.yml");
        fs::write(&config_path, config).unwrap();
        let log = fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(binary())
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-remote-write-receiver")
            // For `reload`: POST /-/reload.
            .arg("--web.enable-lifecycle")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", binary()));
        let mut prometheus = Prometheus { child, addr, dir };
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", prometheus.log()));
            }
            let ready = client
                .get(format!("{}/-/ready", prometheus.url()))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(prometheus);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("not ready within 60 s:\n{}", prometheus.log()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its remote-write receiver.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// Replaces `prometheus.yml` with `config` and makes Prometheus load
    /// it (`POST /-/reload`), which must succeed.
    pub async fn reload(&self, config: &str) {
        fs::write(self.dir.path().join("prometheus.yml"), config).unwrap();
        let answer = reqwest::Client::new()
            .post(format!("{}/-/reload", self.url()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("reload: {e}"));
        let status = answer.status();
        assert!(
            status.is_success(),
            "reload: {status}: {}\nlog:\n{}",
            answer.text().await.unwrap_or_default(),
            self.log()
        );
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The `data.result` of an instant query (`/api/v1/query`), which must
    /// succeed.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let answer = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url()))
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {promql:?}: {e}"));
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(status.is_success(), "query {promql:?}: {status}: {text}");
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["status"], "success", "{text}");
        json["data"]["result"].as_array().unwrap().clone()
    }

    /// Polls `promql` (every 250 ms, at most `within`) until `done` holds
    /// for its result; the last result, or a panic with the log.
    pub async fn query_until(
        &self,
        promql: &str,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let result = self.query(promql).await;
            if done(&result) {
                return result;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{promql:?} still gives {result:?} after {within:?}; prometheus log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A series' labels in a query result, without `__name__`, as sorted pairs.
pub fn labels_of(result: &Value) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = result["metric"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    labels.sort();
    labels
}

/// A `prometheus.yml` for the round trip of issue 12: Prometheus scrapes
/// itself (`job="prometheus"`) and the service's `/metrics`
/// (`job="anomalyzer"`) every second, and remote-writes what it scrapes
/// into the service's `/api/v1/write` within a second. The scores the
/// service writes back (`anomaly_score`) are not sent to it again: that
/// would score scores, and each round would nest one more `series` label.
pub fn round_trip_config(prometheus: SocketAddr, service: SocketAddr) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["{prometheus}"]
  - job_name: anomalyzer
    static_configs:
      - targets: ["{service}"]
remote_write:
  - url: "http://{service}/api/v1/write"
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 50ms
      max_backoff: 1s
    write_relabel_configs:
      - source_labels: [__name__]
        regex: anomaly_score
        action: drop
"#
    )
}
