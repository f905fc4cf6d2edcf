//! How the CLI prints floats: the shortest text that parses back to the same
//! `f64`, in plain or exponent notation, whichever is shorter.
//!
//! Rust's `{}` for `f64` gives the shortest round-trip digits but never an
//! exponent (`1e300` prints as a 1 and 300 zeros); `{:e}` gives the same
//! shortest digits with an exponent (`1e300`, `3.0000000000000004e-1`). The
//! output is exactly the shorter of those two (on a tie the plain form:
//! `100`, not `1e2`), built from `ryu`'s digits without allocating.

use std::fmt;

/// A float displayed in its shortest round-trip form.
#[derive(Debug, Clone, Copy)]
pub struct Shortest(pub f64);

impl fmt::Display for Shortest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_LEN];
        f.write_str(render(self.0, &mut buf))
    }
}

/// The shortest text for `x` that parses back to exactly `x`.
#[cfg(test)]
pub fn shortest(x: f64) -> String {
    Shortest(x).to_string()
}

/// Longest output: sign, 17 digits, point, `e-`, 3 exponent digits; or a
/// plain form no longer than that (the shorter form is chosen).
const MAX_LEN: usize = 32;

/// Renders `x` into `buf`. `ryu` gives the shortest round-trip digits (the
/// same digits as std's `{}` and `{:e}`, several times faster); from them
/// both layouts' lengths are known, and the shorter is written out.
fn render(x: f64, buf: &mut [u8; MAX_LEN]) -> &str {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        };
    }
    let mut ryu_buf = ryu::Buffer::new();
    let text = ryu_buf.format_finite(x).as_bytes();
    let negative = text[0] == b'-';
    let body = &text[usize::from(negative)..];
    // ryu writes `d.ddd`, `0.000ddd` or `d.ddde-7`: split off an exponent,
    // then find the significant digits and where the point sits.
    let (mantissa, mut exp) = match body.iter().position(|&b| b == b'e') {
        Some(i) => (&body[..i], parse_exp(&body[i + 1..])),
        None => (body, 0),
    };
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let mut digits = [b'0'; 20];
    let mut n = 0usize;
    let mut leading = true;
    let mut point_shift = 0i32;
    for &b in mantissa {
        if !b.is_ascii_digit() {
            continue;
        }
        if leading && b == b'0' {
            // 0.00123 = 0.123 × 10^-2: each leading zero moves the point.
            point_shift -= 1;
            continue;
        }
        leading = false;
        if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    if n == 0 {
        // Zero: "0" or "-0".
        let zero: &[u8] = if negative { b"-0" } else { b"0" };
        buf[..zero.len()].copy_from_slice(zero);
        return std::str::from_utf8(&buf[..zero.len()]).unwrap_or("0");
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    // The value is 0.d1d2...dn × 10^(point + point_shift + exp), i.e.
    // d1.d2...dn × 10^sci.
    exp += point as i32 + point_shift - 1;
    let sci = exp;
    let n = n as i32;
    let plain_len = if sci >= 0 {
        if n - 1 <= sci {
            sci + 1
        } else {
            n + 1
        }
    } else {
        2 + (-sci - 1) + n
    };
    let exp_digits = if sci.abs() >= 100 {
        3
    } else if sci.abs() >= 10 {
        2
    } else {
        1
    };
    let exp_len = n + i32::from(n > 1) + 1 + i32::from(sci < 0) + exp_digits;
    let mut out = 0;
    let mut push = |b: u8, buf: &mut [u8; MAX_LEN]| {
        buf[out] = b;
        out += 1;
    };
    if negative {
        push(b'-', buf);
    }
    let digit = |i: i32| if i < n { digits[i as usize] } else { b'0' };
    if exp_len < plain_len {
        push(digits[0], buf);
        if n > 1 {
            push(b'.', buf);
            for i in 1..n {
                push(digit(i), buf);
            }
        }
        push(b'e', buf);
        if sci < 0 {
            push(b'-', buf);
        }
        let e = sci.unsigned_abs();
        for d in [e / 100, (e / 10) % 10, e % 10]
            .iter()
            .skip(3 - exp_digits as usize)
        {
            push(b'0' + *d as u8, buf);
        }
    } else if sci >= 0 {
        for i in 0..=sci.max(n - 1) {
            if i == sci + 1 {
                push(b'.', buf);
            }
            push(digit(i), buf);
        }
    } else {
        push(b'0', buf);
        push(b'.', buf);
        for _ in 0..(-sci - 1) {
            push(b'0', buf);
        }
        for i in 0..n {
            push(digit(i), buf);
        }
    }
    std::str::from_utf8(&buf[..out]).unwrap_or("NaN")
}

fn parse_exp(text: &[u8]) -> i32 {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let v = digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d.wrapping_sub(b'0')));
    if neg {
        -v
    } else {
        v
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
        for i in 0..200_000 {
            // Random bits cover huge and tiny exponents; random decimals the
            // everyday range where plain and exponent forms compete.
            let x = if i % 2 == 0 {
                f64::from_bits(rng.next_u64())
            } else {
                let digits = (rng.next_u64() % 1_000_000) as f64;
                digits * 10f64.powi((rng.next_u64() % 40) as i32 - 20)
            };
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
