//! `anomalyzer stream`: score values from stdin one per line, with state in
//! a directory that survives `kill -9`.
//!
//! Each value is logged, applied and, once durable under `--sync`, printed
//! as `lsn,value,probability` (stdout is flushed after every batch). LSNs
//! continue across runs: after a crash, resume the input after `inspect`'s
//! `last_lsn`. Under `every-n` and `interval`, acknowledgements wait for the
//! group's fsync (made early when the input pauses, for `every-n`); under
//! `never` they are printed once the OS has the record.

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};

use anomalyzer_store::{
    conf_differences, DurableAnomalyzer, Error as StoreError, RecoveryMode, RecoveryReport,
    StoreOptions, SyncPolicy, DEFAULT_SNAPSHOT_INTERVAL,
};
use anomalyzer_ts::AnomalyzerConf;
use anyhow::{Context, Result};

use crate::detector_args::DetectorArgs;
use crate::diag::eprint_line;
use crate::echo::echo;
use crate::exit::{BadInput, SUCCESS};
use crate::float_text::Shortest;
use crate::input::{
    parse_max_line_bytes, parse_value, BoundedLines, LineError, DEFAULT_MAX_LINE_BYTES,
};

/// What to do with a line that is not a finite number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnInvalid {
    /// Report it on stderr and go on.
    Skip,
    /// Report it and stop with exit code 2 (after acknowledging what is durable).
    Fail,
}

/// How damage found in the state directory is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Recovery {
    /// Truncate a torn last record; refuse corruption followed by valid records.
    TolerateTornTail,
    /// Refuse any damage, even a torn last record.
    Absolute,
    /// Skip damaged bytes, keep every valid record, and rewrite the state.
    Salvage,
}

/// Arguments of `anomalyzer stream`.
#[derive(Debug, clap::Args)]
pub struct StreamArgs {
    /// State directory (created on the first run; one writer at a time)
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Detector options: stored on the first run; later runs may omit them,
    /// and any given later must match the stored ones
    #[command(flatten)]
    pub detector: DetectorArgs,
    /// When values are made durable (and acknowledged): always, every-n:N,
    /// interval:MS or never
    #[arg(long, value_name = "POLICY", default_value = "always")]
    pub sync: SyncPolicy,
    /// What to do with a line that is not a finite number
    #[arg(long, value_enum, value_name = "ACTION", default_value_t = OnInvalid::Fail)]
    pub on_invalid: OnInvalid,
    /// Values between snapshots (bounds the replay at restart; at least 1)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SNAPSHOT_INTERVAL,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_interval: u64,
    /// How damage found in the state directory is handled
    #[arg(long, value_enum, value_name = "MODE", default_value_t = Recovery::TolerateTornTail)]
    pub recovery: Recovery,
    /// The longest input line accepted, in bytes; a longer one stops the run (exit 2)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LINE_BYTES, value_parser = parse_max_line_bytes)]
    pub max_line_bytes: usize,
}

enum Input {
    /// A line's number and text (at most `--max-line-bytes`, no `\n`; a
    /// byte-order mark at the very start of the input dropped).
    Line(u64, Vec<u8>),
    Failed(io::Error),
    /// A line over the limit; nothing after it is read.
    TooLong(String),
}

/// Reads stdin on a thread so the main loop can sync while input is idle.
fn spawn_reader(max_line_bytes: usize) -> Receiver<Input> {
    let (tx, rx) = mpsc::sync_channel(4096);
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut lines = BoundedLines::new(stdin.lock(), max_line_bytes);
        loop {
            let msg = match lines.next_line() {
                Ok(None) => return,
                Ok(Some((n, text))) => Input::Line(n, text.to_vec()),
                Err(LineError::Io(e)) => Input::Failed(e),
                Err(LineError::TooLong(t)) => Input::TooLong(format!("standard input: {t}")),
            };
            let last = !matches!(msg, Input::Line(..));
            if tx.send(msg).is_err() || last {
                return;
            }
        }
    });
    rx
}

/// A store error as one message: its text already holds the OS error, so
/// the chain stops here (the OS error is printed once, not twice).
pub fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        // A refused value is bad input (exit 2), as in `score`.
        StoreError::InvalidValue(inner) => anyhow::Error::new(inner),
        // A configuration too large to keep durably is a bad flag or file.
        e @ StoreError::StateTooLarge { .. } => anyhow::Error::new(BadInput(e.to_string())),
        other => anyhow::Error::msg(other.to_string()),
    }
}

