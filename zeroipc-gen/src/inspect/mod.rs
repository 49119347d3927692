//! The `zeroipc` inspector and operator tool, as a library (the binary in
//! `src/bin/zeroipc.rs` only parses arguments and calls these functions).
//!
//! Every read command decodes the segment byte by byte, keyed by the sizes
//! its headers state (FORMAT.md §2-§4), without knowing the Rust element
//! types and without changing a byte: no pop, no consume, no lock that a
//! peer could wait on for long. Every value read from a segment is
//! validated before it is used to compute an offset, so a hostile segment
//! gives an error line, never a panic. Output shapes (human and `--json`)
//! and exit codes are documented in `docs/CLI.md`.
//!
//! ```
//! use zeroipc_gen::inspect::{self, Global};
//! let name = format!("/zeroipc-doc-inspect-{}", std::process::id());
//! let seg = zeroipc::Segment::create(&name, 1 << 16).unwrap();
//! zeroipc::Array::<u32>::create(&seg, "counts", 4).unwrap();
//! let mut out = Vec::new();
//! let code = inspect::show(&name, &Global::default(), &mut out).unwrap();
//! assert_eq!(code, 0);
//! assert!(String::from_utf8(out).unwrap().contains("counts"));
//! zeroipc::Segment::unlink(&name).unwrap();
//! ```

pub mod classify;
pub mod decode;
pub mod render;
pub mod schema;
pub mod source;
pub mod types;
pub mod value;

use classify::{classify, force_kind, Classified, Structure};
use decode::{Kind, Types, Want};
use serde::Serialize;
use source::{display_name, open_readonly, path_of, read_raw_table, table_problems, Image};
use std::io::Write;
use std::time::{Duration, Instant};
use value::Value;

/// Exit code: success (for `check`: the segment is sound).
pub const EXIT_OK: i32 = 0;
/// Exit code: `check` found problems, or the segment or structure is
/// invalid, missing from the table, or cannot be decoded as asked; `rm`
/// refused; `create` found the name taken.
pub const EXIT_PROBLEM: i32 = 1;
/// Exit code: usage error, segment not found, or an OS error.
pub const EXIT_USAGE: i32 = 2;

/// Table checks the runtime does not make when opening (reported by
/// `check`, but they do not make `list` call a segment invalid).
pub const EXTRA_TABLE_CHECKS: [&str; 4] = [
    "entry names unique",
    "entries disjoint",
    "entry below next_offset",
    "entry name",
];

/// A failed command: message for stderr and the exit code.
#[derive(Debug, Clone)]
pub struct CliError {
    /// Exit code ([`EXIT_PROBLEM`] or [`EXIT_USAGE`]).
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

impl CliError {
    /// Bad arguments.
    pub fn usage(m: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: m.into(),
        }
    }
    /// OS error or missing segment.
    pub fn io(m: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: m.into(),
        }
    }
    /// Something wrong with the segment's content.
    pub fn problem(m: impl Into<String>) -> Self {
        CliError {
            code: EXIT_PROBLEM,
            message: m.into(),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

fn out_err(e: std::io::Error) -> CliError {
    CliError::io(format!("writing output: {e}"))
}

/// One problem found by `check` (and by `list`, the first one).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Structure name, or `None` for the table.
    pub structure: Option<String>,
    /// Which check failed.
    pub check: &'static str,
    /// Values seen.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.structure {
            None => write!(f, "table: {}: {}", self.check, self.detail),
            Some(s) => write!(f, "{s}: {}: {}", self.check, self.detail),
        }
    }
}

/// Options every command shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// Machine-readable output.
    pub json: bool,
    /// Read with `pread` on a read-only descriptor instead of mapping.
    pub no_map: bool,
    /// Schema file or folder whose compiled records and enums decode the
    /// named types of a segment's `__schema` entry (and `--record`).
    pub schema: Option<std::path::PathBuf>,
}

impl Global {
    fn named(&self) -> Result<Option<schema::Named>, CliError> {
        match &self.schema {
            None => Ok(None),
            Some(p) => schema::compile_named(p).map(Some).map_err(CliError::usage),
        }
    }
}

fn emit_json<T: Serialize>(out: &mut dyn Write, v: &T) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, v).map_err(|e| CliError::io(e.to_string()))?;
    writeln!(out).map_err(out_err)
}

// ------------------------------------------------------------------ list

/// One row of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    /// `/name`.
    pub name: String,
    /// File path.
    pub path: String,
    /// File size in bytes (`null` when it could not be read).
    pub size: Option<u64>,
    /// True when the runtime would open it.
    pub valid: bool,
    /// Format version from the header (`null` without a header).
    pub version: Option<u32>,
    /// Entries in use.
    pub entry_count: Option<u32>,
    /// Entry slots.
    pub max_entries: Option<u32>,
    /// `memory_size` from the header.
    pub memory_size: Option<u64>,
    /// `next_offset` from the header: bytes used, table included.
    pub bytes_used: Option<u64>,
    /// Why it is not a valid segment (the first failed check).
    pub invalid: Option<String>,
    /// The OS error when the file could not be read.
    pub error: Option<String>,
}

