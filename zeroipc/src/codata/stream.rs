//! `Stream<T>`: an ordered sequence of values emitted by one producer, read
//! destructively by one consumer and/or observed by any number of
//! subscribers, with a close; plus [`StreamVoid`], the C++ `Stream<void>`
//! event counter.
//!
//! The normative layout is docs/FORMAT.md §4.7 and §4.8 (the C++ layout;
//! the Python reference's Stream is a bare Ring under `name` and cannot
//! interoperate); the offsets are
//! [`zeroipc::format::stream`](crate::format::stream). The protocol
//! (single producer, single consumer, subscribers that read without
//! consuming and report overruns, the close) is written once, over bytes,
//! in [`RawStream`], whose docs describe it; [`Stream<T>`] and
//! [`Subscriber<T>`] are its typed veneers, and the pipeline stages and
//! folds, which call closures over `T`, are built on them here.
//!
//! # Blocking, non-blocking and timed forms
//!
//! Channel-like for emitting and consuming: the plain forms block.
//!
//! | operation | blocking | non-blocking | timed |
//! |---|---|---|---|
//! | emit | [`Stream::emit`] (`Err(Closed)`) | [`Stream::try_emit`]: `Err(SendError)` with the value back, [`Error::Full`] or [`Error::Closed`]; [`Stream::emit_overwrite`] (drops the oldest) | [`Stream::emit_timeout`]: `Err(SendError)` with the value back, [`Error::Timeout`] or [`Error::Closed`] |
//! | consume | [`Stream::recv`] | [`Stream::try_recv`]: `Ok(None)` empty now, `Err(Closed)` closed and drained | [`Stream::recv_timeout`] |
//! | observe | [`Subscriber::next_blocking`] | [`Subscriber::try_next`] | [`Subscriber::next_timeout`] |
//! | run a stage / fold | [`Stage::run_until_closed`], [`Fold::run_until_closed`] | [`Stage::pump`], [`Fold::pump`] | [`Stage::run_timeout`], [`Fold::run_timeout`] |
//!
//! # Transforms without blocking the caller
//!
//! The reference's `map`/`filter`/`take`/`skip` subscribe to the source and
//! so block the caller until the source closes (defect #20, docs/FORMAT.md
//! §8.3). Here they create the output stream (capacity as the source;
//! `take(n)` uses `min(n, capacity)`) with its transform name and return a
//! [`Stage`] that the caller drives: [`Stage::pump`] moves what is
//! available without blocking, [`Stage::run_until_closed`] blocks,
//! [`Stage::spawn`] runs it on a thread. A stage consumes its source (it is
//! the source's consumer), closes its output when the source is closed and
//! drained (`take` closes it after `n` elements), and stops if its output
//! is closed by someone else. It takes a source element only once the
//! element's result has been emitted (or the function skipped it), and
//! checks the output before looking at the source, so closing its output
//! never loses a source element: what the stage did not deliver stays in
//! the source. A stage waiting for its source also watches its output's
//! `closed` flag (within [`crate::wait::MAX_SLEEP`]: the closer wakes only
//! the output's readers), so a spawned stage on an idle source ends soon
//! after the output is closed. [`Stream::fold`] returns a [`Fold`] driven
//! the same way. Elements left in the ring when the stream is closed are
//! still delivered (the reference's subscribe drops them).
//!
//! # After SIGKILL
//!
//! - A producer killed mid-emit leaves the element unpublished (`write_pos`
//!   is stored after the copy) and `sequence` possibly one behind
//!   `write_pos`; the stream is never closed, so readers with timeouts time
//!   out and the others wait.
//! - A consumer killed mid-read leaves that element unconsumed (it is read
//!   again by the next consumer).
//! - A killed subscriber or blocked reader leaves `subscribers` too high,
//!   which only costs the producer futex wake-ups.

