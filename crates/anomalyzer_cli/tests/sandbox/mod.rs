//! Running the real `anomalyzer` binary in a temporary directory.

#![allow(dead_code)] // each test file uses a different part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// What a run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success; stderr:\n{}", self.stderr);
        &self.stdout
    }

    /// Asserts exit code 2 (bad input) and returns stderr.
    pub fn bad_input(&self) -> &str {
        assert_eq!(
            self.code, 2,
            "expected exit code 2; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stderr
    }

    /// The CSV rows of stdout, split into fields (header first).
    pub fn rows(&self) -> Vec<Vec<String>> {
        csv_rows(self.ok())
    }
}

/// Splits simple CSV text (no quoted fields) into rows of fields.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// How the CLI prints a float: the shorter of Rust's plain (`{}`) and
/// exponent (`{:e}`) forms, both shortest round-trip; plain on a tie.
pub fn shortest(x: f64) -> String {
    let (plain, exp) = (format!("{x}"), format!("{x:e}"));
    if exp.len() < plain.len() {
        exp
    } else {
        plain
    }
}

/// A temporary working directory for one test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to `name` in the sandbox.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write input");
        p
    }

    /// Runs `anomalyzer ARGS` in the sandbox with `stdin` as input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_bytes(args, stdin.as_bytes().to_vec()).0
    }

    /// Runs `anomalyzer ARGS` with `stdin` as input; also returns how many
    /// bytes of it the binary took before it closed its stdin.
    pub fn run_bytes(&self, args: &[&str], stdin: Vec<u8>) -> (Run, usize) {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn anomalyzer");
        let mut input = child.stdin.take().expect("stdin");
        // Feed stdin from a thread so a large output cannot deadlock us.
        let feeder = std::thread::spawn(move || {
            let mut fed = 0;
            for chunk in stdin.chunks(64 * 1024) {
                if input.write_all(chunk).is_err() {
                    break;
                }
                fed += chunk.len();
            }
            fed
        });
        let out = child.wait_with_output().expect("wait");
        let fed = feeder.join().expect("feeder");
        (run_of(out), fed)
    }

    /// A command for the binary, run in the sandbox.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(self.dir.path());
        c
    }
}

fn run_of(out: Output) -> Run {
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_anomalyzer"))
}

/// `timestamp,value` CSV of `values` with timestamps `t0, t1, ...`.
pub fn csv_of(values: &[f64]) -> String {
    let mut s = String::from("timestamp,value\n");
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!("t{i},{v}\n"));
    }
    s
}

/// A quiet series with a jump at index 30: small, fast to score.
pub fn series() -> Vec<f64> {
    (0..40)
        .map(|i| {
            if i == 30 {
                60.0
            } else {
                10.0 + f64::from(i % 5) * 0.3 + f64::from(i % 3) * 0.1
            }
        })
        .collect()
}
