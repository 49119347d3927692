//! Soak (issue 8, item 4): N producer and M consumer processes on one
//! structure for a configurable time, with exact accounting.
//!
//! Every producer `p` pushes `item(p, 0), item(p, 1), ...` until the time
//! is up and reports how many it pushed, their wrapping sum and their xor.
//! Every consumer pops until all producers are done and the structure is
//! empty, and reports, per producer, how many of its items it got, their
//! sum and xor, and how often a producer's sequence numbers went backwards
//! in its stream (FIFO structures only: for a queue or channel the items of
//! one producer leave in push order, so each consumer sees them increasing).
//! The parent requires, per producer, consumed count/sum/xor == produced,
//! and zero order violations.
//!
//! `ZEROIPC_SOAK_SECS` (default 2) sets the time per structure,
//! `ZEROIPC_SOAK_PRODUCERS` / `ZEROIPC_SOAK_CONSUMERS` (default 3 / 3) the
//! process counts. A long run: `ZEROIPC_SOAK_SECS=600 cargo test -p zeroipc
//! --release --test soak soak_queue -- --nocapture`. Figures print as
//! `SOAK <kind>: ...`.

mod common;

use common::{env_var, is_child, spawn_worker, temp_segment, worker_results};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};
use zeroipc::{Array, Channel, Queue, Segment, Stack};

/// A timed pop's value, `None` on its timeout; any other error is a bug.
fn value_or_timeout(r: zeroipc::Result<u64>) -> Option<u64> {
    match r {
        Ok(v) => Some(v),
        Err(zeroipc::Error::Timeout { .. }) => None,
        Err(e) => panic!("timed pop failed: {e}"),
    }
}

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn item(p: u64, seq: u64) -> u64 {
    (p << 40) | seq
}

const CAP: usize = 1024;

enum S {
    Queue(Queue<u64>),
    Stack(Stack<u64>),
    Channel(Channel<u64>),
}

impl S {
    fn create(seg: &Segment, kind: &str) -> S {
        match kind {
            "queue" => S::Queue(Queue::create(seg, "s", CAP).unwrap()),
            "stack" => S::Stack(Stack::create(seg, "s", CAP).unwrap()),
            "channel" => S::Channel(Channel::create(seg, "s", CAP).unwrap()),
            _ => unreachable!(),
        }
    }
    fn open(seg: &Segment, kind: &str) -> S {
        match kind {
            "queue" => S::Queue(Queue::open(seg, "s").unwrap()),
            "stack" => S::Stack(Stack::open(seg, "s").unwrap()),
            "channel" => S::Channel(Channel::open(seg, "s").unwrap()),
            _ => unreachable!(),
        }
    }
    fn push(&self, v: u64) -> bool {
        let t = Duration::from_millis(50);
        match self {
            S::Queue(q) => q.push_timeout(v, t).is_ok(),
            S::Stack(s) => s.push_timeout(v, t).is_ok(),
            S::Channel(c) => c.send_timeout(v, t).is_ok(),
        }
    }
    fn pop(&self) -> Option<u64> {
        let t = Duration::from_millis(10);
        match self {
            S::Queue(q) => value_or_timeout(q.pop_timeout(t)),
            S::Stack(s) => value_or_timeout(s.pop_timeout(t)),
            S::Channel(c) => c.recv_timeout(t).ok(),
        }
    }
    fn fifo(&self) -> bool {
        !matches!(self, S::Stack(_))
    }
}

/// Per-producer tally.
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Tally {
    count: u64,
    sum: u64,
    xor: u64,
}

impl Tally {
    fn add(&mut self, v: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(v);
        self.xor ^= v;
    }
    fn merge(&mut self, o: Tally) {
        self.count += o.count;
        self.sum = self.sum.wrapping_add(o.sum);
        self.xor ^= o.xor;
    }
}

/// `done` counter of finished producers: word 0 of the "ctl" array.
fn done_word(ctl: &Array<u64>) -> &std::sync::atomic::AtomicU64 {
    ctl.region().atomic_u64(8)
}

