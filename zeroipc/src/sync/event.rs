//! `Event`: an auto-reset or manual-reset event.
//!
//! The normative layout is docs/FORMAT.md §3.9; the offsets, mode numbers
//! and the part suffix are [`zeroipc::format::event`](crate::format::event).
//! Entries, in creation order: `name` (12 bytes: `signaled`, `mode` 0
//! AutoReset / 1 ManualReset, `waiting`), then `name_sem`, a [`Semaphore`]
//! created with count 0 and max_count 0.
//!
//! Forms (docs/ARCHITECTURE.md §Conventions):
//!
//! | plain | `try_` (never waits) | `_timeout` |
//! |---|---|---|
//! | [`Event::wait`] | [`Event::try_wait`]: `Ok(false)` not signaled, nothing changed | [`Event::wait_timeout`] |
//! | [`Event::pulse`] (bounded by [`PULSE_WAIT`]) | [`Event::try_pulse`]: `Ok(false)` would have to wait, nothing changed | [`Event::pulse_timeout`] |
//!
//! [`Event::signal`] and [`Event::reset`] never wait; like every call of
//! the kind they return a `Result`.
//!
//! Auto-reset, the semantics of a Win32 auto-reset event: each signal
//! releases one blocked waiter; a signal that finds no blocked waiter
//! without a release leaves the event signaled, and signals while it is
//! signaled coalesce (at most one pending signal for the next wait). On the
//! reference's bytes: `signal` = `signaled = 1` and one permit on
//! `name_sem`; `wait` = take a permit, then `signaled = 0`. The blocked
//! waiters are the ones announced in the semaphore's `waiting` word (the
//! reference's waiters announce themselves there too), so the permits owed
//! to them are the first `waiting` of `count`:
//!
//! - `signal` adds a permit while `count < waiting + 1` (one for each
//!   blocked waiter, plus at most one pending);
//! - `pulse` adds one only while `count < waiting` (a blocked waiter not yet
//!   released; with nobody blocked it does nothing);
//! - `try_wait`, the first attempt of `wait`, and `reset` take a permit
//!   only while `count > waiting`: a signal that released a blocked waiter
//!   belongs to it (a `reset` right after a `signal` cannot undo the
//!   release, nor can a newcomer take it).
//!
//! Fix of docs/FORMAT.md §8.3 #34: the reference's permits pile up (N signals with
//! nobody waiting release N later waits); ours coalesce. Until issue 12 our
//! signal added a permit only when none was pending at all, which lost
//! signals: two blocked waiters and two signals released one. `count` and
//! `waiting` are two words, so the limits are checked on a snapshot: a
//! waiter that has taken its permit but not yet left `waiting` still
//! counts, so a signal racing with that instant can leave one more pending
//! signal than Win32 would (a spurious later wake-up, never a lost one).
//! The stored max_count stays 0 (reference signals on the same event can
//! still pile permits up). `signaled` is advisory in this mode;
//! [`Event::is_signaled`] reports whether a signal is pending for the next
//! wait.
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
//! [`crate::Error::Timeout`] (after resetting). A dead auto-reset waiter
//! stays counted in the semaphore's `waiting`, so one permit is owed to it
//! for good: a signal with no live waiter may leave two pending permits
//! (two later waits pass), and a permit kept for the dead waiter is not
//! taken by `try_wait` or `reset` nor reported by `is_signaled`, though a
//! blocking wait takes it.

use super::semaphore::Semaphore;
use super::{create_parts, expect_size, open_parts, timeout_as, Deadline};
use crate::error::Result;
use crate::format::event::{AUTO_RESET, MANUAL_RESET, MODE, SIGNALED, SIZE, WAITING};
use crate::format::semaphore::UNBOUNDED;
use crate::format::StructureKind;
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::time::Duration;

const KIND: &str = StructureKind::Event.name();

/// How long [`Event::pulse`] waits for the counted waiters to leave.
pub const PULSE_WAIT: Duration = Duration::from_millis(100);

