//! `Future<T>` (docs/FORMAT.md §4.5): one entry `name`.
//!
//! | off | field |
//! |---|---|
//! | [`STATE`] 0 | state: atomic u32, [`PENDING`] 0, [`COMPUTING`] 1, [`READY`] 2, [`ERROR`] 3 |
//! | [`WAITERS`] 4 | waiters: atomic u32 (informational) |
//! | [`COMPLETION_TIME`] 8 | completion_time: atomic u64, `CLOCK_MONOTONIC` ns |
//! | [`VALUE`] 16 | value: T |
//! | [`error_offset`] `16 + s` | error message, [`ERROR_MSG_LEN`] bytes, NUL-terminated |
//!
//! Entry size `align_up(16 + s + 256, max(8, a))` ([`entry_size`], C++);
//! the Python reference registers `16 + s + 256` ([`python_entry_size`]),
//! which the runtime also opens.
//!
//! ```
//! use zeroipc::format::{future, ElemLayout};
//! assert_eq!((future::STATE, future::WAITERS, future::COMPLETION_TIME, future::VALUE), (0, 4, 8, 16));
//! assert_eq!((future::PENDING, future::COMPUTING, future::READY, future::ERROR), (0, 1, 2, 3));
//! assert_eq!(future::entry_size(ElemLayout::of::<i32>()), Some(280));
//! ```

use super::elem::{align_up, max_u64, ElemLayout};

/// Offset of `state` (atomic u32).
pub const STATE: u64 = 0;
/// Offset of `waiters` (atomic u32).
pub const WAITERS: u64 = 4;
/// Offset of `completion_time` (atomic u64).
pub const COMPLETION_TIME: u64 = 8;
/// Offset of the value.
pub const VALUE: u64 = 16;
/// Bytes of the error message field (at most 255 bytes and a NUL).
pub const ERROR_MSG_LEN: u64 = 256;
/// State: no value yet.
pub const PENDING: u32 = 0;
/// State: a setter has claimed the future and is writing it.
pub const COMPUTING: u32 = 1;
/// State: the value is published.
pub const READY: u32 = 2;
/// State: the error message is published.
pub const ERROR: u32 = 3;

/// Offset of the error message: `16 + s`; `None` on overflow.
///
/// ```
/// use zeroipc::format::{future, ElemLayout};
/// assert_eq!(future::error_offset(ElemLayout::of::<[u8; 3]>()), Some(19));
/// ```
pub const fn error_offset(elem: ElemLayout) -> Option<u64> {
    VALUE.checked_add(elem.size())
}

/// Entry size the Python reference registers: `16 + s + 256`.
///
/// ```
/// use zeroipc::format::{future, ElemLayout};
/// assert_eq!(future::python_entry_size(ElemLayout::of::<i32>()), Some(276));
/// ```
pub const fn python_entry_size(elem: ElemLayout) -> Option<u64> {
    match error_offset(elem) {
        Some(e) => e.checked_add(ERROR_MSG_LEN),
        None => None,
    }
}

/// Entry size the runtime (and C++) creates: `align_up(16 + s + 256,
/// max(8, a))`; `None` on overflow.
///
/// ```
/// use zeroipc::format::{future, ElemLayout};
/// assert_eq!(future::entry_size(ElemLayout::of::<u8>()), Some(280));
/// assert_eq!(future::entry_size(ElemLayout::of::<[i32; 3]>()), Some(288));
/// ```
pub const fn entry_size(elem: ElemLayout) -> Option<u64> {
    match python_entry_size(elem) {
        Some(raw) => align_up(raw, max_u64(8, elem.align())),
        None => None,
    }
}
