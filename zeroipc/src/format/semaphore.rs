//! `Semaphore` (docs/FORMAT.md §3.4): one entry `name` of [`SIZE`] bytes. Also the
//! word of a [`super::mutex`], the `_sem` of an [`super::event`] and the
//! `_cond` of a [`super::monitor`].
//!
//! | off | field |
//! |---|---|
//! | [`COUNT`] 0 | count: atomic i32, permits available |
//! | [`WAITING`] 4 | waiting: atomic i32, blocked acquirers |
//! | [`MAX_COUNT`] 8 | max_count: i32, [`UNBOUNDED`] (0) = no limit |
//! | [`PADDING`] 12 | 0 |
//!
//! ```
//! use zeroipc::format::semaphore;
//! assert_eq!((semaphore::COUNT, semaphore::WAITING, semaphore::MAX_COUNT, semaphore::SIZE), (0, 4, 8, 16));
//! assert_eq!(semaphore::UNBOUNDED, 0);
//! ```

/// Offset of `count` (atomic i32).
pub const COUNT: u64 = 0;
/// Offset of `waiting` (atomic i32).
pub const WAITING: u64 = 4;
/// Offset of `max_count` (i32).
pub const MAX_COUNT: u64 = 8;
/// Offset of the padding word.
pub const PADDING: u64 = 12;
/// Entry size.
pub const SIZE: u64 = 16;
/// The `max_count` of an unbounded semaphore.
pub const UNBOUNDED: i32 = 0;
