//! Waking a blocked peer in microseconds: the waiter registry (docs/FORMAT.md
//! §12, offsets in [`crate::format::waiters`]).
//!
//! Queue, Stack, Ring and Pool have no word in their format that says
//! "somebody sleeps here", so a producer cannot know whether a wake-up
//! system call is needed. The registry, an extension table entry of ours,
//! holds two sleeper counts per table slot ("items", "room"); the futex
//! words are the structures' own counters (a queue's `tail` and `head`, a
//! stack's `top`, the low halves of a ring's positions and of a pool's free
//! list head), so the structures' bytes do not change.
//!
//! # Protocol (a Dekker pair; all four steps SeqCst)
//!
//! ```text
//! waker (producer)                      sleeper (consumer)
//! 1. RMW the word (claim: CAS tail)     a. count += 1
//! 2. n = count                          b. seen = word
//! 3. finish (write, publish)            c. try the operation again
//! 4. if n > 0: FUTEX_WAKE(word)         d. if it failed and nothing is in
//!                                          flight at `seen`:
//!                                          FUTEX_WAIT(word, seen, <= 2 ms)
//!                                       e. count -= 1
//! ```
//!
//! Steps 1, 2, a and b are SeqCst, so they are totally ordered. If the
//! waker's load (2) misses the sleeper's increment (a), then 1 < 2 < a < b
//! in that order, so the sleeper's load (b) sees the claim: the word moved,
//! and the sleeper does not sleep on it ("in flight": a claim whose
//! publication it will see within nanoseconds; it backs off instead).
//! Otherwise the waker sees `n > 0` and wakes the word after publishing;
//! the sleeper is either already queued in the kernel (woken) or the
//! kernel's compare of the word with `seen` fails (it returns at once).
//! On x86-64 a SeqCst CAS is the same `lock cmpxchg` as a relaxed one and a
//! SeqCst load is a plain load, so the fast path adds one load and one
//! branch, and no system call while nobody sleeps.
//!
//! Reference peers never wake anybody, and a sleeper killed while counted
//! leaves its count raised (its structure's producers then make one
//! needless `FUTEX_WAKE` per operation, which the inspector shows): every
//! sleep is therefore bounded by [`MAX_SLEEP`] and followed by a re-check.
//! Without a registry (a segment made by a reference library, or with
//! [`SegmentOptions::wake_registry`](crate::SegmentOptions::wake_registry)
//! off) waiters poll with bounded sleeps, as before.

use crate::format::waiters::{self as fmt, Side};
use crate::region::atomic::{AtomicU32, AtomicU64, Ordering};
use crate::region::Region;
use crate::wait::{Backoff, Deadline, MAX_SLEEP};
use std::time::Duration;

/// What a zero count is read from when the segment has no registry: never
/// incremented (without a registry nobody sleeps on a futex).
#[cfg(not(loom))]
static NOBODY: AtomicU32 = AtomicU32::new(0);

/// One structure's two sleeper counts in its segment's waiter registry, or
/// their absence.
#[derive(Clone)]
pub(crate) struct Waiters {
    /// The "items" count: [`NOBODY`] when there is no registry.
    items: *const AtomicU32,
    /// The "room" count: [`NOBODY`] when there is no registry.
    room: *const AtomicU32,
    /// The registry's region: keeps the mapping the pointers point into
    /// alive; `None` when there is no registry.
    registry: Option<Region>,
}

// SAFETY: the pointers point to atomics in a mapping kept alive by
// `registry` (or to a static); only atomic operations go through them.
unsafe impl Send for Waiters {}
// SAFETY: as for `Send`.
unsafe impl Sync for Waiters {}

impl std::fmt::Debug for Waiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiters")
            .field("registry", &self.registry.is_some())
            .finish()
    }
}

impl Waiters {
    /// No registry: counts read 0 and waits poll.
    pub(crate) fn absent() -> Waiters {
        #[cfg(not(loom))]
        let nobody: *const AtomicU32 = &NOBODY;
        #[cfg(loom)]
        let nobody: *const AtomicU32 = std::ptr::null();
        Waiters {
            items: nobody,
            room: nobody,
            registry: None,
        }
    }

    /// The counts of the structure whose (first) table entry starts at
    /// `region`'s offset, if its segment has a valid registry. Loom build:
    /// always absent (the model has no futexes).
    pub(crate) fn of(region: &Region) -> Waiters {
        #[cfg(loom)]
        {
            let _ = region;
            Waiters::absent()
        }
        #[cfg(not(loom))]
        match region.segment().waiter_slot(region.offset()) {
            Some((registry, index)) => {
                let items = registry.atomic_u32(fmt::slot_offset(index, Side::Items) as usize);
                let room = registry.atomic_u32(fmt::slot_offset(index, Side::Room) as usize);
                Waiters {
                    items,
                    room,
                    registry: Some(registry),
                }
            }
            None => Waiters::absent(),
        }
    }

    /// True when the segment has a registry (our waiters sleep on futexes).
    #[inline]
    pub(crate) fn present(&self) -> bool {
        self.registry.is_some()
    }

    #[inline]
    fn count(&self, side: Side) -> Option<&AtomicU32> {
        self.registry.as_ref()?;
        let p = match side {
            Side::Items => self.items,
            Side::Room => self.room,
        };
        // SAFETY: with a registry, `p` points into its mapping (kept alive
        // by `self.registry`), 4-aligned inside the entry (checked by
        // `Segment::waiter_slot`).
        Some(unsafe { &*p })
    }

    /// Step 2 of the protocol for sleepers waiting for an item: call right
    /// after the claim (a SeqCst RMW of the word), wake after publishing if
    /// it returned true.
    #[inline]
    pub(crate) fn items_sleeping(&self) -> bool {
        self.sleeping(self.items)
    }

