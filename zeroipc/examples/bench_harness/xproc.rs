//! Measurements between processes: the floor (one cache line handed back
//! and forth), queue and channel latency, queue and ring throughput, and
//! contended locks. The parent creates a segment, starts children (each
//! pinned to a CPU), releases them together through the control block and
//! times the whole exchange.

use super::probe::{Layout, RawVyukov};
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

/// One round of the floor, leading side: write odd `2i+1`, wait for the
/// echo `2i+2`.
#[inline]
fn floor_lead(word: &AtomicU64, i: u64, deadline: Instant) {
    word.store(2 * i + 1, Ordering::Release);
    spin_until(deadline, || word.load(Ordering::Acquire) == 2 * i + 2).expect("ping-pong");
}

/// One round of the floor, echoing side.
#[inline]
fn floor_echo(word: &AtomicU64, i: u64, deadline: Instant) {
    spin_until(deadline, || word.load(Ordering::Acquire) == 2 * i + 1).expect("ping-pong");
    word.store(2 * i + 2, Ordering::Release);
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

/// One queue round trip, leading side.
#[inline]
fn queue_lead<T: Item>(ab: &Queue<T>, ba: &Queue<T>, i: u64, deadline: Instant) {
    push_spin(ab, T::make(i), deadline);
    let got = pop_spin(ba, deadline);
    assert_eq!(got.key(), i, "queue echo out of order");
}

/// One queue round trip, echoing side.
#[inline]
fn queue_echo<T: Item>(ab: &Queue<T>, ba: &Queue<T>, deadline: Instant) {
    let v = pop_spin(ab, deadline);
    push_spin(ba, v, deadline);
}

/// One round trip through two [`BenchQ`]s, leading side.
#[inline]
fn bq_lead<Q: BenchQ>(ab: &Q, ba: &Q, i: u64, deadline: Instant) {
    spin_until(deadline, || ab.push_u64(i)).expect("push");
    let mut v = None;
    spin_until(deadline, || {
        v = ba.pop_u64();
        v.is_some()
    })
    .expect("pop");
    assert_eq!(v, Some(i), "queue echo out of order");
}

/// One round trip through two [`BenchQ`]s, echoing side.
#[inline]
fn bq_echo<Q: BenchQ>(ab: &Q, ba: &Q, deadline: Instant) {
    let mut v = None;
    spin_until(deadline, || {
        v = ab.pop_u64();
        v.is_some()
    })
    .expect("echo pop");
    let v = v.unwrap_or_default();
    spin_until(deadline, || ba.push_u64(v)).expect("echo push");
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
    /// zeroipc Queue<u64> between two threads.
    pub q8_threads: f64,
    /// crossbeam ArrayQueue<u64> between two threads.
    pub aq_threads: f64,
    /// Layout probe, format layout, between two threads.
    pub probe_fmt: f64,
    /// Layout probe, crossbeam's layout, between two threads.
    pub probe_pad: f64,
    /// Channel round trip, buffered.
    pub ch_buf: f64,
    /// Channel round trip, unbuffered.
    pub ch_unbuf: f64,
}

/// Shape of one latency run: `slices` rounds of every kind, interleaved
/// (`per` ping-pongs of the floor, then of each queue, then `per_ch` of
/// each channel), plus one untimed warm-up slice first.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Timed slices.
    pub slices: u64,
    /// Round trips per slice (floor, queues).
    pub per: u64,
    /// Round trips per slice (channels).
    pub per_ch: u64,
}

impl Shape {
    fn of(cfg: &Cfg) -> Shape {
        Shape {
            slices: cfg.n(100, 3) as u64,
            per: cfg.n(1000, 100) as u64,
            per_ch: cfg.n(200, 10) as u64,
        }
    }
}

/// Times `per` calls of `f(i)` (`i` continuing from `*next`): ns each.
#[inline]
fn time_slice(per: u64, next: &mut u64, mut f: impl FnMut(u64)) -> f64 {
    let t = Instant::now();
    for _ in 0..per {
        f(*next);
        *next += 1;
    }
    t.elapsed().as_nanos() as f64 / per as f64
}

/// The fastest slice of each kind (slice 0, the warm-up, left out).
fn fastest<const K: usize>(times: &[[f64; K]]) -> [f64; K] {
    let mut best = [f64::INFINITY; K];
    for t in &times[1..] {
        for k in 0..K {
            best[k] = best[k].min(t[k]);
        }
    }
    if std::env::var_os("ZEROIPC_BENCH_TRACE").is_some() {
        for k in 0..K {
            let mut s: Vec<f64> = times[1..].iter().map(|t| t[k]).collect();
            s.sort_by(f64::total_cmp);
            eprintln!(
                "  kind {k}: {} slices, min {:.1} median {:.1} max {:.1} ns",
                s.len(),
                s[0],
                s[s.len() / 2],
                s[s.len() - 1]
            );
        }
    }
    best
}

