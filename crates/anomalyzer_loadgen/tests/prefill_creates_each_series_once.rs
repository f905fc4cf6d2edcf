//! `prefill` creates every series with exactly one point, in both formats,
//! and reports the server's resident set size when given its pid (the
//! test process is the server here) and the CPU both sides used.

mod support;

use std::time::Duration;

use anomalyzer_serve::ServeOptions;
use support::{loadgen, Server};

#[test]
fn prefill_gives_every_series_one_point() {
    for format in ["remote-write", "json"] {
        let server = Server::start(ServeOptions::default());
        let dir = tempfile::tempdir().unwrap();
        let url = server.url();
        let pid = std::process::id().to_string();
        let run = loadgen(
            dir.path(),
            &[
                "prefill",
                "--url",
                &url,
                "--series",
                "2500",
                "--batch",
                "1000",
                "--concurrency",
                "2",
                "--format",
                format,
                "--server-pid",
                &pid,
                "--json",
            ],
            Duration::from_secs(60),
        );
        assert_eq!(run.code, Some(0), "{format}: {}", run.stderr);
        let report = run.report();
        assert_eq!(report["mode"], "prefill");
        assert_eq!(report["requests"], 3, "{report}");
        assert_eq!(report["points"], 2500, "{report}");
        assert_eq!(report["errors"], serde_json::json!({}));
        // 2 500 series holding 2 500 points: one each.
        assert_eq!(server.store.series_count(), 2500);
        assert_eq!(server.store.points_of("loadgen_value"), 2500);
        assert!(
            report["server_rss_bytes"].as_u64().unwrap() > 1 << 20,
            "{report}"
        );
    }
}
