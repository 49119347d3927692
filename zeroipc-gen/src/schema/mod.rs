//! The schema compiler: TOML schema files (docs/SCHEMA.md) to the runtime's
//! layout model plus typed segment descriptions, with every error reported
//! as `file:line:col`, the offending line and a caret.
//!
//! ```
//! use zeroipc_gen::schema::{compile, Source};
//! let c = compile(vec![Source::new("demo.toml", r#"
//! [records.Point]
//! fields = [{ name = "x", type = "f64" }, { name = "y", type = "f64" }]
//! "#)]);
//! assert!(!c.has_errors(), "{}", c.render_diagnostics());
//! assert_eq!(c.files[0].types[0].size, 16);
//! ```

pub mod diag;
pub mod kinds;
pub mod node;
pub mod output;
mod segment;

use crate::types::{self, leak, Base, Dim, TypeExpr};
use diag::{Diagnostic, Severity};
use kinds::{ElementUse, Params, StructureKind};
use node::{Node, Sp};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use zeroipc::format::{ElemLayout, Shape};
use zeroipc::layout::{Field, Kind, Prim, TypeLayout, Variant};

/// One schema file: a display name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The name shown in messages (a path as given).
    pub name: String,
    /// The file's text.
    pub text: String,
}

impl Source {
    /// A source from a name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// A constant's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    /// An integer of this primitive type.
    Int(i64, Prim),
    /// A float of this primitive type.
    Float(f64, Prim),
    /// A string.
    Str(String),
}

/// A named constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: ConstValue,
    /// Doc comment.
    pub doc: String,
}

/// A structure of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    /// Base name (the name the runtime's `create` takes).
    pub name: String,
    /// Doc comment.
    pub doc: String,
    /// Kind.
    pub kind: StructureKind,
    /// Element type (the key type for a map).
    pub elem: Option<&'static TypeLayout>,
    /// Map value type.
    pub value: Option<&'static TypeLayout>,
    /// Parameters with defaults filled in.
    pub params: Params,
    /// Table entries it creates, in order: (name, size).
    pub entries: Vec<(String, u64)>,
}

/// A segment: its structures, size and schema fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDef {
    /// The segment type's name (`Telemetry`).
    pub name: String,
    /// Doc comment.
    pub doc: String,
    /// Segment size in bytes.
    pub size: u64,
    /// Table slots.
    pub max_entries: u32,
    /// Structures in creation order.
    pub structures: Vec<Structure>,
    /// Bytes needed (table + every entry, 8-aligned, + `__schema`).
    pub needed: u64,
    /// The canonical schema text stored in `__schema`.
    pub canonical: String,
    /// FNV-1a 64 of `canonical`.
    pub fingerprint: u64,
}

/// What one schema file defines.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDef {
    /// Index of its [`Source`].
    pub source: usize,
    /// Namespace (module name in every output).
    pub namespace: String,
    /// Module doc.
    pub doc: String,
    /// Its enums and records, in declaration order.
    pub types: Vec<&'static TypeLayout>,
    /// Its constants.
    pub constants: Vec<Constant>,
    /// Its segments.
    pub segments: Vec<SegmentDef>,
}

/// The result of compiling a set of files.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The inputs.
    pub sources: Vec<Source>,
    /// One per source that parsed (same order).
    pub files: Vec<FileDef>,
    /// Every error and warning, in file and position order.
    pub diagnostics: Vec<Diagnostic>,
    /// Type name -> namespace of the file that defines it.
    pub type_namespace: BTreeMap<String, String>,
}

impl Compiled {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Every diagnostic rendered, separated by blank lines, then a summary.
    pub fn render_diagnostics(&self) -> String {
        let mut parts: Vec<String> = self
            .diagnostics
            .iter()
            .map(|d| {
                let s = &self.sources[d.file];
                diag::render(d, &s.name, &s.text)
            })
            .collect();
        let errors = self.error_count();
        let warnings = self.diagnostics.len() - errors;
        if errors > 0 {
            parts.push(format!(
                "error: aborting due to {errors} error{}{}\n",
                if errors == 1 { "" } else { "s" },
                if warnings > 0 {
                    format!(
                        "; {warnings} warning{} emitted",
                        if warnings == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            ));
        } else if warnings > 0 {
            parts.push(format!(
                "warning: {warnings} warning{} emitted\n",
                if warnings == 1 { "" } else { "s" }
            ));
        }
        parts.join("\n")
    }

    /// The file defining namespace `ns`.
    pub fn file_by_namespace(&self, ns: &str) -> Option<&FileDef> {
        self.files.iter().find(|f| f.namespace == ns)
    }
}

/// FNV-1a 64 (the hash of the layout fingerprint and of the schema text):
/// the format catalogue's.
pub use zeroipc::format::fnv1a64;

/// `n` rounded up to a multiple of `a` (a power of two) with the format's
/// `align_up`, saturating where it would overflow (the caller then reports
/// a size too large for the format).
fn align_to(n: u64, a: u64) -> u64 {
    zeroipc::format::align_up(n, a).unwrap_or(u64::MAX)
}

/// Reads every `*.toml` of a folder (sorted by name), or one file.
pub fn read_sources(path: &Path) -> std::io::Result<Vec<Source>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_owned());
    }
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)?;
            Ok(Source::new(p.display().to_string(), text))
        })
        .collect()
}

/// Compiles a folder of schema files (or one file).
pub fn compile_path(path: &Path) -> std::io::Result<Compiled> {
    Ok(compile(read_sources(path)?))
}

// ---------------------------------------------------------------------------
// Raw definitions (straight from the TOML, spans kept)

#[derive(Debug, Clone)]
struct RawVariant {
    name: Sp<String>,
    value: Option<Sp<i64>>,
    doc: String,
}

#[derive(Debug, Clone)]
struct RawEnum {
    name: Sp<String>,
    doc: String,
    repr: Option<Sp<String>>,
    values: Vec<RawVariant>,
}

#[derive(Debug, Clone)]
struct RawField {
    name: Sp<String>,
    ty: Sp<String>,
    doc: String,
}

#[derive(Debug, Clone)]
struct RawRecord {
    name: Sp<String>,
    doc: String,
    align: Option<Sp<i64>>,
    fields: Vec<RawField>,
    has_fields: bool,
}

#[derive(Debug, Clone)]
struct RawConst {
    name: Sp<String>,
    value: Sp<Node>,
    ty: Option<Sp<String>>,
    doc: String,
}

#[derive(Debug, Clone)]
struct RawStructure {
    name: Sp<String>,
    kind: Sp<String>,
    doc: String,
    keys: Vec<(Sp<String>, Sp<Node>)>,
}

#[derive(Debug, Clone)]
struct RawSegment {
    name: Sp<String>,
    doc: String,
    size: Option<Sp<Node>>,
    max_entries: Option<Sp<Node>>,
    structures: Vec<RawStructure>,
}

#[derive(Debug, Clone, Default)]
struct RawFile {
    namespace: Option<Sp<String>>,
    doc: String,
    constants: Vec<RawConst>,
    enums: Vec<RawEnum>,
    records: Vec<RawRecord>,
    segments: Vec<RawSegment>,
}

