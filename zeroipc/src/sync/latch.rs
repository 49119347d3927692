//! `Latch`: a single-use countdown shared between processes.
//!
//! The normative layout is docs/FORMAT.md §3.7; the offsets are
//! [`zeroipc::format::latch`](crate::format::latch): one 16-byte entry
//! `name` holding `count` and `initial` (written at creation).
//!
//! Forms (docs/ARCHITECTURE.md §Conventions):
//!
//! | plain | `try_` (never waits) | `_timeout` |
//! |---|---|---|
//! | [`Latch::wait`] | [`Latch::try_wait`]: `Ok(false)` while closed | [`Latch::wait_timeout`] |
//! | [`Latch::arrive_and_wait`] | [`Latch::try_arrive_and_wait`] | [`Latch::arrive_and_wait_timeout`] |
//!
//! An arrival that has to give up is withdrawn, so a failed
//! `try_arrive_and_wait` or a timed-out `arrive_and_wait_timeout` leaves
//! the count as it was: `try_arrive_and_wait` arrives only when its arrival
//! opens the latch (or it is open already); `arrive_and_wait_timeout`
//! arrives, waits, and on timeout gives its count back with a CAS
//! `c -> c + 1` that only succeeds while the latch is still closed
//! (`0 < c < initial`), so no waiter can have been released by the arrival
//! it undoes. To arrive once and then poll, use [`Latch::count_down`]
//! followed by [`Latch::try_wait`]. [`Latch::count_down`] never waits.
//!
//! Protocol (as the C++ reference `latch.h`): `count_down(n)` (n > 0) is a
//! CAS loop `c -> max(c - n, 0)` (saturating at 0); waiters wait until
//! `count <= 0`. Our count-down wakes every sleeper on the count word when
//! it reaches 0; waiters sleep there with a bounded futex wait, so a
//! reference peer's count-down (which wakes nobody) is seen within 2 ms.
//!
//! After a crash: a process that dies before counting down leaves the latch
//! closed; `wait` blocks, `wait_timeout` returns [`crate::Error::Timeout`].

