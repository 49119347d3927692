//! Codata: values that arrive later, computed once, or keep coming, passed
//! between two processes.
//!
//! The parent creates `/zeroipc-example-codata-<pid>` and re-runs this
//! executable as the child (`--child <segment>`). Then:
//!
//! - `Channel<u32>` "work" (buffered, capacity 4): the parent sends 1..=10
//!   and closes it; the child receives until the channel reports closed.
//! - `Stream<u32>` "doubled": the child emits each value times two; the
//!   parent reads them in order.
//! - `Future<u64>` "total": the child completes it with the sum of what it
//!   received; the parent waits for it.
//! - `Future<u64>` "refused": the child completes it with an error; the
//!   parent gets the message.
//! - `Lazy<f64>` "sum" = "a" + "b": computed once, by whichever process
//!   forces it first; the other gets the cached value.
//!
//! Run with `cargo run -p zeroipc --example codata`. Exits non-zero if any
//! check fails; the segment is removed either way.

use std::error::Error;
use std::process::{Command, ExitCode};
use std::time::Duration;
use zeroipc::{Channel, Future, FutureState, Lazy, Segment, Stream};

type Res<T = ()> = Result<T, Box<dyn Error>>;

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
    let name = format!("/zeroipc-example-codata-{}", std::process::id());
    let _cleanup = RemoveOnDrop(name.clone());
    let seg = Segment::create(&name, 1 << 20)?;
    let work = Channel::<u32>::create(&seg, "work", 4)?;
    let doubled = Stream::<u32>::create(&seg, "doubled", 16)?;
    let total = Future::<u64>::create(&seg, "total")?;
    let refused = Future::<u64>::create(&seg, "refused")?;
    let a = Lazy::constant(&seg, "a", 1.5f64)?;
    let b = Lazy::constant(&seg, "b", 2.0f64)?;
    let sum = Lazy::add(&seg, "sum", &a, &b)?;
    assert!(!sum.is_computed(), "a lazy value waits until forced");
    println!("[parent] created {name}; starting the child");

    let mut child = Command::new(std::env::current_exe()?)
        .args(["--child", &name])
        .spawn()?;

    // The channel holds 4 values: sends block until the child makes room.
    for v in 1..=10u32 {
        work.send_timeout(v, WAIT)?;
    }
    work.close();
    let received: Vec<u32> = (0..10)
        .map(|_| doubled.recv_timeout(WAIT))
        .collect::<zeroipc::Result<_>>()?;
    assert_eq!(received, (1..=10).map(|v| v * 2).collect::<Vec<u32>>());
    assert_eq!(total.get_timeout(WAIT)?, 55, "sum of 1..=10");
    let err = refused
        .get_timeout(WAIT)
        .expect_err("the child completed `refused` with an error");
    assert!(matches!(err, zeroipc::Error::Failed { .. }), "{err}");
    assert_eq!(refused.state(), FutureState::Error);
    assert_eq!(
        refused.error_message().as_deref(),
        Some("no work for this one")
    );
    println!("[parent] stream {received:?}; total 55; refused: {err}");

    let status = child.wait()?;
    assert!(status.success(), "child failed: {status}");
    // The child forced `sum`; here it is cached, not computed again.
    assert_eq!(sum.force_timeout(WAIT)?, 3.5);
    assert_eq!(sum.compute_count(), 1, "computed once, in the child");
    println!("[parent] lazy sum 3.5, computed once (by the child)");

    // Removing the name is enough: mappings stay valid until dropped.
    Segment::unlink(&name)?;
    println!("[parent] removed {name}");
    Ok(())
}

fn child(name: &str) -> Res {
    let seg = Segment::open(name)?;
    let work = Channel::<u32>::open(&seg, "work")?;
    let doubled = Stream::<u32>::open(&seg, "doubled")?;

    let mut sum = 0u64;
    loop {
        match work.recv_timeout(WAIT) {
            Ok(v) => {
                sum += u64::from(v);
                doubled.emit_timeout(v * 2, WAIT)?;
            }
            // Closed by the parent and drained: every value is in.
            Err(zeroipc::Error::Closed { .. }) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if !Future::<u64>::open(&seg, "total")?.set_value(sum) {
        return Err("`total` was already complete".into());
    }
    if !Future::<u64>::open(&seg, "refused")?.set_error("no work for this one") {
        return Err("`refused` was already complete".into());
    }
    let forced = Lazy::<f64>::open(&seg, "sum")?.force_timeout(WAIT)?;
    println!("[child] received 10 values (sum {sum}); forced the lazy sum: {forced}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Any other argument (for example one cargo test passes) means parent.
    let result = match args.iter().position(|a| a == "--child") {
        Some(i) => match args.get(i + 1) {
            Some(name) => child(name),
            None => Err("usage: codata [--child SEGMENT]".into()),
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
