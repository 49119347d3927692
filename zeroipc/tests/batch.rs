//! Batch push/pop (issue 15 item 2) in one process: partial batches at the
//! full and empty states, the counters' wrap at 2^32, interleaving with
//! single-item calls (FIFO order against a model), wrong lengths refused
//! with every byte unchanged, timeouts, chunked copies of big elements, a
//! producer that claimed tickets and never published them, and threads
//! mixing batch and single calls with exactly-once accounting.

mod common;

use common::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zeroipc::format::{queue as fmt, ElemLayout};
use zeroipc::raw::RawQueue;
use zeroipc::{Error, Queue};

const MS: Duration = Duration::from_millis(1);

fn is_timeout(e: &Error) -> bool {
    matches!(e, Error::Timeout { .. })
}

/// The queue's whole entry, for "every byte unchanged" checks.
fn entry_bytes(q: &RawQueue) -> Vec<u8> {
    let mut b = vec![0u8; q.region().len()];
    q.region().read_bytes(0, &mut b);
    b
}

fn counters(q: &RawQueue) -> (u32, u32) {
    let r = q.region();
    (
        r.atomic_u32(fmt::HEAD as usize).load(Ordering::SeqCst),
        r.atomic_u32(fmt::TAIL as usize).load(Ordering::SeqCst),
    )
}

/// Puts the queue in the state it has after `start` pushes and pops (head =
/// tail = start, every slot's sequence ready for its ticket), by writing the
/// words through the region as another process could.
fn set_counters(q: &RawQueue, start: u32) {
    let r = q.region();
    let cap = q.capacity() as u32;
    let seq_off = fmt::seq_offset(cap as u64, q.elem()).unwrap() as usize;
    r.atomic_u32(fmt::HEAD as usize)
        .store(start, Ordering::SeqCst);
    r.atomic_u32(fmt::TAIL as usize)
        .store(start, Ordering::SeqCst);
    for k in 0..cap {
        let ticket = start.wrapping_add(k);
        let slot = (ticket & (cap - 1)) as usize;
        r.atomic_u32(seq_off + 4 * slot)
            .store(ticket, Ordering::SeqCst);
    }
}

