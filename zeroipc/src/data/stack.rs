//! `Stack<T>`: a bounded multi-producer multi-consumer LIFO.
//!
//! The normative layout is docs/FORMAT.md §3.3; the offsets and slot states
//! are [`crate::format::stack`]. The protocol (the C++ reference's `top`
//! index plus per-slot state words, kept exactly as a concurrent reference
//! peer sees it) lives once in [`RawStack`], with its description, what
//! differs from the reference, and what "opening the wrong kind" can and
//! cannot catch (an empty set opens as a stack); `Stack<T>` is a typed
//! veneer over it that only copies `T` in and out.
//!
//! # Forms (docs/ARCHITECTURE.md, Conventions)
//!
//! - [`Stack::push`] / [`Stack::pop`] / [`Stack::peek`] never block (beyond
//!   the bounded wait for a slot a peer is in the middle of handing over):
//!   `Err(v)` gives the value back, `None` means empty.
//! - [`Stack::push_timeout`] retries up to a timeout and gives the value
//!   back in a [`SendError`] with [`Error::Timeout`]; [`Stack::pop_timeout`]
//!   returns [`Error::Timeout`] when no value came.
//! - No unbounded blocking form: call the timed form with a long timeout.

use crate::element::ShmElement;
use crate::error::{Error, Result, SendError};
use crate::format::ElemLayout;
use crate::raw::{slice_bytes, slice_bytes_mut, RawStack};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;
use std::time::Duration;

/// A shared bounded LIFO stack of `T`.
///
/// ```
/// use zeroipc::{Error, Segment, Stack};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-stack-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = Stack::<i64>::create(&seg, "undo", 2)?;
/// s.push(10).unwrap();
/// s.push(20).unwrap();
/// assert_eq!(s.push(30), Err(30)); // full
/// assert_eq!(s.push_timeout(30, Duration::from_millis(1)).unwrap_err().into_inner(), 30);
///
/// let other = Stack::<i64>::open(&seg, "undo")?; // another process would do this
/// assert_eq!(other.peek(), Some(20));
/// assert_eq!(other.pop(), Some(20));
/// assert_eq!(other.pop_timeout(Duration::from_millis(1))?, 10);
/// assert_eq!(other.pop(), None);
/// assert!(matches!(other.pop_timeout(Duration::ZERO), Err(Error::Timeout { .. })));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Stack<T: ShmElement> {
    raw: RawStack,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Stack<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("region", self.raw.region())
            .field("capacity", &self.raw.capacity())
            .finish()
    }
}

