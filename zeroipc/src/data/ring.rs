//! `Ring<T>`: a single-producer single-consumer byte ring of `T` elements
//! (FORMAT.md §4, REFERENCE-NOTES §6), byte- and protocol-compatible with
//! both the ZeroIPC C++ `ring.h` and the Python `Ring`.
//!
//! # Layout
//!
//! | off | field | notes |
//! |---|---|---|
//! | 0 | write_pos: atomic u64 | bytes ever written (monotonic) |
//! | 8 | read_pos: atomic u64 | bytes ever read (monotonic) |
//! | 16 | capacity: u32 | buffer size in **bytes**, a nonzero multiple of `elem_size` |
//! | 20 | elem_size: u32 | `size_of::<T>()` |
//! | 24 | data | `capacity` bytes; position `p` lives at `p % capacity` |
//!
//! Entry size `24 + capacity`. Capacity units differ by API
//! (REFERENCE-NOTES §14 item 19): the C++ constructor takes **bytes**
//! (rounded down to a multiple of `s`), the Python one **elements**; our
//! [`Ring::create`] takes elements, like Python, and stores
//! `capacity_elems * s` bytes, so the same request gives the same bytes as
//! Python and as C++ given `capacity_elems * s`.
//!
//! # Protocol
//!
//! Lamport's single-producer single-consumer ring (L. Lamport, "Specifying
//! Concurrent Program Modules", TOPLAS 1983) with monotonic positions, as
//! the reference: the producer copies the element at `write_pos % capacity`
//! and then publishes `write_pos + s` with a release store; the consumer
//! acquires `write_pos`, copies from `read_pos % capacity` and releases
//! `read_pos + s`, which hands the bytes back to the producer. Exactly one
//! producer and one consumer (in any processes) may use a ring at a time;
//! the positions are plain stores, so a second producer or consumer garbles
//! elements (never memory safety: every copy is bounds-checked).
//!
//! Positions come from shared memory and are never trusted for addressing:
//! every offset is reduced modulo the capacity cached at open, a copy that
//! would run past the end is split, and the fill level `write_pos -
//! read_pos` is clamped to the capacity, so a hostile or corrupt header can
//! yield wrong elements but no out-of-bounds access.

