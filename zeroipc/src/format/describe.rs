//! The self-description entry `__zeroipc_kinds` (our extension; the normative
//! layout is docs/FORMAT.md §11, the offsets are here).
//!
//! A segment created by this runtime with
//! [`SegmentOptions::self_describing`](crate::SegmentOptions::self_describing)
//! carries one extra table entry, registered first, holding one fixed-size
//! record per structure created through
//! [`Segment::register_described`](crate::Segment::register_described): its
//! name, [`StructureKind`], element layouts (and `TypeLayout` fingerprints
//! when known) and stored capacity. Records are appended under the table
//! lock and published by a release store of the record count, before the
//! structure's table entries are published. Reference peers see an unknown
//! entry and ignore it.
//!
//! ```
//! use zeroipc::format::describe::{self, header, record};
//! use zeroipc::format::{ElemLayout, StructureKind};
//! use zeroipc::describe::Description;
//! assert_eq!(describe::ENTRY_NAME, "__zeroipc_kinds");
//! assert_eq!((describe::HEADER_SIZE, describe::RECORD_SIZE), (32, 96));
//! assert_eq!((header::COUNT, record::KIND), (0x08, 0x20));
//! // 63 records for a table of 64 slots (the entry itself takes one slot).
//! assert_eq!(describe::capacity_for(64), 63);
//! assert_eq!(describe::entry_size(63), Some(32 + 96 * 63));
//! // A record round-trips through its bytes.
//! let d = Description::of::<u32>(StructureKind::Queue, 8);
//! let bytes = describe::encode_record("jobs", &d).unwrap();
//! assert_eq!(describe::decode_record(&bytes), Ok(("jobs".to_owned(), d)));
//! ```

use super::elem::ElemLayout;
use super::kind::StructureKind;
use super::table::NAME_FIELD;
use crate::describe::Description;

/// Table entry name of the self-description.
pub const ENTRY_NAME: &str = "__zeroipc_kinds";
/// `"ZIPK"` as a little-endian u32: the first word of the entry.
pub const MAGIC: u32 = 0x4B50_495A;
/// Version of the record layout this runtime writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the entry header.
pub const HEADER_SIZE: u64 = 32;
/// Bytes of one record.
pub const RECORD_SIZE: u64 = 96;

/// Byte offsets of the header fields (all u32).
///
/// ```
/// assert_eq!(zeroipc::format::describe::header::RECORD_SIZE, 0x10);
/// ```
pub mod header {
    /// `magic`: [`super::MAGIC`].
    pub const MAGIC: u64 = 0x00;
    /// `version`: [`super::VERSION`].
    pub const VERSION: u64 = 0x04;
    /// `count`: records in use; an atomic u32 stored with release under
    /// the table lock, loaded with acquire by readers.
    pub const COUNT: u64 = 0x08;
    /// `capacity`: record slots.
    pub const CAPACITY: u64 = 0x0C;
    /// `record_size`: [`super::RECORD_SIZE`] (lets a later version grow
    /// records). Bytes 0x14..0x20 are reserved, zero.
    pub const RECORD_SIZE: u64 = 0x10;
}

/// Byte offsets of the fields of one record, from the record's start.
///
/// ```
/// assert_eq!(zeroipc::format::describe::record::VALUE_FINGERPRINT, 0x58);
/// ```
pub mod record {
    /// `name`: [`super::NAME_FIELD`] bytes, UTF-8, NUL-terminated: the
    /// structure's name as the user gave it (without part suffixes).
    pub const NAME: u64 = 0x00;
    /// `kind`: u32, [`super::kind_code`].
    pub const KIND: u64 = 0x20;
    /// `flags`: u32, which optional fields are set ([`super::flags`]).
    pub const FLAGS: u64 = 0x24;
    /// `capacity`: u64, the stored capacity (0 for kinds without one).
    pub const CAPACITY: u64 = 0x28;
    /// `elem_size`: u64, element (or key) size.
    pub const ELEM_SIZE: u64 = 0x30;
    /// `elem_align`: u64, element (or key) alignment.
    pub const ELEM_ALIGN: u64 = 0x38;
    /// `elem_fingerprint`: u64, `TypeLayout::fingerprint` of the element.
    pub const ELEM_FINGERPRINT: u64 = 0x40;
    /// `value_size`: u64 (Map only).
    pub const VALUE_SIZE: u64 = 0x48;
    /// `value_align`: u64 (Map only).
    pub const VALUE_ALIGN: u64 = 0x50;
    /// `value_fingerprint`: u64 (Map only).
    pub const VALUE_FINGERPRINT: u64 = 0x58;
}

