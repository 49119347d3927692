//! `Semaphore`: a counting semaphore shared between processes.
//!
//! The normative layout is docs/FORMAT.md §3.4; the offsets are
//! [`zeroipc::format::semaphore`](crate::format::semaphore): one 16-byte
//! entry `name` holding `count` (permits available), `waiting` (blocked
//! acquirers) and `max_count` (0 = unbounded, written once at creation).
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): [`Semaphore::acquire`]
//! blocks, [`Semaphore::try_acquire`] never waits (`Ok(false)`: no permit
//! now, nothing changed), [`Semaphore::acquire_timeout`] gives up with
//! [`crate::Error::Timeout`]. [`Semaphore::release`] never waits.
//!
//! Protocol (as the C++ reference `semaphore.h`, which is what a reference
//! peer does on the same bytes): acquire takes a permit by CAS
//! `count: c -> c - 1` while `c > 0`; release adds one by CAS
//! `c -> c + 1`, refused when `max_count > 0 && c >= max_count`. A blocked
//! acquirer announces itself with `waiting += 1` and withdraws with
//! `waiting -= 1`. The reference spins and sleeps (1 µs doubling to 1 ms)
//! without wake-ups; we spin briefly and then sleep on the `count` word with
//! a shared futex ([`crate::wait::wait_until`]), and our releasers wake one
//! sleeper when `waiting > 0`. Because reference releasers never wake
//! anyone, each sleep is bounded (2 ms) and re-checked.
//!
//! After a crash: a permit held by a dead process is lost; a dead waiter
//! leaves `waiting` one too high, which only costs an unneeded wake call.

use super::{bad_param, create_parts, expect_size, open_parts, Deadline};
use crate::error::Result;
use crate::format::semaphore::{COUNT, MAX_COUNT, SIZE, UNBOUNDED, WAITING};
use crate::format::StructureKind;
use crate::region::atomic::{AtomicI32, AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::time::Duration;

pub(crate) const KIND: &str = StructureKind::Semaphore.name();

/// A counting semaphore in a segment.
///
/// ```
/// use std::time::Duration;
/// use zeroipc::{Error, Segment, Semaphore};
/// let name = format!("/zeroipc-doc-sem-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let sem = Semaphore::create(&seg, "slots", 2, 2)?; // 2 permits, at most 2
/// sem.acquire()?;
/// assert!(sem.try_acquire()?);
/// assert!(!sem.try_acquire()?); // none left: nothing taken
/// assert_eq!(sem.count(), 0);
/// let err = sem.acquire_timeout(Duration::from_millis(10)).unwrap_err();
/// assert!(matches!(err, Error::Timeout { .. }));
/// sem.release()?;
/// sem.release()?;
/// assert!(sem.release().is_err()); // would exceed max_count 2
/// assert_eq!(Semaphore::open(&seg, "slots")?.count(), 2);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Semaphore {
    region: Region,
    /// Cached at open; the reference never changes it after creation.
    max_count: i32,
    /// "semaphore", or "mutex" when this is a Mutex's word (error messages).
    kind: &'static str,
}

impl Semaphore {
    /// Creates a semaphore with `initial` permits and at most `max_count`
    /// (0 = unbounded).
    pub fn create(seg: &Segment, name: &str, initial: i32, max_count: i32) -> Result<Semaphore> {
        check_params(seg, name, KIND, initial, max_count)?;
        let [region] = create_parts(seg, name, StructureKind::Semaphore, |r| {
            Self::init_region(&r[0], initial, max_count);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the semaphore `name`, validating its entry size and header.
    pub fn open(seg: &Segment, name: &str) -> Result<Semaphore> {
        let [region] = open_parts(seg, name, StructureKind::Semaphore)?;
        Self::from_region(region)
    }

    /// Writes a fresh header into zeroed bytes (published by the table's
    /// release store of `entry_count`, so plain stores suffice).
    pub(crate) fn init_region(region: &Region, initial: i32, max_count: i32) {
        region
            .atomic_i32(COUNT as usize)
            .store(initial, Ordering::Relaxed);
        region.write::<i32>(MAX_COUNT as usize, max_count);
    }

    /// Validates an entry as a semaphore.
    pub(crate) fn from_region(region: Region) -> Result<Semaphore> {
        Self::from_region_kind(region, KIND)
    }

    /// As [`Semaphore::from_region`], naming the structure `kind` in errors.
    pub(crate) fn from_region_kind(region: Region, kind: &'static str) -> Result<Semaphore> {
        expect_size(&region, kind, SIZE as usize)?;
        let max_count = region.read::<i32>(MAX_COUNT as usize);
        if max_count < 0 {
            return Err(region.mismatch(kind, format!("max_count {max_count} is negative")));
        }
        let count = region.atomic_i32(COUNT as usize).load(Ordering::Acquire);
        if count < 0 || (max_count > UNBOUNDED && count > max_count) {
            return Err(region.mismatch(
                kind,
                format!("count {count} outside [0, max_count {max_count}]"),
            ));
        }
        Ok(Semaphore {
            region,
            max_count,
            kind,
        })
    }

    fn count_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(COUNT as usize)
    }

    /// The same word as `count_word`, as the futex key (same size and
    /// address; the futex compares raw bits).
    fn futex_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(COUNT as usize)
    }

    fn waiting_word(&self) -> &AtomicI32 {
        self.region.atomic_i32(WAITING as usize)
    }

    /// Takes a permit, waiting as long as it takes.
    pub fn acquire(&self) -> Result<()> {
        self.acquire_until(&Deadline::forever())
    }

    /// Takes a permit, or returns [`crate::Error::Timeout`] after `timeout`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<()> {
        self.acquire_until(&Deadline::after(timeout))
    }

