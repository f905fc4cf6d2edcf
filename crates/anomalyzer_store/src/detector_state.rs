//! The detector-state field of a snapshot section: the robust pipeline's
//! histories ([`RobustParts`]) in a fixed little-endian binary encoding.
//!
//! An empty field means "no state beyond the window": a configuration
//! without robust tests (the Go tests are functions of the window alone).
//! Otherwise, with `H`, `T`, `L_i` and `S` counts of values:
//!
//! | size | field |
//! | --- | --- |
//! | 1 | encoding tag (`1`: robust pipeline) |
//! | 4 | `H`, values of history (≤ `RobustParams::history_len()`) |
//! | 8·H | the history, oldest first, `f64` bit patterns |
//! | 4 | `T`, robust tests (= the configuration's robust tests) |
//! | per test, in configuration order: 4 + 8·L_i | `L_i` (≤ `likelihood_history`), then its past statistics, oldest first |
//! | 4 | `S`, recent scores (≤ `alert_hold`) |
//! | 8·S | the scores before alert shaping, oldest first |
//!
//! Nothing may follow. Every count is checked against the configuration's
//! bound and against the bytes left before anything is allocated, so
//! arbitrary bytes give an error, never a panic or a large allocation. What
//! the values must satisfy beyond that (finite, in range, consistent with
//! the push count) is checked by [`Anomalyzer::from_state`](anomalyzer_ts::Anomalyzer::from_state).

use anomalyzer_ts::{AnomalyzerConf, RobustParts};

/// Tag of the robust pipeline's encoding.
const TAG_ROBUST: u8 = 1;

/// Largest detector-state field a snapshot section may hold; a
/// configuration that could need more is refused before a directory is
/// created ([`check_fits`]). The robust preset needs at most 147 685 bytes.
const MAX_DETECTOR_STATE: u64 = crate::section::MAX_DETECTOR_STATE as u64;

/// The most bytes [`encode`] can produce for `conf` (0: no robust tests).
pub(crate) fn max_len(conf: &AnomalyzerConf) -> u64 {
    let tests = conf.robust_methods().len() as u64;
    if tests == 0 {
        return 0;
    }
    let p = conf.robust();
    let f = |n: usize| 8 * n as u64;
    1 + 4 + f(p.history_len()) + 4 + tests * (4 + f(p.likelihood_history)) + 4 + f(p.alert_hold)
}

/// `Err` with the reason when `conf`'s state could outgrow what a snapshot
/// may hold.
pub(crate) fn check_fits(conf: &AnomalyzerConf) -> Result<(), String> {
    let need = max_len(conf);
    if need > MAX_DETECTOR_STATE {
        return Err(format!(
            "the robust tests' state could reach {need} bytes, more than the {MAX_DETECTOR_STATE} \
             a snapshot holds; lower robust.likelihood_history, robust.period × \
             robust.period_seasons or the references"
        ));
    }
    Ok(())
}

