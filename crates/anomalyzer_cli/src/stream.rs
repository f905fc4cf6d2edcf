//! `anomalyzer stream`: score values from stdin one per line, with state in
//! a directory that survives `kill -9`.
//!
//! Each value is logged, applied and, once durable under `--sync`, printed
//! as `lsn,value,probability` (stdout is flushed after every batch). LSNs
//! continue across runs: after a crash, resume the input after `inspect`'s
//! `last_lsn`. Under `every-n` and `interval`, acknowledgements wait for the
//! group's fsync (made early when the input pauses, for `every-n`); under
//! `never` they are printed once the OS has the record.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};

use anomalyzer_store::{
    conf_differences, DurableAnomalyzer, Error as StoreError, RecoveryMode, StoreOptions,
    SyncPolicy, DEFAULT_SNAPSHOT_INTERVAL,
};
use anyhow::{Context, Result};

use crate::detector_args::{read_config, DetectorArgs};
use crate::exit::{BadInput, SUCCESS};

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
    /// Values between snapshots (bounds the replay at restart)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SNAPSHOT_INTERVAL)]
    pub snapshot_interval: u64,
    /// How damage found in the state directory is handled
    #[arg(long, value_enum, value_name = "MODE", default_value_t = Recovery::TolerateTornTail)]
    pub recovery: Recovery,
}

enum Input {
    Line(u64, Result<String, String>),
    Failed(io::Error),
}

/// Reads stdin on a thread so the main loop can sync while input is idle.
fn spawn_reader() -> Receiver<Input> {
    let (tx, rx) = mpsc::sync_channel(4096);
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut stdin = stdin.lock();
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) => return,
                Ok(_) => {
                    line_no += 1;
                    let text = String::from_utf8(std::mem::take(&mut buf))
                        .map_err(|_| "not valid UTF-8".to_owned());
                    if tx.send(Input::Line(line_no, text)).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Input::Failed(e));
                    return;
                }
            }
        }
    });
    rx
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
    match DurableAnomalyzer::open_with(&args.state, None, options) {
        Ok(durable) => {
            if !args.detector.is_empty() {
                let stored = durable.manager().conf();
                let base = match &args.detector.config {
                    Some(path) => {
                        let mut b = read_config(path)?;
                        b.active_size = b.active_size.or(Some(1));
                        b
                    }
                    None => stored.to_builder(),
                };
                let wanted = args
                    .detector
                    .overlay(base)
                    .build()
                    .context("invalid detector options")?;
                let differ = conf_differences(stored, &wanted);
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
            Ok(durable)
        }
        Err(StoreError::NoState { .. }) => {
            let conf = args.detector.conf()?;
            // The store's snapshots hold the window and push count only;
            // refuse rather than create a state that cannot be recovered.
            if !conf.robust_methods().is_empty() {
                return Err(BadInput(
                    "robust tests (--preset robust) cannot be streamed durably yet: the state \
                     format does not hold their histories; use `anomalyzer score`"
                        .into(),
                )
                .into());
            }
            DurableAnomalyzer::open_with(&args.state, Some(conf), options).with_context(context)
        }
        Err(e) => Err(e).with_context(context),
    }
}

/// Acknowledgements waiting for their record to be durable.
struct Acks<W: Write> {
    out: W,
    pending: VecDeque<(u64, f64, f64)>,
}

impl<W: Write> Acks<W> {
    /// Prints every pending acknowledgement up to `lsn`, then flushes.
    fn release(&mut self, lsn: u64) -> io::Result<()> {
        let mut wrote = false;
        while let Some(&(l, value, p)) = self.pending.front() {
            if l > lsn {
                break;
            }
            writeln!(self.out, "{l},{value},{p}")?;
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

/// Runs `anomalyzer stream`.
pub fn run(args: StreamArgs) -> Result<ExitCode> {
    let mut durable = open(&args)?;
    let report = durable.recovery_report();
    if report.torn_tail_bytes > 0 || report.salvaged_bytes > 0 {
        eprintln!(
            "anomalyzer: recovered {}: truncated a torn tail of {} bytes, skipped {} damaged bytes ({} pushes lost)",
            args.state.display(),
            report.torn_tail_bytes,
            report.salvaged_bytes,
            report.lost_pushes
        );
    }
    let policy = args.sync;
    let rx = spawn_reader();
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
        durable.sync().context("cannot sync the log")?;
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
    loop {
        let next = if acks.pending.is_empty() {
            rx.recv().ok()
        } else {
            match policy {
                SyncPolicy::Interval(every) => match rx.recv_timeout(every) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => {
                        durable.sync_if_due().context("cannot sync the log")?;
                        acks.release(ackable(durable, policy))?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                },
                // Group commit: sync as soon as the input pauses.
                _ => match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) => {
                        durable.sync().context("cannot sync the log")?;
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
        };
        let parsed = text.and_then(|t| {
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<f64>()
                .map_err(|_| format!("{t:?} is not a number"))
                .and_then(|v| {
                    anomalyzer_ts::Anomalyzer::check_value(v)
                        .map(|()| Some(v))
                        .map_err(|_| format!("{t:?} is not a finite number"))
                })
        });
        let value = match parsed {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(why) => {
                let msg = format!("line {line_no}: {why}");
                match args.on_invalid {
                    OnInvalid::Skip => {
                        eprintln!("anomalyzer: {msg} (skipped)");
                        continue;
                    }
                    OnInvalid::Fail => return Err(BadInput(msg).into()),
                }
            }
        };
        let p = durable
            .push(value)
            .with_context(|| format!("line {line_no}: cannot record value {value}"))?;
        acks.pending.push_back((durable.lsn(), value, p));
        acks.release(ackable(durable, policy))?;
    }
}
