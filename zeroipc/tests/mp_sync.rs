//! Synchronisation primitives across REAL processes (the test binary
//! re-executes itself as workers, see `common::spawn_worker`), plus the CPU
//! check for blocked waiters, timeouts, and a `kill -9`'d holder.
//!
//! Every wait in a worker has a timeout, so a broken primitive fails the
//! test instead of hanging it.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};
use zeroipc::sync::OnceState;
use zeroipc::{
    Array, Barrier, Error, Event, EventMode, Latch, Monitor, Mutex, Once, RwLock, Segment,
    Semaphore, Signal,
};

const LONG: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(30);
/// Busy iterations between the read and the write of the counter, so that
/// unsynchronised increments would really collide.
const SPIN_IN_CS: u32 = 50;

fn seg_for_worker() -> Segment {
    Segment::open(&env_var("SEG")).unwrap()
}

fn id() -> usize {
    env_var("ID").parse().unwrap()
}

fn spawn(role: &str, seg: &TempSeg, id: usize) -> std::process::Child {
    spawn_worker(
        "worker",
        &[
            ("ROLE", role.to_owned()),
            ("SEG", seg.name.clone()),
            ("ID", id.to_string()),
        ],
    )
}

/// Polls `cond` every millisecond for up to 20 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn is_timeout<T: std::fmt::Debug>(r: zeroipc::Result<T>) -> bool {
    matches!(r, Err(Error::Timeout { .. }))
}

/// User + system CPU time of this whole process.
fn cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes only into the struct we pass, which lives on
    // our stack for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn result_value(lines: &[String], key: &str) -> u64 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {lines:?}"))
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------- workers
//
// `RESULT` lines start with a newline: under `--nocapture` libtest has
// already printed "test worker ... " without one.

