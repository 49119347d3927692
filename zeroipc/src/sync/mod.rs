//! Synchronisation primitives shared between processes (FORMAT.md §3,
//! REFERENCE-NOTES §11.3–11.7).
//!
//! | type | entries (creation order) | bytes |
//! |---|---|---|
//! | [`Semaphore`] | `name` | count i32 @0, waiting i32 @4, max_count i32 @8 (0 = unbounded), pad; 16 |
//! | [`Mutex`] | `name` | a Semaphore with count 1, max_count 1 (count 0 = locked); 16 |
//! | [`Barrier`] | `name` | arrived i32 @0, generation i32 @4, participants i32 @8, pad; 16 |
//! | [`Latch`] | `name` | count i32 @0, initial i32 @4, pad 8; 16 |
//! | [`Once`] | `name` | state u32 @0: 0 pending, 1 running, 2 done; 4 |
//! | [`Event`] | `name`, `name_sem` | signaled u32 @0, mode u32 @4 (0 auto, 1 manual), waiting u32 @8; 12, then a Semaphore(0, unbounded) |
//! | [`RwLock`] | `name_state`, `name_rmtx`, `name_wmtx`, `name` | readers i32 @0, writer_active i32 @4; 8, two Mutexes, a 1-byte marker |
//! | [`Monitor`] | `name_mtx`, `name_cond`, `name_count`, `name` | a Mutex, a Semaphore(0, unbounded), waiting count u32 (4 bytes), a 1-byte marker |
//! | [`Signal<T>`](Signal) | `name_state`, `name_mtx`, `name` | version u64 @0, value T @8, size `align8(8 + s)`; a Mutex; a 1-byte marker |
//!
//! The bytes and the protocols are the ZeroIPC C++ reference's, so a
//! reference process can use the same primitive concurrently. Marker entries
//! have size 1 and their byte is never read or written. Composite
//! primitives are registered with [`Segment::register_group`](crate::Segment::register_group):
//! every suffixed name (at most 31 bytes), the free table slots and the
//! space are checked before anything is allocated, so a failed creation
//! leaves no orphan entries (reference bug 8). Opening a composite finds
//! every part and validates each one (entry sizes, a Mutex's max_count of 1,
//! the condition semaphore's max_count of 0, ...).
//!
//! # Waiting
//!
//! Every blocking operation spins briefly, then sleeps in the kernel on a
//! shared futex keyed by the 32-bit state word it waits on
//! ([`crate::wait::wait_until`]). Our own releasers wake sleepers on that
//! word; reference peers never wake anyone, so every sleep is bounded (2 ms)
//! and the condition re-checked: a waiter never burns a core, and a change
//! made by a reference peer is seen within that bound. Every blocking call
//! has a `..._timeout(Duration)` variant that returns
//! [`crate::Error::Timeout`] and a `try_...` variant that
//! never blocks (Barrier excepted: see its docs). A [`Monitor`] wait may
//! return spuriously (at the latest after 50 ms): re-check the predicate.
//!
//! # After a crash
//!
//! The format records no owners, so nothing can tell that a participant
//! died. What each primitive guarantees when a process is killed (`kill -9`)
//! in the middle of using it:
//!
//! - [`Semaphore`]: a permit held by the dead process is lost (the count
//!   stays lower); a dead waiter leaves `waiting` too high, which costs at
//!   most an unneeded wake-up call.
//! - [`Mutex`]: a holder that dies leaves the mutex locked. `lock()` then
//!   blocks forever; `lock_timeout` returns `Timeout`. An application that
//!   knows the holder is dead can call [`Mutex::force_unlock`].
//! - [`Barrier`]: a participant that dies before arriving stalls its
//!   generation (waiters time out); one that dies after arriving is already
//!   counted and harms nothing.
//! - [`Latch`]: a process that dies before counting down leaves the latch
//!   closed; waiters time out.
//! - [`Once`]: a process that dies while running the closure leaves the
//!   state RUNNING; `call_once` waits forever, `call_once_timeout` returns
//!   `Timeout`.
//! - [`Event`]: nothing is held; a dead manual-reset waiter leaves `waiting`
//!   raised, so `pulse` gives up after its timeout and resets anyway; a dead
//!   auto-reset waiter stays owed a permit (one extra pending signal, which
//!   only a blocking wait takes).
//! - [`RwLock`]: a dead reader leaves `readers` raised (writers time out); a
//!   dead writer leaves `writer_active` set and the writer mutex locked
//!   (everyone times out); a process dead inside the internal mutexes leaves
//!   them locked.
//! - [`Monitor`]: as [`Mutex`] for the monitor's lock; a dead waiter stays
//!   counted, so each later notify waits its 10 ms handshake bound in vain
//!   and leaves a spare permit (one spurious wake-up).
//! - [`Signal<T>`](Signal): a writer dead inside `set` leaves the mutex
//!   locked (`get`/`set` block, their timeout variants time out); `version`
//!   and `wait_for_change_timeout` keep working.
//!
//! # Guards
//!
//! [`MutexGuard`], [`RwLockReadGuard`], [`RwLockWriteGuard`] and
//! [`MonitorGuard`] release on drop. They live in one process (a guard
//! cannot be sent to another process; the lock word it releases can be
//! released by any process, which is how [`Mutex::force_unlock`] works).
//! Leaking a guard (`std::mem::forget`) leaves the lock held.

