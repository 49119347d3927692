//! `Latch`: a single-use countdown shared between processes (FORMAT.md §3,
//! REFERENCE-NOTES §11.3).
//!
//! Layout (16 bytes at `name`): count atomic i32 @0, initial i32 @4 (written
//! at creation), 8 bytes of padding.
//!
//! Protocol (as the C++ reference `latch.h`): `count_down(n)` (n > 0) is a
//! CAS loop `c -> max(c - n, 0)` (saturating at 0); waiters wait until
//! `count <= 0`. Our count-down wakes every sleeper on the count word when
//! it reaches 0; waiters sleep there with a bounded futex wait, so a
//! reference peer's count-down (which wakes nobody) is seen within 2 ms.
//!
//! After a crash: a process that dies before counting down leaves the latch
//! closed; `wait` blocks, `wait_timeout` returns [`crate::Error::Timeout`].

use super::{bad_param, expect_size, Deadline};
use crate::error::Result;
use crate::region::atomic::{AtomicI32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::time::Duration;

const KIND: &str = "latch";
const SIZE: u64 = 16;
const COUNT: usize = 0;
const INITIAL: usize = 4;

/// A countdown latch: waiters are released once the count reaches zero.
///
/// ```
/// use zeroipc::{Latch, Segment};
/// let name = format!("/zeroipc-doc-latch-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ready = Latch::create(&seg, "ready", 2)?;
/// ready.count_down(1)?;
/// assert!(!ready.try_wait());
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
        let region = seg.register(name, SIZE, |r| {
            r.atomic_i32(COUNT).store(count, Ordering::Relaxed);
            r.write::<i32>(INITIAL, count);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the latch `name`.
    pub fn open(seg: &Segment, name: &str) -> Result<Latch> {
        Self::from_region(seg.region(name)?)
    }

    pub(crate) fn from_region(region: Region) -> Result<Latch> {
        expect_size(&region, KIND, SIZE as usize)?;
        let initial = region.read::<i32>(INITIAL);
        if initial < 0 {
            return Err(region.mismatch(KIND, format!("initial count {initial} is negative")));
        }
        Ok(Latch { region, initial })
    }

    fn count_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(COUNT)
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
                        wait::wake_all(self.region.atomic_u32(COUNT));
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

    /// Waits until the count reaches 0.
    pub fn wait(&self) -> Result<()> {
        self.wait_until(&Deadline::forever())
    }

    /// Waits until the count reaches 0, or [`crate::Error::Timeout`].
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_until(&Deadline::after(timeout))
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<()> {
        wait::wait_until(self.region.atomic_u32(COUNT), deadline.remaining(), || {
            (self.count_word().load(Ordering::Acquire) <= 0).then_some(())
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// True if the latch is open (count 0) now.
    pub fn try_wait(&self) -> bool {
        self.count_word().load(Ordering::Acquire) <= 0
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
    /// a concurrent waiter may or may not have been released.
    pub fn reset(&self) {
        self.count_word().store(self.initial, Ordering::Release);
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }
}
