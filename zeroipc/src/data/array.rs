//! `Array<T>`: a fixed number of elements.
//!
//! The normative layout is docs/FORMAT.md §3.1; the offsets are
//! [`crate::format::array`]. Element access and its bounds checks live
//! once in [`RawArray`]; `Array<T>` is a typed veneer over it. The array
//! has no synchronisation of its own: a reader racing a writer may see a
//! torn element (still a valid `T`, since every bit pattern is), never
//! undefined behaviour.
//!
//! # Forms
//!
//! Nothing waits: every operation is a bounds-checked copy.

use crate::element::ShmElement;
use crate::error::Result;
use crate::format::ElemLayout;
use crate::raw::{slice_bytes, slice_bytes_mut, RawArray};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

/// A shared array of `T`.
///
/// ```
/// use zeroipc::{Array, Segment};
/// let name = format!("/zeroipc-doc-array-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let a = Array::<u64>::create(&seg, "counts", 8)?;
/// a.write_from(0, &[1, 2, 3])?;
/// let mut out = [0u64; 3];
/// a.read_into(0, &mut out)?;
/// assert_eq!(out, [1, 2, 3]);
/// assert!(a.get(8).is_err()); // out of range is an error, not a panic
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Array<T: ShmElement> {
    raw: RawArray,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("region", self.raw.region())
            .field("capacity", &self.raw.len())
            .finish()
    }
}

/// Entry size of an array of `capacity` elements of `elem_size` bytes: the
/// catalogue's [`crate::format::array::entry_size`] (kept for callers of
/// this older name).
///
/// ```
/// assert_eq!(zeroipc::data::array::total_size(4, 4), Some(24));
/// assert_eq!(zeroipc::data::array::total_size(u64::MAX, 2), None);
/// ```
pub fn total_size(capacity: u64, elem_size: u64) -> Option<u64> {
    crate::format::array::entry_size(capacity, ElemLayout::new(elem_size, 1)?)
}

impl<T: ShmElement> Array<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    fn from_raw(raw: RawArray) -> Self {
        Array {
            raw,
            _t: PhantomData,
        }
    }

    /// Creates an array of `capacity` zeroed elements named `name`.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let fingerprint = Some(T::LAYOUT.fingerprint());
        RawArray::create_as(seg, name, Self::ELEM, capacity, fingerprint).map(Self::from_raw)
    }

    /// Opens the array named `name`, checking that its stored capacity and
    /// entry size agree with `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        RawArray::open_as(
            seg,
            name,
            Some(Self::ELEM),
            Some(std::any::type_name::<T>()),
        )
        .map(Self::from_raw)
    }

    /// Opens and also checks the capacity.
    pub fn open_with_capacity(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let a = Self::open(seg, name)?;
        if a.raw.len() != capacity {
            return Err(a.raw.region().mismatch(
                crate::raw::array::KIND,
                format!("capacity is {}, expected {capacity}", a.raw.len()),
            ));
        }
        Ok(a)
    }

    /// The protocol core under this array (for tools: byte-level access).
    #[inline]
    pub fn raw(&self) -> &RawArray {
        &self.raw
    }

    /// Number of elements (cached at open).
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True for a zero-capacity array.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// Copies element `i` out.
    #[inline]
    pub fn get(&self, i: usize) -> Result<T> {
        let off = self.raw.range_off(i, 1)?;
        Ok(self.raw.region().read::<T>(off))
    }

    /// Stores `v` at `i`.
    #[inline]
    pub fn set(&self, i: usize, v: T) -> Result<()> {
        let off = self.raw.range_off(i, 1)?;
        self.raw.region().write::<T>(off, v);
        Ok(())
    }

    /// Copies `out.len()` elements starting at `start` into `out`.
    #[inline]
    pub fn read_into(&self, start: usize, out: &mut [T]) -> Result<()> {
        self.raw.read(start, slice_bytes_mut(out))
    }

    /// Copies `src` into the array starting at `start`.
    #[inline]
    pub fn write_from(&self, start: usize, src: &[T]) -> Result<()> {
        self.raw.write(start, slice_bytes(src))
    }

    /// All elements, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        // SAFETY: every bit pattern is a valid `T` (`ShmElement`), so the
        // all-zero value is one; each is overwritten by the copy below.
        let zero: T = unsafe { std::mem::zeroed() };
        let mut v = vec![zero; self.raw.len()];
        let copied = self.raw.read(0, slice_bytes_mut(&mut v));
        debug_assert!(copied.is_ok(), "the whole array is in range");
        v
    }

    /// Pointer to the first element, for zero-copy access.
    ///
    /// # Safety
    ///
    /// The pointer is valid for `len()` elements while `self` lives. Other
    /// processes may write those bytes at any time: the caller must not
    /// create `&T`/`&[T]`/`&mut` to them while anyone may write (that would
    /// be a data race, i.e. undefined behaviour), and must use volatile or
    /// atomic accesses, or an external protocol that excludes writers.
    pub unsafe fn as_ptr(&self) -> *mut T {
        self.raw.as_ptr().cast::<T>()
    }

    /// A slice over the data, for zero-copy reads.
    ///
    /// # Safety
    ///
    /// No process (including this one) may write the array while the slice
    /// lives; the caller must guarantee that by an external protocol (for
    /// example a reader/writer lock or a phase barrier).
    pub unsafe fn as_slice(&self) -> &[T] {
        // SAFETY: pointer valid for `len()` elements (see `as_ptr`);
        // exclusion of writers is the caller's contract.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.raw.len()) }
    }
}
