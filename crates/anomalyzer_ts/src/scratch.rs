//! Per-thread scratch buffers for evaluation.
//!
//! A detector owns only its window; the buffers the tests work in live here,
//! one set per thread, grown to the largest window seen and then reused. So
//! evaluation allocates nothing in steady state, and an idle detector costs
//! only its window (what many-series users need).

use std::cell::RefCell;

/// Working buffers shared by the tests of one evaluation.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The window, oldest first, contiguous.
    pub(crate) window: Vec<f64>,
    /// Differences (absolute or relative) of a window.
    pub(crate) diffs: Vec<f64>,
    /// Ranks of the window (rank tests).
    pub(crate) ranks: Vec<u32>,
    /// Exact rank tests: subset-sum counts, `(A + 1)` rows of sums.
    pub(crate) rank_ways_64: Vec<u64>,
    /// The same, where the counts need 128 bits.
    pub(crate) rank_ways_128: Vec<u128>,
    /// Positions sorted by value; diff: the window positions it shuffles.
    pub(crate) order: Vec<u32>,
    /// diff: relative difference of every ordered pair of window values.
    pub(crate) pair_diffs: Vec<f64>,
    /// diff on tiny windows: the outcome of every ordering.
    pub(crate) outcomes: Vec<bool>,
    /// KS: grid position of each window value.
    pub(crate) grid_index: Vec<u32>,
    /// KS: number of window values at or below each grid point.
    pub(crate) grid_total: Vec<u32>,
    /// KS: grid positions of one permutation's active values, sorted.
    pub(crate) active_index: Vec<u32>,
    /// KS: `c / n2` for every count `c` of active values.
    pub(crate) ks_active_share: Vec<f64>,
    /// KS: `k / n1` for every count `k` of reference values.
    pub(crate) ks_reference_share: Vec<f64>,
    /// KS: allowed range of each sorted active grid position.
    pub(crate) ks_bounds: Vec<(u32, u32)>,
    /// KS: the same bounds as ranges of value ranks.
    pub(crate) ks_rank_bounds: Vec<(u32, u32)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    // Evaluation never calls back into user code, so this borrow cannot nest.
    SCRATCH.with_borrow_mut(f)
}
