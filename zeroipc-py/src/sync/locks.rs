//! `Mutex` and `RwLock`, with guard objects that are context managers.

use std::sync::{Arc, Mutex as StdMutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use zeroipc::sync::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};
use zeroipc::{Mutex, RwLock};

use super::held::Held;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// Guards entered with `with handle:`, released by the matching `__exit__`
/// (the lock words have no owner, so which one is released does not matter).
pub(crate) type Entered<T> = StdMutex<Vec<Py<T>>>;

/// Pops the last guard entered with `with`, for `__exit__`.
pub(crate) fn pop_entered<T>(entered: &Entered<T>, what: &str) -> PyResult<Py<T>> {
    let mut stack = entered.lock().unwrap_or_else(|p| p.into_inner());
    stack.pop().ok_or_else(|| {
        PyRuntimeError::new_err(format!("__exit__ without __enter__ on this {what}"))
    })
}

/// Pushes a guard entered with `with`.
pub(crate) fn push_entered<T>(entered: &Entered<T>, g: Py<T>) {
    entered.lock().unwrap_or_else(|p| p.into_inner()).push(g);
}

/// A mutual-exclusion lock shared between processes (the runtime's
/// `zeroipc::Mutex`: a Semaphore with max_count 1, the C++ reference's
/// bytes).
///
/// `lock()` waits (GIL released, Ctrl-C raises KeyboardInterrupt),
/// `lock_timeout(seconds)` raises `ZeroIpcTimeoutError`, `try_lock()`
/// returns None when held elsewhere. Each returns a `MutexGuard`, a context
/// manager that unlocks on exit (or on `unlock()`, or when collected).
/// `with m:` locks and unlocks too.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Mutex
/// >>> name = f"/zeroipc-py-mutex-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> m = Mutex.create(seg, "m")
/// >>> with m.lock():
/// ...     Mutex.open(seg, "m").try_lock() is None
/// True
/// >>> m.is_locked()
/// False
/// >>> Segment.unlink(name)
#[pyclass(name = "Mutex", module = "zeroipc_rs", frozen)]
pub(crate) struct PyMutex {
    inner: Arc<Mutex>,
    entered: Entered<PyMutexGuard>,
}

/// Holds a `Mutex` locked until `unlock()`, the end of its `with` block,
/// or its collection.
#[pyclass(name = "MutexGuard", module = "zeroipc_rs", frozen)]
pub(crate) struct PyMutexGuard {
    held: Held<Mutex, MutexGuard<'static>>,
}

impl PyMutex {
    fn wrap(inner: Mutex) -> PyMutex {
        PyMutex {
            inner: Arc::new(inner),
            entered: StdMutex::new(Vec::new()),
        }
    }

    /// Locks, waiting up to `timeout` seconds (`None`: forever).
    fn lock_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyMutexGuard> {
        // SAFETY: the runtime's own lock methods keep the reference only
        // in the guard they return.
        let held = unsafe {
            Held::lock_sliced(
                py,
                &self.inner,
                "MutexGuard",
                timeout,
                Mutex::try_lock,
                Mutex::lock_timeout,
            )
        }?;
        Ok(PyMutexGuard { held })
    }
}

#[pymethods]
impl PyMutex {
    /// Creates an unlocked mutex named `name` in `seg`.
    #[staticmethod]
    fn create(seg: &PySegment, name: &str) -> PyResult<PyMutex> {
        Mutex::create(&seg.inner, name).py().map(PyMutex::wrap)
    }

