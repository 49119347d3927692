//! One named operation run N times in one process, for counting
//! instructions per operation under callgrind (issue 14, "zero cost for
//! typed users"; the method and the tables are in BENCHMARKS.md, "Protocol
//! core: zero cost for typed users").
//!
//! ```text
//! cargo build --release -p zeroipc --example callgrind_ops
//! valgrind --tool=callgrind --toggle-collect='*kernel_queue' \
//!     target/release/examples/callgrind_ops queue 10000
//! ```
//!
//! Each operation's loop is its own `#[inline(never)]` function
//! `kernel_<op>`, so `--toggle-collect` counts the loop and everything it
//! calls and nothing of the setup (segment creation, structure creation,
//! preloading). `empty` is the same loop with no operation in it: its count
//! per iteration is the loop's own overhead, subtracted from the others.
//! Every loop checks its results (a push that reports full, a pop that
//! returns another value, ... exits non-zero), so a broken operation cannot
//! pass for a cheap one.
//!
//! Operations: `empty`, `queue` (push+pop), `stack` (push+pop), `map`
//! (insert of a fresh key + get of it; capacity 65536, so up to N = 32768
//! stays at load <= 0.5), `pool` (allocate+deallocate), `ring`
//! (write_bulk and read_bulk of 64 u64s, 512 bytes), `ring4k` (the same
//! with 512 u64s, 4 KiB: the harness's ring figure), `mutex`
//! (lock+unlock), `channel` (buffered send+recv), `queue_batch`
//! (`push_slice` of 64 then `pop_slice` of 64: divide by 64 per item). The element type is
//! `u64` throughout.

use std::hint::black_box;
use std::process::ExitCode;
use zeroipc::{Channel, Map, Mutex, Pool, Queue, Ring, Segment, SegmentOptions, Stack};

/// Slots of the map: N fresh keys stay at load <= 0.5 up to N = 32768.
const MAP_CAPACITY: usize = 1 << 16;
/// Elements per bulk transfer of `ring` (512 bytes of u64).
const RING_CHUNK: usize = 64;
/// Elements per bulk transfer of `ring4k` (4 KiB of u64).
const RING_CHUNK_4K: usize = 512;

/// A fresh segment unlinked on drop (the name carries the pid).
struct TempSeg {
    name: String,
    seg: Segment,
}

impl TempSeg {
    fn new() -> Result<TempSeg, String> {
        let name = format!("/zeroipc-callgrind-ops-{}", std::process::id());
        let seg = SegmentOptions::new()
            .size(8 << 20)
            .max_entries(8)
            .create_replacing(&name)
            .map_err(|e| format!("create segment {name}: {e}"))?;
        Ok(TempSeg { name, seg })
    }
}

impl Drop for TempSeg {
    fn drop(&mut self) {
        if let Err(e) = Segment::unlink(&self.name) {
            eprintln!("unlink {}: {e}", self.name);
        }
    }
}

#[inline(never)]
fn kernel_empty(n: u64) -> Result<(), String> {
    for i in 0..n {
        black_box(i);
    }
    Ok(())
}

#[inline(never)]
fn kernel_queue(q: &Queue<u64>, n: u64) -> Result<(), String> {
    for i in 0..n {
        q.push(black_box(i))
            .map_err(|v| format!("queue push {v}: full"))?;
        match black_box(q.pop()) {
            Some(v) if v == i => {}
            other => return Err(format!("queue pop: {other:?}, expected Some({i})")),
        }
    }
    Ok(())
}

/// Items per batch of `queue_batch`.
const BATCH: usize = 64;

/// One iteration: `push_slice` of 64 fresh values, then `pop_slice` of 64,
/// checked value by value (divide the per-iteration count by 64 for a
/// per-item figure).
#[inline(never)]
fn kernel_queue_batch(q: &Queue<u64>, n: u64) -> Result<(), String> {
    let mut src = [0u64; BATCH];
    let mut out = [0u64; BATCH];
    for i in 0..n {
        let base = i * BATCH as u64;
        for (k, s) in src.iter_mut().enumerate() {
            *s = base + k as u64;
        }
        let pushed = q.push_slice(black_box(&src));
        if pushed != BATCH {
            return Err(format!("queue push_slice: {pushed} of {BATCH}"));
        }
        let popped = q.pop_slice(black_box(&mut out));
        if popped != BATCH || out != src {
            return Err(format!("queue pop_slice: {popped} of {BATCH}, {out:?}"));
        }
    }
    Ok(())
}

#[inline(never)]
fn kernel_stack(s: &Stack<u64>, n: u64) -> Result<(), String> {
    for i in 0..n {
        s.push(black_box(i))
            .map_err(|v| format!("stack push {v}: full"))?;
        match black_box(s.pop()) {
            Some(v) if v == i => {}
            other => return Err(format!("stack pop: {other:?}, expected Some({i})")),
        }
    }
    Ok(())
}

#[inline(never)]
fn kernel_map(m: &Map<u64, u64>, n: u64) -> Result<(), String> {
    for i in 0..n {
        // Fresh keys spread over the table (Fibonacci hashing's multiplier).
        let k = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if !m.insert(black_box(k), i).is_stored() {
            return Err(format!("map insert of key {k}: full"));
        }
        match black_box(m.get(&k)) {
            Some(v) if v == i => {}
            other => return Err(format!("map get {k}: {other:?}, expected Some({i})")),
        }
    }
    Ok(())
}

