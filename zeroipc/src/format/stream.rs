//! `Stream<T>` and `Stream<void>` (docs/FORMAT.md §4.7, §4.8).
//!
//! A typed stream is two entries created together, `name`[`HEADER_SUFFIX`]
//! ([`HEADER_SIZE`] bytes) and `name`[`BUFFER_SUFFIX`], a [`super::ring`]
//! of `buffer_capacity` elements ([`buffer_size`]):
//!
//! | off in `_header` | field |
//! |---|---|
//! | [`SEQUENCE`] 0 | sequence: atomic u64, elements ever emitted |
//! | [`SUBSCRIBERS`] 8 | subscribers: atomic u32 |
//! | [`CLOSED`] 12 | closed: atomic u8, 0 or 1 |
//! | [`BUFFER_CAPACITY`] 16 | buffer_capacity: u32, elements |
//! | [`TRANSFORM`] 20 | transform name, [`TRANSFORM_LEN`] bytes, NUL-padded: one of [`TRANSFORMS`] |
//!
//! `Stream<void>` (no element type) is one entry `name` of [`VOID_SIZE`]
//! bytes: event count atomic u64 at [`VOID_EVENT_COUNT`], closed atomic u8
//! at [`VOID_CLOSED`].
//!
//! ```
//! use zeroipc::format::{stream, ElemLayout};
//! assert_eq!((stream::SEQUENCE, stream::SUBSCRIBERS, stream::CLOSED, stream::BUFFER_CAPACITY, stream::TRANSFORM), (0, 8, 12, 16, 20));
//! assert_eq!((stream::HEADER_SIZE, stream::VOID_SIZE), (56, 16));
//! assert_eq!(stream::buffer_size(8, ElemLayout::of::<i32>()), Some(24 + 32));
//! ```

use super::elem::ElemLayout;

/// Suffix of the header entry.
pub const HEADER_SUFFIX: &str = "_header";
/// Suffix of the ring buffer entry.
pub const BUFFER_SUFFIX: &str = "_buffer";
/// Size of the header entry.
pub const HEADER_SIZE: u64 = 56;
/// Offset of `sequence` (atomic u64).
pub const SEQUENCE: u64 = 0;
/// Offset of `subscribers` (atomic u32).
pub const SUBSCRIBERS: u64 = 8;
/// Offset of `closed` (atomic u8).
pub const CLOSED: u64 = 12;
/// Offset of `buffer_capacity` (u32, elements).
pub const BUFFER_CAPACITY: u64 = 16;
/// Offset of the transform name.
pub const TRANSFORM: u64 = 20;
/// Bytes of the transform name field.
pub const TRANSFORM_LEN: u64 = 32;
/// The transform names a header may hold (`""` for a source stream).
pub const TRANSFORMS: [&str; 5] = ["", "map", "filter", "take", "skip"];
/// Size of a `Stream<void>` entry.
pub const VOID_SIZE: u64 = 16;
/// Offset of a `Stream<void>`'s event count (atomic u64).
pub const VOID_EVENT_COUNT: u64 = 0;
/// Offset of a `Stream<void>`'s closed flag (atomic u8).
pub const VOID_CLOSED: u64 = 8;

/// Size of the `_buffer` entry for `capacity` elements: a ring's
/// `24 + capacity * s`; `None` on overflow.
///
/// ```
/// use zeroipc::format::{stream, ElemLayout};
/// assert_eq!(stream::buffer_size(3, ElemLayout::of::<[u64; 2]>()), Some(72));
/// ```
pub const fn buffer_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    super::ring::entry_size(capacity, elem)
}
