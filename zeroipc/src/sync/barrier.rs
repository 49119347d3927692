//! `Barrier`: a reusable rendezvous of a fixed number of participants
//! (FORMAT.md §3, REFERENCE-NOTES §11.3).
//!
//! Layout (16 bytes at `name`): arrived atomic i32 @0, generation atomic i32
//! @4, participants i32 @8 (written once), pad @12.
//!
//! Protocol (generation-counting "sense" barrier, as the C++ reference
//! `barrier.h`): a participant reads `g = generation`, then
//! `n = fetch_add(arrived, 1) + 1`. The participant that makes
//! `n == participants` is the leader: it stores `arrived = 0` and then
//! increments `generation` with release ordering, which opens generation
//! `g` for everyone; the others wait until `generation != g`. A participant
//! of generation `g + 1` can only arrive after seeing the increment, hence
//! after the reset of `arrived`. Waiters sleep on the generation word and
//! the leader wakes them all. The generation counter wraps (i32).
//!
//! Timeouts (the fix of reference bug 35): the reference's `wait_for`
//! withdraws a timed-out participant with `arrived -= 1`, which races with
//! the leader (a decrement after the reset corrupts the next generation, and
//! no 32-bit CAS can make "decrement only if the generation did not change"
//! atomic). Here a timed-out participant is **not** withdrawn: it stays
//! counted in the generation it arrived in, so that generation completes as
//! soon as the other participants arrive, and they are never held up by it.
//! The handle remembers the pending generation, and its next `wait` /
//! `wait_timeout` resumes waiting for that same generation (returning at
//! once if it already completed) instead of arriving again. A handle is
//! therefore one participant: `Barrier` is `Send` but not `Sync`; threads
//! that participate separately open their own handles.
//!
//! After a crash: a participant that dies before arriving stalls its
//! generation (the others block, or time out with `wait_timeout`); one that
//! dies after arriving is already counted and harms nobody.

use super::{bad_param, expect_size, Deadline};
use crate::error::Result;
use crate::region::atomic::{AtomicI32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::cell::Cell;
use std::time::Duration;

const KIND: &str = "barrier";
const SIZE: u64 = 16;
const ARRIVED: usize = 0;
const GENERATION: usize = 4;
const PARTICIPANTS: usize = 8;

/// A barrier for `participants` processes (or threads with their own
/// handles), reusable generation after generation.
///
/// ```
/// use zeroipc::{Barrier, Segment};
/// let name = format!("/zeroipc-doc-barrier-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// Barrier::create(&seg, "phase", 2)?;
/// let other = {
///     let seg = seg.clone();
///     std::thread::spawn(move || Barrier::open(&seg, "phase")?.wait())
/// };
/// let me = Barrier::open(&seg, "phase")?.wait()?;
/// let them = other.join().unwrap()?;
/// assert_eq!((me.generation(), them.generation()), (0, 0));
/// assert!(me.is_leader() != them.is_leader()); // exactly one leader
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug)]
pub struct Barrier {
    region: Region,
    participants: i32,
    /// Generation this participant arrived in and has not yet seen complete
    /// (set by a timed-out wait).
    pending: Cell<Option<i32>>,
}

/// What a completed [`Barrier::wait`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    generation: i32,
    leader: bool,
}

impl BarrierWaitResult {
    /// The generation this participant arrived in (and that has now completed).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// True for the one participant whose arrival completed the generation.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

impl Barrier {
    /// Creates a barrier for `participants` (>= 1) at generation 0.
    pub fn create(seg: &Segment, name: &str, participants: i32) -> Result<Barrier> {
        if participants < 1 {
            return Err(bad_param(
                seg,
                name,
                KIND,
                format!("participants {participants}: need at least 1"),
            ));
        }
        let region = seg.register(name, SIZE, |r| {
            r.write::<i32>(PARTICIPANTS, participants);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the barrier `name`.
    pub fn open(seg: &Segment, name: &str) -> Result<Barrier> {
        Self::from_region(seg.region(name)?)
    }

    pub(crate) fn from_region(region: Region) -> Result<Barrier> {
        expect_size(&region, KIND, SIZE as usize)?;
        let participants = region.read::<i32>(PARTICIPANTS);
        if participants < 1 {
            return Err(
                region.mismatch(KIND, format!("participants {participants} is not positive"))
            );
        }
        Ok(Barrier {
            region,
            participants,
            pending: Cell::new(None),
        })
    }

    fn arrived_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(ARRIVED)
    }

    fn generation_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(GENERATION)
    }

    /// Arrives and waits until all participants have arrived.
    pub fn wait(&self) -> Result<BarrierWaitResult> {
        self.wait_until(&Deadline::forever())
    }

    /// As [`Barrier::wait`], giving up with [`crate::Error::Timeout`] after
    /// `timeout`. The arrival is not withdrawn: this handle stays counted in
    /// its generation and its next wait resumes waiting for that generation
    /// (see the module docs). `wait_timeout(Duration::ZERO)` is the
    /// non-blocking form: it arrives, and returns at once.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult> {
        self.wait_until(&Deadline::after(timeout))
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<BarrierWaitResult> {
        let g = match self.pending.get() {
            Some(g) => g,
            None => {
                // Acquire: pairs with the leader's release increment of the
                // previous generation (we saw it before returning from it).
                let g = self.generation_word().load(Ordering::Acquire);
                // AcqRel: our arrival is ordered after our writes of this
                // phase, and the leader's fetch_add sees all arrivals.
                // Wrapping: the word is shared, a hostile or corrupt
                // segment may hold i32::MAX; that must not panic.
                let n = self
                    .arrived_word()
                    .fetch_add(1, Ordering::AcqRel)
                    .wrapping_add(1);
                if n == self.participants {
                    // Leader. Reset before opening the generation: waiters
                    // that pass and arrive again must find arrived == 0.
                    self.arrived_word().store(0, Ordering::Relaxed);
                    // Release: publishes the reset and every participant's
                    // phase writes (they are ordered before their fetch_add,
                    // which our fetch_add read-from) to those who see it.
                    self.generation_word().fetch_add(1, Ordering::AcqRel);
                    wait::wake_all(self.region.atomic_u32(GENERATION));
                    return Ok(BarrierWaitResult {
                        generation: g,
                        leader: true,
                    });
                }
                g
            }
        };
        let passed = wait::wait_until(
            self.region.atomic_u32(GENERATION),
            deadline.remaining(),
            || (self.generation_word().load(Ordering::Acquire) != g).then_some(()),
        );
        match passed {
            Some(()) => {
                self.pending.set(None);
                Ok(BarrierWaitResult {
                    generation: g,
                    leader: false,
                })
            }
            None => {
                self.pending.set(Some(g));
                Err(deadline.timeout(&self.region, KIND))
            }
        }
    }

    /// The generation a timed-out wait left pending on this handle, if any.
    pub fn pending_generation(&self) -> Option<i32> {
        self.pending.get()
    }

    /// Number of participants (read on open).
    pub fn participants(&self) -> i32 {
        self.participants
    }

    /// The current generation (a snapshot).
    pub fn generation(&self) -> i32 {
        self.generation_word().load(Ordering::Acquire)
    }

    /// Participants arrived in the current generation (a snapshot).
    pub fn arrived(&self) -> i32 {
        self.arrived_word().load(Ordering::Acquire)
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }
}
