//! The one type grammar of zeroipc: the `type = "..."` strings of the
//! schema language (`docs/SCHEMA.md`) and the inspector's `--type`
//! (`docs/CLI.md`) are parsed here, and the layouts they name are built with
//! the same C layout rules.
//!
//! ```text
//! type    := base ("[" len "]")*            C-style array suffixes: T[N][M] is N arrays of M
//! base    := name | ns "." name             a primitive, or a record or enum of a schema
//!          | "str" "<" len ">" | "str" "[" len "]"    a NUL-padded UTF-8 string of len bytes
//!          | "bytes" "[" len "]"            len raw bytes (shown in hex by the inspector)
//!          | "[" type ";" len "]"           Rust-style array
//!          | "{" field ("," field)* [","] "}" | "struct" "{" ... "}"   an inline C struct
//! field   := ident ":" type
//! len     := digits (with `_` separators) | constant | ns "." constant
//! ```
//!
//! Whitespace between tokens is ignored. The primitive names are
//! [`PRIMITIVES`] (`u8` .. `f64`); the inspector also accepts the C
//! spellings of [`C_ALIASES`] (`uint32_t`, `float`, `double`, ...), which a
//! schema refuses with a hint naming the fixed-width type (a schema is
//! shared by three languages, and `long` is not the same size in all of
//! them). Which names and constants exist, and the limits on lengths, are
//! the caller's: the schema compiler resolves records, enums and constants
//! and reports diagnostics at the spans given here; the inspector has no
//! names beyond the primitives.
//!
//! ```
//! use zeroipc_gen::types::{parse, Base, Dim};
//! let e = parse("f64[4][3]").unwrap();
//! assert!(matches!(&e.base, Base::Named { ns: None, name } if name == "f64"));
//! assert_eq!(e.dims.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(), [Dim::Lit(4), Dim::Lit(3)]);
//! // The same string in three spellings.
//! for s in ["str<16>", "str[16]"] {
//!     assert!(matches!(parse(s).unwrap().base, Base::Str(Dim::Lit(16), _)));
//! }
//! assert!(matches!(parse("[u8; 4]").unwrap().base, Base::Array(_, Dim::Lit(4), _)));
//! let err = parse("f32[4").unwrap_err();
//! assert_eq!((err.message.as_str(), err.span), ("expected `]`", 5..6));
//! ```

use std::ops::Range;
use zeroipc::layout::{Field, Kind, Prim, TypeLayout};

/// The primitive type names, in the order help texts list them.
pub const PRIMITIVES: [&str; 10] = [
    "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64",
];

/// C spellings of primitives the inspector's `--type` accepts, with the
/// primitive each stands for (on the LP64 platforms the runtime supports).
pub const C_ALIASES: [(&str, Prim); 18] = [
    ("uint8_t", Prim::U8),
    ("uchar", Prim::U8),
    ("byte", Prim::U8),
    ("bool", Prim::U8),
    ("uint16_t", Prim::U16),
    ("uint32_t", Prim::U32),
    ("uint64_t", Prim::U64),
    ("size_t", Prim::U64),
    ("int8_t", Prim::I8),
    ("char", Prim::I8),
    ("int16_t", Prim::I16),
    ("short", Prim::I16),
    ("int32_t", Prim::I32),
    ("int", Prim::I32),
    ("int64_t", Prim::I64),
    ("long", Prim::I64),
    ("float", Prim::F32),
    ("double", Prim::F64),
];

/// A primitive by its name (`u32`), or, with `c_aliases`, by a C spelling
/// of [`C_ALIASES`].
///
/// ```
/// use zeroipc::layout::Prim;
/// use zeroipc_gen::types::prim_by_name;
/// assert_eq!(prim_by_name("u32", false), Some(Prim::U32));
/// assert_eq!(prim_by_name("double", false), None);
/// assert_eq!(prim_by_name("double", true), Some(Prim::F64));
/// ```
pub fn prim_by_name(name: &str, c_aliases: bool) -> Option<Prim> {
    if let Some(p) = Prim::from_rust_name(name) {
        return Some(p);
    }
    if !c_aliases {
        return None;
    }
    C_ALIASES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// An array or string length as written: a number or a constant's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A number.
    Lit(u64),
    /// A constant, optionally namespace-qualified.
    Const(Option<String>, String),
}

