//! `Set`: the lock-free open-addressing hash set.

use pyo3::prelude::*;
use zeroipc::raw::set::SetInsert;
use zeroipc::raw::RawSet;

use crate::dtype::{DType, ElemBuf};
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// The outcome of `Set.insert`: `Inserted` (the value was added),
/// `Present` (it was already a member) or `Full` (no free slot on its
/// probe chain; nothing written). `is_inserted()` is True only for the
/// first.
#[pyclass(name = "SetInsert", module = "zeroipc_rs", eq, eq_int, frozen)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PySetInsert {
    /// The value was absent and has been added.
    Inserted,
    /// The value was already a member.
    Present,
    /// The value was absent and its probe chain has no free slot.
    Full,
}

#[pymethods]
impl PySetInsert {
    /// True only for `Inserted`.
    fn is_inserted(&self) -> bool {
        *self == PySetInsert::Inserted
    }
}

impl From<SetInsert> for PySetInsert {
    fn from(r: SetInsert) -> Self {
        match r {
            SetInsert::Inserted => PySetInsert::Inserted,
            SetInsert::Present => PySetInsert::Present,
            SetInsert::Full => PySetInsert::Full,
        }
    }
}

/// A lock-free hash set of fixed capacity of one numpy dtype, laid out and
/// hashed as the Rust `Set<T>` and the C++ set are.
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Set, SetInsert
/// >>> name = f"/zeroipc-py-set-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> s = Set.create(seg, "s", 8, np.uint16)
/// >>> s.insert(5) == SetInsert.Inserted, s.insert(5) == SetInsert.Present
/// (True, True)
/// >>> 5 in s, s.remove(5), s.remove(5), len(s)
/// (True, True, False, 0)
/// >>> Segment.unlink(name)
#[pyclass(name = "Set", module = "zeroipc_rs", frozen)]
pub(crate) struct PySet {
    raw: RawSet,
    dtype: DType,
}

impl PySet {
    /// The element bytes of `v`.
    fn bytes_of(&self, v: &Bound<'_, PyAny>) -> PyResult<ElemBuf> {
        let mut buf = ElemBuf::new(self.dtype.itemsize());
        self.dtype.write_value(v, buf.bytes_mut())?;
        Ok(buf)
    }
}

#[pymethods]
impl PySet {
    /// Creates the set `name` in `seg` with exactly `capacity` slots.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PySet> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawSet::create(&seg.inner, name, dtype.key_layout(), capacity).py()?;
        Ok(PySet { raw, dtype })
    }

    /// Opens the set `name`; `dtype` must match the entry, and hash as
    /// the segment records the element type (an integer, a float or bytes).
    #[staticmethod]
    #[pyo3(signature = (seg, name, dtype))]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<PySet> {
        let dtype_obj = dtype;
        let dtype = DType::from_py(dtype_obj)?;
        let raw = RawSet::open(&seg.inner, name, Some(dtype.key_layout())).py()?;
        super::map::check_recorded_key(dtype_obj.py(), &seg.inner, name, "set", &dtype)?;
        Ok(PySet { raw, dtype })
    }

    /// The element dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// Adds `v`; a `SetInsert`.
    fn insert(&self, v: &Bound<'_, PyAny>) -> PyResult<PySetInsert> {
        let b = self.bytes_of(v)?;
        Ok(self.raw.insert(b.bytes()).py()?.into())
    }

    /// True when `v` is a member.
    fn contains(&self, v: &Bound<'_, PyAny>) -> PyResult<bool> {
        let b = self.bytes_of(v)?;
        self.raw.contains(b.bytes()).py()
    }

    fn __contains__(&self, v: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(v)
    }

    /// Removes `v`; True when it was a member.
    fn remove(&self, v: &Bound<'_, PyAny>) -> PyResult<bool> {
        let b = self.bytes_of(v)?;
        self.raw.remove(b.bytes()).py()
    }

    /// Every member as a 1-d array: a snapshot (members changed meanwhile
    /// may or may not be listed).
    fn to_vec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes: Vec<u8> = self.raw.members().concat();
        self.dtype.read_array(py, &bytes)
    }

    /// The number of slots.
    fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// True when there is no member (a snapshot).
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The number of members (a snapshot).
    fn __len__(&self) -> usize {
        self.raw.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Set(capacity={}, dtype={}, len={})",
            self.raw.capacity(),
            self.dtype.descr(py),
            self.raw.len()
        )
    }
}
