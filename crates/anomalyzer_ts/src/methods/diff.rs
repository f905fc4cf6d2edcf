//! diff: permutation test on the ranks of relative differences.
//!
//! A permutation's statistic is the rank sum of its last `A` relative
//! differences among all `n − 1`. Three things make it cheap without
//! changing its distribution or, given the draws, its outcome:
//!
//! - **Drawn backwards, lazily.** A partial Fisher–Yates draw puts a uniform
//!   random ordered sample at the front of the buffer, so we read the buffer
//!   as the permutation *reversed*: `v[0]` is its latest value, `v[t + 1]`
//!   precedes `v[t]`. The first `A + 1` draws give the `A` active
//!   differences; each further draw gives one more reference difference.
//! - **Stopped as soon as the answer is known.** Every reference difference
//!   adds to the rank sum the number of active differences above it, so the
//!   running sum only grows and each remaining difference adds at most the
//!   number of positive active differences. Once the sum reaches the
//!   observed one the permutation cannot count; once even the maximum
//!   possible remainder cannot reach it, it must. The rest of the
//!   permutation is never drawn (the next permutation restarts from whatever
//!   order the buffer is in, which partial Fisher–Yates allows; a draw made
//!   in a pair whose second half is not needed is discarded).
//! - **No division per permutation** on windows of up to [`MATRIX_MAX`]
//!   values: the relative difference of every ordered pair of window values
//!   is computed once per evaluation (`n² − n` divisions instead of up to
//!   `P·(n − 1)`), and a permutation looks its pairs up. The table holds the
//!   very values the division gives, so comparisons, ties included, are
//!   unchanged.
//! - **One draw per permutation on tiny windows.** A window of `n ≤ 5`
//!   values (the common `A = 1`, 4 seasons) has at most 120 orderings, fewer
//!   than the permutations drawn: we score each ordering once, then a
//!   permutation is a uniform index among the `n!` orderings (decoded by the
//!   factorial number system, a bijection), i.e. one 32-bit draw.
//!
//! Active sizes up to 16 each get their own compiled copy of the loop, so
//! the count against the active differences is straight-line code.

use crate::permutation::PermutationRng;
use crate::scratch::Scratch;
use crate::split::split_windows;
use crate::stats::{rel_diff, rel_diff_at};

/// Above this many active differences, counting uses a sorted copy and a
/// binary search instead of a linear scan.
const LINEAR_ACTIVE: usize = 16;

/// Largest window whose orderings are all scored (5! = 120).
const ENUMERATE_MAX: usize = 5;

/// Largest window whose pair table is built (128² × 8 bytes = 128 KiB).
const MATRIX_MAX: usize = 128;

/// Share of `perm_count` shuffles of the values whose active rank sum of
/// relative differences is below the observed one.
pub(crate) fn diff(
    x: &[f64],
    ref_size: usize,
    active_size: usize,
    perm_count: usize,
    rng: &mut PermutationRng,
    scratch: &mut Scratch,
) -> Option<f64> {
    let m = x.len().checked_sub(1)?;
    let s = split_windows(m, ref_size.saturating_sub(1), active_size, active_size)?;
    // The window is the whole input (x.len() ≤ A + R), so the split covers
    // every difference and ranks within it are ranks within all of them.
    debug_assert_eq!(s.reference.start, 0);
    let a = s.active.len();
    rel_diff(x, &mut scratch.diffs);
    let observed = active_rank_sum(&scratch.diffs, a);
    let n = x.len();
    let v = &mut scratch.order;
    v.clear();
    v.extend(0..n as u32);
    let active = &mut scratch.diffs;
    let orderings: usize = (1..=n.min(ENUMERATE_MAX)).product();
    let enumerate = n <= ENUMERATE_MAX && orderings <= perm_count;
    if !enumerate && n > MATRIX_MAX {
        let rel = |e: u32, l: u32| rel_diff_at(x[e as usize], x[l as usize]);
        let significant = count_below(v, a, perm_count, observed, rng, active, &rel);
        return Some(significant as f64 / perm_count as f64);
    }
    let table = &mut scratch.pair_diffs;
    table.clear();
    table.resize(n * n, 0.0);
    for (row, &earlier) in table.chunks_exact_mut(n).zip(x) {
        for (slot, &later) in row.iter_mut().zip(x) {
            *slot = rel_diff_at(earlier, later);
        }
    }
    let significant = if enumerate {
        let outcomes = &mut scratch.outcomes;
        score_orderings(table, n, a, observed, outcomes);
        let mut significant = 0usize;
        // Two permutations per 64-bit output.
        for _ in 0..perm_count / 2 {
            let (i, j) = rng.below_pair(orderings, orderings);
            significant += usize::from(outcomes[i]) + usize::from(outcomes[j]);
        }
        if perm_count % 2 == 1 {
            significant += usize::from(outcomes[rng.below(orderings)]);
        }
        significant
    } else {
        let rel = |e: u32, l: u32| table[e as usize * n + l as usize];
        count_below(v, a, perm_count, observed, rng, active, &rel)
    };
    Some(significant as f64 / perm_count as f64)
}