use super::zeroed;
use crate::describe::{check_description, Description};
use crate::element::{bytes_of, bytes_of_mut, ShmElement};
use crate::error::{Error, Result, SendError};
use crate::format::stream as fmt;
use crate::format::{ElemLayout, StructureKind};
use crate::raw::stream::{RawStream, RawSubscriber};
use crate::region::atomic::{AtomicU64, AtomicU8, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::Deadline;
use std::marker::PhantomData;
use std::time::Duration;

/// A shared stream of `T` (single producer; see [`RawStream`]): a typed
/// veneer over [`RawStream`].
///
/// ```
/// use zeroipc::{Error, Segment, Stream};
/// let name = format!("/zeroipc-doc-stream-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = Stream::<i32>::create(&seg, "ticks", 8)?;
/// let mut watcher = s.subscribe(); // sees what is emitted from now on
/// let evens = s.filter(&seg, "evens", |x| x % 2 == 0)?.spawn(); // a stage on a thread
/// for x in 1..=6 {
///     s.emit(x)?;
/// }
/// s.close();
/// let out = Stream::<i32>::open(&seg, "evens")?; // another process would do this
/// let mut got = Vec::new();
/// loop {
///     match out.recv() {
///         Ok(x) => got.push(x),
///         Err(Error::Closed { .. }) => break,
///         Err(e) => return Err(e),
///     }
/// }
/// assert_eq!(got, [2, 4, 6]);
/// evens.join().unwrap()?;
/// // The stage consumed the elements, but they are not overwritten yet:
/// assert_eq!(watcher.try_next()?, Some(1));
/// // A closed stream hands an emitted value back.
/// assert_eq!(s.try_emit(7).unwrap_err().into_inner(), 7);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
// Clone: `T: Copy` (ShmElement), so the derive adds no real bound.
#[derive(Clone)]
pub struct Stream<T: ShmElement> {
    raw: RawStream,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("sequence", &self.sequence())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: ShmElement> Stream<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    /// Creates an open stream named `name` buffering `capacity` elements
    /// (entries `name_header` and `name_buffer`).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        Self::create_with_transform(seg, name, capacity, "")
    }

    fn create_with_transform(
        seg: &Segment,
        name: &str,
        capacity: usize,
        transform: &str,
    ) -> Result<Self> {
        Ok(Stream {
            raw: RawStream::create_described(
                seg,
                name,
                Self::ELEM,
                capacity,
                transform,
                Some(T::LAYOUT.fingerprint()),
            )?,
            _t: PhantomData,
        })
    }

    /// Opens the stream named `name`, validating the header against the
    /// ring and `T` (and, on a self-describing segment, that it was created
    /// as a stream of this layout).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Ok(Stream {
            raw: RawStream::open(seg, name, Some(Self::ELEM))?,
            _t: PhantomData,
        })
    }

    /// The protocol core this veneer calls (for tools).
    pub fn raw(&self) -> &RawStream {
        &self.raw
    }

    /// The base name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// Buffer capacity in elements.
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// Elements in the ring not yet consumed (a snapshot).
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when nothing is waiting to be consumed.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Elements ever emitted (the header's `sequence`).
    pub fn sequence(&self) -> u64 {
        self.raw.sequence()
    }

    /// Attached readers as counted in the header (see [`RawStream`]).
    pub fn subscriber_count(&self) -> u32 {
        self.raw.subscriber_count()
    }

    /// The transform that produced this stream (`""` for a source).
    pub fn transform_name(&self) -> String {
        self.raw.transform_name()
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    /// Closes the stream: no more emits; readers get what is left, then
    /// [`Error::Closed`]. Wakes sleeping readers.
    pub fn close(&self) {
        self.raw.close();
    }

    /// Emits `v` if there is room. On failure the value comes back in a
    /// [`SendError`]: [`Error::Full`] (no room now) or [`Error::Closed`].
    /// Single producer only.
    #[inline]
    pub fn try_emit(&self, v: T) -> Result<(), SendError<T>> {
        self.raw
            .try_emit_unchecked(bytes_of(&v))
            .map_err(|error| SendError { value: v, error })
    }

    /// Emits `v`, waiting while the ring is full (backpressure from the
    /// consumer). [`Error::Closed`] if closed. Single producer only.
    pub fn emit(&self, v: T) -> Result<()> {
        self.raw.emit_until(bytes_of(&v), &Deadline::forever())
    }

    /// Like [`Stream::emit`], giving up after `timeout`: the value comes
    /// back in a [`SendError`] with [`Error::Timeout`] or [`Error::Closed`].
    pub fn emit_timeout(&self, v: T, timeout: Duration) -> Result<(), SendError<T>> {
        self.raw
            .emit_until(bytes_of(&v), &Deadline::after(timeout))
            .map_err(|error| SendError { value: v, error })
    }

    /// Broadcast emit: if the ring is full, drops the oldest element (the
    /// producer acts as the ring's consumer), then emits `v`. Returns how
    /// many elements were dropped (0 or 1). Only for streams nobody
    /// consumes destructively (subscribers only).
    pub fn emit_overwrite(&self, v: T) -> Result<u64> {
        self.raw.emit_overwrite(bytes_of(&v))
    }

    /// Takes the next element if there is one (the reference's `next()`):
    /// `Ok(None)` when empty, [`Error::Closed`] once closed and drained.
    /// Single consumer only.
    #[inline]
    pub fn try_recv(&self) -> Result<Option<T>> {
        let mut v = zeroed::<T>();
        let got = self.raw.try_recv_unchecked(bytes_of_mut(&mut v))?;
        Ok(got.then_some(v))
    }

    /// The next element without taking it, for a stage (see
    /// [`RawStream`]'s `peek`).
    fn peek(&self) -> Result<Option<T>> {
        let mut v = zeroed::<T>();
        let got = self.raw.peek(bytes_of_mut(&mut v))?;
        Ok(got.then_some(v))
    }

    /// Takes the element [`Stream::peek`] returned.
    fn take_peeked(&self) -> bool {
        let mut v = zeroed::<T>();
        self.raw.take_peeked(bytes_of_mut(&mut v))
    }

    fn recv_until(&self, deadline: &Deadline) -> Result<T> {
        let mut v = zeroed::<T>();
        self.raw.recv_until(bytes_of_mut(&mut v), deadline)?;
        Ok(v)
    }

    /// Takes the next element, waiting for one; after close, the remaining
    /// elements and then [`Error::Closed`]. Single consumer only.
    pub fn recv(&self) -> Result<T> {
        self.recv_until(&Deadline::forever())
    }

    /// Like [`Stream::recv`], giving up with [`Error::Timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_until(&Deadline::after(timeout))
    }

    /// Attaches a non-destructive reader positioned at the current end of
    /// the stream (see [`RawStream`] for what it is guaranteed to see).
    pub fn subscribe(&self) -> Subscriber<T> {
        Subscriber {
            raw: self.raw.subscribe(),
            _t: PhantomData,
        }
    }

    /// A stage that feeds every element of this stream through `f` into a
    /// new stream `name` (transform name `transform`, at most 31 bytes)
    /// of `capacity` elements. The building block of the named transforms.
    pub fn stage<U: ShmElement, F: FnMut(T) -> Step<U>>(
        &self,
        seg: &Segment,
        name: &str,
        transform: &str,
        capacity: usize,
        f: F,
    ) -> Result<Stage<T, U, F>> {
        let dst = Stream::<U>::create_with_transform(seg, name, capacity, transform)?;
        Ok(Stage {
            src: self.clone(),
            dst,
            f,
            pending: None,
            done: false,
            taken: 0,
        })
    }

    /// `map`: a stage emitting `f(x)` for every `x` into a new stream.
    pub fn map<U: ShmElement>(
        &self,
        seg: &Segment,
        name: &str,
        mut f: impl FnMut(T) -> U,
    ) -> Result<Stage<T, U, impl FnMut(T) -> Step<U>>> {
        self.stage(seg, name, "map", self.capacity(), move |x| Step::Emit(f(x)))
    }

    /// `filter`: a stage passing on the elements for which `keep` is true.
    pub fn filter(
        &self,
        seg: &Segment,
        name: &str,
        mut keep: impl FnMut(&T) -> bool,
    ) -> Result<Stage<T, T, impl FnMut(T) -> Step<T>>> {
        self.stage(seg, name, "filter", self.capacity(), move |x| {
            if keep(&x) {
                Step::Emit(x)
            } else {
                Step::Skip
            }
        })
    }

    /// `take`: a stage passing on the first `n` elements, then closing its
    /// output (the rest of the source is left unconsumed). Output capacity
    /// `min(n, capacity)` (at least 1).
    pub fn take(
        &self,
        seg: &Segment,
        name: &str,
        n: u64,
    ) -> Result<Stage<T, T, impl FnMut(T) -> Step<T>>> {
        let cap = (n.min(self.capacity() as u64) as usize).max(1);
        let mut seen = 0u64;
        let mut stage = self.stage(seg, name, "take", cap, move |x| {
            seen += 1;
            match seen.cmp(&n) {
                std::cmp::Ordering::Less => Step::Emit(x),
                std::cmp::Ordering::Equal => Step::EmitAndClose(x),
                std::cmp::Ordering::Greater => Step::Close,
            }
        })?;
        if n == 0 {
            stage.finish();
        }
        Ok(stage)
    }

    /// `skip`: a stage dropping the first `n` elements and passing the rest.
    pub fn skip(
        &self,
        seg: &Segment,
        name: &str,
        n: u64,
    ) -> Result<Stage<T, T, impl FnMut(T) -> Step<T>>> {
        let mut seen = 0u64;
        self.stage(seg, name, "skip", self.capacity(), move |x| {
            seen += 1;
            if seen > n {
                Step::Emit(x)
            } else {
                Step::Skip
            }
        })
    }

    /// `fold`: consumes this stream into an accumulator, driven like a
    /// [`Stage`] (no output stream). The accumulator is cloned before each
    /// step so that a panic in `f` leaves the fold usable (see [`Fold`]).
    pub fn fold<A: Clone, F: FnMut(A, T) -> A>(&self, init: A, f: F) -> Fold<T, A, F> {
        Fold {
            src: self.clone(),
            acc: Some(init),
            f,
            done: false,
        }
    }

    /// Waits until `ready` holds, counting the caller as attached and
    /// sleeping as a reader ([`RawStream`]'s "Waking"). Returns false on
    /// timeout.
    fn wait_for(&self, timeout: Option<Duration>, ready: impl FnMut() -> bool) -> bool {
        self.raw.wait_for(timeout, ready)
    }
}