struct Ctx<'a> {
    file: usize,
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, span: Range<usize>, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(self.file, span, msg));
        self.diags.last_mut().expect("just pushed")
    }

    fn unknown_key(&mut self, key: &Sp<String>, context: &str, allowed: &[&str]) {
        let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
        let d = self
            .err(
                key.span.clone(),
                format!("unknown key `{}` in {context}", key.v),
            )
            .clone()
            .label("not a schema key")
            .help(format!("the keys here are {}", list.join(", ")));
        *self.diags.last_mut().expect("pushed") = d;
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn table<'n>(
        &mut self,
        n: &'n Sp<Node>,
        what: &str,
    ) -> Option<&'n Vec<(Sp<String>, Sp<Node>)>> {
        match &n.v {
            Node::Table(t) => Some(t),
            other => {
                let k = other.kind();
                self.err(n.span.clone(), format!("{what} must be a table, found {k}"));
                None
            }
        }
    }

    fn string(&mut self, n: &Sp<Node>, what: &str) -> Option<Sp<String>> {
        match &n.v {
            Node::Str(s) => Some(Sp {
                v: s.clone(),
                span: n.span.clone(),
            }),
            other => {
                let k = other.kind();
                self.err(
                    n.span.clone(),
                    format!("{what} must be a string, found {k}"),
                );
                None
            }
        }
    }

    fn int(&mut self, n: &Sp<Node>, what: &str) -> Option<Sp<i64>> {
        match &n.v {
            Node::Int(i) => Some(Sp {
                v: *i,
                span: n.span.clone(),
            }),
            other => {
                let k = other.kind();
                self.err(
                    n.span.clone(),
                    format!("{what} must be an integer, found {k}"),
                );
                None
            }
        }
    }

    fn list<'n>(&mut self, n: &'n Sp<Node>, what: &str) -> Option<&'n Vec<Sp<Node>>> {
        match &n.v {
            Node::Array(a) => Some(a),
            other => {
                let k = other.kind();
                self.err(
                    n.span.clone(),
                    format!("{what} must be an array, found {k}"),
                );
                None
            }
        }
    }
}

/// "a queue", "an event", "an array".
fn a(kind: StructureKind) -> String {
    let n = kind.name();
    if n.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {n}")
    } else {
        format!("a {n}")
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch == '_' || ch.is_ascii_alphabetic())
        && c.all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
}

/// Names Rust cannot use even as raw identifiers.
const RUST_UNUSABLE: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Namespaces that would shadow a module the generated code imports.
const RESERVED_NAMESPACES: &[&str] = &[
    "zeroipc",
    "zeroipc_schema",
    "numpy",
    "np",
    "enum",
    "typing",
    "mmap",
    "os",
    "struct",
    "dataclasses",
    "std",
    "core",
    "alloc",
];

/// The language in which `name` is a keyword, if any (Python reserved
/// words and `None`/`True`/`False`, C++ keywords and fixed-width type
/// names, Rust strict keywords).
fn keyword_in(name: &str) -> Option<&'static str> {
    if crate::emit::python::PY_KEYWORDS.contains(&name) {
        Some("Python")
    } else if crate::emit::cpp::CPP_KEYWORDS.contains(&name) {
        Some("C++")
    } else if crate::emit::rust::RUST_KEYWORDS.contains(&name) {
        Some("Rust")
    } else {
        None
    }
}

/// Checks a name that every output uses verbatim (types, segments,
/// structures, constants): an identifier and no language's keyword.
fn check_plain_name(ctx: &mut Ctx, name: &Sp<String>, what: &str) -> bool {
    if !check_ident(ctx, name, what) {
        return false;
    }
    if let Some(lang) = keyword_in(&name.v) {
        let d = Diagnostic::error(
            ctx.file,
            name.span.clone(),
            format!("{what} `{}` is a keyword in {lang}", name.v),
        )
        .label("this name is used as is in the Rust, Python and C++ outputs");
        ctx.push(d);
        return false;
    }
    if name.v.starts_with('_') || RESERVED_MODULE_NAMES.contains(&name.v.as_str()) {
        let d = Diagnostic::error(
            ctx.file,
            name.span.clone(),
            format!("{what} `{}` is reserved", name.v),
        )
        .label("generated modules define this name themselves (so do names starting with `_`)");
        ctx.push(d);
        return false;
    }
    true
}

/// Module-level names the generated Python/C++/Rust define or import.
const RESERVED_MODULE_NAMES: &[&str] = &[
    "TYPES",
    "SEGMENTS",
    "fingerprint",
    "open_segment",
    "np",
    "enum",
    "annotations",
    "Any",
    "Dict",
    "Tuple",
    "zeroipc_schema_fixed",
    "zeroipc_zeroed",
    "zeroipc_write_schema",
    "zeroipc_check_schema",
];

/// Structure names the generated segment types use for themselves.
const RESERVED_STRUCTURE_NAMES: &[&str] = &[
    "segment",
    "spec",
    "mapping",
    "close",
    "open",
    "open_in",
    "create",
    "create_in",
    "check_schema",
    "type_name",
    "size",
    "max_entries",
    "fingerprint",
    "schema",
    "structures",
    "entries",
    "SPEC",
    "SIZE",
    "MAX_ENTRIES",
    "FINGERPRINT",
    "SCHEMA",
    "ENTRIES",
];

fn check_ident(ctx: &mut Ctx, name: &Sp<String>, what: &str) -> bool {
    if is_ident(&name.v) {
        if RUST_UNUSABLE.contains(&name.v.as_str()) {
            let d = Diagnostic::error(
                ctx.file,
                name.span.clone(),
                format!("{what} `{}` is reserved", name.v),
            )
            .label("Rust cannot use this name, even as a raw identifier");
            ctx.push(d);
            return false;
        }
        if what == "namespace" && RESERVED_NAMESPACES.contains(&name.v.as_str()) {
            let d = Diagnostic::error(
                ctx.file,
                name.span.clone(),
                format!("namespace `{}` is reserved", name.v),
            )
            .label("a generated module of this name would shadow one the generated code imports");
            ctx.push(d);
            return false;
        }
        return true;
    }
    let d = Diagnostic::error(
        ctx.file,
        name.span.clone(),
        format!("{what} `{}` is not an identifier", name.v),
    )
    .label("use letters, digits and `_`, not starting with a digit");
    ctx.push(d);
    false
}

fn extract(ctx: &mut Ctx, root: &Sp<Node>) -> RawFile {
    let mut f = RawFile::default();
    let Some(top) = ctx.table(root, "a schema file") else {
        return f;
    };
    const TOP: &[&str] = &[
        "namespace",
        "doc",
        "constants",
        "enums",
        "records",
        "segments",
    ];
    for (k, v) in top {
        match k.v.as_str() {
            "namespace" => {
                if let Some(s) = ctx.string(v, "`namespace`") {
                    if check_ident(ctx, &s, "namespace") {
                        f.namespace = Some(s);
                    }
                }
            }
            "doc" => f.doc = ctx.string(v, "`doc`").map(|s| s.v).unwrap_or_default(),
            "constants" => {
                if let Some(t) = ctx.table(v, "`constants`") {
                    for (name, value) in t {
                        f.constants.push(extract_const(ctx, name, value));
                    }
                }
            }
            "enums" => {
                if let Some(t) = ctx.table(v, "`enums`") {
                    for (name, body) in t {
                        if let Some(e) = extract_enum(ctx, name, body) {
                            f.enums.push(e);
                        }
                    }
                }
            }
            "records" => {
                if let Some(t) = ctx.table(v, "`records`") {
                    for (name, body) in t {
                        if let Some(r) = extract_record(ctx, name, body) {
                            f.records.push(r);
                        }
                    }
                }
            }
            "segments" => {
                if let Some(t) = ctx.table(v, "`segments`") {
                    for (name, body) in t {
                        if let Some(s) = extract_segment(ctx, name, body) {
                            f.segments.push(s);
                        }
                    }
                }
            }
            _ => ctx.unknown_key(k, "a schema file", TOP),
        }
    }
    f
}