/// Measures one run of every latency figure. The figures that share a
/// baseline are interleaved slice by slice, so the floor and what is
/// compared with it see the same machine (the fastest slice of each kind
/// is kept: preemption only adds time).
pub fn latency_run(cfg: &Cfg) -> Lat {
    let (c0, c1) = cpu_pair();
    let sh = Shape::of(cfg);
    let deadline = cfg.deadline();
    let mut lat = Lat::default();

    // Processes: the floor, both queues, both channels.
    let ts = TempSeg::new("lat", 1 << 20, 16);
    let q_ab = Queue::<u64>::create(&ts.seg, "q_ab", 64).expect("q_ab");
    let q_ba = Queue::<u64>::create(&ts.seg, "q_ba", 64).expect("q_ba");
    let w_ab = Queue::<[u64; 8]>::create(&ts.seg, "w_ab", 64).expect("w_ab");
    let w_ba = Queue::<[u64; 8]>::create(&ts.seg, "w_ba", 64).expect("w_ba");
    let b_ab = Channel::<u64>::create(&ts.seg, "b_ab", 8).expect("b_ab");
    let b_ba = Channel::<u64>::create(&ts.seg, "b_ba", 8).expect("b_ba");
    let u_ab = Channel::<u64>::create(&ts.seg, "u_ab", 0).expect("u_ab");
    let u_ba = Channel::<u64>::create(&ts.seg, "u_ba", 0).expect("u_ba");
    let ctl = ts.ctl();
    let role = format!("lat {} {} {}", sh.slices, sh.per, sh.per_ch);
    let kids = Children::start(cfg, &ts, &[(role, c1)]);
    let to = Duration::from_secs(if cfg.tiny { 20 } else { 120 });
    let times: Vec<[f64; 5]> = pinned(c0, || {
        ctl.w(GO).store(1, Ordering::Release);
        let mut n = [0u64; 5];
        (0..=sh.slices)
            .map(|_| {
                [
                    time_slice(sh.per, &mut n[0], |i| floor_lead(ctl.w(PING), i, deadline)),
                    time_slice(sh.per, &mut n[1], |i| queue_lead(&q_ab, &q_ba, i, deadline)),
                    time_slice(sh.per, &mut n[2], |i| queue_lead(&w_ab, &w_ba, i, deadline)),
                    time_slice(sh.per_ch, &mut n[3], |i| {
                        b_ab.send_timeout(i, to).expect("send");
                        assert_eq!(b_ba.recv_timeout(to).expect("recv"), i);
                    }),
                    time_slice(sh.per_ch, &mut n[4], |i| {
                        u_ab.send_timeout(i, to).expect("send");
                        assert_eq!(u_ba.recv_timeout(to).expect("recv"), i);
                    }),
                ]
            })
            .collect()
    });
    kids.finish(cfg.deadline()).expect("latency child");
    let [floor, q8, q64, ch_buf, ch_unbuf] = fastest(&times);
    // Ping-pongs measure round trips: one way is half.
    (lat.floor, lat.q8, lat.q64) = (floor / 2.0, q8 / 2.0, q64 / 2.0);
    (lat.ch_buf, lat.ch_unbuf) = (ch_buf, ch_unbuf);

    // Threads: the floor, zeroipc Queue, crossbeam ArrayQueue.
    #[repr(align(128))]
    struct Line(AtomicU64);
    let line = Line(AtomicU64::new(0));
    let word = &line.0;
    let (ab, ba) = (ArrayQueue::<u64>::new(64), ArrayQueue::<u64>::new(64));
    let ts = TempSeg::new("lat-threads", 1 << 20, 8);
    let z_ab = Queue::<u64>::create(&ts.seg, "q_ab", 64).expect("q_ab");
    let z_ba = Queue::<u64>::create(&ts.seg, "q_ba", 64).expect("q_ba");
    let (f_ab, f_ba) = (
        RawVyukov::new(64, Layout::Format),
        RawVyukov::new(64, Layout::Format),
    );
    let (p_ab, p_ba) = (
        RawVyukov::new(64, Layout::Padded),
        RawVyukov::new(64, Layout::Padded),
    );
    let times: Vec<[f64; 5]> = std::thread::scope(|s| {
        let (ab, ba, z_ab, z_ba) = (&ab, &ba, &z_ab, &z_ba);
        let (f_ab, f_ba, p_ab, p_ba) = (&f_ab, &f_ba, &p_ab, &p_ba);
        s.spawn(move || {
            pinned(c1, || {
                let mut i = 0;
                for _ in 0..=sh.slices {
                    for _ in 0..sh.per {
                        floor_echo(word, i, deadline);
                        i += 1;
                    }
                    for _ in 0..sh.per {
                        bq_echo(z_ab, z_ba, deadline);
                    }
                    for _ in 0..sh.per {
                        bq_echo(ab, ba, deadline);
                    }
                    for _ in 0..sh.per {
                        bq_echo(f_ab, f_ba, deadline);
                    }
                    for _ in 0..sh.per {
                        bq_echo(p_ab, p_ba, deadline);
                    }
                }
            })
        });
        pinned(c0, || {
            let mut n = [0u64; 5];
            (0..=sh.slices)
                .map(|_| {
                    [
                        time_slice(sh.per, &mut n[0], |i| floor_lead(word, i, deadline)),
                        time_slice(sh.per, &mut n[1], |i| bq_lead(z_ab, z_ba, i, deadline)),
                        time_slice(sh.per, &mut n[2], |i| bq_lead(ab, ba, i, deadline)),
                        time_slice(sh.per, &mut n[3], |i| bq_lead(f_ab, f_ba, i, deadline)),
                        time_slice(sh.per, &mut n[4], |i| bq_lead(p_ab, p_ba, i, deadline)),
                    ]
                })
                .collect()
        })
    });
    let [floor_t, zq_t, aq_t, fmt_t, pad_t] = fastest(&times).map(|t| t / 2.0);
    (lat.floor_threads, lat.q8_threads, lat.aq_threads) = (floor_t, zq_t, aq_t);
    (lat.probe_fmt, lat.probe_pad) = (fmt_t, pad_t);
    lat
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

/// Bytes/s streamed through a ring between two processes, and bytes/s
/// through a pipe between the same two processes' CPUs (the OS's way of
/// streaming bytes), both in 4 KiB chunks.
pub fn ring_stream(cfg: &Cfg) -> (f64, f64) {
    use std::io::Write as _;
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

    // The same bytes through a pipe: this process writes, a child reads.
    let ts = TempSeg::new("pipe", 1 << 16, 8);
    let ctl = ts.ctl();
    let bytes = total * 8;
    let mut child = cfg
        .launcher
        .spawn_with_stdin(&format!("pipecons {} {bytes}", ts.name), c1);
    spin_until(cfg.deadline(), || ctl.w(READY).load(Ordering::Acquire) >= 1).expect("pipe child");
    let mut stdin = child.stdin.take().expect("child stdin");
    let buf = vec![7u8; chunk * 8];
    let pipe = pinned(c0, || {
        let t0 = Instant::now();
        ctl.w(GO).store(1, Ordering::Release);
        let mut sent = 0u64;
        while sent < bytes {
            let k = (bytes - sent).min(buf.len() as u64) as usize;
            stdin.write_all(&buf[..k]).expect("pipe write");
            sent += k as u64;
        }
        spin_until(cfg.deadline(), || ctl.w(DONE).load(Ordering::Acquire) >= 1).expect("pipe");
        bytes as f64 / t0.elapsed().as_secs_f64()
    });
    drop(stdin);
    Children(vec![child])
        .finish(cfg.deadline())
        .expect("pipe child");
    assert_eq!(
        ctl.w(RESULT).load(Ordering::Acquire),
        bytes,
        "pipe byte count"
    );
    (ring, pipe)
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
        "lat" => lat_child(&seg, &ctl, arg(0), arg(1), arg(2), deadline),
        "wake" => super::wakeup::wake_child(&seg, &ctl, args, deadline),
        "bprod" | "bcons" => {
            let q = Queue::<u64>::open(&seg, "q").expect("q");
            super::batch::child(role, &q, &ctl, arg(0), arg(1), deadline);
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
        "pipecons" => {
            use std::io::Read as _;
            let mut buf = vec![0u8; 4096];
            let mut got = 0u64;
            let mut stdin = std::io::stdin().lock();
            while got < arg(0) {
                let k = stdin.read(&mut buf).expect("pipe read");
                assert!(k > 0, "pipe closed early");
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

/// The echoing side of [`latency_run`]'s process part.
fn lat_child(seg: &Segment, ctl: &Ctl, slices: u64, per: u64, per_ch: u64, deadline: Instant) {
    let q_ab = Queue::<u64>::open(seg, "q_ab").expect("q_ab");
    let q_ba = Queue::<u64>::open(seg, "q_ba").expect("q_ba");
    let w_ab = Queue::<[u64; 8]>::open(seg, "w_ab").expect("w_ab");
    let w_ba = Queue::<[u64; 8]>::open(seg, "w_ba").expect("w_ba");
    let b_ab = Channel::<u64>::open(seg, "b_ab").expect("b_ab");
    let b_ba = Channel::<u64>::open(seg, "b_ba").expect("b_ba");
    let u_ab = Channel::<u64>::open(seg, "u_ab").expect("u_ab");
    let u_ba = Channel::<u64>::open(seg, "u_ba").expect("u_ba");
    let to = Duration::from_secs(120);
    let mut i = 0;
    for _ in 0..=slices {
        for _ in 0..per {
            floor_echo(ctl.w(PING), i, deadline);
            i += 1;
        }
        for _ in 0..per {
            queue_echo(&q_ab, &q_ba, deadline);
        }
        for _ in 0..per {
            queue_echo(&w_ab, &w_ba, deadline);
        }
        for (ab, ba) in [(&b_ab, &b_ba), (&u_ab, &u_ba)] {
            for _ in 0..per_ch {
                let v = ab.recv_timeout(to).expect("child recv");
                ba.send_timeout(v, to).expect("child send");
            }
        }
    }
}
