//! The table at offset 0 of every segment: header and entry layout, and the
//! one validation routine (the normative layout is docs/FORMAT.md §2).
//!
//! The runtime ([`crate::Segment::open`], lookups) and the inspector check a
//! table with the same code: [`header_problems`] and [`entry_problems`] hold
//! every check of §2.6 that makes a segment unusable (the runtime refuses the
//! segment on the first, [`TableProblem::level`] [`Level::Invalid`]), and
//! [`validate`] runs them all over a header and its entries and adds the
//! consistency checks a reader can tolerate ([`Level::Inconsistent`]: names
//! unique and not empty, entries disjoint and below `next_offset`),
//! collecting every problem.
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

/// Bytes a table of `max_entries` slots occupies (where the data area starts).
///
/// ```
/// assert_eq!(zeroipc::format::table::table_bytes(1), 80);
/// ```
pub const fn table_bytes(max_entries: u32) -> u64 {
    HEADER_SIZE + ENTRY_SIZE * max_entries as u64
}

/// Byte offset of table entry `i`.
pub const fn entry_offset(i: u32) -> u64 {
    table_bytes(i)
}

fn u32_at(b: &[u8], off: u64) -> u32 {
    let o = off as usize;
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], off: u64) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off as usize..off as usize + 8]);
    u64::from_le_bytes(w)
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

impl TableHeader {
    /// The header encoded in its [`HEADER_SIZE`] bytes.
    ///
    /// ```
    /// use zeroipc::format::table::{TableHeader, MAGIC};
    /// let mut b = [0u8; 32];
    /// b[..4].copy_from_slice(&MAGIC.to_le_bytes());
    /// b[0x18..].copy_from_slice(&3104u64.to_le_bytes());
    /// let h = TableHeader::from_bytes(&b);
    /// assert_eq!((h.magic, h.next_offset), (MAGIC, 3104));
    /// ```
    pub fn from_bytes(b: &[u8; HEADER_SIZE as usize]) -> TableHeader {
        TableHeader {
            magic: u32_at(b, header::MAGIC),
            version: u32_at(b, header::VERSION),
            entry_count: u32_at(b, header::ENTRY_COUNT),
            max_entries: u32_at(b, header::MAX_ENTRIES),
            memory_size: u64_at(b, header::MEMORY_SIZE),
            next_offset: u64_at(b, header::NEXT_OFFSET),
        }
    }
}

/// One table entry as stored, not yet validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry {
    /// The name field.
    pub name: [u8; NAME_FIELD],
    /// Offset from the segment start.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl RawEntry {
    /// The entry encoded in its [`ENTRY_SIZE`] bytes.
    pub fn from_bytes(b: &[u8; ENTRY_SIZE as usize]) -> RawEntry {
        let mut name = [0u8; NAME_FIELD];
        name.copy_from_slice(&b[..NAME_FIELD]);
        RawEntry {
            name,
            offset: u64_at(b, entry::OFFSET),
            size: u64_at(b, entry::SIZE),
        }
    }
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

/// What a valid header establishes: the bounds every entry is checked
/// against (cached by the runtime on open and never re-read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableBounds {
    /// Entry slots.
    pub max_entries: u32,
    /// Allocation bound (the header's `memory_size`, within the file).
    pub memory_size: u64,
    /// Where the data area starts ([`table_bytes`]).
    pub data_start: u64,
}

/// How bad a [`TableProblem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// A §2.6 check: the runtime refuses the segment (or the entry).
    Invalid,
    /// A consistency check a reader can live with (the runtime does not
    /// look): the inspector reports it.
    Inconsistent,
}

/// One thing wrong with a table: the check that failed (the names the
/// runtime's [`crate::Error::CorruptTable`] uses) and the values seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableProblem {
    /// The check that failed (`"magic"`, `"entry offset aligned"` ...).
    pub check: &'static str,
    /// The values seen (entry problems start with `entry <i>`).
    pub detail: String,
    /// Whether the runtime refuses it.
    pub level: Level,
}

impl std::fmt::Display for TableProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed ({})", self.check, self.detail)
    }
}

fn invalid(check: &'static str, detail: String) -> TableProblem {
    TableProblem {
        check,
        detail,
        level: Level::Invalid,
    }
}

fn inconsistent(check: &'static str, detail: String) -> TableProblem {
    TableProblem {
        check,
        detail,
        level: Level::Inconsistent,
    }
}

