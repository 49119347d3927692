//! `Stream<T>`: an ordered sequence of values emitted by one producer, read
//! destructively by one consumer and/or observed by any number of
//! subscribers, with a close; plus [`StreamVoid`], the C++ `Stream<void>`
//! event counter. FORMAT.md §4, REFERENCE-NOTES §9 (C++ layout; the Python
//! reference's Stream is a bare Ring under `name` and cannot interoperate).
//!
//! # Layout (two entries, created together, in this order)
//!
//! `name_header`, 56 bytes:
//!
//! | off | type | field |
//! |---|---|---|
//! | 0 | atomic u64 | sequence: elements ever emitted |
//! | 8 | atomic u32 | subscribers: readers attached (see below) |
//! | 12 | atomic u8 | closed (0/1) |
//! | 16 | u32 | buffer_capacity, in elements |
//! | 20 | `[u8; 32]` | transform_name: `""`, `"map"`, `"filter"`, `"take"`, `"skip"` |
//!
//! `name_buffer`: a [`Ring<T>`] of `buffer_capacity * s` bytes. Both names
//! are checked before anything is created ([`Segment::register_group`]), so
//! base names are limited to 24 bytes and a failure leaves no orphan entry.
//!
//! # Single producer, single consumer, many subscribers
//!
//! **`emit` is single-producer**: the buffer is the reference's SPSC
//! [`Ring`], whose positions are plain stores; two processes emitting into
//! one stream garble it (the reference documents multi-producer use; that is
//! its bug 18). Likewise at most one process consumes destructively
//! ([`Stream::try_recv`]/[`Stream::recv`], the reference's `next()`, and the
//! pipeline stages, which consume their source).
//!
//! Readers come in two kinds:
//! - the **consumer** takes elements out of the ring (`read_pos` moves);
//!   while the ring is full, [`Stream::emit`] waits for it (backpressure).
//! - **subscribers** ([`Stream::subscribe`]) read without consuming: each
//!   has its own cursor starting at `write_pos` when it attached, and reads
//!   with [`Ring`]'s non-destructive `read_at`. It sees every element
//!   emitted after it attached that it reads while the element is still
//!   safe in its slot: not yet taken by the consumer (or dropped by
//!   [`Stream::emit_overwrite`]), or followed by fewer than `capacity`
//!   later elements. An element that is both taken and `capacity` behind
//!   the newest one sits in the slot the producer writes next, and the
//!   format has no mark of a write in progress, so a reader cannot tell
//!   whether it is being overwritten at that moment: it counts as lost
//!   (with capacity 4: subscribe, emit 4, consume 4, and the first of the
//!   four is reported missed, the other three are delivered). A subscriber
//!   that falls behind gets [`Error::Overrun`] with the number of elements
//!   it missed and continues with the oldest element still safe — it is
//!   never silently skipped ahead. A copy is accepted only if, after it,
//!   `write_pos < cursor + capacity` (the producer has not started on the
//!   slot) or `read_pos <= cursor` (the slot cannot be reused yet);
//!   otherwise it is discarded as overrun.
//!
//! With no consumer the ring fills and `emit` blocks; a broadcast-only
//! stream uses [`Stream::emit_overwrite`], which drops the oldest element
//! when full (the producer then also acts as the ring's consumer, so no
//! process may consume destructively at the same time).
//!
//! `subscribers` counts our attached readers: live [`Subscriber`]s, blocked
//! consumers and blocked stages. Our producer wakes the sleepers (futex on
//! that word) after an emit when it is nonzero; every sleep is bounded
//! ([`crate::wait::MAX_SLEEP`]) because reference producers wake nobody. A
//! producer blocked on a full ring polls with bounded sleeps.
//!
//! # Transforms without blocking the caller
//!
//! The reference's `map`/`filter`/`take`/`skip` subscribe to the source and
//! so block the caller until the source closes (bug 20). Here they create
//! the output stream (capacity as the source; `take(n)` uses `min(n,
//! capacity)`) with its transform name and return a [`Stage`] that the
//! caller drives: [`Stage::pump`] moves what is available without blocking,
//! [`Stage::run_until_closed`] blocks, [`Stage::spawn`] runs it on a
//! thread. A stage consumes its source (it is the source's consumer),
//! closes its output when the source is closed and drained (`take` closes
//! it after `n` elements), and stops if its output is closed by someone
//! else. It takes a source element only once the element's result has
//! been emitted (or the function skipped it), and checks the output before
//! looking at the source, so closing its output never loses a source
//! element: what the stage did not deliver stays in the source. A stage
//! waiting for its source also watches its output's `closed` flag (within
//! [`crate::wait::MAX_SLEEP`]: the closer wakes only the output's readers),
//! so a spawned stage on an idle source ends soon after the output is
//! closed. [`Stream::fold`] returns a [`Fold`] driven the same way. Elements
//! left in the ring when the stream is closed are still delivered (the
//! reference's subscribe drops them).
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

