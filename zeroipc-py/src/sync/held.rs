//! Runtime lock guards kept alive by Python objects.
//!
//! The runtime's guards (`MutexGuard<'a>`, `RwLockReadGuard<'a>`, ...)
//! borrow the lock handle, while a Python guard object must own everything
//! it uses. A [`Held`] owns the lock handle in an `Arc` (whose pointee
//! never moves) and the guard that borrows it, with the borrow's lifetime
//! extended to `'static`: that is sound because the guard is declared
//! before the `Arc` (fields drop in declaration order), is only ever taken
//! out to be released or handed back within one method call, and the
//! `'static` reference is never given to anything else.

use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdGuard};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::blocking::blocking_timeout;
use crate::errors::IntoPyResult;

/// A lock handle and, while the lock is held, the runtime's guard on it.
pub(crate) struct Held<L: 'static, G: 'static> {
    /// The guard, `None` once released. Declared first: dropped (and so
    /// released) before `lock`, which it borrows.
    guard: StdMutex<Option<G>>,
    /// The handle the guard borrows; kept alive at least as long as it.
    lock: Arc<L>,
    /// The kind's guard type name, for messages.
    what: &'static str,
}

impl<L: Send + Sync + 'static, G: Send + 'static> Held<L, G> {
    /// Takes the lock with `acquire`, which gets the handle with the
    /// lifetime of the returned `Held`; `Ok(None)` when `acquire` returned
    /// no guard (a `try_` form that found the lock taken).
    ///
    /// # Safety
    ///
    /// `acquire` must keep the `&'static L` it is given only inside the
    /// guard it returns (never store it anywhere else).
    unsafe fn acquire<E>(
        lock: &Arc<L>,
        what: &'static str,
        acquire: impl FnOnce(&'static L) -> Result<Option<G>, E>,
    ) -> Result<Option<Held<L, G>>, E> {
        let lock = Arc::clone(lock);
        // SAFETY: the reference points into the Arc's allocation, which
        // stays alive while `lock` (moved into the Held below) lives. The
        // only thing that keeps it (the caller's contract) is the guard
        // `acquire` returns, stored in the same Held before the Arc and so
        // dropped first.
        let r: &'static L = unsafe { &*Arc::as_ptr(&lock) };
        Ok(acquire(r)?.map(|g| Held {
            guard: StdMutex::new(Some(g)),
            lock,
            what,
        }))
    }

    /// Takes the lock: its `try_form` first (no slicing machinery when
    /// uncontended), then its `timeout_form` in GIL-free slices for up to
    /// `timeout` seconds (`None`: as long as it takes), e.g.
    /// `Mutex::try_lock` and `Mutex::lock_timeout`.
    ///
    /// # Safety
    ///
    /// Both forms must keep the `&'static L` only in the guard they return
    /// (the runtime's own lock methods do).
    pub(crate) unsafe fn lock_sliced(
        py: Python<'_>,
        lock: &Arc<L>,
        what: &'static str,
        timeout: Option<f64>,
        try_form: fn(&'static L) -> zeroipc::Result<Option<G>>,
        timeout_form: fn(&'static L, Duration) -> zeroipc::Result<G>,
    ) -> PyResult<Held<L, G>> {
        // SAFETY: the closure keeps the reference only in the guard it
        // returns (the forms do, by this function's contract).
        let held = unsafe {
            Held::acquire(lock, what, |l: &'static L| {
                if let Some(g) = try_form(l).py()? {
                    return Ok(Some(g));
                }
                blocking_timeout(py, timeout, |slice| timeout_form(l, slice)).map(Some)
            })
        }?;
        // The closure returns a guard or an error, never None.
        held.ok_or_else(|| PyRuntimeError::new_err(format!("{what}: the lock returned no guard")))
    }

    /// Takes the lock with its `try_form` only: `None` when it is held.
    ///
    /// # Safety
    ///
    /// As [`Held::lock_sliced`].
    pub(crate) unsafe fn try_lock(
        lock: &Arc<L>,
        what: &'static str,
        try_form: fn(&'static L) -> zeroipc::Result<Option<G>>,
    ) -> PyResult<Option<Held<L, G>>> {
        // SAFETY: the form keeps the reference only in its guard (the
        // caller's contract).
        unsafe { Held::acquire(lock, what, try_form) }.py()
    }

    /// The lock handle.
    pub(crate) fn lock(&self) -> &L {
        &self.lock
    }

    /// The handle with the lifetime of this `Held`'s guard, for
    /// re-acquiring into [`Held::put`] (Monitor's wait).
    ///
    /// # Safety
    ///
    /// Everything made from the reference must be stored in this `Held`
    /// with [`Held::put`] or dropped before the call that got it returns.
    pub(crate) unsafe fn lock_for_guard(&self) -> &'static L {
        // SAFETY: the pointee lives as long as `self.lock`; the caller's
        // contract keeps every borrow of it inside this Held, whose guard
        // drops before the Arc.
        unsafe { &*Arc::as_ptr(&self.lock) }
    }

    fn slot(&self) -> StdGuard<'_, Option<G>> {
        // A poisoned slot only means a panic elsewhere while it was locked;
        // the Option inside is still a valid state.
        self.guard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True while the guard is held.
    pub(crate) fn is_held(&self) -> bool {
        self.slot().is_some()
    }

    /// Takes the guard out (to release it with a result, or to wait with
    /// it); a `RuntimeError` if it was already released.
    ///
    /// # Safety
    ///
    /// The guard borrows this `Held`'s lock: it must be dropped, consumed
    /// or stored back with [`Held::put`] before the call that took it
    /// returns (never kept elsewhere).
    pub(crate) unsafe fn take(&self) -> PyResult<G> {
        self.slot().take().ok_or_else(|| {
            PyRuntimeError::new_err(format!("this {} was already released", self.what))
        })
    }

    /// Takes the guard out if it is held.
    ///
    /// # Safety
    ///
    /// As [`Held::take`].
    pub(crate) unsafe fn take_if_held(&self) -> Option<G> {
        self.slot().take()
    }

    /// Releases the lock now (drops the guard); a `RuntimeError` if it was
    /// already released.
    pub(crate) fn release(&self) -> PyResult<()> {
        // SAFETY: dropped right here.
        drop(unsafe { self.take() }?);
        Ok(())
    }

    /// Releases the lock if it is still held.
    pub(crate) fn release_if_held(&self) {
        // SAFETY: dropped right here.
        drop(unsafe { self.take_if_held() });
    }

    /// Stores a guard again (after a wait that re-acquired the lock).
    pub(crate) fn put(&self, g: G) {
        *self.slot() = Some(g);
    }
}
