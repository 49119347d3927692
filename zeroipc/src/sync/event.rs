//! `Event`: an auto-reset or manual-reset event (FORMAT.md §3,
//! REFERENCE-NOTES §11.4).
//!
//! Entries, in creation order: `name` (12 bytes: signaled atomic u32 @0,
//! mode u32 @4 = 0 AutoReset / 1 ManualReset, waiting atomic u32 @8), then
//! `name_sem`, a [`Semaphore`] created with count 0 and max_count 0.
//!
//! Auto-reset (as the reference): `signal` = `signaled = 1` and one permit
//! on `name_sem`; `wait` = take a permit, then `signaled = 0`. Each permit
//! releases one waiter. Fix of reference bug 34: the reference's permits
//! pile up (N signals with nobody waiting release N later waits); ours
//! coalesce like a Win32 auto-reset event: `signal` adds a permit only when
//! none is pending, so any number of signals with no waiter release exactly
//! one later wait. The stored max_count stays 0 (reference signals on the
//! same event can still pile permits up). `signaled` is advisory in this
//! mode; [`Event::is_signaled`] reports whether a permit is pending.
//!
//! Manual-reset (as the reference): `signal` = `signaled = 1` (our signal
//! also wakes sleepers on that word); `wait` = `waiting += 1`, wait until
//! `signaled != 0`, `waiting -= 1`; `reset` = `signaled = 0`; `pulse` =
//! signal, wait until `waiting == 0`, reset. Our pulse waits for the
//! counted waiters for a bounded time only (a dead waiter never leaves) and
//! resets in any case. Python reference waiters do not count themselves in
//! `waiting`, so a pulse cannot see them; the reference C++ pulse cannot see
//! them either.
//!
//! After a crash: an event holds nothing. A dead manual-reset waiter leaves
//! `waiting` raised: `pulse` then waits its full bound and reports
//! [`crate::Error::Timeout`] (after resetting).

use super::semaphore::{self, Semaphore};
use super::{expect_size, Deadline};
use crate::error::Result;
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait;
use std::time::Duration;

const KIND: &str = "event";
const SIZE: u64 = 12;
const SIGNALED: usize = 0;
const MODE: usize = 4;
const WAITING: usize = 8;

/// How long [`Event::pulse`] waits for the counted waiters to leave.
pub const PULSE_WAIT: Duration = Duration::from_millis(100);

/// Reset behaviour of an [`Event`] (the stored mode number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EventMode {
    /// Each signal releases one waiter, then the event is reset (0).
    AutoReset = 0,
    /// A signal releases every waiter until `reset` (1).
    ManualReset = 1,
}

/// A process-shared event.
///
/// ```
/// use std::time::Duration;
/// use zeroipc::{Event, EventMode, Segment};
/// let name = format!("/zeroipc-doc-event-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let go = Event::create(&seg, "go", EventMode::ManualReset)?;
/// assert!(go.wait_timeout(Duration::from_millis(5)).is_err());
/// go.signal();
/// go.wait()?; // stays signaled until reset
/// go.wait()?;
/// go.reset();
/// assert!(!go.try_wait());
///
/// let tick = Event::create(&seg, "tick", EventMode::AutoReset)?;
/// tick.signal();
/// tick.signal(); // coalesces: one pending signal
/// assert!(tick.try_wait());
/// assert!(!tick.try_wait());
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Event {
    region: Region,
    sem: Semaphore,
    mode: EventMode,
}

impl Event {
    /// Creates the event `name` (and its semaphore `name_sem`), not signaled.
    pub fn create(seg: &Segment, name: &str, mode: EventMode) -> Result<Event> {
        let parts = [
            Part::new(name, SIZE),
            Part::new(format!("{name}_sem"), semaphore::SIZE),
        ];
        let regions = seg.register_group(&parts, |r| {
            r[0].write::<u32>(MODE, mode as u32);
            Semaphore::init_region(&r[1], 0, 0);
            Ok(())
        })?;
        let [state, sem] = super::parts(regions);
        Self::from_regions(state, sem)
    }

    /// Opens the event `name`, checking both entries.
    pub fn open(seg: &Segment, name: &str) -> Result<Event> {
        let state = seg.region(name)?;
        let sem = seg.region(&format!("{name}_sem"))?;
        Self::from_regions(state, sem)
    }

    fn from_regions(state: Region, sem: Region) -> Result<Event> {
        expect_size(&state, KIND, SIZE as usize)?;
        let mode = match state.read::<u32>(MODE) {
            0 => EventMode::AutoReset,
            1 => EventMode::ManualReset,
            m => {
                return Err(state.mismatch(
                    KIND,
                    format!("mode {m} is neither AutoReset 0 nor ManualReset 1"),
                ))
            }
        };
        let sem = Semaphore::from_region(sem)?;
        if sem.max_count() != 0 {
            return Err(sem.region().mismatch(
                KIND,
                format!(
                    "the event semaphore has max_count {}, expected 0",
                    sem.max_count()
                ),
            ));
        }
        Ok(Event {
            region: state,
            sem,
            mode,
        })
    }

