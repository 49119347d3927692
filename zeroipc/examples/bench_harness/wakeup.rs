//! Wake-up latency (issue 15, item 1): how long an idle process blocked in
//! a receive call takes to notice that a peer process acted.
//!
//! The parent process is the producer and a child process the waiter, each
//! pinned to its own CPU. For every sample the waiter enters the blocking
//! call first; the producer sleeps a random 1.5 to 2.5 ms (so the waiter has
//! gone idle), stores its `CLOCK_MONOTONIC` time in the control block and
//! then acts (sends, pops, releases, ...); the waiter, once its call
//! returns, records `now - sent`. Every path gets one sample per round and
//! the rounds are interleaved (round `k` visits the paths starting at path
//! `k mod P`), so the OS baselines (pipe, Unix socket, eventfd) and our
//! structures see the same machine. A per-sample handshake (`ARMED`, `ACK`)
//! makes the producer act only after the waiter has taken the previous
//! sample and the producer has put the structure back in its waiting state
//! (e.g. re-locked the mutex).

use super::util::*;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use zeroipc::codata::channel::select;
use zeroipc::codata::stream::Subscriber;
use zeroipc::{
    Barrier, Channel, Event, EventMode, Future, Latch, Mutex, Pool, PoolHandle, Queue, Ring,
    Segment, Semaphore, Signal, Stack, Stream,
};

/// Every path, in the order of the report; the first three are the OS
/// baselines and `PATHS[0]` (pipe) is the reference of every ratio.
pub const PATHS: &[&str] = &[
    "pipe, blocking read",
    "Unix socket, blocking recv",
    "eventfd, blocking read",
    "Queue pop_timeout (woken by push)",
    "Queue push_timeout on full (woken by pop)",
    "Stack pop_timeout (woken by push)",
    "Stack push_timeout on full (woken by pop)",
    "Ring read_timeout (woken by write)",
    "Ring write_timeout on full (woken by read)",
    "Pool allocate_timeout (woken by deallocate)",
    "Channel recv_timeout, buffered",
    "Channel recv_timeout, unbuffered",
    "select over 2 buffered channels",
    "Stream recv_timeout (woken by emit)",
    "Subscriber next_timeout (woken by emit)",
    "Stream emit_timeout on full (woken by recv)",
    "Semaphore acquire_timeout (woken by release)",
    "Event wait_timeout, auto-reset (woken by signal)",
    "Mutex lock_timeout (woken by unlock)",
    "Latch wait_timeout (woken by count_down)",
    "Barrier wait_timeout, 2 parties",
    "Future get_timeout (woken by set_value)",
    "Signal wait_for_change_timeout (woken by set)",
];

/// Number of OS baselines at the head of [`PATHS`].
pub const BASELINES: usize = 3;

// Control words of this measurement (util's GO/READY/DONE are shared).
const ARMED: usize = 5;
const ACK: usize = 6;
const ARG: usize = 7;
const SENT: usize = 8;

/// How long any single blocking call may take before the run is declared
/// hung (a timed call that times out fails the measurement).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `CLOCK_MONOTONIC` in nanoseconds (the same clock in every process).
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec owned by this frame.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Every structure of the measurement, as one process sees it.
struct Parts {
    q: Queue<u64>,
    qf: Queue<u64>,
    st: Stack<u64>,
    stf: Stack<u64>,
    r: Ring<u64>,
    rf: Ring<u64>,
    pool: Pool<u64>,
    cb: Channel<u64>,
    cu: Channel<u64>,
    sa: Channel<u64>,
    sb: Channel<u64>,
    s: Stream<u64>,
    ssub: Stream<u64>,
    sf: Stream<u64>,
    sem: Semaphore,
    ev: Event,
    mx: Mutex,
    latch: Latch,
    bar: Barrier,
    sig: Signal<u64>,
}

/// Small capacities: the "on full" paths fill them first.
const CAP: usize = 4;