#[test]
#[ignore = "worker process for the soak tests"]
fn soak_worker() {
    if !is_child() {
        return;
    }
    let seg = Segment::open(&env_var("ZEROIPC_SEG")).unwrap();
    let kind = env_var("ZEROIPC_KIND");
    let s = S::open(&seg, &kind);
    let ctl = Array::<u64>::open(&seg, "ctl").unwrap();
    let producers: u64 = env_var("ZEROIPC_PRODUCERS").parse().unwrap();
    let role = env_var("ZEROIPC_ROLE");
    let idx: u64 = env_var("ZEROIPC_INDEX").parse().unwrap();
    if role == "producer" {
        let until = Instant::now() + Duration::from_secs(env_var("ZEROIPC_SECS").parse().unwrap());
        let mut t = Tally::default();
        let mut full_waits = 0u64;
        let mut seq = 0u64;
        while Instant::now() < until {
            // Batches between clock reads.
            for _ in 0..64 {
                let v = item(idx, seq);
                if s.push(v) {
                    t.add(v);
                    seq += 1;
                } else {
                    full_waits += 1;
                }
            }
        }
        done_word(&ctl).fetch_add(1, SeqCst);
        println!(
            "RESULT produced {} {} {} {full_waits}",
            t.count, t.sum, t.xor
        );
    } else {
        let mut per = vec![Tally::default(); producers as usize];
        let mut last = vec![None::<u64>; producers as usize];
        let mut order_violations = 0u64;
        let mut empty_polls = 0u64;
        loop {
            match s.pop() {
                Some(v) => {
                    let p = (v >> 40) as usize;
                    let seq = v & ((1 << 40) - 1);
                    assert!(p < per.len(), "item {v:#x} from no producer");
                    per[p].add(v);
                    if s.fifo() {
                        if let Some(prev) = last[p] {
                            if seq <= prev {
                                order_violations += 1;
                            }
                        }
                        last[p] = Some(seq);
                    }
                }
                None => {
                    empty_polls += 1;
                    // All pushes happen-before the producers' done
                    // increments: once all are done, pop until empty.
                    if done_word(&ctl).load(SeqCst) == producers {
                        while let Some(v) = s.pop() {
                            let p = (v >> 40) as usize;
                            per[p].add(v);
                        }
                        break;
                    }
                }
            }
        }
        for (p, t) in per.iter().enumerate() {
            println!("RESULT consumed {p} {} {} {}", t.count, t.sum, t.xor);
        }
        println!("RESULT order {order_violations} {empty_polls}");
    }
}

fn soak(kind: &str) {
    if is_child() {
        return;
    }
    let secs = env_num("ZEROIPC_SOAK_SECS", 2);
    let producers = env_num("ZEROIPC_SOAK_PRODUCERS", 3);
    let consumers = env_num("ZEROIPC_SOAK_CONSUMERS", 3);
    let (tmp, seg) = temp_segment(&format!("soak-{kind}"), 1 << 20);
    let s = S::create(&seg, kind);
    Array::<u64>::create(&seg, "ctl", 4).unwrap();
    let spawn = |role: &str, i: u64| {
        spawn_worker(
            "soak_worker",
            &[
                ("ZEROIPC_SEG", tmp.name.clone()),
                ("ZEROIPC_KIND", kind.to_owned()),
                ("ZEROIPC_ROLE", role.to_owned()),
                ("ZEROIPC_INDEX", i.to_string()),
                ("ZEROIPC_PRODUCERS", producers.to_string()),
                ("ZEROIPC_SECS", secs.to_string()),
            ],
        )
    };
    let start = Instant::now();
    let cons: Vec<_> = (0..consumers).map(|i| spawn("consumer", i)).collect();
    let prods: Vec<_> = (0..producers).map(|i| spawn("producer", i)).collect();
    let mut produced = vec![Tally::default(); producers as usize];
    let mut full_waits = 0u64;
    for (i, p) in prods.into_iter().enumerate() {
        for line in worker_results(p) {
            let w: Vec<u64> = line
                .split_whitespace()
                .skip(1)
                .map(|x| x.parse().unwrap())
                .collect();
            produced[i] = Tally {
                count: w[0],
                sum: w[1],
                xor: w[2],
            };
            full_waits += w[3];
        }
    }
    let mut consumed = vec![Tally::default(); producers as usize];
    let mut order = 0u64;
    let mut empty_polls = 0u64;
    let mut per_consumer = Vec::new();
    for c in cons {
        let mut mine = 0u64;
        for line in worker_results(c) {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w[0] {
                "consumed" => {
                    let n: Vec<u64> = w[1..].iter().map(|x| x.parse().unwrap()).collect();
                    consumed[n[0] as usize].merge(Tally {
                        count: n[1],
                        sum: n[2],
                        xor: n[3],
                    });
                    mine += n[1];
                }
                "order" => {
                    order += w[1].parse::<u64>().unwrap();
                    empty_polls += w[2].parse::<u64>().unwrap();
                }
                _ => panic!("{line}"),
            }
        }
        per_consumer.push(mine);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total: u64 = produced.iter().map(|t| t.count).sum();
    println!(
        "SOAK {kind}: {producers} producers x {consumers} consumers, {secs} s requested, \
         {elapsed:.1} s wall, {total} items ({:.0}/s), per producer {:?}, per consumer {:?}, \
         full waits {full_waits}, empty polls {empty_polls}, order violations {order}",
        total as f64 / elapsed,
        produced.iter().map(|t| t.count).collect::<Vec<_>>(),
        per_consumer,
    );
    for p in 0..producers as usize {
        assert_eq!(
            consumed[p], produced[p],
            "{kind}: producer {p}: consumed {:?} != produced {:?}",
            consumed[p], produced[p]
        );
    }
    assert_eq!(order, 0, "{kind}: a producer's items left out of order");
    assert!(total > 0, "{kind}: nothing was produced");
    match &s {
        S::Queue(q) => assert_eq!(q.len(), 0),
        S::Stack(st) => assert_eq!(st.len(), 0),
        S::Channel(c) => assert_eq!(c.len(), 0),
    }
}

#[test]
fn soak_queue() {
    soak("queue");
}

#[test]
fn soak_channel() {
    soak("channel");
}

#[test]
fn soak_stack() {
    soak("stack");
}
