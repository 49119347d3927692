//! `RwLock` (docs/FORMAT.md §3.10): entries, in creation order,
//! `name`[`STATE_SUFFIX`] ([`STATE_SIZE`] bytes), `name`[`RMTX_SUFFIX`] and
//! `name`[`WMTX_SUFFIX`] (two [`super::mutex`]es), then `name`, a
//! [`super::MARKER_SIZE`]-byte marker never read or written.
//!
//! | off in `_state` | field |
//! |---|---|
//! | [`READERS`] 0 | readers: atomic i32 |
//! | [`WRITER_ACTIVE`] 4 | writer_active: atomic i32, 0 or 1 |
//!
//! ```
//! use zeroipc::format::rwlock;
//! assert_eq!((rwlock::READERS, rwlock::WRITER_ACTIVE, rwlock::STATE_SIZE), (0, 4, 8));
//! assert_eq!((rwlock::STATE_SUFFIX, rwlock::RMTX_SUFFIX, rwlock::WMTX_SUFFIX), ("_state", "_rmtx", "_wmtx"));
//! ```

/// Suffix of the state entry.
pub const STATE_SUFFIX: &str = "_state";
/// Suffix of the reader mutex.
pub const RMTX_SUFFIX: &str = "_rmtx";
/// Suffix of the writer mutex.
pub const WMTX_SUFFIX: &str = "_wmtx";
/// Offset of `readers` in the state entry (atomic i32).
pub const READERS: u64 = 0;
/// Offset of `writer_active` in the state entry (atomic i32).
pub const WRITER_ACTIVE: u64 = 4;
/// Size of the state entry.
pub const STATE_SIZE: u64 = 8;
