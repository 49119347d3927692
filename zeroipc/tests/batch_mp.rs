//! Batch push/pop across real processes (issue 15 item 2).
//!
//! 1. Three producer processes (single pushes only, batches only, a mix)
//!    and two consumer processes (batches only, a mix) move 600,000 `u64`
//!    through one `Queue<u64>`, then through one `Stack<u64>`. Every item
//!    must be received exactly once: consumers mark a per-item byte in a
//!    shared `seen` entry; on the queue each consumer also checks that one
//!    producer's items reach it in push order.
//! 2. A batch producer of 256 KiB elements is SIGKILLed while a consumer in
//!    the parent takes items; the kill is repeated until it lands after a
//!    claim and before the claimed slots were all published (tail ahead of
//!    the last published ticket). The queue is then what a killed single
//!    producer leaves: the values before the stuck ticket were delivered
//!    exactly once and in order, whole; pops report empty and timed pops
//!    time out; pushes go on until they lap the stuck slot.

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroipc::format::{queue as fmt, ElemLayout};
use zeroipc::raw::RawQueue;
use zeroipc::{Error, Queue, Segment, Stack};

const PRODUCERS: u64 = 3;
const CONSUMERS: u64 = 2;
const PER_PRODUCER: u64 = 200_000;
const TOTAL: u64 = PRODUCERS * PER_PRODUCER;
const CAPACITY: usize = 256;
/// A worker that has not finished by then fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(120);

/// A small deterministic generator (no dependency needed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn is_timeout(e: &Error) -> bool {
    matches!(e, Error::Timeout { .. })
}

#[test]
fn mixed_batch_and_single_processes_deliver_each_item_once() {
    if is_child() {
        return;
    }
    run_mixed("queue");
}

#[test]
fn mixed_batch_and_single_processes_deliver_each_item_once_on_a_stack() {
    if is_child() {
        return;
    }
    run_mixed("stack");
}

/// What a mixed worker operates on.
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

    /// One value in; false on a timeout.
    fn push_one(&self, v: u64, d: Duration) -> bool {
        let r = match self {
            Target::Queue(q) => q.push_timeout(v, d),
            Target::Stack(s) => s.push_timeout(v, d),
        };
        match r {
            Ok(()) => true,
            Err(e) if e.is_timeout() => false,
            Err(e) => panic!("push: {}", e.error),
        }
    }

    /// A prefix of `vs` in; 0 on a timeout.
    fn push_batch(&self, vs: &[u64], d: Duration) -> usize {
        let r = match self {
            Target::Queue(q) => q.push_slice_timeout(vs, d),
            Target::Stack(s) => s.push_slice_timeout(vs, d),
        };
        match r {
            Ok(k) => k,
            Err(e) if is_timeout(&e) => 0,
            Err(e) => panic!("push_slice: {e}"),
        }
    }

    /// One value out, into `out[0]`; 0 on a timeout.
    fn pop_one(&self, out: &mut [u64], d: Duration) -> usize {
        let r = match self {
            Target::Queue(q) => q.pop_timeout(d),
            Target::Stack(s) => s.pop_timeout(d),
        };
        match r {
            Ok(v) => {
                out[0] = v;
                1
            }
            Err(e) if is_timeout(&e) => 0,
            Err(e) => panic!("pop: {e}"),
        }
    }

    /// Up to `out.len()` values out; 0 on a timeout.
    fn pop_batch(&self, out: &mut [u64], d: Duration) -> usize {
        let r = match self {
            Target::Queue(q) => q.pop_slice_timeout(out, d),
            Target::Stack(s) => s.pop_slice_timeout(out, d),
        };
        match r {
            Ok(k) => k,
            Err(e) if is_timeout(&e) => 0,
            Err(e) => panic!("pop_slice: {e}"),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Target::Queue(q) => q.is_empty(),
            Target::Stack(s) => s.is_empty(),
        }
    }
}

