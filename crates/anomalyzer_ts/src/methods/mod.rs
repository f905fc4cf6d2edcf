//! The statistical tests (SPEC.md, "The seven tests"; docs/spec.md for
//! the robust ones), one per file.
//!
//! Each returns its raw statistic (before clamping to [0, 1]) or `None` when
//! not applicable. They all take the window oldest first.

mod cdf;
mod diff;
mod fence;
mod ks;
mod magnitude;
mod rank;
mod rank_exact;
mod robust_scale;
mod seasonal;
mod shift;

pub(crate) use cdf::cdf;
pub(crate) use diff::diff;
pub(crate) use fence::fence;
pub(crate) use ks::ks;
#[cfg(test)]
pub(crate) use ks::ks_statistic;
pub(crate) use magnitude::magnitude;
pub(crate) use rank::{rank, RankSide};
pub(crate) use rank_exact::rank_exact;
pub(crate) use seasonal::seasonal;
pub(crate) use shift::ShiftTest;

use crate::permutation::PermutationRng;
use crate::scratch::Scratch;
use crate::{AnomalyzerConf, Method};

/// Runs one test on `x` (the window) for the evaluation after `push_count`
/// pushes.
pub(crate) fn run(
    method: Method,
    x: &[f64],
    conf: &AnomalyzerConf,
    push_count: u64,
    scratch: &mut Scratch,
) -> Option<f64> {
    let (a, r, p) = (conf.active_size(), conf.reference_size(), conf.perm_count());
    let rng = || PermutationRng::new(conf.seed(), push_count, method);
    match method {
        Method::Magnitude => magnitude(x, r, a),
        Method::Fence => fence(x, a, conf.upper_bound()?, conf.lower_bound()),
        Method::Cdf => cdf(x, r, a, &mut scratch.diffs),
        Method::HighRank if conf.exact_ranks() => rank_exact(x, r, a, RankSide::High, scratch),
        Method::LowRank if conf.exact_ranks() => rank_exact(x, r, a, RankSide::Low, scratch),
        Method::HighRank => rank(x, r, a, p, RankSide::High, &mut rng(), scratch),
        Method::LowRank => rank(x, r, a, p, RankSide::Low, &mut rng(), scratch),
        Method::Diff => diff(x, r, a, p, &mut rng(), scratch),
        Method::Ks => ks(x, r, a, p, &mut rng(), scratch),
        // Stateful: run by the robust pipeline (crate::robust), never here.
        Method::RobustZ | Method::LevelShift | Method::SlowShift | Method::Seasonal => None,
    }
}
