//! `Set<T>`: one entry `name`; a [`super::map`] whose value is zero-sized
//! ([`NO_VALUE`]). The normative layout is docs/FORMAT.md §4.2.
//!
//! | off | field |
//! |---|---|
//! | [`SIZE`] 0 | size: atomic u32, members |
//! | [`CAPACITY`] 4 | capacity: u32, slots, exactly as requested |
//! | [`ELEM_SIZE`] 8 | elem_size: u32 |
//! | [`RESERVED`] 12 | reserved: u32, 0 (a Python-created set stores 1) |
//! | [`SLOTS`] 16 | `capacity` slots `{state: atomic u32; T}` |
//!
//! Slot states are the map's ([`super::map::EMPTY`] ...). Element at
//! `align_up(4, a)`, stride `align_up(that + s, max(4, a))`; entry size
//! `16 + stride * capacity` ([`entry_size`]).
//!
//! ```
//! use zeroipc::format::{set, ElemLayout};
//! assert_eq!((set::SIZE, set::CAPACITY, set::ELEM_SIZE, set::RESERVED, set::SLOTS), (0, 4, 8, 12, 16));
//! assert_eq!(set::slot_layout(ElemLayout::of::<f64>()).unwrap().stride, 16);
//! ```

use super::elem::ElemLayout;
use super::map::{hash_entry_size, SlotLayout};

pub use super::map::{DELETED, EMPTY, INSERTING, MAX_CAPACITY, MIN_CAPACITY, OCCUPIED, SLOT_STATE};

/// Offset of `size` (atomic u32).
pub const SIZE: u64 = 0;
/// Offset of `capacity` (u32).
pub const CAPACITY: u64 = 4;
/// Offset of `elem_size` (u32).
pub const ELEM_SIZE: u64 = 8;
/// Offset of the reserved word (u32, 0; where a map keeps `value_size`).
pub const RESERVED: u64 = 12;
/// Offset of slot 0.
pub const SLOTS: u64 = 16;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 16;

/// The zero-sized value of a set slot (a set is a map with this value).
pub const NO_VALUE: ElemLayout = match ElemLayout::new(0, 1) {
    Some(l) => l,
    None => panic!("0 bytes aligned to 1 is a valid layout"),
};

/// The layout of `struct { atomic<u32> state; T elem; }`: `key` is the
/// element's offset; `None` on overflow.
///
/// ```
/// use zeroipc::format::{set, ElemLayout};
/// let s = set::slot_layout(ElemLayout::of::<[i32; 3]>()).unwrap();
/// assert_eq!((s.key, s.stride), (4, 16));
/// ```
pub const fn slot_layout(elem: ElemLayout) -> Option<SlotLayout> {
    super::map::slot_layout(elem, NO_VALUE)
}

/// Entry size of a set of `capacity` slots; `None` on overflow.
///
/// ```
/// use zeroipc::format::{set, ElemLayout};
/// assert_eq!(set::entry_size(32, ElemLayout::of::<u32>()), Some(16 + 8 * 32));
/// ```
pub const fn entry_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    match slot_layout(elem) {
        Some(slot) => hash_entry_size(capacity, slot.stride),
        None => None,
    }
}
