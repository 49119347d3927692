//! `Pool`: the lock-free fixed-size node allocator.

use pyo3::prelude::*;
use zeroipc::raw::RawPool;

use super::put;
use crate::blocking::blocking_timeout;
use crate::dtype::{DType, ElemBuf};
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A lock-free pool of `capacity` nodes of one numpy dtype, handed out by
/// index: `allocate()` returns a free node's index (None when all are
/// taken), `deallocate(index)` returns it; `get`/`set` read and write a
/// node's value (plain copies, like an Array element).
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Pool
/// >>> name = f"/zeroipc-py-pool-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> p = Pool.create(seg, "p", 2, np.uint64)
/// >>> a, b = p.allocate(), p.allocate()
/// >>> p.set(a, 42); int(p.get(a)), p.allocate(), p.allocated()
/// (42, None, 2)
/// >>> p.deallocate(b); p.available()
/// 1
/// >>> Segment.unlink(name)
#[pyclass(name = "Pool", module = "zeroipc_rs", frozen)]
pub(crate) struct PyPool {
    raw: RawPool,
    dtype: DType,
}

#[pymethods]
impl PyPool {
    /// Creates the pool `name` in `seg` of `capacity` nodes of `dtype`.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyPool> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawPool::create(&seg.inner, name, dtype.layout(), capacity).py()?;
        Ok(PyPool { raw, dtype })
    }

    /// Opens the pool `name`; `dtype` must match the entry.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<PyPool> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawPool::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyPool { raw, dtype })
    }

    /// The node value dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// Takes a free node and returns its index; None when all are taken.
    fn allocate(&self) -> PyResult<Option<u32>> {
        self.raw.allocate().py()
    }

    /// Takes a free node, waiting up to `timeout` seconds for one (None:
    /// as long as it takes); `ZeroIpcTimeoutError` when none came.
    #[pyo3(signature = (timeout))]
    fn allocate_timeout(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<u32> {
        blocking_timeout(py, timeout, |t| self.raw.allocate_timeout(t))
    }

    /// Returns node `index` to the pool. Refuses an index out of range, a
    /// free with nothing allocated, and a node that is the free list's head.
    fn deallocate(&self, index: u32) -> PyResult<()> {
        self.raw.deallocate(index).py()
    }

    /// The value of node `index` (a copy).
    fn get<'py>(&self, py: Python<'py>, index: u32) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = ElemBuf::new(self.dtype.itemsize());
        self.raw.get(index, buf.bytes_mut()).py()?;
        self.dtype.read_value(py, buf.bytes())
    }

    /// Stores `v` as the value of node `index`.
    fn set(&self, index: u32, v: &Bound<'_, PyAny>) -> PyResult<()> {
        put(&self.dtype, v, |b| self.raw.set(index, b))
    }

    /// `(index, value)` of every allocated node: a snapshot for tools.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Vec<(u32, Bound<'py, PyAny>)>> {
        let items = self.raw.items().py()?;
        items
            .into_iter()
            .map(|(i, bytes)| Ok((i, self.dtype.read_value(py, &bytes)?)))
            .collect()
    }

    /// The number of nodes.
    fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// Nodes allocated now (a snapshot).
    fn allocated(&self) -> usize {
        self.raw.allocated()
    }

    /// Nodes free now (a snapshot).
    fn available(&self) -> usize {
        self.raw.available()
    }

    /// True when every node is allocated (a snapshot).
    fn is_full(&self) -> bool {
        self.raw.is_full()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Pool(capacity={}, dtype={}, allocated={})",
            self.raw.capacity(),
            self.dtype.descr(py),
            self.raw.allocated()
        )
    }
}
