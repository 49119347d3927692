//! Batches (issue 15, item 2): `Queue::push_slice` / `Queue::pop_slice` of
//! 64 `u64`s against single-item push/pop, between two processes in the
//! same run, and in one process against crossbeam's `ArrayQueue`
//! single-item (the usual in-process alternative).

use super::util::*;
use super::xproc::{consume, produce};
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::Ordering;
use std::time::Instant;
use zeroipc::Queue;

/// Items per batch.
pub const BATCH: usize = 64;
/// Queue capacity (as the single-item throughput figures).
const CAP: usize = 1024;

/// Pushes `base..base + n` in slices of up to [`BATCH`].
pub fn produce_batch(q: &Queue<u64>, base: u64, n: u64, deadline: Instant) {
    let mut buf = [0u64; BATCH];
    let mut next = base;
    let end = base + n;
    while next < end {
        let k = ((end - next) as usize).min(BATCH);
        for (i, b) in buf[..k].iter_mut().enumerate() {
            *b = next + i as u64;
        }
        let mut done = 0;
        while done < k {
            let mut w = 0;
            spin_until(deadline, || {
                w = q.push_slice(&buf[done..k]);
                w > 0
            })
            .expect("batch producer stuck");
            done += w;
        }
        next += k as u64;
    }
}

/// Pops exactly `n` values in slices of up to [`BATCH`]; returns their sum
/// and the number of `pop_slice` calls that took something.
pub fn consume_batch(q: &Queue<u64>, n: u64, deadline: Instant) -> (u64, u64) {
    let mut buf = [0u64; BATCH];
    let mut sum = 0u64;
    let mut got = 0u64;
    let mut takes = 0u64;
    while got < n {
        let want = ((n - got) as usize).min(BATCH);
        let mut k = 0;
        spin_until(deadline, || {
            k = q.pop_slice(&mut buf[..want]);
            k > 0
        })
        .expect("batch consumer stuck");
        sum = buf[..k].iter().fold(sum, |a, &v| a.wrapping_add(v));
        got += k as u64;
        takes += 1;
    }
    (sum, takes)
}

/// Control word where the batch consumer leaves its count of takes.
const TAKES: usize = RESULT + 8;

/// Items/s of one producer and one consumer process through a
/// `Queue<u64>` of capacity 1024, with the given child roles (`qprod` /
/// `qcons` single-item, `bprod` / `bcons` batches), and the mean number of
/// items per successful take (1 for single-item roles).
fn xproc_rate(cfg: &Cfg, prod: &str, cons: &str) -> (f64, f64) {
    let (c0, c1) = cpu_pair();
    let n = cfg.n(4_000_000, 20_000) as u64;
    let ts = TempSeg::new("batch", 1 << 20, 8);
    let _q = Queue::<u64>::create(&ts.seg, "q", CAP).expect("q");
    let ctl = ts.ctl();
    let roles = [(format!("{prod} {n} 0"), c0), (format!("{cons} {n} 0"), c1)];
    let kids = Children::start(cfg, &ts, &roles);
    let t0 = Instant::now();
    ctl.w(GO).store(1, Ordering::Release);
    spin_until(cfg.deadline(), || ctl.w(DONE).load(Ordering::Acquire) >= 2)
        .expect("batch children");
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    kids.finish(cfg.deadline()).expect("batch children");
    assert_eq!(
        ctl.w(RESULT).load(Ordering::Acquire),
        n * (n - 1) / 2,
        "cross-process queue ({prod}/{cons}) lost or duplicated items"
    );
    let takes = ctl.w(TAKES).load(Ordering::Acquire);
    (
        rate,
        if takes == 0 {
            1.0
        } else {
            n as f64 / takes as f64
        },
    )
}

/// One run's batch figures (items/s) and the mean batch actually taken.
#[derive(Clone, Copy, Debug, Default)]
pub struct Batches {
    /// Batches of 64 between processes.
    pub xproc_batch: f64,
    /// Single items between processes.
    pub xproc_single: f64,
    /// Batches of 64 between threads.
    pub threads_batch: f64,
    /// crossbeam ArrayQueue single items between threads.
    pub threads_aq: f64,
    /// Mean items per successful `pop_slice`, processes.
    pub xproc_take: f64,
    /// Mean items per successful `pop_slice`, threads.
    pub threads_take: f64,
}

