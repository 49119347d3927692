//! Real multi-process tests: two producer processes and two consumer
//! processes move 1,000,000 `u64` items through one `Queue<u64>`, and then
//! through one `Stack<u64>`. Every item must be received exactly once:
//! consumers mark a per-item byte in a shared `seen` entry (atomic
//! fetch_add), and report count, sum and xor; queue consumers also check
//! that each producer's items arrive in the order it pushed them.
//!
//! Item encoding: `(producer << 32) | i`, `i < PER_PRODUCER`.

mod common;

use common::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use zeroipc::{Queue, Segment, Stack};

const PRODUCERS: u64 = 2;
const CONSUMERS: u64 = 2;
const PER_PRODUCER: u64 = 500_000;
const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
const CAPACITY: usize = 1024;
/// A worker that has not finished by then fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(120);

/// What a worker operates on.
enum Target {
    Queue(Queue<u64>),
    Stack(Stack<u64>),
}

impl Target {
    fn open(seg: &Segment, kind: &str) -> Target {
        match kind {
            "queue" => Target::Queue(Queue::open(seg, "items").unwrap()),
            "stack" => Target::Stack(Stack::open(seg, "items").unwrap()),
            other => panic!("unknown kind {other}"),
        }
    }

    fn push_timeout(&self, v: u64, d: Duration) -> Result<(), zeroipc::SendError<u64>> {
        match self {
            Target::Queue(q) => q.push_timeout(v, d),
            Target::Stack(s) => s.push_timeout(v, d),
        }
    }

    /// The popped value; `None` on a timeout (any other error is a bug).
    fn pop_timeout(&self, d: Duration) -> Option<u64> {
        let r = match self {
            Target::Queue(q) => q.pop_timeout(d),
            Target::Stack(s) => s.pop_timeout(d),
        };
        match r {
            Ok(v) => Some(v),
            Err(zeroipc::Error::Timeout { .. }) => None,
            Err(e) => panic!("pop_timeout failed: {e}"),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Target::Queue(q) => q.is_empty(),
            Target::Stack(s) => s.is_empty(),
        }
    }
}

/// Parent side: sets up the segment, runs the four worker processes,
/// checks exactly-once delivery. Returns the wall time of the transfer.
fn run(kind: &str, tag: &str) -> Duration {
    // One transfer at a time: the two tests of this file would otherwise
    // run eight processes on the same cores at once.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // items + seen bytes + counter, with room to spare.
    let (t, seg) = temp_segment(tag, TOTAL + (1 << 20));
    match kind {
        "queue" => drop(Queue::<u64>::create(&seg, "items", CAPACITY).unwrap()),
        _ => drop(Stack::<u64>::create(&seg, "items", CAPACITY).unwrap()),
    }
    let seen = seg.register("seen", TOTAL, |_| Ok(())).unwrap();
    let consumed = seg.register("consumed", 8, |_| Ok(())).unwrap();

    let env = |role: &str, id: u64| {
        vec![
            ("ZQ_SEG", t.name.clone()),
            ("ZQ_KIND", kind.to_owned()),
            ("ZQ_ROLE", role.to_owned()),
            ("ZQ_ID", id.to_string()),
        ]
    };
    let start = Instant::now();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| spawn_worker("worker", &env("consumer", c)))
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| spawn_worker("worker", &env("producer", p)))
        .collect();

    for (p, child) in producers.into_iter().enumerate() {
        let res = worker_results(child);
        assert_eq!(res.len(), 1, "{res:?}");
        let f: Vec<&str> = res[0].split_whitespace().collect();
        assert_eq!(f[0], "producer");
        assert_eq!(f[1], p.to_string());
        assert_eq!(f[2].parse::<u64>().unwrap(), PER_PRODUCER, "{res:?}");
    }
    let (mut count, mut sum, mut xor) = (0u64, 0u64, 0u64);
    for child in consumers {
        let res = worker_results(child);
        assert_eq!(res.len(), 1, "{res:?}");
        let f: Vec<&str> = res[0].split_whitespace().collect();
        assert_eq!(f[0], "consumer");
        count += f[2].parse::<u64>().unwrap();
        sum = sum.wrapping_add(f[3].parse::<u64>().unwrap());
        xor ^= f[4].parse::<u64>().unwrap();
        eprintln!("{kind} consumer {} received {}", f[1], f[2]);
    }
    let elapsed = start.elapsed();

    let (mut want_sum, mut want_xor) = (0u64, 0u64);
    for p in 0..PRODUCERS {
        for i in 0..PER_PRODUCER {
            let v = (p << 32) | i;
            want_sum = want_sum.wrapping_add(v);
            want_xor ^= v;
        }
    }
    assert_eq!(count, TOTAL, "{kind}: items received");
    assert_eq!(sum, want_sum, "{kind}: sum of items");
    assert_eq!(xor, want_xor, "{kind}: xor of items");
    assert_eq!(consumed.atomic_u64(0).load(Ordering::SeqCst), TOTAL);
    let mut marks = vec![0u8; TOTAL as usize];
    seen.read_bytes(0, &mut marks);
    let bad: Vec<usize> = (0..marks.len())
        .filter(|&i| marks[i] != 1)
        .take(10)
        .collect();
    assert!(
        bad.is_empty(),
        "{kind}: items not received exactly once: {:?}",
        bad.iter().map(|&i| (i, marks[i])).collect::<Vec<_>>()
    );
    assert!(Target::open(&seg, kind).is_empty(), "{kind} left non-empty");
    eprintln!(
        "{kind}: {TOTAL} items, {PRODUCERS} producer + {CONSUMERS} consumer processes, {:.2} s",
        elapsed.as_secs_f64()
    );
    elapsed
}

