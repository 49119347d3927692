//! The element trait: what may be stored in a segment.
//!
//! [`ShmElement`] is implemented here for the fixed-width integers, `f32`,
//! `f64`, fixed arrays of elements and [`FixedStr`]; `#[derive(ShmLayout)]`
//! implements it for user structs and open enums after proving the same
//! properties at compile time. `bool`, `char`, references, pointers and
//! anything with padding or a niche do not implement it, because another
//! process may write any byte pattern into shared memory.

use crate::layout::{Kind, Prim, TypeLayout};
use std::fmt;

/// A type that can live in a ZeroIPC segment and be copied in and out of it.
///
/// # Safety
///
/// An implementation promises all of the following:
/// - `size_of::<Self>() == Self::LAYOUT.size` and
///   `align_of::<Self>() == Self::LAYOUT.align <= 8`;
/// - every bit pattern of `size_of::<Self>()` bytes is a valid `Self` (no
///   `bool`, `char`, enums with invalid discriminants, references, niches);
/// - there are no padding bytes (every byte belongs to a field), so viewing a
///   value as bytes reads only initialised memory;
/// - there are no pointers, references or interior mutability, so a copy
///   made by another process means the same thing;
/// - `LAYOUT` describes the real field offsets, sizes and kinds.
///
/// `#[derive(ShmLayout)]` checks these at compile time; implement by hand
/// only with the same care.
///
/// ```
/// use zeroipc::ShmElement;
/// assert_eq!(<[f64; 3]>::LAYOUT.size, 24);
/// assert_eq!(i16::LAYOUT.align, 2);
/// ```
pub unsafe trait ShmElement: Copy + Send + Sync + 'static {
    /// The exact layout of the type.
    const LAYOUT: &'static TypeLayout;
}

macro_rules! prim_element {
    ($($t:ty => $p:ident),* $(,)?) => {$(
        // SAFETY: primitive integers and floats have no padding, accept every
        // bit pattern, hold no pointers, and their size equals their alignment,
        // which is what `Prim::layout` records.
        unsafe impl ShmElement for $t {
            const LAYOUT: &'static TypeLayout = Prim::$p.layout();
        }
    )*};
}

prim_element!(
    u8 => U8, u16 => U16, u32 => U32, u64 => U64,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    f32 => F32, f64 => F64,
);

// SAFETY: an array of elements has the element's alignment, `N * size` bytes,
// no padding between elements (size is a multiple of alignment), and every
// bit pattern is valid because every element's is.
unsafe impl<T: ShmElement, const N: usize> ShmElement for [T; N] {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "",
        size: N * T::LAYOUT.size,
        align: T::LAYOUT.align,
        kind: Kind::Array {
            elem: T::LAYOUT,
            len: N,
        },
        doc: "",
    };
}

/// The bytes of a value.
///
/// ```
/// assert_eq!(zeroipc::element::bytes_of(&1u16), &[1, 0]);
/// ```
pub fn bytes_of<T: ShmElement>(v: &T) -> &[u8] {
    // SAFETY: `ShmElement` guarantees no padding, so all `size_of::<T>()`
    // bytes behind `v` are initialised; the slice borrows `v`.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }
}

/// The bytes of a value, writable: filling them with any bytes leaves a
/// valid `T`, because [`ShmElement`] types accept every bit pattern.
///
/// ```
/// let mut v = 0u16;
/// zeroipc::element::bytes_of_mut(&mut v).copy_from_slice(&[1, 2]);
/// assert_eq!(v, 0x0201);
/// ```
pub fn bytes_of_mut<T: ShmElement>(v: &mut T) -> &mut [u8] {
    // SAFETY: `ShmElement` guarantees no padding (every byte is initialised)
    // and that every bit pattern is a valid `T`, so any bytes written through
    // the slice leave a valid value; the slice borrows `v` exclusively.
    unsafe { std::slice::from_raw_parts_mut((v as *mut T).cast::<u8>(), size_of::<T>()) }
}