/// What a type expression is built on.
#[derive(Debug, Clone)]
pub enum Base {
    /// A primitive, record or enum name, optionally namespace-qualified.
    Named {
        /// Namespace (`common` in `common.Vec3`).
        ns: Option<String>,
        /// Type name.
        name: String,
    },
    /// `str<N>` / `str[N]`, with the span of `N`.
    Str(Dim, Range<usize>),
    /// `bytes[N]`, with the span of `N`.
    Bytes(Dim, Range<usize>),
    /// `[T; N]`, with the span of `N`.
    Array(Box<TypeExpr>, Dim, Range<usize>),
    /// `{a: T, b: U}`: an inline C struct.
    Record(Vec<FieldExpr>),
}

/// One field of an inline record.
#[derive(Debug, Clone)]
pub struct FieldExpr {
    /// Field name.
    pub name: String,
    /// Span of the name.
    pub name_span: Range<usize>,
    /// Field type.
    pub ty: TypeExpr,
}

/// A parsed type: a base and C-style array suffixes, with byte spans into
/// the parsed text for diagnostics.
#[derive(Debug, Clone)]
pub struct TypeExpr {
    /// What the type is built on.
    pub base: Base,
    /// Span of the base.
    pub base_span: Range<usize>,
    /// `[N]` suffixes in the order written, each with the span of `N`.
    pub dims: Vec<(Dim, Range<usize>)>,
}

/// A syntax error: what was expected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The message (`expected `]``).
    pub message: String,
    /// Byte span in the parsed text.
    pub span: Range<usize>,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at column {})", self.message, self.span.start + 1)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses a type expression (grammar in the module docs).
