//! Synchronisation primitives shared between processes.
//!
//! The normative layouts are docs/FORMAT.md §3.4–§3.12 (entry sizes, open
//! checks, the steps of every operation); the offsets, state numbers and
//! part suffixes are `zeroipc::format::<kind>` ([`crate::format::semaphore`],
//! [`crate::format::event`], ...), which is the only place the runtime
//! takes them from. In short:
//!
//! | type | entries (creation order) | layout |
//! |---|---|---|
//! | [`Semaphore`] | `name` | [`crate::format::semaphore`], §3.4 |
//! | [`Mutex`] | `name` | a Semaphore with count 1, max_count 1: [`crate::format::mutex`], §3.5 |
//! | [`Barrier`] | `name` | [`crate::format::barrier`], §3.6 |
//! | [`Latch`] | `name` | [`crate::format::latch`], §3.7 |
//! | [`Once`] | `name` | [`crate::format::once`], §3.8 |
//! | [`Event`] | `name`, `name_sem` | [`crate::format::event`], §3.9 |
//! | [`RwLock`] | `name_state`, `name_rmtx`, `name_wmtx`, `name` | [`crate::format::rwlock`], §3.10 |
//! | [`Monitor`] | `name_mtx`, `name_cond`, `name_count`, `name` | [`crate::format::monitor`], §3.11 |
//! | [`Signal<T>`](Signal) | `name_state`, `name_mtx`, `name` | [`crate::format::signal`], §3.12 |
//!
//! The bytes and the protocols are the ZeroIPC C++ reference's, so a
//! reference process can use the same primitive concurrently. Marker entries
//! have size 1 and their byte is never read or written. Composite
//! primitives are registered as one group (their parts come from
//! [`StructureKind::parts`](crate::format::StructureKind::parts)): every
//! suffixed name (at most 31 bytes), the free table slots and the space are
//! checked before anything is allocated, so a failed creation leaves no
//! orphan entries (docs/FORMAT.md §8.3 #8). Opening a composite finds every
//! part and validates each one (entry sizes, a Mutex's max_count of 1, the
//! condition semaphore's max_count of 0, ...).
//!
//! # Blocking, `try_` and `_timeout` forms
//!
//! Every call that can wait comes in three forms (docs/ARCHITECTURE.md
//! §Conventions), and all three return a [`Result`](crate::Result):
//!
//! - the plain form waits as long as it takes;
//! - the `try_` form never waits: `Ok(false)` / `Ok(None)` when it would
//!   have had to wait, and then it changed nothing;
//! - the `_timeout(Duration)` form gives up with [`crate::Error::Timeout`]
//!   (naming the structure the caller opened, never one of its parts).
//!
//! | type | plain | `try_` | `_timeout` |
//! |---|---|---|---|
//! | [`Semaphore`] | `acquire` | `try_acquire` | `acquire_timeout` |
//! | [`Mutex`] | `lock` | `try_lock` | `lock_timeout` |
//! | [`Barrier`] | `wait` | `try_wait` | `wait_timeout` |
//! | [`Latch`] | `wait`, `arrive_and_wait` | `try_wait`, `try_arrive_and_wait` | `wait_timeout`, `arrive_and_wait_timeout` |
//! | [`Once`] | `call_once` | `try_call_once` | `call_once_timeout` |
//! | [`Event`] | `wait`, `pulse` | `try_wait`, `try_pulse` | `wait_timeout`, `pulse_timeout` |
//! | [`RwLock`] | `read`, `write` | `try_read`, `try_write` | `read_timeout`, `write_timeout` |
//! | [`Monitor`] | `lock`, [`MonitorGuard::wait`] | `try_lock`, [`MonitorGuard::try_wait`] | `lock_timeout`, [`MonitorGuard::wait_timeout`] |
//!
//! Calls that never wait (`Semaphore::release`, `Mutex::force_unlock`,
//! `Latch::count_down`, `Latch::reset`, `Event::signal`, `Event::reset`,
//! `Monitor::notify_one`/`notify_all`, whose hand-over wait is bounded by
//! [`monitor::NOTIFY_HANDSHAKE`]) have one form and return a `Result` too.
//!
//! # Waiting
//!
//! Every blocking operation spins briefly, then sleeps in the kernel on a
//! shared futex keyed by the 32-bit state word it waits on
//! ([`crate::wait::wait_until`], whose spinning is [`crate::wait::Backoff`]'s).
//! Our own releasers wake sleepers on that word; reference peers never wake
//! anyone, so every sleep is bounded (2 ms) and the condition re-checked: a
//! waiter never burns a core, and a change made by a reference peer is seen
//! within that bound (docs/FORMAT.md §6). A [`Monitor`] wait may return
//! spuriously (at the latest after 50 ms): re-check the predicate.
//!
//! # Self-describing segments
//!
//! `create` records each structure's kind in the segment (when the segment
//! keeps descriptions, see [`crate::SegmentOptions`]), and `open` refuses a
//! structure recorded as another kind with [`crate::Error::WrongKind`]. That
//! matters most for the 16-byte primitives, whose bytes alone cannot tell a
//! Semaphore from a Barrier or a Latch. A segment without descriptions (made
//! by a reference library) is opened on the bytes' checks alone.
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

