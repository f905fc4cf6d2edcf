//! The progress bar: drawn on stderr for a file input when stderr is a
//! terminal (a pseudo-terminal from python3's `pty` module here), cleared at
//! the end; never drawn into a pipe. (For stdin, whose length is unknown,
//! see the unit tests in `src/progress.rs`.)

mod sandbox;

use std::process::Command;

use sandbox::{bin, Sandbox};

/// Runs the binary with stdin, stdout and stderr on a pseudo-terminal and
/// returns everything it wrote there.
fn run_on_terminal(sb: &Sandbox, args: &[&str]) -> String {
    let script = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(bin())
        .args(args)
        .current_dir(sb.dir.path())
        // As in a terminal emulator (CI runs without TERM; indicatif draws
        // nothing on a terminal it cannot drive).
        .env("TERM", "xterm-256color")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bar_is_drawn_on_a_terminal_for_a_file_and_cleared() {
    let sb = Sandbox::new();
    let text: String = (0..20_000).map(|i| format!("{}\n", i % 13)).collect();
    sb.write("in.txt", &text);
    let screen = run_on_terminal(
        &sb,
        &["score", "in.txt", "--methods", "magnitude", "-o", "out.csv"],
    );
    assert!(screen.contains("scoring ["), "bar drawn: {screen:?}");
    assert!(screen.contains("/"), "with a total: {screen:?}");
    assert!(
        screen.trim_end_matches(['\r', '\n']).ends_with("\u{1b}[2K"),
        "and cleared: {screen:?}"
    );
    assert_eq!(
        std::fs::read_to_string(sb.path("out.csv"))
            .unwrap()
            .lines()
            .count(),
        20_001
    );
}

#[test]
fn no_bar_for_a_file_into_a_pipe() {
    let sb = Sandbox::new();
    let text: String = (0..20_000).map(|i| format!("{}\n", i % 13)).collect();
    sb.write("in.txt", &text);
    let run = sb.run(
        &["score", "in.txt", "--methods", "magnitude", "-o", "out.csv"],
        "",
    );
    run.ok();
    assert_eq!(run.stderr, "");
}
