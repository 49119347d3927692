//! Element types for the inspector: `--type` strings in the type grammar
//! the schema language uses too (`zeroipc_gen::types`, documented in
//! docs/SCHEMA.md and docs/CLI.md), built into [`TypeLayout`]s with C
//! layout rules, so a user can describe any element without a schema.
//!
//! Accepted: the primitives (`u8` .. `f64`, and the C spellings
//! `uint32_t`, `float`, `double`, ... of `zeroipc_gen::types::C_ALIASES`),
//! `T[N]` (C style) and `[T; N]` (Rust style) for the same array,
//! `str<N>` and `str[N]` for a NUL-padded UTF-8 string of `N` bytes,
//! `bytes[N]` for raw bytes, and `{field: T, ...}` (or `struct {...}`) for
//! a record laid out like a C struct. Records and enums of a schema are
//! chosen with `--schema PATH --record NAME`, and lengths are numbers
//! (constants are a schema's). Layouts are leaked to obtain the
//! `&'static` shape the layout model uses; an inspector process builds
//! only a handful.

use zeroipc::layout::{Kind, Prim, TypeLayout};
use zeroipc_gen::types::{self as grammar, leak, Base, Dim, FieldExpr, TypeExpr};

/// Parses a type expression (see the module docs).
///
/// ```
/// use zeroipc_cli::inspect::types::parse_type;
/// let rec = parse_type("{id: i32, x: f32, y: f64}").unwrap();
/// assert_eq!((rec.size, rec.align), (16, 8));
/// assert_eq!(parse_type("char[3]").unwrap().size, 3);
/// // The schema's spellings work too.
/// assert_eq!(parse_type("str<20>").unwrap().size, 20);
/// assert_eq!(parse_type("[u16; 4]").unwrap().size, 8);
/// assert!(parse_type("i33").is_err());
/// ```
pub fn parse_type(text: &str) -> Result<&'static TypeLayout, String> {
    let expr = grammar::parse(text).map_err(|e| {
        format!(
            "bad type {text:?} at column {}: {}",
            e.span.start + 1,
            e.message
        )
    })?;
    build(text, &expr)
}

/// Largest length and array size the inspector accepts (a segment holds
/// far less; the bound keeps a typo from allocating gigabytes).
const MAX_LEN: u64 = 1 << 30;

/// The layout of a parsed `--type` expression.
fn build(text: &str, e: &TypeExpr) -> Result<&'static TypeLayout, String> {
    let err = |span: &std::ops::Range<usize>, what: String| {
        format!("bad type {text:?} at column {}: {what}", span.start + 1)
    };
    let len = |d: &Dim, span: &std::ops::Range<usize>| match d {
        Dim::Lit(n) if (1..=MAX_LEN).contains(n) => Ok(*n as usize),
        Dim::Lit(_) => Err(err(span, "expected a length between 1 and 2^30".to_owned())),
        Dim::Const(..) => Err(err(
            span,
            "lengths are numbers here (constants are a schema's)".to_owned(),
        )),
    };
    let array = |t: &'static TypeLayout, n: usize, span| {
        grammar::array_of(t, n)
            .filter(|a| a.size as u64 <= MAX_LEN)
            .ok_or_else(|| err(span, "array too large".to_owned()))
    };
    let mut t = match &e.base {
        Base::Named { ns: None, name } => match grammar::prim_by_name(name, true) {
            Some(p) => p.layout(),
            None => {
                return Err(err(
                    &e.base_span,
                    format!(
                        "unknown type {name:?} (primitives: {}; a schema's records: --schema PATH --record NAME)",
                        grammar::PRIMITIVES.join(" ")
                    ),
                ))
            }
        },
        Base::Named { ns: Some(ns), name } => {
            return Err(err(
                &e.base_span,
                format!("{ns}.{name} is a schema's type: use --schema PATH --record {name}"),
            ))
        }
        Base::Str(d, span) => grammar::fixed_str(len(d, span)?),
        Base::Bytes(d, span) => raw_bytes(len(d, span)?),
        Base::Array(elem, d, span) => array(build(text, elem)?, len(d, span)?, span)?,
        Base::Record(fields) => record(text, fields, &e.base_span)?,
    };
    for (d, span) in e.dims.iter().rev() {
        t = array(t, len(d, span)?, span)?;
    }
    Ok(t)
}

/// An inline record: at least one field, names unique, C layout.
fn record(
    text: &str,
    fields: &[FieldExpr],
    span: &std::ops::Range<usize>,
) -> Result<&'static TypeLayout, String> {
    let err = |span: &std::ops::Range<usize>, what: String| {
        format!("bad type {text:?} at column {}: {what}", span.start + 1)
    };
    if fields.is_empty() {
        return Err(err(span, "a record needs at least one field".to_owned()));
    }
    let mut built: Vec<(String, &'static TypeLayout)> = Vec::new();
    for f in fields {
        if built.iter().any(|(n, _)| *n == f.name) {
            return Err(err(&f.name_span, format!("duplicate field {:?}", f.name)));
        }
        built.push((f.name.clone(), build(text, &f.ty)?));
    }
    grammar::c_struct(built).ok_or_else(|| err(span, "record too large".to_owned()))
}

