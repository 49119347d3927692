//! `Signal<T>` (docs/FORMAT.md §3.12): entries, in creation order,
//! `name`[`STATE_SUFFIX`] ([`state_size`] bytes), `name`[`MTX_SUFFIX`] (a
//! [`super::mutex`]), then `name`, a [`super::MARKER_SIZE`]-byte marker.
//!
//! | off in `_state` | field |
//! |---|---|
//! | [`VERSION`] 0 | version: atomic u64 |
//! | [`VALUE`] 8 | value: T |
//!
//! The state is `align8(8 + s)` bytes (C++); the Python reference registers
//! `8 + s` ([`python_state_size`]), which the runtime also opens.
//!
//! ```
//! use zeroipc::format::{signal, ElemLayout};
//! assert_eq!((signal::VERSION, signal::VALUE), (0, 8));
//! assert_eq!(signal::state_size(ElemLayout::of::<[u8; 3]>()), Some(16));
//! ```

use super::elem::{align_up, ElemLayout};

/// Suffix of the state entry.
pub const STATE_SUFFIX: &str = "_state";
/// Suffix of the mutex entry.
pub const MTX_SUFFIX: &str = "_mtx";
/// Offset of `version` in the state entry (atomic u64).
pub const VERSION: u64 = 0;
/// Offset of the value in the state entry.
pub const VALUE: u64 = 8;

/// Size of the state entry the runtime (and C++) creates: `align8(8 + s)`;
/// `None` on overflow.
///
/// ```
/// use zeroipc::format::{signal, ElemLayout};
/// assert_eq!(signal::state_size(ElemLayout::of::<f64>()), Some(16));
/// assert_eq!(signal::state_size(ElemLayout::of::<[u16; 3]>()), Some(16));
/// assert_eq!(signal::state_size(ElemLayout::of::<[u64; 2]>()), Some(24));
/// ```
pub const fn state_size(elem: ElemLayout) -> Option<u64> {
    match python_state_size(elem) {
        Some(raw) => align_up(raw, 8),
        None => None,
    }
}

/// Size of the state entry the Python reference creates: `8 + s`.
///
/// ```
/// use zeroipc::format::{signal, ElemLayout};
/// assert_eq!(signal::python_state_size(ElemLayout::of::<[u8; 3]>()), Some(11));
/// ```
pub const fn python_state_size(elem: ElemLayout) -> Option<u64> {
    VALUE.checked_add(elem.size())
}