impl<T: ShmElement> Stack<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    fn from_raw(raw: RawStack) -> Self {
        Stack {
            raw,
            _t: PhantomData,
        }
    }

    /// Creates a stack named `name` of exactly `capacity` elements
    /// (1..=i32::MAX; the reference does not round).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let fingerprint = Some(T::LAYOUT.fingerprint());
        RawStack::create_as(seg, name, Self::ELEM, capacity, fingerprint).map(Self::from_raw)
    }

    /// Opens the stack named `name`, checking its header against the entry
    /// and `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        RawStack::open_as(
            seg,
            name,
            Some(Self::ELEM),
            Some(std::any::type_name::<T>()),
        )
        .map(Self::from_raw)
    }

    /// The capacity.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The protocol core under this stack (for tools: byte-level access,
    /// [`RawStack::items`]).
    #[inline]
    pub fn raw(&self) -> &RawStack {
        &self.raw
    }

    /// Pushes `v`; gives it back as `Err(v)` when the stack is full, or when
    /// the slot could not be claimed within the bound (a peer stalled or
    /// died on it; trying again later may succeed).
    #[inline]
    pub fn push(&self, v: T) -> Result<(), T> {
        if self.raw.push_with(|r, off| r.write::<T>(off, v)) {
            Ok(())
        } else {
            Err(v)
        }
    }

    /// Pops the top value; `None` when the stack is empty, or when the
    /// reserved slot's value was not published within the bound (its
    /// pusher stalled or died; the reservation is rolled back if possible).
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.raw.pop_with(|r, off| r.read::<T>(off))
    }

    /// Copies the top value without removing it (`top()` in the reference);
    /// `None` when empty or when no published top value could be claimed
    /// within the bound.
    #[inline]
    pub fn peek(&self) -> Option<T> {
        self.raw.peek_with(|r, off| r.read::<T>(off))
    }

    /// Like [`Stack::push`], but retries until `timeout` passes (full, or a
    /// give-up on a stalled slot), spinning briefly and then sleeping in
    /// bounded steps; on timeout the value comes back in the [`SendError`]
    /// (with [`Error::Timeout`]).
    #[inline]
    pub fn push_timeout(&self, v: T, timeout: Duration) -> Result<(), SendError<T>> {
        self.raw
            .push_timeout_with(timeout, |r, off| r.write::<T>(off, v))
            .map_err(|error| SendError { value: v, error })
    }

    /// Like [`Stack::pop`], but retries until `timeout` passes;
    /// [`Error::Timeout`] when no value came.
    #[inline]
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.raw
            .pop_timeout_with(timeout, |r, off| r.read::<T>(off))
    }

    /// Pushes as many leading values of `items` as fit, reserving their
    /// places with one CAS of `top` (each slot then handed over as
    /// [`Stack::push`] hands it over, so single poppers, ours or the C++
    /// reference's, mix freely); returns how many (0 when full). The last
    /// value pushed ends on top. Fewer than fit only if a slot could not be
    /// claimed within the bound (a peer stalled or died on it).
    ///
    /// ```
    /// use zeroipc::{Segment, Stack};
    /// let name = format!("/zeroipc-doc-stack-slice-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let s = Stack::<u32>::create(&seg, "s", 4)?;
    /// assert_eq!(s.push_slice(&[1, 2, 3]), 3);
    /// assert_eq!(s.push_slice(&[4, 5]), 1); // one place was left
    /// assert_eq!(s.pop(), Some(4)); // single and batch calls mix
    /// let mut out = [0u32; 8];
    /// assert_eq!(s.pop_slice(&mut out), 3);
    /// assert_eq!(out[..3], [3, 2, 1]); // top first
    /// assert_eq!(s.pop_slice(&mut out), 0); // empty
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    #[inline]
    pub fn push_slice(&self, items: &[T]) -> usize {
        self.raw.push_n(slice_bytes(items), items.len())
    }

    /// Pops up to `out.len()` values, top first, into the front of `out`,
    /// reserving their places with one CAS of `top`; returns how many (0
    /// when empty). `out[count..]` is left as it was.
    #[inline]
    pub fn pop_slice(&self, out: &mut [T]) -> usize {
        let n = out.len();
        self.raw.pop_n(slice_bytes_mut(out), n)
    }

    /// Like [`Stack::push_slice`], but waits up to `timeout` until at least
    /// one value went in; [`Error::Timeout`] otherwise (the values stay in
    /// the caller's slice).
    pub fn push_slice_timeout(&self, items: &[T], timeout: Duration) -> Result<usize> {
        self.raw
            .push_n_timeout(slice_bytes(items), items.len(), timeout)
    }

    /// Like [`Stack::pop_slice`], but waits up to `timeout` until at least
    /// one value came out; [`Error::Timeout`] otherwise (`out` unchanged).
    ///
    /// ```
    /// use zeroipc::{Error, Segment, Stack};
    /// use std::time::Duration;
    /// let name = format!("/zeroipc-doc-stack-slice-t-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let s = Stack::<u8>::create(&seg, "s", 2)?;
    /// let ms = Duration::from_millis(1);
    /// let mut out = [9u8; 2];
    /// assert!(matches!(s.pop_slice_timeout(&mut out, ms), Err(Error::Timeout { .. })));
    /// assert_eq!(out, [9, 9]);
    /// assert_eq!(s.push_slice_timeout(&[1, 2, 3], ms)?, 2);
    /// assert!(matches!(s.push_slice_timeout(&[3], ms), Err(Error::Timeout { .. })));
    /// assert_eq!(s.pop_slice_timeout(&mut out, ms)?, 2);
    /// assert_eq!(out, [2, 1]);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn pop_slice_timeout(&self, out: &mut [T], timeout: Duration) -> Result<usize> {
        let n = out.len();
        self.raw.pop_n_timeout(slice_bytes_mut(out), n, timeout)
    }

    /// Number of values (a snapshot): `top + 1`, clamped to `0..=capacity`.
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when `top < 0` (a snapshot).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}
