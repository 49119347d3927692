//! The protocol core: every structure's protocol written once over bytes,
//! with the element layout known at run time.
//!
//! Each `RawX` holds the structure's [`Region`], the
//! bounds validated when it was created or opened (capacity, mask, offsets,
//! element size), and the [`ElemLayout`] of each
//! element role. It implements the whole protocol: the typed structures
//! (`Queue<T>`, `Stack<T>`, ...) are thin `#[inline]` veneers over it that
//! only convert values to and from bytes, and tools that know the element
//! type only at run time (the inspector, the fuzz exerciser, language
//! bindings) call it directly. Offsets and formulas come from
//! [`crate::format`]; the normative layout is docs/FORMAT.md.
//!
//! A byte slice of the wrong length is refused with
//! [`Error::InvalidArgument`] naming the
//! expected and the given sizes, never a panic.
//!
//! Each type offers the kind's operations in three shapes: the plain
//! byte-slice form (`push(&[u8])`), which checks the slice length, never
//! blocks and never panics; the `_timeout` form, which retries until a
//! deadline and then returns [`Error::Timeout`];
//! and `items()`-style snapshots for tools, which copy what the structure
//! holds without changing a byte.
//!
//! ```
//! use zeroipc::format::ElemLayout;
//! use zeroipc::raw::RawQueue;
//! use zeroipc::{Queue, Segment};
//! let name = format!("/zeroipc-doc-raw-{}", std::process::id());
//! let seg = Segment::create(&name, 1 << 16)?;
//! // A tool that knows only "3-byte elements" and a typed user share one queue.
//! let raw = RawQueue::create(&seg, "q", ElemLayout::new(3, 1).unwrap(), 4)?;
//! assert!(raw.push(&[1, 2, 3])?);
//! let typed = Queue::<[u8; 3]>::open(&seg, "q")?;
//! assert_eq!(typed.pop(), Some([1, 2, 3]));
//! assert!(raw.push(&[1, 2]).is_err()); // wrong length: refused, nothing written
//! assert!(typed.is_empty());
//! Segment::unlink(&name)?;
//! # Ok::<(), zeroipc::Error>(())
//! ```

pub mod array;
pub mod channel;
pub mod future;
pub mod lazy;
pub mod map;
pub mod pool;
pub mod queue;
pub mod ring;
pub mod set;
pub mod signal;
pub mod stack;
pub mod stream;

pub use array::RawArray;
pub use channel::RawChannel;
pub use future::RawFuture;
pub use lazy::RawLazy;
pub use map::RawMap;
pub use pool::RawPool;
pub use queue::RawQueue;
pub use ring::RawRing;
pub use set::RawSet;
pub use signal::RawSignal;
pub use stack::RawStack;
pub use stream::RawStream;

use crate::describe::{check_description, Description};
use crate::error::{Error, Result};
use crate::format::{ElemLayout, StructureKind};
use crate::region::Region;
use crate::segment::{Part, Segment};

/// Registers the one entry `name` of `size` bytes of a single-entry kind,
/// recording `desc` in the segment's self-description (when it has one),
/// and runs `init` on the zeroed region under the table lock.
pub(crate) fn register_described_one(
    seg: &Segment,
    name: &str,
    size: u64,
    desc: &Description,
    init: impl FnOnce(&Region),
) -> Result<Region> {
    let mut regions = seg.register_described(&[Part::new(name, size)], desc, |r| {
        init(&r[0]);
        Ok(())
    })?;
    regions.pop().ok_or_else(|| Error::InvalidParameter {
        segment: seg.name().to_owned(),
        what: format!("{name:?}: registering one part returned no region"),
    })
}

/// The description a single-entry kind records at creation: its element
/// layout, the element type's fingerprint when a typed veneer knows it, and
/// the stored capacity.
pub(crate) fn description_of(
    kind: StructureKind,
    elem: ElemLayout,
    fingerprint: Option<u64>,
    stored_capacity: u64,
) -> Description {
    Description {
        elem_fingerprint: fingerprint,
        ..Description::with_layout(kind, elem, stored_capacity)
    }
}

/// The first open-time self-description check (issue 14 §4): refuses a
/// structure recorded as another kind ([`Error::WrongKind`]); when the
/// caller gives no layout, returns the recorded one (which knows the
/// alignment the header does not store), else `elem`. The header is
/// validated next (its errors name the stored and the expected sizes), then
/// [`check_recorded_layout`].
pub(crate) fn described_elem(
    seg: &Segment,
    name: &str,
    kind: StructureKind,
    elem: Option<ElemLayout>,
) -> Result<Option<ElemLayout>> {
    check_description(seg, name, &Description::new(kind))?;
    match elem {
        Some(e) => Ok(Some(e)),
        None => Ok(seg
            .description(name)?
            .filter(|d| d.kind == kind)
            .and_then(|d| d.elem)),
    }
}

/// The second open-time check: the layout the header was validated with
/// against the recorded one (an alignment the header cannot show, for one).
pub(crate) fn check_recorded_layout(
    seg: &Segment,
    name: &str,
    kind: StructureKind,
    elem: ElemLayout,
) -> Result<()> {
    let expected = Description {
        elem: Some(elem),
        ..Description::new(kind)
    };
    check_description(seg, name, &expected)
}

