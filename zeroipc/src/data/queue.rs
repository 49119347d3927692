//! `Queue<T>`: a bounded multi-producer multi-consumer FIFO.
//!
//! The normative layout is docs/FORMAT.md §3.2; the offsets are
//! [`crate::format::queue`]. The protocol (Dmitry Vyukov's bounded MPMC
//! queue, run exactly as the C++ reference runs it) lives once in
//! [`RawQueue`], with the algorithm's description and what differs from
//! the reference; `Queue<T>` is a typed veneer over it that only copies `T`
//! in and out.
//!
//! # Forms (docs/ARCHITECTURE.md, Conventions)
//!
//! - [`Queue::push`] / [`Queue::pop`] never block: `Err(v)` gives the value
//!   back when full, `None` means empty (as crossbeam's `ArrayQueue`).
//! - [`Queue::push_timeout`] waits up to a timeout for room and gives the
//!   value back in a [`SendError`] with [`Error::Timeout`];
//!   [`Queue::pop_timeout`] waits for a value and returns
//!   [`Error::Timeout`] when none came.
//! - No unbounded blocking form: call the timed form with a long timeout.

use crate::element::ShmElement;
use crate::error::{Error, Result, SendError};
use crate::format::ElemLayout;
use crate::raw::{slice_bytes, slice_bytes_mut, RawQueue};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;
use std::time::Duration;

/// A shared bounded MPMC queue of `T`.
///
/// ```
/// use zeroipc::{Error, Queue, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-queue-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let q = Queue::<u32>::create(&seg, "jobs", 5)?; // stored capacity 8
/// assert_eq!(q.capacity(), 8);
/// q.push(1).unwrap();
/// q.push(2).unwrap();
///
/// let other = Queue::<u32>::open(&seg, "jobs")?; // another process would do this
/// assert_eq!(other.pop(), Some(1));
/// assert_eq!(other.pop_timeout(Duration::from_millis(1))?, 2);
/// let empty = other.pop_timeout(Duration::from_millis(1)).unwrap_err();
/// assert!(matches!(empty, Error::Timeout { .. }));
/// assert!(Queue::<u64>::open(&seg, "jobs").is_err()); // wrong element type
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Queue<T: ShmElement> {
    raw: RawQueue,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("region", self.raw.region())
            .field("capacity", &self.raw.capacity())
            .finish()
    }
}