    /// Opens the mutex `name` (`WrongKindError` if the segment records
    /// another kind; `StructureMismatchError` if its bytes are not a mutex).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<PyMutex> {
        Mutex::open(&seg.inner, name).py().map(PyMutex::wrap)
    }

    /// Locks, waiting as long as it takes (forever if a dead process holds
    /// it: see `force_unlock`).
    fn lock(&self, py: Python<'_>) -> PyResult<PyMutexGuard> {
        self.lock_for(py, None)
    }

    /// Locks, or raises `ZeroIpcTimeoutError` after `timeout` seconds.
    fn lock_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<PyMutexGuard> {
        self.lock_for(py, Some(timeout))
    }

    /// Locks if the mutex is free now, never waiting: a guard, or None if
    /// someone holds it (nothing changed).
    fn try_lock(&self) -> PyResult<Option<PyMutexGuard>> {
        // SAFETY: the runtime's own try_lock keeps the reference only in
        // the guard it returns.
        let held = unsafe { Held::try_lock(&self.inner, "MutexGuard", Mutex::try_lock) }?;
        Ok(held.map(|held| PyMutexGuard { held }))
    }

    /// True while someone (any process) holds the mutex (a snapshot).
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Processes blocked in `lock` now (a snapshot).
    fn waiting(&self) -> i32 {
        self.inner.waiting()
    }

    /// Unlocks a mutex whose holder is known to be gone (crash recovery);
    /// `InvalidArgumentError`-style runtime error if it was not locked.
    /// Calling it while a live process holds the mutex breaks mutual
    /// exclusion.
    fn force_unlock(&self) -> PyResult<()> {
        self.inner.force_unlock().py()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.region().name().to_owned()
    }

    /// `with m:` locks (waiting as `lock()` does) and returns the guard.
    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<Py<PyMutexGuard>> {
        let py = slf.py();
        let this = slf.get();
        let g = Py::new(py, this.lock_for(py, None)?)?;
        push_entered(&this.entered, g.clone_ref(py));
        Ok(g)
    }

    /// Unlocks the guard the matching `__enter__` took.
    fn __exit__(
        &self,
        py: Python<'_>,
        _ty: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let g = pop_entered(&self.entered, "Mutex")?;
        g.get().release_if_held(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Mutex(name={:?}, locked={})",
            self.inner.region().name(),
            self.inner.is_locked()
        )
    }
}

impl PyMutexGuard {
    /// Unlocks if still held (for `__exit__` and `with m:`).
    fn release_if_held(&self, _py: Python<'_>) -> PyResult<()> {
        // SAFETY: the guard is consumed by `unlock` right here.
        match unsafe { self.held.take_if_held() } {
            Some(g) => g.unlock().py(),
            None => Ok(()),
        }
    }
}

#[pymethods]
impl PyMutexGuard {
    /// Unlocks now and reports the release's outcome: a runtime error means
    /// the mutex was no longer locked (released out of protocol, e.g. by
    /// `force_unlock`). `RuntimeError` if this guard was already released.
    fn unlock(&self) -> PyResult<()> {
        // SAFETY: the guard is consumed by `unlock` right here.
        unsafe { self.held.take() }?.unlock().py()
    }

    /// True until the guard is released.
    fn held(&self) -> bool {
        self.held.is_held()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Unlocks if still held; never suppresses the exception.
    fn __exit__(
        &self,
        py: Python<'_>,
        _ty: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.release_if_held(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "MutexGuard(mutex={:?}, held={})",
            self.held.lock().region().name(),
            self.held.is_held()
        )
    }
}

/// A readers-writer lock shared between processes (`zeroipc::RwLock`).
///
/// `read()`/`write()` wait, `read_timeout(s)`/`write_timeout(s)` raise
/// `ZeroIpcTimeoutError`, `try_read()`/`try_write()` return None when they
/// would wait. The guards are context managers that release on exit (or on
/// `unlock()`, or when collected).
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, RwLock
/// >>> name = f"/zeroipc-py-rwlock-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> rw = RwLock.create(seg, "rw")
/// >>> with rw.read(), rw.read():
/// ...     (rw.readers(), rw.try_write() is None)
/// (2, True)
/// >>> with rw.write():
/// ...     rw.is_write_locked()
/// True
/// >>> Segment.unlink(name)
#[pyclass(name = "RwLock", module = "zeroipc_rs", frozen)]
pub(crate) struct PyRwLock {
    inner: Arc<RwLock>,
    /// The name it was created/opened under (its marker entry).
    name: String,
}

/// Holds a shared (read) lock on an `RwLock`.
#[pyclass(name = "RwLockReadGuard", module = "zeroipc_rs", frozen)]
pub(crate) struct PyRwLockReadGuard {
    held: Held<RwLock, RwLockReadGuard<'static>>,
    name: String,
}

/// Holds the exclusive (write) lock on an `RwLock`.
#[pyclass(name = "RwLockWriteGuard", module = "zeroipc_rs", frozen)]
pub(crate) struct PyRwLockWriteGuard {
    held: Held<RwLock, RwLockWriteGuard<'static>>,
    name: String,
}

impl PyRwLock {
    fn read_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyRwLockReadGuard> {
        // SAFETY: the runtime's own lock methods keep the reference only
        // in the guard they return.
        let held = unsafe {
            Held::lock_sliced(
                py,
                &self.inner,
                "RwLockReadGuard",
                timeout,
                RwLock::try_read,
                RwLock::read_timeout,
            )
        }?;
        Ok(PyRwLockReadGuard {
            held,
            name: self.name.clone(),
        })
    }

