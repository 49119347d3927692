//! The Rust side of the Python package's cross-language tests
//! (`zeroipc-py/tests/`): a small command-line program the pytest suite
//! starts as real processes on the segments it shares with Python.
//!
//! ```text
//! py_peer produce SEG QUEUE START COUNT   push START..START+COUNT (u64) into Queue<u64> QUEUE
//! py_peer consume SEG QUEUE OUT           pop u64 until the sentinel u64::MAX; write them (LE) to OUT
//! py_peer mutex-count SEG MUTEX ARRAY N   N times: lock MUTEX, ARRAY[0] += 1 (plain get/set), unlock
//! py_peer create SEG                      create SEG and the structures of `create` (values below)
//! py_peer check SEG                       open the structures Python created; print what they hold
//! py_peer kinds SEG                       create the all-kinds schema segment (tests/schemas) and fill a few
//! py_peer kinds-check SEG                 print what Python left in it
//! py_peer echo SEG                        pop u64 from Queue "ping" (blocking), push it to "pong"; stop at u64::MAX
//! py_peer drive SEG N                     N round trips through "ping"/"pong" against an echo; print us per trip
//! ```
//!
//! `echo` and `drive` are for zeroipc-py/benches/bench_py.py (the same
//! blocking ping-pong from Rust, to tell the runtime's wake-up time from
//! Python's).
//!
//! Every failure is a panic with the error (exit code 101), which the
//! tests report with stderr.

#[path = "../../tests/schemas/generated/kinds.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod kinds;

use std::io::Write;
use std::time::Duration;
use zeroipc::{
    Array, Channel, Future, Map, Mutex, Pool, Queue, Ring, Segment, Semaphore, Set, Stack,
};

/// How long a blocking step may wait before the peer gives up (the tests
/// fail instead of hanging).
const PATIENCE: Duration = Duration::from_secs(60);
/// The end-of-stream marker the producers' owner pushes once per consumer.
const SENTINEL: u64 = u64::MAX;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["produce", seg, q, start, count] => produce(seg, q, num(start), num(count)),
        ["consume", seg, q, out] => consume(seg, q, out),
        ["mutex-count", seg, m, arr, n] => mutex_count(seg, m, arr, num(n)),
        ["create", seg] => create(seg),
        ["check", seg] => check(seg),
        ["kinds", seg] => kinds_create(seg),
        ["kinds-check", seg] => kinds_check(seg),
        ["echo", seg] => echo(seg),
        ["drive", seg, n] => drive(seg, num(n)),
        _ => panic!("usage: py_peer produce|consume|mutex-count|create|check ... (got {a:?})"),
    }
}

/// Echoes "ping" to "pong" until the sentinel.
fn echo(seg: &str) {
    let seg = Segment::open(seg).expect("open segment");
    let ping: Queue<u64> = Queue::open(&seg, "ping").expect("open ping");
    let pong: Queue<u64> = Queue::open(&seg, "pong").expect("open pong");
    loop {
        let v = ping.pop_timeout(PATIENCE).expect("pop ping");
        if v == SENTINEL {
            return;
        }
        pong.push_timeout(v, PATIENCE).expect("push pong");
    }
}

/// 1000 warm-up round trips, then `n` timed; prints microseconds per trip.
fn drive(seg: &str, n: u64) {
    let seg = Segment::open(seg).expect("open segment");
    let ping: Queue<u64> = Queue::open(&seg, "ping").expect("open ping");
    let pong: Queue<u64> = Queue::open(&seg, "pong").expect("open pong");
    let trip = |i: u64| {
        ping.push_timeout(i, PATIENCE).expect("push ping");
        pong.pop_timeout(PATIENCE).expect("pop pong");
    };
    (0..1000).for_each(trip);
    let t0 = std::time::Instant::now();
    (0..n).for_each(trip);
    println!("{:.3}", t0.elapsed().as_secs_f64() * 1e6 / n as f64);
}

fn num(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|e| panic!("not a number: {s:?}: {e}"))
}

