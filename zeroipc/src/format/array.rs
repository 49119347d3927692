//! `Array<T>` (docs/FORMAT.md §3.1): one entry `name`.
//!
//! | off | field |
//! |---|---|
//! | [`CAPACITY`] 0 | capacity: u64, elements |
//! | [`DATA`] 8 | `capacity * s` data bytes |
//!
//! Entry size `8 + capacity * s` ([`entry_size`]). Any capacity, 0
//! included, is valid for the runtime.
//!
//! ```
//! use zeroipc::format::{array, ElemLayout};
//! assert_eq!((array::CAPACITY, array::DATA), (0, 8));
//! assert_eq!(array::entry_size(4, ElemLayout::of::<f32>()), Some(24));
//! ```

use super::elem::ElemLayout;

/// Offset of the `capacity` field (u64, elements).
pub const CAPACITY: u64 = 0;
/// Offset of element 0; element `i` is at `DATA + i * s`.
pub const DATA: u64 = 8;

/// Entry size of an array of `capacity` elements: `8 + capacity * s`;
/// `None` on overflow.
///
/// ```
/// use zeroipc::format::{array, ElemLayout};
/// assert_eq!(array::entry_size(0, ElemLayout::of::<u64>()), Some(8));
/// assert_eq!(array::entry_size(3, ElemLayout::of::<[u8; 3]>()), Some(17));
/// assert_eq!(array::entry_size(u64::MAX, ElemLayout::of::<u16>()), None);
/// ```
pub const fn entry_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    match capacity.checked_mul(elem.size()) {
        Some(data) => data.checked_add(DATA),
        None => None,
    }
}
