//! `Stack<T>`: a bounded multi-producer multi-consumer LIFO (FORMAT.md §3).
//!
//! # Algorithm
//!
//! The ZeroIPC C++ reference `stack.h` protocol (REFERENCE-NOTES §11.2),
//! kept exactly as a concurrent reference peer sees it: an index `top`
//! (atomic i32, −1 when empty) plus a per-slot state word that hands each
//! slot between one pusher and one popper:
//!
//! ```text
//! EMPTY(0) --push claims--> WRITING(1) --data written--> READY(2)
//! READY(2) --pop claims---> READING(3) --data read-----> EMPTY(0)
//! ```
//!
//! - push: CAS `top` from `t` to `t + 1` (full when `t >= capacity - 1`),
//!   then claim slot `t + 1` with CAS EMPTY→WRITING, at most 10000 tries;
//!   on give-up, best-effort CAS `top` back from `t + 1` to `t` and fail.
//!   Otherwise write the value and store READY.
//! - pop: CAS `top` from `t` to `t − 1` (empty when `t < 0`), then claim
//!   slot `t` with CAS READY→READING, at most 10000 tries; on give-up,
//!   best-effort CAS `top` back from `t − 1` to `t` and report nothing.
//!   Otherwise read the value and store EMPTY.
//! - peek (`top()` in C++): at most 10000 tries of: read `top`, CAS its
//!   slot READY→READING, copy the value, store READY.
//!
//! Reserving the index first and claiming the slot second means a slot can
//! be reserved by a pusher and a popper (or two pushers) at once; the state
//! word serialises them. Each successful push publishes exactly one value
//! (one WRITING→READY store) and each value is taken by exactly one
//! READY→READING claim, so values are never duplicated. The give-up path
//! exists so that a peer that died holding a slot cannot hang everyone, but
//! its rollback is best effort: if `top` moved meanwhile, a value can be
//! stranded above `top` until a later pop happens to reserve its slot. We
//! keep it because a reference peer relies on the same bounds.
//!
//! # Layout
//!
//! | offset | field |
//! |---|---|
//! | 0 | `top`: atomic i32, −1 when empty |
//! | 4 | `capacity`: u32, 1..=i32::MAX |
//! | 8 | `elem_size`: u32, `size_of::<T>()` |
//! | 12 | reserved u32, 0 |
//! | 16 | `capacity * s` data bytes |
//! | `16 + align8(capacity * s)` | `capacity` atomic u32 slot states |
//!
//! Entry size `16 + align8(capacity * s) + 4 * capacity`.
//!
//! # What differs from the reference (bytes and protocol unchanged)
//!
//! - Capacity 0 is rejected at creation; open validates element size,
//!   capacity (nonzero, fits an i32) and total size, `top` within
//!   `-1..capacity` and every slot state within 0..=3 (see "Opening the
//!   wrong kind"), and caches the capacity.
//! - A `top` outside `-1..capacity` (only a corrupt segment has one) makes
//!   the operation fail instead of indexing outside the slot array.
//! - The 10000 claim tries are spaced out (spin, then yield, then short
//!   sleeps) so that the bound spans roughly half a second instead of
//!   10000 bare yields: a peer preempted inside its few-instruction critical
//!   window is waited for rather than abandoned, which keeps the give-up
//!   path (and its best-effort rollback) for peers that really died.
//! - Timeout variants retry in bounded sleeps; they may overrun their
//!   timeout by up to the claim bound when a peer stalls mid-operation.
//!
//! # Opening the wrong kind
//!
//! The format has no kind tag. A `Set<u32>` of the same even capacity has
//! this entry size and the same words at +4 (capacity), +8 (element size)
//! and +12 (0); its `size` at +0 reads as `top`. Open refuses a `top`
//! outside `-1..capacity` (a full set) and a slot state outside 0..=3 (a
//! set's key words, unless they happen to be 0..=3). What cannot be told: a
//! set that is not full and whose key words in the second half of its
//! slots happen to be 0..=3 (an empty set, whose bytes are all zero, for
//! one) opens as a stack, its `size` read as `top`; so does any entry of
//! the right size whose words satisfy both checks.

