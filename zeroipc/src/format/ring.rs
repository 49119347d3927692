//! `Ring<T>`, a single-producer single-consumer byte ring (docs/FORMAT.md §4.4):
//! one entry `name`. The buffer of a typed [`super::stream`] is a ring.
//!
//! | off | field |
//! |---|---|
//! | [`WRITE_POS`] 0 | write_pos: atomic u64, bytes ever written |
//! | [`READ_POS`] 8 | read_pos: atomic u64, bytes ever read |
//! | [`CAPACITY`] 16 | capacity: u32, in **bytes**, a nonzero multiple of elem_size |
//! | [`ELEM_SIZE`] 20 | elem_size: u32 |
//! | [`DATA`] 24 | `capacity` bytes; position `p` at `p % capacity` |
//!
//! The catalogue counts a ring's capacity in **elements**, as the runtime's
//! `Ring::create` and the schema take it; the header stores
//! [`capacity_bytes`] = elements × s, which must be 1..=[`MAX_CAPACITY_BYTES`].
//! Entry size `24 + capacity * s` ([`entry_size`]).
//!
//! ```
//! use zeroipc::format::{ring, ElemLayout};
//! assert_eq!((ring::WRITE_POS, ring::READ_POS, ring::CAPACITY, ring::ELEM_SIZE, ring::DATA), (0, 8, 16, 20, 24));
//! assert_eq!(ring::entry_size(4, ElemLayout::of::<u32>()), Some(40));
//! ```

use super::elem::ElemLayout;

/// Offset of `write_pos` (atomic u64).
pub const WRITE_POS: u64 = 0;
/// Offset of `read_pos` (atomic u64).
pub const READ_POS: u64 = 8;
/// Offset of `capacity` (u32, bytes).
pub const CAPACITY: u64 = 16;
/// Offset of `elem_size` (u32).
pub const ELEM_SIZE: u64 = 20;
/// Offset of the data bytes.
pub const DATA: u64 = 24;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 24;
/// Largest byte capacity (the u32 field).
pub const MAX_CAPACITY_BYTES: u64 = u32::MAX as u64;

/// The stored byte capacity of a ring of `capacity` elements: `capacity *
/// s`, `None` unless it is 1..=[`MAX_CAPACITY_BYTES`].
///
/// ```
/// use zeroipc::format::{ring, ElemLayout};
/// assert_eq!(ring::capacity_bytes(4, ElemLayout::of::<u32>()), Some(16));
/// assert_eq!(ring::capacity_bytes(0, ElemLayout::of::<u32>()), None);
/// assert_eq!(ring::capacity_bytes(1 << 30, ElemLayout::of::<u64>()), None); // 8 GiB
/// ```
pub const fn capacity_bytes(capacity: u64, elem: ElemLayout) -> Option<u64> {
    match capacity.checked_mul(elem.size()) {
        Some(b) if b >= 1 && b <= MAX_CAPACITY_BYTES => Some(b),
        _ => None,
    }
}

/// Entry size of a ring of `capacity` elements: `24 + capacity * s`;
/// `None` on overflow (the formula alone: see [`capacity_bytes`] for the
/// range the header can store).
///
/// ```
/// use zeroipc::format::{ring, ElemLayout};
/// assert_eq!(ring::entry_size(3, ElemLayout::of::<[u16; 3]>()), Some(42));
/// ```
pub const fn entry_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    match capacity.checked_mul(elem.size()) {
        Some(data) => data.checked_add(HEADER_SIZE),
        None => None,
    }
}
