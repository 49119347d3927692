//! The format catalogue: what every structure kind looks like in a segment,
//! in one place (docs/FORMAT.md §2-§4; entry sizes §10).
//!
//! For each of the 20 structure kinds, [`StructureKind`] gives its name,
//! how it takes element types ([`ElementUse`]), its creation parameters
//! ([`Param`]), the capacity the runtime stores for a request
//! ([`StructureKind::stored_capacity`]) and the table entries an instance
//! occupies, with their name suffixes in creation order and their sizes
//! ([`StructureKind::parts`]). One module per kind ([`queue`], [`map`],
//! [`event`], ...) names every header field offset and every state number
//! as a constant and holds the entry-size and stride formulas as `const
//! fn`s over an [`ElemLayout`] and a capacity, returning `None` on
//! overflow. [`table`] gives the segment table's layout. Offsets and sizes
//! are `u64` byte counts from the start of the entry (or of the segment,
//! for the table).
//!
//! ```
//! use zeroipc::format::{map, queue, ElemLayout, Shape, StructureKind};
//! // A Map<i64, i32> of 100 slots: one entry of 16 + 24 * 100 bytes.
//! let (k, v) = (ElemLayout::of::<i64>(), ElemLayout::of::<i32>());
//! assert_eq!(map::slot_layout(k, v).map(|s| s.stride), Some(24));
//! let parts = StructureKind::Map.parts(&Shape::key_value(k, v, 100))?;
//! assert_eq!((parts.len(), parts[0].size), (1, 16 + 24 * 100));
//! // Where a queue keeps its tail, and how big a Queue<u16> of 5 (stored 8) is.
//! assert_eq!(queue::TAIL, 4);
//! assert_eq!(queue::entry_size(queue::stored_capacity(5).unwrap(), ElemLayout::of::<u16>()), Some(64));
//! # Ok::<(), zeroipc::format::ShapeError>(())
//! ```
//!
//! # Why a module of the runtime crate, not a crate of its own
//!
//! Everything that needs the format already depends on `zeroipc`: the
//! runtime itself, the code `#[derive(ShmLayout)]` generates, the schema
//! compiler and its emitters, and the inspector. A separate crate would add
//! a publish step and a version to keep in lock-step with the runtime, for
//! no consumer that wants the format without the runtime. The module has
//! no dependency on the rest of the runtime beyond the layout model
//! ([`TypeLayout`], which [`ElemLayout::from_type_layout`] reads) and the
//! items it re-exports, so it could still be split out if such a consumer
//! ever appears.
//!
//! # Where the numbers come from, and what will move here
//!
//! Every number was taken from the runtime's structure modules
//! (`data/*.rs`, `sync/*.rs`, `codata/*.rs`: their private constants and
//! `size_for` functions) and cross-checked against the schema compiler's
//! copy (`zeroipc-gen/src/schema/kinds.rs`) and the inspector's
//! (`zeroipc-gen/src/inspect/decode.rs`); the unit tests here compare the
//! runtime's size functions with the catalogue, and the integration tests
//! `zeroipc/tests/format_catalogue.rs` (every kind created by the runtime)
//! and `tests/tests/format_parity.rs` (the schema compiler) compare the
//! rest. Those copies are to be replaced by this module (issue 14).
//!
//! The table's layout and its one validation routine live here
//! ([`table`]; `crate::table` re-exports them and turns the first problem
//! into the runtime's error), as does the self-description entry
//! ([`describe`]). The Map/Set key hash is [`map::KeyLayout`] (with
//! [`key_hash`] and [`murmur64a`]), FNV-1a is [`fnv1a64`] (both hashes are
//! implemented here, once), and
//! [`align_up`] is the one alignment helper.

mod elem;
mod hash;
mod kind;

pub mod array;
pub mod barrier;
pub mod channel;
pub mod describe;
pub mod event;
pub mod future;
pub mod latch;
pub mod lazy;
pub mod map;
pub mod monitor;
pub mod mutex;
pub mod once;
pub mod pool;
pub mod queue;
pub mod ring;
pub mod rwlock;
pub mod semaphore;
pub mod set;
pub mod signal;
pub mod stack;
pub mod stream;
pub mod table;
pub mod waiters;

#[cfg(test)]
mod tests;

pub use elem::{align_up, ElemLayout};
pub use kind::{ElementUse, Param, PartLayout, Parts, Shape, ShapeError, StructureKind};

pub use crate::hash::key_hash;
pub use crate::layout::TypeLayout;
pub use hash::{fnv1a64, fnv1a64_update, murmur64a, FNV1A_OFFSET_BASIS, FNV1A_PRIME};

/// Size of the 1-byte marker entry `name` that RwLock, Monitor and Signal
/// register last (its byte is never read or written).
///
/// ```
/// assert_eq!(zeroipc::format::MARKER_SIZE, 1);
/// ```
pub const MARKER_SIZE: u64 = 1;