/// The byte index of the first comma outside brackets (`u32,f64` has one;
/// `{a: u8, b: u8}` and `[u8; 2]` do not).
pub(crate) fn top_level_comma(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits `K,V` at the top-level comma (for maps), then parses both.
pub fn parse_key_value(text: &str) -> Result<(&'static TypeLayout, &'static TypeLayout), String> {
    match top_level_comma(text) {
        Some(i) => Ok((parse_type(&text[..i])?, parse_type(&text[i + 1..])?)),
        None => Err(format!(
            "a map needs two types, key and value: --type K,V (got {text:?})"
        )),
    }
}

/// The integer type the inspector assumes for an element of `size` bytes
/// when nothing says better (`None` for other sizes: shown as raw bytes).
pub fn default_for_size(size: usize) -> Option<&'static TypeLayout> {
    match size {
        1 => Some(Prim::U8.layout()),
        2 => Some(Prim::I16.layout()),
        4 => Some(Prim::I32.layout()),
        8 => Some(Prim::I64.layout()),
        _ => None,
    }
}

/// Raw bytes of `n` bytes (shown in hex): `[u8; n]` with a marker name.
pub fn raw_bytes(n: usize) -> &'static TypeLayout {
    leak(TypeLayout {
        name: "bytes",
        size: n,
        align: 1,
        kind: Kind::Array {
            elem: Prim::U8.layout(),
            len: n,
        },
        doc: "",
    })
}

/// A record known only by name, size and alignment: shown as raw bytes.
pub fn opaque(name: &str, size: usize, align: usize) -> &'static TypeLayout {
    leak(TypeLayout {
        name: Box::leak(name.to_owned().into_boxed_str()),
        size,
        align,
        kind: Kind::Array {
            elem: Prim::U8.layout(),
            len: size,
        },
        doc: "",
    })
}

/// True for the layouts made by [`raw_bytes`] and [`opaque`] (shown as hex).
pub fn is_raw(t: &TypeLayout) -> bool {
    !t.name.is_empty() && matches!(t.kind, Kind::Array { .. })
}

/// Display name of a layout, in the type-expression syntax.
pub fn type_name(t: &TypeLayout) -> String {
    match t.kind {
        Kind::Prim(p) => p.rust_name().to_owned(),
        Kind::Array { len, .. } if t.name == "bytes" => format!("bytes[{len}]"),
        Kind::Array { .. } if is_raw(t) => t.name.to_owned(),
        Kind::Array { elem, len } => format!("[{}; {len}]", type_name(elem)),
        Kind::FixedStr { len } => format!("str[{len}]"),
        Kind::OpenEnum { .. } => t.name.to_owned(),
        Kind::Struct { fields } => {
            if !t.name.is_empty() && t.name != "struct" {
                return t.name.to_owned();
            }
            let parts: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name, type_name(f.layout)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_layout_rules() {
        let t = parse_type("struct { id: int32_t, x: float, y: double }").unwrap();
        assert_eq!((t.size, t.align), (16, 8));
        let Kind::Struct { fields } = t.kind else {
            panic!()
        };
        assert_eq!(
            fields.iter().map(|f| f.offset).collect::<Vec<_>>(),
            [0, 4, 8]
        );
        let t = parse_type("{a: f64, b: i32}").unwrap();
        assert_eq!(t.size, 16);
        let t = parse_type("{a: u8, b: u16, c: u8}").unwrap();
        assert_eq!((t.size, t.align), (6, 2));
        assert_eq!(parse_type("[i32; 3]").unwrap().size, 12);
        assert_eq!(parse_type("i32[2][3]").unwrap().size, 24);
        assert_eq!(parse_type("str[8]").unwrap().size, 8);
        assert_eq!(type_name(parse_type("i32[2]").unwrap()), "[i32; 2]");
        assert_eq!(parse_type("str<8>").unwrap().size, 8);
        assert_eq!(parse_type("[u8; 2][3]").unwrap().size, 6);
    }

    #[test]
    fn errors_say_where() {
        for bad in [
            "",
            "i33",
            "[i32; 0]",
            "{a: i32",
            "{a: i32, a: u8}",
            "i32 x",
            "str[]",
        ] {
            let e = parse_type(bad).unwrap_err();
            assert!(e.contains("column"), "{bad}: {e}");
        }
        let (k, v) = parse_key_value("{a: u8, b: u8}, f64").unwrap();
        assert_eq!((k.size, v.size), (2, 8));
        assert!(parse_key_value("i32").is_err());
    }
}