use crate::data::ring::Ring;
use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{millis, poll_until, wait_until, wake_all};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KIND: &str = "stream";

const HEADER_SIZE: u64 = 56;
const OFF_SEQUENCE: usize = 0;
const OFF_SUBSCRIBERS: usize = 8;
const OFF_CLOSED: usize = 12;
const OFF_CAPACITY: usize = 16;
const OFF_TRANSFORM: usize = 20;
const TRANSFORM_LEN: usize = 32;

/// Counts the holder in `subscribers` for its lifetime (also on unwind).
struct Attached<'a>(&'a AtomicU32);

impl<'a> Attached<'a> {
    fn new(word: &'a AtomicU32) -> Self {
        // SeqCst: Dekker pair with the producer's fence + load in `notify`:
        // either the producer sees us and wakes us, or we see its element
        // before sleeping.
        word.fetch_add(1, Ordering::SeqCst);
        Attached(word)
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A shared stream of `T` (single producer; see the module docs).
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
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Stream<T: ShmElement> {
    header: Region,
    ring: Arc<Ring<T>>,
    /// Cached at open: ring capacity in bytes and elements.
    cap_bytes: u64,
    capacity: usize,
    name: String,
}

impl<T: ShmElement> Clone for Stream<T> {
    fn clone(&self) -> Self {
        Stream {
            header: self.header.clone(),
            ring: Arc::clone(&self.ring),
            cap_bytes: self.cap_bytes,
            capacity: self.capacity,
            name: self.name.clone(),
        }
    }
}

impl<T: ShmElement> std::fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("sequence", &self.sequence())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: ShmElement> Stream<T> {
    const ELEM: u64 = size_of::<T>() as u64;

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
        debug_assert!(transform.len() < TRANSFORM_LEN);
        let ring_size = Ring::<T>::size_for(capacity).ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!(
                "stream {name:?}: capacity {capacity} elements x {} bytes must be 1 ..= {} bytes",
                Self::ELEM,
                u32::MAX
            ),
        })?;
        let mut regions = seg.register_group(
            &[
                Part::new(format!("{name}_header"), HEADER_SIZE),
                Part::new(format!("{name}_buffer"), ring_size),
            ],
            |r| {
                // Plain fields, published by the table's release of
                // entry_count; sequence/subscribers/closed are already 0.
                r[0].write::<u32>(OFF_CAPACITY, capacity as u32);
                r[0].write_bytes(OFF_TRANSFORM, transform.as_bytes());
                Ring::<T>::init_region(&r[1], capacity);
                Ok(())
            },
        )?;
        let buffer = regions.pop().expect("two regions");
        let header = regions.pop().expect("two regions");
        Self::from_regions(name, header, buffer)
    }

    /// Opens the stream named `name`, validating the header against the
    /// ring and `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let header = seg.region(&format!("{name}_header"))?;
        let buffer = seg.region(&format!("{name}_buffer"))?;
        Self::from_regions(name, header, buffer)
    }

    fn from_regions(name: &str, header: Region, buffer: Region) -> Result<Self> {
        if header.len() as u64 != HEADER_SIZE {
            return Err(header.mismatch(
                KIND,
                format!(
                    "header entry is {} bytes, expected {HEADER_SIZE}",
                    header.len()
                ),
            ));
        }
        let ring = Ring::<T>::from_region(buffer)?;
        // Relaxed: only the value's range matters (0/1 for every writer).
        let closed = header.atomic_u8(OFF_CLOSED).load(Ordering::Relaxed);
        if closed > 1 {
            return Err(header.mismatch(
                KIND,
                format!(
                    "closed flag is {closed}, not 0 or 1: not a stream header, or a corrupted one"
                ),
            ));
        }
        let stated = header.read_u32(OFF_CAPACITY) as usize;
        if stated != ring.capacity() {
            return Err(header.mismatch(
                KIND,
                format!(
                    "buffer_capacity {stated} elements disagrees with the ring's {} elements",
                    ring.capacity()
                ),
            ));
        }
        Ok(Stream {
            header,
            cap_bytes: ring.capacity_bytes() as u64,
            capacity: ring.capacity(),
            ring: Arc::new(ring),
            name: name.to_owned(),
        })
    }

    /// The base name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Buffer capacity in elements.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Elements in the ring not yet consumed (a snapshot).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when nothing is waiting to be consumed.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Elements ever emitted (the header's `sequence`).
    pub fn sequence(&self) -> u64 {
        self.header.atomic_u64(OFF_SEQUENCE).load(Ordering::Acquire)
    }

    /// Attached readers as counted in the header (see the module docs).
    pub fn subscriber_count(&self) -> u32 {
        self.subscribers().load(Ordering::Relaxed)
    }

    /// The transform that produced this stream (`""` for a source).
    pub fn transform_name(&self) -> String {
        let mut buf = [0u8; TRANSFORM_LEN];
        self.header.read_bytes(OFF_TRANSFORM, &mut buf);
        let end = buf.iter().position(|&b| b == 0).unwrap_or(TRANSFORM_LEN);
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }

    fn subscribers(&self) -> &AtomicU32 {
        self.header.atomic_u32(OFF_SUBSCRIBERS)
    }

    fn closed_word(&self) -> &AtomicU8 {
        self.header.atomic_u8(OFF_CLOSED)
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed_word().load(Ordering::Acquire) != 0
    }

    /// Closes the stream: no more emits; readers get what is left, then
    /// [`Error::Closed`]. Wakes sleeping readers.
    pub fn close(&self) {
        // Release: every element emitted before (by this thread) is visible
        // to a reader that acquires closed == 1.
        self.closed_word().store(1, Ordering::Release);
        wake_all(self.subscribers());
    }

    fn closed_err(&self) -> Error {
        Error::Closed {
            name: self.name.clone(),
            kind: KIND,
        }
    }

    fn timeout_err(&self, start: Instant) -> Error {
        Error::Timeout {
            name: self.name.clone(),
            kind: KIND,
            waited_ms: millis(start.elapsed()),
        }
    }

    /// After an element is published: count it and wake sleepers.
    fn notify(&self) {
        // AcqRel as the reference; the ring's write_pos already published
        // the element itself.
        self.header
            .atomic_u64(OFF_SEQUENCE)
            .fetch_add(1, Ordering::AcqRel);
        // SeqCst fence: the write_pos store before the subscribers load
        // (Dekker pair with `Attached::new`).
        fence(Ordering::SeqCst);
        if self.subscribers().load(Ordering::Relaxed) > 0 {
            wake_all(self.subscribers());
        }
    }

    /// Emits `v` if there is room: `Ok(true)` emitted, `Ok(false)` full,
    /// [`Error::Closed`] if closed. Single producer only.
    pub fn try_emit(&self, v: T) -> Result<bool> {
        if self.is_closed() {
            return Err(self.closed_err());
        }
        if self.ring.write(v).is_err() {
            return Ok(false);
        }
        self.notify();
        Ok(true)
    }

    fn emit_until(&self, v: T, timeout: Option<Duration>) -> Result<()> {
        let start = Instant::now();
        let mut outcome = None;
        poll_until(timeout, || match self.try_emit(v) {
            Ok(false) => None,
            r => {
                outcome = Some(r);
                Some(())
            }
        });
        match outcome {
            Some(r) => r.map(|_| ()),
            None => Err(self.timeout_err(start)),
        }
    }

    /// Emits `v`, waiting while the ring is full (backpressure from the
    /// consumer). [`Error::Closed`] if closed. Single producer only.
    pub fn emit(&self, v: T) -> Result<()> {
        self.emit_until(v, None)
    }

    /// Like [`Stream::emit`], giving up with [`Error::Timeout`].
    pub fn emit_timeout(&self, v: T, timeout: Duration) -> Result<()> {
        self.emit_until(v, Some(timeout))
    }

    /// Broadcast emit: if the ring is full, drops the oldest element (the
    /// producer acts as the ring's consumer), then emits `v`. Returns how
    /// many elements were dropped (0 or 1). Only for streams nobody
    /// consumes destructively (subscribers only).
    pub fn emit_overwrite(&self, v: T) -> Result<u64> {
        if self.is_closed() {
            return Err(self.closed_err());
        }
        let (mut dropped, mut tries) = (0u64, 0u64);
        while self.ring.write(v).is_err() {
            tries += 1;
            // One read makes room in a consistent ring; a ring whose
            // positions were corrupted may need more, but never more than a
            // capacity's worth, so the loop is bounded.
            if self.ring.read().is_some() {
                dropped += 1;
            }
            if tries > self.capacity as u64 {
                return Err(self.header.mismatch(
                    KIND,
                    format!(
                        "buffer still full after dropping {dropped} elements: positions \
                         write {} / read {} are inconsistent",
                        self.ring.write_pos(),
                        self.ring.read_pos()
                    ),
                ));
            }
        }
        self.notify();
        Ok(dropped)
    }

    /// Takes the next element if there is one (the reference's `next()`):
    /// `Ok(None)` when empty, [`Error::Closed`] once closed and drained.
    /// Single consumer only.
    pub fn try_recv(&self) -> Result<Option<T>> {
        if let Some(v) = self.ring.read() {
            return Ok(Some(v));
        }
        if self.is_closed() {
            // Acquire above: elements emitted before the close are visible
            // now; take one if the first read raced with them.
            return match self.ring.read() {
                Some(v) => Ok(Some(v)),
                None => Err(self.closed_err()),
            };
        }
        Ok(None)
    }

    /// The next element without taking it, for a stage (the source's only
    /// consumer, so the element stays next until [`Stream::take_peeked`]):
    /// `Ok(None)` when empty, [`Error::Closed`] once closed and drained.
    fn peek(&self) -> Result<Option<T>> {
        if let Some(v) = self.peek_ring() {
            return Ok(Some(v));
        }
        if self.is_closed() {
            // Acquire on closed: elements emitted before the close are
            // visible now; look once more.
            return match self.peek_ring() {
                Some(v) => Ok(Some(v)),
                None => Err(self.closed_err()),
            };
        }
        Ok(None)
    }

    fn peek_ring(&self) -> Option<T> {
        // Only we (the consumer) move read_pos. Acquire on write_pos: the
        // producer's bytes of every element before it are visible.
        let rp = self.ring.read_pos();
        let wp = self.ring.write_pos();
        (wp.wrapping_sub(rp) >= Self::ELEM).then(|| self.ring.read_at(rp))
    }

    /// Takes the element [`Stream::peek`] returned (the producer never
    /// writes an unconsumed slot, so it is still the same one). False if
    /// the ring was found empty (positions rewritten by a hostile peer).
    fn take_peeked(&self) -> bool {
        self.ring.read().is_some()
    }

    fn recv_until(&self, timeout: Option<Duration>) -> Result<T> {
        if let Some(v) = self.try_recv()? {
            return Ok(v);
        }
        let start = Instant::now();
        let _attached = Attached::new(self.subscribers());
        match wait_until(self.subscribers(), timeout, || self.try_recv().transpose()) {
            Some(r) => r,
            None => Err(self.timeout_err(start)),
        }
    }

    /// Takes the next element, waiting for one; after close, the remaining
    /// elements and then [`Error::Closed`]. Single consumer only.
    pub fn recv(&self) -> Result<T> {
        self.recv_until(None)
    }

    /// Like [`Stream::recv`], giving up with [`Error::Timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_until(Some(timeout))
    }

    /// Attaches a non-destructive reader positioned at the current end of
    /// the stream (see the module docs for what it is guaranteed to see).
    pub fn subscribe(&self) -> Subscriber<T> {
        self.subscribers().fetch_add(1, Ordering::SeqCst);
        Subscriber {
            cursor: self.ring.write_pos(),
            stream: self.clone(),
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
        if transform.len() >= TRANSFORM_LEN {
            return Err(Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: format!(
                    "stream {name:?}: transform name {transform:?} is longer than 31 bytes"
                ),
            });
        }
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
        self.stage(seg, name, "map", self.capacity, move |x| Step::Emit(f(x)))
    }

    /// `filter`: a stage passing on the elements for which `keep` is true.
    pub fn filter(
        &self,
        seg: &Segment,
        name: &str,
        mut keep: impl FnMut(&T) -> bool,
    ) -> Result<Stage<T, T, impl FnMut(T) -> Step<T>>> {
        self.stage(seg, name, "filter", self.capacity, move |x| {
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
        let cap = (n.min(self.capacity as u64) as usize).max(1);
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
        self.stage(seg, name, "skip", self.capacity, move |x| {
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

    /// Waits (bounded sleeps on the subscribers word) until `ready` holds,
    /// counting the caller as attached. Returns false on timeout.
    fn wait_for(&self, timeout: Option<Duration>, mut ready: impl FnMut() -> bool) -> bool {
        let _attached = Attached::new(self.subscribers());
        wait_until(self.subscribers(), timeout, || ready().then_some(())).is_some()
    }
}

/// A non-destructive reader of a [`Stream`] (see the module docs). Counted
/// in the header's `subscribers` while alive.
pub struct Subscriber<T: ShmElement> {
    stream: Stream<T>,
    /// Byte position of the next element to read.
    cursor: u64,
}

impl<T: ShmElement> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("stream", &self.stream.name)
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl<T: ShmElement> Drop for Subscriber<T> {
    fn drop(&mut self) {
        self.stream.subscribers().fetch_sub(1, Ordering::SeqCst);
    }
}

impl<T: ShmElement> Subscriber<T> {
    const ELEM: u64 = size_of::<T>() as u64;

    /// Elements emitted but not yet read by this subscriber (a snapshot;
    /// more than the capacity means it has been lapped).
    pub fn lag(&self) -> u64 {
        self.stream.ring.write_pos().wrapping_sub(self.cursor) / Self::ELEM
    }

    /// Moves the cursor to the oldest element that may still be intact and
    /// reports what was skipped.
    fn overrun(&mut self, at_least: u64) -> Error {
        let cap = self.stream.cap_bytes;
        let wp = self.stream.ring.write_pos();
        let rp = self.stream.ring.read_pos();
        // The slot of position p is reused when the producer writes p + cap,
        // which needs read_pos > p: so positions >= min(rp, wp - cap + s)
        // are intact (rp >= wp - cap for a consistent ring).
        let oldest = rp.min(wp.saturating_sub(cap).saturating_add(Self::ELEM));
        let new = oldest.max(at_least).min(wp);
        let missed = new.saturating_sub(self.cursor) / Self::ELEM;
        self.cursor = new;
        Error::Overrun {
            name: self.stream.name.clone(),
            kind: KIND,
            missed,
        }
    }

    /// The next element if one is available: `Ok(None)` when caught up,
    /// [`Error::Overrun`] (once, then reading continues) when elements were
    /// lost, [`Error::Closed`] once the stream is closed and this
    /// subscriber has read everything.
    pub fn try_next(&mut self) -> Result<Option<T>> {
        let s = Self::ELEM;
        let cap = self.stream.cap_bytes;
        let ring = &self.stream.ring;
        // Acquire: the element bytes before write_pos are visible.
        let wp = ring.write_pos();
        if wp == self.cursor {
            if self.stream.is_closed() {
                // Acquire on closed: emits before the close are visible.
                if ring.write_pos() == self.cursor {
                    return Err(self.stream.closed_err());
                }
                return self.try_next();
            }
            return Ok(None);
        }
        if wp < self.cursor || (wp - self.cursor) % s != 0 {
            // The positions went backwards or off the element grid: a
            // reference `reset()` or a corrupted header. Resynchronise.
            let old = self.cursor;
            self.cursor = wp;
            return Err(self.stream.header.mismatch(
                KIND,
                format!(
                    "write_pos {wp} is not after this subscriber's position {old}; resynchronised"
                ),
            ));
        }
        if wp - self.cursor > cap {
            return Err(self.overrun(self.cursor));
        }
        let v = ring.read_at(self.cursor);
        // Keep the copy before the position re-checks.
        fence(Ordering::Acquire);
        let wp2 = ring.write_pos();
        let rp2 = ring.read_pos();
        if wp2 < self.cursor.saturating_add(cap) || rp2 <= self.cursor {
            self.cursor = self.cursor.saturating_add(s);
            Ok(Some(v))
        } else {
            // The producer may have been rewriting this slot during the copy.
            let next = self.cursor.saturating_add(s);
            Err(self.overrun(next))
        }
    }

    fn next_until(&mut self, timeout: Option<Duration>) -> Result<T> {
        let start = Instant::now();
        let stream = self.stream.clone();
        let word = stream.subscribers();
        let mut outcome = None;
        wait_until(word, timeout, || match self.try_next() {
            Ok(None) => None,
            r => {
                outcome = Some(r.map(|v| v.expect("Some")));
                Some(())
            }
        });
        outcome.unwrap_or_else(|| Err(stream.timeout_err(start)))
    }

    /// The next element, waiting for one (errors as [`Subscriber::try_next`]).
    pub fn next_blocking(&mut self) -> Result<T> {
        self.next_until(None)
    }

    /// Like [`Subscriber::next_blocking`], giving up with [`Error::Timeout`].
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<T> {
        self.next_until(Some(timeout))
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
            .field("src", &self.src.name)
            .field("dst", &self.dst.name)
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
            Ok(true) => {
                self.pending = None;
                self.take_source();
                if close_after {
                    self.finish();
                }
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(Error::Closed { .. }) => {
                self.done = true;
                self.pending = None;
                Ok(false)
            }
            Err(e) => Err(e),
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
        let start = Instant::now();
        loop {
            self.pump()?;
            if self.done {
                return Ok(self.taken);
            }
            let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
            if left == Some(Duration::ZERO) {
                return Err(self.dst.timeout_err(start));
            }
            if self.pending.is_some() {
                // Output full: its consumer wakes nobody; poll briefly.
                let dst = &self.dst;
                poll_until(left.map(|l| l.min(crate::wait::MAX_SLEEP)), || {
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
            .field("src", &self.src.name)
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
        let start = Instant::now();
        loop {
            self.pump()?;
            if self.done {
                return Ok(());
            }
            let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
            if left == Some(Duration::ZERO) {
                return Err(self.src.timeout_err(start));
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
const VOID_SIZE: u64 = 16;

/// The C++ `Stream<void>`: an event counter with a close flag, one entry
/// `name` of 16 bytes: `event_count` atomic u64 @0, `closed` atomic u8 @8.
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
    /// Creates an open event counter at 0.
    pub fn create(seg: &Segment, name: &str) -> Result<Self> {
        let region = seg.register(name, VOID_SIZE, |_| Ok(()))?;
        Ok(StreamVoid { region })
    }

    /// Opens the counter named `name` (entry size must be 16).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let region = seg.region(name)?;
        if region.len() as u64 != VOID_SIZE {
            return Err(region.mismatch(
                VOID_KIND,
                format!("entry is {} bytes, expected {VOID_SIZE}", region.len()),
            ));
        }
        Ok(StreamVoid { region })
    }

    fn count_word(&self) -> &AtomicU64 {
        self.region.atomic_u64(0)
    }

    fn closed_word(&self) -> &AtomicU8 {
        self.region.atomic_u8(8)
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
            assert!(s.try_emit(x).unwrap());
        }
        assert!(!s.try_emit(5).unwrap());
        assert!(matches!(
            s.emit_timeout(5, Duration::from_millis(5)),
            Err(Error::Timeout { .. })
        ));
        assert_eq!(s.try_recv().unwrap(), Some(1));
        s.emit(5).unwrap();
        assert_eq!(s.sequence(), 5);
        s.close();
        assert!(matches!(s.try_emit(6), Err(Error::Closed { .. })));
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
            if next <= 20 && src.try_emit(next).unwrap() {
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
        let ring = s.ring.region();
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
