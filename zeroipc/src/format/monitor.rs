//! `Monitor` (docs/FORMAT.md §3.11): entries, in creation order,
//! `name`[`MTX_SUFFIX`] (a [`super::mutex`]), `name`[`COND_SUFFIX`] (a
//! [`super::semaphore`] created with count 0 and max_count 0),
//! `name`[`COUNT_SUFFIX`] ([`COUNT_SIZE`] bytes: the waiter count, atomic
//! u32 at [`WAITERS`]), then `name`, a [`super::MARKER_SIZE`]-byte marker.
//!
//! ```
//! use zeroipc::format::monitor;
//! assert_eq!((monitor::MTX_SUFFIX, monitor::COND_SUFFIX, monitor::COUNT_SUFFIX), ("_mtx", "_cond", "_count"));
//! assert_eq!((monitor::WAITERS, monitor::COUNT_SIZE), (0, 4));
//! ```

/// Suffix of the mutex entry.
pub const MTX_SUFFIX: &str = "_mtx";
/// Suffix of the condition semaphore.
pub const COND_SUFFIX: &str = "_cond";
/// Suffix of the waiter count.
pub const COUNT_SUFFIX: &str = "_count";
/// Offset of the waiter count in the `_count` entry (atomic u32).
pub const WAITERS: u64 = 0;
/// Size of the `_count` entry.
pub const COUNT_SIZE: u64 = 4;
