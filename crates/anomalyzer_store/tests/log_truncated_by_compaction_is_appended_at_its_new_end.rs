//! On real files: after a compaction cuts the log back to its header, the
//! next record must land right after the header. (A log handle that writes
//! at its old file offset would leave a hole of zeros that the next
//! recovery takes for corruption.) Checked for a log created fresh and for
//! one reopened.

mod common;

use anomalyzer_store::{DurableAnomalyzer, StoreOptions, WAL_FILE};
use common::*;

#[test]
fn pushes_after_compaction_follow_the_header() {
    let conf = conf();
    let values = values(19, 40);
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::default().snapshot_interval(7);
    let wal = dir.path().join(WAL_FILE);
    let mut d = DurableAnomalyzer::open_with(dir.path(), Some(conf.clone()), options).unwrap();
    for (i, &x) in values.iter().enumerate() {
        if i == 20 {
            drop(d);
            d = DurableAnomalyzer::open_with(dir.path(), None, options).unwrap();
        }
        d.push(x).unwrap();
        let pending = d.manager().pending_wal_entries();
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            WAL_HEADER as u64 + PUSH_RECORD as u64 * pending,
            "push {i}"
        );
        assert_eq!(
            d.manager().wal_size_bytes(),
            WAL_HEADER as u64 + PUSH_RECORD as u64 * pending
        );
    }
    drop(d);
    let mut d = DurableAnomalyzer::open_with(dir.path(), None, options).unwrap();
    assert_same_state(&mut d, &conf, &values, "real files with compactions");
}