use super::{bad_param, create_parts, expect_size, open_parts, Deadline};
use crate::error::Result;
use crate::format::latch::{COUNT, INITIAL, SIZE};
use crate::format::StructureKind;
use crate::region::atomic::{AtomicI32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::time::Duration;

const KIND: &str = StructureKind::Latch.name();

/// A countdown latch: waiters are released once the count reaches zero.
///
/// ```
/// use zeroipc::{Latch, Segment};
/// let name = format!("/zeroipc-doc-latch-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ready = Latch::create(&seg, "ready", 2)?;
/// ready.count_down(1)?;
/// assert!(!ready.try_wait()?);
/// ready.count_down(1)?;
/// ready.wait()?; // returns at once: the count is 0
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Latch {
    region: Region,
    initial: i32,
}

impl Latch {
    /// Creates a latch counting down from `count` (>= 0; 0 is already open).
    pub fn create(seg: &Segment, name: &str, count: i32) -> Result<Latch> {
        if count < 0 {
            return Err(bad_param(
                seg,
                name,
                KIND,
                format!("count {count} is negative"),
            ));
        }
        // Plain stores into zeroed bytes: published by the table's release
        // store of `entry_count`.
        let [region] = create_parts(seg, name, StructureKind::Latch, |r| {
            r[0].atomic_i32(COUNT as usize)
                .store(count, Ordering::Relaxed);
            r[0].write::<i32>(INITIAL as usize, count);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the latch `name`.
    pub fn open(seg: &Segment, name: &str) -> Result<Latch> {
        let [region] = open_parts(seg, name, StructureKind::Latch)?;
        Self::from_region(region)
    }

    pub(crate) fn from_region(region: Region) -> Result<Latch> {
        expect_size(&region, KIND, SIZE as usize)?;
        let initial = region.read::<i32>(INITIAL as usize);
        if initial < 0 {
            return Err(region.mismatch(KIND, format!("initial count {initial} is negative")));
        }
        Ok(Latch { region, initial })
    }

    fn count_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(COUNT as usize)
    }

    /// Decrements the count by `n` (> 0), saturating at 0; wakes the
    /// waiters when it reaches 0.
    pub fn count_down(&self, n: i32) -> Result<()> {
        if n <= 0 {
            return Err(self
                .region
                .invalid_argument(KIND, format!("count_down({n}): need n > 0")));
        }
        let count = self.count_word();
        let mut c = count.load(Ordering::Acquire);
        loop {
            if c <= 0 {
                return Ok(());
            }
            let next = c.saturating_sub(n).max(0);
            // Release: what this process wrote before counting down is
            // visible to a waiter that sees the count reach 0 (acquire).
            match count.compare_exchange_weak(c, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if next == 0 {
                        wait::wake_all(self.region.atomic_u32(COUNT as usize));
                    }
                    return Ok(());
                }
                Err(now) => c = now,
            }
        }
    }

    /// Counts down by one and waits for the latch to open.
    pub fn arrive_and_wait(&self) -> Result<()> {
        self.count_down(1)?;
        self.wait()
    }

    /// Counts down by one and waits for the latch to open, or gives up with
    /// [`crate::Error::Timeout`] after `timeout`. On timeout the arrival is
    /// withdrawn (the count goes back up by one while the latch is still
    /// closed), so a timed-out call leaves the count as it was; if the latch
    /// opened meanwhile, the call succeeds instead.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zeroipc::{Error, Latch, Segment};
    /// let name = format!("/zeroipc-doc-latch-aw-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let done = Latch::create(&seg, "done", 2)?;
    /// let err = done.arrive_and_wait_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(matches!(err, Error::Timeout { .. }));
    /// assert_eq!(done.count(), 2); // the arrival was withdrawn
    /// done.count_down(1)?;
    /// done.arrive_and_wait_timeout(Duration::from_millis(5))?; // the last arrival opens it
    /// assert_eq!(done.count(), 0);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn arrive_and_wait_timeout(&self, timeout: Duration) -> Result<()> {
        let deadline = Deadline::after(timeout);
        self.count_down(1)?;
        match self.wait_until(&deadline) {
            Err(timeout @ crate::Error::Timeout { .. }) => {
                // Not withdrawn because the count reached 0: the latch
                // opened after all, and our arrival counted.
                if !self.withdraw_arrival() && self.count() <= 0 {
                    return Ok(());
                }
                Err(timeout)
            }
            other => other,
        }
    }

    /// Counts down by one only if that opens the latch, never waiting:
    /// `Ok(true)` when the latch is open now (it was already, or this
    /// arrival opened it), `Ok(false)` when it would have had to wait, and
    /// then nothing changed (the count is as it was). Polling this never
    /// arrives early, so a group whose members all poll it never opens: to
    /// arrive once and then poll, use [`Latch::count_down`] and
    /// [`Latch::try_wait`].
    ///
    /// ```
    /// use zeroipc::{Latch, Segment};
    /// let name = format!("/zeroipc-doc-latch-try-aw-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let done = Latch::create(&seg, "done", 2)?;
    /// assert!(!done.try_arrive_and_wait()?); // would have to wait: nothing changed
    /// assert_eq!(done.count(), 2);
    /// done.count_down(1)?;
    /// assert!(done.try_arrive_and_wait()?); // the last arrival: opens it
    /// assert_eq!(done.count(), 0);
    /// assert!(done.try_arrive_and_wait()?); // open: nothing to count
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_arrive_and_wait(&self) -> Result<bool> {
        let count = self.count_word();
        let mut c = count.load(Ordering::Acquire);
        loop {
            if c <= 0 {
                // Open (Acquire: the count-downs that opened it are visible).
                return Ok(true);
            }
            if c > 1 {
                return Ok(false);
            }
            // c == 1: our arrival opens it. AcqRel as in `count_down`.
            match count.compare_exchange_weak(c, 0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    wait::wake_all(self.region.atomic_u32(COUNT as usize));
                    return Ok(true);
                }
                Err(now) => c = now,
            }
        }
    }

    /// Gives back one count after a timed-out arrival, only while the latch
    /// is still closed and below its initial count (`0 < c < initial`): at
    /// 0 the latch has opened and waiters may have left, which cannot be
    /// undone. True if the count was given back.
    fn withdraw_arrival(&self) -> bool {
        let count = self.count_word();
        let mut c = count.load(Ordering::Acquire);
        while c > 0 && c < self.initial {
            // Relaxed would do for the count itself; AcqRel keeps every
            // step on this word ordered alike (a withdrawal publishes
            // nothing, it only undoes our own decrement).
            match count.compare_exchange_weak(c, c + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
        false
    }

    /// Waits until the count reaches 0.
    pub fn wait(&self) -> Result<()> {
        self.wait_until(&Deadline::forever())
    }

    /// Waits until the count reaches 0, or [`crate::Error::Timeout`].
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_until(&Deadline::after(timeout))
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<()> {
        wait::wait_until(
            self.region.atomic_u32(COUNT as usize),
            deadline.remaining(),
            || (self.count_word().load(Ordering::Acquire) <= 0).then_some(()),
        )
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Whether the latch is open (count 0) now, never waiting: `Ok(true)`
    /// open, `Ok(false)` still closed. No error is possible today; the
    /// `Result` is the convention every form that can wait follows.
    pub fn try_wait(&self) -> Result<bool> {
        Ok(self.count_word().load(Ordering::Acquire) <= 0)
    }

    /// The current count (a snapshot).
    pub fn count(&self) -> i32 {
        self.count_word().load(Ordering::Acquire)
    }

    /// The count it was created with.
    pub fn initial(&self) -> i32 {
        self.initial
    }

    /// Stores the initial count again (the reference's `reset`). Only
    /// meaningful when no process is waiting on or counting down the latch;
    /// a concurrent waiter may or may not have been released. Never waits;
    /// no error is possible today (the `Result` is the kind's convention,
    /// as for [`Latch::count_down`]).
    pub fn reset(&self) -> Result<()> {
        self.count_word().store(self.initial, Ordering::Release);
        Ok(())
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }
}
