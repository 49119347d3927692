//! The waiter registry entry `__zeroipc_waiters` (our extension; the
//! normative layout is docs/FORMAT.md §12, the offsets are here).
//!
//! A segment created by this runtime with
//! [`SegmentOptions::wake_registry`](crate::SegmentOptions::wake_registry)
//! carries one extra table entry holding, for every table slot `i`, two
//! atomic u32 sleeper counts: how many of our processes are asleep (or about
//! to sleep) waiting for an item of the structure whose entry is slot `i`,
//! and how many are waiting for room in it. A producer that finds the item
//! count zero after its claim makes no system call; otherwise it wakes the
//! sleepers of the structure's own word (a queue's `tail`, a stack's `top`,
//! ...), so a blocked consumer wakes in microseconds instead of at its next
//! bounded poll. The structures' bytes do not change: the registry holds
//! only counts, and the futex words are the structures' own counters.
//!
//! Reference peers neither read nor write the entry (they ignore names they
//! do not open) and wake nobody, so every sleep stays bounded by
//! [`crate::wait::MAX_SLEEP`]. A segment without the entry (made by a
//! reference library, or with the option off) works as before: our waiters
//! fall back to bounded polling.
//!
//! ```
//! use zeroipc::format::waiters;
//! assert_eq!(waiters::ENTRY_NAME, "__zeroipc_waiters");
//! assert_eq!((waiters::HEADER_SIZE, waiters::SLOT_SIZE), (16, 8));
//! assert_eq!(waiters::entry_size(64), Some(16 + 8 * 64));
//! assert_eq!(waiters::slot_offset(3, waiters::Side::Room), 16 + 8 * 3 + 4);
//! ```

/// Table entry name of the waiter registry.
pub const ENTRY_NAME: &str = "__zeroipc_waiters";
/// `"ZIPW"` as a little-endian u32: the first word of the entry.
pub const MAGIC: u32 = 0x5750_495A;
/// Version of the layout this runtime writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the entry header.
pub const HEADER_SIZE: u64 = 16;
/// Bytes of one slot: two u32 counts.
pub const SLOT_SIZE: u64 = 8;

/// Byte offsets of the header fields (all u32).
///
/// ```
/// assert_eq!(zeroipc::format::waiters::header::SLOTS, 8);
/// ```
pub mod header {
    /// `magic`: [`super::MAGIC`].
    pub const MAGIC: u64 = 0;
    /// `version`: [`super::VERSION`].
    pub const VERSION: u64 = 4;
    /// `slots`: count slots, one per table slot (the table's `max_entries`).
    pub const SLOTS: u64 = 8;
    /// Reserved, 0.
    pub const RESERVED: u64 = 12;
}

/// Which of a slot's two counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Sleepers waiting for an item (woken by producers): offset 0 of the slot.
    Items,
    /// Sleepers waiting for room (woken by consumers): offset 4 of the slot.
    Room,
}

/// Entry size for `slots` count slots; `None` on overflow.
///
/// ```
/// assert_eq!(zeroipc::format::waiters::entry_size(0), Some(16));
/// ```
pub const fn entry_size(slots: u32) -> Option<u64> {
    match (slots as u64).checked_mul(SLOT_SIZE) {
        Some(b) => b.checked_add(HEADER_SIZE),
        None => None,
    }
}

/// Offset, from the entry start, of the `side` count of table slot `index`.
///
/// ```
/// use zeroipc::format::waiters::{slot_offset, Side};
/// assert_eq!(slot_offset(0, Side::Items), 16);
/// ```
pub const fn slot_offset(index: u32, side: Side) -> u64 {
    HEADER_SIZE
        + index as u64 * SLOT_SIZE
        + match side {
            Side::Items => 0,
            Side::Room => 4,
        }
}