    pub(crate) fn acquire_until(&self, deadline: &Deadline) -> Result<()> {
        if self.take_permit() {
            return Ok(());
        }
        self.acquire_announced_until(deadline)
    }

    /// The blocking part of an acquire: announce ourselves in `waiting`,
    /// take any permit (or time out), withdraw.
    pub(crate) fn acquire_announced_until(&self, deadline: &Deadline) -> Result<()> {
        // Announce the waiter (the reference's `waiting += 1`). SeqCst pairs
        // with the releaser's SeqCst CAS then `waiting` load: either the
        // releaser sees us and wakes, or our next check sees its permit.
        self.waiting_word().fetch_add(1, Ordering::SeqCst);
        let got = wait::wait_until(self.futex_word(), deadline.remaining(), || {
            self.take_permit().then_some(())
        });
        // Withdraw whether or not we got a permit (the reference's `waiting -= 1`).
        self.waiting_word().fetch_sub(1, Ordering::SeqCst);
        got.ok_or_else(|| deadline.timeout(&self.region, self.kind))
    }

    /// Takes a permit if one is available now, never waiting: `Ok(true)`
    /// took one, `Ok(false)` none was available (nothing changed). No error
    /// is possible today; the `Result` is the convention every form that
    /// can wait follows.
    ///
    /// ```
    /// use zeroipc::{Segment, Semaphore};
    /// let name = format!("/zeroipc-doc-sem-try-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let sem = Semaphore::create(&seg, "one", 1, 0)?;
    /// assert!(sem.try_acquire()?);
    /// assert!(!sem.try_acquire()?);
    /// assert_eq!((sem.count(), sem.waiting()), (0, 0)); // the failed try left no trace
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Result<bool> {
        Ok(self.take_permit())
    }

    /// The non-blocking permit CAS behind every acquire: true if one was taken.
    pub(crate) fn take_permit(&self) -> bool {
        let count = self.count_word();
        let mut c = count.load(Ordering::SeqCst);
        while c > 0 {
            // Acquire side of the permit hand-over: what the releaser wrote
            // before its release CAS happens-before our use of the permit.
            match count.compare_exchange_weak(c, c - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
        false
    }

    /// Adds a permit; refused (an [`crate::Error::InvalidArgument`]) when
    /// it would exceed `max_count` or overflow the counter.
    pub fn release(&self) -> Result<()> {
        let count = self.count_word();
        let mut c = count.load(Ordering::SeqCst);
        loop {
            if self.max_count > UNBOUNDED && c >= self.max_count {
                return Err(self.region.invalid_argument(
                    self.kind,
                    format!(
                        "release would raise count {c} above max_count {}",
                        self.max_count
                    ),
                ));
            }
            if c == i32::MAX {
                return Err(self
                    .region
                    .invalid_argument(self.kind, "release would overflow the i32 count"));
            }
            // Release side of the hand-over (SeqCst: also ordered before the
            // `waiting` load below, see `acquire_until`).
            match count.compare_exchange_weak(c, c + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(now) => c = now,
            }
        }
        self.wake_if_waiting();
        Ok(())
    }

    /// Adds a permit only while `count < limit`; true if one was added.
    /// (Coalescing release for auto-reset events and monitors, which keeps
    /// permits from piling up without changing the stored max_count.)
    pub(crate) fn release_below(&self, limit: i32) -> bool {
        let count = self.count_word();
        let limit = if self.max_count > UNBOUNDED {
            limit.min(self.max_count)
        } else {
            limit
        };
        let mut c = count.load(Ordering::SeqCst);
        while c < limit {
            match count.compare_exchange_weak(c, c + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    self.wake_if_waiting();
                    return true;
                }
                Err(now) => c = now,
            }
        }
        false
    }

    /// Waiters announced in `waiting` now, as a non-negative count (a
    /// hostile negative word reads as 0).
    fn waiting_nonneg(&self) -> i32 {
        self.waiting_word().load(Ordering::SeqCst).max(0)
    }

    /// Adds a permit only while `count < waiting + extra`: with `extra = 0`
    /// only for a blocked waiter not yet owed a permit (auto-reset pulse),
    /// with `extra = 1` also one pending permit for the next waiter
    /// (auto-reset signal). True if a permit was added.
    ///
    /// `waiting` and `count` are two words, so the check is a snapshot: a
    /// waiter that has taken its permit but not yet left `waiting` still
    /// counts, which can let one more permit through (never fewer).
    pub(crate) fn release_for_waiters(&self, extra: i32) -> bool {
        let count = self.count_word();
        let mut c = count.load(Ordering::SeqCst);
        loop {
            // SeqCst load of `waiting` after our SeqCst load of `count`:
            // pairs with a waiter's SeqCst `waiting += 1` before its checks
            // (Dekker): either we count it, or its next check sees our
            // permit.
            let mut limit = self.waiting_nonneg().saturating_add(extra);
            if self.max_count > UNBOUNDED {
                limit = limit.min(self.max_count);
            }
            if c >= limit {
                return false;
            }
            // SeqCst: the release side of the permit hand-over, as `release`.
            match count.compare_exchange_weak(c, c + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    self.wake_if_waiting();
                    return true;
                }
                Err(now) => c = now,
            }
        }
    }

