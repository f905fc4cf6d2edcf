//! The crash test of `anomalyzer serve` (`--sync always`): several clients
//! push seeded points over many series at once, and the process is killed
//! with SIGKILL at seeded random moments (some during start-up and
//! recovery), cycle after cycle. After each restart, checked:
//!
//! - every acknowledged point is there (none lost) and none is there twice:
//!   each series holds its acknowledged points plus, at most, those of the
//!   one request that was in flight at the kill, and that request is
//!   durable all or nothing, across all its series;
//! - at the end, every probability acknowledged in any cycle, and the next
//!   score after the last restart, equal bit for bit those of a bare
//!   detector fed the series' durable values in order (durable but
//!   unacknowledged points included, as the stream kill test accounts
//!   them).
//!
//! `ANOMALYZER_SERVE_KILL_CYCLES` (default 20) and
//! `ANOMALYZER_SERVE_KILL_SECONDS` (default 60) bound the run;
//! `ANOMALYZER_SERVE_KILL_SEED` changes the seed.

mod serve_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serve_support::*;

const CLIENTS: usize = 4;
const SERIES_PER_CLIENT: usize = 6;
const BASE_TIME: i64 = 1_700_000_000;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `i`-th value of series `s`: seeded, with occasional spikes.
fn value(s: usize, i: usize) -> f64 {
    let mut z = (s as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (i as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let base = 50.0 + (z % 1000) as f64 / 50.0;
    if z.is_multiple_of(29) {
        base * 4.0
    } else {
        base
    }
}

/// One series as the test knows it.
#[derive(Debug, Default, Clone)]
struct Known {
    /// Points known durable: the next point to send is this index.
    durable: usize,
    /// Points acknowledged (always at most `durable`, once reconciled).
    acknowledged: usize,
    /// Acknowledged probabilities by point index, as bits.
    probabilities: BTreeMap<usize, u64>,
}

/// A client's series and the request it had in flight when killed.
struct Client {
    series: Vec<usize>,
    known: BTreeMap<usize, Known>,
    in_flight: Option<BTreeMap<usize, usize>>,
    rng: Xoshiro256PlusPlus,
    requests: u64,
}

fn name(s: usize) -> String {
    format!("load_{s}")
}

/// Pushes until the server goes away (or `stop`), then returns.
fn push_until_killed(
    mut client: Client,
    server: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
) -> Client {
    while !stop.load(Ordering::SeqCst) {
        // 1 to 4 of this client's series, 1 to 3 points each.
        let mut picked = client.series.clone();
        let take = 1 + (client.rng.next_u64() % 4) as usize;
        let mut batch: BTreeMap<usize, usize> = BTreeMap::new();
        for _ in 0..take.min(picked.len()) {
            let at = (client.rng.next_u64() % picked.len() as u64) as usize;
            let s = picked.swap_remove(at);
            batch.insert(s, 1 + (client.rng.next_u64() % 3) as usize);
        }
        let mut lines = Vec::new();
        let mut order = Vec::new();
        for (&s, &n) in &batch {
            let from = client.known[&s].durable;
            for i in from..from + n {
                lines.push(line(
                    &name(s),
                    r#"{"client":"x"}"#,
                    BASE_TIME + i as i64,
                    value(s, i),
                ));
                order.push((s, i));
            }
        }
        client.in_flight = Some(batch.clone());
        let body = lines.join("\n");
        match try_request(server, "POST", "/api/v1/push", &[], body.as_bytes()) {
            Ok(answer) if answer.status == 200 => {
                let results = answer.json()["results"].as_array().unwrap().clone();
                assert_eq!(results.len(), order.len());
                for ((s, i), r) in order.into_iter().zip(results) {
                    let p = r["probability"]
                        .as_f64()
                        .unwrap_or_else(|| panic!("point {i} of {} not scored: {r}", name(s)));
                    let known = client.known.get_mut(&s).unwrap();
                    known.probabilities.insert(i, p.to_bits());
                    known.acknowledged = i + 1;
                    known.durable = i + 1;
                }
                client.in_flight = None;
                client.requests += 1;
            }
            Ok(answer) => panic!("push answered {}: {}", answer.status, answer.body),
            // The kill: the request's fate is learnt after the restart.
            Err(_) => return client,
        }
    }
    client
}

/// After a restart: checks each series against what was acknowledged and
/// what was in flight, and learns what is durable.
fn reconcile(clients: &mut [Client], listed: &serde_json::Value, durable_unacknowledged: &mut u64) {
    let mut points: BTreeMap<String, usize> = BTreeMap::new();
    for s in listed["series"].as_array().unwrap() {
        points.insert(
            s["series"].as_str().unwrap().to_owned(),
            s["points"].as_u64().unwrap() as usize,
        );
    }
    for client in clients {
        let in_flight = client.in_flight.take().unwrap_or_default();
        let mut applied = None;
        for (&s, known) in client.known.iter_mut() {
            let held = points.get(&name(s)).copied().unwrap_or(0);
            let extra = in_flight.get(&s).copied().unwrap_or(0);
            assert!(
                held >= known.durable,
                "{}: {held} points held, {} acknowledged: acknowledged points lost",
                name(s),
                known.durable
            );
            assert!(
                held <= known.durable + extra,
                "{}: {held} points held, {} known and {extra} in flight: points duplicated",
                name(s),
                known.durable
            );
            if extra > 0 {
                let this = held == known.durable + extra;
                assert!(
                    held == known.durable || this,
                    "{}: part of a request applied ({held} of {} + {extra})",
                    name(s),
                    known.durable
                );
                assert!(
                    applied.is_none_or(|a| a == this),
                    "a request applied for some of its series only"
                );
                applied = Some(this);
            }
            if held > known.durable {
                *durable_unacknowledged += (held - known.durable) as u64;
            }
            known.durable = held;
        }
    }
}

#[test]
fn acknowledged_points_survive_sigkill_exactly_once_with_identical_scores() {
    let max_cycles = env_or("ANOMALYZER_SERVE_KILL_CYCLES", 20);
    let budget = Duration::from_secs(env_or("ANOMALYZER_SERVE_KILL_SECONDS", 60));
    let seed = env_or("ANOMALYZER_SERVE_KILL_SEED", 12);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|c| {
            let series: Vec<usize> = (0..SERIES_PER_CLIENT)
                .map(|j| c * SERIES_PER_CLIENT + j)
                .collect();
            Client {
                known: series.iter().map(|&s| (s, Known::default())).collect(),
                series,
                in_flight: None,
                rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ ((c as u64 + 1) * 0x5851_f42d)),
                requests: 0,
            }
        })
        .collect();
    let started = Instant::now();
    let (mut cycles, mut kills_starting, mut durable_unacknowledged) = (0u64, 0u64, 0u64);
    while cycles < max_cycles && started.elapsed() < budget {
        cycles += 1;
        let server = Server::start(&state, &["--sync", "always"]);
        if rng.next_u64().is_multiple_of(5) {
            // Killed while starting or recovering.
            kills_starting += 1;
            server.kill9();
            continue;
        }
        server.wait_ready(None);
        let listed = server.get("/api/v1/series").json();
        reconcile(&mut clients, &listed, &mut durable_unacknowledged);

        let stop = Arc::new(AtomicBool::new(false));
        let addr = server.addr;
        let workers: Vec<_> = clients
            .drain(..)
            .map(|client| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || push_until_killed(client, addr, stop))
            })
            .collect();
        // The kill moment is what is random here, not a synchronisation.
        std::thread::sleep(Duration::from_millis(20 + rng.next_u64() % 250));
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        clients = workers.into_iter().map(|w| w.join().unwrap()).collect();
    }

    // The last restart: reconcile, then one more point per series, and
    // every score compared with a bare detector over the durable values.
    let server = Server::start(&state, &["--sync", "always"]);
    server.wait_ready(None);
    let listed = server.get("/api/v1/series").json();
    reconcile(&mut clients, &listed, &mut durable_unacknowledged);
    let mut acknowledged = 0usize;
    for client in &clients {
        for (&s, known) in &client.known {
            let n = known.durable;
            if n > 0 {
                let explained = server
                    .get(&format!("/api/v1/series/{}/explain?client=x", name(s)))
                    .json();
                assert_eq!(
                    explained["value"].as_f64().unwrap(),
                    value(s, n - 1),
                    "{}",
                    name(s)
                );
            }
            let next = line(
                &name(s),
                r#"{"client":"x"}"#,
                BASE_TIME + n as i64,
                value(s, n),
            );
            let after = probabilities(&server.push(&next))[0];
            let values: Vec<f64> = (0..=n).map(|i| value(s, i)).collect();
            let expected = reference(&values);
            assert_eq!(
                after,
                expected[n],
                "{}: the next score after the restarts",
                name(s)
            );
            for (&i, &p) in &known.probabilities {
                assert_eq!(
                    p,
                    expected[i],
                    "{}: acknowledged probability of point {i}",
                    name(s)
                );
            }
            acknowledged += known.probabilities.len();
        }
    }
    let requests: u64 = clients.iter().map(|c| c.requests).sum();
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status:?}\n{stderr}");
    eprintln!(
        "{cycles} cycles ({kills_starting} killed while starting), {requests} requests and \
         {acknowledged} points acknowledged, {durable_unacknowledged} durable but unacknowledged, \
         in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        acknowledged > 100,
        "too little load to mean anything: {acknowledged} points"
    );
}
