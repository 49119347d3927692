//! `Mutex` (docs/FORMAT.md §3.5): one entry `name`, a [`super::semaphore`] whose
//! `max_count` is [`MAX_COUNT_VALUE`] (1); count [`UNLOCKED`] 1 = free,
//! [`LOCKED`] 0 = held. Also the `_rmtx`/`_wmtx` of an [`super::rwlock`],
//! the `_mtx` of a [`super::monitor`] and of a [`super::signal`].
//!
//! ```
//! use zeroipc::format::{mutex, semaphore};
//! assert_eq!(mutex::SIZE, semaphore::SIZE);
//! assert_eq!((mutex::UNLOCKED, mutex::LOCKED, mutex::MAX_COUNT_VALUE), (1, 0, 1));
//! ```

pub use super::semaphore::{COUNT, MAX_COUNT, PADDING, SIZE, WAITING};

/// `count` of an unlocked mutex (its initial value).
pub const UNLOCKED: i32 = 1;
/// `count` of a locked mutex.
pub const LOCKED: i32 = 0;
/// The `max_count` every mutex stores (what tells it from a semaphore).
pub const MAX_COUNT_VALUE: i32 = 1;
