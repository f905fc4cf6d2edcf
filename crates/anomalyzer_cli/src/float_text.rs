//! How the CLI prints floats: the shortest text that parses back to the same
//! `f64`, in plain or exponent notation, whichever is shorter.
//!
//! Rust's `{}` for `f64` gives the shortest round-trip digits but never an
//! exponent (`1e300` prints as a 1 and 300 zeros); `{:e}` gives the same
//! shortest digits with an exponent (`1e300`, `3.0000000000000004e-1`). Both
//! are exact, so picking the shorter keeps the round trip; on a tie the plain
//! form wins (`100`, not `1e2`).

use std::fmt;

/// A float displayed in its shortest round-trip form.
#[derive(Debug, Clone, Copy)]
pub struct Shortest(pub f64);

impl fmt::Display for Shortest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shortest(self.0))
    }
}

/// The shortest text for `x` that parses back to exactly `x`.
pub fn shortest(x: f64) -> String {
    let plain = format!("{x}");
    if !x.is_finite() {
        return plain;
    }
    let exp = format!("{x:e}");
    if exp.len() < plain.len() {
        exp
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_xoshiro::rand_core::{Rng, SeedableRng};

    #[test]
    fn picks_the_shorter_notation() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (100.0, "100"),
            (1000.0, "1e3"),
            (1e300, "1e300"),
            (-1e300, "-1e300"),
            (1.5e-7, "1.5e-7"),
            (0.5, "0.5"),
            (0.001, "1e-3"),
            (0.0125, "0.0125"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456.789, "123456.789"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
        ];
        for &(x, want) in cases {
            assert_eq!(shortest(x), want, "{x:?}");
        }
    }

    #[test]
    fn round_trips_bit_for_bit_and_is_never_longer_than_std() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for _ in 0..20_000 {
            let x = f64::from_bits(rng.next_u64());
            if !x.is_finite() {
                continue;
            }
            let text = shortest(x);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                x.to_bits(),
                "{text}"
            );
            assert!(text.len() <= format!("{x}").len(), "{text}");
        }
    }
}
