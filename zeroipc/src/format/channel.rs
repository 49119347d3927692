//! `Channel<T>` (docs/FORMAT.md §4.9): `name`[`HEADER_SUFFIX`] ([`HEADER_SIZE`]
//! bytes), then either `name`[`BUFFER_SUFFIX`], a [`super::queue`]
//! (buffered, capacity a power of two of at least 2), or
//! `name`[`SLOT_SUFFIX`], a rendezvous slot (unbuffered, capacity 0).
//!
//! | off in `_header` | field |
//! |---|---|
//! | [`CAPACITY`] 0 | capacity: atomic u32, 0 = unbuffered |
//! | [`SENDERS`] 4 | senders: atomic u32 |
//! | [`RECEIVERS`] 8 | receivers: atomic u32 |
//! | [`CLOSED`] 12 | closed: atomic u8, 0 or 1 |
//! | [`SEND_SEQ`] 16 | send_seq: atomic u64 (the runtime's unbuffered sender lock: even free, odd held) |
//! | [`RECV_SEQ`] 24 | recv_seq: atomic u64 |
//!
//! The slot is `{ready: atomic u8 @ [`SLOT_READY`]; consumed: atomic u8 @
//! [`SLOT_CONSUMED`]; T @ align_up(2, a)}` of `align_up(align_up(2, a) + s,
//! a)` bytes ([`slot_layout`]); `ready` is [`SLOT_EMPTY`] 0, [`SLOT_FULL`]
//! 1 or [`SLOT_CLAIMED`] 2 (a receiver's claim, written only by this
//! runtime).
//!
//! ```
//! use zeroipc::format::{channel, ElemLayout};
//! assert_eq!((channel::CAPACITY, channel::SENDERS, channel::RECEIVERS, channel::CLOSED, channel::SEND_SEQ, channel::RECV_SEQ), (0, 4, 8, 12, 16, 24));
//! assert_eq!(channel::stored_capacity(3), Some(4));
//! assert_eq!(channel::slot_layout(ElemLayout::of::<u64>()), Some(channel::SlotLayout { data: 8, size: 16 }));
//! ```

use super::elem::{align_up, ElemLayout};

/// Suffix of the header entry.
pub const HEADER_SUFFIX: &str = "_header";
/// Suffix of the queue of a buffered channel.
pub const BUFFER_SUFFIX: &str = "_buffer";
/// Suffix of the slot of an unbuffered channel.
pub const SLOT_SUFFIX: &str = "_slot";
/// Size of the header entry.
pub const HEADER_SIZE: u64 = 32;
/// Offset of `capacity` (atomic u32).
pub const CAPACITY: u64 = 0;
/// Offset of `senders` (atomic u32).
pub const SENDERS: u64 = 4;
/// Offset of `receivers` (atomic u32).
pub const RECEIVERS: u64 = 8;
/// Offset of `closed` (atomic u8).
pub const CLOSED: u64 = 12;
/// Offset of `send_seq` (atomic u64).
pub const SEND_SEQ: u64 = 16;
/// Offset of `recv_seq` (atomic u64).
pub const RECV_SEQ: u64 = 24;
/// Offset of the slot's `ready` flag (atomic u8).
pub const SLOT_READY: u64 = 0;
/// Offset of the slot's `consumed` flag (atomic u8).
pub const SLOT_CONSUMED: u64 = 1;
/// `ready`: no value in the slot.
pub const SLOT_EMPTY: u8 = 0;
/// `ready`: a value waits in the slot.
pub const SLOT_FULL: u8 = 1;
/// `ready`: a receiver of this runtime has claimed the value.
pub const SLOT_CLAIMED: u8 = 2;

/// The capacity a channel stores for a request: 0 (unbuffered) stays 0,
/// anything else is rounded as [`super::queue::stored_capacity`] does;
/// `None` when that refuses it.
///
/// ```
/// use zeroipc::format::channel::stored_capacity;
/// assert_eq!(stored_capacity(0), Some(0));
/// assert_eq!(stored_capacity(1), Some(2));
/// assert_eq!(stored_capacity(8), Some(8));
/// ```
pub const fn stored_capacity(requested: u64) -> Option<u64> {
    if requested == 0 {
        Some(0)
    } else {
        super::queue::stored_capacity(requested)
    }
}

/// Offsets of the unbuffered rendezvous slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotLayout {
    /// Offset of the value: `align_up(2, a)`.
    pub data: u64,
    /// Size of the `_slot` entry: `align_up(data + s, a)`.
    pub size: u64,
}

/// The slot layout for a value; `None` on overflow.
///
/// ```
/// use zeroipc::format::{channel, ElemLayout};
/// assert_eq!(channel::slot_layout(ElemLayout::of::<u8>()), Some(channel::SlotLayout { data: 2, size: 3 }));
/// assert_eq!(channel::slot_layout(ElemLayout::of::<[i32; 3]>()), Some(channel::SlotLayout { data: 4, size: 16 }));
/// ```
pub const fn slot_layout(elem: ElemLayout) -> Option<SlotLayout> {
    let Some(data) = align_up(2, elem.align()) else {
        return None;
    };
    let Some(end) = data.checked_add(elem.size()) else {
        return None;
    };
    match align_up(end, elem.align()) {
        Some(size) => Some(SlotLayout { data, size }),
        None => None,
    }
}

/// Size of the `_buffer` queue of a buffered channel of stored capacity
/// `capacity`; `None` on overflow.
///
/// ```
/// use zeroipc::format::{channel, ElemLayout};
/// assert_eq!(channel::buffer_size(4, ElemLayout::of::<u32>()), Some(16 + 16 + 16));
/// ```
pub const fn buffer_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    super::queue::entry_size(capacity, elem)
}