fn run_mixed(kind: &str) {
    let (t, seg) = temp_segment("bmp", TOTAL + (1 << 20));
    match kind {
        "queue" => drop(Queue::<u64>::create(&seg, "items", CAPACITY).unwrap()),
        _ => drop(Stack::<u64>::create(&seg, "items", CAPACITY).unwrap()),
    }
    let seen = seg.register("seen", TOTAL, |_| Ok(())).unwrap();
    let consumed = seg.register("consumed", 8, |_| Ok(())).unwrap();
    let env = |role: &str, id: u64| {
        vec![
            ("ZB_SEG", t.name.clone()),
            ("ZB_ROLE", role.to_owned()),
            ("ZB_KIND", kind.to_owned()),
            ("ZB_ID", id.to_string()),
        ]
    };
    let start = Instant::now();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| spawn_worker("mixed_worker", &env("consumer", c)))
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| spawn_worker("mixed_worker", &env("producer", p)))
        .collect();
    for (p, child) in producers.into_iter().enumerate() {
        let res = worker_results(child);
        assert_eq!(res, vec![format!("producer {p} {PER_PRODUCER}")]);
    }
    let mut count = 0u64;
    for child in consumers {
        let res = worker_results(child);
        assert_eq!(res.len(), 1, "{res:?}");
        let f: Vec<&str> = res[0].split_whitespace().collect();
        assert_eq!(f[0], "consumer");
        let n: u64 = f[2].parse().unwrap();
        eprintln!("consumer {} received {n} in {} calls", f[1], f[3]);
        assert!(n > 0, "both consumers took part");
        count += n;
    }
    assert_eq!(count, TOTAL, "items received");
    assert_eq!(consumed.atomic_u64(0).load(Ordering::SeqCst), TOTAL);
    let mut marks = vec![0u8; TOTAL as usize];
    seen.read_bytes(0, &mut marks);
    let bad: Vec<(usize, u8)> = (0..marks.len())
        .filter(|&i| marks[i] != 1)
        .take(10)
        .map(|i| (i, marks[i]))
        .collect();
    assert!(bad.is_empty(), "items not received exactly once: {bad:?}");
    assert!(Target::open(&seg, kind).is_empty(), "{kind} left non-empty");
    eprintln!(
        "{kind}: {TOTAL} items, {PRODUCERS} producer + {CONSUMERS} consumer processes, {:.2} s",
        start.elapsed().as_secs_f64()
    );
}

/// Child side of the mixed tests. Producer 0 pushes one at a time, producer
/// 1 in batches of 1..=64, producer 2 mixes both; consumer 0 pops in
/// batches of 1..=64, consumer 1 mixes single and batch pops.
#[test]
#[ignore = "worker process for the multi-process tests"]
fn mixed_worker() {
    let seg = Segment::open(&env_var("ZB_SEG")).unwrap();
    let id: u64 = env_var("ZB_ID").parse().unwrap();
    let kind = env_var("ZB_KIND");
    let target = Target::open(&seg, &kind);
    let mut rng = Lcg(id * 7919 + 1);
    let start = Instant::now();
    let wait = Duration::from_millis(20);
    match env_var("ZB_ROLE").as_str() {
        "producer" => {
            let mut i = 0u64;
            while i < PER_PRODUCER {
                assert!(start.elapsed() < DEADLINE, "producer {id} stuck at {i}");
                let single = id == 0 || (id == 2 && rng.next(2) == 0);
                if single {
                    i += u64::from(target.push_one((id << 32) | i, wait));
                    continue;
                }
                let n = (rng.next(64) + 1).min(PER_PRODUCER - i);
                let batch: Vec<u64> = (i..i + n).map(|j| (id << 32) | j).collect();
                i += target.push_batch(&batch, wait) as u64;
            }
            println!("\nRESULT producer {id} {PER_PRODUCER}");
        }
        "consumer" => {
            let seen = seg.region("seen").unwrap();
            let consumed = seg.region("consumed").unwrap();
            let consumed = consumed.atomic_u64(0);
            let mut last = [None::<u64>; PRODUCERS as usize];
            let (mut count, mut calls) = (0u64, 0u64);
            let mut buf = vec![0u64; 64];
            while consumed.load(Ordering::Acquire) < TOTAL {
                assert!(
                    start.elapsed() < DEADLINE,
                    "{kind} consumer {id}: only {} of {TOTAL} consumed in total",
                    consumed.load(Ordering::Acquire)
                );
                let k = if id == 1 && rng.next(2) == 0 {
                    target.pop_one(&mut buf, wait)
                } else {
                    let n = rng.next(64) as usize + 1;
                    target.pop_batch(&mut buf[..n], wait)
                };
                if k == 0 {
                    continue;
                }
                calls += 1;
                for &v in &buf[..k] {
                    let (p, i) = (v >> 32, v & 0xFFFF_FFFF);
                    assert!(p < PRODUCERS && i < PER_PRODUCER, "bogus item {v:#x}");
                    if kind == "queue" {
                        if let Some(prev) = last[p as usize] {
                            assert!(i > prev, "FIFO: item {i} of producer {p} after {prev}");
                        }
                        last[p as usize] = Some(i);
                    }
                    seen.atomic_u8((p * PER_PRODUCER + i) as usize)
                        .fetch_add(1, Ordering::Relaxed);
                }
                count += k as u64;
                consumed.fetch_add(k as u64, Ordering::AcqRel);
            }
            println!("\nRESULT consumer {id} {count} {calls}");
        }
        other => panic!("unknown role {other}"),
    }
}

