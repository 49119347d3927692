//! `Once` (docs/FORMAT.md §3.8): one entry `name` of [`SIZE`] bytes, the state word
//! at [`STATE`]: [`PENDING`] 0, [`RUNNING`] 1, [`DONE`] 2.
//!
//! ```
//! use zeroipc::format::once;
//! assert_eq!((once::STATE, once::SIZE), (0, 4));
//! assert_eq!((once::PENDING, once::RUNNING, once::DONE), (0, 1, 2));
//! ```

/// Offset of `state` (atomic u32).
pub const STATE: u64 = 0;
/// Entry size.
pub const SIZE: u64 = 4;
/// State: not run yet.
pub const PENDING: u32 = 0;
/// State: a process is running the closure.
pub const RUNNING: u32 = 1;
/// State: done.
pub const DONE: u32 = 2;
