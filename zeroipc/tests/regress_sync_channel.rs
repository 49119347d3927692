//! Regression tests for issue 12 items 1, 3, 4 and 10 (bullets 3 and 4),
//! in one process (threads with their own handles). The items that need a
//! killed peer are in `regress_sync_channel_mp.rs`.
//!
//! Every wait has a timeout, so a regression fails instead of hanging.

mod common;

use common::*;
use std::time::{Duration, Instant};
use zeroipc::codata::channel::select;
use zeroipc::{
    Barrier, Channel, Error, Event, EventMode, Future, Latch, Lazy, Monitor, Mutex, Once, Queue,
    RwLock, Segment, Semaphore, Signal, Stack, Stream,
};

/// Generous bound for "is released": far above any scheduling delay.
const RELEASE: Duration = Duration::from_secs(5);

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

/// Starts `n` threads, each opening the auto-reset event `name` with its
/// own handle and waiting up to [`RELEASE`] on it; returns their handles
/// once all `n` are blocked (counted in the event semaphore's `waiting`).
fn blocked_waiters(
    seg: &Segment,
    name: &str,
    n: usize,
) -> Vec<std::thread::JoinHandle<zeroipc::Result<()>>> {
    let ev = Event::open(seg, name).unwrap();
    let hs = (0..n)
        .map(|_| {
            let own = Event::open(seg, name).unwrap();
            std::thread::spawn(move || own.wait_timeout(RELEASE))
        })
        .collect();
    eventually("waiters blocked", || ev.semaphore().waiting() == n as i32);
    hs
}

fn released(hs: Vec<std::thread::JoinHandle<zeroipc::Result<()>>>) -> usize {
    hs.into_iter()
        .map(|h| h.join().unwrap())
        .filter(|r| match r {
            Ok(()) => true,
            Err(Error::Timeout { .. }) => false,
            Err(e) => panic!("unexpected wait error: {e}"),
        })
        .count()
}

/// Item 1: two blocked waiters, two signals: both are released (the
/// coalescing `release_below(1)` released one in 49-50 of 50 rounds).
#[test]
fn auto_reset_two_signals_release_two_blocked_waiters() {
    let (_t, seg) = temp_segment("rg_ev2s", 1 << 16);
    let ev = Event::create(&seg, "ev", EventMode::AutoReset).unwrap();
    for round in 0..5 {
        let hs = blocked_waiters(&seg, "ev", 2);
        ev.signal().unwrap();
        ev.signal().unwrap();
        assert_eq!(released(hs), 2, "round {round}: a signal was lost");
        assert!(!ev.is_signaled(), "round {round}: a permit is left over");
        assert!(
            !ev.try_wait().unwrap(),
            "round {round}: a permit is left over"
        );
    }
}

/// Item 1: `pulse` twice with two blocked waiters releases both, and a
/// pulse with nobody blocked leaves nothing pending.
#[test]
fn auto_reset_two_pulses_release_two_blocked_waiters() {
    let (_t, seg) = temp_segment("rg_ev2p", 1 << 16);
    let ev = Event::create(&seg, "ev", EventMode::AutoReset).unwrap();
    for round in 0..5 {
        let hs = blocked_waiters(&seg, "ev", 2);
        ev.pulse().unwrap();
        ev.pulse().unwrap();
        assert_eq!(released(hs), 2, "round {round}: a pulse was lost");
    }
    ev.pulse().unwrap();
    assert!(!ev.is_signaled());
    assert!(
        !ev.try_wait().unwrap(),
        "a pulse with nobody waiting stayed pending"
    );
}

/// Item 1: `reset` right after a signal meant for a blocked waiter must not
/// take that waiter's permit (the old reset took any pending permit).
#[test]
fn auto_reset_reset_does_not_steal_a_blocked_waiters_signal() {
    let (_t, seg) = temp_segment("rg_evrs", 1 << 16);
    let ev = Event::create(&seg, "ev", EventMode::AutoReset).unwrap();
    for round in 0..10 {
        let hs = blocked_waiters(&seg, "ev", 1);
        ev.signal().unwrap();
        ev.reset().unwrap();
        assert_eq!(released(hs), 1, "round {round}: reset stole the signal");
    }
    // Reset still clears a signal nobody was waiting for.
    ev.signal().unwrap();
    assert!(ev.is_signaled());
    ev.reset().unwrap();
    assert!(!ev.is_signaled());
    assert!(!ev.try_wait().unwrap());
}