#[test]
fn queue_two_producers_two_consumers_exactly_once() {
    if is_child() {
        return;
    }
    run("queue", "mpq");
}

#[test]
fn stack_two_producers_two_consumers_exactly_once() {
    if is_child() {
        return;
    }
    run("stack", "mps");
}

/// Child side: one producer or consumer, chosen by the environment.
/// `RESULT` lines start with a newline because, under `--nocapture`, the
/// test harness has already printed `test worker ... ` on the current line.
#[test]
#[ignore = "worker process for the multi-process tests"]
fn worker() {
    let seg = Segment::open(&env_var("ZQ_SEG")).unwrap();
    let kind = env_var("ZQ_KIND");
    let id: u64 = env_var("ZQ_ID").parse().unwrap();
    let target = Target::open(&seg, &kind);
    let start = Instant::now();
    match env_var("ZQ_ROLE").as_str() {
        "producer" => {
            for i in 0..PER_PRODUCER {
                let v = (id << 32) | i;
                // A stack push may also fail when its slot claim gives up;
                // push_timeout retries either way.
                if target.push_timeout(v, DEADLINE).is_err() {
                    panic!("{kind} producer {id}: push of item {i} timed out");
                }
            }
            println!("\nRESULT producer {id} {PER_PRODUCER}");
        }
        "consumer" => {
            let seen = seg.region("seen").unwrap();
            let consumed = seg.region("consumed").unwrap();
            let consumed = consumed.atomic_u64(0);
            let (mut count, mut sum, mut xor) = (0u64, 0u64, 0u64);
            let mut last = [None::<u64>; PRODUCERS as usize];
            while consumed.load(Ordering::Acquire) < TOTAL {
                assert!(
                    start.elapsed() < DEADLINE,
                    "{kind} consumer {id}: only {} of {TOTAL} items consumed in total",
                    consumed.load(Ordering::Acquire)
                );
                let Some(v) = target.pop_timeout(Duration::from_millis(20)) else {
                    continue;
                };
                let (p, i) = (v >> 32, v & 0xFFFF_FFFF);
                assert!(p < PRODUCERS && i < PER_PRODUCER, "bogus item {v:#x}");
                if kind == "queue" {
                    // FIFO: one producer's items reach any one consumer in
                    // the order they were pushed.
                    if let Some(prev) = last[p as usize] {
                        assert!(
                            i > prev,
                            "queue order: item {i} of producer {p} after {prev}"
                        );
                    }
                    last[p as usize] = Some(i);
                }
                seen.atomic_u8((p * PER_PRODUCER + i) as usize)
                    .fetch_add(1, Ordering::Relaxed);
                count += 1;
                sum = sum.wrapping_add(v);
                xor ^= v;
                consumed.fetch_add(1, Ordering::AcqRel);
            }
            println!("\nRESULT consumer {id} {count} {sum} {xor}");
        }
        other => panic!("unknown role {other}"),
    }
    eprintln!(
        "{kind} worker {id} done in {:.2} s",
        start.elapsed().as_secs_f64()
    );
}
