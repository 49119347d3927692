//! The table at offset 0 of every segment, as the runtime uses it: the
//! open-time checks turned into [`Error::CorruptTable`] and the check of a
//! new structure's name.
//!
//! The normative layout is docs/FORMAT.md §2; the offsets, types and the
//! one validation routine are [`crate::format::table`] (re-exported here
//! for existing users).

use crate::error::{Error, Result};
use crate::format::table as fmt;

pub use crate::format::table::{
    table_bytes, Entry, TableHeader, DEFAULT_MAX_ENTRIES, ENTRY_SIZE, HEADER_SIZE, MAGIC,
    MAX_NAME_LEN, NAME_FIELD, VERSION,
};

/// Bounds established when the segment was opened; cached and never re-read.
pub(crate) type Bounds = fmt::TableBounds;

fn corrupt(segment: &str, p: fmt::TableProblem) -> Error {
    Error::CorruptTable {
        segment: segment.to_owned(),
        check: p.check,
        detail: p.detail,
    }
}

/// The header checks of [`fmt::header_problems`] against the mapped
/// length: the bounds, or the first problem as the error.
pub(crate) fn validate_header(segment: &str, h: &TableHeader, mapped: u64) -> Result<Bounds> {
    fmt::bounds(h, mapped).map_err(|p| corrupt(segment, p))
}

/// The checks of [`fmt::entry_problems`] on entry `i` against the cached
/// bounds: the entry, or the first problem as the error.
pub(crate) fn validate_entry(
    segment: &str,
    bounds: &Bounds,
    i: u32,
    raw: &fmt::RawEntry,
) -> Result<Entry> {
    fmt::entry_problems(i, raw, bounds.data_start, bounds.memory_size).map_err(|ps| {
        let first = ps.into_iter().next().expect("an Err holds a problem");
        corrupt(segment, first)
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
