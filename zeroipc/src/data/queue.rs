//! `Queue<T>`: a bounded multi-producer multi-consumer FIFO (FORMAT.md §3).
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue (1024cores.net, "Bounded MPMC
//! queue"), with the protocol exactly as the ZeroIPC C++ reference
//! `queue.h` runs it (REFERENCE-NOTES §11.1), so a C++ process, or a Python
//! process using the reference's C atomics backend, can push and pop on the
//! same queue at the same time as this one.
//!
//! Every slot `i` has a sequence word `seq[i]`. Producers take tickets from
//! `tail`, consumers from `head`; both are `u32` counters that wrap at
//! 2^32, and ticket `t` uses slot `t % capacity` (the capacity is a power
//! of two, so the slot sequence stays consistent across the wrap). For
//! ticket `t` the slot is free when `seq == t`, holds the value of ticket
//! `t` when `seq == t + 1`, and is freed for the next lap by storing
//! `seq = t + capacity`. All comparisons are on `d = (seq - x) as i32`
//! with wrapping subtraction, as in the reference.
//!
//! # Layout
//!
//! | offset | field |
//! |---|---|
//! | 0 | `head`: atomic u32, next ticket to pop |
//! | 4 | `tail`: atomic u32, next ticket to push |
//! | 8 | `capacity`: u32, a nonzero power of two |
//! | 12 | `elem_size`: u32, `size_of::<T>()` |
//! | 16 | `capacity * s` data bytes |
//! | `16 + align8(capacity * s)` | `capacity` atomic u32 sequence words |
//!
//! Entry size `16 + align8(capacity * s) + 4 * capacity`.
//!
//! # What differs from the reference (bytes and protocol unchanged)
//!
//! - Open validates the header against the entry size and `T` (element
//!   size, capacity a nonzero power of two, total size) and caches the
//!   capacity; the reference trusts the header.
//! - `len()` uses wrapping subtraction, so it stays right when the counters
//!   wrap (the reference returns 0 when `tail < head` numerically).
//! - A peer that died between taking a ticket and publishing its slot
//!   leaves that slot's sequence stuck. `pop` then reports the queue empty
//!   at that point (`d < 0`) and `push` reports it full a lap later, as in
//!   the reference; our timeout variants time out instead of hanging.
//! - The `d > 0` "retry" branch can only be taken while the counter has
//!   moved on (see the comments in [`Queue::push`]); if the counter has not
//!   moved, the segment has been corrupted, and after a bounded number of
//!   such retries the operation fails instead of spinning forever.
//! - Blocking variants ([`Queue::push_timeout`], [`Queue::pop_timeout`])
//!   spin briefly and then sleep in bounded steps (the format has no word
//!   to be woken on, and reference peers wake nobody).

use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::table::align8;
use std::marker::PhantomData;
use std::time::Duration;

const KIND: &str = "queue";
const OFF_HEAD: usize = 0;
const OFF_TAIL: usize = 4;
const OFF_CAPACITY: usize = 8;
const OFF_ELEM_SIZE: usize = 12;
const DATA: usize = 16;

/// Consecutive `d > 0` observations with an unmoved counter after which the
/// segment is taken to be corrupt (a consistent queue never shows one).
const STALE_LIMIT: u32 = 1000;

/// Largest storable capacity: the largest power of two that fits a `u32`.
const MAX_CAPACITY: u32 = 1 << 31;

/// A shared bounded MPMC queue of `T`.
///
/// ```
/// use zeroipc::{Queue, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-queue-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let q = Queue::<u32>::create(&seg, "jobs", 5)?; // stored capacity 8
/// assert_eq!(q.capacity(), 8);
/// q.push(1).unwrap();
/// q.push(2).unwrap();
///
/// let other = Queue::<u32>::open(&seg, "jobs")?; // another process would do this
/// assert_eq!(other.pop(), Some(1));
/// assert_eq!(other.pop(), Some(2));
/// assert_eq!(other.pop_timeout(Duration::from_millis(1)), None);
/// assert!(Queue::<u64>::open(&seg, "jobs").is_err()); // wrong element type
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Queue<T: ShmElement> {
    region: Region,
    /// Validated on open: a nonzero power of two.
    capacity: u32,
    /// `capacity - 1`: `t & mask == t % capacity`.
    mask: u32,
    /// Offset of `seq[0]`, computed from the cached capacity.
    seq_off: usize,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("region", &self.region)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// The stored capacity for a requested one: the next power of two, at
/// least 2, `None` for 0 or when it would exceed 2^31.
///
/// At least 2 because with one slot Vyukov's sequence numbers cannot tell
/// "value published for ticket t" (seq = t + 1) from "slot free for ticket
/// t + 1" (seq = t + capacity): pushes would overwrite unread values. The
/// reference stores 1 for a request of 1 and has exactly that bug; we store 2
/// (a different byte, on purpose) and refuse to open a stored 1.
fn round_capacity(capacity: usize) -> Option<u32> {
    if capacity == 0 {
        return None;
    }
    let r = capacity.max(2).checked_next_power_of_two()?;
    u32::try_from(r).ok().filter(|&r| r <= MAX_CAPACITY)
}

/// `(seq offset, entry size)` for a stored capacity and element size.
fn layout(capacity: u64, elem_size: u64) -> Option<(u64, u64)> {
    let data = capacity.checked_mul(elem_size)?;
    let seq_off = (DATA as u64).checked_add(data)?.checked_add(7)? & !7;
    debug_assert_eq!(seq_off, DATA as u64 + align8(data));
    let total = seq_off.checked_add(capacity.checked_mul(4)?)?;
    Some((seq_off, total))
}

impl<T: ShmElement> Queue<T> {
    /// Entry size of a queue asked for `capacity` elements.
    ///
    /// The capacity is rounded up to a power of two here (as [`Queue::create`]
    /// and [`Queue::init_region`] do), so passing a capacity that is already
    /// rounded gives the same answer. `None` for capacity 0, a rounded
    /// capacity above 2^31, or a size that overflows `u64`.
    pub(crate) fn size_for(capacity: usize) -> Option<u64> {
        let cap = round_capacity(capacity)?;
        layout(cap as u64, size_of::<T>() as u64).map(|(_, total)| total)
    }

    /// Writes a fresh header into the zeroed `region`, whose size must be
    /// `size_for(capacity)`: head = tail = 0, the rounded capacity,
    /// `elem_size`, and `seq[i] = i`.
    pub(crate) fn init_region(region: &Region, capacity: usize) {
        let cap = round_capacity(capacity).expect("capacity accepted by size_for");
        let (seq_off, total) =
            layout(cap as u64, size_of::<T>() as u64).expect("capacity accepted by size_for");
        assert_eq!(total, region.len() as u64, "queue region sized by size_for");
        // Relaxed stores: the structure is published to other processes by
        // the table's release store of entry_count, after this returns.
        region.atomic_u32(OFF_HEAD).store(0, Ordering::Relaxed);
        region.atomic_u32(OFF_TAIL).store(0, Ordering::Relaxed);
        region.write::<u32>(OFF_CAPACITY, cap);
        region.write::<u32>(OFF_ELEM_SIZE, size_of::<T>() as u32);
        let seq_off = seq_off as usize;
        for i in 0..cap {
            region
                .atomic_u32(seq_off + 4 * i as usize)
                .store(i, Ordering::Relaxed);
        }
    }

    /// Validates the header in `region` against its size and `T`, and
    /// caches the bounds.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        let len = region.len();
        if len < DATA {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 16-byte queue header"),
            ));
        }
        let capacity = region.read_u32(OFF_CAPACITY);
        let elem_size = region.read_u32(OFF_ELEM_SIZE);
        let s = size_of::<T>();
        if elem_size as usize != s {
            return Err(region.mismatch(
                KIND,
                format!(
                    "stored elem_size is {elem_size} bytes but size_of::<{}>() is {s} \
                     (wrong element type?)",
                    std::any::type_name::<T>()
                ),
            ));
        }
        if capacity == 0 || !capacity.is_power_of_two() {
            return Err(region.mismatch(
                KIND,
                format!(
                    "stored capacity {capacity} is not a nonzero power of two (the head/tail \
                     counters wrap at 2^32, which only a power of two divides)"
                ),
            ));
        }
        if capacity == 1 {
            return Err(region.mismatch(
                KIND,
                "stored capacity 1: a one-slot Vyukov queue cannot tell a full slot from a \
                 free one and loses values (the reference creates these for a request of 1)",
            ));
        }
        match layout(capacity as u64, s as u64) {
            Some((seq_off, total)) if total == len as u64 => Ok(Queue {
                region,
                capacity,
                mask: capacity - 1,
                seq_off: seq_off as usize,
                _t: PhantomData,
            }),
            _ => Err(region.mismatch(
                KIND,
                format!(
                    "capacity {capacity} x element size {s} needs an entry of \
                     16 + align8({capacity} x {s}) + 4 x {capacity} bytes, but the entry has {len}"
                ),
            )),
        }
    }

    /// Creates a queue named `name` holding at least `capacity` elements.
    ///
    /// The stored capacity is `capacity` rounded up to a power of two (as
    /// the reference does); 0, or a capacity that rounds above 2^31, is an
    /// error.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let s = size_of::<T>();
        if round_capacity(capacity).is_none() {
            return Err(Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: if capacity == 0 {
                    format!("queue {name:?}: capacity 0 (must be at least 1)")
                } else {
                    format!(
                        "queue {name:?}: capacity {capacity} rounds up past 2^31, \
                         the largest power of two a u32 holds"
                    )
                },
            });
        }
        let size = Self::size_for(capacity).ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("queue {name:?}: capacity {capacity} x {s} bytes overflows"),
        })?;
        let region = seg.register(name, size, |r| {
            Self::init_region(r, capacity);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the queue named `name`, checking its header against the entry
    /// and `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    /// The stored capacity (a power of two).
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn head(&self) -> &AtomicU32 {
        self.region.atomic_u32(OFF_HEAD)
    }

    fn tail(&self) -> &AtomicU32 {
        self.region.atomic_u32(OFF_TAIL)
    }

    fn seq(&self, slot: usize) -> &AtomicU32 {
        self.region.atomic_u32(self.seq_off + 4 * slot)
    }

    fn data_off(&self, slot: usize) -> usize {
        DATA + slot * size_of::<T>()
    }

    /// Appends `v`; gives it back as `Err(v)` when the queue is full.
    ///
    /// Lock-free: a failed claim means another producer succeeded.
    pub fn push(&self, v: T) -> Result<(), T> {
        let tail = self.tail();
        let mut last_stale: Option<u32> = None;
        let mut stale = 0u32;
        loop {
            // Relaxed: the tail value is only a guess at our ticket; the
            // sequence word below tells whether the slot is really ours to
            // claim, and the CAS confirms the guess.
            let t = tail.load(Ordering::Relaxed);
            let slot = (t & self.mask) as usize;
            let seq = self.seq(slot);
            // Acquire: pairs with the Release store `seq = h + capacity` of
            // the consumer that emptied this slot on the previous lap, so its
            // read of the old value happens-before our overwrite below.
            let q = seq.load(Ordering::Acquire);
            let d = q.wrapping_sub(t) as i32;
            if d == 0 {
                // The slot is free for ticket t. Claim t. Relaxed, as in the
                // reference: winning the CAS is what makes ticket t (and so
                // the slot) exclusively ours; the data is published by the
                // seq Release store, not by tail. Weak: a spurious failure
                // just goes round again.
                if tail
                    .compare_exchange_weak(
                        t,
                        t.wrapping_add(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    self.region.write::<T>(self.data_off(slot), v);
                    // Release: makes the data write visible to the consumer
                    // whose Acquire load sees `seq == t + 1`.
                    seq.store(t.wrapping_add(1), Ordering::Release);
                    return Ok(());
                }
            } else if d < 0 {
                // The slot still holds (or is still being filled with) the
                // value of ticket t - capacity: the queue is full. A producer
                // that died mid-push also ends up here a lap later.
                return Err(v);
            } else {
                // d > 0: the slot was claimed for ticket t or later, which
                // happens only after tail moved past t (the claimer's tail
                // CAS happens-before its seq store, which our Acquire load
                // saw), so re-reading tail gives a newer value. If it keeps
                // giving the same value, the segment is corrupt: fail rather
                // than spin forever.
                if last_stale == Some(t) {
                    stale += 1;
                    if stale >= STALE_LIMIT {
                        return Err(v);
                    }
                } else {
                    last_stale = Some(t);
                    stale = 0;
                }
                crate::wait::spin_hint();
            }
        }
    }

    /// Removes the oldest value; `None` when the queue is empty (or when the
    /// next value's producer has claimed its slot but not published it,
    /// possibly because it died).
    pub fn pop(&self) -> Option<T> {
        let head = self.head();
        let mut last_stale: Option<u32> = None;
        let mut stale = 0u32;
        loop {
            // Relaxed: a guess at our ticket, confirmed by seq and the CAS.
            let h = head.load(Ordering::Relaxed);
            let slot = (h & self.mask) as usize;
            let seq = self.seq(slot);
            // Acquire: pairs with the producer's Release store
            // `seq = h + 1`, so its data write happens-before our read.
            let q = seq.load(Ordering::Acquire);
            let d = q.wrapping_sub(h.wrapping_add(1)) as i32;
            if d == 0 {
                // The slot holds ticket h's value. Claim h; Relaxed for the
                // same reason as the tail CAS in `push`.
                if head
                    .compare_exchange_weak(
                        h,
                        h.wrapping_add(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    let v = self.region.read::<T>(self.data_off(slot));
                    // Release: our read of the data happens-before the next
                    // producer's write, which Acquire-loads this value.
                    seq.store(h.wrapping_add(self.capacity), Ordering::Release);
                    return Some(v);
                }
            } else if d < 0 {
                // Ticket h has not been published: empty (or its producer
                // is still writing, or died doing so).
                return None;
            } else {
                // d > 0: another consumer took ticket h after our load and
                // head has moved on (as in `push`); an unmoved head means a
                // corrupt segment.
                if last_stale == Some(h) {
                    stale += 1;
                    if stale >= STALE_LIMIT {
                        return None;
                    }
                } else {
                    last_stale = Some(h);
                    stale = 0;
                }
                crate::wait::spin_hint();
            }
        }
    }

    /// Like [`Queue::push`], but waits up to `timeout` for room; gives the
    /// value back as `Err(v)` on timeout. Spins briefly, then sleeps in
    /// bounded steps (at most [`crate::wait::MAX_SLEEP`]) between retries.
    pub fn push_timeout(&self, v: T, timeout: Duration) -> Result<(), T> {
        crate::wait::poll_until(Some(timeout), || self.push(v).ok()).ok_or(v)
    }

    /// Like [`Queue::pop`], but waits up to `timeout` for a value. Spins
    /// briefly, then sleeps in bounded steps between retries.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        crate::wait::poll_until(Some(timeout), || self.pop())
    }

    /// Number of values in the queue (a snapshot): `tail - head` with
    /// wrapping arithmetic, clamped to the capacity.
    pub fn len(&self) -> usize {
        // Head first: tail only grows, so a later tail read is never behind
        // the head we read, and the wrapping difference is not "negative".
        let h = self.head().load(Ordering::Acquire);
        let t = self.tail().load(Ordering::Acquire);
        t.wrapping_sub(h).min(self.capacity) as usize
    }

    /// True when `head == tail` (a snapshot).
    pub fn is_empty(&self) -> bool {
        let h = self.head().load(Ordering::Acquire);
        let t = self.tail().load(Ordering::Acquire);
        h == t
    }

    /// True when `len() == capacity()` (a snapshot).
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    struct Tmp(String, Segment);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = Segment::unlink(&self.0);
        }
    }
    fn seg(tag: &str) -> Tmp {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "/zt_qunit_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let s = Segment::create(&name, 1 << 16).unwrap();
        Tmp(name, s)
    }

    #[test]
    fn rounding_and_sizes() {
        assert_eq!(round_capacity(0), None);
        assert_eq!(round_capacity(1), Some(2));
        assert_eq!(round_capacity(2), Some(2));
        assert_eq!(round_capacity(5), Some(8));
        assert_eq!(round_capacity(1 << 31), Some(1 << 31));
        assert_eq!(round_capacity((1 << 31) + 1), None);
        // q of queues.bin: i32, asked 5 -> 8: 16 + 32 + 32 = 80.
        assert_eq!(Queue::<i32>::size_for(5), Some(80));
        assert_eq!(Queue::<i32>::size_for(8), Some(80));
        // qb: u8, asked 3 -> 4: 16 + align8(4) + 16 = 40.
        assert_eq!(Queue::<u8>::size_for(3), Some(40));
        assert_eq!(Queue::<u8>::size_for(0), None);
        assert_eq!(
            Queue::<[u8; 1 << 20]>::size_for(1 << 31),
            Some(16 + (1u64 << 51) + (1u64 << 33))
        );
    }

    #[test]
    fn create_rejects_zero_and_huge() {
        let t = seg("zero");
        let e = Queue::<u32>::create(&t.1, "z", 0).unwrap_err();
        assert!(e.to_string().contains("capacity 0"), "{e}");
        let e = Queue::<u32>::create(&t.1, "h", usize::MAX).unwrap_err();
        assert!(e.to_string().contains("2^31"), "{e}");
        // Nothing was registered.
        assert!(t.1.entries().unwrap().is_empty());
    }

    #[test]
    fn capacity_one_is_stored_as_two_and_a_stored_one_is_refused() {
        let t = seg("one");
        let q = Queue::<u64>::create(&t.1, "q", 1).unwrap();
        assert_eq!(q.capacity(), 2);
        assert_eq!(q.push(1), Ok(()));
        assert_eq!(q.push(2), Ok(()));
        assert_eq!(q.push(3), Err(3)); // full: nothing overwritten
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), None);
        // A reference-made one-slot queue (capacity 1, seq[0] = 0).
        let r =
            t.1.register("one", 16 + 8 + 4, |r| {
                r.write::<u32>(8, 1);
                r.write::<u32>(12, 4);
                Ok(())
            })
            .unwrap();
        drop(r);
        let e = Queue::<u32>::open(&t.1, "one").unwrap_err();
        assert!(e.to_string().contains("capacity 1"), "{e}");
    }

    #[test]
    fn fifo_full_and_empty() {
        let t = seg("fifo");
        let q = Queue::<u64>::create(&t.1, "q", 3).unwrap();
        assert_eq!(q.capacity(), 4);
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
        for i in 0..4 {
            assert_eq!(q.push(i * 10), Ok(()));
        }
        assert!(q.is_full());
        assert_eq!(q.len(), 4);
        assert_eq!(q.push(99), Err(99));
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.push(40), Ok(()));
        let got: Vec<u64> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, vec![10, 20, 30, 40]);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    /// Puts the queue in the state it has after `start` pushes and pops:
    /// head = tail = start and every slot's sequence ready for its ticket.
    fn set_counters(q: &Queue<u32>, start: u32) {
        q.head().store(start, Ordering::Relaxed);
        q.tail().store(start, Ordering::Relaxed);
        for k in 0..q.capacity {
            let ticket = start.wrapping_add(k);
            q.seq((ticket & q.mask) as usize)
                .store(ticket, Ordering::Relaxed);
        }
    }

    #[test]
    fn counters_wrap_at_u32_max() {
        let t = seg("wrap");
        let q = Queue::<u32>::create(&t.1, "q", 4).unwrap();
        set_counters(&q, u32::MAX - 5);
        // Fill and drain: each round passes the full and the empty state.
        for r in 0..5u32 {
            for k in 0..4 {
                q.push(r * 4 + k).unwrap();
            }
            assert!(q.is_full());
            assert_eq!(q.len(), 4);
            assert_eq!(q.push(1000), Err(1000));
            for k in 0..4 {
                assert_eq!(q.pop(), Some(r * 4 + k));
            }
            assert!(q.is_empty());
            assert_eq!(q.pop(), None);
        }
        // Interleaved: two values in flight.
        let mut next_pop = 20u32;
        for i in 20..40u32 {
            q.push(i).unwrap();
            if q.len() > 2 {
                assert_eq!(q.pop(), Some(next_pop));
                next_pop += 1;
            }
        }
        let rest: Vec<u32> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, (next_pop..40).collect::<Vec<_>>());
        assert!(q.is_empty());
        // Both counters went through u32::MAX -> 0.
        let head = q.head().load(Ordering::Relaxed);
        assert_eq!(head, (u32::MAX - 5).wrapping_add(40));
        assert_eq!(q.tail().load(Ordering::Relaxed), head);

        // len across the wrap: head just below it, tail just above.
        set_counters(&q, u32::MAX - 1);
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert!(q.tail().load(Ordering::Relaxed) < q.head().load(Ordering::Relaxed));
        assert_eq!(q.len(), 3);
        assert!(!q.is_empty());
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn timeouts() {
        let t = seg("timeout");
        let q = Queue::<u32>::create(&t.1, "q", 2).unwrap();
        let start = Instant::now();
        assert_eq!(q.pop_timeout(Duration::from_millis(30)), None);
        assert!(start.elapsed() >= Duration::from_millis(30));
        q.push(1).unwrap();
        q.push(2).unwrap();
        let start = Instant::now();
        assert_eq!(q.push_timeout(3, Duration::from_millis(30)), Err(3));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(q.pop_timeout(Duration::from_millis(30)), Some(1));
        assert_eq!(q.push_timeout(3, Duration::from_millis(30)), Ok(()));

        // A consumer thread gets a value pushed while it waits.
        let q2 = Queue::<u32>::open(&t.1, "q").unwrap();
        let h = std::thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 3 {
                got.extend(q2.pop_timeout(Duration::from_secs(10)));
            }
            got
        });
        std::thread::sleep(Duration::from_millis(20));
        q.push_timeout(4, Duration::from_secs(10)).unwrap();
        assert_eq!(h.join().unwrap(), vec![2, 3, 4]);
    }

    #[test]
    fn dead_producer_does_not_hang_consumers() {
        let t = seg("dead");
        let q = Queue::<u32>::create(&t.1, "q", 4).unwrap();
        q.push(7).unwrap();
        // A producer claims ticket 1 (tail 1 -> 2) and dies before
        // publishing seq[1] = 2.
        q.tail().store(2, Ordering::Relaxed);
        assert_eq!(q.pop(), Some(7));
        assert_eq!(q.pop(), None);
        let start = Instant::now();
        assert_eq!(q.pop_timeout(Duration::from_millis(20)), None);
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Producers still make progress until they lap the dead slot.
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(9), Err(9));
        assert_eq!(q.push_timeout(9, Duration::from_millis(10)), Err(9));
    }

    #[test]
    fn corrupt_sequence_fails_instead_of_spinning() {
        let t = seg("corrupt");
        let q = Queue::<u32>::create(&t.1, "q", 4).unwrap();
        // seq[0] far ahead of tail 0: d > 0 with a tail that never moves.
        q.seq(0).store(100, Ordering::Relaxed);
        assert_eq!(q.push(1), Err(1));
        // seq[0] far ahead of head + 1 on the consumer side.
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn open_validates_header() {
        let t = seg("open");
        Queue::<u32>::create(&t.1, "q", 8).unwrap();
        let e = Queue::<u64>::open(&t.1, "q").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("elem_size is 4") && msg.contains("is 8"),
            "{msg}"
        );
        let r = t.1.region("q").unwrap();
        r.write::<u32>(OFF_CAPACITY, 6);
        let e = Queue::<u32>::open(&t.1, "q").unwrap_err();
        assert!(
            e.to_string()
                .contains("capacity 6 is not a nonzero power of two"),
            "{e}"
        );
        r.write::<u32>(OFF_CAPACITY, 0);
        assert!(Queue::<u32>::open(&t.1, "q").is_err());
        r.write::<u32>(OFF_CAPACITY, 16);
        let e = Queue::<u32>::open(&t.1, "q").unwrap_err();
        assert!(e.to_string().contains("entry has 80"), "{e}");
        r.write::<u32>(OFF_CAPACITY, 8);
        assert!(Queue::<u32>::open(&t.1, "q").is_ok());
    }
}
