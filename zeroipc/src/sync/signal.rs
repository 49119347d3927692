//! `Signal<T>`: a versioned value shared between processes (FORMAT.md §3,
//! REFERENCE-NOTES §11.7).
//!
//! Entries, in creation order: `name_state` = {version atomic u64 @0, value
//! T @8}, entry size `align8(8 + s)` (the C++ size; the spec text puts the
//! state at `name`, every implementation at `name_state`), then `name_mtx`
//! (a [`Mutex`]), then `name`, a 1-byte marker never read or written.
//!
//! Protocol (as the C++ reference `signal.h`): `set`/`update` lock the
//! mutex, write the value, `version += 1` (release), unlock; `get` reads the
//! value under the mutex. We take the mutex in `get` too (the Python
//! reference does not, reference bug 32): a C++ writer bumps the version
//! only after writing the value, so a version-validated lock-free read
//! could still return a torn value. [`Signal::version`] is a lock-free
//! acquire load. Waiting for a change sleeps on the low 32 bits of the
//! version word (bounded futex sleeps; our writers wake the sleepers).
//!
//! Opening accepts the C++ state size `align8(8 + s)` and also the Python
//! reference's `8 + s` (they differ only when `s` is not a multiple of 8),
//! so a Python-created signal can be read.
//!
//! After a crash: a writer that dies inside `set` leaves the mutex locked:
//! `get`/`set` block and their timeout variants time out. `version()` and
//! `wait_for_change_timeout` keep working.

use super::mutex::Mutex;
use super::{expect_size, open_marker, parts, timeout_as, Deadline, MARKER_SIZE};
use crate::element::ShmElement;
use crate::error::Result;
use crate::region::atomic::{AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait;
use std::marker::PhantomData;
use std::time::Duration;

const KIND: &str = "signal";
const VERSION: usize = 0;
const VALUE: usize = 8;

/// A shared value with a version counter that changes on every write.
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
/// assert_eq!(reader.get()?, 2.5);
/// assert_eq!(reader.update(|x| x * 2.0)?, 5.0);
/// assert_eq!(reader.get_versioned()?, (v0 + 2, 5.0));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Signal<T: ShmElement> {
    /// The name the caller created/opened (the marker entry), for errors.
    name: String,
    state: Region,
    mtx: Mutex,
    _t: PhantomData<T>,
}

impl<T: ShmElement> Clone for Signal<T> {
    fn clone(&self) -> Self {
        Signal {
            name: self.name.clone(),
            state: self.state.clone(),
            mtx: self.mtx.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: ShmElement> std::fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("name", &self.name)
            .field("state", &self.state)
            .field("mtx", &self.mtx)
            .finish()
    }
}

/// Entry size of the state of a `Signal<T>` (C++: `align8(8 + s)`).
pub(crate) fn state_size<T: ShmElement>() -> u64 {
    (8 + size_of::<T>() as u64 + 7) & !7
}

impl<T: ShmElement> Signal<T> {
    /// Creates `name_state` (version 0, value `initial`), `name_mtx` and the
    /// marker `name` (all names checked before anything is allocated).
    pub fn create(seg: &Segment, name: &str, initial: T) -> Result<Signal<T>> {
        let group = [
            Part::new(format!("{name}_state"), state_size::<T>()),
            Part::new(format!("{name}_mtx"), Mutex::size_for()),
            Part::new(name, MARKER_SIZE),
        ];
        let regions = seg.register_group(&group, |r| {
            r[0].write::<T>(VALUE, initial);
            Mutex::init_region(&r[1]);
            Ok(())
        })?;
        let [state, mtx, _marker] = parts(regions);
        Self::from_regions(name, state, mtx)
    }

    /// Opens the signal `name`: finds the marker and both parts, and checks
    /// the state size against `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Signal<T>> {
        open_marker(seg, name, KIND)?;
        let state = seg.region(&format!("{name}_state"))?;
        let mtx = seg.region(&format!("{name}_mtx"))?;
        Self::from_regions(name, state, mtx)
    }

    fn from_regions(name: &str, state: Region, mtx: Region) -> Result<Signal<T>> {
        let python = 8 + size_of::<T>();
        if state.len() != python {
            expect_size(&state, KIND, state_size::<T>() as usize).map_err(|_| {
                state.mismatch(
                    KIND,
                    format!(
                        "state entry size is {}, a Signal of a {}-byte {} has {} (C++) or {python} (Python) \
                         (wrong value type?)",
                        state.len(),
                        size_of::<T>(),
                        T::LAYOUT.name,
                        state_size::<T>()
                    ),
                )
            })?;
        }
        Ok(Signal {
            name: name.to_owned(),
            state,
            mtx: Mutex::from_region(mtx)?,
            _t: PhantomData,
        })
    }

    fn version_word(&self) -> &AtomicU64 {
        self.state.atomic_u64(VERSION)
    }

