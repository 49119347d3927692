//! `RawStack`: the bounded multi-producer multi-consumer LIFO protocol over
//! bytes. The normative layout is docs/FORMAT.md §3.3; the offsets and slot
//! states are [`crate::format::stack`]. [`crate::Stack`] is the typed
//! veneer over it.
//!
//! # Algorithm
//!
//! The ZeroIPC C++ reference `stack.h` protocol (docs/FORMAT.md §3.3), kept
//! exactly as a concurrent reference peer sees it: an index `top` (atomic
//! i32, −1 when empty) plus a per-slot state word that hands each slot
//! between one pusher and one popper:
//!
//! ```text
//! EMPTY(0) --push claims--> WRITING(1) --data written--> READY(2)
//! READY(2) --pop claims---> READING(3) --data read-----> EMPTY(0)
//! ```
//!
//! - push: CAS `top` from `t` to `t + 1` (full when `t >= capacity - 1`),
//!   then claim slot `t + 1` with CAS EMPTY→WRITING, within a bounded
//!   number of tries; on give-up, best-effort CAS `top` back from `t + 1`
//!   to `t` and fail. Otherwise write the value and store READY.
//! - pop: CAS `top` from `t` to `t − 1` (empty when `t < 0`), then claim
//!   slot `t` with CAS READY→READING, within the bound; on give-up,
//!   best-effort CAS `top` back from `t − 1` to `t` and report nothing.
//!   Otherwise read the value and store EMPTY.
//! - peek (`top()` in C++): within the bound, tries of: read `top`, CAS its
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
//! # What differs from the reference (bytes and protocol unchanged)
//!
//! - Capacity 0 is rejected at creation; open validates element size,
//!   capacity (nonzero, fits an i32) and total size, `top` within
//!   `-1..capacity` and every slot state within 0..=3 (see "Opening the
//!   wrong kind"), and caches the capacity.
//! - A `top` outside `-1..capacity` (only a corrupt segment has one) makes
//!   the operation fail instead of indexing outside the slot array.
//! - The reference tries a claim 10000 times with a bare yield between
//!   tries; we space the tries out with [`Backoff`] (spin, then yield, then
//!   sleeps growing to [`crate::wait::MAX_SLEEP`]) and stop after
//!   [`CLAIM_TRIES`], about half a second: a peer preempted inside its
//!   few-instruction critical window is waited for rather than abandoned,
//!   which keeps the give-up path (and its best-effort rollback) for peers
//!   that really died.
//! - The timeout forms retry in bounded sleeps; they may overrun their
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
//!
//! # Forms
//!
//! [`RawStack::push`] / [`RawStack::pop`] / [`RawStack::peek`] never block
//! beyond the claim bound (`Ok(false)` when full / empty);
//! [`RawStack::push_timeout`] / [`RawStack::pop_timeout`] retry until a
//! deadline and then return [`Error::Timeout`](crate::Error::Timeout); [`RawStack::items`] copies
//! the values bottom to top without taking them.