/// Inspects one file of the shm directory (never fails: problems go into
/// the row).
pub fn list_one(dir: &std::path::Path, file: &str) -> ListRow {
    let path = dir.join(file);
    let mut row = ListRow {
        name: format!("/{file}"),
        path: path.display().to_string(),
        size: None,
        valid: false,
        version: None,
        entry_count: None,
        max_entries: None,
        memory_size: None,
        bytes_used: None,
        invalid: None,
        error: None,
    };
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => {
            row.invalid = Some("symbolic link (not followed)".to_owned());
            return row;
        }
        Ok(m) if m.is_dir() => {
            row.invalid = Some("a directory, not a segment".to_owned());
            return row;
        }
        Ok(m) if !m.is_file() => {
            row.invalid = Some("not a regular file".to_owned());
            return row;
        }
        Ok(m) => row.size = Some(m.len()),
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    }
    let (f, m) = match open_readonly(&path) {
        Ok(x) => x,
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    };
    row.size = Some(m.len());
    let raw = match read_raw_table(&f, m.len()) {
        Ok(r) => r,
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    };
    if let Some(h) = raw.header {
        if h.magic == zeroipc::table::MAGIC {
            row.version = Some(h.version);
            row.entry_count = Some(h.entry_count);
            row.max_entries = Some(h.max_entries);
            row.memory_size = Some(h.memory_size);
            row.bytes_used = Some(h.next_offset);
        }
    }
    let (problems, _) = table_problems(&raw);
    match problems
        .iter()
        .find(|p| !EXTRA_TABLE_CHECKS.contains(&p.check))
    {
        Some(p) => row.invalid = Some(invalid_reason(p)),
        None => row.valid = true,
    }
    row
}

/// The short `invalid:` text for a failed table check.
pub fn invalid_reason(p: &Problem) -> String {
    match p.check {
        "header fits" if p.detail.starts_with("empty") => "empty file".to_owned(),
        "header fits" => format!("too small for a header ({})", p.detail),
        "magic" => format!("bad magic ({})", p.detail),
        "version" => format!("unsupported version ({})", p.detail),
        c => format!("{c} failed ({})", p.detail),
    }
}

