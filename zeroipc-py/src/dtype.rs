//! Element types given as numpy dtypes.
//!
//! A [`DType`] is a `numpy.dtype` checked once (sized, no Python objects,
//! no top-level subarray) with its size and alignment cached as the
//! runtime's [`ElemLayout`], and the conversions between Python values and
//! the element's bytes:
//!
//! - in: a numpy scalar or record of the dtype, a plain `int`/`float`/`bool`
//!   for scalar dtypes, or anything `numpy.asarray(v, dtype)` turns into one
//!   element (a tuple for a structured dtype, a 0-d or 1-element array);
//! - out: a numpy scalar (`numpy.uint64`, ...) or a `numpy.void` record,
//!   made by the NumPy C API from the bytes (`PyArray_Scalar`).
//!
//! The common case, a native-order integer, float or bool dtype with a
//! Python number or a numpy scalar of exactly that type, never calls a
//! Python-level function.

use std::os::raw::c_void;

use numpy::npyffi::{self, NpyTypes, NPY_TYPES, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyTuple, PyType};
use zeroipc::format::map::KeyLayout;
use zeroipc::format::ElemLayout;
use zeroipc::layout::Prim;

/// A native-byte-order numeric dtype with a conversion that needs no numpy
/// call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    /// Signed integer of the dtype's itemsize (1, 2, 4 or 8 bytes).
    Int,
    /// Unsigned integer of the dtype's itemsize (1, 2, 4 or 8 bytes).
    UInt,
    /// `float32` or `float64`.
    Float,
    /// `bool` (one byte, 0 or 1).
    Bool,
}

/// An element type: a checked numpy dtype and its layout.
#[derive(Debug)]
pub(crate) struct DType {
    /// The `numpy.dtype` object.
    descr: Py<PyArrayDescr>,
    /// `dtype.type` (`numpy.uint64`, `numpy.void`, ...): a value of exactly
    /// this type is copied with `PyArray_ScalarAsCtype`.
    scalar_type: Py<PyType>,
    /// `dtype.itemsize` (> 0).
    itemsize: usize,
    /// The runtime's view of the element: itemsize and `dtype.alignment`.
    layout: ElemLayout,
    /// The fast path, when the dtype has one.
    scalar: Option<ScalarKind>,
    /// The tuple fast path of a record dtype whose fields are all numbers
    /// or bytes.
    fields: Option<Vec<Field>>,
    /// Byte ranges of a record dtype that no field covers (padding, also
    /// in nested records): zeroed in every element written, since numpy
    /// leaves whatever its allocation held there, and Map/Set keys of a
    /// record type hash and compare all their bytes.
    padding: Vec<(usize, usize)>,
}

/// `numpy.asarray`, looked up once.
static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// One element's bytes with the alignment of any numpy scalar (16):
/// `PyArray_Scalar`/`PyArray_ScalarAsCtype` read and write C values there.
/// Elements up to 64 bytes live inline (no allocation per operation).
pub(crate) struct ElemBuf {
    inline: [u128; 4],
    heap: Vec<u128>,
    len: usize,
}

impl ElemBuf {
    /// `len` zero bytes.
    pub(crate) fn new(len: usize) -> ElemBuf {
        let heap = if len > 64 {
            vec![0; len.div_ceil(16)]
        } else {
            Vec::new()
        };
        ElemBuf {
            inline: [0; 4],
            heap,
            len,
        }
    }

    fn words(&self) -> *const u128 {
        if self.len > 64 {
            self.heap.as_ptr()
        } else {
            self.inline.as_ptr()
        }
    }

    fn words_mut(&mut self) -> *mut u128 {
        if self.len > 64 {
            self.heap.as_mut_ptr()
        } else {
            self.inline.as_mut_ptr()
        }
    }

    /// The element's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `words()` owns at least `len` initialised bytes (inline:
        // len <= 64 = 4 x 16; heap: ceil(len / 16) words) and the slice
        // borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words().cast(), self.len) }
    }

    /// The element's bytes, writable.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably from `self`.
        unsafe { std::slice::from_raw_parts_mut(self.words_mut().cast(), self.len) }
    }
}