fn extract_const(ctx: &mut Ctx, name: &Sp<String>, value: &Sp<Node>) -> RawConst {
    let mut c = RawConst {
        name: name.clone(),
        value: value.clone(),
        ty: None,
        doc: String::new(),
    };
    if let Node::Table(t) = &value.v {
        let mut got_value = false;
        for (k, v) in t {
            match k.v.as_str() {
                "value" => {
                    c.value = v.clone();
                    got_value = true;
                }
                "type" => c.ty = ctx.string(v, "`type`"),
                "doc" => c.doc = ctx.string(v, "`doc`").map(|s| s.v).unwrap_or_default(),
                _ => ctx.unknown_key(k, "a constant", &["value", "type", "doc"]),
            }
        }
        if !got_value {
            ctx.err(
                value.span.clone(),
                format!("constant `{}` has no `value`", name.v),
            );
        }
    }
    c
}

fn extract_enum(ctx: &mut Ctx, name: &Sp<String>, body: &Sp<Node>) -> Option<RawEnum> {
    let t = ctx.table(body, &format!("enum `{}`", name.v))?;
    let mut e = RawEnum {
        name: name.clone(),
        doc: String::new(),
        repr: None,
        values: Vec::new(),
    };
    let mut has_values = false;
    for (k, v) in t {
        match k.v.as_str() {
            "doc" => e.doc = ctx.string(v, "`doc`").map(|s| s.v).unwrap_or_default(),
            "repr" => e.repr = ctx.string(v, "`repr`"),
            "values" => {
                has_values = true;
                let Some(items) = ctx.list(v, "`values`") else {
                    continue;
                };
                for item in items {
                    match &item.v {
                        Node::Str(s) => e.values.push(RawVariant {
                            name: Sp {
                                v: s.clone(),
                                span: item.span.clone(),
                            },
                            value: None,
                            doc: String::new(),
                        }),
                        Node::Table(fields) => {
                            let mut vname = None;
                            let mut value = None;
                            let mut doc = String::new();
                            for (fk, fv) in fields {
                                match fk.v.as_str() {
                                    "name" => vname = ctx.string(fv, "`name`"),
                                    "value" => value = ctx.int(fv, "an enum value"),
                                    "doc" => {
                                        doc =
                                            ctx.string(fv, "`doc`").map(|s| s.v).unwrap_or_default()
                                    }
                                    _ => ctx.unknown_key(
                                        fk,
                                        "an enum value",
                                        &["name", "value", "doc"],
                                    ),
                                }
                            }
                            match vname {
                                Some(n) => e.values.push(RawVariant {
                                    name: n,
                                    value,
                                    doc,
                                }),
                                None => {
                                    ctx.err(item.span.clone(), "enum value without a `name`");
                                }
                            }
                        }
                        other => {
                            let k = other.kind();
                            ctx.err(
                                item.span.clone(),
                                format!("an enum value must be a string or a table {{ name, value, doc }}, found {k}"),
                            );
                        }
                    }
                }
            }
            _ => ctx.unknown_key(k, "an enum", &["doc", "repr", "values"]),
        }
    }
    if !has_values {
        ctx.err(
            name.span.clone(),
            format!("enum `{}` has no `values`", name.v),
        );
    }
    Some(e)
}

fn extract_record(ctx: &mut Ctx, name: &Sp<String>, body: &Sp<Node>) -> Option<RawRecord> {
    let t = ctx.table(body, &format!("record `{}`", name.v))?;
    let mut r = RawRecord {
        name: name.clone(),
        doc: String::new(),
        align: None,
        fields: Vec::new(),
        has_fields: false,
    };
    let mut pads = 0;
    let mut has_fields = false;
    for (k, v) in t {
        match k.v.as_str() {
            "doc" => r.doc = ctx.string(v, "`doc`").map(|s| s.v).unwrap_or_default(),
            "align" => r.align = ctx.int(v, "`align`"),
            "fields" => {
                has_fields = true;
                let Some(items) = ctx.list(v, "`fields`") else {
                    continue;
                };
                for item in items {
                    let Some(ft) = ctx.table(item, "a field") else {
                        continue;
                    };
                    let mut fname = None;
                    let mut fty = None;
                    let mut doc = String::new();
                    for (fk, fv) in ft {
                        match fk.v.as_str() {
                            "name" => fname = ctx.string(fv, "a field `name`"),
                            "type" => fty = ctx.string(fv, "a field `type`"),
                            "doc" => doc = ctx.string(fv, "`doc`").map(|s| s.v).unwrap_or_default(),
                            "pad" => {
                                if let Some(n) = ctx.int(fv, "`pad`") {
                                    if n.v <= 0 {
                                        ctx.err(
                                            n.span.clone(),
                                            "`pad` must be a positive byte count",
                                        );
                                    } else {
                                        fname = Some(Sp {
                                            v: format!("_pad{pads}"),
                                            span: fk.span.clone(),
                                        });
                                        fty = Some(Sp {
                                            v: format!("u8[{}]", n.v),
                                            span: n.span.clone(),
                                        });
                                        pads += 1;
                                        if doc.is_empty() {
                                            doc = "Explicit padding.".to_owned();
                                        }
                                    }
                                }
                            }
                            _ => ctx.unknown_key(fk, "a field", &["name", "type", "doc", "pad"]),
                        }
                    }
                    match (fname, fty) {
                        (Some(n), Some(t)) => r.fields.push(RawField {
                            name: n,
                            ty: t,
                            doc,
                        }),
                        (Some(n), None) => {
                            ctx.err(n.span.clone(), format!("field `{}` has no `type`", n.v));
                        }
                        (None, _) => {
                            ctx.err(item.span.clone(), "field without a `name` (or `pad = N`)");
                        }
                    }
                }
            }
            _ => ctx.unknown_key(k, "a record", &["doc", "align", "fields"]),
        }
    }
    if !has_fields {
        ctx.err(
            name.span.clone(),
            format!("record `{}` has no `fields`", name.v),
        );
    }
    r.has_fields = has_fields;
    Some(r)
}

fn extract_segment(ctx: &mut Ctx, name: &Sp<String>, body: &Sp<Node>) -> Option<RawSegment> {
    let t = ctx.table(body, &format!("segment `{}`", name.v))?;
    let mut s = RawSegment {
        name: name.clone(),
        doc: String::new(),
        size: None,
        max_entries: None,
        structures: Vec::new(),
    };
    for (k, v) in t {
        match k.v.as_str() {
            "doc" => s.doc = ctx.string(v, "`doc`").map(|s| s.v).unwrap_or_default(),
            "size" => s.size = Some(v.clone()),
            "max_entries" => s.max_entries = Some(v.clone()),
            "structures" => {
                let Some(items) = ctx.list(v, "`structures`") else {
                    continue;
                };
                for item in items {
                    let Some(st) = ctx.table(item, "a structure") else {
                        continue;
                    };
                    let mut sname = None;
                    let mut kind = None;
                    let mut doc = String::new();
                    let mut keys = Vec::new();
                    for (sk, sv) in st {
                        match sk.v.as_str() {
                            "name" => sname = ctx.string(sv, "a structure `name`"),
                            "kind" => kind = ctx.string(sv, "a structure `kind`"),
                            "doc" => doc = ctx.string(sv, "`doc`").map(|s| s.v).unwrap_or_default(),
                            _ => keys.push((sk.clone(), sv.clone())),
                        }
                    }
                    match (sname, kind) {
                        (Some(n), Some(k)) => s.structures.push(RawStructure {
                            name: n,
                            kind: k,
                            doc,
                            keys,
                        }),
                        (None, _) => {
                            ctx.err(item.span.clone(), "structure without a `name`");
                        }
                        (Some(n), None) => {
                            let kinds: Vec<&str> =
                                StructureKind::ALL.iter().map(|k| k.name()).collect();
                            let d = Diagnostic::error(
                                ctx.file,
                                n.span.clone(),
                                format!("structure `{}` has no `kind`", n.v),
                            )
                            .help(format!("kinds: {}", kinds.join(", ")));
                            ctx.push(d);
                        }
                    }
                }
            }
            _ => ctx.unknown_key(
                k,
                "a segment",
                &["doc", "size", "max_entries", "structures"],
            ),
        }
    }
    Some(s)
}