/// Item 1: a `try_wait` (or a newly arriving wait) does not take a signal
/// that already released a blocked waiter, as with a Win32 auto-reset event.
#[test]
fn auto_reset_try_wait_does_not_steal_a_blocked_waiters_signal() {
    let (_t, seg) = temp_segment("rg_evtw", 1 << 16);
    let ev = Event::create(&seg, "ev", EventMode::AutoReset).unwrap();
    for round in 0..10 {
        let hs = blocked_waiters(&seg, "ev", 1);
        ev.signal().unwrap();
        assert!(
            !ev.try_wait().unwrap(),
            "round {round}: try_wait took the signal"
        );
        assert_eq!(
            released(hs),
            1,
            "round {round}: the waiter was not released"
        );
    }
}

/// Item 1: what did not change: signals with nobody waiting coalesce into
/// one pending signal, and one waiter plus two signals leaves one pending
/// (the first released the waiter, the second found nobody).
#[test]
fn auto_reset_signals_without_waiters_still_coalesce() {
    let (_t, seg) = temp_segment("rg_evco", 1 << 16);
    let ev = Event::create(&seg, "ev", EventMode::AutoReset).unwrap();
    ev.signal().unwrap();
    ev.signal().unwrap();
    ev.signal().unwrap();
    assert!(ev.is_signaled());
    assert!(ev.try_wait().unwrap());
    assert!(!ev.try_wait().unwrap());
    let hs = blocked_waiters(&seg, "ev", 1);
    ev.signal().unwrap();
    ev.signal().unwrap();
    assert_eq!(released(hs), 1);
    assert!(
        ev.try_wait().unwrap(),
        "the second signal should stay pending"
    );
    assert!(!ev.try_wait().unwrap(), "only one signal may stay pending");
}

/// Item 3: with both channels non-empty, consecutive selects alternate
/// (32 selects took 32 values from `a` and none from `b` before).
#[test]
fn select_is_fair_across_calls() {
    let (_t, seg) = temp_segment("rg_selfair", 1 << 16);
    let a = Channel::<u32>::create(&seg, "a", 64).unwrap();
    let b = Channel::<u32>::create(&seg, "b", 64).unwrap();
    for i in 0..32 {
        a.send(i).unwrap();
        b.send(100 + i).unwrap();
    }
    let mut from = [0u32; 2];
    let mut longest_run = 0;
    let (mut run, mut last) = (0, usize::MAX);
    for _ in 0..32 {
        let (i, v) = select(&[&a, &b], Some(RELEASE)).unwrap();
        assert_eq!(v >= 100, i == 1, "value {v} reported from channel {i}");
        from[i] += 1;
        run = if i == last { run + 1 } else { 1 };
        last = i;
        longest_run = longest_run.max(run);
    }
    assert_eq!(from[0] + from[1], 32);
    assert!(
        from[0] >= 12 && from[1] >= 12,
        "select took {} from a and {} from b",
        from[0],
        from[1]
    );
    assert!(
        longest_run <= 2,
        "{longest_run} selects in a row took the same channel"
    );
    // Three channels: round-robin, each gets its turn.
    let c = Channel::<u32>::create(&seg, "c", 64).unwrap();
    for i in 0..8 {
        c.send(200 + i).unwrap();
    }
    let mut seen = [0u32; 3];
    for _ in 0..12 {
        seen[select(&[&a, &b, &c], Some(RELEASE)).unwrap().0] += 1;
    }
    assert_eq!(seen, [4, 4, 4], "three busy channels share the selects");
}

/// Item 4: huge timeouts mean "no deadline" for Channel: no panic on
/// `Instant + Duration` overflow, and the operation still completes.
#[test]
fn channel_timeouts_accept_huge_durations() {
    let (_t, seg) = temp_segment("rg_chhuge", 1 << 16);
    for huge in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
        let name = format!("b{}", huge.as_secs() % 1000);
        let ch = Channel::<u64>::create(&seg, &name, 4).unwrap();
        ch.send_timeout(7, huge).unwrap();
        assert_eq!(ch.recv_timeout(huge).unwrap(), 7);
        // Blocking with a huge timeout: a peer completes the operation.
        let rx = ch.clone();
        let h = std::thread::spawn(move || rx.recv_timeout(huge));
        std::thread::sleep(Duration::from_millis(20));
        ch.send_timeout(8, huge).unwrap();
        assert_eq!(h.join().unwrap().unwrap(), 8);

        let name = format!("u{}", huge.as_secs() % 1000);
        let rv = Channel::<u64>::create(&seg, &name, 0).unwrap();
        let rx = rv.clone();
        let h = std::thread::spawn(move || rx.recv_timeout(huge));
        rv.send_timeout(9, huge).unwrap();
        assert_eq!(h.join().unwrap().unwrap(), 9);
        let tx = rv.clone();
        let h = std::thread::spawn(move || tx.send_timeout(10, huge));
        assert_eq!(rv.recv_timeout(huge).unwrap(), 10);
        h.join().unwrap().unwrap();
        // select with a huge timeout.
        ch.send(11).unwrap();
        assert_eq!(select(&[&ch], Some(huge)).unwrap(), (0, 11));
    }
}

