//! Which structure each table entry belongs to, and of what kind.
//!
//! In order: the `__schema` entry (certain kinds and types); the
//! `__zeroipc_kinds` self-description entry our runtime writes (certain
//! kinds, and types where a record's fingerprint is a primitive's); the
//! `__zeroipc_waiters` waiter registry (by its name, never guessed); composite
//! structures recognised by their entry names and sizes (`_header` +
//! `_buffer`/`_slot`, `_state`/`_rmtx`/`_wmtx` + 1-byte marker, `_mtx`/
//! `_cond`/`_count` + marker, `_state`/`_mtx` + marker, `name` + `_sem`),
//! confirmed by decoding them; then every remaining entry alone, by trying
//! each single-entry decoder on its header. A kind is *certain* when it
//! comes from the schema, from a complete composite, or from a unique match
//! of a self-describing header (queue, stack, map, set, pool, ring: the
//! header states the element size and the entry size must follow from it
//! exactly); anything else is a guess, printed with a `?`.

use super::decode::{decode, Ctx, Decoded, Kind, Types};
use super::described;
use super::schema;
use super::source::{EntryInfo, View};
use zeroipc::format::StructureKind as SK;

/// One structure: a kind and the entries it is made of.
#[derive(Debug)]
pub struct Structure {
    /// Base name (the composite's name, or the entry name).
    pub name: String,
    /// Best kind.
    pub kind: Kind,
    /// False when the kind is a guess.
    pub certain: bool,
    /// Other kinds the bytes also fit.
    pub alternatives: Vec<Kind>,
    /// Entries by role, in table order.
    pub parts: Vec<(&'static str, View)>,
    /// Table entries (same order as `parts`).
    pub entries: Vec<EntryInfo>,
    /// Known element types.
    pub types: Types,
    /// `"schema"`, `"names"` (composite), `"self-description"`,
    /// `"waiter-registry"` (the registry entry itself), `"header"`
    /// (single-entry guess), or `"option"` (--kind).
    pub basis: &'static str,
}

impl Structure {
    /// `queue` or `queue?`.
    pub fn kind_label(&self) -> String {
        format!(
            "{}{}",
            self.kind.name(),
            if self.certain { "" } else { "?" }
        )
    }

    /// Runs this structure's decoder.
    pub fn decode(&self, want: Option<super::decode::Want>, deep: bool) -> Result<Decoded, String> {
        decode(
            self.kind,
            &Ctx {
                parts: &self.parts,
                types: self.types,
                want,
                deep,
            },
        )
    }

    /// Offset of the first part.
    pub fn offset(&self) -> u64 {
        self.entries.iter().map(|e| e.offset).min().unwrap_or(0)
    }

