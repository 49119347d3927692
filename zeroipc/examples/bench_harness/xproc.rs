//! Measurements between processes: the floor (one cache line handed back
//! and forth), queue and channel latency, queue and ring throughput, and
//! contended locks. The parent creates a segment, starts children (each
//! pinned to a CPU), releases them together through the control block and
//! times the whole exchange.

use super::util::*;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zeroipc::{Channel, Mutex, Queue, Ring, Segment, Semaphore, ShmElement};

/// An element type for the latency measurements.
pub trait Item: ShmElement {
    /// The item carrying `i`.
    fn make(i: u64) -> Self;
    /// The `i` it carries.
    fn key(&self) -> u64;
}

impl Item for u64 {
    fn make(i: u64) -> Self {
        i
    }
    fn key(&self) -> u64 {
        *self
    }
}

impl Item for [u64; 8] {
    fn make(i: u64) -> Self {
        [i; 8]
    }
    fn key(&self) -> u64 {
        self[7]
    }
}

/// A bounded MPMC queue as the throughput code sees it.
pub trait BenchQ: Sync {
    /// Pushes; false when full.
    fn push_u64(&self, v: u64) -> bool;
    /// Pops.
    fn pop_u64(&self) -> Option<u64>;
}

impl BenchQ for Queue<u64> {
    #[inline]
    fn push_u64(&self, v: u64) -> bool {
        self.push(v).is_ok()
    }
    #[inline]
    fn pop_u64(&self) -> Option<u64> {
        self.pop()
    }
}

impl BenchQ for ArrayQueue<u64> {
    #[inline]
    fn push_u64(&self, v: u64) -> bool {
        self.push(v).is_ok()
    }
    #[inline]
    fn pop_u64(&self) -> Option<u64> {
        self.pop()
    }
}

/// Pushes `base..base + n`.
pub fn produce(q: &impl BenchQ, base: u64, n: u64, deadline: Instant) {
    for v in base..base + n {
        spin_until(deadline, || q.push_u64(v)).expect("producer stuck");
    }
}

/// Pops exactly `n` values; returns their sum.
pub fn consume(q: &impl BenchQ, n: u64, deadline: Instant) -> u64 {
    let mut sum = 0u64;
    for _ in 0..n {
        let mut got = None;
        spin_until(deadline, || {
            got = q.pop_u64();
            got.is_some()
        })
        .expect("consumer stuck");
        sum = sum.wrapping_add(got.unwrap_or_default());
    }
    sum
}

/// The parent's side of a ping-pong on one word: writes odd values and
/// waits for the even answer. Returns the one-way time in ns (half the
/// round trip), timing the rounds after `warm`.
pub fn pingpong_lead(word: &AtomicU64, warm: u64, rounds: u64, deadline: Instant) -> f64 {
    sliced(warm, rounds, |i| {
        word.store(2 * i + 1, Ordering::Release);
        spin_until(deadline, || word.load(Ordering::Acquire) == 2 * i + 2).expect("ping-pong");
    }) / 2.0
}

/// The echoing side of [`pingpong_lead`].
pub fn pingpong_echo(word: &AtomicU64, total: u64, deadline: Instant) {
    for i in 0..total {
        spin_until(deadline, || word.load(Ordering::Acquire) == 2 * i + 1).expect("ping-pong");
        word.store(2 * i + 2, Ordering::Release);
    }
}

fn push_spin<T: ShmElement>(q: &Queue<T>, v: T, deadline: Instant) {
    let mut item = Some(v);
    spin_until(deadline, || match q.push(item.take().expect("item")) {
        Ok(()) => true,
        Err(v) => {
            item = Some(v);
            false
        }
    })
    .expect("queue push");
}

fn pop_spin<T: ShmElement>(q: &Queue<T>, deadline: Instant) -> T {
    let mut got = None;
    spin_until(deadline, || {
        got = q.pop();
        got.is_some()
    })
    .expect("queue pop");
    got.expect("popped")
}