/// Any detector flags given for an existing directory must agree with the
/// stored configuration.
fn check_flags(args: &StreamArgs, durable: &DurableAnomalyzer) -> Result<()> {
    if !args.detector.is_empty() {
        // The fields given (file, then flags) over the stored ones: what
        // they leave unset cannot conflict.
        let stored = durable.manager().conf();
        let wanted = args.detector.conf_over(stored.to_builder())?;
        let differ = differences(stored, &wanted);
        if !differ.is_empty() {
            return Err(BadInput(format!(
                "detector options conflict with the configuration stored in {} (differs in: {}); \
                 omit them to use the stored configuration (see `anomalyzer inspect`)",
                args.state.display(),
                differ.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Opens the directory with the configuration the flags and the stored
/// state agree on.
fn open(args: &StreamArgs) -> Result<DurableAnomalyzer> {
    let options = StoreOptions::default()
        .sync(args.sync)
        .snapshot_interval(args.snapshot_interval)
        .recovery(match args.recovery {
            Recovery::TolerateTornTail => RecoveryMode::TolerateTornTail,
            Recovery::Absolute => RecoveryMode::Absolute,
            Recovery::Salvage => RecoveryMode::Salvage,
        });
    let context = || format!("cannot open state directory {}", args.state.display());
    // A bad --config is refused before the directory is touched.
    args.detector.patch()?;
    match DurableAnomalyzer::open_with(&args.state, None, options) {
        Ok(durable) => match check_flags(args, &durable) {
            Ok(()) => Ok(durable),
            Err(e) => {
                // Refused after looking: leave the directory as it was.
                durable.abandon();
                Err(e)
            }
        },
        Err(StoreError::NoState { .. }) => {
            let conf = args.detector.conf()?;
            DurableAnomalyzer::open_with(&args.state, Some(conf), options)
                .map_err(store_error)
                .with_context(context)
        }
        Err(e) => Err(store_error(e)).with_context(context),
    }
}

/// The fields in which `wanted` differs from `stored`, in words. The same
/// methods in another order are no difference when the order cannot change
/// a score ([`AnomalyzerConf::method_order_matters`]); otherwise the entry
/// says that only the order differs.
fn differences(stored: &AnomalyzerConf, wanted: &AnomalyzerConf) -> Vec<String> {
    let same_set = |a: &AnomalyzerConf, b: &AnomalyzerConf| {
        a.methods().len() == b.methods().len() && a.methods().iter().all(|&m| b.has(m))
    };
    conf_differences(stored, wanted)
        .into_iter()
        .filter_map(|field| match field {
            "methods" if same_set(stored, wanted) => stored.method_order_matters().then(|| {
                let names = |c: &AnomalyzerConf| {
                    c.methods().iter().map(|m| m.name()).collect::<Vec<_>>().join(",")
                };
                format!(
                    "methods: the order differs ({} stored, {} given), and with three or more tests the order can change the scores",
                    names(stored),
                    names(wanted)
                )
            }),
            other => Some(other.to_owned()),
        })
        .collect()
}

/// Acknowledgements waiting for their record to be durable.
struct Acks<W: Write> {
    out: W,
    pending: VecDeque<(u64, f64, f64)>,
}

impl<W: Write> Acks<W> {
    /// Prints every pending acknowledgement up to `lsn`, then flushes.
    fn release(&mut self, lsn: u64) -> Result<()> {
        self.write_up_to(lsn).context("cannot write to stdout")
    }

    fn write_up_to(&mut self, lsn: u64) -> io::Result<()> {
        let mut wrote = false;
        while let Some(&(l, value, p)) = self.pending.front() {
            if l > lsn {
                break;
            }
            writeln!(self.out, "{l},{},{}", Shortest(value), Shortest(p))?;
            self.pending.pop_front();
            wrote = true;
        }
        if wrote {
            self.out.flush()?;
        }
        Ok(())
    }
}

/// The LSN up to which pushes may be acknowledged.
fn ackable(d: &DurableAnomalyzer, policy: SyncPolicy) -> u64 {
    match policy {
        SyncPolicy::Never => d.lsn(),
        _ => d.durable_lsn(),
    }
}

/// `n` and its noun in the right number: `1 push`, `2 pushes`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What recovery repaired, one line (none if it repaired nothing), then
/// salvage's account of each file.
fn recovery_lines(dir: &std::path::Path, r: &RecoveryReport) -> Vec<String> {
    let mut parts = Vec::new();
    if r.torn_tail_bytes > 0 {
        parts.push(format!(
            "truncated a torn last record of {}",
            count(r.torn_tail_bytes, "byte", "bytes")
        ));
    }
    if r.salvaged_bytes > 0 {
        parts.push(format!(
            "skipped {} damaged {}",
            r.salvaged_bytes,
            if r.salvaged_bytes == 1 {
                "byte"
            } else {
                "bytes"
            }
        ));
    }
    let mut what = parts.join(", ");
    if r.lost_pushes > 0 {
        let lost = format!("{} lost", count(r.lost_pushes, "push", "pushes"));
        what = if what.is_empty() {
            lost
        } else {
            format!("{what} ({lost})")
        };
    }
    if what.is_empty() && !r.salvage.is_empty() {
        what = "salvaged".into();
    }
    let mut lines = Vec::new();
    if !what.is_empty() {
        lines.push(format!("anomalyzer: recovered {}: {what}", dir.display()));
    }
    for f in &r.salvage {
        lines.push(format!(
            "  {}: {} skipped, {} kept, {} dropped, {} lost",
            f.file.display(),
            count(f.bytes_skipped, "byte", "bytes"),
            count(f.records_kept, "record", "records"),
            count(f.records_dropped, "record", "records"),
            count(f.pushes_lost, "push", "pushes"),
        ));
        for why in &f.reasons {
            lines.push(format!("    {why}"));
        }
    }
    lines
}

/// Reports each kind of snapshot failure once on stderr (the store keeps
/// retrying; `inspect` shows the last one).
#[derive(Default)]
struct SnapshotFailures {
    seen: BTreeSet<String>,
}

impl SnapshotFailures {
    fn check(&mut self, d: &DurableAnomalyzer) {
        if let Some(e) = d.manager().last_compaction_error() {
            if self.seen.insert(e.to_owned()) {
                eprint_line!(
                    "anomalyzer: warning: cannot write a snapshot (retried every {}; until one succeeds the log grows): {e}",
                    count(d.manager().snapshot_interval(), "push", "pushes")
                );
            }
        }
    }
}

/// Runs `anomalyzer stream`.
pub fn run(args: StreamArgs) -> Result<ExitCode> {
    let mut durable = open(&args)?;
    for line in recovery_lines(&args.state, durable.recovery_report()) {
        eprint_line!("{line}");
    }
    let policy = args.sync;
    let rx = spawn_reader(args.max_line_bytes);
    let mut acks = Acks {
        out: io::stdout().lock(),
        pending: VecDeque::new(),
    };
    let result = pump(&mut durable, &rx, &mut acks, &args);
    // Whatever happened, acknowledge what is durable; on a clean end of
    // input, make everything durable first (except under `never`).
    let input_done = match &result {
        Ok(()) => true,
        Err(e) => e.downcast_ref::<BadInput>().is_some(),
    };
    if input_done && policy != SyncPolicy::Never && durable.manager().poisoned().is_none() {
        durable
            .sync()
            .map_err(store_error)
            .context("cannot sync the log")?;
    }
    acks.release(ackable(&durable, policy))?;
    result.map(|()| ExitCode::from(SUCCESS))
}

fn pump<W: Write>(
    durable: &mut DurableAnomalyzer,
    rx: &Receiver<Input>,
    acks: &mut Acks<W>,
    args: &StreamArgs,
) -> Result<()> {
    let policy = args.sync;
    let mut failures = SnapshotFailures::default();
    loop {
        let next = if acks.pending.is_empty() {
            rx.recv().ok()
        } else {
            match policy {
                SyncPolicy::Interval(every) => match rx.recv_timeout(every) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => {
                        durable
                            .sync_if_due()
                            .map_err(store_error)
                            .context("cannot sync the log")?;
                        acks.release(ackable(durable, policy))?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                },
                // Group commit: sync as soon as the input pauses.
                _ => match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) => {
                        durable
                            .sync()
                            .map_err(store_error)
                            .context("cannot sync the log")?;
                        acks.release(ackable(durable, policy))?;
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => None,
                },
            }
        };
        let Some(msg) = next else {
            return Ok(());
        };
        let (line_no, text) = match msg {
            Input::Line(n, t) => (n, t),
            Input::Failed(e) => return Err(e).context("cannot read standard input"),
            Input::TooLong(why) => return Err(BadInput(why).into()),
        };
        let text = text.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let value = match parse_value(text) {
            Ok(v) => v,
            Err(why) => {
                let msg = format!("line {line_no}: \"{}\" is {why}", echo(text));
                match args.on_invalid {
                    OnInvalid::Skip => {
                        eprint_line!("anomalyzer: {msg} (skipped)");
                        continue;
                    }
                    OnInvalid::Fail => return Err(BadInput(msg).into()),
                }
            }
        };
        let p = durable
            .push(value)
            .map_err(store_error)
            .with_context(|| format!("line {line_no}: cannot record value {}", Shortest(value)))?;
        failures.check(durable);
        acks.pending.push_back((durable.lsn(), value, p));
        acks.release(ackable(durable, policy))?;
    }
}
