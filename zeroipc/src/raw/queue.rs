//! `RawQueue`: the bounded multi-producer multi-consumer FIFO protocol over
//! bytes (docs/FORMAT.md §3.2). The normative layout is docs/FORMAT.md
//! §3.2; the offsets are [`crate::format::queue`]. [`crate::Queue`] is the
//! typed veneer over it.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue (1024cores.net, "Bounded MPMC
//! queue"), with the protocol exactly as the ZeroIPC C++ reference
//! `queue.h` runs it (docs/FORMAT.md §3.2), so a C++ process, or a Python
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
//! # What differs from the reference (bytes and protocol unchanged)
//!
//! - Open validates the header against the entry size and the element
//!   layout (element size, capacity a power of two of at least 2, total
//!   size) and caches the capacity; the reference trusts the header.
//! - A request for one slot stores 2 (docs/FORMAT.md §8.1): a one-slot
//!   Vyukov queue cannot tell "value published for ticket t" (seq = t + 1)
//!   from "slot free for ticket t + 1" (seq = t + capacity), and the
//!   reference's one-slot queues overwrite unread values; open refuses a
//!   stored 1.
//! - `len()` uses wrapping subtraction, so it stays right when the counters
//!   wrap (the reference returns 0 when `tail < head` numerically).
//! - A peer that died between taking a ticket and publishing its slot
//!   leaves that slot's sequence stuck. `pop` then reports the queue empty
//!   at that point (`d < 0`) and `push` reports it full a lap later, as in
//!   the reference; the timeout forms time out instead of hanging.
//! - The `d > 0` "retry" branch can only be taken while the counter has
//!   moved on (see the comments in [`RawQueue::push`]); if the counter has
//!   not moved, the segment has been corrupted, and after a bounded number
//!   of such retries the operation fails instead of spinning forever.
//!
//! # Forms
//!
//! [`RawQueue::push`] / [`RawQueue::pop`] never block (`Ok(false)` when
//! full / empty); [`RawQueue::push_timeout`] / [`RawQueue::pop_timeout`]
//! retry until a deadline (spinning briefly, then sleeping in bounded
//! steps: the format has no word to be woken on, and reference peers wake
//! nobody) and then return [`Error::Timeout`](crate::Error::Timeout); [`RawQueue::items`] copies
//! the queued values in FIFO order without taking them.

use super::{
    check_elem_size, check_elem_size_field, check_len, create_described, invalid_create,
    open_described, size_overflow,
};
use crate::error::Result;
use crate::format::waiters::Side;
use crate::format::{queue as fmt, ElemLayout, StructureKind};
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::Deadline;
use crate::waiters::{Blocking, Waiters, Word};
use std::time::Duration;

pub(crate) const KIND: &str = "queue";

/// Consecutive `d > 0` observations with an unmoved counter after which the
/// segment is taken to be corrupt (a consistent queue never shows one).
const STALE_LIMIT: u32 = 1000;

/// Rounds of [`RawQueue::spin_until_seq_is`] per backoff step (each a load
/// and a spin hint: a few microseconds in all).
const SEQ_SPIN_ROUNDS: u32 = 16;

/// A bounded MPMC queue whose element size is known at run time.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::RawQueue;
/// use zeroipc::Segment;
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-rawqueue-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let twelve = ElemLayout::new(12, 4).unwrap();
/// let q = RawQueue::create(&seg, "jobs", twelve, 3)?; // stored capacity 4
/// assert_eq!(q.capacity(), 4);
/// assert!(q.push(&[1; 12])?);
/// assert!(q.push(&[2; 12])?);
///
/// let other = RawQueue::open(&seg, "jobs", None)?; // element size from the header
/// assert_eq!(other.elem().size(), 12);
/// assert_eq!(other.items(), vec![vec![1; 12], vec![2; 12]]); // nothing taken
/// let mut out = [0u8; 12];
/// assert!(other.pop(&mut out)?);
/// assert_eq!(out, [1; 12]);
/// assert!(other.pop(&mut [0u8; 4]).is_err()); // wrong length
/// assert!(other.pop(&mut out)?);
/// assert!(!other.pop(&mut out)?); // empty
/// assert!(other.pop_timeout(&mut out, Duration::from_millis(1)).unwrap_err().to_string().contains("timed out"));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawQueue {
    region: Region,
    elem: ElemLayout,
    /// `elem.size()`, validated against the entry on open.
    elem_size: usize,
    /// Validated on open: a power of two in 2..=2^31.
    capacity: u32,
    /// `capacity - 1`: `t & mask == t % capacity`.
    mask: u32,
    /// Offset of `seq[0]`, computed from the cached capacity.
    seq_off: usize,
    /// The queue's sleeper counts in the segment's waiter registry.
    waiters: Waiters,
    /// This handle's guesses of `head` and `tail` (boxed: each has cache
    /// lines of its own, which would make every handle half a KiB).
    hints: Box<Hints>,
}

