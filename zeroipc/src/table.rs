//! The table at offset 0 of every segment (FORMAT.md §2): header layout,
//! open-time validation and entry encoding.
//!
//! All reads of the table go through [`crate::region`]'s volatile/atomic
//! accessors on the raw mapping; nothing here forms a reference to bytes
//! another process may write.

use crate::error::{Error, Result};

/// `"ZIPM"` as a little-endian u32.
pub const MAGIC: u32 = 0x5A49_504D;
/// The format version this crate implements.
pub const VERSION: u32 = 2;
/// Table slots when the caller does not choose.
pub const DEFAULT_MAX_ENTRIES: u32 = 64;
/// Size of the table header.
pub const HEADER_SIZE: u64 = 32;
/// Size of one table entry.
pub const ENTRY_SIZE: u64 = 48;
/// Bytes of an entry's name field (31 usable + NUL).
pub const NAME_FIELD: usize = 32;
/// Longest structure name, in bytes.
pub const MAX_NAME_LEN: usize = NAME_FIELD - 1;

pub(crate) const OFF_MAGIC: usize = 0x00;
pub(crate) const OFF_VERSION: usize = 0x04;
pub(crate) const OFF_ENTRY_COUNT: usize = 0x08;
pub(crate) const OFF_MAX_ENTRIES: usize = 0x0C;
pub(crate) const OFF_MEMORY_SIZE: usize = 0x10;
pub(crate) const OFF_NEXT_OFFSET: usize = 0x18;
pub(crate) const ENTRY_OFF_OFFSET: usize = 0x20;
pub(crate) const ENTRY_OFF_SIZE: usize = 0x28;

/// `align_up(n, 8)`.
pub const fn align8(n: u64) -> u64 {
    (n + 7) & !7
}

/// `align_up(n, a)` for a power-of-two `a`.
pub const fn align_up(n: usize, a: usize) -> usize {
    (n + a - 1) & !(a - 1)
}

/// Bytes a table of `max_entries` slots occupies (where the data area starts).
pub const fn table_bytes(max_entries: u32) -> u64 {
    HEADER_SIZE + ENTRY_SIZE * max_entries as u64
}

/// A snapshot of the table header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    /// Must be [`MAGIC`].
    pub magic: u32,
    /// Must be [`VERSION`].
    pub version: u32,
    /// Entries in use.
    pub entry_count: u32,
    /// Entry slots.
    pub max_entries: u32,
    /// Segment size recorded by the creator.
    pub memory_size: u64,
    /// End of the last allocation (unaligned).
    pub next_offset: u64,
}

/// One table entry, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Structure name.
    pub name: String,
    /// Offset of the structure from the segment start (8-aligned).
    pub offset: u64,
    /// Size in bytes as registered.
    pub size: u64,
}

/// Bounds established when the segment was opened; cached and never re-read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub max_entries: u32,
    pub memory_size: u64,
    pub data_start: u64,
}

fn corrupt(segment: &str, check: &'static str, detail: String) -> Error {
    Error::CorruptTable {
        segment: segment.to_owned(),
        check,
        detail,
    }
}