/// The best of `k` trials of every figure (the mean take of the best batch
/// trial).
pub fn run(cfg: &Cfg, k: usize) -> Batches {
    let mut b = Batches::default();
    for _ in 0..k {
        let (xb, xt) = xproc_rate(cfg, "bprod", "bcons");
        if xb > b.xproc_batch {
            (b.xproc_batch, b.xproc_take) = (xb, xt);
        }
        b.xproc_single = b.xproc_single.max(xproc_rate(cfg, "qprod", "qcons").0);
        let (tb, ta, tt) = threads_pair(cfg);
        if tb > b.threads_batch {
            (b.threads_batch, b.threads_take) = (tb, tt);
        }
        b.threads_aq = b.threads_aq.max(ta);
    }
    b
}

/// (ours batch-64 items/s, crossbeam ArrayQueue single-item items/s, mean
/// items per successful take of ours), one producer and one consumer
/// thread on two CPUs.
pub fn threads_pair(cfg: &Cfg) -> (f64, f64, f64) {
    let (c0, c1) = cpu_pair();
    let n = cfg.n(4_000_000, 20_000) as u64;
    let expect = n * (n - 1) / 2;
    let deadline = cfg.deadline();
    let ts = TempSeg::new("batch-threads", 1 << 20, 8);
    let q = Queue::<u64>::create(&ts.seg, "q", CAP).expect("q");
    let aq = ArrayQueue::<u64>::new(CAP);
    let t0 = Instant::now();
    let sum = std::thread::scope(|s| {
        let q = &q;
        s.spawn(move || pinned(c0, || produce_batch(q, 0, n, deadline)));
        s.spawn(move || pinned(c1, || consume_batch(q, n, deadline)))
            .join()
            .expect("batch consumer")
    });
    let ours = n as f64 / t0.elapsed().as_secs_f64();
    let (sum, takes) = sum;
    assert_eq!(sum, expect, "batch queue lost items");
    let t0 = Instant::now();
    let sum = std::thread::scope(|s| {
        let aq = &aq;
        s.spawn(move || pinned(c0, || produce(aq, 0, n, deadline)));
        s.spawn(move || pinned(c1, || consume(aq, n, deadline)))
            .join()
            .expect("ArrayQueue consumer")
    });
    let theirs = n as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(sum, expect, "ArrayQueue lost items");
    (ours, theirs, n as f64 / takes.max(1) as f64)
}

/// The batch children: `bprod n base` and `bcons n slot`.
pub fn child(role: &str, q: &Queue<u64>, ctl: &Ctl, a: u64, b: u64, deadline: Instant) {
    match role {
        "bprod" => produce_batch(q, b, a, deadline),
        _ => {
            let (sum, takes) = consume_batch(q, a, deadline);
            ctl.w(RESULT + b as usize).store(sum, Ordering::Release);
            ctl.w(TAKES).store(takes, Ordering::Release);
        }
    }
}

/// Adds the batch section's rows to `rep`.
pub fn report(cfg: &Cfg, rep: &mut Report) {
    if !cfg.wants("batch") {
        rep.missing("batches", "--only leaves them out");
        return;
    }
    let k = cfg.n(3, 1);
    let runs: Vec<Batches> = (0..cfg.runs).map(|_| run(cfg, k)).collect();
    rep.note(&format!(
        "Items (u64) per second, capacity 1024, one producer and one consumer spinning on \
         CPUs of their own; batches of {BATCH} through `Queue::push_slice` / \
         `Queue::pop_slice` (one claim CAS per batch, docs/FORMAT.md's per-slot protocol \
         unchanged). Each run keeps the best of {k} trials of every figure; the trials of \
         subject and baseline alternate."
    ));
    let pairs = |f: &dyn Fn(&Batches) -> (f64, f64)| runs.iter().map(f).collect::<Vec<_>>();
    rep.row(Row::from_runs(
        format!("Queue<u64> batches of {BATCH}, 1P/1C processes"),
        Unit::PerSec,
        "Queue<u64> single-item, 1P/1C processes",
        &pairs(&|b| (b.xproc_batch, b.xproc_single)),
        Some(Target::AtLeast(5.0)),
    ));
    rep.row(Row::from_runs(
        format!("Queue<u64> batches of {BATCH}, 1P/1C threads"),
        Unit::PerSec,
        "crossbeam ArrayQueue single-item, 1P/1C threads",
        &pairs(&|b| (b.threads_batch, b.threads_aq)),
        Some(Target::AtLeast(1.0)),
    ));
    let take = |f: &dyn Fn(&Batches) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    rep.note(&format!(
        "Mean items per successful `pop_slice` (of at most {BATCH}; the consumer takes what \
         is published when it looks): processes {:.1}, threads {:.1} (median over runs).",
        take(&|b| b.xproc_take),
        take(&|b| b.threads_take),
    ));
}
