//! `anomalyzer serve` end to end on loopback: `listening on ADDR` with the
//! picked port, `/healthz` and `/readyz`, JSON pushes scored as a bare
//! detector scores them, then read back through `/api/v1/series`,
//! `/explain` and `/metrics`; a bad point refuses its whole request.

mod serve_support;

use serve_support::*;

#[test]
fn pushed_points_are_scored_listed_explained_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("state"), &[]);
    assert_ne!(
        server.addr.port(),
        0,
        "port 0 is replaced by the picked one"
    );
    assert!(server.addr.ip().is_loopback());
    assert_eq!(server.get("/healthz").status, 200);
    server.wait_ready(None);

    let cpu = values(1, 40);
    let mem = values(2, 40);
    // JSON lines for cpu, then an array for mem.
    let body: Vec<String> = cpu
        .iter()
        .enumerate()
        .map(|(i, &v)| line("cpu", r#"{"host":"a"}"#, 1_700_000_000 + i as i64, v))
        .collect();
    let answer = server.push(&body.join("\n"));
    assert_eq!(probabilities(&answer), reference(&cpu));
    assert_eq!(answer.json()["accepted"], 40);
    let array: Vec<String> = mem
        .iter()
        .enumerate()
        .map(|(i, &v)| line("mem", "null", 1_700_000_000 + i as i64, v))
        .collect();
    let answer = server.push(&format!("[{}]", array.join(",")));
    assert_eq!(probabilities(&answer), reference(&mem));

    // A bad point on line 2: 400 naming it, and nothing of the request applied.
    let bad = format!(
        "{}\n{}",
        line("cpu", r#"{"host":"a"}"#, 1_800_000_000, 1.0),
        r#"{"series":"cpu","timestamp":1800000001,"value":"x"}"#
    );
    let answer = server.push(&bad);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["line"], 2);

    let listed = server.get("/api/v1/series?match=c*").json();
    let series = listed["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{listed}");
    assert_eq!(series[0]["series"], "cpu");
    assert_eq!(series[0]["labels"]["host"], "a");
    assert_eq!(series[0]["points"], 40, "the refused request added nothing");
    let last = f64::from_bits(*reference(&cpu).last().unwrap());
    assert_eq!(
        series[0]["probability"].as_f64().unwrap().to_bits(),
        last.to_bits()
    );
    assert_eq!(
        server.get("/api/v1/series").json()["series"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let explained = server.get("/api/v1/series/cpu/explain?host=a").json();
    assert_eq!(explained["value"].as_f64().unwrap(), *cpu.last().unwrap());
    assert_eq!(
        explained["probability"].as_f64().unwrap().to_bits(),
        last.to_bits()
    );
    assert!(!explained["tests"].as_array().unwrap().is_empty());
    assert_eq!(server.get("/api/v1/series/cpu/explain").status, 404);

    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    let exported: f64 = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix(r#"anomalyzer_anomaly_score{host="a",series="cpu"} "#))
        .unwrap_or_else(|| panic!("no score for cpu:\n{}", metrics.body))
        .parse()
        .unwrap();
    assert_eq!(exported, last);
    assert!(
        metrics.body.contains("anomalyzer_points_total 80"),
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains("anomalyzer_series 2"),
        "{}",
        metrics.body
    );

    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status:?}\n{stderr}");
}

/// The README's push example, run against the real binary.
#[test]
fn the_readme_push_example_is_accepted() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let section = &readme[readme
        .find("## Run the service")
        .expect("README has the section")..];
    let body = section
        .lines()
        .find_map(|l| l.trim().strip_prefix("-d '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("README has a push body");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("state"), &[]);
    server.wait_ready(None);
    let answer = server.push(body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["accepted"], 1);
    assert_eq!(answer.json()["results"][0]["series"], "http_requests");
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
}
