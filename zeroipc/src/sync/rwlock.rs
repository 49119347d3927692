//! `RwLock`: many readers or one writer, across processes.
//!
//! The normative layout is docs/FORMAT.md §3.10; the offsets and part
//! suffixes are [`zeroipc::format::rwlock`](crate::format::rwlock).
//! Entries, in creation order: `name_state` (8 bytes: `readers`,
//! `writer_active`), `name_rmtx` and `name_wmtx` (two [`Mutex`]es), and
//! `name`, a 1-byte marker that is never read or written. (The spec text
//! puts the state at `name`; every implementation uses `name_state` plus
//! the marker, and so do we.)
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): [`RwLock::read`] /
//! [`RwLock::write`] block, [`RwLock::try_read`] / [`RwLock::try_write`]
//! never wait (`Ok(None)`: it would have had to wait, nothing changed),
//! [`RwLock::read_timeout`] / [`RwLock::write_timeout`] give up with
//! [`crate::Error::Timeout`] naming the lock.
//!
//! Protocol (as the C++ reference `rwlock.h`, writer-preferring):
//!
//! - read lock: lock `rmtx`; while `writer_active != 0`: unlock `rmtx`, wait,
//!   lock `rmtx` again; `readers += 1`; unlock `rmtx`.
//! - read unlock: atomic `readers -= 1` without the mutex (the C++ way; the
//!   Python reference's non-atomic decrement under `rmtx` can lose a
//!   concurrent atomic decrement, docs/FORMAT.md §8.3 #33, so we never do that).
//! - write lock: lock `wmtx` (one writer at a time); lock `rmtx`;
//!   `writer_active = 1`; unlock `rmtx`; wait until `readers == 0`. A reader
//!   that saw `writer_active == 0` under `rmtx` incremented `readers` before
//!   the writer could set the flag under the same mutex, so the writer sees
//!   that reader; new readers see the flag and wait.
//! - write unlock: `writer_active = 0`; unlock `wmtx`.
//! - try write: try `wmtx`, try `rmtx`, fail if `readers > 0`, else set
//!   `writer_active`.
//!
//! Readers sleep on the `writer_active` word and writers on the `readers`
//! word (bounded futex sleeps); our unlocks wake them. A writer that times
//! out while waiting for readers clears `writer_active` and unlocks `wmtx`.
//!
//! After a crash: a dead reader leaves `readers` raised, so writers block
//! (their timeout variants time out); a dead writer leaves `writer_active`
//! set and `wmtx` locked, so everyone blocks or times out; a process that
//! dies inside the short `rmtx` critical section leaves `rmtx` locked.

use super::mutex::Mutex;
use super::{create_parts, expect_size, open_parts, timeout_as, Deadline};
use crate::error::Result;
use crate::format::rwlock::{READERS, STATE_SIZE, WRITER_ACTIVE};
use crate::format::StructureKind;
use crate::region::atomic::{AtomicI32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait;
use std::time::Duration;

const KIND: &str = StructureKind::RwLock.name();

/// A process-shared reader/writer lock.
///
/// ```
/// use zeroipc::{RwLock, Segment};
/// let name = format!("/zeroipc-doc-rwlock-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let lock = RwLock::create(&seg, "table")?;
/// {
///     let _r1 = lock.read()?;
///     let _r2 = lock.read()?; // readers share
///     assert_eq!(lock.readers(), 2);
///     assert!(lock.try_write()?.is_none());
/// }
/// let _w = lock.write()?;
/// assert!(lock.try_read()?.is_none());
/// assert_eq!((lock.readers(), lock.is_write_locked()), (0, true)); // the failed try took nothing
/// # drop(_w);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RwLock {
    /// The name the caller created/opened (the marker entry), for errors.
    name: String,
    state: Region,
    rmtx: Mutex,
    wmtx: Mutex,
}

/// The reference's name for [`RwLock`].
pub type RWLock = RwLock;

/// A shared (read) hold on an [`RwLock`]; released on drop. Lives in the
/// process that took it.
#[must_use = "the read lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct RwLockReadGuard<'a> {
    lock: &'a RwLock,
}