/// The worker entry point: runs the role named in `ROLE`.
#[test]
#[ignore = "run by the multi-process tests as a child process"]
fn worker() {
    if !is_child() {
        return;
    }
    let seg = seg_for_worker();
    match env_var("ROLE").as_str() {
        "mutex_inc" => {
            let m = Mutex::open(&seg, "m").unwrap();
            let ctr = Array::<u64>::open(&seg, "ctr").unwrap();
            let n: u64 = env_var_or("N", "25000");
            // Start together, so that the four really contend.
            Barrier::open(&seg, "go")
                .unwrap()
                .wait_timeout(LONG)
                .unwrap();
            for _ in 0..n {
                let g = m.lock_timeout(LONG).unwrap();
                // Deliberately non-atomic read-modify-write.
                let v = ctr.get(0).unwrap();
                for _ in 0..SPIN_IN_CS {
                    std::hint::spin_loop(); // widen the race window
                }
                ctr.set(0, v + 1).unwrap();
                // Explicit: a lock released behind our back shows as an error.
                g.unlock().unwrap();
            }
        }
        "barrier" => {
            let b = Barrier::open(&seg, "b").unwrap();
            let seen = Array::<u32>::open(&seg, "seen").unwrap();
            let k = id();
            let mut leaders = 0;
            for gen in 0..1000u32 {
                seen.set(k, gen).unwrap();
                let r = b.wait_timeout(LONG).unwrap();
                assert_eq!(r.generation(), gen as i32, "generation seen by {k}");
                // Everyone has arrived at `gen`; nobody can be past gen + 1.
                for j in 0..4 {
                    let s = seen.get(j).unwrap();
                    assert!(s == gen || s == gen + 1, "{k} at {gen} sees {j} at {s}");
                }
                leaders += r.is_leader() as u32;
            }
            println!("\nRESULT leaders={leaders}");
        }
        "once" => {
            let start = Barrier::open(&seg, "start").unwrap();
            let once = Once::open(&seg, "o").unwrap();
            let hits = Array::<u32>::open(&seg, "hits").unwrap();
            start.wait_timeout(LONG).unwrap();
            let ran = once
                .call_once_timeout(LONG, || {
                    hits.set(0, hits.get(0).unwrap() + 1).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                })
                .unwrap();
            // Whoever ran it, it is complete and visible here.
            assert_eq!(hits.get(0).unwrap(), 1);
            // And a latch across processes: nobody leaves before all four
            // have counted down.
            let done = Latch::open(&seg, "done").unwrap();
            done.count_down(1).unwrap();
            done.wait_timeout(LONG).unwrap();
            assert_eq!(done.count(), 0);
            println!("\nRESULT ran={}", ran as u32);
        }
        "ev_manual" => {
            let ev = Event::open(&seg, "man").unwrap();
            let pulse = Event::open(&seg, "pulse").unwrap();
            let woke = Array::<u32>::open(&seg, "woke").unwrap();
            ev.wait_timeout(LONG).unwrap();
            woke.set(id(), 1).unwrap();
            pulse.wait_timeout(LONG).unwrap();
            println!("\nRESULT ok=1");
        }
        "ev_auto" => {
            let ev = Event::open(&seg, "auto").unwrap();
            let woke = Array::<u32>::open(&seg, "awoke").unwrap();
            ev.wait_timeout(LONG).unwrap();
            woke.set(id(), 1).unwrap();
            println!("\nRESULT ok=1");
        }
        "rw_share" => {
            let rw = RwLock::open(&seg, "rw").unwrap();
            let both = Barrier::open(&seg, "both").unwrap();
            let g = rw.read_timeout(LONG).unwrap();
            // Both readers pass this rendezvous only while both hold a
            // read guard: they shared the lock.
            both.wait_timeout(LONG).unwrap();
            let readers = rw.readers();
            // Let the other reader observe too before anyone unlocks.
            both.wait_timeout(LONG).unwrap();
            drop(g);
            println!("\nRESULT readers={readers}");
        }
        "rw_writer" => {
            let rw = RwLock::open(&seg, "rw").unwrap();
            let pair = Array::<u64>::open(&seg, "pair").unwrap();
            let n: u64 = env_var_or("N", "2000");
            for _ in 0..n {
                let g = rw.write_timeout(LONG).unwrap();
                let a = pair.get(0).unwrap();
                pair.set(0, a + 1).unwrap();
                std::thread::yield_now(); // widen the window a reader could see
                pair.set(1, a + 1).unwrap();
                drop(g);
            }
        }
        "rw_reader" => {
            let rw = RwLock::open(&seg, "rw").unwrap();
            let pair = Array::<u64>::open(&seg, "pair").unwrap();
            let total: u64 = env_var_or("TOTAL", "4000");
            let mut reads = 0u64;
            loop {
                let g = rw.read_timeout(LONG).unwrap();
                let a = pair.get(0).unwrap();
                std::thread::yield_now();
                let b = pair.get(1).unwrap();
                drop(g);
                assert_eq!(a, b, "a reader saw a half-done write");
                reads += 1;
                if a == total {
                    break;
                }
            }
            println!("\nRESULT reads={reads}");
        }
        "producer" => {
            let mon = Monitor::open(&seg, "mon").unwrap();
            let slot = Array::<u64>::open(&seg, "slot").unwrap();
            let n: u64 = env_var_or("N", "1000");
            for i in 1..=n {
                let v = id() as u64 * 1_000_000 + i;
                let mut g = mon.lock_timeout(LONG).unwrap();
                while slot.get(0).unwrap() != 0 {
                    g = g.wait_timeout(LONG).unwrap();
                }
                slot.set(1, v).unwrap();
                slot.set(0, 1).unwrap();
                mon.notify_all().unwrap();
                drop(g);
            }
        }
        "consumer" => {
            let mon = Monitor::open(&seg, "mon").unwrap();
            let slot = Array::<u64>::open(&seg, "slot").unwrap();
            let n: u64 = env_var_or("N", "1000");
            let mut last = [0u64; 2];
            let mut sum = 0u64;
            for _ in 0..n {
                let mut g = mon.lock_timeout(LONG).unwrap();
                while slot.get(0).unwrap() == 0 {
                    g = g.wait_timeout(LONG).unwrap();
                }
                let v = slot.get(1).unwrap();
                slot.set(0, 0).unwrap();
                mon.notify_all().unwrap();
                drop(g);
                // Each producer's values arrive in increasing order.
                let (p, i) = ((v / 1_000_000) as usize, v % 1_000_000);
                assert!(i > last[p], "producer {p}: {i} after {}", last[p]);
                last[p] = i;
                sum += v;
            }
            println!("\nRESULT sum={sum}");
        }
        "sig_writer" => {
            let sig = Signal::<[u64; 2]>::open(&seg, "sig").unwrap();
            let n: u64 = env_var_or("N", "5000");
            for i in 1..=n {
                sig.set_timeout([i, i * 3], LONG).unwrap();
                if i % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        }
        "sig_reader" => {
            let sig = Signal::<[u64; 2]>::open(&seg, "sig").unwrap();
            let n: u64 = env_var_or("N", "5000");
            let (mut last, mut distinct) = (0u64, 0u64);
            loop {
                let (ver, [a, b]) = sig.get_versioned().unwrap();
                assert!(ver >= last, "version went back from {last} to {ver}");
                // Set i happened at version i; value and version agree and
                // the value is never torn.
                assert_eq!((a, b), (ver, ver * 3));
                distinct += (ver != last) as u64;
                last = ver;
                if ver == n {
                    break;
                }
                let next = sig.wait_for_change_timeout(ver, LONG).unwrap();
                assert!(next > ver);
            }
            println!("\nRESULT distinct={distinct}");
        }
        "cpu_sem" => {
            let s = Semaphore::open(&seg, "s").unwrap();
            let (c0, t0) = (cpu_time(), Instant::now());
            s.acquire_timeout(LONG).unwrap();
            let (cpu, waited) = (cpu_time() - c0, t0.elapsed());
            println!("\nRESULT cpu_us={}", cpu.as_micros());
            println!("\nRESULT waited_ms={}", waited.as_millis());
        }
        "cpu_event" => {
            let ev = Event::open(&seg, "e").unwrap();
            let (c0, t0) = (cpu_time(), Instant::now());
            ev.wait_timeout(LONG).unwrap();
            let (cpu, waited) = (cpu_time() - c0, t0.elapsed());
            println!("\nRESULT cpu_us={}", cpu.as_micros());
            println!("\nRESULT waited_ms={}", waited.as_millis());
        }
        "hold_and_die" => {
            let m = Mutex::open(&seg, "m").unwrap();
            let rw = RwLock::open(&seg, "rw").unwrap();
            let once = Once::open(&seg, "o").unwrap();
            let _g = m.lock_timeout(LONG).unwrap();
            let _w = rw.write_timeout(LONG).unwrap();
            once.call_once(|| {
                println!("\nRESULT holding");
                // Wait to be killed (bounded, in case the parent is gone).
                std::thread::sleep(Duration::from_secs(60));
            })
            .unwrap();
        }
        "latch_arrive" => {
            let l = Latch::open(&seg, "l").unwrap();
            l.arrive_and_wait_timeout(LONG).unwrap();
            println!("\nRESULT opened={}", l.try_wait().unwrap() as u32);
        }
        "barrier_wait" => {
            let b = Barrier::open(&seg, "b").unwrap();
            let r = b.wait_timeout(LONG).unwrap();
            println!("\nRESULT leader={}", r.is_leader() as u32);
        }
        "ev_pulse_wait" => {
            Event::open(&seg, "pm").unwrap().wait_timeout(LONG).unwrap();
        }
        "wrong_kind" => {
            let refusal = |r: zeroipc::Result<()>| match r {
                Err(Error::WrongKind {
                    recorded, expected, ..
                }) => format!("{expected}={recorded}"),
                other => format!("not refused: {other:?}"),
            };
            let results = [
                refusal(Semaphore::open(&seg, "m").map(drop)),
                refusal(Barrier::open(&seg, "m").map(drop)),
                refusal(Latch::open(&seg, "m").map(drop)),
                refusal(Mutex::open(&seg, "s1").map(drop)),
            ];
            for r in results {
                println!("\nRESULT {r}");
            }
        }
        other => panic!("unknown role {other}"),
    }
}

fn env_var_or<T: std::str::FromStr>(key: &str, default: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    std::env::var(key)
        .unwrap_or_else(|_| default.to_owned())
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn mutex_keeps_a_plain_counter_exact_across_4_processes() {
    let (t, seg) = temp_segment("mp_mutex", 1 << 16);
    let m = Mutex::create(&seg, "m").unwrap();
    let ctr = Array::<u64>::create(&seg, "ctr", 1).unwrap();
    Barrier::create(&seg, "go", 4).unwrap();
    let start = Instant::now();
    let kids: Vec<_> = (0..4).map(|k| spawn("mutex_inc", &t, k)).collect();
    for c in kids {
        worker_results(c);
    }
    eprintln!(
        "mutex: 100000 increments by 4 processes in {:?}",
        start.elapsed()
    );
    assert_eq!(ctr.get(0).unwrap(), 100_000);
    assert!(!m.is_locked());
    assert_eq!(m.waiting(), 0);
}

#[test]
fn barrier_runs_1000_generations_with_4_processes() {
    let (t, seg) = temp_segment("mp_barrier", 1 << 16);
    let b = Barrier::create(&seg, "b", 4).unwrap();
    Array::<u32>::create(&seg, "seen", 4).unwrap();
    let start = Instant::now();
    let kids: Vec<_> = (0..4).map(|k| spawn("barrier", &t, k)).collect();
    let leaders: u64 = kids
        .into_iter()
        .map(|c| result_value(&worker_results(c), "leaders"))
        .sum();
    eprintln!(
        "barrier: 1000 generations x 4 processes in {:?}",
        start.elapsed()
    );
    assert_eq!(leaders, 1000, "exactly one leader per generation");
    assert_eq!(b.generation(), 1000);
    assert_eq!(b.arrived(), 0);
}

#[test]
fn once_runs_once_and_a_latch_opens_with_4_racing_processes() {
    let (t, seg) = temp_segment("mp_once", 1 << 16);
    let once = Once::create(&seg, "o").unwrap();
    let hits = Array::<u32>::create(&seg, "hits", 1).unwrap();
    Barrier::create(&seg, "start", 4).unwrap();
    let done = Latch::create(&seg, "done", 4).unwrap();
    let kids: Vec<_> = (0..4).map(|k| spawn("once", &t, k)).collect();
    let ran: u64 = kids
        .into_iter()
        .map(|c| result_value(&worker_results(c), "ran"))
        .sum();
    assert_eq!(ran, 1, "exactly one process ran the closure");
    assert_eq!(hits.get(0).unwrap(), 1);
    assert_eq!(once.state().unwrap(), OnceState::Done);
    assert!(done.try_wait().unwrap());
}

#[test]
fn events_manual_and_auto_across_processes() {
    let (t, seg) = temp_segment("mp_event", 1 << 16);
    let man = Event::create(&seg, "man", EventMode::ManualReset).unwrap();
    let pulse = Event::create(&seg, "pulse", EventMode::ManualReset).unwrap();
    let auto = Event::create(&seg, "auto", EventMode::AutoReset).unwrap();
    let woke = Array::<u32>::create(&seg, "woke", 3).unwrap();
    let awoke = Array::<u32>::create(&seg, "awoke", 2).unwrap();

    // Manual reset: one signal releases all three blocked processes.
    let mk: Vec<_> = (0..3).map(|k| spawn("ev_manual", &t, k)).collect();
    eventually("3 manual waiters", || man.waiting() == 3);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(woke.to_vec(), [0, 0, 0], "nobody passes before the signal");
    man.signal().unwrap();
    eventually("all released", || woke.to_vec() == [1, 1, 1]);
    assert!(man.is_signaled(), "manual reset stays signaled");
    // Pulse: releases the three (now waiting on `pulse`) and resets.
    eventually("3 pulse waiters", || pulse.waiting() == 3);
    pulse.pulse_timeout(Duration::from_secs(20)).unwrap();
    assert!(!pulse.is_signaled());
    assert_eq!(pulse.waiting(), 0);
    for c in mk {
        worker_results(c);
    }

    // Auto reset: each signal releases exactly one of two blocked processes.
    let ak: Vec<_> = (0..2).map(|k| spawn("ev_auto", &t, k)).collect();
    eventually("2 auto waiters", || auto.semaphore().waiting() == 2);
    auto.signal().unwrap();
    let count = || awoke.to_vec().iter().sum::<u32>();
    eventually("one released", || count() == 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count(), 1, "one signal released a second waiter");
    auto.signal().unwrap();
    eventually("both released", || count() == 2);
    for c in ak {
        worker_results(c);
    }
    assert!(!auto.is_signaled());
    // Signals with nobody waiting coalesce into one.
    auto.signal().unwrap();
    auto.signal().unwrap();
    auto.signal().unwrap();
    assert!(auto.try_wait().unwrap());
    assert!(!auto.try_wait().unwrap());
}

#[test]
fn rwlock_readers_share_and_a_writer_excludes() {
    let (t, seg) = temp_segment("mp_rwlock", 1 << 16);
    let rw = RwLock::create(&seg, "rw").unwrap();
    Barrier::create(&seg, "both", 2).unwrap();
    let pair = Array::<u64>::create(&seg, "pair", 2).unwrap();

    // Two reader processes hold read guards at the same time.
    let sk: Vec<_> = (0..2).map(|k| spawn("rw_share", &t, k)).collect();
    for c in sk {
        assert_eq!(result_value(&worker_results(c), "readers"), 2);
    }
    assert_eq!(rw.readers(), 0);

    // Two writers and two readers; readers check a == b under the lock.
    let start = Instant::now();
    let mut kids: Vec<_> = (0..2).map(|k| spawn("rw_writer", &t, k)).collect();
    kids.extend((0..2).map(|k| spawn("rw_reader", &t, k)));
    let mut reads = 0;
    for c in kids {
        let r = worker_results(c);
        if !r.is_empty() {
            reads += result_value(&r, "reads");
        }
    }
    eprintln!(
        "rwlock: 4000 writes, {reads} checked reads in {:?}",
        start.elapsed()
    );
    assert_eq!(pair.to_vec(), [4000, 4000]);
    assert!(reads >= 2);
    assert_eq!(rw.readers(), 0);
    assert!(!rw.is_write_locked());
}

#[test]
fn monitor_producers_and_consumers_across_processes() {
    let (t, seg) = temp_segment("mp_monitor", 1 << 16);
    let mon = Monitor::create(&seg, "mon").unwrap();
    Array::<u64>::create(&seg, "slot", 2).unwrap(); // [full, value]
    let start = Instant::now();
    let mut kids: Vec<_> = (0..2).map(|k| spawn("producer", &t, k)).collect();
    kids.extend((0..2).map(|k| spawn("consumer", &t, k)));
    let mut sum = 0;
    for c in kids {
        let r = worker_results(c);
        if !r.is_empty() {
            sum += result_value(&r, "sum");
        }
    }
    eprintln!(
        "monitor: 2000 items through a 1-slot buffer in {:?}",
        start.elapsed()
    );
    let per_producer: u64 = (1..=1000).sum();
    assert_eq!(sum, 2 * per_producer + 1_000_000 * 1000);
    assert!(!mon.is_locked());
    assert_eq!(mon.waiters(), 0);
}

#[test]
fn signal_versions_are_monotonic_in_a_reader_process() {
    let (t, seg) = temp_segment("mp_signal", 1 << 16);
    let sig = Signal::<[u64; 2]>::create(&seg, "sig", [0, 0]).unwrap();
    let reader = spawn("sig_reader", &t, 0);
    let writer = spawn("sig_writer", &t, 1);
    worker_results(writer);
    let distinct = result_value(&worker_results(reader), "distinct");
    eprintln!("signal: reader saw {distinct} distinct versions of 5000");
    assert!(distinct >= 1);
    assert_eq!(sig.get_versioned().unwrap(), (5000, [5000, 15000]));
}

#[test]
fn a_blocked_waiter_uses_no_cpu() {
    let (t, seg) = temp_segment("mp_cpu", 1 << 16);
    let s = Semaphore::create(&seg, "s", 0, 0).unwrap();
    let e = Event::create(&seg, "e", EventMode::ManualReset).unwrap();
    let ks = spawn("cpu_sem", &t, 0);
    let ke = spawn("cpu_event", &t, 1);
    eventually("both blocked", || s.waiting() == 1 && e.waiting() == 1);
    std::thread::sleep(Duration::from_secs(1));
    s.release().unwrap();
    e.signal().unwrap();
    for (what, c) in [("semaphore", ks), ("event", ke)] {
        let r = worker_results(c);
        let (cpu_us, waited_ms) = (result_value(&r, "cpu_us"), result_value(&r, "waited_ms"));
        eprintln!("{what} waiter: blocked {waited_ms} ms using {cpu_us} us of CPU");
        assert!(
            waited_ms >= 900,
            "{what}: the wait did not block ({waited_ms} ms)"
        );
        assert!(
            cpu_us < 100_000,
            "{what}: {cpu_us} us of CPU over {waited_ms} ms"
        );
    }
}

#[test]
fn every_timeout_variant_times_out_when_nobody_releases() {
    let (_t, seg) = temp_segment("sync_timeouts", 1 << 16);

    let s = Semaphore::create(&seg, "s", 0, 0).unwrap();
    assert!(is_timeout(s.acquire_timeout(SHORT)));
    assert!(!s.try_acquire().unwrap());
    assert_eq!(s.waiting(), 0, "a timed-out waiter withdraws");

    let m = Mutex::create(&seg, "m").unwrap();
    let g = m.lock().unwrap();
    assert!(is_timeout(m.lock_timeout(SHORT)));
    assert!(m.try_lock().unwrap().is_none());
    assert!(
        m.is_locked(),
        "a failed try_lock released the holder's lock"
    );
    g.unlock().unwrap(); // exactly one unlock, and it succeeds
    assert!(m.force_unlock().is_err(), "a second unlock succeeded");
    m.try_lock().unwrap().unwrap().unlock().unwrap();

    // Barrier: a timed-out participant stays counted and resumes.
    let b1 = Barrier::create(&seg, "b", 2).unwrap();
    assert!(is_timeout(b1.wait_timeout(SHORT)));
    assert_eq!(b1.pending_generation(), Some(0));
    assert_eq!(b1.arrived(), 1);
    let b2 = Barrier::open(&seg, "b").unwrap();
    let r2 = b2.wait_timeout(SHORT).unwrap();
    assert!(r2.is_leader());
    assert_eq!(r2.generation(), 0);
    let r1 = b1.wait_timeout(SHORT).unwrap(); // resumes generation 0
    assert_eq!((r1.generation(), r1.is_leader()), (0, false));
    assert_eq!((b1.generation(), b1.arrived()), (1, 0));
    assert_eq!(b1.pending_generation(), None);

    let l = Latch::create(&seg, "l", 1).unwrap();
    assert!(is_timeout(l.wait_timeout(SHORT)));
    l.count_down(1).unwrap();
    l.wait_timeout(SHORT).unwrap();

    // Once: another thread is running it.
    let once = Once::create(&seg, "o").unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let runner = {
        let seg = seg.clone();
        std::thread::spawn(move || {
            Once::open(&seg, "o")
                .unwrap()
                .call_once(|| rx.recv().unwrap())
                .unwrap()
        })
    };
    eventually("once running", || {
        once.state().unwrap() == OnceState::Running
    });
    assert!(is_timeout(
        once.call_once_timeout(SHORT, || panic!("must not run"))
    ));
    assert_eq!(once.try_call_once(|| panic!("must not run")).unwrap(), None);
    tx.send(()).unwrap();
    assert!(runner.join().unwrap());
    assert!(!once
        .call_once_timeout(SHORT, || panic!("must not run"))
        .unwrap());

    for mode in [EventMode::ManualReset, EventMode::AutoReset] {
        let e = Event::create(&seg, &format!("e{}", mode as u32), mode).unwrap();
        assert!(is_timeout(e.wait_timeout(SHORT)));
        assert!(!e.try_wait().unwrap());
        assert_eq!(e.waiting(), 0);
        assert_eq!(e.semaphore().waiting(), 0);
    }
    // A manual-reset waiter that died stays counted: pulse gives up, resets.
    let e = Event::create(&seg, "pe", EventMode::ManualReset).unwrap();
    e.region()
        .atomic_u32(8)
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    assert!(is_timeout(e.pulse_timeout(SHORT)));
    assert!(!e.is_signaled());

    let rw = RwLock::create(&seg, "rw").unwrap();
    let r = rw.read().unwrap();
    assert!(is_timeout(rw.write_timeout(SHORT)));
    assert!(!rw.is_write_locked(), "a timed-out writer clears its flag");
    assert!(rw.try_write().unwrap().is_none());
    let r2 = rw.read_timeout(SHORT).unwrap(); // readers still get in
    drop((r, r2));
    let w = rw.write().unwrap();
    assert!(is_timeout(rw.read_timeout(SHORT)));
    assert!(is_timeout(rw.write_timeout(SHORT)));
    assert!(rw.try_read().unwrap().is_none());
    assert_eq!(
        rw.readers(),
        0,
        "a failed try_read changed the reader count"
    );
    assert!(
        rw.is_write_locked(),
        "a failed try_read released the writer"
    );
    drop(w);
    assert!(!rw.is_write_locked());
    assert!(rw.try_read().unwrap().is_some());
    assert_eq!(rw.readers(), 0);

    let mon = Monitor::create(&seg, "mon").unwrap();
    let g = mon.lock().unwrap();
    assert!(is_timeout(mon.lock_timeout(SHORT)));
    assert!(mon.try_lock().unwrap().is_none());
    assert!(
        mon.is_locked(),
        "a failed try_lock released the holder's monitor"
    );
    assert!(is_timeout(g.wait_timeout(SHORT)));
    assert!(
        !mon.is_locked(),
        "after a timed-out wait the monitor is not held"
    );
    assert_eq!(mon.waiters(), 0);
    // The notify_all bug fix: permits never exceed the counted waiters.
    mon.notify_all().unwrap();
    mon.notify_one().unwrap();
    assert_eq!(mon.condition().count(), 0);

    let sig = Signal::<u32>::create(&seg, "sig", 1).unwrap();
    assert!(is_timeout(sig.wait_for_change_timeout(0, SHORT)));
    let held = sig.mutex().lock().unwrap();
    assert!(is_timeout(sig.get_timeout(SHORT)));
    assert!(is_timeout(sig.set_timeout(2, SHORT)));
    assert!(sig.try_get().unwrap().is_none());
    assert!(!sig.try_set(3).unwrap());
    held.unlock().unwrap(); // still held by us after the failed tries
    assert_eq!(sig.get_versioned().unwrap(), (0, 1));
}

#[test]
fn a_killed_holder_leaves_others_timing_out_not_hanging() {
    let (t, seg) = temp_segment("mp_kill", 1 << 16);
    let m = Mutex::create(&seg, "m").unwrap();
    let rw = RwLock::create(&seg, "rw").unwrap();
    let once = Once::create(&seg, "o").unwrap();
    let mut child = spawn("hold_and_die", &t, 0);
    let out = child.stdout.take().unwrap();
    let holding = BufReader::new(out)
        .lines()
        .map_while(|l| l.ok())
        .any(|l| l == "RESULT holding");
    assert!(holding, "worker never reported holding its locks");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let start = Instant::now();
    assert!(is_timeout(m.lock_timeout(Duration::from_millis(100))));
    assert!(is_timeout(rw.read_timeout(Duration::from_millis(100))));
    assert!(is_timeout(rw.write_timeout(Duration::from_millis(100))));
    assert!(is_timeout(
        once.call_once_timeout(Duration::from_millis(100), || {})
    ));
    assert_eq!(once.state().unwrap(), OnceState::Running);
    assert!(start.elapsed() < Duration::from_secs(5));

    // Recovery by a supervisor that knows the holder is dead.
    m.force_unlock().unwrap();
    m.lock_timeout(Duration::from_millis(100))
        .unwrap()
        .unlock()
        .unwrap();
    assert!(m.force_unlock().is_err(), "not locked any more");
}

#[test]
fn single_process_semantics_and_argument_errors() {
    let (_t, seg) = temp_segment("sync_semantics", 1 << 16);

    // Once: a panicking closure does not complete it (C++ std::call_once
    // semantics, unlike the reference which stores DONE); the next call runs.
    let once = Once::create(&seg, "o").unwrap();
    let r = std::panic::catch_unwind(|| once.call_once(|| panic!("init failed")));
    assert!(r.is_err());
    assert_eq!(once.state().unwrap(), OnceState::Pending);
    let mut runs = 0;
    assert!(once.call_once(|| runs += 1).unwrap());
    assert_eq!(runs, 1);
    assert_eq!(once.try_call_once(|| runs += 1).unwrap(), Some(false));
    assert_eq!(runs, 1);
    // A state outside 0..=2 is reported, not trusted.
    once.region()
        .atomic_u32(0)
        .store(7, std::sync::atomic::Ordering::SeqCst);
    assert!(once.call_once(|| {}).is_err());
    assert!(Once::open(&seg, "o").is_err());

    // Semaphore bounds.
    let s = Semaphore::create(&seg, "s", 1, 1).unwrap();
    let err = s.release().unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(err.to_string().contains("max_count 1"), "{err}");
    assert!(Semaphore::create(&seg, "bad", 3, 2).is_err());
    assert!(Semaphore::create(&seg, "bad", -1, 0).is_err());
    let u = Semaphore::create(&seg, "u", 0, 0).unwrap(); // unbounded
    for _ in 0..10 {
        u.release().unwrap();
    }
    assert_eq!(u.count(), 10);

    // Mutex: a semaphore that is not max 1 is refused; force_unlock.
    assert!(Mutex::open(&seg, "u").is_err());
    let m = Mutex::create(&seg, "m").unwrap();
    std::mem::forget(m.lock().unwrap());
    assert!(m.is_locked());
    m.force_unlock().unwrap();
    assert!(m.force_unlock().is_err());

    // Latch / Barrier arguments.
    let l = Latch::create(&seg, "l", 3).unwrap();
    assert!(l.count_down(0).is_err());
    l.count_down(10).unwrap(); // saturates at 0
    assert_eq!(l.count(), 0);
    l.reset().unwrap();
    assert_eq!(l.count(), 3);
    assert!(Latch::create(&seg, "bad", -1).is_err());
    assert!(Barrier::create(&seg, "bad", 0).is_err());
    let one = Barrier::create(&seg, "one", 1).unwrap();
    for g in 0..3 {
        let r = one.wait().unwrap();
        assert_eq!((r.generation(), r.is_leader()), (g, true));
    }

    // Event: a stored mode outside {0, 1} is refused on open.
    let e = Event::create(&seg, "e", EventMode::AutoReset).unwrap();
    e.region().write::<u32>(4, 7);
    let err = Event::open(&seg, "e").unwrap_err();
    assert!(err.to_string().contains("mode 7"), "{err}");
    // Auto-reset pulse with nobody waiting leaves nothing pending.
    let a = Event::create(&seg, "a", EventMode::AutoReset).unwrap();
    a.pulse().unwrap();
    assert!(!a.try_wait().unwrap());

    // Monitor notifies with nobody waiting give no permits.
    let mon = Monitor::create(&seg, "mon").unwrap();
    mon.notify_one().unwrap();
    mon.notify_all().unwrap();
    assert_eq!(mon.condition().count(), 0);
}

/// The issue-14 forms across processes: a timed-out latch arrival is
/// withdrawn and later arrivals from other processes still count exactly; a
/// barrier polled with `try_wait` meets a blocked peer; `try_pulse` refuses
/// while a peer is blocked in a manual wait. And a structure's recorded kind
/// makes a peer's open of the wrong 16-byte primitive fail, while a segment
/// without descriptions opens the same bytes as before.
#[test]
fn new_forms_and_recorded_kinds_across_processes() {
    let t = TempSeg {
        name: unique_name("mp_forms"),
    };
    let seg = zeroipc::SegmentOptions::new()
        .size(1 << 16)
        .self_describing(true)
        .create(&t.name)
        .unwrap();

    let l = Latch::create(&seg, "l", 3).unwrap();
    assert!(is_timeout(l.arrive_and_wait_timeout(SHORT)));
    assert_eq!(l.count(), 3, "the timed-out arrival was not withdrawn");
    assert!(!l.try_arrive_and_wait().unwrap());
    assert_eq!(l.count(), 3, "a failed try_arrive_and_wait counted down");
    let kids: Vec<_> = (0..2).map(|k| spawn("latch_arrive", &t, k)).collect();
    eventually("two arrivals from other processes", || l.count() == 1);
    assert!(
        l.try_arrive_and_wait().unwrap(),
        "the last arrival opens it"
    );
    for c in kids {
        assert_eq!(worker_results(c), ["opened=1"]);
    }

    let b = Barrier::create(&seg, "b", 2).unwrap();
    let peer = spawn("barrier_wait", &t, 0);
    let start = Instant::now();
    let mine = loop {
        if let Some(r) = b.try_wait().unwrap() {
            break r;
        }
        // The arrival stays pending on the handle: the next poll resumes it.
        assert_eq!(
            b.pending_generation(),
            Some(0),
            "polling would arrive again"
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "barrier never completed"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    let theirs = result_value(&worker_results(peer), "leader");
    assert_eq!(mine.generation(), 0);
    assert_eq!(mine.is_leader() as u64 + theirs, 1, "exactly one leader");
    assert_eq!((b.generation(), b.arrived()), (1, 0));

    let pm = Event::create(&seg, "pm", EventMode::ManualReset).unwrap();
    let waiter = spawn("ev_pulse_wait", &t, 0);
    eventually("a counted waiter in another process", || pm.waiting() == 1);
    assert!(!pm.try_pulse().unwrap(), "try_pulse would have had to wait");
    assert_eq!((pm.is_signaled(), pm.waiting()), (false, 1));
    pm.pulse_timeout(Duration::from_secs(20)).unwrap();
    worker_results(waiter);
    assert_eq!((pm.is_signaled(), pm.waiting()), (false, 0));

    Mutex::create(&seg, "m").unwrap();
    Semaphore::create(&seg, "s1", 1, 1).unwrap(); // a mutex's bytes exactly
    let refusals = worker_results(spawn("wrong_kind", &t, 0));
    assert_eq!(
        refusals,
        [
            "semaphore=mutex",
            "barrier=mutex",
            "latch=mutex",
            "mutex=semaphore"
        ]
    );

    // Without descriptions (a reference library's segment), only the bytes
    // decide, and a mutex's bytes pass every 16-byte kind's checks.
    let bare = TempSeg {
        name: unique_name("mp_forms_bare"),
    };
    let seg = zeroipc::SegmentOptions::new()
        .size(1 << 16)
        .self_describing(false)
        .create(&bare.name)
        .unwrap();
    Mutex::create(&seg, "m").unwrap();
    Semaphore::create(&seg, "s1", 1, 1).unwrap();
    assert_eq!(seg.description("m").unwrap(), None);
    assert_eq!(Semaphore::open(&seg, "m").unwrap().max_count(), 1);
    assert_eq!(Barrier::open(&seg, "m").unwrap().participants(), 1);
    assert_eq!(Latch::open(&seg, "m").unwrap().count(), 1);
    assert!(!Mutex::open(&seg, "s1").unwrap().is_locked());
}