/// A non-destructive reader of a [`Stream`] (see [`RawStream`]): a typed
/// veneer over [`RawSubscriber`]. Counted in the header's `subscribers`
/// while alive.
pub struct Subscriber<T: ShmElement> {
    raw: RawSubscriber,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("raw", &self.raw)
            .finish()
    }
}

impl<T: ShmElement> Subscriber<T> {
    /// Elements emitted but not yet read by this subscriber (a snapshot;
    /// more than the capacity means it has been lapped).
    pub fn lag(&self) -> u64 {
        self.raw.lag()
    }

    /// The next element if one is available: `Ok(None)` when caught up,
    /// [`Error::Overrun`] (once, then reading continues) when elements were
    /// lost, [`Error::Closed`] once the stream is closed and this
    /// subscriber has read everything.
    #[inline]
    pub fn try_next(&mut self) -> Result<Option<T>> {
        let mut v = zeroed::<T>();
        let got = self.raw.try_next_unchecked(bytes_of_mut(&mut v))?;
        Ok(got.then_some(v))
    }

    fn next_until(&mut self, deadline: &Deadline) -> Result<T> {
        let mut v = zeroed::<T>();
        self.raw.next_until(bytes_of_mut(&mut v), deadline)?;
        Ok(v)
    }

    /// The next element, waiting for one (errors as [`Subscriber::try_next`]).
    pub fn next_blocking(&mut self) -> Result<T> {
        self.next_until(&Deadline::forever())
    }

