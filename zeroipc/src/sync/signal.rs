//! `Signal<T>`: a versioned value shared between processes.
//!
//! The normative layout is docs/FORMAT.md §3.12; the offsets are
//! [`zeroipc::format::signal`](crate::format::signal). Entries, in creation
//! order: `name_state` = {version atomic u64, value T}, entry size
//! `align8(8 + s)` (the C++ size; the Python reference's `8 + s` is
//! accepted on open), then `name_mtx` (a [`Mutex`]), then `name`, a 1-byte
//! marker never read or written. The protocol (writes and reads under the
//! mutex, the version bumped after each write, change waits on the version
//! word) is written once, over bytes, in [`RawSignal`], whose docs
//! describe it; [`Signal<T>`] is its typed veneer.
//!
//! # Blocking, non-blocking and timed forms
//!
//! | operation | blocking | non-blocking (`Ok(None)`/`Ok(false)`: the mutex is held) | timed |
//! |---|---|---|---|
//! | store | [`Signal::set`] | [`Signal::try_set`] | [`Signal::set_timeout`] |
//! | read-modify-write | [`Signal::update`] | [`Signal::try_update`] | [`Signal::update_timeout`] |
//! | read | [`Signal::get`], [`Signal::get_versioned`] | [`Signal::try_get`] | [`Signal::get_timeout`] |
//! | wait for a new version | [`Signal::wait_for_change`] | [`Signal::try_wait_for_change`] (`Ok(None)`: unchanged) | [`Signal::wait_for_change_timeout`] |
//!
//! [`Signal::version`] never waits.
//!
//! After a crash: a writer that dies inside `set` leaves the mutex locked:
//! `get`/`set` block and their timeout variants time out. `version()` and
//! `wait_for_change_timeout` keep working.

use super::mutex::Mutex;
use crate::codata::zeroed;
use crate::describe::Description;
use crate::element::{bytes_of, bytes_of_mut, from_bytes, ShmElement};
use crate::error::Result;
use crate::format::{ElemLayout, StructureKind};
use crate::raw::signal::RawSignal;
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::Deadline;
use std::marker::PhantomData;
use std::time::Duration;

/// A shared value with a version counter that changes on every write: a
/// typed veneer over [`RawSignal`].
///
/// ```
/// use zeroipc::{Segment, Signal};
/// let name = format!("/zeroipc-doc-signal-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let speed = Signal::<f64>::create(&seg, "speed", 0.0)?;
/// let v0 = speed.version();
/// speed.set(2.5)?;
/// let reader = Signal::<f64>::open(&seg, "speed")?;
/// assert_eq!(reader.wait_for_change(v0)?, v0 + 1);
/// assert_eq!(reader.try_wait_for_change(v0 + 1)?, None); // nothing new
/// assert_eq!(reader.get()?, 2.5);
/// assert_eq!(reader.update(|x| x * 2.0)?, 5.0);
/// assert_eq!(reader.try_update(|x| x + 1.0)?, Some(6.0)); // the mutex was free
/// assert_eq!(reader.get_versioned()?, (v0 + 3, 6.0));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
// Clone: `T: Copy` (ShmElement), so the derive adds no real bound.
#[derive(Clone)]
pub struct Signal<T: ShmElement> {
    raw: RawSignal,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("name", &self.raw.name())
            .field("state", self.raw.region())
            .field("mtx", self.raw.mutex())
            .finish()
    }
}

/// Entry size of the state of a `Signal<T>` (C++: `align8(8 + s)`).
#[cfg(test)]
pub(crate) fn state_size<T: ShmElement>() -> u64 {
    crate::format::signal::state_size(ElemLayout::of::<T>()).expect("a Rust type's size fits")
}

/// Replaces the value in `bytes` (a `T`'s) by `f(old)`.
#[inline]
fn apply<T: ShmElement>(bytes: &mut [u8], f: impl FnOnce(T) -> T) {
    let old = from_bytes::<T>(bytes).expect("the scratch buffer is a T");
    bytes.copy_from_slice(bytes_of(&f(old)));
}