// ---------------------------------------------------------------------------
// Type expressions: `u32`, `f64[4][3]`, `str<16>`, `common.Vec3[2]`, dims
// may name integer constants.

// Type expressions (`u32`, `f64[4][3]`, `str<16>`, `[u8; 4]`,
// `common.Vec3[2]`; lengths may name integer constants) are parsed by the
// shared grammar of `crate::types`.

/// The file span of bytes `r` inside the string literal at `lit`.
fn sub_span(lit: &Range<usize>, r: &Range<usize>) -> Range<usize> {
    let start = lit.start + 1 + r.start;
    let end = (lit.start + 1 + r.end)
        .min(lit.end.saturating_sub(1))
        .max(start + 1);
    start..end
}

// ---------------------------------------------------------------------------
// Resolution

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeRef {
    Enum(usize),
    Record(usize),
    Segment(usize),
}

#[derive(Debug, Clone)]
enum RecState {
    Visiting,
    Done(Option<&'static TypeLayout>),
}

struct Resolver<'a> {
    raws: &'a [Option<RawFile>],
    namespaces: &'a [String],
    /// (file, name) -> what it is.
    names: HashMap<(usize, String), TypeRef>,
    /// Constants: (file, name) -> value.
    consts: HashMap<(usize, String), ConstValue>,
    enums: HashMap<(usize, usize), &'static TypeLayout>,
    records: HashMap<(usize, usize), RecState>,
    stack: Vec<String>,
    diags: Vec<Diagnostic>,
}

const PRIM_HELP: &str = "the primitive types are u8, u16, u32, u64, i8, i16, i32, i64, f32, f64; strings are str<N> or str[N]; arrays T[N], T[N][M] or [T; N]";