// ----- a batch producer killed mid-batch --------------------------------------

/// 256 KiB elements: one element per copy chunk, so a batch publishes its
/// slots one by one over a long write phase.
const BIG: usize = 256 << 10;
const BIG_CAPACITY: usize = 16;
const BIG_BATCH: usize = 8;
const KILL_ATTEMPTS: u32 = 60;

/// Element `n`: its number in the first and last 8 bytes, `n % 251` in
/// every byte between (cheap to make and check, so the producer spends its
/// time in the queue's copy).
fn big_elem(n: u64, out: &mut [u8]) {
    let end = out.len() - 8;
    out[..8].copy_from_slice(&n.to_ne_bytes());
    out[8..end].fill((n % 251) as u8);
    out[end..].copy_from_slice(&n.to_ne_bytes());
}

/// The number of a whole element; panics on a torn one.
fn check_big(e: &[u8]) -> u64 {
    let n = u64::from_ne_bytes(e[..8].try_into().unwrap());
    let end = e.len() - 8;
    assert_eq!(e[end..], n.to_ne_bytes(), "element {n} torn (tail)");
    let b = (n % 251) as u8;
    assert!(e[8..end].iter().all(|&x| x == b), "element {n} torn (body)");
    n
}

/// True while the producer has claimed a ticket it has not published yet:
/// the slot of ticket `tail - 1` still reads that ticket.
fn mid_batch(q: &RawQueue) -> bool {
    let r = q.region();
    let t = r.atomic_u32(fmt::TAIL as usize).load(Ordering::SeqCst);
    let last = t.wrapping_sub(1);
    let cap = q.capacity() as u32;
    let seq_off = fmt::seq_offset(cap as u64, q.elem()).unwrap() as usize;
    let slot = (last & (cap - 1)) as usize;
    // Claimed and unpublished: the slot still reads "free for ticket
    // `last`" (published would be `last + 1`, consumed `last + capacity`).
    t != 0 && r.atomic_u32(seq_off + 4 * slot).load(Ordering::SeqCst) == last
}

fn counters(q: &RawQueue) -> (u32, u32) {
    let r = q.region();
    (
        r.atomic_u32(fmt::HEAD as usize).load(Ordering::SeqCst),
        r.atomic_u32(fmt::TAIL as usize).load(Ordering::SeqCst),
    )
}

/// One attempt: start the producer, consume in this process, kill the
/// producer after `delay`; returns the queue's segment, the values taken
/// and the queue, for the caller to check.
fn kill_attempt(delay: Duration) -> (TempSeg, Segment, Vec<u64>) {
    let (t, seg) = temp_segment("bkill", (BIG * BIG_CAPACITY + (1 << 20)) as u64);
    let elem = ElemLayout::new(BIG as u64, 8).unwrap();
    drop(RawQueue::create(&seg, "big", elem, BIG_CAPACITY).unwrap());
    let mut child = spawn_worker("big_producer", &[("ZB_SEG", t.name.clone())]);
    let q = RawQueue::open(&seg, "big", Some(elem)).unwrap();
    let killed = Arc::new(AtomicBool::new(false));
    let consumer = {
        let q = q.clone();
        let killed = killed.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; BIG * 3];
            loop {
                match q.pop_many_timeout(&mut buf, Duration::from_millis(30)) {
                    Ok(k) => {
                        got.extend(buf.chunks(BIG).take(k).map(check_big));
                    }
                    Err(e) if is_timeout(&e) && killed.load(Ordering::SeqCst) => break,
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => panic!("pop_many: {e}"),
                }
            }
            got
        })
    };
    std::thread::sleep(delay);
    // Kill as soon as a claimed ticket is seen unpublished (the producer
    // may publish it before the signal lands: the caller then retries).
    let watch = Instant::now();
    while !mid_batch(&q) && watch.elapsed() < Duration::from_secs(2) {
        std::hint::spin_loop();
    }
    child.kill().expect("SIGKILL the producer");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the producer was killed: {status:?}");
    killed.store(true, Ordering::SeqCst);
    let got = consumer.join().unwrap();
    (t, seg, got)
}

