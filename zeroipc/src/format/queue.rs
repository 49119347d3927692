//! `Queue<T>`, Vyukov's bounded MPMC queue (docs/FORMAT.md §3.2): one entry `name`.
//!
//! | off | field |
//! |---|---|
//! | [`HEAD`] 0 | head: atomic u32, next ticket to pop |
//! | [`TAIL`] 4 | tail: atomic u32, next ticket to push |
//! | [`CAPACITY`] 8 | capacity: u32, a power of two in [`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`] |
//! | [`ELEM_SIZE`] 12 | elem_size: u32 |
//! | [`DATA`] 16 | `capacity * s` data bytes |
//! | [`seq_offset`] `16 + align8(capacity * s)` | `capacity` atomic u32 sequence words, `seq[i] = i` at creation |
//!
//! Entry size `16 + align8(capacity * s) + 4 * capacity` ([`entry_size`]).
//! A request for `n` slots stores [`stored_capacity`]`(n)`: the next power
//! of two, at least 2 (a one-slot Vyukov queue cannot tell a published slot
//! from a free one; the reference stores 1 and loses values). The buffer of
//! a buffered [`super::channel`] is a queue.
//!
//! ```
//! use zeroipc::format::{queue, ElemLayout};
//! assert_eq!((queue::HEAD, queue::TAIL, queue::CAPACITY, queue::ELEM_SIZE, queue::DATA), (0, 4, 8, 12, 16));
//! assert_eq!(queue::stored_capacity(5), Some(8));
//! assert_eq!(queue::entry_size(8, ElemLayout::of::<u32>()), Some(16 + 32 + 32));
//! ```

use super::elem::{align_up, ElemLayout};

/// Offset of `head` (atomic u32).
pub const HEAD: u64 = 0;
/// Offset of `tail` (atomic u32).
pub const TAIL: u64 = 4;
/// Offset of `capacity` (u32).
pub const CAPACITY: u64 = 8;
/// Offset of `elem_size` (u32).
pub const ELEM_SIZE: u64 = 12;
/// Offset of slot 0's data; slot `i` is at `DATA + i * s`.
pub const DATA: u64 = 16;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 16;
/// Bytes of one sequence word.
pub const SEQ_SIZE: u64 = 4;
/// Smallest stored capacity the runtime creates or opens.
pub const MIN_CAPACITY: u64 = 2;
/// Largest stored capacity: the largest power of two a u32 holds.
pub const MAX_CAPACITY: u64 = 1 << 31;

/// The capacity the runtime stores for a request of `requested` slots: the
/// next power of two, at least [`MIN_CAPACITY`]; `None` for 0 or when it
/// would exceed [`MAX_CAPACITY`].
///
/// ```
/// use zeroipc::format::queue::stored_capacity;
/// assert_eq!(stored_capacity(0), None);
/// assert_eq!(stored_capacity(1), Some(2));
/// assert_eq!(stored_capacity(64), Some(64));
/// assert_eq!(stored_capacity(65), Some(128));
/// assert_eq!(stored_capacity((1 << 31) + 1), None);
/// ```
pub const fn stored_capacity(requested: u64) -> Option<u64> {
    if requested == 0 {
        return None;
    }
    let at_least = if requested < MIN_CAPACITY {
        MIN_CAPACITY
    } else {
        requested
    };
    match at_least.checked_next_power_of_two() {
        Some(r) if r <= MAX_CAPACITY => Some(r),
        _ => None,
    }
}

/// True for a capacity the runtime stores and accepts on open: a power of
/// two in [`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`].
///
/// ```
/// use zeroipc::format::queue::is_valid_capacity;
/// assert!(is_valid_capacity(2) && is_valid_capacity(1 << 31));
/// assert!(!is_valid_capacity(1) && !is_valid_capacity(3) && !is_valid_capacity(0));
/// ```
pub const fn is_valid_capacity(capacity: u64) -> bool {
    capacity.is_power_of_two() && capacity >= MIN_CAPACITY && capacity <= MAX_CAPACITY
}

/// Offset of the sequence words: `16 + align8(capacity * s)`; `None` on
/// overflow.
///
/// ```
/// use zeroipc::format::{queue, ElemLayout};
/// assert_eq!(queue::seq_offset(2, ElemLayout::of::<[u8; 3]>()), Some(24));
/// assert_eq!(queue::seq_offset(4, ElemLayout::of::<u64>()), Some(48));
/// ```
pub const fn seq_offset(capacity: u64, elem: ElemLayout) -> Option<u64> {
    let Some(data) = capacity.checked_mul(elem.size()) else {
        return None;
    };
    let Some(data) = align_up(data, 8) else {
        return None;
    };
    DATA.checked_add(data)
}

/// Entry size of a queue of stored capacity `capacity`:
/// `16 + align8(capacity * s) + 4 * capacity`; `None` on overflow.
///
/// ```
/// use zeroipc::format::{queue, ElemLayout};
/// assert_eq!(queue::entry_size(2, ElemLayout::of::<[u8; 3]>()), Some(32));
/// assert_eq!(queue::entry_size(u64::MAX, ElemLayout::of::<u8>()), None);
/// ```
pub const fn entry_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    let Some(seq) = seq_offset(capacity, elem) else {
        return None;
    };
    match capacity.checked_mul(SEQ_SIZE) {
        Some(words) => seq.checked_add(words),
        None => None,
    }
}
