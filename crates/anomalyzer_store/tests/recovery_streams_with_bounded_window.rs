//! Defect 10 of the seed: recovery read whole files into memory and grew
//! the data without bound. The log is now streamed through a small buffer
//! and the recovered window never exceeds `A + R` values.

mod common;

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anomalyzer_store::{
    AcquiredLock, DurableAnomalyzer, FsStorage, LockFailure, Storage, StorageFile, StoreOptions,
    SyncPolicy,
};
use common::*;

/// The real file system, recording the largest single read request.
#[derive(Default)]
struct Metered {
    largest_read: Arc<AtomicUsize>,
}

impl fmt::Debug for Metered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metered")
    }
}

struct MeteredReader(Box<dyn Read + Send>, Arc<AtomicUsize>);

impl Read for MeteredReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1.fetch_max(buf.len(), Ordering::Relaxed);
        self.0.read(buf)
    }
}

impl Storage for Metered {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        FsStorage.create_dir_all(dir)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        FsStorage.is_dir(path)
    }
    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        FsStorage.remove_dir(dir)
    }
    fn try_lock(&self, path: &Path) -> Result<AcquiredLock, LockFailure> {
        FsStorage.try_lock(path)
    }
    fn lock_held(&self, path: &Path) -> io::Result<Option<bool>> {
        FsStorage.lock_held(path)
    }
    fn len(&self, path: &Path) -> io::Result<Option<u64>> {
        FsStorage.len(path)
    }
    fn open_read(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send>>> {
        Ok(FsStorage.open_read(path)?.map(|r| {
            Box::new(MeteredReader(r, Arc::clone(&self.largest_read))) as Box<dyn Read + Send>
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        FsStorage.open_append(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        FsStorage.create_new(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsStorage.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        FsStorage.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        FsStorage.sync_dir(dir)
    }
    fn new_directory_id(&self) -> io::Result<[u8; 16]> {
        FsStorage.new_directory_id()
    }
}

#[test]
fn a_long_log_is_replayed_in_small_reads_into_a_bounded_window() {
    let conf = conf();
    let n = 120_000;
    let values = values(12, n);
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::default()
        .sync(SyncPolicy::Never)
        .snapshot_interval(u64::MAX);
    let mut d = DurableAnomalyzer::open_with(dir.path(), Some(conf.clone()), options).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    drop(d);
    let wal_len = std::fs::metadata(dir.path().join(anomalyzer_store::WAL_FILE))
        .unwrap()
        .len();
    assert!(wal_len > 3_000_000, "{wal_len}");

    let metered = Metered::default();
    let largest = Arc::clone(&metered.largest_read);
    let storage: Arc<dyn Storage> = Arc::new(metered);
    let mut d = DurableAnomalyzer::open_in(storage, dir.path(), None, options).unwrap();
    assert_eq!(d.recovery_report().replayed, n as u64);
    assert_eq!(d.detector().len(), conf.window_capacity());
    let largest = largest.load(Ordering::Relaxed);
    assert!(
        largest <= 128 * 1024,
        "largest read {largest} bytes for a {wal_len}-byte log"
    );
    assert_same_state(&mut d, &conf, &values, "after a long replay");
}
