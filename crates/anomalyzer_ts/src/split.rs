//! Window extraction: which part of a vector is reference and which is
//! active (SPEC.md, "Window extraction").

use std::ops::Range;

/// The reference and active ranges of a vector split by [`split_windows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    pub(crate) reference: Range<usize>,
    pub(crate) active: Range<usize>,
}

/// Splits a vector of length `m` into a reference window of at most
/// `ref_size` values followed by an active window of at most `active_size`
/// values, both ending at the vector's end. `None` (the test is not
/// applicable) when the reference would be shorter than `min_ref`.
pub(crate) fn split_windows(
    m: usize,
    ref_size: usize,
    active_size: usize,
    min_ref: usize,
) -> Option<Split> {
    let a = active_size.min(m);
    let r = ref_size.min(m - a);
    if r < min_ref {
        return None;
    }
    Some(Split {
        reference: m - a - r..m - a,
        active: m - a..m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (name, m, ref, active, min_ref, expected (reference, active))
        let cases: &[(
            &str,
            usize,
            usize,
            usize,
            usize,
            Option<(Range<usize>, Range<usize>)>,
        )] = &[
            ("full window", 5, 4, 1, 1, Some((0..4, 4..5))),
            (
                "longer vector keeps the tail",
                9,
                4,
                1,
                1,
                Some((4..8, 8..9)),
            ),
            ("short reference allowed", 3, 4, 1, 1, Some((0..2, 2..3))),
            ("reference below min", 3, 4, 2, 2, None),
            ("active clipped to m", 1, 4, 2, 0, Some((0..0, 0..1))),
            ("empty, no minimum", 0, 4, 1, 0, Some((0..0, 0..0))),
            ("empty, minimum 1", 0, 4, 1, 1, None),
        ];
        for (name, m, r, a, min, want) in cases {
            let got = split_windows(*m, *r, *a, *min).map(|s| (s.reference, s.active));
            assert_eq!(&got, want, "{name}");
        }
    }
}