impl<T: ShmElement> Queue<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    fn from_raw(raw: RawQueue) -> Self {
        Queue {
            raw,
            _t: PhantomData,
        }
    }

    /// Creates a queue named `name` holding at least `capacity` elements.
    ///
    /// The stored capacity is `capacity` rounded up to a power of two, at
    /// least 2 (docs/FORMAT.md §8.1); 0, or a capacity that rounds above
    /// 2^31, is an error.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let fingerprint = Some(T::LAYOUT.fingerprint());
        RawQueue::create_as(seg, name, Self::ELEM, capacity, fingerprint).map(Self::from_raw)
    }

    /// Opens the queue named `name`, checking its header against the entry
    /// and `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        RawQueue::open_as(
            seg,
            name,
            Some(Self::ELEM),
            Some(std::any::type_name::<T>()),
        )
        .map(Self::from_raw)
    }

    /// The stored capacity (a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The protocol core under this queue (for tools: byte-level access,
    /// [`RawQueue::items`]).
    #[inline]
    pub fn raw(&self) -> &RawQueue {
        &self.raw
    }

    /// Appends `v`; gives it back as `Err(v)` when the queue is full.
    /// Never blocks; lock-free.
    #[inline]
    pub fn push(&self, v: T) -> Result<(), T> {
        if self.raw.push_with(|r, off| r.write::<T>(off, v)) {
            Ok(())
        } else {
            Err(v)
        }
    }

    /// Removes the oldest value; `None` when the queue is empty (or when the
    /// next value's producer has claimed its slot but not published it,
    /// possibly because it died). Never blocks.
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.raw.pop_with(|r, off| r.read::<T>(off))
    }

    /// Like [`Queue::push`], but waits up to `timeout` for room; on timeout
    /// the value comes back in the [`SendError`] (with [`Error::Timeout`]).
    /// Spins briefly, then sleeps in bounded steps between retries.
    #[inline]
    pub fn push_timeout(&self, v: T, timeout: Duration) -> Result<(), SendError<T>> {
        self.raw
            .push_timeout_with(timeout, |r, off| r.write::<T>(off, v))
            .map_err(|error| SendError { value: v, error })
    }

    /// Like [`Queue::pop`], but waits up to `timeout` for a value;
    /// [`Error::Timeout`] when none came.
    #[inline]
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.raw
            .pop_timeout_with(timeout, |r, off| r.read::<T>(off))
    }

    /// Appends as many leading values of `items` as fit, with one claim of
    /// the queue's `tail` for all of them; returns how many went in (0 when
    /// full). Each value is then published as [`Queue::push`] publishes it,
    /// in order, so single-item consumers (ours or the C++ reference's)
    /// take them as they appear. Never blocks; lock-free.
    ///
    /// ```
    /// use zeroipc::{Queue, Segment};
    /// let name = format!("/zeroipc-doc-queue-slice-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let q = Queue::<u64>::create(&seg, "q", 4)?;
    /// assert_eq!(q.push_slice(&[1, 2, 3]), 3);
    /// assert_eq!(q.push_slice(&[4, 5, 6]), 1); // one slot was left
    /// assert_eq!(q.pop(), Some(1)); // single and batch calls mix
    /// let mut out = [0u64; 8];
    /// assert_eq!(q.pop_slice(&mut out), 3);
    /// assert_eq!(out[..3], [2, 3, 4]);
    /// assert_eq!(q.pop_slice(&mut out), 0); // empty
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    #[inline]
    pub fn push_slice(&self, items: &[T]) -> usize {
        self.raw.push_n(slice_bytes(items), items.len())
    }

    /// Removes up to `out.len()` of the oldest values into the front of
    /// `out`, with one claim of the queue's `head`; returns how many (0 when
    /// empty, or when the next value's producer has claimed its slot but not
    /// published it). `out[count..]` is left as it was. Never blocks.
    #[inline]
    pub fn pop_slice(&self, out: &mut [T]) -> usize {
        let n = out.len();
        self.raw.pop_n(slice_bytes_mut(out), n)
    }

    /// Like [`Queue::push_slice`], but waits up to `timeout` until at least
    /// one value fits, then pushes as many as fit at once;
    /// [`Error::Timeout`] when none did (nothing was written: all of `items`
    /// is still the caller's). An empty `items` returns `Ok(0)` at once.
    ///
    /// ```
    /// use zeroipc::{Queue, Segment};
    /// use std::time::Duration;
    /// let name = format!("/zeroipc-doc-queue-slice-t-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let q = Queue::<u32>::create(&seg, "q", 2)?;
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(q.push_slice_timeout(&[7, 8, 9], ms)?, 2);
    /// assert!(q.push_slice_timeout(&[9], ms).unwrap_err().to_string().contains("timed out"));
    /// assert_eq!(q.pop_vec(8), vec![7, 8]);
    /// let mut out = [0u32; 4];
    /// assert!(q.pop_slice_timeout(&mut out, ms).unwrap_err().to_string().contains("timed out"));
    /// assert_eq!(out, [0; 4]); // unchanged
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn push_slice_timeout(&self, items: &[T], timeout: Duration) -> Result<usize> {
        self.raw
            .push_n_timeout(slice_bytes(items), items.len(), timeout)
    }

    /// Like [`Queue::pop_slice`], but waits up to `timeout` until at least
    /// one value is there, then takes as many as are published (up to
    /// `out.len()`); [`Error::Timeout`] when none came (`out` unchanged). An
    /// empty `out` returns `Ok(0)` at once.
    pub fn pop_slice_timeout(&self, out: &mut [T], timeout: Duration) -> Result<usize> {
        let n = out.len();
        self.raw.pop_n_timeout(slice_bytes_mut(out), n, timeout)
    }

    /// Removes up to `max` of the oldest values with one claim (as
    /// [`Queue::pop_slice`]) and returns them in FIFO order; empty when the
    /// queue is. Allocates `min(max, capacity)` values.
    ///
    /// ```
    /// use zeroipc::{Queue, Segment};
    /// let name = format!("/zeroipc-doc-queue-popvec-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let q = Queue::<i16>::create(&seg, "q", 8)?;
    /// assert_eq!(q.push_slice(&[-1, -2, -3]), 3);
    /// assert_eq!(q.pop_vec(2), vec![-1, -2]);
    /// assert_eq!(q.pop_vec(100), vec![-3]);
    /// assert!(q.pop_vec(100).is_empty());
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn pop_vec(&self, max: usize) -> Vec<T> {
        let mut v = vec![crate::codata::zeroed::<T>(); max.min(self.capacity())];
        let k = self.pop_slice(&mut v);
        v.truncate(k);
        v
    }

    /// Number of values in the queue (a snapshot): `tail - head` with
    /// wrapping arithmetic, clamped to the capacity.
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when `head == tail` (a snapshot).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True when `len() == capacity()` (a snapshot).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.raw.is_full()
    }
}
