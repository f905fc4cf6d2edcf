//! `score --output PATH` replaces a regular file atomically and nothing
//! else: a device, FIFO or socket is written in place like a shell
//! redirect; a symlink is written through and stays a link; the new file's
//! mode is 0666 minus the umask, or the mode of the file it replaces; on
//! SIGINT or SIGTERM the temporary file is removed and the exit code is 130
//! or 143.

mod sandbox;

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sandbox::{bin, Sandbox};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Temporary files the binary left in the sandbox.
fn temp_files(sb: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sb.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".anomalyzer-"))
        .collect()
}

/// Runs `score ARGS` through `sh` with `umask` set, stdin from `input`.
fn score_with_umask(sb: &Sandbox, umask: &str, args: &str, input: &str) -> i32 {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" score {args}"))
        .arg(bin())
        .current_dir(sb.dir.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait().unwrap().code().unwrap()
}

/// A character device to write to: a fresh node in the sandbox where we
/// may make one (root), else the system's. Never the system's as root: a
/// regression that replaced the node would replace `/dev/null` for the
/// whole machine (as the bug this guards against once did); without root
/// `/dev` is not writable, so a regression only fails.
fn char_device(sb: &Sandbox, name: &str, system: &str, major_minor: (&str, &str)) -> String {
    let node = sb.path(name);
    let made = Command::new("mknod")
        .arg(&node)
        .args(["c", major_minor.0, major_minor.1])
        .stderr(Stdio::null())
        .status();
    if made.is_ok_and(|s| s.success()) {
        node.display().to_string()
    } else {
        system.to_owned()
    }
}

#[test]
fn devices_are_written_in_place_never_replaced() {
    let sb = Sandbox::new();
    let null = char_device(&sb, "null", "/dev/null", ("1", "3"));
    let full = char_device(&sb, "full", "/dev/full", ("1", "7"));
    let run = sb.run(&["score", "--output", &null], "1\n2\n");
    run.ok();
    let run = sb.run(&["score", "--output", &full], "1\n2\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("cannot write to {full}: No space left on device")),
        "{}",
        run.stderr
    );
    for dev in [&null, &full] {
        let t = std::fs::metadata(dev).unwrap().file_type();
        assert!(t.is_char_device(), "{dev} is still a device");
    }
    assert!(temp_files(&sb).is_empty());
}

#[test]
fn a_fifo_is_written_in_place() {
    let sb = Sandbox::new();
    let fifo = sb.path("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            std::fs::File::open(fifo)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        })
    };
    sb.run(&["score", "--output", "pipe"], "1\n2\n").ok();
    let text = reader.join().unwrap();
    assert!(text.starts_with("value,probability\n1,0\n2,"), "{text}");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(temp_files(&sb).is_empty());
}

#[test]
fn a_socket_is_not_replaced() {
    let sb = Sandbox::new();
    let path = sb.path("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let run = sb.run(&["score", "--output", "sock"], "1\n");
    assert_eq!(
        run.code, 1,
        "a socket cannot be opened, as in a shell: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cannot open sock for writing"),
        "{}",
        run.stderr
    );
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_socket());
    assert!(temp_files(&sb).is_empty());
}

#[test]
fn a_symlink_is_written_through_and_stays_a_link() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("real")).unwrap();
    let target = sb.path("real/target.csv");
    std::fs::write(&target, "old\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real/target.csv", sb.path("out.csv")).unwrap();
    sb.run(&["score", "--output", "out.csv"], "1\n2\n").ok();
    let link = std::fs::symlink_metadata(sb.path("out.csv")).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.starts_with("value,probability\n"), "{text}");
    assert_eq!(mode(&target), 0o640, "the replaced file's mode");
    assert!(temp_files(&sb).is_empty());
    // A dangling link: its target is created, the link stays.
    std::os::unix::fs::symlink("real/new.csv", sb.path("dangling.csv")).unwrap();
    sb.run(&["score", "--output", "dangling.csv"], "1\n").ok();
    assert!(std::fs::read_to_string(sb.path("real/new.csv"))
        .unwrap()
        .starts_with("value,probability\n"));
    assert!(std::fs::symlink_metadata(sb.path("dangling.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_new_file_gets_0666_minus_the_umask_and_a_replaced_one_keeps_its_mode() {
    let sb = Sandbox::new();
    assert_eq!(score_with_umask(&sb, "022", "--output new.csv", "1\n"), 0);
    assert_eq!(mode(&sb.path("new.csv")), 0o644);
    assert_eq!(
        score_with_umask(&sb, "077", "--output private.csv", "1\n"),
        0
    );
    assert_eq!(mode(&sb.path("private.csv")), 0o600);
    assert_eq!(score_with_umask(&sb, "0", "--output open.csv", "1\n"), 0);
    assert_eq!(mode(&sb.path("open.csv")), 0o666);
    // Replacing: the old mode, whatever the umask.
    std::fs::set_permissions(sb.path("new.csv"), std::fs::Permissions::from_mode(0o604)).unwrap();
    assert_eq!(score_with_umask(&sb, "077", "--output new.csv", "2\n"), 0);
    assert_eq!(mode(&sb.path("new.csv")), 0o604);
    let text = std::fs::read_to_string(sb.path("new.csv")).unwrap();
    assert!(
        text.starts_with("value,probability\n2,"),
        "replaced: {text}"
    );
}

#[test]
fn a_directory_is_refused() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("d")).unwrap();
    let run = sb.run(&["score", "--output", "d"], "1\n");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot write d: it is a directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_signal_removes_the_temporary_file_and_exits_128_plus_it() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let sb = Sandbox::new();
        sb.write("out.csv", "old\n");
        let mut child = sb
            .command(&["score", "--output", "out.csv"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"1\n2\n3\n").unwrap();
        stdin.flush().unwrap();
        // The temporary file exists once the first line has been read.
        let start = Instant::now();
        while temp_files(&sb).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no temporary file appeared"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let killed = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}");
        assert!(
            temp_files(&sb).is_empty(),
            "SIG{signal}: {:?}",
            temp_files(&sb)
        );
        assert_eq!(
            std::fs::read_to_string(sb.path("out.csv")).unwrap(),
            "old\n"
        );
    }
}

#[test]
fn a_read_only_file_is_refused_like_a_redirect_would_refuse_it() {
    let sb = Sandbox::new();
    let path = sb.write("ro.csv", "old\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Root may write any file (as a shell redirect as root would): then the
    // file is replaced and keeps its mode; otherwise it is refused.
    let writable = std::fs::OpenOptions::new().write(true).open(&path).is_ok();
    let run = sb.run(&["score", "--output", "ro.csv"], "1\n");
    if writable {
        run.ok();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("value,"));
        assert_eq!(mode(&path), 0o444);
    } else {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("cannot open ro.csv for writing"),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
    }
    assert!(temp_files(&sb).is_empty());
}
