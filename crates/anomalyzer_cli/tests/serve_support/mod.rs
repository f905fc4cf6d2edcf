//! Shared by the `serve` tests: the real binary started on 127.0.0.1 port 0
//! in a temporary state directory, its stderr collected, and a small
//! blocking HTTP/1.1 client. Every wait is bounded.

#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for anything: start-up, an answer, an exit.
pub const LIMIT: Duration = Duration::from_secs(60);

/// A running `anomalyzer serve`.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
    lines: Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `serve --state DIR --listen 127.0.0.1:0 ARGS` and waits for
    /// `listening on ADDR`.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
            .arg("serve")
            .arg("--state")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start anomalyzer serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { return };
                collected.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        let addr = addr.parse().expect("listening on a socket address");
                        return Server {
                            child,
                            addr,
                            stderr,
                            lines,
                            reader: Some(reader),
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "no `listening on` line; stderr:\n{}",
                        stderr.lock().unwrap().join("\n")
                    );
                }
            }
        }
    }

    /// Polls `/readyz` until it answers 200.
    pub fn wait_ready(&self, token: Option<&str>) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let headers: Vec<String> = token
                .map(|t| vec![format!("Authorization: Bearer {t}")])
                .unwrap_or_default();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            if let Ok(answer) = try_request(self.addr, "GET", "/readyz", &headers, b"") {
                if answer.status == 200 {
                    return;
                }
                assert_eq!(answer.status, 503, "readyz: {}", answer.body);
            }
            assert!(
                Instant::now() < deadline,
                "not ready in time; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits for a stderr line containing `text`, and returns it.
    pub fn wait_for_line(&self, text: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        if let Some(line) = self
            .stderr
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(text))
        {
            return line.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {text:?}; stderr:\n{}", self.stderr()),
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit in time; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        self.signal("TERM");
        let status = self.wait();
        let stderr = self.all_stderr();
        (status, stderr)
    }

    /// Everything printed on stderr, once the process has exited (the
    /// reader thread has seen the end of the pipe).
    pub fn all_stderr(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stderr()
    }

    /// SIGKILL, and reaps the process.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// One request to this server.
    pub fn request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
        request(self.addr, method, path, headers, body)
    }

    /// `POST /api/v1/push` with `body`.
    pub fn push(&self, body: &str) -> Answer {
        self.request("POST", "/api/v1/push", &[], body.as_bytes())
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], b"")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// One request (`Connection: close`); panics on a transport error.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> Answer {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// One request (`Connection: close`).
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, LIMIT)?;
    stream.set_read_timeout(Some(LIMIT))?;
    stream.set_write_timeout(Some(LIMIT))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    read_answer(&mut stream)
}

/// Reads an answer until the server closes the connection.
pub fn read_answer(stream: &mut TcpStream) -> std::io::Result<Answer> {
    let mut data = Vec::new();
    stream.read_to_end(&mut data)?;
    parse_answer(&data)
}

/// Splits a whole answer into status, head and (de-chunked) body.
pub fn parse_answer(data: &[u8]) -> std::io::Result<Answer> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let text = String::from_utf8_lossy(data).into_owned();
    let end = text
        .find("\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = text[..end].to_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut body = text[end + 4..].to_owned();
    let lower = head.to_ascii_lowercase();
    if lower.contains("transfer-encoding: chunked") {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    } else if let Some(length) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        // A server killed mid-answer leaves it short: not an answer.
        if text.len() - (end + 4) < length {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "answer cut short",
            ));
        }
    }
    Ok(Answer { status, head, body })
}

fn dechunk(mut text: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let line_end = text.find("\r\n")?;
        let size = usize::from_str_radix(text[..line_end].trim(), 16).ok()?;
        text = &text[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.push_str(text.get(..size)?);
        text = text.get(size + 2..)?;
    }
}

/// A JSON line for `POST /api/v1/push`.
pub fn line(series: &str, labels: &str, timestamp: i64, value: f64) -> String {
    format!(
        r#"{{"series":"{series}","labels":{labels},"timestamp":{timestamp},"value":{value:?}}}"#
    )
}

/// Probabilities of a bare detector with the service's default
/// configuration over `values`, as bits.
pub fn reference(values: &[f64]) -> Vec<u64> {
    reference_with(
        anomalyzer_serve::ServeConfig::default().default_conf(),
        values,
    )
}

/// Probabilities of a bare detector with `conf` over `values`, as bits.
pub fn reference_with(conf: &Arc<anomalyzer_ts::AnomalyzerConf>, values: &[f64]) -> Vec<u64> {
    let mut d = anomalyzer_ts::Anomalyzer::with_shared_conf(Arc::clone(conf), &[]).unwrap();
    values
        .iter()
        .map(|&v| d.push(v).unwrap().to_bits())
        .collect()
}

/// Seeded values with an occasional spike.
pub fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let base = 20.0 + (state % 2000) as f64 / 100.0;
            if state.is_multiple_of(23) {
                base * 3.0
            } else {
                base
            }
        })
        .collect()
}

/// The probabilities of a push answer's results, as bits (null ones panic).
pub fn probabilities(answer: &Answer) -> Vec<u64> {
    assert_eq!(answer.status, 200, "push: {}", answer.body);
    answer.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["probability"]
                .as_f64()
                .unwrap_or_else(|| panic!("not scored: {r}"))
                .to_bits()
        })
        .collect()
}