impl DType {
    /// Checks and caches anything `numpy.dtype()` accepts (`np.uint64`,
    /// `"<u4"`, a structured dtype as zeroipc-gen emits it with
    /// `align=True`, an existing dtype). Refuses object dtypes (and records
    /// holding objects), unsized dtypes (`"S"`, `"U"`, `"V0"`) and top-level
    /// subarrays with a `TypeError` naming the dtype.
    pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
        let py = obj.py();
        let descr = PyArrayDescr::new(py, obj)?;
        let refuse = |why: &str| -> PyErr {
            let shown = descr.repr().map(|r| r.to_string()).unwrap_or_default();
            PyTypeError::new_err(format!("dtype {shown} cannot be an element type: {why}"))
        };
        if descr.has_object() {
            return Err(refuse("it holds Python objects"));
        }
        if descr.has_subarray() {
            return Err(refuse(
                "a subarray dtype (wrap it in a structured dtype field instead)",
            ));
        }
        let itemsize = descr.itemsize();
        if itemsize == 0 {
            return Err(refuse("it has no size (give a length, e.g. 'S16')"));
        }
        let align = descr.alignment().max(1);
        let layout = ElemLayout::new(itemsize as u64, align as u64).ok_or_else(|| {
            refuse(&format!(
                "itemsize {itemsize} is not a multiple of alignment {align}"
            ))
        })?;
        let scalar = scalar_kind_of(&descr);
        let fields = record_fields(&descr)?;
        let padding = padding_of(&descr)?;
        Ok(DType {
            scalar_type: descr.typeobj().unbind(),
            descr: descr.unbind(),
            itemsize,
            layout,
            scalar,
            fields,
            padding,
        })
    }

    /// The runtime's element layout (itemsize, alignment).
    pub(crate) fn layout(&self) -> ElemLayout {
        self.layout
    }

    /// The layout as a Map key or Set element: native-order integers and
    /// floats hash and compare as those primitives (as a Rust `Map<u64, _>`
    /// does), every other dtype as its bytes.
    pub(crate) fn key_layout(&self) -> KeyLayout {
        let prim = match (self.scalar, self.itemsize) {
            (Some(ScalarKind::Int), 1) => Some(Prim::I8),
            (Some(ScalarKind::Int), 2) => Some(Prim::I16),
            (Some(ScalarKind::Int), 4) => Some(Prim::I32),
            (Some(ScalarKind::Int), 8) => Some(Prim::I64),
            (Some(ScalarKind::UInt), 1) => Some(Prim::U8),
            (Some(ScalarKind::UInt), 2) => Some(Prim::U16),
            (Some(ScalarKind::UInt), 4) => Some(Prim::U32),
            (Some(ScalarKind::UInt), 8) => Some(Prim::U64),
            (Some(ScalarKind::Float), 4) => Some(Prim::F32),
            (Some(ScalarKind::Float), 8) => Some(Prim::F64),
            _ => None,
        };
        prim.and_then(|p| KeyLayout::new(self.layout, Some(p)))
            .unwrap_or_else(|| KeyLayout::bytes(self.layout))
    }

    /// Bytes per element.
    pub(crate) fn itemsize(&self) -> usize {
        self.itemsize
    }

    /// The `numpy.dtype` object.
    pub(crate) fn descr<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDescr> {
        self.descr.bind(py).clone()
    }

    /// `repr(dtype)`, for messages.
    pub(crate) fn shown(&self, py: Python<'_>) -> String {
        self.descr
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// Writes `v` as one element into `out` (`out.len()` must be
    /// [`DType::itemsize`]). Nothing is written when `v` is refused.
    pub(crate) fn write_value(&self, v: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<()> {
        if out.len() != self.itemsize {
            return Err(PyValueError::new_err(format!(
                "element buffer of {} bytes for dtype of itemsize {}",
                out.len(),
                self.itemsize
            )));
        }
        if let Some(kind) = self.scalar {
            if self.write_fast(kind, v, out)? {
                return Ok(());
            }
        }
        if self.write_record_tuple(v, out)? {
            return Ok(());
        }
        if !self.write_numpy_scalar(v, out)? {
            self.write_generic(v, out)?;
        }
        for &(start, end) in &self.padding {
            out[start..end].fill(0);
        }
        Ok(())
    }

    /// The element bytes of `v` as a new vector.
    pub(crate) fn to_bytes(&self, v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        let mut out = vec![0u8; self.itemsize];
        self.write_value(v, &mut out)?;
        Ok(out)
    }

    /// The fast path: `Ok(false)` when `v` is not a value it handles.
    fn write_fast(&self, kind: ScalarKind, v: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<bool> {
        let py = v.py();
        if v.get_type().is(self.scalar_type.bind(py)) {
            // A numpy scalar of exactly this dtype's type: its C value.
            let mut tmp = ElemBuf::new(self.itemsize);
            // SAFETY: `v` is a numpy scalar whose type is this dtype's, so
            // PyArray_ScalarAsCtype writes exactly itemsize bytes of its C
            // value to the 16-aligned buffer of itemsize bytes.
            unsafe {
                PY_ARRAY_API.PyArray_ScalarAsCtype(
                    py,
                    v.as_ptr(),
                    tmp.bytes_mut().as_mut_ptr().cast::<c_void>(),
                );
            }
            out.copy_from_slice(tmp.bytes());
            return Ok(true);
        }
        write_py_number(kind, v, out, || self.shown(py))
    }

    /// A tuple of plain Python values for a record dtype with
    /// [`record_fields`]: each field written in place, padding zeroed.
    /// `Ok(false)` (and `out` to be overwritten by the next path) when `v`
    /// is not such a tuple or holds a value the fast path does not take.
    fn write_record_tuple(&self, v: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<bool> {
        let (Some(fields), Ok(tuple)) = (&self.fields, v.cast::<PyTuple>()) else {
            return Ok(false);
        };
        if tuple.len() != fields.len() {
            return Ok(false);
        }
        out.fill(0);
        for (f, item) in fields.iter().zip(tuple.iter()) {
            let dst = &mut out[f.offset..f.offset + f.size];
            let done = match f.number {
                Some(kind) => write_py_number(kind, &item, dst, || self.shown(v.py()))?,
                None => match item.cast::<PyBytes>() {
                    Ok(b) => {
                        // numpy's rule: truncated to the field, zero-padded.
                        let src = b.as_bytes();
                        let n = src.len().min(f.size);
                        dst[..n].copy_from_slice(&src[..n]);
                        true
                    }
                    Err(_) => false,
                },
            };
            if !done {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A numpy scalar (a record from another structure, say) whose dtype is
    /// equivalent to this one: its bytes, with no conversion. `Ok(false)`
    /// for anything else.
    fn write_numpy_scalar(&self, v: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<bool> {
        let py = v.py();
        // SAFETY: a type check against numpy's `generic` scalar type object
        // (a static numpy exports); `v` is a live object.
        let is_generic = unsafe {
            let generic = npyffi::get_type_object(py, NpyTypes::PyGenericArrType_Type);
            pyo3::ffi::PyObject_TypeCheck(v.as_ptr(), generic) != 0
        };
        if !is_generic {
            return Ok(false);
        }
        // SAFETY: `v` is a numpy scalar, for which PyArray_DescrFromScalar
        // returns a new reference to its descriptor (or null with an
        // exception set).
        let descr = unsafe {
            let d = PY_ARRAY_API.PyArray_DescrFromScalar(py, v.as_ptr());
            Bound::from_owned_ptr_or_err(py, d.cast())?.cast_into_unchecked::<PyArrayDescr>()
        };
        if !descr.is_equiv_to(self.descr.bind(py)) {
            return Ok(false);
        }
        let num = descr.num();
        let extended = (NPY_TYPES::NPY_STRING as i32..=NPY_TYPES::NPY_VOID as i32).contains(&num);
        let mut tmp = ElemBuf::new(self.itemsize);
        // SAFETY: `v` is a numpy scalar of a dtype equivalent to this one
        // (same itemsize). PyArray_ScalarAsCtype copies the C value of a
        // fixed-size type into the buffer (itemsize bytes, 16-aligned);
        // for the "extended" types (bytes, str, void records) it stores a
        // pointer to the scalar's itemsize data bytes instead, which stay
        // valid while `v` lives, and we copy from there.
        unsafe {
            if extended {
                let mut data: *mut c_void = std::ptr::null_mut();
                PY_ARRAY_API.PyArray_ScalarAsCtype(
                    py,
                    v.as_ptr(),
                    (&raw mut data).cast::<c_void>(),
                );
                if data.is_null() {
                    return Ok(false);
                }
                std::ptr::copy_nonoverlapping(data.cast::<u8>(), out.as_mut_ptr(), self.itemsize);
            } else {
                PY_ARRAY_API.PyArray_ScalarAsCtype(
                    py,
                    v.as_ptr(),
                    tmp.bytes_mut().as_mut_ptr().cast::<c_void>(),
                );
                out.copy_from_slice(tmp.bytes());
            }
        }
        Ok(true)
    }

    /// `numpy.asarray(v, dtype)`, which must hold exactly one element.
    fn write_generic(&self, v: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<()> {
        let py = v.py();
        let arr = self.asarray(v)?;
        if arr.len() != 1 {
            return Err(PyValueError::new_err(format!(
                "expected one value of dtype {}, got {} values (shape {:?})",
                self.shown(py),
                arr.len(),
                arr.shape()
            )));
        }
        // SAFETY: `arr` is a live array of this dtype holding one element,
        // so its data pointer addresses itemsize readable bytes; `out` has
        // itemsize bytes (checked by `write_value`).
        unsafe {
            let data = (*arr.as_array_ptr()).fields.data.cast::<u8>();
            std::ptr::copy_nonoverlapping(data, out.as_mut_ptr(), self.itemsize);
        }
        Ok(())
    }

    /// `numpy.asarray(obj, dtype=self)` as an array.
    fn asarray<'py>(&self, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
        let py = obj.py();
        let asarray = ASARRAY.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("numpy")?.getattr("asarray")?.unbind())
        })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("dtype", self.descr.bind(py))?;
        let arr = asarray.bind(py).call((obj,), Some(&kwargs))?;
        Ok(arr.cast_into::<PyUntypedArray>()?)
    }

    /// The element in `bytes` (`bytes.len()` must be the itemsize) as a numpy
    /// scalar or record (a copy: it does not alias `bytes`).
    pub(crate) fn read_value<'py>(
        &self,
        py: Python<'py>,
        bytes: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        if bytes.len() != self.itemsize {
            return Err(PyValueError::new_err(format!(
                "element of {} bytes for dtype of itemsize {}",
                bytes.len(),
                self.itemsize
            )));
        }
        let mut copy = None;
        let data = if (bytes.as_ptr() as usize) % 16 == 0 {
            bytes.as_ptr()
        } else {
            let tmp = copy.insert(ElemBuf::new(self.itemsize));
            tmp.bytes_mut().copy_from_slice(bytes);
            tmp.bytes().as_ptr()
        };
        // SAFETY: `data` addresses one element of this dtype, 16-aligned,
        // alive until the call returns (`bytes` or `copy`); PyArray_Scalar
        // with a null base copies it into a new scalar (it never writes
        // through the pointer) and returns a new reference, or null with an
        // exception set.
        unsafe {
            let obj = PY_ARRAY_API.PyArray_Scalar(
                py,
                data.cast_mut().cast::<c_void>(),
                self.descr.bind(py).as_dtype_ptr(),
                std::ptr::null_mut(),
            );
            Bound::from_owned_ptr_or_err(py, obj)
        }
    }

    /// The elements of a 1-d array-like `obj` as bytes (C order). An
    /// ndarray must already have this dtype (`TypeError` naming both
    /// otherwise); other sequences go through `numpy.asarray(obj, dtype)`.
    /// Returns the bytes (record padding zeroed) and the element count.
    pub(crate) fn write_array(&self, obj: &Bound<'_, PyAny>) -> PyResult<(Vec<u8>, usize)> {
        let py = obj.py();
        if let Ok(given) = obj.cast::<PyUntypedArray>() {
            let dt = given.dtype();
            if !dt.is_equiv_to(self.descr.bind(py)) {
                return Err(PyTypeError::new_err(format!(
                    "array of dtype {} given where dtype {} is expected",
                    dt.repr()?,
                    self.shown(py)
                )));
            }
        }
        let arr = self.asarray(obj)?;
        if arr.ndim() != 1 {
            return Err(PyValueError::new_err(format!(
                "expected a 1-d array of dtype {}, got shape {:?}",
                self.shown(py),
                arr.shape()
            )));
        }
        let n = arr.len();
        let contiguous = if arr.is_c_contiguous() {
            arr
        } else {
            let ascontig = py.import("numpy")?.getattr("ascontiguousarray")?;
            ascontig.call1((arr,))?.cast_into::<PyUntypedArray>()?
        };
        let mut out = vec![0u8; n * self.itemsize];
        // SAFETY: `contiguous` is a live C-contiguous array of n elements of
        // this dtype: its data pointer addresses n * itemsize bytes.
        unsafe {
            let data = (*contiguous.as_array_ptr()).fields.data.cast::<u8>();
            std::ptr::copy_nonoverlapping(data, out.as_mut_ptr(), out.len());
        }
        if !self.padding.is_empty() {
            for elem in out.chunks_exact_mut(self.itemsize) {
                for &(start, end) in &self.padding {
                    elem[start..end].fill(0);
                }
            }
        }
        Ok((out, n))
    }

    /// A new 1-d array of this dtype holding the elements in `bytes`
    /// (`bytes.len()` a multiple of the itemsize).
    pub(crate) fn read_array<'py>(
        &self,
        py: Python<'py>,
        bytes: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        if bytes.len() % self.itemsize != 0 {
            return Err(PyValueError::new_err(format!(
                "{} bytes is not a whole number of {}-byte elements",
                bytes.len(),
                self.itemsize
            )));
        }
        let mut dims = [(bytes.len() / self.itemsize) as npyffi::npy_intp];
        let descr = self.descr.bind(py).clone();
        // SAFETY: PyArray_NewFromDescr steals the descriptor reference
        // (`into_dtype_ptr` hands one over) and allocates a C-contiguous
        // 1-d array of dims[0] elements (data null: numpy allocates), or
        // returns null with an exception set. Its fresh buffer has
        // bytes.len() bytes, which the copy fills.
        unsafe {
            let arr = PY_ARRAY_API.PyArray_NewFromDescr(
                py,
                npyffi::get_type_object(py, NpyTypes::PyArray_Type),
                descr.into_dtype_ptr(),
                1,
                dims.as_mut_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
            );
            let arr = Bound::from_owned_ptr_or_err(py, arr)?;
            let data = (*arr.as_ptr().cast::<npyffi::PyArrayObject>())
                .fields
                .data
                .cast::<u8>();
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            Ok(arr)
        }
    }
}

/// The fast path of `kind`'s element from a plain Python number (an `int`
/// for integer dtypes, a `float` or `int` for float dtypes, a `bool` for
/// bool); `Ok(false)` for any other value. `out.len()` is the element size
/// (1, 2, 4 or 8); `shown` names the dtype in an overflow message.
fn write_py_number(
    kind: ScalarKind,
    v: &Bound<'_, PyAny>,
    out: &mut [u8],
    shown: impl Fn() -> String,
) -> PyResult<bool> {
    match kind {
        ScalarKind::Int | ScalarKind::UInt if v.is_instance_of::<PyInt>() => {
            write_int(kind, v, out, shown)?;
            Ok(true)
        }
        ScalarKind::Float
            if v.is_exact_instance_of::<PyFloat>() || v.is_exact_instance_of::<PyInt>() =>
        {
            let x: f64 = v.extract()?;
            if out.len() == 4 {
                out.copy_from_slice(&(x as f32).to_ne_bytes());
            } else {
                out.copy_from_slice(&x.to_ne_bytes());
            }
            Ok(true)
        }
        ScalarKind::Bool if v.is_exact_instance_of::<PyBool>() => {
            out[0] = u8::from(v.is_truthy()?);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A Python int into an integer element of `out.len()` bytes, range-checked
/// like numpy (`OverflowError` naming the value and the dtype).
fn write_int(
    kind: ScalarKind,
    v: &Bound<'_, PyAny>,
    out: &mut [u8],
    shown: impl Fn() -> String,
) -> PyResult<()> {
    let size = out.len();
    let bits = size * 8;
    let overflow = || {
        PyOverflowError::new_err(format!(
            "Python integer {} out of bounds for {}",
            v.str().map(|s| s.to_string()).unwrap_or_default(),
            shown()
        ))
    };
    let value: i128 = match v.extract::<i64>() {
        Ok(x) => i128::from(x),
        Err(_) => i128::from(v.extract::<u64>().map_err(|_| overflow())?),
    };
    let (lo, hi) = match kind {
        ScalarKind::Int => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
        _ => (0, (1i128 << bits) - 1),
    };
    if value < lo || value > hi {
        return Err(overflow());
    }
    // Two's complement: the low `size` bytes of the i128.
    let bytes = value.to_ne_bytes();
    if cfg!(target_endian = "little") {
        out.copy_from_slice(&bytes[..size]);
    } else {
        out.copy_from_slice(&bytes[16 - size..]);
    }
    Ok(())
}

/// The fast-path kind of a native-order numeric dtype, if it has one.
fn scalar_kind_of(descr: &Bound<'_, PyArrayDescr>) -> Option<ScalarKind> {
    let native = descr.is_native_byteorder() != Some(false);
    match (native, descr.kind(), descr.itemsize()) {
        (true, b'i', 1 | 2 | 4 | 8) => Some(ScalarKind::Int),
        (true, b'u', 1 | 2 | 4 | 8) => Some(ScalarKind::UInt),
        (true, b'f', 4 | 8) => Some(ScalarKind::Float),
        (true, b'b', 1) => Some(ScalarKind::Bool),
        _ => None,
    }
}

/// A field of a record dtype the tuple fast path can fill.
#[derive(Debug, Clone, Copy)]
struct Field {
    /// Byte offset in the record.
    offset: usize,
    /// Field size in bytes.
    size: usize,
    /// A fast-path number, or `None` for a fixed-length bytes field (`S<n>`).
    number: Option<ScalarKind>,
}

/// The fields of a record dtype, in order, when every one is a fast-path
/// number or a bytes field (`None` otherwise: nested records, subarrays,
/// strings, ... go through numpy).
fn record_fields(descr: &Bound<'_, PyArrayDescr>) -> PyResult<Option<Vec<Field>>> {
    let Some(names) = descr.names() else {
        return Ok(None);
    };
    let mut fields = Vec::with_capacity(names.len());
    for name in names {
        let (fd, offset) = descr.get_field(&name)?;
        if fd.has_fields() || fd.has_subarray() {
            return Ok(None);
        }
        let size = fd.itemsize();
        // numpy keeps fields inside the record; a dtype that did not would
        // simply take the numpy path.
        if offset
            .checked_add(size)
            .is_none_or(|end| end > descr.itemsize())
        {
            return Ok(None);
        }
        let number = scalar_kind_of(&fd);
        if number.is_none() && fd.kind() != b'S' {
            return Ok(None);
        }
        fields.push(Field {
            offset,
            size,
            number,
        });
    }
    Ok(Some(fields))
}

/// The byte ranges of `descr` no field covers, nested records included
/// (empty for a dtype without fields). A subarray field counts as covered.
fn padding_of(descr: &Bound<'_, PyArrayDescr>) -> PyResult<Vec<(usize, usize)>> {
    let size = descr.itemsize();
    let mut covered = vec![false; size];
    if descr.has_fields() {
        mark_fields(descr, 0, &mut covered)?;
    } else {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < size {
        if covered[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < size && !covered[i] {
            i += 1;
        }
        out.push((start, i));
    }
    Ok(out)
}

/// Marks the bytes of `descr`'s fields, at `base` in the outer record.
fn mark_fields(descr: &Bound<'_, PyArrayDescr>, base: usize, covered: &mut [bool]) -> PyResult<()> {
    for name in descr.names().unwrap_or_default() {
        let (fd, offset) = descr.get_field(&name)?;
        let start = base.saturating_add(offset);
        if fd.has_fields() && !fd.has_subarray() {
            mark_fields(&fd, start, covered)?;
        } else {
            let end = start.saturating_add(fd.itemsize()).min(covered.len());
            if let Some(bytes) = covered.get_mut(start.min(end)..end) {
                bytes.fill(true);
            }
        }
    }
    Ok(())
}
