//! `Event` (docs/FORMAT.md §3.9): entries `name` ([`SIZE`] bytes) then
//! `name`[`SEM_SUFFIX`] (a [`super::semaphore`] created with count 0 and
//! max_count 0).
//!
//! | off | field |
//! |---|---|
//! | [`SIGNALED`] 0 | signaled: atomic u32 |
//! | [`MODE`] 4 | mode: u32, [`AUTO_RESET`] 0 or [`MANUAL_RESET`] 1 |
//! | [`WAITING`] 8 | waiting: atomic u32 |
//!
//! ```
//! use zeroipc::format::event;
//! assert_eq!((event::SIGNALED, event::MODE, event::WAITING, event::SIZE), (0, 4, 8, 12));
//! assert_eq!((event::AUTO_RESET, event::MANUAL_RESET), (0, 1));
//! assert_eq!((event::SEM_SUFFIX, event::SEM_SIZE), ("_sem", 16));
//! ```

/// Offset of `signaled` (atomic u32).
pub const SIGNALED: u64 = 0;
/// Offset of `mode` (u32).
pub const MODE: u64 = 4;
/// Offset of `waiting` (atomic u32).
pub const WAITING: u64 = 8;
/// Size of the `name` entry.
pub const SIZE: u64 = 12;
/// Mode: each signal releases one waiter.
pub const AUTO_RESET: u32 = 0;
/// Mode: a signal releases every waiter until reset.
pub const MANUAL_RESET: u32 = 1;
/// Suffix of the semaphore entry.
pub const SEM_SUFFIX: &str = "_sem";
/// Size of the semaphore entry.
pub const SEM_SIZE: u64 = super::semaphore::SIZE;