use crate::element::{bytes_of, ShmElement};
use crate::error::{Error, Result};
use crate::region::atomic::{AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

const KIND: &str = "ring";
const HEADER: usize = 24;

/// The bytes of a slice of elements.
fn slice_bytes<T: ShmElement>(v: &[T]) -> &[u8] {
    // SAFETY: `ShmElement` types have no padding, so every byte of the slice
    // is initialised; the byte slice borrows `v` for its lifetime.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// The bytes of a mutable slice of elements.
fn slice_bytes_mut<T: ShmElement>(v: &mut [T]) -> &mut [u8] {
    // SAFETY: as `slice_bytes`; in addition every byte pattern is a valid
    // `T` (`ShmElement`), so any bytes written through the view leave valid
    // elements behind.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// A single-producer single-consumer ring of `T` in shared memory.
///
/// ```
/// use zeroipc::{Ring, Segment};
/// let name = format!("/zeroipc-doc-ring-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ring = Ring::<u32>::create(&seg, "samples", 4)?; // 4 elements = 16 bytes
/// assert_eq!(ring.capacity_bytes(), 16);
/// assert_eq!(ring.write_bulk(&[1, 2, 3, 4, 5]), 4); // room for 4
/// assert_eq!(ring.write(6), Err(6)); // full
///
/// let reader = Ring::<u32>::open(&Segment::open(&name)?, "samples")?;
/// assert_eq!(reader.read(), Some(1));
/// let mut out = [0u32; 8];
/// assert_eq!(reader.read_bulk(&mut out), 3);
/// assert_eq!(&out[..3], &[2, 3, 4]);
/// assert!(reader.is_empty());
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Ring<T: ShmElement> {
    region: Region,
    /// Buffer bytes (cached at open; a nonzero multiple of `size_of::<T>()`).
    cap: u64,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("region", &self.region)
            .field("capacity_bytes", &self.cap)
            .finish()
    }
}

impl<T: ShmElement> Ring<T> {
    const ELEM: u64 = {
        assert!(size_of::<T>() > 0, "Ring elements must not be zero-sized");
        size_of::<T>() as u64
    };

    /// Buffer bytes for `capacity_elems` elements, if nonzero and within
    /// the u32 capacity field.
    fn bytes_for(capacity_elems: usize) -> Option<u64> {
        let b = (capacity_elems as u64).checked_mul(Self::ELEM)?;
        (b > 0 && b <= u32::MAX as u64).then_some(b)
    }

    /// Entry size of a ring of `capacity_elems` elements (`None` if zero or
    /// too large).
    pub(crate) fn size_for(capacity_elems: usize) -> Option<u64> {
        Self::bytes_for(capacity_elems)?.checked_add(HEADER as u64)
    }

    /// Writes a fresh header for `capacity_elems` elements into the zeroed
    /// `region` (which must be `size_for(capacity_elems)` bytes).
    pub(crate) fn init_region(region: &Region, capacity_elems: usize) {
        let bytes = Self::bytes_for(capacity_elems).expect("size_for succeeded");
        region.atomic_u64(0).store(0, Ordering::Relaxed);
        region.atomic_u64(8).store(0, Ordering::Relaxed);
        region.write::<u32>(16, bytes as u32);
        region.write::<u32>(20, Self::ELEM as u32);
    }

    /// Validates `region` as a `Ring<T>` and caches its capacity.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        if region.len() < HEADER {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {} is smaller than the 24-byte header",
                    region.len()
                ),
            ));
        }
        let cap = region.read_u32(16) as u64;
        let elem_size = region.read_u32(20) as u64;
        if elem_size != Self::ELEM {
            return Err(region.mismatch(
                KIND,
                format!(
                    "elem_size is {elem_size}, expected {} (wrong element type?)",
                    Self::ELEM
                ),
            ));
        }
        if cap == 0 || cap % Self::ELEM != 0 {
            return Err(region.mismatch(
                KIND,
                format!(
                    "capacity {cap} bytes is not a nonzero multiple of elem_size {}",
                    Self::ELEM
                ),
            ));
        }
        if HEADER as u64 + cap != region.len() as u64 {
            return Err(region.mismatch(
                KIND,
                format!(
                    "24 + capacity {cap} bytes does not equal the entry size {}",
                    region.len()
                ),
            ));
        }
        Ok(Ring {
            region,
            cap,
            _t: PhantomData,
        })
    }

    /// Creates a ring holding `capacity_elems` elements (stored as
    /// `capacity_elems * size_of::<T>()` bytes, which must fit a u32).
    pub fn create(seg: &Segment, name: &str, capacity_elems: usize) -> Result<Self> {
        let size = Self::size_for(capacity_elems).ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!(
                "{KIND} {name:?}: capacity {capacity_elems} elements x {} bytes must be 1 ..= {} bytes",
                Self::ELEM,
                u32::MAX
            ),
        })?;
        let region = seg.register(name, size, |r| {
            Self::init_region(r, capacity_elems);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the ring named `name`, checking element size, capacity and
    /// entry size.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    fn wp(&self) -> &AtomicU64 {
        self.region.atomic_u64(0)
    }

    fn rp(&self) -> &AtomicU64 {
        self.region.atomic_u64(8)
    }

    /// Copies `src` (at most `cap` bytes) to ring position `pos`, wrapping.
    fn copy_in(&self, pos: u64, src: &[u8]) {
        debug_assert!(src.len() as u64 <= self.cap);
        let off = (pos % self.cap) as usize;
        let first = src.len().min(self.cap as usize - off);
        self.region.write_bytes(HEADER + off, &src[..first]);
        self.region.write_bytes(HEADER, &src[first..]);
    }

    /// Copies `out.len()` (at most `cap`) bytes from ring position `pos`.
    fn copy_out(&self, pos: u64, out: &mut [u8]) {
        debug_assert!(out.len() as u64 <= self.cap);
        let off = (pos % self.cap) as usize;
        let first = out.len().min(self.cap as usize - off);
        let (a, b) = out.split_at_mut(first);
        self.region.read_bytes(HEADER + off, a);
        self.region.read_bytes(HEADER, b);
    }

    /// Producer's view: `(write_pos, bytes free)`.
    fn producer_state(&self) -> (u64, u64) {
        // Relaxed: only the (single) producer stores write_pos.
        let wp = self.wp().load(Ordering::Relaxed);
        // Acquire: the consumer finished copying out everything before rp.
        let rp = self.rp().load(Ordering::Acquire);
        (wp, self.cap.saturating_sub(wp.wrapping_sub(rp)))
    }

    /// Consumer's view: `(read_pos, bytes available)`, clamped to capacity.
    fn consumer_state(&self) -> (u64, u64) {
        // Relaxed: only the (single) consumer stores read_pos.
        let rp = self.rp().load(Ordering::Relaxed);
        // Acquire: the producer's element bytes before wp are visible.
        let wp = self.wp().load(Ordering::Acquire);
        (rp, wp.wrapping_sub(rp).min(self.cap))
    }

    /// Appends `value`; gives it back if the ring is full (no overwrite).
    pub fn write(&self, value: T) -> std::result::Result<(), T> {
        let (wp, free) = self.producer_state();
        if free < Self::ELEM {
            return Err(value);
        }
        self.copy_in(wp, bytes_of(&value));
        // Release: publishes the element bytes to the consumer.
        self.wp()
            .store(wp.wrapping_add(Self::ELEM), Ordering::Release);
        Ok(())
    }

    /// Takes the oldest element.
    pub fn read(&self) -> Option<T> {
        let (rp, avail) = self.consumer_state();
        if avail < Self::ELEM {
            return None;
        }
        let v = self.read_at(rp);
        // Release: our copy is done before the producer may overwrite.
        self.rp()
            .store(rp.wrapping_add(Self::ELEM), Ordering::Release);
        Some(v)
    }

    /// Appends as many leading elements of `src` as fit; returns how many.
    pub fn write_bulk(&self, src: &[T]) -> usize {
        let (wp, free) = self.producer_state();
        let k = src.len().min((free / Self::ELEM) as usize);
        if k == 0 {
            return 0;
        }
        self.copy_in(wp, slice_bytes(&src[..k]));
        let n = k as u64 * Self::ELEM;
        self.wp().store(wp.wrapping_add(n), Ordering::Release);
        k
    }

    /// Takes up to `out.len()` elements into `out`; returns how many.
    pub fn read_bulk(&self, out: &mut [T]) -> usize {
        let (rp, avail) = self.consumer_state();
        let k = out.len().min((avail / Self::ELEM) as usize);
        if k == 0 {
            return 0;
        }
        self.copy_out(rp, slice_bytes_mut(&mut out[..k]));
        let n = k as u64 * Self::ELEM;
        self.rp().store(rp.wrapping_add(n), Ordering::Release);
        k
    }

    /// Elements ready to read (snapshot).
    pub fn len(&self) -> usize {
        // read_pos first: write_pos only grows, so the later load of it is
        // at least the read_pos we saw (for well-behaved peers).
        let rp = self.rp().load(Ordering::Acquire);
        let wp = self.wp().load(Ordering::Acquire);
        (wp.wrapping_sub(rp).min(self.cap) / Self::ELEM) as usize
    }

    /// True when nothing is ready to read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no element fits.
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Elements that fit before the ring is full.
    pub fn free_space(&self) -> usize {
        self.capacity() - self.len()
    }

    /// Capacity in elements.
    pub fn capacity(&self) -> usize {
        (self.cap / Self::ELEM) as usize
    }

    /// Capacity in bytes (the stored header field).
    pub fn capacity_bytes(&self) -> usize {
        self.cap as usize
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Current `write_pos` (acquire), for composites such as Stream.
    #[allow(dead_code)]
    pub(crate) fn write_pos(&self) -> u64 {
        self.wp().load(Ordering::Acquire)
    }

    /// Current `read_pos` (acquire), for composites such as Stream.
    #[allow(dead_code)]
    pub(crate) fn read_pos(&self) -> u64 {
        self.rp().load(Ordering::Acquire)
    }

    /// The element at byte position `pos` (reduced modulo the capacity; a
    /// copy that would run past the end wraps). Does not move `read_pos`.
    pub(crate) fn read_at(&self, pos: u64) -> T {
        // SAFETY: every bit pattern is a valid `T` (`ShmElement`), so the
        // all-zero value is one; it is overwritten right below.
        let mut v: T = unsafe { std::mem::zeroed() };
        self.copy_out(pos, slice_bytes_mut(std::slice::from_mut(&mut v)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(tag: &str) -> (String, Segment) {
        let name = format!("/zeroipc-unit-ring-{tag}-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let s = Segment::create(&name, 1 << 14).unwrap();
        (name, s)
    }

    /// One producer thread, one consumer thread, a 7-element ring (not a
    /// power of two, so bulk copies wrap at every offset): every element
    /// arrives once, in order.
    #[test]
    fn spsc_threads_deliver_in_order() {
        const N: u64 = 50_000;
        let (name, s) = seg("spsc");
        let r = Ring::<u64>::create(&s, "r", 7).unwrap();
        std::thread::scope(|sc| {
            sc.spawn(|| {
                let w = Ring::<u64>::open(&s, "r").unwrap();
                let mut next = 0u64;
                while next < N {
                    let before = next;
                    if next % 3 == 0 {
                        let batch: Vec<u64> = (next..(next + 5).min(N)).collect();
                        next += w.write_bulk(&batch) as u64;
                    } else if w.write(next).is_ok() {
                        next += 1;
                    }
                    if next == before {
                        std::thread::yield_now(); // full
                    }
                }
            });
            let mut want = 0u64;
            let mut buf = [0u64; 4];
            while want < N {
                let n = r.read_bulk(&mut buf[..1 + (want % 4) as usize]);
                for &v in &buf[..n] {
                    assert_eq!(v, want);
                    want += 1;
                }
                if n == 0 {
                    std::thread::yield_now();
                }
            }
        });
        assert!(r.is_empty());
        assert_eq!(r.write_pos(), N * 8);
        assert_eq!(r.read_pos(), N * 8);
        drop(r);
        Segment::unlink(&name).unwrap();
    }

    #[test]
    fn hostile_positions_stay_in_bounds() {
        let (name, s) = seg("hostile");
        let r = Ring::<u32>::create(&s, "r", 4).unwrap();
        // A peer stores positions far apart and not element-aligned.
        r.region()
            .atomic_u64(0)
            .store(u64::MAX - 1, Ordering::Relaxed);
        r.region().atomic_u64(8).store(3, Ordering::Relaxed);
        assert_eq!(r.len(), 4); // clamped
        let mut out = [0u32; 64];
        assert_eq!(r.read_bulk(&mut out), 4);
        let _ = r.read_at(u64::MAX);
        assert_eq!(r.write(1), Err(1)); // garbage fill level reads as full
                                        // Write at a position that straddles the end.
        r.region().atomic_u64(0).store(14, Ordering::Relaxed);
        r.region().atomic_u64(8).store(14, Ordering::Relaxed);
        r.write(0xAABBCCDD).unwrap();
        assert_eq!(r.read(), Some(0xAABBCCDD));
        drop(r);
        Segment::unlink(&name).unwrap();
    }

    #[test]
    fn open_validates_the_header() {
        let (name, s) = seg("open");
        let r = Ring::<u32>::create(&s, "r", 4).unwrap();
        assert!(Ring::<u64>::open(&s, "r").is_err());
        r.region().write::<u32>(16, 10); // not a multiple of 4
        let e = Ring::<u32>::open(&s, "r").unwrap_err();
        assert!(e.to_string().contains("multiple"), "{e}");
        r.region().write::<u32>(16, 32); // disagrees with the entry size
        assert!(Ring::<u32>::open(&s, "r").is_err());
        assert!(Ring::<u32>::create(&s, "z", 0).is_err());
        drop(r);
        Segment::unlink(&name).unwrap();
    }
}