/// `zeroipc list`: every object in `dir` (default `/dev/shm`).
pub fn list(
    dir: Option<&std::path::Path>,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let dir = dir.unwrap_or(std::path::Path::new(zeroipc::segment::SHM_DIR));
    let rd = std::fs::read_dir(dir).map_err(|e| CliError::io(format!("{}: {e}", dir.display())))?;
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let rows: Vec<ListRow> = names.iter().map(|n| list_one(dir, n)).collect();
    if g.json {
        #[derive(Serialize)]
        struct L<'a> {
            directory: String,
            segments: &'a [ListRow],
        }
        emit_json(
            out,
            &L {
                directory: dir.display().to_string(),
                segments: &rows,
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut t = vec![vec![
        "NAME".to_owned(),
        "SIZE".to_owned(),
        "VERSION".to_owned(),
        "ENTRIES".to_owned(),
        "USED".to_owned(),
        "STATUS".to_owned(),
    ]];
    for r in &rows {
        let dash = || "-".to_owned();
        let status = if let Some(e) = &r.error {
            format!("error: {e}")
        } else if let Some(i) = &r.invalid {
            format!("invalid: {i}")
        } else {
            "ok".to_owned()
        };
        t.push(vec![
            r.name.clone(),
            r.size.map_or_else(dash, render::size),
            r.version.map_or_else(dash, |v| v.to_string()),
            match (r.entry_count, r.max_entries) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => dash(),
            },
            match (r.bytes_used, r.memory_size) {
                (Some(u), Some(m)) if m > 0 => {
                    format!("{} ({}%)", render::size(u), (u as u128 * 100 / m as u128))
                }
                (Some(u), _) => render::size(u),
                _ => dash(),
            },
            status,
        ]);
    }
    if rows.is_empty() {
        writeln!(out, "no shared-memory objects in {}", dir.display()).map_err(out_err)?;
    } else {
        out.write_all(render::table(&t).as_bytes())
            .map_err(out_err)?;
    }
    Ok(EXIT_OK)
}

// ------------------------------------------------------------------ show

/// A structure as `show` and `get` report it.
#[derive(Debug, Clone, Serialize)]
pub struct StructureReport {
    /// Base name.
    pub name: String,
    /// Kind (without `?`).
    pub kind: &'static str,
    /// False when the kind is a guess.
    pub certain: bool,
    /// Other kinds the bytes fit, when guessed.
    pub alternatives: Vec<&'static str>,
    /// Where the kind comes from: `schema`, `names`, `header`, `option`.
    pub basis: &'static str,
    /// Offset of its first entry.
    pub offset: u64,
    /// Total bytes of its entries.
    pub size: u64,
    /// Its entries.
    pub parts: Vec<PartReport>,
    /// Element size in bytes (map: slot stride).
    pub elem_size: Option<u64>,
    /// Element capacity.
    pub capacity: Option<u64>,
    /// Items in use.
    pub fill: Option<u64>,
    /// Value type used (`i32`, `i32 -> f64` for maps).
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// True when the value type was guessed from a size.
    pub type_guessed: bool,
    /// One-line state.
    pub summary: String,
    /// Decoding error (the structure does not fit its kind).
    pub error: Option<String>,
}

/// One table entry of a structure.
#[derive(Debug, Clone, Serialize)]
pub struct PartReport {
    /// Role in the structure (`main`, `header`, `buffer`, `sem`, ...).
    pub role: &'static str,
    /// Entry name.
    pub name: String,
    /// Offset in the segment.
    pub offset: u64,
    /// Entry size.
    pub size: u64,
}

fn structure_report(s: &Structure, d: Result<&decode::Decoded, &String>) -> StructureReport {
    let (elem_size, capacity, fill, type_, type_guessed, summary, error) = match d {
        Ok(d) => (
            d.elem_size,
            d.capacity,
            d.fill,
            d.type_desc.clone(),
            d.type_guessed,
            d.summary.clone(),
            None,
        ),
        Err(e) => (
            None,
            None,
            None,
            None,
            false,
            String::new(),
            Some(e.clone()),
        ),
    };
    StructureReport {
        name: s.name.clone(),
        kind: s.kind.name(),
        certain: s.certain,
        alternatives: if s.certain {
            Vec::new()
        } else {
            s.alternatives.iter().map(|k| k.name()).collect()
        },
        basis: s.basis,
        offset: s.offset(),
        size: s.size(),
        parts: s
            .parts
            .iter()
            .zip(&s.entries)
            .map(|((role, _), e)| PartReport {
                role,
                name: e.name.clone(),
                offset: e.offset,
                size: e.size,
            })
            .collect(),
        elem_size,
        capacity,
        fill,
        type_,
        type_guessed,
        summary,
        error,
    }
}

#[derive(Serialize)]
struct SchemaReport {
    fingerprint: String,
    text_length: u64,
    used: bool,
    note: Option<String>,
}

#[derive(Serialize)]
struct ShowReport {
    segment: String,
    path: String,
    file_size: u64,
    backing: &'static str,
    header: source::Header,
    data_start: u64,
    bytes_used: u64,
    bytes_free: u64,
    schema: Option<SchemaReport>,
    structures: Vec<StructureReport>,
}

fn schema_report(c: &Classified) -> Option<SchemaReport> {
    c.schema.as_ref().map(|h| SchemaReport {
        fingerprint: format!("{:#018x}", h.fingerprint),
        text_length: h.text_len,
        used: c.schema_note.is_none(),
        note: c.schema_note.clone(),
    })
}

fn hex_off(o: u64) -> String {
    format!("{o:#x}")
}

/// `zeroipc show SEG`: summary and the structure table.
pub fn show(seg: &str, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let c = classify(&img.entries, &img, g.named()?.as_ref());
    let reports: Vec<StructureReport> = c
        .structures
        .iter()
        .map(|s| {
            // A few items are decoded so that a guessed element type can be
            // refined from the values (f32/f64 bit patterns).
            let d = s.decode(
                Some(Want {
                    range: None,
                    limit: 64,
                }),
                false,
            );
            structure_report(s, d.as_ref())
        })
        .collect();
    let h = img.header;
    let used = h.next_offset;
    let free = h
        .memory_size
        .saturating_sub(decode::align_up(used, 8).unwrap_or(used));
    if g.json {
        emit_json(
            out,
            &ShowReport {
                segment: img.name.clone(),
                path: img.path.display().to_string(),
                file_size: img.file_size,
                backing: img.backing,
                header: h,
                data_start: img.data_start,
                bytes_used: used,
                bytes_free: free,
                schema: schema_report(&c),
                structures: reports,
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut s = String::new();
    let pct = if h.memory_size > 0 {
        (used as u128 * 100 / h.memory_size as u128) as u64
    } else {
        0
    };
    let kv = vec![
        vec!["segment".to_owned(), img.name.clone()],
        vec![
            "file".to_owned(),
            format!(
                "{} ({}, {} bytes)",
                img.path.display(),
                render::size(img.file_size),
                img.file_size
            ),
        ],
        vec!["format".to_owned(), format!("ZeroIPC v{}", h.version)],
        vec![
            "table".to_owned(),
            format!(
                "{} of {} entries in use, {} (data starts at {})",
                h.entry_count,
                h.max_entries,
                render::size(img.data_start),
                hex_off(img.data_start)
            ),
        ],
        vec![
            "used".to_owned(),
            format!(
                "{} of {} ({} bytes, {pct}%)",
                render::size(used),
                render::size(h.memory_size),
                used
            ),
        ],
        vec![
            "free".to_owned(),
            format!("{} ({free} bytes)", render::size(free)),
        ],
        vec![
            "schema".to_owned(),
            match (&c.schema, &c.schema_note) {
                (None, _) => {
                    "none: kinds guessed from entry names and header shapes (? = guess)".to_owned()
                }
                (Some(h), None) => format!(
                    "fingerprint {:#018x}: kinds and types from the schema",
                    h.fingerprint
                ),
                (Some(h), Some(n)) => format!("fingerprint {:#018x}, not used: {n}", h.fingerprint),
            },
        ],
    ];
    s.push_str(&render::table(&kv));
    s.push('\n');
    if c.structures.is_empty() {
        s.push_str("no structures\n");
    } else {
        let mut t = vec![[
            "NAME", "KIND", "OFFSET", "SIZE", "ELEM", "CAPACITY", "TYPE", "FILL",
        ]
        .iter()
        .map(|x| (*x).to_owned())
        .collect::<Vec<_>>()];
        let dash = || "-".to_owned();
        for (st, r) in c.structures.iter().zip(&reports) {
            t.push(vec![
                r.name.clone(),
                st.kind_label(),
                hex_off(r.offset),
                render::size(r.size),
                r.elem_size.map_or_else(dash, |x| x.to_string()),
                r.capacity.map_or_else(dash, |x| x.to_string()),
                r.type_.as_ref().map_or_else(dash, |t| {
                    format!("{t}{}", if r.type_guessed { "?" } else { "" })
                }),
                render::ellipsis(
                    &match &r.error {
                        Some(e) => format!("error: {e}"),
                        None => r.summary.clone(),
                    },
                    render::CELL_MAX,
                ),
            ]);
            if r.parts.len() > 1 {
                for p in &r.parts {
                    t.push(vec![
                        format!("  {}", p.name),
                        format!(".{}", p.role),
                        hex_off(p.offset),
                        render::size(p.size),
                    ]);
                }
            }
        }
        s.push_str(&render::table(&t));
    }
    for (name, p) in &c.problems {
        s.push_str(&format!("problem: {name}: {p}\n"));
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(EXIT_OK)
}

// ------------------------------------------------------------------- get

/// Options of `get`.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// Structure (or entry) name.
    pub name: String,
    /// Items `[a, b)`.
    pub range: Option<(u64, u64)>,
    /// At most this many items (0 = all).
    pub limit: u64,
    /// `--type` (for maps `K,V`).
    pub type_: Option<String>,
    /// `--key`.
    pub key: Option<String>,
    /// `--value`.
    pub value: Option<String>,
    /// `--kind`.
    pub kind: Option<String>,
    /// `--record NAME`.
    pub record: Option<String>,
}

fn user_types(
    o: &GetOptions,
    st: &Structure,
    named: Option<&schema::Named>,
) -> Result<Option<Types>, CliError> {
    let kind = st.kind;
    let mut t = Types {
        source: "option",
        ..Default::default()
    };
    let record = match &o.record {
        None => None,
        Some(r) => {
            let named = named.ok_or_else(|| {
                CliError::usage("--record needs --schema PATH (the schema file or folder)")
            })?;
            Some(*named.get(r).ok_or_else(|| {
                let mut known: Vec<&String> = named.keys().collect();
                known.sort();
                CliError::usage(format!(
                    "no record or enum {r:?} in the schema (it has: {known:?})"
                ))
            })?)
        }
    };
    let parse = |s: &str| types::parse_type(s).map_err(CliError::usage);
    if kind == Kind::Map {
        if let Some(s) = &o.type_ {
            let (k, v) = types::parse_key_value(s).map_err(CliError::usage)?;
            t.key = Some(k);
            t.value = Some(v);
        }
        if let Some(k) = &o.key {
            t.key = Some(parse(k)?);
        }
        if let Some(v) = &o.value {
            t.value = Some(parse(v)?);
        }
        if record.is_some() {
            t.value = record;
        }
        return Ok((t.key.is_some() || t.value.is_some()).then_some(t));
    }
    if o.key.is_some() || o.value.is_some() {
        return Err(CliError::usage(format!(
            "--key/--value apply to maps; {} is a {}: use --type",
            o.name,
            kind.name()
        )));
    }
    if let Some(s) = o
        .type_
        .as_deref()
        .filter(|s| types::top_level_comma(s).is_some())
    {
        return Err(CliError::usage(format!(
            "--type {s:?} is a key and a value type, which only a map has, but {} is {} {}; \
             if it is a map, add --kind map",
            o.name,
            if st.certain { "a" } else { "guessed to be a" },
            st.kind.name()
        )));
    }
    match (&o.type_, record) {
        (Some(_), Some(_)) => Err(CliError::usage("give --type or --record, not both")),
        (Some(s), None) => {
            t.elem = Some(parse(s)?);
            Ok(Some(t))
        }
        (None, Some(r)) => {
            t.elem = Some(r);
            Ok(Some(t))
        }
        (None, None) => Ok(None),
    }
}

fn find_structure(c: &mut Classified, name: &str) -> Option<(Structure, Option<String>)> {
    if let Some(i) = c.structures.iter().position(|s| s.name == name) {
        return Some((c.structures.remove(i), None));
    }
    let i = c
        .structures
        .iter()
        .position(|s| s.entries.iter().any(|e| e.name == name))?;
    let s = c.structures.remove(i);
    let note = format!("{name} is part of {} {}", s.kind.name(), s.name);
    Some((s, Some(note)))
}

#[derive(Serialize)]
struct ItemReport<'a> {
    index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a Value>,
    value: &'a Value,
}

#[derive(Serialize)]
struct ContentsReport<'a> {
    order: &'static str,
    total: u64,
    shown: usize,
    items: Vec<ItemReport<'a>>,
}

struct Fields<'a>(&'a [(String, Value)]);

impl Serialize for Fields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Value::Record(self.0.to_vec()).serialize(s)
    }
}

