//! `Array`: a fixed-length array of elements, with a zero-copy numpy view.

use numpy::npyffi::{self, NpyTypes, PY_ARRAY_API};
use numpy::PyArrayDescrMethods;
use pyo3::prelude::*;
use zeroipc::raw::RawArray;

use super::{batch_buffer, put, py_index};
use crate::dtype::{DType, ElemBuf};
use crate::errors::{to_py, IntoPyResult};
use crate::segment::PySegment;

/// A fixed-length array of one numpy dtype in shared memory.
///
/// `get(i)`/`set(i, v)` (also `a[i]`, `a[i] = v`, negative indices from
/// the end), `read(start, count)`/`write(start, values)` and `to_vec()`
/// copy values with the runtime's copy routine, and `view()` returns a
/// zero-copy numpy array over the shared bytes.
///
/// No copy is atomic as a whole: a reader concurrent with a writer of the
/// same element can see a mix of old and new bytes (as in Rust and C++);
/// coordinate writers with a Mutex, a Seqlock-style version or a Queue of
/// indices.
///
/// >>> import numpy as np, os
/// >>> from zeroipc_rs import Segment, Array
/// >>> name = f"/zeroipc-py-array-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> a = Array.create(seg, "temps", 4, np.float32)
/// >>> a[2] = 21.5; a.write(0, np.array([1, 2], dtype=np.float32))
/// >>> a.to_vec().tolist(), float(a[-2])
/// ([1.0, 2.0, 21.5, 0.0], 21.5)
/// >>> v = a.view(); v[3] = 7; float(a.get(3))
/// 7.0
/// >>> del v; Segment.unlink(name)
#[pyclass(name = "Array", module = "zeroipc_rs", frozen)]
pub(crate) struct PyArrayKind {
    raw: RawArray,
    dtype: DType,
}

#[pymethods]
impl PyArrayKind {
    /// Creates the array `name` in `seg` of `capacity` zeroed elements of
    /// `dtype`.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<PyArrayKind> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawArray::create(&seg.inner, name, dtype.layout(), capacity).py()?;
        Ok(PyArrayKind { raw, dtype })
    }

    /// Opens the array `name`; `dtype`'s itemsize and alignment must match
    /// the entry (`StructureMismatchError` naming both otherwise).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<PyArrayKind> {
        let dtype = DType::from_py(dtype)?;
        let raw = RawArray::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyArrayKind { raw, dtype })
    }

    /// The element dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// A copy of element `i` (`InvalidArgumentError` when out of range).
    fn get<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = ElemBuf::new(self.dtype.itemsize());
        self.raw.get(i, buf.bytes_mut()).py()?;
        self.dtype.read_value(py, buf.bytes())
    }

    /// Stores `v` at element `i` (`InvalidArgumentError` when out of range).
    fn set(&self, i: usize, v: &Bound<'_, PyAny>) -> PyResult<()> {
        put(&self.dtype, v, |b| self.raw.set(i, b))
    }

    fn __getitem__<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyAny>> {
        self.get(py, py_index(i, self.raw.len())?)
    }

    fn __setitem__(&self, i: isize, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.set(py_index(i, self.raw.len())?, v)
    }

    /// A copy of the `count` elements from `start`, as a 1-d array.
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        count: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let len = self.raw.len();
        if start.checked_add(count).is_none_or(|end| end > len) {
            let detail = format!(
                "read: elements [{start}, {start}+{count}) out of range for capacity {len}"
            );
            return Err(to_py(self.raw.region().invalid_argument("array", detail)));
        }
        let mut buf = batch_buffer(&self.dtype, count)?;
        py.detach(|| self.raw.read(start, &mut buf)).py()?;
        self.dtype.read_array(py, &buf)
    }

    /// Copies the 1-d array `values` (of this dtype) into the elements
    /// from `start` (`InvalidArgumentError` when they do not fit; nothing
    /// written then).
    fn write(&self, py: Python<'_>, start: usize, values: &Bound<'_, PyAny>) -> PyResult<()> {
        let (bytes, _) = self.dtype.write_array(values)?;
        py.detach(|| self.raw.write(start, &bytes)).py()
    }

    /// A copy of every element, as a 1-d array.
    fn to_vec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.read(py, 0, self.raw.len())
    }

    /// A zero-copy 1-d numpy array over the shared elements (writable
    /// unless `writeable=False`).
    ///
    /// Caveat: numpy reads and writes these bytes with plain loads and
    /// stores, no atomicity: under a concurrent writer (in any process) an
    /// element can be seen torn, half old and half new, and numpy's own
    /// operations assume nobody else changes the data meanwhile. Use it for
    /// data written before a synchronising step (a Barrier, an Event, a
    /// Queue message) or owned by one writer at a time. The view keeps this
    /// handle, hence the mapping, alive (its `base`).
    #[pyo3(signature = (writeable = true))]
    fn view<'py>(slf: &Bound<'py, Self>, writeable: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let mut dims = [this.raw.len() as npyffi::npy_intp];
        let flags = if writeable {
            npyffi::NPY_ARRAY_CARRAY
        } else {
            npyffi::NPY_ARRAY_CARRAY_RO
        };
        let descr = this.dtype.descr(py);
        // SAFETY: `as_ptr` addresses `len` elements of this dtype's size
        // in the mapping, which lives while `this` (its Region's Arc) does.
        // PyArray_NewFromDescr steals the descriptor reference
        // (`into_dtype_ptr`), wraps that memory without copying or owning
        // it, and returns a new reference or null with an exception set.
        // PyArray_SetBaseObject steals the reference to `slf` it is given:
        // the array keeps the handle, hence the mapping, alive as long as
        // the array (or any view derived from it) exists. The memory is
        // shared with other processes: numpy's plain accesses are the
        // documented caveat above, the same contract as the Rust
        // `Array::as_slice`.
        unsafe {
            let arr = PY_ARRAY_API.PyArray_NewFromDescr(
                py,
                npyffi::get_type_object(py, NpyTypes::PyArray_Type),
                descr.into_dtype_ptr(),
                1,
                dims.as_mut_ptr(),
                std::ptr::null_mut(),
                this.raw.as_ptr().cast(),
                flags,
                std::ptr::null_mut(),
            );
            let arr = Bound::from_owned_ptr_or_err(py, arr)?;
            let base = slf.clone().into_any().into_ptr();
            if PY_ARRAY_API.PyArray_SetBaseObject(py, arr.as_ptr().cast(), base) != 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(arr)
        }
    }

    /// True when the array has no element.
    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The number of elements.
    fn __len__(&self) -> usize {
        self.raw.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Array(len={}, dtype={})",
            self.raw.len(),
            self.dtype.descr(py)
        )
    }
}
