//! `--config FILE` is a patch: the fields it sets replace those beneath it
//! (defaults for a new detector, the stored configuration when a state
//! directory is reopened) and flags replace the file's. A reopened
//! directory accepts the methods in another order when the order cannot
//! change a score, and says the order differs when it can. The file itself
//! must be a regular file of at most 1 MiB.

mod sandbox;

use sandbox::Sandbox;

fn stream(sb: &Sandbox, args: &[&str], input: &str) -> sandbox::Run {
    let mut full = vec!["stream", "--state", "state"];
    full.extend_from_slice(args);
    sb.run(&full, input)
}

fn inspect_conf(sb: &Sandbox) -> serde_json::Value {
    let run = sb.run(&["inspect", "state"], "");
    let json: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    json["conf"].clone()
}

#[test]
fn a_state_made_with_a_config_file_reopens_with_that_file_alone() {
    let sb = Sandbox::new();
    sb.write(
        "conf.toml",
        "methods = [\"magnitude\", \"ks\"]\nn_seasons = 5\n",
    );
    // Created with the file and a flag for a field the file leaves unset.
    stream(&sb, &["--config", "conf.toml", "--seed", "5"], "1\n2\n").ok();
    assert_eq!(inspect_conf(&sb)["seed"], 5);
    assert_eq!(inspect_conf(&sb)["n_seasons"], 5);
    // The same file alone: its fields agree, the seed is not reset.
    let run = stream(&sb, &["--config", "conf.toml"], "3\n");
    assert!(run.ok().starts_with("3,3,"), "{}", run.stdout);
    // Repeating the flag agrees too; another value is a conflict.
    stream(&sb, &["--config", "conf.toml", "--seed", "5"], "4\n").ok();
    let err = stream(&sb, &["--config", "conf.toml", "--seed", "6"], "5\n")
        .bad_input()
        .to_owned();
    assert!(err.contains("differs in: seed"), "{err}");
    // A file that sets a field differently is a conflict in that field only.
    sb.write("other.toml", "perm_count = 77\n");
    let err = stream(&sb, &["--config", "other.toml"], "5\n")
        .bad_input()
        .to_owned();
    assert!(err.contains("differs in: perm_count)"), "{err}");
    assert_eq!(inspect_conf(&sb)["perm_count"], 500, "nothing changed");
}

#[test]
fn flags_replace_file_fields_and_file_fields_replace_defaults() {
    let sb = Sandbox::new();
    sb.write(
        "conf.toml",
        "seed = 9\nperm_count = 40\nsensitivity = 0.0\n",
    );
    stream(&sb, &["--config", "conf.toml", "--perm-count", "41"], "1\n").ok();
    let conf = inspect_conf(&sb);
    assert_eq!(conf["seed"], 9, "file over default: {conf}");
    assert_eq!(conf["perm_count"], 41, "flag over file: {conf}");
    assert_eq!(conf["sensitivity"], 0.0, "{conf}");
    assert_eq!(
        conf["n_seasons"], 4,
        "default where neither sets it: {conf}"
    );
    assert_eq!(conf["active_size"], 1, "{conf}");
}

#[test]
fn method_order_is_no_difference_when_it_cannot_change_a_score() {
    let sb = Sandbox::new();
    stream(&sb, &["--methods", "ks,magnitude"], "1\n2\n").ok();
    let run = stream(&sb, &["--methods", "magnitude,ks"], "3\n");
    assert!(run.ok().starts_with("3,3,"), "{}", run.stderr);
    sb.write("conf.toml", "methods = [\"magnitude\", \"ks\"]\n");
    stream(&sb, &["--config", "conf.toml"], "4\n").ok();
    assert_eq!(
        inspect_conf(&sb)["methods"],
        serde_json::json!(["ks", "magnitude"])
    );
    // Another set is still a difference.
    let err = stream(&sb, &["--methods", "magnitude"], "5\n")
        .bad_input()
        .to_owned();
    assert!(err.contains("differs in: methods)"), "{err}");
}

#[test]
fn method_order_is_a_difference_when_it_can_change_a_score() {
    let sb = Sandbox::new();
    stream(&sb, &["--methods", "magnitude,ks,cdf"], "1\n2\n").ok();
    let err = stream(&sb, &["--methods", "cdf,ks,magnitude"], "3\n")
        .bad_input()
        .to_owned();
    assert!(err.contains("methods: the order differs"), "{err}");
    assert!(
        err.contains("magnitude,ks,cdf stored, cdf,ks,magnitude given"),
        "{err}"
    );
    stream(&sb, &["--methods", "magnitude,ks,cdf"], "3\n").ok();
}

#[test]
fn only_a_regular_file_of_at_most_1_mib_is_read() {
    let sb = Sandbox::new();
    let mut cases: Vec<(String, &str)> = vec![
        (
            "/dev/zero".to_owned(),
            "a character device, not a regular file",
        ),
        (".".to_owned(), "a directory, not a regular file"),
    ];
    let big = sb.path("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(1 << 20))).unwrap();
    cases.push((big.display().to_string(), "more than the limit of 1048576"));
    let fifo = sb.path("fifo.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        cases.push((fifo.display().to_string(), "a FIFO, not a regular file"));
    }
    for (path, want) in &cases {
        for cmd in [&["score"][..], &["stream", "--state", "state"]] {
            let mut args = cmd.to_vec();
            args.extend(["--config", path.as_str()]);
            let run = sb.run(&args, "1\n");
            let err = run.bad_input();
            assert!(
                err.contains(&format!("config file {path}: ")),
                "{path}: {err}"
            );
            assert!(err.contains(want), "{path}: {err}");
            assert!(err.len() < 300, "{path}: {err}");
        }
    }
    assert!(
        !sb.path("state").exists(),
        "no state made from a refused config"
    );
    // Exactly at the limit is fine, and a symlink to a regular file is followed.
    let mut text = String::from("seed = 3\n#");
    text.push_str(&"x".repeat((1 << 20) - text.len() - 1));
    text.push('\n');
    std::fs::write(sb.path("edge.toml"), &text).unwrap();
    std::os::unix::fs::symlink("edge.toml", sb.path("link.toml")).unwrap();
    sb.run(&["score", "--config", "link.toml"], "1\n").ok();
}

#[test]
fn a_config_error_names_line_and_column_but_quotes_no_text() {
    let sb = Sandbox::new();
    let long = "y".repeat(100_000);
    sb.write("bad.toml", &format!("seed = 1\nseed_typo = \"{long}\"\n"));
    let err = sb
        .run(&["score", "--config", "bad.toml"], "1\n")
        .bad_input()
        .to_owned();
    assert!(
        err.contains("config file bad.toml: line 2, column 1:"),
        "{err}"
    );
    assert!(err.contains("seed_typo"), "{err}");
    assert!(err.len() < 500, "{} bytes: {err}", err.len());
}
