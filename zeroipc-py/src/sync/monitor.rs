//! `Monitor`: a mutex with a condition, with a guard object that waits.

use std::sync::{Arc, Mutex as StdMutex};

use pyo3::prelude::*;
use zeroipc::sync::MonitorGuard;
use zeroipc::{Error, Monitor};

use super::held::Held;
use super::locks::{pop_entered, push_entered, Entered};
use crate::blocking::{blocking_timeout, timeout_of, SLICE};
use crate::errors::{to_py, IntoPyResult};
use crate::segment::PySegment;

/// A mutex with a condition variable, shared between processes
/// (`zeroipc::Monitor`; the C++ reference's bytes).
///
/// `lock()`, `lock_timeout(s)` and `try_lock()` return a `MonitorGuard`
/// (a context manager; `with mon:` works too). With the monitor held,
/// `guard.wait()` lets go of it, waits for a notification and takes it
/// again. A wait may return without a notification (at the latest after
/// about 50 ms, as the Rust wait does): always wait in a loop that
/// re-checks the predicate. `notify_one()`/`notify_all()` should be called
/// with the monitor held, after changing the predicate.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Monitor
/// >>> name = f"/zeroipc-py-monitor-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> mon = Monitor.create(seg, "mon")
/// >>> with mon.lock() as g:
/// ...     g.try_wait()  # no notification pending: keeps the lock
/// False
/// >>> mon.is_locked()
/// False
/// >>> Segment.unlink(name)
#[pyclass(name = "Monitor", module = "zeroipc_rs", frozen)]
pub(crate) struct PyMonitor {
    inner: Arc<Monitor>,
    name: String,
    entered: Entered<PyMonitorGuard>,
}

/// Holds a `Monitor` locked; `wait()` waits for a notification with it.
#[pyclass(name = "MonitorGuard", module = "zeroipc_rs", frozen)]
pub(crate) struct PyMonitorGuard {
    held: Held<Monitor, MonitorGuard<'static>>,
    name: String,
}

impl PyMonitor {
    fn wrap(inner: Monitor, name: &str) -> PyMonitor {
        PyMonitor {
            inner: Arc::new(inner),
            name: name.to_owned(),
            entered: StdMutex::new(Vec::new()),
        }
    }

    fn lock_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyMonitorGuard> {
        // SAFETY: the runtime's own lock methods keep the reference only
        // in the guard they return.
        let held = unsafe {
            Held::lock_sliced(
                py,
                &self.inner,
                "MonitorGuard",
                timeout,
                Monitor::try_lock,
                Monitor::lock_timeout,
            )
        }?;
        Ok(PyMonitorGuard {
            held,
            name: self.name.clone(),
        })
    }
}

#[pymethods]
impl PyMonitor {
    /// Creates an unlocked monitor named `name` (entries `name_mtx`,
    /// `name_cond`, `name_count` and the marker `name`).
    #[staticmethod]
    fn create(seg: &PySegment, name: &str) -> PyResult<PyMonitor> {
        let m = Monitor::create(&seg.inner, name).py()?;
        Ok(PyMonitor::wrap(m, name))
    }

    /// Opens the monitor `name`, validating every part.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<PyMonitor> {
        let m = Monitor::open(&seg.inner, name).py()?;
        Ok(PyMonitor::wrap(m, name))
    }

    /// Locks, waiting as long as it takes.
    fn lock(&self, py: Python<'_>) -> PyResult<PyMonitorGuard> {
        self.lock_for(py, None)
    }

    /// Locks, or raises `ZeroIpcTimeoutError` after `timeout` seconds.
    fn lock_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<PyMonitorGuard> {
        self.lock_for(py, Some(timeout))
    }

    /// Locks if free now, never waiting: a guard, or None (nothing changed).
    fn try_lock(&self) -> PyResult<Option<PyMonitorGuard>> {
        // SAFETY: the runtime's own try_lock keeps the reference only in
        // the guard it returns.
        let held = unsafe { Held::try_lock(&self.inner, "MonitorGuard", Monitor::try_lock) }?;
        Ok(held.map(|held| PyMonitorGuard {
            held,
            name: self.name.clone(),
        }))
    }

    /// Wakes one waiter (if any is counted); waits at most the runtime's
    /// 10 ms hand-over bound for it to take the notification.
    fn notify_one(&self, py: Python<'_>) -> PyResult<()> {
        let m = &*self.inner;
        py.detach(|| m.notify_one()).py()
    }

    /// Wakes every counted waiter (same hand-over bound as `notify_one`).
    fn notify_all(&self, py: Python<'_>) -> PyResult<()> {
        let m = &*self.inner;
        py.detach(|| m.notify_all()).py()
    }

    /// Waiters counted now (a snapshot).
    fn waiters(&self) -> u32 {
        self.inner.waiters()
    }

    /// True while someone holds the monitor (a snapshot).
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// The structure's name (its marker entry).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// `with mon:` locks (waiting as `lock()` does) and returns the guard.
    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<Py<PyMonitorGuard>> {
        let py = slf.py();
        let this = slf.get();
        let g = Py::new(py, this.lock_for(py, None)?)?;
        push_entered(&this.entered, g.clone_ref(py));
        Ok(g)
    }

    /// Unlocks the guard the matching `__enter__` took (if still held).
    fn __exit__(
        &self,
        _ty: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let g = pop_entered(&self.entered, "Monitor")?;
        g.get().held.release_if_held();
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Monitor(name={:?}, locked={}, waiters={})",
            self.name,
            self.inner.is_locked(),
            self.inner.waiters()
        )
    }
}

