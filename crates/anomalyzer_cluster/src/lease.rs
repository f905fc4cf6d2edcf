//! A worker's view of one partition lease: its epoch, the KV revision it
//! last wrote, and the deadline past which the holder must assume it lost
//! the lease (docs/cluster.md, "Leases" and "Fencing").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The value of a lease key `p<p>` in `ANOMALYZER_LEASES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRecord {
    /// The owning worker's id.
    pub worker: String,
    /// The KV revision that created the lease: grows with every new owner.
    pub epoch: u64,
}

/// The key of partition `p`'s lease (and of its accepted snapshot).
#[must_use]
pub fn partition_key(partition: u32) -> String {
    format!("p{partition}")
}

/// A held lease, shared between the worker's lease loop (which renews it)
/// and the partition's consumer (which checks it before every write).
#[derive(Debug)]
pub struct HeldLease {
    partition: u32,
    epoch: u64,
    /// The holder's own expiry: half the lease time after the last renewal
    /// that succeeded was sent, on the monotonic clock (which keeps running
    /// while the process is stopped), so it expires before the server does.
    valid_until: Mutex<(Instant, u64)>,
    lost: AtomicBool,
    margin: Duration,
}

impl HeldLease {
    /// A lease just created at `revision` (its epoch), sent at `sent`.
    #[must_use]
    pub fn new(partition: u32, revision: u64, sent: Instant, lease: Duration) -> Self {
        let margin = lease / 2;
        HeldLease {
            partition,
            epoch: revision,
            valid_until: Mutex::new((sent + margin, revision)),
            lost: AtomicBool::new(false),
            margin,
        }
    }

    /// The partition.
    #[must_use]
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The lease's epoch.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The KV revision last written for this lease (the CAS base of the
    /// next renewal).
    #[must_use]
    pub fn revision(&self) -> u64 {
        self.valid_until.lock().map(|g| g.1).unwrap_or(0)
    }

    /// Records a renewal sent at `sent` that the server accepted at `revision`.
    pub fn renewed(&self, sent: Instant, revision: u64) {
        if let Ok(mut g) = self.valid_until.lock() {
            *g = (sent + self.margin, revision);
        }
    }

    /// Marks the lease lost (a renewal's CAS failed, or it expired).
    pub fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    /// Ok while the lease is held and not past its deadline; the check made
    /// before every score publish and snapshot.
    pub fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(self.fenced("taken over or released"));
        }
        let deadline = self
            .valid_until
            .lock()
            .map(|g| g.0)
            .unwrap_or_else(|_| Instant::now());
        if Instant::now() >= deadline {
            self.lose();
            return Err(self.fenced("not renewed in time"));
        }
        Ok(())
    }

    fn fenced(&self, reason: &str) -> Error {
        Error::Fenced {
            partition: self.partition,
            reason: format!("epoch {}: {reason}", self.epoch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_at_half_its_time_after_the_last_renewal_sent() {
        let lease = Duration::from_millis(400);
        let start = Instant::now();
        let held = HeldLease::new(3, 41, start, lease);
        assert_eq!(
            (held.partition(), held.epoch(), held.revision()),
            (3, 41, 41)
        );
        assert!(held.check().is_ok());
        held.renewed(start, 45);
        assert_eq!(held.revision(), 45);
        assert_eq!(held.epoch(), 41, "renewals keep the epoch");
        std::thread::sleep(Duration::from_millis(220));
        let err = held.check().unwrap_err();
        assert!(err.to_string().contains("not renewed in time"), "{err}");
        // Once lost, a later renewal record does not revive it.
        held.renewed(Instant::now(), 50);
        assert!(held.check().is_err());
    }

    #[test]
    fn a_lost_lease_is_fenced_at_once() {
        let held = HeldLease::new(1, 7, Instant::now(), Duration::from_secs(60));
        held.lose();
        let err = held.check().unwrap_err();
        assert!(matches!(err, Error::Fenced { partition: 1, .. }), "{err}");
    }
}
