//! [`RawStream`]: the `Stream` protocol over bytes (emit, consume, close,
//! non-destructive subscribers), with the element layout known at run time.
//! [`crate::Stream`] is a typed veneer over it; its pipeline stages and
//! folds, which need closures over typed values, are built on top of it.
//!
//! The normative layout is docs/FORMAT.md §4.7 (the C++ layout; the Python
//! reference's Stream is a bare Ring under `name` and cannot interoperate,
//! §7); the offsets are [`crate::format::stream`]. Two entries, created
//! together: `name_header` and `name_buffer`, a [`RawRing`]. Both names are
//! checked before anything is created ([`Segment::register_group`]), so
//! base names are limited to 24 bytes and a failure leaves no orphan entry.
//!
//! # Single producer, single consumer, many subscribers
//!
//! **Emitting is single-producer**: the buffer is the reference's SPSC
//! ring, whose positions are plain stores; two processes emitting into one
//! stream garble it (the reference documents multi-producer use; that is
//! its defect #18, docs/FORMAT.md §8.3). Likewise at most one process
//! consumes destructively (the reference's `next()`).
//!
//! Readers come in two kinds:
//! - the **consumer** takes elements out of the ring (`read_pos` moves);
//!   while the ring is full, a blocking emit waits for it (backpressure).
//! - **subscribers** ([`RawStream::subscribe`]) read without consuming:
//!   each has its own cursor starting at `write_pos` when it attached. It
//!   sees every element emitted after it attached that it reads while the
//!   element is still safe in its slot: not yet taken by the consumer (or
//!   dropped by [`RawStream::emit_overwrite`]), or followed by fewer than
//!   `capacity` later elements. An element that is both taken and
//!   `capacity` behind the newest one sits in the slot the producer writes
//!   next, and the format has no mark of a write in progress, so a reader
//!   cannot tell whether it is being overwritten at that moment: it counts
//!   as lost (with capacity 4: subscribe, emit 4, consume 4, and the first
//!   of the four is reported missed, the other three are delivered). A
//!   subscriber that falls behind gets [`Error::Overrun`] with the number
//!   of elements it missed and continues with the oldest element still
//!   safe — it is never silently skipped ahead. A copy is accepted only if,
//!   after it, `write_pos < cursor + capacity` (the producer has not
//!   started on the slot) or `read_pos <= cursor` (the slot cannot be
//!   reused yet); otherwise it is discarded as overrun.
//!
//! With no consumer the ring fills and a blocking emit waits; a
//! broadcast-only stream uses [`RawStream::emit_overwrite`], which drops the
//! oldest element when full (the producer then also acts as the ring's
//! consumer, so no process may consume destructively at the same time).
//!
//! `subscribers` counts our attached readers: live subscribers, blocked
//! consumers and blocked stages.
//!
//! # Waking
//!
//! With the segment's waiter registry (`__zeroipc_waiters`, docs/FORMAT.md
//! §12, [`crate::format::waiters`]) the stream's sleepers are the ring's:
//! they count themselves in the `name_buffer` entry's counts, as
//! [`RawRing`]'s own blocking calls do. Sleeping readers
//! (consumer, subscribers, stages) count in "items" and sleep on the low
//! half of the ring's `write_pos`; a producer blocked on a full ring counts
//! in "room" and sleeps on the low half of `read_pos`. The ring's write and
//! read wake those words only when the count is nonzero (no system call
//! while nobody sleeps). Without a registry (a segment made by a reference
//! library) readers sleep on the `subscribers` word, which our producer
//! wakes after an emit while it is nonzero, and a blocked producer polls.
//! Every sleep is bounded ([`crate::wait::MAX_SLEEP`]) because reference
//! producers and consumers wake nobody.
//!
//! # Forms
//!
//! [`RawStream::try_emit`] / [`RawStream::try_recv`] /
//! [`RawSubscriber::try_next`] never wait ([`Error::Full`] / `Ok(false)`);
//! [`RawStream::emit_timeout`] / [`RawStream::recv_timeout`] /
//! [`RawSubscriber::next_timeout`] wait at most their timeout
//! (`Duration::MAX`: no limit); [`RawStream::items`] copies the
//! unconsumed elements without consuming them.

