//! When the log is fsynced, and what each choice can lose.
//!
//! Every push is written to the log (`write(2)`) before the detector applies
//! it, whatever the policy, so **a crash of the process alone never loses a
//! push**: the operating system holds the bytes. The policy decides how
//! often they are forced to the device (`fdatasync`), which is what a power
//! cut or kernel crash tests. A caller that acknowledges a push only once
//! [`PersistenceManager::durable_lsn`](crate::PersistenceManager::durable_lsn)
//! has reached its LSN (as `anomalyzer stream` does) never acknowledges
//! anything a power cut could take, under any policy; the policy then trades
//! acknowledgement latency for throughput.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How often the write-ahead log is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// fdatasync after every push, before `push` returns (the default).
    /// Loss window on power cut: nothing that `push` returned.
    #[default]
    Always,
    /// fdatasync once every `n` pushes (group commit): one device flush
    /// pays for `n` records. Loss window on power cut: up to `n - 1` pushes
    /// that returned but were not yet synced.
    EveryN(u32),
    /// fdatasync at the first push at least this long after the previous
    /// sync, and whenever the caller calls
    /// [`sync_if_due`](crate::PersistenceManager::sync_if_due) (Redis'
    /// `appendfsync everysec`). Loss window on power cut: the pushes of the
    /// last interval, plus any made since if no push or timer came after.
    Interval(Duration),
    /// Never fsync the log; the OS writes it back when it likes (typically
    /// within 30 s on Linux). Snapshots are still fsynced. Loss window on
    /// power cut: everything since the last snapshot in the worst case.
    Never,
}

impl SyncPolicy {
    /// Whether the log must be synced now, with `unsynced` records written
    /// since the last sync, which was `since_sync` ago.
    #[must_use]
    pub fn due(self, unsynced: u64, since_sync: Duration) -> bool {
        if unsynced == 0 {
            return false;
        }
        match self {
            SyncPolicy::Always => true,
            SyncPolicy::EveryN(n) => unsynced >= u64::from(n.max(1)),
            SyncPolicy::Interval(d) => since_sync >= d,
            SyncPolicy::Never => false,
        }
    }
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncPolicy::Always => f.write_str("always"),
            SyncPolicy::EveryN(n) => write!(f, "every-n:{n}"),
            SyncPolicy::Interval(d) => write!(f, "interval:{}", d.as_millis()),
            SyncPolicy::Never => f.write_str("never"),
        }
    }
}

/// Parses `always`, `every-n:N` (N ≥ 1), `interval:MS` (MS ≥ 1) or `never`.
impl FromStr for SyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid sync policy {s:?}: expected always, every-n:N, interval:MS or never")
        };
        let positive = |v: &str| v.parse::<u64>().ok().filter(|&n| n >= 1);
        match s.split_once(':') {
            None if s == "always" => Ok(SyncPolicy::Always),
            None if s == "never" => Ok(SyncPolicy::Never),
            Some(("every-n", n)) => positive(n)
                .and_then(|n| u32::try_from(n).ok())
                .map(SyncPolicy::EveryN)
                .ok_or_else(bad),
            Some(("interval", ms)) => positive(ms)
                .map(|ms| SyncPolicy::Interval(Duration::from_millis(ms)))
                .ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_every_policy() {
        for (text, policy) in [
            ("always", SyncPolicy::Always),
            ("every-n:16", SyncPolicy::EveryN(16)),
            (
                "interval:250",
                SyncPolicy::Interval(Duration::from_millis(250)),
            ),
            ("never", SyncPolicy::Never),
        ] {
            assert_eq!(text.parse::<SyncPolicy>().unwrap(), policy);
            assert_eq!(policy.to_string(), text);
        }
        for bad in [
            "",
            "sometimes",
            "every-n:0",
            "every-n:x",
            "interval:",
            "interval:0",
            "always:1",
        ] {
            assert!(bad.parse::<SyncPolicy>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn due_follows_each_policy() {
        let ms = Duration::from_millis;
        assert!(SyncPolicy::Always.due(1, ms(0)));
        assert!(!SyncPolicy::Always.due(0, ms(0)));
        assert!(!SyncPolicy::EveryN(3).due(2, ms(999)));
        assert!(SyncPolicy::EveryN(3).due(3, ms(0)));
        assert!(!SyncPolicy::Interval(ms(10)).due(5, ms(9)));
        assert!(SyncPolicy::Interval(ms(10)).due(1, ms(10)));
        assert!(!SyncPolicy::Never.due(1_000_000, ms(1_000_000)));
    }
}