impl Resolver<'_> {
    fn ns_index(&self, ns: &str) -> Option<usize> {
        self.namespaces.iter().position(|n| n == ns)
    }

    fn dim(&mut self, file: usize, d: &Dim, span: Range<usize>, what: &str) -> Option<u64> {
        match d {
            Dim::Lit(n) => Some(*n),
            Dim::Const(ns, name) => {
                let target = match ns {
                    Some(ns) => match self.ns_index(ns) {
                        Some(i) => i,
                        None => {
                            self.diags.push(
                                Diagnostic::error(file, span, format!("unknown namespace `{ns}`"))
                                    .label("no schema file has this namespace"),
                            );
                            return None;
                        }
                    },
                    None => file,
                };
                match self.consts.get(&(target, name.clone())) {
                    Some(ConstValue::Int(v, _)) if *v >= 0 => Some(*v as u64),
                    Some(_) => {
                        self.diags.push(
                            Diagnostic::error(
                                file,
                                span,
                                format!("constant `{name}` cannot be used as {what}"),
                            )
                            .label("not a non-negative integer"),
                        );
                        None
                    }
                    None => {
                        self.diags.push(
                            Diagnostic::error(file, span, format!("unknown constant `{name}`"))
                                .label(format!("used as {what}")),
                        );
                        None
                    }
                }
            }
        }
    }

    /// Resolves a type string at `lit` in `file`.
    fn resolve(&mut self, file: usize, lit: &Sp<String>) -> Option<&'static TypeLayout> {
        let expr = match types::parse(&lit.v) {
            Ok(e) => e,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        file,
                        sub_span(&lit.span, &e.span),
                        format!("invalid type `{}`: {}", lit.v, e.message),
                    )
                    .help(PRIM_HELP),
                );
                return None;
            }
        };
        self.build_type(file, &lit.span, &expr)
    }

    /// The layout of a parsed type expression found in the string literal
    /// at `lit` (spans in `expr` are relative to its text).
    fn build_type(
        &mut self,
        file: usize,
        lit: &Range<usize>,
        expr: &TypeExpr,
    ) -> Option<&'static TypeLayout> {
        let base_span = sub_span(lit, &expr.base_span);
        let mut t = match &expr.base {
            Base::Str(d, r) | Base::Bytes(d, r) => {
                let what = if matches!(expr.base, Base::Str(..)) {
                    "a string length"
                } else {
                    "a byte count"
                };
                let n = self.dim(file, d, sub_span(lit, r), what)?;
                if n == 0 {
                    self.diags.push(
                        Diagnostic::error(file, sub_span(lit, r), "string capacity 0")
                            .label("a fixed string needs at least one byte"),
                    );
                    return None;
                }
                match expr.base {
                    Base::Str(..) => types::fixed_str(n as usize),
                    _ => self.array(file, Prim::U8.layout(), n, sub_span(lit, r))?,
                }
            }
            Base::Array(elem, d, r) => {
                let elem = self.build_type(file, lit, elem)?;
                let span = sub_span(lit, r);
                let n = self.dim(file, d, span.clone(), "an array length")?;
                self.array(file, elem, n, span)?
            }
            Base::Record(_) => {
                self.diags.push(
                    Diagnostic::error(
                        file,
                        base_span,
                        "inline records are not allowed in a schema",
                    )
                    .label("the generated code needs a name for every record")
                    .help("declare it as `[records.Name]` and use its name"),
                );
                return None;
            }
            Base::Named { ns, name } => self.named(file, ns.as_deref(), name, base_span)?,
        };
        for (d, r) in expr.dims.iter().rev() {
            let span = sub_span(lit, r);
            let n = self.dim(file, d, span.clone(), "an array length")?;
            t = self.array(file, t, n, span)?;
        }
        Some(t)
    }

    /// `[elem; n]`, refusing a zero or too large length.
    fn array(
        &mut self,
        file: usize,
        t: &'static TypeLayout,
        n: u64,
        span: Range<usize>,
    ) -> Option<&'static TypeLayout> {
        if n == 0 {
            self.diags.push(
                Diagnostic::error(file, span, "array length 0")
                    .label("zero-sized fields are not allowed (C++ has no zero-length arrays)"),
            );
            return None;
        }
        match (n as usize).checked_mul(t.size) {
            Some(s) if s <= u32::MAX as usize => {}
            _ => {
                self.diags.push(
                    Diagnostic::error(file, span, "array too large")
                        .label(format!("{n} elements of {} bytes", t.size)),
                );
                return None;
            }
        }
        types::array_of(t, n as usize)
    }

    fn named(
        &mut self,
        file: usize,
        ns: Option<&str>,
        name: &str,
        span: Range<usize>,
    ) -> Option<&'static TypeLayout> {
        if ns.is_none() {
            if let Some(p) = Prim::from_rust_name(name) {
                return Some(p.layout());
            }
        }
        let target = match ns {
            Some(ns) => match self.ns_index(ns) {
                Some(i) => i,
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            file,
                            span,
                            format!("unknown namespace `{ns}` in type `{ns}.{name}`"),
                        )
                        .label("no schema file has this namespace"),
                    );
                    return None;
                }
            },
            None => file,
        };
        match self.names.get(&(target, name.to_owned())).copied() {
            Some(TypeRef::Enum(i)) => self.enums.get(&(target, i)).copied(),
            Some(TypeRef::Record(i)) => self.record(target, i, Some((file, span))),
            Some(TypeRef::Segment(_)) => {
                self.diags.push(
                    Diagnostic::error(file, span, format!("`{name}` is a segment, not a type"))
                        .label(
                            "a field or element type must be a primitive, string, enum or record",
                        ),
                );
                None
            }
            None => {
                let mut d = Diagnostic::error(
                    file,
                    span,
                    format!("unknown type `{}`", qualified(ns, name)),
                )
                .label("no primitive, enum or record has this name");
                let elsewhere: Vec<String> = self
                    .names
                    .iter()
                    .filter(|((f, n), r)| {
                        n.eq_ignore_ascii_case(name)
                            && !matches!(r, TypeRef::Segment(_))
                            && (*f != target || n != name)
                    })
                    .map(|((f, n), _)| {
                        if *f == file {
                            format!("`{n}`")
                        } else {
                            format!("`{}.{n}`", self.namespaces[*f])
                        }
                    })
                    .collect();
                let mut elsewhere = elsewhere;
                elsewhere.sort();
                if !elsewhere.is_empty() {
                    d = d.help(format!("did you mean {}?", elsewhere.join(" or ")));
                } else if [
                    "float", "double", "int", "char", "bool", "string", "usize", "isize",
                ]
                .contains(&name)
                {
                    d = d.help(PRIM_HELP);
                }
                self.diags.push(d);
                None
            }
        }
    }

    fn record(
        &mut self,
        file: usize,
        idx: usize,
        used_at: Option<(usize, Range<usize>)>,
    ) -> Option<&'static TypeLayout> {
        let raw = self.raws[file].as_ref().expect("file parsed").records[idx].clone();
        match self.records.get(&(file, idx)) {
            Some(RecState::Done(l)) => return *l,
            Some(RecState::Visiting) => {
                let start = self
                    .stack
                    .iter()
                    .position(|n| *n == raw.name.v)
                    .unwrap_or(0);
                let mut cycle: Vec<String> = self.stack[start..].to_vec();
                cycle.push(raw.name.v.clone());
                let (f, span) = used_at.unwrap_or((file, raw.name.span.clone()));
                self.diags.push(
                    Diagnostic::error(f, span, format!("reference cycle: {}", cycle.join(" -> ")))
                        .label("a record cannot contain itself, directly or through other records")
                        .note("shared memory holds values, not pointers, so a recursive record would be infinitely large"),
                );
                return None;
            }
            None => {}
        }
        self.records.insert((file, idx), RecState::Visiting);
        self.stack.push(raw.name.v.clone());
        let l = self.build_record(file, &raw);
        self.stack.pop();
        self.records.insert((file, idx), RecState::Done(l));
        l
    }

    fn build_record(&mut self, file: usize, raw: &RawRecord) -> Option<&'static TypeLayout> {
        let mut fields: Vec<Field> = Vec::new();
        let mut cursor = 0usize;
        let mut max_align = 1usize;
        let mut ok = true;
        let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
        for (fi, f) in raw.fields.iter().enumerate() {
            if !check_ident(
                &mut Ctx {
                    file,
                    diags: &mut self.diags,
                },
                &f.name,
                "field name",
            ) {
                ok = false;
            }
            if let Some(prev) = seen.get(f.name.v.as_str()) {
                let (pl, _) = (prev.start, ());
                let _ = pl;
                self.diags.push(
                    Diagnostic::error(
                        file,
                        f.name.span.clone(),
                        format!(
                            "duplicate field name `{}` in record `{}`",
                            f.name.v, raw.name.v
                        ),
                    )
                    .label("defined twice"),
                );
                ok = false;
            }
            seen.insert(&f.name.v, f.name.span.clone());
            let Some(t) = self.resolve(file, &f.ty) else {
                ok = false;
                continue;
            };
            let offset = align_to(cursor as u64, t.align as u64) as usize;
            if offset > cursor {
                let gap = offset - cursor;
                let after = if fi == 0 {
                    "the start".to_owned()
                } else {
                    format!("field `{}`", raw.fields[fi - 1].name.v)
                };
                self.diags.push(
                    Diagnostic::error(
                        file,
                        f.name.span.clone(),
                        format!("record `{}` would have {gap} byte{} of padding before field `{}`", raw.name.v, if gap == 1 { "" } else { "s" }, f.name.v),
                    )
                    .label(format!("this field is {}-aligned: it would start at offset {offset}, not {cursor}", t.align))
                    .note(format!("the padding would sit after {after}, at offsets {cursor}..{offset}"))
                    .help(format!("add an explicit filler before it: `{{ pad = {gap} }}` or `{{ name = \"_reserved{fi}\", type = \"u8[{gap}]\" }}`, or reorder the fields")),
                );
                ok = false;
            }
            max_align = max_align.max(t.align);
            fields.push(Field {
                name: leak_str(&f.name.v),
                offset,
                layout: t,
                doc: leak_str(&f.doc),
            });
            cursor = offset + t.size;
        }
        let mut align = max_align;
        if let Some(a) = &raw.align {
            if a.v <= 0 || (a.v & (a.v - 1)) != 0 {
                self.diags.push(Diagnostic::error(
                    file,
                    a.span.clone(),
                    format!("alignment {} is not a power of two", a.v),
                ));
                ok = false;
            } else if a.v > 8 {
                self.diags.push(
                    Diagnostic::error(file, a.span.clone(), format!("alignment {} is above the maximum of 8", a.v))
                        .label("ZeroIPC places every structure at an 8-aligned offset, so larger alignments cannot be honoured"),
                );
                ok = false;
            } else {
                align = align.max(a.v as usize);
            }
        }
        if raw.fields.is_empty() {
            if !raw.has_fields {
                return None;
            }
            self.diags.push(
                Diagnostic::error(
                    file,
                    raw.name.span.clone(),
                    format!("record `{}` has no fields", raw.name.v),
                )
                .label("zero-sized records are not allowed"),
            );
            return None;
        }
        let size = align_to(cursor as u64, align as u64) as usize;
        if size > cursor && ok {
            let gap = size - cursor;
            let last = &raw.fields[raw.fields.len() - 1].name.v;
            self.diags.push(
                Diagnostic::error(
                    file,
                    raw.name.span.clone(),
                    format!("record `{}` would have {gap} byte{} of trailing padding", raw.name.v, if gap == 1 { "" } else { "s" }),
                )
                .label(format!("its fields end at offset {cursor}, its alignment is {align}, so its size would be {size}"))
                .note(format!("the padding would sit after the last field `{last}`, at offsets {cursor}..{size}"))
                .help(format!("add a last field `{{ pad = {gap} }}` or `{{ name = \"_reserved\", type = \"u8[{gap}]\" }}`")),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(leak(TypeLayout {
            name: leak_str(&raw.name.v),
            size,
            align,
            kind: Kind::Struct {
                fields: Box::leak(fields.into_boxed_slice()),
            },
            doc: leak_str(&raw.doc),
        }))
    }
}

fn qualified(ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{ns}.{name}"),
        None => name.to_owned(),
    }
}

