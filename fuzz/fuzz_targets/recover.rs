//! Fuzz the recovery path: arbitrary bytes as the snapshot, the log and a
//! leftover staging file, read by `inspect` and opened by a writer in every
//! recovery mode. Recovery must never panic, and whatever it accepts must
//! be a consistent state that takes a push and survives a reopen.
//!
//! Input layout: byte 0 picks which files exist (bits 0-2) and the recovery
//! mode (bits 3-4), bit 5 gives a configuration (else the stored one is
//! used); bytes 1-2 (LE) the snapshot's length; bytes 3-4 the
//! log's length; the rest is cut into snapshot, log and staging file.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use anomalyzer_store::{
    DurableAnomalyzer, RecoveryMode, SimStorage, Storage, StoreOptions, SNAPSHOT_FILE,
    SNAPSHOT_TMP_FILE, WAL_FILE,
};
use anomalyzer_ts::AnomalyzerConf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let flags = data[0];
    let snap_len = usize::from(u16::from_le_bytes([data[1], data[2]]));
    let wal_len = usize::from(u16::from_le_bytes([data[3], data[4]]));
    let rest = &data[5..];
    let snap = &rest[..snap_len.min(rest.len())];
    let rest = &rest[snap.len()..];
    let wal = &rest[..wal_len.min(rest.len())];
    let tmp = &rest[wal.len()..];

    let dir = Path::new("/fuzz");
    let sim = SimStorage::new();
    for (bit, name, bytes) in [
        (1, SNAPSHOT_FILE, snap),
        (2, WAL_FILE, wal),
        (4, SNAPSHOT_TMP_FILE, tmp),
    ] {
        if flags & bit != 0 {
            sim.write_durable(&dir.join(name), bytes);
        }
    }
    let mode = match (flags >> 3) & 3 {
        0 => RecoveryMode::TolerateTornTail,
        1 => RecoveryMode::Absolute,
        _ => RecoveryMode::Salvage,
    };
    if let Ok(status) = anomalyzer_store::inspect_in(&sim, dir) {
        assert!(status.window_len <= status.conf.window_capacity());
        assert!(status.report.last_lsn >= status.report.snapshot_lsn);
    }
    // The stored configuration if there is one (a random configuration
    // would rarely match), else a default one.
    let conf = (flags & 0x20 != 0).then(|| {
        AnomalyzerConf::builder()
            .active_size(1)
            .build()
            .expect("valid")
    });
    let storage: Arc<dyn Storage> = Arc::new(sim.clone());
    let options = StoreOptions::default().recovery(mode);
    if let Ok(mut d) = DurableAnomalyzer::open_in(Arc::clone(&storage), dir, conf, options) {
        let n = d.lsn();
        assert!(d.detector().len() <= d.detector().conf().window_capacity());
        d.push(1.0).expect("a push after recovery");
        drop(d);
        let d = DurableAnomalyzer::open_in(storage, dir, None, StoreOptions::default())
            .expect("reopen after a push");
        assert_eq!(d.lsn(), n + 1);
    }
});