impl<T: ShmElement> Signal<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    /// Creates `name_state` (version 0, value `initial`), `name_mtx` and the
    /// marker `name` (all names checked before anything is allocated).
    pub fn create(seg: &Segment, name: &str, initial: T) -> Result<Signal<T>> {
        let desc = Description::of::<T>(StructureKind::Signal, 0);
        Ok(Signal {
            raw: RawSignal::create_described(seg, name, Self::ELEM, bytes_of(&initial), &desc)?,
            _t: PhantomData,
        })
    }

    /// Opens the signal `name`: finds the marker and both parts, and checks
    /// the state size against `T` (and, on a self-describing segment, that
    /// it was created as a signal of this layout).
    pub fn open(seg: &Segment, name: &str) -> Result<Signal<T>> {
        Ok(Signal {
            raw: RawSignal::open(seg, name, Some(Self::ELEM))?,
            _t: PhantomData,
        })
    }

    /// The protocol core this veneer calls (for tools).
    pub fn raw(&self) -> &RawSignal {
        &self.raw
    }

    /// The version: 0 at creation, +1 on every `set`/`update`. Lock-free.
    #[inline]
    pub fn version(&self) -> u64 {
        self.raw.version()
    }

    /// Stores `value` and bumps the version.
    #[inline]
    pub fn set(&self, value: T) -> Result<()> {
        self.update_until(&Deadline::forever(), |_| value)
            .map(|_| ())
    }

    /// As [`Signal::set`], or [`crate::Error::Timeout`] if the mutex is not
    /// obtained within `timeout`.
    pub fn set_timeout(&self, value: T, timeout: Duration) -> Result<()> {
        self.update_until(&Deadline::after(timeout), |_| value)
            .map(|_| ())
    }

    /// Stores `value` if the mutex is free now: `Ok(true)`; `Ok(false)`
    /// (nothing written) if it was not.
    pub fn try_set(&self, value: T) -> Result<bool> {
        Ok(self.try_update(|_| value)?.is_some())
    }

    /// Replaces the value with `f(old)` atomically with respect to other
    /// writers and readers; returns the new value.
    #[inline]
    pub fn update(&self, f: impl FnOnce(T) -> T) -> Result<T> {
        self.update_until(&Deadline::forever(), f)
    }

    /// As [`Signal::update`], bounded by `timeout` for taking the mutex.
    pub fn update_timeout(&self, timeout: Duration, f: impl FnOnce(T) -> T) -> Result<T> {
        self.update_until(&Deadline::after(timeout), f)
    }

    /// As [`Signal::update`] if the mutex is free now: `Ok(Some(new))`;
    /// `Ok(None)` (`f` not called, nothing written) if it was not.
    pub fn try_update(&self, f: impl FnOnce(T) -> T) -> Result<Option<T>> {
        let mut v = zeroed::<T>();
        let done = self
            .raw
            .try_update_raw(bytes_of_mut(&mut v), |b| apply(b, f));
        Ok(done.then_some(v))
    }

    #[inline]
    fn update_until(&self, deadline: &Deadline, f: impl FnOnce(T) -> T) -> Result<T> {
        let mut v = zeroed::<T>();
        self.raw
            .update_until(deadline, bytes_of_mut(&mut v), |b| apply(b, f))?;
        Ok(v)
    }

    /// The value, read under the mutex.
    #[inline]
    pub fn get(&self) -> Result<T> {
        self.get_versioned().map(|(_, v)| v)
    }

    /// As [`Signal::get`], or [`crate::Error::Timeout`] after `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.get_until(&Deadline::after(timeout)).map(|(_, v)| v)
    }

    /// The value if the mutex is free now (`Ok(None)` if it is not).
    pub fn try_get(&self) -> Result<Option<T>> {
        let mut v = zeroed::<T>();
        Ok(self.raw.try_get_raw(bytes_of_mut(&mut v)).map(|_| v))
    }

    /// The version and the value, read together under the mutex.
    pub fn get_versioned(&self) -> Result<(u64, T)> {
        self.get_until(&Deadline::forever())
    }

    #[inline]
    fn get_until(&self, deadline: &Deadline) -> Result<(u64, T)> {
        let mut v = zeroed::<T>();
        let version = self.raw.get_until(bytes_of_mut(&mut v), deadline)?;
        Ok((version, v))
    }

    /// Waits until the version differs from `since`; returns the new version.
    pub fn wait_for_change(&self, since: u64) -> Result<u64> {
        self.raw.wait_change_until(since, &Deadline::forever())
    }

    /// As [`Signal::wait_for_change`], or [`crate::Error::Timeout`] after
    /// `timeout`.
    pub fn wait_for_change_timeout(&self, since: u64, timeout: Duration) -> Result<u64> {
        self.raw.wait_change_until(since, &Deadline::after(timeout))
    }

    /// The version if it differs from `since` now, `Ok(None)` if it does
    /// not (never waits).
    pub fn try_wait_for_change(&self, since: u64) -> Result<Option<u64>> {
        let v = self.version();
        Ok((v != since).then_some(v))
    }

    /// The `name_state` entry.
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The signal's mutex (`name_mtx`).
    pub fn mutex(&self) -> &Mutex {
        self.raw.mutex()
    }
}
