//! `Event`: auto- or manual-reset, shared between processes.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use zeroipc::{Event, EventMode};

use crate::blocking::{blocking_timeout, timeout_of};
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A process-shared event (`zeroipc::Event`, the C++ reference's bytes).
///
/// `mode="auto"` (auto-reset): each `signal()` releases one blocked waiter,
/// or stays pending (at most one) for the next wait, which resets it.
/// `mode="manual"` (manual-reset): a signal releases every waiter until
/// `reset()`.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, Event
/// >>> name = f"/zeroipc-py-event-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> go = Event.create(seg, "go", mode="manual")
/// >>> go.signal(); go.wait(); (go.try_wait(), go.is_signaled())
/// (True, True)
/// >>> go.reset(); go.try_wait()
/// False
/// >>> tick = Event.create(seg, "tick")
/// >>> tick.signal(); tick.signal()  # coalesce into one pending signal
/// >>> (tick.try_wait(), tick.try_wait())
/// (True, False)
/// >>> Segment.unlink(name)
#[pyclass(name = "Event", module = "zeroipc_rs", frozen)]
pub(crate) struct PyEvent {
    inner: Event,
    name: String,
}

fn mode_of(mode: &str) -> PyResult<EventMode> {
    match mode {
        "auto" => Ok(EventMode::AutoReset),
        "manual" => Ok(EventMode::ManualReset),
        other => Err(PyValueError::new_err(format!(
            "Event mode must be 'auto' or 'manual', got {other:?}"
        ))),
    }
}

#[pymethods]
impl PyEvent {
    /// Creates an unsignaled event (entries `name` and `name_sem`);
    /// `mode` is `"auto"` (default) or `"manual"`.
    #[staticmethod]
    #[pyo3(signature = (seg, name, mode = "auto"))]
    fn create(seg: &PySegment, name: &str, mode: &str) -> PyResult<Self> {
        let inner = Event::create(&seg.inner, name, mode_of(mode)?).py()?;
        Ok(PyEvent {
            inner,
            name: name.to_owned(),
        })
    }

    /// Opens the event `name` (its mode is read from the segment).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = Event::open(&seg.inner, name).py()?;
        Ok(PyEvent {
            inner,
            name: name.to_owned(),
        })
    }

    /// `"auto"` or `"manual"`.
    fn mode(&self) -> &'static str {
        match self.inner.mode() {
            EventMode::AutoReset => "auto",
            EventMode::ManualReset => "manual",
        }
    }

    /// Signals (never waits).
    fn signal(&self) -> PyResult<()> {
        self.inner.signal().py()
    }

    /// Clears the signal (auto-reset: also drops a pending signal).
    fn reset(&self) -> PyResult<()> {
        self.inner.reset().py()
    }

    /// Waits for the event (auto-reset: consumes the signal).
    fn wait(&self, py: Python<'_>) -> PyResult<()> {
        let e = &self.inner;
        blocking_timeout(py, None, |slice| e.wait_timeout(slice))
    }

    /// Waits for the event, or raises `ZeroIpcTimeoutError` after
    /// `timeout` seconds.
    fn wait_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let e = &self.inner;
        blocking_timeout(py, Some(timeout), |slice| e.wait_timeout(slice))
    }

    /// Consumes a pending signal (auto) or checks the signal (manual)
    /// without waiting: True if signaled, False if not (nothing changed).
    fn try_wait(&self) -> PyResult<bool> {
        self.inner.try_wait().py()
    }

    /// Releases the current waiters and resets: manual-reset waits up to
    /// 100 ms for the counted waiters to leave (`ZeroIpcTimeoutError` if
    /// some were still counted; the event is reset anyway); auto-reset
    /// releases one blocked waiter, if any. The GIL is released meanwhile.
    fn pulse(&self, py: Python<'_>) -> PyResult<()> {
        let e = &self.inner;
        py.detach(|| e.pulse()).py()
    }

    /// `pulse` if that needs no waiting: True done, False it would have had
    /// to wait for waiters (nothing changed).
    fn try_pulse(&self) -> PyResult<bool> {
        self.inner.try_pulse().py()
    }

    /// `pulse` with an explicit bound (seconds) on the wait for waiters to
    /// leave. It runs as one call with the GIL released (a pulse cannot be
    /// split), so Ctrl-C is seen when it returns.
    fn pulse_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let t = timeout_of(Some(timeout))?.unwrap_or_default();
        let e = &self.inner;
        py.detach(|| e.pulse_timeout(t)).py()
    }

    /// Whether the event is signaled now (auto-reset: a signal is pending).
    fn is_signaled(&self) -> bool {
        self.inner.is_signaled()
    }

    /// Waiters counted now (manual-reset waiters; a snapshot).
    fn waiting(&self) -> u32 {
        self.inner.waiting()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "Event(name={:?}, mode={:?}, signaled={})",
            self.name,
            self.mode(),
            self.inner.is_signaled()
        )
    }
}

/// Adds Event to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEvent>()
}