/// Every header check against the file's length `file_len`, in the order
/// the runtime applies them (all [`Level::Invalid`]); a wrong magic ends the
/// list (nothing else is meaningful then).
///
/// ```
/// use zeroipc::format::table::{header_problems, table_bytes, TableHeader, MAGIC};
/// let h = TableHeader { magic: MAGIC, version: 3, entry_count: 0, max_entries: 16,
///                       memory_size: 9000, next_offset: table_bytes(16) };
/// let checks: Vec<&str> = header_problems(&h, 8192).iter().map(|p| p.check).collect();
/// assert_eq!(checks, ["version", "memory_size within mapping"]);
/// ```
pub fn header_problems(h: &TableHeader, file_len: u64) -> Vec<TableProblem> {
    let mut out = Vec::new();
    if h.magic != MAGIC {
        let detail = format!("found {:#010x}, expected {MAGIC:#010x}", h.magic);
        return vec![invalid("magic", detail)];
    }
    if h.version != VERSION {
        let detail = format!("found {}, expected {VERSION}", h.version);
        out.push(invalid("version", detail));
    }
    let data_start = table_bytes(h.max_entries);
    if h.max_entries == 0 {
        out.push(invalid("max_entries", "max_entries is 0".to_owned()));
    } else if data_start > file_len {
        out.push(invalid(
            "table fits in segment",
            format!(
                "max_entries {} needs {data_start} bytes, segment is {file_len} bytes",
                h.max_entries
            ),
        ));
    }
    if h.memory_size > file_len {
        out.push(invalid(
            "memory_size within mapping",
            format!(
                "memory_size {} exceeds the segment's {file_len} bytes",
                h.memory_size
            ),
        ));
    }
    if h.memory_size < data_start {
        out.push(invalid(
            "memory_size holds the table",
            format!(
                "memory_size {} is below the table end {data_start}",
                h.memory_size
            ),
        ));
    }
    if h.entry_count > h.max_entries {
        out.push(invalid(
            "entry_count <= max_entries",
            format!(
                "entry_count {} exceeds max_entries {}",
                h.entry_count, h.max_entries
            ),
        ));
    }
    if h.next_offset > h.memory_size || h.next_offset < data_start {
        out.push(invalid(
            "next_offset within data area",
            format!(
                "next_offset {} outside [{data_start}, {}]",
                h.next_offset, h.memory_size
            ),
        ));
    }
    out
}

/// The bounds of a header with no problem, or its first problem (what the
/// runtime's open reports).
///
/// ```
/// use zeroipc::format::table::{bounds, table_bytes, TableHeader, MAGIC};
/// let h = TableHeader { magic: MAGIC, version: 2, entry_count: 0, max_entries: 16,
///                       memory_size: 8192, next_offset: table_bytes(16) };
/// assert_eq!(bounds(&h, 8192).unwrap().data_start, 800);
/// assert_eq!(bounds(&h, 4096).unwrap_err().check, "memory_size within mapping");
/// ```
pub fn bounds(h: &TableHeader, file_len: u64) -> Result<TableBounds, TableProblem> {
    match header_problems(h, file_len).into_iter().next() {
        Some(p) => Err(p),
        None => Ok(TableBounds {
            max_entries: h.max_entries,
            memory_size: h.memory_size,
            data_start: table_bytes(h.max_entries),
        }),
    }
}

/// Every §2.6 check of entry `i` against the data area `[data_start,
/// end)` (all [`Level::Invalid`]): the validated entry, or its problems.
///
/// ```
/// use zeroipc::format::table::{entry_problems, RawEntry};
/// let mut name = [0u8; 32];
/// name[..2].copy_from_slice(b"ab");
/// let ok = RawEntry { name, offset: 800, size: 16 };
/// assert_eq!(entry_problems(0, &ok, 800, 8192).unwrap().name, "ab");
/// let bad = RawEntry { name, offset: 4, size: 16 };
/// let checks: Vec<&str> = entry_problems(1, &bad, 800, 8192).unwrap_err().iter().map(|p| p.check).collect();
/// assert_eq!(checks, ["entry offset aligned", "entry offset in data area"]);
/// ```
pub fn entry_problems(
    i: u32,
    raw: &RawEntry,
    data_start: u64,
    end: u64,
) -> Result<Entry, Vec<TableProblem>> {
    let Some(len) = raw.name.iter().position(|&b| b == 0) else {
        let detail = format!("entry {i}: no NUL within the 32 name bytes");
        return Err(vec![invalid("entry name terminated", detail)]);
    };
    let name = match std::str::from_utf8(&raw.name[..len]) {
        Ok(n) => n,
        Err(e) => {
            let detail = format!("entry {i}: {e} in {:?}", &raw.name[..len]);
            return Err(vec![invalid("entry name UTF-8", detail)]);
        }
    };
    let (offset, size) = (raw.offset, raw.size);
    let mut out = Vec::new();
    if offset % 8 != 0 {
        out.push(invalid(
            "entry offset aligned",
            format!("entry {i} {name:?}: offset {offset} is not a multiple of 8"),
        ));
    }
    if offset < data_start {
        out.push(invalid(
            "entry offset in data area",
            format!(
                "entry {i} {name:?}: offset {offset} is inside the table (data starts at {data_start})"
            ),
        ));
    }
    if offset.checked_add(size).is_none_or(|e| e > end) {
        out.push(invalid(
            "entry within segment",
            format!("entry {i} {name:?}: offset {offset} + size {size} exceeds memory_size {end}"),
        ));
    }
    if !out.is_empty() {
        return Err(out);
    }
    Ok(Entry {
        name: name.to_owned(),
        offset,
        size,
    })
}

