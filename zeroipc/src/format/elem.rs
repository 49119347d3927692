//! The element layout every formula takes, and the checked alignment helper.

use crate::element::ShmElement;
use crate::layout::TypeLayout;

/// `n` rounded up to a multiple of `align`; `None` when `align` is not a
/// power of two or the result does not fit a `u64`.
///
/// This is the catalogue's one alignment helper: every formula in
/// [`crate::format`] uses it, and it is the one the other copies (see the
/// module docs) are to be replaced with.
///
/// ```
/// use zeroipc::format::align_up;
/// assert_eq!(align_up(13, 8), Some(16));
/// assert_eq!(align_up(16, 8), Some(16));
/// assert_eq!(align_up(0, 4), Some(0));
/// assert_eq!(align_up(5, 3), None); // 3 is not a power of two
/// assert_eq!(align_up(u64::MAX, 8), None); // overflows
/// ```
pub const fn align_up(n: u64, align: u64) -> Option<u64> {
    if !align.is_power_of_two() {
        return None;
    }
    match n.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// The larger of two values (`Ord::max` is not `const`).
pub(crate) const fn max_u64(a: u64, b: u64) -> u64 {
    if a > b {
        a
    } else {
        b
    }
}

/// Size and alignment of an element (or key, or value) as the C layout rules
/// of the format see it: all any entry-size formula needs to know about a
/// type.
///
/// The alignment is a power of two and the size a multiple of it (true of
/// every Rust and C type); the constructors refuse anything else, so the
/// formulas can rely on it.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::ShmElement;
/// let e = ElemLayout::of::<[u16; 3]>();
/// assert_eq!((e.size(), e.align()), (6, 2));
/// assert_eq!(ElemLayout::from_type_layout(f64::LAYOUT), Some(ElemLayout::of::<f64>()));
/// assert_eq!(ElemLayout::new(12, 4), Some(ElemLayout::of::<[i32; 3]>()));
/// assert_eq!(ElemLayout::new(6, 4), None); // size not a multiple of the alignment
/// assert_eq!(ElemLayout::new(4, 3), None); // alignment not a power of two
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElemLayout {
    size: u64,
    align: u64,
}

impl ElemLayout {
    /// A layout of `size` bytes aligned to `align`; `None` unless `align` is
    /// a power of two and `size` a multiple of it.
    pub const fn new(size: u64, align: u64) -> Option<ElemLayout> {
        if align.is_power_of_two() && size % align == 0 {
            Some(ElemLayout { size, align })
        } else {
            None
        }
    }

    /// The layout of `T` (`size_of`, `align_of`).
    pub const fn of<T: ShmElement>() -> ElemLayout {
        // Rust guarantees a power-of-two alignment and a size that is a
        // multiple of it, which is the invariant `new` checks.
        ElemLayout {
            size: size_of::<T>() as u64,
            align: align_of::<T>() as u64,
        }
    }

    /// The layout a [`TypeLayout`] describes (the schema compiler's and the
    /// derive's model); `None` if it breaks the invariant of [`ElemLayout::new`].
    pub const fn from_type_layout(t: &TypeLayout) -> Option<ElemLayout> {
        ElemLayout::new(t.size as u64, t.align as u64)
    }

    /// Size in bytes.
    pub const fn size(self) -> u64 {
        self.size
    }

    /// Alignment in bytes (a power of two).
    pub const fn align(self) -> u64 {
        self.align
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_edges() {
        assert_eq!(align_up(0, 1), Some(0));
        assert_eq!(align_up(1, 1), Some(1));
        assert_eq!(align_up(7, 8), Some(8));
        assert_eq!(align_up(9, 8), Some(16));
        assert_eq!(align_up(u64::MAX - 7, 8), Some(u64::MAX - 7));
        assert_eq!(align_up(u64::MAX - 6, 8), None);
        assert_eq!(align_up(4, 0), None);
        assert_eq!(align_up(4, 6), None);
    }

    #[test]
    fn layouts_of_types() {
        assert_eq!(ElemLayout::of::<u8>(), ElemLayout::new(1, 1).unwrap());
        assert_eq!(ElemLayout::of::<u64>(), ElemLayout::new(8, 8).unwrap());
        assert_eq!(
            ElemLayout::of::<[u64; 2]>(),
            ElemLayout::new(16, 8).unwrap()
        );
        assert_eq!(ElemLayout::of::<[u8; 3]>(), ElemLayout::new(3, 1).unwrap());
        assert_eq!(ElemLayout::new(0, 4), Some(ElemLayout::of::<[u32; 0]>()));
        assert_eq!(ElemLayout::new(8, 0), None);
    }
}