impl PyMonitorGuard {
    /// One runtime wait of at most one slice (and at most `timeout`), then
    /// the lock again. On a timeout of the whole `timeout` the monitor is
    /// not held any more (as in Rust).
    fn wait_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let total = timeout_of(timeout)?;
        let start = std::time::Instant::now();
        let slice = total.map_or(SLICE, |t| t.min(SLICE));
        // SAFETY: the guard is consumed by the wait below, which hands back
        // a guard that is stored again (or nothing, on a timeout).
        let g = unsafe { self.held.take() }?;
        match py.detach(move || g.wait_timeout(slice)) {
            Ok(g) => self.held.put(g),
            // The slice was the whole timeout: the runtime's error is exact,
            // and the monitor is not held (the guard is gone).
            Err(e @ Error::Timeout { .. }) if Some(slice) == total => return Err(to_py(e)),
            Err(Error::Timeout { .. }) => {
                // No notification within the slice, and the wait's re-lock
                // did not finish in it: take the monitor again within what
                // is left, and return as a spurious wake-up (allowed, and
                // what the Rust wait does after its own 50 ms slice).
                let left = total.map(|t| t.saturating_sub(start.elapsed()).as_secs_f64());
                // SAFETY: the guard made from the reference is stored in
                // this Held with `put`, or dropped inside this call.
                let m = unsafe { self.held.lock_for_guard() };
                let g = blocking_timeout(py, left, |s| m.lock_timeout(s))?;
                self.held.put(g);
            }
            Err(e) => return Err(to_py(e)),
        }
        py.check_signals()
    }
}

#[pymethods]
impl PyMonitorGuard {
    /// Lets go of the monitor, waits for a notification, and takes it
    /// again. May return without one (within about 50 ms): re-check the
    /// predicate in a loop. Ctrl-C raises KeyboardInterrupt, usually with
    /// the monitor held again; `held()` tells (a `with` block releases it
    /// either way).
    fn wait(&self, py: Python<'_>) -> PyResult<()> {
        self.wait_for(py, None)
    }

    /// As `wait`, bounded by `timeout` seconds for the notification and the
    /// re-lock together; on `ZeroIpcTimeoutError` the monitor is NOT held
    /// any more (`held` is False), as in Rust.
    fn wait_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        self.wait_for(py, Some(timeout))
    }

    /// Takes a pending notification if there is one, never letting go of
    /// the monitor: True if one was consumed, False if none was pending.
    fn try_wait(&self) -> PyResult<bool> {
        // SAFETY: stored back right after the check.
        let g = unsafe { self.held.take() }?;
        let r = g.try_wait();
        self.held.put(g);
        r.py()
    }

    /// Unlocks now. `RuntimeError` if this guard was already released.
    fn unlock(&self) -> PyResult<()> {
        self.held.release()
    }

    /// True until the guard is released (or a timed-out wait let go).
    fn held(&self) -> bool {
        self.held.is_held()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Unlocks if still held; never suppresses the exception.
    fn __exit__(
        &self,
        _ty: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.held.release_if_held();
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "MonitorGuard(monitor={:?}, held={})",
            self.name,
            self.held.is_held()
        )
    }
}

/// Adds Monitor and MonitorGuard to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMonitor>()?;
    m.add_class::<PyMonitorGuard>()?;
    Ok(())
}
