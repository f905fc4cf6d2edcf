//! A snapshot whose detector-state field is short, too long, announces
//! more than its configuration allows or than the file holds, or holds
//! values the robust pipeline cannot have, is refused as damage with an
//! error naming the snapshot and what is wrong, never a panic, even when
//! every checksum has been made to match.

mod common;

use anomalyzer_store::{PowerLoss, SimStorage, StoreOptions, SNAPSHOT_FILE};
use anomalyzer_ts::{AnomalyzerConf, Preset};
use common::*;

/// Section header: length, series, LSN, push count, timestamp, window,
/// configuration, identity and state lengths, CRC (docs/format.md).
const SECTION_HEADER: usize = 52;

/// A robust-preset directory after 300 pushes and a snapshot; its
/// snapshot's bytes.
fn robust_snapshot(sim: &SimStorage) -> Vec<u8> {
    let mut d = open_sim(
        sim,
        Some(AnomalyzerConf::preset(Preset::Robust)),
        StoreOptions::default(),
    )
    .unwrap();
    for x in values(9, 300) {
        d.push(x).unwrap();
    }
    d.compact().unwrap();
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    sim.read(&sim_file(SNAPSHOT_FILE)).unwrap()
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// The snapshot's detector-state field.
fn state_of(snap: &[u8]) -> Vec<u8> {
    let h = SNAP_HEADER;
    let start =
        h + SECTION_HEADER + u32_at(snap, h + 40) + u32_at(snap, h + 36) + 8 * u32_at(snap, h + 32);
    snap[start..start + u32_at(snap, h + 44)].to_vec()
}

/// The snapshot with its detector state replaced by `state` (announced as
/// `announced` bytes, default its length) and every checksum recomputed.
fn with_state(snap: &[u8], state: &[u8], announced: Option<u32>) -> Vec<u8> {
    let h = SNAP_HEADER;
    let old_state = u32_at(snap, h + 44);
    let body_end = snap.len() - 4 - old_state;
    let announced = announced.unwrap_or(state.len() as u32);
    let before_state = body_end - (h + SECTION_HEADER);
    let mut section = snap[h..h + SECTION_HEADER].to_vec();
    let len = (SECTION_HEADER - 4 + before_state) as u32 + announced + 4;
    section[0..4].copy_from_slice(&len.to_le_bytes());
    section[44..48].copy_from_slice(&announced.to_le_bytes());
    let crc = crc32c::crc32c(&section[..48]);
    section[48..52].copy_from_slice(&crc.to_le_bytes());
    section.extend_from_slice(&snap[h + SECTION_HEADER..body_end]);
    section.extend_from_slice(state);
    let crc = crc32c::crc32c(&section);
    section.extend_from_slice(&crc.to_le_bytes());
    let mut out = snap[..h].to_vec();
    out.extend_from_slice(&section);
    out
}

/// Puts `snap` in place and expects the open to fail as damage, naming
/// the snapshot and saying `why`.
fn assert_refused(sim: &SimStorage, snap: &[u8], why: &str, case: &str) {
    sim.write_durable(&sim_file(SNAPSHOT_FILE), snap);
    let err = open_sim(sim, None, StoreOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_corruption(), "{case}: {msg}");
    assert!(msg.contains(SNAPSHOT_FILE), "{case}: {msg}");
    assert!(msg.contains(why), "{case}: expected {why:?} in {msg}");
}

#[test]
fn the_untouched_field_reopens() {
    let sim = SimStorage::new();
    let snap = robust_snapshot(&sim);
    // The rebuilding helper itself changes nothing.
    assert_eq!(with_state(&snap, &state_of(&snap), None), snap);
    let d = open_sim(&sim, None, StoreOptions::default()).unwrap();
    assert_eq!(d.detector().push_count(), 300);
}

#[test]
fn bad_detector_state_fields_are_refused_by_name() {
    let sim = SimStorage::new();
    let snap = robust_snapshot(&sim);
    let state = state_of(&snap);
    assert_eq!(state[0], 1, "the robust pipeline's tag");
    let history = u32_at(&state, 1);
    assert_eq!(history, 300, "the history holds every push so far");
    let after_history = 5 + 8 * history;

    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short", state[..state.len() - 3].to_vec(), "ends inside"),
        ("one byte", state[..1].to_vec(), "ends inside"),
        (
            "extra byte",
            [state.as_slice(), &[0]].concat(),
            "1 bytes after the detector state",
        ),
        ("empty", Vec::new(), "no detector state"),
    ];
    let mut tag = state.clone();
    tag[0] = 7;
    cases.push(("unknown tag", tag, "unknown kind 7"));
    let mut huge = state.clone();
    huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
    cases.push(("history count", huge, "more than the configuration's"));
    let mut tests = state.clone();
    tests[after_history..after_history + 4].copy_from_slice(&3u32.to_le_bytes());
    cases.push(("test count", tests, "for 3 robust tests"));
    let mut nan = state.clone();
    nan[5..13].copy_from_slice(&f64::NAN.to_bits().to_le_bytes());
    cases.push(("non-finite history", nan, "not finite"));
    let mut longer = state.clone();
    // A history longer than the pushes: 301 values after 300 pushes.
    longer[1..5].copy_from_slice(&301u32.to_le_bytes());
    longer.splice(5..5, 1.5f64.to_bits().to_le_bytes());
    cases.push(("history past the pushes", longer, "more than the 300 kept"));
    for (case, bad, why) in cases {
        assert_refused(&sim, &with_state(&snap, &bad, None), why, case);
    }
}

#[test]
fn lengths_past_the_bound_or_the_file_are_refused_before_allocating() {
    let sim = SimStorage::new();
    let snap = robust_snapshot(&sim);
    let state = state_of(&snap);
    // Above the 64 MiB a section may announce: refused from the header.
    let over = with_state(&snap, &state, Some((64 << 20) + 1));
    assert_refused(&sim, &over, "detector state of 67108865 bytes", "oversized");
    // Within the bound but past the file's end: a truncated snapshot, read
    // without reserving the 60 MiB announced.
    let past = with_state(&snap, &state, Some(60 << 20));
    assert_refused(
        &sim,
        &past,
        "ends inside the detector state",
        "past the end",
    );
}

#[test]
fn detector_state_for_a_go_configuration_is_refused() {
    let sim = SimStorage::new();
    let snap = robust_snapshot(&sim);
    let state = state_of(&snap);
    let go = SimStorage::new();
    let mut d = open_sim(&go, Some(conf()), StoreOptions::default()).unwrap();
    for x in values(2, 10) {
        d.push(x).unwrap();
    }
    d.compact().unwrap();
    drop(d);
    go.power_loss(PowerLoss::DropUnsynced);
    let go_snap = go.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    assert!(state_of(&go_snap).is_empty());
    assert_refused(
        &go,
        &with_state(&go_snap, &state, None),
        "without robust tests",
        "go",
    );
}
