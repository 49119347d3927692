//! `Future`: a value computed once by one process, awaited by others.

use pyo3::prelude::*;
use zeroipc::format::future as fmt;
use zeroipc::raw::RawFuture;

use crate::data::{put, take, take_timeout};
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A write-once result shared between processes (`zeroipc::raw::RawFuture`,
/// the bytes of the typed `zeroipc::Future<T>` and of the C++ reference).
///
/// One process completes it with `set_value(v)` or `set_error(message)`
/// (the first setter wins; later ones get False); any process waits with
/// `get()` / `get_timeout(s)` or polls with `try_get()`. A future completed
/// with an error raises `FailedError` carrying the stored message.
///
/// >>> import os, numpy as np
/// >>> from zeroipc_rs import Segment, Future
/// >>> name = f"/zeroipc-py-future-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> f = Future.create(seg, "answer", np.int32)
/// >>> (f.try_get(), f.state())
/// (None, 'pending')
/// >>> (f.set_value(42), f.set_value(7))
/// (True, False)
/// >>> (Future.open(seg, "answer", np.int32).get(), f.is_ready())
/// (np.int32(42), True)
/// >>> Segment.unlink(name)
#[pyclass(name = "Future", module = "zeroipc_rs", frozen)]
pub(crate) struct PyFuture {
    inner: RawFuture,
    dtype: DType,
    name: String,
}

impl PyFuture {
    fn get_for<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let f = &self.inner;
        take_timeout(py, &self.dtype, timeout, |out, slice| {
            f.get_timeout(out, slice)
        })
    }
}

#[pymethods]
impl PyFuture {
    /// Creates a pending future named `name` for a value of `dtype`.
    #[staticmethod]
    fn create(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner = RawFuture::create(&seg.inner, name, dtype.layout()).py()?;
        Ok(PyFuture {
            inner,
            dtype,
            name: name.to_owned(),
        })
    }

    /// Opens the future `name` for a value of `dtype` (checked against the
    /// entry size and the recorded layout).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner = RawFuture::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyFuture {
            inner,
            dtype,
            name: name.to_owned(),
        })
    }

    /// `'pending'`, `'computing'` (a setter is writing), `'ready'`,
    /// `'error'`, or `'unknown(N)'` for a value no implementation writes.
    fn state(&self) -> String {
        match self.inner.state() {
            fmt::PENDING => "pending".to_owned(),
            fmt::COMPUTING => "computing".to_owned(),
            fmt::READY => "ready".to_owned(),
            fmt::ERROR => "error".to_owned(),
            other => format!("unknown({other})"),
        }
    }

    /// True once completed, with a value or an error.
    fn is_ready(&self) -> bool {
        matches!(self.inner.state(), fmt::READY | fmt::ERROR)
    }

    /// Processes waiting in `get` now (a snapshot).
    fn waiters(&self) -> u32 {
        self.inner.waiters()
    }

    /// The completion time (CLOCK_MONOTONIC nanoseconds; 0 while pending).
    fn completion_time(&self) -> u64 {
        self.inner.completion_time()
    }

    /// Completes the future with `value`: True, or False (nothing written)
    /// if it was already completed or is being completed by another setter.
    fn set_value(&self, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, value, |v| self.inner.set_value(v))
    }

    /// Completes the future with an error message (cut to 255 bytes):
    /// True, or False if it was already claimed.
    fn set_error(&self, message: &str) -> bool {
        self.inner.set_error(message)
    }

    /// The value if the future is ready, None while pending; raises
    /// `FailedError` if it completed with an error.
    fn try_get<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |out| self.inner.try_get(out))
    }

    /// Waits until the future completes and returns the value (raises
    /// `FailedError` if it completed with an error).
    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.get_for(py, None)
    }

    /// As `get`, raising `ZeroIpcTimeoutError` after `timeout` seconds.
    fn get_timeout<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        self.get_for(py, Some(timeout))
    }

    /// The stored error message if the future completed with an error.
    fn error_message(&self) -> Option<String> {
        self.inner.error_message()
    }

    /// The value's dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!("Future(name={:?}, state={:?})", self.name, self.state())
    }
}

/// Adds Future to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFuture>()
}
