//! Running a detector over every file of a corpus, files in parallel
//! (`--jobs`), each file by a fresh detector in row order, with a progress
//! bar over points when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many points a worker scores between two updates of the bar.
const POINTS_PER_UPDATE: usize = 4096;

/// The default for `--jobs`: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A progress bar over points, drawn only on a terminal.
pub struct PointsBar {
    bar: Option<ProgressBar>,
}

impl PointsBar {
    /// A bar for `total` points, labelled `what`; hidden unless stderr is a terminal.
    pub fn new(total: u64, what: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = format!("{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} points (eta {{eta}}) {{msg}}");
            bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        PointsBar { bar }
    }

    /// A bar that is never drawn.
    #[cfg(test)]
    pub fn hidden() -> Self {
        PointsBar { bar: None }
    }

    /// Adds `n` points.
    pub fn inc(&self, n: usize) {
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
    }

    /// Sets the text after the bar (e.g. the best score so far).
    pub fn message(&self, text: String) {
        if let Some(b) = &self.bar {
            b.set_message(text);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for PointsBar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Scores every series with a fresh detector built from `conf`, `jobs`
/// series at a time; the result is in the order of `series`.
pub fn score_series(
    series: &[&[f64]],
    conf: &AnomalyzerConf,
    jobs: usize,
    bar: &PointsBar,
) -> Result<Vec<Vec<f64>>> {
    // Longest first, so that one long file does not finish alone at the end.
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(series[i].len()));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Vec<f64>>>> = Mutex::new(vec![None; series.len()]);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, series.len().max(1)) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                match score_one(series[i], conf, bar) {
                    Ok(scores) => lock(&results)[i] = Some(scores),
                    Err(e) => {
                        lock(&first_error).get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&first_error).take() {
        return Err(e);
    }
    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Every index was taken by exactly one worker, and no worker failed.
    Ok(results.into_iter().map(Option::unwrap_or_default).collect())
}

fn score_one(values: &[f64], conf: &AnomalyzerConf, bar: &PointsBar) -> Result<Vec<f64>> {
    let mut detector = Anomalyzer::new(conf.clone(), &[])?;
    let mut out = Vec::with_capacity(values.len());
    for chunk in values.chunks(POINTS_PER_UPDATE) {
        for &v in chunk {
            out.push(detector.push(v)?);
        }
        bar.inc(chunk.len());
    }
    Ok(out)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking worker poisons the lock; the data is still whole.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_scores_equal_a_single_detector_per_file() {
        let conf = AnomalyzerConf::builder().active_size(1).build().unwrap();
        let a: Vec<f64> = (0..300).map(|i| (i as f64 * 0.3).sin()).collect();
        let b: Vec<f64> = (0..50).map(|i| if i == 40 { 9.0 } else { 1.0 }).collect();
        let series = [a.as_slice(), b.as_slice(), &[][..]];
        let got = score_series(&series, &conf, 3, &PointsBar::hidden()).unwrap();
        for (values, scores) in series.iter().zip(&got) {
            let mut d = Anomalyzer::new(conf.clone(), &[]).unwrap();
            let expected: Vec<f64> = values.iter().map(|&v| d.push(v).unwrap()).collect();
            assert_eq!(scores, &expected);
        }
    }
}
