//! `Once`: run a closure exactly once across all processes.
//!
//! The normative layout is docs/FORMAT.md §3.8; the offset and state
//! numbers are [`zeroipc::format::once`](crate::format::once): one 4-byte
//! entry `name`, the state word PENDING 0, RUNNING 1, DONE 2.
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): [`Once::call_once`] waits for
//! a run in progress elsewhere; [`Once::try_call_once`] never waits
//! (`Ok(None)`: another process is running the closure, nothing changed);
//! [`Once::call_once_timeout`] gives up waiting with
//! [`crate::Error::Timeout`].
//!
//! Protocol (as the C++ reference `once.h`): fast path if DONE (acquire);
//! otherwise CAS PENDING -> RUNNING (acq_rel); the winner runs the closure
//! and stores DONE (release); losers wait while RUNNING. Our winner also
//! wakes the losers, who sleep on the state word (bounded futex sleeps, so
//! a reference winner is seen within 2 ms).
//!
//! A closure that panics: the reference stores DONE also when `f` throws,
//! so a failed initialisation looks successful to everyone. We follow C++
//! `std::call_once` instead: a panicking closure does not complete the
//! Once. The winner stores PENDING back (and wakes the waiters) while the
//! panic unwinds, so the next caller in any process runs the closure again.
//! Waiting callers of ours notice PENDING and compete to run it. (A C++
//! reference waiter that sees RUNNING end returns without re-checking, so
//! it would proceed as if done: a hazard only when the closure panics.)
//!
//! After a crash: if the process running the closure dies, the state stays
//! RUNNING for good: [`Once::call_once`] blocks forever and
//! [`Once::call_once_timeout`] returns [`crate::Error::Timeout`].

use super::{create_parts, expect_size, open_parts, Deadline};
use crate::error::Result;
use crate::format::once::{DONE, PENDING, RUNNING, SIZE, STATE};
use crate::format::StructureKind;
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::time::Duration;

const KIND: &str = StructureKind::Once.name();

/// The state of a [`Once`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnceState {
    /// Not run yet (or its last run panicked).
    Pending,
    /// Some process is running the closure now.
    Running,
    /// The closure completed.
    Done,
}

/// A once-only initialisation flag.
///
/// ```
/// use zeroipc::{Once, Segment};
/// let name = format!("/zeroipc-doc-once-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let init = Once::create(&seg, "init")?;
/// let mut runs = 0;
/// assert!(init.call_once(|| runs += 1)?); // ran here
/// assert!(!init.call_once(|| runs += 1)?); // already done
/// assert_eq!(runs, 1);
/// assert!(Once::open(&seg, "init")?.is_done());
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Once {
    region: Region,
}

/// Stores PENDING back (and wakes the waiters) if the closure unwinds.
struct ResetOnUnwind<'a> {
    once: &'a Once,
}

impl Drop for ResetOnUnwind<'_> {
    fn drop(&mut self) {
        self.once.word().store(PENDING, Ordering::Release);
        wait::wake_all(self.once.word());
    }
}

impl Once {
    /// Creates a Once in the PENDING state.
    pub fn create(seg: &Segment, name: &str) -> Result<Once> {
        // Zeroed bytes are PENDING: nothing to write.
        let [region] = create_parts(seg, name, StructureKind::Once, |_| Ok(()))?;
        Self::from_region(region)
    }

    /// Opens the Once `name`.
    pub fn open(seg: &Segment, name: &str) -> Result<Once> {
        let [region] = open_parts(seg, name, StructureKind::Once)?;
        Self::from_region(region)
    }

    pub(crate) fn from_region(region: Region) -> Result<Once> {
        expect_size(&region, KIND, SIZE as usize)?;
        let once = Once { region };
        once.state()?;
        Ok(once)
    }

    fn word(&self) -> &AtomicU32 {
        self.region.atomic_u32(STATE as usize)
    }

    fn decode(&self, s: u32) -> Result<OnceState> {
        match s {
            PENDING => Ok(OnceState::Pending),
            RUNNING => Ok(OnceState::Running),
            DONE => Ok(OnceState::Done),
            other => Err(self.region.mismatch(
                KIND,
                format!("state {other} is not PENDING {PENDING}, RUNNING {RUNNING} or DONE {DONE}"),
            )),
        }
    }

    /// The current state (a snapshot); an error if the word holds a value
    /// outside the three states.
    pub fn state(&self) -> Result<OnceState> {
        self.decode(self.word().load(Ordering::Acquire))
    }

    /// True once the closure has completed (in any process).
    pub fn is_done(&self) -> bool {
        self.word().load(Ordering::Acquire) == DONE
    }

    /// Runs `f` if no process has completed it yet, else waits for the
    /// process running it. Returns true if `f` ran in this call.
    pub fn call_once(&self, f: impl FnOnce()) -> Result<bool> {
        self.call_until(&Deadline::forever(), f)
    }

    /// As [`Once::call_once`], but a wait for another process's run gives
    /// up with [`crate::Error::Timeout`] after `timeout` (`f` itself is not
    /// interrupted when it runs here).
    pub fn call_once_timeout(&self, timeout: Duration, f: impl FnOnce()) -> Result<bool> {
        self.call_until(&Deadline::after(timeout), f)
    }

    /// Runs `f` if the Once is PENDING, never waits: `Some(true)` ran here,
    /// `Some(false)` already done, `None` another process is running it.
    pub fn try_call_once(&self, f: impl FnOnce()) -> Result<Option<bool>> {
        match self.try_claim()? {
            OnceState::Done => Ok(Some(false)),
            OnceState::Running => Ok(None),
            OnceState::Pending => {
                self.run(f);
                Ok(Some(true))
            }
        }
    }

    /// DONE -> Done; RUNNING -> Running; PENDING claimed by us -> Pending.
    fn try_claim(&self) -> Result<OnceState> {
        let w = self.word();
        loop {
            // Acquire: if DONE, the winner's writes made by `f` are visible.
            let s = w.load(Ordering::Acquire);
            match self.decode(s)? {
                OnceState::Pending => {
                    // AcqRel: the winner's claim; a failed CAS re-reads.
                    if w.compare_exchange(PENDING, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return Ok(OnceState::Pending);
                    }
                }
                other => return Ok(other),
            }
        }
    }

    fn run(&self, f: impl FnOnce()) {
        let reset = ResetOnUnwind { once: self };
        f();
        std::mem::forget(reset);
        // Release: everything `f` wrote happens-before a DONE seen with acquire.
        self.word().store(DONE, Ordering::Release);
        wait::wake_all(self.word());
    }

    fn call_until(&self, deadline: &Deadline, f: impl FnOnce()) -> Result<bool> {
        loop {
            match self.try_claim()? {
                OnceState::Done => return Ok(false),
                OnceState::Pending => {
                    self.run(f);
                    return Ok(true);
                }
                OnceState::Running => {
                    // Wait for RUNNING to end: DONE returns, PENDING (the
                    // runner panicked) loops to compete for the claim.
                    wait::wait_until(self.word(), deadline.remaining(), || {
                        (self.word().load(Ordering::Acquire) != RUNNING).then_some(())
                    })
                    .ok_or_else(|| deadline.timeout(&self.region, KIND))?;
                }
            }
        }
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }
}
