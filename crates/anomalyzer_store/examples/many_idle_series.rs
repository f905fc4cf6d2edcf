//! Memory per idle series and restart time of a series set with many
//! series, measured as the growth of the process's resident set (Linux:
//! `/proc/self/status`) and as the wall time of `SeriesSet::open`.
//!
//! ```text
//! cargo run --release -p anomalyzer_store --example many_idle_series -- [count] [dir]
//! ```
//!
//! Every series gets one point (which creates it; its window is allocated
//! whole at creation) with the service's default detector (the detector's
//! defaults with `active_size` 1: a window of 5 values), through requests
//! of 1 000 points. The set is then shut down (a full snapshot), dropped
//! and opened again: the time of that open is the restart time. Before
//! that, a copy of the log alone (what `kill -9` leaves when no snapshot
//! was taken yet) is opened, which replays every record. The
//! figure includes the allocator's overhead and whatever it keeps after
//! the ingest buffers were freed, so it is an upper bound.

use std::sync::Arc;
use std::time::Instant;

use anomalyzer_store::{IncomingPoint, SeriesIdentity, SeriesSet, SeriesSetOptions, SyncPolicy};
use anomalyzer_ts::AnomalyzerConf;

/// Resident set size in bytes, if the platform reports it.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn identity(i: u64) -> SeriesIdentity {
    let labels = vec![
        ("instance".to_string(), format!("host-{i}:9100")),
        ("job".to_string(), "node".to_string()),
    ];
    SeriesIdentity::new("node_load1", &labels).expect("valid identity")
}

fn options(count: u64) -> SeriesSetOptions {
    let conf = AnomalyzerConf::builder()
        .active_size(1)
        .build()
        .expect("default configuration");
    let mut o = SeriesSetOptions::with_conf(conf);
    o.max_series = count;
    // The memory figure does not depend on fsyncs; creating a million
    // series is quicker without one per request.
    o.sync = SyncPolicy::Never;
    // Worst case for the crash image below: no snapshot during ingest.
    o.snapshot_after_records = u64::MAX;
    o
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let temp;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let Some(before) = rss_bytes() else {
        eprintln!("no /proc/self/status here: cannot measure the resident set");
        return Ok(());
    };
    let conf_window = AnomalyzerConf::builder()
        .active_size(1)
        .build()?
        .window_capacity() as u64;
    let (set, _) = SeriesSet::open(&dir, options(count))?;
    let started = Instant::now();
    let mut next = 0u64;
    while next < count {
        let end = (next + 1000).min(count);
        let points: Vec<IncomingPoint> = (next..end)
            .map(|i| IncomingPoint {
                series: identity(i),
                timestamp_ns: 1_700_000_000_000_000_000,
                value: (i % 97) as f64,
            })
            .collect();
        set.apply_blocking(points)?;
        next = end;
    }
    let ingest = started.elapsed();
    let after = rss_bytes().unwrap_or(before);
    let per = (after.saturating_sub(before)) as f64 / count as f64;
    let stats = set.stats();
    println!(
        "{count} idle series (window {conf_window} values): {per:.1} bytes each resident, \
         {:.1} beyond the window's {} bytes; created in {:.1} s; log {} MB",
        per - 8.0 * conf_window as f64,
        8 * conf_window,
        ingest.as_secs_f64(),
        stats.wal_bytes / 1_000_000
    );
    // What a kill -9 now would leave (the OS holds every written byte):
    // a copy of the log, no snapshot. Its open replays the whole log.
    let image = tempfile::tempdir()?;
    std::fs::copy(
        dir.join(anomalyzer_store::WAL_FILE),
        image.path().join(anomalyzer_store::WAL_FILE),
    )?;
    let started = Instant::now();
    let (replayed, recovery) = SeriesSet::open(image.path(), options(count))?;
    println!(
        "restart after kill -9 (log only, {} records): {:.2} s: {recovery}",
        stats.last_lsn,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(replayed.stats().series, count);
    drop(replayed);
    drop(image);
    let started = Instant::now();
    set.shutdown()?;
    let snapshot = started.elapsed();
    drop(set);
    let snap_bytes = std::fs::metadata(dir.join(anomalyzer_store::SNAPSHOT_FILE))?.len();
    let started = Instant::now();
    let (set, recovery) = SeriesSet::open(&dir, options(count))?;
    let restart = started.elapsed();
    println!(
        "shutdown snapshot {:.2} s ({} MB); restart {:.2} s: {recovery}",
        snapshot.as_secs_f64(),
        snap_bytes / 1_000_000,
        restart.as_secs_f64()
    );
    assert_eq!(set.stats().series, count);
    std::hint::black_box(Arc::new(set));
    Ok(())
}
