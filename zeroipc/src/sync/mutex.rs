//! `Mutex`: mutual exclusion between processes.
//!
//! The normative layout is docs/FORMAT.md §3.5; the numbers are
//! [`zeroipc::format::mutex`](crate::format::mutex). A Mutex is a
//! [`Semaphore`] with count 1 and max_count 1 at `name` (16 bytes): count
//! [`UNLOCKED`] 1 = unlocked, [`LOCKED`] 0 = locked. Lock = acquire a
//! permit, unlock = release it, exactly as the C++ reference, so a
//! reference process and ours exclude each other. Opening checks
//! `max_count == 1` (as the Python reference does), so a plain semaphore is
//! not taken for a mutex.
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): [`Mutex::lock`] blocks,
//! [`Mutex::try_lock`] never waits (`Ok(None)`: held by someone, nothing
//! changed), [`Mutex::lock_timeout`] gives up with
//! [`crate::Error::Timeout`]. [`Mutex::force_unlock`] and
//! [`MutexGuard::unlock`] never wait.
//!
//! The format has no owner field. A holder that dies (`kill -9`) leaves the
//! mutex locked forever: [`Mutex::lock`] then blocks forever and
//! [`Mutex::lock_timeout`] returns [`crate::Error::Timeout`]. A supervisor
//! that knows the holder is dead may call [`Mutex::force_unlock`]; the data
//! the mutex guarded may be half-updated.

use super::semaphore::Semaphore;
use super::{create_parts, open_parts, Deadline};
use crate::error::Result;
use crate::format::mutex::{LOCKED, MAX_COUNT_VALUE, UNLOCKED};
use crate::format::StructureKind;
use crate::region::Region;
use crate::segment::Segment;
use std::time::Duration;

pub(crate) const KIND: &str = StructureKind::Mutex.name();

/// A process-shared mutex.
///
/// The mutex guards no Rust data (the protected data lives in shared memory
/// and is reached through the segment's own copy-in/copy-out APIs); it
/// orders those accesses between processes.
///
/// ```
/// use zeroipc::{Array, Mutex, Segment};
/// let name = format!("/zeroipc-doc-mutex-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let m = Mutex::create(&seg, "lock")?;
/// let total = Array::<u64>::create(&seg, "total", 1)?;
/// let other = Mutex::open(&Segment::open(&name)?, "lock")?; // another process would do this
/// {
///     let _g = m.lock()?; // released at the end of the scope
///     total.set(0, total.get(0)? + 1)?;
///     assert!(other.try_lock()?.is_none()); // held, so try_lock fails...
///     assert!(m.is_locked()); // ...and leaves the lock held
/// }
/// assert!(!m.is_locked());
///
/// // An explicit unlock reports what dropping a guard cannot: a lock that
/// // someone else released meanwhile.
/// let g = m.lock()?;
/// assert!(other.try_lock()?.is_none());
/// g.unlock()?; // exactly one unlock, and it succeeds
/// assert!(!m.is_locked());
/// assert!(m.force_unlock().is_err()); // a second unlock is refused
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mutex {
    sem: Semaphore,
}

/// Holds a [`Mutex`] locked; unlocks on drop.
///
/// A guard belongs to the process that took it (it cannot travel to
/// another process). Within the process it may move to another thread: the
/// lock word has no owner, so any thread may release it.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
#[derive(Debug)]
pub struct MutexGuard<'a> {
    mutex: &'a Mutex,
}

