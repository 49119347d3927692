//! `Ring`: the single-producer single-consumer ring buffer.

use pyo3::prelude::*;
use zeroipc::raw::RawRing;

use super::{batch_buffer_upto, put, put_timeout, take, take_timeout};
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A single-producer single-consumer ring buffer of one numpy dtype (one
/// writer and one reader at a time; use Queue for many).
///
/// `write(v)` returns False when full, `read()` None when empty;
/// `write_bulk(array)`/`read_bulk(max)` move many elements at once; the
/// `_timeout` forms wait (GIL released, Ctrl-C honoured) and raise
/// `ZeroIpcTimeoutError`, leaving the ring as it was.
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Ring
/// >>> name = f"/zeroipc-py-ring-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> r = Ring.create(seg, "r", 8, np.float64)
/// >>> r.write(0.5), r.write_bulk(np.arange(3.0)), len(r)
/// (True, 3, 4)
/// >>> float(r.read()), r.read_bulk(10).tolist()
/// (0.5, [0.0, 1.0, 2.0])
/// >>> Segment.unlink(name)
#[pyclass(name = "Ring", module = "zeroipc_rs", frozen)]
pub(crate) struct PyRing {
    raw: RawRing,
    dtype: DType,
}

#[pymethods]
impl PyRing {
    /// Creates the ring `name` in `seg` of `capacity` elements of `dtype`.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyRing> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawRing::create(&seg.inner, name, dtype.layout(), capacity).py()?;
        Ok(PyRing { raw, dtype })
    }

    /// Opens the ring `name`; `dtype` must match the entry.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<PyRing> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawRing::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyRing { raw, dtype })
    }

    /// The element dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// Appends `v`; False when the ring is full (nothing written).
    fn write(&self, v: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, v, |b| self.raw.write(b))
    }

    /// Removes and returns the oldest element; None when empty.
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |b| self.raw.read(b))
    }

    /// Appends `v`, waiting up to `timeout` seconds for room (None: as long
    /// as it takes); `ZeroIpcTimeoutError` when none came.
    #[pyo3(signature = (v, timeout))]
    fn write_timeout(
        &self,
        py: Python<'_>,
        v: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        put_timeout(py, &self.dtype, v, timeout, |b, t| {
            self.raw.write_timeout(b, t)
        })
    }

    /// Reads the oldest element, waiting up to `timeout` seconds for one
    /// (None: as long as it takes); `ZeroIpcTimeoutError` when none came.
    #[pyo3(signature = (timeout))]
    fn read_timeout<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        take_timeout(py, &self.dtype, timeout, |b, t| self.raw.read_timeout(b, t))
    }

    /// Appends as many leading elements of the 1-d array `values` as fit;
    /// returns how many.
    fn write_bulk(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        let (bytes, _) = self.dtype.write_array(values)?;
        py.detach(|| self.raw.write_bulk(&bytes)).py()
    }

    /// Removes up to `max` of the oldest elements; returns them as a 1-d
    /// array (empty when the ring is).
    fn read_bulk<'py>(&self, py: Python<'py>, max: usize) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = batch_buffer_upto(&self.dtype, max, self.raw.capacity())?;
        let n = py.detach(|| self.raw.read_bulk(&mut buf)).py()?;
        self.dtype.read_array(py, &buf[..n * self.dtype.itemsize()])
    }

    /// The number of element slots.
    fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The data area in bytes.
    fn capacity_bytes(&self) -> usize {
        self.raw.capacity_bytes()
    }

    /// Element slots free now (a snapshot).
    fn free_space(&self) -> usize {
        self.raw.free_space()
    }

    /// True when nothing is buffered (a snapshot).
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True when no slot is free (a snapshot).
    fn is_full(&self) -> bool {
        self.raw.is_full()
    }

    /// The number of buffered elements (a snapshot).
    fn __len__(&self) -> usize {
        self.raw.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Ring(capacity={}, dtype={}, len={})",
            self.raw.capacity(),
            self.dtype.descr(py),
            self.raw.len()
        )
    }
}