/// A handle's private guesses of the shared counters.
#[derive(Debug, Default, Clone)]
struct Hints {
    /// The guess of `head` (see [`HeadHint`]).
    head: HeadHint,
    /// The guess of `tail`: what `tail` became at this handle's last
    /// successful push. Never ahead of `tail`; a push tries it first and
    /// lets the CAS check it, so the producer of a hand-off does not wait
    /// for the `head`/`tail` line twice (once to read `tail`, once to CAS).
    tail: HeadHint,
}

/// A handle's private guess of the shared `head`, so that a consumer
/// polling an empty queue reads only the sequence word of the slot the next
/// value arrives in, and not the `head`/`tail` cache line the producers are
/// writing (in a two-process ping-pong that line then stays with the
/// producer: about a third less latency per hand-off).
///
/// `next` is what `head` became at this handle's last successful pop, or a
/// value of `head` this handle read; `head` only grows, so `next` is never
/// ahead of it. `checked` is a time stamp (CPU cycles) taken when `next`
/// was last compared with `head`; it is at most as old as `next`'s value.
/// A pop trusts "the slot of ticket `next` is not published" to mean
/// "empty" only if `checked` is younger than [`HINT_TRUST_CYCLES`]: within
/// that time `head` cannot have moved 2^31 tickets (each move is a shared
/// CAS), so `next` cannot be mistaken for another lap's ticket. Otherwise,
/// and whenever the slot says anything else, the pop reads `head` as the
/// protocol does. A successful claim is always checked by the CAS. (A
/// thread stalled for the time 2^31 pops take between its claim and its
/// store of `next` can leave an old `next` beside a fresh `checked`: the
/// same horizon as the protocol's own CASes, which a stall across 2^32
/// tickets defeats in the reference too.)
/// Private memory, hence plain atomics (handles are `Sync`).
///
/// Each hint has a cache line pair of its own (`align(128)`): a handle
/// shared by a producer thread and a consumer thread writes the tail hint
/// on one core and the head hint on the other, and next to each other they
/// would bounce one line between the cores on every operation.
#[derive(Debug, Default)]
#[repr(align(128))]
struct HeadHint {
    next: std::sync::atomic::AtomicU32,
    checked: std::sync::atomic::AtomicU64,
}

/// How long (in CPU time-stamp cycles, about 0.3 ms at 3 GHz) a hint
/// checked against `head` is trusted to tell an empty queue.
const HINT_TRUST_CYCLES: u64 = 1 << 20;

