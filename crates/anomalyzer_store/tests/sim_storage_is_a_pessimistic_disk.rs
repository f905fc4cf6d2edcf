//! The simulated disk the fault tests rely on behaves as documented: it
//! loses un-synced data and directory entries on a power cut, fails the
//! operations it is told to, fills up, keeps a random prefix of un-synced
//! appends on a torn power cut, and refuses links and special files.

use std::collections::BTreeSet;
use std::path::Path;

use anomalyzer_store::{FaultKind, NotRegularFile, PowerLoss, SimSpecial, SimStorage, Storage};

#[test]
fn unsynced_data_and_entries_are_lost_on_power_loss() {
    let sim = SimStorage::new();
    let dir = Path::new("/d");
    sim.create_dir_all(dir).unwrap();
    let a = dir.join("a");
    let mut f = sim.create_new(&a).unwrap();
    f.append(b"hello").unwrap();
    f.sync_data().unwrap();
    f.append(b" world").unwrap();
    // File synced but its directory entry not: gone.
    sim.power_loss(PowerLoss::DropUnsynced);
    assert_eq!(sim.read(&a), None);

    let mut f = sim.create_new(&a).unwrap();
    f.append(b"hello").unwrap();
    f.sync_data().unwrap();
    sim.sync_dir(dir).unwrap();
    f.append(b" world").unwrap();
    sim.power_loss(PowerLoss::DropUnsynced);
    assert_eq!(sim.read(&a).unwrap(), b"hello");
}

#[test]
fn crash_and_faults_fail_the_right_operations() {
    let sim = SimStorage::new();
    sim.create_dir_all(Path::new("/d")).unwrap();
    sim.crash_after_ops(1);
    let mut f = sim.create_new(Path::new("/d/a")).unwrap();
    assert!(f.append(b"x").is_err());
    assert!(sim.has_crashed());
    sim.process_crash();
    sim.fail_nth_op(2, FaultKind::NoSpace);
    let mut f = sim.open_append(Path::new("/d/a")).unwrap();
    assert_eq!(f.append(b"x").unwrap_err().raw_os_error(), Some(28));
    f.append(b"y").unwrap();
    sim.set_capacity(Some(3));
    assert!(f.append(b"abc").is_err());
    assert_eq!(sim.read(Path::new("/d/a")).unwrap(), b"yab");
}

#[test]
fn torn_power_loss_keeps_a_prefix_of_appended_bytes() {
    let mut seen = BTreeSet::new();
    for seed in 0..64 {
        let sim = SimStorage::new();
        sim.write_durable(Path::new("/d/a"), b"base");
        let mut f = sim.open_append(Path::new("/d/a")).unwrap();
        f.append(b"0123456789").unwrap();
        sim.power_loss(PowerLoss::TornUnsynced { seed });
        let got = sim.read(Path::new("/d/a")).unwrap();
        assert!(got.starts_with(b"base") && b"base0123456789".starts_with(&got));
        seen.insert(got.len());
    }
    assert!(seen.len() > 5, "prefix lengths should vary: {seen:?}");
}

#[test]
fn links_and_special_files_are_refused_and_never_followed() {
    let sim = SimStorage::new();
    sim.write_durable(Path::new("/d/target"), b"keep");
    for (special, what) in [
        (SimSpecial::Symlink("/d/target".into()), "a symbolic link"),
        (SimSpecial::Fifo, "a FIFO"),
        (SimSpecial::Directory, "a directory"),
    ] {
        let p = Path::new("/d/x");
        sim.make_special(p, special);
        let of = |e: std::io::Error| NotRegularFile::of(&e).map(|n| n.what);
        assert_eq!(of(sim.len(p).unwrap_err()), Some(what));
        assert_eq!(of(sim.open_read(p).err().unwrap()), Some(what));
        assert_eq!(of(sim.open_append(p).unwrap_err()), Some(what));
        assert_eq!(
            sim.create_new(p).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        assert_eq!(sim.read(Path::new("/d/target")).unwrap(), b"keep");
        // A rename over it replaces the entry itself.
        sim.write_durable(Path::new("/d/y"), b"new");
        sim.rename(Path::new("/d/y"), p).unwrap();
        assert_eq!(sim.read(p).unwrap(), b"new");
        sim.remove_durable(p);
    }
}