pub fn parse(text: &str) -> Result<TypeExpr, SyntaxError> {
    let mut p = Parser { s: text, i: 0 };
    let t = p.ty()?;
    p.ws();
    if p.i < text.len() {
        let c = text[p.i..].chars().next().unwrap_or(' ');
        return Err(p.error_at(
            format!("unexpected `{c}` in a type"),
            p.i..p.i + c.len_utf8(),
        ));
    }
    Ok(t)
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn error_at(&self, message: impl Into<String>, span: Range<usize>) -> SyntaxError {
        SyntaxError {
            message: message.into(),
            span,
        }
    }

    /// An error at the current position (one byte wide, as the schema's
    /// diagnostics underline it).
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        self.error_at(message, self.i..self.i + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, message: &str) -> Result<(), SyntaxError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(message))
        }
    }

    fn ident(&mut self) -> Option<Range<usize>> {
        self.ws();
        let start = self.i;
        if self
            .peek()
            .is_some_and(|c| c == b'_' || c.is_ascii_alphabetic())
        {
            self.i += 1;
            while self
                .peek()
                .is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric())
            {
                self.i += 1;
            }
            Some(start..self.i)
        } else {
            None
        }
    }

    /// A length: a number or a (qualified) constant name, with its span.
    fn dim(&mut self) -> Result<(Dim, Range<usize>), SyntaxError> {
        self.ws();
        let start = self.i;
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == b'_') {
                self.i += 1;
            }
            let text: String = self.s[start..self.i]
                .chars()
                .filter(|c| *c != '_')
                .collect();
            return match text.parse::<u64>() {
                Ok(n) => Ok((Dim::Lit(n), start..self.i)),
                Err(_) => Err(self.error_at("length does not fit in 64 bits", start..self.i)),
            };
        }
        let Some(first) = self.ident() else {
            return Err(self.error("expected a length (a number or a constant)"));
        };
        if self.peek() == Some(b'.') {
            self.i += 1;
            let Some(second) = self.ident() else {
                return Err(self.error("expected a constant name after `.`"));
            };
            let d = Dim::Const(
                Some(self.s[first].to_owned()),
                self.s[second.clone()].to_owned(),
            );
            return Ok((d, start..second.end));
        }
        Ok((Dim::Const(None, self.s[first.clone()].to_owned()), first))
    }

    fn ty(&mut self) -> Result<TypeExpr, SyntaxError> {
        self.ws();
        let start = self.i;
        let base = self.base()?;
        let base_span = start..self.i;
        let mut dims = Vec::new();
        while self.eat(b'[') {
            let d = self.dim()?;
            self.expect(b']', "expected `]`")?;
            dims.push(d);
        }
        Ok(TypeExpr {
            base,
            base_span,
            dims,
        })
    }

    fn base(&mut self) -> Result<Base, SyntaxError> {
        if self.eat(b'[') {
            let elem = self.ty()?;
            self.expect(b';', "expected `;` after the element type of `[T; N]`")?;
            let (n, span) = self.dim()?;
            self.expect(b']', "expected `]`")?;
            return Ok(Base::Array(Box::new(elem), n, span));
        }
        if self.eat(b'{') {
            return self.record();
        }
        let Some(first) = self.ident() else {
            return Err(self.error("expected a type name"));
        };
        let word = &self.s[first.clone()];
        match (word, self.peek()) {
            ("str", Some(b'<')) => {
                self.i += 1;
                let (n, span) = self.dim()?;
                self.expect(b'>', "expected `>` after the string length")?;
                Ok(Base::Str(n, span))
            }
            ("str" | "bytes", Some(b'[')) => {
                self.i += 1;
                let (n, span) = self.dim()?;
                self.expect(b']', "expected `]`")?;
                Ok(if word == "str" {
                    Base::Str(n, span)
                } else {
                    Base::Bytes(n, span)
                })
            }
            ("struct", _) if self.eat(b'{') => self.record(),
            (_, Some(b'.')) => {
                self.i += 1;
                let Some(second) = self.ident() else {
                    return Err(self.error("expected a type name after `.`"));
                };
                Ok(Base::Named {
                    ns: Some(word.to_owned()),
                    name: self.s[second].to_owned(),
                })
            }
            _ => Ok(Base::Named {
                ns: None,
                name: word.to_owned(),
            }),
        }
    }

    /// The fields of `{...}` after the `{`.
    fn record(&mut self) -> Result<Base, SyntaxError> {
        let mut fields = Vec::new();
        loop {
            if self.eat(b'}') {
                break;
            }
            let Some(name_span) = self.ident() else {
                return Err(self.error("expected a field name"));
            };
            self.expect(b':', "expected `:` after the field name")?;
            let ty = self.ty()?;
            fields.push(FieldExpr {
                name: self.s[name_span.clone()].to_owned(),
                name_span,
                ty,
            });
            if !self.eat(b',') {
                self.expect(b'}', "expected `,` or `}`")?;
                break;
            }
        }
        Ok(Base::Record(fields))
    }
}

/// Leaks a layout to get the `&'static` the layout model uses (a compiler
/// or inspector process builds a handful).
pub fn leak(t: TypeLayout) -> &'static TypeLayout {
    Box::leak(Box::new(t))
}

/// `[elem; n]` by C rules (size `n * elem.size`, the element's alignment);
/// `None` when the size overflows.
///
/// ```
/// use zeroipc::layout::Prim;
/// let t = zeroipc_gen::types::array_of(Prim::U16.layout(), 3).unwrap();
/// assert_eq!((t.size, t.align), (6, 2));
/// ```
pub fn array_of(elem: &'static TypeLayout, n: usize) -> Option<&'static TypeLayout> {
    let size = elem.size.checked_mul(n)?;
    Some(leak(TypeLayout {
        name: "",
        size,
        align: elem.align,
        kind: Kind::Array { elem, len: n },
        doc: "",
    }))
}

/// A fixed string of `n` bytes (`FixedStr<n>`).
pub fn fixed_str(n: usize) -> &'static TypeLayout {
    leak(TypeLayout {
        name: "",
        size: n,
        align: 1,
        kind: Kind::FixedStr { len: n },
        doc: "",
    })
}