    /// Like [`Subscriber::next_blocking`], giving up with [`Error::Timeout`].
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<T> {
        self.next_until(&Deadline::after(timeout))
    }
}

/// What a stage function does with one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<U> {
    /// Emit this into the output.
    Emit(U),
    /// Emit nothing for this element.
    Skip,
    /// Emit this, then close the output and stop.
    EmitAndClose(U),
    /// Close the output and stop (the element is dropped).
    Close,
}

/// A pipeline stage: consumes its source stream, feeds each element through
/// its function and emits the results into its output stream. Created by
/// [`Stream::map`], [`Stream::filter`], [`Stream::take`], [`Stream::skip`]
/// and [`Stream::stage`]; driven by the caller (see the module docs). If the
/// driving process dies, the output is never closed (its readers with
/// timeouts time out).
pub struct Stage<T: ShmElement, U: ShmElement, F: FnMut(T) -> Step<U>> {
    src: Stream<T>,
    dst: Stream<U>,
    f: F,
    /// A result waiting for room in the output, and whether to close after
    /// it. Its source element is still in the source: it is taken only
    /// when the result is emitted.
    pending: Option<(U, bool)>,
    done: bool,
    taken: u64,
}

impl<T: ShmElement, U: ShmElement, F: FnMut(T) -> Step<U>> std::fmt::Debug for Stage<T, U, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stage")
            .field("src", &self.src.name())
            .field("dst", &self.dst.name())
            .field("taken", &self.taken)
            .field("done", &self.done)
            .finish()
    }
}

impl<T: ShmElement, U: ShmElement, F: FnMut(T) -> Step<U>> Stage<T, U, F> {
    /// The output stream.
    pub fn output(&self) -> &Stream<U> {
        &self.dst
    }

    /// True once the output has been closed by this stage (or found closed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Elements consumed from the source so far.
    pub fn consumed(&self) -> u64 {
        self.taken
    }

    fn finish(&mut self) {
        self.dst.close();
        self.done = true;
        self.pending = None;
    }

    /// Takes the source element whose result was just emitted or skipped.
    fn take_source(&mut self) {
        if self.src.take_peeked() {
            self.taken += 1;
        }
    }

