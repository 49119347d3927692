//! `Channel` (buffered or unbuffered) and `select` over channels.

use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use zeroipc::raw::channel::select as raw_select;
use zeroipc::raw::RawChannel;
use zeroipc::Error;

use super::stream::is_closed_error;
use crate::blocking::blocking_timeout;
use crate::data::{batch_buffer, put, put_timeout, take, take_timeout};
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A channel between processes (`zeroipc::raw::RawChannel`; the typed
/// `zeroipc::Channel<T>`'s and the C++ reference's bytes): buffered with
/// `capacity` > 0 (rounded up to a power of two of at least 2), or
/// unbuffered (`capacity` 0: a send waits until a receiver takes the value).
/// Any number of senders and receivers.
///
/// `send`/`recv` wait (GIL released, Ctrl-C raises KeyboardInterrupt), the
/// `_timeout` forms raise `ZeroIpcTimeoutError`, `try_send` returns False
/// when the value could not be delivered now, `try_recv` None when nothing
/// is there. After `close()`, sends raise `ClosedError`; receivers get what
/// is left, then `ClosedError`, and iteration (`for v in ch`) stops.
///
/// >>> import os, numpy as np
/// >>> from zeroipc_rs import Segment, Channel, select
/// >>> name = f"/zeroipc-py-channel-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> a = Channel.create(seg, "a", 4, np.int64)
/// >>> b = Channel.create(seg, "b", 4, np.int64)
/// >>> b.send(7); select([a, b], 1.0)
/// (1, np.int64(7))
/// >>> a.send(1); a.send(2); a.close()
/// >>> [int(v) for v in a]
/// [1, 2]
/// >>> Segment.unlink(name)
#[pyclass(name = "Channel", module = "zeroipc_rs", frozen)]
pub(crate) struct PyChannel {
    inner: RawChannel,
    dtype: DType,
}

impl PyChannel {
    fn recv_for<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let c = &self.inner;
        // A value is there: no slicing machinery (about a third of the call).
        if let Some(v) = take(py, &self.dtype, |out| c.try_recv(out))? {
            return Ok(v);
        }
        take_timeout(py, &self.dtype, timeout, |out, slice| {
            c.recv_timeout(out, slice)
        })
    }

    fn send_for(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let c = &self.inner;
        // Room in the buffer: no slicing machinery. (Not unbuffered: its
        // try_send offers the value to waiting receivers for a while.)
        if c.capacity() > 0 && put(&self.dtype, value, |v| sent(c.try_send(v)))? {
            return Ok(());
        }
        put_timeout(py, &self.dtype, value, timeout, |v, slice| {
            c.send_timeout(v, slice)
        })
    }

    fn send_slice_for(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        let (bytes, n) = self.dtype.write_array(values)?;
        if n == 0 {
            return Ok(0);
        }
        let c = &self.inner;
        blocking_timeout(py, timeout, |t| c.send_many_timeout(&bytes, t))
    }

    fn recv_slice_for<'py>(
        &self,
        py: Python<'py>,
        max: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = batch_buffer(&self.dtype, max)?;
        if max == 0 {
            return self.dtype.read_array(py, &buf);
        }
        let c = &self.inner;
        let out = &mut buf;
        let n = blocking_timeout(py, timeout, move |t| c.recv_many_timeout(&mut *out, t))?;
        self.dtype.read_array(py, &buf[..n * self.dtype.itemsize()])
    }
}

