//! `Semaphore`, `Barrier`, `Latch` and `Once`.

use std::sync::Mutex as StdMutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use zeroipc::sync::{BarrierWaitResult, OnceState};
use zeroipc::{Barrier, Latch, Once, Semaphore};

use super::pyfn::{call_or_unwind, catch_raised};
use crate::blocking::blocking_timeout;
use crate::errors::{to_py, IntoPyResult};
use crate::segment::PySegment;

/// A counting semaphore shared between processes (`zeroipc::Semaphore`,
/// the C++ reference's bytes).
///
/// `max_count` 0 means unbounded. `acquire()` waits (GIL released, Ctrl-C
/// raises KeyboardInterrupt), `acquire_timeout(s)` raises
/// `ZeroIpcTimeoutError`, `try_acquire()` returns False when it would wait.
/// `with sem:` acquires and releases.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Semaphore
/// >>> name = f"/zeroipc-py-sem-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> sem = Semaphore.create(seg, "slots", 2, 2)
/// >>> (sem.try_acquire(), sem.try_acquire(), sem.try_acquire(), sem.count())
/// (True, True, False, 0)
/// >>> sem.release(); sem.count()
/// 1
/// >>> Segment.unlink(name)
#[pyclass(name = "Semaphore", module = "zeroipc_rs", frozen)]
pub(crate) struct PySemaphore {
    inner: Semaphore,
    name: String,
}

impl PySemaphore {
    fn acquire_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        // A free permit: no slicing machinery (about 40% of the call).
        if self.inner.try_acquire().py()? {
            return Ok(());
        }
        let s = &self.inner;
        blocking_timeout(py, timeout, |slice| s.acquire_timeout(slice))
    }
}

#[pymethods]
impl PySemaphore {
    /// Creates a semaphore with `initial` permits and at most `max_count`
    /// (0: unbounded).
    #[staticmethod]
    #[pyo3(signature = (seg, name, initial, max_count = 0))]
    fn create(seg: &PySegment, name: &str, initial: i32, max_count: i32) -> PyResult<Self> {
        let inner = Semaphore::create(&seg.inner, name, initial, max_count).py()?;
        Ok(PySemaphore {
            inner,
            name: name.to_owned(),
        })
    }

    /// Opens the semaphore `name`.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = Semaphore::open(&seg.inner, name).py()?;
        Ok(PySemaphore {
            inner,
            name: name.to_owned(),
        })
    }

    /// Takes a permit, waiting as long as it takes.
    fn acquire(&self, py: Python<'_>) -> PyResult<()> {
        self.acquire_for(py, None)
    }

    /// Takes a permit, or raises `ZeroIpcTimeoutError` after `timeout`
    /// seconds (nothing taken then).
    fn acquire_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        self.acquire_for(py, Some(timeout))
    }

    /// Takes a permit if one is free now: True, else False (nothing changed).
    fn try_acquire(&self) -> PyResult<bool> {
        self.inner.try_acquire().py()
    }

    /// Gives a permit back (an error naming the values if that would pass
    /// `max_count`; nothing changes then).
    fn release(&self) -> PyResult<()> {
        self.inner.release().py()
    }

    /// Permits available now (a snapshot).
    fn count(&self) -> i32 {
        self.inner.count()
    }

    /// Processes blocked in `acquire` now (a snapshot).
    fn waiting(&self) -> i32 {
        self.inner.waiting()
    }

    /// The largest count (0: unbounded).
    fn max_count(&self) -> i32 {
        self.inner.max_count()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// `with sem:` acquires (waiting as `acquire()` does).
    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().acquire(slf.py())
    }

    /// Releases the permit `__enter__` took.
    fn __exit__(
        &self,
        _ty: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Semaphore(name={:?}, count={}, max_count={})",
            self.name,
            self.inner.count(),
            self.inner.max_count()
        )
    }
}

/// What a `Barrier` wait returns: the generation it completed and whether
/// this arrival was the one that completed it (exactly one per generation).
#[pyclass(name = "BarrierWaitResult", module = "zeroipc_rs", frozen, eq)]
#[derive(PartialEq, Eq)]
pub(crate) struct PyBarrierWaitResult {
    generation: i32,
    leader: bool,
}

impl From<BarrierWaitResult> for PyBarrierWaitResult {
    fn from(r: BarrierWaitResult) -> Self {
        PyBarrierWaitResult {
            generation: r.generation(),
            leader: r.is_leader(),
        }
    }
}

