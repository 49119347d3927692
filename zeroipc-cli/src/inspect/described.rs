//! The self-description entry `__zeroipc_kinds` our runtime writes
//! (docs/FORMAT.md, "Self-describing segments"; layout in
//! `zeroipc::format::describe`): one record per structure with its kind,
//! element layouts and stored capacity. A structure recorded there is
//! never guessed: the classifier takes its kind and, where the recorded
//! fingerprint is a primitive's, its element type.

use super::decode::{Kind, Types};
use super::source::View;
use zeroipc::describe::Description;
use zeroipc::format::describe::{self, HEADER_SIZE, RECORD_SIZE};
use zeroipc::format::map::KeyLayout;
use zeroipc::format::{ElemLayout, StructureKind};
use zeroipc::layout::TypeLayout;

/// The entry's name.
pub const ENTRY: &str = describe::ENTRY_NAME;

/// The records of a self-description entry (structure name and record),
/// in order.
pub type Records = Vec<(String, Description)>;

/// The records of a self-description entry, in order, or what is wrong
/// with its header. A record that does not decode is returned as an error
/// line in the second list (the others are still used).
pub fn read_records(v: &View) -> Result<(Records, Vec<String>), String> {
    let head = v.bytes(0, HEADER_SIZE)?;
    let head: &[u8; HEADER_SIZE as usize] = head
        .as_slice()
        .try_into()
        .map_err(|_| format!("{ENTRY}: header of {} bytes", head.len()))?;
    let (count, _capacity) = describe::check_header(head, v.size)?;
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for i in 0..count {
        let bytes = v.bytes(describe::record_offset(i), RECORD_SIZE)?;
        let Ok(bytes) = <&[u8; RECORD_SIZE as usize]>::try_from(bytes.as_slice()) else {
            problems.push(format!("record {i}: {} bytes", bytes.len()));
            continue;
        };
        match describe::decode_record(bytes) {
            Ok(r) => records.push(r),
            Err(e) => problems.push(format!("record {i}: {e}")),
        }
    }
    Ok((records, problems))
}

/// The inspector's kind for a recorded structure (a Stream without an
/// element type is `Stream<void>`).
pub fn kind_of(d: &Description) -> Kind {
    if d.kind == StructureKind::Stream && d.elem.is_none() {
        Kind::StreamVoid
    } else {
        Kind::Structure(d.kind)
    }
}

/// The element types a record gives: a primitive when its fingerprint is
/// one; otherwise unknown (the decoders then show the recorded size).
pub fn types_of(d: &Description) -> Types {
    let prim = |layout: Option<ElemLayout>, fingerprint: Option<u64>| {
        layout.and_then(|l| prim_layout(l, fingerprint))
    };
    let elem = prim(d.elem, d.elem_fingerprint);
    let value = prim(d.value, d.value_fingerprint);
    let mut t = Types {
        source: "self-description",
        ..Types::default()
    };
    if d.kind == StructureKind::Map {
        t.key = elem;
        t.value = value;
    } else {
        t.elem = elem;
    }
    t
}

/// The primitive whose layout fingerprint is `fingerprint`, if any.
fn prim_layout(layout: ElemLayout, fingerprint: Option<u64>) -> Option<&'static TypeLayout> {
    KeyLayout::recorded(layout, fingerprint)
        .prim()
        .map(|p| p.layout())
}

/// One line describing a record (`queue of 8 x 4-byte elements`).
pub fn describe_record(name: &str, d: &Description) -> String {
    let layout =
        |l: Option<ElemLayout>| l.map(|l| format!("{}-byte/{}-aligned", l.size(), l.align()));
    let mut s = format!("{name}: {}", kind_of(d).name());
    match (layout(d.elem), layout(d.value)) {
        (Some(k), Some(v)) => s.push_str(&format!(" of {k} keys, {v} values")),
        (Some(e), None) => s.push_str(&format!(" of {e} elements")),
        _ => {}
    }
    if d.capacity > 0 {
        s.push_str(&format!(", capacity {}", d.capacity));
    }
    s
}