/// Bits of a record's `flags` word. Unknown bits are refused on decode.
///
/// ```
/// assert_eq!(zeroipc::format::describe::flags::ALL, 0x0F);
/// ```
pub mod flags {
    /// `elem_size`/`elem_align` hold a layout.
    pub const ELEM: u32 = 1 << 0;
    /// `value_size`/`value_align` hold a layout.
    pub const VALUE: u32 = 1 << 1;
    /// `elem_fingerprint` is known.
    pub const ELEM_FINGERPRINT: u32 = 1 << 2;
    /// `value_fingerprint` is known.
    pub const VALUE_FINGERPRINT: u32 = 1 << 3;
    /// Every defined bit.
    pub const ALL: u32 = ELEM | VALUE | ELEM_FINGERPRINT | VALUE_FINGERPRINT;
}

/// The stable code of a kind in a record: 1 + its position in
/// [`StructureKind::ALL`] (0 is never written).
///
/// ```
/// use zeroipc::format::{describe, StructureKind};
/// assert_eq!(describe::kind_code(StructureKind::Array), 1);
/// assert_eq!(describe::kind_code(StructureKind::Channel), 20);
/// assert_eq!(describe::kind_from_code(20), Some(StructureKind::Channel));
/// assert_eq!(describe::kind_from_code(0), None);
/// ```
pub const fn kind_code(kind: StructureKind) -> u32 {
    let mut i = 0;
    while i < StructureKind::ALL.len() {
        if StructureKind::ALL[i] as u32 == kind as u32 {
            return i as u32 + 1;
        }
        i += 1;
    }
    0 // unreachable: ALL lists every kind (a unit test checks)
}

/// The kind of a record's `kind` code, if the code is defined.
pub fn kind_from_code(code: u32) -> Option<StructureKind> {
    let i = usize::try_from(code).ok()?.checked_sub(1)?;
    StructureKind::ALL.get(i).copied()
}

/// Record slots the runtime gives a table of `max_entries` slots: one per
/// other table slot, as every described structure takes at least one.
pub const fn capacity_for(max_entries: u32) -> u32 {
    max_entries.saturating_sub(1)
}

/// Bytes of an entry holding `capacity` records.
pub const fn entry_size(capacity: u32) -> Option<u64> {
    match RECORD_SIZE.checked_mul(capacity as u64) {
        Some(records) => records.checked_add(HEADER_SIZE),
        None => None,
    }
}

/// Byte offset of record `i` from the entry start.
pub const fn record_offset(i: u32) -> u64 {
    HEADER_SIZE + RECORD_SIZE * i as u64
}

