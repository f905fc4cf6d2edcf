//! Issue 9, points 1–8, through the real binary: links in the state
//! directory are refused (exit 1) and their targets untouched;
//! `--snapshot-interval 0` is refused (exit 2); a refused open leaves no
//! directory behind; a missing log is refused, then salvaged with a report;
//! `inspect` on a missing path says so (exit 1); an OS error is printed
//! once; a failing snapshot is reported once per kind and shown by
//! `inspect`; `inspect` run many times beside a live writer never reports
//! damage.

mod stream_support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use stream_support::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_symlinked_lock_or_log_is_refused_and_its_target_untouched() {
    for name in [
        "LOCK",
        "anomalyzer.wal",
        "anomalyzer.snap",
        "anomalyzer.snap.tmp",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        assert!(stream(&dir, DETECTOR_FLAGS, "1\n2\n").status.success());
        let target = tmp.path().join("precious.txt");
        std::fs::write(&target, "keep me").unwrap();
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let out = stream(&dir, &[], "3\n");
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains("symbolic link"), "{err}");
        assert!(out.stdout.is_empty());
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "keep me",
            "{name}"
        );
    }
}

#[test]
fn a_zero_snapshot_interval_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let out = stream(&dir, &["--snapshot-interval", "0"], "1\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--snapshot-interval"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists(), "nothing created");
}

#[test]
fn a_refused_first_open_leaves_no_directory_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new/state");
    // An invalid configuration: refused after the store looked for state.
    let out = stream(&dir, &["--n-seasons", "1"], "1\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!tmp.path().join("new").exists(), "directory left behind");
}

#[test]
fn conflicting_options_leave_a_copied_directory_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    assert!(stream(&dir, DETECTOR_FLAGS, "1\n2\n").status.success());
    // A copy of the state without its LOCK file.
    std::fs::remove_file(dir.join("LOCK")).unwrap();
    let out = stream(&dir, &["--perm-count", "41"], "3\n");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("perm_count"), "{}", stderr(&out));
    assert!(!dir.join("LOCK").exists(), "the LOCK this run made is gone");
    assert_eq!(inspect_json(&dir)["last_lsn"], 2);
}

#[test]
fn a_missing_log_is_refused_then_salvaged_with_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let input = lines(&values(8, 15));
    let out = stream(
        &dir,
        &[&["--snapshot-interval", "12"], DETECTOR_FLAGS].concat(),
        &input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(dir.join("anomalyzer.wal")).unwrap();

    for mode in ["tolerate-torn-tail", "absolute"] {
        let out = stream(&dir, &["--recovery", mode], "1\n");
        assert_eq!(out.status.code(), Some(1), "{mode}");
        let err = stderr(&out);
        assert!(
            err.contains("anomalyzer.wal: missing, but the snapshot expects records after LSN 12"),
            "{err}"
        );
        assert_eq!(err.matches("anomalyzer.wal").count(), 1, "said once: {err}");
    }
    let out = inspect(&dir);
    assert_eq!(out.status.code(), Some(1), "inspect reports it too");

    let out = stream(&dir, &["--recovery", "salvage"], "1\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("anomalyzer.wal") && err.contains("missing"),
        "{err}"
    );
    assert!(!err.contains("of 0 bytes"), "no empty torn tail: {err}");
    assert!(
        err.contains("0 records kept, 0 records dropped"),
        "per file: {err}"
    );
    let ack = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        parse_ack(ack.trim_end()).0,
        13,
        "carried on from the snapshot"
    );
}

#[test]
fn an_os_error_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = stream(&file.join("state"), DETECTOR_FLAGS, "1\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("os error").count(), 1, "{err}");
    assert!(err.contains("Not a directory"), "{err}");
}

/// A `stream` child fed line by line.
struct Writer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Writer {
    fn start(dir: &std::path::Path, args: &[&str]) -> Writer {
        let mut child = bin()
            .args(["stream", "--state"])
            .arg(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Writer {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends `v` and waits for its acknowledgement; returns its LSN.
    fn push(&mut self, v: f64) -> u64 {
        writeln!(self.stdin, "{v}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        parse_ack(line.trim_end()).0
    }

    fn finish(self) -> std::process::Output {
        drop(self.stdin);
        let mut out = self.child.wait_with_output().unwrap();
        let mut rest = Vec::new();
        let mut stdout = self.stdout;
        std::io::Read::read_to_end(&mut stdout, &mut rest).unwrap();
        out.stdout = rest;
        out
    }
}

#[test]
fn a_failing_snapshot_is_reported_once_and_shown_by_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let flags = [&["--snapshot-interval", "3"], DETECTOR_FLAGS].concat();
    let mut w = Writer::start(&dir, &flags);
    for i in 0..4 {
        w.push(f64::from(i));
    }
    // Something in the way of the next log: every snapshot fails.
    let blocker = dir.join("anomalyzer.wal.tmp");
    std::fs::create_dir(&blocker).unwrap();
    for i in 0..9 {
        w.push(f64::from(i));
    }
    let json = inspect_json(&dir);
    assert_eq!(json["writer_active"], true);
    let shown = json["last_compaction_error"].as_str().unwrap().to_owned();
    assert!(
        shown.contains("anomalyzer.wal.tmp") && shown.contains("directory"),
        "{shown}"
    );
    std::fs::remove_dir(&blocker).unwrap();
    for i in 0..3 {
        w.push(f64::from(i));
    }
    assert_eq!(
        inspect_json(&dir)["last_compaction_error"],
        serde_json::Value::Null
    );
    let out = w.finish();
    assert!(out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("cannot write a snapshot").count(), 1, "{err}");
    assert!(err.contains("retried every 3 pushes"), "{err}");
}

#[test]
fn inspect_beside_a_live_writer_never_reports_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let flags = [
        &["--snapshot-interval", "5", "--sync", "never"],
        DETECTOR_FLAGS,
    ]
    .concat();
    let mut w = Writer::start(&dir, &flags);
    w.push(1.0);
    let mut stdin = w.stdin;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Paced, so the writer is still running (and appending) for as
            // long as inspections go on, however fast or loaded the machine;
            // bounded: stops when told, when the writer is gone, or after 60 s.
            let started = Instant::now();
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && started.elapsed() < Duration::from_secs(60)
            {
                if writeln!(stdin, "{}", i % 17).is_err() {
                    break;
                }
                i += 1;
                if i.is_multiple_of(20) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let drain = {
        let mut stdout = w.stdout;
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stdout, &mut sink);
        })
    };
    let started = Instant::now();
    let mut runs = 0;
    while runs < 300 && started.elapsed() < Duration::from_secs(20) {
        let out = inspect(&dir);
        let err = stderr(&out);
        assert!(out.status.success(), "inspect {runs}: {err}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["torn_tail_bytes"], 0, "inspect {runs}: {json}");
        assert_eq!(json["writer_active"], true, "inspect {runs}: {json}");
        runs += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut child = w.child;
    child.kill().unwrap();
    child.wait().unwrap();
    feeder.join().unwrap();
    drain.join().unwrap();
    assert!(runs >= 50, "only {runs} inspections");
}
