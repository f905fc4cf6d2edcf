//! Figures of a process read from Linux `/proc`: its resident set size
//! (for the memory-per-idle-series figure) and the CPU time it used (so a
//! report says how much of the 2-core machine the client and the server
//! took during a run).

use std::fs;

use crate::error::{Error, Result};

/// Clock ticks per second of `/proc/PID/stat`'s times: `USER_HZ`, fixed at
/// 100 in Linux's user-space ABI whatever the kernel's internal `HZ`.
const USER_HZ: f64 = 100.0;

/// `VmRSS` of process `pid`, in bytes.
pub fn resident_bytes(pid: u32) -> Result<u64> {
    let status = read(pid, "status")?;
    vm_rss(&status).ok_or_else(|| Error::Proc {
        pid,
        reason: "no VmRSS line in kB (a kernel thread, or not Linux?)".into(),
    })
}

/// User plus system CPU seconds process `pid` has used so far (all its
/// threads).
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = read(pid, "stat")?;
    cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / USER_HZ)
        .ok_or_else(|| Error::Proc {
            pid,
            reason: "/proc/PID/stat has no utime and stime fields".into(),
        })
}

fn read(pid: u32, file: &str) -> Result<String> {
    fs::read_to_string(format!("/proc/{pid}/{file}")).map_err(|e| Error::Proc {
        pid,
        reason: format!("/proc/{pid}/{file}: {e}"),
    })
}

/// Parses the `VmRSS:  1234 kB` line.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(kib * 1024)
}

/// `utime + stime` (fields 14 and 15) of a `stat` line. The command name
/// (field 2) is in parentheses and may hold spaces or parentheses itself,
/// so fields are counted after its last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
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
    fn cpu_ticks_are_counted_after_the_command_name() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0";
        assert_eq!(cpu_ticks(stat), Some(281));
        assert_eq!(cpu_ticks("4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_has_figures() {
        let rss = resident_bytes(std::process::id()).unwrap();
        assert!(rss > 100 * 1024, "{rss}");
        assert!(cpu_seconds(std::process::id()).unwrap() >= 0.0);
        let err = resident_bytes(u32::MAX).unwrap_err().to_string();
        assert!(err.contains("/proc/4294967295/status"), "{err}");
    }
}
