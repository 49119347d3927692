//! [`RawSignal`]: the `Signal` protocol over bytes, with the value's size
//! known at run time. [`crate::Signal`] is a typed veneer over it.
//!
//! The normative layout is docs/FORMAT.md §3.12; the offsets are
//! [`crate::format::signal`]. Entries, in creation order: `name_state` =
//! {version atomic u64, value}, `name_mtx` (a [`Mutex`]), then `name`, a
//! 1-byte marker never read or written.
//!
//! # Protocol
//!
//! As the C++ reference `signal.h`: `set`/`update` lock the mutex, write
//! the value, `version += 1` (release), unlock; `get` reads the value under
//! the mutex. We take the mutex in `get` too (the Python reference does
//! not, docs/FORMAT.md §8.3 #32): a C++ writer bumps the version only after
//! writing the value, so a version-validated lock-free read could still
//! return a torn value. [`RawSignal::version`] is a lock-free acquire load.
//! Waiting for a change backs off ([`Backoff`]) and then sleeps on the low
//! 32 bits of the version word (bounded futex sleeps; our writers wake the
//! sleepers).
//!
//! Opening accepts the C++ state size `align8(8 + s)` and also the Python
//! reference's `8 + s` (they differ only when `s` is not a multiple of 8),
//! so a Python-created signal can be read.
//!
//! # Forms
//!
//! [`RawSignal::try_set`] takes the mutex only if it is free now;
//! [`RawSignal::set_timeout`] and [`RawSignal::get_timeout`] wait for it at
//! most their timeout (`Duration::MAX`: no limit); [`RawSignal::version`]
//! and [`RawSignal::snapshot`] never take it.

use crate::describe::{check_description, Description};
use crate::error::{Error, Result};
use crate::format::signal as fmt;
use crate::format::{ElemLayout, StructureKind, MARKER_SIZE};
use crate::region::atomic::{AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::sync::mutex::Mutex;
use crate::sync::{open_marker, parts, timeout_as};
use crate::wait::{self, Backoff, Deadline};
use std::time::Duration;

const KIND: &str = "signal";

/// How many times [`RawSignal::snapshot`] re-reads a value whose version
/// moved during the copy before reporting the last copy anyway.
const SNAPSHOT_TRIES: u32 = 8;

/// What a tool sees of a signal without taking its mutex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSnapshot {
    /// The version word.
    pub version: u64,
    /// The value bytes (read without the mutex: a C++ writer inside `set`
    /// at that moment may show a torn value with an unchanged version).
    pub value: Vec<u8>,
    /// True while some process holds the mutex.
    pub locked: bool,
}

/// Unlocks the mutex when an update ends (also if the caller's closure
/// panics).
struct Unlock<'a>(&'a Mutex);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        self.0.unlock_raw();
    }
}

/// A shared versioned value of run-time size.
///
/// ```
/// use std::time::Duration;
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::signal::RawSignal;
/// use zeroipc::{Segment, Signal};
/// let name = format!("/zeroipc-doc-rawsignal-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = RawSignal::create(&seg, "s", ElemLayout::new(3, 1).unwrap(), &[1, 2, 3])?;
/// s.set_timeout(&[4, 5, 6], Duration::MAX)?;
/// let mut out = [0u8; 3];
/// assert_eq!(s.get_timeout(&mut out, Duration::MAX)?, 1); // the version read with it
/// assert_eq!(out, [4, 5, 6]);
/// // The typed veneer shares the entries.
/// assert_eq!(Signal::<[u8; 3]>::open(&seg, "s")?.get()?, [4, 5, 6]);
/// assert!(s.set_timeout(&[1, 2], Duration::MAX).is_err()); // wrong length: refused
/// assert_eq!(s.version(), 1);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawSignal {
    /// The name the caller created/opened (the marker entry), for errors.
    name: String,
    state: Region,
    mtx: Mutex,
    elem: ElemLayout,
    size: usize,
}

impl RawSignal {
    /// Creates `name_state` (version 0, value `initial`), `name_mtx` and the
    /// marker `name` (all names checked before anything is allocated),
    /// recorded in the segment's self-description.
    pub fn create(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        initial: &[u8],
    ) -> Result<RawSignal> {
        let desc = Description::with_layout(StructureKind::Signal, elem, 0);
        RawSignal::create_described(seg, name, elem, initial, &desc)
    }