impl Mutex {
    /// Creates an unlocked mutex.
    pub fn create(seg: &Segment, name: &str) -> Result<Mutex> {
        let [region] = create_parts(seg, name, StructureKind::Mutex, |r| {
            Self::init_region(&r[0]);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the mutex `name`, checking it is a Semaphore with max_count 1.
    pub fn open(seg: &Segment, name: &str) -> Result<Mutex> {
        let [region] = open_parts(seg, name, StructureKind::Mutex)?;
        Self::from_region(region)
    }

    /// Writes an unlocked mutex into zeroed bytes.
    pub(crate) fn init_region(region: &Region) {
        Semaphore::init_region(region, UNLOCKED, MAX_COUNT_VALUE);
    }

    /// Validates an entry as a mutex.
    pub(crate) fn from_region(region: Region) -> Result<Mutex> {
        let sem = Semaphore::from_region_kind(region, KIND)?;
        if sem.max_count() != MAX_COUNT_VALUE {
            return Err(sem.region().mismatch(
                KIND,
                format!(
                    "max_count is {}, a mutex has max_count {MAX_COUNT_VALUE} (is this a semaphore?)",
                    sem.max_count()
                ),
            ));
        }
        Ok(Mutex { sem })
    }

    /// Locks, waiting as long as it takes (forever if a dead process holds it).
    pub fn lock(&self) -> Result<MutexGuard<'_>> {
        self.lock_until(&Deadline::forever())?;
        Ok(MutexGuard { mutex: self })
    }

    /// Locks, or returns [`crate::Error::Timeout`] after `timeout`.
    pub fn lock_timeout(&self, timeout: Duration) -> Result<MutexGuard<'_>> {
        self.lock_until(&Deadline::after(timeout))?;
        Ok(MutexGuard { mutex: self })
    }

    /// Locks if the mutex is free now, never waiting: `Ok(Some(guard))`
    /// took it, `Ok(None)` someone holds it (nothing changed).
    pub fn try_lock(&self) -> Result<Option<MutexGuard<'_>>> {
        // `then`, not `then_some`: the guard's Drop unlocks, so it must be
        // built only when the lock was taken (then_some evaluates eagerly).
        Ok(self.try_lock_raw().then(|| MutexGuard { mutex: self }))
    }

    /// True while someone (any process) holds the mutex (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.sem.count() <= LOCKED
    }

    /// Processes blocked in `lock` now (a snapshot of the semaphore's
    /// `waiting` word; includes reference peers).
    ///
    /// ```
    /// use zeroipc::{Mutex, Segment};
    /// let name = format!("/zeroipc-doc-mutex-waiting-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let m = Mutex::create(&seg, "lock")?;
    /// let g = m.lock()?; // uncontended: nobody had to wait
    /// assert_eq!(m.waiting(), 0);
    /// g.unlock()?;
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn waiting(&self) -> i32 {
        self.sem.waiting()
    }

    /// Unlocks a mutex whose holder is known to be gone (crash recovery).
    ///
    /// Returns an error if it was not locked. Calling this while a live
    /// process holds the mutex breaks mutual exclusion (not memory safety:
    /// shared data is only reached through volatile copies).
    pub fn force_unlock(&self) -> Result<()> {
        self.sem.release()
    }

    /// The underlying semaphore word.
    pub fn region(&self) -> &Region {
        self.sem.region()
    }

    pub(crate) fn lock_until(&self, deadline: &Deadline) -> Result<()> {
        self.sem.acquire_until(deadline)
    }

    pub(crate) fn try_lock_raw(&self) -> bool {
        self.sem.take_permit()
    }

    /// Unlocks. Only an out-of-protocol double unlock (or a hostile peer
    /// that set count to 1) fails, and then there is nothing to undo.
    pub(crate) fn unlock_raw(&self) {
        let _ = self.sem.release();
    }
}

impl MutexGuard<'_> {
    /// The mutex this guard holds.
    pub fn mutex(&self) -> &Mutex {
        self.mutex
    }

    /// Unlocks now and reports the release's outcome, which dropping the
    /// guard has to ignore: an error means the mutex was no longer locked
    /// (someone released it out of protocol, e.g. [`Mutex::force_unlock`]
    /// or a peer's double unlock), so mutual exclusion was already broken.
    ///
    /// ```
    /// use zeroipc::{Mutex, Segment};
    /// let name = format!("/zeroipc-doc-mutex-unlock-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let m = Mutex::create(&seg, "lock")?;
    /// m.lock()?.unlock()?; // the normal case
    /// let g = m.lock()?;
    /// m.force_unlock()?; // out of protocol: released behind the holder's back
    /// assert!(g.unlock().is_err()); // the holder finds out
    /// assert!(!m.is_locked());
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn unlock(self) -> Result<()> {
        let mutex = self.mutex;
        // The release happens here, with its result; Drop must not release
        // a second time. The guard holds only a reference: nothing leaks.
        std::mem::forget(self);
        mutex.sem.release()
    }
}

impl Drop for MutexGuard<'_> {
    fn drop(&mut self) {
        self.mutex.unlock_raw();
    }
}