    /// Takes a permit only if more are pending than waiters are announced
    /// in `waiting`: the permits up to `waiting` are owed to blocked
    /// waiters (auto-reset `try_wait`/`reset`, and a wait not yet blocked).
    /// True if one was taken.
    pub(crate) fn try_acquire_unclaimed(&self) -> bool {
        let count = self.count_word();
        let mut c = count.load(Ordering::SeqCst);
        loop {
            // SeqCst: as in `release_for_waiters`; a waiter announced after
            // our load may find the permit gone, which orders our take
            // before its arrival (it then blocks, correctly).
            if c <= self.waiting_nonneg() {
                return false;
            }
            // SeqCst: the acquire side of the hand-over, as `try_acquire`.
            match count.compare_exchange_weak(c, c - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
    }

    /// Takes a permit only while more than `floor` are available (the
    /// first `floor` are owed to someone else: a monitor's counted
    /// waiters). True if one was taken.
    pub(crate) fn take_permit_above(&self, floor: i32) -> bool {
        let count = self.count_word();
        let mut c = count.load(Ordering::SeqCst);
        while c > floor.max(0) {
            // SeqCst: the acquire side of the hand-over, as `take_permit`.
            match count.compare_exchange_weak(c, c - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
        false
    }

    /// Permits pending beyond the announced waiters (0 if none).
    pub(crate) fn unclaimed(&self) -> i32 {
        self.count().saturating_sub(self.waiting_nonneg()).max(0)
    }

    /// Raises the count to `target` if it is lower; true if it changed.
    pub(crate) fn raise_to(&self, target: i32) -> bool {
        let count = self.count_word();
        let target = if self.max_count > UNBOUNDED {
            target.min(self.max_count)
        } else {
            target
        };
        let mut c = count.load(Ordering::SeqCst);
        while c < target {
            match count.compare_exchange_weak(c, target, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    if self.waiting_word().load(Ordering::SeqCst) > 0 {
                        wait::wake_all(self.futex_word());
                    }
                    return true;
                }
                Err(now) => c = now,
            }
        }
        false
    }

    fn wake_if_waiting(&self) {
        // Only our own waiters sleep on the futex, and they announced
        // themselves in `waiting` before their last check; skipping the
        // syscall when nobody waits keeps uncontended release cheap.
        if self.waiting_word().load(Ordering::SeqCst) > 0 {
            wait::wake_one(self.futex_word());
        }
    }

    /// Permits available now (a snapshot).
    pub fn count(&self) -> i32 {
        self.count_word().load(Ordering::Acquire)
    }

    /// Processes blocked in `acquire` now (a snapshot; includes reference peers).
    pub fn waiting(&self) -> i32 {
        self.waiting_word().load(Ordering::Acquire)
    }

    /// The maximum count (0 = unbounded, [`crate::format::semaphore::UNBOUNDED`]), as read on open.
    pub fn max_count(&self) -> i32 {
        self.max_count
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }
}

/// Checks creation parameters before anything is allocated.
pub(crate) fn check_params(
    seg: &Segment,
    name: &str,
    kind: &'static str,
    initial: i32,
    max_count: i32,
) -> Result<()> {
    if initial < 0 || max_count < 0 || (max_count > UNBOUNDED && initial > max_count) {
        return Err(bad_param(
            seg,
            name,
            kind,
            format!("initial count {initial} and max_count {max_count}: need 0 <= initial, 0 <= max_count, and initial <= max_count unless max_count is 0 (unbounded)"),
        ));
    }
    Ok(())
}