/// Item 4: every other `*_timeout` accepts the same huge durations when
/// its condition already holds (and a few complete with a peer).
#[test]
fn every_timeout_variant_accepts_huge_durations() {
    let (_t, seg) = temp_segment("rg_allhuge", 1 << 18);
    for (k, huge) in [Duration::MAX, Duration::from_secs(u64::MAX / 2)]
        .into_iter()
        .enumerate()
    {
        let n = |s: &str| format!("{s}{k}");
        let sem = Semaphore::create(&seg, &n("sem"), 1, 0).unwrap();
        sem.acquire_timeout(huge).unwrap();
        let m = Mutex::create(&seg, &n("mtx")).unwrap();
        drop(m.lock_timeout(huge).unwrap());
        let b = Barrier::create(&seg, &n("bar"), 1).unwrap();
        assert!(b.wait_timeout(huge).unwrap().is_leader());
        let l = Latch::create(&seg, &n("lat"), 0).unwrap();
        l.wait_timeout(huge).unwrap();
        let o = Once::create(&seg, &n("once")).unwrap();
        assert!(o.call_once_timeout(huge, || {}).unwrap());
        for mode in [EventMode::AutoReset, EventMode::ManualReset] {
            let e = Event::create(&seg, &n(&format!("ev{}", mode as u32)), mode).unwrap();
            e.signal().unwrap();
            e.wait_timeout(huge).unwrap();
            e.pulse_timeout(huge).unwrap();
        }
        // Auto-reset, blocking: a signal from a peer ends the huge wait.
        let e = Event::create(&seg, &n("evb"), EventMode::AutoReset).unwrap();
        let ew = e.clone();
        let h = std::thread::spawn(move || ew.wait_timeout(huge));
        eventually("event waiter", || e.semaphore().waiting() == 1);
        e.signal().unwrap();
        h.join().unwrap().unwrap();
        let rw = RwLock::create(&seg, &n("rw")).unwrap();
        drop(rw.read_timeout(huge).unwrap());
        drop(rw.write_timeout(huge).unwrap());
        let mon = Monitor::create(&seg, &n("mon")).unwrap();
        let g = mon.lock_timeout(huge).unwrap();
        // No notifier: the wait returns spuriously (WAIT_SLICE) holding the lock.
        let g = g.wait_timeout(huge).unwrap();
        drop(g);
        let sig = Signal::<u32>::create(&seg, &n("sig"), 1).unwrap();
        sig.set_timeout(2, huge).unwrap();
        assert_eq!(sig.update_timeout(huge, |x| x + 1).unwrap(), 3);
        assert_eq!(sig.get_timeout(huge).unwrap(), 3);
        assert_eq!(sig.wait_for_change_timeout(0, huge).unwrap(), 2);
        let q = Queue::<u32>::create(&seg, &n("q"), 4).unwrap();
        q.push_timeout(1, huge).unwrap();
        assert_eq!(q.pop_timeout(huge).unwrap(), 1);
        let s = Stack::<u32>::create(&seg, &n("st"), 4).unwrap();
        s.push_timeout(1, huge).unwrap();
        assert_eq!(s.pop_timeout(huge).unwrap(), 1);
        let f = Future::<u32>::create(&seg, &n("fut")).unwrap();
        assert!(f.set_value(5));
        assert_eq!(f.get_timeout(huge).unwrap(), 5);
        let lz = Lazy::<i32>::constant(&seg, &n("lz"), 6).unwrap();
        assert_eq!(lz.force_timeout(huge).unwrap(), 6);
        let st = Stream::<u32>::create(&seg, &n("str"), 4).unwrap();
        let mut sub = st.subscribe();
        st.emit_timeout(4, huge).unwrap();
        assert_eq!(sub.next_timeout(huge).unwrap(), 4);
        assert_eq!(st.recv_timeout(huge).unwrap(), 4);
        // The waiting helpers themselves.
        let w = std::sync::atomic::AtomicU32::new(1);
        let got = zeroipc::wait::wait_until(&w, Some(huge), || Some(3));
        assert_eq!(got, Some(3));
        assert_eq!(zeroipc::wait::poll_until(Some(huge), || Some(4)), Some(4));
    }
}