#[derive(Serialize)]
struct GetReport<'a> {
    segment: String,
    #[serde(flatten)]
    structure: StructureReport,
    note: Option<String>,
    fields: Fields<'a>,
    contents: Option<ContentsReport<'a>>,
    problems: &'a [String],
}

/// `zeroipc get SEG NAME`: decoded header, state and contents.
pub fn get(seg: &str, o: &GetOptions, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let named = g.named()?;
    let mut c = classify(&img.entries, &img, named.as_ref());
    let forced = match &o.kind {
        Some(k) => Some(Kind::parse(k).ok_or_else(|| {
            CliError::usage(format!(
                "unknown kind {k:?} (one of: {})",
                Kind::ALL.map(Kind::name).join(", ")
            ))
        })?),
        None => None,
    };
    let (mut st, mut note) = match forced {
        Some(k) => (
            force_kind(k, &o.name, &img.entries, &img, Types::default())
                .map_err(CliError::problem)?,
            None,
        ),
        None => find_structure(&mut c, &o.name).ok_or_else(|| {
            CliError::problem(format!(
                "segment {}: no structure named {:?} (see `zeroipc show {}`)",
                img.name, o.name, img.name
            ))
        })?,
    };
    if let Some(t) = user_types(o, &st, named.as_ref())? {
        if st.basis == "schema" {
            let n = "--type overrides the type the schema gives".to_owned();
            note = Some(match note {
                Some(x) => format!("{x}; {n}"),
                None => n,
            });
        }
        st.types = t;
        if !st.certain && st.basis == "header" {
            // Re-decide the kind with the user's type: only kinds that fit
            // both the bytes and the type stay.
            let v = st.parts.remove(0).1;
            let entry = st.entries[0].clone();
            let mut again = classify::guess_single(v, t);
            again.entries[0] = entry;
            if again.kind != Kind::Unknown {
                st = again;
            } else {
                return Err(CliError::problem(format!(
                    "{}: no structure kind fits these bytes with type {}",
                    o.name,
                    o.type_.as_deref().or(o.record.as_deref()).unwrap_or("?")
                )));
            }
        }
    }
    let want = Want {
        range: o.range,
        limit: o.limit,
    };
    let d = st.decode(Some(want), true).map_err(|e| {
        CliError::problem(format!(
            "{}: cannot decode as {}: {e}",
            o.name,
            st.kind.name()
        ))
    })?;
    let rep = structure_report(&st, Ok(&d));
    if g.json {
        let contents = d.contents.as_ref().map(|c| ContentsReport {
            order: c.order,
            total: c.total,
            shown: c.items.len(),
            items: c
                .items
                .iter()
                .map(|i| ItemReport {
                    index: i.index,
                    key: i.key.as_ref(),
                    value: &i.value,
                })
                .collect(),
        });
        emit_json(
            out,
            &GetReport {
                segment: img.name.clone(),
                structure: rep,
                note,
                fields: Fields(&d.fields),
                contents,
                problems: &d.problems,
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut s = String::new();
    s.push_str(&format!(
        "{} {}: {}{}\n",
        img.name,
        st.name,
        st.kind_label(),
        if st.certain {
            String::new()
        } else if rep.alternatives.is_empty() {
            " (guessed from the header)".to_owned()
        } else {
            format!(
                " (guessed from the header; also fits {}; use --kind)",
                rep.alternatives.join(", ")
            )
        }
    ));
    if let Some(n) = &note {
        s.push_str(&format!("note: {n}\n"));
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &rep.parts {
        rows.push(vec![
            format!("entry {}", p.name),
            format!(
                "{}offset {}, {}",
                if rep.parts.len() > 1 {
                    format!(".{} ", p.role)
                } else {
                    String::new()
                },
                hex_off(p.offset),
                render::size(p.size)
            ),
        ]);
    }
    if let Some(t) = &rep.type_ {
        rows.push(vec![
            "type".to_owned(),
            if rep.type_guessed {
                format!("{t}? (guessed from the element size; pass --type)")
            } else {
                t.clone()
            },
        ]);
    }
    for (k, v) in &d.fields {
        rows.push(vec![k.clone(), v.to_string()]);
    }
    rows.push(vec!["summary".to_owned(), d.summary.clone()]);
    s.push_str(&render::table(&rows));
    if let Some(cn) = &d.contents {
        s.push_str(&format!(
            "contents: {}, {} of {} item{}\n",
            cn.order,
            cn.items.len(),
            cn.total,
            if cn.total == 1 { "" } else { "s" }
        ));
        let label = match st.kind {
            Kind::Array => "",
            Kind::Pool => "node ",
            Kind::Schema => "",
            _ => "slot ",
        };
        let mut t = Vec::new();
        for i in &cn.items {
            let idx = if st.kind == Kind::Schema {
                String::new()
            } else if label.is_empty() {
                format!("[{}]", i.index)
            } else {
                format!("{label}{}", i.index)
            };
            let val = match (&i.key, st.kind) {
                (Some(k), _) => format!("{k} => {}", i.value),
                (None, Kind::Schema) => match &i.value {
                    Value::Str(t) => t.clone(),
                    v => v.to_string(),
                },
                (None, _) => i.value.to_string(),
            };
            t.push(vec![format!("  {idx}"), val]);
        }
        s.push_str(&render::table(&t));
        let shown_end = cn.items.len() as u64;
        if shown_end < cn.total && o.range.is_none() {
            s.push_str(&format!(
                "  ... {} more (use --range or --limit 0)\n",
                cn.total - shown_end
            ));
        }
    }
    for p in &d.problems {
        s.push_str(&format!("problem: {p}\n"));
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(EXIT_OK)
}

// ------------------------------------------------------------------ dump

/// One dumped range.
#[derive(Debug, Clone, Serialize)]
pub struct DumpPart {
    /// Entry name, `null` for a whole-segment dump.
    pub name: Option<String>,
    /// Absolute offset of the entry (0 for the segment).
    pub offset: u64,
    /// Entry (or segment) size.
    pub size: u64,
    /// First byte shown, relative to `offset`.
    pub start: u64,
    /// Bytes shown.
    pub shown: usize,
    /// Bytes after the shown ones.
    pub more: u64,
    /// The shown bytes, lower-case hex.
    pub hex: String,
}

/// `zeroipc dump SEG [NAME]`: hex dump of an entry, of every entry of a
/// composite structure, or of the segment (offsets relative to the entry,
/// or to the segment start); `bytes` bytes from `offset` (0 = all).
pub fn dump(
    seg: &str,
    name: Option<&str>,
    bytes: u64,
    offset: u64,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let mut parts: Vec<(DumpPart, Vec<u8>)> = Vec::new();
    let take = |size: u64| {
        let start = offset.min(size);
        let n = if bytes == 0 {
            size - start
        } else {
            bytes.min(size - start)
        };
        (start, n)
    };
    match name {
        Some(n) => {
            let mut list: Vec<source::EntryInfo> = img
                .entries
                .iter()
                .filter(|e| e.name == n)
                .cloned()
                .collect();
            if list.is_empty() {
                let mut c = classify(&img.entries, &img, g.named()?.as_ref());
                match find_structure(&mut c, n) {
                    Some((st, None)) => list = st.entries.clone(),
                    _ => {
                        return Err(CliError::problem(format!(
                            "segment {}: no entry or structure named {n:?}",
                            img.name
                        )))
                    }
                }
            }
            for e in list {
                let v = img.view(&e)?;
                let (start, k) = take(e.size);
                let data = v.bytes(start, k).map_err(CliError::problem)?;
                parts.push((
                    DumpPart {
                        name: Some(e.name.clone()),
                        offset: e.offset,
                        size: e.size,
                        start,
                        shown: data.len(),
                        more: e.size - start - k,
                        hex: value::hex(&data),
                    },
                    data,
                ));
            }
        }
        None => {
            let (start, k) = take(img.file_size);
            let data = img.read_abs(start, k)?;
            parts.push((
                DumpPart {
                    name: None,
                    offset: 0,
                    size: img.file_size,
                    start,
                    shown: data.len(),
                    more: img.file_size - start - k,
                    hex: value::hex(&data),
                },
                data,
            ));
        }
    }
    if g.json {
        #[derive(Serialize)]
        struct D<'a> {
            segment: String,
            name: Option<&'a str>,
            parts: Vec<&'a DumpPart>,
        }
        emit_json(
            out,
            &D {
                segment: img.name.clone(),
                name,
                parts: parts.iter().map(|(p, _)| p).collect(),
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut s = String::new();
    for (p, data) in &parts {
        match &p.name {
            Some(n) => s.push_str(&format!(
                "{} {n}: offset {}, {} bytes; offsets below are relative to the entry\n",
                img.name,
                hex_off(p.offset),
                p.size
            )),
            None => s.push_str(&format!("{}: {} bytes\n", img.name, p.size)),
        }
        s.push_str(&render::hexdump(data, p.start));
        if p.more > 0 {
            s.push_str(&format!(
                "... ({} more bytes; use --bytes N, 0 for all)\n",
                p.more
            ));
        }
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(EXIT_OK)
}

// ----------------------------------------------------------------- check

/// Every problem of a segment: table checks (FORMAT.md §2 and
/// consistency) and per-structure header and state checks, plus notes
/// (not problems) about what could not be checked.
pub fn check_problems(
    seg: &str,
    named: Option<schema::Named>,
) -> Result<(String, usize, Vec<Problem>, Vec<String>), CliError> {
    let name = display_name(seg)?;
    let path = path_of(seg)?;
    let (f, m) = open_readonly(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::io(format!("segment {name} does not exist"))
        } else {
            CliError::io(format!("{}: {e}", path.display()))
        }
    })?;
    let raw = read_raw_table(&f, m.len())
        .map_err(|e| CliError::io(format!("{}: {e}", path.display())))?;
    let (mut problems, good) = table_problems(&raw);
    let mut notes = Vec::new();
    let img = FileViews(std::sync::Arc::new(f));
    let c = classify(&good, &img, named.as_ref());
    for (s, p) in &c.problems {
        problems.push(Problem {
            structure: Some(s.clone()),
            check: "schema",
            detail: p.clone(),
        });
    }
    if let Some(n) = &c.schema_note {
        notes.push(format!("schema present but not used: {n}"));
    }
    for s in &c.structures {
        let kind = s.kind.name();
        match s.kind {
            Kind::Unknown => {
                notes.push(format!(
                    "{}: {} bytes match no structure kind; not checked",
                    s.name,
                    s.size()
                ));
                continue;
            }
            Kind::Marker => {
                notes.push(format!("{}: a 1-byte marker outside any composite", s.name));
                continue;
            }
            _ => {}
        }
        if !s.certain {
            notes.push(format!(
                "{}: kind guessed as {kind}; checked as one",
                s.name
            ));
        }
        match s.decode(None, true) {
            Ok(d) => {
                for p in d.problems {
                    problems.push(Problem {
                        structure: Some(s.name.clone()),
                        check: kind,
                        detail: p,
                    });
                }
            }
            Err(e) => problems.push(Problem {
                structure: Some(s.name.clone()),
                check: kind,
                detail: format!("header does not fit: {e}"),
            }),
        }
    }
    Ok((name, c.structures.len(), problems, notes))
}

struct FileViews(std::sync::Arc<std::fs::File>);

impl classify::Views for FileViews {
    fn view(&self, e: &source::EntryInfo) -> Result<source::View, String> {
        Ok(source::View::from_file(
            &e.name,
            self.0.clone(),
            e.offset,
            e.size,
        ))
    }
}

/// `zeroipc check SEG`: exit 0 when sound, 1 with one line per problem.
pub fn check(seg: &str, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let (name, n, problems, notes) = check_problems(seg, g.named()?)?;
    let code = if problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    };
    if g.json {
        #[derive(Serialize)]
        struct C<'a> {
            segment: String,
            sound: bool,
            structures: usize,
            problems: &'a [Problem],
            notes: &'a [String],
        }
        emit_json(
            out,
            &C {
                segment: name,
                sound: problems.is_empty(),
                structures: n,
                problems: &problems,
                notes: &notes,
            },
        )?;
        return Ok(code);
    }
    let mut s = String::new();
    for p in &problems {
        s.push_str(&format!("{p}\n"));
    }
    for n in &notes {
        s.push_str(&format!("note: {n}\n"));
    }
    if problems.is_empty() {
        s.push_str(&format!(
            "{name}: sound ({n} structure{} checked)\n",
            if n == 1 { "" } else { "s" }
        ));
    } else {
        s.push_str(&format!(
            "{name}: {} problem{}\n",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ));
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(code)
}

// ----------------------------------------------------------------- watch

/// `zeroipc watch SEG NAME`: one line per sample (`count` samples, or until
/// interrupted), `interval` apart.
pub fn watch(
    seg: &str,
    name: &str,
    count: Option<u64>,
    interval: Duration,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let mut c = classify(&img.entries, &img, g.named()?.as_ref());
    let (st, _) = find_structure(&mut c, name).ok_or_else(|| {
        CliError::problem(format!("segment {}: no structure named {name:?}", img.name))
    })?;
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        let t = start.elapsed().as_secs_f64();
        let line = match st.decode(None, false) {
            Ok(d) => {
                if g.json {
                    #[derive(Serialize)]
                    struct W<'a> {
                        t: f64,
                        name: &'a str,
                        kind: &'static str,
                        certain: bool,
                        fill: Option<u64>,
                        capacity: Option<u64>,
                        summary: &'a str,
                        fields: Fields<'a>,
                    }
                    serde_json::to_string(&W {
                        t: (t * 1000.0).round() / 1000.0,
                        name: &st.name,
                        kind: st.kind.name(),
                        certain: st.certain,
                        fill: d.fill,
                        capacity: d.capacity,
                        summary: &d.summary,
                        fields: Fields(&d.fields),
                    })
                    .map_err(|e| CliError::io(e.to_string()))?
                } else {
                    let fields: Vec<String> = d
                        .fields
                        .iter()
                        .filter(|(_, v)| !matches!(v, Value::Record(_) | Value::List(_)))
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    format!(
                        "{t:8.2}s  {}  {}  {}  [{}]",
                        st.name,
                        st.kind_label(),
                        d.summary,
                        fields.join(" ")
                    )
                }
            }
            Err(e) => format!("{t:8.2}s  {}  error: {e}", st.name),
        };
        writeln!(out, "{line}").map_err(out_err)?;
        out.flush().map_err(out_err)?;
        n += 1;
        if count.is_some_and(|c| n >= c) {
            return Ok(EXIT_OK);
        }
        std::thread::sleep(interval);
    }
}

// ----------------------------------------------------------- create / rm

/// `zeroipc create SEG --size S [--entries N] [--mode M]`.
pub fn create(
    seg: &str,
    size: u64,
    entries: u32,
    mode: u32,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let name = display_name(seg)?;
    let r = zeroipc::SegmentOptions::new()
        .size(size)
        .max_entries(entries)
        .mode(mode)
        .create(&name);
    match r {
        Ok(s) => {
            if g.json {
                #[derive(Serialize)]
                struct Cr {
                    created: String,
                    size: u64,
                    max_entries: u32,
                    mode: String,
                }
                emit_json(
                    out,
                    &Cr {
                        created: name,
                        size: s.size(),
                        max_entries: s.max_entries(),
                        mode: format!("{mode:04o}"),
                    },
                )?;
            } else {
                writeln!(
                    out,
                    "created {name}: {}, {} entries, mode {mode:04o}",
                    render::size(s.size()),
                    s.max_entries()
                )
                .map_err(out_err)?;
            }
            Ok(EXIT_OK)
        }
        Err(e @ zeroipc::Error::SegmentExists { .. }) => Err(CliError::problem(e.to_string())),
        Err(
            e @ (zeroipc::Error::SegmentTooSmall { .. } | zeroipc::Error::InvalidParameter { .. }),
        ) => Err(CliError::usage(e.to_string())),
        Err(e) => Err(CliError::io(e.to_string())),
    }
}

/// `zeroipc rm SEG [--force]`: refuses a file that is not a valid segment
/// unless `force`.
pub fn rm(seg: &str, force: bool, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let name = display_name(seg)?;
    let path = path_of(seg)?;
    let meta = std::fs::symlink_metadata(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::io(format!("segment {name} does not exist"))
        } else {
            CliError::io(format!("{}: {e}", path.display()))
        }
    })?;
    let verdict = if meta.file_type().is_symlink() {
        Some("it is a symbolic link".to_owned())
    } else if !meta.is_file() {
        Some("it is not a regular file".to_owned())
    } else {
        match open_readonly(&path) {
            Err(e) => Some(format!("it cannot be read ({e})")),
            Ok((f, m)) => match read_raw_table(&f, m.len()) {
                Err(e) => Some(format!("it cannot be read ({e})")),
                Ok(raw) => table_problems(&raw)
                    .0
                    .iter()
                    .find(|p| !EXTRA_TABLE_CHECKS.contains(&p.check))
                    .map(|p| format!("it is not a valid ZeroIPC segment: {}", invalid_reason(p))),
            },
        }
    };
    if let (Some(why), false) = (&verdict, force) {
        return Err(CliError::problem(format!(
            "refusing to remove {name}: {why}; pass --force to remove it anyway"
        )));
    }
    if meta.is_dir() {
        return Err(CliError::problem(format!(
            "refusing to remove {name}: it is a directory"
        )));
    }
    std::fs::remove_file(&path).map_err(|e| CliError::io(format!("{}: {e}", path.display())))?;
    if g.json {
        #[derive(Serialize)]
        struct Rm {
            removed: String,
            forced: bool,
        }
        emit_json(
            out,
            &Rm {
                removed: name,
                forced: verdict.is_some(),
            },
        )?;
    } else {
        writeln!(out, "removed {name}").map_err(out_err)?;
    }
    Ok(EXIT_OK)
}
