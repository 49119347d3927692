//! `RawRing`: the single-producer single-consumer byte ring protocol over
//! elements whose size is known at run time. The normative layout is
//! docs/FORMAT.md §4.4; the offsets are [`crate::format::ring`].
//! [`crate::Ring`] is the typed veneer over it; the buffer of a typed
//! [`crate::Stream`] is one.
//!
//! # Capacity units
//!
//! The header stores the capacity in **bytes**, a nonzero multiple of the
//! element size. The C++ constructor takes bytes (rounded down to a
//! multiple of the element size), the Python one elements (docs/FORMAT.md
//! §7); [`RawRing::create`] takes elements, like Python, and stores
//! `capacity * s` bytes, so the same request gives the same bytes as
//! Python, and as C++ given `capacity * s`.
//!
//! # Protocol
//!
//! Lamport's single-producer single-consumer ring (L. Lamport, "Specifying
//! Concurrent Program Modules", TOPLAS 1983) with monotonic positions, as
//! the reference: the producer copies the element at `write_pos %
//! capacity` and then publishes `write_pos + s` with a release store; the
//! consumer acquires `write_pos`, copies from `read_pos % capacity` and
//! releases `read_pos + s`, which hands the bytes back to the producer.
//! Exactly one producer and one consumer (in any processes) may use a ring
//! at a time; the positions are plain stores, so a second producer or
//! consumer garbles elements (never memory safety: every copy is
//! bounds-checked).
//!
//! Positions come from shared memory and are never trusted for addressing:
//! every offset is reduced modulo the capacity cached at open, a copy that
//! would run past the end is split, and the fill level `write_pos -
//! read_pos` is clamped to the capacity, so a hostile or corrupt header can
//! yield wrong elements but no out-of-bounds access.
//!
//! # Forms
//!
//! [`RawRing::write`] / [`RawRing::read`] and their bulk forms never block
//! (`Ok(false)` / `Ok(0)` when full / empty); [`RawRing::write_timeout`] /
//! [`RawRing::read_timeout`] retry until a deadline and then return
//! [`Error::Timeout`](crate::Error::Timeout); [`RawRing::items`] copies the unread elements
//! (`read_pos..write_pos`) without consuming them.

use super::{check_elem_size, check_len, create_described, invalid_create, open_described};
use crate::error::Result;
use crate::format::waiters::Side;
use crate::format::{ring as fmt, ElemLayout, StructureKind};
use crate::region::atomic::{AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::Deadline;
use crate::waiters::{Blocking, Waiters, Word};
use std::time::Duration;

pub(crate) const KIND: &str = "ring";

const DATA: usize = fmt::DATA as usize;

/// A single-producer single-consumer ring whose element size is known at
/// run time.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::RawRing;
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-rawring-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ring = RawRing::create(&seg, "samples", ElemLayout::new(3, 1).unwrap(), 4)?; // 12 bytes
/// assert_eq!(ring.capacity_bytes(), 12);
/// assert_eq!(ring.write_bulk(b"abcdefghijklmno")?, 4); // room for 4 of the 5
/// assert!(!ring.write(b"xyz")?); // full
/// assert_eq!(ring.items(), vec![b"abc".to_vec(), b"def".to_vec(), b"ghi".to_vec(), b"jkl".to_vec()]);
/// let mut out = [0u8; 3];
/// assert!(ring.read(&mut out)?);
/// assert_eq!(&out, b"abc");
/// assert!(ring.write_bulk(b"ab").is_err()); // not a whole number of elements
/// assert_eq!(ring.len(), 3);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawRing {
    region: Region,
    elem: ElemLayout,
    /// `elem.size()`, nonzero, validated against the entry on open.
    elem_size: u64,
    /// Buffer bytes (cached at open; a nonzero multiple of `elem_size`).
    cap: u64,
    /// The ring's sleeper counts in the segment's waiter registry.
    waiters: Waiters,
}

impl RawRing {
    /// Entry size of a ring of `capacity` elements of `elem` (`None` if the
    /// byte capacity is 0 or does not fit the u32 field).
    pub(crate) fn size_for(elem: ElemLayout, capacity: usize) -> Option<u64> {
        fmt::capacity_bytes(capacity as u64, elem)?;
        fmt::entry_size(capacity as u64, elem)
    }