fn prim_range(p: Prim) -> (i128, i128) {
    match p {
        Prim::U8 => (0, u8::MAX as i128),
        Prim::U16 => (0, u16::MAX as i128),
        Prim::U32 => (0, u32::MAX as i128),
        Prim::U64 => (0, u64::MAX as i128),
        Prim::I8 => (i8::MIN as i128, i8::MAX as i128),
        Prim::I16 => (i16::MIN as i128, i16::MAX as i128),
        Prim::I32 => (i32::MIN as i128, i32::MAX as i128),
        Prim::I64 => (i64::MIN as i128, i64::MAX as i128),
        Prim::F32 | Prim::F64 => (i64::MIN as i128, i64::MAX as i128),
    }
}

/// Compiles a set of schema files.
pub fn compile(sources: Vec<Source>) -> Compiled {
    let mut diags = Vec::new();
    let raws = read_files(&sources, &mut diags);
    let namespaces = assign_namespaces(&sources, &raws, &mut diags);
    let mut res = Resolver {
        raws: &raws,
        namespaces: &namespaces,
        names: HashMap::new(),
        consts: HashMap::new(),
        enums: HashMap::new(),
        records: HashMap::new(),
        stack: Vec::new(),
        diags: Vec::new(),
    };
    let type_namespace = register_names(&sources, &raws, &namespaces, &mut res);
    let mut constants = read_constants(&raws, &mut res);
    resolve_types(&raws, &mut res);
    let files = build_files(&raws, &namespaces, &mut constants, &mut res);
    diags.extend(res.diags);
    diags.sort_by(|a, b| {
        (a.file, a.span.start, a.severity).cmp(&(b.file, b.span.start, b.severity))
    });
    diags.dedup();
    Compiled {
        sources,
        files,
        diagnostics: diags,
        type_namespace,
    }
}

/// Stage "read": each source parsed as TOML and its tables extracted
/// (`None` for a file with a syntax error, reported).
fn read_files(sources: &[Source], diags: &mut Vec<Diagnostic>) -> Vec<Option<RawFile>> {
    let mut raws: Vec<Option<RawFile>> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        match node::parse(&s.text) {
            Ok(root) => {
                let mut ctx = Ctx { file: i, diags };
                raws.push(Some(extract(&mut ctx, &root)));
            }
            Err((msg, span)) => {
                let msg: Vec<&str> = msg
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                let msg = if msg.is_empty() {
                    "invalid TOML".to_owned()
                } else {
                    msg.join(": ")
                };
                diags.push(Diagnostic::error(
                    i,
                    span,
                    format!("TOML syntax error: {msg}"),
                ));
                raws.push(None);
            }
        }
    }
    raws
}

/// Each file's namespace: its `namespace` key or its file stem, unique.
fn assign_namespaces(
    sources: &[Source],
    raws: &[Option<RawFile>],
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut namespaces: Vec<String> = Vec::new();
    let mut ns_first: HashMap<String, usize> = HashMap::new();
    for (i, r) in raws.iter().enumerate() {
        let ns = match r.as_ref().and_then(|r| r.namespace.clone()) {
            Some(n) => n.v,
            None => {
                let stem = Path::new(&sources[i].name)
                    .file_stem()
                    .map(|s| s.to_string_lossy().replace('-', "_"))
                    .unwrap_or_default();
                let reserved = RESERVED_NAMESPACES.contains(&stem.as_str())
                    || RUST_UNUSABLE.contains(&stem.as_str());
                if r.is_some() && (!is_ident(&stem) || reserved) {
                    let why = if reserved {
                        "is reserved"
                    } else {
                        "is not an identifier"
                    };
                    diags.push(
                        Diagnostic::error(
                            i,
                            0..0,
                            format!("file name `{stem}` {why}, so it cannot be the namespace"),
                        )
                        .help("add `namespace = \"...\"` at the top of the file"),
                    );
                }
                stem
            }
        };
        if r.is_some() {
            if let Some(&other) = ns_first.get(&ns) {
                let span = r
                    .as_ref()
                    .and_then(|r| r.namespace.as_ref())
                    .map(|n| n.span.clone())
                    .unwrap_or(0..0);
                diags.push(
                    Diagnostic::error(
                        i,
                        span,
                        format!("namespace `{ns}` is also used by {}", sources[other].name),
                    )
                    .help("each schema file needs its own namespace"),
                );
            } else {
                ns_first.insert(ns.clone(), i);
            }
        }
        namespaces.push(ns);
    }
    namespaces
}

/// Registers every record, enum and segment name in `res.names`; they share
/// one global namespace (type names are part of the layout fingerprint).
/// Returns each type's namespace.
fn register_names(
    sources: &[Source],
    raws: &[Option<RawFile>],
    namespaces: &[String],
    res: &mut Resolver,
) -> BTreeMap<String, String> {
    let mut global: HashMap<String, (usize, Range<usize>)> = HashMap::new();
    let mut type_namespace = BTreeMap::new();
    for (fi, r) in raws.iter().enumerate() {
        let Some(r) = r else { continue };
        let items = r
            .enums
            .iter()
            .enumerate()
            .map(|(i, e)| (&e.name, TypeRef::Enum(i), "enum"))
            .chain(
                r.records
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (&x.name, TypeRef::Record(i), "record")),
            )
            .chain(
                r.segments
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (&x.name, TypeRef::Segment(i), "segment")),
            );
        for (name, tr, what) in items {
            let mut ctx = Ctx {
                file: fi,
                diags: &mut res.diags,
            };
            if !check_plain_name(&mut ctx, name, &format!("{what} name")) {
                continue;
            }
            if Prim::from_rust_name(&name.v).is_some() || name.v == "str" {
                res.diags.push(Diagnostic::error(
                    fi,
                    name.span.clone(),
                    format!("`{}` is a built-in type name", name.v),
                ));
                continue;
            }
            if let Some((of, ospan)) = global.get(&name.v) {
                let (l, c) = diag::line_col(&sources[*of].text, ospan.start);
                res.diags.push(
                    Diagnostic::error(fi, name.span.clone(), format!("duplicate name `{}`", name.v))
                        .label(format!("{what} `{}` is already defined at {}:{l}:{c}", name.v, sources[*of].name))
                        .note("record, enum and segment names are global to the schema folder: a type's name is part of its layout fingerprint"),
                );
                continue;
            }
            global.insert(name.v.clone(), (fi, name.span.clone()));
            if !matches!(tr, TypeRef::Segment(_)) {
                type_namespace.insert(name.v.clone(), namespaces[fi].clone());
            }
            res.names.insert((fi, name.v.clone()), tr);
        }
    }
    type_namespace
}

/// Every file's constants, checked and registered in `res.consts`.
fn read_constants(raws: &[Option<RawFile>], res: &mut Resolver) -> Vec<Vec<Constant>> {
    let mut constants: Vec<Vec<Constant>> = vec![Vec::new(); raws.len()];
    for (fi, r) in raws.iter().enumerate() {
        let Some(r) = r else { continue };
        let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
        for c in &r.constants {
            let mut ctx = Ctx {
                file: fi,
                diags: &mut res.diags,
            };
            if !check_plain_name(&mut ctx, &c.name, "constant name") {
                continue;
            }
            if seen.contains_key(c.name.v.as_str()) {
                res.diags.push(
                    Diagnostic::error(
                        fi,
                        c.name.span.clone(),
                        format!("duplicate constant `{}`", c.name.v),
                    )
                    .label("defined twice in this file"),
                );
                continue;
            }
            seen.insert(&c.name.v, c.name.span.clone());
            if res.names.contains_key(&(fi, c.name.v.clone())) {
                res.diags.push(
                    Diagnostic::error(
                        fi,
                        c.name.span.clone(),
                        format!(
                            "constant `{}` has the name of a type of this file",
                            c.name.v
                        ),
                    )
                    .label("Python and C++ put constants and types in one namespace"),
                );
                continue;
            }
            if let Some(v) = const_value(fi, c, &mut res.diags) {
                res.consts.insert((fi, c.name.v.clone()), v.clone());
                constants[fi].push(Constant {
                    name: c.name.v.clone(),
                    value: v,
                    doc: c.doc.clone(),
                });
            }
        }
    }
    constants
}

