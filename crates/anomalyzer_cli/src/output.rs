//! The scored CSV: `[timestamp,]value,probability[,<method>...][,carried_by,gate][,anomaly]`
//! (`carried_by` and `gate` only with `--explain` for robust tests).
//!
//! Floats are written in their shortest round-trip form ([`Shortest`]:
//! `1e300`, `0.30000000000000004`), so the output parses back exactly.
//! Written by hand rather than through the `csv` crate so that a closed
//! stdout surfaces as a plain `io::Error` of kind `BrokenPipe` (quiet exit);
//! any other failed write names the destination (`stdout` or the path)
//! with the OS error.

use std::io::{self, Write};
use std::path::Path;

use anomalyzer_ts::{Explanation, Gate, Method};
use anyhow::{Context, Result};

use crate::float_text::Shortest;
use crate::output_file::OutputFile;

/// Which optional columns the output has.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// A `timestamp` column first.
    pub timestamp: bool,
    /// One column per configured method, in configuration order (`--explain`).
    pub explain: Vec<Method>,
    /// An `anomaly` column: probability ≥ threshold (`--threshold`).
    pub threshold: Option<f64>,
}

impl Columns {
    /// The header row's names.
    pub fn header(&self) -> Vec<&'static str> {
        let mut h = Vec::new();
        if self.timestamp {
            h.push("timestamp");
        }
        h.extend(["value", "probability"]);
        h.extend(self.explain.iter().map(|m| m.name()));
        if self.robust_explain() {
            h.extend(["carried_by", "gate"]);
        }
        if self.threshold.is_some() {
            h.push("anomaly");
        }
        h
    }

    /// Robust tests explained: one test carries the whole score (weight 1,
    /// share 100 %), named in `carried_by`; `gate` says why the score is 0
    /// (`warmup`, `hold`), empty otherwise.
    fn robust_explain(&self) -> bool {
        self.explain.first().is_some_and(|m| m.is_robust())
    }
}

/// One output row.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The input's timestamp, if any.
    pub timestamp: Option<&'a str>,
    /// The input value.
    pub value: f64,
    /// The combined probability.
    pub probability: f64,
    /// The per-test breakdown (with `--explain`).
    pub explanation: Option<&'a Explanation>,
}

/// Where rows go.
enum Sink {
    Stdout(io::Stdout),
    File(OutputFile),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(s) => s.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Writes rows to stdout or to `--output` ([`OutputFile`]: a regular file
/// appears only when complete).
pub struct CsvOutput {
    out: io::BufWriter<Sink>,
    columns: Columns,
    /// `stdout` or the path, for messages.
    name: String,
}

impl CsvOutput {
    /// Output to `path`, or stdout for `None` or `-`; writes the header.
    pub fn create(path: Option<&Path>, columns: Columns) -> Result<Self> {
        let sink = match path {
            Some(p) if p != Path::new("-") => Sink::File(OutputFile::open(p)?),
            _ => Sink::Stdout(io::stdout()),
        };
        let name = match &sink {
            Sink::Stdout(_) => "stdout".to_owned(),
            Sink::File(f) => f.name().to_owned(),
        };
        let mut out = CsvOutput {
            out: io::BufWriter::with_capacity(64 * 1024, sink),
            columns,
            name,
        };
        let header = out.columns.header().join(",");
        writeln!(out.out, "{header}").with_context(|| out.write_failed())?;
        Ok(out)
    }

    fn write_failed(&self) -> String {
        format!("cannot write to {}", self.name)
    }

    /// Writes one row.
    pub fn write(&mut self, row: &Row<'_>) -> Result<()> {
        self.write_row(row).with_context(|| self.write_failed())
    }

    fn write_row(&mut self, row: &Row<'_>) -> io::Result<()> {
        let w = &mut self.out;
        if self.columns.timestamp {
            write_field(w, row.timestamp.unwrap_or(""))?;
            w.write_all(b",")?;
        }
        write!(w, "{},{}", Shortest(row.value), Shortest(row.probability))?;
        for &m in &self.columns.explain {
            let p = row
                .explanation
                .and_then(|e| e.get(m))
                .and_then(|t| t.probability);
            match p {
                Some(p) => write!(w, ",{}", Shortest(p))?,
                None => w.write_all(b",")?,
            }
        }
        if self.columns.robust_explain() {
            let e = row.explanation;
            let carrier = e.and_then(|e| e.tests.iter().find(|t| t.weight > 0.0));
            let gate = match e.and_then(|e| e.gate) {
                Some(Gate::Warmup) => "warmup",
                Some(Gate::Hold) => "hold",
                Some(Gate::Delay) => "delay",
                Some(Gate::Magnitude) => "magnitude",
                Some(_) | None => "",
            };
            write!(w, ",{},{gate}", carrier.map_or("", |t| t.method.name()))?;
        }
        if let Some(t) = self.columns.threshold {
            w.write_all(if row.probability >= t {
                b",true"
            } else {
                b",false"
            })?;
        }
        w.write_all(b"\n")
    }

    /// Flushes; for a file, makes it durable and moves it into place.
    pub fn finish(self) -> Result<()> {
        let what = self.write_failed();
        let sink = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .with_context(|| what.clone())?;
        match sink {
            Sink::Stdout(mut s) => s.flush().with_context(|| what),
            Sink::File(f) => f.finish(),
        }
    }
}

/// Writes a CSV field, quoted only when it must be.
fn write_field(w: &mut impl Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        write!(w, "\"{}\"", s.replace('"', "\"\""))
    } else {
        w.write_all(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomalyzer_ts::TestScore;

    #[test]
    fn header_orders_optional_columns() {
        let c = Columns {
            timestamp: true,
            explain: vec![Method::Ks, Method::Magnitude],
            threshold: Some(0.5),
        };
        assert_eq!(
            c.header(),
            [
                "timestamp",
                "value",
                "probability",
                "ks",
                "magnitude",
                "anomaly"
            ]
        );
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut v = Vec::new();
        write_field(&mut v, "a,\"b\"").unwrap();
        v.push(b' ');
        write_field(&mut v, "2024-01-01T00:00:00Z").unwrap();
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "\"a,\"\"b\"\"\" 2024-01-01T00:00:00Z"
        );
    }

    #[test]
    fn rows_round_trip_floats_and_leave_inapplicable_tests_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let columns = Columns {
            timestamp: false,
            explain: vec![Method::Magnitude, Method::Ks],
            threshold: Some(0.5),
        };
        let mut out = CsvOutput::create(Some(&path), columns).unwrap();
        let e = Explanation {
            probability: 0.1 + 0.2,
            gate: None,
            tests: vec![
                TestScore {
                    method: Method::Magnitude,
                    probability: Some(1.0 / 3.0),
                    weight: 0.5,
                },
                TestScore {
                    method: Method::Ks,
                    probability: None,
                    weight: 0.0,
                },
            ],
        };
        out.write(&Row {
            timestamp: None,
            value: -1e-7,
            probability: e.probability,
            explanation: Some(&e),
        })
        .unwrap();
        assert!(!path.exists(), "the file appears only when complete");
        out.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "value,probability,magnitude,ks,anomaly\n-1e-7,0.30000000000000004,0.3333333333333333,,false\n"
        );
    }
}