    /// Emits the pending result if there is room, then takes its source
    /// element: true if emitted. False if the output is full (still
    /// pending) or closed (the stage is done; the element stays in the
    /// source).
    fn flush(&mut self) -> Result<bool> {
        let Some((u, close_after)) = self.pending else {
            return Ok(false);
        };
        match self.dst.try_emit(u) {
            Ok(()) => {
                self.pending = None;
                self.take_source();
                if close_after {
                    self.finish();
                }
                Ok(true)
            }
            Err(e) if e.is_full() => Ok(false),
            Err(e) if e.is_closed() => {
                self.done = true;
                self.pending = None;
                Ok(false)
            }
            Err(e) => Err(e.error),
        }
    }

    /// Moves every element available now, without blocking: stops when the
    /// source is empty or the output is full. Closes the output once the
    /// source is closed and drained; stops, taking nothing, once the output
    /// was closed by someone else. Returns how many source elements it
    /// consumed (a source element is consumed when its result is emitted
    /// or skipped).
    pub fn pump(&mut self) -> Result<u64> {
        let mut n = 0;
        while !self.done {
            if self.pending.is_some() {
                if !self.flush()? {
                    break; // output full, or closed (done)
                }
                n += 1;
                continue;
            }
            // The output first: once it is closed nothing more is taken.
            if self.dst.is_closed() {
                self.done = true;
                break;
            }
            let x = match self.src.peek() {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(Error::Closed { .. }) => {
                    self.finish();
                    break;
                }
                Err(e) => return Err(e),
            };
            match (self.f)(x) {
                Step::Emit(u) => self.pending = Some((u, false)),
                Step::EmitAndClose(u) => self.pending = Some((u, true)),
                Step::Skip => {
                    self.take_source();
                    n += 1;
                }
                Step::Close => {
                    self.take_source();
                    n += 1;
                    self.finish();
                }
            }
        }
        Ok(n)
    }

    fn run(&mut self, timeout: Option<Duration>) -> Result<u64> {
        let deadline = Deadline::from_timeout(timeout);
        loop {
            self.pump()?;
            if self.done {
                return Ok(self.taken);
            }
            let left = deadline.remaining();
            if left == Some(Duration::ZERO) {
                return Err(self.dst.raw.timeout_err(&deadline));
            }
            if self.pending.is_some() {
                // Output full: sleep as its producer until its consumer
                // makes room (our consumers wake the output's room
                // sleepers) or it is closed (`close` wakes them).
                let dst = &self.dst;
                dst.raw.wait_room(&deadline, || {
                    (dst.is_closed() || dst.len() < dst.capacity()).then_some(())
                });
            } else {
                // The output's closer wakes only the output's sleepers, so
                // its flag is re-checked at each bounded wake (MAX_SLEEP).
                let (src, dst) = (&self.src, &self.dst);
                src.wait_for(left, || {
                    !src.is_empty() || src.is_closed() || dst.is_closed()
                });
            }
        }
    }

    /// Runs until the source is closed and drained (or the stage stops),
    /// blocking; returns the number of source elements consumed.
    pub fn run_until_closed(&mut self) -> Result<u64> {
        self.run(None)
    }

    /// Like [`Stage::run_until_closed`], giving up with [`Error::Timeout`]
    /// (the stage stays usable).
    pub fn run_timeout(&mut self, timeout: Duration) -> Result<u64> {
        self.run(Some(timeout))
    }

    /// Runs the stage to completion on a new thread of this process.
    pub fn spawn(mut self) -> std::thread::JoinHandle<Result<u64>>
    where
        F: Send + 'static,
    {
        std::thread::spawn(move || self.run_until_closed())
    }
}

/// A fold over a stream, driven like a [`Stage`]: [`Fold::pump`] consumes
/// what is available, [`Fold::run_until_closed`] returns the final value.
///
/// If the closure panics, the element it was given is consumed and lost,
/// and the accumulator keeps its value from before that element (a copy
/// taken before each step is put back while unwinding), so the fold stays
/// usable:
///
/// ```
/// use std::panic::{catch_unwind, AssertUnwindSafe};
/// use zeroipc::{Segment, Stream};
/// let name = format!("/zeroipc-doc-fold-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = Stream::<u32>::create(&seg, "s", 4)?;
/// let mut sum = s.fold(0u32, |a, x| a.checked_add(x).expect("no overflow"));
/// for x in [1, u32::MAX, 2] {
///     s.emit(x)?;
/// }
/// assert!(catch_unwind(AssertUnwindSafe(|| sum.pump())).is_err()); // 1 + u32::MAX
/// assert_eq!(*sum.value(), 1);
/// assert_eq!(sum.pump()?, 1); // then 2
/// assert_eq!(*sum.value(), 3);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Fold<T: ShmElement, A, F: FnMut(A, T) -> A> {
    src: Stream<T>,
    acc: Option<A>,
    f: F,
    done: bool,
}