/// Everything [`validate`] found: every problem, and the entries that
/// passed their own checks (with their index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// Every problem, header first, then per entry, then overlaps.
    pub problems: Vec<TableProblem>,
    /// `(index, entry)` of each entry with no [`Level::Invalid`] problem.
    pub entries: Vec<(u32, Entry)>,
}

/// Every check of a table: the header's ([`header_problems`]), each of
/// `entries`' ([`entry_problems`], against `min(memory_size, file_len)`),
/// and the consistency checks (names not empty and unique, each entry
/// below `next_offset`, entries disjoint). Entries are not checked when the
/// table itself does not fit (`max_entries` 0 or beyond the file) or the
/// magic is wrong.
///
/// ```
/// use zeroipc::format::table::{validate, Level, RawEntry, TableHeader, MAGIC, table_bytes};
/// let h = TableHeader { magic: MAGIC, version: 2, entry_count: 2, max_entries: 4,
///                       memory_size: 4096, next_offset: 320 };
/// let mut name = [0u8; 32];
/// name[0] = b'a';
/// let a = RawEntry { name, offset: table_bytes(4), size: 64 };
/// let report = validate(&h, &[a, a], 4096);
/// let found: Vec<(&str, Level)> = report.problems.iter().map(|p| (p.check, p.level)).collect();
/// assert_eq!(found, [("entry names unique", Level::Inconsistent), ("entries disjoint", Level::Inconsistent)]);
/// assert_eq!(report.entries.len(), 2);
/// ```
pub fn validate(h: &TableHeader, entries: &[RawEntry], file_len: u64) -> TableReport {
    let mut report = TableReport {
        problems: header_problems(h, file_len),
        entries: Vec::new(),
    };
    let data_start = table_bytes(h.max_entries);
    if h.magic != MAGIC || h.max_entries == 0 || data_start > file_len {
        return report;
    }
    let end = h.memory_size.min(file_len);
    let mut seen: Vec<&str> = Vec::new();
    for (i, raw) in entries.iter().enumerate() {
        let i = i as u32;
        let name = valid_name(raw);
        let out = &mut report.problems;
        if name == Some("") {
            out.push(inconsistent("entry name", format!("entry {i}: empty name")));
        }
        match entry_problems(i, raw, data_start, end) {
            Ok(e) => {
                let stop = e.offset + e.size; // no overflow: checked above
                if stop > h.next_offset {
                    out.push(inconsistent(
                        "entry below next_offset",
                        format!(
                            "entry {i} {:?}: ends at {stop}, after next_offset {}",
                            e.name, h.next_offset
                        ),
                    ));
                }
                report.entries.push((i, e));
            }
            Err(ps) => out.extend(ps),
        }
        if let Some(name) = name {
            if seen.contains(&name) {
                out.push(inconsistent(
                    "entry names unique",
                    format!("entry {i} {name:?}: an earlier entry has the same name"),
                ));
            }
            seen.push(name);
        }
    }
    overlaps(&report.entries, &mut report.problems);
    report
}

/// [`validate`] over a whole segment image (`bytes` = the file): reads the
/// header and `min(entry_count, max_entries)` entries (as many as the file
/// holds).
///
/// ```
/// use zeroipc::format::table::validate_bytes;
/// let report = validate_bytes(&[0u8; 16]);
/// assert_eq!(report.problems[0].check, "header fits");
/// ```
pub fn validate_bytes(bytes: &[u8]) -> TableReport {
    let len = bytes.len() as u64;
    let Some(head) = bytes.first_chunk::<{ HEADER_SIZE as usize }>() else {
        let detail = if len == 0 {
            "empty file (0 bytes)".to_owned()
        } else {
            format!("segment is {len} bytes, the header needs {HEADER_SIZE}")
        };
        return TableReport {
            problems: vec![invalid("header fits", detail)],
            entries: Vec::new(),
        };
    };
    let h = TableHeader::from_bytes(head);
    let fit = (len - HEADER_SIZE) / ENTRY_SIZE;
    let n = u64::from(h.entry_count.min(h.max_entries)).min(fit) as usize;
    let entries: Vec<RawEntry> = bytes[HEADER_SIZE as usize..]
        .chunks_exact(ENTRY_SIZE as usize)
        .take(n)
        .map(|c| RawEntry::from_bytes(c.try_into().expect("chunks_exact")))
        .collect();
    validate(&h, &entries, len)
}

