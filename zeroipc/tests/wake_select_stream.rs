//! Wake-ups of `select` over channels and of Stream emit/next (issue 15):
//! a party in another process wakes the sleeper (values arrive, closes are
//! seen), and a "reference-like" party that changes the bytes directly,
//! without any futex wake, is still seen within the bounded poll.
//!
//! Timing: no assertion depends on speed except the generous "seen within
//! 1 s" bound of the no-wake tests (the bounded poll is 2 ms); every wait
//! in these tests has a 60 s limit so that a lost wake-up shows up as a
//! failure rather than a hang.

mod common;

use common::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use zeroipc::codata::channel::select;
use zeroipc::format::{channel as chfmt, queue as qfmt, ring as rfmt, ElemLayout};
use zeroipc::{Channel, Error, Segment, SegmentOptions, Stream};

/// Every blocking call of these tests gives up after this (a lost wake-up
/// would be bounded by 2 ms polls anyway; this only turns a hang into a
/// failure).
const LONG: Duration = Duration::from_secs(60);

/// The bound within which a change made without a wake-up must be seen.
const NO_WAKE_BOUND: Duration = Duration::from_secs(1);

/// How long a worker lets its parent fall asleep before acting.
const LET_SLEEP: Duration = Duration::from_millis(100);

fn spawn(role: &str, seg: &TempSeg) -> std::process::Child {
    spawn_worker(
        "worker",
        &[("WS_SEG", seg.name.clone()), ("WS_ROLE", role.to_owned())],
    )
}

/// A segment with (`registry` true) or without the waiter registry.
fn segment(tag: &str, registry: bool) -> (TempSeg, Segment) {
    let t = TempSeg {
        name: unique_name(tag),
    };
    let seg = SegmentOptions::new()
        .size(1 << 20)
        .wake_registry(registry)
        .create(&t.name)
        .unwrap();
    (t, seg)
}

/// Channels "idle" (buffered, never used), "b" (buffered) and "u"
/// (unbuffered), all of u64.
fn channels(seg: &Segment) -> (Channel<u64>, Channel<u64>, Channel<u64>) {
    (
        Channel::create(seg, "idle", 4).unwrap(),
        Channel::create(seg, "b", 4).unwrap(),
        Channel::create(seg, "u", 0).unwrap(),
    )
}

#[test]
fn select_is_woken_by_values_sent_from_another_process() {
    if is_child() {
        return;
    }
    for registry in [true, false] {
        let (t, seg) = segment("wsel", registry);
        let (idle, b, u) = channels(&seg);
        let child = spawn("send", &t);
        // The worker sends 42 on the unbuffered channel (it waits for us to
        // take it), then 43 on the buffered one.
        let first = select(&[&idle, &b, &u], Some(LONG)).unwrap();
        assert_eq!(first, (2, 42), "registry {registry}");
        let second = select(&[&idle, &b, &u], Some(LONG)).unwrap();
        assert_eq!(second, (1, 43), "registry {registry}");
        assert_eq!(worker_results(child), vec!["sent 42 43".to_owned()]);
        // The selects left no receiver counted and nothing queued.
        for c in [&idle, &b, &u] {
            assert_eq!((c.receiver_count(), c.len()), (0, 0), "{}", c.name());
        }
    }
}

#[test]
fn select_reports_closed_channels_closed_by_another_process() {
    if is_child() {
        return;
    }
    let (t, seg) = segment("wselc", true);
    let (_idle, b, u) = channels(&seg);
    b.send(5).unwrap();
    let child = spawn("close", &t);
    // The value sent before the close is delivered first, then Closed.
    assert_eq!(select(&[&b, &u], Some(LONG)).unwrap(), (0, 5));
    let e = select(&[&b, &u], Some(LONG)).unwrap_err();
    assert!(matches!(e, Error::Closed { .. }), "{e}");
    assert_eq!(worker_results(child), vec!["closed".to_owned()]);
    assert!(b.is_closed() && u.is_closed());
}