/// Every FORMAT.md §2 check on the header against the mapped length.
pub(crate) fn validate_header(segment: &str, h: &TableHeader, mapped: u64) -> Result<Bounds> {
    if h.magic != MAGIC {
        return Err(corrupt(
            segment,
            "magic",
            format!("found {:#010x}, expected {MAGIC:#010x}", h.magic),
        ));
    }
    if h.version != VERSION {
        return Err(corrupt(
            segment,
            "version",
            format!("found {}, expected {VERSION}", h.version),
        ));
    }
    if h.max_entries == 0 {
        return Err(corrupt(
            segment,
            "max_entries",
            "max_entries is 0".to_owned(),
        ));
    }
    let data_start = table_bytes(h.max_entries);
    if data_start > mapped {
        return Err(corrupt(
            segment,
            "table fits in segment",
            format!(
                "max_entries {} needs {data_start} bytes, segment is {mapped} bytes",
                h.max_entries
            ),
        ));
    }
    if h.memory_size > mapped {
        return Err(corrupt(
            segment,
            "memory_size within mapping",
            format!(
                "memory_size {} exceeds the segment's {mapped} bytes",
                h.memory_size
            ),
        ));
    }
    if h.memory_size < data_start {
        return Err(corrupt(
            segment,
            "memory_size holds the table",
            format!(
                "memory_size {} is below the table end {data_start}",
                h.memory_size
            ),
        ));
    }
    if h.entry_count > h.max_entries {
        return Err(corrupt(
            segment,
            "entry_count <= max_entries",
            format!(
                "entry_count {} exceeds max_entries {}",
                h.entry_count, h.max_entries
            ),
        ));
    }
    if h.next_offset > h.memory_size || h.next_offset < data_start {
        return Err(corrupt(
            segment,
            "next_offset within data area",
            format!(
                "next_offset {} outside [{data_start}, {}]",
                h.next_offset, h.memory_size
            ),
        ));
    }
    Ok(Bounds {
        max_entries: h.max_entries,
        memory_size: h.memory_size,
        data_start,
    })
}

/// Validates one raw entry (index `i`) against the cached bounds.
pub(crate) fn validate_entry(
    segment: &str,
    bounds: &Bounds,
    i: u32,
    name: &[u8; NAME_FIELD],
    offset: u64,
    size: u64,
) -> Result<Entry> {
    let Some(len) = name.iter().position(|&b| b == 0) else {
        return Err(corrupt(
            segment,
            "entry name terminated",
            format!("entry {i}: no NUL within the 32 name bytes"),
        ));
    };
    let name = std::str::from_utf8(&name[..len]).map_err(|e| {
        corrupt(
            segment,
            "entry name UTF-8",
            format!("entry {i}: {e} in {:?}", &name[..len]),
        )
    })?;
    if offset % 8 != 0 {
        return Err(corrupt(
            segment,
            "entry offset aligned",
            format!("entry {i} {name:?}: offset {offset} is not a multiple of 8"),
        ));
    }
    if offset < bounds.data_start {
        return Err(corrupt(
            segment,
            "entry offset in data area",
            format!(
                "entry {i} {name:?}: offset {offset} is inside the table (data starts at {})",
                bounds.data_start
            ),
        ));
    }
    match offset.checked_add(size) {
        Some(end) if end <= bounds.memory_size => {}
        _ => {
            return Err(corrupt(
                segment,
                "entry within segment",
                format!(
                    "entry {i} {name:?}: offset {offset} + size {size} exceeds memory_size {}",
                    bounds.memory_size
                ),
            ))
        }
    }
    Ok(Entry {
        name: name.to_owned(),
        offset,
        size,
    })
}

/// Checks a structure name before anything is allocated.
pub(crate) fn validate_structure_name(segment: &str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("empty".to_owned())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!(
            "{} bytes, at most {MAX_NAME_LEN} fit in a table entry",
            name.len()
        ))
    } else if name.as_bytes().contains(&0) {
        Some("contains a NUL byte".to_owned())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidStructureName {
            segment: segment.to_owned(),
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> TableHeader {
        TableHeader {
            magic: MAGIC,
            version: 2,
            entry_count: 0,
            max_entries: 16,
            memory_size: 8192,
            next_offset: table_bytes(16),
        }
    }

    #[test]
    fn header_checks_name_the_failure() {
        assert!(validate_header("s", &good(), 8192).is_ok());
        type Case = (fn(&mut TableHeader), &'static str);
        let cases: [Case; 7] = [
            (|h| h.magic = 1, "magic"),
            (|h| h.version = 3, "version"),
            (|h| h.max_entries = 0, "max_entries"),
            (|h| h.max_entries = u32::MAX, "table fits in segment"),
            (|h| h.memory_size = 9000, "memory_size within mapping"),
            (|h| h.entry_count = 17, "entry_count <= max_entries"),
            (|h| h.next_offset = 9000, "next_offset within data area"),
        ];
        for (mutate, want) in cases {
            let mut h = good();
            mutate(&mut h);
            match validate_header("s", &h, 8192) {
                Err(Error::CorruptTable { check, .. }) => assert_eq!(check, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}
