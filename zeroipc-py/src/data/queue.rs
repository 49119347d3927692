//! `Queue`: the lock-free bounded MPMC FIFO.

use pyo3::prelude::*;
use zeroipc::raw::RawQueue;

use super::{batch_buffer_upto, put, put_timeout, take, take_timeout};
use crate::blocking::blocking_timeout;
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A lock-free bounded multi-producer multi-consumer FIFO queue of one
/// numpy dtype, shared with Rust, C++ and other Python processes.
///
/// `push(v)` returns False when full, `pop()` None when empty; the
/// `_timeout` forms wait (GIL released, Ctrl-C honoured) and raise
/// `ZeroIpcTimeoutError` when the time runs out, leaving the queue as it
/// was. `push_slice`/`pop_slice` move many elements at once as numpy arrays.
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Queue
/// >>> name = f"/zeroipc-py-queue-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> q = Queue.create(seg, "jobs", 4, np.uint32)
/// >>> [q.push(i) for i in (1, 2)], len(q), q.capacity()
/// ([True, True], 2, 4)
/// >>> int(q.pop()), q.pop_slice(8).tolist(), q.pop()
/// (1, [2], None)
/// >>> Segment.unlink(name)
#[pyclass(name = "Queue", module = "zeroipc_rs", frozen)]
pub(crate) struct PyQueue {
    raw: RawQueue,
    dtype: DType,
}

#[pymethods]
impl PyQueue {
    /// Creates the queue `name` in `seg` holding at least `capacity`
    /// elements of `dtype` (rounded up to a power of two, at least 2).
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyQueue> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawQueue::create(&seg.inner, name, dtype.layout(), capacity).py()?;
        Ok(PyQueue { raw, dtype })
    }

    /// Opens the queue `name`; `dtype`'s itemsize and alignment must match
    /// the entry (`StructureMismatchError` naming both otherwise).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<PyQueue> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawQueue::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyQueue { raw, dtype })
    }

    /// The element dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// Appends `v`; False when the queue is full (nothing written).
    fn push(&self, v: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, v, |b| self.raw.push(b))
    }

    /// Removes and returns the oldest element; None when empty.
    fn pop<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |b| self.raw.pop(b))
    }

    /// Appends `v`, waiting up to `timeout` seconds for room (None: as long
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

    /// Removes the oldest element, waiting up to `timeout` seconds for one
    /// (None: as long as it takes); `ZeroIpcTimeoutError` when none came.
    #[pyo3(signature = (timeout))]
    fn pop_timeout<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        take_timeout(py, &self.dtype, timeout, |b, t| self.raw.pop_timeout(b, t))
    }

    /// Appends as many leading elements of the 1-d array `values` (of this
    /// dtype) as fit, with one claim of the tail; returns how many.
    fn push_slice(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        let (bytes, _) = self.dtype.write_array(values)?;
        py.detach(|| self.raw.push_many(&bytes)).py()
    }

    /// Removes up to `max` of the oldest elements with one claim of the
    /// head; returns them as a 1-d array (empty when the queue is).
    fn pop_slice<'py>(&self, py: Python<'py>, max: usize) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = batch_buffer_upto(&self.dtype, max, self.raw.capacity())?;
        let n = py.detach(|| self.raw.pop_many(&mut buf)).py()?;
        self.dtype.read_array(py, &buf[..n * self.dtype.itemsize()])
    }

    /// Like `push_slice`, but waits up to `timeout` seconds until at least
    /// one element fits; `ZeroIpcTimeoutError` when none did.
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
    /// one element is there; `ZeroIpcTimeoutError` when none came.
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

    /// The number of slots (a power of two).
    fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// True when no element is queued (a snapshot).
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True when every slot is taken (a snapshot).
    fn is_full(&self) -> bool {
        self.raw.is_full()
    }

    /// The number of queued elements (a snapshot).
    fn __len__(&self) -> usize {
        self.raw.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Queue(capacity={}, dtype={}, len={})",
            self.raw.capacity(),
            self.dtype.descr(py),
            self.raw.len()
        )
    }
}