/// Checks a header (the first [`HEADER_SIZE`] bytes of an entry of
/// `entry_len` bytes) and returns `(count, capacity)`, or what is wrong.
///
/// ```
/// use zeroipc::format::describe::{self, header};
/// let mut h = [0u8; 32];
/// h[0..4].copy_from_slice(&describe::MAGIC.to_le_bytes());
/// h[4..8].copy_from_slice(&describe::VERSION.to_le_bytes());
/// h[8..12].copy_from_slice(&2u32.to_le_bytes()); // count
/// h[12..16].copy_from_slice(&3u32.to_le_bytes()); // capacity
/// h[16..20].copy_from_slice(&(describe::RECORD_SIZE as u32).to_le_bytes());
/// assert_eq!(describe::check_header(&h, describe::entry_size(3).unwrap()), Ok((2, 3)));
/// assert!(describe::check_header(&h, 100).unwrap_err().contains("capacity 3"));
/// ```
pub fn check_header(
    bytes: &[u8; HEADER_SIZE as usize],
    entry_len: u64,
) -> Result<(u32, u32), String> {
    let word = |off: u64| {
        let o = off as usize;
        u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]])
    };
    let (magic, version) = (word(header::MAGIC), word(header::VERSION));
    let (count, capacity) = (word(header::COUNT), word(header::CAPACITY));
    let record_size = word(header::RECORD_SIZE);
    if magic != MAGIC {
        return Err(format!("magic {magic:#010x}, expected {MAGIC:#010x}"));
    }
    if version != VERSION {
        return Err(format!("version {version}, expected {VERSION}"));
    }
    if u64::from(record_size) != RECORD_SIZE {
        return Err(format!("record size {record_size}, expected {RECORD_SIZE}"));
    }
    match entry_size(capacity) {
        Some(need) if need <= entry_len => {}
        _ => {
            return Err(format!(
                "capacity {capacity} records do not fit the entry's {entry_len} bytes"
            ))
        }
    }
    if count > capacity {
        return Err(format!("count {count} exceeds capacity {capacity}"));
    }
    Ok((count, capacity))
}

/// The bytes of a record for the structure `name`, or why it cannot be
/// stored (a name that does not fit the name field).
pub fn encode_record(name: &str, d: &Description) -> Result<[u8; RECORD_SIZE as usize], String> {
    if name.is_empty() || name.len() >= NAME_FIELD || name.as_bytes().contains(&0) {
        return Err(format!(
            "structure name {name:?} cannot be recorded (1..={} bytes, no NUL)",
            NAME_FIELD - 1
        ));
    }
    let mut r = [0u8; RECORD_SIZE as usize];
    r[..name.len()].copy_from_slice(name.as_bytes());
    let mut put =
        |off: u64, bytes: &[u8]| r[off as usize..off as usize + bytes.len()].copy_from_slice(bytes);
    let mut bits = 0;
    put(record::KIND, &kind_code(d.kind).to_le_bytes());
    put(record::CAPACITY, &d.capacity.to_le_bytes());
    if let Some(e) = d.elem {
        bits |= flags::ELEM;
        put(record::ELEM_SIZE, &e.size().to_le_bytes());
        put(record::ELEM_ALIGN, &e.align().to_le_bytes());
    }
    if let Some(v) = d.value {
        bits |= flags::VALUE;
        put(record::VALUE_SIZE, &v.size().to_le_bytes());
        put(record::VALUE_ALIGN, &v.align().to_le_bytes());
    }
    if let Some(f) = d.elem_fingerprint {
        bits |= flags::ELEM_FINGERPRINT;
        put(record::ELEM_FINGERPRINT, &f.to_le_bytes());
    }
    if let Some(f) = d.value_fingerprint {
        bits |= flags::VALUE_FINGERPRINT;
        put(record::VALUE_FINGERPRINT, &f.to_le_bytes());
    }
    put(record::FLAGS, &bits.to_le_bytes());
    Ok(r)
}

/// The name of a record, if its name field is well formed (for lookups
/// that must not fail on an unrelated bad record).
pub fn record_name(bytes: &[u8; RECORD_SIZE as usize]) -> Option<&str> {
    let field = &bytes[..NAME_FIELD];
    let len = field.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&field[..len]).ok()
}

