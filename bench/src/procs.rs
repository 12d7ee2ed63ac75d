//! Child processes of the drivers: started with the highest open-file limit
//! the hard limit allows, waited for until they answer HTTP, and killed when
//! their guard drops (also on error paths), so nothing outlives a run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchError;

/// A child that is killed (its whole process group) on drop.
#[derive(Debug)]
pub struct Guard {
    pub name: String,
    child: Child,
}

impl Guard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the child has not exited.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The child leads its own process group: end it and anything it forked.
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// Starts `program args` in its own process group, with the soft
/// `RLIMIT_NOFILE` raised to the hard limit (`ulimit -n $(ulimit -Hn)`): 1,000
/// streams through a proxy need over 2,000 descriptors in it. Output goes to
/// `log` (appended).
pub fn spawn(name: &str, program: &Path, args: &[String], log: &Path) -> Result<Guard, BenchError> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    let child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$0\" \"$@\"")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()?;
    Ok(Guard {
        name: name.to_string(),
        child,
    })
}

/// Status code of `GET path` on `addr` (HTTP/1.0, a fresh connection).
pub fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    let timeout = Duration::from_secs(2);
    let sock = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sock, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until `GET path` on `addr` answers 200, the child dies, or `limit`
/// passes.
pub fn wait_ready(
    guard: &mut Guard,
    addr: &str,
    path: &str,
    limit: Duration,
) -> Result<(), BenchError> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if !guard.alive() {
            return Err(BenchError::Other(format!(
                "{} exited during start-up",
                guard.name
            )));
        }
        if http_get_status(addr, path) == Some(200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(BenchError::Other(format!(
        "{} not ready on {addr}{path} within {limit:?}",
        guard.name
    )))
}
