//! Shared by the cluster scenario tests: a real `nats-server`, the real
//! `anomalyzer ingest` and `anomalyzer worker` processes, a seeded stream
//! over many series, and the check that the scores read back from
//! `anomalyzer.scores.*` (deduplicated by message id) equal a bare detector
//! over each series, bit for bit.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anomalyzer_cluster::{decode_scores, EPOCH_HEADER, SCORES_STREAM};
use anomalyzer_serve::ServeConfig;
use anomalyzer_ts::Anomalyzer;
use async_nats::jetstream::consumer::pull;
use futures_util::StreamExt;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

/// Lease time of the test clusters.
pub const LEASE_MS: u64 = 2000;
/// Partitions of the test clusters.
pub const PARTITIONS: u32 = 8;

/// True when nats-server can run here; without it a test stops early,
/// except under CI, where that is a failure.
pub fn nats_available() -> bool {
    match Command::new("nats-server").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        other if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but nats-server cannot run: {other:?} (apt-get install -y nats-server)"
            )
        }
        _ => {
            eprintln!("nats-server is not installed: this test checks nothing here");
            false
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server -js` on a loopback port with its store in a temp dir,
/// killed on drop.
pub struct Nats {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Nats {
    pub fn start(dir: &Path) -> Nats {
        let mut nats = Nats {
            port: free_port(),
            dir: dir.join("nats"),
            child: None,
        };
        nats.spawn();
        nats
    }

    fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// kill -9, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `anomalyzer` process whose stderr is collected; killed on drop.
pub struct Proc {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(args: &[String]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start anomalyzer");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Proc { child, stderr }
    }

    /// The address after the `listening on ` line of its stderr.
    pub fn listen_addr(&self) -> SocketAddr {
        assert!(
            self.wait_for("listening on ", Duration::from_secs(15)),
            "{}",
            self.stderr()
        );
        self.stderr()
            .lines()
            .find_map(|l| l.strip_prefix("listening on "))
            .unwrap()
            .parse()
            .unwrap()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY-free: libc::kill on our own child's pid.
        assert_eq!(unsafe_free_kill(self.pid(), signal), 0);
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `within` for a line of stderr containing `needle`.
    pub fn wait_for(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The epochs of the leases this worker took, by partition.
    pub fn epochs_taken(&self) -> Vec<(u32, u64)> {
        self.stderr()
            .lines()
            .filter_map(|l| {
                let rest = l.split("took partition ").nth(1)?;
                let (p, rest) = rest.split_once(" (epoch ")?;
                Some((p.parse().ok()?, rest.trim_end_matches(')').parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // A stopped process dies of SIGKILL too, but wake it anyway.
            let _ = unsafe_free_kill(self.pid(), libc::SIGCONT);
        }
        self.kill9();
    }
}

fn unsafe_free_kill(pid: i32, signal: i32) -> i32 {
    // The kill(1) command keeps this crate free of unsafe code.
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .expect("run kill");
    if status.success() {
        0
    } else {
        -1
    }
}

fn cluster_flags(nats: &Nats) -> Vec<String> {
    vec![
        "--cluster".into(),
        nats.url(),
        "--partitions".into(),
        PARTITIONS.to_string(),
        "--lease-ms".into(),
        LEASE_MS.to_string(),
        "--nats-timeout-ms".into(),
        "1000".into(),
    ]
}

/// Starts a worker with its state in `dir/name`, snapshotting often.
pub fn worker(nats: &Nats, dir: &Path, name: &str) -> Proc {
    worker_with(
        nats,
        dir,
        name,
        &["--snapshot-messages", "7", "--snapshot-interval-ms", "500"],
    )
}

/// Starts a worker with its state in `dir/name` and extra flags.
pub fn worker_with(nats: &Nats, dir: &Path, name: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["worker".to_owned()];
    args.extend(cluster_flags(nats));
    args.extend(["--state".to_owned(), dir.join(name).display().to_string()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let p = Proc::spawn(&args);
    assert!(
        p.wait_for("joined cluster", Duration::from_secs(15)),
        "worker did not join: {}",
        p.stderr()
    );
    p
}

/// Messages stored in `stream` now.
pub fn stream_messages(nats: &Nats, stream: &str) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut s = js.get_stream(stream).await.unwrap();
        s.info().await.unwrap().state.messages
    })
}

/// Starts the ingest node; returns it and its address.
pub fn ingest(nats: &Nats) -> (Proc, SocketAddr) {
    let mut args = vec!["ingest".to_owned()];
    args.extend(cluster_flags(nats));
    args.extend(["--listen".to_owned(), "127.0.0.1:0".to_owned()]);
    let p = Proc::spawn(&args);
    assert!(
        p.wait_for("listening on ", Duration::from_secs(15)),
        "ingest did not start: {}",
        p.stderr()
    );
    let addr = p
        .stderr()
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .unwrap()
        .parse()
        .unwrap();
    (p, addr)
}

/// GETs `path` and returns the status and body of the answer.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, b"")
}

/// POSTs `body` and returns the status and body of the answer.
pub fn post(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, String) {
    request(addr, "POST", path, body)
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return (0, "connect failed".into());
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .is_err()
    {
        return (0, "write failed".into());
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (status, body)
}

/// A seeded stream: `series` series, `rounds` requests of one point each.
pub struct Workload {
    pub series: usize,
    pub values: Vec<Vec<f64>>, // [round][series]
}

pub const T0: i64 = 1_700_000_000;

impl Workload {
    pub fn new(seed: u64, series: usize, rounds: usize) -> Workload {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let values = (0..rounds)
            .map(|_| {
                (0..series)
                    .map(|s| {
                        let base = (s % 5) as f64 * 10.0;
                        let noise = (rng.next_u64() % 10_000) as f64 / 1000.0;
                        // An occasional spike so the scores are not all alike.
                        let spike = if rng.next_u64() % 40 == 0 { 50.0 } else { 0.0 };
                        base + noise + spike
                    })
                    .collect()
            })
            .collect();
        Workload { series, values }
    }

    pub fn name(s: usize) -> (String, String) {
        (format!("load_{}", s % 4), format!("h{s}"))
    }

    /// The push body of round `r`.
    pub fn body(&self, r: usize) -> Vec<u8> {
        let mut out = String::new();
        for (s, v) in self.values[r].iter().enumerate() {
            let (name, host) = Self::name(s);
            out.push_str(&format!(
                "{{\"series\":\"{name}\",\"labels\":{{\"host\":\"{host}\"}},\"timestamp\":{},\"value\":{v:?}}}\n",
                T0 + r as i64
            ));
        }
        out.into_bytes()
    }

    /// Sends round `r`, retrying on 503 until it is acknowledged.
    pub fn send(&self, addr: SocketAddr, r: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = post(addr, "/api/v1/push", &self.body(r));
            if status == 200 {
                return;
            }
            assert!(
                status == 503 || status == 0,
                "round {r}: unexpected answer {status} {body}"
            );
            assert!(Instant::now() < deadline, "round {r} never acknowledged");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Per series (name, host): the bit patterns a bare detector gives.
    pub fn expected(&self) -> HashMap<(String, String), Vec<u64>> {
        let config = ServeConfig::default();
        (0..self.series)
            .map(|s| {
                let mut d =
                    Anomalyzer::with_shared_conf(Arc::clone(config.default_conf()), &[]).unwrap();
                let bits = self
                    .values
                    .iter()
                    .map(|round| d.push(round[s]).unwrap().to_bits())
                    .collect();
                (Self::name(s), bits)
            })
            .collect()
    }
}

/// One stored score message.
pub struct StoredScore {
    pub msg_id: String,
    pub epoch: u64,
    pub stored_at: std::time::SystemTime,
    pub body: Vec<u8>,
}

/// Every message of `ANOMALYZER_SCORES`, in stream order.
pub fn read_scores(nats: &Nats) -> Vec<StoredScore> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(SCORES_STREAM).await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        if last == 0 {
            return out;
        }
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: "anomalyzer.scores.*".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        while let Some(m) = messages.next().await {
            let m = m.unwrap();
            let info = m.info().unwrap();
            let seq = info.stream_sequence;
            let stored_at: std::time::SystemTime = info.published.into();
            let headers = m.headers.clone().unwrap_or_default();
            let msg_id = headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default();
            let epoch = headers
                .get(EPOCH_HEADER)
                .and_then(|v| v.as_str().parse().ok())
                .unwrap_or(0);
            out.push(StoredScore {
                msg_id,
                epoch,
                stored_at,
                body: m.payload.to_vec(),
            });
            if seq >= last {
                break;
            }
        }
        out
    })
}

/// The scores per series, deduplicated by message id, ordered by points
/// sequence.
pub fn scores_by_series(stored: &[StoredScore]) -> BTreeMap<(String, String), Vec<u64>> {
    let mut seen = HashSet::new();
    let mut by_msg: Vec<((u32, u64), &StoredScore)> = Vec::new();
    for s in stored {
        if !seen.insert(s.msg_id.clone()) {
            continue;
        }
        let (p, seq) = s.msg_id.split_once(':').expect("msg id p:seq");
        by_msg.push(((p.parse().unwrap(), seq.parse().unwrap()), s));
    }
    by_msg.sort_by_key(|(k, _)| *k);
    let mut out: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (_, s) in by_msg {
        for line in decode_scores(&s.body).unwrap() {
            let host = line.labels["host"].as_str().unwrap().to_owned();
            out.entry((line.series, host))
                .or_default()
                .push(line.probability.to_bits());
        }
    }
    out
}

/// Waits until every series has all its scores, then checks them against
/// the bare detector, bit for bit: none missing, none twice.
pub fn assert_scores_match(nats: &Nats, load: &Workload, within: Duration) -> Vec<StoredScore> {
    let expected = load.expected();
    let rounds = load.values.len();
    let deadline = Instant::now() + within;
    loop {
        let stored = read_scores(nats);
        let got = scores_by_series(&stored);
        let complete = got.len() == expected.len() && got.values().all(|v| v.len() >= rounds);
        if complete || Instant::now() > deadline {
            for (key, want) in &expected {
                let have = got.get(key).map(Vec::as_slice).unwrap_or(&[]);
                assert_eq!(
                    have.len(),
                    want.len(),
                    "series {key:?}: {} scores, {} points",
                    have.len(),
                    want.len()
                );
                assert_eq!(have, want.as_slice(), "series {key:?}: scores differ");
            }
            assert_eq!(got.len(), expected.len());
            return stored;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The accepted snapshot pointers: (partition key, epoch).
pub fn snapshot_pointers(nats: &Nats) -> Vec<(String, u64)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let kv = js
            .get_key_value(anomalyzer_cluster::SNAPSHOTS_BUCKET)
            .await
            .unwrap();
        let mut keys = kv.keys().await.unwrap();
        let mut out = Vec::new();
        while let Some(k) = keys.next().await {
            let k = k.unwrap();
            if let Some(v) = kv.get(&k).await.unwrap() {
                let ptr: anomalyzer_cluster::SnapshotPointer = serde_json::from_slice(&v).unwrap();
                out.push((k, ptr.epoch));
            }
        }
        out
    })
}