impl<T: ShmElement, A: std::fmt::Debug, F: FnMut(A, T) -> A> std::fmt::Debug for Fold<T, A, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fold")
            .field("src", &self.src.name())
            .field("acc", &self.acc)
            .field("done", &self.done)
            .finish()
    }
}

/// Puts the copy of the accumulator back into `slot` if the fold closure
/// unwinds (the closure owned the accumulator and dropped it).
struct KeepAccumulator<'a, A> {
    slot: &'a mut Option<A>,
    copy: Option<A>,
}

impl<A> Drop for KeepAccumulator<'_, A> {
    fn drop(&mut self) {
        if self.slot.is_none() {
            *self.slot = self.copy.take();
        }
    }
}

impl<T: ShmElement, A: Clone, F: FnMut(A, T) -> A> Fold<T, A, F> {
    /// The accumulator so far.
    pub fn value(&self) -> &A {
        self.acc.as_ref().expect("accumulator present")
    }

    /// True once the source is closed and drained.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Consumes what is available now; returns how many elements.
    pub fn pump(&mut self) -> Result<u64> {
        let mut n = 0;
        while !self.done {
            match self.src.try_recv() {
                Ok(Some(x)) => {
                    let acc = self.acc.take().expect("accumulator present");
                    let keep = KeepAccumulator {
                        copy: Some(acc.clone()),
                        slot: &mut self.acc,
                    };
                    let next = (self.f)(acc, x);
                    *keep.slot = Some(next);
                    drop(keep); // the slot is full again: the copy is dropped
                    n += 1;
                }
                Ok(None) => break,
                Err(Error::Closed { .. }) => self.done = true,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    fn run(&mut self, timeout: Option<Duration>) -> Result<()> {
        let deadline = Deadline::from_timeout(timeout);
        loop {
            self.pump()?;
            if self.done {
                return Ok(());
            }
            let left = deadline.remaining();
            if left == Some(Duration::ZERO) {
                return Err(self.src.raw.timeout_err(&deadline));
            }
            let src = &self.src;
            src.wait_for(left, || !src.is_empty() || src.is_closed());
        }
    }

    /// Consumes until the source is closed and drained; returns the result.
    pub fn run_until_closed(mut self) -> Result<A> {
        self.run(None)?;
        Ok(self.acc.take().expect("accumulator present"))
    }

    /// Like [`Fold::run_until_closed`] with a timeout; on timeout the fold
    /// is still usable.
    pub fn run_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.run(Some(timeout))
    }
}

// ----- Stream<void> ---------------------------------------------------------

const VOID_KIND: &str = "stream_void";

/// The C++ `Stream<void>`: an event counter with a close flag, one entry
/// `name` of [`fmt::VOID_SIZE`] bytes: `event_count` atomic u64 at
/// [`fmt::VOID_EVENT_COUNT`], `closed` atomic u8 at [`fmt::VOID_CLOSED`]
/// (docs/FORMAT.md §4.8). It has no element type, so it is its own
/// protocol core (every operation is one atomic step).
///
/// The reference has no open constructor for it; [`StreamVoid::open`]
/// checks the entry size. After a SIGKILL nothing is left half-done: every
/// operation is a single atomic step.
///
/// ```
/// use zeroipc::codata::stream::StreamVoid;
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-sv-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ticks = StreamVoid::create(&seg, "ticks")?;
/// assert!(ticks.emit());
/// ticks.close();
/// assert!(!ticks.emit()); // closed: not counted
/// assert_eq!(StreamVoid::open(&seg, "ticks")?.count(), 1);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamVoid {
    region: Region,
}

impl StreamVoid {
    /// Creates an open event counter at 0 (recorded in the segment's
    /// self-description as a Stream without element type).
    pub fn create(seg: &Segment, name: &str) -> Result<Self> {
        let parts = [Part::new(name, fmt::VOID_SIZE)];
        let desc = Description::new(StructureKind::Stream);
        let mut regions = seg.register_described(&parts, &desc, |_| Ok(()))?;
        Ok(StreamVoid {
            region: regions.remove(0),
        })
    }

    /// Opens the counter named `name` (entry size must be 16; on a
    /// self-describing segment it must be recorded as a Stream).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        check_description(seg, name, &Description::new(StructureKind::Stream))?;
        let region = seg.region(name)?;
        if region.len() as u64 != fmt::VOID_SIZE {
            return Err(region.mismatch(
                VOID_KIND,
                format!(
                    "entry is {} bytes, expected {}",
                    region.len(),
                    fmt::VOID_SIZE
                ),
            ));
        }
        Ok(StreamVoid { region })
    }