/// Stage "resolve types" and "lay out records": every enum, then every
/// record (each once, dependencies on demand, cycles detected).
fn resolve_types(raws: &[Option<RawFile>], res: &mut Resolver) {
    for (fi, r) in raws.iter().enumerate() {
        let Some(r) = r else { continue };
        for (ei, e) in r.enums.iter().enumerate() {
            if let Some(l) = build_enum(fi, e, &mut res.diags) {
                res.enums.insert((fi, ei), l);
            }
        }
    }
    // Records (each once, dependencies on demand, cycles detected).
    for (fi, r) in raws.iter().enumerate() {
        let Some(r) = r else { continue };
        for ri in 0..r.records.len() {
            if res.names.get(&(fi, r.records[ri].name.v.clone())) == Some(&TypeRef::Record(ri)) {
                res.record(fi, ri, None);
            }
        }
    }
}

/// Stage "build segments": each file's types in source order, its
/// constants and its segments.
fn build_files(
    raws: &[Option<RawFile>],
    namespaces: &[String],
    constants: &mut [Vec<Constant>],
    res: &mut Resolver,
) -> Vec<FileDef> {
    let mut files = Vec::new();
    for (fi, r) in raws.iter().enumerate() {
        let Some(r) = r else { continue };
        let mut types = Vec::new();
        let mut order: Vec<(usize, &'static TypeLayout)> = Vec::new();
        for (ei, e) in r.enums.iter().enumerate() {
            if let Some(l) = res.enums.get(&(fi, ei)) {
                order.push((e.name.span.start, l));
            }
        }
        for (ri, x) in r.records.iter().enumerate() {
            if let Some(RecState::Done(Some(l))) = res.records.get(&(fi, ri)) {
                order.push((x.name.span.start, l));
            }
        }
        order.sort_by_key(|(pos, _)| *pos);
        types.extend(order.into_iter().map(|(_, l)| l));
        let mut segments = Vec::new();
        for s in &r.segments {
            if let Some(seg) = segment::build_segment(fi, s, res) {
                segments.push(seg);
            }
        }
        files.push(FileDef {
            source: fi,
            namespace: namespaces[fi].clone(),
            doc: r.doc.clone(),
            types,
            constants: std::mem::take(&mut constants[fi]),
            segments,
        });
    }
    files
}

fn const_value(file: usize, c: &RawConst, diags: &mut Vec<Diagnostic>) -> Option<ConstValue> {
    let ty = match &c.ty {
        None => None,
        Some(t) if t.v == "str" => Some(None),
        Some(t) => match Prim::from_rust_name(&t.v) {
            Some(p) => Some(Some(p)),
            None => {
                diags.push(
                    Diagnostic::error(
                        file,
                        t.span.clone(),
                        format!("unknown constant type `{}`", t.v),
                    )
                    .help("a constant is a primitive (u8..u64, i8..i64, f32, f64) or `str`"),
                );
                return None;
            }
        },
    };
    let span = c.value.span.clone();
    let mismatch = |diags: &mut Vec<Diagnostic>, what: &str| {
        diags.push(Diagnostic::error(
            file,
            span.clone(),
            format!("constant `{}`: {what}", c.name.v),
        ));
        None
    };
    match (&c.value.v, ty) {
        (Node::Int(v), None) => Some(ConstValue::Int(*v, Prim::I64)),
        (Node::Int(v), Some(Some(p))) if p.is_integer() => {
            let (lo, hi) = prim_range(p);
            if (*v as i128) < lo || (*v as i128) > hi {
                return mismatch(diags, &format!("{v} does not fit in {}", p.rust_name()));
            }
            Some(ConstValue::Int(*v, p))
        }
        (Node::Int(v), Some(Some(p))) => Some(ConstValue::Float(*v as f64, p)),
        (Node::Float(v), None) => Some(ConstValue::Float(*v, Prim::F64)),
        (Node::Float(v), Some(Some(p))) if !p.is_integer() => Some(ConstValue::Float(*v, p)),
        (Node::Str(s), None) | (Node::Str(s), Some(None)) => Some(ConstValue::Str(s.clone())),
        (other, _) => {
            let k = other.kind();
            let want = match &c.ty {
                Some(t) => format!("a value of type `{}`", t.v),
                None => "an integer, a float or a string".to_owned(),
            };
            mismatch(diags, &format!("expected {want}, found {k}"))
        }
    }
}

fn build_enum(
    file: usize,
    e: &RawEnum,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'static TypeLayout> {
    let repr = match &e.repr {
        None => {
            diags.push(
                Diagnostic::error(
                    file,
                    e.name.span.clone(),
                    format!("enum `{}` has no `repr`", e.name.v),
                )
                .help("open enums need an explicit integer type, e.g. `repr = \"u8\"`"),
            );
            return None;
        }
        Some(r) => match Prim::from_rust_name(&r.v) {
            Some(p) if p.is_integer() => p,
            _ => {
                diags.push(
                    Diagnostic::error(file, r.span.clone(), format!("invalid enum repr `{}`", r.v))
                        .label("expected one of u8, u16, u32, u64, i8, i16, i32, i64"),
                );
                return None;
            }
        },
    };
    if e.values.is_empty() {
        diags.push(Diagnostic::error(
            file,
            e.name.span.clone(),
            format!("enum `{}` has no values", e.name.v),
        ));
        return None;
    }
    let (lo, hi) = prim_range(repr);
    let mut ok = true;
    let mut next: i128 = 0;
    let mut variants = Vec::new();
    let mut names: HashMap<&str, ()> = HashMap::new();
    let mut values: HashMap<i128, &str> = HashMap::new();
    for v in &e.values {
        let mut ctx = Ctx { file, diags };
        if !check_ident(&mut ctx, &v.name, "enum value name") {
            ok = false;
        }
        if names.insert(&v.name.v, ()).is_some() {
            diags.push(Diagnostic::error(
                file,
                v.name.span.clone(),
                format!("duplicate value name `{}` in enum `{}`", v.name.v, e.name.v),
            ));
            ok = false;
        }
        let (value, span) = match &v.value {
            Some(x) => (x.v as i128, x.span.clone()),
            None => (next, v.name.span.clone()),
        };
        if value < lo || value > hi {
            diags.push(
                Diagnostic::error(
                    file,
                    span.clone(),
                    format!(
                        "value {value} of `{}` does not fit in {}",
                        v.name.v,
                        repr.rust_name()
                    ),
                )
                .label(format!("{} holds {lo}..={hi}", repr.rust_name())),
            );
            ok = false;
        }
        if let Some(other) = values.get(&value) {
            diags.push(
                Diagnostic::error(
                    file,
                    span,
                    format!("`{}` has the same value {value} as `{other}`", v.name.v),
                )
                .note("each value must be distinct (Rust enum discriminants are unique)"),
            );
            ok = false;
        }
        values.insert(value, &v.name.v);
        next = value + 1;
        variants.push(Variant {
            name: leak_str(&v.name.v),
            value: value as i64,
            doc: leak_str(&v.doc),
        });
    }
    if !ok {
        return None;
    }
    Some(leak(TypeLayout {
        name: leak_str(&e.name.v),
        size: repr.size(),
        align: repr.size(),
        kind: Kind::OpenEnum {
            repr,
            variants: Box::leak(variants.into_boxed_slice()),
        },
        doc: leak_str(&e.doc),
    }))
}

/// Longest table-entry name suffix a kind adds.
fn longest_suffix(kind: StructureKind, elem: Option<&TypeLayout>, cap: u64) -> &'static str {
    // The catalogue's parts for a stand-in shape of the same form (byte
    // elements, the smallest capacity of the same kind: buffered or not);
    // only the suffixes matter here, not the sizes.
    let byte = ElemLayout::of::<u8>();
    let (elem, value) = match kind.element_use() {
        ElementUse::None => (None, None),
        ElementUse::Optional => (elem.map(|_| byte), None),
        ElementUse::Required => (Some(byte), None),
        ElementUse::KeyValue => (Some(byte), Some(byte)),
    };
    let capacity = if cap == 0 && kind == StructureKind::Channel {
        0
    } else {
        kind.stored_capacity(1).unwrap_or(0)
    };
    let shape = Shape {
        elem,
        value,
        capacity,
    };
    kind.parts(&shape).map_or("", |parts| {
        // The first of the longest (a stream's `_header` before `_buffer`).
        parts.iter().map(|p| p.suffix).fold(
            "",
            |longest, s| {
                if s.len() > longest.len() {
                    s
                } else {
                    longest
                }
            },
        )
    })
}

