//! Issue 9, point 5: `inspect` never invents damage. While a writer
//! appends (and compacts every few pushes), a record still being written
//! at the tail is reported as ignored bytes with `writer_active`, and a
//! compaction between the reads of the snapshot and the log is not taken
//! for a wrong log. Real files, a writer thread, a bounded number of
//! inspections.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anomalyzer_store::{
    inspect, inspect_in, DurableAnomalyzer, SimStorage, StoreOptions, SyncPolicy, WAL_FILE,
};
use common::*;

#[test]
fn many_inspections_during_pushes_and_compactions_never_report_damage() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::default()
        .sync(SyncPolicy::Never)
        .snapshot_interval(7);
    let mut d = DurableAnomalyzer::open_with(dir.path(), Some(conf()), options).unwrap();
    d.push(1.0).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !done.load(Ordering::Relaxed) {
                d.push((i % 13) as f64).unwrap();
                i += 1;
            }
            i
        })
    };
    let mut last = 0;
    for n in 0..600 {
        let status = inspect(dir.path()).unwrap_or_else(|e| panic!("inspection {n}: {e}"));
        assert!(status.writer_active, "inspection {n}");
        assert_eq!(status.report.torn_tail_bytes, 0, "inspection {n}");
        assert!(
            status.report.last_lsn >= last,
            "inspection {n}: LSNs go back"
        );
        last = status.report.last_lsn;
    }
    done.store(true, Ordering::Relaxed);
    let pushed = writer.join().unwrap();
    assert!(pushed > 0);
    let status = inspect(dir.path()).unwrap();
    assert!(!status.writer_active, "the writer is gone");
    assert_eq!(status.report.last_lsn, pushed + 1);
}

#[test]
fn a_half_written_record_with_the_lock_held_is_ignored_not_damage() {
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf()), StoreOptions::default()).unwrap();
    for x in values(61, 3) {
        d.push(x).unwrap();
    }
    // 13 bytes of the next record, as a reader may see mid-write.
    let mut wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    wal.extend_from_slice(&[7; 13]);
    sim.write_durable(&sim_file(WAL_FILE), &wal);
    let status = inspect_in(&sim, &sim_dir()).unwrap();
    assert!(status.writer_active);
    assert_eq!(status.report.ignored_tail_bytes, 13);
    assert_eq!(status.report.torn_tail_bytes, 0);
    assert_eq!(status.report.last_lsn, 3);
    drop(d);
    // Without a writer, the same bytes are a torn tail.
    let status = inspect_in(&sim, &sim_dir()).unwrap();
    assert!(!status.writer_active);
    assert_eq!(status.report.torn_tail_bytes, 13);
    assert_eq!(status.report.ignored_tail_bytes, 0);
}
