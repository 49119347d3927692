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

/// Checks a registry's header (its first [`HEADER_SIZE`] bytes,
/// little-endian) against the entry's size and offset, the way the runtime
/// does before using it (and the inspector before showing it): magic,
/// version, `slots` slots that fit in the entry, an 8-aligned offset.
/// Returns `slots`, or what is wrong with the values seen.
///
/// ```
/// use zeroipc::format::waiters::{check_header, MAGIC};
/// let mut h = [0u8; 16];
/// h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
/// h[4..8].copy_from_slice(&1u32.to_le_bytes());
/// h[8..12].copy_from_slice(&8u32.to_le_bytes());
/// assert_eq!(check_header(&h, 80, 2272), Ok(8));
/// assert!(check_header(&h, 79, 2272).unwrap_err().contains("8 slots need 80 bytes"));
/// assert!(check_header(&h, 80, 2276).unwrap_err().contains("not a multiple of 8"));
/// h[0] = b'X';
/// assert!(check_header(&h, 80, 2272).unwrap_err().contains("magic 0x57504958"));
/// ```
pub fn check_header(
    bytes: &[u8; HEADER_SIZE as usize],
    entry_len: u64,
    entry_offset: u64,
) -> Result<u32, String> {
    let word = |off: u64| {
        let o = off as usize;
        u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]])
    };
    let magic = word(header::MAGIC);
    if magic != MAGIC {
        return Err(format!(
            "magic {magic:#010x}, expected {MAGIC:#010x} (\"ZIPW\")"
        ));
    }
    let version = word(header::VERSION);
    if version != VERSION {
        return Err(format!(
            "version {version}, expected {VERSION} (the only version this runtime reads)"
        ));
    }
    let slots = word(header::SLOTS);
    let need = entry_size(slots).unwrap_or(u64::MAX);
    if need > entry_len {
        return Err(format!(
            "{slots} slots need {need} bytes, but the entry has {entry_len}"
        ));
    }
    if entry_offset % 8 != 0 {
        return Err(format!(
            "entry offset {entry_offset:#x} is not a multiple of 8"
        ));
    }
    Ok(slots)
}