/// A value from exactly `size_of::<T>()` bytes, or `None` if the length differs.
///
/// ```
/// assert_eq!(zeroipc::element::from_bytes::<u16>(&[1, 0]), Some(1));
/// assert_eq!(zeroipc::element::from_bytes::<u16>(&[1]), None);
/// ```
pub fn from_bytes<T: ShmElement>(bytes: &[u8]) -> Option<T> {
    if bytes.len() != size_of::<T>() {
        return None;
    }
    // SAFETY: the length matches and every bit pattern is a valid `T`
    // (`ShmElement` contract); `read_unaligned` copes with any alignment.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// A fixed-capacity string of `N` bytes: UTF-8, NUL-padded, not necessarily
/// NUL-terminated when full. Any bytes a peer writes are accepted; reading
/// checks UTF-8.
///
/// ```
/// use zeroipc::FixedStr;
/// let s = FixedStr::<8>::new("hello").unwrap();
/// assert_eq!(s.as_str().unwrap(), "hello");
/// assert!(FixedStr::<4>::new("too long").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct FixedStr<const N: usize>(pub [u8; N]);

/// A string longer than a [`FixedStr`]'s capacity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("string of {len} bytes does not fit a FixedStr of {capacity} bytes")]
pub struct StrTooLong {
    /// Byte length of the string.
    pub len: usize,
    /// Capacity of the FixedStr.
    pub capacity: usize,
}

impl<const N: usize> FixedStr<N> {
    /// The empty string.
    pub const EMPTY: Self = FixedStr([0; N]);

    /// Stores `s`, NUL-padded; fails if it is longer than `N` bytes.
    pub fn new(s: &str) -> Result<Self, StrTooLong> {
        if s.len() > N {
            return Err(StrTooLong {
                len: s.len(),
                capacity: N,
            });
        }
        let mut b = [0u8; N];
        b[..s.len()].copy_from_slice(s.as_bytes());
        Ok(FixedStr(b))
    }

    /// The bytes up to the first NUL (or all `N`).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..end]
    }

    /// The string, if the bytes before the first NUL are valid UTF-8.
    pub fn as_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(self.as_bytes())
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Ok(s) => write!(f, "FixedStr<{N}>({s:?})"),
            Err(_) => write!(f, "FixedStr<{N}>({:?})", self.as_bytes()),
        }
    }
}

// SAFETY: `repr(transparent)` over `[u8; N]`: size N, alignment 1, no
// padding, every byte pattern valid (UTF-8 is checked on read, not assumed).
unsafe impl<const N: usize> ShmElement for FixedStr<N> {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "",
        size: N,
        align: 1,
        kind: Kind::FixedStr { len: N },
        doc: "",
    };
}

/// Key equality as the C++ reference defines it: `==` for floating-point
/// types (so `0.0 == -0.0` and NaN never matches), byte equality otherwise.
#[inline]
pub(crate) fn key_eq<T: ShmElement>(a: &T, b: &T) -> bool {
    crate::format::map::KeyLayout::of::<T>().keys_equal(bytes_of(a), bytes_of(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_compiler() {
        fn check<T: ShmElement>() {
            assert_eq!(T::LAYOUT.size, size_of::<T>());
            assert_eq!(T::LAYOUT.align, align_of::<T>());
        }
        check::<u8>();
        check::<i64>();
        check::<f32>();
        check::<[u16; 7]>();
        check::<[[f64; 2]; 3]>();
        check::<FixedStr<13>>();
    }

    #[test]
    fn float_keys_compare_by_value() {
        assert!(key_eq(&0.0f64, &-0.0f64));
        assert!(!key_eq(&f64::NAN, &f64::NAN));
        assert!(key_eq(&[1u8, 2], &[1u8, 2]));
    }

    #[test]
    fn fixed_str_reports_bad_utf8() {
        let s = FixedStr::<4>([0xff, b'a', 0, 0]);
        assert!(s.as_str().is_err());
        assert_eq!(s.as_bytes(), &[0xff, b'a']);
    }
}
