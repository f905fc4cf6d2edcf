//! `anomalyzer stream` and `anomalyzer inspect` on the real binary: LSNs
//! continue across runs, the configuration is stored, conflicting options
//! and bad lines are refused with exit code 2, every sync policy
//! acknowledges the same numbers, one writer per directory, and `inspect`
//! is read-only.

mod stream_support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use stream_support::*;

fn stdout_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn lsns_continue_across_runs_and_match_an_uninterrupted_detector() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let values = values(1, 40);
    let want = reference(&values);
    let mut acks = Vec::new();
    for (i, chunk) in values.chunks(10).enumerate() {
        // Options on the first run only; later runs use the stored ones,
        // or repeat them (which must agree).
        let args: &[&str] = if i % 2 == 0 { DETECTOR_FLAGS } else { &[] };
        let out = stream(&state, args, &lines(chunk));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        acks.extend(stdout_lines(&out));
    }
    assert_eq!(acks.len(), 40);
    for (i, line) in acks.iter().enumerate() {
        let (lsn, value, p) = parse_ack(line);
        assert_eq!(lsn, i as u64 + 1, "{line}");
        assert_eq!(value, values[i].to_string(), "{line}");
        assert_eq!(
            p.to_bits(),
            want[i],
            "{line}: probability differs from the reference"
        );
    }
    let json = inspect_json(&state);
    assert_eq!(json["last_lsn"], 40);
    assert_eq!(json["window_len"], 8);
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["conf"]["active_size"], 2);
    assert_eq!(json["conf"]["perm_count"], 40);
    for key in ["snapshot_lsn", "wal_bytes"] {
        assert!(json[key].is_u64(), "{key}: {json}");
    }
}

#[test]
fn conflicting_detector_options_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = stream(dir.path(), DETECTOR_FLAGS, "1\n2\n");
    assert!(out.status.success());
    let out = stream(dir.path(), &["--perm-count", "41", "--seed", "8"], "3\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("perm_count, seed"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        inspect_json(dir.path())["last_lsn"],
        2,
        "nothing was pushed"
    );
    // Options that agree with the stored ones are fine.
    let out = stream(dir.path(), &["--perm-count", "40"], "3\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(parse_ack(&stdout_lines(&out)[0]).0, 3);
}

#[test]
fn bad_line_fails_with_its_line_number_after_acknowledging_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let out = stream(dir.path(), DETECTOR_FLAGS, "1\n2\n\nabc\n4\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4") && err.contains("abc"), "{err}");
    let acks = stdout_lines(&out);
    assert_eq!(acks.len(), 2);
    assert_eq!(inspect_json(dir.path())["last_lsn"], 2);

    let out = stream(dir.path(), &["--on-invalid", "skip"], "5\nNaN\ninf\n6\n");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("line 3"), "{err}");
    let acks: Vec<_> = stdout_lines(&out).iter().map(|l| parse_ack(l)).collect();
    assert_eq!(acks.iter().map(|a| a.0).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(acks[1].1, "6");
}

#[test]
fn every_sync_policy_acknowledges_the_same_numbers() {
    let values = values(2, 30);
    let want = reference(&values);
    for policy in ["always", "every-n:7", "interval:5", "never"] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = DETECTOR_FLAGS.to_vec();
        args.extend(["--sync", policy, "--snapshot-interval", "9"]);
        let out = stream(dir.path(), &args, &lines(&values));
        assert!(
            out.status.success(),
            "{policy}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let acks = stdout_lines(&out);
        assert_eq!(acks.len(), 30, "{policy}");
        for (i, line) in acks.iter().enumerate() {
            let (lsn, _, p) = parse_ack(line);
            assert_eq!(
                (lsn, p.to_bits()),
                (i as u64 + 1, want[i]),
                "{policy}: {line}"
            );
        }
        let json = inspect_json(dir.path());
        assert_eq!(json["last_lsn"], 30, "{policy}");
        assert_eq!(json["snapshot_lsn"], 27, "{policy}");
    }
}

#[test]
fn every_n_acknowledges_when_the_input_pauses() {
    // Group commit: a value must not wait for N-1 more to be acknowledged.
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["stream", "--sync", "every-n:1000", "--state"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for (i, v) in ["5", "6"].iter().enumerate() {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(parse_ack(line.trim_end()).0, i as u64 + 1);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn second_writer_is_refused_and_inspect_works_beside_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = stream(dir.path(), DETECTOR_FLAGS, "1\n2\n3\n");
    assert!(out.status.success());
    let mut first = bin()
        .args(["stream", "--state"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = first.stdin.take().unwrap();
    let mut stdout = BufReader::new(first.stdout.take().unwrap());
    writeln!(stdin, "4").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(
        parse_ack(line.trim_end()).0,
        4,
        "the first writer holds the lock now"
    );

    let out = stream(dir.path(), &[], "5\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked") && err.contains("LOCK"), "{err}");
    assert_eq!(inspect_json(dir.path())["last_lsn"], 4);

    writeln!(stdin, "5").unwrap();
    drop(stdin);
    assert!(first.wait().unwrap().success());
    assert_eq!(inspect_json(dir.path())["last_lsn"], 5);
}

#[test]
fn inspect_modifies_nothing_and_reports_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let out = stream(dir.path(), DETECTOR_FLAGS, "1\n2\n3\n");
    assert!(out.status.success());
    let wal = dir.path().join("anomalyzer.wal");
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend_from_slice(&[7; 11]); // a torn record
    std::fs::write(&wal, &bytes).unwrap();
    std::fs::remove_file(dir.path().join("LOCK")).unwrap();
    let listing = |p: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name(),
                    std::fs::read(e.path()).unwrap(),
                    e.metadata().unwrap().modified().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = listing(dir.path());
    let json = inspect_json(dir.path());
    assert_eq!(listing(dir.path()), before, "inspect changed the directory");
    assert_eq!(json["last_lsn"], 3);
    assert_eq!(json["torn_tail_bytes"], 11);
    assert_eq!(json["wal_bytes"], 56 + 3 * 32 + 11);
    assert_eq!(json["writer_active"], false);
    assert_eq!(json["ignored_tail_bytes"], 0);

    let missing = inspect(&dir.path().join("nothing-here"));
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!dir.path().join("nothing-here").exists());
}

#[test]
fn interval_acknowledges_after_the_interval_while_input_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["stream", "--sync", "interval:50", "--state"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for (i, v) in ["5", "6", "7"].iter().enumerate() {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
        // stdin stays open: the acknowledgement comes from the timer.
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(parse_ack(line.trim_end()).0, i as u64 + 1);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn mid_log_corruption_is_refused_unless_salvage_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = stream(dir.path(), DETECTOR_FLAGS, &lines(&values(3, 6)));
    assert!(out.status.success());
    let wal = dir.path().join("anomalyzer.wal");
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[56 + 32 + 30] ^= 0x10; // the value of the second record
    std::fs::write(&wal, &bytes).unwrap();

    let out = stream(dir.path(), &[], "1\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") && err.contains("salvage"), "{err}");
    assert!(out.stdout.is_empty());
    let inspect_out = inspect(dir.path());
    assert_eq!(
        inspect_out.status.code(),
        Some(1),
        "inspect reports the damage too"
    );

    let out = stream(dir.path(), &["--recovery", "salvage"], "1\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped 32 damaged bytes (1 push lost)"),
        "{err}"
    );
    assert_eq!(
        parse_ack(&stdout_lines(&out)[0]).0,
        7,
        "LSNs keep their numbering"
    );
    assert_eq!(inspect_json(dir.path())["last_lsn"], 7);
}
