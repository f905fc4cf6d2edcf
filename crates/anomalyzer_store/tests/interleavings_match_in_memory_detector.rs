//! Property: any interleaving of push, compact, clean reopen, process crash
//! and power cut (under `SyncPolicy::Always`) leaves the durable detector
//! with the same window, push count and probabilities as an in-memory
//! detector fed the same values.

mod common;

use anomalyzer_store::{PowerLoss, SimStorage, StoreOptions};
use anomalyzer_ts::Anomalyzer;
use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(f64),
    Compact,
    Reopen,
    ProcessCrash,
    PowerCut,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..400).prop_map(|v| Op::Push(f64::from(v) / 8.0)),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::ProcessCrash),
        1 => Just(Op::PowerCut),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn durable_equals_in_memory(ops in proptest::collection::vec(op(), 1..60), interval in 1u64..8) {
        let conf = conf();
        let sim = SimStorage::new();
        let options = StoreOptions::default().snapshot_interval(interval);
        let mut reference = Anomalyzer::new(conf.clone(), &[]).unwrap();
        let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
        for op in ops {
            match op {
                Op::Push(x) => {
                    let got = d.push(x).unwrap();
                    let want = reference.push(x).unwrap();
                    prop_assert_eq!(got.to_bits(), want.to_bits());
                }
                Op::Compact => d.compact().unwrap(),
                Op::Reopen | Op::ProcessCrash | Op::PowerCut => {
                    drop(d);
                    match op {
                        Op::ProcessCrash => sim.process_crash(),
                        Op::PowerCut => sim.power_loss(PowerLoss::DropUnsynced),
                        _ => {}
                    }
                    d = open_sim(&sim, None, options).unwrap();
                }
            }
            prop_assert_eq!(d.detector().push_count(), reference.push_count());
            prop_assert_eq!(d.lsn(), reference.push_count());
            prop_assert_eq!(
                d.detector().window().map(f64::to_bits).collect::<Vec<_>>(),
                reference.window().map(f64::to_bits).collect::<Vec<_>>()
            );
            prop_assert!(d.manager().pending_wal_entries() <= interval);
        }
    }
}