/// Reset behaviour of an [`Event`] (the stored mode number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EventMode {
    /// Each signal releases one blocked waiter, or stays pending (at most
    /// one) for the next wait, which resets the event (0).
    AutoReset = AUTO_RESET,
    /// A signal releases every waiter until `reset` (1).
    ManualReset = MANUAL_RESET,
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
/// go.signal()?;
/// go.wait()?; // stays signaled until reset
/// go.wait()?;
/// go.reset()?;
/// assert!(!go.try_wait()?);
///
/// let tick = Event::create(&seg, "tick", EventMode::AutoReset)?;
/// tick.signal()?;
/// tick.signal()?; // nobody waits: coalesces into one pending signal
/// assert!(tick.try_wait()?);
/// assert!(!tick.try_wait()?);
///
/// // Two blocked waiters, two signals: both are released.
/// let waiters: Vec<_> = (0..2)
///     .map(|_| {
///         let ev = Event::open(&seg, "tick")?;
///         Ok(std::thread::spawn(move || ev.wait_timeout(Duration::from_secs(10))))
///     })
///     .collect::<zeroipc::Result<_>>()?;
/// while tick.semaphore().waiting() < 2 {
///     std::thread::sleep(Duration::from_millis(1));
/// }
/// tick.signal()?;
/// tick.signal()?;
/// for w in waiters {
///     w.join().unwrap()?;
/// }
/// assert!(!tick.is_signaled());
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
        let [state, sem] = create_parts(seg, name, StructureKind::Event, |r| {
            r[0].write::<u32>(MODE as usize, mode as u32);
            Semaphore::init_region(&r[1], 0, UNBOUNDED);
            Ok(())
        })?;
        Self::from_regions(state, sem)
    }

    /// Opens the event `name`, checking both entries.
    pub fn open(seg: &Segment, name: &str) -> Result<Event> {
        let [state, sem] = open_parts(seg, name, StructureKind::Event)?;
        Self::from_regions(state, sem)
    }

    fn from_regions(state: Region, sem: Region) -> Result<Event> {
        expect_size(&state, KIND, SIZE as usize)?;
        let mode = match state.read::<u32>(MODE as usize) {
            AUTO_RESET => EventMode::AutoReset,
            MANUAL_RESET => EventMode::ManualReset,
            m => {
                return Err(state.mismatch(
                    KIND,
                    format!(
                        "mode {m} is neither AutoReset {AUTO_RESET} nor ManualReset {MANUAL_RESET}"
                    ),
                ))
            }
        };
        let sem = Semaphore::from_region(sem)?;
        if sem.max_count() != UNBOUNDED {
            return Err(sem.region().mismatch(
                KIND,
                format!(
                    "the event semaphore has max_count {}, expected {UNBOUNDED}",
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
        self.region.atomic_u32(SIGNALED as usize)
    }

    fn waiting_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(WAITING as usize)
    }

    /// The event's mode (read on open).
    pub fn mode(&self) -> EventMode {
        self.mode
    }

    /// Signals: auto-reset releases one blocked waiter, or, with none
    /// blocked, leaves one signal pending for the next wait (signals with
    /// nobody waiting coalesce into one); manual-reset releases every waiter
    /// until [`Event::reset`]. Never waits; no error is possible today (the
    /// `Result` is the kind's convention).
    pub fn signal(&self) -> Result<()> {
        // SeqCst: ordered before the `waiting` check, pairing with a
        // manual waiter's SeqCst `waiting += 1` then `signaled` load.
        self.signaled_word().store(1, Ordering::SeqCst);
        match self.mode {
            EventMode::AutoReset => {
                // One permit per blocked waiter, plus at most one pending.
                self.sem.release_for_waiters(1);
            }
            EventMode::ManualReset => {
                if self.waiting_word().load(Ordering::SeqCst) > 0 {
                    wait::wake_all(self.signaled_word());
                }
            }
        }
        Ok(())
    }

    /// Clears the signal (manual-reset; for auto-reset it also drops the
    /// pending signals, which the reference's reset does not, but never a
    /// signal that already released a blocked waiter). Never waits; no
    /// error is possible today (the `Result` is the kind's convention).
    pub fn reset(&self) -> Result<()> {
        self.signaled_word().store(0, Ordering::SeqCst);
        if self.mode == EventMode::AutoReset {
            // Bounded by the count seen now: our own signals leave at most
            // one unclaimed permit, reference signals may have piled more.
            for _ in 0..self.sem.unclaimed() {
                if !self.sem.try_acquire_unclaimed() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Waits for the event.
    pub fn wait(&self) -> Result<()> {
        self.wait_until(&Deadline::forever())
    }

    /// Waits for the event, or [`crate::Error::Timeout`] after `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_until(&Deadline::after(timeout))
    }

    /// Consumes the pending signal (auto-reset; not one that already
    /// released a blocked waiter) or checks the signal (manual-reset)
    /// without waiting: `Ok(true)` if the event was signaled, `Ok(false)`
    /// if not (nothing changed).
    pub fn try_wait(&self) -> Result<bool> {
        Ok(match self.mode {
            EventMode::AutoReset => {
                let got = self.sem.try_acquire_unclaimed();
                if got {
                    self.signaled_word().store(0, Ordering::SeqCst);
                }
                got
            }
            EventMode::ManualReset => self.signaled_word().load(Ordering::SeqCst) != 0,
        })
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<()> {
        match self.mode {
            EventMode::AutoReset => {
                // Before we are blocked (announced), only a pending signal
                // is ours to take; once announced, any permit is.
                if !self.sem.try_acquire_unclaimed() {
                    self.sem
                        .acquire_announced_until(deadline)
                        .map_err(|e| timeout_as(e, self.region.name(), KIND))?;
                }
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
    /// auto-reset releases one blocked waiter not yet released, else does
    /// nothing (nothing stays pending).
    /// Returns [`crate::Error::Timeout`] if waiters were still counted when
    /// the wait ended (the event is reset anyway).
    pub fn pulse(&self) -> Result<()> {
        self.pulse_timeout(PULSE_WAIT)
    }

    /// [`Event::pulse`] if that needs no waiting, else nothing: `Ok(true)`
    /// when the pulse is done, `Ok(false)` when it would have had to wait
    /// for counted waiters to leave (a manual-reset event with waiters), and
    /// then nothing changed. An auto-reset pulse never waits, so it always
    /// completes (it releases one blocked waiter not yet released, if any).
    /// A manual-reset pulse completes at once only when no waiter is
    /// counted; to release waiters without waiting for them, call
    /// [`Event::signal`] now and [`Event::reset`] later.
    ///
    /// ```
    /// use zeroipc::{Event, EventMode, Segment};
    /// let name = format!("/zeroipc-doc-event-try-pulse-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let go = Event::create(&seg, "go", EventMode::ManualReset)?;
    /// assert!(go.try_pulse()?); // nobody waits: done at once
    /// assert!(!go.is_signaled());
    /// let tick = Event::create(&seg, "tick", EventMode::AutoReset)?;
    /// assert!(tick.try_pulse()?); // nobody blocked: nothing released, nothing pending
    /// assert!(!tick.try_wait()?);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_pulse(&self) -> Result<bool> {
        match self.mode {
            EventMode::AutoReset => self.pulse_timeout(Duration::ZERO).map(|()| true),
            EventMode::ManualReset => {
                // SeqCst: pairs with a waiter's SeqCst `waiting += 1` before
                // its check of `signaled`. A waiter counted after this load
                // arrived after the pulse and is not owed a release.
                if self.waiting_word().load(Ordering::SeqCst) != 0 {
                    return Ok(false);
                }
                // The pulse with no counted waiter to wait for: signal (a
                // waiter arriving meanwhile may see it and pass, as during
                // any pulse), then reset without waiting.
                self.signal()?;
                self.signaled_word().store(0, Ordering::SeqCst);
                Ok(true)
            }
        }
    }

    /// As [`Event::pulse`] with an explicit bound on the wait for waiters.
    pub fn pulse_timeout(&self, timeout: Duration) -> Result<()> {
        match self.mode {
            EventMode::AutoReset => {
                if self.sem.waiting() > 0 {
                    // Advisory, set before the permit as `signal` does (the
                    // released waiter clears it after taking the permit).
                    self.signaled_word().store(1, Ordering::SeqCst);
                    self.sem.release_for_waiters(0);
                }
                Ok(())
            }
            EventMode::ManualReset => {
                let deadline = Deadline::after(timeout);
                self.signal()?;
                let drained = wait::wait_until(self.waiting_word(), deadline.remaining(), || {
                    (self.waiting_word().load(Ordering::SeqCst) == 0).then_some(())
                });
                self.signaled_word().store(0, Ordering::SeqCst);
                drained.ok_or_else(|| deadline.timeout(&self.region, KIND))
            }
        }
    }

    /// Whether the event is signaled now (auto-reset: a signal is pending
    /// for the next wait; a signal that released a blocked waiter is not).
    pub fn is_signaled(&self) -> bool {
        match self.mode {
            EventMode::AutoReset => self.sem.unclaimed() > 0,
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
