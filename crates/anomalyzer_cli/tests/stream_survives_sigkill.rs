//! The crash test: `anomalyzer stream` (default `--sync always`) is killed
//! with SIGKILL at seeded random moments, hundreds of times: during
//! start-up and recovery, between pushes, in the middle of a push or of a
//! compaction (snapshot interval 13). After each kill the input resumes
//! after `inspect`'s `last_lsn`, as a supervisor would. Checked:
//!
//! - every acknowledged push is still there after the kill (none lost),
//! - no LSN is ever acknowledged twice (none duplicated),
//! - every printed probability equals an uninterrupted in-process
//!   detector's, bit for bit,
//! - the final state equals the uninterrupted detector's.
//!
//! Run for the Go tests (`DETECTOR_FLAGS`) and for `--preset robust`, whose
//! histories live in the snapshot's detector-state field.
//! `ANOMALYZER_KILL_CYCLES` (default 500; robust: `ANOMALYZER_KILL_CYCLES_ROBUST`,
//! default 100) and `ANOMALYZER_KILL_SECONDS` (default 120) bound each run;
//! `ANOMALYZER_KILL_SEED` changes the seed.

mod stream_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anomalyzer_store::{DurableAnomalyzer, StoreOptions};
use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Preset};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use stream_support::*;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Default)]
struct Tally {
    cycles: u64,
    kills: u64,
    kills_mid_stream: u64,
    clean_exits: u64,
    acknowledged: u64,
    lost: u64,
    duplicated: u64,
    mismatched: u64,
    durable_unacknowledged: u64,
}

/// The last LSN a state directory holds (0 before the first run).
fn last_lsn(dir: &std::path::Path) -> u64 {
    if !dir.join("anomalyzer.snap").exists() && !dir.join("anomalyzer.wal").exists() {
        return 0;
    }
    inspect_json(dir)["last_lsn"].as_u64().unwrap()
}

#[test]
fn acknowledged_pushes_survive_sigkill_exactly_once() {
    kill_repeatedly(
        &conf(),
        DETECTOR_FLAGS,
        env_or("ANOMALYZER_KILL_CYCLES", 500),
    );
}

#[test]
fn robust_preset_survives_sigkill_with_identical_scores() {
    kill_repeatedly(
        &AnomalyzerConf::preset(Preset::Robust),
        &["--preset", "robust"],
        env_or("ANOMALYZER_KILL_CYCLES_ROBUST", 100),
    );
}

