//! `Stream` (with its `Subscriber`) and `StreamVoid`.

use std::sync::Mutex as StdMutex;

use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use zeroipc::raw::stream::RawSubscriber;
use zeroipc::raw::RawStream;
use zeroipc::{Error, StreamVoid};

use super::channel::sent;
use crate::data::{put, put_timeout, take, take_timeout};
use crate::dtype::DType;
use crate::errors::{to_py, IntoPyResult};
use crate::segment::PySegment;

/// A bounded stream of values of one dtype (`zeroipc::raw::RawStream`;
/// the typed `zeroipc::Stream<T>`'s and the C++ reference's bytes): one
/// producer emits, one consumer takes with `recv`, and any number of
/// subscribers read without taking (`subscribe()`).
///
/// `emit` waits while the buffer is full (backpressure), `try_emit`
/// returns False then, `emit_overwrite` drops the oldest element instead
/// (for streams read only by subscribers). After `close()`, readers get
/// what is left, then `ClosedError` (iteration stops).
///
/// >>> import os, numpy as np
/// >>> from zeroipc_rs import Segment, Stream
/// >>> name = f"/zeroipc-py-stream-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> s = Stream.create(seg, "ticks", 4, np.uint32)
/// >>> sub = s.subscribe()
/// >>> s.emit(1); s.emit(2); s.close()
/// >>> [int(v) for v in sub]   # a subscriber sees everything, takes nothing
/// [1, 2]
/// >>> (int(s.recv()), len(s))   # the consumer takes the oldest
/// (1, 1)
/// >>> Segment.unlink(name)
#[pyclass(name = "Stream", module = "zeroipc_rs", frozen)]
pub(crate) struct PyStream {
    inner: RawStream,
    dtype: DType,
}

/// A non-destructive reader of a `Stream`, positioned at the stream's end
/// when made. Iterating it yields values until the stream is closed and
/// read to its end; `OverrunError` (once) when the writer lapped it.
/// One thread at a time per subscriber (`RuntimeError` otherwise).
#[pyclass(name = "Subscriber", module = "zeroipc_rs", frozen)]
pub(crate) struct PySubscriber {
    /// `RawSubscriber` reads move its cursor (`&mut self`).
    inner: StdMutex<RawSubscriber>,
    dtype: DType,
    name: String,
}

impl PyStream {
    fn recv_for<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let s = &self.inner;
        // A value is there: no slicing machinery.
        if let Some(v) = take(py, &self.dtype, |out| s.try_recv(out))? {
            return Ok(v);
        }
        take_timeout(py, &self.dtype, timeout, |out, slice| {
            s.recv_timeout(out, slice)
        })
    }

    fn emit_for(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let s = &self.inner;
        // Room in the buffer: no slicing machinery.
        if put(&self.dtype, value, |v| sent(s.try_emit(v)))? {
            return Ok(());
        }
        put_timeout(py, &self.dtype, value, timeout, |v, slice| {
            s.emit_timeout(v, slice)
        })
    }
}

#[pymethods]
impl PyStream {
    /// Creates an open stream `name` buffering `capacity` values of
    /// `dtype` (entries `name_header` and `name_buffer`); `transform` is an
    /// optional name (at most 31 bytes) recorded in the header.
    #[staticmethod]
    #[pyo3(signature = (seg, name, capacity, dtype, transform = ""))]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
        transform: &str,
    ) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner =
            RawStream::create_with_transform(&seg.inner, name, dtype.layout(), capacity, transform)
                .py()?;
        Ok(PyStream { inner, dtype })
    }

    /// Opens the stream `name` for values of `dtype` (checked against the
    /// buffer's element size and the recorded layout).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner = RawStream::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyStream { inner, dtype })
    }

    /// Emits `value`, waiting while the buffer is full; `ClosedError` if
    /// closed. Single producer.
    fn emit(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.emit_for(py, value, None)
    }

    /// As `emit`, raising `ZeroIpcTimeoutError` after `timeout` seconds
    /// (nothing emitted then).
    fn emit_timeout(&self, py: Python<'_>, value: &Bound<'_, PyAny>, timeout: f64) -> PyResult<()> {
        self.emit_for(py, value, Some(timeout))
    }

    /// Emits `value` if there is room: True, else False (nothing changed);
    /// `ClosedError` if closed.
    fn try_emit(&self, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, value, |v| sent(self.inner.try_emit(v)))
    }

    /// Broadcast emit: drops the oldest element if the buffer is full,
    /// then emits; returns how many were dropped (0 or 1). Only for
    /// streams nobody takes from with `recv`.
    fn emit_overwrite(&self, value: &Bound<'_, PyAny>) -> PyResult<u64> {
        put(&self.dtype, value, |v| self.inner.emit_overwrite(v))
    }

    /// Takes the next value if there is one, else None; `ClosedError` once
    /// closed and drained. Single consumer.
    fn try_recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |out| self.inner.try_recv(out))
    }

    /// Takes the next value, waiting for one; `ClosedError` once closed and
    /// drained.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.recv_for(py, None)
    }

    /// As `recv`, raising `ZeroIpcTimeoutError` after `timeout` seconds.
    fn recv_timeout<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        self.recv_for(py, Some(timeout))
    }

    /// A new subscriber positioned at the stream's current end.
    fn subscribe(&self, py: Python<'_>) -> PyResult<PySubscriber> {
        // The same dtype, checked again (cheap: a dtype object).
        let dtype = DType::from_py(&self.dtype.descr(py).into_any())?;
        Ok(PySubscriber {
            inner: StdMutex::new(self.inner.subscribe()),
            dtype,
            name: self.inner.name().to_owned(),
        })
    }

    /// Closes the stream: no more emits; readers get what is left.
    fn close(&self) {
        self.inner.close()
    }

    /// True once closed.
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Values buffered and not yet taken (a snapshot).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is buffered (a snapshot).
    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The buffer's capacity in values.
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// Values emitted so far.
    fn sequence(&self) -> u64 {
        self.inner.sequence()
    }

    /// Subscribers attached now.
    fn subscriber_count(&self) -> u32 {
        self.inner.subscriber_count()
    }

    /// The transform name recorded at creation ("" if none).
    fn transform_name(&self) -> String {
        self.inner.transform_name()
    }

    /// The buffered values, oldest first, without taking them (for tools).
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes: Vec<u8> = self.inner.items().concat();
        self.dtype.read_array(py, &bytes)
    }

    /// The value dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn __repr__(&self) -> String {
        format!(
            "Stream(name={:?}, capacity={}, len={}, closed={})",
            self.inner.name(),
            self.inner.capacity(),
            self.inner.len(),
            self.inner.is_closed()
        )
    }
}