use crate::describe::{check_description, Description};
use crate::error::Error;
use crate::format::{Parts, Shape, StructureKind};
use crate::region::Region;
use crate::segment::{Part, Segment};

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

/// Size of a composite's marker entry (its byte is never touched); the
/// catalogue's, re-exported for the structures that still name it here.
pub(crate) use crate::format::MARKER_SIZE;

/// Finds the 1-byte marker entry `name` of a composite and checks its size.
pub(crate) fn open_marker(seg: &Segment, name: &str, kind: &'static str) -> crate::Result<Region> {
    let r = seg.region(name)?;
    expect_size(&r, kind, MARKER_SIZE as usize)?;
    Ok(r)
}

/// The regions `register_group` returned, one per part, as an array.
pub(crate) fn parts<const N: usize>(regions: Vec<Region>) -> [Region; N] {
    regions.try_into().unwrap_or_else(|v: Vec<Region>| {
        panic!("register_group returned {} regions for {N} parts", v.len())
    })
}

/// The table entries of the structure `name` of `kind`, in creation order,
/// as the format catalogue lists them (names with their suffixes, sizes).
fn catalogue_parts(seg: &Segment, name: &str, kind: StructureKind) -> crate::Result<Parts> {
    kind.parts(&Shape::NONE)
        .map_err(|e| bad_param(seg, name, kind.name(), e.to_string()))
}

/// Creates the structure `name` of `kind`: registers every part the
/// catalogue lists for it as one group (all names, slots and space checked
/// before anything is allocated), recording the kind in the segment's
/// self-description when it keeps one, runs `init` on the zeroed regions,
/// and returns them in creation order.
pub(crate) fn create_parts<const N: usize>(
    seg: &Segment,
    name: &str,
    kind: StructureKind,
    init: impl FnOnce(&[Region]) -> crate::Result<()>,
) -> crate::Result<[Region; N]> {
    let list: Vec<Part> = catalogue_parts(seg, name, kind)?
        .iter()
        .map(|p| Part::new(p.entry_name(name), p.size))
        .collect();
    if list.len() != N {
        return Err(bad_param(
            seg,
            name,
            kind.name(),
            format!(
                "the catalogue lists {} parts, the runtime expects {N}",
                list.len()
            ),
        ));
    }
    let desc = Description::new(kind);
    Ok(parts(seg.register_described(&list, &desc, init)?))
}

/// Opens the structure `name` of `kind`: refuses a structure the segment
/// records as another kind ([`Error::WrongKind`]; the 16-byte primitives
/// cannot be told apart by their bytes), finds every part the catalogue
/// lists for it (the entry `name` itself first, so a missing structure is
/// reported by its own name), checks a marker's size, and returns the
/// regions in creation order. The other parts' sizes and headers are the
/// caller's to validate.
pub(crate) fn open_parts<const N: usize>(
    seg: &Segment,
    name: &str,
    kind: StructureKind,
) -> crate::Result<[Region; N]> {
    check_description(seg, name, &Description::new(kind))?;
    let listed = catalogue_parts(seg, name, kind)?;
    let mut found: Vec<Option<Region>> = vec![None; listed.len()];
    // The part named `name` first, then the suffixed ones in order.
    let order = listed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.suffix.is_empty())
        .chain(
            listed
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.suffix.is_empty()),
        );
    for (i, p) in order {
        let region = seg.region(&p.entry_name(name))?;
        if p.role == "marker" {
            expect_size(&region, kind.name(), p.size as usize)?;
        }
        found[i] = Some(region);
    }
    let regions: Vec<Region> = found.into_iter().flatten().collect();
    if regions.len() != N {
        return Err(bad_param(
            seg,
            name,
            kind.name(),
            format!(
                "the catalogue lists {} parts, the runtime expects {N}",
                regions.len()
            ),
        ));
    }
    Ok(parts(regions))
}
