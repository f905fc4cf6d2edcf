//! `anomalyzer serve` keeps its series across a clean restart (SIGTERM,
//! then start again on the same directory): the scores after the restart
//! equal, bit for bit, those of a run that never restarted and those of a
//! bare detector. A series keeps the configuration it was created with; a
//! changed `--config` applies to new series only, and start-up says so.

mod serve_support;

use std::sync::Arc;

use anomalyzer_serve::ServeConfig;
use serve_support::*;

fn body(series: &str, values: &[f64], from: usize) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            line(
                series,
                r#"{"host":"a"}"#,
                1_700_000_000 + (from + i) as i64,
                v,
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_restart_continues_every_series_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let cpu = values(11, 60);
    let mem = values(12, 60);

    // Never restarted.
    let whole = Server::start(&dir.path().join("whole"), &[]);
    whole.wait_ready(None);
    let cpu_whole = probabilities(&whole.push(&body("cpu", &cpu, 0)));
    let mem_whole = probabilities(&whole.push(&body("mem", &mem, 0)));
    let (status, stderr) = whole.terminate();
    assert!(status.success(), "{stderr}");
    assert_eq!(cpu_whole, reference(&cpu));
    assert_eq!(mem_whole, reference(&mem));

    // Restarted twice along the way.
    let state = dir.path().join("restarted");
    let mut cpu_got = Vec::new();
    let mut mem_got = Vec::new();
    for (from, to) in [(0, 25), (25, 26), (26, 60)] {
        let server = Server::start(&state, &[]);
        server.wait_ready(None);
        if from > 0 {
            let listed = server.get("/api/v1/series?match=cpu").json();
            assert_eq!(listed["series"][0]["points"], from as u64, "{listed}");
        }
        cpu_got.extend(probabilities(&server.push(&body(
            "cpu",
            &cpu[from..to],
            from,
        ))));
        mem_got.extend(probabilities(&server.push(&body(
            "mem",
            &mem[from..to],
            from,
        ))));
        // A point at or before the last timestamp stays refused across runs.
        let replay = server.push(&body("cpu", &cpu[to - 1..to], to - 1));
        assert_eq!(replay.json()["results"][0]["rejected"], "out of order");
        let (status, stderr) = server.terminate();
        assert!(status.success(), "{status:?}\n{stderr}");
        let said = if from == 0 {
            "created a new state directory".to_owned()
        } else {
            "recovered 2 series (2 from the snapshot), replayed 0 log records".to_owned()
        };
        assert!(stderr.contains(&said), "{stderr}");
    }
    assert_eq!(cpu_got, cpu_whole, "cpu: restarted run differs");
    assert_eq!(mem_got, mem_whole, "mem: restarted run differs");
}

#[test]
fn a_changed_config_applies_to_new_series_only_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("serve.toml");
    let first =
        "[default]\nn_seasons = 5\n\n[[series]]\nmatch = \"cpu*\"\nperm_count = 30\nseed = 5\n";
    let changed =
        "[default]\nn_seasons = 5\n\n[[series]]\nmatch = \"cpu*\"\nperm_count = 60\nseed = 9\n";
    std::fs::write(&config, first).unwrap();
    let config_arg = config.to_str().unwrap().to_owned();
    let old = ServeConfig::parse(first, "first").unwrap();
    let new = ServeConfig::parse(changed, "changed").unwrap();
    let conf_of = |c: &ServeConfig, name: &str| -> Arc<anomalyzer_ts::AnomalyzerConf> {
        let key = anomalyzer_serve::SeriesKey::new(
            name,
            [("host".to_owned(), "a".to_owned())],
            &anomalyzer_serve::IdentityLimits::default(),
        )
        .unwrap();
        c.resolve(&key).conf
    };
    assert_ne!(conf_of(&old, "cpu"), conf_of(&new, "cpu"));

    let cpu = values(21, 40);
    let server = Server::start(&state, &["--config", &config_arg]);
    server.wait_ready(None);
    let got = probabilities(&server.push(&body("cpu", &cpu[..20], 0)));
    assert_eq!(got, reference_with(&conf_of(&old, "cpu"), &cpu[..20]));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert!(
        !stderr.contains("existing series keep"),
        "nothing changed yet: {stderr}"
    );

    std::fs::write(&config, changed).unwrap();
    let server = Server::start(&state, &["--config", &config_arg]);
    server.wait_ready(None);
    let said = server.wait_for_line("existing series keep");
    assert!(said.contains("applies to new series only"), "{said}");
    assert!(said.contains("1 existing series"), "{said}");
    assert!(said.contains(r#"match = "cpu*""#), "{said}");
    assert!(said.contains(r#"cpu{host="a"}"#), "{said}");
    // The existing series goes on with the configuration it was created with.
    let mut got_cpu = got;
    got_cpu.extend(probabilities(&server.push(&body("cpu", &cpu[20..], 20))));
    assert_eq!(got_cpu, reference_with(&conf_of(&old, "cpu"), &cpu));
    // A new series takes the file as it is now.
    let cpu2 = values(22, 30);
    let got2 = probabilities(&server.push(&body("cpu2", &cpu2, 0)));
    assert_eq!(got2, reference_with(&conf_of(&new, "cpu2"), &cpu2));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
}