/// Pushes `start..start + count` in batches of up to 256.
fn produce(seg: &str, q: &str, start: u64, count: u64) {
    let seg = Segment::open(seg).expect("open segment");
    let q: Queue<u64> = Queue::open(&seg, q).expect("open queue");
    let items: Vec<u64> = (start..start + count).collect();
    let mut done = 0;
    while done < items.len() {
        let end = (done + 256).min(items.len());
        done += q
            .push_slice_timeout(&items[done..end], PATIENCE)
            .expect("push_slice_timeout");
    }
}

/// Pops until a sentinel; a batch that took more than one sentinel puts
/// the others back for the other consumers.
fn consume(seg: &str, q: &str, out: &str) {
    let seg = Segment::open(seg).expect("open segment");
    let q: Queue<u64> = Queue::open(&seg, q).expect("open queue");
    let mut got: Vec<u64> = Vec::new();
    let mut buf = [0u64; 256];
    'outer: loop {
        let n = q
            .pop_slice_timeout(&mut buf, PATIENCE)
            .expect("pop_slice_timeout");
        for (i, &v) in buf[..n].iter().enumerate() {
            if v == SENTINEL {
                // Only sentinels follow the first one (they are pushed
                // after every producer finished).
                let extra = buf[i + 1..n].len();
                assert!(buf[i + 1..n].iter().all(|&x| x == SENTINEL));
                for _ in 0..extra {
                    q.push_timeout(SENTINEL, PATIENCE)
                        .expect("put a sentinel back");
                }
                break 'outer;
            }
            got.push(v);
        }
    }
    let bytes: Vec<u8> = got.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(out, bytes).expect("write the output file");
}

/// `n` locked read-modify-writes of a plain (non-atomic RMW) counter.
fn mutex_count(seg: &str, m: &str, arr: &str, n: u64) {
    let seg = Segment::open(seg).expect("open segment");
    let m = Mutex::open(&seg, m).expect("open mutex");
    let a: Array<u64> = Array::open(&seg, arr).expect("open array");
    for _ in 0..n {
        let g = m.lock_timeout(PATIENCE).expect("lock");
        let v = a.get(0).expect("get");
        a.set(0, v + 1).expect("set");
        g.unlock().expect("unlock");
    }
}

/// Creates one structure of several kinds with known contents, for Python
/// to open and read (see `zeroipc-py/tests/test_cross_lang.py`).
fn create(name: &str) {
    let seg = Segment::create(name, 1 << 20).expect("create segment");
    let q: Queue<u64> = Queue::create(&seg, "q", 16).unwrap();
    for v in [11, 12, 13] {
        q.push(v).unwrap();
    }
    let s: Stack<f64> = Stack::create(&seg, "s", 8).unwrap();
    s.push(1.5).unwrap();
    s.push(-2.25).unwrap();
    let a: Array<i32> = Array::create(&seg, "a", 4).unwrap();
    a.write_from(0, &[-1, 0, 1, 2]).unwrap();
    let m: Map<u64, f64> = Map::create(&seg, "m", 16).unwrap();
    assert!(m.insert(1, 0.5).is_stored());
    assert!(m.insert(2, 1.5).is_stored());
    let st: Set<u32> = Set::create(&seg, "set", 16).unwrap();
    assert!(st.insert(7).is_inserted());
    assert!(st.insert(9).is_inserted());
    let r: Ring<u64> = Ring::create(&seg, "r", 8).unwrap();
    r.write(100).unwrap();
    r.write(101).unwrap();
    let p: Pool<u64> = Pool::create(&seg, "p", 4).unwrap();
    let h = p.allocate().unwrap().expect("a free node");
    p.set(h, 42).unwrap();
    let f: Future<f64> = Future::create(&seg, "f").unwrap();
    assert!(f.set_value(3.25));
    let c: Channel<u64> = Channel::create(&seg, "c", 4).unwrap();
    c.send(5).unwrap();
    Semaphore::create(&seg, "sem", 2, 10).unwrap();
    Mutex::create(&seg, "mx").unwrap();
    println!("pool-index {}", h.index());
}