/// The structure name and description a record holds, or what is wrong
/// with it (every value seen is named).
pub fn decode_record(bytes: &[u8; RECORD_SIZE as usize]) -> Result<(String, Description), String> {
    let u32_at = |off: u64| {
        let o = off as usize;
        u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]])
    };
    let u64_at = |off: u64| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[off as usize..off as usize + 8]);
        u64::from_le_bytes(w)
    };
    let name = record_name(bytes)
        .ok_or_else(|| "name field is not NUL-terminated UTF-8".to_owned())?
        .to_owned();
    let code = u32_at(record::KIND);
    let kind =
        kind_from_code(code).ok_or_else(|| format!("record {name:?}: unknown kind code {code}"))?;
    let bits = u32_at(record::FLAGS);
    if bits & !flags::ALL != 0 {
        return Err(format!("record {name:?}: unknown flags {bits:#x}"));
    }
    let layout = |flag: u32, size_off: u64, align_off: u64, what: &str| {
        if bits & flag == 0 {
            return Ok(None);
        }
        let (size, align) = (u64_at(size_off), u64_at(align_off));
        ElemLayout::new(size, align).map(Some).ok_or_else(|| {
            format!("record {name:?}: {what} size {size} align {align} is not a layout")
        })
    };
    let elem = layout(
        flags::ELEM,
        record::ELEM_SIZE,
        record::ELEM_ALIGN,
        "element",
    )?;
    let value = layout(
        flags::VALUE,
        record::VALUE_SIZE,
        record::VALUE_ALIGN,
        "value",
    )?;
    let fingerprint = |flag: u32, off: u64| (bits & flag != 0).then(|| u64_at(off));
    let d = Description {
        kind,
        elem,
        value,
        elem_fingerprint: fingerprint(flags::ELEM_FINGERPRINT, record::ELEM_FINGERPRINT),
        value_fingerprint: fingerprint(flags::VALUE_FINGERPRINT, record::VALUE_FINGERPRINT),
        capacity: u64_at(record::CAPACITY),
    };
    Ok((name, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_code_that_round_trips() {
        for (i, k) in StructureKind::ALL.into_iter().enumerate() {
            assert_eq!(kind_code(k), i as u32 + 1);
            assert_eq!(kind_from_code(kind_code(k)), Some(k));
        }
        assert_eq!(kind_from_code(21), None);
        assert_eq!(kind_from_code(u32::MAX), None);
    }

    #[test]
    fn record_fields_fit_and_do_not_overlap() {
        let fields = [
            (record::NAME, NAME_FIELD as u64),
            (record::KIND, 4),
            (record::FLAGS, 4),
            (record::CAPACITY, 8),
            (record::ELEM_SIZE, 8),
            (record::ELEM_ALIGN, 8),
            (record::ELEM_FINGERPRINT, 8),
            (record::VALUE_SIZE, 8),
            (record::VALUE_ALIGN, 8),
            (record::VALUE_FINGERPRINT, 8),
        ];
        let mut end = 0;
        for (off, len) in fields {
            assert_eq!(off, end, "fields are contiguous");
            assert_eq!(off % len.min(8), 0, "field at {off} aligned");
            end = off + len;
        }
        assert_eq!(end, RECORD_SIZE);
        assert_eq!(HEADER_SIZE % 8, 0);
    }

    #[test]
    fn map_record_round_trips_with_fingerprints() {
        let d = Description::key_value::<u64, [u8; 24]>(128);
        let bytes = encode_record("index", &d).unwrap();
        assert_eq!(decode_record(&bytes), Ok(("index".to_owned(), d)));
        let void = Description::new(StructureKind::Stream);
        let bytes = encode_record("ticks", &void).unwrap();
        assert_eq!(decode_record(&bytes).unwrap().1, void);
    }

    #[test]
    fn bad_records_name_what_is_wrong() {
        let d = Description::of::<u32>(StructureKind::Array, 4);
        let mut bytes = encode_record("a", &d).unwrap();
        bytes[record::KIND as usize] = 99;
        assert!(decode_record(&bytes).unwrap_err().contains("kind code 99"));
        let mut bytes = encode_record("a", &d).unwrap();
        bytes[record::ELEM_ALIGN as usize] = 3;
        assert!(decode_record(&bytes).unwrap_err().contains("align 3"));
        let mut bytes = encode_record("a", &d).unwrap();
        bytes[record::FLAGS as usize] |= 0x80;
        assert!(decode_record(&bytes).unwrap_err().contains("flags"));
        let mut bytes = encode_record("a", &d).unwrap();
        bytes[..NAME_FIELD].fill(b'x');
        assert!(decode_record(&bytes).unwrap_err().contains("NUL"));
        assert!(encode_record(&"n".repeat(32), &d).is_err());
        assert!(encode_record("", &d).is_err());
    }
}