/// Per-run latency figures (ns, one way unless said otherwise).
#[derive(Clone, Copy, Debug, Default)]
pub struct Lat {
    /// Floor between processes.
    pub floor: f64,
    /// Same hand-off between two threads of one process.
    pub floor_threads: f64,
    /// Queue, 8-byte items.
    pub q8: f64,
    /// Queue, 64-byte items.
    pub q64: f64,
    /// Channel round trip, buffered.
    pub ch_buf: f64,
    /// Channel round trip, unbuffered.
    pub ch_unbuf: f64,
}

/// Measures one run of every latency figure, back to back.
pub fn latency_run(cfg: &Cfg) -> Lat {
    let (c0, c1) = cpu_pair();
    let rounds = cfg.n(200_000, 2_000) as u64;
    let warm = rounds / 10;
    let ch_rounds = cfg.n(50_000, 50) as u64;
    let mut lat = Lat {
        floor: floor_procs(cfg, c0, c1, warm, rounds),
        floor_threads: floor_threads(cfg, c0, c1, warm, rounds),
        ..Lat::default()
    };
    lat.q8 = queue_latency::<u64>(cfg, c0, c1, warm, rounds);
    lat.q64 = queue_latency::<[u64; 8]>(cfg, c0, c1, warm, rounds);
    lat.ch_buf = channel_rtt(cfg, c0, c1, 8, ch_rounds / 10, ch_rounds);
    lat.ch_unbuf = channel_rtt(cfg, c0, c1, 0, ch_rounds / 10, ch_rounds);
    lat
}

fn floor_procs(cfg: &Cfg, c0: Option<usize>, c1: Option<usize>, warm: u64, rounds: u64) -> f64 {
    let ts = TempSeg::new("floor", 1 << 16, 8);
    let ctl = ts.ctl();
    let kids = Children::start(cfg, &ts, &[(format!("floor {}", warm + rounds), c1)]);
    let ns = pinned(c0, || {
        ctl.w(GO).store(1, Ordering::Release);
        pingpong_lead(ctl.w(PING), warm, rounds, cfg.deadline())
    });
    kids.finish(cfg.deadline()).expect("floor child");
    ns
}

fn floor_threads(cfg: &Cfg, c0: Option<usize>, c1: Option<usize>, warm: u64, rounds: u64) -> f64 {
    #[repr(align(128))]
    struct Line(AtomicU64);
    let line = Line(AtomicU64::new(0));
    let word = &line.0;
    let deadline = cfg.deadline();
    std::thread::scope(|s| {
        s.spawn(move || pinned(c1, || pingpong_echo(word, warm + rounds, deadline)));
        pinned(c0, || pingpong_lead(word, warm, rounds, deadline))
    })
}

fn queue_latency<T: Item>(
    cfg: &Cfg,
    c0: Option<usize>,
    c1: Option<usize>,
    warm: u64,
    rounds: u64,
) -> f64 {
    let ts = TempSeg::new("qlat", 1 << 20, 8);
    let ab = Queue::<T>::create(&ts.seg, "q_ab", 64).expect("q_ab");
    let ba = Queue::<T>::create(&ts.seg, "q_ba", 64).expect("q_ba");
    let ctl = ts.ctl();
    let role = format!("qecho {} {}", size_of::<T>(), warm + rounds);
    let kids = Children::start(cfg, &ts, &[(role, c1)]);
    let deadline = cfg.deadline();
    let ns = pinned(c0, || {
        ctl.w(GO).store(1, Ordering::Release);
        sliced(warm, rounds, |i| {
            push_spin(&ab, T::make(i), deadline);
            let got = pop_spin(&ba, deadline);
            assert_eq!(got.key(), i, "queue echo out of order");
        }) / 2.0
    });
    kids.finish(cfg.deadline()).expect("qecho child");
    ns
}