/// A `try_` send's outcome: `Full` is `Ok(false)`, other errors stay.
pub(crate) fn sent(r: zeroipc::Result<()>) -> zeroipc::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(Error::Full { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[pymethods]
impl PyChannel {
    /// Creates the channel `name` for values of `dtype`: unbuffered for
    /// `capacity` 0 (entries `name_header`, `name_slot`), else buffered
    /// (`name_header`, `name_buffer`).
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        capacity: usize,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner = RawChannel::create(&seg.inner, name, dtype.layout(), capacity).py()?;
        Ok(PyChannel { inner, dtype })
    }

    /// Opens the channel `name` for values of `dtype` (checked against the
    /// entries and the recorded layout).
    #[staticmethod]
    fn open(seg: &PySegment, name: &str, dtype: &Bound<'_, PyAny>) -> PyResult<Self> {
        let dtype = DType::from_py(dtype)?;
        let inner = RawChannel::open(&seg.inner, name, Some(dtype.layout())).py()?;
        Ok(PyChannel { inner, dtype })
    }

    /// Sends `value`, waiting for room (buffered) or a receiver
    /// (unbuffered); `ClosedError` if the channel is closed.
    fn send(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send_for(py, value, None)
    }

    /// As `send`, raising `ZeroIpcTimeoutError` after `timeout` seconds (an
    /// unbuffered value not taken by then is withdrawn).
    fn send_timeout(&self, py: Python<'_>, value: &Bound<'_, PyAny>, timeout: f64) -> PyResult<()> {
        self.send_for(py, value, Some(timeout))
    }

    /// Sends without waiting for room or for a receiver to arrive: True if
    /// sent, False if the buffer is full (unbuffered: no receiver took it);
    /// `ClosedError` if closed.
    fn try_send(&self, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        put(&self.dtype, value, |v| sent(self.inner.try_send(v)))
    }

    /// Receives the next value, waiting for one; after close, what is left,
    /// then `ClosedError`.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.recv_for(py, None)
    }

    /// As `recv`, raising `ZeroIpcTimeoutError` after `timeout` seconds.
    fn recv_timeout<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        self.recv_for(py, Some(timeout))
    }

    /// A value if one is available now, else None; `ClosedError` once
    /// closed and drained.
    fn try_recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |out| self.inner.try_recv(out))
    }

    /// Sends as many leading values of the 1-d array `values` (of this
    /// dtype) as fit now, with one claim of the buffer, never waiting:
    /// how many (0 when full; an unbuffered channel moves at most one per
    /// call, to a receiver waiting now). `ClosedError` if closed.
    fn try_send_slice(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        let (bytes, n) = self.dtype.write_array(values)?;
        if n == 0 {
            return Ok(0);
        }
        let c = &self.inner;
        match py.detach(|| c.try_send_many(&bytes)) {
            Err(Error::Full { .. }) => Ok(0),
            r => r.py(),
        }
    }

    /// Sends a prefix of `values`, waiting until at least one value fits
    /// (unbuffered: was taken); returns how many were sent. Call again
    /// with the rest.
    fn send_slice(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.send_slice_for(py, values, None)
    }

    /// As `send_slice`, raising `ZeroIpcTimeoutError` if nothing could be
    /// sent within `timeout` seconds (None: no limit).
    #[pyo3(signature = (values, timeout))]
    fn send_slice_timeout(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        self.send_slice_for(py, values, timeout)
    }

    /// Receives up to `max` values that are there now, with one claim of
    /// the buffer, never waiting: a 1-d array (empty when none is there);
    /// `ClosedError` once closed and drained.
    fn try_recv_slice<'py>(&self, py: Python<'py>, max: usize) -> PyResult<Bound<'py, PyAny>> {
        let mut buf = batch_buffer(&self.dtype, max)?;
        let c = &self.inner;
        let n = py.detach(|| c.try_recv_many(&mut buf)).py()?;
        self.dtype.read_array(py, &buf[..n * self.dtype.itemsize()])
    }

    /// Receives up to `max` values, waiting until at least one is there: a
    /// 1-d array of 1..=max values; `ClosedError` once closed and drained.
    fn recv_slice<'py>(&self, py: Python<'py>, max: usize) -> PyResult<Bound<'py, PyAny>> {
        self.recv_slice_for(py, max, None)
    }

    /// As `recv_slice`, raising `ZeroIpcTimeoutError` if nothing came
    /// within `timeout` seconds (None: no limit).
    #[pyo3(signature = (max, timeout))]
    fn recv_slice_timeout<'py>(
        &self,
        py: Python<'py>,
        max: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.recv_slice_for(py, max, timeout)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// `recv`, ending the iteration once the channel is closed and drained.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.recv_for(py, None) {
            Err(e) if is_closed_error(py, &e) => Err(PyStopIteration::new_err(())),
            other => other,
        }
    }

    /// Closes the channel (sends fail from now on; receivers drain).
    fn close(&self) {
        self.inner.close()
    }

    /// True once any party closed the channel.
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// 0 for an unbuffered channel, else the buffer's capacity.
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// True for a buffered channel.
    fn is_buffered(&self) -> bool {
        self.inner.capacity() > 0
    }

    /// Values waiting (unbuffered: 1 while a value sits in the slot).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is waiting (a snapshot).
    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Senders inside a send now (a snapshot).
    fn sender_count(&self) -> u32 {
        self.inner.sender_count()
    }

    /// Receivers inside a receive now (a snapshot).
    fn receiver_count(&self) -> u32 {
        self.inner.receiver_count()
    }

    /// Unbuffered recovery after a participant was killed mid-transfer;
    /// call only when no transfer is in progress. True if anything was
    /// reset.
    fn recover_unbuffered(&self) -> bool {
        self.inner.recover_unbuffered()
    }

    /// The values waiting, in order, without taking them (for tools).
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
            "Channel(name={:?}, capacity={}, len={}, closed={})",
            self.inner.name(),
            self.inner.capacity(),
            self.inner.len(),
            self.inner.is_closed()
        )
    }
}

/// Receives from whichever of `channels` has a value first, waiting up to
/// `timeout` seconds (None: forever): returns `(index, value)`.
/// `ClosedError` once every channel is closed and drained,
/// `ZeroIpcTimeoutError` on timeout. The channels' values must have the
/// same itemsize (`TypeError` otherwise); the value is decoded with the
/// dtype of the channel it came from. Channels are polled round-robin from
/// the one after the last to deliver, so a busy one does not starve others.
#[pyfunction]
#[pyo3(signature = (channels, timeout = None))]
fn select(
    py: Python<'_>,
    channels: Vec<PyRef<'_, PyChannel>>,
    timeout: Option<f64>,
) -> PyResult<(usize, Py<PyAny>)> {
    let size = channels.first().map_or(0, |c| c.dtype.itemsize());
    if let Some(c) = channels.iter().find(|c| c.dtype.itemsize() != size) {
        return Err(PyTypeError::new_err(format!(
            "select: channel {:?} holds {}-byte values, channel {:?} {}-byte ones",
            channels[0].inner.name(),
            size,
            c.inner.name(),
            c.dtype.itemsize()
        )));
    }
    let raws: Vec<&RawChannel> = channels.iter().map(|c| &c.inner).collect();
    let mut out = vec![0u8; size];
    let buf = &mut out;
    let raws_ref = &raws;
    let i = blocking_timeout(py, timeout, move |slice| {
        raw_select(raws_ref, buf, Some(slice))
    })?;
    let value = channels[i].dtype.read_value(py, &out)?.unbind();
    Ok((i, value))
}

/// Adds Channel and select to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyChannel>()?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    Ok(())
}