/// Opens what Python created (the same names and element types as
/// `create`) and prints one line per structure: `name values...`.
fn check(name: &str) {
    let seg = Segment::open(name).expect("open segment");
    let mut o = std::io::stdout().lock();
    let q: Queue<u64> = Queue::open(&seg, "q").unwrap();
    let qv: Vec<String> = std::iter::from_fn(|| q.pop())
        .map(|v| v.to_string())
        .collect();
    writeln!(o, "q {}", qv.join(" ")).unwrap();
    let s: Stack<f64> = Stack::open(&seg, "s").unwrap();
    let sv: Vec<String> = std::iter::from_fn(|| s.pop())
        .map(|v| v.to_string())
        .collect();
    writeln!(o, "s {}", sv.join(" ")).unwrap();
    let a: Array<i32> = Array::open(&seg, "a").unwrap();
    let av: Vec<String> = a.to_vec().iter().map(|v| v.to_string()).collect();
    writeln!(o, "a {}", av.join(" ")).unwrap();
    let m: Map<u64, f64> = Map::open(&seg, "m").unwrap();
    let mut mv = m.entries();
    mv.sort_by_key(|e| e.0);
    let mv: Vec<String> = mv.iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(o, "m {}", mv.join(" ")).unwrap();
    let st: Set<u32> = Set::open(&seg, "set").unwrap();
    let mut sv = st.to_vec();
    sv.sort_unstable();
    let sv: Vec<String> = sv.iter().map(|v| v.to_string()).collect();
    writeln!(o, "set {}", sv.join(" ")).unwrap();
    let r: Ring<u64> = Ring::open(&seg, "r").unwrap();
    let rv: Vec<String> = std::iter::from_fn(|| r.read())
        .map(|v| v.to_string())
        .collect();
    writeln!(o, "r {}", rv.join(" ")).unwrap();
    let f: Future<f64> = Future::open(&seg, "f").unwrap();
    writeln!(o, "f {}", f.get_timeout(PATIENCE).unwrap()).unwrap();
    let c: Channel<u64> = Channel::open(&seg, "c").unwrap();
    let mut cv = Vec::new();
    while let Some(v) = c.try_recv().unwrap() {
        cv.push(v.to_string());
    }
    writeln!(o, "c {}", cv.join(" ")).unwrap();
    let sem = Semaphore::open(&seg, "sem").unwrap();
    writeln!(o, "sem {}", sem.count()).unwrap();
}

/// Creates the all-kinds schema segment and leaves known values in its
/// queue (Small {1, 2, -3}), map (5 -> 0.5), signal and future.
fn kinds_create(name: &str) {
    let k = kinds::AllKinds::create(name).expect("create AllKinds");
    k.queue.push(kinds::Small { a: 1, b: 2, c: -3 }).unwrap();
    assert!(k.map.insert(5, 0.5).is_stored());
    k.signal.set(kinds::Small { a: 4, b: 5, c: 6 }).unwrap();
    assert!(k.future.set_value(kinds::Big {
        id: 77,
        color: zeroipc::OpenEnum::new(kinds::Color::Blue),
        _pad0: [0; 2],
        m: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
        tag: zeroipc::FixedStr::new("ok").unwrap(),
    }));
}

/// Prints what Python pushed into the all-kinds queue and ring.
fn kinds_check(name: &str) {
    let k = kinds::AllKinds::open(name).expect("open AllKinds");
    let q: Vec<String> = std::iter::from_fn(|| k.queue.pop())
        .map(|s| format!("{},{},{}", s.a, s.b, s.c))
        .collect();
    println!("queue {}", q.join(" "));
    let r: Vec<String> = std::iter::from_fn(|| k.ring.read())
        .map(|v| v.to_string())
        .collect();
    println!("ring {}", r.join(" "));
    println!("sem {}", k.sem.count());
}