fn channel_rtt(
    cfg: &Cfg,
    c0: Option<usize>,
    c1: Option<usize>,
    capacity: usize,
    warm: u64,
    rounds: u64,
) -> f64 {
    let ts = TempSeg::new("chan", 1 << 20, 8);
    let ab = Channel::<u64>::create(&ts.seg, "c_ab", capacity).expect("c_ab");
    let ba = Channel::<u64>::create(&ts.seg, "c_ba", capacity).expect("c_ba");
    let ctl = ts.ctl();
    let role = format!("checho {}", warm + rounds);
    let kids = Children::start(cfg, &ts, &[(role, c1)]);
    let to = Duration::from_secs(if cfg.tiny { 20 } else { 120 });
    let ns = pinned(c0, || {
        ctl.w(GO).store(1, Ordering::Release);
        sliced(warm, rounds, |i| {
            ab.send_timeout(i, to).expect("channel send");
            let got = ba.recv_timeout(to).expect("channel recv");
            assert_eq!(got, i, "channel echo out of order");
        })
    });
    kids.finish(cfg.deadline()).expect("checho child");
    ns
}

/// Items/s of `p` producers and `c` consumers through a zeroipc queue in
/// separate processes, and through crossbeam's ArrayQueue in threads of
/// this process (same counts, same CPUs).
pub fn queue_throughput(cfg: &Cfg, producers: usize, consumers: usize) -> (f64, f64) {
    let cpus = allowed_cpus();
    let cpu = |i: usize| (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
    let per = cfg.n(2_000_000, 20_000) as u64 / producers.max(consumers) as u64;
    let total = per * producers as u64;
    assert_eq!(total % consumers as u64, 0);
    let per_cons = total / consumers as u64;
    let expect: u64 = (0..total).sum();
    let cap = 1024;

    // Processes.
    let ts = TempSeg::new("qtp", 1 << 20, 8);
    let _q = Queue::<u64>::create(&ts.seg, "q", cap).expect("q");
    let ctl = ts.ctl();
    let mut roles = Vec::new();
    for i in 0..producers {
        roles.push((format!("qprod {per} {}", i as u64 * per), cpu(i)));
    }
    for i in 0..consumers {
        roles.push((format!("qcons {per_cons} {i}"), cpu(i + 1)));
    }
    let kids = Children::start(cfg, &ts, &roles);
    let t0 = Instant::now();
    ctl.w(GO).store(1, Ordering::Release);
    let n = roles.len() as u64;
    spin_until(cfg.deadline(), || ctl.w(DONE).load(Ordering::Acquire) >= n)
        .expect("queue throughput children");
    let procs = total as f64 / t0.elapsed().as_secs_f64();
    kids.finish(cfg.deadline()).expect("queue children");
    let sum = (0..consumers).fold(0u64, |a, i| {
        a.wrapping_add(ctl.w(RESULT + i).load(Ordering::Acquire))
    });
    assert_eq!(sum, expect, "cross-process queue lost or duplicated items");

    // Threads, crossbeam.
    let aq = ArrayQueue::<u64>::new(cap);
    let deadline = cfg.deadline();
    let t0 = Instant::now();
    let sum = std::thread::scope(|s| {
        for i in 0..producers {
            let aq = &aq;
            let c = cpu(i);
            s.spawn(move || pinned(c, || produce(aq, i as u64 * per, per, deadline)));
        }
        let hs: Vec<_> = (0..consumers)
            .map(|i| {
                let aq = &aq;
                let c = cpu(i + 1);
                s.spawn(move || pinned(c, || consume(aq, per_cons, deadline)))
            })
            .collect();
        hs.into_iter()
            .fold(0u64, |a, h| a.wrapping_add(h.join().expect("consumer")))
    });
    let threads = total as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(sum, expect, "ArrayQueue lost items");
    (procs, threads)
}

/// Bytes/s streamed through a ring between two processes, and bytes/s of a
/// memcpy of the same chunk size in this process.
pub fn ring_stream(cfg: &Cfg) -> (f64, f64) {
    let (c0, c1) = cpu_pair();
    let chunk = 512usize; // u64 elements: 4 KiB
    let total = cfg.n(16 << 20, 64 << 10) as u64; // elements
    let ts = TempSeg::new("ring", 1 << 20, 8);
    let _r = Ring::<u64>::create(&ts.seg, "r", 8192).expect("ring");
    let ctl = ts.ctl();
    let roles = [
        (format!("ringprod {total} {chunk}"), c0),
        (format!("ringcons {total} {chunk}"), c1),
    ];
    let kids = Children::start(cfg, &ts, &roles);
    let t0 = Instant::now();
    ctl.w(GO).store(1, Ordering::Release);
    spin_until(cfg.deadline(), || ctl.w(DONE).load(Ordering::Acquire) >= 2).expect("ring");
    let ring = (total * 8) as f64 / t0.elapsed().as_secs_f64();
    kids.finish(cfg.deadline()).expect("ring children");
    assert_eq!(
        ctl.w(RESULT).load(Ordering::Acquire),
        total,
        "ring consumer count"
    );

    let src = vec![7u64; chunk];
    let mut dst = vec![0u64; chunk];
    let rounds = total / chunk as u64;
    let t0 = Instant::now();
    for _ in 0..rounds {
        // SAFETY: two distinct private buffers of `chunk` u64 each.
        unsafe {
            std::ptr::copy_nonoverlapping(
                std::hint::black_box(src.as_ptr()),
                std::hint::black_box(dst.as_mut_ptr()),
                chunk,
            )
        };
    }
    std::hint::black_box(&dst);
    let memcpy = (rounds * chunk as u64 * 8) as f64 / t0.elapsed().as_secs_f64();
    (ring, memcpy)
}

/// ns per critical section of two processes taking a zeroipc `kind`
/// ("mutex" or "sem") in turn, and of two threads on `std::sync::Mutex`.
pub fn lock_contended(cfg: &Cfg, kind: &str) -> (f64, f64) {
    let (c0, c1) = cpu_pair();
    let iters = cfg.n(200_000, 2_000) as u64;
    let ts = TempSeg::new("lock", 1 << 16, 8);
    match kind {
        "mutex" => drop(Mutex::create(&ts.seg, "m").expect("mutex")),
        _ => drop(Semaphore::create(&ts.seg, "m", 1, 1).expect("semaphore")),
    }
    let ctl = ts.ctl();
    let roles = [
        (format!("lock {kind} {iters}"), c0),
        (format!("lock {kind} {iters}"), c1),
    ];
    let kids = Children::start(cfg, &ts, &roles);
    let t0 = Instant::now();
    ctl.w(GO).store(1, Ordering::Release);
    spin_until(cfg.deadline(), || ctl.w(DONE).load(Ordering::Acquire) >= 2).expect("locks");
    let procs = t0.elapsed().as_nanos() as f64 / (2 * iters) as f64;
    kids.finish(cfg.deadline()).expect("lock children");
    assert_eq!(
        ctl.w(COUNTER).load(Ordering::Acquire),
        2 * iters,
        "{kind} did not exclude"
    );

    let m = std::sync::Mutex::new(0u64);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for c in [c0, c1] {
            let m = &m;
            s.spawn(move || {
                pinned(c, || {
                    for _ in 0..iters {
                        *m.lock().expect("std mutex") += 1;
                    }
                })
            });
        }
    });
    let threads = t0.elapsed().as_nanos() as f64 / (2 * iters) as f64;
    assert_eq!(*m.lock().expect("std mutex"), 2 * iters);
    (procs, threads)
}