#[test]
fn partial_batches_at_full_and_empty() {
    let (_t, seg) = temp_segment("batch_partial", 1 << 16);
    let q = Queue::<u64>::create(&seg, "q", 8).unwrap();
    assert_eq!(q.push_slice(&[]), 0);
    assert_eq!(q.push_slice(&[1, 2, 3, 4, 5]), 5);
    assert_eq!(q.len(), 5);
    // Only three fit: the prefix goes in, the rest is left.
    assert_eq!(q.push_slice(&[6, 7, 8, 9, 10]), 3);
    assert!(q.is_full());
    assert_eq!(q.push_slice(&[11]), 0);
    // A batch larger than the capacity takes at most the capacity.
    let mut out = [0u64; 20];
    assert_eq!(q.pop_slice(&mut out), 8);
    assert_eq!(out[..8], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(out[8..], [0; 12], "bytes past the count untouched");
    assert_eq!(q.pop_slice(&mut out), 0);
    assert!(q.is_empty());
    assert_eq!(q.push_slice(&(100..120).collect::<Vec<u64>>()), 8);
    let mut three = [0u64; 3];
    assert_eq!(q.pop_slice(&mut three), 3);
    assert_eq!(three, [100, 101, 102]);
    assert_eq!(q.pop_vec(2), vec![103, 104]);
    assert_eq!(q.pop_vec(99), vec![105, 106, 107]);
    assert!(q.pop_vec(99).is_empty());
    assert_eq!(q.pop_slice(&mut []), 0);
}

#[test]
fn batches_cross_the_counter_wrap() {
    let (_t, seg) = temp_segment("batch_wrap", 1 << 16);
    let q = Queue::<u32>::create(&seg, "q", 8).unwrap();
    let raw = q.raw();
    for start in [u32::MAX - 5, u32::MAX, u32::MAX - 7, u32::MAX - 2] {
        set_counters(raw, start);
        let mut next_in = 0u32;
        let mut next_out = 0u32;
        // Batches of every size 1..=8 through several wraps of the slots
        // and one wrap of the counters.
        for round in 0..40u32 {
            let n = round % 8 + 1;
            let batch: Vec<u32> = (next_in..next_in + n).collect();
            let free = 8 - q.len() as u32;
            let pushed = q.push_slice(&batch) as u32;
            assert_eq!(pushed, n.min(free), "start {start} round {round}");
            next_in += pushed;
            let mut out = vec![0u32; (round % 5 + 1) as usize];
            let popped = q.pop_slice(&mut out);
            for v in &out[..popped] {
                assert_eq!(*v, next_out, "FIFO across the wrap (start {start})");
                next_out += 1;
            }
        }
        let rest = q.pop_vec(8);
        assert_eq!(rest, (next_out..next_in).collect::<Vec<_>>());
        let (h, t) = counters(raw);
        assert_eq!(h, t);
        assert_eq!(
            h,
            start.wrapping_add(next_in),
            "counters wrapped (start {start})"
        );
        assert!(next_in > 8, "several laps were made");
    }
    // A single batch whose tickets straddle 2^32: head/tail end below start.
    set_counters(raw, u32::MAX - 2);
    assert_eq!(q.push_slice(&[1, 2, 3, 4, 5, 6]), 6);
    let (h, t) = counters(raw);
    assert_eq!((h, t), (u32::MAX - 2, 3));
    assert_eq!(q.len(), 6);
    assert_eq!(raw.items().len(), 6);
    assert_eq!(q.pop_vec(4), vec![1, 2, 3, 4]);
    assert_eq!(q.pop(), Some(5));
    assert_eq!(q.pop_vec(4), vec![6]);
    assert_eq!(counters(raw), (3, 3));
}

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

#[test]
fn batch_and_single_calls_interleave_in_fifo_order() {
    let (_t, seg) = temp_segment("batch_mix", 1 << 16);
    let q = Queue::<u64>::create(&seg, "q", 16).unwrap();
    let other = Queue::<u64>::open(&seg, "q").unwrap(); // a second handle
    let mut model: VecDeque<u64> = VecDeque::new();
    let mut rng = Lcg(42);
    let mut next = 0u64;
    set_counters(q.raw(), u32::MAX - 100); // and through the counter wrap
    for step in 0..5000 {
        let h = if rng.next(2) == 0 { &q } else { &other };
        match rng.next(6) {
            0 => {
                let ok = h.push(next).is_ok();
                assert_eq!(ok, model.len() < 16, "step {step}");
                if ok {
                    model.push_back(next);
                    next += 1;
                }
            }
            1 | 2 => {
                let n = rng.next(20) as usize;
                let batch: Vec<u64> = (next..next + n as u64).collect();
                let k = h.push_slice(&batch);
                assert_eq!(k, n.min(16 - model.len()), "step {step}");
                model.extend(&batch[..k]);
                next += k as u64;
            }
            3 => assert_eq!(h.pop(), model.pop_front(), "step {step}"),
            _ => {
                let n = rng.next(20) as usize;
                let mut out = vec![u64::MAX; n];
                let k = h.pop_slice(&mut out);
                assert_eq!(k, n.min(model.len()), "step {step}");
                let want: Vec<u64> = model.drain(..k).collect();
                assert_eq!(out[..k], want[..], "step {step}");
                assert!(out[k..].iter().all(|&v| v == u64::MAX), "step {step}");
            }
        }
        assert_eq!(q.len(), model.len());
    }
    assert!(next > 1000, "values went through: {next}");
}

#[test]
fn wrong_lengths_are_refused_with_every_byte_unchanged() -> Result<(), Error> {
    let (_t, seg) = temp_segment("batch_len", 1 << 16);
    let q = RawQueue::create(&seg, "q", ElemLayout::new(4, 2).unwrap(), 4)?;
    assert_eq!(q.push_many(&[1, 1, 1, 1, 2, 2, 2, 2])?, 2);
    let before = entry_bytes(&q);
    for len in [1usize, 3, 5, 6, 7, 9, 13] {
        let src = vec![9u8; len];
        let e = q.push_many(&src).unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument { .. })
                && e.to_string().contains(&format!("{len} bytes"))
                && e.to_string().contains("4-byte elements"),
            "{e}"
        );
        let e = q.push_many_timeout(&src, MS).unwrap_err();
        assert!(e.to_string().contains("push_many_timeout"), "{e}");
        let mut out = vec![7u8; len];
        let e = q.pop_many(&mut out).unwrap_err();
        assert!(e.to_string().contains("pop_many"), "{e}");
        let e = q.pop_many_timeout(&mut out, MS).unwrap_err();
        assert!(!is_timeout(&e), "a length error, not a timeout: {e}");
        assert_eq!(out, vec![7u8; len], "caller's buffer unchanged");
        assert_eq!(entry_bytes(&q), before, "queue bytes unchanged ({len})");
    }
    // Zero-size elements: a byte slice cannot count them; the typed
    // veneer can.
    let z = RawQueue::create(&seg, "z", ElemLayout::new(0, 1).unwrap(), 4).unwrap();
    let zb = entry_bytes(&z);
    assert!(z
        .push_many(&[])
        .unwrap_err()
        .to_string()
        .contains("element size is 0"));
    assert_eq!(entry_bytes(&z), zb);
    let typed = Queue::<[u8; 0]>::open(&seg, "z").unwrap();
    assert_eq!(typed.push_slice(&[[]; 6]), 4);
    assert_eq!(typed.len(), 4);
    assert_eq!(typed.pop_slice(&mut [[]; 3]), 3);
    assert_eq!(typed.pop_vec(9).len(), 1);
    // Empty slices are whole (zero elements): nothing moves.
    assert_eq!(q.push_many(&[])?, 0);
    assert_eq!(q.pop_many(&mut [])?, 0);
    assert_eq!(q.pop_many_timeout(&mut [], MS)?, 0);
    assert_eq!(entry_bytes(&q), before);
    Ok(())
}