/// All orderings of `N` positions, indexed by the factorial number system
/// (a bijection from `0..N!`), built at compile time.
const fn ordering_table<const N: usize, const F: usize>() -> [[u8; N]; F] {
    let mut out = [[0u8; N]; F];
    let mut r = 0;
    while r < F {
        let mut pool = [0u8; N];
        let mut i = 0;
        while i < N {
            pool[i] = i as u8;
            i += 1;
        }
        let mut rest = r;
        let mut i = 0;
        while i < N {
            let left = N - i;
            let k = rest % left;
            rest /= left;
            out[r][i] = pool[k];
            let mut j = k;
            while j + 1 < left {
                pool[j] = pool[j + 1];
                j += 1;
            }
            i += 1;
        }
        r += 1;
    }
    out
}

static ORDERINGS_2: [[u8; 2]; 2] = ordering_table::<2, 2>();
static ORDERINGS_3: [[u8; 3]; 6] = ordering_table::<3, 6>();
static ORDERINGS_4: [[u8; 4]; 24] = ordering_table::<4, 24>();
static ORDERINGS_5: [[u8; 5]; 120] = ordering_table::<5, 120>();

/// For every ordering index of a window of `2 ≤ n ≤ ENUMERATE_MAX` values
/// (`table`: their pair differences), whether that shuffle's active rank
/// sum is below `observed`, computed the direct way.
fn score_orderings(table: &[f64], n: usize, a: usize, observed: u64, outcomes: &mut Vec<bool>) {
    fn score<const N: usize>(
        orderings: &[[u8; N]],
        table: &[f64],
        a: usize,
        observed: u64,
        outcomes: &mut Vec<bool>,
    ) {
        let mut d = [0.0f64; ENUMERATE_MAX];
        outcomes.clear();
        outcomes.extend(orderings.iter().map(|o| {
            for (slot, pair) in d.iter_mut().zip(o.windows(2)) {
                *slot = table[usize::from(pair[0]) * N + usize::from(pair[1])];
            }
            active_rank_sum(&d[..N - 1], a) < observed
        }));
    }
    match n {
        2 => score(&ORDERINGS_2, table, a, observed, outcomes),
        3 => score(&ORDERINGS_3, table, a, observed, outcomes),
        4 => score(&ORDERINGS_4, table, a, observed, outcomes),
        5 => score(&ORDERINGS_5, table, a, observed, outcomes),
        _ => unreachable!("enumeration is for 2..={ENUMERATE_MAX} values"),
    }
}