    fn write_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyRwLockWriteGuard> {
        // SAFETY: the runtime's own lock methods keep the reference only
        // in the guard they return.
        let held = unsafe {
            Held::lock_sliced(
                py,
                &self.inner,
                "RwLockWriteGuard",
                timeout,
                RwLock::try_write,
                RwLock::write_timeout,
            )
        }?;
        Ok(PyRwLockWriteGuard {
            held,
            name: self.name.clone(),
        })
    }
}

#[pymethods]
impl PyRwLock {
    /// Creates an unlocked readers-writer lock named `name` (entries
    /// `name_state`, `name_rmtx`, `name_wmtx` and the marker `name`).
    #[staticmethod]
    fn create(seg: &PySegment, name: &str) -> PyResult<PyRwLock> {
        let inner = Arc::new(RwLock::create(&seg.inner, name).py()?);
        Ok(PyRwLock {
            inner,
            name: name.to_owned(),
        })
    }

    /// Opens the lock `name`, validating every part.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<PyRwLock> {
        let inner = Arc::new(RwLock::open(&seg.inner, name).py()?);
        Ok(PyRwLock {
            inner,
            name: name.to_owned(),
        })
    }

    /// Takes a shared lock, waiting as long as it takes.
    fn read(&self, py: Python<'_>) -> PyResult<PyRwLockReadGuard> {
        self.read_for(py, None)
    }

    /// Takes a shared lock, or raises `ZeroIpcTimeoutError` after
    /// `timeout` seconds.
    fn read_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<PyRwLockReadGuard> {
        self.read_for(py, Some(timeout))
    }

    /// Takes a shared lock if that needs no waiting: a guard, or None
    /// (nothing changed).
    fn try_read(&self) -> PyResult<Option<PyRwLockReadGuard>> {
        // SAFETY: the runtime's own try_read keeps the reference only in
        // the guard it returns.
        let held = unsafe { Held::try_lock(&self.inner, "RwLockReadGuard", RwLock::try_read) }?;
        Ok(held.map(|held| PyRwLockReadGuard {
            held,
            name: self.name.clone(),
        }))
    }

    /// Takes the exclusive lock, waiting as long as it takes.
    fn write(&self, py: Python<'_>) -> PyResult<PyRwLockWriteGuard> {
        self.write_for(py, None)
    }

    /// Takes the exclusive lock, or raises `ZeroIpcTimeoutError` after
    /// `timeout` seconds (nothing held then).
    fn write_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<PyRwLockWriteGuard> {
        self.write_for(py, Some(timeout))
    }

    /// Takes the exclusive lock if that needs no waiting: a guard, or None
    /// (nothing changed).
    fn try_write(&self) -> PyResult<Option<PyRwLockWriteGuard>> {
        // SAFETY: the runtime's own try_write keeps the reference only in
        // the guard it returns.
        let held = unsafe { Held::try_lock(&self.inner, "RwLockWriteGuard", RwLock::try_write) }?;
        Ok(held.map(|held| PyRwLockWriteGuard {
            held,
            name: self.name.clone(),
        }))
    }

    /// Readers holding the lock now (a snapshot).
    fn readers(&self) -> i32 {
        self.inner.readers()
    }

    /// True while a writer holds the lock (a snapshot).
    fn is_write_locked(&self) -> bool {
        self.inner.is_write_locked()
    }

    /// The structure's name (its marker entry).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "RwLock(name={:?}, readers={}, write_locked={})",
            self.name(),
            self.inner.readers(),
            self.inner.is_write_locked()
        )
    }
}

/// The guard methods shared by both RwLock guards.
macro_rules! rwlock_guard_methods {
    ($ty:ident, $label:literal) => {
        #[pymethods]
        impl $ty {
            /// Releases the lock now. `RuntimeError` if this guard was
            /// already released.
            fn unlock(&self) -> PyResult<()> {
                self.held.release()
            }

            /// True until the guard is released.
            fn held(&self) -> bool {
                self.held.is_held()
            }

            fn __enter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            /// Releases if still held; never suppresses the exception.
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
                    concat!($label, "(lock={:?}, held={})"),
                    self.name,
                    self.held.is_held()
                )
            }
        }
    };
}

rwlock_guard_methods!(PyRwLockReadGuard, "RwLockReadGuard");
rwlock_guard_methods!(PyRwLockWriteGuard, "RwLockWriteGuard");

/// Adds Mutex, RwLock and their guards to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMutex>()?;
    m.add_class::<PyMutexGuard>()?;
    m.add_class::<PyRwLock>()?;
    m.add_class::<PyRwLockReadGuard>()?;
    m.add_class::<PyRwLockWriteGuard>()?;
    Ok(())
}
