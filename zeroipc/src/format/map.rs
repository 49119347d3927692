//! `Map<K, V>`, open addressing with linear probing (FORMAT.md §4): one
//! entry `name`.
//!
//! | off | field |
//! |---|---|
//! | [`SIZE`] 0 | size: atomic u32, occupied slots |
//! | [`CAPACITY`] 4 | capacity: u32, slots, exactly as requested ([`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`]) |
//! | [`KEY_SIZE`] 8 | key_size: u32 |
//! | [`VALUE_SIZE`] 12 | value_size: u32, at most [`MAX_VALUE_SIZE`] |
//! | [`SLOTS`] 16 | `capacity` slots `{state: atomic u32; K; V}` in C layout ([`slot_layout`]) |
//!
//! Slot states (the word at [`SLOT_STATE`]): [`EMPTY`] 0, [`OCCUPIED`] 1,
//! [`DELETED`] 2 (a tombstone), [`INSERTING`] 3 (an exclusive claim). Key
//! at `ko = align_up(4, align K)`, value at `vo = align_up(ko + size K,
//! align V)`, stride `align_up(vo + size V, max(4, align K, align V))`;
//! entry size `16 + stride * capacity` ([`entry_size`]). The key hash is
//! [`crate::format::key_hash`].
//!
//! ```
//! use zeroipc::format::{map, ElemLayout};
//! assert_eq!((map::SIZE, map::CAPACITY, map::KEY_SIZE, map::VALUE_SIZE, map::SLOTS), (0, 4, 8, 12, 16));
//! assert_eq!((map::EMPTY, map::OCCUPIED, map::DELETED, map::INSERTING), (0, 1, 2, 3));
//! let slot = map::slot_layout(ElemLayout::of::<i64>(), ElemLayout::of::<i32>()).unwrap();
//! assert_eq!((slot.key, slot.value, slot.stride), (8, 16, 24));
//! ```

use super::elem::{align_up, max_u64, ElemLayout};

/// Offset of `size` (atomic u32).
pub const SIZE: u64 = 0;
/// Offset of `capacity` (u32).
pub const CAPACITY: u64 = 4;
/// Offset of `key_size` (u32).
pub const KEY_SIZE: u64 = 8;
/// Offset of `value_size` (u32).
pub const VALUE_SIZE: u64 = 12;
/// Offset of slot 0.
pub const SLOTS: u64 = 16;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 16;
/// Offset of the state word within a slot (atomic u32).
pub const SLOT_STATE: u64 = 0;
/// Slot state: never used; ends a probe chain.
pub const EMPTY: u32 = 0;
/// Slot state: holds a key and value.
pub const OCCUPIED: u32 = 1;
/// Slot state: a tombstone (still holding the old key and value).
pub const DELETED: u32 = 2;
/// Slot state: claimed by one process, which alone may touch key and value.
pub const INSERTING: u32 = 3;
/// Largest value size (a C++ reference constraint).
pub const MAX_VALUE_SIZE: u64 = 8;
/// Smallest capacity.
pub const MIN_CAPACITY: u64 = 1;
/// Largest capacity (the u32 field).
pub const MAX_CAPACITY: u64 = u32::MAX as u64;

/// Offsets inside one hash slot (Map and Set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotLayout {
    /// Offset of the key (Set: the element) within the slot.
    pub key: u64,
    /// Offset of the value within the slot (Set: just past the element).
    pub value: u64,
    /// Bytes from one slot to the next.
    pub stride: u64,
}

/// The C layout of `struct { atomic<u32> state; K key; V value; }`; `None`
/// on overflow.
///
/// ```
/// use zeroipc::format::{map, ElemLayout};
/// let s = map::slot_layout(ElemLayout::of::<[u8; 3]>(), ElemLayout::of::<i16>()).unwrap();
/// assert_eq!((s.key, s.value, s.stride), (4, 8, 12));
/// ```
pub const fn slot_layout(key: ElemLayout, value: ElemLayout) -> Option<SlotLayout> {
    let Some(key_off) = align_up(4, key.align()) else {
        return None;
    };
    let Some(key_end) = key_off.checked_add(key.size()) else {
        return None;
    };
    let Some(value_off) = align_up(key_end, value.align()) else {
        return None;
    };
    let Some(value_end) = value_off.checked_add(value.size()) else {
        return None;
    };
    let slot_align = max_u64(4, max_u64(key.align(), value.align()));
    match align_up(value_end, slot_align) {
        Some(stride) => Some(SlotLayout {
            key: key_off,
            value: value_off,
            stride,
        }),
        None => None,
    }
}

/// Bytes of `capacity` slots plus the 16-byte header, for a slot stride.
pub(crate) const fn hash_entry_size(capacity: u64, stride: u64) -> Option<u64> {
    match capacity.checked_mul(stride) {
        Some(slots) => slots.checked_add(HEADER_SIZE),
        None => None,
    }
}

/// Entry size of a map of `capacity` slots: `16 + stride * capacity`;
/// `None` on overflow.
///
/// ```
/// use zeroipc::format::{map, ElemLayout};
/// let (k, v) = (ElemLayout::of::<i32>(), ElemLayout::of::<i64>());
/// assert_eq!(map::entry_size(10, k, v), Some(16 + 16 * 10));
/// ```
pub const fn entry_size(capacity: u64, key: ElemLayout, value: ElemLayout) -> Option<u64> {
    match slot_layout(key, value) {
        Some(slot) => hash_entry_size(capacity, slot.stride),
        None => None,
    }
}