/// Number of `perm_count` permutations whose active rank sum is below
/// `observed`; `rel(e, l)` is the relative difference from window value `e`
/// to the later value `l`.
fn count_below<F: Fn(u32, u32) -> f64>(
    v: &mut [u32],
    a: usize,
    perm_count: usize,
    observed: u64,
    rng: &mut PermutationRng,
    active: &mut Vec<f64>,
    rel: &F,
) -> usize {
    fn run<const A: usize, F: Fn(u32, u32) -> f64>(
        v: &mut [u32],
        a: usize,
        perm_count: usize,
        observed: u64,
        rng: &mut PermutationRng,
        active: &mut Vec<f64>,
        rel: &F,
    ) -> usize {
        (0..perm_count)
            .map(|_| usize::from(permutation_below::<A, F>(v, a, observed, rng, active, rel)))
            .sum()
    }
    // One copy per active size up to `LINEAR_ACTIVE`, where every count
    // over the active differences is unrolled; a generic one above.
    macro_rules! by_active_size {
        ($($k:literal)*) => {
            match a {
                $($k => run::<$k, F>(v, a, perm_count, observed, rng, active, rel),)*
                _ => run::<0, F>(v, a, perm_count, observed, rng, active, rel),
            }
        };
    }
    by_active_size!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// Draws one permutation of `v` (lazily, backwards) and tells whether its
/// active rank sum is below `observed`. `A` is the active size when known
/// at compile time, else 0; `active` is scratch space.
#[inline(always)]
// The last `step!` updates `later` for a step that never comes.
#[allow(unused_assignments)]
fn permutation_below<const A: usize, F: Fn(u32, u32) -> f64>(
    v: &mut [u32],
    a: usize,
    observed: u64,
    rng: &mut PermutationRng,
    active: &mut Vec<f64>,
    rel: &F,
) -> bool {
    let a = if A > 0 { A } else { a };
    let n = v.len();
    rng.sample_prefix(v, a + 1);
    // Short active windows live on the stack, where a known `A` keeps every
    // loop over them unrolled.
    let sorted = a > LINEAR_ACTIVE;
    let mut local = [0.0f64; LINEAR_ACTIVE];
    let active = if sorted {
        active.clear();
        active.resize(a, 0.0);
        &mut active[..]
    } else {
        &mut local[..a]
    };
    for (t, d) in active.iter_mut().enumerate() {
        *d = rel(v[t + 1], v[t]);
    }
    // Start from the ranks among the active differences themselves.
    let mut sum = if sorted {
        active.sort_unstable_by(f64::total_cmp);
        sorted_rank_sum(active)
    } else {
        active.iter().map(|&d| count_above(active, d)).sum()
    };
    let active = &*active;
    // Differences are ≥ 0, so a reference difference adds at most this.
    let max_step = active.iter().filter(|&&d| d > 0.0).count() as u64;
    let mut remaining = (n - 1 - a) as u64;
    if let Some(answer) = decided(sum, max_step * remaining, observed) {
        return answer;
    }
    // The value at the latest position drawn so far (the later end of the
    // next reference difference), kept in a register.
    let mut later = v[a];
    // Draws position `t` as the element `t + i` (a Fisher–Yates swap, with
    // the drawn value kept in a register), adds the reference difference it
    // starts, and (if `$check`) returns from the function once the answer is
    // known. Checking after every other step only is still exact: once
    // decided, the answer cannot change (the sum only grows, by at most
    // `max_step` a step). A macro rather than a closure: called from several
    // places, a closure is not inlined and its state then lives in memory.
    macro_rules! step {
        ($t:expr, $i:expr, $check:expr) => {{
            let t = $t;
            v.swap(t, t + $i);
            let earlier = v[t];
            let d = rel(earlier, later);
            later = earlier;
            sum += if sorted {
                (a - active.partition_point(|&k| k <= d)) as u64
            } else {
                count_above(active, d)
            };
            remaining -= 1;
            if $check {
                if let Some(answer) = decided(sum, max_step * remaining, observed) {
                    return answer;
                }
            }
        }};
    }
    // Positions a + 1 .. n − 1 are drawn, two per 64-bit output; the last
    // position takes the one value left, and with nothing remaining after
    // it, one of the two tests of `decided` holds.
    let mut t = a + 1;
    while t + 2 < n {
        let (i, j) = rng.below_pair(n - t, n - t - 1);
        step!(t, i, false);
        step!(t + 1, j, true);
        t += 2;
    }
    if t + 1 < n {
        let i = rng.below(n - t);
        step!(t, i, true);
        t += 1;
    }
    step!(t, 0, true);
    unreachable!("a complete permutation is decided")
}

/// Whether `sum` plus at most `room` more is known to be below `observed`.
#[inline(always)]
fn decided(sum: u64, room: u64, observed: u64) -> Option<bool> {
    if sum >= observed {
        Some(false)
    } else if sum + room < observed {
        Some(true)
    } else {
        None
    }
}

/// Sum of minimum ranks of an ascending slice (ties share the lowest rank).
fn sorted_rank_sum(sorted: &[f64]) -> u64 {
    let mut group = 0usize;
    let mut sum = 0u64;
    for i in 0..sorted.len() {
        // Differences are never NaN; -0.0 cannot occur (they are absolute).
        if i > 0 && sorted[i - 1] < sorted[i] {
            group = i;
        }
        sum += group as u64;
    }
    sum
}

/// Number of elements of `active` strictly greater than `d`.
#[inline(always)]
fn count_above(active: &[f64], d: f64) -> u64 {
    active.iter().map(|&k| u64::from(k > d)).sum()
}

/// Sum over the last `a` elements of their minimum rank within `d`.
fn active_rank_sum(d: &[f64], a: usize) -> u64 {
    d[d.len() - a..]
        .iter()
        .map(|&v| d.iter().filter(|&&w| w < v).count() as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    fn run(x: &[f64], p: usize) -> Option<f64> {
        let mut rng = PermutationRng::new(1, 1, Method::Diff);
        diff(x, 4, 1, p, &mut rng, &mut Scratch::default())
    }

    /// The whole permutation, drawn exactly as `permutation_below` draws it
    /// but never stopped early, then scored the direct way (SPEC.md: shuffle,
    /// `rel_diff`, rank, sum the active ranks).
    fn full_permutation_below(
        x: &[f64],
        v: &mut [u32],
        a: usize,
        observed: u64,
        rng: &mut PermutationRng,
    ) -> bool {
        let n = v.len();
        rng.sample_prefix(v, a + 1);
        let mut t = a + 1;
        while t + 2 < n {
            let (i, j) = rng.below_pair(n - t, n - t - 1);
            v.swap(t, t + i);
            v.swap(t + 1, t + 1 + j);
            t += 2;
        }
        if t + 1 < n {
            let i = rng.below(n - t);
            v.swap(t, t + i);
        }
        // The buffer is the permutation reversed.
        let shuffled: Vec<f64> = v.iter().rev().map(|&i| x[i as usize]).collect();
        let mut d = Vec::new();
        rel_diff(&shuffled, &mut d);
        active_rank_sum(&d, a) < observed
    }

    #[test]
    fn early_exit_and_pair_table_decide_like_the_full_permutation() {
        let mut data = PermutationRng::new(2, 9, Method::Diff);
        let mut decided = [0u32; 2];
        for case in 0..400 {
            // Up to 20 active differences: the sorted path starts above 16.
            let a = 1 + case % 20;
            let n = a + 1 + a * (1 + case % 4) + case % 3;
            // Few levels (ties), zeros (0/0 and c/0) and signs.
            let levels = 2 + case % 7;
            let x: Vec<f64> = (0..n)
                .map(|_| data.below(levels) as f64 - (case % 3) as f64)
                .collect();
            let mut d = Vec::new();
            rel_diff(&x, &mut d);
            let observed = active_rank_sum(&d, a);
            let table: Vec<f64> = x
                .iter()
                .flat_map(|&e| x.iter().map(move |&l| rel_diff_at(e, l)))
                .collect();
            let by_table = |e: u32, l: u32| table[e as usize * n + l as usize];
            let by_division = |e: u32, l: u32| rel_diff_at(x[e as usize], x[l as usize]);
            let mut rng = PermutationRng::new(case as u64, 0, Method::Diff);
            let mut v: Vec<u32> = (0..n as u32).collect();
            for _ in 0..50 {
                let (mut r1, mut v1) = (rng.clone(), v.clone());
                let (mut r2, mut v2) = (rng.clone(), v.clone());
                let want = full_permutation_below(&x, &mut v1, a, observed, &mut r1);
                let mut scratch = Vec::new();
                // The unrolled copy for this size (as `count_below` picks it).
                macro_rules! unrolled {
                    ($($k:literal)*) => {
                        match a {
                            $($k => permutation_below::<$k, _>(
                                &mut v2, a, observed, &mut r2, &mut scratch, &by_table,
                            ),)*
                            _ => permutation_below::<0, _>(
                                &mut v2, a, observed, &mut r2, &mut scratch, &by_table,
                            ),
                        }
                    };
                }
                let got_table = unrolled!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
                let got_division = permutation_below::<0, _>(
                    &mut v.clone(),
                    a,
                    observed,
                    &mut rng.clone(),
                    &mut scratch,
                    &by_division,
                );
                assert_eq!(got_table, want, "case {case}: x {x:?}");
                assert_eq!(got_division, want, "case {case}: x {x:?}");
                decided[usize::from(want)] += 1;
                // Move on from where the full draw left the buffer.
                rng = r1;
                v = v1;
            }
        }
        assert!(decided.iter().all(|&k| k > 2_000), "{decided:?}");
    }

    #[test]
    fn orderings_are_a_bijection() {
        fn check<const N: usize>(table: &[[u8; N]]) {
            let count: usize = (1..=N).product();
            assert_eq!(table.len(), count);
            let mut seen: Vec<[u8; N]> = table.to_vec();
            for o in &seen {
                let mut sorted = *o;
                sorted.sort_unstable();
                assert!(sorted.iter().enumerate().all(|(i, &p)| usize::from(p) == i));
            }
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(
                seen.len(),
                count,
                "all {count} orderings of {N} are distinct"
            );
        }
        check(&ORDERINGS_2);
        check(&ORDERINGS_3);
        check(&ORDERINGS_4);
        check(&ORDERINGS_5);
    }

    #[test]
    fn tiny_windows_score_every_ordering_like_the_definition() {
        // 5 values, A = 1: the share of orderings that count, computed by
        // brute force, is what a large number of permutations estimates.
        let x = [3.0, 0.0, 2.5, 2.5, 7.0];
        let mut d = Vec::new();
        rel_diff(&x, &mut d);
        let observed = active_rank_sum(&d, 1);
        let mut outcomes = Vec::new();
        let table: Vec<f64> = x
            .iter()
            .flat_map(|&e| x.iter().map(move |&l| rel_diff_at(e, l)))
            .collect();
        score_orderings(&table, 5, 1, observed, &mut outcomes);
        let counted = outcomes.iter().filter(|&&o| o).count();
        // Brute force over all 5^5 index tuples that are permutations.
        let mut brute = 0;
        for code in 0..5usize.pow(5) {
            let idx: Vec<usize> = (0..5).map(|k| code / 5usize.pow(k) % 5).collect();
            let mut seen = idx.clone();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() == 5 {
                let shuffled: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
                rel_diff(&shuffled, &mut d);
                brute += usize::from(active_rank_sum(&d, 1) < observed);
            }
        }
        assert_eq!(counted, brute);
        let exact = counted as f64 / 120.0;
        let mut rng = PermutationRng::new(8, 8, Method::Diff);
        let p = diff(&x, 4, 1, 100_000, &mut rng, &mut Scratch::default()).unwrap();
        assert!((p - exact).abs() < 0.01, "{p} vs {exact}");
        assert!(exact > 0.1 && exact < 0.9, "{exact}");
    }

    #[test]
    fn active_rank_sum_table() {
        let cases: &[(&str, &[f64], usize, u64)] = &[
            ("largest last", &[1.0, 2.0, 3.0], 1, 2),
            ("smallest last", &[3.0, 2.0, 1.0], 1, 0),
            ("ties share the low rank", &[1.0, 2.0, 2.0], 2, 2),
            ("two active", &[5.0, 1.0, 4.0, 2.0], 2, 2 + 1),
        ];
        for (name, d, a, want) in cases {
            assert_eq!(active_rank_sum(d, *a), *want, "{name}");
        }
    }

    #[test]
    fn table() {
        assert_eq!(run(&[1.0, 2.0], 100), None, "too short");
        assert_eq!(
            run(&[4.0; 5], 500),
            Some(0.0),
            "constant: every shuffle ties"
        );
        let jump = run(&[10.0, 10.5, 10.0, 10.5, 100.0], 5_000).unwrap();
        let calm = run(&[10.0, 100.0, 10.0, 100.0, 100.0], 5_000).unwrap();
        assert!(
            jump > calm,
            "a jump at the end ranks high: {jump} vs {calm}"
        );
        assert!((0.0..=1.0).contains(&jump) && (0.0..=1.0).contains(&calm));
    }
}