use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{AtomicI32, AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;
use std::time::Duration;

const KIND: &str = "stack";
const OFF_TOP: usize = 0;
const OFF_CAPACITY: usize = 4;
const OFF_ELEM_SIZE: usize = 8;
const OFF_RESERVED: usize = 12;
const DATA: usize = 16;

/// Slot states.
const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const READY: u32 = 2;
const READING: u32 = 3;

/// Tries of a slot claim before giving up (as the reference).
#[cfg(not(loom))]
const CLAIM_TRIES: u32 = 10_000;
/// Loom build: each try is a yield to the model scheduler; a bound this
/// size is never reached between live parties (zeroipc/tests/loom.rs).
#[cfg(loom)]
const CLAIM_TRIES: u32 = 4;
/// Tries that only spin, then tries that yield; the rest sleep.
const CLAIM_SPINS: u32 = 64;
const CLAIM_YIELDS: u32 = 1_000;
/// Sleep between the late tries (actual sleeps are somewhat longer).
const CLAIM_NAP: Duration = Duration::from_micros(50);

/// A shared bounded LIFO stack of `T`.
///
/// ```
/// use zeroipc::{Segment, Stack};
/// let name = format!("/zeroipc-doc-stack-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = Stack::<i64>::create(&seg, "undo", 2)?;
/// s.push(10).unwrap();
/// s.push(20).unwrap();
/// assert_eq!(s.push(30), Err(30)); // full
///
/// let other = Stack::<i64>::open(&seg, "undo")?; // another process would do this
/// assert_eq!(other.peek(), Some(20));
/// assert_eq!(other.pop(), Some(20));
/// assert_eq!(other.pop(), Some(10));
/// assert_eq!(other.pop(), None);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Stack<T: ShmElement> {
    region: Region,
    /// Validated on open: 1..=i32::MAX.
    capacity: u32,
    /// Offset of `state[0]`, computed from the cached capacity.
    state_off: usize,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Stack<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("region", &self.region)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// `(state offset, entry size)` for a capacity and element size.
fn layout(capacity: u64, elem_size: u64) -> Option<(u64, u64)> {
    let data = capacity.checked_mul(elem_size)?;
    let state_off = (DATA as u64).checked_add(data)?.checked_add(7)? & !7;
    let total = state_off.checked_add(capacity.checked_mul(4)?)?;
    Some((state_off, total))
}

fn valid_capacity(capacity: u64) -> bool {
    capacity >= 1 && capacity <= i32::MAX as u64
}

/// Pause between claim tries number `i`.
fn backoff(i: u32) {
    if i < CLAIM_SPINS {
        crate::wait::spin_hint();
    } else if i < CLAIM_YIELDS {
        crate::wait::yield_now();
    } else {
        crate::wait::sleep(CLAIM_NAP);
    }
}

/// Moves `state` from `from` to `to`, trying at most [`CLAIM_TRIES`] times.
fn claim(state: &AtomicU32, from: u32, to: u32) -> bool {
    for i in 0..CLAIM_TRIES {
        // AcqRel on success, as the reference: Acquire pairs with the
        // Release store that put the slot in `from` (so the previous
        // owner's data access happens-before ours); Release is not needed
        // by us but keeps the reference's ordering. Relaxed on failure:
        // nothing is read based on a failed claim. Weak: a spurious failure
        // is one more try.
        if state
            .compare_exchange_weak(from, to, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        backoff(i);
    }
    false
}

impl<T: ShmElement> Stack<T> {
    /// Entry size of a stack of `capacity` elements; `None` for 0, a
    /// capacity above `i32::MAX`, or a size that overflows `u64`. No
    /// rounding.
    pub(crate) fn size_for(capacity: usize) -> Option<u64> {
        let cap = capacity as u64;
        if !valid_capacity(cap) {
            return None;
        }
        layout(cap, size_of::<T>() as u64).map(|(_, total)| total)
    }

    /// Writes a fresh header into the zeroed `region`, whose size must be
    /// `size_for(capacity)`: top = −1, capacity, elem_size, reserved 0; the
    /// states are already 0 (EMPTY).
    pub(crate) fn init_region(region: &Region, capacity: usize) {
        assert_eq!(
            Self::size_for(capacity),
            Some(region.len() as u64),
            "stack region sized by size_for"
        );
        // Relaxed: the table publishes the entry with a Release store of
        // entry_count after this returns.
        region.atomic_i32(OFF_TOP).store(-1, Ordering::Relaxed);
        region.write::<u32>(OFF_CAPACITY, capacity as u32);
        region.write::<u32>(OFF_ELEM_SIZE, size_of::<T>() as u32);
        region.write::<u32>(OFF_RESERVED, 0);
    }

    /// Validates the header in `region` against its size and `T`, and
    /// caches the bounds.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        let len = region.len();
        if len < DATA {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 16-byte stack header"),
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
        if !valid_capacity(capacity as u64) {
            return Err(region.mismatch(
                KIND,
                format!(
                    "stored capacity {capacity} is outside 1..={} (top is an i32)",
                    i32::MAX
                ),
            ));
        }
        let stack = match layout(capacity as u64, s as u64) {
            Some((state_off, total)) if total == len as u64 => Stack {
                region,
                capacity,
                state_off: state_off as usize,
                _t: PhantomData,
            },
            _ => {
                return Err(region.mismatch(
                    KIND,
                    format!(
                        "capacity {capacity} x element size {s} needs an entry of \
                         16 + align8({capacity} x {s}) + 4 x {capacity} bytes, but the entry has {len}"
                    ),
                ))
            }
        };
        stack.check_words()?;
        Ok(stack)
    }

    /// Open checks of what the format promises beyond the header sizes
    /// (module doc, "Opening the wrong kind"): `top` within
    /// `-1..capacity` and every slot state within 0..=3. Every writer of the
    /// format keeps both at every moment (push and pop move `top` only
    /// inside that range, rollbacks included), so a failure means the entry
    /// is another kind's or corrupted. One relaxed load per word.
    fn check_words(&self) -> Result<()> {
        // Relaxed: only the values' ranges matter here.
        let top = self.top().load(Ordering::Relaxed);
        if top < -1 || top >= self.capacity as i32 {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "top is {top}, outside -1..{}: not a stack (a hash set's size or a \
                     queue's position?), or a corrupted one",
                    self.capacity
                ),
            ));
        }
        for i in 0..self.capacity as usize {
            let st = self.state(i).load(Ordering::Relaxed);
            if st > READING {
                return Err(self.region.mismatch(
                    KIND,
                    format!(
                        "slot {i} has state {st}, not EMPTY/WRITING/READY/READING (0..=3): \
                         not a stack, or a corrupted one"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Creates a stack named `name` of exactly `capacity` elements
    /// (1..=i32::MAX; the reference does not round).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let s = size_of::<T>();
        if !valid_capacity(capacity as u64) {
            return Err(Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: format!(
                    "stack {name:?}: capacity {capacity} is outside 1..={}",
                    i32::MAX
                ),
            });
        }
        let size = Self::size_for(capacity).ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("stack {name:?}: capacity {capacity} x {s} bytes overflows"),
        })?;
        let region = seg.register(name, size, |r| {
            Self::init_region(r, capacity);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the stack named `name`, checking its header against the entry
    /// and `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn top(&self) -> &AtomicI32 {
        self.region.atomic_i32(OFF_TOP)
    }

    /// State word of slot `i` (`i < capacity`).
    fn state(&self, i: usize) -> &AtomicU32 {
        self.region.atomic_u32(self.state_off + 4 * i)
    }

    fn data_off(&self, i: usize) -> usize {
        DATA + i * size_of::<T>()
    }

    /// Pushes `v`; gives it back as `Err(v)` when the stack is full, or when
    /// the slot could not be claimed within the bound (a peer stalled or
    /// died on it; trying again later may succeed).
    pub fn push(&self, v: T) -> Result<(), T> {
        let top = self.top();
        let cap = self.capacity as i32;
        let slot = loop {
            // Relaxed: a guess, confirmed by the CAS.
            let t = top.load(Ordering::Relaxed);
            if t >= cap - 1 {
                return Err(v); // full
            }
            if t < -1 {
                return Err(v); // corrupt top: never index below slot 0
            }
            // Reserve index t + 1. AcqRel as the reference (the slot
            // handover itself is ordered by the state word below). Weak:
            // a failure re-reads top.
            if top
                .compare_exchange_weak(t, t + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                break t + 1;
            }
        };
        let i = slot as usize; // 0 <= slot < capacity
        let state = self.state(i);
        // EMPTY -> WRITING: the slot is ours alone until we store READY; a
        // popper that already reserved it (or another pusher) waits on the
        // state word.
        if !claim(state, EMPTY, WRITING) {
            // Give up; undo our reservation if nobody moved top since.
            let _ = top.compare_exchange(slot, slot - 1, Ordering::AcqRel, Ordering::Relaxed);
            return Err(v);
        }
        self.region.write::<T>(self.data_off(i), v);
        // Release: publishes the data to the popper whose READY->READING
        // claim (Acquire) sees this store.
        state.store(READY, Ordering::Release);
        Ok(())
    }

    /// Pops the top value; `None` when the stack is empty, or when the
    /// reserved slot's value was not published within the bound (its
    /// pusher stalled or died; the reservation is rolled back if possible).
    pub fn pop(&self) -> Option<T> {
        let top = self.top();
        let cap = self.capacity as i32;
        let slot = loop {
            // Relaxed: a guess, confirmed by the CAS.
            let t = top.load(Ordering::Relaxed);
            if t < 0 {
                return None; // empty
            }
            if t >= cap {
                return None; // corrupt top: never index past the last slot
            }
            // Reserve index t (AcqRel as the reference).
            if top
                .compare_exchange_weak(t, t - 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                break t;
            }
        };
        let i = slot as usize; // 0 <= slot < capacity
        let state = self.state(i);
        // READY -> READING (Acquire): the pusher's data write happens-before
        // our read.
        if !claim(state, READY, READING) {
            let _ = top.compare_exchange(slot - 1, slot, Ordering::AcqRel, Ordering::Relaxed);
            return None;
        }
        let v = self.region.read::<T>(self.data_off(i));
        // Release: our read happens-before the next pusher's write, whose
        // EMPTY->WRITING claim Acquires this store.
        state.store(EMPTY, Ordering::Release);
        Some(v)
    }

    /// Copies the top value without removing it (`top()` in the reference);
    /// `None` when empty or when no published top value could be claimed
    /// within the bound.
    pub fn peek(&self) -> Option<T> {
        let cap = self.capacity as i32;
        for k in 0..CLAIM_TRIES {
            // Acquire as the reference; the value itself is ordered by the
            // state claim.
            let t = self.top().load(Ordering::Acquire);
            if t < 0 || t >= cap {
                return None;
            }
            let i = t as usize;
            let state = self.state(i);
            // READY -> READING excludes a popper (it waits for READY) while
            // we copy; Acquire pairs with the pusher's READY store.
            if state
                .compare_exchange_weak(READY, READING, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                let v = self.region.read::<T>(self.data_off(i));
                // Release: hand the slot back unchanged.
                state.store(READY, Ordering::Release);
                return Some(v);
            }
            backoff(k);
        }
        None
    }

    /// Like [`Stack::push`], but retries until `timeout` passes (full, or a
    /// give-up on a stalled slot), spinning briefly and then sleeping in
    /// bounded steps; gives the value back as `Err(v)` on timeout.
    pub fn push_timeout(&self, v: T, timeout: Duration) -> Result<(), T> {
        crate::wait::poll_until(Some(timeout), || self.push(v).ok()).ok_or(v)
    }

    /// Like [`Stack::pop`], but retries until `timeout` passes.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        crate::wait::poll_until(Some(timeout), || self.pop())
    }

    /// Number of values (a snapshot): `top + 1`, clamped to `0..=capacity`.
    pub fn len(&self) -> usize {
        let t = self.top().load(Ordering::Acquire);
        (t.saturating_add(1).max(0) as u32).min(self.capacity) as usize
    }

    /// True when `top < 0` (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.top().load(Ordering::Acquire) < 0
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
            "/zt_sunit_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let s = Segment::create(&name, 1 << 16).unwrap();
        Tmp(name, s)
    }

    #[test]
    fn sizes() {
        // s of queues.bin: i64 x 10 = 136; sb: u8 x 5 = 44; ps: i32 x 4 = 48.
        assert_eq!(Stack::<i64>::size_for(10), Some(136));
        assert_eq!(Stack::<u8>::size_for(5), Some(44));
        assert_eq!(Stack::<i32>::size_for(4), Some(48));
        assert_eq!(Stack::<i32>::size_for(0), None);
        assert_eq!(Stack::<i32>::size_for(i32::MAX as usize + 1), None);
    }

    #[test]
    fn create_rejects_bad_capacity() {
        let t = seg("zero");
        let e = Stack::<u32>::create(&t.1, "z", 0).unwrap_err();
        assert!(e.to_string().contains("capacity 0"), "{e}");
        assert!(Stack::<u32>::create(&t.1, "h", 1 << 31).is_err());
        assert!(t.1.entries().unwrap().is_empty());
    }

    #[test]
    fn lifo_full_and_empty() {
        let t = seg("lifo");
        let s = Stack::<u32>::create(&t.1, "s", 3).unwrap();
        assert!(s.is_empty());
        assert_eq!(s.pop(), None);
        assert_eq!(s.peek(), None);
        for i in 1..=3 {
            s.push(i).unwrap();
            assert_eq!(s.peek(), Some(i));
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.push(4), Err(4));
        assert_eq!(s.pop(), Some(3));
        s.push(5).unwrap();
        let got: Vec<u32> = std::iter::from_fn(|| s.pop()).collect();
        assert_eq!(got, vec![5, 2, 1]);
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert_eq!(s.top().load(Ordering::Relaxed), -1);
    }

    #[test]
    fn timeouts() {
        let t = seg("timeout");
        let s = Stack::<u32>::create(&t.1, "s", 1).unwrap();
        let start = Instant::now();
        assert_eq!(s.pop_timeout(Duration::from_millis(30)), None);
        assert!(start.elapsed() >= Duration::from_millis(30));
        s.push(1).unwrap();
        let start = Instant::now();
        assert_eq!(s.push_timeout(2, Duration::from_millis(30)), Err(2));
        assert!(start.elapsed() >= Duration::from_millis(30));

        let s2 = Stack::<u32>::open(&t.1, "s").unwrap();
        let h = std::thread::spawn(move || s2.push_timeout(2, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(s.pop(), Some(1));
        assert_eq!(h.join().unwrap(), Ok(()));
        assert_eq!(s.pop_timeout(Duration::from_secs(10)), Some(2));
    }

    #[test]
    fn dead_pusher_is_given_up_on() {
        let t = seg("dead");
        let s = Stack::<u32>::create(&t.1, "s", 4).unwrap();
        s.push(1).unwrap();
        // A pusher reserved index 1 and died while WRITING.
        s.top().store(1, Ordering::Relaxed);
        s.state(1).store(WRITING, Ordering::Relaxed);
        let start = Instant::now();
        assert_eq!(s.pop(), None);
        let waited = start.elapsed();
        eprintln!("pop gave up on a dead pusher's slot after {waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        // The reservation was rolled back.
        assert_eq!(s.top().load(Ordering::Relaxed), 1);
        assert_eq!(s.len(), 2);
        // A push reserves index 2, which is EMPTY: fine.
        s.push(3).unwrap();
        assert_eq!(s.pop(), Some(3));
    }

    #[test]
    fn corrupt_top_is_refused() {
        let t = seg("corrupt");
        let s = Stack::<u32>::create(&t.1, "s", 4).unwrap();
        s.top().store(1000, Ordering::Relaxed);
        assert_eq!(s.pop(), None);
        assert_eq!(s.peek(), None);
        assert_eq!(s.push(1), Err(1));
        assert_eq!(s.len(), 4);
        s.top().store(-7, Ordering::Relaxed);
        assert_eq!(s.push(1), Err(1));
        assert_eq!(s.pop(), None);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn open_validates_header() {
        let t = seg("open");
        Stack::<u32>::create(&t.1, "s", 8).unwrap();
        let e = Stack::<u16>::open(&t.1, "s").unwrap_err();
        assert!(e.to_string().contains("elem_size is 4"), "{e}");
        let r = t.1.region("s").unwrap();
        r.write::<u32>(OFF_CAPACITY, 0);
        assert!(Stack::<u32>::open(&t.1, "s").is_err());
        r.write::<u32>(OFF_CAPACITY, 1 << 31);
        let e = Stack::<u32>::open(&t.1, "s").unwrap_err();
        assert!(e.to_string().contains("outside 1..="), "{e}");
        r.write::<u32>(OFF_CAPACITY, 9);
        let e = Stack::<u32>::open(&t.1, "s").unwrap_err();
        assert!(e.to_string().contains("entry has 80"), "{e}");
        r.write::<u32>(OFF_CAPACITY, 8);
        assert!(Stack::<u32>::open(&t.1, "s").is_ok());
    }
}