/// Where C puts the fields of a struct: each at the next multiple of its
/// alignment after the previous one; the size rounded up to the largest
/// alignment. Returns the offsets, the size and the alignment; `None` on
/// overflow.
///
/// ```
/// use zeroipc::layout::Prim;
/// let (offsets, size, align) =
///     zeroipc_gen::types::c_struct_layout(&[Prim::U8.layout(), Prim::F64.layout(), Prim::U16.layout()]).unwrap();
/// assert_eq!((offsets, size, align), (vec![0, 8, 16], 24, 8));
/// ```
pub fn c_struct_layout(fields: &[&TypeLayout]) -> Option<(Vec<usize>, usize, usize)> {
    let mut offsets = Vec::with_capacity(fields.len());
    let mut end = 0usize;
    let mut align = 1usize;
    for t in fields {
        let off = align_usize(end, t.align)?;
        offsets.push(off);
        end = off.checked_add(t.size)?;
        align = align.max(t.align);
    }
    Some((offsets, align_usize(end, align)?, align))
}

/// `n` rounded up to a multiple of `a`, with the format's `align_up`.
fn align_usize(n: usize, a: usize) -> Option<usize> {
    let r = zeroipc::format::align_up(n as u64, a as u64)?;
    usize::try_from(r).ok()
}

/// An anonymous C struct of `fields` (name, layout), laid out by
/// [`c_struct_layout`]; `None` on overflow.
pub fn c_struct(fields: Vec<(String, &'static TypeLayout)>) -> Option<&'static TypeLayout> {
    let layouts: Vec<&TypeLayout> = fields.iter().map(|(_, t)| *t).collect();
    let (offsets, size, align) = c_struct_layout(&layouts)?;
    let fields: Vec<Field> = fields
        .into_iter()
        .zip(offsets)
        .map(|((name, layout), offset)| Field {
            name: Box::leak(name.into_boxed_str()),
            offset,
            layout,
            doc: "",
        })
        .collect();
    Some(leak(TypeLayout {
        name: "",
        size,
        align,
        kind: Kind::Struct {
            fields: Box::leak(fields.into_boxed_slice()),
        },
        doc: "",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_the_problem() {
        let e = parse("common.Vec3[N][2]").unwrap();
        assert_eq!(e.base_span, 0..11);
        assert_eq!(e.dims[0], (Dim::Const(None, "N".to_owned()), 12..13));
        assert_eq!(e.dims[1], (Dim::Lit(2), 15..16));
        let e = parse("str<common.LEN>").unwrap();
        assert!(
            matches!(e.base, Base::Str(Dim::Const(Some(ref ns), ref n), ref s) if ns == "common" && n == "LEN" && *s == (4..14))
        );
        assert_eq!(
            parse("u8 x").unwrap_err().message,
            "unexpected `x` in a type"
        );
        assert_eq!(
            parse("str<4").unwrap_err().message,
            "expected `>` after the string length"
        );
        assert_eq!(parse("").unwrap_err().message, "expected a type name");
        assert_eq!(parse("u8[99999999999999999999]").unwrap_err().span, 3..23);
    }

    #[test]
    fn every_spelling_of_the_cli_and_the_schema_parses() {
        for s in [
            "u32",
            "f64[4][3]",
            "str<20>",
            "str[20]",
            "bytes[3]",
            "[u8; 4]",
            "[[i16; 2]; 3]",
            "{a: u8, b: f64,}",
            "struct { a: u8 }",
            " [ u32 ; 2 ] [ 3 ] ",
            "common.Vec3",
            "u8[LEN]",
        ] {
            assert!(parse(s).is_ok(), "{s}");
        }
        for s in ["[u8 4]", "{a u8}", "u8[", "str<>", "common.", "{a: u8"] {
            assert!(parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn c_struct_pads_like_c() {
        let t = c_struct(vec![
            ("a".to_owned(), Prim::U8.layout()),
            ("b".to_owned(), Prim::U32.layout()),
        ])
        .unwrap();
        assert_eq!((t.size, t.align), (8, 4));
        let Kind::Struct { fields } = t.kind else {
            panic!("a struct")
        };
        assert_eq!(fields[1].offset, 4);
    }
}
