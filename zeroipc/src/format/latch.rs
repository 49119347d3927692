//! `Latch` (docs/FORMAT.md §3.7): one entry `name` of [`SIZE`] bytes.
//!
//! | off | field |
//! |---|---|
//! | [`COUNT`] 0 | count: atomic i32, open at 0 |
//! | [`INITIAL`] 4 | initial: i32, at least 0 |
//! | [`PADDING`] 8 | 8 bytes, 0 |
//!
//! ```
//! use zeroipc::format::latch;
//! assert_eq!((latch::COUNT, latch::INITIAL, latch::PADDING, latch::SIZE), (0, 4, 8, 16));
//! ```

/// Offset of `count` (atomic i32).
pub const COUNT: u64 = 0;
/// Offset of `initial` (i32).
pub const INITIAL: u64 = 4;
/// Offset of the 8 padding bytes.
pub const PADDING: u64 = 8;
/// Entry size.
pub const SIZE: u64 = 16;
