//! The synchronisation primitives, across three processes.
//!
//! The parent creates `/zeroipc-example-sync-<pid>` and starts two worker
//! processes (this executable with `--child <segment> <worker>`). Then:
//!
//! 1. `Once` "init": both workers call it; exactly one runs the set-up (it
//!    writes the configuration under the `RwLock` "config_lock" and counts
//!    itself in "init_runs").
//! 2. `Barrier` "start" (3 participants): nobody counts before all three
//!    processes are there.
//! 3. `Mutex` "lock": each worker adds 1 to a shared counter 500 times,
//!    a read-modify-write that loses updates without the lock.
//! 4. `RwLock` "config_lock": workers read the configuration under a read
//!    guard.
//! 5. `Signal<u64>` "progress": each worker adds 1 with `update`.
//! 6. `Latch` "finished" (2): the parent waits until both workers are done.
//! 7. `Semaphore` "tickets" (1 permit): each worker holds the only permit
//!    while it writes its line to "report".
//! 8. `Event` "go" (manual reset): workers wait for the parent's go
//!    before they exit.
//!
//! Run with `cargo run -p zeroipc --example sync`. Exits non-zero if any
//! check fails; the segment is removed either way.

use std::error::Error;
use std::process::{Child, Command, ExitCode};
use std::time::Duration;
use zeroipc::{
    Array, Barrier, Event, EventMode, Latch, Mutex, Once, RwLock, Segment, Semaphore, Signal,
};

type Res<T = ()> = Result<T, Box<dyn Error>>;

const WORKERS: usize = 2;
const INCREMENTS: u64 = 500;
/// Bound on every blocking call: generous for a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

/// Removes the segment name when dropped (failed checks, panics).
struct RemoveOnDrop(String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // Cleanup only: the success path has already unlinked and checked.
        let _ = Segment::unlink(&self.0);
    }
}

fn parent() -> Res {
    let name = format!("/zeroipc-example-sync-{}", std::process::id());
    let _cleanup = RemoveOnDrop(name.clone());
    let seg = Segment::create(&name, 1 << 20)?;
    let counter = Array::<u64>::create(&seg, "counter", 1)?;
    let init_runs = Array::<u32>::create(&seg, "init_runs", 1)?;
    let config = Array::<u32>::create(&seg, "config", 4)?;
    let report = Array::<u64>::create(&seg, "report", WORKERS)?;
    Mutex::create(&seg, "lock")?;
    RwLock::create(&seg, "config_lock")?;
    Once::create(&seg, "init")?;
    let start = Barrier::create(&seg, "start", WORKERS as i32 + 1)?;
    let finished = Latch::create(&seg, "finished", WORKERS as i32)?;
    let progress = Signal::<u64>::create(&seg, "progress", 0)?;
    let tickets = Semaphore::create(&seg, "tickets", 1, 1)?;
    let go = Event::create(&seg, "go", EventMode::ManualReset)?;
    println!("[parent] created {name}; starting {WORKERS} workers");

    let exe = std::env::current_exe()?;
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|i| {
            Command::new(&exe)
                .args(["--child", &name, &i.to_string()])
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;

    start.wait_timeout(WAIT)?;
    finished.wait_timeout(WAIT)?;
    // Both workers are past their last write; they wait for "go".
    assert_eq!(counter.get(0)?, WORKERS as u64 * INCREMENTS, "lost updates");
    assert_eq!(init_runs.get(0)?, 1, "the Once ran more than once");
    assert_eq!(config.to_vec(), [7, 8, 9, 10], "configuration");
    assert_eq!(progress.get()?, WORKERS as u64, "progress signal");
    assert!(progress.version() >= WORKERS as u64, "signal version");
    let lines = report.to_vec();
    assert!(lines.iter().all(|&l| l == INCREMENTS), "report {lines:?}");
    assert_eq!(tickets.count(), 1, "the permit came back");
    println!(
        "[parent] counter {} after {WORKERS} x {INCREMENTS} locked increments; once ran {} time",
        counter.get(0)?,
        init_runs.get(0)?
    );

    go.signal()?;
    for w in &mut workers {
        let status = w.wait()?;
        assert!(status.success(), "worker failed: {status}");
    }
    // Removing the name is enough: mappings stay valid until dropped.
    Segment::unlink(&name)?;
    println!("[parent] workers exited; removed {name}");
    Ok(())
}

fn child(name: &str, index: usize) -> Res {
    let seg = Segment::open(name)?;
    let counter = Array::<u64>::open(&seg, "counter")?;
    let config = Array::<u32>::open(&seg, "config")?;
    let report = Array::<u64>::open(&seg, "report")?;
    let lock = Mutex::open(&seg, "lock")?;
    let config_lock = RwLock::open(&seg, "config_lock")?;

    // 1. One-time set-up: whichever worker gets here first runs it.
    let init_runs = Array::<u32>::open(&seg, "init_runs")?;
    let mut setup: zeroipc::Result<()> = Ok(());
    let ran = Once::open(&seg, "init")?.call_once_timeout(WAIT, || {
        setup = (|| -> zeroipc::Result<()> {
            let _w = config_lock.write_timeout(WAIT)?;
            config.write_from(0, &[7, 8, 9, 10])?;
            init_runs.set(0, init_runs.get(0)? + 1)
        })();
    })?;
    setup?;

    // 2. Everybody starts together.
    Barrier::open(&seg, "start")?.wait_timeout(WAIT)?;

    // 3. Locked read-modify-write.
    for _ in 0..INCREMENTS {
        let _g = lock.lock_timeout(WAIT)?;
        counter.set(0, counter.get(0)? + 1)?;
    }

    // 4. The configuration, under a read guard (other readers may share it).
    let seen = {
        let _r = config_lock.read_timeout(WAIT)?;
        config.to_vec()
    };
    if seen != [7, 8, 9, 10] {
        return Err(format!("worker {index} read configuration {seen:?}").into());
    }

    // 5. Progress: +1, atomic with respect to the other worker.
    Signal::<u64>::open(&seg, "progress")?.update_timeout(WAIT, |v| v + 1)?;

    // 7. One writer at a time through the single permit.
    let tickets = Semaphore::open(&seg, "tickets")?;
    tickets.acquire_timeout(WAIT)?;
    let written = report.set(index, INCREMENTS);
    tickets.release()?;
    written?;

    // 6. Done; 8. wait for the parent's go.
    Latch::open(&seg, "finished")?.count_down(1)?;
    println!("[worker {index}] done (ran the set-up: {ran}); waiting for go");
    Event::open(&seg, "go")?.wait_timeout(WAIT)?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Any other argument (for example one cargo test passes) means parent.
    let result = match args.iter().position(|a| a == "--child") {
        Some(i) => match (args.get(i + 1), args.get(i + 2).map(|s| s.parse())) {
            (Some(name), Some(Ok(index))) => child(name, index),
            _ => Err("usage: sync [--child SEGMENT INDEX]".into()),
        },
        None => parent(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