/// A reference-like buffered sender: the Vyukov push done on the queue's
/// bytes (claim `tail`, write the value, publish the slot's sequence), with
/// no wake-up of any kind.
fn push_without_waking(seg: &Segment, channel: &str, v: u64) {
    let q = seg.region(&format!("{channel}_buffer")).unwrap();
    let cap = q
        .atomic_u32(qfmt::CAPACITY as usize)
        .load(Ordering::Relaxed);
    let seq_off = qfmt::seq_offset(u64::from(cap), ElemLayout::of::<u64>()).unwrap() as usize;
    let tail = q.atomic_u32(qfmt::TAIL as usize);
    let t = tail.load(Ordering::Relaxed);
    let slot = (t & (cap - 1)) as usize;
    let seq = q.atomic_u32(seq_off + 4 * slot);
    assert_eq!(seq.load(Ordering::Acquire), t, "slot {slot} not free");
    tail.compare_exchange(t, t + 1, Ordering::SeqCst, Ordering::Relaxed)
        .unwrap();
    q.write_bytes(qfmt::DATA as usize + 8 * slot, &v.to_le_bytes());
    seq.store(t + 1, Ordering::Release);
}

/// A reference-like unbuffered sender: places the value and sets `ready`,
/// waking nobody (it does not wait for the receiver here).
fn offer_without_waking(seg: &Segment, channel: &str, v: u64) {
    let slot = seg.region(&format!("{channel}_slot")).unwrap();
    let data = chfmt::slot_layout(ElemLayout::of::<u64>()).unwrap().data as usize;
    slot.write_bytes(data, &v.to_le_bytes());
    slot.atomic_u8(chfmt::SLOT_CONSUMED as usize)
        .store(0, Ordering::Relaxed);
    slot.atomic_u8(chfmt::SLOT_READY as usize)
        .store(chfmt::SLOT_FULL, Ordering::Release);
}

#[test]
fn select_sees_senders_that_never_wake_within_the_bounded_poll() {
    if is_child() {
        return;
    }
    let (_t, seg) = segment("wselr", true);
    let (idle, b, u) = channels(&seg);
    for (target, value) in [("b", 7u64), ("u", 8)] {
        let (done, seg2) = (std::sync::mpsc::channel(), seg.clone());
        let writer = std::thread::spawn(move || {
            std::thread::sleep(LET_SLEEP);
            match target {
                "b" => push_without_waking(&seg2, "b", value),
                _ => offer_without_waking(&seg2, "u", value),
            }
            done.0.send(Instant::now()).unwrap();
        });
        let got = select(&[&idle, &b, &u], Some(LONG)).unwrap();
        let seen = Instant::now();
        writer.join().unwrap();
        let written = done.1.recv().unwrap();
        assert_eq!(got, (if target == "b" { 1 } else { 2 }, value));
        assert!(
            seen.saturating_duration_since(written) < NO_WAKE_BOUND,
            "{target}: seen {:?} after the write",
            seen.saturating_duration_since(written)
        );
    }
    // The unbuffered receive left the slot empty and taken.
    let slot = seg.region("u_slot").unwrap();
    assert_eq!(
        slot.atomic_u8(chfmt::SLOT_READY as usize)
            .load(Ordering::Acquire),
        chfmt::SLOT_EMPTY
    );
    assert_eq!(
        slot.atomic_u8(chfmt::SLOT_CONSUMED as usize)
            .load(Ordering::Acquire),
        1
    );
}

#[test]
fn stream_emit_blocked_on_a_full_ring_is_woken_by_a_consumer_process() {
    if is_child() {
        return;
    }
    for registry in [true, false] {
        let (t, seg) = segment("wsem", registry);
        let s = Stream::<u64>::create(&seg, "s", 2).unwrap();
        s.emit(1).unwrap();
        s.emit(2).unwrap();
        assert!(s.try_emit(3).is_err(), "the ring is full");
        let child = spawn("consume", &t);
        // Blocks until the worker (another process) takes 1.
        s.emit_timeout(3, LONG).unwrap();
        assert_eq!(worker_results(child), vec!["took 1".to_owned()]);
        let items: Vec<u64> = s
            .raw()
            .items()
            .iter()
            .map(|b| u64::from_le_bytes(b[..].try_into().unwrap()))
            .collect();
        assert_eq!(items, vec![2, 3], "registry {registry}");
    }
}