    fn count_word(&self) -> &AtomicU64 {
        self.region.atomic_u64(fmt::VOID_EVENT_COUNT as usize)
    }

    fn closed_word(&self) -> &AtomicU8 {
        self.region.atomic_u8(fmt::VOID_CLOSED as usize)
    }

    /// Counts one event; false (not counted) once closed.
    pub fn emit(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        // AcqRel: the reference's ordering; the count is the only payload.
        self.count_word().fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Events counted so far.
    pub fn count(&self) -> u64 {
        self.count_word().load(Ordering::Acquire)
    }

    /// The entry.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Closes the stream (release store of 1).
    pub fn close(&self) {
        self.closed_word().store(1, Ordering::Release);
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed_word().load(Ordering::Acquire) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;

    fn drain<T: ShmElement>(s: &Stream<T>) -> Vec<T> {
        let mut v = Vec::new();
        loop {
            match s.recv_timeout(Duration::from_secs(10)) {
                Ok(x) => v.push(x),
                Err(Error::Closed { .. }) => return v,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn emit_recv_close_drains() {
        let t = seg("stbasic");
        let s = Stream::<i32>::create(&t.1, "s", 4).unwrap();
        for x in 1..=4 {
            s.try_emit(x).unwrap();
        }
        let full = s.try_emit(5).unwrap_err();
        assert!(full.is_full() && full.value == 5, "{full}");
        let e = s.emit_timeout(5, Duration::from_millis(5)).unwrap_err();
        assert!(e.is_timeout() && e.into_inner() == 5);
        assert_eq!(s.try_recv().unwrap(), Some(1));
        s.emit(5).unwrap();
        assert_eq!(s.sequence(), 5);
        s.close();
        assert!(s.try_emit(6).unwrap_err().is_closed());
        assert_eq!(drain(&s), [2, 3, 4, 5]); // left after close: still delivered
        assert!(matches!(s.try_recv(), Err(Error::Closed { .. })));
        let again = Stream::<i32>::open(&t.1, "s").unwrap();
        assert_eq!(again.capacity(), 4);
        assert!(Stream::<i64>::open(&t.1, "s").is_err());
        assert!(Stream::<i32>::create(&t.1, &"n".repeat(25), 4).is_err());
        assert!(Stream::<i32>::create(&t.1, "z", 0).is_err());
    }

    #[test]
    fn subscribers_see_everything_or_report_overrun() {
        let t = seg("stsub");
        let s = Stream::<u32>::create(&t.1, "s", 4).unwrap();
        s.emit(100).unwrap(); // before attaching: not seen
        let mut a = s.subscribe();
        let mut b = s.subscribe();
        assert_eq!(s.subscriber_count(), 2);
        assert_eq!(a.try_next().unwrap(), None);
        s.emit_overwrite(1).unwrap();
        s.emit_overwrite(2).unwrap();
        assert_eq!(a.try_next().unwrap(), Some(1));
        for x in 3..=8 {
            s.emit_overwrite(x).unwrap();
        }
        // Ring holds 5..=8; `a` is at 2, `b` at 1.
        match a.try_next() {
            Err(Error::Overrun { missed, .. }) => assert_eq!(missed, 3), // 2, 3, 4
            r => panic!("{r:?}"),
        }
        assert_eq!(a.try_next().unwrap(), Some(5));
        match b.try_next() {
            Err(Error::Overrun { missed, .. }) => assert_eq!(missed, 4),
            r => panic!("{r:?}"),
        }
        let rest: Vec<u32> = std::iter::from_fn(|| b.try_next().unwrap()).collect();
        assert_eq!(rest, [5, 6, 7, 8]);
        s.close();
        assert_eq!(a.next_timeout(Duration::from_secs(1)).unwrap(), 6);
        drop(b);
        assert_eq!(s.subscriber_count(), 1);
        assert_eq!(a.try_next().unwrap(), Some(7));
        assert_eq!(a.try_next().unwrap(), Some(8));
        assert!(matches!(a.try_next(), Err(Error::Closed { .. })));
    }

    #[test]
    fn subscriber_with_a_consumer_keeps_up_across_threads() {
        let t = seg("stsubthr");
        let s = Stream::<u64>::create(&t.1, "s", 64).unwrap();
        let mut sub = s.subscribe();
        let consumer = s.clone();
        let c = std::thread::spawn(move || drain(&consumer).len());
        let w = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut lost = 0;
            loop {
                match sub.next_timeout(Duration::from_secs(10)) {
                    Ok(x) => seen.push(x),
                    Err(Error::Overrun { missed, .. }) => lost += missed,
                    Err(Error::Closed { .. }) => return (seen, lost),
                    Err(e) => panic!("{e}"),
                }
            }
        });
        for x in 0..20_000u64 {
            s.emit(x).unwrap();
        }
        s.close();
        assert_eq!(c.join().unwrap(), 20_000);
        let (seen, lost) = w.join().unwrap();
        // Whatever it saw is in order and without duplicates, and whatever
        // it did not see was reported.
        assert!(seen.windows(2).all(|p| p[0] < p[1]));
        assert_eq!(seen.len() as u64 + lost, 20_000);
    }

    #[test]
    fn stages_map_filter_take_skip_fold() {
        let t = seg("ststage");
        let src = Stream::<i32>::create(&t.1, "src", 4).unwrap();
        let mut sq = src
            .map(&t.1, "sq", |x| i64::from(x) * i64::from(x))
            .unwrap();
        let mut odd = sq.output().filter(&t.1, "odd", |x| x % 2 == 1).unwrap();
        let mut first = odd.output().take(&t.1, "first", 3).unwrap();
        let mut late = first.output().skip(&t.1, "late", 1).unwrap();
        assert_eq!(sq.output().transform_name(), "map");
        assert_eq!(first.output().capacity(), 3);
        let fold = late.output().fold(0i64, |a, x| a + x);
        let mut fold = fold;
        // Drive everything by hand, never blocking.
        let mut next = 1;
        while !fold.is_done() {
            if next <= 20 && src.try_emit(next).is_ok() {
                next += 1;
            } else if next > 20 && !src.is_closed() {
                src.close();
            }
            sq.pump().unwrap();
            odd.pump().unwrap();
            first.pump().unwrap();
            late.pump().unwrap();
            fold.pump().unwrap();
        }
        // squares 1, 9, 25 (take 3 of the odd squares), skip 1 -> 9 + 25
        assert_eq!(*fold.value(), 34);
        assert!(first.is_done() && late.is_done());
        assert_eq!(first.output().sequence(), 3);
    }

    #[test]
    fn spawned_stage_and_take_zero() {
        let t = seg("stspawn");
        let src = Stream::<u8>::create(&t.1, "src", 2).unwrap();
        let none = src.take(&t.1, "none", 0).unwrap();
        assert!(none.is_done() && none.output().is_closed());
        let h = src.map(&t.1, "inc", |x| u16::from(x) + 1).unwrap().spawn();
        let out = Stream::<u16>::open(&t.1, "inc").unwrap();
        let sum =
            std::thread::spawn(move || out.fold(0u32, |a, x| a + u32::from(x)).run_until_closed());
        for x in 0..=255u8 {
            src.emit(x).unwrap();
        }
        src.close();
        assert_eq!(h.join().unwrap().unwrap(), 256);
        assert_eq!(sum.join().unwrap().unwrap(), (1..=256).sum::<u32>());
    }

    #[test]
    fn hostile_positions_fail_cleanly() {
        let t = seg("sthostile");
        let s = Stream::<u32>::create(&t.1, "s", 4).unwrap();
        let mut sub = s.subscribe();
        s.emit(1).unwrap();
        assert_eq!(sub.try_next().unwrap(), Some(1));
        let ring = s.raw().ring().region();
        // read_pos ahead of write_pos: a corrupted header.
        ring.atomic_u64(8).store(1 << 40, Ordering::Relaxed);
        assert!(matches!(
            s.emit_overwrite(2), // bounded: a mismatch, not a 2^40-step loop
            Err(Error::StructureMismatch { .. })
        ));
        // write_pos moved backwards under a subscriber.
        ring.atomic_u64(0).store(0, Ordering::Relaxed);
        assert!(matches!(
            sub.try_next(),
            Err(Error::StructureMismatch { .. })
        ));
        assert_eq!(sub.try_next().unwrap(), None); // resynchronised
                                                   // Off the element grid.
        ring.atomic_u64(0).store(3, Ordering::Relaxed);
        assert!(sub.try_next().is_err());
    }

    #[test]
    fn stream_void_counts() {
        let t = seg("stvoid");
        let v = StreamVoid::create(&t.1, "v").unwrap();
        assert!(v.emit() && v.emit());
        assert_eq!(v.count(), 2);
        v.close();
        assert!(!v.emit());
        assert!(StreamVoid::open(&t.1, "v").unwrap().is_closed());
        Stream::<i32>::create(&t.1, "s", 2).unwrap();
        assert!(StreamVoid::open(&t.1, "s_header").is_err());
    }
}