/// Kills `stream` with configuration `conf` (given by `flags`) up to
/// `max_cycles` times and checks what the module documentation says.
fn kill_repeatedly(conf: &AnomalyzerConf, flags: &[&str], max_cycles: u64) {
    let budget = Duration::from_secs(env_or("ANOMALYZER_KILL_SECONDS", 120));
    let seed = env_or("ANOMALYZER_KILL_SEED", 20_261_124);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let values = values(seed, 400_000);
    let mut reference_detector = Anomalyzer::new(conf.clone(), &[]).unwrap();
    let mut reference: Vec<u64> = Vec::new();
    let mut reference_at = |lsn: u64, reference: &mut Vec<u64>| -> u64 {
        while (reference.len() as u64) < lsn {
            let x = values[reference.len()];
            reference.push(reference_detector.push(x).unwrap().to_bits());
        }
        reference[lsn as usize - 1]
    };

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let start = Instant::now();
    let mut t = Tally::default();
    let mut max_acked = 0u64;
    while t.cycles < max_cycles && start.elapsed() < budget {
        t.cycles += 1;
        let resume = last_lsn(&dir);
        if resume < max_acked {
            t.lost += max_acked - resume;
        }
        let chunk = 1 + rng.next_u64() % 400;
        let end = (resume + chunk).min(values.len() as u64);
        let mode = rng.next_u64() % 10;
        let mut cmd = bin();
        cmd.args(["stream", "--snapshot-interval", "13", "--state"])
            .arg(&dir);
        // The options must be given until a run has stored them; after
        // that, every third run repeats them (they must agree).
        if !dir.join("anomalyzer.snap").exists() || t.cycles % 3 == 1 {
            cmd.args(flags);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input: String = lines(&values[resume as usize..end as usize]);
        let close_stdin = mode == 0;
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
            let _ = stdin.flush();
            // Keep stdin open (the child waits for more) unless this is a
            // clean cycle.
            if close_stdin {
                None
            } else {
                Some(stdin)
            }
        });
        let (tx, rx) = mpsc::channel();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let reader = std::thread::spawn(move || loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                // A line cut by the kill was never acknowledged.
                Ok(_) if !line.ends_with('\n') => return,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });

        let mut lines_seen = Vec::new();
        if mode == 0 {
            let status = child.wait().unwrap();
            let err = stderr_reader.join().unwrap();
            assert!(status.success(), "clean cycle {} failed: {err}", t.cycles);
            t.clean_exits += 1;
        } else {
            if mode <= 4 {
                // Kill after a random delay: start-up, recovery or pushes.
                std::thread::sleep(Duration::from_micros(rng.next_u64() % 12_000));
            } else {
                // Kill right after the k-th acknowledgement, mid-stream.
                let k = rng.next_u64() % chunk;
                while (lines_seen.len() as u64) < k {
                    match rx.recv_timeout(Duration::from_secs(20)) {
                        Ok(line) => lines_seen.push(line),
                        Err(_) => break,
                    }
                }
            }
            let exited = child.try_wait().unwrap();
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            let err = stderr_reader.join().unwrap();
            if exited.is_some() {
                // It finished its input before the kill: it must not have failed.
                assert!(
                    status.code().is_none() || status.success(),
                    "cycle {}: {err}",
                    t.cycles
                );
            } else {
                t.kills += 1;
            }
        }
        let stdin = writer.join().unwrap();
        drop(stdin);
        reader.join().unwrap();
        lines_seen.extend(rx.try_iter());

        for (expected, line) in (resume + 1..).zip(&lines_seen) {
            let (lsn, value, p) = parse_ack(line.trim_end());
            assert_eq!(
                lsn, expected,
                "cycle {}: acknowledgements out of order",
                t.cycles
            );
            if lsn <= max_acked {
                t.duplicated += 1;
            }
            max_acked = max_acked.max(lsn);
            assert_eq!(
                value,
                values[lsn as usize - 1].to_string(),
                "cycle {}, lsn {lsn}",
                t.cycles
            );
            if p.to_bits() != reference_at(lsn, &mut reference) {
                t.mismatched += 1;
            }
            t.acknowledged += 1;
        }
        if !lines_seen.is_empty() && (lines_seen.len() as u64) < end - resume {
            t.kills_mid_stream += 1;
        }
        let now = last_lsn(&dir);
        assert!(
            now <= end,
            "cycle {}: {now} pushes recorded, only {end} sent",
            t.cycles
        );
        if now < max_acked {
            t.lost += max_acked - now;
        }
        t.durable_unacknowledged += now.saturating_sub(max_acked);
    }

    // The state left by the last kill equals an uninterrupted detector's,
    // and a clean run continues it exactly.
    let n = last_lsn(&dir);
    let mut d = DurableAnomalyzer::open_with(&dir, None, StoreOptions::default()).unwrap();
    assert_eq!(d.detector().conf(), conf);
    let mut reference_final = Anomalyzer::new(conf.clone(), &[]).unwrap();
    reference_final.update(&values[..n as usize]).unwrap();
    assert_eq!(d.lsn(), n);
    assert_eq!(d.detector().push_count(), n);
    // Window, push count and (robust) every history.
    assert_eq!(d.detector().state(), reference_final.state());
    for &x in &values[n as usize..n as usize + 20] {
        assert_eq!(
            d.push(x).unwrap().to_bits(),
            reference_final.push(x).unwrap().to_bits()
        );
    }

    println!(
        "kill test ({}): {} cycles in {:.1}s ({} SIGKILLs, {} mid-stream, {} clean exits); \
         {} pushes acknowledged, {} lost, {} duplicated, {} probabilities differing; \
         {} durable but unacknowledged at the kill (resumed after, never repeated)",
        flags.join(" "),
        t.cycles,
        start.elapsed().as_secs_f64(),
        t.kills,
        t.kills_mid_stream,
        t.clean_exits,
        t.acknowledged,
        t.lost,
        t.duplicated,
        t.mismatched,
        t.durable_unacknowledged,
    );
    assert_eq!(t.lost, 0, "{t:?}");
    assert_eq!(t.duplicated, 0, "{t:?}");
    assert_eq!(t.mismatched, 0, "{t:?}");
    assert!(
        t.cycles >= max_cycles.min(100),
        "too few cycles in the time budget: {t:?}"
    );
    assert!(
        t.kills_mid_stream >= t.cycles / 10,
        "kills should land mid-stream: {t:?}"
    );
}