#[pymethods]
impl PyBarrierWaitResult {
    /// The generation this wait belonged to.
    fn generation(&self) -> i32 {
        self.generation
    }

    /// True for the arrival that completed the generation.
    fn is_leader(&self) -> bool {
        self.leader
    }

    fn __repr__(&self) -> String {
        format!(
            "BarrierWaitResult(generation={}, leader={})",
            self.generation,
            if self.leader { "True" } else { "False" }
        )
    }
}

/// A reusable barrier for `participants` processes (`zeroipc::Barrier`).
///
/// A handle remembers an arrival whose wait timed out (`pending_generation`):
/// its next wait resumes waiting for that generation instead of arriving
/// again. A handle arrives for one thread at a time (open one per thread):
/// a second thread's `wait`/`try_wait`/`pending_generation` on a handle
/// busy in a wait gets a `RuntimeError`; the snapshots (`generation`,
/// `arrived`, `participants`) work from any thread at any time.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Barrier
/// >>> name = f"/zeroipc-py-barrier-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> a = Barrier.create(seg, "phase", 2)
/// >>> b = Barrier.open(seg, "phase")
/// >>> a.try_wait() is None   # arrived; the partner has not
/// True
/// >>> b.try_wait().is_leader()  # completes generation 0
/// True
/// >>> a.wait().generation()  # generation 0 had completed
/// 0
/// >>> Segment.unlink(name)
#[pyclass(name = "Barrier", module = "zeroipc_rs", frozen)]
pub(crate) struct PyBarrier {
    /// The runtime handle keeps per-handle state (a pending arrival) in a
    /// `Cell`, so it is not `Sync`: one caller at a time.
    inner: StdMutex<Barrier>,
    /// A second handle on the same barrier for the snapshots, never used
    /// to arrive, so it is never held for long.
    snap: StdMutex<Barrier>,
    name: String,
}

impl PyBarrier {
    /// Runs `f` on the handle, refusing a concurrent caller (which would
    /// otherwise block without the GIL being released by us).
    fn with<R>(&self, f: impl FnOnce(&mut Barrier) -> PyResult<R>) -> PyResult<R> {
        let mut b = self.inner.try_lock().map_err(|_| {
            PyRuntimeError::new_err(format!(
                "Barrier {:?}: this handle is in use by another thread (open one handle per thread)",
                self.name
            ))
        })?;
        f(&mut b)
    }

    /// A snapshot read through the second handle.
    fn snapshot<R>(&self, f: impl FnOnce(&Barrier) -> R) -> R {
        // A poisoned lock only means a panic elsewhere; the handle is fine.
        f(&self.snap.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn wrap(seg: &PySegment, name: &str, inner: Barrier) -> PyResult<Self> {
        let snap = Barrier::open(&seg.inner, name).py()?;
        Ok(PyBarrier {
            inner: StdMutex::new(inner),
            snap: StdMutex::new(snap),
            name: name.to_owned(),
        })
    }

    fn wait_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyBarrierWaitResult> {
        self.with(|b| {
            // `&mut Barrier` is Send (Barrier is Send), so the slices can
            // run without the GIL; the arrival is remembered across slices.
            let b: &mut Barrier = b;
            blocking_timeout(py, timeout, move |slice| b.wait_timeout(slice)).map(Into::into)
        })
    }
}

#[pymethods]
impl PyBarrier {
    /// Creates a barrier for `participants` (>= 1) arrivals per generation.
    #[staticmethod]
    fn create(seg: &PySegment, name: &str, participants: i32) -> PyResult<Self> {
        let inner = Barrier::create(&seg.inner, name, participants).py()?;
        PyBarrier::wrap(seg, name, inner)
    }

    /// Opens the barrier `name`.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = Barrier::open(&seg.inner, name).py()?;
        PyBarrier::wrap(seg, name, inner)
    }

    /// Arrives and waits until all participants have arrived.
    fn wait(&self, py: Python<'_>) -> PyResult<PyBarrierWaitResult> {
        self.wait_for(py, None)
    }

    /// As `wait`, raising `ZeroIpcTimeoutError` after `timeout` seconds.
    /// The arrival is not withdrawn: this handle's next wait resumes
    /// waiting for the same generation.
    fn wait_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<PyBarrierWaitResult> {
        self.wait_for(py, Some(timeout))
    }

    /// Arrives (or re-checks a pending arrival) without waiting: the
    /// result when the generation has completed, else None (the arrival
    /// stays counted; poll again or `wait`).
    fn try_wait(&self) -> PyResult<Option<PyBarrierWaitResult>> {
        self.with(|b| Ok(b.try_wait().py()?.map(Into::into)))
    }

    /// The generation a timed-out wait left pending on this handle, if any.
    fn pending_generation(&self) -> PyResult<Option<i32>> {
        self.with(|b| Ok(b.pending_generation()))
    }

    /// Number of participants.
    fn participants(&self) -> i32 {
        self.snapshot(Barrier::participants)
    }

    /// The current generation (a snapshot).
    fn generation(&self) -> i32 {
        self.snapshot(Barrier::generation)
    }

    /// Arrivals counted in the current generation (a snapshot).
    fn arrived(&self) -> i32 {
        self.snapshot(Barrier::arrived)
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "Barrier(name={:?}, participants={}, generation={}, arrived={})",
            self.name,
            self.participants(),
            self.generation(),
            self.arrived()
        )
    }
}

