//! `Lazy<T>`, the C++ reference's generic layout (docs/FORMAT.md §4.6):
//! one entry `name`. `T` is an integer or float
//! primitive (the runtime's `Arithmetic`; the schema compiler checks the
//! same).
//!
//! With `s`, `a` the value's size and alignment and `A = max(4, a)`:
//!
//! | off | field |
//! |---|---|
//! | [`STATE`] 0 | state: atomic u32, [`NOT_COMPUTED`] 0, [`COMPUTING`] 1, [`COMPUTED`] 2, [`ERROR`] 3 |
//! | `op_type` = `align_up(4, A)` | operation: u32, [`OP_CONSTANT`] 0 ... [`OP_EXTERNAL`] 5 |
//! | `data` = `op_type + align_up(4, A)` | operand a (and the constant) |
//! | `data_b` = `data + s` | operand b |
//! | `cached` | the computed value, after the operation record (size `align_up(4, A) + align_up(max(2s, 8), A)`) aligned to `a` |
//! | `error` = `cached + s` | error message, 256 bytes |
//! | `compute_count` = `align_up(error + 256, 4)` | atomic u32 |
//!
//! Entry size `align_up(compute_count + 4, A)`; see [`layout`].
//!
//! ```
//! use zeroipc::format::{lazy, ElemLayout};
//! assert_eq!((lazy::NOT_COMPUTED, lazy::COMPUTING, lazy::COMPUTED, lazy::ERROR), (0, 1, 2, 3));
//! assert_eq!((lazy::OP_CONSTANT, lazy::OP_ADD, lazy::OP_MULTIPLY, lazy::OP_NEGATE, lazy::OP_CHAIN, lazy::OP_EXTERNAL), (0, 1, 2, 3, 4, 5));
//! assert_eq!(lazy::entry_size(ElemLayout::of::<f64>()), Some(304));
//! ```

use super::elem::{align_up, max_u64, ElemLayout};

/// Offset of `state` (atomic u32).
pub const STATE: u64 = 0;
/// Bytes of the error message field.
pub const ERROR_MSG_LEN: u64 = 256;
/// State: not computed yet.
pub const NOT_COMPUTED: u32 = 0;
/// State: a process is computing it.
pub const COMPUTING: u32 = 1;
/// State: `cached` holds the value.
pub const COMPUTED: u32 = 2;
/// State: computing failed; the message is stored.
pub const ERROR: u32 = 3;
/// Operation: a constant (operand a).
pub const OP_CONSTANT: u32 = 0;
/// Operation: a + b.
pub const OP_ADD: u32 = 1;
/// Operation: a * b.
pub const OP_MULTIPLY: u32 = 2;
/// Operation: -a.
pub const OP_NEGATE: u32 = 3;
/// Operation: C++ CHAIN (never computable).
pub const OP_CHAIN: u32 = 4;
/// Operation: C++ EXTERNAL (never computable).
pub const OP_EXTERNAL: u32 = 5;

/// Field offsets of a `Lazy<T>` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LazyLayout {
    /// Offset of the operation type (u32).
    pub op_type: u64,
    /// Offset of operand a (also the constant).
    pub data: u64,
    /// Offset of operand b.
    pub data_b: u64,
    /// Offset of the cached value.
    pub cached: u64,
    /// Offset of the error message.
    pub error: u64,
    /// Offset of `compute_count` (atomic u32).
    pub compute_count: u64,
    /// Entry size.
    pub total: u64,
}

/// The C++ `Lazy<T>::Header` offsets for a value layout; `None` on overflow.
///
/// ```
/// use zeroipc::format::{lazy, ElemLayout};
/// let l = lazy::layout(ElemLayout::of::<i32>()).unwrap();
/// assert_eq!((l.op_type, l.data, l.data_b, l.cached, l.error, l.compute_count, l.total), (4, 8, 12, 16, 20, 276, 280));
/// let l = lazy::layout(ElemLayout::of::<f64>()).unwrap();
/// assert_eq!((l.op_type, l.data, l.data_b, l.cached, l.error, l.compute_count, l.total), (8, 16, 24, 32, 40, 296, 304));
/// ```
pub const fn layout(elem: ElemLayout) -> Option<LazyLayout> {
    let (s, a) = (elem.size(), elem.align());
    let big_a = max_u64(4, a);
    // `big_a` is a power of two of at most 2^63, so these cannot fail; the
    // checks keep the function total anyway.
    let Some(op_type) = align_up(4, big_a) else {
        return None;
    };
    let data_rel = op_type; // the union follows the u32 type inside the record
    let Some(two_s) = s.checked_mul(2) else {
        return None;
    };
    let Some(union_size) = align_up(max_u64(two_s, 8), big_a) else {
        return None;
    };
    let Some(op_size) = checked_align_sum(data_rel, union_size, big_a) else {
        return None;
    };
    let Some(cached) = checked_align_sum(op_type, op_size, a) else {
        return None;
    };
    let Some(error) = cached.checked_add(s) else {
        return None;
    };
    let Some(compute_count) = checked_align_sum(error, ERROR_MSG_LEN, 4) else {
        return None;
    };
    let Some(total) = checked_align_sum(compute_count, 4, big_a) else {
        return None;
    };
    Some(LazyLayout {
        op_type,
        data: op_type + data_rel,
        data_b: op_type + data_rel + s,
        cached,
        error,
        compute_count,
        total,
    })
}

/// `align_up(x + y, a)`, `None` on overflow.
const fn checked_align_sum(x: u64, y: u64, a: u64) -> Option<u64> {
    match x.checked_add(y) {
        Some(sum) => align_up(sum, a),
        None => None,
    }
}

/// Entry size of a `Lazy<T>`; `None` on overflow.
///
/// ```
/// use zeroipc::format::{lazy, ElemLayout};
/// assert_eq!(lazy::entry_size(ElemLayout::of::<i16>()), Some(280));
/// ```
pub const fn entry_size(elem: ElemLayout) -> Option<u64> {
    match layout(elem) {
        Some(l) => Some(l.total),
        None => None,
    }
}
