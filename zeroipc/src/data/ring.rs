//! `Ring<T>`: a single-producer single-consumer ring of `T` elements,
//! byte- and protocol-compatible with both the ZeroIPC C++ `ring.h` and the
//! Python `Ring`.
//!
//! The normative layout is docs/FORMAT.md §4.4; the offsets are
//! [`crate::format::ring`]. The protocol (Lamport's SPSC ring with
//! monotonic byte positions), its capacity units (elements here, bytes in
//! the header) and its defences against hostile positions live once in
//! [`RawRing`]; `Ring<T>` is a typed veneer over it that only copies `T` in
//! and out.
//!
//! # Forms (docs/ARCHITECTURE.md, Conventions)
//!
//! - [`Ring::write`] / [`Ring::read`] and the bulk forms never block:
//!   `Err(v)` gives the value back when full, `None` / 0 means empty.
//! - [`Ring::write_timeout`] waits up to a timeout for room and gives the
//!   value back in a [`SendError`] with [`Error::Timeout`];
//!   [`Ring::read_timeout`] returns [`Error::Timeout`] when nothing came.

use crate::element::{bytes_of, bytes_of_mut, ShmElement};
use crate::error::{Error, Result, SendError};
use crate::format::ElemLayout;
use crate::raw::{slice_bytes, slice_bytes_mut, RawRing};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;
use std::time::Duration;

/// A single-producer single-consumer ring of `T` in shared memory.
///
/// ```
/// use zeroipc::{Ring, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-ring-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ring = Ring::<u32>::create(&seg, "samples", 4)?; // 4 elements = 16 bytes
/// assert_eq!(ring.capacity_bytes(), 16);
/// assert_eq!(ring.write_bulk(&[1, 2, 3, 4, 5]), 4); // room for 4
/// assert_eq!(ring.write(6), Err(6)); // full
/// assert_eq!(ring.write_timeout(6, Duration::from_millis(1)).unwrap_err().into_inner(), 6);
///
/// let reader = Ring::<u32>::open(&Segment::open(&name)?, "samples")?;
/// assert_eq!(reader.read(), Some(1));
/// let mut out = [0u32; 8];
/// assert_eq!(reader.read_bulk(&mut out), 3);
/// assert_eq!(&out[..3], &[2, 3, 4]);
/// assert!(reader.is_empty());
/// assert!(reader.read_timeout(Duration::from_millis(1)).unwrap_err().to_string().contains("timed out"));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Ring<T: ShmElement> {
    raw: RawRing,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("region", self.raw.region())
            .field("capacity_bytes", &self.raw.capacity_bytes())
            .finish()
    }
}

impl<T: ShmElement> Ring<T> {
    const ELEM: ElemLayout = {
        assert!(size_of::<T>() > 0, "Ring elements must not be zero-sized");
        ElemLayout::of::<T>()
    };
    /// `size_of::<T>()`, passed to the raw ring's hot paths as a constant.
    const SIZE: u64 = Self::ELEM.size();

    fn from_raw(raw: RawRing) -> Self {
        Ring {
            raw,
            _t: PhantomData,
        }
    }

    /// Creates a ring holding `capacity_elems` elements (stored as
    /// `capacity_elems * size_of::<T>()` bytes, which must fit a u32).
    pub fn create(seg: &Segment, name: &str, capacity_elems: usize) -> Result<Self> {
        let fingerprint = Some(T::LAYOUT.fingerprint());
        RawRing::create_as(seg, name, Self::ELEM, capacity_elems, fingerprint).map(Self::from_raw)
    }

    /// Opens the ring named `name`, checking element size, capacity and
    /// entry size.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        RawRing::open_as(
            seg,
            name,
            Some(Self::ELEM),
            Some(std::any::type_name::<T>()),
        )
        .map(Self::from_raw)
    }

    /// The protocol core under this ring (for tools: byte-level access,
    /// [`RawRing::items`]).
    #[inline]
    pub fn raw(&self) -> &RawRing {
        &self.raw
    }

    /// Appends `value`; gives it back if the ring is full (no overwrite).
    #[inline]
    pub fn write(&self, value: T) -> std::result::Result<(), T> {
        if self.raw.write_elems_sized(bytes_of(&value), Self::SIZE) == 1 {
            Ok(())
        } else {
            Err(value)
        }
    }

    /// Takes the oldest element.
    #[inline]
    pub fn read(&self) -> Option<T> {
        let mut v = zeroed::<T>();
        (self.raw.read_elems_sized(bytes_of_mut(&mut v), Self::SIZE) == 1).then_some(v)
    }

    /// Like [`Ring::write`], but waits up to `timeout` for room; on timeout
    /// the value comes back in the [`SendError`] (with [`Error::Timeout`]).
    #[inline]
    pub fn write_timeout(&self, value: T, timeout: Duration) -> Result<(), SendError<T>> {
        self.raw
            .write_timeout_elem(bytes_of(&value), timeout)
            .map_err(|error| SendError { value, error })
    }

    /// Like [`Ring::read`], but waits up to `timeout` for an element;
    /// [`Error::Timeout`] when none came.
    #[inline]
    pub fn read_timeout(&self, timeout: Duration) -> Result<T, Error> {
        let mut v = zeroed::<T>();
        self.raw
            .read_timeout_elem(bytes_of_mut(&mut v), timeout)
            .map(|()| v)
    }

    /// Appends as many leading elements of `src` as fit; returns how many.
    #[inline]
    pub fn write_bulk(&self, src: &[T]) -> usize {
        self.raw.write_elems_sized(slice_bytes(src), Self::SIZE)
    }

    /// Takes up to `out.len()` elements into `out`; returns how many.
    #[inline]
    pub fn read_bulk(&self, out: &mut [T]) -> usize {
        self.raw.read_elems_sized(slice_bytes_mut(out), Self::SIZE)
    }

    /// Elements ready to read (snapshot).
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when nothing is ready to read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True when no element fits.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.raw.is_full()
    }

    /// Elements that fit before the ring is full.
    #[inline]
    pub fn free_space(&self) -> usize {
        self.raw.free_space()
    }

    /// Capacity in elements.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// Capacity in bytes (the stored header field).
    #[inline]
    pub fn capacity_bytes(&self) -> usize {
        self.raw.capacity_bytes()
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        self.raw.region()
    }
}

/// An all-zero `T`, to be overwritten by a copy out of the ring.
#[inline]
fn zeroed<T: ShmElement>() -> T {
    // SAFETY: every bit pattern is a valid `T` (`ShmElement`), so the
    // all-zero value is one.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::atomic::Ordering;

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
        assert_eq!(r.raw().write_pos(), N * 8);
        assert_eq!(r.raw().read_pos(), N * 8);
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
        // A copy from any position stays in bounds (and wraps).
        let mut one = [0u8; 4];
        r.raw().read_at(u64::MAX, &mut one).unwrap();
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
