//! `Signal`: a shared versioned value whose type is a numpy dtype.

use std::time::Duration;

use pyo3::prelude::*;
use zeroipc::raw::RawSignal;
use zeroipc::Error;

use crate::data::{put, put_timeout, take, take_timeout};
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A shared value with a version that every `set` bumps
/// (`zeroipc::raw::RawSignal`, the bytes of the typed `zeroipc::Signal<T>`
/// and of the C++ reference's signal).
///
/// `get`/`set` take the signal's mutex (waiting with the GIL released);
/// `version()` is lock-free; `wait_for_change(since)` waits until the
/// version differs from `since` and returns the new one.
///
/// >>> import os, numpy as np
/// >>> from zeroipc_rs import Segment, Signal
/// >>> name = f"/zeroipc-py-signal-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> s = Signal.create(seg, "temp", 20.5, np.float64)
/// >>> s.set(21.0); (s.get(), s.version())
/// (np.float64(21.0), 1)
/// >>> s.try_wait_for_change(0)
/// 1
/// >>> Segment.unlink(name)
#[pyclass(name = "Signal", module = "zeroipc_rs", frozen)]
pub(crate) struct PySignal {
    inner: RawSignal,
    dtype: DType,
}

/// Lock-free: the version differs from `since` now.
fn changed(s: &RawSignal, since: u64) -> Option<u64> {
    let v = s.version();
    (v != since).then_some(v)
}

/// Waits at most `slice` for the version to differ from `since`, checking
/// every millisecond. TODO(raw signal): use the runtime's futex wait once
/// `RawSignal` exposes its `wait_change_until` (requested in STATUS.md).
fn wait_change(s: &RawSignal, since: u64, slice: Duration) -> zeroipc::Result<Option<u64>> {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = changed(s, since) {
            return Ok(Some(v));
        }
        let left = slice.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        std::thread::sleep(left.min(Duration::from_millis(1)));
    }
}

impl PySignal {
    fn get_for<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<(u64, Bound<'py, PyAny>)> {
        let s = &self.inner;
        let mut version = 0;
        let v = &mut version;
        let value = take_timeout(py, &self.dtype, timeout, move |out, slice| {
            *v = s.get_timeout(out, slice)?;
            Ok(())
        })?;
        Ok((version, value))
    }

    fn set_for(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let s = &self.inner;
        put_timeout(py, &self.dtype, value, timeout, |v, slice| {
            s.set_timeout(v, slice)
        })
    }

    fn wait_change_for(
        &self,
        py: Python<'_>,
        since: u64,
        timeout: Option<f64>,
    ) -> PyResult<Option<u64>> {
        let s = &self.inner;
        crate::blocking::blocking(py, timeout, |slice| wait_change(s, since, slice))
    }
}

#[pymethods]
impl PySignal {
    /// Creates the signal `name` (entries `name_state`, `name_mtx` and the
    /// marker `name`) holding `initial`, version 0, for values of `dtype`.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        initial: &Bound<'_, PyAny>,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let bytes = dtype.to_bytes(initial)?;
        let inner = RawSignal::create(&seg.inner, name, dtype.layout(), &bytes).py()?;
        Ok(PySignal { inner, dtype })
    }

    /// Opens the signal `name` for values of `dtype` (its size and layout
    /// are checked against the entry and the recorded layout).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner = RawSignal::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PySignal { inner, dtype })
    }

    /// The version: 0 at creation, +1 on every set. Lock-free.
    fn version(&self) -> u64 {
        self.inner.version()
    }

    /// Stores `value` and bumps the version (waits for the mutex).
    fn set(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.set_for(py, value, None)
    }

    /// As `set`, raising `ZeroIpcTimeoutError` if the mutex is not free
    /// within `timeout` seconds (nothing written then).
    fn set_timeout(&self, py: Python<'_>, value: &Bound<'_, PyAny>, timeout: f64) -> PyResult<()> {
        self.set_for(py, value, Some(timeout))
    }

    /// Stores `value` if the mutex is free now: True, else False (nothing
    /// written).
    fn try_set(&self, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, value, |v| self.inner.try_set(v))
    }

    /// The value, read under the mutex.
    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.get_for(py, None)?.1)
    }

    /// As `get`, raising `ZeroIpcTimeoutError` after `timeout` seconds.
    fn get_timeout<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.get_for(py, Some(timeout))?.1)
    }

    /// The value if the mutex is free now, else None.
    fn try_get<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        // A zero timeout takes the mutex only if it is free now.
        take(py, &self.dtype, |out| {
            match self.inner.get_timeout(out, Duration::ZERO) {
                Ok(_) => Ok(true),
                Err(Error::Timeout { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// `(version, value)` read together under the mutex.
    fn get_versioned<'py>(&self, py: Python<'py>) -> PyResult<(u64, Bound<'py, PyAny>)> {
        self.get_for(py, None)
    }

    /// Waits until the version differs from `since`; returns the new
    /// version.
    fn wait_for_change(&self, py: Python<'_>, since: u64) -> PyResult<u64> {
        let v = self.wait_change_for(py, since, None)?;
        Ok(v.expect("a wait without a timeout ends only with a change"))
    }

    /// As `wait_for_change`, raising `ZeroIpcTimeoutError` after `timeout`
    /// seconds.
    fn wait_for_change_timeout(&self, py: Python<'_>, since: u64, timeout: f64) -> PyResult<u64> {
        let start = std::time::Instant::now();
        match self.wait_change_for(py, since, Some(timeout))? {
            Some(v) => Ok(v),
            None => Err(crate::errors::to_py(Error::Timeout {
                name: self.inner.name().to_owned(),
                kind: "signal",
                waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            })),
        }
    }

    /// The new version if it differs from `since` now, else None.
    fn try_wait_for_change(&self, since: u64) -> Option<u64> {
        changed(&self.inner, since)
    }

    /// The element dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let dt = self
            .dtype
            .descr(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_default();
        format!(
            "Signal(name={:?}, dtype={dt}, version={})",
            self.inner.name(),
            self.inner.version()
        )
    }
}

/// Adds Signal to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySignal>()
}