    fn signaled_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(SIGNALED)
    }

    fn waiting_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(WAITING)
    }

    /// The event's mode (read on open).
    pub fn mode(&self) -> EventMode {
        self.mode
    }

    /// Signals: auto-reset releases one (present or future) waiter, and
    /// repeated signals with nobody waiting coalesce into one; manual-reset
    /// releases every waiter until [`Event::reset`].
    pub fn signal(&self) {
        // SeqCst: ordered before the `waiting` check, pairing with a
        // manual waiter's SeqCst `waiting += 1` then `signaled` load.
        self.signaled_word().store(1, Ordering::SeqCst);
        match self.mode {
            EventMode::AutoReset => {
                self.sem.release_below(1);
            }
            EventMode::ManualReset => {
                if self.waiting_word().load(Ordering::SeqCst) > 0 {
                    wait::wake_all(self.signaled_word());
                }
            }
        }
    }

    /// Clears the signal (manual-reset; for auto-reset it also drops a
    /// pending permit, which the reference's reset does not).
    pub fn reset(&self) {
        self.signaled_word().store(0, Ordering::SeqCst);
        if self.mode == EventMode::AutoReset {
            self.sem.try_acquire();
        }
    }

    /// Waits for the event.
    pub fn wait(&self) -> Result<()> {
        self.wait_until(&Deadline::forever())
    }

    /// Waits for the event, or [`crate::Error::Timeout`] after `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_until(&Deadline::after(timeout))
    }

    /// Consumes the signal (auto-reset) or checks it (manual-reset) without
    /// waiting; true if the event was signaled.
    pub fn try_wait(&self) -> bool {
        match self.mode {
            EventMode::AutoReset => {
                let got = self.sem.try_acquire();
                if got {
                    self.signaled_word().store(0, Ordering::SeqCst);
                }
                got
            }
            EventMode::ManualReset => self.signaled_word().load(Ordering::SeqCst) != 0,
        }
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<()> {
        match self.mode {
            EventMode::AutoReset => {
                self.sem.acquire_until(deadline)?;
                // As the reference: the permit is consumed, the event reset.
                self.signaled_word().store(0, Ordering::SeqCst);
                Ok(())
            }
            EventMode::ManualReset => {
                if self.signaled_word().load(Ordering::SeqCst) != 0 {
                    return Ok(());
                }
                // Count ourselves (a pulse waits for us) before the check
                // that decides whether to sleep; SeqCst pairs with signal().
                self.waiting_word().fetch_add(1, Ordering::SeqCst);
                let got = wait::wait_until(self.signaled_word(), deadline.remaining(), || {
                    (self.signaled_word().load(Ordering::SeqCst) != 0).then_some(())
                });
                self.leave();
                got.ok_or_else(|| deadline.timeout(&self.region, KIND))
            }
        }
    }

    /// `waiting -= 1` (saturating, a hostile 0 must not wrap), waking a
    /// pulse when the last counted waiter leaves.
    fn leave(&self) {
        let prev = self
            .waiting_word()
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| w.checked_sub(1));
        if prev == Ok(1) {
            wait::wake_all(self.waiting_word());
        }
    }

    /// Releases the current waiters and resets: manual-reset signals, waits
    /// up to [`PULSE_WAIT`] for the counted waiters to leave, and resets;
    /// auto-reset releases one waiter if one is blocked, else does nothing.
    /// Returns [`crate::Error::Timeout`] if waiters were still counted when
    /// the wait ended (the event is reset anyway).
    pub fn pulse(&self) -> Result<()> {
        self.pulse_timeout(PULSE_WAIT)
    }

    /// As [`Event::pulse`] with an explicit bound on the wait for waiters.
    pub fn pulse_timeout(&self, timeout: Duration) -> Result<()> {
        match self.mode {
            EventMode::AutoReset => {
                if self.sem.waiting() > 0 {
                    self.signaled_word().store(1, Ordering::SeqCst);
                    self.sem.release_below(1);
                }
                Ok(())
            }
            EventMode::ManualReset => {
                let deadline = Deadline::after(timeout);
                self.signal();
                let drained = wait::wait_until(self.waiting_word(), deadline.remaining(), || {
                    (self.waiting_word().load(Ordering::SeqCst) == 0).then_some(())
                });
                self.signaled_word().store(0, Ordering::SeqCst);
                drained.ok_or_else(|| deadline.timeout(&self.region, KIND))
            }
        }
    }

    /// Whether the event is signaled now (auto-reset: a signal is pending).
    pub fn is_signaled(&self) -> bool {
        match self.mode {
            EventMode::AutoReset => self.sem.count() > 0,
            EventMode::ManualReset => self.signaled_word().load(Ordering::SeqCst) != 0,
        }
    }

    /// The stored `signaled` word (advisory for auto-reset events).
    pub fn signaled_raw(&self) -> u32 {
        self.signaled_word().load(Ordering::SeqCst)
    }

    /// Manual-reset waiters counted now (a snapshot).
    pub fn waiting(&self) -> u32 {
        self.waiting_word().load(Ordering::SeqCst)
    }

    /// The event's state entry (`name`).
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The event's semaphore (`name_sem`).
    pub fn semaphore(&self) -> &Semaphore {
        &self.sem
    }
}