use super::{
    check_elem_size, check_elem_size_field, check_len, create_described, invalid_create,
    open_described, size_overflow,
};
use crate::error::Result;
use crate::format::waiters::Side;
use crate::format::{stack as fmt, ElemLayout, StructureKind};
use crate::region::atomic::{AtomicI32, AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::{Backoff, Deadline};
use crate::waiters::{Blocking, Waiters, Word};
use std::time::Duration;

pub(crate) const KIND: &str = "stack";

/// Tries of a slot claim before giving up. With [`Backoff::snooze`]
/// between tries (7 spin steps, 4 yields, then sleeps doubling from 20 µs
/// to 2 ms) 300 tries span about 0.55 s.
#[cfg(not(loom))]
pub const CLAIM_TRIES: u32 = 300;
/// Loom build: each try is a yield to the model scheduler; a bound this
/// size is never reached between live parties (zeroipc/tests/loom.rs).
#[cfg(loom)]
pub const CLAIM_TRIES: u32 = 4;

/// Moves `state` from `from` to `to`, trying at most [`CLAIM_TRIES`] times.
#[inline]
fn claim(state: &AtomicU32, from: u32, to: u32) -> bool {
    // AcqRel on success, as the reference: Acquire pairs with the Release
    // store that put the slot in `from` (so the previous owner's data
    // access happens-before ours); Release is not needed by us but keeps
    // the reference's ordering. Relaxed on failure: nothing is read based
    // on a failed claim. Weak: a spurious failure is one more try. The
    // first try is outside the loop so the uncontended path makes no
    // Backoff.
    if state
        .compare_exchange_weak(from, to, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        return true;
    }
    claim_contended(state, from, to)
}

/// The pause between claim tries: [`Backoff::snooze`]. Loom build: one
/// yield to the model's scheduler per try (a snooze spins `2^step` times,
/// each a yield under loom, which would multiply the model's states for no
/// new interleaving).
#[inline]
fn pause(backoff: &Backoff) {
    #[cfg(not(loom))]
    backoff.snooze();
    #[cfg(loom)]
    {
        let _ = backoff;
        crate::wait::spin_hint();
    }
}

/// The rest of [`claim`]'s tries, spaced out by a [`Backoff`].
#[cold]
fn claim_contended(state: &AtomicU32, from: u32, to: u32) -> bool {
    let backoff = Backoff::new();
    for _ in 1..CLAIM_TRIES {
        pause(&backoff);
        // Orderings as in `claim`.
        if state
            .compare_exchange_weak(from, to, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
    }
    false
}

/// A bounded LIFO stack whose element size is known at run time.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::RawStack;
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-rawstack-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = RawStack::create(&seg, "undo", ElemLayout::new(3, 1).unwrap(), 2)?;
/// assert!(s.push(b"abc")?);
/// assert!(s.push(b"def")?);
/// assert!(!s.push(b"ghi")?); // full
/// assert_eq!(s.items(), vec![b"abc".to_vec(), b"def".to_vec()]); // bottom to top
/// let mut out = [0u8; 3];
/// assert!(s.peek(&mut out)?);
/// assert_eq!(&out, b"def");
/// assert!(s.pop(&mut out)?);
/// assert_eq!(&out, b"def");
/// assert!(s.pop(&mut [0u8; 5]).is_err()); // wrong length
/// assert_eq!(s.len(), 1);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawStack {
    region: Region,
    elem: ElemLayout,
    /// `elem.size()`, validated against the entry on open.
    elem_size: usize,
    /// Validated on open: 1..=i32::MAX.
    capacity: u32,
    /// Offset of `state[0]`, computed from the cached capacity.
    state_off: usize,
    /// The stack's sleeper counts in the segment's waiter registry.
    waiters: Waiters,
}

impl RawStack {
    /// Entry size of a stack of `capacity` elements of `elem`; `None` for
    /// 0, a capacity above `i32::MAX`, or a size that overflows `u64`. No
    /// rounding.
    pub(crate) fn size_for(elem: ElemLayout, capacity: usize) -> Option<u64> {
        if !fmt::is_valid_capacity(capacity as u64) {
            return None;
        }
        fmt::entry_size(capacity as u64, elem)
    }

    /// Writes a fresh header into the zeroed `region`, whose size must be
    /// `size_for(elem, capacity)`: top = −1, capacity, elem_size, reserved
    /// 0; the states are already 0 (EMPTY).
    pub(crate) fn init_region(region: &Region, elem: ElemLayout, capacity: usize) {
        assert_eq!(
            Self::size_for(elem, capacity),
            Some(region.len() as u64),
            "stack region sized by size_for"
        );
        // Relaxed: the table publishes the entry with a Release store of
        // entry_count after this returns.
        region
            .atomic_i32(fmt::TOP as usize)
            .store(fmt::TOP_EMPTY, Ordering::Relaxed);
        region.write::<u32>(fmt::CAPACITY as usize, capacity as u32);
        region.write::<u32>(fmt::ELEM_SIZE as usize, elem.size() as u32);
        region.write::<u32>(fmt::RESERVED as usize, 0);
    }

    /// Validates the header in `region` against its size and `elem` (for
    /// `None`, the header's element size), and caches the bounds.
    pub(crate) fn from_region(region: Region, elem: Option<ElemLayout>) -> Result<RawStack> {
        Self::from_region_as(region, elem, None)
    }

    /// [`RawStack::from_region`] for a typed veneer: `type_name` names its
    /// element type in a mismatch error.
    pub(crate) fn from_region_as(
        region: Region,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawStack> {
        let len = region.len();
        if (len as u64) < fmt::HEADER_SIZE {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 16-byte stack header"),
            ));
        }
        let capacity = region.read_u32(fmt::CAPACITY as usize);
        let stored_size = region.read_u32(fmt::ELEM_SIZE as usize);
        let elem = check_elem_size(&region, KIND, stored_size as u64, elem, type_name)?;
        if !fmt::is_valid_capacity(capacity as u64) {
            return Err(region.mismatch(
                KIND,
                format!(
                    "stored capacity {capacity} is outside 1..={} (top is an i32)",
                    fmt::MAX_CAPACITY
                ),
            ));
        }
        let s = elem.size();
        let stack = match (
            fmt::state_offset(capacity as u64, elem),
            fmt::entry_size(capacity as u64, elem),
        ) {
            (Some(state_off), Some(total)) if total == len as u64 => RawStack {
                waiters: Waiters::of(&region),
                region,
                elem,
                elem_size: s as usize,
                capacity,
                state_off: state_off as usize,
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
        if top < fmt::TOP_EMPTY || top >= self.capacity as i32 {
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
            if st > fmt::READING {
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

    /// Creates a stack named `name` of exactly `capacity` elements of
    /// `elem` (1..=i32::MAX; the reference does not round).
    pub fn create(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
    ) -> Result<RawStack> {
        Self::create_as(seg, name, elem, capacity, None)
    }

    /// [`RawStack::create`] recording the element type's fingerprint (a typed
    /// veneer's) in the segment's self-description.
    pub(crate) fn create_as(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        fingerprint: Option<u64>,
    ) -> Result<RawStack> {
        let bad = |what: String| invalid_create(seg, KIND, name, what);
        if !fmt::is_valid_capacity(capacity as u64) {
            return Err(bad(format!(
                "capacity {capacity} is outside 1..={}",
                fmt::MAX_CAPACITY
            )));
        }
        check_elem_size_field(seg, KIND, name, elem)?;
        let size = Self::size_for(elem, capacity)
            .ok_or_else(|| size_overflow(seg, KIND, name, capacity, elem))?;
        let stored = StructureKind::Stack
            .stored_capacity(capacity as u64)
            .unwrap_or(0);
        let region = create_described(
            seg,
            name,
            StructureKind::Stack,
            elem,
            fingerprint,
            stored,
            size,
            |r| Self::init_region(r, elem, capacity),
        )?;
        Self::from_region(region, Some(elem))
    }

    /// Opens the stack named `name`, checking its header against the entry
    /// and, when given, `elem` (`None`: the header's element size).
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawStack> {
        Self::open_as(seg, name, elem, None)
    }

    /// [`RawStack::open`] for a typed veneer (`type_name` names its element
    /// type in a mismatch error).
    pub(crate) fn open_as(
        seg: &Segment,
        name: &str,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawStack> {
        open_described(
            seg,
            name,
            StructureKind::Stack,
            elem,
            |region, elem| Self::from_region_as(region, elem, type_name),
            |raw| raw.elem,
        )
    }

    /// The element layout.
    #[inline]
    pub fn elem(&self) -> ElemLayout {
        self.elem
    }

    /// The capacity.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        &self.region
    }

    #[inline]
    fn top(&self) -> &AtomicI32 {
        // SAFETY: offset 0 of a region of at least the 16-byte header
        // (checked when opened), 4-aligned.
        unsafe { self.region.atomic_i32_unchecked(fmt::TOP as usize) }
    }

    /// State word of slot `i` (`i < capacity`, checked in debug builds).
    #[inline]
    fn state(&self, i: usize) -> &AtomicU32 {
        debug_assert!(i < self.capacity as usize);
        // SAFETY: opening checked that the entry holds `state_off + 4 *
        // capacity` bytes with `state_off` 8-aligned; the callers pass an
        // index they checked against the capacity (`top` in range).
        unsafe { self.region.atomic_u32_unchecked(self.state_off + 4 * i) }
    }

    #[inline]
    fn data_off(&self, i: usize) -> usize {
        fmt::DATA as usize + i * self.elem_size
    }

    /// The push protocol; `write(region, offset)` copies the element into
    /// the claimed slot. False when the stack is full, or when the slot
    /// could not be claimed within the bound (a peer stalled or died on it;
    /// trying again later may succeed).
    #[inline]
    pub(crate) fn push_with(&self, write: impl FnOnce(&Region, usize)) -> bool {
        let top = self.top();
        let cap = self.capacity as i32;
        let slot = loop {
            // Relaxed: a guess, confirmed by the CAS.
            let t = top.load(Ordering::Relaxed);
            if t >= cap - 1 {
                return false; // full
            }
            if t < fmt::TOP_EMPTY {
                return false; // corrupt top: never index below slot 0
            }
            // Reserve index t + 1. SeqCst on success (the reference uses
            // acq_rel; on x86-64 the same instruction): the handover itself
            // is ordered by the state word below, and SeqCst makes this
            // claim step 1 of the wake protocol (crate::waiters), ordered
            // before the sleeper-count load below. Weak: a failure re-reads
            // top.
            if top
                .compare_exchange_weak(t, t + 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                break t + 1;
            }
        };
        // Step 2: is a popper asleep on `top`?
        let sleepers = self.waiters.items_sleeping();
        let i = slot as usize; // 0 <= slot < capacity
        let state = self.state(i);
        // EMPTY -> WRITING: the slot is ours alone until we store READY; a
        // popper that already reserved it (or another pusher) waits on the
        // state word.
        if !claim(state, fmt::EMPTY, fmt::WRITING) {
            // Give up; undo our reservation if nobody moved top since
            // (best effort: a failed CAS means someone did, module doc).
            let _ = top.compare_exchange(slot, slot - 1, Ordering::AcqRel, Ordering::Relaxed);
            return false;
        }
        write(&self.region, self.data_off(i));
        // Release: publishes the data to the popper whose READY->READING
        // claim (Acquire) sees this store.
        state.store(fmt::READY, Ordering::Release);
        if sleepers {
            // Step 4, after publishing.
            Word::U32(self.top_word()).wake_all();
        }
        true
    }

    /// The pop protocol; `read(region, offset)` copies the element out of
    /// the claimed slot. `None` when the stack is empty, or when the
    /// reserved slot's value was not published within the bound (its
    /// pusher stalled or died; the reservation is rolled back if possible).
    #[inline]
    pub(crate) fn pop_with<R>(&self, read: impl FnOnce(&Region, usize) -> R) -> Option<R> {
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
            // Reserve index t (SeqCst on success, as in `push_with`: step 1
            // of the wake protocol for pushers asleep on `top`).
            if top
                .compare_exchange_weak(t, t - 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                break t;
            }
        };
        let sleepers = self.waiters.room_sleeping();
        let i = slot as usize; // 0 <= slot < capacity
        let state = self.state(i);
        // READY -> READING (Acquire): the pusher's data write happens-before
        // our read.
        if !claim(state, fmt::READY, fmt::READING) {
            // Best-effort rollback, as in `push_with`.
            let _ = top.compare_exchange(slot - 1, slot, Ordering::AcqRel, Ordering::Relaxed);
            return None;
        }
        let v = read(&self.region, self.data_off(i));
        // Release: our read happens-before the next pusher's write, whose
        // EMPTY->WRITING claim Acquires this store.
        state.store(fmt::EMPTY, Ordering::Release);
        if sleepers {
            Word::U32(self.top_word()).wake_all();
        }
        Some(v)
    }

    /// The peek protocol (`top()` in the reference): `read` copies the top
    /// value while its slot is held READING. `None` when empty or when no
    /// published top value could be claimed within the bound.
    #[inline]
    pub(crate) fn peek_with<R>(&self, read: impl FnOnce(&Region, usize) -> R) -> Option<R> {
        let cap = self.capacity as i32;
        let backoff = Backoff::new();
        for _ in 0..CLAIM_TRIES {
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
                .compare_exchange_weak(
                    fmt::READY,
                    fmt::READING,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                let v = read(&self.region, self.data_off(i));
                // Release: hand the slot back unchanged.
                state.store(fmt::READY, Ordering::Release);
                return Some(v);
            }
            pause(&backoff);
        }
        None
    }

    /// [`RawStack::push_with`], retried until `timeout` passes (a full
    /// stack, or a give-up on a stalled slot); [`Error::Timeout`](crate::Error::Timeout) then.
    pub(crate) fn push_timeout_with(
        &self,
        timeout: Duration,
        write: impl Fn(&Region, usize),
    ) -> Result<()> {
        let deadline = Deadline::after(timeout);
        // Asleep on `top` only while the stack is full with no pop in
        // flight (a reserved but unfinished pop has already moved `top`).
        let full = self.capacity as i32 - 1;
        self.block_on_top(Side::Room, &deadline, full, || {
            self.push_with(&write).then_some(())
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// The `top` word as the u32 the kernel compares (same bits as i32).
    #[inline]
    fn top_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(fmt::TOP as usize)
    }

    /// Retries `attempt` until it succeeds or `deadline` passes, asleep on
    /// `top` (registered in `side`, crate::waiters) when `top` reads
    /// `idle_top`: the state in which only the other side can make
    /// progress, with nothing of theirs in flight.
    fn block_on_top<R>(
        &self,
        side: Side,
        deadline: &Deadline,
        idle_top: i32,
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let blocking = Blocking {
            waiters: &self.waiters,
            side,
            word: Word::U32(self.top_word()),
        };
        blocking.wait(deadline, attempt, || {}, |seen| seen as i32 == idle_top)
    }

    /// [`RawStack::pop_with`], retried until `timeout` passes;
    /// [`Error::Timeout`](crate::Error::Timeout) then.
    pub(crate) fn pop_timeout_with<R>(
        &self,
        timeout: Duration,
        mut read: impl FnMut(&Region, usize) -> R,
    ) -> Result<R> {
        let deadline = Deadline::after(timeout);
        // Asleep on `top` only while the stack is empty (-1) with no push in
        // flight (a reserved but unpublished push has already moved `top`).
        self.block_on_top(Side::Items, &deadline, fmt::TOP_EMPTY, || {
            self.pop_with(&mut read)
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Pushes the element `src` (exactly the element size); `Ok(false)`
    /// when the stack is full or the slot could not be claimed within the
    /// bound.
    #[inline]
    pub fn push(&self, src: &[u8]) -> Result<bool> {
        check_len(&self.region, KIND, "push", self.elem_size, src.len())?;
        Ok(self.push_with(|r, off| r.write_bytes(off, src)))
    }

    /// Pops the top element into `out` (exactly the element size);
    /// `Ok(false)` when the stack is empty or the top slot's value was not
    /// published within the bound.
    #[inline]
    pub fn pop(&self, out: &mut [u8]) -> Result<bool> {
        check_len(&self.region, KIND, "pop", self.elem_size, out.len())?;
        Ok(self.pop_with(|r, off| r.read_bytes(off, out)).is_some())
    }

    /// Copies the top element into `out` without removing it; `Ok(false)`
    /// when empty or when no published top value could be claimed.
    #[inline]
    pub fn peek(&self, out: &mut [u8]) -> Result<bool> {
        check_len(&self.region, KIND, "peek", self.elem_size, out.len())?;
        Ok(self.peek_with(|r, off| r.read_bytes(off, out)).is_some())
    }

    /// Like [`RawStack::push`], but retries until `timeout` passes;
    /// [`Error::Timeout`](crate::Error::Timeout) then (nothing was written).
    pub fn push_timeout(&self, src: &[u8], timeout: Duration) -> Result<()> {
        check_len(
            &self.region,
            KIND,
            "push_timeout",
            self.elem_size,
            src.len(),
        )?;
        self.push_timeout_with(timeout, |r, off| r.write_bytes(off, src))
    }

    /// Like [`RawStack::pop`], but retries until `timeout` passes;
    /// [`Error::Timeout`](crate::Error::Timeout) then (`out` is unchanged).
    pub fn pop_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        check_len(&self.region, KIND, "pop_timeout", self.elem_size, out.len())?;
        self.pop_timeout_with(timeout, |r, off| r.read_bytes(off, out))
    }

    /// A copy of the stacked values, bottom to top (slots `0..=top`),
    /// without taking them: a snapshot for tools. It stops at the first
    /// slot that is not READY (a push or pop in progress, or a dead peer's)
    /// or that changed while it was being copied. Holds no slot, so it
    /// never delays a pusher or popper.
    pub fn items(&self) -> Vec<Vec<u8>> {
        // Acquire: as `len`; the values are ordered by their state words.
        let top = self.top().load(Ordering::Acquire);
        let n = (top.saturating_add(1).max(0) as u32).min(self.capacity) as usize;
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let state = self.state(i);
            // Acquire: pairs with the pusher's Release store of READY, so
            // the value's bytes are visible to the copy below.
            if state.load(Ordering::Acquire) != fmt::READY {
                break;
            }
            let mut v = vec![0u8; self.elem_size];
            self.region.read_bytes(self.data_off(i), &mut v);
            // Acquire fence, then re-read: a popper that claimed the slot
            // during the copy (and a pusher that refilled it) changed the
            // state at least once; READY -> READING -> EMPTY -> WRITING ->
            // READY in between cannot be told (an ABA): the snapshot is
            // best effort, never a torn read reported as consistent beyond
            // that.
            crate::region::atomic::fence(Ordering::Acquire);
            if state.load(Ordering::Relaxed) != fmt::READY {
                break;
            }
            items.push(v);
        }
        items
    }

    /// Number of values (a snapshot): `top + 1`, clamped to `0..=capacity`.
    #[inline]
    pub fn len(&self) -> usize {
        // Acquire as the reference; a count only (the values themselves are
        // ordered by their slot states), stale as soon as it is read.
        let t = self.top().load(Ordering::Acquire);
        (t.saturating_add(1).max(0) as u32).min(self.capacity) as usize
    }

    /// True when `top < 0` (a snapshot).
    #[inline]
    pub fn is_empty(&self) -> bool {
        // Acquire as `len`: a snapshot.
        self.top().load(Ordering::Acquire) < 0
    }
}

// Batch push/pop: a child module so that it shares this file's private
// helpers.
#[path = "stack_batch.rs"]
mod batch;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Stack};
    use std::time::Instant;

    struct Tmp(String, Segment);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = Segment::unlink(&self.0);
        }
    }
    fn seg(tag: &str) -> Tmp {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "/zt_sunit_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        // Self-describing: the opens below pass both the record's checks
        // and the header's (tests/raw_data.rs covers segments without).
        let s = crate::SegmentOptions::new()
            .size(1 << 16)
            .self_describing(true)
            .create(&name)
            .unwrap();
        Tmp(name, s)
    }

    #[test]
    fn sizes() {
        let e = |s, a| ElemLayout::new(s, a).unwrap();
        // s of queues.bin: i64 x 10 = 136; sb: u8 x 5 = 44; ps: i32 x 4 = 48.
        assert_eq!(RawStack::size_for(e(8, 8), 10), Some(136));
        assert_eq!(RawStack::size_for(e(1, 1), 5), Some(44));
        assert_eq!(RawStack::size_for(e(4, 4), 4), Some(48));
        assert_eq!(RawStack::size_for(e(4, 4), 0), None);
        assert_eq!(RawStack::size_for(e(4, 4), i32::MAX as usize + 1), None);
    }

    #[test]
    fn create_rejects_bad_capacity() {
        let t = seg("zero");
        let before = t.1.entries().unwrap().len(); // the self-description entry, if any
        let e = Stack::<u32>::create(&t.1, "z", 0).unwrap_err();
        assert!(e.to_string().contains("capacity 0"), "{e}");
        assert!(Stack::<u32>::create(&t.1, "h", 1 << 31).is_err());
        assert_eq!(t.1.entries().unwrap().len(), before);
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
        let items: Vec<Vec<u8>> = [1u32, 2, 5]
            .iter()
            .map(|v| v.to_ne_bytes().to_vec())
            .collect();
        assert_eq!(s.raw().items(), items);
        let got: Vec<u32> = std::iter::from_fn(|| s.pop()).collect();
        assert_eq!(got, vec![5, 2, 1]);
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert_eq!(s.raw().top().load(Ordering::Relaxed), -1);
        assert!(s.raw().items().is_empty());
    }

    #[test]
    fn timeouts() {
        let t = seg("timeout");
        let s = Stack::<u32>::create(&t.1, "s", 1).unwrap();
        let start = Instant::now();
        let e = s.pop_timeout(Duration::from_millis(30)).unwrap_err();
        assert!(matches!(e, Error::Timeout { kind: "stack", .. }), "{e}");
        assert!(start.elapsed() >= Duration::from_millis(30));
        s.push(1).unwrap();
        let start = Instant::now();
        let e = s.push_timeout(2, Duration::from_millis(30)).unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert_eq!(e.into_inner(), 2);
        assert!(start.elapsed() >= Duration::from_millis(30));

        let s2 = Stack::<u32>::open(&t.1, "s").unwrap();
        let h = std::thread::spawn(move || {
            s2.push_timeout(2, Duration::from_secs(10))
                .map_err(|e| e.into_inner())
        });
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(s.pop(), Some(1));
        assert_eq!(h.join().unwrap(), Ok(()));
        assert_eq!(s.pop_timeout(Duration::from_secs(10)).unwrap(), 2);
    }

    #[test]
    fn dead_pusher_is_given_up_on() {
        let t = seg("dead");
        let s = Stack::<u32>::create(&t.1, "s", 4).unwrap();
        s.push(1).unwrap();
        // A pusher reserved index 1 and died while WRITING.
        s.raw().top().store(1, Ordering::Relaxed);
        s.raw().state(1).store(fmt::WRITING, Ordering::Relaxed);
        assert_eq!(s.raw().items(), vec![1u32.to_ne_bytes().to_vec()]);
        let start = Instant::now();
        assert_eq!(s.pop(), None);
        let waited = start.elapsed();
        eprintln!("pop gave up on a dead pusher's slot after {waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        // The reservation was rolled back.
        assert_eq!(s.raw().top().load(Ordering::Relaxed), 1);
        assert_eq!(s.len(), 2);
        // A push reserves index 2, which is EMPTY: fine.
        s.push(3).unwrap();
        assert_eq!(s.pop(), Some(3));
    }

    #[test]
    fn corrupt_top_is_refused() {
        let t = seg("corrupt");
        let s = Stack::<u32>::create(&t.1, "s", 4).unwrap();
        s.raw().top().store(1000, Ordering::Relaxed);
        assert_eq!(s.pop(), None);
        assert_eq!(s.peek(), None);
        assert_eq!(s.push(1), Err(1));
        assert_eq!(s.len(), 4);
        s.raw().top().store(-7, Ordering::Relaxed);
        assert_eq!(s.push(1), Err(1));
        assert_eq!(s.pop(), None);
        assert_eq!(s.len(), 0);
        assert!(s.raw().items().is_empty());
    }

    #[test]
    fn open_validates_header() {
        let t = seg("open");
        Stack::<u32>::create(&t.1, "s", 8).unwrap();
        let e = Stack::<u16>::open(&t.1, "s").unwrap_err();
        assert!(e.to_string().contains("elem_size is 4"), "{e}");
        let r = t.1.region("s").unwrap();
        let cap = fmt::CAPACITY as usize;
        r.write::<u32>(cap, 0);
        assert!(Stack::<u32>::open(&t.1, "s").is_err());
        r.write::<u32>(cap, 1 << 31);
        let e = Stack::<u32>::open(&t.1, "s").unwrap_err();
        assert!(e.to_string().contains("outside 1..="), "{e}");
        r.write::<u32>(cap, 9);
        let e = Stack::<u32>::open(&t.1, "s").unwrap_err();
        assert!(e.to_string().contains("entry has 80"), "{e}");
        r.write::<u32>(cap, 8);
        assert!(Stack::<u32>::open(&t.1, "s").is_ok());
    }
}
