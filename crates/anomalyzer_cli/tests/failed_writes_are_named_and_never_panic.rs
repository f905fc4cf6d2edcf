//! A write to stdout that fails names stdout and the OS error (exit 1); a
//! stderr that fails or is closed never turns an exit code into a panic
//! (101): the documented 0, 1 or 2 stands, and nothing meant for stderr
//! lands in another file.

mod sandbox;

use std::io::Write;
use std::process::{Command, Stdio};

use sandbox::{bin, Sandbox};

/// Runs the binary with stdout or stderr on `/dev/full`.
fn run_full(sb: &Sandbox, args: &[&str], input: &str, stream: &str) -> (i32, String) {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let mut cmd = sb.command(args);
    cmd.stdin(Stdio::piped());
    if stream == "stdout" {
        cmd.stdout(full()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::piped()).stderr(full());
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_full_stdout_is_named_with_the_os_error() {
    let sb = Sandbox::new();
    for args in [&["score"][..], &["stream", "--state", "s"]] {
        let (code, err) = run_full(&sb, args, "1\n2\n", "stdout");
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("cannot write to stdout: No space left on device"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_full_stderr_keeps_the_documented_exit_codes() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &str, i32)] = &[
        (&["score"], "1\nx\n", 2),
        (
            &["score", "--on-invalid", "skip", "--threshold", "0.5"],
            "1\nx\n",
            0,
        ),
        (&["score", "missing.csv"], "", 1),
        (&["score", "--bogus"], "", 2),
        (&["stream", "--state", "s"], "1\nx\n", 2),
        (
            &["stream", "--state", "s", "--on-invalid", "skip"],
            "x\n3\n",
            0,
        ),
    ];
    for &(args, input, want) in cases {
        let (code, _) = run_full(&sb, args, input, "stderr");
        assert_eq!(code, want, "{args:?}");
    }
}

#[test]
fn a_closed_stderr_keeps_the_exit_code_and_diagnostics_out_of_the_output() {
    let sb = Sandbox::new();
    let run = |args: &str, input: &str| {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" {args} 2>&-"))
            .arg(bin())
            .current_dir(sb.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap().status.code().unwrap()
    };
    assert_eq!(run("score", "1\nx\n"), 2);
    assert_eq!(
        run("score --on-invalid skip --output out.csv", "1\nx\n3\n"),
        0
    );
    let text = std::fs::read_to_string(sb.path("out.csv")).unwrap();
    assert!(
        !text.contains("anomalyzer"),
        "a diagnostic went into the output: {text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert_eq!(run("stream --state s --on-invalid skip", "x\n1\n"), 0);
    assert_eq!(run("stream --state s", "x\n"), 2);
}

#[test]
fn help_on_a_full_stdout_is_named_too() {
    let sb = Sandbox::new();
    for args in [&["--help"][..], &["score", "--help"]] {
        let (code, err) = run_full(&sb, args, "", "stdout");
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("cannot write to stdout: No space left on device"),
            "{err}"
        );
    }
}