fn valid_name(raw: &RawEntry) -> Option<&str> {
    let len = raw.name.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&raw.name[..len]).ok()
}

/// Entries never overlap (allocation only moves forward).
fn overlaps(entries: &[(u32, Entry)], out: &mut Vec<TableProblem>) {
    let mut sorted: Vec<&(u32, Entry)> = entries.iter().collect();
    sorted.sort_by_key(|(i, e)| (e.offset, *i));
    for w in sorted.windows(2) {
        let ((ia, a), (ib, b)) = (w[0], w[1]);
        if a.offset + a.size > b.offset && a.size > 0 && b.size > 0 {
            out.push(inconsistent(
                "entries disjoint",
                format!(
                    "entry {ia} {:?} [{}, {}) overlaps entry {ib} {:?} [{}, {})",
                    a.name,
                    a.offset,
                    a.offset + a.size,
                    b.name,
                    b.offset,
                    b.offset + b.size
                ),
            ));
        }
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

    fn raw(name: &str, offset: u64, size: u64) -> RawEntry {
        let mut field = [0u8; NAME_FIELD];
        field[..name.len()].copy_from_slice(name.as_bytes());
        RawEntry {
            name: field,
            offset,
            size,
        }
    }

    #[test]
    fn layout_constants_agree() {
        assert_eq!(entry::OFFSET, NAME_FIELD as u64);
        assert_eq!(entry::SIZE + 8, ENTRY_SIZE);
        assert_eq!(header::NEXT_OFFSET + 8, HEADER_SIZE);
        assert_eq!(entry_offset(2), HEADER_SIZE + 2 * ENTRY_SIZE);
    }

    #[test]
    fn every_header_problem_is_collected_in_order() {
        let mut h = good();
        h.version = 9;
        h.memory_size = 100;
        h.entry_count = 20;
        let checks: Vec<&str> = header_problems(&h, 8192).iter().map(|p| p.check).collect();
        assert_eq!(
            checks,
            [
                "version",
                "memory_size holds the table",
                "entry_count <= max_entries",
                "next_offset within data area"
            ]
        );
        assert_eq!(bounds(&h, 8192).unwrap_err().check, "version");
        h.magic = 0;
        assert_eq!(header_problems(&h, 8192).len(), 1, "magic ends the list");
    }

    #[test]
    fn validate_collects_entry_and_consistency_problems() {
        let mut h = good();
        let d = table_bytes(16);
        h.next_offset = d + 64;
        let entries = [
            raw("a", d, 32),
            raw("b", d + 3, 8),     // misaligned
            raw("a", d + 16, 64),   // past next_offset, duplicate, overlaps a
            raw("", d + 200, 9000), // empty name, beyond the segment
        ];
        let report = validate(&h, &entries, 8192);
        let found: Vec<(&str, Level)> =
            report.problems.iter().map(|p| (p.check, p.level)).collect();
        assert_eq!(
            found,
            [
                ("entry offset aligned", Level::Invalid),
                ("entry below next_offset", Level::Inconsistent),
                ("entry names unique", Level::Inconsistent),
                ("entry name", Level::Inconsistent),
                ("entry within segment", Level::Invalid),
                ("entries disjoint", Level::Inconsistent),
            ]
        );
        let ok: Vec<u32> = report.entries.iter().map(|(i, _)| *i).collect();
        assert_eq!(ok, [0, 2]);
        assert!(report.problems[1].detail.contains("ends at 880"));
    }

    #[test]
    fn validate_bytes_reads_a_real_image() {
        let mut img = vec![0u8; 4096];
        let d = table_bytes(4);
        let words: [(u64, &[u8]); 6] = [
            (header::MAGIC, &MAGIC.to_le_bytes()),
            (header::VERSION, &VERSION.to_le_bytes()),
            (header::ENTRY_COUNT, &1u32.to_le_bytes()),
            (header::MAX_ENTRIES, &4u32.to_le_bytes()),
            (header::MEMORY_SIZE, &4096u64.to_le_bytes()),
            (header::NEXT_OFFSET, &(d + 8).to_le_bytes()),
        ];
        for (off, b) in words {
            img[off as usize..off as usize + b.len()].copy_from_slice(b);
        }
        let e = HEADER_SIZE as usize;
        img[e] = b'x';
        img[e + 32..e + 40].copy_from_slice(&d.to_le_bytes());
        img[e + 40..e + 48].copy_from_slice(&8u64.to_le_bytes());
        let report = validate_bytes(&img);
        assert_eq!(report.problems, []);
        assert_eq!(report.entries[0].1.name, "x");
        img[e + 32] = 1; // offset d + 1
        let report = validate_bytes(&img);
        assert_eq!(report.problems[0].check, "entry offset aligned");
    }
}