#[test]
fn killed_batch_producer_leaves_the_queue_as_a_killed_single_producer() {
    if is_child() {
        return;
    }
    let elem = ElemLayout::new(BIG as u64, 8).unwrap();
    let mut rng = Lcg(std::process::id() as u64);
    for attempt in 1..=KILL_ATTEMPTS {
        let delay = Duration::from_micros(2_000 + rng.next(20_000));
        let (_t, seg, got) = kill_attempt(delay);
        let q = RawQueue::open(&seg, "big", Some(elem)).unwrap();
        let (h, t) = counters(&q);
        // Exactly once, in order, from 0: the single producer's FIFO.
        assert_eq!(got, (0..got.len() as u64).collect::<Vec<_>>());
        assert_eq!(h as usize, got.len(), "head = values delivered");
        if t == h {
            eprintln!(
                "attempt {attempt}: killed between batches ({} delivered)",
                got.len()
            );
            continue;
        }
        // Claimed but never published: tickets h..t.
        let stuck = t.wrapping_sub(h) as usize;
        assert!(stuck <= BIG_BATCH, "at most one batch in flight: {stuck}");
        eprintln!(
            "attempt {attempt} (delay {delay:?}): {} delivered, {stuck} tickets claimed and \
             not published",
            got.len()
        );
        assert!(
            q.items().is_empty(),
            "nothing published past the stuck ticket"
        );
        let mut one = vec![0u8; BIG];
        assert!(!q.pop(&mut one).unwrap(), "pop reports empty");
        assert_eq!(q.pop_many(&mut one).unwrap(), 0);
        let e = q
            .pop_many_timeout(&mut one, Duration::from_millis(20))
            .unwrap_err();
        assert!(is_timeout(&e), "{e}");
        let e = q
            .pop_timeout(&mut one, Duration::from_millis(20))
            .unwrap_err();
        assert!(is_timeout(&e), "{e}");
        // Pushes continue until they lap the first stuck slot.
        let mut batch = vec![0u8; BIG * BIG_CAPACITY];
        for (i, e) in batch.chunks_mut(BIG).enumerate() {
            big_elem(1_000_000 + i as u64, e);
        }
        assert_eq!(q.push_many(&batch).unwrap(), BIG_CAPACITY - stuck);
        assert_eq!(q.push_many(&batch[..BIG]).unwrap(), 0);
        assert!(!q.push(&batch[..BIG]).unwrap());
        let e = q
            .push_many_timeout(&batch[..BIG], Duration::from_millis(20))
            .unwrap_err();
        assert!(is_timeout(&e), "{e}");
        assert_eq!(counters(&q), (h, h.wrapping_add(BIG_CAPACITY as u32)));
        assert!(!q.pop(&mut one).unwrap(), "still stuck at ticket {h}");
        return;
    }
    panic!("no kill in {KILL_ATTEMPTS} attempts landed inside a batch");
}

/// Child side: pushes numbered 256 KiB elements in batches of 8, forever
/// (until killed).
#[test]
#[ignore = "worker process for the multi-process tests"]
fn big_producer() {
    let seg = Segment::open(&env_var("ZB_SEG")).unwrap();
    let q = RawQueue::open(&seg, "big", Some(ElemLayout::new(BIG as u64, 8).unwrap())).unwrap();
    let mut batch = vec![0u8; BIG * BIG_BATCH];
    let mut next = 0u64;
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        for (i, e) in batch.chunks_mut(BIG).enumerate() {
            big_elem(next + i as u64, e);
        }
        let mut sent = 0;
        while sent < BIG_BATCH {
            sent += q.push_many_timeout(&batch[sent * BIG..], DEADLINE).unwrap();
        }
        next += BIG_BATCH as u64;
    }
    panic!("big_producer was not killed");
}