#[inline(never)]
fn kernel_pool(p: &Pool<u64>, n: u64) -> Result<(), String> {
    for _ in 0..n {
        let h = match p.allocate() {
            Ok(Some(h)) => h,
            other => return Err(format!("pool allocate: {other:?}")),
        };
        p.deallocate(black_box(h))
            .map_err(|e| format!("pool deallocate: {e}"))?;
    }
    Ok(())
}

#[inline(never)]
fn kernel_ring(r: &Ring<u64>, src: &[u64], out: &mut [u64], n: u64) -> Result<(), String> {
    for _ in 0..n {
        let wrote = r.write_bulk(black_box(src));
        let read = r.read_bulk(black_box(&mut *out));
        if wrote != src.len() || read != src.len() {
            return Err(format!(
                "ring bulk: wrote {wrote}, read {read}, expected {}",
                src.len()
            ));
        }
    }
    Ok(())
}

#[inline(never)]
fn kernel_ring4k(r: &Ring<u64>, src: &[u64], out: &mut [u64], n: u64) -> Result<(), String> {
    kernel_ring(r, src, out, n)
}

/// A bulk-transfer kernel: ring, source chunk, output chunk, iterations.
type RingKernel = fn(&Ring<u64>, &[u64], &mut [u64], u64) -> Result<(), String>;

/// Creates a ring of four chunks and runs `kernel` (one chunk written and
/// read back per iteration); checks the data came back.
fn run_ring(seg: &Segment, chunk: usize, n: u64, kernel: RingKernel) -> Result<(), String> {
    let r = Ring::create(seg, "r", 4 * chunk).map_err(|e| format!("create ring: {e}"))?;
    let src: Vec<u64> = (0..chunk as u64).collect();
    let mut out = vec![0u64; chunk];
    kernel(&r, &src, &mut out, n)?;
    if n > 0 && out != src {
        return Err("ring bulk: the data read back differs from the data written".into());
    }
    Ok(())
}

#[inline(never)]
fn kernel_mutex(m: &Mutex, n: u64) -> Result<(), String> {
    for _ in 0..n {
        let guard = m.lock().map_err(|e| format!("mutex lock: {e}"))?;
        black_box(&guard);
        guard.unlock().map_err(|e| format!("mutex unlock: {e}"))?;
    }
    Ok(())
}

#[inline(never)]
fn kernel_channel(c: &Channel<u64>, n: u64) -> Result<(), String> {
    for i in 0..n {
        c.send(black_box(i))
            .map_err(|e| format!("channel send: {e}"))?;
        match black_box(c.recv()) {
            Ok(v) if v == i => {}
            other => return Err(format!("channel recv: {other:?}, expected Ok({i})")),
        }
    }
    Ok(())
}

/// Creates the structure `op` needs in `seg` and runs its kernel `n` times.
fn run(op: &str, n: u64, seg: &Segment) -> Result<(), String> {
    let create = |what: &str, e: zeroipc::Error| format!("create {what}: {e}");
    match op {
        "empty" => kernel_empty(n),
        "queue" => kernel_queue(
            &Queue::create(seg, "q", 64).map_err(|e| create("queue", e))?,
            n,
        ),
        "queue_batch" => kernel_queue_batch(
            &Queue::create(seg, "q", 64).map_err(|e| create("queue", e))?,
            n,
        ),
        "stack" => kernel_stack(
            &Stack::create(seg, "s", 64).map_err(|e| create("stack", e))?,
            n,
        ),
        "map" => {
            if n > MAP_CAPACITY as u64 / 2 {
                return Err(format!(
                    "map: N = {n} would pass load 0.5 (at most {})",
                    MAP_CAPACITY / 2
                ));
            }
            let m = Map::create(seg, "m", MAP_CAPACITY).map_err(|e| create("map", e))?;
            kernel_map(&m, n)
        }
        "pool" => kernel_pool(
            &Pool::create(seg, "p", 64).map_err(|e| create("pool", e))?,
            n,
        ),
        "ring" => run_ring(seg, RING_CHUNK, n, kernel_ring),
        "ring4k" => run_ring(seg, RING_CHUNK_4K, n, kernel_ring4k),
        "mutex" => kernel_mutex(
            &Mutex::create(seg, "mx").map_err(|e| create("mutex", e))?,
            n,
        ),
        "channel" => kernel_channel(
            &Channel::create(seg, "c", 64).map_err(|e| create("channel", e))?,
            n,
        ),
        other => Err(format!(
            "unknown operation {other:?} (empty queue queue_batch stack map pool ring ring4k mutex channel)"
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (op, n) = match args.as_slice() {
        [op, n] => match n.parse::<u64>() {
            Ok(n) => (op.as_str(), n),
            Err(e) => {
                eprintln!("callgrind_ops: N must be a count, got {n:?} ({e})");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!(
                "usage: callgrind_ops OP N  (OP: empty queue stack map pool ring ring4k mutex channel)"
            );
            return ExitCode::from(2);
        }
    };
    let result = TempSeg::new().and_then(|ts| run(op, n, &ts.seg));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("callgrind_ops {op} {n}: {e}");
            ExitCode::FAILURE
        }
    }
}
