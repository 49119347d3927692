//! `Stack<T>` (docs/FORMAT.md §3.3): one entry `name`.
//!
//! | off | field |
//! |---|---|
//! | [`TOP`] 0 | top: atomic i32, [`TOP_EMPTY`] (−1) when empty |
//! | [`CAPACITY`] 4 | capacity: u32, [`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`], exactly as requested |
//! | [`ELEM_SIZE`] 8 | elem_size: u32 |
//! | [`RESERVED`] 12 | reserved u32, 0 |
//! | [`DATA`] 16 | `capacity * s` data bytes |
//! | [`state_offset`] `16 + align8(capacity * s)` | `capacity` atomic u32 slot states |
//!
//! Slot states: [`EMPTY`] 0 → [`WRITING`] 1 → [`READY`] 2 → [`READING`] 3 →
//! [`EMPTY`]. Entry size `16 + align8(capacity * s) + 4 * capacity`
//! ([`entry_size`], the queue's formula).
//!
//! ```
//! use zeroipc::format::{stack, ElemLayout};
//! assert_eq!((stack::TOP, stack::CAPACITY, stack::ELEM_SIZE, stack::RESERVED, stack::DATA), (0, 4, 8, 12, 16));
//! assert_eq!((stack::EMPTY, stack::WRITING, stack::READY, stack::READING), (0, 1, 2, 3));
//! assert_eq!(stack::entry_size(3, ElemLayout::of::<u16>()), Some(16 + 8 + 12));
//! ```

use super::elem::ElemLayout;

/// Offset of `top` (atomic i32).
pub const TOP: u64 = 0;
/// Offset of `capacity` (u32).
pub const CAPACITY: u64 = 4;
/// Offset of `elem_size` (u32).
pub const ELEM_SIZE: u64 = 8;
/// Offset of the reserved word (u32, 0).
pub const RESERVED: u64 = 12;
/// Offset of slot 0's data.
pub const DATA: u64 = 16;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 16;
/// `top` of an empty stack.
pub const TOP_EMPTY: i32 = -1;
/// Slot state: free.
pub const EMPTY: u32 = 0;
/// Slot state: a pusher owns the slot and is writing it.
pub const WRITING: u32 = 1;
/// Slot state: holds a value.
pub const READY: u32 = 2;
/// Slot state: a popper owns the slot and is reading it.
pub const READING: u32 = 3;
/// Smallest capacity.
pub const MIN_CAPACITY: u64 = 1;
/// Largest capacity (`top` is an i32).
pub const MAX_CAPACITY: u64 = i32::MAX as u64;

/// True for a capacity the runtime creates and opens (no rounding).
///
/// ```
/// use zeroipc::format::stack::is_valid_capacity;
/// assert!(is_valid_capacity(1) && is_valid_capacity(7));
/// assert!(!is_valid_capacity(0) && !is_valid_capacity(1 << 31));
/// ```
pub const fn is_valid_capacity(capacity: u64) -> bool {
    capacity >= MIN_CAPACITY && capacity <= MAX_CAPACITY
}

/// Offset of the slot states: `16 + align8(capacity * s)`; `None` on
/// overflow.
///
/// ```
/// use zeroipc::format::{stack, ElemLayout};
/// assert_eq!(stack::state_offset(3, ElemLayout::of::<u16>()), Some(24));
/// ```
pub const fn state_offset(capacity: u64, elem: ElemLayout) -> Option<u64> {
    super::queue::seq_offset(capacity, elem)
}

/// Entry size: `16 + align8(capacity * s) + 4 * capacity`; `None` on
/// overflow.
///
/// ```
/// use zeroipc::format::{stack, ElemLayout};
/// assert_eq!(stack::entry_size(1, ElemLayout::of::<u8>()), Some(28));
/// ```
pub const fn entry_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    super::queue::entry_size(capacity, elem)
}
