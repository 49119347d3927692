//! `Segment`: a named shared-memory segment (`/dev/shm/<name>`) holding a
//! table of named structures.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use zeroipc::SegmentOptions;

use crate::errors::IntoPyResult;

/// A mapped ZeroIPC v2 segment.
///
/// Create one with `Segment.create(name, size)`, map an existing one with
/// `Segment.open(name)`, remove the name with `Segment.unlink(name)`.
/// The mapping stays alive while this object or any structure opened in it
/// is alive; dropping never unlinks.
///
/// >>> import os
/// >>> from zeroipc_rs import Segment
/// >>> name = f"/zeroipc-py-seg-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> Segment.open(name).size
/// 65536
/// >>> Segment.unlink(name)
#[pyclass(name = "Segment", module = "zeroipc_rs", frozen)]
pub(crate) struct PySegment {
    pub(crate) inner: zeroipc::Segment,
}

#[pymethods]
impl PySegment {
    /// Creates the segment `name` of `size` bytes with `max_entries` table
    /// slots and permission bits `mode` (applied exactly). Raises
    /// `SegmentExistsError` if the name is taken (nothing is replaced).
    ///
    /// `self_describing=True` (the default) records each structure's kind
    /// and element layout in an entry `__zeroipc_kinds`, so opens refuse a
    /// structure of another kind; pass False for a segment that must equal
    /// a reference library's bytes.
    ///
    /// `wake_registry=True` (the default) adds the waiter registry
    /// `__zeroipc_waiters`, with which producers wake blocked consumers in
    /// microseconds; without it blocked calls poll with short sleeps.
    #[staticmethod]
    #[pyo3(signature = (name, size, max_entries = 64, mode = 0o600, self_describing = true, wake_registry = true))]
    fn create(
        py: Python<'_>,
        name: &str,
        size: u64,
        max_entries: u32,
        mode: u32,
        self_describing: bool,
        wake_registry: bool,
    ) -> PyResult<PySegment> {
        let opts = SegmentOptions::new()
            .size(size)
            .max_entries(max_entries)
            .mode(mode)
            .self_describing(self_describing)
            .wake_registry(wake_registry);
        let inner = py.detach(|| opts.create(name)).py()?;
        Ok(PySegment { inner })
    }

    /// Maps the existing segment `name`, validating its table. Raises
    /// `SegmentNotFoundError` if there is none, `ForeignOwnerError` if
    /// another user owns it (unless `allow_foreign_owner=True`).
    #[staticmethod]
    #[pyo3(signature = (name, allow_foreign_owner = false))]
    fn open(py: Python<'_>, name: &str, allow_foreign_owner: bool) -> PyResult<PySegment> {
        let opts = SegmentOptions::new().allow_foreign_owner(allow_foreign_owner);
        let inner = py.detach(|| opts.open(name)).py()?;
        Ok(PySegment { inner })
    }

    /// Removes the name `name` (`SegmentNotFoundError` if there is none).
    /// Processes that have it mapped keep their mapping.
    #[staticmethod]
    fn unlink(name: &str) -> PyResult<()> {
        zeroipc::Segment::unlink(name).py()
    }

    /// The segment's name as given (with its leading `/`).
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The segment's size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.inner.size()
    }

    /// The number of table slots.
    #[getter]
    fn max_entries(&self) -> u32 {
        self.inner.max_entries()
    }

    /// Every table entry in use, in table order, as `(name, offset, size)`
    /// tuples (offset from the segment start, size in bytes).
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let entries = self.inner.entries().py()?;
        entries
            .into_iter()
            .map(|e| {
                PyTuple::new(
                    py,
                    [
                        e.name.into_pyobject(py)?.into_any(),
                        e.offset.into_pyobject(py)?.into_any(),
                        e.size.into_pyobject(py)?.into_any(),
                    ],
                )
            })
            .collect()
    }

    /// Bytes still free in the data area.
    fn free_bytes(&self) -> u64 {
        self.inner.free_bytes()
    }

    /// Adds the waiter registry (`__zeroipc_waiters`, docs/FORMAT.md §12)
    /// as the segment's next entry if it has none and a table slot and the
    /// space are free: True when the segment has one afterwards, False when
    /// there was no room. Handles opened before it existed keep polling
    /// (bounded, 2 ms); open them again to be woken in microseconds.
    /// Generated schema modules call it after their `__schema` entry.
    fn add_wake_registry(&self) -> PyResult<bool> {
        self.inner.add_wake_registry().py()
    }

    fn __repr__(&self) -> String {
        format!(
            "Segment(name={:?}, size={}, max_entries={})",
            self.inner.name(),
            self.inner.size(),
            self.inner.max_entries()
        )
    }
}

/// Adds `Segment` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySegment>()
}
