//! `Map`: the lock-free open-addressing hash map.

use pyo3::prelude::*;
use zeroipc::format::map::KeyLayout;
use zeroipc::layout::Prim;
use zeroipc::raw::map::MapInsert;
use zeroipc::raw::RawMap;

use super::take;
use crate::dtype::{DType, ElemBuf};
use crate::errors::{to_py, IntoPyResult};
use crate::segment::PySegment;

/// The outcome of `Map.insert`: `Inserted` (the key was new), `Updated`
/// (its value was replaced) or `Full` (no free slot on its probe chain;
/// nothing written). `is_stored()` is True for the first two.
#[pyclass(name = "MapInsert", module = "zeroipc_rs", eq, eq_int, frozen)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyMapInsert {
    /// The key was absent and has been added.
    Inserted,
    /// The key was present; its value was replaced.
    Updated,
    /// The key was absent and its probe chain has no free slot.
    Full,
}

#[pymethods]
impl PyMapInsert {
    /// True for `Inserted` and `Updated`.
    fn is_stored(&self) -> bool {
        *self != PyMapInsert::Full
    }
}

impl From<MapInsert> for PyMapInsert {
    fn from(r: MapInsert) -> Self {
        match r {
            MapInsert::Inserted => PyMapInsert::Inserted,
            MapInsert::Updated => PyMapInsert::Updated,
            MapInsert::Full => PyMapInsert::Full,
        }
    }
}

/// Refuses to open `name` with key dtype `key` when the segment's
/// self-description records a key that hashes differently (a primitive of
/// another type, or bytes where `key` is a number or the reverse): the
/// runtime checks only sizes and alignments, and such a key would find
/// nothing. Segments without a record are not checked.
pub(crate) fn check_recorded_key(
    py: Python<'_>,
    seg: &zeroipc::Segment,
    name: &str,
    kind: &'static str,
    key: &DType,
) -> PyResult<()> {
    let Some(desc) = seg.description(name).py()? else {
        return Ok(());
    };
    let Some(elem) = desc.elem else {
        return Ok(());
    };
    let recorded = KeyLayout::recorded(elem, desc.elem_fingerprint);
    let ours = key.key_layout();
    if recorded.prim() == ours.prim() {
        return Ok(());
    }
    let show = |p: Option<Prim>| p.map_or_else(|| "bytes".to_owned(), |p| format!("{p:?}"));
    Err(to_py(zeroipc::Error::StructureMismatch {
        segment: seg.name().to_owned(),
        name: name.to_owned(),
        kind,
        detail: format!(
            "recorded with a key hashed as {}, opened with a key hashed as {} (dtype {})",
            show(recorded.prim()),
            show(ours.prim()),
            key.shown(py)
        ),
    }))
}

/// A lock-free hash map of fixed capacity from one numpy dtype to another,
/// laid out and hashed as the Rust `Map<K, V>` and the C++ map are (an
/// integer or float key dtype hashes as that primitive, any other as its
/// bytes).
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Map, MapInsert
/// >>> name = f"/zeroipc-py-map-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> m = Map.create(seg, "m", 16, np.int64, np.float32)
/// >>> m.insert(-3, 1.5) == MapInsert.Inserted, m.insert(-3, 2.5) == MapInsert.Updated
/// (True, True)
/// >>> float(m.get(-3)), m.get(4), -3 in m, len(m)
/// (2.5, None, True, 1)
/// >>> float(m.remove(-3)), len(m)
/// (2.5, 0)
/// >>> Segment.unlink(name)
#[pyclass(name = "Map", module = "zeroipc_rs", frozen)]
pub(crate) struct PyMap {
    raw: RawMap,
    key: DType,
    value: DType,
}

impl PyMap {
    /// The key bytes of `k`.
    fn key_bytes(&self, k: &Bound<'_, PyAny>) -> PyResult<ElemBuf> {
        let mut buf = ElemBuf::new(self.key.itemsize());
        self.key.write_value(k, buf.bytes_mut())?;
        Ok(buf)
    }
}

#[pymethods]
impl PyMap {
    /// Creates the map `name` in `seg` with exactly `capacity` slots.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        key_dtype: &Bound<'_, PyAny>,
        value_dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyMap> {
        let key = DType::from_py(key_dtype)?;
        let value = DType::from_py(value_dtype)?;
        let raw =
            RawMap::create(&seg.inner, name, key.key_layout(), value.layout(), capacity).py()?;
        Ok(PyMap { raw, key, value })
    }

    /// Opens the map `name`; both dtypes must match the entry (and the
    /// segment's record of them), and the key dtype must hash as the
    /// recorded key type does (an integer, a float or bytes).
    #[staticmethod]
    fn open(
        seg: &PySegment,
        name: &str,
        key_dtype: &Bound<'_, PyAny>,
        value_dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyMap> {
        let key = DType::from_py(key_dtype)?;
        let value = DType::from_py(value_dtype)?;
        let raw = RawMap::open(
            &seg.inner,
            name,
            Some(key.key_layout()),
            Some(value.layout()),
        )
        .py()?;
        check_recorded_key(key_dtype.py(), &seg.inner, name, "map", &key)?;
        Ok(PyMap { raw, key, value })
    }

    /// The key dtype.
    #[getter]
    fn key_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.key.descr(py).into_any()
    }

    /// The value dtype.
    #[getter]
    fn value_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.value.descr(py).into_any()
    }

    /// Inserts or replaces the value of `key`; a `MapInsert`.
    fn insert(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<PyMapInsert> {
        let k = self.key_bytes(key)?;
        let mut v = ElemBuf::new(self.value.itemsize());
        self.value.write_value(value, v.bytes_mut())?;
        Ok(self.raw.insert(k.bytes(), v.bytes()).py()?.into())
    }

    /// The value of `key`; None when absent.
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let k = self.key_bytes(key)?;
        take(py, &self.value, |out| self.raw.get(k.bytes(), out))
    }

    /// Removes `key`; its value, or None when absent.
    fn remove<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let k = self.key_bytes(key)?;
        take(py, &self.value, |out| self.raw.remove(k.bytes(), out))
    }

    /// True when `key` is present.
    fn contains(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = self.key_bytes(key)?;
        self.raw.contains(k.bytes()).py()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(key)
    }

    /// Every `(key, value)` pair present: a snapshot (entries changed
    /// meanwhile may or may not be listed).
    fn entries<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        self.raw
            .entries()
            .into_iter()
            .map(|(k, v)| Ok((self.key.read_value(py, &k)?, self.value.read_value(py, &v)?)))
            .collect()
    }

    /// The number of slots.
    fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// True when no key is present (a snapshot).
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The number of keys present (a snapshot).
    fn __len__(&self) -> usize {
        self.raw.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Map(capacity={}, key_dtype={}, value_dtype={}, len={})",
            self.raw.capacity(),
            self.key.descr(py),
            self.value.descr(py),
            self.raw.len()
        )
    }
}
