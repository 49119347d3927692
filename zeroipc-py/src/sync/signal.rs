//! `Signal`: a shared versioned value whose type is a numpy dtype.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use zeroipc::raw::RawSignal;

use super::pyfn::{call_or_unwind, catch_raised};
use crate::blocking::blocking_timeout;
use crate::data::{put, put_timeout, take, take_timeout};
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A shared value with a version that every `set` bumps
/// (`zeroipc::raw::RawSignal`, the bytes of the typed `zeroipc::Signal<T>`
/// and of the C++ reference's signal).
///
/// `get`/`set` take the signal's mutex (waiting with the GIL released);
/// `update(func)` replaces the value by `func(value)` under the mutex (if
/// `func` raises, nothing is written and the exception propagates);
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
/// >>> (s.update(lambda v: v + 1.5), s.version())
/// (np.float64(22.5), 2)
/// >>> Segment.unlink(name)
#[pyclass(name = "Signal", module = "zeroipc_rs", frozen)]
pub(crate) struct PySignal {
    inner: RawSignal,
    dtype: DType,
}

impl PySignal {
    fn update_for<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = &self.inner;
        let updated = self.update_with(py, func, |buf, f| {
            // Each slice waits for the mutex; the first that gets it runs
            // `f` once and ends the wait.
            blocking_timeout(py, timeout, |slice| s.update_timeout(buf, slice, &mut *f))
                .map(|()| true)
        })?;
        // A waiting update returns the new value or an error, never None.
        updated.ok_or_else(|| PyRuntimeError::new_err("Signal.update: no value was written"))
    }

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

    fn wait_change_for(&self, py: Python<'_>, since: u64, timeout: Option<f64>) -> PyResult<u64> {
        let s = &self.inner;
        blocking_timeout(py, timeout, |slice| s.wait_for_change_timeout(since, slice))
    }

    /// Runs `update_op` (a runtime update taking the scratch buffer and
    /// the closure to run under the mutex), the closure applying `func` to
    /// the value; the new value, or `None` when `update_op` returned
    /// false (a `try_` form that found the mutex held).
    fn update_with<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'_, PyAny>,
        update_op: impl FnOnce(&mut [u8], &mut (dyn FnMut(&mut [u8]) + Send)) -> PyResult<bool>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let func = func.clone().unbind();
        let dtype = &self.dtype;
        let mut scratch = vec![0u8; dtype.itemsize()];
        let mut raised: Option<PyErr> = None;
        let (buf, slot) = (&mut scratch, &mut raised);
        // With the mutex held: the value as numpy, func(value), its bytes
        // back into the buffer the runtime then publishes.
        let mut apply = |bytes: &mut [u8]| {
            call_or_unwind(slot, |py| {
                let new = func.call1(py, (dtype.read_value(py, bytes)?,))?;
                dtype.write_value(new.bind(py), bytes)
            })
        };
        // None: func raised; the runtime released the mutex, wrote nothing.
        let done = catch_raised(|| update_op(buf, &mut apply));
        if let Some(e) = raised {
            return Err(e);
        }
        match done {
            Some(Ok(true)) => Ok(Some(dtype.read_value(py, &scratch)?)),
            Some(Ok(false)) | None => Ok(None),
            Some(Err(e)) => Err(e),
        }
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
        take(py, &self.dtype, |out| {
            Ok(self.inner.try_get(out)?.is_some())
        })
    }

    /// `(version, value)` read together under the mutex.
    fn get_versioned<'py>(&self, py: Python<'py>) -> PyResult<(u64, Bound<'py, PyAny>)> {
        self.get_for(py, None)
    }

    /// Waits until the version differs from `since`; returns the new
    /// version.
    fn wait_for_change(&self, py: Python<'_>, since: u64) -> PyResult<u64> {
        self.wait_change_for(py, since, None)
    }

    /// As `wait_for_change`, raising `ZeroIpcTimeoutError` after `timeout`
    /// seconds.
    fn wait_for_change_timeout(&self, py: Python<'_>, since: u64, timeout: f64) -> PyResult<u64> {
        self.wait_change_for(py, since, Some(timeout))
    }

    /// The new version if it differs from `since` now, else None (never
    /// waits).
    fn try_wait_for_change(&self, since: u64) -> Option<u64> {
        let v = self.inner.version();
        (v != since).then_some(v)
    }

    /// Replaces the value by `func(value)` under the mutex (waiting for
    /// it) and returns the new value. `func` runs with the mutex held:
    /// keep it short and do not use this signal inside it (that would wait
    /// for the mutex it holds). If it raises (or returns something the
    /// dtype refuses), nothing is written and the exception propagates.
    fn update<'py>(&self, py: Python<'py>, func: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.update_for(py, None, func)
    }

    /// As `update`, raising `ZeroIpcTimeoutError` if the mutex is not free
    /// within `timeout` seconds (nothing written then).
    fn update_timeout<'py>(
        &self,
        py: Python<'py>,
        timeout: f64,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.update_for(py, Some(timeout), func)
    }

    /// As `update` if the mutex is free now: the new value, or None
    /// (nothing done, `func` not called).
    fn try_update<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let s = &self.inner;
        self.update_with(py, func, |buf, f| s.try_update(buf, f).py())
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
