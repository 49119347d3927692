//! Issue 11 §1 across processes: the table of `failed_ops.rs`
//! (`common/failed_ops_cases.rs`) with a child process as the other party.
//! For each case the child (this test binary re-executed as the ignored
//! `worker`, as in `mp_sync.rs`) creates, fills or holds the structure in
//! the parent's segment and reports readiness; the parent opens its own
//! mapping, runs the failing operation and compares whole-file snapshots;
//! then the child checks its state (the holder still holds and releases
//! exactly once, the queue still pops the same items, ...) and releases.
//!
//! The parent drives the child one line at a time on its stdin; the child
//! answers on stdout with lines starting `@@ `.

mod common;
#[path = "common/failed_ops_cases.rs"]
mod failed_ops_cases;

use common::{is_child, unique_name, TempSeg};
use failed_ops_cases::{cases, judge, summary, Case, Held, Snapshots, Verdict, SEGMENT_SIZE};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use zeroipc::Segment;

/// How long the parent waits for one answer of the child (generous: the
/// slowest setup or check takes well under a second).
const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// One line to the parent; a leading newline because libtest may already
/// have printed "test worker ... " without one.
fn answer(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n@@ {}", line.replace('\n', " ")).expect("write to the parent");
    out.flush().expect("flush to the parent");
}

/// The child: `SETUP <case> <segment>`, `CHECK <case>`, `QUIT`.
#[test]
#[ignore = "run by failed_operations_across_processes as a child process"]
fn worker() {
    if !is_child() {
        return;
    }
    let table = cases();
    let mut holding: Option<(usize, Segment, Held)> = None;
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("read from the parent");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["SETUP", i, name] => {
                let i: usize = i.parse().expect("case index");
                let setup = Segment::open(name)
                    .map_err(|e| format!("open: {e}"))
                    .and_then(|seg| {
                        (table[i].setup)(&seg)
                            .map(|h| (seg, h))
                            .map_err(|e| format!("setup: {e}"))
                    });
                match setup {
                    Ok((seg, h)) => {
                        holding = Some((i, seg, h));
                        answer(&format!("READY {}", std::process::id()));
                    }
                    Err(e) => answer(&format!("ERR {e}")),
                }
            }
            ["CHECK", i] => {
                let i: usize = i.parse().expect("case index");
                match holding.take() {
                    Some((j, seg, h)) if j == i => match (table[i].check)(&seg, h) {
                        Ok(()) => answer("CHECKED"),
                        Err(e) => answer(&format!("ERR {e}")),
                    },
                    other => answer(&format!(
                        "ERR check of case {i}, but holding case {:?}",
                        other.map(|(j, _, _)| j)
                    )),
                }
            }
            ["QUIT"] => break,
            _ => answer(&format!("ERR unknown command {line:?}")),
        }
    }
    answer("BYE");
}

/// The parent's end of the conversation with the child.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<String>,
}

impl Peer {
    fn spawn() -> Peer {
        let exe = std::env::current_exe().expect("test binary path");
        let mut child = Command::new(exe)
            .args([
                "worker",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ZEROIPC_CHILD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the worker");
        let stdin = child.stdin.take().expect("child stdin");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, answers) = mpsc::channel();
        // A reader thread, so that a child that stops answering fails the
        // test after ANSWER_WAIT instead of hanging it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("@@ ") {
                    if tx.send(line[at + 3..].to_owned()).is_err() {
                        break;
                    }
                }
            }
        });
        Peer {
            child,
            stdin,
            answers,
        }
    }

    /// Sends one command and returns the answer (`Err` for `ERR ...`).
    fn ask(&mut self, command: &str) -> Result<String, String> {
        writeln!(self.stdin, "{command}").map_err(|e| format!("write to the child: {e}"))?;
        self.stdin
            .flush()
            .map_err(|e| format!("flush to the child: {e}"))?;
        let a = self
            .answers
            .recv_timeout(ANSWER_WAIT)
            .map_err(|e| format!("no answer from the child to {command:?}: {e}"))?;
        match a.strip_prefix("ERR ") {
            Some(e) => Err(e.to_owned()),
            None => Ok(a),
        }
    }
}

/// Runs case `i` with the child as the other party.
fn run_case(peer: &mut Peer, i: usize, case: &Case) -> Result<Verdict, String> {
    let t = TempSeg {
        name: unique_name("failed_ops_mp"),
    };
    // The parent creates the (empty) segment; the child fills it.
    let _creator = Segment::create(&t.name, SEGMENT_SIZE).map_err(|e| format!("create: {e}"))?;
    let ready = peer.ask(&format!("SETUP {i} {}", t.name))?;
    let child_pid: u32 = ready
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("unexpected answer {ready:?}"))?;
    if child_pid == std::process::id() {
        return Err("the other party runs in this process".into());
    }
    let ours = Segment::open(&t.name).map_err(|e| format!("open: {e}"))?;
    let before_prepare = t.bytes();
    let run = (case.prepare)(&ours)
        .map_err(|e| format!("prepare: {e}"))
        .map(|op| {
            let before_op = t.bytes();
            let start = Instant::now();
            let outcome = op();
            (before_op, outcome, start.elapsed())
        });
    let after_op = t.bytes();
    let verdict = run.and_then(|(before_op, outcome, took)| {
        let snaps = Snapshots {
            before_prepare,
            before_op,
            after_op,
        };
        judge(case, &ours, &snaps, &outcome, took)
    });
    // The child checks and releases whatever happened on our side.
    let checked = peer.ask(&format!("CHECK {i}"));
    match (verdict, checked) {
        (Ok(v), Ok(_)) => Ok(v),
        (Ok(_), Err(e)) => Err(format!("other process's state: {e}")),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(c)) => Err(format!("{e}; other process's state: {c}")),
    }
}

#[test]
fn failed_operations_across_processes() {
    if is_child() {
        return;
    }
    let table = cases();
    let mut peer = Peer::spawn();
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for (i, case) in table.iter().enumerate() {
        match run_case(&mut peer, i, case) {
            Ok(v) => verdicts.push((i, v)),
            Err(e) => failures.push(format!("{}: {e}", case.label())),
        }
    }
    let bye = peer.ask("QUIT");
    let status = peer.child.wait().expect("wait for the worker");
    println!(
        "failed_ops_mp (child process): {}",
        summary(&table, &verdicts)
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    assert_eq!(bye.as_deref(), Ok("BYE"), "the worker's last answer");
    assert!(status.success(), "worker exited with {status:?}");
    assert_eq!(verdicts.len(), table.len());
}
