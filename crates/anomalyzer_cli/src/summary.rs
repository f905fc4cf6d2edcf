//! The flagged ranges of a scored series and the short report `--threshold`
//! prints on stderr.

use std::fmt::{self, Write as _};

use crate::float_text::Shortest;

/// A run of consecutive flagged points.
#[derive(Debug, Clone, PartialEq)]
pub struct FlaggedRange {
    /// 0-based index of the first flagged point (among scored points).
    pub first: usize,
    /// 0-based index of the last flagged point.
    pub last: usize,
    /// Input line of the first point.
    pub first_line: u64,
    /// Input line of the last point.
    pub last_line: u64,
    /// Timestamp of the first point, if the input has them.
    pub first_timestamp: Option<String>,
    /// Timestamp of the last point.
    pub last_timestamp: Option<String>,
    /// Highest probability in the range.
    pub max_probability: f64,
}

impl FlaggedRange {
    /// Number of points in the range.
    pub fn len(&self) -> usize {
        self.last - self.first + 1
    }
}

/// Counts points and collects the flagged ranges as points arrive.
#[derive(Debug, Clone)]
pub struct Summary {
    threshold: f64,
    scored: usize,
    flagged: usize,
    ranges: Vec<FlaggedRange>,
    /// Whether the previous point was flagged (so this one extends its range).
    open: bool,
}

impl Summary {
    /// A summary that flags probabilities ≥ `threshold`.
    pub fn new(threshold: f64) -> Self {
        Summary {
            threshold,
            scored: 0,
            flagged: 0,
            ranges: Vec::new(),
            open: false,
        }
    }

    /// Whether `probability` is flagged.
    pub fn is_flagged(&self, probability: f64) -> bool {
        probability >= self.threshold
    }

    /// Records the next scored point.
    pub fn observe(&mut self, line: u64, timestamp: Option<&str>, probability: f64) {
        let index = self.scored;
        self.scored += 1;
        if !self.is_flagged(probability) {
            self.open = false;
            return;
        }
        self.flagged += 1;
        match self.ranges.last_mut() {
            Some(r) if self.open => {
                r.last = index;
                r.last_line = line;
                r.last_timestamp = timestamp.map(str::to_owned);
                r.max_probability = r.max_probability.max(probability);
            }
            _ => self.ranges.push(FlaggedRange {
                first: index,
                last: index,
                first_line: line,
                last_line: line,
                first_timestamp: timestamp.map(str::to_owned),
                last_timestamp: timestamp.map(str::to_owned),
                max_probability: probability,
            }),
        }
        self.open = true;
    }

    /// Points flagged.
    pub fn flagged(&self) -> usize {
        self.flagged
    }

    /// The flagged ranges, in input order.
    pub fn ranges(&self) -> &[FlaggedRange] {
        &self.ranges
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

/// How many ranges the report lists before summarising the rest.
const LISTED_RANGES: usize = 20;

impl fmt::Display for Summary {
    /// A few lines for stderr, e.g.
    ///
    /// ```text
    /// scored 720 points, flagged 9 (probability >= 0.9) in 2 ranges:
    ///   2024-03-04T05:00:00Z .. 2024-03-04T05:02:00Z   3 points, max 1 (lines 302-304)
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.ranges.len();
        write!(
            f,
            "scored {} points, flagged {} (probability >= {}) in {} range{}",
            self.scored,
            self.flagged,
            Shortest(self.threshold),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        if n > 0 {
            f.write_char(':')?;
        }
        for r in self.ranges.iter().take(LISTED_RANGES) {
            let span = match (&r.first_timestamp, &r.last_timestamp) {
                (Some(a), Some(b)) if r.len() > 1 => format!("{a} .. {b}"),
                (Some(a), _) => a.clone(),
                _ if r.len() > 1 => format!("points {} .. {}", r.first + 1, r.last + 1),
                _ => format!("point {}", r.first + 1),
            };
            let lines = if r.first_line == r.last_line {
                format!("line {}", r.first_line)
            } else {
                format!("lines {}-{}", r.first_line, r.last_line)
            };
            write!(
                f,
                "\n  {span}  {} point{}, max {} ({lines})",
                r.len(),
                if r.len() == 1 { "" } else { "s" },
                Shortest(r.max_probability)
            )?;
        }
        if n > LISTED_RANGES {
            write!(f, "\n  ... and {} more ranges", n - LISTED_RANGES)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_flags_form_ranges() {
        let mut s = Summary::new(0.9);
        let probs = [0.1, 0.95, 0.9, 0.2, 0.99, 0.5, 0.89];
        for (i, &p) in probs.iter().enumerate() {
            s.observe(i as u64 + 2, None, p);
        }
        assert_eq!(s.flagged(), 3);
        let spans: Vec<(usize, usize, f64)> = s
            .ranges()
            .iter()
            .map(|r| (r.first, r.last, r.max_probability))
            .collect();
        assert_eq!(spans, [(1, 2, 0.95), (4, 4, 0.99)]);
        assert_eq!(
            s.to_string(),
            "scored 7 points, flagged 3 (probability >= 0.9) in 2 ranges:\n  points 2 .. 3  2 points, max 0.95 (lines 3-4)\n  point 5  1 point, max 0.99 (line 6)"
        );
    }

    #[test]
    fn timestamps_name_the_ranges_and_long_lists_are_cut() {
        let mut s = Summary::new(0.5);
        for i in 0..50u64 {
            let ts = format!("t{i}");
            s.observe(i + 2, Some(&ts), if i % 2 == 0 { 1.0 } else { 0.0 });
        }
        let text = s.to_string();
        assert!(text.starts_with("scored 50 points, flagged 25 (probability >= 0.5) in 25 ranges:\n  t0  1 point, max 1 (line 2)"), "{text}");
        assert!(text.ends_with("\n  ... and 5 more ranges"), "{text}");
        assert_eq!(
            Summary::new(0.5).to_string(),
            "scored 0 points, flagged 0 (probability >= 0.5) in 0 ranges"
        );
    }
}