    /// [`Waiters::items_sleeping`] for sleepers waiting for room.
    #[inline]
    pub(crate) fn room_sleeping(&self) -> bool {
        self.sleeping(self.room)
    }

    #[inline]
    fn sleeping(&self, count: *const AtomicU32) -> bool {
        #[cfg(loom)]
        {
            let _ = count;
            false
        }
        #[cfg(not(loom))]
        {
            // SAFETY: `count` points to the registry count (kept alive by
            // `self.registry`) or to the static NOBODY.
            let count = unsafe { &*count };
            // SeqCst: step 2, ordered after the claim (step 1) in the
            // single total order of SeqCst operations (module docs).
            count.load(Ordering::SeqCst) != 0
        }
    }
}

/// A structure's futex word: a u32 counter, or the low half of a u64 one
/// (a ring position, a pool's tagged free list head), which the kernel
/// compares as a u32; a change of the u64 changes its low half unless it
/// moved by exactly a multiple of 2^32 within one bounded sleep.
#[derive(Clone, Copy)]
pub(crate) enum Word<'a> {
    /// A 32-bit word.
    U32(&'a AtomicU32),
    /// The low 32 bits of a 64-bit word.
    Low32(&'a AtomicU64),
}

impl Word<'_> {
    /// SeqCst load (step b): the value the kernel will compare with.
    #[inline]
    fn load(&self) -> u32 {
        match self {
            Word::U32(w) => w.load(Ordering::SeqCst),
            Word::Low32(w) => w.load(Ordering::SeqCst) as u32,
        }
    }

    /// Loom build: there is no kernel to hand an address to.
    #[cfg(loom)]
    fn addr(&self) -> *const u32 {
        std::ptr::null()
    }

    /// The address the kernel keys the sleep on.
    #[cfg(not(loom))]
    fn addr(&self) -> *const u32 {
        match self {
            Word::U32(w) => w.as_ptr().cast_const(),
            // The low half of a little-endian u64 is its first 4 bytes.
            #[cfg(target_endian = "little")]
            Word::Low32(w) => w.as_ptr().cast_const().cast::<u32>(),
            #[cfg(target_endian = "big")]
            // SAFETY: +4 stays inside the 8-byte word.
            Word::Low32(w) => unsafe { w.as_ptr().cast_const().cast::<u32>().add(1) },
        }
    }

    /// Wakes every sleeper on the word (step 4), in any process.
    #[cold]
    #[inline(never)]
    pub(crate) fn wake_all(&self) {
        crate::wait::futex_wake_at(self.addr(), i32::MAX);
    }

    /// Sleeps on the word while it holds `seen` (step d), at most `limit`.
    fn sleep(&self, seen: u32, limit: Duration) {
        // SAFETY: the word is an atomic of the structure's mapping, which
        // the caller's borrow keeps mapped for the call; `addr` is its
        // 4-aligned (low) half.
        unsafe { crate::wait::futex_wait_at(self.addr(), seen, limit) }
    }
}

/// How a blocking operation waits: what to try, what to sleep on, and how
/// to tell a sleep on the word is safe.
pub(crate) struct Blocking<'a> {
    /// The structure's counts; the sleeper registers in `side`.
    pub(crate) waiters: &'a Waiters,
    /// Which count this wait registers in.
    pub(crate) side: Side,
    /// The word the wakers RMW in their claim (step 1).
    pub(crate) word: Word<'a>,
}

impl Blocking<'_> {
    /// Retries `attempt` until it returns `Some` or `deadline` passes
    /// (`None` then). Between attempts: `spin()` (the caller's busy wait,
    /// e.g. on the slot a value will arrive in) while the backoff's spin
    /// and yield phases last; then, with a registry, the sleep of the
    /// module docs, taken only when `idle(seen)` says that the word value
    /// `seen` means no claim is in flight (else a bounded backoff sleep);
    /// without one, bounded polling. Every sleep is at most [`MAX_SLEEP`].
    #[inline]
    pub(crate) fn wait<R>(
        &self,
        deadline: &Deadline,
        mut attempt: impl FnMut() -> Option<R>,
        mut spin: impl FnMut(),
        mut idle: impl FnMut(u32) -> bool,
    ) -> Option<R> {
        let backoff = Backoff::new();
        loop {
            if let Some(r) = attempt() {
                return Some(r);
            }
            let slice = match deadline.remaining() {
                Some(left) if left.is_zero() => return None,
                Some(left) => left.min(MAX_SLEEP),
                None => MAX_SLEEP,
            };
            let Some(count) = self.waiters.count(self.side) else {
                // No registry: nobody will wake us; poll as before (spin,
                // yield, then sleeps growing to MAX_SLEEP).
                if !backoff.is_completed() {
                    spin();
                }
                backoff.snooze_at_most(slice);
                continue;
            };
            // Spin, then sleep: a waker will wake us, and a yield on a busy
            // machine can give the CPU away for a whole time slice.
            if !backoff.is_spun() {
                spin();
                backoff.snooze();
                continue;
            }
            // Step a. SeqCst: see the module docs.
            count.fetch_add(1, Ordering::SeqCst);
            // Step b.
            let seen = self.word.load();
            // Step c.
            let got = attempt();
            if got.is_none() {
                if idle(seen) {
                    // Step d.
                    self.word.sleep(seen, slice);
                } else {
                    // A claim is in flight (its publication is nanoseconds
                    // away, unless its maker died): back off, bounded.
                    backoff.snooze_at_most(slice);
                }
            }
            // Step e. Release: nothing after depends on it; a waker that
            // still sees us counted only makes a needless wake-up.
            count.fetch_sub(1, Ordering::Release);
            if got.is_some() {
                return got;
            }
        }
    }
}