/// The [`Error::InvalidParameter`] a create refuses its arguments with:
/// `what` prefixed by the kind and the entry's name.
pub(crate) fn invalid_create(
    seg: &Segment,
    kind: &str,
    name: &str,
    what: impl std::fmt::Display,
) -> Error {
    Error::InvalidParameter {
        segment: seg.name().to_owned(),
        what: format!("{kind} {name:?}: {what}"),
    }
}

/// Refuses (as [`invalid_create`]) an element size the header's u32
/// `elem_size` field cannot store.
pub(crate) fn check_elem_size_field(
    seg: &Segment,
    kind: &str,
    name: &str,
    elem: ElemLayout,
) -> Result<()> {
    if elem.size() > u32::MAX as u64 {
        return Err(invalid_create(
            seg,
            kind,
            name,
            format_args!(
                "element size {} does not fit the u32 elem_size field",
                elem.size()
            ),
        ));
    }
    Ok(())
}

/// The create error of a `capacity x element size` that overflows.
pub(crate) fn size_overflow(
    seg: &Segment,
    kind: &str,
    name: &str,
    capacity: usize,
    elem: ElemLayout,
) -> Error {
    invalid_create(
        seg,
        kind,
        name,
        format_args!("capacity {capacity} x {} bytes overflows", elem.size()),
    )
}

/// The shared tail of a single-entry kind's create: records the
/// description ([`description_of`]) and registers the entry
/// ([`register_described_one`]), running `init` on the zeroed region.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_described(
    seg: &Segment,
    name: &str,
    kind: StructureKind,
    elem: ElemLayout,
    fingerprint: Option<u64>,
    stored_capacity: u64,
    size: u64,
    init: impl FnOnce(&Region),
) -> Result<Region> {
    let desc = description_of(kind, elem, fingerprint, stored_capacity);
    register_described_one(seg, name, size, &desc, init)
}

/// A single-entry kind's open: [`described_elem`], then the header checks
/// of `from_region` (given the entry's region and the layout to check
/// against), then [`check_recorded_layout`] with the layout `elem_of`
/// reads from the opened structure.
pub(crate) fn open_described<R>(
    seg: &Segment,
    name: &str,
    kind: StructureKind,
    elem: Option<ElemLayout>,
    from_region: impl FnOnce(Region, Option<ElemLayout>) -> Result<R>,
    elem_of: impl FnOnce(&R) -> ElemLayout,
) -> Result<R> {
    let elem = described_elem(seg, name, kind, elem)?;
    let raw = from_region(seg.region(name)?, elem)?;
    check_recorded_layout(seg, name, kind, elem_of(&raw))?;
    Ok(raw)
}

/// The element layout a header's stored element size implies when the
/// caller gives none: that size, aligned to the largest power of two that
/// divides it, at most 8 (the largest alignment a [`crate::ShmElement`] may
/// have). Only the layouts that depend on alignment (a pool's node stride)
/// can tell more; the format stores no alignment.
pub(crate) fn elem_from_size(size: u64) -> ElemLayout {
    let align = if size == 0 {
        1
    } else {
        (1u64 << size.trailing_zeros()).min(8)
    };
    ElemLayout::new(size, align).expect("a power of two that divides the size")
}

/// `Ok` when a caller's byte slice has the element size; otherwise the
/// [`Error::InvalidArgument`] naming the operation and both sizes.
#[inline]
pub(crate) fn check_len(
    region: &Region,
    kind: &'static str,
    op: &str,
    expected: usize,
    given: usize,
) -> Result<()> {
    if expected == given {
        Ok(())
    } else {
        Err(wrong_len(region, kind, op, expected, given))
    }
}

/// Kept out of line so the length check on every byte-slice call stays small.
#[cold]
#[inline(never)]
fn wrong_len(
    region: &Region,
    kind: &'static str,
    op: &str,
    expected: usize,
    given: usize,
) -> Error {
    region.invalid_argument(
        kind,
        format!("{op}: a slice of {given} bytes given, the element size is {expected} bytes"),
    )
}

/// The stored element size versus the caller's layout, as a
/// [`Error::StructureMismatch`] when they differ; `type_name` (a typed
/// veneer's `T`) names the type in the message.
pub(crate) fn check_elem_size(
    region: &Region,
    kind: &'static str,
    stored: u64,
    given: Option<ElemLayout>,
    type_name: Option<&str>,
) -> Result<ElemLayout> {
    match given {
        None => Ok(elem_from_size(stored)),
        Some(e) if e.size() == stored => Ok(e),
        Some(e) => {
            let what = match type_name {
                Some(t) => format!("size_of::<{t}>() is {}", e.size()),
                None => format!("the element layout given is {} bytes", e.size()),
            };
            Err(region.mismatch(
                kind,
                format!("stored elem_size is {stored} bytes but {what} (wrong element type?)"),
            ))
        }
    }
}

/// The bytes of a slice of elements.
#[inline]
pub(crate) fn slice_bytes<T: crate::ShmElement>(v: &[T]) -> &[u8] {
    // SAFETY: `ShmElement` types have no padding, so every byte of the slice
    // is initialised; the byte slice borrows `v` for its lifetime.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// The bytes of a mutable slice of elements.
#[inline]
pub(crate) fn slice_bytes_mut<T: crate::ShmElement>(v: &mut [T]) -> &mut [u8] {
    // SAFETY: as `slice_bytes`; in addition every byte pattern is a valid
    // `T` (`ShmElement`), so any bytes written through the view leave valid
    // elements behind.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}