#[test]
fn timed_batches_wait_for_one_then_move_what_they_can() {
    let (_t, seg) = temp_segment("batch_timeout", 1 << 16);
    let q = Queue::<u32>::create(&seg, "q", 4).unwrap();
    let before = entry_bytes(q.raw());
    let mut out = [5u32; 3];
    let e = q
        .pop_slice_timeout(&mut out, Duration::from_millis(20))
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { kind: "queue", .. }), "{e}");
    assert_eq!(out, [5; 3]);
    assert_eq!(
        entry_bytes(q.raw()),
        before,
        "a timed-out pop changes nothing"
    );
    assert_eq!(q.push_slice_timeout(&[1, 2, 3, 4, 5], MS).unwrap(), 4);
    let full = entry_bytes(q.raw());
    let e = q
        .push_slice_timeout(&[9, 9], Duration::from_millis(20))
        .unwrap_err();
    assert!(is_timeout(&e), "{e}");
    assert_eq!(
        entry_bytes(q.raw()),
        full,
        "a timed-out push changes nothing"
    );
    assert_eq!(q.push_slice_timeout(&[], MS).unwrap(), 0);

    // A waiting batch consumer gets what is pushed while it waits, and a
    // waiting batch producer gets the room freed.
    let q2 = Queue::<u32>::open(&seg, "q").unwrap();
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u32; 3];
        while got.len() < 10 {
            let k = q2
                .pop_slice_timeout(&mut buf, Duration::from_secs(20))
                .unwrap();
            assert!(k >= 1);
            got.extend_from_slice(&buf[..k]);
        }
        got
    });
    let mut sent = 4;
    let all: Vec<u32> = (1..=10).collect();
    while sent < all.len() {
        sent += q
            .push_slice_timeout(&all[sent..], Duration::from_secs(20))
            .unwrap();
    }
    assert_eq!(consumer.join().unwrap(), all);
    assert!(q.is_empty());
}

#[test]
fn big_elements_are_copied_in_chunks_and_arrive_whole() {
    let (_t, seg) = temp_segment("batch_big", 1 << 20);
    // 3000-byte elements: 2 per 8 KiB chunk, so a batch of 7 publishes in
    // four chunks, and the wrap splits one more.
    let q = Queue::<[u32; 750]>::create(&seg, "q", 16).unwrap();
    let elem = |v: u32| {
        let mut a = [0u32; 750];
        for (i, w) in a.iter_mut().enumerate() {
            *w = v.wrapping_mul(1_000_003).wrapping_add(i as u32);
        }
        a
    };
    let mut next_in = 0u32;
    let mut next_out = 0u32;
    for round in 0..12 {
        let batch: Vec<[u32; 750]> = (next_in..next_in + 7).map(elem).collect();
        next_in += q.push_slice(&batch) as u32;
        let mut out = vec![[0u32; 750]; 5 + round % 3];
        let k = q.pop_slice(&mut out);
        for v in &out[..k] {
            assert!(
                *v == elem(next_out),
                "element {next_out} arrived torn or out of order"
            );
            next_out += 1;
        }
    }
    for v in q.pop_vec(16) {
        assert!(v == elem(next_out));
        next_out += 1;
    }
    assert_eq!(next_out, next_in);
    assert!(next_in > 60);
}