/// A count-down latch shared between processes (`zeroipc::Latch`).
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Latch
/// >>> name = f"/zeroipc-py-latch-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> done = Latch.create(seg, "done", 2)
/// >>> done.count_down(); (done.count(), done.try_wait())
/// (1, False)
/// >>> done.arrive_and_wait(); done.count()
/// 0
/// >>> Segment.unlink(name)
#[pyclass(name = "Latch", module = "zeroipc_rs", frozen)]
pub(crate) struct PyLatch {
    inner: Latch,
    name: String,
}

#[pymethods]
impl PyLatch {
    /// Creates a latch that opens after `count` (>= 0) count-downs.
    #[staticmethod]
    fn create(seg: &PySegment, name: &str, count: i32) -> PyResult<Self> {
        let inner = Latch::create(&seg.inner, name, count).py()?;
        Ok(PyLatch {
            inner,
            name: name.to_owned(),
        })
    }

    /// Opens the latch `name`.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = Latch::open(&seg.inner, name).py()?;
        Ok(PyLatch {
            inner,
            name: name.to_owned(),
        })
    }

    /// Decrements the count by `n` (> 0), saturating at 0; wakes the
    /// waiters when it reaches 0.
    #[pyo3(signature = (n = 1))]
    fn count_down(&self, n: i32) -> PyResult<()> {
        self.inner.count_down(n).py()
    }

    /// Counts down by one and waits for the latch to open. Runs as repeated
    /// `arrive_and_wait_timeout` slices, each of which withdraws its
    /// arrival if the latch is still closed, so a Ctrl-C leaves the count
    /// as it was.
    fn arrive_and_wait(&self, py: Python<'_>) -> PyResult<()> {
        let l = &self.inner;
        blocking_timeout(py, None, |slice| l.arrive_and_wait_timeout(slice))
    }

    /// Counts down by one and waits, or raises `ZeroIpcTimeoutError` after
    /// `timeout` seconds with the arrival withdrawn (count as it was).
    fn arrive_and_wait_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let l = &self.inner;
        blocking_timeout(py, Some(timeout), |slice| l.arrive_and_wait_timeout(slice))
    }

    /// Counts down by one only if that opens the latch: True when open now,
    /// False when it would have to wait (nothing changed).
    fn try_arrive_and_wait(&self) -> PyResult<bool> {
        self.inner.try_arrive_and_wait().py()
    }

    /// Waits until the count reaches 0.
    fn wait(&self, py: Python<'_>) -> PyResult<()> {
        let l = &self.inner;
        blocking_timeout(py, None, |slice| l.wait_timeout(slice))
    }

    /// Waits until the count reaches 0, or raises `ZeroIpcTimeoutError`.
    fn wait_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let l = &self.inner;
        blocking_timeout(py, Some(timeout), |slice| l.wait_timeout(slice))
    }

    /// True if the latch is open (count 0) now.
    fn try_wait(&self) -> PyResult<bool> {
        self.inner.try_wait().py()
    }

    /// The current count (a snapshot).
    fn count(&self) -> i32 {
        self.inner.count()
    }

    /// The count it was created with.
    fn initial(&self) -> i32 {
        self.inner.initial()
    }

    /// Stores the initial count again (only when nobody waits or counts).
    fn reset(&self) -> PyResult<()> {
        self.inner.reset().py()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "Latch(name={:?}, count={}, initial={})",
            self.name,
            self.inner.count(),
            self.inner.initial()
        )
    }
}

