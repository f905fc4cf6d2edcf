//! Memory of many idle detectors sharing one configuration, measured as the
//! growth of the process's resident set (Linux: `/proc/self/status`).
//!
//! ```text
//! cargo run --release -p anomalyzer_ts --example idle_memory -- [count] [A] [NS]
//! ```
//!
//! Each detector holds its full window (the worst case for an idle one).
//! The figure includes the allocator's per-allocation overhead, which
//! `size_of` and the unit test of the 64 + 8·(A+R) byte bound do not see.

use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

/// Resident set size in bytes, if the platform reports it.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let count = args.first().copied().unwrap_or(1_000_000);
    let active = args.get(1).copied().unwrap_or(1);
    let seasons = args.get(2).copied().unwrap_or(4);
    let conf = Arc::new(
        AnomalyzerConf::builder()
            .active_size(active)
            .n_seasons(seasons)
            .build()?,
    );
    let capacity = conf.window_capacity();
    let values: Vec<f64> = (0..capacity).map(|i| 10.0 + i as f64).collect();
    let Some(before) = rss_bytes() else {
        eprintln!("no /proc/self/status here: cannot measure the resident set");
        return Ok(());
    };
    let mut detectors = Vec::with_capacity(count);
    for _ in 0..count {
        detectors.push(Anomalyzer::with_shared_conf(Arc::clone(&conf), &values)?);
    }
    let after = rss_bytes().unwrap_or(before);
    let per = (after - before) as f64 / count as f64;
    println!(
        "{count} idle detectors, A={active} NS={seasons} (window {capacity} values): \
         {per:.1} bytes each resident; bound 64 + 8×{capacity} = {} bytes; \
         size_of::<Anomalyzer>() = {} bytes",
        64 + 8 * capacity,
        std::mem::size_of::<Anomalyzer>(),
    );
    std::hint::black_box(&detectors);
    Ok(())
}
