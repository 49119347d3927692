//! `Barrier` (docs/FORMAT.md §3.6): one entry `name` of [`SIZE`] bytes.
//!
//! | off | field |
//! |---|---|
//! | [`ARRIVED`] 0 | arrived: atomic i32 |
//! | [`GENERATION`] 4 | generation: atomic i32, wraps |
//! | [`PARTICIPANTS`] 8 | participants: i32, at least [`MIN_PARTICIPANTS`] |
//! | [`PADDING`] 12 | 0 |
//!
//! ```
//! use zeroipc::format::barrier;
//! assert_eq!((barrier::ARRIVED, barrier::GENERATION, barrier::PARTICIPANTS, barrier::SIZE), (0, 4, 8, 16));
//! ```

/// Offset of `arrived` (atomic i32).
pub const ARRIVED: u64 = 0;
/// Offset of `generation` (atomic i32).
pub const GENERATION: u64 = 4;
/// Offset of `participants` (i32).
pub const PARTICIPANTS: u64 = 8;
/// Offset of the padding word.
pub const PADDING: u64 = 12;
/// Entry size.
pub const SIZE: u64 = 16;
/// Fewest participants.
pub const MIN_PARTICIPANTS: i32 = 1;
