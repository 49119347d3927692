//! The waiter registry (docs/FORMAT.md §12) and the futex wake-ups of
//! Queue, Stack, Ring and Pool (issue 15):
//!
//! - the entry's bytes, and its absence when turned off;
//! - a blocked call is counted in the registry while it sleeps, and the
//!   count returns to 0 after it is woken;
//! - a blocked call in another process is woken by our push/pop/free;
//! - a party that changes the bytes without waking (as a reference peer
//!   does) is still seen: the sleeps are bounded;
//! - a stale count (a sleeper killed while counted) costs wake-ups, not
//!   correctness; a damaged registry is ignored (bounded polling).
//!
//! Timing is not asserted, except generous liveness bounds (seconds where
//! the expected time is microseconds or at most 2 ms).

mod common;

use common::{env_var, is_child, spawn_worker, unique_name, worker_results, TempSeg};
use std::time::{Duration, Instant};
use zeroipc::format::waiters::{self as fmt, Side};
use zeroipc::format::{pool as pool_fmt, queue as queue_fmt, ring as ring_fmt, stack as stack_fmt};
use zeroipc::region::Region;
use zeroipc::{Pool, Queue, Ring, Segment, SegmentOptions, Stack};

/// Far above any expected wake-up (microseconds with a registry, at most
/// `MAX_SLEEP` = 2 ms without): only a lost wake-up that is never
/// recovered would exceed it.
const LIVENESS: Duration = Duration::from_secs(2);
const LONG: Duration = Duration::from_secs(30);

fn segment(tag: &str, registry: bool) -> (TempSeg, Segment) {
    let t = TempSeg {
        name: unique_name(tag),
    };
    let seg = SegmentOptions::new()
        .size(1 << 20)
        .max_entries(16)
        .wake_registry(registry)
        .create(&t.name)
        .unwrap();
    (t, seg)
}

fn registry(seg: &Segment) -> Region {
    seg.region(fmt::ENTRY_NAME).unwrap()
}

/// The table slot of the entry `name`.
fn slot_of(seg: &Segment, name: &str) -> u32 {
    seg.entries()
        .unwrap()
        .iter()
        .position(|e| e.name == name)
        .unwrap() as u32
}

fn count(seg: &Segment, name: &str, side: Side) -> u32 {
    let off = fmt::slot_offset(slot_of(seg, name), side) as usize;
    registry(seg).read_u32(off)
}