#[test]
fn unpublished_tickets_stop_batch_pops_like_single_pops() {
    let (_t, seg) = temp_segment("batch_dead", 1 << 16);
    let q = Queue::<u32>::create(&seg, "q", 8).unwrap();
    let raw = q.raw();
    assert_eq!(q.push_slice(&[10, 11, 12]), 3);
    // A producer claims tickets 3..6 (tail 3 -> 6), publishes ticket 3 and
    // dies before publishing 4 and 5.
    let seq_off = fmt::seq_offset(8, raw.elem()).unwrap() as usize;
    let r = raw.region();
    r.atomic_u32(fmt::TAIL as usize).store(6, Ordering::SeqCst);
    r.write::<u32>(fmt::DATA as usize + 3 * 4, 13);
    r.atomic_u32(seq_off + 3 * 4).store(4, Ordering::SeqCst);
    assert_eq!(q.len(), 6, "the claimed tickets count as queued");
    let mut out = [0u32; 8];
    assert_eq!(q.pop_slice(&mut out), 4);
    assert_eq!(out[..4], [10, 11, 12, 13]);
    // Ticket 4 is stuck: empty for single and batch pops, timeouts expire.
    assert_eq!(q.pop_slice(&mut out), 0);
    assert_eq!(q.pop(), None);
    assert!(is_timeout(
        &q.pop_slice_timeout(&mut out, Duration::from_millis(10))
            .unwrap_err()
    ));
    // Producers continue until they lap the stuck slots: 8 - 2 stuck.
    assert_eq!(q.push_slice(&[20, 21, 22, 23, 24, 25, 26, 27]), 6);
    assert_eq!(q.push_slice(&[28]), 0);
    assert_eq!(q.push(29), Err(29));
    assert!(is_timeout(
        &q.push_slice_timeout(&[30], Duration::from_millis(10))
            .unwrap_err()
    ));
    assert_eq!(counters(raw), (4, 12));
}

#[test]
fn corrupt_sequence_makes_batches_fail_instead_of_spinning() {
    let (_t, seg) = temp_segment("batch_corrupt", 1 << 16);
    let q = Queue::<u32>::create(&seg, "q", 4).unwrap();
    let seq_off = fmt::seq_offset(4, q.raw().elem()).unwrap() as usize;
    // seq[0] far ahead of tail 0 and of head + 1: d > 0 with counters that
    // never move.
    q.raw()
        .region()
        .atomic_u32(seq_off)
        .store(100, Ordering::SeqCst);
    assert_eq!(q.push_slice(&[1, 2]), 0);
    assert_eq!(q.pop_slice(&mut [0; 2]), 0);
    assert_eq!(counters(q.raw()), (0, 0));
}

