//! `RawArray`: a fixed number of elements whose layout is known at run
//! time. The normative layout is docs/FORMAT.md §3.1; the offsets are
//! [`crate::format::array`]. [`crate::Array`] is the typed veneer over it.
//!
//! The array has no synchronisation of its own: element reads and writes
//! are plain copies through [`Region`], so a reader racing a writer may see
//! a torn element (still valid bytes), never undefined behaviour.
//!
//! The header stores only the capacity, not the element size:
//! [`RawArray::open`] without a layout takes it from the segment's
//! self-description, or else divides the data bytes by the capacity (an
//! empty array of unknown elements cannot be opened that way).

use super::{create_described, elem_from_size, open_described, size_overflow};
use crate::error::{Error, Result};
use crate::format::{array as fmt, ElemLayout, StructureKind};
use crate::region::Region;
use crate::segment::Segment;

pub(crate) const KIND: &str = "array";

const DATA: usize = fmt::DATA as usize;

/// An array whose element layout is known at run time.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::RawArray;
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-rawarray-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let a = RawArray::create(&seg, "rgb", ElemLayout::new(3, 1).unwrap(), 4)?;
/// a.set(1, &[255, 128, 0])?;
/// a.write(2, &[1, 2, 3, 4, 5, 6])?; // elements 2 and 3
/// let mut px = [0u8; 3];
/// a.get(1, &mut px)?;
/// assert_eq!(px, [255, 128, 0]);
/// let view = RawArray::open(&seg, "rgb", None)?; // element size from the entry
/// assert_eq!(view.elem().size(), 3);
/// assert_eq!(view.items()[3], vec![4, 5, 6]);
/// assert!(a.set(4, &[0; 3]).is_err()); // out of range
/// assert!(a.set(0, &[0; 2]).is_err()); // wrong length
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawArray {
    region: Region,
    elem: ElemLayout,
    /// `elem.size()`.
    elem_size: usize,
    /// Element count, validated against the entry size on open.
    capacity: usize,
}

