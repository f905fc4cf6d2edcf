//! The generator against the real service: `anomalyzer serve` (the durable
//! store, `--sync always`) on 127.0.0.1 port 0 in a temp directory, loaded
//! for about a second per format. The reports must agree with themselves
//! and with the server's own counters (`anomalyzer_points_total`,
//! `anomalyzer_series`), and the server must then shut down cleanly.
//!
//! `anomalyzer` is another package's binary, which cargo does not build
//! for this package's tests: the test runs `cargo build -p anomalyzer_cli`
//! into the same target directory and profile first (at once when it is
//! up to date), so it never runs a stale binary.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::loadgen;

const LIMIT: Duration = Duration::from_secs(60);

/// `anomalyzer`, built (or found up to date) beside this package's binary
/// in the same profile directory.
fn anomalyzer_binary() -> PathBuf {
    let loadgen = PathBuf::from(env!("CARGO_BIN_EXE_anomalyzer-loadgen"));
    let profile_dir = loadgen.parent().expect("binary has a directory");
    let binary = profile_dir.join("anomalyzer");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let target = profile_dir.parent().expect("profile dir has a target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "anomalyzer_cli",
            "--bin",
            "anomalyzer",
        ])
        .arg("--target-dir")
        .arg(target);
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => panic!("cannot build anomalyzer for the profile directory {other:?}"),
    }
    let status = build.status().expect("run cargo build for anomalyzer");
    assert!(status.success(), "cargo build -p anomalyzer_cli failed");
    assert!(
        binary.exists(),
        "{} missing after the build",
        binary.display()
    );
    binary
}

/// `anomalyzer serve` and the address it printed.
struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start(binary: &Path, state: &Path) -> Serve {
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--sync",
                "always",
                "--state",
            ])
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start anomalyzer serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Reads stderr to its end so the server never blocks on the pipe;
        // the address line is passed on.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                panic!("anomalyzer serve printed no address in 30 s: {e}");
            }
        };
        Serve { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `GET /metrics` (text format), with a bounded wait.
    fn metrics(&self) -> String {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read /metrics");
        answer
    }

    /// SIGTERM, then the exit status within the limit.
    fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.map(|s| s.success()).unwrap_or(false),
            "kill -TERM {pid}"
        );
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if started.elapsed() > LIMIT {
                let _ = self.child.kill();
                panic!("anomalyzer serve did not exit within {LIMIT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // Only reached with the child still running when a test failed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of an unlabelled sample `name` in a text exposition.
fn sample(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{exposition}"))
}

#[test]
fn json_and_remote_write_for_a_second_each_against_anomalyzer_serve() {
    let dir = tempfile::tempdir().unwrap();
    let binary = anomalyzer_binary();
    let serve = Serve::start(&binary, &dir.path().join("state"));
    let url = serve.url();
    let ready = loadgen(
        dir.path(),
        &["wait-ready", "--url", &url, "--within", "30"],
        LIMIT,
    );
    assert_eq!(ready.code, Some(0), "{}", ready.stderr);

    let mut total = 0;
    for (mode, batch) in [("json", 100), ("remote-write", 250)] {
        let batch_text = batch.to_string();
        let run = loadgen(
            dir.path(),
            &[
                mode,
                "--url",
                &url,
                "--duration",
                "1",
                "--series",
                "2000",
                "--batch",
                &batch_text,
                "--concurrency",
                "4",
                "--json",
            ],
            LIMIT,
        );
        assert_eq!(run.code, Some(0), "{mode}: {}", run.stderr);
        let report = run.report();
        assert_eq!(report["errors"], serde_json::json!({}), "{report}");
        let requests = report["requests"].as_u64().unwrap();
        let points = report["points"].as_u64().unwrap();
        assert!(requests > 0, "{report}");
        assert_eq!(points, requests * batch, "{report}");
        if mode == "json" {
            assert_eq!(report["accepted"].as_u64(), Some(points), "{report}");
        }
        total += points;
    }

    // The server scored exactly what was acknowledged, over at most the
    // 2 000 series (each format's second run reuses the first's series,
    // its timestamps later since they start at the current time).
    let metrics = serve.metrics();
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert_eq!(sample(&metrics, "anomalyzer_points_total"), total as f64);
    let series = sample(&metrics, "anomalyzer_series");
    assert!(series > 0.0 && series <= 2000.0, "{series}");

    assert_eq!(serve.stop(), Some(0), "clean shutdown after SIGTERM");
}