    /// Sum of the parts' sizes.
    pub fn size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// Kinds tried on a single entry, strongest evidence first.
const SINGLE: [Kind; 15] = [
    Kind::Structure(SK::Queue),
    Kind::Structure(SK::Stack),
    Kind::Structure(SK::Ring),
    Kind::Structure(SK::Pool),
    Kind::Structure(SK::Map),
    Kind::Structure(SK::Set),
    Kind::Structure(SK::Lazy),
    Kind::Structure(SK::Future),
    Kind::Structure(SK::Mutex),
    Kind::Structure(SK::Latch),
    Kind::Structure(SK::Semaphore),
    Kind::Structure(SK::Barrier),
    Kind::StreamVoid,
    Kind::Structure(SK::Once),
    Kind::Structure(SK::Array),
];

/// Name fragments that hint at a kind (only used to order guesses).
fn name_hint(name: &str, k: Kind) -> bool {
    let n = name.to_ascii_lowercase();
    let has = |s: &[&str]| s.iter().any(|x| n.contains(x));
    match k {
        Kind::Structure(SK::Semaphore) => has(&["sem"]),
        Kind::Structure(SK::Mutex) => has(&["mtx", "mutex", "lock"]),
        Kind::Structure(SK::Barrier) => has(&["bar"]),
        Kind::Structure(SK::Latch) => has(&["latch"]),
        Kind::Structure(SK::Once) => has(&["once"]),
        Kind::Structure(SK::Future) => has(&["fut"]),
        Kind::Structure(SK::Lazy) => has(&["lazy", "lz"]),
        Kind::StreamVoid => has(&["stream", "events"]),
        Kind::Structure(SK::Array) => has(&["arr"]),
        _ => false,
    }
}

/// Tries every single-entry kind on `view`; best first.
pub fn guess_single(view: View, types: Types) -> Structure {
    let entry_name = view.name.clone();
    let parts = vec![("main", view)];
    let mut fits: Vec<(Kind, Decoded)> = Vec::new();
    if parts[0].1.size == 1 {
        fits.push((Kind::Marker, Decoded::default()));
    }
    for k in SINGLE {
        let ctx = Ctx {
            parts: &parts,
            types,
            want: None,
            deep: true,
        };
        if let Ok(d) = decode(k, &ctx) {
            fits.push((k, d));
        }
    }
    // Rank: no problems first; then a self-describing header that fits
    // exactly (its capacity and element size give the entry size) with a
    // consistent state, before any looser match: a future or lazy only
    // needs a small state word and a size, which a queue, map or ring
    // header often also provides. Among the looser matches a name hint
    // (`sem`, `bar`, ...) decides first, since their bytes are often
    // identical (a Barrier(2) is a Semaphore(0, 2)); then evidence (a
    // future's completion time, a lazy's operands), then the order above.
    let rank = |(k, d): &(Kind, Decoded)| {
        (
            !d.problems.is_empty(),
            !(k.self_describing() && d.problems.is_empty()),
            !name_hint(&entry_name, *k),
            -d.evidence,
            SINGLE.iter().position(|x| x == k).unwrap_or(0),
        )
    };
    fits.sort_by_key(rank);
    let (kind, certain, alternatives) = match fits.first() {
        None => (Kind::Unknown, false, Vec::new()),
        Some((k, d)) => {
            // Certain: a self-describing header, consistent state, and no
            // other self-describing kind that fits with a consistent state.
            let rivals = fits
                .iter()
                .filter(|(x, xd)| x.self_describing() && x != k && xd.problems.is_empty())
                .count();
            let certain =
                (k.self_describing() && d.problems.is_empty() && rivals == 0) || *k == Kind::Marker;
            let alternatives = fits
                .iter()
                .skip(1)
                .filter(|(_, x)| x.problems.is_empty() || !d.problems.is_empty())
                .map(|(k, _)| *k)
                .collect();
            (*k, certain, alternatives)
        }
    };
    let entries = vec![EntryInfo {
        index: 0,
        name: entry_name.clone(),
        offset: parts[0].1.offset,
        size: parts[0].1.size,
    }];
    Structure {
        name: entry_name,
        kind,
        certain,
        alternatives,
        parts,
        entries,
        types,
        basis: "header",
    }
}

/// A view source: the caller's image.
pub trait Views {
    /// A view of this entry.
    fn view(&self, e: &EntryInfo) -> Result<View, String>;
}

impl Views for super::source::Image {
    fn view(&self, e: &EntryInfo) -> Result<View, String> {
        super::source::Image::view(self, e).map_err(|c| c.message)
    }
}

/// What the classifier found, plus anything it could not use.
#[derive(Debug, Default)]
pub struct Classified {
    /// Structures recorded in the self-description entry, when present
    /// and readable.
    pub described: Option<usize>,
    /// Structures in table order of their first entry.
    pub structures: Vec<Structure>,
    /// The schema entry's header, when present and readable.
    pub schema: Option<schema::SchemaHeader>,
    /// Why the schema could not be used (kinds then guessed).
    pub schema_note: Option<String>,
    /// Problems found while classifying (schema mismatches).
    pub problems: Vec<(String, String)>,
    /// The `__zeroipc_waiters` registry, when the segment has one: its
    /// counts, or why its header is not one the runtime uses.
    pub waiters: Option<Result<super::waiters::Registry, String>>,
}

fn composite_from(
    kind: Kind,
    base: &str,
    entries: &[EntryInfo],
    taken: &[bool],
    src: &dyn Views,
    types: Types,
) -> Option<(Vec<usize>, Structure)> {
    let mut idx = Vec::new();
    let mut parts = Vec::new();
    let mut ents = Vec::new();
    for (role, name) in kind.part_names(base) {
        let Some(i) = entries.iter().position(|e| e.name == name) else {
            continue;
        };
        if taken[i] {
            return None;
        }
        idx.push(i);
        parts.push((role, src.view(&entries[i]).ok()?));
        ents.push(entries[i].clone());
    }
    let s = Structure {
        name: base.to_owned(),
        kind,
        certain: true,
        alternatives: Vec::new(),
        parts,
        entries: ents,
        types,
        basis: "names",
    };
    // Every role but one of the channel's buffer/slot must be present, and
    // the decoder must accept the whole.
    let roles = kind.part_names(base).len() - usize::from(kind == Kind::Structure(SK::Channel));
    if s.parts.len() != roles || s.decode(None, false).is_err() {
        return None;
    }
    Some((idx, s))
}

/// Classifies every entry of a segment.
pub fn classify(
    entries: &[EntryInfo],
    src: &dyn Views,
    named: Option<&schema::Named>,
) -> Classified {
    let mut out = Classified::default();
    let mut taken = vec![false; entries.len()];
    let mut found: Vec<(usize, Structure)> = Vec::new();

    // 1. The schema entry.
    if let Some(i) = entries.iter().position(|e| e.name == schema::ENTRY) {
        taken[i] = true;
        let view = src.view(&entries[i]);
        let hdr = view
            .as_ref()
            .map_err(Clone::clone)
            .and_then(schema::read_header);
        match hdr {
            Ok(h) => {
                if !h.consistent {
                    out.problems.push((
                        schema::ENTRY.to_owned(),
                        format!(
                            "stored fingerprint {:#018x} is not the FNV-1a 64 of the stored text",
                            h.fingerprint
                        ),
                    ));
                }
                match schema::structures(&h.text, named) {
                    Ok(list) => {
                        for s in list {
                            let hit =
                                composite_from(s.kind, &s.name, entries, &taken, src, s.types)
                                    .or_else(|| schema_single(&s, entries, &taken, src));
                            match hit {
                                Some((idx, mut st)) => {
                                    st.basis = "schema";
                                    for &j in &idx {
                                        taken[j] = true;
                                    }
                                    found.push((idx[0], st));
                                }
                                None => out.problems.push((
                                    s.name.clone(),
                                    format!(
                                        "the schema declares a {} {:?}, but its entries are missing or do not fit",
                                        s.kind.name(),
                                        s.name
                                    ),
                                )),
                            }
                        }
                    }
                    Err(e) => out.schema_note = Some(e),
                }
                out.schema = Some(h);
            }
            Err(e) => {
                out.problems.push((schema::ENTRY.to_owned(), e.clone()));
                out.schema_note = Some(e);
            }
        }
        if let Ok(v) = view {
            let kind = if out.schema.is_some() {
                Kind::Schema
            } else {
                Kind::Unknown
            };
            found.push((
                i,
                Structure {
                    name: entries[i].name.clone(),
                    kind,
                    certain: kind == Kind::Schema,
                    alternatives: Vec::new(),
                    parts: vec![("main", v)],
                    entries: vec![entries[i].clone()],
                    types: Types::default(),
                    basis: "names",
                },
            ));
        }
    }

    // 2. Structures the self-description entry records: never guessed.
    self_described(entries, src, &mut taken, &mut found, &mut out);
    waiter_registry(entries, src, &mut taken, &mut found, &mut out);

    // 3. Composites by name.
    for i in 0..entries.len() {
        if taken[i] {
            continue;
        }
        let e = &entries[i];
        let mut cands: Vec<(Kind, String)> = Vec::new();
        if let Some(base) = e.name.strip_suffix("_header") {
            cands.push((Kind::Structure(SK::Stream), base.to_owned()));
            cands.push((Kind::Structure(SK::Channel), base.to_owned()));
        }
        if let Some(base) = e.name.strip_suffix("_state") {
            cands.push((Kind::Structure(SK::RwLock), base.to_owned()));
            cands.push((Kind::Structure(SK::Signal), base.to_owned()));
        }
        if let Some(base) = e.name.strip_suffix("_mtx") {
            cands.push((Kind::Structure(SK::Monitor), base.to_owned()));
        }
        if e.size == zeroipc::format::event::SIZE {
            cands.push((Kind::Structure(SK::Event), e.name.clone()));
        }
        for (k, base) in cands {
            if let Some((idx, st)) =
                composite_from(k, &base, entries, &taken, src, Types::default())
            {
                for &j in &idx {
                    taken[j] = true;
                }
                found.push((idx[0], st));
                break;
            }
        }
    }

    // 4. Everything else alone.
    for (i, e) in entries.iter().enumerate() {
        if taken[i] {
            continue;
        }
        match src.view(e) {
            Ok(v) => {
                let mut s = guess_single(v, Types::default());
                s.entries[0] = e.clone();
                found.push((i, s));
            }
            Err(err) => out.problems.push((e.name.clone(), err)),
        }
    }
    found.sort_by_key(|(i, _)| *i);
    out.structures = found.into_iter().map(|(_, s)| s).collect();
    out
}

/// Step 2 of [`classify`]: the `__zeroipc_kinds` entry, and every
/// structure it records, with the recorded kind (certain, basis
/// `self-description`) and, where the record says, element types.
fn self_described(
    entries: &[EntryInfo],
    src: &dyn Views,
    taken: &mut [bool],
    found: &mut Vec<(usize, Structure)>,
    out: &mut Classified,
) {
    let Some(i) = entries.iter().position(|e| e.name == described::ENTRY) else {
        return;
    };
    taken[i] = true;
    let Ok(view) = src.view(&entries[i]) else {
        return;
    };
    let records = described::read_records(&view);
    found.push((
        i,
        Structure {
            name: entries[i].name.clone(),
            kind: Kind::SelfDescription,
            certain: records.is_ok(),
            alternatives: Vec::new(),
            parts: vec![("main", view)],
            entries: vec![entries[i].clone()],
            types: Types::default(),
            basis: "names",
        },
    ));
    let records = match records {
        Ok((records, _)) => records,
        Err(e) => {
            out.problems.push((described::ENTRY.to_owned(), e));
            return;
        }
    };
    out.described = Some(records.len());
    for (name, d) in records {
        let kind = described::kind_of(&d);
        let named_entries = kind.part_names(&name);
        let classified_already = entries
            .iter()
            .zip(taken.iter())
            .any(|(e, t)| *t && named_entries.iter().any(|(_, n)| *n == e.name));
        if classified_already {
            // The `__schema` entry named it (a generated segment that also
            // describes itself): the schema's types are richer.
            continue;
        }
        let types = described::types_of(&d);
        let single = SchemaStructureRef {
            name: &name,
            kind,
            types,
        };
        let hit = composite_from(kind, &name, entries, taken, src, types)
            .or_else(|| single_entry(&single, entries, taken, src));
        match hit {
            Some((idx, mut st)) => {
                st.basis = "self-description";
                for &j in &idx {
                    taken[j] = true;
                }
                found.push((idx[0], st));
            }
            None => out.problems.push((
                name.clone(),
                format!(
                    "{} records a {} {name:?}, but its entries are missing or do not fit",
                    described::ENTRY,
                    kind.name()
                ),
            )),
        }
    }
}

/// Step 2b of [`classify`]: the `__zeroipc_waiters` entry, taken as our
/// extension by its name (certain, basis `waiter-registry`), never guessed
/// as a structure; a damaged header shows as its decoding error.
fn waiter_registry(
    entries: &[EntryInfo],
    src: &dyn Views,
    taken: &mut [bool],
    found: &mut Vec<(usize, Structure)>,
    out: &mut Classified,
) {
    let Some(i) = entries.iter().position(|e| e.name == super::waiters::ENTRY) else {
        return;
    };
    taken[i] = true;
    match src.view(&entries[i]) {
        Ok(view) => {
            out.waiters = Some(super::waiters::read(&view));
            found.push((
                i,
                Structure {
                    name: entries[i].name.clone(),
                    kind: Kind::WaiterRegistry,
                    certain: true,
                    alternatives: Vec::new(),
                    parts: vec![("main", view)],
                    entries: vec![entries[i].clone()],
                    types: Types::default(),
                    basis: "waiter-registry",
                },
            ));
        }
        Err(e) => {
            out.waiters = Some(Err(e.clone()));
            out.problems.push((entries[i].name.clone(), e));
        }
    }
}

/// A structure a schema or a self-description record names.
struct SchemaStructureRef<'a> {
    name: &'a str,
    kind: Kind,
    types: Types,
}

/// A single-entry structure named by a schema or a record, taken as
/// stated even when its bytes do not decode (the decoder then reports
/// why).
fn single_entry(
    s: &SchemaStructureRef,
    entries: &[EntryInfo],
    taken: &[bool],
    src: &dyn Views,
) -> Option<(Vec<usize>, Structure)> {
    let i = entries.iter().position(|e| e.name == s.name)?;
    if taken[i] || s.kind.part_names(s.name).len() != 1 {
        return None;
    }
    let v = src.view(&entries[i]).ok()?;
    Some((
        vec![i],
        Structure {
            name: s.name.to_owned(),
            kind: s.kind,
            certain: true,
            alternatives: Vec::new(),
            parts: vec![("main", v)],
            entries: vec![entries[i].clone()],
            types: s.types,
            basis: "schema",
        },
    ))
}

fn schema_single(
    s: &schema::SchemaStructure,
    entries: &[EntryInfo],
    taken: &[bool],
    src: &dyn Views,
) -> Option<(Vec<usize>, Structure)> {
    let r = SchemaStructureRef {
        name: &s.name,
        kind: s.kind,
        types: s.types,
    };
    single_entry(&r, entries, taken, src)
}

/// Rebuilds a structure with a kind forced by the user (`--kind`), using
/// the composite naming of that kind when it has several entries.
pub fn force_kind(
    kind: Kind,
    base: &str,
    entries: &[EntryInfo],
    src: &dyn Views,
    types: Types,
) -> Result<Structure, String> {
    let mut parts = Vec::new();
    let mut ents = Vec::new();
    for (role, name) in kind.part_names(base) {
        if let Some(e) = entries.iter().find(|e| e.name == name) {
            parts.push((role, src.view(e)?));
            ents.push(e.clone());
        }
    }
    if parts.is_empty() {
        return Err(format!("no entry for a {} named {base:?}", kind.name()));
    }
    Ok(Structure {
        name: base.to_owned(),
        kind,
        certain: true,
        alternatives: Vec::new(),
        parts,
        entries: ents,
        types,
        basis: "option",
    })
}