/// An exclusive (write) hold on an [`RwLock`]; released on drop. Lives in
/// the process that took it.
#[must_use = "the write lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct RwLockWriteGuard<'a> {
    lock: &'a RwLock,
}

impl RwLock {
    /// Creates `name_state`, `name_rmtx`, `name_wmtx` and the marker `name`
    /// (all names checked before anything is allocated).
    pub fn create(seg: &Segment, name: &str) -> Result<RwLock> {
        let [state, rmtx, wmtx, _marker] = create_parts(seg, name, StructureKind::RwLock, |r| {
            Mutex::init_region(&r[1]);
            Mutex::init_region(&r[2]);
            Ok(())
        })?;
        Self::from_regions(name, state, rmtx, wmtx)
    }

    /// Opens the lock `name`: finds the marker and the three parts and
    /// validates each.
    pub fn open(seg: &Segment, name: &str) -> Result<RwLock> {
        let [state, rmtx, wmtx, _marker] = open_parts(seg, name, StructureKind::RwLock)?;
        Self::from_regions(name, state, rmtx, wmtx)
    }

    fn from_regions(name: &str, state: Region, rmtx: Region, wmtx: Region) -> Result<RwLock> {
        expect_size(&state, KIND, STATE_SIZE as usize)?;
        Ok(RwLock {
            name: name.to_owned(),
            state,
            rmtx: Mutex::from_region(rmtx)?,
            wmtx: Mutex::from_region(wmtx)?,
        })
    }

    fn readers_word(&self) -> &AtomicI32 {
        self.state.atomic_i32(READERS as usize)
    }

    fn writer_word(&self) -> &AtomicI32 {
        self.state.atomic_i32(WRITER_ACTIVE as usize)
    }