/// Waits (bounded) until the `side` count of `name` reads `want`.
fn await_count(seg: &Segment, name: &str, side: Side, want: u32) {
    let start = Instant::now();
    while count(seg, name, side) != want {
        assert!(
            start.elapsed() < LONG,
            "{name} {side:?} count stayed {} (want {want})",
            count(seg, name, side)
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn registry_entry_layout_and_option() {
    let (_t, seg) = segment("wk_layout", true);
    let entries = seg.entries().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["__zeroipc_kinds", "__zeroipc_waiters"]);
    let r = registry(&seg);
    assert_eq!(r.len() as u64, fmt::entry_size(16).unwrap());
    assert_eq!(r.read_u32(fmt::header::MAGIC as usize), fmt::MAGIC);
    assert_eq!(r.read_u32(fmt::header::VERSION as usize), fmt::VERSION);
    assert_eq!(r.read_u32(fmt::header::SLOTS as usize), 16);
    assert_eq!(r.read_u32(fmt::header::RESERVED as usize), 0);
    for i in 0..16 {
        assert_eq!(r.read_u32(fmt::slot_offset(i, Side::Items) as usize), 0);
        assert_eq!(r.read_u32(fmt::slot_offset(i, Side::Room) as usize), 0);
    }
    let (_t2, plain) = segment("wk_off", false);
    let names: Vec<String> = plain
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["__zeroipc_kinds"]);
    // A 3-slot table keeps its slots for the user.
    let t3 = TempSeg {
        name: unique_name("wk_small"),
    };
    let small = SegmentOptions::new()
        .size(1 << 16)
        .max_entries(3)
        .self_describing(false)
        .create(&t3.name)
        .unwrap();
    assert!(small.entries().unwrap().is_empty());
}

#[test]
fn a_sleeping_pop_is_counted_and_woken_by_a_push() {
    let (_t, seg) = segment("wk_count", true);
    let q = Queue::<u64>::create(&seg, "q", 4).unwrap();
    let q2 = Queue::<u64>::open(&seg, "q").unwrap();
    let popper = std::thread::spawn(move || q2.pop_timeout(LONG).unwrap());
    // The popper spins briefly, then registers and sleeps on `tail`.
    await_count(&seg, "q", Side::Items, 1);
    let start = Instant::now();
    q.push(42).unwrap();
    assert_eq!(popper.join().unwrap(), 42);
    assert!(start.elapsed() < LIVENESS, "{:?}", start.elapsed());
    assert_eq!(count(&seg, "q", Side::Items), 0);

    // And a push blocked on a full queue, woken by a pop.
    for i in 0..4 {
        q.push(i).unwrap();
    }
    let q3 = Queue::<u64>::open(&seg, "q").unwrap();
    let pusher = std::thread::spawn(move || q3.push_timeout(99, LONG).map_err(|e| e.into_inner()));
    await_count(&seg, "q", Side::Room, 1);
    assert_eq!(q.pop(), Some(0));
    assert_eq!(pusher.join().unwrap(), Ok(()));
    assert_eq!(count(&seg, "q", Side::Room), 0);
    let rest: Vec<u64> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(rest, [1, 2, 3, 99]);
}

#[test]
fn stack_ring_and_pool_sleepers_are_counted_and_woken() {
    let (_t, seg) = segment("wk_kinds", true);
    let s = Stack::<u32>::create(&seg, "s", 2).unwrap();
    let s2 = Stack::<u32>::open(&seg, "s").unwrap();
    let popper = std::thread::spawn(move || s2.pop_timeout(LONG).unwrap());
    await_count(&seg, "s", Side::Items, 1);
    s.push(7).unwrap();
    assert_eq!(popper.join().unwrap(), 7);
    s.push(1).unwrap();
    s.push(2).unwrap();
    let s3 = Stack::<u32>::open(&seg, "s").unwrap();
    let pusher = std::thread::spawn(move || s3.push_timeout(3, LONG).is_ok());
    await_count(&seg, "s", Side::Room, 1);
    assert_eq!(s.pop(), Some(2));
    assert!(pusher.join().unwrap());
    assert_eq!(s.pop(), Some(3));

    let r = Ring::<u64>::create(&seg, "r", 2).unwrap();
    let r2 = Ring::<u64>::open(&seg, "r").unwrap();
    let reader = std::thread::spawn(move || r2.read_timeout(LONG).unwrap());
    await_count(&seg, "r", Side::Items, 1);
    r.write(5).unwrap();
    assert_eq!(reader.join().unwrap(), 5);
    r.write(1).unwrap();
    r.write(2).unwrap();
    let r3 = Ring::<u64>::open(&seg, "r").unwrap();
    let writer = std::thread::spawn(move || r3.write_timeout(3, LONG).is_ok());
    await_count(&seg, "r", Side::Room, 1);
    assert_eq!(r.read(), Some(1));
    assert!(writer.join().unwrap());

    let p = Pool::<u64>::create(&seg, "p", 1).unwrap();
    let only = p.allocate().unwrap().unwrap();
    let p2 = Pool::<u64>::open(&seg, "p").unwrap();
    let allocator = std::thread::spawn(move || p2.allocate_timeout(LONG).map(|h| h.index()));
    await_count(&seg, "p", Side::Room, 1);
    let index = only.index();
    p.deallocate(only).unwrap();
    assert_eq!(allocator.join().unwrap().unwrap(), index);
    for name in ["s", "r", "p"] {
        assert_eq!(count(&seg, name, Side::Items), 0, "{name}");
        assert_eq!(count(&seg, name, Side::Room), 0, "{name}");
    }
}

/// Worker: opens the queue named by the parent, pops `N` values with a long
/// timeout, prints them.
#[test]
#[ignore]
fn worker_pop_values() {
    if !is_child() {
        return;
    }
    let seg = Segment::open(&env_var("SEG")).unwrap();
    let q = Queue::<u64>::open(&seg, "q").unwrap();
    let n: usize = env_var("N").parse().unwrap();
    for _ in 0..n {
        println!("RESULT {}", q.pop_timeout(LONG).unwrap());
    }
}

#[test]
fn a_consumer_process_is_woken_by_each_push() {
    let (t, seg) = segment("wk_mp", true);
    let q = Queue::<u64>::create(&seg, "q", 8).unwrap();
    let child = spawn_worker(
        "worker_pop_values",
        &[("SEG", t.name.clone()), ("N", "20".into())],
    );
    for i in 0..20u64 {
        // Each value finds the consumer asleep (counted), so each push
        // must wake it.
        await_count(&seg, "q", Side::Items, 1);
        q.push(i * 3).unwrap();
        // Taken before the next round (the count may read 1 until the
        // woken consumer has run).
        let start = Instant::now();
        while !q.is_empty() {
            assert!(start.elapsed() < LONG, "value {i} not taken");
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let got: Vec<u64> = worker_results(child)
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(got, (0..20u64).map(|i| i * 3).collect::<Vec<_>>());
}

/// A reference peer publishes a queue value with plain stores and wakes
/// nobody: claim `tail`, write the slot, store its sequence.
fn publish_like_a_reference_peer(q: &Region, capacity: u32, value: u64) {
    let tail = q.atomic_u32(queue_fmt::TAIL as usize);
    let t = tail.load(std::sync::atomic::Ordering::SeqCst);
    tail.store(t + 1, std::sync::atomic::Ordering::SeqCst);
    let slot = (t % capacity) as usize;
    q.write::<u64>(queue_fmt::DATA as usize + 8 * slot, value);
    let seq_off = 16 + 8 * capacity as usize + 4 * slot;
    q.atomic_u32(seq_off)
        .store(t + 1, std::sync::atomic::Ordering::Release);
}

#[test]
fn bytes_changed_without_a_wake_up_are_seen_within_the_bounded_sleep() {
    let (_t, seg) = segment("wk_ref", true);
    let q = Queue::<u64>::create(&seg, "q", 4).unwrap();
    let region = seg.region("q").unwrap();
    for round in 0..5u64 {
        let q2 = Queue::<u64>::open(&seg, "q").unwrap();
        let popper = std::thread::spawn(move || {
            let start = Instant::now();
            (q2.pop_timeout(LONG).unwrap(), start.elapsed())
        });
        await_count(&seg, "q", Side::Items, 1);
        publish_like_a_reference_peer(&region, 4, 100 + round);
        let (v, waited) = popper.join().unwrap();
        assert_eq!(v, 100 + round);
        assert!(waited < LONG / 2, "round {round}: {waited:?}");
    }
    assert!(q.is_empty());

    // Stack: a reference pusher reserves `top`, fills the slot, marks it
    // READY, and wakes nobody.
    let s = Stack::<u32>::create(&seg, "s", 4).unwrap();
    let sr = seg.region("s").unwrap();
    let s2 = Stack::<u32>::open(&seg, "s").unwrap();
    let popper = std::thread::spawn(move || s2.pop_timeout(LONG).unwrap());
    await_count(&seg, "s", Side::Items, 1);
    let top = sr.atomic_i32(stack_fmt::TOP as usize);
    top.store(0, std::sync::atomic::Ordering::SeqCst);
    sr.write::<u32>(stack_fmt::DATA as usize, 77);
    sr.atomic_u32(
        stack_fmt::state_offset(4, zeroipc::format::ElemLayout::of::<u32>()).unwrap() as usize,
    )
    .store(stack_fmt::READY, std::sync::atomic::Ordering::Release);
    assert_eq!(popper.join().unwrap(), 77);
    assert!(s.is_empty());

    // Ring: a reference writer copies the bytes and stores write_pos.
    let r = Ring::<u64>::create(&seg, "r", 2).unwrap();
    let rr = seg.region("r").unwrap();
    let r2 = Ring::<u64>::open(&seg, "r").unwrap();
    let reader = std::thread::spawn(move || r2.read_timeout(LONG).unwrap());
    await_count(&seg, "r", Side::Items, 1);
    rr.write::<u64>(ring_fmt::DATA as usize, 55);
    rr.atomic_u64(ring_fmt::WRITE_POS as usize)
        .store(8, std::sync::atomic::Ordering::Release);
    assert_eq!(reader.join().unwrap(), 55);
    assert!(r.is_empty());

    // Pool: a reference free pushes the node back with a CAS of the head.
    let p = Pool::<u64>::create(&seg, "p", 1).unwrap();
    let node = p.allocate().unwrap().unwrap();
    let index = node.index();
    let pr = seg.region("p").unwrap();
    let p2 = Pool::<u64>::open(&seg, "p").unwrap();
    let allocator = std::thread::spawn(move || p2.allocate_timeout(LONG).map(|h| h.index()));
    await_count(&seg, "p", Side::Room, 1);
    let head = pr.atomic_u64(pool_fmt::FREE_HEAD as usize);
    let old = head.load(std::sync::atomic::Ordering::SeqCst);
    let generation = (old >> 32) + 1;
    let allocated = pr.atomic_u32(pool_fmt::ALLOCATED as usize);
    allocated.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    head.store(
        (generation << 32) | u64::from(index),
        std::sync::atomic::Ordering::Release,
    );
    assert_eq!(allocator.join().unwrap().unwrap(), index);
}

#[test]
fn a_stale_count_costs_wake_ups_not_values() {
    let (_t, seg) = segment("wk_stale", true);
    let q = Queue::<u64>::create(&seg, "q", 4).unwrap();
    // A sleeper killed while counted leaves the counts raised.
    let off = |side| fmt::slot_offset(slot_of(&seg, "q"), side) as usize;
    registry(&seg).write::<u32>(off(Side::Items), 1);
    registry(&seg).write::<u32>(off(Side::Room), 1);
    for round in 0..3u64 {
        for i in 0..4 {
            q.push(round * 10 + i).unwrap();
        }
        assert_eq!(q.push(0), Err(0));
        let got: Vec<u64> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, (0..4).map(|i| round * 10 + i).collect::<Vec<_>>());
    }
    // A live sleeper is still woken on top of the stale count.
    let q2 = Queue::<u64>::open(&seg, "q").unwrap();
    let popper = std::thread::spawn(move || q2.pop_timeout(LONG).unwrap());
    await_count(&seg, "q", Side::Items, 2);
    q.push(5).unwrap();
    assert_eq!(popper.join().unwrap(), 5);
    assert_eq!(count(&seg, "q", Side::Items), 1);
}

#[test]
fn without_a_valid_registry_waits_poll() {
    for damage in [None, Some(fmt::header::MAGIC), Some(fmt::header::SLOTS)] {
        let (_t, seg) = segment("wk_none", damage.is_some());
        if let Some(field) = damage {
            registry(&seg).write::<u32>(field as usize, 0xDEAD);
        }
        let q = Queue::<u64>::create(&seg, "q", 2).unwrap();
        let q2 = Queue::<u64>::open(&seg, "q").unwrap();
        let popper = std::thread::spawn(move || q2.pop_timeout(LONG).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        q.push(9).unwrap();
        assert_eq!(popper.join().unwrap(), 9, "{damage:?}");
        if damage.is_some() {
            // Nobody registered in the damaged registry.
            assert_eq!(count(&seg, "q", Side::Items), 0);
        }
    }
}
