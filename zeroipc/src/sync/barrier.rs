//! `Barrier`: a reusable rendezvous of a fixed number of participants.
//!
//! The normative layout is docs/FORMAT.md §3.6; the offsets are
//! [`zeroipc::format::barrier`](crate::format::barrier): one 16-byte entry
//! `name` holding `arrived`, `generation` (wraps) and `participants`
//! (written once).
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): [`Barrier::wait`] arrives and
//! blocks until the generation completes; [`Barrier::try_wait`] arrives (or
//! resumes a pending arrival) and never waits (`Ok(None)`: the generation is
//! not complete yet, the arrival stays counted); [`Barrier::wait_timeout`]
//! gives up with [`crate::Error::Timeout`], the arrival also staying
//! counted. An arrival is never withdrawn (see Timeouts below), which is why
//! this kind's `try_` and `_timeout` forms leave it in place instead of
//! leaving the bytes as they were.
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
//! Timeouts (the fix of docs/FORMAT.md §8.3 #35): the reference's `wait_for`
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

use super::{bad_param, create_parts, expect_size, open_parts, Deadline};
use crate::error::Result;
use crate::format::barrier::{ARRIVED, GENERATION, MIN_PARTICIPANTS, PARTICIPANTS, SIZE};
use crate::format::StructureKind;
use crate::region::atomic::{AtomicI32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::cell::Cell;
use std::time::Duration;

const KIND: &str = StructureKind::Barrier.name();

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
        if participants < MIN_PARTICIPANTS {
            return Err(bad_param(
                seg,
                name,
                KIND,
                format!("participants {participants}: need at least {MIN_PARTICIPANTS}"),
            ));
        }
        let [region] = create_parts(seg, name, StructureKind::Barrier, |r| {
            r[0].write::<i32>(PARTICIPANTS as usize, participants);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the barrier `name`.
    pub fn open(seg: &Segment, name: &str) -> Result<Barrier> {
        let [region] = open_parts(seg, name, StructureKind::Barrier)?;
        Self::from_region(region)
    }

    pub(crate) fn from_region(region: Region) -> Result<Barrier> {
        expect_size(&region, KIND, SIZE as usize)?;
        let participants = region.read::<i32>(PARTICIPANTS as usize);
        if participants < MIN_PARTICIPANTS {
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
        self.region.atomic_i32(ARRIVED as usize)
    }

    fn generation_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(GENERATION as usize)
    }

    /// Arrives and waits until all participants have arrived.
    pub fn wait(&self) -> Result<BarrierWaitResult> {
        self.wait_until(&Deadline::forever())
    }

    /// As [`Barrier::wait`], giving up with [`crate::Error::Timeout`] after
    /// `timeout`. The arrival is not withdrawn: this handle stays counted in
    /// its generation and its next wait resumes waiting for that generation
    /// (see the module docs). [`Barrier::try_wait`] is the non-blocking
    /// form.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult> {
        self.wait_until(&Deadline::after(timeout))
    }

    /// Arrives (or, if a wait on this handle left its arrival pending,
    /// checks that generation again) without waiting: `Ok(Some(result))`
    /// when the generation has completed (this arrival completed it, or the
    /// others have all arrived since), `Ok(None)` when it has not. In that
    /// case the arrival stays counted, as after a timed-out
    /// [`Barrier::wait_timeout`], and the handle remembers it: call
    /// `try_wait` again to poll, or `wait` to block, for the same generation
    /// (a handle never arrives twice in one generation).
    ///
    /// ```
    /// use zeroipc::{Barrier, Segment};
    /// let name = format!("/zeroipc-doc-barrier-try-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Barrier::create(&seg, "pair", 2)?;
    /// let b = Barrier::open(&seg, "pair")?;
    /// assert_eq!(a.try_wait()?, None); // arrived; the partner has not
    /// assert_eq!((a.arrived(), a.pending_generation()), (1, Some(0)));
    /// assert_eq!(a.try_wait()?, None); // polling does not arrive again
    /// assert_eq!(a.arrived(), 1);
    /// let last = b.try_wait()?.expect("b's arrival completes generation 0");
    /// assert!(last.is_leader());
    /// let first = a.try_wait()?.expect("generation 0 has completed");
    /// assert_eq!((first.generation(), first.is_leader()), (0, false));
    /// assert_eq!((a.generation(), a.arrived(), a.pending_generation()), (1, 0, None));
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_wait(&self) -> Result<Option<BarrierWaitResult>> {
        // A zero deadline checks the generation once, never sleeps.
        match self.wait_until(&Deadline::after(Duration::ZERO)) {
            Ok(done) => Ok(Some(done)),
            Err(crate::Error::Timeout { .. }) => Ok(None),
            Err(other) => Err(other),
        }
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
                    wait::wake_all(self.region.atomic_u32(GENERATION as usize));
                    return Ok(BarrierWaitResult {
                        generation: g,
                        leader: true,
                    });
                }
                g
            }
        };
        let passed = wait::wait_until(
            self.region.atomic_u32(GENERATION as usize),
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
