//! Recovery never panics on arbitrary bytes in any file: random logs and
//! snapshots, and valid ones with random edits, through `inspect` and
//! through a writer's open in every recovery mode. Whatever it accepts is a
//! consistent state. (The cargo-fuzz target in `fuzz/` runs the same entry
//! points unbounded.)

mod common;

use anomalyzer_store::{
    PowerLoss, RecoveryMode, SimStorage, StoreOptions, SNAPSHOT_FILE, SNAPSHOT_TMP_FILE, WAL_FILE,
};
use common::*;
use proptest::prelude::*;

fn valid_files() -> (Vec<u8>, Vec<u8>) {
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(5);
    let mut d = open_sim(&sim, Some(conf()), options).unwrap();
    for x in values(18, 8) {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    (
        sim.read(&sim_file(SNAPSHOT_FILE)).unwrap(),
        sim.read(&sim_file(WAL_FILE)).unwrap(),
    )
}

fn check(snap: Option<&[u8]>, wal: Option<&[u8]>, tmp: Option<&[u8]>) {
    for mode in [
        RecoveryMode::TolerateTornTail,
        RecoveryMode::Absolute,
        RecoveryMode::Salvage,
    ] {
        let sim = SimStorage::new();
        for (name, bytes) in [
            (SNAPSHOT_FILE, snap),
            (WAL_FILE, wal),
            (SNAPSHOT_TMP_FILE, tmp),
        ] {
            if let Some(b) = bytes {
                sim.write_durable(&sim_file(name), b);
            }
        }
        if let Ok(status) = anomalyzer_store::inspect_in(&sim, &sim_dir()) {
            assert!(status.window_len <= status.conf.window_capacity());
            assert!(status.report.last_lsn >= status.report.snapshot_lsn);
        }
        let options = StoreOptions::default().recovery(mode);
        if let Ok(mut d) = open_sim(&sim, Some(conf()), options) {
            let n = d.lsn();
            assert!(d.detector().len() <= d.detector().conf().window_capacity());
            d.push(1.0).unwrap();
            drop(d);
            let d = open_sim(&sim, None, StoreOptions::default()).unwrap();
            assert_eq!(d.lsn(), n + 1, "{mode:?}: a push after recovery survives");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_files(
        snap in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..400)),
        wal in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..400)),
        tmp in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    ) {
        check(snap.as_deref(), wal.as_deref(), tmp.as_deref());
    }

    #[test]
    fn valid_files_with_random_edits(
        snap_edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        wal_edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        wal_cut in any::<prop::sample::Index>(),
        wal_extra in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let (mut snap, mut wal) = valid_files();
        for (i, b) in snap_edits {
            let at = i.index(snap.len());
            snap[at] = b;
        }
        for (i, b) in wal_edits {
            let at = i.index(wal.len());
            wal[at] = b;
        }
        wal.truncate(wal_cut.index(wal.len() + 1));
        wal.extend_from_slice(&wal_extra);
        check(Some(&snap), Some(&wal), None);
    }
}

#[test]
fn extreme_lsns_in_valid_checksums_are_refused_without_overflow() {
    let (snap, wal) = valid_files();
    for lsn in [u64::MAX, u64::MAX - 1, 1 << 63] {
        // A snapshot claiming an absurd LSN, with both checksums fixed up.
        let mut s = snap.clone();
        s[48..56].copy_from_slice(&lsn.to_le_bytes());
        let crc = crc32c::crc32c(&s[..60]);
        s[60..64].copy_from_slice(&crc.to_le_bytes());
        check(Some(&s), Some(&wal), None);
        let sim = SimStorage::new();
        sim.write_durable(&sim_file(SNAPSHOT_FILE), &s);
        assert!(open_sim(&sim, None, StoreOptions::default())
            .unwrap_err()
            .is_corruption());

        // A log record claiming it, with its checksum fixed up.
        let mut w = wal.clone();
        let h = WAL_HEADER;
        w[h + 8..h + 16].copy_from_slice(&lsn.to_le_bytes());
        let crc = crc32c::crc32c(&w[h + 4..h + PUSH_RECORD]);
        w[h..h + 4].copy_from_slice(&crc.to_le_bytes());
        check(Some(&snap), Some(&w), None);
    }
}