#[test]
fn stream_readers_are_woken_by_an_emitting_process() {
    if is_child() {
        return;
    }
    for registry in [true, false] {
        let (t, seg) = segment("wsnx", registry);
        let s = Stream::<u64>::create(&seg, "s", 4).unwrap();
        let mut sub = s.subscribe();
        let child = spawn("emit", &t);
        // The worker emits 7, waits until it was consumed, then emits 8.
        assert_eq!(s.recv_timeout(LONG).unwrap(), 7, "registry {registry}");
        assert_eq!(sub.next_timeout(LONG).unwrap(), 7);
        assert_eq!(sub.next_timeout(LONG).unwrap(), 8);
        assert_eq!(s.recv_timeout(LONG).unwrap(), 8);
        assert_eq!(worker_results(child), vec!["emitted 7 8".to_owned()]);
        assert_eq!((s.sequence(), s.len()), (2, 0));
    }
}

#[test]
fn a_stage_blocked_on_a_full_output_is_woken_by_its_consumer() {
    if is_child() {
        return;
    }
    let (t, seg) = segment("wsstg", true);
    // Capacity 1: the output (of the source's capacity) is full after each
    // element, and so is the source.
    let src = Stream::<u64>::create(&seg, "src", 1).unwrap();
    let mut stage = src.map(&seg, "dst", |x| x * 10).unwrap();
    let dst = stage.output().clone();
    // A producer thread blocks on the full source until the stage takes
    // from it; the worker process takes the output's elements one by one,
    // and the stage sleeps on the full output in between.
    let src2 = src.clone();
    let producer = std::thread::spawn(move || {
        for x in 1..=3 {
            src2.emit_timeout(x, LONG).unwrap();
        }
        src2.close();
    });
    let child = spawn("drain", &t);
    assert_eq!(stage.run_timeout(LONG).unwrap(), 3);
    producer.join().unwrap();
    assert_eq!(worker_results(child), vec!["drained 10 20 30".to_owned()]);
    assert!(dst.is_closed());
}

#[test]
fn stream_parties_that_never_wake_are_seen_within_the_bounded_poll() {
    if is_child() {
        return;
    }
    let (_t, seg) = segment("wsref", true);
    let s = Stream::<u64>::create(&seg, "s", 2).unwrap();
    let ring = seg.region("s_buffer").unwrap();
    // 1. A reference-like consumer frees room by moving read_pos only.
    s.emit(1).unwrap();
    s.emit(2).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let r2 = ring.clone();
    let consumer = std::thread::spawn(move || {
        std::thread::sleep(LET_SLEEP);
        r2.atomic_u64(rfmt::READ_POS as usize)
            .fetch_add(8, Ordering::Release);
        tx.send(Instant::now()).unwrap();
    });
    s.emit_timeout(3, LONG).unwrap();
    let seen = Instant::now();
    consumer.join().unwrap();
    let lag = seen.saturating_duration_since(rx.recv().unwrap());
    assert!(lag < NO_WAKE_BOUND, "emit saw the room {lag:?} late");
    assert_eq!(s.recv_timeout(LONG).unwrap(), 2);
    assert_eq!(s.recv_timeout(LONG).unwrap(), 3);
    // 2. A reference-like producer writes an element and write_pos only.
    let (tx, rx) = std::sync::mpsc::channel();
    let r2 = ring.clone();
    let producer = std::thread::spawn(move || {
        std::thread::sleep(LET_SLEEP);
        let wp = r2.atomic_u64(rfmt::WRITE_POS as usize);
        let pos = wp.load(Ordering::Relaxed);
        r2.write_bytes(
            rfmt::DATA as usize + (pos % 16) as usize,
            &9u64.to_le_bytes(),
        );
        wp.store(pos + 8, Ordering::Release);
        tx.send(Instant::now()).unwrap();
    });
    assert_eq!(s.recv_timeout(LONG).unwrap(), 9);
    let seen = Instant::now();
    producer.join().unwrap();
    let lag = seen.saturating_duration_since(rx.recv().unwrap());
    assert!(lag < NO_WAKE_BOUND, "recv saw the element {lag:?} late");
}