/// The Rust-style spelling of a type for canonical text and messages.
pub fn type_text(t: &TypeLayout) -> String {
    match t.kind {
        Kind::Prim(p) => p.rust_name().to_owned(),
        Kind::FixedStr { len } => format!("FixedStr<{len}>"),
        Kind::Array { elem, len } => format!("[{}; {len}]", type_text(elem)),
        Kind::OpenEnum { .. } | Kind::Struct { .. } => t.name.to_owned(),
    }
}

/// Bytes of the `__schema` entry holding `canonical`.
pub fn schema_entry_size(canonical: &str) -> u64 {
    crate::schema_entry::HEADER_LEN as u64 + canonical.len() as u64
}

fn format_float(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The canonical schema text of a segment (stored in `__schema`; its
/// FNV-1a 64 is the segment's schema fingerprint). See docs/SCHEMA.md.
pub fn canonical_text(segment: &str, structures: &[Structure]) -> String {
    let mut out = format!("zeroipc-schema 1\nsegment {segment}\n");
    let mut roots = Vec::new();
    for s in structures {
        let mut line = format!("structure {} {}", s.name, s.kind.name());
        if let Some(e) = s.elem {
            line.push(' ');
            line.push_str(&type_text(e));
            roots.push(e);
        }
        if let Some(v) = s.value {
            line.push(' ');
            line.push_str(&type_text(v));
            roots.push(v);
        }
        let p = &s.params;
        match s.kind {
            k if kinds::has_capacity(k, s.elem.is_some()) => {
                line.push_str(&format!(" capacity={}", p.capacity))
            }
            StructureKind::Semaphore => {
                line.push_str(&format!(" initial={} max={}", p.initial, p.max))
            }
            StructureKind::Barrier => line.push_str(&format!(" participants={}", p.participants)),
            StructureKind::Latch => line.push_str(&format!(" count={}", p.count)),
            StructureKind::Event => line.push_str(if p.manual {
                " mode=manual"
            } else {
                " mode=auto"
            }),
            StructureKind::Lazy => line.push_str(&format!(" value={}", p.value)),
            _ => {}
        }
        out.push_str(&line);
        out.push('\n');
    }
    if let Ok(types) = crate::emit::collect_types(&roots) {
        for t in types {
            let kind = match t.kind {
                Kind::OpenEnum { repr, .. } => format!("enum {}", repr.rust_name()),
                _ => format!("struct size={} align={}", t.size, t.align),
            };
            out.push_str(&format!(
                "type {} {kind} fingerprint={:#018x}\n",
                t.name,
                t.fingerprint()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_expressions_parse_with_spans() {
        use crate::types::parse;
        let e = parse("common.Vec3[4][N]").unwrap();
        assert!(
            matches!(&e.base, Base::Named { ns: Some(ns), name } if ns == "common" && name == "Vec3")
        );
        assert_eq!(e.base_span, 0..11);
        assert!(matches!(e.dims[0].0, Dim::Lit(4)));
        assert!(matches!(&e.dims[1].0, Dim::Const(None, n) if n == "N"));
        assert_eq!(e.dims[1].1, 15..16);
        let e = parse("str<16>[2]").unwrap();
        assert!(matches!(e.base, Base::Str(Dim::Lit(16), _)));
        assert_eq!(parse("u8[1_000]").unwrap().dims.len(), 1);
        assert!(parse("f32[4").is_err());
        assert!(parse("[4]f32").is_err());
        assert!(parse("str<>").is_err());
        assert_eq!(parse("f32 x").unwrap_err().span, 4..5);
    }

    #[test]
    fn sub_spans_point_inside_the_string_literal() {
        // `type = "Vec4"` with the literal at 7..13: the name is at 8..12.
        assert_eq!(sub_span(&(7..13), &(0..4)), 8..12);
    }

    #[test]
    fn the_cli_spellings_of_arrays_and_strings_are_accepted() {
        let c = compile(vec![Source::new(
            "t.toml",
            r#"
[constants]
N = 3
[records.R]
fields = [
  { name = "a", type = "[u16; 2]" },
  { name = "b", type = "[[u8; 2]; N]" },
  { name = "s", type = "str[6]" },
  { name = "r", type = "bytes[4]" },
  { name = "t", type = "[str<2>; 2][2]" },
]
"#,
        )]);
        assert!(c.diagnostics.is_empty(), "{}", c.render_diagnostics());
        let r = &c.files[0].types[0];
        assert_eq!(r.size, 4 + 6 + 6 + 4 + 8);
        let Kind::Struct { fields } = r.kind else {
            panic!("a record")
        };
        let offsets: Vec<usize> = fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 4, 10, 16, 20]);
        assert_eq!(type_text(fields[2].layout), type_text(types::fixed_str(6)));
        // Inline records and C spellings are the inspector's only.
        for bad in ["{a: u8}", "double", "[u8; 0]"] {
            let src = format!("[records.X]\nfields = [{{ name = \"a\", type = \"{bad}\" }}]\n");
            let c = compile(vec![Source::new("t.toml", src)]);
            assert!(!c.diagnostics.is_empty(), "{bad} accepted");
        }
    }

    #[test]
    fn layouts_follow_c_rules() {
        let c = compile(vec![Source::new(
            "t.toml",
            r#"
[records.In]
fields = [{ name = "a", type = "u16" }, { name = "b", type = "u8[2]" }]
[records.Out]
align = 8
fields = [
  { name = "x", type = "In[3]" },
  { name = "s", type = "str<4>" },
]
"#,
        )]);
        assert!(c.diagnostics.is_empty(), "{}", c.render_diagnostics());
        let t = &c.files[0].types;
        assert_eq!((t[0].size, t[0].align), (4, 2));
        assert_eq!((t[1].size, t[1].align), (16, 8));
        let Kind::Struct { fields } = t[1].kind else {
            panic!()
        };
        assert_eq!(fields[1].offset, 12);
    }
}
