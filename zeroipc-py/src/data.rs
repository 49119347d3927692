//! The data kinds: Array, Queue, Stack, Ring, Pool, Map, Set.
//!
//! Each Python class wraps the runtime's run-time-layout handle
//! (`zeroipc::raw::RawX`, which keeps the segment mapped) and the element
//! [`DType`]; values are converted to and from the element's bytes by the
//! dtype, and every protocol step is the runtime's. The helpers here are
//! the shapes every value-carrying operation takes (also used by the
//! codata kinds).

use std::time::Duration;

use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;

use crate::blocking::blocking_timeout;
use crate::dtype::{DType, ElemBuf};
use crate::errors::IntoPyResult;

mod array;
mod map;
mod pool;
mod queue;
mod ring;
mod set;
mod stack;

/// Adds the data kinds to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<array::PyArrayKind>()?;
    m.add_class::<queue::PyQueue>()?;
    m.add_class::<stack::PyStack>()?;
    m.add_class::<ring::PyRing>()?;
    m.add_class::<pool::PyPool>()?;
    m.add_class::<map::PyMap>()?;
    m.add_class::<map::PyMapInsert>()?;
    m.add_class::<set::PySet>()?;
    m.add_class::<set::PySetInsert>()?;
    Ok(())
}

/// Converts `v` to one element of `dtype` and hands its bytes to `op`
/// (a non-blocking runtime call, run with the GIL held).
pub(crate) fn put<T>(
    dtype: &DType,
    v: &Bound<'_, PyAny>,
    op: impl FnOnce(&[u8]) -> zeroipc::Result<T>,
) -> PyResult<T> {
    let mut buf = ElemBuf::new(dtype.itemsize());
    dtype.write_value(v, buf.bytes_mut())?;
    op(buf.bytes()).py()
}

/// Runs `op` on an element buffer; the element as a numpy value when it
/// returns true, `None` when false (a non-blocking runtime call).
pub(crate) fn take<'py>(
    py: Python<'py>,
    dtype: &DType,
    op: impl FnOnce(&mut [u8]) -> zeroipc::Result<bool>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let mut buf = ElemBuf::new(dtype.itemsize());
    if op(buf.bytes_mut()).py()? {
        Ok(Some(dtype.read_value(py, buf.bytes())?))
    } else {
        Ok(None)
    }
}

/// [`put`] for a runtime `_timeout` operation: waits with the GIL
/// released, in slices (see [`crate::blocking`]); `timeout_s` None waits
/// forever.
pub(crate) fn put_timeout<T: Send>(
    py: Python<'_>,
    dtype: &DType,
    v: &Bound<'_, PyAny>,
    timeout_s: Option<f64>,
    mut op: impl FnMut(&[u8], Duration) -> zeroipc::Result<T> + Send,
) -> PyResult<T> {
    let mut buf = ElemBuf::new(dtype.itemsize());
    dtype.write_value(v, buf.bytes_mut())?;
    let bytes = buf.bytes();
    blocking_timeout(py, timeout_s, move |slice| op(bytes, slice))
}

/// [`take`] for a runtime `_timeout` operation (which fills the buffer or
/// fails with a timeout): waits with the GIL released, in slices.
pub(crate) fn take_timeout<'py>(
    py: Python<'py>,
    dtype: &DType,
    timeout_s: Option<f64>,
    mut op: impl FnMut(&mut [u8], Duration) -> zeroipc::Result<()> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let mut buf = ElemBuf::new(dtype.itemsize());
    let bytes = buf.bytes_mut();
    blocking_timeout(py, timeout_s, move |slice| op(&mut *bytes, slice))?;
    dtype.read_value(py, buf.bytes())
}

/// A zeroed buffer for up to `max` elements of `dtype`; a `ValueError`
/// naming the values when the size overflows, a `MemoryError` when it
/// cannot be allocated (never an abort). Callers that know a bound (a
/// structure's capacity) use [`batch_buffer_upto`].
pub(crate) fn batch_buffer(dtype: &DType, max: usize) -> PyResult<Vec<u8>> {
    let len = max.checked_mul(dtype.itemsize()).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{max} elements of {} bytes overflow the address space",
            dtype.itemsize()
        ))
    })?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| {
        PyMemoryError::new_err(format!(
            "cannot allocate {len} bytes for {max} elements of {} bytes",
            dtype.itemsize()
        ))
    })?;
    buf.resize(len, 0);
    Ok(buf)
}

/// [`batch_buffer`] for at most `min(max, limit)` elements: a batch take
/// from a structure of `limit` slots can return no more, so a large `max`
/// allocates nothing extra.
pub(crate) fn batch_buffer_upto(dtype: &DType, max: usize, limit: usize) -> PyResult<Vec<u8>> {
    batch_buffer(dtype, max.min(limit))
}

/// `i` (negative counts from the end, as Python sequences do) as an index
/// below `len`; an `IndexError` naming both otherwise.
pub(crate) fn py_index(i: isize, len: usize) -> PyResult<usize> {
    let j = if i < 0 {
        i.checked_add_unsigned(len)
    } else {
        Some(i)
    };
    match j {
        Some(j) if j >= 0 && (j as usize) < len => Ok(j as usize),
        _ => Err(pyo3::exceptions::PyIndexError::new_err(format!(
            "index {i} out of range for length {len}"
        ))),
    }
}