/// Child side, chosen by `WS_ROLE`.
#[test]
#[ignore = "worker process for the multi-process tests"]
fn worker() {
    let seg = Segment::open(&env_var("WS_SEG")).unwrap();
    match env_var("WS_ROLE").as_str() {
        "send" => {
            let (b, u) = (
                Channel::<u64>::open(&seg, "b").unwrap(),
                Channel::<u64>::open(&seg, "u").unwrap(),
            );
            std::thread::sleep(LET_SLEEP);
            // Returns once the parent's select took it.
            u.send_timeout(42, LONG).unwrap();
            std::thread::sleep(LET_SLEEP);
            b.send_timeout(43, LONG).unwrap();
            println!("\nRESULT sent 42 43");
        }
        "close" => {
            std::thread::sleep(LET_SLEEP);
            Channel::<u64>::open(&seg, "b").unwrap().close();
            Channel::<u64>::open(&seg, "u").unwrap().close();
            println!("\nRESULT closed");
        }
        "consume" => {
            let s = Stream::<u64>::open(&seg, "s").unwrap();
            std::thread::sleep(LET_SLEEP);
            println!("\nRESULT took {}", s.recv_timeout(LONG).unwrap());
        }
        "emit" => {
            let s = Stream::<u64>::open(&seg, "s").unwrap();
            std::thread::sleep(LET_SLEEP);
            s.emit(7).unwrap();
            // The parent's consumer takes 7 before we emit 8.
            let start = Instant::now();
            while !s.is_empty() {
                assert!(start.elapsed() < LONG, "7 was never consumed");
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(LET_SLEEP);
            s.emit(8).unwrap();
            println!("\nRESULT emitted 7 8");
        }
        "drain" => {
            let dst = Stream::<u64>::open(&seg, "dst").unwrap();
            let mut got = Vec::new();
            loop {
                std::thread::sleep(Duration::from_millis(20));
                match dst.recv_timeout(LONG) {
                    Ok(v) => got.push(v.to_string()),
                    Err(Error::Closed { .. }) => break,
                    Err(e) => panic!("drain: {e}"),
                }
            }
            println!("\nRESULT drained {}", got.join(" "));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn futex_waitv_wakes_on_any_word_and_is_bounded_beyond_its_limit() {
    use std::sync::atomic::AtomicU32;
    use zeroipc::wait::{futex_waitv, wake_all, WAITV_MAX};
    // Woken through the third of three words (another thread's store and
    // wake-up); the 60 s timeout is only a bound for a lost wake-up.
    let words: Vec<AtomicU32> = (0..3).map(|_| AtomicU32::new(0)).collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(LET_SLEEP);
            words[2].store(1, Ordering::SeqCst);
            wake_all(&words[2]);
        });
        let start = Instant::now();
        let list: Vec<(&AtomicU32, u32)> = words.iter().map(|w| (w, 0)).collect();
        while words[2].load(Ordering::SeqCst) == 0 {
            futex_waitv(&list, LONG);
            assert!(start.elapsed() < LONG, "never woken");
        }
    });
    // More words than one futex_waitv takes: a bounded sleep (MAX_SLEEP),
    // not the 60 s asked for.
    let many: Vec<AtomicU32> = (0..=WAITV_MAX as u32).map(AtomicU32::new).collect();
    let list: Vec<(&AtomicU32, u32)> = many.iter().zip(0..).collect();
    let start = Instant::now();
    futex_waitv(&list, LONG);
    assert!(start.elapsed() < NO_WAKE_BOUND, "{:?}", start.elapsed());
}

#[test]
fn select_over_more_channels_than_one_futex_waitv_takes() {
    if is_child() {
        return;
    }
    let n = zeroipc::wait::WAITV_MAX + 2;
    let t = TempSeg {
        name: unique_name("wselmany"),
    };
    let seg = SegmentOptions::new()
        .size(4 << 20)
        .max_entries(2 * n as u32 + 8)
        .create(&t.name)
        .unwrap();
    let chans: Vec<Channel<u64>> = (0..n)
        .map(|i| Channel::create(&seg, &format!("c{i}"), 2).unwrap())
        .collect();
    let last = chans[n - 1].clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(LET_SLEEP);
        last.send(99).unwrap();
    });
    let refs: Vec<&Channel<u64>> = chans.iter().collect();
    assert_eq!(select(&refs, Some(LONG)).unwrap(), (n - 1, 99));
    sender.join().unwrap();
    assert!(chans
        .iter()
        .all(|c| c.receiver_count() == 0 && c.is_empty()));
}