impl Parts {
    fn create(seg: &Segment) -> Parts {
        Parts {
            q: Queue::create(seg, "q", CAP).expect("q"),
            qf: Queue::create(seg, "qf", CAP).expect("qf"),
            st: Stack::create(seg, "st", CAP).expect("st"),
            stf: Stack::create(seg, "stf", CAP).expect("stf"),
            r: Ring::create(seg, "r", CAP).expect("r"),
            rf: Ring::create(seg, "rf", CAP).expect("rf"),
            pool: Pool::create(seg, "pool", 1).expect("pool"),
            cb: Channel::create(seg, "cb", CAP).expect("cb"),
            cu: Channel::create(seg, "cu", 0).expect("cu"),
            sa: Channel::create(seg, "sa", CAP).expect("sa"),
            sb: Channel::create(seg, "sb", CAP).expect("sb"),
            s: Stream::create(seg, "s", CAP).expect("s"),
            ssub: Stream::create(seg, "ssub", CAP).expect("ssub"),
            sf: Stream::create(seg, "sf", CAP).expect("sf"),
            sem: Semaphore::create(seg, "sem", 0, 1).expect("sem"),
            ev: Event::create(seg, "ev", EventMode::AutoReset).expect("ev"),
            mx: Mutex::create(seg, "mx").expect("mx"),
            latch: Latch::create(seg, "latch", 1).expect("latch"),
            bar: Barrier::create(seg, "bar", 2).expect("bar"),
            sig: Signal::create(seg, "sig", 0u64).expect("sig"),
        }
    }

    fn open(seg: &Segment) -> Parts {
        Parts {
            q: Queue::open(seg, "q").expect("q"),
            qf: Queue::open(seg, "qf").expect("qf"),
            st: Stack::open(seg, "st").expect("st"),
            stf: Stack::open(seg, "stf").expect("stf"),
            r: Ring::open(seg, "r").expect("r"),
            rf: Ring::open(seg, "rf").expect("rf"),
            pool: Pool::open(seg, "pool").expect("pool"),
            cb: Channel::open(seg, "cb").expect("cb"),
            cu: Channel::open(seg, "cu").expect("cu"),
            sa: Channel::open(seg, "sa").expect("sa"),
            sb: Channel::open(seg, "sb").expect("sb"),
            s: Stream::open(seg, "s").expect("s"),
            ssub: Stream::open(seg, "ssub").expect("ssub"),
            sf: Stream::open(seg, "sf").expect("sf"),
            sem: Semaphore::open(seg, "sem").expect("sem"),
            ev: Event::open(seg, "ev").expect("ev"),
            mx: Mutex::open(seg, "mx").expect("mx"),
            latch: Latch::open(seg, "latch").expect("latch"),
            bar: Barrier::open(seg, "bar").expect("bar"),
            sig: Signal::open(seg, "sig").expect("sig"),
        }
    }
}

/// The three OS endpoints: (pipe read, pipe write, socket A, socket B,
/// eventfd). Created without close-on-exec so the waiter child inherits
/// them (their numbers travel in its role string).
struct Fds([RawFd; 5]);

impl Fds {
    fn new() -> Fds {
        let mut p = [0; 2];
        let mut s = [0; 2];
        // SAFETY: `p` and `s` are writable arrays of two ints, as pipe and
        // socketpair require; eventfd takes no pointer.
        let (rp, rs, ev) = unsafe {
            (
                libc::pipe(p.as_mut_ptr()),
                libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, s.as_mut_ptr()),
                libc::eventfd(0, 0),
            )
        };
        assert!(rp == 0 && rs == 0 && ev >= 0, "pipe/socketpair/eventfd");
        Fds([p[0], p[1], s[0], s[1], ev])
    }
}

impl Drop for Fds {
    fn drop(&mut self) {
        for fd in self.0 {
            // SAFETY: each fd was opened by `Fds::new` and is closed once.
            unsafe { libc::close(fd) };
        }
    }
}

/// Writes the 8 bytes of `v` to `fd` (one write: pipes and stream sockets
/// take 8 bytes atomically).
fn write_u64(fd: RawFd, v: u64) {
    let b = v.to_ne_bytes();
    // SAFETY: `b` is 8 readable bytes.
    let n = unsafe { libc::write(fd, b.as_ptr().cast(), 8) };
    assert_eq!(n, 8, "write to fd {fd}");
}

/// Reads exactly 8 bytes from `fd` (blocking).
fn read_u64(fd: RawFd) -> u64 {
    let mut b = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        // SAFETY: `b[got..]` is `8 - got` writable bytes.
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), 8 - got) };
        assert!(n > 0, "read from fd {fd}: {n}");
        got += n as usize;
    }
    u64::from_ne_bytes(b)
}

/// Environment variable: when set to `1`, the producer and the waiter run
/// under `SCHED_FIFO` (priority 1) during this measurement, so that other
/// jobs on the machine cannot delay the woken waiter (the tails then show
/// the wake-up mechanism rather than the machine's load).
pub const RT_ENV: &str = "ZEROIPC_BENCH_RT";