/// Runs the child described by `spec` (`role segment args...`).
pub fn child_main(spec: &str) {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let (role, seg_name, args) = (words[0], words[1], &words[2..]);
    let arg = |i: usize| -> u64 { args[i].parse().expect("numeric child argument") };
    if let Some(c) = std::env::var(CPU_ENV).ok().and_then(|c| c.parse().ok()) {
        pin(c);
    }
    let seg = Segment::open(seg_name).expect("child: open segment");
    let ctl = Ctl(seg.region("ctl").expect("ctl"));
    let deadline = Instant::now() + Duration::from_secs(600);
    ctl.ready_and_wait(deadline);
    match role {
        "floor" => pingpong_echo(ctl.w(PING), arg(0), deadline),
        "qecho" if arg(0) == 8 => qecho::<u64>(&seg, arg(1), deadline),
        "qecho" => qecho::<[u64; 8]>(&seg, arg(1), deadline),
        "checho" => {
            let ab = Channel::<u64>::open(&seg, "c_ab").expect("c_ab");
            let ba = Channel::<u64>::open(&seg, "c_ba").expect("c_ba");
            let to = Duration::from_secs(120);
            for _ in 0..arg(0) {
                let v = ab.recv_timeout(to).expect("child recv");
                ba.send_timeout(v, to).expect("child send");
            }
        }
        "qprod" => {
            let q = Queue::<u64>::open(&seg, "q").expect("q");
            produce(&q, arg(1), arg(0), deadline);
        }
        "qcons" => {
            let q = Queue::<u64>::open(&seg, "q").expect("q");
            let sum = consume(&q, arg(0), deadline);
            ctl.w(RESULT + arg(1) as usize)
                .store(sum, Ordering::Release);
        }
        "ringprod" => {
            let r = Ring::<u64>::open(&seg, "r").expect("ring");
            let buf: Vec<u64> = (0..arg(1)).collect();
            let mut sent = 0u64;
            while sent < arg(0) {
                let k = (arg(0) - sent).min(arg(1)) as usize;
                let mut w = 0;
                spin_until(deadline, || {
                    w = r.write_bulk(&buf[..k]);
                    w > 0
                })
                .expect("ring producer");
                sent += w as u64;
            }
        }
        "ringcons" => {
            let r = Ring::<u64>::open(&seg, "r").expect("ring");
            let mut buf = vec![0u64; arg(1) as usize];
            let mut got = 0u64;
            while got < arg(0) {
                let mut k = 0;
                spin_until(deadline, || {
                    k = r.read_bulk(&mut buf);
                    k > 0
                })
                .expect("ring consumer");
                got += k as u64;
            }
            ctl.w(RESULT).store(got, Ordering::Release);
        }
        "lock" => {
            let counter = ctl.w(COUNTER);
            let bump = || {
                // A plain load+store, not an atomic increment: only mutual
                // exclusion keeps the count exact.
                let c = counter.load(Ordering::Relaxed);
                counter.store(c + 1, Ordering::Relaxed);
            };
            if args[0] == "mutex" {
                let m = Mutex::open(&seg, "m").expect("mutex");
                for _ in 0..arg(1) {
                    let g = m.lock().expect("lock");
                    bump();
                    drop(g);
                }
            } else {
                let s = Semaphore::open(&seg, "m").expect("semaphore");
                for _ in 0..arg(1) {
                    s.acquire().expect("acquire");
                    bump();
                    s.release().expect("release");
                }
            }
        }
        other => panic!("unknown benchmark child role {other:?}"),
    }
    ctl.w(DONE).fetch_add(1, Ordering::SeqCst);
}

fn qecho<T: Item>(seg: &Segment, total: u64, deadline: Instant) {
    let ab = Queue::<T>::open(seg, "q_ab").expect("q_ab");
    let ba = Queue::<T>::open(seg, "q_ba").expect("q_ba");
    for _ in 0..total {
        let v = pop_spin(&ab, deadline);
        push_spin(&ba, v, deadline);
    }
}