/// Item 10, third bullet: timeouts of composite primitives name the
/// structure the caller opened and its kind, not an inner part.
#[test]
fn composite_timeouts_name_the_users_structure() {
    let (_t, seg) = temp_segment("rg_tonames", 1 << 16);
    let short = Duration::from_millis(20);
    let check = |r: zeroipc::Result<()>, name: &str, kind: &str| match r {
        Err(Error::Timeout {
            name: n, kind: k, ..
        }) => {
            assert_eq!((n.as_str(), k), (name, kind), "timeout of {name}");
        }
        other => panic!("{name}: expected a timeout, got {other:?}"),
    };
    let auto = Event::create(&seg, "ev", EventMode::AutoReset).unwrap();
    check(auto.wait_timeout(short), "ev", "event");
    let manual = Event::create(&seg, "evm", EventMode::ManualReset).unwrap();
    check(manual.wait_timeout(short), "evm", "event");

    let rw = RwLock::create(&seg, "rw").unwrap();
    let w = rw.write().unwrap();
    let other = RwLock::open(&seg, "rw").unwrap();
    check(other.read_timeout(short).map(drop), "rw", "rwlock");
    check(other.write_timeout(short).map(drop), "rw", "rwlock");
    drop(w);
    let r = rw.read().unwrap();
    check(other.write_timeout(short).map(drop), "rw", "rwlock");
    drop(r);

    let mon = Monitor::create(&seg, "mon").unwrap();
    let g = mon.lock().unwrap();
    let other = Monitor::open(&seg, "mon").unwrap();
    check(other.lock_timeout(short).map(drop), "mon", "monitor");
    check(g.wait_timeout(short).map(drop), "mon", "monitor");

    let sig = Signal::<u32>::create(&seg, "sig", 1).unwrap();
    let held = sig.mutex().lock().unwrap();
    check(sig.get_timeout(short).map(drop), "sig", "signal");
    check(sig.set_timeout(2, short), "sig", "signal");
    check(sig.update_timeout(short, |x| x).map(drop), "sig", "signal");
    drop(held);
    check(
        sig.wait_for_change_timeout(0, short).map(drop),
        "sig",
        "signal",
    );
}

/// Item 10, fourth bullet: an unbuffered `send_timeout` that times out (and
/// a `try_send` that finds no taker) leaves every byte of the segment as it
/// was: `send_seq`, the slot's `consumed` byte and its data.
#[test]
fn failed_unbuffered_sends_leave_the_bytes_unchanged() {
    let (t, seg) = temp_segment("rg_rvbytes", 1 << 16);
    let ch = Channel::<u64>::create(&seg, "rv", 0).unwrap();
    // A completed transfer first, so the slot holds an old value and
    // consumed = 1 (bytes a failed send must put back).
    let rx = ch.clone();
    let h = std::thread::spawn(move || rx.recv_timeout(RELEASE));
    ch.send_timeout(0x1111_2222_3333_4444, RELEASE).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 0x1111_2222_3333_4444);
    let before = t.bytes();
    let e = ch
        .send_timeout(0x5555_6666_7777_8888, Duration::from_millis(20))
        .unwrap_err();
    assert!(e.is_timeout() && e.value == 0x5555_6666_7777_8888, "{e}");
    let after = t.bytes();
    let diff: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert!(diff.is_empty(), "timed-out send changed bytes at {diff:?}");
    assert!(ch.try_send(9).unwrap_err().is_full());
    assert_eq!(
        t.bytes(),
        before,
        "a try_send with nobody waiting changed bytes"
    );
    // The channel still works, and a completed transfer is counted.
    let rx = ch.clone();
    let h = std::thread::spawn(move || rx.recv_timeout(RELEASE));
    ch.send_timeout(3, RELEASE).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 3);
}

/// try_send with a live receiver waiting still hands the value over (the
/// item 10 fix must not turn try_send into "never sends").
#[test]
fn unbuffered_try_send_reaches_a_live_receiver() {
    let (_t, seg) = temp_segment("rg_trysend", 1 << 16);
    let ch = Channel::<u32>::create(&seg, "rv", 0).unwrap();
    for round in 0..5u32 {
        let rx = Channel::<u32>::open(&seg, "rv").unwrap();
        let h = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(20)));
        eventually("receiver waiting", || ch.receiver_count() == 1);
        let start = Instant::now();
        while let Err(e) = ch.try_send(round) {
            assert!(e.is_full(), "round {round}: {e}");
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "round {round}: try_send never reached the waiting receiver"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(h.join().unwrap().unwrap(), round);
    }
}
