//! numpy emitter: one Python module with a structured `np.dtype` per struct
//! (explicit names, formats, offsets and itemsize), an `enum.IntEnum` per
//! open enum, the canonical layout of every type as nested tuples, and
//! import-time checks that the dtypes agree with those layouts and that the
//! FNV-1a fingerprint computed in Python equals the one Rust computed.
//!
//! Names in the module, for a struct `Reading` and an enum `Mode`:
//! `Reading` (the dtype), `Reading_LAYOUT`, `Reading_FINGERPRINT`; `Mode`
//! (the IntEnum), `Mode_DTYPE` (its integer dtype), `Mode_LAYOUT`,
//! `Mode_FINGERPRINT`; `TYPES` maps each name to `(dtype, fingerprint)`.

use super::{
    array_dims, collect_types, doc_lines, EmitError, Options, Resolver, GENERATOR_VERSION,
};
use std::fmt::Write as _;
use zeroipc::layout::{Kind, TypeLayout};

/// Python keywords (also `None`, `True`, `False`): such enum member names
/// get a trailing `_` in the class (their canonical name is unchanged).
pub(crate) const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Names an `IntEnum` member cannot take.
const ENUM_RESERVED: &[&str] = &["name", "value", "mro"];

/// A Python identifier for an enum member or constant.
pub fn py_ident(name: &str) -> String {
    if PY_KEYWORDS.contains(&name) || ENUM_RESERVED.contains(&name) || name.starts_with('_') {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// A Python string literal (double quotes, escaped).
pub fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The helpers every generated module carries: FNV-1a 64, the canonical
/// form of `layout.rs`, the dtype check, `_require`.
pub const HELPERS: &str = r#"_Layout = Tuple[Any, ...]

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_M64 = (1 << 64) - 1
_NUMPY_FORMATS = {
    "u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8",
    "i8": "i1", "i16": "<i2", "i32": "<i4", "i64": "<i8",
    "f32": "<f4", "f64": "<f8",
}


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ImportError(f"{__name__}: layout check failed: {what}")


def _fnv(h: int, data: bytes) -> int:
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & _M64
    return h


def _fnv_u64(h: int, v: int) -> int:
    return _fnv(h, (v & _M64).to_bytes(8, "little"))


def _fnv_str(h: int, s: str) -> int:
    b = s.encode("utf-8")
    return _fnv(_fnv_u64(h, len(b)), b)


def _canonical(h: int, t: _Layout) -> int:
    """FNV-1a 64 over the canonical form documented in zeroipc/src/layout.rs."""
    k = t[0]
    if k == "P":
        return _fnv_str(_fnv(h, b"P"), t[1])
    if k == "A":
        return _canonical(_fnv_u64(_fnv(h, b"A"), t[1]), t[2])
    if k == "T":
        return _fnv_u64(_fnv(h, b"T"), t[1])
    if k == "E":
        h = _canonical(_fnv_str(_fnv(h, b"E"), t[1]), ("P", t[2]))
        h = _fnv_u64(h, len(t[3]))
        for name, value in t[3]:
            h = _fnv_u64(_fnv_str(h, name), value)
        return h
    if k == "S":
        h = _fnv_str(_fnv(h, b"S"), t[1])
        h = _fnv_u64(_fnv_u64(_fnv_u64(h, t[2]), t[3]), len(t[4]))
        for name, offset, ft in t[4]:
            h = _canonical(_fnv_u64(_fnv_str(h, name), offset), ft)
        return h
    raise ValueError(f"unknown layout kind {k!r}")


def fingerprint(t: _Layout) -> int:
    """The 64-bit layout fingerprint, as zeroipc's TypeLayout::fingerprint."""
    return _canonical(_FNV_OFFSET, t)


def _dtype_matches(dt: np.dtype, t: _Layout) -> bool:
    k = t[0]
    if k == "P":
        return dt == np.dtype(_NUMPY_FORMATS[t[1]])
    if k == "E":
        return dt == np.dtype(_NUMPY_FORMATS[t[2]])
    if k == "T":
        return dt == np.dtype(f"S{t[1]}")
    if k == "A":
        dims = []
        while t[0] == "A":
            dims.append(t[1])
            t = t[2]
        return dt.shape == tuple(dims) and _dtype_matches(dt.base, t)
    if k == "S":
        fields = dt.fields
        if fields is None or dt.names is None or list(dt.names) != [f[0] for f in t[4]]:
            return False
        if dt.itemsize != t[2]:
            return False
        for name, offset, ft in t[4]:
            sub, off = fields[name][:2]
            if off != offset or not _dtype_matches(sub, ft):
                return False
        return True
    return False


def _check_type(dt: np.dtype, t: _Layout, size: int, fp: int) -> None:
    _require(dt.itemsize == size, f"{t[1]}: itemsize {dt.itemsize} != {size}")
    _require(_dtype_matches(dt, t), f"{t[1]}: dtype {dt} does not match its layout")
    if t[0] == "S":
        _require(dt.alignment == t[3], f"{t[1]}: dtype alignment {dt.alignment} != {t[3]}")
    _require(fingerprint(t) == fp, f"{t[1]}: fingerprint {fingerprint(t):#018x} != {fp:#018x}")
"#;

/// A whole standalone module for `roots` and every type they use.
///
/// ```
/// use zeroipc::ShmElement;
/// use zeroipc_gen::emit::{python, Options};
/// let src = python::module(&[<[u16; 2]>::LAYOUT], &Options::new("m")).unwrap();
/// assert!(src.starts_with("# Generated by zeroipc-gen"));
/// ```
pub fn module(roots: &[&'static TypeLayout], opts: &Options) -> Result<String, EmitError> {
    let types = collect_types(roots)?;
    let mut out = preamble(opts);
    out.push_str(HELPERS);
    out.push_str(&render_types(&types, &super::Local)?);
    out.push_str(&types_table(&types));
    Ok(out)
}

/// Header comment, module docstring and imports.
pub fn preamble(opts: &Options) -> String {
    let mut out = format!("# Generated by zeroipc-gen {GENERATOR_VERSION}. Do not edit.\n");
    for l in &opts.header_lines {
        let _ = writeln!(out, "# {l}");
    }
    let doc = doc_lines(&opts.doc);
    if doc.is_empty() {
        let _ = writeln!(
            out,
            "\"\"\"Shared-memory types of `{}` (numpy dtypes).\"\"\"",
            opts.namespace
        );
    } else {
        out.push_str("\"\"\"");
        out.push_str(&doc.join("\n").replace("\"\"\"", "'''"));
        out.push_str("\n\"\"\"\n");
    }
    out.push_str("\nfrom __future__ import annotations\n\nimport enum\nfrom typing import Any, Dict, Tuple\n\nimport numpy as np\n\n");
    out
}

/// `TYPES = {name: (dtype, fingerprint)}` for the given types.
pub fn types_table(types: &[&'static TypeLayout]) -> String {
    let mut out = String::from("\n\n#: Every type of this module: name -> (dtype, fingerprint).\nTYPES: Dict[str, Tuple[np.dtype, int]] = {\n");
    for t in types {
        let dt = match t.kind {
            Kind::OpenEnum { .. } => format!("{}_DTYPE", t.name),
            _ => t.name.to_owned(),
        };
        let _ = writeln!(
            out,
            "    {}: ({dt}, {}_FINGERPRINT),",
            py_str(t.name),
            t.name
        );
    }
    out.push_str("}\n");
    out
}

fn qualified(t: &TypeLayout, resolver: &dyn Resolver, suffix: &str) -> String {
    match resolver.foreign_namespace(t) {
        Some(ns) => format!("_ns_{ns}.{}{suffix}", t.name),
        None => format!("{}{suffix}", t.name),
    }
}

/// numpy format of a field type, as Python source (foreign types via `resolver`).
pub fn format_of(t: &'static TypeLayout, resolver: &dyn Resolver) -> String {
    match t.kind {
        Kind::Prim(p) => py_str(p.numpy()),
        Kind::FixedStr { len } => py_str(&format!("S{len}")),
        Kind::OpenEnum { repr, .. } => py_str(repr.numpy()),
        Kind::Struct { .. } => qualified(t, resolver, ""),
        Kind::Array { .. } => {
            let (inner, dims) = array_dims(t);
            let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            let shape = if dims.len() == 1 {
                format!("({},)", dims[0])
            } else {
                format!("({})", dims.join(", "))
            };
            format!("({}, {shape})", format_of(inner, resolver))
        }
    }
}

/// Canonical layout tuple of a type, as Python source (foreign types via `resolver`).
pub fn layout_of(t: &'static TypeLayout, resolver: &dyn Resolver) -> String {
    match t.kind {
        Kind::Prim(p) => format!("(\"P\", {})", py_str(p.rust_name())),
        Kind::FixedStr { len } => format!("(\"T\", {len})"),
        Kind::Array { elem, len } => format!("(\"A\", {len}, {})", layout_of(elem, resolver)),
        Kind::OpenEnum { .. } | Kind::Struct { .. } => qualified(t, resolver, "_LAYOUT"),
    }
}

fn comment_block(out: &mut String, doc: &str, indent: &str) {
    for l in doc_lines(doc) {
        if l.is_empty() {
            let _ = writeln!(out, "{indent}#");
        } else {
            let _ = writeln!(out, "{indent}# {l}");
        }
    }
}

fn one_line(doc: &str) -> String {
    doc_lines(doc).join(" ")
}

/// The definitions of `types` (which must be in dependency order), with
/// their import-time checks. Foreign types are referred to as
/// `_ns_<namespace>.<Name>` (the caller imports those modules).
pub fn render_types(
    types: &[&'static TypeLayout],
    resolver: &dyn Resolver,
) -> Result<String, EmitError> {
    let mut out = String::new();
    for t in types {
        out.push_str("\n\n");
        match t.kind {
            Kind::OpenEnum { repr, variants } => {
                let _ = writeln!(out, "class {}(enum.IntEnum):", t.name);
                let doc = doc_lines(t.doc);
                if doc.is_empty() {
                    let _ = writeln!(
                        out,
                        "    \"\"\"Open enum over {} (other values may occur).\"\"\"",
                        repr.rust_name()
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "    \"\"\"{}\"\"\"",
                        doc.join("\n    ").replace("\"\"\"", "'''")
                    );
                }
                out.push('\n');
                for v in variants {
                    comment_block(&mut out, v.doc, "    ");
                    let _ = writeln!(
                        out,
                        "    {} = {}",
                        py_ident(v.name),
                        super::variant_value_text(repr, v.value)
                    );
                }
                if variants.is_empty() {
                    out.push_str("    pass\n");
                }
                out.push('\n');
                let _ = writeln!(
                    out,
                    "\n{}_DTYPE = np.dtype({})",
                    t.name,
                    py_str(repr.numpy())
                );
                let vals: Vec<String> = variants
                    .iter()
                    .map(|v| format!("({}, {})", py_str(v.name), v.value))
                    .collect();
                let vals = match vals.len() {
                    0 => "()".to_owned(),
                    1 => format!("({},)", vals[0]),
                    _ => format!("({})", vals.join(", ")),
                };
                let _ = writeln!(
                    out,
                    "{}_LAYOUT: _Layout = (\"E\", {}, {}, {vals})",
                    t.name,
                    py_str(t.name),
                    py_str(repr.rust_name())
                );
                let _ = writeln!(
                    out,
                    "{}_FINGERPRINT: int = {:#018x}",
                    t.name,
                    t.fingerprint()
                );
                let _ = writeln!(
                    out,
                    "_check_type({0}_DTYPE, {0}_LAYOUT, {1}, {0}_FINGERPRINT)",
                    t.name, t.size
                );
            }
            Kind::Struct { fields } => {
                comment_block(&mut out, t.doc, "");
                let _ = writeln!(out, "{} = np.dtype(", t.name);
                out.push_str("    {\n        \"names\": [\n");
                for f in fields {
                    let doc = one_line(f.doc);
                    if doc.is_empty() {
                        let _ = writeln!(out, "            {},", py_str(f.name));
                    } else {
                        let _ = writeln!(out, "            {},  # {doc}", py_str(f.name));
                    }
                }
                out.push_str("        ],\n        \"formats\": [\n");
                for f in fields {
                    let _ = writeln!(out, "            {},", format_of(f.layout, resolver));
                }
                out.push_str("        ],\n");
                let offs: Vec<String> = fields.iter().map(|f| f.offset.to_string()).collect();
                let _ = writeln!(out, "        \"offsets\": [{}],", offs.join(", "));
                let _ = writeln!(out, "        \"itemsize\": {},", t.size);
                // align=True: the dtype's alignment is the record's (numpy
                // checks the offsets against it), so zeroipc_rs and
                // np.dtype consumers see the C alignment, not 1.
                out.push_str("    },\n    align=True,\n)\n");
                let _ = writeln!(
                    out,
                    "{}_LAYOUT: _Layout = (\n    \"S\",\n    {},\n    {},\n    {},\n    (",
                    t.name,
                    py_str(t.name),
                    t.size,
                    t.align
                );
                for f in fields {
                    let _ = writeln!(
                        out,
                        "        ({}, {}, {}),",
                        py_str(f.name),
                        f.offset,
                        layout_of(f.layout, resolver)
                    );
                }
                out.push_str("    ),\n)\n");
                let _ = writeln!(
                    out,
                    "{}_FINGERPRINT: int = {:#018x}",
                    t.name,
                    t.fingerprint()
                );
                let _ = writeln!(
                    out,
                    "_check_type({0}, {0}_LAYOUT, {1}, {0}_FINGERPRINT)",
                    t.name, t.size
                );
            }
            _ => {
                return Err(EmitError::Unsupported(format!(
                    "python: {:?} is not a named type",
                    t.kind
                )))
            }
        }
    }
    Ok(out)
}