pub mod barrier;
pub mod event;
pub mod latch;
pub mod monitor;
pub mod mutex;
pub mod once;
pub mod rwlock;
pub mod semaphore;
pub mod signal;

pub use barrier::{Barrier, BarrierWaitResult};
pub use event::{Event, EventMode};
pub use latch::Latch;
pub use monitor::{Monitor, MonitorGuard};
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceState};
pub use rwlock::{RWLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::Semaphore;
pub use signal::Signal;

use crate::error::Error;
use crate::region::Region;
use crate::segment::Segment;

/// The crate's deadline helper (defined with the waiting code).
pub(crate) use crate::wait::Deadline;

/// A timeout of an inner part (`ev_sem`, `rw_wmtx`, ...) renamed to the
/// structure `name` of `kind` the caller opened; other errors unchanged.
pub(crate) fn timeout_as(e: Error, name: &str, kind: &'static str) -> Error {
    match e {
        Error::Timeout { waited_ms, .. } => Error::Timeout {
            name: name.to_owned(),
            kind,
            waited_ms,
        },
        other => other,
    }
}

/// An [`Error::InvalidArgument`] for a structure that does not exist yet.
pub(crate) fn bad_param(seg: &Segment, name: &str, kind: &'static str, detail: String) -> Error {
    Error::InvalidArgument {
        segment: seg.name().to_owned(),
        name: name.to_owned(),
        kind,
        detail,
    }
}

/// Checks that `region` has exactly `size` bytes.
pub(crate) fn expect_size(region: &Region, kind: &'static str, size: usize) -> crate::Result<()> {
    if region.len() != size {
        return Err(region.mismatch(
            kind,
            format!(
                "entry size is {}, a {kind} part {:?} has {size} bytes",
                region.len(),
                region.name()
            ),
        ));
    }
    Ok(())
}

/// Finds the 1-byte marker entry `name` of a composite and checks its size.
pub(crate) fn open_marker(seg: &Segment, name: &str, kind: &'static str) -> crate::Result<Region> {
    let r = seg.region(name)?;
    expect_size(&r, kind, MARKER_SIZE as usize)?;
    Ok(r)
}

/// Size of a composite's marker entry (its byte is never touched).
pub(crate) const MARKER_SIZE: u64 = 1;

/// The regions `register_group` returned, one per part, as an array.
pub(crate) fn parts<const N: usize>(regions: Vec<Region>) -> [Region; N] {
    regions.try_into().unwrap_or_else(|v: Vec<Region>| {
        panic!("register_group returned {} regions for {N} parts", v.len())
    })
}
