//! `Array<T>`: a fixed number of elements (FORMAT.md §3).
//!
//! Layout: `capacity: u64` at +0, then `capacity * size_of::<T>()` data bytes
//! at +8; entry size `8 + capacity * s`. The array has no synchronisation of
//! its own: element reads and writes are volatile copies, so a reader racing
//! a writer may see a torn element (still a valid `T`, since every bit
//! pattern is), never undefined behaviour.

use crate::element::ShmElement;
use crate::error::Result;
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

const KIND: &str = "array";
const DATA: usize = 8;

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
    region: Region,
    capacity: usize,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("region", &self.region)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Entry size of an array of `capacity` elements of `elem_size` bytes.
pub fn total_size(capacity: u64, elem_size: u64) -> Option<u64> {
    capacity.checked_mul(elem_size)?.checked_add(DATA as u64)
}

impl<T: ShmElement> Array<T> {
    /// Creates an array of `capacity` zeroed elements named `name`.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let size = total_size(capacity as u64, size_of::<T>() as u64).ok_or_else(|| {
            crate::Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: format!(
                    "array {name:?}: capacity {capacity} x {} bytes overflows",
                    size_of::<T>()
                ),
            }
        })?;
        let region = seg.register(name, size, |r| {
            r.write::<u64>(0, capacity as u64);
            Ok(())
        })?;
        Ok(Array {
            region,
            capacity,
            _t: PhantomData,
        })
    }

    /// Opens the array named `name`, checking that its stored capacity and
    /// entry size agree with `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let region = seg.region(name)?;
        if region.len() < DATA {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {} is smaller than the 8-byte header",
                    region.len()
                ),
            ));
        }
        let capacity = region.read_u64(0);
        let s = size_of::<T>() as u64;
        if total_size(capacity, s) != Some(region.len() as u64) {
            let detail = format!(
                "capacity {capacity} x element size {s} + 8 does not equal the entry size {} \
                 (wrong element type?)",
                region.len()
            );
            return Err(region.mismatch(KIND, detail));
        }
        Ok(Array {
            region,
            capacity: capacity as usize,
            _t: PhantomData,
        })
    }

    /// Opens and also checks the capacity.
    pub fn open_with_capacity(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let a = Self::open(seg, name)?;
        if a.capacity != capacity {
            return Err(a.region.mismatch(
                KIND,
                format!("capacity is {}, expected {capacity}", a.capacity),
            ));
        }
        Ok(a)
    }

    /// Number of elements (cached at open).
    pub fn len(&self) -> usize {
        self.capacity
    }

    /// True for a zero-capacity array.
    pub fn is_empty(&self) -> bool {
        self.capacity == 0
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn check_range(&self, start: usize, n: usize) -> Result<()> {
        match start.checked_add(n) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(self.region.invalid_argument(
                KIND,
                format!(
                    "elements [{start}, {start}+{n}) out of range for capacity {}",
                    self.capacity
                ),
            )),
        }
    }

    /// Copies element `i` out.
    pub fn get(&self, i: usize) -> Result<T> {
        self.check_range(i, 1)?;
        Ok(self.region.read::<T>(DATA + i * size_of::<T>()))
    }

    /// Stores `v` at `i`.
    pub fn set(&self, i: usize, v: T) -> Result<()> {
        self.check_range(i, 1)?;
        self.region.write::<T>(DATA + i * size_of::<T>(), v);
        Ok(())
    }

    /// Copies `out.len()` elements starting at `start` into `out`.
    pub fn read_into(&self, start: usize, out: &mut [T]) -> Result<()> {
        self.check_range(start, out.len())?;
        let n = std::mem::size_of_val(out);
        let p = self.region.ptr(DATA + start * size_of::<T>(), n);
        // SAFETY: range checked against the cached capacity, which was
        // validated against the entry size on open; `out` is private memory;
        // any bytes are a valid `T`.
        unsafe { std::ptr::copy_nonoverlapping(p.cast::<T>(), out.as_mut_ptr(), out.len()) }
        Ok(())
    }

    /// Copies `src` into the array starting at `start`.
    pub fn write_from(&self, start: usize, src: &[T]) -> Result<()> {
        self.check_range(start, src.len())?;
        let n = std::mem::size_of_val(src);
        let p = self.region.ptr(DATA + start * size_of::<T>(), n);
        // SAFETY: destination range checked as in `read_into`; `src` cannot
        // alias the mapping mutably.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p.cast::<T>(), src.len()) }
        Ok(())
    }

    /// All elements, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.capacity);
        let p = self.region.ptr(DATA, self.capacity * size_of::<T>());
        // SAFETY: the data range was validated on open; the Vec has room for
        // `capacity` elements and every byte pattern is a valid `T`.
        unsafe {
            std::ptr::copy_nonoverlapping(p.cast::<T>(), v.as_mut_ptr(), self.capacity);
            v.set_len(self.capacity);
        }
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
        self.region
            .ptr(DATA, self.capacity * size_of::<T>())
            .cast::<T>()
    }

    /// A slice over the data, for zero-copy reads.
    ///
    /// # Safety
    ///
    /// No process (including this one) may write the array while the slice
    /// lives; the caller must guarantee that by an external protocol (for
    /// example a reader/writer lock or a phase barrier).
    pub unsafe fn as_slice(&self) -> &[T] {
        // SAFETY: pointer valid for `capacity` elements (see `as_ptr`);
        // exclusion of writers is the caller's contract.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.capacity) }
    }
}