    /// The version: 0 at creation, +1 on every `set`/`update`. Lock-free.
    pub fn version(&self) -> u64 {
        self.version_word().load(Ordering::Acquire)
    }

    /// Stores `value` and bumps the version.
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

    /// Stores `value` if the mutex is free now; false if it was not.
    pub fn try_set(&self, value: T) -> bool {
        if !self.mtx.try_lock_raw() {
            return false;
        }
        self.write_locked(value);
        self.mtx.unlock_raw();
        true
    }

    /// Replaces the value with `f(old)` atomically with respect to other
    /// writers and readers; returns the new value.
    pub fn update(&self, f: impl FnOnce(T) -> T) -> Result<T> {
        self.update_until(&Deadline::forever(), f)
    }

    /// As [`Signal::update`], bounded by `timeout` for taking the mutex.
    pub fn update_timeout(&self, timeout: Duration, f: impl FnOnce(T) -> T) -> Result<T> {
        self.update_until(&Deadline::after(timeout), f)
    }

    /// Takes the mutex within `deadline`; a timeout names the signal, not
    /// its `name_mtx` part.
    fn lock_until(&self, deadline: &Deadline) -> Result<()> {
        self.mtx
            .lock_until(deadline)
            .map_err(|e| timeout_as(e, &self.name, KIND))
    }

    fn update_until(&self, deadline: &Deadline, f: impl FnOnce(T) -> T) -> Result<T> {
        self.lock_until(deadline)?;
        // Unlock even if `f` panics.
        struct Unlock<'a>(&'a Mutex);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.unlock_raw();
            }
        }
        let _unlock = Unlock(&self.mtx);
        let next = f(self.state.read::<T>(VALUE));
        self.write_locked(next);
        Ok(next)
    }

    /// With the mutex held: write, then publish the new version.
    fn write_locked(&self, value: T) {
        self.state.write::<T>(VALUE, value);
        // Release: the value written above is visible to whoever sees the
        // new version with acquire (and the mutex orders it for `get`).
        self.version_word().fetch_add(1, Ordering::AcqRel);
        // Futex wake on the version's low word: only the address is used.
        wait::wake_all(self.state.atomic_u32(VERSION));
    }

    /// The value, read under the mutex.
    pub fn get(&self) -> Result<T> {
        self.get_versioned().map(|(_, v)| v)
    }

    /// As [`Signal::get`], or [`crate::Error::Timeout`] after `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.get_until(&Deadline::after(timeout)).map(|(_, v)| v)
    }

    /// The value if the mutex is free now.
    pub fn try_get(&self) -> Option<T> {
        if !self.mtx.try_lock_raw() {
            return None;
        }
        let v = self.state.read::<T>(VALUE);
        self.mtx.unlock_raw();
        Some(v)
    }

    /// The version and the value, read together under the mutex.
    pub fn get_versioned(&self) -> Result<(u64, T)> {
        self.get_until(&Deadline::forever())
    }

    fn get_until(&self, deadline: &Deadline) -> Result<(u64, T)> {
        self.lock_until(deadline)?;
        let v = self.state.read::<T>(VALUE);
        let version = self.version();
        self.mtx.unlock_raw();
        Ok((version, v))
    }

    /// Waits until the version differs from `since`; returns the new version.
    pub fn wait_for_change(&self, since: u64) -> Result<u64> {
        self.wait_change_until(since, &Deadline::forever())
    }

    /// As [`Signal::wait_for_change`], or [`crate::Error::Timeout`] after
    /// `timeout`.
    pub fn wait_for_change_timeout(&self, since: u64, timeout: Duration) -> Result<u64> {
        self.wait_change_until(since, &Deadline::after(timeout))
    }

    fn wait_change_until(&self, since: u64, deadline: &Deadline) -> Result<u64> {
        let mut spins = 0u32;
        loop {
            let v = self.version();
            if v != since {
                return Ok(v);
            }
            let slice = match deadline.remaining() {
                Some(left) if left.is_zero() => {
                    return Err(deadline.timeout_named(&self.name, KIND));
                }
                Some(left) => left.min(wait::MAX_SLEEP),
                None => wait::MAX_SLEEP,
            };
            if spins < 64 {
                spins += 1;
                wait::spin_hint();
                continue;
            }
            // The version is a 64-bit atomic; the futex keys on its low
            // 32 bits (little-endian @0). On Linux `futex_wait` only hands
            // the address to the kernel (no 32-bit Rust access racing the
            // 64-bit ones); the kernel compares the low word with `v` and
            // returns at once if a writer already changed it.
            #[cfg(target_os = "linux")]
            wait::futex_wait(self.state.atomic_u32(VERSION), v as u32, slice);
            #[cfg(not(target_os = "linux"))]
            std::thread::sleep(slice);
        }
    }

    /// The `name_state` entry.
    pub fn region(&self) -> &Region {
        &self.state
    }

    /// The signal's mutex (`name_mtx`).
    pub fn mutex(&self) -> &Mutex {
        &self.mtx
    }
}
