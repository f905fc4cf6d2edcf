//! Generates the bundled example series in `examples/data/`.
//!
//! ```sh
//! cargo run -p anomalyzer_cli --example gen_data            # writes examples/data/*.csv
//! cargo run -p anomalyzer_cli --example gen_data -- OUT_DIR
//! ```
//!
//! Every series comes from a fixed seed (xoshiro256++ and Box–Muller
//! normals), so the files are reproducible byte for byte; a test
//! (`tests/score_bundled_data.rs`) regenerates them and compares.

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::PathBuf;

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Seeded normal deviates.
struct Noise(Xoshiro256PlusPlus);

impl Noise {
    fn new(seed: u64) -> Self {
        Noise(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970-01-01 (UTC, proleptic
/// Gregorian; days-from-civil inverted as in Howard Hinnant's algorithm).
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `timestamp,value` CSV with values rounded to `decimals`.
fn to_csv(start: i64, step: i64, values: &[f64], decimals: usize) -> String {
    let mut s = String::from("timestamp,value\n");
    for (i, v) in values.iter().enumerate() {
        let t = rfc3339(start + step * i as i64);
        // Writing to a String cannot fail.
        let _ = writeln!(s, "{t},{v:.decimals$}");
    }
    s
}

/// 2024-03-04T00:00:00Z.
const CPU_START: i64 = 1_709_510_400;

/// CPU utilisation (%), one sample a minute for 12 hours: a gentle load
/// cycle with correlated noise, a 3-minute spike to ~93% at 04:10 and a
/// 50-minute plateau near 76% from 08:00 (a stuck batch job).
pub fn cpu() -> String {
    let mut noise = Noise::new(0xC0FFEE);
    let n = 720;
    let mut ar = 0.0;
    let values: Vec<f64> = (0..n)
        .map(|i| {
            ar = 0.6 * ar + 1.2 * noise.normal();
            let base = 32.0 + 6.0 * (2.0 * PI * i as f64 / 360.0).sin() + ar;
            let v = match i {
                250 => 88.0 + noise.normal(),
                251 => 95.0 + noise.normal(),
                252 => 91.0 + noise.normal(),
                480..530 => 76.0 + 1.5 * noise.normal(),
                _ => base,
            };
            v.clamp(0.0, 100.0)
        })
        .collect();
    to_csv(CPU_START, 60, &values, 1)
}

/// 2024-02-05T00:00:00Z, a Monday.
const REQUESTS_START: i64 = 1_707_091_200;

/// Requests per hour for four weeks: a daily cycle (quiet nights, busy
/// afternoons), lighter weekends, and on day 17 (Thursday 2024-02-22) an
/// outage from 10:00 to 17:00 that flattens the afternoon peak (a broken
/// season).
pub fn requests() -> String {
    let mut noise = Noise::new(0x5EA5_0001);
    let values: Vec<f64> = (0..28 * 24)
        .map(|i| {
            let (day, hour) = (i / 24, i % 24);
            let daily = (-(((hour as f64) - 14.5) / 4.5).powi(2)).exp();
            let weekend = if day % 7 >= 5 { 0.65 } else { 1.0 };
            let mut v = 180.0 + 1000.0 * weekend * daily;
            if day == 17 && (10..17).contains(&hour) {
                v = 220.0;
            }
            (v * (1.0 + 0.04 * noise.normal())).round()
        })
        .collect();
    to_csv(REQUESTS_START, 3600, &values, 0)
}

/// 2023-01-02T00:00:00Z, a Monday.
const SIGNUPS_START: i64 = 1_672_617_600;

/// Daily sign-ups for two years: a slow upward drift with a wandering
/// level, a weekly pattern (quieter weekends), and from day 500
/// (2024-05-16) a 30% level drop (say, a broken sign-up form).
pub fn signups() -> String {
    let mut noise = Noise::new(0xB12_0002);
    let mut wander = 0.0;
    let values: Vec<f64> = (0..730)
        .map(|day| {
            wander += 2.0 * noise.normal();
            let trend = 400.0 + 0.3 * day as f64 + wander;
            let weekly = if day % 7 >= 5 { 0.8 } else { 1.0 };
            let shift = if day >= 500 { 0.7 } else { 1.0 };
            (trend * weekly * shift * (1.0 + 0.03 * noise.normal())).round()
        })
        .collect();
    to_csv(SIGNUPS_START, 86_400, &values, 0)
}

/// The bundled files: name and content.
pub fn datasets() -> [(&'static str, String); 3] {
    [
        ("cpu.csv", cpu()),
        ("requests.csv", requests()),
        ("signups.csv", signups()),
    ]
}

#[allow(dead_code)] // a test includes this file for `datasets` only
fn main() -> std::io::Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/data"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir)?;
    for (name, text) in datasets() {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