    /// Takes a shared lock, waiting as long as it takes.
    pub fn read(&self) -> Result<RwLockReadGuard<'_>> {
        self.read_until(&Deadline::forever())?;
        Ok(RwLockReadGuard { lock: self })
    }

    /// Takes a shared lock, or [`crate::Error::Timeout`] after `timeout`.
    pub fn read_timeout(&self, timeout: Duration) -> Result<RwLockReadGuard<'_>> {
        self.read_until(&Deadline::after(timeout))?;
        Ok(RwLockReadGuard { lock: self })
    }

    /// Takes a shared lock if that needs no waiting: `Ok(Some(guard))`
    /// took it, `Ok(None)` a writer holds or is acquiring it, or the
    /// internal reader mutex is busy this instant (nothing changed).
    pub fn try_read(&self) -> Result<Option<RwLockReadGuard<'_>>> {
        if !self.rmtx.try_lock_raw() {
            return Ok(None);
        }
        let ok = self.writer_word().load(Ordering::SeqCst) == 0;
        if ok {
            self.readers_word().fetch_add(1, Ordering::SeqCst);
        }
        self.rmtx.unlock_raw();
        // `then`, not `then_some`: the guard's Drop releases a read lock,
        // so it must be built only when one was taken.
        Ok(ok.then(|| RwLockReadGuard { lock: self }))
    }

    /// Takes `part` (one of the internal mutexes) within `deadline`; a
    /// timeout names this lock, not the part.
    fn lock_part(&self, part: &Mutex, deadline: &Deadline) -> Result<()> {
        part.lock_until(deadline)
            .map_err(|e| timeout_as(e, &self.name, KIND))
    }

    fn read_until(&self, deadline: &Deadline) -> Result<()> {
        loop {
            self.lock_part(&self.rmtx, deadline)?;
            // Under rmtx: a writer sets writer_active under the same mutex,
            // so either we see its flag, or it sees our increment when it
            // checks `readers` after unlocking rmtx.
            if self.writer_word().load(Ordering::SeqCst) == 0 {
                self.readers_word().fetch_add(1, Ordering::SeqCst);
                self.rmtx.unlock_raw();
                return Ok(());
            }
            self.rmtx.unlock_raw();
            // A writer holds or is acquiring: sleep until it clears the flag.
            wait::wait_until(
                self.state.atomic_u32(WRITER_ACTIVE as usize),
                deadline.remaining(),
                || (self.writer_word().load(Ordering::SeqCst) == 0).then_some(()),
            )
            .ok_or_else(|| deadline.timeout_named(&self.name, KIND))?;
        }
    }

    fn read_unlock(&self) {
        // Release (SeqCst): our reads of the protected data happen-before a
        // writer that sees readers == 0. Atomic, without rmtx (C++ way).
        let prev = self.readers_word().fetch_sub(1, Ordering::SeqCst);
        if prev == 1 && self.writer_word().load(Ordering::SeqCst) != 0 {
            wait::wake_all(self.state.atomic_u32(READERS as usize));
        }
    }

    /// Takes the exclusive lock, waiting as long as it takes.
    pub fn write(&self) -> Result<RwLockWriteGuard<'_>> {
        self.write_until(&Deadline::forever())?;
        Ok(RwLockWriteGuard { lock: self })
    }

    /// Takes the exclusive lock, or [`crate::Error::Timeout`] after `timeout`.
    pub fn write_timeout(&self, timeout: Duration) -> Result<RwLockWriteGuard<'_>> {
        self.write_until(&Deadline::after(timeout))?;
        Ok(RwLockWriteGuard { lock: self })
    }

    /// Takes the exclusive lock if that needs no waiting: `Ok(Some(guard))`
    /// took it, `Ok(None)` a reader or writer holds it (or an internal
    /// mutex is busy this instant), and nothing changed.
    pub fn try_write(&self) -> Result<Option<RwLockWriteGuard<'_>>> {
        if !self.wmtx.try_lock_raw() {
            return Ok(None);
        }
        if !self.rmtx.try_lock_raw() {
            self.wmtx.unlock_raw();
            return Ok(None);
        }
        if self.readers_word().load(Ordering::SeqCst) > 0 {
            self.rmtx.unlock_raw();
            self.wmtx.unlock_raw();
            return Ok(None);
        }
        self.writer_word().store(1, Ordering::SeqCst);
        self.rmtx.unlock_raw();
        Ok(Some(RwLockWriteGuard { lock: self }))
    }

    fn write_until(&self, deadline: &Deadline) -> Result<()> {
        self.lock_part(&self.wmtx, deadline)?;
        if let Err(e) = self.lock_part(&self.rmtx, deadline) {
            self.wmtx.unlock_raw();
            return Err(e);
        }
        // Under rmtx: from here no new reader gets in.
        self.writer_word().store(1, Ordering::SeqCst);
        self.rmtx.unlock_raw();
        // Acquire (SeqCst) on readers == 0: the last reader's reads happen
        // before our writes.
        let drained = wait::wait_until(
            self.state.atomic_u32(READERS as usize),
            deadline.remaining(),
            || (self.readers_word().load(Ordering::SeqCst) <= 0).then_some(()),
        );
        if drained.is_none() {
            self.write_unlock();
            return Err(deadline.timeout_named(&self.name, KIND));
        }
        Ok(())
    }

    fn write_unlock(&self) {
        // Release: our writes happen-before a reader that sees the flag clear.
        self.writer_word().store(0, Ordering::SeqCst);
        wait::wake_all(self.state.atomic_u32(WRITER_ACTIVE as usize));
        self.wmtx.unlock_raw();
    }

    /// Readers holding the lock now (a snapshot).
    pub fn readers(&self) -> i32 {
        self.readers_word().load(Ordering::SeqCst)
    }

    /// True while a writer holds (or is acquiring) the lock (a snapshot).
    pub fn is_write_locked(&self) -> bool {
        self.writer_word().load(Ordering::SeqCst) != 0
    }

    /// The `name_state` entry.
    pub fn region(&self) -> &Region {
        &self.state
    }
}

impl RwLockReadGuard<'_> {
    /// The lock this guard holds.
    pub fn lock(&self) -> &RwLock {
        self.lock
    }
}

impl RwLockWriteGuard<'_> {
    /// The lock this guard holds.
    pub fn lock(&self) -> &RwLock {
        self.lock
    }
}

impl Drop for RwLockReadGuard<'_> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl Drop for RwLockWriteGuard<'_> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}