#[test]
fn threads_mixing_batch_and_single_calls_deliver_each_value_once() {
    const PER: u64 = 50_000;
    const PRODUCERS: u64 = 3;
    let (_t, seg) = temp_segment("batch_threads", 1 << 20);
    let q = Arc::new(Queue::<u64>::create(&seg, "q", 64).unwrap());
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                let mut rng = Lcg(p + 1);
                while i < PER {
                    if p == 0 && rng.next(3) == 0 {
                        // Single pushes from one producer, batches elsewhere.
                        q.push_timeout((p << 32) | i, Duration::from_secs(30))
                            .unwrap();
                        i += 1;
                        continue;
                    }
                    let n = (rng.next(40) + 1).min(PER - i);
                    let batch: Vec<u64> = (i..i + n).map(|j| (p << 32) | j).collect();
                    i += q
                        .push_slice_timeout(&batch, Duration::from_secs(30))
                        .unwrap() as u64;
                }
            })
        })
        .collect();
    // Consumers stop once the producers are done and a wait times out.
    let done = Arc::new(AtomicBool::new(false));
    let consumers: Vec<_> = (0..2u64)
        .map(|c| {
            let q = q.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut last = [None::<u64>; PRODUCERS as usize];
                let mut buf = vec![0u64; 48];
                let mut rng = Lcg(c + 100);
                loop {
                    let took: Vec<u64> = if c == 0 && rng.next(2) == 0 {
                        match q.pop_timeout(Duration::from_millis(50)) {
                            Ok(v) => vec![v],
                            Err(e) if is_timeout(&e) && done.load(Ordering::SeqCst) => break,
                            Err(e) if is_timeout(&e) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    } else {
                        let n = rng.next(48) as usize + 1;
                        match q.pop_slice_timeout(&mut buf[..n], Duration::from_millis(50)) {
                            Ok(k) => buf[..k].to_vec(),
                            Err(e) if is_timeout(&e) && done.load(Ordering::SeqCst) => break,
                            Err(e) if is_timeout(&e) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    };
                    for v in took {
                        let (p, i) = ((v >> 32) as usize, v & 0xFFFF_FFFF);
                        if let Some(prev) = last[p] {
                            assert!(i > prev, "producer {p}: {i} after {prev}");
                        }
                        last[p] = Some(i);
                        got.push(v);
                    }
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut all: Vec<u64> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .chain(std::iter::from_fn(|| q.pop()))
        .collect();
    all.sort_unstable();
    let want: Vec<u64> = (0..PRODUCERS)
        .flat_map(|p| (0..PER).map(move |i| (p << 32) | i))
        .collect();
    assert_eq!(all.len(), want.len());
    assert!(all == want, "every value exactly once");
}

// ----- Channel ----------------------------------------------------------------

#[test]
fn channel_batches_move_prefixes_and_keep_the_close_protocol() {
    use zeroipc::Channel;
    let (_t, seg) = temp_segment("batch_ch", 1 << 16);
    let ch = Channel::<u32>::create(&seg, "c", 8).unwrap();
    let other = Channel::<u32>::open(&seg, "c").unwrap();
    assert_eq!(ch.try_send_slice(&[]).unwrap(), 0);
    assert_eq!(ch.try_send_slice(&[1, 2, 3, 4, 5]).unwrap(), 5);
    ch.send(6).unwrap();
    assert_eq!(
        ch.send_slice(&[7, 8, 9, 10]).unwrap(),
        2,
        "a prefix: two fit"
    );
    let before = entry_bytes(ch.raw().buffer().unwrap());
    let e = ch.try_send_slice(&[9]).unwrap_err();
    assert!(matches!(e, Error::Full { .. }), "{e}");
    let e = ch
        .send_slice_timeout(&[9], Duration::from_millis(10))
        .unwrap_err();
    assert!(is_timeout(&e), "{e}");
    assert_eq!(entry_bytes(ch.raw().buffer().unwrap()), before);
    let mut out = [0u32; 3];
    assert_eq!(other.recv_slice(&mut out).unwrap(), 3);
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(other.recv().unwrap(), 4);
    assert_eq!(other.try_recv_slice(&mut out).unwrap(), 3);
    assert_eq!(out, [5, 6, 7]);
    assert_eq!(other.try_recv_slice(&mut out).unwrap(), 1);
    assert_eq!(out[0], 8);
    assert_eq!(other.try_recv_slice(&mut out).unwrap(), 0, "empty now");
    let e = other
        .recv_slice_timeout(&mut out, Duration::from_millis(10))
        .unwrap_err();
    assert!(is_timeout(&e), "{e}");
    // Close: sends fail, receivers drain what is left, then Closed.
    assert_eq!(ch.send_slice(&[20, 21, 22]).unwrap(), 3);
    ch.close();
    let e = ch.try_send_slice(&[23]).unwrap_err();
    assert!(matches!(e, Error::Closed { .. }), "{e}");
    assert!(matches!(
        ch.send_slice(&[23]).unwrap_err(),
        Error::Closed { .. }
    ));
    let mut big = [0u32; 16];
    assert_eq!(other.recv_slice(&mut big).unwrap(), 3);
    assert_eq!(big[..3], [20, 21, 22]);
    assert!(matches!(
        other.recv_slice(&mut big).unwrap_err(),
        Error::Closed { .. }
    ));
    assert!(matches!(
        other.try_recv_slice(&mut big).unwrap_err(),
        Error::Closed { .. }
    ));
}

#[test]
fn raw_channel_batches_refuse_wrong_lengths_with_every_byte_unchanged() {
    use zeroipc::raw::channel::RawChannel;
    let (_t, seg) = temp_segment("batch_chlen", 1 << 16);
    let elem = ElemLayout::new(4, 4).unwrap();
    let ch = RawChannel::create(&seg, "c", elem, 4).unwrap();
    assert_eq!(ch.try_send_many(&[1u8; 8]).unwrap(), 2);
    let snapshot = |ch: &RawChannel| {
        let mut h = vec![0u8; ch.header().len()];
        ch.header().read_bytes(0, &mut h);
        (h, entry_bytes(ch.buffer().unwrap()))
    };
    let before = snapshot(&ch);
    for len in [1usize, 2, 3, 5, 7, 10] {
        let src = vec![9u8; len];
        for e in [
            ch.try_send_many(&src).unwrap_err(),
            ch.send_many_timeout(&src, MS).unwrap_err(),
        ] {
            assert!(
                matches!(e, Error::InvalidArgument { .. })
                    && e.to_string().contains(&format!("{len} bytes")),
                "{e}"
            );
        }
        let mut out = vec![7u8; len];
        assert!(ch.try_recv_many(&mut out).is_err());
        assert!(!is_timeout(
            &ch.recv_many_timeout(&mut out, MS).unwrap_err()
        ));
        assert_eq!(out, vec![7u8; len]);
        assert_eq!(snapshot(&ch), before, "bytes unchanged ({len})");
    }
    let mut out = [0u8; 12];
    assert_eq!(ch.recv_many_timeout(&mut out, MS).unwrap(), 2);
    assert_eq!(out[..8], [1u8; 8]);
    assert_eq!(out[8..], [0u8; 4]);
}

#[test]
fn unbuffered_channel_batches_hand_over_one_value_per_call() {
    use zeroipc::Channel;
    let (_t, seg) = temp_segment("batch_chunbuf", 1 << 16);
    let ch = Channel::<u64>::create(&seg, "u", 0).unwrap();
    assert!(!ch.is_buffered());
    // Nobody receives: a try_send_slice fails Full and sends nothing.
    assert!(matches!(
        ch.try_send_slice(&[1, 2]).unwrap_err(),
        Error::Full { .. }
    ));
    let rx = Channel::<u64>::open(&seg, "u").unwrap();
    let receiver = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u64; 4];
        while got.len() < 5 {
            let k = rx
                .recv_slice_timeout(&mut buf, Duration::from_secs(20))
                .unwrap();
            assert_eq!(k, 1, "a rendezvous hands over one value per call");
            got.push(buf[0]);
        }
        got
    });
    let values = [10u64, 11, 12, 13, 14];
    let mut sent = 0;
    while sent < values.len() {
        let k = ch
            .send_slice_timeout(&values[sent..], Duration::from_secs(20))
            .unwrap();
        assert_eq!(k, 1);
        sent += k;
    }
    assert_eq!(receiver.join().unwrap(), values);
}

#[test]
fn channel_threads_mixing_batch_and_single_calls_deliver_each_value_once() {
    use zeroipc::Channel;
    const PER: u64 = 30_000;
    let (_t, seg) = temp_segment("batch_chthreads", 1 << 20);
    let ch = Arc::new(Channel::<u64>::create(&seg, "c", 32).unwrap());
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let ch = ch.clone();
            std::thread::spawn(move || {
                let mut rng = Lcg(p + 7);
                let mut i = 0;
                while i < PER {
                    if p == 0 && rng.next(2) == 0 {
                        ch.send((p << 32) | i).unwrap();
                        i += 1;
                    } else {
                        let n = (rng.next(24) + 1).min(PER - i);
                        let b: Vec<u64> = (i..i + n).map(|j| (p << 32) | j).collect();
                        i += ch.send_slice(&b).unwrap() as u64;
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2u64)
        .map(|c| {
            let ch = ch.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut last = [None::<u64>; 2];
                let mut buf = [0u64; 24];
                let mut rng = Lcg(c + 70);
                loop {
                    let took: Vec<u64> = if c == 1 && rng.next(2) == 0 {
                        match ch.recv() {
                            Ok(v) => vec![v],
                            Err(Error::Closed { .. }) => break,
                            Err(e) => panic!("{e}"),
                        }
                    } else {
                        let n = rng.next(24) as usize + 1;
                        match ch.recv_slice(&mut buf[..n]) {
                            Ok(k) => buf[..k].to_vec(),
                            Err(Error::Closed { .. }) => break,
                            Err(e) => panic!("{e}"),
                        }
                    };
                    for v in took {
                        let (p, i) = ((v >> 32) as usize, v & 0xFFFF_FFFF);
                        if let Some(prev) = last[p] {
                            assert!(i > prev, "producer {p}: {i} after {prev}");
                        }
                        last[p] = Some(i);
                        got.push(v);
                    }
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    ch.close();
    let mut all: Vec<u64> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    let want: Vec<u64> = (0..2u64)
        .flat_map(|p| (0..PER).map(move |i| (p << 32) | i))
        .collect();
    assert_eq!(all.len(), want.len());
    assert!(all == want, "every value exactly once, none lost at close");
}

// ----- Stack ------------------------------------------------------------------

fn stack_state_off(s: &zeroipc::raw::RawStack) -> usize {
    zeroipc::format::stack::state_offset(s.capacity() as u64, s.elem()).unwrap() as usize
}

#[test]
fn stack_batch_and_single_calls_interleave_in_lifo_order() {
    use zeroipc::Stack;
    let (_t, seg) = temp_segment("batch_stack", 1 << 16);
    let s = Stack::<u64>::create(&seg, "s", 12).unwrap();
    let other = Stack::<u64>::open(&seg, "s").unwrap();
    let mut model: Vec<u64> = Vec::new();
    let mut rng = Lcg(5);
    let mut next = 0u64;
    for step in 0..4000 {
        let h = if rng.next(2) == 0 { &s } else { &other };
        match rng.next(5) {
            0 => {
                let ok = h.push(next).is_ok();
                assert_eq!(ok, model.len() < 12, "step {step}");
                if ok {
                    model.push(next);
                    next += 1;
                }
            }
            1 => {
                let n = rng.next(16) as usize;
                let batch: Vec<u64> = (next..next + n as u64).collect();
                let k = h.push_slice(&batch);
                assert_eq!(k, n.min(12 - model.len()), "step {step}");
                model.extend(&batch[..k]);
                next += k as u64;
            }
            2 => assert_eq!(h.pop(), model.pop(), "step {step}"),
            _ => {
                let n = rng.next(16) as usize;
                let mut out = vec![u64::MAX; n];
                let k = h.pop_slice(&mut out);
                assert_eq!(k, n.min(model.len()), "step {step}");
                for v in &out[..k] {
                    assert_eq!(Some(*v), model.pop(), "step {step}: top first");
                }
                assert!(out[k..].iter().all(|&v| v == u64::MAX), "step {step}");
            }
        }
        assert_eq!(s.len(), model.len());
    }
    assert!(next > 1000);
}

#[test]
fn stack_batches_refuse_wrong_lengths_and_time_out_with_every_byte_unchanged() {
    use zeroipc::raw::RawStack;
    let (_t, seg) = temp_segment("batch_stacklen", 1 << 16);
    let s = RawStack::create(&seg, "s", ElemLayout::new(4, 4).unwrap(), 3).unwrap();
    assert_eq!(s.push_many(&[1u8; 8]).unwrap(), 2);
    let bytes = |s: &RawStack| {
        let mut b = vec![0u8; s.region().len()];
        s.region().read_bytes(0, &mut b);
        b
    };
    let before = bytes(&s);
    for len in [1usize, 3, 6, 9] {
        let src = vec![9u8; len];
        let e = s.push_many(&src).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{len} bytes")) && e.to_string().contains("push_many"),
            "{e}"
        );
        assert!(s.push_many_timeout(&src, MS).is_err());
        let mut out = vec![7u8; len];
        assert!(s.pop_many(&mut out).is_err());
        assert!(!is_timeout(&s.pop_many_timeout(&mut out, MS).unwrap_err()));
        assert_eq!(out, vec![7u8; len]);
        assert_eq!(bytes(&s), before, "bytes unchanged ({len})");
    }
    assert_eq!(s.push_many(&[2u8; 8]).unwrap(), 1);
    let full = bytes(&s);
    assert!(is_timeout(&s.push_many_timeout(&[3u8; 4], MS).unwrap_err()));
    assert_eq!(bytes(&s), full, "a timed-out push changes nothing");
    let mut out = [0u8; 16];
    assert_eq!(s.pop_many(&mut out).unwrap(), 3);
    assert_eq!(out[..12], [2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
    let empty = bytes(&s);
    assert!(is_timeout(&s.pop_many_timeout(&mut out, MS).unwrap_err()));
    assert_eq!(bytes(&s), empty, "a timed-out pop changes nothing");
}

/// The give-up paths: a batch that meets a slot held by a dead peer hands
/// over what it could and gives back the indices it did not use.
#[test]
fn stack_batches_give_up_on_a_dead_peers_slot_and_give_back_the_rest() {
    use zeroipc::format::stack as sfmt;
    use zeroipc::Stack;
    let (_t, seg) = temp_segment("batch_stackdead", 1 << 16);
    let s = Stack::<u32>::create(&seg, "s", 8).unwrap();
    let raw = s.raw();
    let r = raw.region();
    let state = |i: usize| r.atomic_u32(stack_state_off(raw) + 4 * i);
    let top = || r.atomic_i32(sfmt::TOP as usize).load(Ordering::SeqCst);
    assert_eq!(s.push_slice(&[10, 11]), 2);
    // A popper died holding slot 3 (READING) after the stack shrank.
    state(3).store(sfmt::READING, Ordering::SeqCst);
    // Reserves 2..=5, publishes 2, cannot claim 3: one pushed, top back at 2.
    assert_eq!(s.push_slice(&[12, 13, 14, 15]), 1);
    assert_eq!(top(), 2);
    assert_eq!(state(4).load(Ordering::SeqCst), sfmt::EMPTY, "not touched");
    assert_eq!(s.pop(), Some(12));
    assert_eq!(s.pop(), Some(11));
    state(3).store(sfmt::EMPTY, Ordering::SeqCst); // recovered
    assert_eq!(s.push_slice(&[21, 22, 23]), 3);
    // A pusher reserved index 2... and died mid-write: slot 2 WRITING,
    // later pushes landed above it.
    state(2).store(sfmt::WRITING, Ordering::SeqCst);
    let mut out = [0u32; 8];
    // Reserves 3, 2, 1, 0: takes 3 (= 23), cannot claim 2: gives back 2..0.
    assert_eq!(s.pop_slice(&mut out), 1);
    assert_eq!(out[0], 23);
    assert_eq!(top(), 2, "indices 2, 1, 0 given back");
    assert_eq!(s.len(), 3);
}

#[test]
fn stack_threads_mixing_batch_and_single_calls_deliver_each_value_once() {
    use zeroipc::Stack;
    const PER: u64 = 30_000;
    let (_t, seg) = temp_segment("batch_stackthreads", 1 << 20);
    let s = Arc::new(Stack::<u64>::create(&seg, "s", 64).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut rng = Lcg(p + 3);
                let mut i = 0;
                while i < PER {
                    if p == 0 && rng.next(2) == 0 {
                        s.push_timeout((p << 32) | i, Duration::from_secs(30))
                            .unwrap();
                        i += 1;
                    } else {
                        let n = (rng.next(24) + 1).min(PER - i);
                        let b: Vec<u64> = (i..i + n).map(|j| (p << 32) | j).collect();
                        i += s.push_slice_timeout(&b, Duration::from_secs(30)).unwrap() as u64;
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2u64)
        .map(|c| {
            let s = s.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut buf = [0u64; 24];
                let mut rng = Lcg(c + 30);
                loop {
                    let n = if c == 1 && rng.next(2) == 0 {
                        1
                    } else {
                        rng.next(24) as usize + 1
                    };
                    match s.pop_slice_timeout(&mut buf[..n], Duration::from_millis(50)) {
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                        Err(e) if is_timeout(&e) && done.load(Ordering::SeqCst) => break,
                        Err(e) if is_timeout(&e) => {}
                        Err(e) => panic!("{e}"),
                    }
                    if c == 1 {
                        if let Some(v) = s.pop() {
                            got.push(v);
                        }
                    }
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut all: Vec<u64> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .chain(std::iter::from_fn(|| s.pop()))
        .collect();
    all.sort_unstable();
    let want: Vec<u64> = (0..2u64)
        .flat_map(|p| (0..PER).map(move |i| (p << 32) | i))
        .collect();
    assert_eq!(all.len(), want.len());
    assert!(all == want, "every value exactly once");
}