impl Clone for HeadHint {
    fn clone(&self) -> HeadHint {
        HeadHint {
            next: std::sync::atomic::AtomicU32::new(self.next.load(LocalOrdering::Relaxed)),
            // Never trusted until checked again.
            checked: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// Orderings of the private hint (no other memory depends on it).
use std::sync::atomic::Ordering as LocalOrdering;

/// A cheap monotonic cycle count where the CPU has one (x86-64 `rdtsc`),
/// `None` elsewhere (and under loom): the hint is then never trusted.
#[inline]
fn cycles() -> Option<u64> {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // SAFETY: RDTSC reads the time-stamp counter; no memory is accessed.
    return Some(unsafe { std::arch::x86_64::_rdtsc() });
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    None
}

impl HeadHint {
    /// True when `next` was compared with `head` recently enough to be
    /// trusted (see the type's docs).
    #[inline]
    fn trusted(&self, now: Option<u64>) -> bool {
        let checked = self.checked.load(LocalOrdering::Relaxed);
        // A counter that went backwards (another CPU's) is not trusted.
        now.is_some_and(|now| checked != 0 && now >= checked && now - checked < HINT_TRUST_CYCLES)
    }
}

/// Asks the CPU to start fetching the line at `p` (a hint: it never
/// faults and changes no memory).
#[inline(always)]
fn prefetch(p: *mut u8) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // SAFETY: PREFETCHT0 only hints the cache; it does not access memory
    // architecturally and cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = p;
}

impl RawQueue {
    /// Entry size of a queue of `elem` asked for `capacity` slots (rounded
    /// as [`crate::format::queue::stored_capacity`] does); `None` for 0, a
    /// capacity that rounds above 2^31, or a size that overflows.
    pub(crate) fn size_for(elem: ElemLayout, capacity: usize) -> Option<u64> {
        fmt::entry_size(fmt::stored_capacity(capacity as u64)?, elem)
    }

    /// Writes a fresh header into the zeroed `region`, whose size must be
    /// `size_for(elem, capacity)`: head = tail = 0, the stored capacity,
    /// `elem_size`, and `seq[i] = i`.
    pub(crate) fn init_region(region: &Region, elem: ElemLayout, capacity: usize) {
        let cap = fmt::stored_capacity(capacity as u64).expect("capacity accepted by size_for");
        let seq_off = fmt::seq_offset(cap, elem).expect("capacity accepted by size_for");
        assert_eq!(
            fmt::entry_size(cap, elem),
            Some(region.len() as u64),
            "queue region sized by size_for"
        );
        // Relaxed stores: the structure is published to other processes by
        // the table's release store of entry_count, after this returns.
        region
            .atomic_u32(fmt::HEAD as usize)
            .store(0, Ordering::Relaxed);
        region
            .atomic_u32(fmt::TAIL as usize)
            .store(0, Ordering::Relaxed);
        region.write::<u32>(fmt::CAPACITY as usize, cap as u32);
        region.write::<u32>(fmt::ELEM_SIZE as usize, elem.size() as u32);
        for i in 0..cap {
            region
                .atomic_u32((seq_off + fmt::SEQ_SIZE * i) as usize)
                .store(i as u32, Ordering::Relaxed);
        }
    }

    /// Validates the header in `region` against its size and `elem` (or,
    /// for `None`, takes the element size from the header), and caches the
    /// bounds.
    pub(crate) fn from_region(region: Region, elem: Option<ElemLayout>) -> Result<RawQueue> {
        Self::from_region_as(region, elem, None)
    }

    /// [`RawQueue::from_region`] for a typed veneer: `type_name` names its
    /// element type in a mismatch error.
    pub(crate) fn from_region_as(
        region: Region,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawQueue> {
        let len = region.len();
        if (len as u64) < fmt::HEADER_SIZE {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 16-byte queue header"),
            ));
        }
        let capacity = region.read_u32(fmt::CAPACITY as usize);
        let stored_size = region.read_u32(fmt::ELEM_SIZE as usize);
        let elem = check_elem_size(&region, KIND, stored_size as u64, elem, type_name)?;
        if !capacity.is_power_of_two() {
            return Err(region.mismatch(
                KIND,
                format!(
                    "stored capacity {capacity} is not a nonzero power of two (the head/tail \
                     counters wrap at 2^32, which only a power of two divides)"
                ),
            ));
        }
        if !fmt::is_valid_capacity(capacity as u64) {
            return Err(region.mismatch(
                KIND,
                "stored capacity 1: a one-slot Vyukov queue cannot tell a full slot from a \
                 free one and loses values (the reference creates these for a request of 1)",
            ));
        }
        let s = elem.size();
        match (
            fmt::seq_offset(capacity as u64, elem),
            fmt::entry_size(capacity as u64, elem),
        ) {
            (Some(seq_off), Some(total)) if total == len as u64 => Ok(RawQueue {
                elem,
                elem_size: s as usize,
                capacity,
                mask: capacity - 1,
                seq_off: seq_off as usize,
                waiters: Waiters::of(&region),
                // The head hint is untrusted until checked.
                hints: Box::default(),
                region,
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

    /// Creates a queue named `name` of `elem` holding at least `capacity`
    /// elements: the stored capacity is `capacity` rounded up to a power of
    /// two, at least 2; 0, or a capacity that rounds above 2^31, is an
    /// error.
    pub fn create(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
    ) -> Result<RawQueue> {
        Self::create_as(seg, name, elem, capacity, None)
    }

    /// [`RawQueue::create`] recording the element type's fingerprint (a typed
    /// veneer's) in the segment's self-description.
    pub(crate) fn create_as(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        fingerprint: Option<u64>,
    ) -> Result<RawQueue> {
        let bad = |what: String| invalid_create(seg, KIND, name, what);
        if fmt::stored_capacity(capacity as u64).is_none() {
            return Err(bad(if capacity == 0 {
                "capacity 0 (must be at least 1)".to_owned()
            } else {
                format!(
                    "capacity {capacity} rounds up past 2^31, the largest power of two a u32 holds"
                )
            }));
        }
        check_elem_size_field(seg, KIND, name, elem)?;
        let size = Self::size_for(elem, capacity)
            .ok_or_else(|| size_overflow(seg, KIND, name, capacity, elem))?;
        let stored = StructureKind::Queue
            .stored_capacity(capacity as u64)
            .unwrap_or(0);
        let region = create_described(
            seg,
            name,
            StructureKind::Queue,
            elem,
            fingerprint,
            stored,
            size,
            |r| Self::init_region(r, elem, capacity),
        )?;
        Self::from_region(region, Some(elem))
    }

    /// Opens the queue named `name`, checking its header against the entry
    /// and, when given, `elem` (`None`: the element size stored in the
    /// header, aligned as [`crate::raw`] describes).
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawQueue> {
        Self::open_as(seg, name, elem, None)
    }

    /// [`RawQueue::open`] for a typed veneer (`type_name` names its element
    /// type in a mismatch error).
    pub(crate) fn open_as(
        seg: &Segment,
        name: &str,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawQueue> {
        open_described(
            seg,
            name,
            StructureKind::Queue,
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

    /// The stored capacity (a power of two).
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
    fn head(&self) -> &AtomicU32 {
        // SAFETY: offset 0 of a region of at least the 16-byte header
        // (checked by `from_region_as`), 4-aligned.
        unsafe { self.region.atomic_u32_unchecked(fmt::HEAD as usize) }
    }

    #[inline]
    fn tail(&self) -> &AtomicU32 {
        // SAFETY: offset 4 of the checked 16-byte header.
        unsafe { self.region.atomic_u32_unchecked(fmt::TAIL as usize) }
    }

    /// `seq[slot]`; `slot` must be below the capacity (callers pass
    /// `ticket & mask`), which is checked in debug builds.
    #[inline]
    fn seq(&self, slot: usize) -> &AtomicU32 {
        debug_assert!(slot < self.capacity as usize);
        // SAFETY: `from_region_as` checked that the entry holds
        // `seq_off + 4 * capacity` bytes with `seq_off` 8-aligned, and
        // `slot < capacity` (masked ticket), so the word is in bounds and
        // 4-aligned.
        unsafe {
            self.region
                .atomic_u32_unchecked(self.seq_off + fmt::SEQ_SIZE as usize * slot)
        }
    }

    #[inline]
    fn data_off(&self, slot: usize) -> usize {
        fmt::DATA as usize + slot * self.elem_size
    }

    /// True when a consumer may be asleep waiting for an item: load it
    /// right after the SeqCst `tail` claim (step 2 of the protocol in
    /// [`crate::waiters`]), and if it was true call
    /// [`RawQueue::wake_item_sleepers`] after publishing.
    #[inline]
    pub(crate) fn item_sleepers(&self) -> bool {
        self.waiters.items_sleeping()
    }

    /// Wakes the consumers asleep on `tail` (step 4).
    #[cold]
    #[inline(never)]
    pub(crate) fn wake_item_sleepers(&self) {
        Word::U32(self.tail()).wake_all();
    }

    /// True when a producer may be asleep waiting for room: load it right
    /// after the SeqCst `head` claim, and if it was true call
    /// [`RawQueue::wake_room_sleepers`] after freeing the slot.
    #[inline]
    pub(crate) fn room_sleepers(&self) -> bool {
        self.waiters.room_sleeping()
    }

    /// Wakes the producers asleep on `head`.
    #[cold]
    #[inline(never)]
    pub(crate) fn wake_room_sleepers(&self) {
        Word::U32(self.head()).wake_all();
    }

    /// The push protocol; `write(region, offset)` copies the element into
    /// the claimed slot at `offset` (`elem_size` bytes). False when full.
    ///
    /// Lock-free: a failed claim means another producer succeeded.
    #[inline]
    pub(crate) fn push_with(&self, write: impl FnOnce(&Region, usize)) -> bool {
        let tail = self.tail();
        let mut last_stale: Option<u32> = None;
        let mut stale = 0u32;
        // The first guess at our ticket is the hint (never ahead of tail):
        // only a free slot is acted on, through the CAS, which checks it.
        let mut guessed = true;
        let mut t = self.hints.tail.next.load(LocalOrdering::Relaxed);
        loop {
            let slot = (t & self.mask) as usize;
            let seq = self.seq(slot);
            // Acquire: pairs with the Release store `seq = h + capacity` of
            // the consumer that emptied this slot on the previous lap, so its
            // read of the old value happens-before our overwrite below.
            let q = seq.load(Ordering::Acquire);
            let d = q.wrapping_sub(t) as i32;
            if d == 0 {
                // The slot is free for ticket t. Claim t: winning the CAS is
                // what makes ticket t (and so the slot) exclusively ours; the
                // data is published by the seq Release store, not by tail.
                // SeqCst on success (the reference uses relaxed; on x86-64
                // it is the same instruction): step 1 of the wake protocol
                // (crate::waiters), ordered before the sleeper-count load
                // below. Weak: a spurious failure just goes round again.
                if tail
                    .compare_exchange_weak(
                        t,
                        t.wrapping_add(1),
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    // Step 2: is a consumer asleep on `tail`?
                    let sleepers = self.item_sleepers();
                    write(&self.region, self.data_off(slot));
                    // Release: makes the data write visible to the consumer
                    // whose Acquire load sees `seq == t + 1`.
                    seq.store(t.wrapping_add(1), Ordering::Release);
                    self.hints
                        .tail
                        .next
                        .store(t.wrapping_add(1), LocalOrdering::Relaxed);
                    if sleepers {
                        // Step 4, after publishing: the woken consumer finds
                        // the value.
                        self.wake_item_sleepers();
                    }
                    return true;
                }
            } else if guessed {
                // The hint was stale (or the queue is full): ask tail.
            } else if d < 0 {
                // The slot still holds (or is still being filled with) the
                // value of ticket t - capacity: the queue is full. A producer
                // that died mid-push also ends up here a lap later.
                return false;
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
                        return false;
                    }
                } else {
                    last_stale = Some(t);
                    stale = 0;
                }
                crate::wait::spin_hint();
            }
            // Relaxed: the tail value is only a guess at our ticket; the
            // sequence word tells whether the slot is really ours to claim,
            // and the CAS confirms the guess.
            guessed = false;
            t = tail.load(Ordering::Relaxed);
        }
    }

    /// The pop protocol; `read(region, offset)` copies the element out of
    /// the claimed slot at `offset`. `None` when the queue is empty (or when
    /// the next value's producer has claimed its slot but not published it,
    /// possibly because it died).
    #[inline]
    pub(crate) fn pop_with<R>(&self, read: impl FnOnce(&Region, usize) -> R) -> Option<R> {
        let head = self.head();
        let mut last_stale: Option<u32> = None;
        let mut stale = 0u32;
        // The first guess at our ticket is the hint (never ahead of head):
        // a published slot is acted on through the CAS, which checks it;
        // an unpublished one means "empty" only if the hint is trusted.
        let mut guessed = true;
        let mut h = self.hints.head.next.load(LocalOrdering::Relaxed);
        loop {
            let slot = (h & self.mask) as usize;
            let seq = self.seq(slot);
            // Acquire: pairs with the producer's Release store
            // `seq = h + 1`, so its data write happens-before our read.
            let q = seq.load(Ordering::Acquire);
            let d = q.wrapping_sub(h.wrapping_add(1)) as i32;
            if d == 0 {
                // Start fetching the value's line while the claim below
                // fetches the head/tail line.
                // (wrapping_add: a hint address needs no bounds proof; it
                // is in bounds anyway, `slot < capacity`.)
                prefetch(self.region.ptr(0, 0).wrapping_add(self.data_off(slot)));
                // The slot holds ticket h's value. Claim h; SeqCst on
                // success for the same reason as the tail CAS in
                // `push_with` (here for producers asleep on `head`).
                if head
                    .compare_exchange_weak(
                        h,
                        h.wrapping_add(1),
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    let sleepers = self.room_sleepers();
                    let v = read(&self.region, self.data_off(slot));
                    // Release: our read of the data happens-before the next
                    // producer's write, which Acquire-loads this value.
                    seq.store(h.wrapping_add(self.capacity), Ordering::Release);
                    // What `head` became: never ahead of it (HeadHint).
                    self.hints
                        .head
                        .next
                        .store(h.wrapping_add(1), LocalOrdering::Relaxed);
                    if sleepers {
                        self.wake_room_sleepers();
                    }
                    return Some(v);
                }
            } else if guessed {
                if d < 0 && self.unpublished_at_hint(h, q) {
                    return None;
                }
                // Stale or untrusted: ask head.
            } else if d < 0 {
                // Ticket h has not been published: empty (or its producer
                // is still writing, or died doing so). `head` read h just
                // now: a checked hint.
                self.hints.head.next.store(h, LocalOrdering::Relaxed);
                if let Some(now) = cycles() {
                    self.hints.head.checked.store(now, LocalOrdering::Relaxed);
                }
                return None;
            } else {
                // d > 0: another consumer took ticket h after our load and
                // head has moved on (as in `push_with`); an unmoved head
                // means a corrupt segment.
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
            // Relaxed: a guess at our ticket, confirmed by seq and the CAS.
            guessed = false;
            h = head.load(Ordering::Relaxed);
        }
    }

    /// True when `q`, read from the slot of the hinted ticket `h`, says,
    /// and the hint may be trusted to say, that the next ticket is not
    /// published (see [`HeadHint`]): `pop` then reports empty without
    /// reading `head`.
    #[inline]
    fn unpublished_at_hint(&self, h: u32, q: u32) -> bool {
        // With `h == head`, an unpublished ticket's slot reads h (free, or
        // claimed and being written) or h - capacity + 1 (the previous lap's
        // value still being read out). At capacity 2^31 the latter equals a
        // freed slot's value, so such queues never use the hint.
        let unpublished = q == h || q == h.wrapping_sub(self.capacity).wrapping_add(1);
        unpublished && self.capacity < 1 << 31 && self.hints.head.trusted(cycles())
    }

    /// Retries `attempt` (a push) until it succeeds or `deadline` passes:
    /// spinning on the sequence word of the slot the next push needs (the
    /// line a consumer's pop writes), then asleep on `head`, which a pop
    /// claims (crate::waiters). Sleeping is safe when the queue is full
    /// with no pop in flight: `tail - head == capacity` at the `head` seen.
    pub(crate) fn wait_for_room<R>(
        &self,
        deadline: &Deadline,
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let blocking = Blocking {
            waiters: &self.waiters,
            side: Side::Room,
            word: Word::U32(self.head()),
        };
        let spin = || {
            // Relaxed: a hint of which slot to watch; the attempt decides.
            let t = self.tail().load(Ordering::Relaxed);
            self.spin_until_seq_is(t & self.mask, t);
        };
        let idle = |seen_head: u32| {
            self.tail().load(Ordering::SeqCst).wrapping_sub(seen_head) >= self.capacity
        };
        blocking.wait(deadline, attempt, spin, idle)
    }

    /// Retries `attempt` (a pop) until it succeeds or `deadline` passes:
    /// spinning on the sequence word of the slot the next value arrives in
    /// (the line the producer's publication writes, rather than the
    /// head/tail line the producer's claim is busy with), then asleep on
    /// `tail`, which a push claims. Sleeping is safe when the queue is
    /// empty with no push in flight: `head == tail` at the `tail` seen.
    pub(crate) fn wait_for_item<R>(
        &self,
        deadline: &Deadline,
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let blocking = Blocking {
            waiters: &self.waiters,
            side: Side::Items,
            word: Word::U32(self.tail()),
        };
        let spin = || {
            // Relaxed: a hint of which slot to watch; the attempt decides.
            let h = self.head().load(Ordering::Relaxed);
            self.spin_until_seq_is(h & self.mask, h.wrapping_add(1));
        };
        let idle = |seen_tail: u32| self.head().load(Ordering::SeqCst) == seen_tail;
        blocking.wait(deadline, attempt, spin, idle)
    }

    /// Busy-waits (a bounded number of rounds) until `seq[slot]` reads
    /// `want` or changes: the cheapest way to see a hand-off arrive, since
    /// the line is only written when it does.
    #[inline]
    fn spin_until_seq_is(&self, slot: u32, want: u32) {
        let seq = self.seq(slot as usize);
        // Relaxed: only a trigger to retry the full (Acquire) attempt.
        let first = seq.load(Ordering::Relaxed);
        for _ in 0..SEQ_SPIN_ROUNDS {
            let now = seq.load(Ordering::Relaxed);
            if now == want || now != first {
                return;
            }
            crate::wait::spin_hint();
        }
    }

    /// [`RawQueue::push_with`], retried until `timeout` passes (see
    /// [`RawQueue::wait_for_room`]); [`Error::Timeout`](crate::Error::Timeout) then.
    pub(crate) fn push_timeout_with(
        &self,
        timeout: Duration,
        write: impl Fn(&Region, usize),
    ) -> Result<()> {
        let deadline = Deadline::after(timeout);
        self.wait_for_room(&deadline, || self.push_with(&write).then_some(()))
            .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// [`RawQueue::pop_with`], retried until `timeout` passes (see
    /// [`RawQueue::wait_for_item`]); [`Error::Timeout`](crate::Error::Timeout) then.
    pub(crate) fn pop_timeout_with<R>(
        &self,
        timeout: Duration,
        mut read: impl FnMut(&Region, usize) -> R,
    ) -> Result<R> {
        let deadline = Deadline::after(timeout);
        self.wait_for_item(&deadline, || self.pop_with(&mut read))
            .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Appends the element `src` (exactly [`RawQueue::elem`]`.size()`
    /// bytes); `Ok(false)` when the queue is full. Never blocks.
    #[inline]
    pub fn push(&self, src: &[u8]) -> Result<bool> {
        check_len(&self.region, KIND, "push", self.elem_size, src.len())?;
        Ok(self.push_with(|r, off| r.write_bytes(off, src)))
    }

    /// Removes the oldest element into `out` (exactly the element size);
    /// `Ok(false)` when the queue is empty. Never blocks.
    #[inline]
    pub fn pop(&self, out: &mut [u8]) -> Result<bool> {
        check_len(&self.region, KIND, "pop", self.elem_size, out.len())?;
        Ok(self.pop_with(|r, off| r.read_bytes(off, out)).is_some())
    }

    /// Like [`RawQueue::push`], but waits up to `timeout` for room;
    /// [`Error::Timeout`](crate::Error::Timeout) when none came (nothing was written).
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

    /// Like [`RawQueue::pop`], but waits up to `timeout` for an element;
    /// [`Error::Timeout`](crate::Error::Timeout) when none came (`out` is unchanged).
    pub fn pop_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        check_len(&self.region, KIND, "pop_timeout", self.elem_size, out.len())?;
        self.pop_timeout_with(timeout, |r, off| r.read_bytes(off, out))
    }

    /// A copy of the queued elements in FIFO order (`head..tail`), without
    /// taking them: a snapshot for tools. It stops at the first ticket whose
    /// value is not published (a producer still writing, or dead: where
    /// `pop` would report the queue empty) and at the first slot that a
    /// concurrent pop or push changed while it was being copied.
    pub fn items(&self) -> Vec<Vec<u8>> {
        // Acquire: tickets below the head we read were popped, those below
        // the tail were claimed; both only grow (modulo 2^32).
        let h = self.head().load(Ordering::Acquire);
        let t = self.tail().load(Ordering::Acquire);
        let n = t.wrapping_sub(h).min(self.capacity);
        let mut items = Vec::with_capacity(n as usize);
        for k in 0..n {
            let ticket = h.wrapping_add(k);
            let slot = (ticket & self.mask) as usize;
            let seq = self.seq(slot);
            // Acquire: pairs with the producer's Release `seq = ticket + 1`,
            // so the value's bytes are visible to the copy below.
            if seq.load(Ordering::Acquire) != ticket.wrapping_add(1) {
                break;
            }
            let mut v = vec![0u8; self.elem_size];
            self.region.read_bytes(self.data_off(slot), &mut v);
            // Acquire fence, then re-read: if a consumer took the ticket
            // (and maybe a producer refilled the slot) during the copy, the
            // sequence moved on and the copy may be torn: stop there.
            crate::region::atomic::fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) != ticket.wrapping_add(1) {
                break;
            }
            items.push(v);
        }
        items
    }

    /// Number of values in the queue (a snapshot): `tail - head` with
    /// wrapping arithmetic, clamped to the capacity.
    #[inline]
    pub fn len(&self) -> usize {
        // Head first: tail only grows, so a later tail read is never behind
        // the head we read, and the wrapping difference is not "negative".
        let h = self.head().load(Ordering::Acquire);
        let t = self.tail().load(Ordering::Acquire);
        t.wrapping_sub(h).min(self.capacity) as usize
    }

    /// True when `head == tail` (a snapshot).
    #[inline]
    pub fn is_empty(&self) -> bool {
        let h = self.head().load(Ordering::Acquire);
        let t = self.tail().load(Ordering::Acquire);
        h == t
    }

    /// True when `len() == capacity()` (a snapshot).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity as usize
    }
}

// Batch push/pop (one claim for k tickets): a child module so that it
// shares this file's private helpers.
#[path = "queue_batch.rs"]
mod batch;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Queue};
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
            "/zt_qunit_{tag}_{}_{}",
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

    fn e<T: crate::ShmElement>() -> ElemLayout {
        ElemLayout::of::<T>()
    }

    #[test]
    fn sizes() {
        // q of queues.bin: i32, asked 5 -> 8: 16 + 32 + 32 = 80.
        assert_eq!(RawQueue::size_for(e::<i32>(), 5), Some(80));
        assert_eq!(RawQueue::size_for(e::<i32>(), 8), Some(80));
        // qb: u8, asked 3 -> 4: 16 + align8(4) + 16 = 40.
        assert_eq!(RawQueue::size_for(e::<u8>(), 3), Some(40));
        assert_eq!(RawQueue::size_for(e::<u8>(), 0), None);
        assert_eq!(
            RawQueue::size_for(e::<[u8; 1 << 20]>(), 1 << 31),
            Some(16 + (1u64 << 51) + (1u64 << 33))
        );
    }

    #[test]
    fn create_rejects_zero_and_huge() {
        let t = seg("zero");
        let before = t.1.entries().unwrap().len(); // the self-description entry, if any
        let e = Queue::<u32>::create(&t.1, "z", 0).unwrap_err();
        assert!(e.to_string().contains("capacity 0"), "{e}");
        let e = Queue::<u32>::create(&t.1, "h", usize::MAX).unwrap_err();
        assert!(e.to_string().contains("2^31"), "{e}");
        // Nothing was registered.
        assert_eq!(t.1.entries().unwrap().len(), before);
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
        let items: Vec<u64> = q
            .raw()
            .items()
            .iter()
            .map(|b| u64::from_ne_bytes(b[..].try_into().unwrap()))
            .collect();
        assert_eq!(items, vec![10, 20, 30, 40]);
        let got: Vec<u64> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, vec![10, 20, 30, 40]);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert!(q.raw().items().is_empty());
    }

    /// Puts the queue in the state it has after `start` pushes and pops:
    /// head = tail = start and every slot's sequence ready for its ticket.
    fn set_counters(q: &RawQueue, start: u32) {
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
        let raw = q.raw();
        set_counters(raw, u32::MAX - 5);
        // Fill and drain: each round passes the full and the empty state.
        for r in 0..5u32 {
            for k in 0..4 {
                q.push(r * 4 + k).unwrap();
            }
            assert!(q.is_full());
            assert_eq!(q.len(), 4);
            assert_eq!(q.push(1000), Err(1000));
            assert_eq!(raw.items().len(), 4);
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
        let head = raw.head().load(Ordering::Relaxed);
        assert_eq!(head, (u32::MAX - 5).wrapping_add(40));
        assert_eq!(raw.tail().load(Ordering::Relaxed), head);

        // len across the wrap: head just below it, tail just above.
        set_counters(raw, u32::MAX - 1);
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert!(raw.tail().load(Ordering::Relaxed) < raw.head().load(Ordering::Relaxed));
        assert_eq!(q.len(), 3);
        assert_eq!(
            raw.items(),
            vec![
                0u32.to_ne_bytes().to_vec(),
                1u32.to_ne_bytes().to_vec(),
                2u32.to_ne_bytes().to_vec()
            ]
        );
        assert!(!q.is_empty());
        assert_eq!(q.pop(), Some(0));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn stale_hints_never_give_a_wrong_answer() {
        let t = seg("hint");
        let a = Queue::<u32>::create(&t.1, "q", 4).unwrap();
        let b = Queue::<u32>::open(&t.1, "q").unwrap();
        // A polls empty (its head hint is now checked and trusted).
        assert_eq!(a.pop(), None);
        let mut next = 0u32;
        let mut expect = std::collections::VecDeque::new();
        // B moves the counters whole laps and partial laps while A's hints
        // age; after each step A's answers must match the model exactly.
        for round in 0..200u32 {
            let pushes = round % 7;
            for _ in 0..pushes {
                if b.push(next).is_ok() {
                    expect.push_back(next);
                    next += 1;
                }
            }
            let pops = (round * 3) % 5;
            for _ in 0..pops {
                assert_eq!(b.pop(), expect.pop_front());
            }
            // A, hinted: one pop and one push per round.
            assert_eq!(a.pop(), expect.pop_front(), "round {round}");
            if a.push(next).is_ok() {
                expect.push_back(next);
                next += 1;
            }
            assert_eq!(a.len(), expect.len());
        }
        while let Some(v) = expect.pop_front() {
            assert_eq!(a.pop(), Some(v));
        }
        assert_eq!(a.pop(), None);
        assert_eq!(b.pop(), None);
        // A clone shares nothing with its source but the queue.
        let c = a.raw().clone();
        assert!(a.push(5).is_ok());
        let mut out = [0u8; 4];
        assert!(c.pop(&mut out).unwrap());
        assert_eq!(u32::from_ne_bytes(out), 5);
        assert_eq!(a.pop(), None);
    }

    #[test]
    fn timeouts() {
        let t = seg("timeout");
        let q = Queue::<u32>::create(&t.1, "q", 2).unwrap();
        let start = Instant::now();
        let e = q.pop_timeout(Duration::from_millis(30)).unwrap_err();
        assert!(matches!(e, Error::Timeout { kind: "queue", .. }), "{e}");
        assert!(start.elapsed() >= Duration::from_millis(30));
        q.push(1).unwrap();
        q.push(2).unwrap();
        let start = Instant::now();
        let e = q.push_timeout(3, Duration::from_millis(30)).unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert_eq!(e.into_inner(), 3);
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(q.pop_timeout(Duration::from_millis(30)).unwrap(), 1);
        assert!(q.push_timeout(3, Duration::from_millis(30)).is_ok());

        // A consumer thread gets a value pushed while it waits.
        let q2 = Queue::<u32>::open(&t.1, "q").unwrap();
        let h = std::thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 3 {
                got.push(q2.pop_timeout(Duration::from_secs(10)).unwrap());
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
        q.raw().tail().store(2, Ordering::Relaxed);
        assert_eq!(q.raw().items(), vec![7u32.to_ne_bytes().to_vec()]);
        assert_eq!(q.pop(), Some(7));
        assert_eq!(q.pop(), None);
        assert!(q.raw().items().is_empty()); // stops at the unpublished ticket
        let start = Instant::now();
        assert!(q.pop_timeout(Duration::from_millis(20)).is_err());
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Producers still make progress until they lap the dead slot.
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(9), Err(9));
        assert_eq!(
            q.push_timeout(9, Duration::from_millis(10))
                .map_err(|e| e.into_inner()),
            Err(9)
        );
    }

    #[test]
    fn corrupt_sequence_fails_instead_of_spinning() {
        let t = seg("corrupt");
        let q = Queue::<u32>::create(&t.1, "q", 4).unwrap();
        // seq[0] far ahead of tail 0: d > 0 with a tail that never moves.
        q.raw().seq(0).store(100, Ordering::Relaxed);
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
        let cap = fmt::CAPACITY as usize;
        r.write::<u32>(cap, 6);
        let e = Queue::<u32>::open(&t.1, "q").unwrap_err();
        assert!(
            e.to_string()
                .contains("capacity 6 is not a nonzero power of two"),
            "{e}"
        );
        r.write::<u32>(cap, 0);
        assert!(Queue::<u32>::open(&t.1, "q").is_err());
        r.write::<u32>(cap, 16);
        let e = Queue::<u32>::open(&t.1, "q").unwrap_err();
        assert!(e.to_string().contains("entry has 80"), "{e}");
        r.write::<u32>(cap, 8);
        assert!(Queue::<u32>::open(&t.1, "q").is_ok());
        assert_eq!(
            RawQueue::open(&t.1, "q", None).unwrap().elem(),
            ElemLayout::of::<u32>()
        );
    }
}
