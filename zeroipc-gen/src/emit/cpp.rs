//! C++17 emitter: a header with `#pragma once`, one namespace, an
//! `enum class X : <fixed type>` per open enum (an enum class with a fixed
//! underlying type holds any value of that type, so a value written by a
//! peer is never undefined behaviour), a plain struct per struct with
//! `static_assert`s on `sizeof`, `alignof` and the `offsetof` of every
//! field, and each layout's fingerprint as an `inline constexpr` named
//! `<Type>_fingerprint`.
//!
//! Fixed strings become `char name[N]`; multi-dimensional arrays
//! `T name[A][B]`. Field names that are C++ keywords get a trailing `_`.

use super::{
    array_dims, collect_types, doc_lines, EmitError, Options, Resolver, GENERATOR_VERSION,
};
use std::fmt::Write as _;
use zeroipc::layout::{Kind, Prim, TypeLayout};

pub(crate) const CPP_KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "concept",
    "const",
    "consteval",
    "constexpr",
    "constinit",
    "const_cast",
    "continue",
    "co_await",
    "co_return",
    "co_yield",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
    "int8_t",
    "int16_t",
    "int32_t",
    "int64_t",
    "uint8_t",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "size_t",
];

/// A C++ identifier for `name`: keywords and reserved spellings get a
/// trailing `_`, tuple-struct field names (`0`, `1`) a leading one.
pub fn cpp_ident(name: &str) -> String {
    let reserved_underscore =
        name.starts_with("_") && name[1..].starts_with(|c: char| c.is_ascii_uppercase());
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        // Tuple-struct fields ("0", "1", ...).
        format!("_{name}")
    } else if CPP_KEYWORDS.contains(&name) || reserved_underscore || name.contains("__") {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// A C++ string literal.
pub fn cpp_str(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            // Octal escapes stop after three digits, so the next character
            // can never be swallowed (unlike \x).
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

/// `std::uint32_t` etc.
pub fn prim_type(p: Prim) -> String {
    match p {
        Prim::F32 | Prim::F64 => p.c_name().to_owned(),
        _ => format!("std::{}", p.c_name()),
    }
}

/// An integer literal of type `p` (for enum values and constants).
pub fn int_literal(p: Prim, value: i64) -> String {
    if p.is_signed_integer() {
        if value == i64::MIN {
            "(-9223372036854775807LL - 1)".to_owned()
        } else if p == Prim::I64 {
            format!("{value}LL")
        } else {
            value.to_string()
        }
    } else {
        let text = super::variant_value_text(p, value);
        match p {
            Prim::U64 => format!("{text}ULL"),
            Prim::U32 => format!("{text}U"),
            _ => text,
        }
    }
}

/// A standalone header for `roots` and every type they use.
///
/// ```
/// use zeroipc::ShmElement;
/// use zeroipc_gen::emit::{cpp, Options};
/// let h = cpp::header(&[<[u16; 2]>::LAYOUT], &Options::new("demo")).unwrap();
/// assert!(h.contains("#pragma once") && h.contains("namespace demo {"));
/// ```
pub fn header(roots: &[&'static TypeLayout], opts: &Options) -> Result<String, EmitError> {
    let types = collect_types(roots)?;
    let mut out = preamble(opts, &[]);
    let _ = writeln!(out, "namespace {} {{", opts.namespace);
    out.push_str(&render_types(&types, &super::Local)?);
    let _ = writeln!(out, "\n}}  // namespace {}", opts.namespace);
    Ok(out)
}

/// Header comment, `#pragma once`, standard includes, then `includes`
/// (each a header name written between quotes).
pub fn preamble(opts: &Options, includes: &[String]) -> String {
    let mut out = format!("// Generated by zeroipc-gen {GENERATOR_VERSION}. Do not edit.\n");
    for l in &opts.header_lines {
        let _ = writeln!(out, "// {l}");
    }
    let doc = doc_lines(&opts.doc);
    if !doc.is_empty() {
        out.push_str("//\n");
        for l in doc {
            let _ = writeln!(out, "// {l}");
        }
    }
    out.push_str(
        "#pragma once\n\n#include <cstddef>\n#include <cstdint>\n#include <type_traits>\n",
    );
    for inc in includes {
        let _ = writeln!(out, "#include \"{inc}\"");
    }
    out.push('\n');
    out
}

fn qualified(t: &TypeLayout, resolver: &dyn Resolver) -> String {
    match resolver.foreign_namespace(t) {
        Some(ns) => format!("::{ns}::{}", t.name),
        None => t.name.to_owned(),
    }
}

/// The declarator of a field: (type, suffix), e.g. ("double", "[4][3]").
fn declarator(
    t: &'static TypeLayout,
    resolver: &dyn Resolver,
) -> Result<(String, String), EmitError> {
    let (inner, dims) = array_dims(t);
    let mut suffix = String::new();
    for d in &dims {
        if *d == 0 {
            return Err(EmitError::Unsupported(
                "C++ has no zero-length arrays; remove the [T; 0] field".to_owned(),
            ));
        }
        let _ = write!(suffix, "[{d}]");
    }
    let ty = match inner.kind {
        Kind::Prim(p) => prim_type(p),
        Kind::FixedStr { len } => {
            if len == 0 {
                return Err(EmitError::Unsupported(
                    "C++ has no zero-length arrays (FixedStr<0>)".to_owned(),
                ));
            }
            suffix.push_str(&format!("[{len}]"));
            "char".to_owned()
        }
        Kind::OpenEnum { .. } | Kind::Struct { .. } => qualified(inner, resolver),
        Kind::Array { .. } => unreachable!("array_dims strips arrays"),
    };
    Ok((ty, suffix))
}

fn doc_comment(out: &mut String, doc: &str, indent: &str) {
    for l in doc_lines(doc) {
        if l.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {l}");
        }
    }
}

/// Natural alignment of a C++ type built from these layouts.
fn natural_align(t: &TypeLayout) -> usize {
    match t.kind {
        Kind::Prim(p) => p.size(),
        Kind::OpenEnum { repr, .. } => repr.size(),
        Kind::FixedStr { .. } => 1,
        Kind::Array { elem, .. } => natural_align(elem),
        Kind::Struct { .. } => t.align,
    }
}

/// The definitions of `types` (dependency order), with their static_asserts
/// and fingerprints. Foreign types are written `::<namespace>::<Name>`.
pub fn render_types(
    types: &[&'static TypeLayout],
    resolver: &dyn Resolver,
) -> Result<String, EmitError> {
    let mut out = String::new();
    for t in types {
        out.push('\n');
        match t.kind {
            Kind::OpenEnum { repr, variants } => {
                doc_comment(&mut out, t.doc, "");
                let _ = writeln!(out, "enum class {} : {} {{", t.name, prim_type(repr));
                for v in variants {
                    doc_comment(&mut out, v.doc, "    ");
                    let _ = writeln!(
                        out,
                        "    {} = {},",
                        cpp_ident(v.name),
                        int_literal(repr, v.value)
                    );
                }
                out.push_str("};\n");
                let _ = writeln!(
                    out,
                    "static_assert(sizeof({0}) == {1}, \"{0}: size\");",
                    t.name, t.size
                );
            }
            Kind::Struct { fields } => {
                doc_comment(&mut out, t.doc, "");
                let max_field = fields
                    .iter()
                    .map(|f| natural_align(f.layout))
                    .max()
                    .unwrap_or(1);
                if t.align > max_field {
                    let _ = writeln!(out, "struct alignas({}) {} {{", t.align, t.name);
                } else {
                    let _ = writeln!(out, "struct {} {{", t.name);
                }
                for f in fields {
                    doc_comment(&mut out, f.doc, "    ");
                    let (ty, suffix) = declarator(f.layout, resolver)?;
                    let _ = writeln!(out, "    {ty} {}{suffix};", cpp_ident(f.name));
                }
                out.push_str("};\n");
                let n = t.name;
                let _ = writeln!(
                    out,
                    "static_assert(sizeof({n}) == {}, \"{n}: size\");",
                    t.size
                );
                let _ = writeln!(
                    out,
                    "static_assert(alignof({n}) == {}, \"{n}: alignment\");",
                    t.align
                );
                let _ = writeln!(
                    out,
                    "static_assert(std::is_standard_layout<{n}>::value && std::is_trivially_copyable<{n}>::value, \"{n}: plain data\");"
                );
                for f in fields {
                    let id = cpp_ident(f.name);
                    let _ = writeln!(
                        out,
                        "static_assert(offsetof({n}, {id}) == {}, \"{n}::{id}: offset\");",
                        f.offset
                    );
                }
            }
            _ => {
                return Err(EmitError::Unsupported(format!(
                    "C++: {:?} is not a named type",
                    t.kind
                )));
            }
        }
        let _ = writeln!(
            out,
            "/// Layout fingerprint of `{0}` (FNV-1a 64 of its canonical form).\ninline constexpr std::uint64_t {0}_fingerprint = {1:#018x}ULL;",
            t.name,
            t.fingerprint()
        );
    }
    Ok(out)
}
