//! Element types for the inspector: a small type-expression language
//! (`--type`) that builds [`TypeLayout`]s with C layout rules, so a user can
//! describe any element without a schema.
//!
//! Grammar (whitespace is ignored):
//!
//! ```text
//! type   := prim | "[" type ";" N "]" | type "[" N "]" | "str[" N "]"
//!         | "{" field ("," field)* [","] "}" | "struct" "{" ... "}"
//! field  := ident ":" type
//! prim   := u8 u16 u32 u64 i8 i16 i32 i64 f32 f64
//!         | uint8_t .. uint64_t | int8_t .. int64_t | float | double | char | bool
//! ```
//!
//! `T[N]` (C style) and `[T; N]` (Rust style) are the same array; `str[N]` is
//! a NUL-padded UTF-8 string of `N` bytes; a `{...}` record is laid out like
//! a C struct (each field at the next multiple of its alignment, size rounded
//! up to the largest alignment). Layouts are leaked to obtain the `&'static`
//! shape the layout model uses; an inspector process builds only a handful.

use zeroipc::layout::{Field, Kind, Prim, TypeLayout};

/// Parses a type expression (see the module docs).
///
/// ```
/// use zeroipc_cli::inspect::types::parse_type;
/// let rec = parse_type("{id: i32, x: f32, y: f64}").unwrap();
/// assert_eq!((rec.size, rec.align), (16, 8));
/// assert_eq!(parse_type("char[3]").unwrap().size, 3);
/// assert!(parse_type("i33").is_err());
/// ```
pub fn parse_type(text: &str) -> Result<&'static TypeLayout, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        text,
    };
    let t = p.ty()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the type"));
    }
    Ok(t)
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

/// A primitive by its Rust or C name.
pub fn prim_by_name(name: &str) -> Option<Prim> {
    Some(match name {
        "u8" | "uint8_t" | "uchar" | "byte" | "bool" => Prim::U8,
        "u16" | "uint16_t" => Prim::U16,
        "u32" | "uint32_t" => Prim::U32,
        "u64" | "uint64_t" | "size_t" => Prim::U64,
        "i8" | "int8_t" | "char" => Prim::I8,
        "i16" | "int16_t" | "short" => Prim::I16,
        "i32" | "int32_t" | "int" => Prim::I32,
        "i64" | "int64_t" | "long" => Prim::I64,
        "f32" | "float" => Prim::F32,
        "f64" | "double" => Prim::F64,
        _ => return None,
    })
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

fn leak(t: TypeLayout) -> &'static TypeLayout {
    Box::leak(Box::new(t))
}

fn align_up(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("bad type {:?} at column {}: {what}", self.text, self.i + 1)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn ident(&mut self) -> Option<&str> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        (self.i > start).then(|| &self.text[start..self.i])
    }

    fn number(&mut self) -> Result<usize, String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        self.text[start..self.i]
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0 && n <= 1 << 30)
            .ok_or_else(|| self.err("expected a length between 1 and 2^30"))
    }

    fn ty(&mut self) -> Result<&'static TypeLayout, String> {
        let mut t = self.atom()?;
        // C-style suffixes: T[N][M] is an array of N arrays of M.
        let mut dims = Vec::new();
        while self.eat(b'[') {
            dims.push(self.number()?);
            self.expect(b']')?;
        }
        for &n in dims.iter().rev() {
            t = array_of(t, n).ok_or_else(|| self.err("array too large"))?;
        }
        Ok(t)
    }

    fn atom(&mut self) -> Result<&'static TypeLayout, String> {
        if self.eat(b'[') {
            let elem = self.ty()?;
            self.expect(b';')?;
            let n = self.number()?;
            self.expect(b']')?;
            return array_of(elem, n).ok_or_else(|| self.err("array too large"));
        }
        if self.eat(b'{') {
            return self.record();
        }
        let save = self.i;
        let Some(word) = self.ident().map(str::to_owned) else {
            return Err(self.err("expected a type"));
        };
        match word.as_str() {
            "struct" => {
                self.expect(b'{')?;
                self.record()
            }
            "str" => {
                self.expect(b'[')?;
                let n = self.number()?;
                self.expect(b']')?;
                Ok(leak(TypeLayout {
                    name: "",
                    size: n,
                    align: 1,
                    kind: Kind::FixedStr { len: n },
                    doc: "",
                }))
            }
            "bytes" => {
                self.expect(b'[')?;
                let n = self.number()?;
                self.expect(b']')?;
                Ok(raw_bytes(n))
            }
            w => match prim_by_name(w) {
                Some(p) => Ok(p.layout()),
                None => {
                    self.i = save;
                    Err(self.err(&format!(
                        "unknown type {w:?} (primitives: u8 u16 u32 u64 i8 i16 i32 i64 f32 f64)"
                    )))
                }
            },
        }
    }

    fn record(&mut self) -> Result<&'static TypeLayout, String> {
        let mut fields = Vec::new();
        let mut end = 0usize;
        let mut align = 1usize;
        loop {
            if self.eat(b'}') {
                break;
            }
            let name = self
                .ident()
                .map(str::to_owned)
                .ok_or_else(|| self.err("expected a field name"))?;
            if fields.iter().any(|f: &Field| f.name == name) {
                return Err(self.err(&format!("duplicate field {name:?}")));
            }
            self.expect(b':')?;
            let t = self.ty()?;
            let off = align_up(end, t.align);
            end = off + t.size;
            align = align.max(t.align);
            fields.push(Field {
                name: Box::leak(name.into_boxed_str()),
                offset: off,
                layout: t,
                doc: "",
            });
            if !self.eat(b',') {
                self.expect(b'}')?;
                break;
            }
        }
        if fields.is_empty() {
            return Err(self.err("a record needs at least one field"));
        }
        Ok(leak(TypeLayout {
            name: "",
            size: align_up(end, align),
            align,
            kind: Kind::Struct {
                fields: Box::leak(fields.into_boxed_slice()),
            },
            doc: "",
        }))
    }
}

fn array_of(elem: &'static TypeLayout, n: usize) -> Option<&'static TypeLayout> {
    let size = elem.size.checked_mul(n)?;
    (size <= 1 << 30).then(|| {
        leak(TypeLayout {
            name: "",
            size,
            align: elem.align,
            kind: Kind::Array { elem, len: n },
            doc: "",
        })
    })
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
