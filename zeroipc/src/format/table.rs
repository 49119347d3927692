//! The table at offset 0 of every segment (FORMAT.md §2): header and entry
//! layout.
//!
//! The constants, types and helpers re-exported here still live in
//! [`crate::table`] (the runtime uses them there); this module is where
//! they are found, and where they will move. The byte offsets of the header
//! and entry fields are new here ([`header`], [`entry`]); the runtime's
//! private copies are checked against them by a unit test.
//!
//! ```
//! use zeroipc::format::table::{self, entry, header};
//! assert_eq!(table::MAGIC, 0x5A49_504D);
//! assert_eq!((table::HEADER_SIZE, table::ENTRY_SIZE), (32, 48));
//! assert_eq!(table::table_bytes(64), 32 + 48 * 64);
//! assert_eq!((header::MAGIC, header::VERSION, header::ENTRY_COUNT, header::MAX_ENTRIES), (0x00, 0x04, 0x08, 0x0C));
//! assert_eq!((header::MEMORY_SIZE, header::NEXT_OFFSET), (0x10, 0x18));
//! assert_eq!((entry::NAME, entry::OFFSET, entry::SIZE), (0x00, 0x20, 0x28));
//! ```

pub use crate::table::{
    align8, align_up, table_bytes, Entry, TableHeader, DEFAULT_MAX_ENTRIES, ENTRY_SIZE,
    HEADER_SIZE, MAGIC, MAX_NAME_LEN, NAME_FIELD, VERSION,
};

/// Byte offsets of the table header fields.
///
/// ```
/// assert_eq!(zeroipc::format::table::header::NEXT_OFFSET, 24);
/// ```
pub mod header {
    /// `magic`: u32, [`super::MAGIC`] (`"ZIPM"`).
    pub const MAGIC: u64 = 0x00;
    /// `version`: u32, [`super::VERSION`].
    pub const VERSION: u64 = 0x04;
    /// `entry_count`: atomic u32, entries in use (published with release).
    pub const ENTRY_COUNT: u64 = 0x08;
    /// `max_entries`: u32, entry slots.
    pub const MAX_ENTRIES: u64 = 0x0C;
    /// `memory_size`: u64, segment size.
    pub const MEMORY_SIZE: u64 = 0x10;
    /// `next_offset`: u64, end of the last allocation (unaligned).
    pub const NEXT_OFFSET: u64 = 0x18;
}

/// Byte offsets of the fields of one 48-byte table entry.
///
/// ```
/// assert_eq!(zeroipc::format::table::entry::SIZE, 40);
/// ```
pub mod entry {
    /// `name`: [`super::NAME_FIELD`] bytes, UTF-8, NUL-terminated.
    pub const NAME: u64 = 0x00;
    /// `offset`: u64 from the segment start, 8-aligned.
    pub const OFFSET: u64 = 0x20;
    /// `size`: u64, bytes as registered.
    pub const SIZE: u64 = 0x28;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table as rt;

    #[test]
    fn offsets_equal_the_runtime_copies() {
        assert_eq!(header::MAGIC, rt::OFF_MAGIC as u64);
        assert_eq!(header::VERSION, rt::OFF_VERSION as u64);
        assert_eq!(header::ENTRY_COUNT, rt::OFF_ENTRY_COUNT as u64);
        assert_eq!(header::MAX_ENTRIES, rt::OFF_MAX_ENTRIES as u64);
        assert_eq!(header::MEMORY_SIZE, rt::OFF_MEMORY_SIZE as u64);
        assert_eq!(header::NEXT_OFFSET, rt::OFF_NEXT_OFFSET as u64);
        assert_eq!(entry::OFFSET, rt::ENTRY_OFF_OFFSET as u64);
        assert_eq!(entry::SIZE, rt::ENTRY_OFF_SIZE as u64);
        assert_eq!(entry::OFFSET, NAME_FIELD as u64);
        assert_eq!(entry::SIZE + 8, ENTRY_SIZE);
        assert_eq!(header::NEXT_OFFSET + 8, HEADER_SIZE);
    }
}
