//! The data structures, shared by two processes.
//!
//! The parent creates `/zeroipc-example-data-<pid>` with one of each data
//! structure, fills what the child needs, and re-runs this executable as the
//! child (`--child <segment>`). The child opens every structure by name and
//! works through the job queue; the parent then checks every result and
//! removes the segment.
//!
//! | structure | written by | read by |
//! |---|---|---|
//! | `Array<f64>` "samples" | parent | child (sum into the map under key 0) |
//! | `Queue<u32>` "jobs" (MPMC) | parent: 1..=20 | child |
//! | `Map<u32, u64>` "squares" | child: n -> n² | parent |
//! | `Set<u32>` "odd" | child: the odd jobs | parent |
//! | `Stack<u32>` "fives" | child: multiples of 5 | parent (LIFO order) |
//! | `Ring<u32>` "log" (SPSC) | child: every job, in order | parent |
//! | `Pool<u64>` "blocks" | parent allocates two nodes | child multiplies them by 10 |
//!
//! Run with `cargo run -p zeroipc --example data`. Exits non-zero if any
//! check fails; the segment is removed either way.

use std::error::Error;
use std::process::{Command, ExitCode};
use std::time::Duration;
use zeroipc::{Array, Map, Pool, PoolHandle, Queue, Ring, Segment, Set, Stack};

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// Removes the segment name when dropped, so a failed check or a panic
/// does not leave it behind in /dev/shm.
struct RemoveOnDrop(String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // Cleanup only: the success path has already unlinked and checked.
        let _ = Segment::unlink(&self.0);
    }
}

/// Key of the samples' sum in "squares" (no job is 0).
const SUM_KEY: u32 = 0;

fn parent() -> Res {
    let name = format!("/zeroipc-example-data-{}", std::process::id());
    let _cleanup = RemoveOnDrop(name.clone());
    let seg = Segment::create(&name, 1 << 20)?;

    let samples = Array::<f64>::create(&seg, "samples", 8)?;
    let data: Vec<f64> = (1..=8).map(|i| f64::from(i) * 0.25).collect();
    samples.write_from(0, &data)?;
    let jobs = Queue::<u32>::create(&seg, "jobs", 32)?;
    for n in 1..=20u32 {
        jobs.push(n)
            .map_err(|n| format!("jobs queue full at {n}"))?;
    }
    let squares = Map::<u32, u64>::create(&seg, "squares", 64)?;
    let odd = Set::<u32>::create(&seg, "odd", 64)?;
    let fives = Stack::<u32>::create(&seg, "fives", 16)?;
    let log = Ring::<u32>::create(&seg, "log", 32)?;
    let blocks = Pool::<u64>::create(&seg, "blocks", 8)?;
    let mut handles = Vec::new();
    for value in [42u64, 7] {
        let h = blocks.allocate()?.ok_or("pool exhausted")?;
        blocks.set(h, value)?;
        handles.push(h);
    }
    // The child finds the nodes through their indices (handles are plain
    // indices, valid in every process).
    let handle_list = Array::<u32>::create(&seg, "block_handles", 2)?;
    for (i, h) in handles.iter().enumerate() {
        handle_list.set(i, h.index())?;
    }
    println!("[parent] created {name}: 20 jobs queued, 2 pool nodes allocated");

    let status = Command::new(std::env::current_exe()?)
        .args(["--child", &name])
        .status()?;
    assert!(status.success(), "child failed: {status}");

    // Every job was taken, and each structure holds what the child wrote.
    assert!(jobs.is_empty(), "jobs left in the queue: {}", jobs.len());
    assert_eq!(squares.len(), 21, "20 squares and the samples' sum");
    for n in 1..=20u32 {
        assert_eq!(squares.get(&n), Some(u64::from(n * n)), "square of {n}");
    }
    let sum_bits = squares.get(&SUM_KEY).ok_or("no sum in the map")?;
    assert_eq!(f64::from_bits(sum_bits), data.iter().sum::<f64>());
    let mut odd_values = odd.to_vec();
    odd_values.sort_unstable();
    assert_eq!(odd_values, (1..=20).step_by(2).collect::<Vec<u32>>());
    let popped: Vec<u32> = std::iter::from_fn(|| fives.pop()).collect();
    assert_eq!(popped, [20, 15, 10, 5], "stack pops last-in first");
    let mut logged = vec![0u32; 32];
    let n = log.read_bulk(&mut logged);
    assert_eq!(&logged[..n], (1..=20).collect::<Vec<u32>>(), "ring order");
    let values = handles
        .iter()
        .map(|&h| blocks.get(h))
        .collect::<zeroipc::Result<Vec<u64>>>()?;
    assert_eq!(values, [420, 70], "pool nodes multiplied by the child");
    for h in handles {
        blocks.deallocate(h)?;
    }
    assert_eq!(blocks.allocated(), 0);
    println!("[parent] squares, odd set, stack {popped:?}, ring of {n} and pool {values:?} all check out");

    // Removing the name is enough: mappings stay valid until dropped.
    Segment::unlink(&name)?;
    println!("[parent] removed {name}");
    Ok(())
}

fn child(name: &str) -> Res {
    let seg = Segment::open(name)?;
    let jobs = Queue::<u32>::open(&seg, "jobs")?;
    let squares = Map::<u32, u64>::open(&seg, "squares")?;
    let odd = Set::<u32>::open(&seg, "odd")?;
    let fives = Stack::<u32>::open(&seg, "fives")?;
    let log = Ring::<u32>::open(&seg, "log")?;

    let mut done = 0;
    while let Ok(n) = jobs.pop_timeout(Duration::from_millis(100)) {
        if !squares.insert(n, u64::from(n) * u64::from(n)).is_stored() {
            return Err(format!("squares map full at {n}").into());
        }
        if n % 2 == 1 && !odd.insert(n).is_inserted() {
            return Err(format!("odd set refused {n}").into());
        }
        if n % 5 == 0 {
            fives.push(n).map_err(|n| format!("stack full at {n}"))?;
        }
        log.write(n).map_err(|n| format!("ring full at {n}"))?;
        done += 1;
    }

    let sum: f64 = Array::<f64>::open(&seg, "samples")?.to_vec().iter().sum();
    if !squares.insert(SUM_KEY, sum.to_bits()).is_stored() {
        return Err("squares map full for the sum".into());
    }

    let blocks = Pool::<u64>::open(&seg, "blocks")?;
    for index in Array::<u32>::open(&seg, "block_handles")?.to_vec() {
        let h = PoolHandle::from_index(index);
        blocks.set(h, blocks.get(h)? * 10)?;
    }
    println!("[child] {done} jobs done; samples sum {sum}; pool nodes updated");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Any other argument (for example one cargo test passes) means parent.
    let result = match args.iter().position(|a| a == "--child") {
        Some(i) => match args.get(i + 1) {
            Some(name) => child(name),
            None => Err("usage: data [--child SEGMENT]".into()),
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
