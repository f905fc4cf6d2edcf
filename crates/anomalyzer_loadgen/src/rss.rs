//! The server's resident set size, read from `/proc/PID/status` (Linux),
//! for the memory-per-idle-series figure.

use std::fs;

use crate::error::{Error, Result};

/// `VmRSS` of process `pid`, in bytes.
pub fn resident_bytes(pid: u32) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| Error::Rss {
        pid,
        reason: e.to_string(),
    })?;
    vm_rss(&status).ok_or_else(|| Error::Rss {
        pid,
        reason: "no VmRSS line in kB (a kernel thread, or not Linux?)".into(),
    })
}

/// Parses the `VmRSS:  1234 kB` line.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  900 kB\nVmRSS:\t    2048 kB\nThreads:\t1\n";
        assert_eq!(vm_rss(status), Some(2048 * 1024));
        assert_eq!(vm_rss("Name:\tkthreadd\n"), None);
        assert_eq!(vm_rss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let rss = resident_bytes(std::process::id()).unwrap();
        assert!(rss > 100 * 1024, "{rss}");
        let err = resident_bytes(u32::MAX).unwrap_err().to_string();
        assert!(err.contains("/proc/4294967295/status"), "{err}");
    }
}