/// Whether [`RT_ENV`] asks for real-time scheduling.
fn rt_wanted() -> bool {
    std::env::var(RT_ENV).is_ok_and(|v| v == "1")
}

/// Switches the calling thread to `SCHED_FIFO` priority 1 (`on`) or back
/// to `SCHED_OTHER`; false when the kernel refuses.
fn set_rt(on: bool) -> bool {
    let (policy, prio) = if on {
        (libc::SCHED_FIFO, 1)
    } else {
        (libc::SCHED_OTHER, 0)
    };
    let param = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: `param` is a valid sched_param; 0 names the calling thread.
    unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
}

/// Waits until `word >= at`, sleeping 20 µs between looks (no spinning:
/// under `SCHED_FIFO` a spinner would starve the CPU's other jobs). The
/// handshake is outside the timed interval, so its delay does not count.
fn wait_word(word: &std::sync::atomic::AtomicU64, at: u64, deadline: Instant, what: &str) {
    while word.load(Ordering::Acquire) < at {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// The path sampled at step `j` of round `k` (rotating start).
fn path_at(k: usize, j: usize) -> usize {
    (j + k) % PATHS.len()
}

/// A small xorshift generator for the producer's gaps.
struct Rng(u64);

impl Rng {
    fn gap(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_micros(1500 + self.0 % 1001)
    }
}

/// Percentiles of one path (ns).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pct {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

fn pct(mut s: Vec<u64>) -> Pct {
    s.sort_unstable();
    let at = |q: usize| s[(s.len() * q / 100).min(s.len() - 1)] as f64;
    Pct {
        p50: at(50),
        p90: at(90),
        p99: at(99),
        max: s[s.len() - 1] as f64,
    }
}

/// One run: `n` samples of every path (interleaved); percentiles per path,
/// in the order of [`PATHS`], and whether the producer ran under
/// `SCHED_FIFO` (see [`RT_ENV`]).
pub fn wakeup_run(cfg: &Cfg) -> (Vec<Pct>, bool) {
    let (c0, c1) = cpu_pair();
    let n = cfg.n(300, 5);
    let fds = Fds::new();
    let ts = TempSeg::new("wake", 4 << 20, 64 + n as u32);
    let parts = Parts::create(&ts.seg);
    let futures: Vec<Future<u64>> = (0..n)
        .map(|k| Future::create(&ts.seg, &format!("f{k}")).expect("future"))
        .collect();
    let bytes = (PATHS.len() * n * 8) as u64;
    ts.seg
        .register("wake_samples", bytes, |_| Ok(()))
        .expect("sample block");
    // The pool's only node starts allocated: the waiter's allocate blocks
    // until the producer frees it.
    let node = parts.pool.allocate().expect("pool").expect("pool node");
    let ctl = ts.ctl();
    let [pr, pw, sa, sb, ev] = fds.0;
    let role = format!("wake {n} {pr} {sb} {ev}");
    let kids = Children::start(cfg, &ts, &[(role, c1)]);
    let deadline = cfg.deadline();
    let mut rng = Rng(mono_ns() | 1);
    let rt = rt_wanted();
    let rt_used = pinned(c0, || {
        let rt_on = rt && set_rt(true);
        ctl.w(GO).store(1, Ordering::Release);
        let mut held = None;
        let mut seq = 0u64;
        for (k, fut) in futures.iter().enumerate() {
            for j in 0..PATHS.len() {
                let p = path_at(k, j);
                seq += 1;
                // Arm: put the structure in the state the waiter must wait in.
                match p {
                    18 => held = Some(parts.mx.lock().expect("producer lock")),
                    19 => parts.latch.reset().expect("latch reset"),
                    22 => ctl.w(ARG).store(parts.sig.version(), Ordering::Relaxed),
                    _ => {}
                }
                ctl.w(ARMED).store(seq, Ordering::Release);
                std::thread::sleep(rng.gap());
                let t = mono_ns();
                ctl.w(SENT).store(t, Ordering::Release);
                fire(p, &parts, fut, node, t, (pw, sa, ev), &mut held);
                wait_word(ctl.w(ACK), seq, deadline, "waiter never acknowledged");
            }
        }
        if rt_on {
            set_rt(false);
        }
        rt_on
    });
    kids.finish(cfg.deadline()).expect("wake-up child");
    let samples = ts.seg.region("wake_samples").expect("samples");
    let pcts = (0..PATHS.len())
        .map(|p| {
            pct((0..n)
                .map(|k| samples.atomic_u64((p * n + k) * 8).load(Ordering::Acquire))
                .collect())
        })
        .collect();
    (pcts, rt_used)
}

/// The producer's action for path `p` (its clock `t` is already stored).
fn fire<'a>(
    p: usize,
    parts: &'a Parts,
    fut: &Future<u64>,
    node: PoolHandle,
    t: u64,
    (pw, sa, ev): (RawFd, RawFd, RawFd),
    held: &mut Option<zeroipc::sync::mutex::MutexGuard<'a>>,
) {
    match p {
        0 => write_u64(pw, t),
        1 => write_u64(sa, t),
        2 => write_u64(ev, 1),
        3 => parts.q.push(t).expect("q push"),
        4 => drop(parts.qf.pop().expect("qf pop")),
        5 => parts.st.push(t).expect("st push"),
        6 => drop(parts.stf.pop().expect("stf pop")),
        7 => parts.r.write(t).expect("r write"),
        8 => drop(parts.rf.read().expect("rf read")),
        9 => parts
            .pool
            .deallocate(PoolHandle::from_index(node.index()))
            .expect("pool free"),
        10 => parts.cb.send(t).expect("cb send"),
        11 => parts.cu.send_timeout(t, CALL_TIMEOUT).expect("cu send"),
        12 => parts.sb.send(t).expect("sb send"),
        13 => parts.s.try_emit(t).expect("s emit"),
        14 => drop(parts.ssub.emit_overwrite(t).expect("ssub emit")),
        15 => drop(parts.sf.try_recv().expect("sf recv").expect("sf item")),
        16 => parts.sem.release().expect("sem release"),
        17 => parts.ev.signal().expect("ev signal"),
        18 => drop(held.take().expect("mutex held")),
        19 => parts.latch.count_down(1).expect("count_down"),
        20 => drop(parts.bar.wait_timeout(CALL_TIMEOUT).expect("barrier")),
        21 => assert!(fut.set_value(t), "future set twice"),
        22 => parts.sig.set(t).expect("signal set"),
        _ => unreachable!("path {p}"),
    }
}

/// The waiter's blocking call for path `p`, then whatever puts the
/// structure back (unlock).
fn block(
    p: usize,
    parts: &Parts,
    sub: &mut Subscriber<u64>,
    fut: &Future<u64>,
    (pr, sb, ev): (RawFd, RawFd, RawFd),
    arg: u64,
) -> u64 {
    let to = CALL_TIMEOUT;
    match p {
        0 => drop(read_u64(pr)),
        1 => drop(read_u64(sb)),
        2 => drop(read_u64(ev)),
        3 => drop(parts.q.pop_timeout(to).expect("q pop")),
        4 => parts.qf.push_timeout(0, to).expect("qf push"),
        5 => drop(parts.st.pop_timeout(to).expect("st pop")),
        6 => parts.stf.push_timeout(0, to).expect("stf push"),
        7 => drop(parts.r.read_timeout(to).expect("r read")),
        8 => parts.rf.write_timeout(0, to).expect("rf write"),
        9 => drop(parts.pool.allocate_timeout(to).expect("pool allocate")),
        10 => drop(parts.cb.recv_timeout(to).expect("cb recv")),
        11 => drop(parts.cu.recv_timeout(to).expect("cu recv")),
        12 => drop(select(&[&parts.sa, &parts.sb], Some(to)).expect("select")),
        13 => drop(parts.s.recv_timeout(to).expect("s recv")),
        14 => drop(sub.next_timeout(to).expect("subscriber next")),
        15 => parts.sf.emit_timeout(0, to).expect("sf emit"),
        16 => parts.sem.acquire_timeout(to).expect("sem acquire"),
        17 => parts.ev.wait_timeout(to).expect("ev wait"),
        18 => {
            let g = parts.mx.lock_timeout(to).expect("lock");
            let t = mono_ns();
            drop(g);
            return t;
        }
        19 => parts.latch.wait_timeout(to).expect("latch wait"),
        20 => drop(parts.bar.wait_timeout(to).expect("barrier")),
        21 => drop(fut.get_timeout(to).expect("future get")),
        22 => drop(parts.sig.wait_for_change_timeout(arg, to).expect("signal")),
        _ => unreachable!("path {p}"),
    }
    mono_ns()
}

/// The waiter child: `n pipe_read socket_b eventfd`.
pub fn wake_child(seg: &Segment, ctl: &Ctl, args: &[&str], deadline: Instant) {
    let arg = |i: usize| -> u64 { args[i].parse().expect("numeric wake argument") };
    let n = arg(0) as usize;
    let fds = (arg(1) as RawFd, arg(2) as RawFd, arg(3) as RawFd);
    if rt_wanted() {
        set_rt(true);
    }
    let parts = Parts::open(seg);
    let futures: Vec<Future<u64>> = (0..n)
        .map(|k| Future::open(seg, &format!("f{k}")).expect("future"))
        .collect();
    let samples = seg.region("wake_samples").expect("samples");
    let mut sub = parts.ssub.subscribe();
    // Fill the structures whose "on full" path blocks the waiter's push.
    while parts.qf.push(0).is_ok() {}
    while parts.stf.push(0).is_ok() {}
    while parts.rf.write(0).is_ok() {}
    while parts.sf.try_emit(0).is_ok() {}
    let mut seq = 0u64;
    for (k, fut) in futures.iter().enumerate() {
        for j in 0..PATHS.len() {
            let p = path_at(k, j);
            seq += 1;
            wait_word(ctl.w(ARMED), seq, deadline, "producer never armed");
            let arg = ctl.w(ARG).load(Ordering::Relaxed);
            let now = block(p, &parts, &mut sub, fut, fds, arg);
            let sent = ctl.w(SENT).load(Ordering::Acquire);
            samples
                .atomic_u64((p * n + k) * 8)
                .store(now.saturating_sub(sent), Ordering::Relaxed);
            ctl.w(ACK).store(seq, Ordering::Release);
        }
    }
}

/// Adds the wake-up section to `rep`: `cfg.runs` runs of `n` samples per
/// path; every figure is the median over the runs, every ratio the median
/// of the per-run ratios (as in the rest of the report).
pub fn report(cfg: &Cfg, rep: &mut Report) {
    let runs: Vec<(Vec<Pct>, bool)> = (0..cfg.runs).map(|_| wakeup_run(cfg)).collect();
    let rt = runs.iter().all(|r| r.1);
    let n = cfg.n(300, 5);
    rep.note(&format!(
        "A waiter process blocked in the call named, a producer process on the other CPU that \
         stores its CLOCK_MONOTONIC time and then acts, every 1.5 to 2.5 ms (random); the \
         waiter records now - sent when its call returns. {n} samples per path and run, the \
         paths interleaved round by round (each round starts one path later); {} runs. Each \
         figure is the median over the runs of that run's percentile; each ratio the median \
         of the per-run ratios of the path's percentile to the pipe's. Target (issue 15): \
         p50 and p99 each at most 2x the pipe's. Scheduling: {}.",
        runs.len(),
        if rt {
            "producer and waiter under SCHED_FIFO priority 1 (ZEROIPC_BENCH_RT=1), so the \
             machine's other jobs do not delay the woken waiter"
        } else {
            "the default (SCHED_OTHER): on a loaded machine the tails include waiting for a \
             CPU (ZEROIPC_BENCH_RT=1 runs both sides under SCHED_FIFO)"
        }
    ));
    let us = |v: f64| format!("{:.1} µs", v / 1e3);
    let mut t = String::from(
        "| path | p50 | p90 | p99 | max | p50 / pipe | p99 / pipe | target |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (i, name) in PATHS.iter().enumerate() {
        let med =
            |f: &dyn Fn(&[Pct]) -> f64| median(&runs.iter().map(|r| f(&r.0)).collect::<Vec<_>>());
        let r50 = med(&|r| r[i].p50 / r[0].p50);
        let r99 = med(&|r| r[i].p99 / r[0].p99);
        let verdict = if i < BASELINES {
            String::from("(baseline)")
        } else {
            let target = Target::AtMost(2.0);
            let met = rep.push_target("8. Wake-up latency", name, r50.max(r99), target);
            format!(
                "p50 and p99 <= 2.0x {}",
                if met { "met" } else { "**MISSED**" }
            )
        };
        t.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {verdict} |\n",
            us(med(&|r| r[i].p50)),
            us(med(&|r| r[i].p90)),
            us(med(&|r| r[i].p99)),
            us(med(&|r| r[i].max)),
            fmt_ratio(r50),
            fmt_ratio(r99),
        ));
    }
    rep.note(t.trim_end());
}