impl PySubscriber {
    /// Runs `f` on the subscriber, refusing a concurrent caller.
    fn with<R>(&self, f: impl FnOnce(&mut RawSubscriber) -> PyResult<R>) -> PyResult<R> {
        let mut s = self.inner.try_lock().map_err(|_| {
            PyRuntimeError::new_err(format!(
                "Subscriber of {:?}: in use by another thread (subscribe once per thread)",
                self.name
            ))
        })?;
        f(&mut s)
    }

    fn next_for<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        self.with(|s| {
            take_timeout(py, &self.dtype, timeout, move |out, slice| {
                s.next_timeout(out, slice)
            })
        })
    }
}

#[pymethods]
impl PySubscriber {
    /// Values emitted but not yet read by this subscriber (more than the
    /// capacity means it was lapped).
    fn lag(&self) -> PyResult<u64> {
        self.with(|s| Ok(s.lag()))
    }

    /// The next value if one is available, else None; `OverrunError` (once,
    /// then reading continues) when values were lost; `ClosedError` once
    /// closed and read to the end.
    fn try_next<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.with(|s| take(py, &self.dtype, |out| s.try_next(out)))
    }

    /// The next value, waiting for one.
    fn next_blocking<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.next_for(py, None)
    }

    /// As `next_blocking`, raising `ZeroIpcTimeoutError` after `timeout`
    /// seconds.
    fn next_timeout<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        self.next_for(py, Some(timeout))
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// `next_blocking`, ending the iteration once the stream is closed and
    /// read to its end.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.next_for(py, None) {
            Err(e) if is_closed_error(py, &e) => Err(PyStopIteration::new_err(())),
            other => other,
        }
    }

    fn __repr__(&self) -> String {
        format!("Subscriber(stream={:?})", self.name)
    }
}

/// True for the `ClosedError` of this module's hierarchy.
pub(crate) fn is_closed_error(py: Python<'_>, e: &PyErr) -> bool {
    let closed = to_py(Error::Closed {
        name: String::new(),
        kind: "",
    });
    e.get_type(py).is(closed.get_type(py))
}

/// A stream without values: an event counter (`zeroipc::StreamVoid`, the
/// C++ reference's `Stream<void>`).
///
/// >>> import os
/// >>> from zeroipc_rs import Segment, StreamVoid
/// >>> name = f"/zeroipc-py-streamvoid-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> ticks = StreamVoid.create(seg, "ticks")
/// >>> ticks.emit(); ticks.close(); ticks.emit()
/// True
/// False
/// >>> StreamVoid.open(seg, "ticks").count()
/// 1
/// >>> Segment.unlink(name)
#[pyclass(name = "StreamVoid", module = "zeroipc_rs", frozen)]
pub(crate) struct PyStreamVoid {
    inner: StreamVoid,
    name: String,
}

#[pymethods]
impl PyStreamVoid {
    /// Creates an open event counter at 0.
    #[staticmethod]
    fn create(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = StreamVoid::create(&seg.inner, name).py()?;
        Ok(PyStreamVoid {
            inner,
            name: name.to_owned(),
        })
    }

    /// Opens the counter `name`.
    #[staticmethod]
    fn open(seg: &PySegment, name: &str) -> PyResult<Self> {
        let inner = StreamVoid::open(&seg.inner, name).py()?;
        Ok(PyStreamVoid {
            inner,
            name: name.to_owned(),
        })
    }

    /// Counts one event: True, or False (not counted) once closed.
    fn emit(&self) -> bool {
        self.inner.emit()
    }

    /// Events counted so far.
    fn count(&self) -> u64 {
        self.inner.count()
    }

    /// Closes the counter.
    fn close(&self) {
        self.inner.close()
    }

    /// True once closed.
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamVoid(name={:?}, count={}, closed={})",
            self.name,
            self.inner.count(),
            self.inner.is_closed()
        )
    }
}

/// Adds Stream, Subscriber and StreamVoid to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStream>()?;
    m.add_class::<PySubscriber>()?;
    m.add_class::<PyStreamVoid>()?;
    Ok(())
}