/// The field's bytes for `parts` (empty for `None`).
pub(crate) fn encode(parts: Option<&RobustParts>) -> Vec<u8> {
    let Some(p) = parts else {
        return Vec::new();
    };
    let values =
        p.history.len() + p.statistics.iter().map(Vec::len).sum::<usize>() + p.recent_scores.len();
    let mut b = Vec::with_capacity(1 + 4 * (3 + p.statistics.len()) + 8 * values);
    b.push(TAG_ROBUST);
    // Counts are bounded by the configuration (check_fits), far below 2^32.
    let put = |b: &mut Vec<u8>, vs: &[f64]| {
        b.extend_from_slice(&(vs.len() as u32).to_le_bytes());
        for v in vs {
            b.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    };
    put(&mut b, &p.history);
    b.extend_from_slice(&(p.statistics.len() as u32).to_le_bytes());
    for s in &p.statistics {
        put(&mut b, s);
    }
    put(&mut b, &p.recent_scores);
    b
}

/// Reads the field back for `conf`; `None` for an empty field. The error
/// says what is wrong, for a message naming the file.
pub(crate) fn decode(bytes: &[u8], conf: &AnomalyzerConf) -> Result<Option<RobustParts>, String> {
    let methods = conf.robust_methods();
    let Some((&tag, rest)) = bytes.split_first() else {
        return Ok(None);
    };
    if methods.is_empty() {
        return Err(format!(
            "{} bytes of detector state for a configuration without robust tests",
            bytes.len()
        ));
    }
    if tag != TAG_ROBUST {
        return Err(format!("detector state of unknown kind {tag}"));
    }
    let p = conf.robust();
    let mut r = Reader { bytes: rest, at: 0 };
    let history = r.values("robust history", p.history_len())?;
    let tests = r.count("robust test count")?;
    if tests != methods.len() {
        return Err(format!(
            "detector state for {tests} robust tests, the configuration has {}",
            methods.len()
        ));
    }
    let mut statistics = Vec::with_capacity(tests);
    for m in methods {
        statistics.push(r.values(&format!("statistics of {m}"), p.likelihood_history)?);
    }
    let recent_scores = r.values("recent scores", p.alert_hold)?;
    if r.at != r.bytes.len() {
        return Err(format!(
            "{} bytes after the detector state",
            r.bytes.len() - r.at
        ));
    }
    Ok(Some(RobustParts {
        history,
        statistics,
        recent_scores,
    }))
}

/// A bounds-checked reader over the field.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], String> {
        if self.bytes.len() - self.at < n {
            return Err(format!("detector state ends inside the {what}"));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn count(&mut self, what: &str) -> Result<usize, String> {
        let b = self.take(4, what)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(n).map_err(|_| format!("{what} {n} out of range"))
    }

    /// A count of at most `max`, then that many `f64`s.
    fn values(&mut self, what: &str, max: usize) -> Result<Vec<f64>, String> {
        let n = self.count(what)?;
        if n > max {
            return Err(format!(
                "{what}: {n} values, more than the configuration's {max}"
            ));
        }
        // n ≤ max ≤ the configuration's bound, so 8·n cannot overflow.
        let raw = self.take(8 * n, what)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| f64::from_bits(crate::codec::u64_at(c, 0)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomalyzer_ts::{Anomalyzer, Preset};

    fn robust_conf() -> AnomalyzerConf {
        AnomalyzerConf::preset(Preset::Robust)
    }

    fn sample_parts() -> RobustParts {
        let mut d = Anomalyzer::new(robust_conf(), &[]).unwrap();
        for i in 0..400u32 {
            d.push(f64::from(i % 13) * 0.5).unwrap();
        }
        d.state().robust.unwrap()
    }

    #[test]
    fn parts_round_trip_bit_for_bit() {
        let conf = robust_conf();
        let parts = sample_parts();
        let bytes = encode(Some(&parts));
        assert_eq!(bytes[0], TAG_ROBUST);
        assert!(bytes.len() as u64 <= max_len(&conf));
        assert_eq!(decode(&bytes, &conf).unwrap(), Some(parts));
        assert_eq!(encode(None), Vec::<u8>::new());
        assert_eq!(decode(&[], &conf).unwrap(), None);
    }

    #[test]
    fn the_preset_needs_at_most_147_685_bytes() {
        // 1 + 4 + 8·2307 + 4 + 4·(4 + 8·4000) + 4 + 8·150
        assert_eq!(max_len(&robust_conf()), 147_685);
        assert!(check_fits(&robust_conf()).is_ok());
        let go = AnomalyzerConf::builder().active_size(1).build().unwrap();
        assert_eq!(max_len(&go), 0);
    }

    #[test]
    fn a_state_too_large_for_a_snapshot_is_refused_up_front() {
        let mut b = robust_conf().to_builder();
        let mut p = *robust_conf().robust();
        p.likelihood_history = anomalyzer_ts::MAX_ROBUST_SPAN;
        p.period = anomalyzer_ts::MAX_ROBUST_SPAN / 4;
        p.period_seasons = 64;
        b = b.robust(p);
        let conf = b.build().unwrap();
        let err = check_fits(&conf).unwrap_err();
        assert!(err.contains("more than the"), "{err}");
    }

    #[test]
    fn every_truncation_and_bad_count_is_an_error() {
        let conf = robust_conf();
        let bytes = encode(Some(&sample_parts()));
        for cut in 1..bytes.len() {
            let err = decode(&bytes[..cut], &conf).unwrap_err();
            assert!(err.contains("ends inside"), "cut {cut}: {err}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra, &conf).unwrap_err().contains("after"));
        let mut tag = bytes.clone();
        tag[0] = 9;
        assert!(decode(&tag, &conf).unwrap_err().contains("unknown kind"));
        // A history count above the configuration's bound is refused before
        // the bytes it announces are looked for.
        let mut huge = bytes.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge, &conf).unwrap_err().contains("more than"));
        let go = AnomalyzerConf::builder().active_size(1).build().unwrap();
        assert!(decode(&bytes, &go).unwrap_err().contains("without robust"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use rand_xoshiro::rand_core::{Rng, SeedableRng};
        let conf = robust_conf();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        let good = encode(Some(&sample_parts()));
        for _ in 0..2000 {
            let r = rng.next_u64();
            let keep = (r % 64) as usize;
            let mut b = good[..keep].to_vec();
            for _ in 0..(r >> 8) % 8 {
                b.push(rng.next_u64() as u8);
            }
            if !b.is_empty() && (r >> 16) % 10 < 7 {
                b[0] = TAG_ROBUST;
            }
            let _ = decode(&b, &conf);
        }
    }
}