    /// [`RawSignal::create`] recording `desc` (the typed veneer's, with the
    /// type's fingerprint).
    pub(crate) fn create_described(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        initial: &[u8],
        desc: &Description,
    ) -> Result<RawSignal> {
        if initial.len() as u64 != elem.size() {
            return Err(Error::InvalidArgument {
                segment: seg.name().to_owned(),
                name: name.to_owned(),
                kind: KIND,
                detail: format!(
                    "create: an initial value of {} bytes given, the element size is {} bytes",
                    initial.len(),
                    elem.size()
                ),
            });
        }
        let state_size = fmt::state_size(elem).ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("signal {name:?}: a {}-byte value overflows", elem.size()),
        })?;
        let group = [
            Part::new(format!("{name}{}", fmt::STATE_SUFFIX), state_size),
            Part::new(
                format!("{name}{}", fmt::MTX_SUFFIX),
                crate::format::mutex::SIZE,
            ),
            Part::new(name, MARKER_SIZE),
        ];
        let regions = seg.register_described(&group, desc, |r| {
            r[0].write_bytes(fmt::VALUE as usize, initial);
            Mutex::init_region(&r[1]);
            Ok(())
        })?;
        let [state, mtx, _marker] = parts(regions);
        RawSignal::from_regions(name, state, mtx, elem)
    }

    /// Opens the signal `name`: finds the marker and both parts, and checks
    /// the state size against `elem` (and, on a self-describing segment,
    /// the recorded kind and layout). `None` takes the recorded layout,
    /// else the value size from the state entry as the Python form `8 + s`
    /// with byte alignment (for a C++ state the value bytes then include
    /// its padding to 8).
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawSignal> {
        let recorded = seg
            .description(name)?
            .filter(|d| d.kind == StructureKind::Signal)
            .and_then(|d| d.elem);
        let elem = elem.or(recorded);
        let expected = Description {
            elem,
            ..Description::new(StructureKind::Signal)
        };
        check_description(seg, name, &expected)?;
        open_marker(seg, name, KIND)?;
        let state = seg.region(&format!("{name}{}", fmt::STATE_SUFFIX))?;
        let mtx = seg.region(&format!("{name}{}", fmt::MTX_SUFFIX))?;
        let elem = match elem {
            Some(e) => e,
            None => {
                let s = (state.len() as u64)
                    .checked_sub(fmt::VALUE)
                    .ok_or_else(|| {
                        state.mismatch(
                            KIND,
                            format!(
                                "state entry is {} bytes, less than the version word",
                                state.len()
                            ),
                        )
                    })?;
                ElemLayout::new(s, 1).expect("alignment 1 accepts every size")
            }
        };
        RawSignal::from_regions(name, state, mtx, elem)
    }

    pub(crate) fn from_regions(
        name: &str,
        state: Region,
        mtx: Region,
        elem: ElemLayout,
    ) -> Result<RawSignal> {
        let len = state.len() as u64;
        let cpp = fmt::state_size(elem).unwrap_or(u64::MAX);
        let python = fmt::python_state_size(elem).unwrap_or(u64::MAX);
        if len != cpp && len != python {
            return Err(state.mismatch(
                KIND,
                format!(
                    "state entry size is {len}, a Signal of a {}-byte value has {cpp} (C++) or \
                     {python} (Python) (wrong value type?)",
                    elem.size()
                ),
            ));
        }
        Ok(RawSignal {
            name: name.to_owned(),
            state,
            mtx: Mutex::from_region(mtx)?,
            elem,
            size: elem.size() as usize,
        })
    }

    /// The `name_state` entry.
    pub fn region(&self) -> &Region {
        &self.state
    }

    /// The signal's mutex (`name_mtx`).
    pub fn mutex(&self) -> &Mutex {
        &self.mtx
    }

    /// The value layout this handle was opened with.
    pub fn elem(&self) -> ElemLayout {
        self.elem
    }

    /// The name the signal was created/opened under.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn version_word(&self) -> &AtomicU64 {
        self.state.atomic_u64(fmt::VERSION as usize)
    }

    /// The version: 0 at creation, +1 on every set/update. Lock-free.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version_word().load(Ordering::Acquire)
    }

    #[inline]
    fn check_len(&self, op: &str, given: usize) -> Result<()> {
        super::check_len(&self.state, KIND, op, self.size, given)
    }

    /// Takes the mutex within `deadline`; a timeout names the signal, not
    /// its `name_mtx` part.
    fn lock_until(&self, deadline: &Deadline) -> Result<()> {
        self.mtx
            .lock_until(deadline)
            .map_err(|e| timeout_as(e, &self.name, KIND))
    }

    /// With the mutex held: write, then publish the new version.
    #[inline]
    fn write_locked(&self, src: &[u8]) {
        self.state.write_bytes(fmt::VALUE as usize, src);
        // Release: the value written above is visible to whoever sees the
        // new version with acquire (and the mutex orders it for `get`).
        self.version_word().fetch_add(1, Ordering::AcqRel);
        // Futex wake on the version's low word: only the address is used.
        wait::wake_all(self.state.atomic_u32(fmt::VERSION as usize));
    }

    /// With the mutex held: `scratch` = the value, `f(scratch)`, write it
    /// back and publish; the mutex is released on return (or unwind).
    #[inline]
    fn update_locked(&self, scratch: &mut [u8], f: impl FnOnce(&mut [u8])) {
        let _unlock = Unlock(&self.mtx);
        self.state.read_bytes(fmt::VALUE as usize, scratch);
        f(scratch);
        self.write_locked(scratch);
    }

    /// Replaces the value by `f` applied to a copy of it in `scratch` (the
    /// caller's buffer of the value's size, length checked by the caller),
    /// under the mutex taken within `deadline`.
    #[inline]
    pub(crate) fn update_until(
        &self,
        deadline: &Deadline,
        scratch: &mut [u8],
        f: impl FnOnce(&mut [u8]),
    ) -> Result<()> {
        self.lock_until(deadline)?;
        self.update_locked(scratch, f);
        Ok(())
    }

    /// As `update_until` if the mutex is free now: `false` (nothing done)
    /// if it is not.
    #[inline]
    pub(crate) fn try_update_raw(&self, scratch: &mut [u8], f: impl FnOnce(&mut [u8])) -> bool {
        if !self.mtx.try_lock_raw() {
            return false;
        }
        self.update_locked(scratch, f);
        true
    }

    /// Stores `src` and bumps the version, waiting for the mutex at most
    /// `timeout` (`Duration::MAX`: no limit) ([`Error::Timeout`]).
    pub fn set_timeout(&self, src: &[u8], timeout: Duration) -> Result<()> {
        self.check_len("set", src.len())?;
        self.lock_until(&Deadline::after(timeout))?;
        let _unlock = Unlock(&self.mtx);
        self.write_locked(src);
        Ok(())
    }

    /// Stores `src` if the mutex is free now: `Ok(false)` (nothing written)
    /// if it is not.
    pub fn try_set(&self, src: &[u8]) -> Result<bool> {
        self.check_len("try_set", src.len())?;
        if !self.mtx.try_lock_raw() {
            return Ok(false);
        }
        let _unlock = Unlock(&self.mtx);
        self.write_locked(src);
        Ok(true)
    }

    /// Copies the value into `out` (length checked by the caller) and
    /// returns the version, both read under the mutex taken within
    /// `deadline`.
    #[inline]
    pub(crate) fn get_until(&self, out: &mut [u8], deadline: &Deadline) -> Result<u64> {
        self.lock_until(deadline)?;
        let _unlock = Unlock(&self.mtx);
        self.state.read_bytes(fmt::VALUE as usize, out);
        Ok(self.version())
    }

    /// As `get_until` if the mutex is free now; `None` if it is not.
    #[inline]
    pub(crate) fn try_get_raw(&self, out: &mut [u8]) -> Option<u64> {
        if !self.mtx.try_lock_raw() {
            return None;
        }
        let _unlock = Unlock(&self.mtx);
        self.state.read_bytes(fmt::VALUE as usize, out);
        Some(self.version())
    }

    /// Copies the value into `out` under the mutex (waiting at most `timeout`,
    /// `Duration::MAX` meaning no limit) and returns the version
    /// read with it.
    pub fn get_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<u64> {
        self.check_len("get", out.len())?;
        self.get_until(out, &Deadline::after(timeout))
    }

    /// Copies the value into `out` (exactly the value's size) if the mutex
    /// is free now: `Ok(Some(version))`, or `Ok(None)` (nothing read) if it
    /// is not.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zeroipc::format::ElemLayout;
    /// use zeroipc::raw::signal::RawSignal;
    /// use zeroipc::Segment;
    /// let name = format!("/zeroipc-doc-rawsignal-try-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let s = RawSignal::create(&seg, "s", ElemLayout::new(2, 1).unwrap(), &[1, 2])?;
    /// let mut out = [0u8; 2];
    /// assert_eq!(s.try_get(&mut out)?, Some(0));
    /// assert_eq!(out, [1, 2]);
    /// let mut scratch = [0u8; 2];
    /// s.update_timeout(&mut scratch, Duration::MAX, |v| v[0] += 10)?;
    /// assert!(s.try_update(&mut scratch, |v| v[1] += 20)?);
    /// assert_eq!(s.wait_for_change_timeout(0, Duration::ZERO)?, 2); // already changed
    /// assert!(s.wait_for_change_timeout(2, Duration::from_millis(1)).is_err()); // timed out
    /// assert_eq!(s.try_get(&mut out)?, Some(2));
    /// assert_eq!(out, [11, 22]);
    /// assert!(s.try_get(&mut [0u8; 3]).is_err()); // wrong length
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_get(&self, out: &mut [u8]) -> Result<Option<u64>> {
        self.check_len("try_get", out.len())?;
        Ok(self.try_get_raw(out))
    }

    /// Replaces the value by `f` applied to a copy of it in `scratch` (a
    /// buffer of exactly the value's size), under the mutex taken within
    /// `timeout` (`Duration::MAX`: no limit; [`Error::Timeout`] after it,
    /// with nothing changed).
    pub fn update_timeout(
        &self,
        scratch: &mut [u8],
        timeout: Duration,
        f: impl FnOnce(&mut [u8]),
    ) -> Result<()> {
        self.check_len("update", scratch.len())?;
        self.update_until(&Deadline::after(timeout), scratch, f)
    }

    /// As [`RawSignal::update_timeout`] if the mutex is free now: `Ok(false)`
    /// (nothing done, `f` not called) if it is not.
    pub fn try_update(&self, scratch: &mut [u8], f: impl FnOnce(&mut [u8])) -> Result<bool> {
        self.check_len("try_update", scratch.len())?;
        Ok(self.try_update_raw(scratch, f))
    }

    /// Waits until the version differs from `since`, at most `timeout`
    /// (`Duration::MAX`: no limit; [`Error::Timeout`] then); returns the new
    /// version.
    pub fn wait_for_change_timeout(&self, since: u64, timeout: Duration) -> Result<u64> {
        self.wait_change_until(since, &Deadline::after(timeout))
    }

    /// Waits until the version differs from `since` (within `deadline`);
    /// returns the new version.
    pub(crate) fn wait_change_until(&self, since: u64, deadline: &Deadline) -> Result<u64> {
        let backoff = Backoff::new();
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
            if !backoff.is_completed() {
                backoff.snooze_at_most(slice);
                continue;
            }
            // The version is a 64-bit atomic; the futex keys on its low
            // 32 bits (little-endian @0). On Linux `futex_wait` only hands
            // the address to the kernel (no 32-bit Rust access racing the
            // 64-bit ones); the kernel compares the low word with `v` and
            // returns at once if a writer already changed it.
            #[cfg(target_os = "linux")]
            wait::futex_wait(
                self.state.atomic_u32(fmt::VERSION as usize),
                v as u32,
                slice,
            );
            #[cfg(not(target_os = "linux"))]
            std::thread::sleep(slice);
        }
    }

    /// Version and value bytes without taking the mutex (a tool must not
    /// block on a held lock nor change its bytes): the value is re-read
    /// while the version moves under it, up to a few times.
    pub fn snapshot(&self) -> SignalSnapshot {
        let mut value = vec![0u8; self.size];
        let mut version = self.version();
        for _ in 0..SNAPSHOT_TRIES {
            self.state.read_bytes(fmt::VALUE as usize, &mut value);
            // Keep the copy before the re-check of the version.
            crate::region::atomic::fence(Ordering::Acquire);
            let again = self.version();
            if again == version {
                break;
            }
            version = again;
        }
        SignalSnapshot {
            version,
            value,
            locked: self.mtx.is_locked(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::Signal;

    #[test]
    fn runtime_sizes_interoperate_with_the_typed_veneer() {
        let t = seg("rawsig");
        for (size, align) in [(3u64, 1u64), (12, 4), (40, 8)] {
            let name = format!("s{size}");
            let elem = ElemLayout::new(size, align).unwrap();
            let init: Vec<u8> = (0..size as u8).collect();
            let s = RawSignal::create(&t.1, &name, elem, &init).unwrap();
            assert_eq!(s.region().len() as u64, fmt::state_size(elem).unwrap());
            let snap = s.snapshot();
            assert_eq!(
                (snap.version, &snap.value[..], snap.locked),
                (0, &init[..], false)
            );
            let mut scratch = vec![0u8; size as usize];
            s.update_until(&Deadline::forever(), &mut scratch, |v| v.reverse())
                .unwrap();
            let mut out = vec![0u8; size as usize];
            assert_eq!(s.get_timeout(&mut out, Duration::MAX).unwrap(), 1);
            assert_eq!(out, init.iter().rev().copied().collect::<Vec<_>>());
            // Opened without a layout: the value's bytes come first.
            let o = RawSignal::open(&t.1, &name, None).unwrap();
            assert_eq!(&o.snapshot().value[..size as usize], &out[..]);
        }
        let typed = Signal::<[u32; 3]>::open(&t.1, "s12").unwrap();
        assert_eq!(typed.version(), 1);
        typed.set([7, 8, 9]).unwrap();
        let raw = RawSignal::open(&t.1, "s12", Some(ElemLayout::of::<[u32; 3]>())).unwrap();
        let mut out = [0u8; 12];
        assert_eq!(raw.get_timeout(&mut out, Duration::MAX).unwrap(), 2);
        assert_eq!(out[..4], 7u32.to_le_bytes());
        assert_eq!(raw.wait_change_until(1, &Deadline::forever()).unwrap(), 2);
    }

    #[test]
    fn wrong_lengths_and_held_mutex_change_nothing() {
        let t = seg("rawsiglen");
        let elem = ElemLayout::new(12, 4).unwrap();
        let before = t.1.entries().unwrap().len(); // the self-description, if any
        let e = RawSignal::create(&t.1, "bad", elem, &[0; 11]).unwrap_err();
        assert!(
            e.to_string().contains("11 bytes") && e.to_string().contains("12 bytes"),
            "{e}"
        );
        assert_eq!(t.1.entries().unwrap().len(), before);
        let s = RawSignal::create(&t.1, "s", elem, &[1; 12]).unwrap();
        let e = s.set_timeout(&[0; 13], Duration::MAX).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        assert!(s.try_set(&[0; 4]).is_err());
        assert!(s.get_timeout(&mut [0u8; 2], Duration::MAX).is_err());
        assert!(s.mtx.try_lock_raw());
        assert!(!s.try_set(&[2; 12]).unwrap());
        assert!(s.snapshot().locked);
        let e = s
            .set_timeout(&[2; 12], Duration::from_millis(5))
            .unwrap_err();
        assert!(
            matches!(e, Error::Timeout { ref name, .. } if name == "s"),
            "{e}"
        );
        s.mtx.unlock_raw();
        assert_eq!(
            s.snapshot(),
            SignalSnapshot {
                version: 0,
                value: vec![1; 12],
                locked: false
            }
        );
        assert!(RawSignal::open(&t.1, "s", Some(ElemLayout::new(24, 8).unwrap())).is_err());
    }
}
