//! Shared by the `stream` and `inspect` tests: running the real binary and
//! a reference detector with the same configuration.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};

/// Detector flags used by the tests, and [`conf`] is the same configuration.
pub const DETECTOR_FLAGS: &[&str] = &[
    "--methods",
    "magnitude,diff,highrank,lowrank,cdf,fence,ks",
    "--active-size",
    "2",
    "--n-seasons",
    "3",
    "--upper-bound",
    "50",
    "--perm-count",
    "40",
    "--seed",
    "7",
];

/// The configuration [`DETECTOR_FLAGS`] describe.
pub fn conf() -> AnomalyzerConf {
    AnomalyzerConf::builder()
        .methods(Method::ALL)
        .active_size(2)
        .n_seasons(3)
        .upper_bound(50.0)
        .perm_count(40)
        .seed(7)
        .build()
        .unwrap()
}

/// The `anomalyzer` binary.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
}

/// Runs `anomalyzer stream --state DIR ARGS` with `input` on stdin.
pub fn stream(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .arg("stream")
        .arg("--state")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Runs `anomalyzer inspect DIR`.
pub fn inspect(dir: &Path) -> Output {
    bin().arg("inspect").arg(dir).output().unwrap()
}

/// `inspect`'s JSON.
pub fn inspect_json(dir: &Path) -> serde_json::Value {
    let out = inspect(dir);
    assert!(
        out.status.success(),
        "inspect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One acknowledgement line: `lsn,value,probability`.
pub fn parse_ack(line: &str) -> (u64, String, f64) {
    let mut parts = line.split(',');
    let lsn = parts.next().unwrap().parse().unwrap();
    let value = parts.next().unwrap().to_owned();
    let p = parts.next().unwrap().parse().unwrap();
    assert!(parts.next().is_none(), "{line}");
    (lsn, value, p)
}

/// Probabilities (as bits) of an uninterrupted detector fed `values`.
pub fn reference(values: &[f64]) -> Vec<u64> {
    let mut d = Anomalyzer::new(conf(), &[]).unwrap();
    values
        .iter()
        .map(|&x| d.push(x).unwrap().to_bits())
        .collect()
}

/// `n` seeded values printed as the test feeds them.
pub fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let base = 20.0 + (state % 2000) as f64 / 100.0;
            if state.is_multiple_of(23) {
                base * 3.0
            } else {
                base
            }
        })
        .collect()
}

/// Values as stdin text, one per line.
pub fn lines(values: &[f64]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}