impl RawArray {
    /// Validates `region` as an array of `elem` (for `None`, the element
    /// size the entry size and the capacity imply) and caches its capacity;
    /// `type_name` names a typed veneer's element type in a mismatch error.
    pub(crate) fn from_region_as(
        region: Region,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawArray> {
        let len = region.len() as u64;
        if len < fmt::DATA {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 8-byte header"),
            ));
        }
        let capacity = region.read_u64(fmt::CAPACITY as usize);
        let elem = match elem {
            Some(e) => e,
            None if capacity > 0 && (len - fmt::DATA) % capacity == 0 => {
                elem_from_size((len - fmt::DATA) / capacity)
            }
            None => {
                return Err(region.mismatch(
                    KIND,
                    format!(
                        "capacity {capacity} does not divide the {} data bytes, so the element \
                         size is unknown: give the element layout",
                        len - fmt::DATA
                    ),
                ))
            }
        };
        let s = elem.size();
        if fmt::entry_size(capacity, elem) != Some(len) {
            let what = match type_name {
                Some(t) => format!("size_of::<{t}>() {s}"),
                None => format!("element size {s}"),
            };
            return Err(region.mismatch(
                KIND,
                format!(
                    "capacity {capacity} x {what} + 8 does not equal the entry size {len} \
                     (wrong element type?)"
                ),
            ));
        }
        Ok(RawArray {
            region,
            elem,
            elem_size: s as usize,
            capacity: capacity as usize,
        })
    }

    /// Creates an array of `capacity` zeroed elements of `elem` named `name`.
    pub fn create(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
    ) -> Result<RawArray> {
        Self::create_as(seg, name, elem, capacity, None)
    }

    /// [`RawArray::create`] recording the element type's fingerprint (a
    /// typed veneer's) in the segment's self-description.
    pub(crate) fn create_as(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        fingerprint: Option<u64>,
    ) -> Result<RawArray> {
        let size = fmt::entry_size(capacity as u64, elem)
            .ok_or_else(|| size_overflow(seg, KIND, name, capacity, elem))?;
        let region = create_described(
            seg,
            name,
            StructureKind::Array,
            elem,
            fingerprint,
            capacity as u64,
            size,
            |r| r.write::<u64>(fmt::CAPACITY as usize, capacity as u64),
        )?;
        Self::from_region_as(region, Some(elem), None)
    }

    /// Opens the array named `name`, checking that its stored capacity and
    /// entry size agree with `elem` (or, for `None`, with the recorded
    /// layout or the element size they imply).
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawArray> {
        Self::open_as(seg, name, elem, None)
    }

    /// [`RawArray::open`] for a typed veneer (`type_name` names its element
    /// type in a mismatch error).
    pub(crate) fn open_as(
        seg: &Segment,
        name: &str,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawArray> {
        open_described(
            seg,
            name,
            StructureKind::Array,
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

    /// Number of elements (cached at open).
    #[inline]
    pub fn len(&self) -> usize {
        self.capacity
    }

    /// True for a zero-capacity array.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.capacity == 0
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Offset of the first of `n` elements at `start`, if they are inside
    /// the array; else the error naming the range and the capacity.
    #[inline]
    pub(crate) fn range_off(&self, start: usize, n: usize) -> Result<usize> {
        match start.checked_add(n) {
            Some(end) if end <= self.capacity => Ok(DATA + start * self.elem_size),
            _ => Err(self.out_of_range(start, n)),
        }
    }

    #[cold]
    #[inline(never)]
    fn out_of_range(&self, start: usize, n: usize) -> Error {
        self.region.invalid_argument(
            KIND,
            format!(
                "elements [{start}, {start}+{n}) out of range for capacity {}",
                self.capacity
            ),
        )
    }

    /// `len` bytes as a whole number of elements, or the error naming `op`.
    fn whole_elems(&self, op: &str, len: usize) -> Result<usize> {
        if self.elem_size == 0 {
            return if len == 0 {
                Ok(0)
            } else {
                Err(self.region.invalid_argument(
                    KIND,
                    format!("{op}: {len} bytes given for zero-sized elements"),
                ))
            };
        }
        if len % self.elem_size == 0 {
            Ok(len / self.elem_size)
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

    /// Copies element `i` into `out` (exactly the element size).
    #[inline]
    pub fn get(&self, i: usize, out: &mut [u8]) -> Result<()> {
        super::check_len(&self.region, KIND, "get", self.elem_size, out.len())?;
        let off = self.range_off(i, 1)?;
        self.region.read_bytes(off, out);
        Ok(())
    }

    /// Stores `src` (exactly the element size) at element `i`.
    #[inline]
    pub fn set(&self, i: usize, src: &[u8]) -> Result<()> {
        super::check_len(&self.region, KIND, "set", self.elem_size, src.len())?;
        let off = self.range_off(i, 1)?;
        self.region.write_bytes(off, src);
        Ok(())
    }

    /// Copies the elements starting at `start` into `out` (a whole number
    /// of elements).
    #[inline]
    pub fn read(&self, start: usize, out: &mut [u8]) -> Result<()> {
        let n = self.whole_elems("read", out.len())?;
        let off = self.range_off(start, n)?;
        self.region.read_bytes(off, out);
        Ok(())
    }

    /// Copies `src` (a whole number of elements) into the array starting at
    /// `start`.
    #[inline]
    pub fn write(&self, start: usize, src: &[u8]) -> Result<()> {
        let n = self.whole_elems("write", src.len())?;
        let off = self.range_off(start, n)?;
        self.region.write_bytes(off, src);
        Ok(())
    }

    /// A copy of every element, in index order: a snapshot for tools.
    pub fn items(&self) -> Vec<Vec<u8>> {
        (0..self.capacity)
            .map(|i| {
                let mut v = vec![0u8; self.elem_size];
                self.region.read_bytes(DATA + i * self.elem_size, &mut v);
                v
            })
            .collect()
    }

    /// Pointer to the first element, valid for [`RawArray::len`] elements
    /// while `self` lives (see [`crate::Array::as_ptr`] for the rules of
    /// using it).
    #[inline]
    pub fn as_ptr(&self) -> *mut u8 {
        self.region.ptr(DATA, self.capacity * self.elem_size)
    }
}