/// A once-only initialisation flag shared between processes
/// (`zeroipc::Once`).
///
/// `call_once(f)` runs `f()` in exactly one process (the first to claim
/// it) and waits in the others until it has completed. If `f` raises, the
/// exception propagates and the Once goes back to pending (as a panic does
/// in Rust), so a later call runs it again.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Once
/// >>> name = f"/zeroipc-py-once-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> init = Once.create(seg, "init")
/// >>> runs = []
/// >>> (init.call_once(lambda: runs.append(1)), init.call_once(lambda: runs.append(2)))
/// (True, False)
/// >>> (runs, init.is_done(), init.state())
/// ([1], True, 'done')
/// >>> Segment.unlink(name)
#[pyclass(name = "Once", module = "zeroipc_rs", frozen)]
pub(crate) struct PyOnce {
    inner: Once,
    name: String,
}

/// Runs `op` (a runtime call that may run the callable `f` it is given),
/// where `f` calls `func` with the GIL; a Python exception unwinds out of
/// the runtime call (which puts the Once back to pending) and is raised.
fn run_once<R>(
    func: &Bound<'_, PyAny>,
    op: impl FnOnce(&mut dyn FnMut()) -> zeroipc::Result<R>,
) -> PyResult<R> {
    let func = func.clone().unbind();
    let mut raised: Option<PyErr> = None;
    let slot = &mut raised;
    let mut f = || call_or_unwind(slot, |py| func.call0(py).map(drop));
    match catch_raised(|| op(&mut f)) {
        Some(r) => r.map_err(to_py),
        None => Err(raised.unwrap_or_else(|| PyRuntimeError::new_err("Once: callable failed"))),
    }
}

#[pymethods]
impl PyOnce {
    /// Creates a Once in the pending state.
    #[staticmethod]
    fn create(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = Once::create(&seg.inner, name).py()?;
        Ok(PyOnce {
            inner,
            name: name.to_owned(),
        })
    }

    /// Opens the Once `name`.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = Once::open(&seg.inner, name).py()?;
        Ok(PyOnce {
            inner,
            name: name.to_owned(),
        })
    }

    /// `'pending'`, `'running'` or `'done'` (a snapshot); an error if the
    /// word holds another value.
    fn state(&self) -> PyResult<&'static str> {
        Ok(match self.inner.state().py()? {
            OnceState::Pending => "pending",
            OnceState::Running => "running",
            OnceState::Done => "done",
        })
    }

    /// True once the callable has completed (in any process).
    fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Runs `func()` if no process has completed it yet, else waits for the
    /// process running it. True if `func` ran in this call.
    fn call_once(&self, py: Python<'_>, func: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.call_for(py, None, func)
    }

    /// As `call_once`, but a wait for another process's run raises
    /// `ZeroIpcTimeoutError` after `timeout` seconds (`func` itself is not
    /// interrupted when it runs here).
    fn call_once_timeout(
        &self,
        py: Python<'_>,
        timeout: f64,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.call_for(py, Some(timeout), func)
    }

    /// Runs `func()` if the Once is pending, never waits: True ran here,
    /// False already done, None another process is running it.
    fn try_call_once(&self, func: &Bound<'_, PyAny>) -> PyResult<Option<bool>> {
        let once = &self.inner;
        run_once(func, |f| once.try_call_once(f))
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!("Once(name={:?}, done={})", self.name, self.inner.is_done())
    }
}

impl PyOnce {
    /// `call_once_timeout` in slices without the GIL; the callable takes
    /// the GIL back while it runs.
    fn call_for(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let once = &self.inner;
        let func = func.clone().unbind();
        // Set when the callable raised inside a slice; the slice then ends
        // the wait, and the exception is raised below.
        let mut raised: Option<PyErr> = None;
        let raised_ref = &mut raised;
        let ran = blocking_timeout(py, timeout, move |slice| {
            let slot = &mut *raised_ref;
            let r = catch_raised(|| {
                once.call_once_timeout(slice, || {
                    call_or_unwind(slot, |py| func.call0(py).map(drop))
                })
            });
            // None: the callable raised; the runtime has put the Once back
            // to pending.
            r.unwrap_or(Ok(false))
        })?;
        match raised {
            Some(e) => Err(e),
            None => Ok(ran),
        }
    }
}

/// Adds Semaphore, Barrier, Latch and Once to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySemaphore>()?;
    m.add_class::<PyBarrierWaitResult>()?;
    m.add_class::<PyBarrier>()?;
    m.add_class::<PyLatch>()?;
    m.add_class::<PyOnce>()?;
    Ok(())
}