    /// Writes a fresh header for `capacity` elements into the zeroed
    /// `region` (which must be `size_for(elem, capacity)` bytes).
    pub(crate) fn init_region(region: &Region, elem: ElemLayout, capacity: usize) {
        let bytes = fmt::capacity_bytes(capacity as u64, elem).expect("size_for succeeded");
        assert_eq!(
            Self::size_for(elem, capacity),
            Some(region.len() as u64),
            "ring region sized by size_for"
        );
        // Relaxed: the table publishes the entry with a Release store of
        // entry_count after this returns.
        region
            .atomic_u64(fmt::WRITE_POS as usize)
            .store(0, Ordering::Relaxed);
        region
            .atomic_u64(fmt::READ_POS as usize)
            .store(0, Ordering::Relaxed);
        region.write::<u32>(fmt::CAPACITY as usize, bytes as u32);
        region.write::<u32>(fmt::ELEM_SIZE as usize, elem.size() as u32);
    }

    /// Validates `region` as a ring of `elem` (for `None`, the header's
    /// element size) and caches its capacity.
    pub(crate) fn from_region(region: Region, elem: Option<ElemLayout>) -> Result<RawRing> {
        Self::from_region_as(region, elem, None)
    }

    /// [`RawRing::from_region`] for a typed veneer: `type_name` names its
    /// element type in a mismatch error.
    pub(crate) fn from_region_as(
        region: Region,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawRing> {
        let len = region.len() as u64;
        if len < fmt::HEADER_SIZE {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 24-byte header"),
            ));
        }
        let cap = region.read_u32(fmt::CAPACITY as usize) as u64;
        let stored_size = region.read_u32(fmt::ELEM_SIZE as usize) as u64;
        let elem = check_elem_size(&region, KIND, stored_size, elem, type_name)?;
        if stored_size == 0 {
            return Err(region.mismatch(KIND, "elem_size is 0"));
        }
        if cap == 0 || cap % stored_size != 0 {
            return Err(region.mismatch(
                KIND,
                format!(
                    "capacity {cap} bytes is not a nonzero multiple of elem_size {stored_size}"
                ),
            ));
        }
        if fmt::HEADER_SIZE + cap != len {
            return Err(region.mismatch(
                KIND,
                format!("24 + capacity {cap} bytes does not equal the entry size {len}"),
            ));
        }
        Ok(RawRing {
            waiters: Waiters::of(&region),
            region,
            elem,
            elem_size: stored_size,
            cap,
        })
    }

    /// Creates a ring holding `capacity` elements of `elem` (stored as
    /// `capacity * elem.size()` bytes, which must be 1..=u32::MAX).
    pub fn create(seg: &Segment, name: &str, elem: ElemLayout, capacity: usize) -> Result<RawRing> {
        Self::create_as(seg, name, elem, capacity, None)
    }

    /// [`RawRing::create`] recording the element type's fingerprint (a typed
    /// veneer's) in the segment's self-description.
    pub(crate) fn create_as(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        fingerprint: Option<u64>,
    ) -> Result<RawRing> {
        let size = Self::size_for(elem, capacity).ok_or_else(|| {
            invalid_create(
                seg,
                KIND,
                name,
                format_args!(
                    "capacity {capacity} elements x {} bytes must be 1 ..= {} bytes",
                    elem.size(),
                    fmt::MAX_CAPACITY_BYTES
                ),
            )
        })?;
        let stored = StructureKind::Ring
            .stored_capacity(capacity as u64)
            .unwrap_or(0);
        let region = create_described(
            seg,
            name,
            StructureKind::Ring,
            elem,
            fingerprint,
            stored,
            size,
            |r| Self::init_region(r, elem, capacity),
        )?;
        Self::from_region(region, Some(elem))
    }

    /// Opens the ring named `name`, checking element size (against `elem`
    /// when given), capacity and entry size.
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawRing> {
        Self::open_as(seg, name, elem, None)
    }

    /// [`RawRing::open`] for a typed veneer (`type_name` names its element
    /// type in a mismatch error).
    pub(crate) fn open_as(
        seg: &Segment,
        name: &str,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawRing> {
        open_described(
            seg,
            name,
            StructureKind::Ring,
            elem,
            |region, elem| Self::from_region_as(region, elem, type_name),
            |raw| raw.elem,
        )
    }

    /// The element layout.
    #[inline]
    pub fn elem(&self) -> ElemLayout {
        self.elem
    }

    /// Capacity in elements.
    #[inline]
    pub fn capacity(&self) -> usize {
        (self.cap / self.elem_size) as usize
    }

    /// Capacity in bytes (the stored header field).
    #[inline]
    pub fn capacity_bytes(&self) -> usize {
        self.cap as usize
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        &self.region
    }

    #[inline]
    fn wp(&self) -> &AtomicU64 {
        self.region.atomic_u64(fmt::WRITE_POS as usize)
    }

    #[inline]
    fn rp(&self) -> &AtomicU64 {
        self.region.atomic_u64(fmt::READ_POS as usize)
    }

    /// Copies `src` (at most `cap` bytes) to ring position `pos`, wrapping.
    #[inline]
    fn copy_in(&self, pos: u64, src: &[u8]) {
        debug_assert!(src.len() as u64 <= self.cap);
        let off = (pos % self.cap) as usize;
        let first = src.len().min(self.cap as usize - off);
        self.region.write_bytes(DATA + off, &src[..first]);
        if first < src.len() {
            self.region.write_bytes(DATA, &src[first..]);
        }
    }

    /// Copies `out.len()` (at most `cap`) bytes from ring position `pos`.
    #[inline]
    fn copy_out(&self, pos: u64, out: &mut [u8]) {
        debug_assert!(out.len() as u64 <= self.cap);
        let off = (pos % self.cap) as usize;
        let first = out.len().min(self.cap as usize - off);
        let (a, b) = out.split_at_mut(first);
        self.region.read_bytes(DATA + off, a);
        if !b.is_empty() {
            self.region.read_bytes(DATA, b);
        }
    }

    /// Producer's view: `(write_pos, bytes free)`.
    #[inline]
    fn producer_state(&self) -> (u64, u64) {
        // Relaxed: only the (single) producer stores write_pos.
        let wp = self.wp().load(Ordering::Relaxed);
        // Acquire: the consumer finished copying out everything before rp.
        let rp = self.rp().load(Ordering::Acquire);
        (wp, self.cap.saturating_sub(wp.wrapping_sub(rp)))
    }

    /// Consumer's view: `(read_pos, bytes available)`, clamped to capacity.
    #[inline]
    fn consumer_state(&self) -> (u64, u64) {
        // Relaxed: only the (single) consumer stores read_pos.
        let rp = self.rp().load(Ordering::Relaxed);
        // Acquire: the producer's element bytes before wp are visible.
        let wp = self.wp().load(Ordering::Acquire);
        (rp, wp.wrapping_sub(rp).min(self.cap))
    }

    /// Appends the whole elements in `src` (`src.len()` a multiple of the
    /// element size, unchecked: the callers check) that fit; returns how
    /// many elements were written.
    #[inline]
    pub(crate) fn write_elems(&self, src: &[u8]) -> usize {
        self.write_elems_sized(src, self.elem_size)
    }

    /// [`RawRing::write_elems`] with the element size `s` given by the
    /// caller (equal to the cached one): a typed veneer passes its constant
    /// `size_of::<T>()`, so the divisions by `s` compile to shifts or
    /// multiplications instead of run-time divisions on the hot path.
    #[inline]
    pub(crate) fn write_elems_sized(&self, src: &[u8], s: u64) -> usize {
        debug_assert_eq!(s, self.elem_size);
        let (wp, free) = self.producer_state();
        let k = (src.len() as u64 / s).min(free / s);
        if k == 0 {
            return 0;
        }
        let n = k * s;
        self.copy_in(wp, &src[..n as usize]);
        // Release would publish the element bytes to the consumer; SeqCst
        // (on x86-64 an xchg instead of a mov) also orders this store before
        // the sleeper-count load below: steps 1 and 2 of the wake protocol
        // (crate::waiters), the store being the ring's "claim".
        self.wp().store(wp.wrapping_add(n), Ordering::SeqCst);
        if self.waiters.items_sleeping() {
            Word::Low32(self.wp()).wake_all();
        }
        k as usize
    }

    /// Takes up to `out.len() / elem_size` elements into the front of `out`
    /// (`out.len()` a multiple of the element size, unchecked); returns how
    /// many.
    #[inline]
    pub(crate) fn read_elems(&self, out: &mut [u8]) -> usize {
        self.read_elems_sized(out, self.elem_size)
    }

    /// [`RawRing::read_elems`] with the element size `s` given by the
    /// caller (see [`RawRing::write_elems_sized`]).
    #[inline]
    pub(crate) fn read_elems_sized(&self, out: &mut [u8], s: u64) -> usize {
        debug_assert_eq!(s, self.elem_size);
        let (rp, avail) = self.consumer_state();
        let k = (out.len() as u64 / s).min(avail / s);
        if k == 0 {
            return 0;
        }
        let n = k * s;
        self.copy_out(rp, &mut out[..n as usize]);
        // Release: our copy is done before the producer may overwrite;
        // SeqCst for the wake protocol, as in `write_elems_sized`.
        self.rp().store(rp.wrapping_add(n), Ordering::SeqCst);
        if self.waiters.room_sleeping() {
            Word::Low32(self.rp()).wake_all();
        }
        k as usize
    }

    /// Checks that `len` bytes are a whole number of elements.
    fn check_whole(&self, op: &str, len: usize) -> Result<()> {
        if len as u64 % self.elem_size == 0 {
            Ok(())
        } else {
            Err(self.region.invalid_argument(
                KIND,
                format!(
                    "{op}: a slice of {len} bytes given, not a multiple of the element size {}",
                    self.elem_size
                ),
            ))
        }
    }

    /// Appends the element `src` (exactly the element size); `Ok(false)`
    /// when the ring is full (no overwrite).
    #[inline]
    pub fn write(&self, src: &[u8]) -> Result<bool> {
        check_len(
            &self.region,
            KIND,
            "write",
            self.elem_size as usize,
            src.len(),
        )?;
        Ok(self.write_elems(src) == 1)
    }

    /// Takes the oldest element into `out` (exactly the element size);
    /// `Ok(false)` when the ring is empty.
    #[inline]
    pub fn read(&self, out: &mut [u8]) -> Result<bool> {
        check_len(
            &self.region,
            KIND,
            "read",
            self.elem_size as usize,
            out.len(),
        )?;
        Ok(self.read_elems(out) == 1)
    }

    /// Appends as many leading elements of `src` (a whole number of
    /// elements) as fit; returns how many.
    #[inline]
    pub fn write_bulk(&self, src: &[u8]) -> Result<usize> {
        self.check_whole("write_bulk", src.len())?;
        Ok(self.write_elems(src))
    }

    /// Takes up to `out.len() / elem_size` elements (`out` a whole number
    /// of elements) into the front of `out`; returns how many.
    #[inline]
    pub fn read_bulk(&self, out: &mut [u8]) -> Result<usize> {
        self.check_whole("read_bulk", out.len())?;
        Ok(self.read_elems(out))
    }

    /// [`RawRing::write_elems`] of one element, retried until `timeout`
    /// passes; [`Error::Timeout`](crate::Error::Timeout) then.
    pub(crate) fn write_timeout_elem(&self, src: &[u8], timeout: Duration) -> Result<()> {
        let deadline = Deadline::after(timeout);
        // Asleep on read_pos (its low half), which the consumer's read
        // moves; the ring has no claim in flight (the position store is the
        // publication), so every failed attempt may sleep.
        let blocking = Blocking {
            waiters: &self.waiters,
            side: Side::Room,
            word: Word::Low32(self.rp()),
        };
        let attempt = || (self.write_elems(src) == 1).then_some(());
        blocking
            .wait(&deadline, attempt, || {}, |_| true)
            .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// [`RawRing::read_elems`] of one element, retried until `timeout`
    /// passes; [`Error::Timeout`](crate::Error::Timeout) then.
    pub(crate) fn read_timeout_elem(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        let deadline = Deadline::after(timeout);
        // Asleep on write_pos (its low half), which the producer's write
        // moves (see `write_timeout_elem`).
        let blocking = Blocking {
            waiters: &self.waiters,
            side: Side::Items,
            word: Word::Low32(self.wp()),
        };
        let attempt = || (self.read_elems(out) == 1).then_some(());
        blocking
            .wait(&deadline, attempt, || {}, |_| true)
            .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Like [`RawRing::write`], but waits up to `timeout` for room;
    /// [`Error::Timeout`](crate::Error::Timeout) when none came (nothing was written).
    pub fn write_timeout(&self, src: &[u8], timeout: Duration) -> Result<()> {
        check_len(
            &self.region,
            KIND,
            "write_timeout",
            self.elem_size as usize,
            src.len(),
        )?;
        self.write_timeout_elem(src, timeout)
    }

    /// Like [`RawRing::read`], but waits up to `timeout` for an element;
    /// [`Error::Timeout`](crate::Error::Timeout) when none came (`out` is unchanged).
    pub fn read_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        check_len(
            &self.region,
            KIND,
            "read_timeout",
            self.elem_size as usize,
            out.len(),
        )?;
        self.read_timeout_elem(out, timeout)
    }

    /// A copy of the unread elements (`read_pos..write_pos`, oldest first)
    /// without consuming them: a snapshot for tools. Elements the consumer
    /// took while they were being copied (and the producer may have
    /// overwritten) are left out.
    pub fn items(&self) -> Vec<Vec<u8>> {
        // Acquire on both: the consumer's copies before rp are done, the
        // producer's element bytes before wp are visible.
        let rp = self.rp().load(Ordering::Acquire);
        let wp = self.wp().load(Ordering::Acquire);
        let n = wp.wrapping_sub(rp).min(self.cap) / self.elem_size;
        let copies: Vec<Vec<u8>> = (0..n)
            .map(|k| {
                let mut v = vec![0u8; self.elem_size as usize];
                self.copy_out(rp.wrapping_add(k * self.elem_size), &mut v);
                v
            })
            .collect();
        // Acquire fence, then re-read read_pos: the producer only writes
        // below `read_pos + capacity`, so an element at or after the
        // read_pos seen now was not overwritten during its copy; the ones
        // the consumer took meanwhile may have been, and are dropped.
        crate::region::atomic::fence(Ordering::Acquire);
        let consumed = self.rp().load(Ordering::Relaxed).wrapping_sub(rp) / self.elem_size;
        copies.into_iter().skip(consumed.min(n) as usize).collect()
    }

    /// Elements ready to read (snapshot).
    #[inline]
    pub fn len(&self) -> usize {
        // read_pos first: write_pos only grows, so the later load of it is
        // at least the read_pos we saw (for well-behaved peers).
        let rp = self.rp().load(Ordering::Acquire);
        let wp = self.wp().load(Ordering::Acquire);
        (wp.wrapping_sub(rp).min(self.cap) / self.elem_size) as usize
    }

    /// True when nothing is ready to read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no element fits.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Elements that fit before the ring is full.
    #[inline]
    pub fn free_space(&self) -> usize {
        self.capacity() - self.len()
    }

    /// Current `write_pos` (acquire), for composites such as Stream.
    #[inline]
    pub fn write_pos(&self) -> u64 {
        // Acquire: the producer's element bytes before it are visible.
        self.wp().load(Ordering::Acquire)
    }

    /// Current `read_pos` (acquire), for composites such as Stream.
    #[inline]
    pub fn read_pos(&self) -> u64 {
        // Acquire: the consumer's copies before it are finished.
        self.rp().load(Ordering::Acquire)
    }

    /// Copies the element at byte position `pos` (reduced modulo the
    /// capacity; a copy that would run past the end wraps) into `out`
    /// (exactly the element size). Does not move `read_pos`.
    #[inline]
    pub fn read_at(&self, pos: u64, out: &mut [u8]) -> Result<()> {
        check_len(
            &self.region,
            KIND,
            "read_at",
            self.elem_size as usize,
            out.len(),
        )?;
        self.copy_out(pos, out);
        Ok(())
    }

    /// [`RawRing::read_at`] without the length check (the typed veneer's
    /// `out` is one element by construction).
    #[inline]
    pub(crate) fn read_at_unchecked(&self, pos: u64, out: &mut [u8]) {
        debug_assert_eq!(out.len() as u64, self.elem_size);
        self.copy_out(pos, out);
    }
}