use super::ring::RawRing;
use crate::codata::CountGuard;
use crate::describe::{check_description, Description};
use crate::error::{Error, Result};
use crate::format::stream as fmt;
use crate::format::waiters::Side;
use crate::format::{ElemLayout, StructureKind};
use crate::region::atomic::{fence, AtomicU32, AtomicU8, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{wait_until, wake_all, Deadline};
use crate::waiters::{Blocking, Waiters, Word};
use std::sync::Arc;
use std::time::Duration;

const KIND: &str = "stream";

/// A shared stream whose element layout is known at run time (single
/// producer; see the module docs).
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::stream::RawStream;
/// use zeroipc::{Error, Segment, Stream};
/// let name = format!("/zeroipc-doc-rawstream-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let s = RawStream::create(&seg, "s", ElemLayout::new(3, 1).unwrap(), 2)?;
/// let mut sub = s.subscribe();
/// s.try_emit(&[1, 2, 3])?;
/// s.try_emit(&[4, 5, 6])?;
/// assert!(matches!(s.try_emit(&[7, 8, 9]), Err(Error::Full { .. })));
/// assert_eq!(s.items(), vec![vec![1, 2, 3], vec![4, 5, 6]]); // nothing consumed
/// let mut out = [0u8; 3];
/// assert!(sub.try_next(&mut out)?); // a subscriber reads without consuming
/// assert_eq!(out, [1, 2, 3]);
/// // The typed veneer shares the entries and consumes.
/// assert_eq!(Stream::<[u8; 3]>::open(&seg, "s")?.try_recv()?, Some([1, 2, 3]));
/// assert!(s.try_emit(&[1]).is_err()); // wrong length: refused
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawStream {
    header: Region,
    ring: Arc<RawRing>,
    /// Cached at open: ring capacity in bytes and elements, element size.
    cap_bytes: u64,
    capacity: usize,
    size: u64,
    name: String,
    /// The registry counts of the `name_buffer` entry, the ring's (see
    /// "Waking").
    waiters: Waiters,
}

impl RawStream {
    /// Creates an open stream named `name` buffering `capacity` elements of
    /// layout `elem` (entries `name_header` and `name_buffer`).
    pub fn create(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
    ) -> Result<RawStream> {
        RawStream::create_with_transform(seg, name, elem, capacity, "")
    }

    /// [`RawStream::create`] with a transform name (at most 31 bytes: the
    /// stages' output streams record which transform made them).
    pub fn create_with_transform(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        transform: &str,
    ) -> Result<RawStream> {
        RawStream::create_described(seg, name, elem, capacity, transform, None)
    }

    /// [`RawStream::create_with_transform`] recording the element type's
    /// fingerprint when the caller knows it (the typed veneer).
    pub(crate) fn create_described(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        transform: &str,
        fingerprint: Option<u64>,
    ) -> Result<RawStream> {
        if transform.len() as u64 >= fmt::TRANSFORM_LEN {
            return Err(Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: format!(
                    "stream {name:?}: transform name {transform:?} is longer than {} bytes",
                    fmt::TRANSFORM_LEN - 1
                ),
            });
        }
        let ring_size =
            RawRing::size_for(elem, capacity).ok_or_else(|| Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: format!(
                "stream {name:?}: capacity {capacity} elements x {} bytes must be 1 ..= {} bytes",
                elem.size(),
                u32::MAX
            ),
            })?;
        let desc = Description {
            elem_fingerprint: fingerprint,
            ..Description::with_layout(StructureKind::Stream, elem, capacity as u64)
        };
        let mut regions = seg.register_described(
            &[
                Part::new(format!("{name}{}", fmt::HEADER_SUFFIX), fmt::HEADER_SIZE),
                Part::new(format!("{name}{}", fmt::BUFFER_SUFFIX), ring_size),
            ],
            &desc,
            |r| {
                // Plain fields, published by the table's release of
                // entry_count; sequence/subscribers/closed are already 0.
                r[0].write::<u32>(fmt::BUFFER_CAPACITY as usize, capacity as u32);
                r[0].write_bytes(fmt::TRANSFORM as usize, transform.as_bytes());
                RawRing::init_region(&r[1], elem, capacity);
                Ok(())
            },
        )?;
        let buffer = regions.pop().expect("two regions");
        let header = regions.pop().expect("two regions");
        RawStream::from_regions(name, header, buffer, Some(elem))
    }

    /// Opens the stream named `name`, validating the header against the
    /// ring and `elem` (`None`: the recorded layout on a self-describing
    /// segment, else the ring header's element size). A structure recorded
    /// as another kind ([`Error::WrongKind`]) or, when a layout is known, as
    /// a `Stream<void>` is refused.
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawStream> {
        let recorded = seg
            .description(name)?
            .filter(|d| d.kind == StructureKind::Stream)
            .and_then(|d| d.elem);
        let elem = elem.or(recorded);
        let expected = Description {
            elem,
            ..Description::new(StructureKind::Stream)
        };
        check_description(seg, name, &expected)?;
        let header = seg.region(&format!("{name}{}", fmt::HEADER_SUFFIX))?;
        let buffer = seg.region(&format!("{name}{}", fmt::BUFFER_SUFFIX))?;
        RawStream::from_regions(name, header, buffer, elem)
    }

    fn from_regions(
        name: &str,
        header: Region,
        buffer: Region,
        elem: Option<ElemLayout>,
    ) -> Result<RawStream> {
        if header.len() as u64 != fmt::HEADER_SIZE {
            return Err(header.mismatch(
                KIND,
                format!(
                    "header entry is {} bytes, expected {}",
                    header.len(),
                    fmt::HEADER_SIZE
                ),
            ));
        }
        let waiters = Waiters::of(&buffer);
        let ring = RawRing::from_region(buffer, elem)?;
        // Relaxed: only the value's range matters (0/1 for every writer).
        let closed = header
            .atomic_u8(fmt::CLOSED as usize)
            .load(Ordering::Relaxed);
        if closed > 1 {
            return Err(header.mismatch(
                KIND,
                format!(
                    "closed flag is {closed}, not 0 or 1: not a stream header, or a corrupted one"
                ),
            ));
        }
        let stated = header.read_u32(fmt::BUFFER_CAPACITY as usize) as usize;
        if stated != ring.capacity() {
            return Err(header.mismatch(
                KIND,
                format!(
                    "buffer_capacity {stated} elements disagrees with the ring's {} elements",
                    ring.capacity()
                ),
            ));
        }
        Ok(RawStream {
            waiters,
            header,
            cap_bytes: ring.capacity_bytes() as u64,
            capacity: ring.capacity(),
            size: ring.elem().size(),
            ring: Arc::new(ring),
            name: name.to_owned(),
        })
    }

    /// The base name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element layout.
    pub fn elem(&self) -> ElemLayout {
        self.ring.elem()
    }

    /// The `name_header` entry.
    pub fn header(&self) -> &Region {
        &self.header
    }

    /// The ring buffer (`name_buffer`).
    pub fn ring(&self) -> &RawRing {
        &self.ring
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

    /// The unconsumed elements in order, copied without consuming them.
    pub fn items(&self) -> Vec<Vec<u8>> {
        self.ring.items()
    }

    /// Elements ever emitted (the header's `sequence`).
    pub fn sequence(&self) -> u64 {
        self.header
            .atomic_u64(fmt::SEQUENCE as usize)
            .load(Ordering::Acquire)
    }

    /// Attached readers as counted in the header (see the module docs).
    pub fn subscriber_count(&self) -> u32 {
        self.subscribers().load(Ordering::Relaxed)
    }

    /// The transform that produced this stream (`""` for a source).
    pub fn transform_name(&self) -> String {
        let mut buf = [0u8; fmt::TRANSFORM_LEN as usize];
        self.header.read_bytes(fmt::TRANSFORM as usize, &mut buf);
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }

    fn subscribers(&self) -> &AtomicU32 {
        self.header.atomic_u32(fmt::SUBSCRIBERS as usize)
    }

    /// The ring's `write_pos`, whose low half readers sleep on.
    fn write_pos_word(&self) -> Word<'_> {
        Word::Low32(
            self.ring
                .region()
                .atomic_u64(crate::format::ring::WRITE_POS as usize),
        )
    }

    /// The ring's `read_pos`, whose low half a blocked producer sleeps on.
    fn read_pos_word(&self) -> Word<'_> {
        Word::Low32(
            self.ring
                .region()
                .atomic_u64(crate::format::ring::READ_POS as usize),
        )
    }

    /// Waits until `ready` returns `Some` or `deadline` passes (`None`),
    /// as a reader: the caller is counted in `subscribers` (a
    /// [`CountGuard`] or a live [`RawSubscriber`]). See "Waking" in the
    /// module docs.
    fn wait_readable<R>(&self, deadline: &Deadline, ready: impl FnMut() -> Option<R>) -> Option<R> {
        if !self.waiters.present() {
            return wait_until(self.subscribers(), deadline.remaining(), ready);
        }
        // The ring's write stores `write_pos` (SeqCst: the publication is
        // the "claim", step 1 of the registry protocol) and then loads the
        // items count: a `write_pos` value seen with nothing to read is
        // idle (no claim in flight).
        Blocking {
            waiters: &self.waiters,
            side: Side::Items,
            word: self.write_pos_word(),
        }
        .wait(deadline, ready, || {}, |_| true)
    }

    /// Waits until `ready` returns `Some` or `deadline` passes (`None`),
    /// as the producer waiting for room (see "Waking" in the module docs;
    /// without a registry: bounded polling).
    pub(crate) fn wait_room<R>(
        &self,
        deadline: &Deadline,
        ready: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        // The ring's read stores `read_pos` after its copy (SeqCst) and
        // then loads the room count: a `read_pos` value seen with the ring
        // still full is idle.
        Blocking {
            waiters: &self.waiters,
            side: Side::Room,
            word: self.read_pos_word(),
        }
        .wait(deadline, ready, || {}, |_| true)
    }

    fn closed_word(&self) -> &AtomicU8 {
        self.header.atomic_u8(fmt::CLOSED as usize)
    }

    /// True once closed.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.closed_word().load(Ordering::Acquire) != 0
    }

    /// Closes the stream: no more emits; readers get what is left, then
    /// [`Error::Closed`]. Wakes sleeping readers.
    pub fn close(&self) {
        // Release: every element emitted before (by this thread) is visible
        // to a reader that acquires closed == 1.
        self.closed_word().store(1, Ordering::Release);
        // Every word a sleeper of ours may be on (close is rare: no count
        // check needed).
        wake_all(self.subscribers());
        self.write_pos_word().wake_all();
        self.read_pos_word().wake_all();
    }

    pub(crate) fn closed_err(&self) -> Error {
        Error::Closed {
            name: self.name.clone(),
            kind: KIND,
        }
    }

    pub(crate) fn timeout_err(&self, deadline: &Deadline) -> Error {
        deadline.timeout_named(&self.name, KIND)
    }

    #[inline]
    fn check_len(&self, op: &str, given: usize) -> Result<()> {
        super::check_len(&self.header, KIND, op, self.size as usize, given)
    }

    /// After an element is published: count it and wake sleepers.
    #[inline]
    fn notify(&self) {
        // AcqRel as the reference; the ring's write_pos already published
        // the element itself.
        self.header
            .atomic_u64(fmt::SEQUENCE as usize)
            .fetch_add(1, Ordering::AcqRel);
        if self.waiters.present() {
            // The ring's write already woke the sleepers it counts.
            return;
        }
        // No registry: readers sleep on `subscribers`. SeqCst fence: the
        // write_pos store before the subscribers load (Dekker pair with
        // `CountGuard::enter`).
        fence(Ordering::SeqCst);
        if self.subscribers().load(Ordering::Relaxed) > 0 {
            wake_all(self.subscribers());
        }
    }

    /// Emits `src` (length checked by the caller) if there is room:
    /// [`Error::Full`] if not, [`Error::Closed`] if closed.
    #[inline]
    pub(crate) fn try_emit_unchecked(&self, src: &[u8]) -> Result<()> {
        if self.is_closed() {
            return Err(self.closed_err());
        }
        // The length is the element size (the callers check it): a typed
        // veneer's is a constant, which `_sized` turns into cheap arithmetic.
        if self.ring.write_elems_sized(src, src.len() as u64) != 1 {
            return Err(Error::Full {
                name: self.name.clone(),
                kind: KIND,
            });
        }
        self.notify();
        Ok(())
    }

    /// Emits `src` if there is room: [`Error::Full`] if not,
    /// [`Error::Closed`] if closed. Single producer only.
    pub fn try_emit(&self, src: &[u8]) -> Result<()> {
        self.check_len("try_emit", src.len())?;
        self.try_emit_unchecked(src)
    }

    /// Emits `src` (length checked by the caller), waiting while the ring
    /// is full until `deadline` ([`Error::Timeout`]).
    pub(crate) fn emit_until(&self, src: &[u8], deadline: &Deadline) -> Result<()> {
        self.wait_room(deadline, || match self.try_emit_unchecked(src) {
            Err(Error::Full { .. }) => None,
            r => Some(r),
        })
        .unwrap_or_else(|| Err(self.timeout_err(deadline)))
    }

    /// Emits `src`, waiting while the ring is full (backpressure from the
    /// consumer) at most `timeout` (`Duration::MAX`: no limit).
    /// [`Error::Closed`] if closed. Single producer only.
    pub fn emit_timeout(&self, src: &[u8], timeout: Duration) -> Result<()> {
        self.check_len("emit", src.len())?;
        self.emit_until(src, &Deadline::after(timeout))
    }

    /// Broadcast emit: if the ring is full, drops the oldest element (the
    /// producer acts as the ring's consumer), then emits `src`. Returns how
    /// many elements were dropped (0 or 1). Only for streams nobody
    /// consumes destructively (subscribers only).
    pub fn emit_overwrite(&self, src: &[u8]) -> Result<u64> {
        self.check_len("emit_overwrite", src.len())?;
        if self.is_closed() {
            return Err(self.closed_err());
        }
        let (mut dropped, mut tries) = (0u64, 0u64);
        let mut scratch = vec![0u8; self.size as usize];
        while self.ring.write_elems(src) != 1 {
            tries += 1;
            // One read makes room in a consistent ring; a ring whose
            // positions were corrupted may need more, but never more than a
            // capacity's worth, so the loop is bounded.
            if self.ring.read_elems(&mut scratch) == 1 {
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

    /// Takes the next element into `out` (length checked by the caller):
    /// `Ok(false)` when empty, [`Error::Closed`] once closed and drained.
    #[inline]
    pub(crate) fn try_recv_unchecked(&self, out: &mut [u8]) -> Result<bool> {
        // As `try_emit_unchecked`: `out.len()` is the element size.
        let s = out.len() as u64;
        if self.ring.read_elems_sized(out, s) == 1 {
            return Ok(true);
        }
        if self.is_closed() {
            // Acquire above: elements emitted before the close are visible
            // now; take one if the first read raced with them.
            return match self.ring.read_elems_sized(out, s) {
                1 => Ok(true),
                _ => Err(self.closed_err()),
            };
        }
        Ok(false)
    }

    /// Takes the next element into `out` if there is one (the reference's
    /// `next()`): `Ok(false)` when empty, [`Error::Closed`] once closed and
    /// drained. Single consumer only.
    pub fn try_recv(&self, out: &mut [u8]) -> Result<bool> {
        self.check_len("try_recv", out.len())?;
        self.try_recv_unchecked(out)
    }

    /// The next element into `out` without taking it, for a stage (the
    /// source's only consumer, so the element stays next until
    /// [`RawStream::take_peeked`]): `Ok(false)` when empty,
    /// [`Error::Closed`] once closed and drained.
    pub(crate) fn peek(&self, out: &mut [u8]) -> Result<bool> {
        if self.peek_ring(out) {
            return Ok(true);
        }
        if self.is_closed() {
            // Acquire on closed: elements emitted before the close are
            // visible now; look once more.
            return if self.peek_ring(out) {
                Ok(true)
            } else {
                Err(self.closed_err())
            };
        }
        Ok(false)
    }

    fn peek_ring(&self, out: &mut [u8]) -> bool {
        // Only we (the consumer) move read_pos. Acquire on write_pos: the
        // producer's bytes of every element before it are visible.
        let rp = self.ring.read_pos();
        let wp = self.ring.write_pos();
        if wp.wrapping_sub(rp) < self.size {
            return false;
        }
        self.ring.read_at_unchecked(rp, out);
        true
    }

    /// Takes the element [`RawStream::peek`] returned (the producer never
    /// writes an unconsumed slot, so it is still the same one). False if
    /// the ring was found empty (positions rewritten by a hostile peer).
    pub(crate) fn take_peeked(&self, scratch: &mut [u8]) -> bool {
        self.ring.read_elems(scratch) == 1
    }

    /// Takes the next element into `out` (length checked by the caller),
    /// waiting until `deadline`; after close, the remaining elements and
    /// then [`Error::Closed`].
    pub(crate) fn recv_until(&self, out: &mut [u8], deadline: &Deadline) -> Result<()> {
        if self.try_recv_unchecked(out)? {
            return Ok(());
        }
        let _attached = CountGuard::enter(self.subscribers());
        let got = self.wait_readable(deadline, || match self.try_recv_unchecked(out) {
            Ok(false) => None,
            Ok(true) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        });
        got.unwrap_or_else(|| Err(self.timeout_err(deadline)))
    }

    /// Takes the next element into `out`, waiting at most `timeout`
    /// (`Duration::MAX`: no limit); after close, the remaining elements and
    /// then [`Error::Closed`]. Single consumer only.
    pub fn recv_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        self.check_len("recv", out.len())?;
        self.recv_until(out, &Deadline::after(timeout))
    }

    /// Attaches a non-destructive reader positioned at the current end of
    /// the stream (see the module docs for what it is guaranteed to see).
    pub fn subscribe(&self) -> RawSubscriber {
        // SeqCst: as `CountGuard::enter`.
        self.subscribers().fetch_add(1, Ordering::SeqCst);
        RawSubscriber {
            cursor: self.ring.write_pos(),
            stream: self.clone(),
        }
    }

    /// Waits until `ready` holds, counting the caller as attached and
    /// sleeping as a reader (see "Waking" in the module docs). Returns false
    /// on timeout.
    pub(crate) fn wait_for(
        &self,
        timeout: Option<Duration>,
        mut ready: impl FnMut() -> bool,
    ) -> bool {
        let _attached = CountGuard::enter(self.subscribers());
        self.wait_readable(&Deadline::from_timeout(timeout), || ready().then_some(()))
            .is_some()
    }
}

/// A non-destructive reader of a [`RawStream`] (see the module docs).
/// Counted in the header's `subscribers` while alive.
#[derive(Debug)]
pub struct RawSubscriber {
    stream: RawStream,
    /// Byte position of the next element to read.
    cursor: u64,
}

impl Drop for RawSubscriber {
    fn drop(&mut self) {
        self.stream.subscribers().fetch_sub(1, Ordering::SeqCst);
    }
}

impl RawSubscriber {
    /// The stream read.
    pub fn stream(&self) -> &RawStream {
        &self.stream
    }

    /// Elements emitted but not yet read by this subscriber (a snapshot;
    /// more than the capacity means it has been lapped).
    pub fn lag(&self) -> u64 {
        self.stream.ring.write_pos().wrapping_sub(self.cursor) / self.stream.size
    }

    /// Moves the cursor to the oldest element that may still be intact and
    /// reports what was skipped.
    fn overrun(&mut self, at_least: u64) -> Error {
        let (s, cap) = (self.stream.size, self.stream.cap_bytes);
        let wp = self.stream.ring.write_pos();
        let rp = self.stream.ring.read_pos();
        // The slot of position p is reused when the producer writes p + cap,
        // which needs read_pos > p: so positions >= min(rp, wp - cap + s)
        // are intact (rp >= wp - cap for a consistent ring).
        let oldest = rp.min(wp.saturating_sub(cap).saturating_add(s));
        let new = oldest.max(at_least).min(wp);
        let missed = new.saturating_sub(self.cursor) / s;
        self.cursor = new;
        Error::Overrun {
            name: self.stream.name.clone(),
            kind: KIND,
            missed,
        }
    }

    /// The next element into `out` (length checked by the caller): see
    /// [`RawSubscriber::try_next`].
    pub(crate) fn try_next_unchecked(&mut self, out: &mut [u8]) -> Result<bool> {
        let (s, cap) = (self.stream.size, self.stream.cap_bytes);
        // Acquire: the element bytes before write_pos are visible.
        let wp = self.stream.ring.write_pos();
        if wp == self.cursor {
            if !self.stream.is_closed() {
                return Ok(false);
            }
            // Acquire on closed: emits before the close are visible.
            if self.stream.ring.write_pos() == self.cursor {
                return Err(self.stream.closed_err());
            }
            return self.try_next_unchecked(out);
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
        self.stream.ring.read_at_unchecked(self.cursor, out);
        // Keep the copy before the position re-checks.
        fence(Ordering::Acquire);
        let wp2 = self.stream.ring.write_pos();
        let rp2 = self.stream.ring.read_pos();
        if wp2 < self.cursor.saturating_add(cap) || rp2 <= self.cursor {
            self.cursor = self.cursor.saturating_add(s);
            Ok(true)
        } else {
            // The producer may have been rewriting this slot during the copy.
            let next = self.cursor.saturating_add(s);
            Err(self.overrun(next))
        }
    }

    /// The next element into `out` if one is available: `Ok(true)`;
    /// `Ok(false)` when caught up; [`Error::Overrun`] (once, then reading
    /// continues) when elements were lost; [`Error::Closed`] once the stream
    /// is closed and this subscriber has read everything.
    pub fn try_next(&mut self, out: &mut [u8]) -> Result<bool> {
        self.stream.check_len("try_next", out.len())?;
        self.try_next_unchecked(out)
    }

    /// The next element into `out` (length checked by the caller), waiting
    /// until `deadline` (errors as [`RawSubscriber::try_next`]).
    pub(crate) fn next_until(&mut self, out: &mut [u8], deadline: &Deadline) -> Result<()> {
        // Counted in `subscribers` since `subscribe`.
        let stream = self.stream.clone();
        let got = stream.wait_readable(deadline, || match self.try_next_unchecked(out) {
            Ok(false) => None,
            Ok(true) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        });
        got.unwrap_or_else(|| Err(stream.timeout_err(deadline)))
    }

    /// The next element into `out`, waiting at most `timeout`
    /// (`Duration::MAX`: no limit; then [`Error::Timeout`]).
    pub fn next_timeout(&mut self, out: &mut [u8], timeout: Duration) -> Result<()> {
        self.stream.check_len("next", out.len())?;
        self.next_until(out, &Deadline::after(timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::Stream;

    #[test]
    fn runtime_sizes_interoperate_with_the_typed_veneer() {
        let t = seg("rawst");
        for (size, align) in [(3u64, 1u64), (12, 4), (40, 8)] {
            let name = format!("s{size}");
            let elem = ElemLayout::new(size, align).unwrap();
            let s = RawStream::create(&t.1, &name, elem, 4).unwrap();
            let mut sub = s.subscribe();
            let values: Vec<Vec<u8>> = (0..3u8).map(|k| vec![k; size as usize]).collect();
            for v in &values {
                s.emit_timeout(v, Duration::from_secs(20)).unwrap();
            }
            assert_eq!(s.items(), values);
            assert_eq!(s.sequence(), 3);
            let mut out = vec![0u8; size as usize];
            for v in &values {
                assert!(sub.try_next(&mut out).unwrap());
                assert_eq!(&out, v);
            }
            let other = RawStream::open(&t.1, &name, None).unwrap();
            assert_eq!(other.elem().size(), size);
            other.recv_timeout(&mut out, Duration::MAX).unwrap();
            assert_eq!(out, values[0]);
            s.close();
            assert!(other.try_recv(&mut out).unwrap());
            assert!(other.try_recv(&mut out).unwrap());
            assert!(matches!(
                other.try_recv(&mut out),
                Err(Error::Closed { .. })
            ));
        }
        let typed = Stream::<[u32; 3]>::create(&t.1, "typed", 2).unwrap();
        typed.emit([1, 2, 3]).unwrap();
        let raw = RawStream::open(&t.1, "typed", Some(ElemLayout::of::<[u32; 3]>())).unwrap();
        let mut out = [0u8; 12];
        assert!(raw.try_recv(&mut out).unwrap());
        assert_eq!(out[4..8], 2u32.to_le_bytes());
    }

    #[test]
    fn wrong_lengths_are_refused_and_change_nothing() {
        let t = seg("rawstlen");
        let s = RawStream::create(&t.1, "s", ElemLayout::new(12, 4).unwrap(), 2).unwrap();
        let e = s.try_emit(&[0; 11]).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        assert!(
            e.to_string().contains("11 bytes") && e.to_string().contains("12 bytes"),
            "{e}"
        );
        assert!(s.emit_timeout(&[0; 13], Duration::MAX).is_err());
        assert!(s.emit_overwrite(&[0; 1]).is_err());
        assert!(s.try_recv(&mut [0u8; 4]).is_err());
        let mut sub = s.subscribe();
        assert!(sub.try_next(&mut [0u8; 4]).is_err());
        assert_eq!((s.sequence(), s.len()), (0, 0));
        assert!(RawStream::open(&t.1, "s", Some(ElemLayout::new(8, 8).unwrap())).is_err());
        assert!(RawStream::create_with_transform(&t.1, "x", s.elem(), 2, &"t".repeat(32)).is_err());
    }
}
