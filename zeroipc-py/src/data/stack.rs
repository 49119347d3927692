//! `Stack`: the lock-free bounded LIFO.

use pyo3::prelude::*;
use zeroipc::raw::RawStack;

use super::{batch_buffer_upto, put, put_timeout, take, take_timeout};
use crate::blocking::blocking_timeout;
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A lock-free bounded LIFO stack of one numpy dtype.
///
/// `push(v)` returns False when full, `pop()`/`peek()` None when empty; the
/// `_timeout` forms wait (GIL released, Ctrl-C honoured) and raise
/// `ZeroIpcTimeoutError` when the time runs out, leaving the stack as it was.
/// `push_slice`/`pop_slice` move many elements at once as numpy arrays.
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Stack
/// >>> name = f"/zeroipc-py-stack-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> s = Stack.create(seg, "s", 4, np.int16)
/// >>> s.push(-1), s.push(2), int(s.peek()), int(s.pop()), int(s.pop()), s.pop()
/// (True, True, 2, 2, -1, None)
/// >>> s.push_slice(np.array([1, 2, 3], dtype=np.int16)), s.pop_slice(8).tolist()
/// (3, [3, 2, 1])
/// >>> Segment.unlink(name)
#[pyclass(name = "Stack", module = "zeroipc_rs", frozen)]
pub(crate) struct PyStack {
    raw: RawStack,
    dtype: DType,
}

#[pymethods]
impl PyStack {
    /// Creates the stack `name` in `seg` of `capacity` elements of `dtype`.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyStack> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawStack::create(&seg.inner, name, dtype.layout(), capacity).py()?;
        Ok(PyStack { raw, dtype })
    }

    /// Opens the stack `name`; `dtype` must match the entry.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<PyStack> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawStack::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyStack { raw, dtype })
    }

    /// The element dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// Pushes `v`; False when the stack is full (nothing written).
    fn push(&self, v: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, v, |b| self.raw.push(b))
    }

    /// Removes and returns the top element; None when empty.
    fn pop<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |b| self.raw.pop(b))
    }

    /// The top element without removing it; None when empty.
    fn peek<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |b| self.raw.peek(b))
    }

    /// Pushes `v`, waiting up to `timeout` seconds for room (None: as long
    /// as it takes); `ZeroIpcTimeoutError` when none came.
    #[pyo3(signature = (v, timeout))]
    fn push_timeout(
        &self,
        py: Python<'_>,
        v: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        put_timeout(py, &self.dtype, v, timeout, |b, t| {
            self.raw.push_timeout(b, t)
        })
    }

    /// Pops, waiting up to `timeout` seconds for an element (None: as long
    /// as it takes); `ZeroIpcTimeoutError` when none came.
    #[pyo3(signature = (timeout))]
    fn pop_timeout<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        take_timeout(py, &self.dtype, timeout, |b, t| self.raw.pop_timeout(b, t))
    }

    /// Pushes as many leading elements of the 1-d array `values` (of this
    /// dtype) as fit, in order (the last pushed ends on top), with one CAS
    /// of the top; returns how many.
    fn push_slice(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        let (bytes, _) = self.dtype.write_array(values)?;
        py.detach(|| self.raw.push_many(&bytes)).py()
    }

    /// Pops up to `max` elements, top first, with one CAS of the top;
    /// returns them as a 1-d array (empty when the stack is).
    fn pop_slice<'py>(&self, py: Python<'py>, max: usize) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = batch_buffer_upto(&self.dtype, max, self.raw.capacity())?;
        let n = py.detach(|| self.raw.pop_many(&mut buf)).py()?;
        self.dtype.read_array(py, &buf[..n * self.dtype.itemsize()])
    }

    /// Like `push_slice`, but waits up to `timeout` seconds until at least
    /// one element went in; `ZeroIpcTimeoutError` when none did.
    #[pyo3(signature = (values, timeout))]
    fn push_slice_timeout(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        let (bytes, _) = self.dtype.write_array(values)?;
        blocking_timeout(py, timeout, |t| self.raw.push_many_timeout(&bytes, t))
    }

    /// Like `pop_slice`, but waits up to `timeout` seconds until at least
    /// one element came out; `ZeroIpcTimeoutError` when none did.
    #[pyo3(signature = (max, timeout))]
    fn pop_slice_timeout<'py>(
        &self,
        py: Python<'py>,
        max: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = batch_buffer_upto(&self.dtype, max, self.raw.capacity())?;
        let out = &mut buf;
        let n = blocking_timeout(py, timeout, move |t| {
            self.raw.pop_many_timeout(&mut *out, t)
        })?;
        self.dtype.read_array(py, &buf[..n * self.dtype.itemsize()])
    }

    /// The number of slots.
    fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// True when no element is on the stack (a snapshot).
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The number of elements (a snapshot).
    fn __len__(&self) -> usize {
        self.raw.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Stack(capacity={}, dtype={}, len={})",
            self.raw.capacity(),
            self.dtype.descr(py),
            self.raw.len()
        )
    }
}
