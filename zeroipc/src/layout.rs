//! The layout model: one description of a shared-memory type, used by the
//! runtime (hashing, validation), by `#[derive(ShmLayout)]` (which builds it
//! in a `const`) and by the schema compiler (which builds it at run time and
//! leaks it to get the same `&'static` shape). Every code emitter reads only
//! this model, so the Rust, numpy and C++ renderings cannot drift apart.
//!
//! # Canonical form and fingerprint
//!
//! [`TypeLayout::fingerprint`] is FNV-1a 64 (offset basis
//! `0xcbf29ce484222325`, prime `0x100000001b3`) over a canonical byte string.
//! Integers are written as 8 little-endian bytes (`u64`, or `i64` for enum
//! values); a string is its byte length as such an integer followed by its
//! UTF-8 bytes. The canonical form of a type is, by kind:
//!
//! | kind | bytes |
//! |---|---|
//! | primitive | `"P"`, primitive name (`"u8"`.. `"f64"`) |
//! | array | `"A"`, length, canonical form of the element |
//! | fixed string | `"T"`, byte length |
//! | open enum | `"E"`, type name, canonical form of the repr primitive, variant count, then per variant its name and value |
//! | struct | `"S"`, type name, size, alignment, field count, then per field its name, offset and the canonical form of its type |
//!
//! Doc comments are not part of the canonical form. Any other implementation
//! can recompute the fingerprint from this table; it is independent of the
//! platform, the compiler and the crate that defines the type.
//!
//! ```
//! use zeroipc::{ShmElement, layout::Kind};
//! let l = <[u32; 4]>::LAYOUT;
//! assert_eq!(l.size, 16);
//! assert!(matches!(l.kind, Kind::Array { len: 4, .. }));
//! assert_ne!(l.fingerprint(), u32::LAYOUT.fingerprint());
//! ```

/// Primitive scalar kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prim {
    /// `u8` / `uint8_t`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl Prim {
    /// Every primitive, in a fixed order.
    pub const ALL: [Prim; 10] = [
        Prim::U8,
        Prim::U16,
        Prim::U32,
        Prim::U64,
        Prim::I8,
        Prim::I16,
        Prim::I32,
        Prim::I64,
        Prim::F32,
        Prim::F64,
    ];

    /// Rust name (`"u32"`), also the canonical-form name.
    pub const fn rust_name(self) -> &'static str {
        match self {
            Prim::U8 => "u8",
            Prim::U16 => "u16",
            Prim::U32 => "u32",
            Prim::U64 => "u64",
            Prim::I8 => "i8",
            Prim::I16 => "i16",
            Prim::I32 => "i32",
            Prim::I64 => "i64",
            Prim::F32 => "f32",
            Prim::F64 => "f64",
        }
    }

    /// C/C++ name (`"uint32_t"`, `"double"`).
    pub const fn c_name(self) -> &'static str {
        match self {
            Prim::U8 => "uint8_t",
            Prim::U16 => "uint16_t",
            Prim::U32 => "uint32_t",
            Prim::U64 => "uint64_t",
            Prim::I8 => "int8_t",
            Prim::I16 => "int16_t",
            Prim::I32 => "int32_t",
            Prim::I64 => "int64_t",
            Prim::F32 => "float",
            Prim::F64 => "double",
        }
    }

    /// numpy format string, little-endian (`"<u4"`).
    pub const fn numpy(self) -> &'static str {
        match self {
            Prim::U8 => "u1",
            Prim::U16 => "<u2",
            Prim::U32 => "<u4",
            Prim::U64 => "<u8",
            Prim::I8 => "i1",
            Prim::I16 => "<i2",
            Prim::I32 => "<i4",
            Prim::I64 => "<i8",
            Prim::F32 => "<f4",
            Prim::F64 => "<f8",
        }
    }

    /// Size in bytes (equal to the alignment).
    pub const fn size(self) -> usize {
        match self {
            Prim::U8 | Prim::I8 => 1,
            Prim::U16 | Prim::I16 => 2,
            Prim::U32 | Prim::I32 | Prim::F32 => 4,
            Prim::U64 | Prim::I64 | Prim::F64 => 8,
        }
    }

    /// True for the integer kinds (hashed multiplicatively by Map/Set).
    pub const fn is_integer(self) -> bool {
        !matches!(self, Prim::F32 | Prim::F64)
    }

    /// True for signed integers.
    pub const fn is_signed_integer(self) -> bool {
        matches!(self, Prim::I8 | Prim::I16 | Prim::I32 | Prim::I64)
    }

    /// Parses a Rust primitive name.
    pub fn from_rust_name(name: &str) -> Option<Prim> {
        Prim::ALL.into_iter().find(|p| p.rust_name() == name)
    }

    /// The layout of this primitive (the same `&'static` the element trait gives).
    pub const fn layout(self) -> &'static TypeLayout {
        match self {
            Prim::U8 => &PRIM_LAYOUTS[0],
            Prim::U16 => &PRIM_LAYOUTS[1],
            Prim::U32 => &PRIM_LAYOUTS[2],
            Prim::U64 => &PRIM_LAYOUTS[3],
            Prim::I8 => &PRIM_LAYOUTS[4],
            Prim::I16 => &PRIM_LAYOUTS[5],
            Prim::I32 => &PRIM_LAYOUTS[6],
            Prim::I64 => &PRIM_LAYOUTS[7],
            Prim::F32 => &PRIM_LAYOUTS[8],
            Prim::F64 => &PRIM_LAYOUTS[9],
        }
    }
}

const fn prim_layout(p: Prim) -> TypeLayout {
    TypeLayout {
        name: p.rust_name(),
        size: p.size(),
        align: p.size(),
        kind: Kind::Prim(p),
        doc: "",
    }
}

static PRIM_LAYOUTS: [TypeLayout; 10] = [
    prim_layout(Prim::U8),
    prim_layout(Prim::U16),
    prim_layout(Prim::U32),
    prim_layout(Prim::U64),
    prim_layout(Prim::I8),
    prim_layout(Prim::I16),
    prim_layout(Prim::I32),
    prim_layout(Prim::I64),
    prim_layout(Prim::F32),
    prim_layout(Prim::F64),
];

/// Exact layout of a type that can live in shared memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeLayout {
    /// Type name: the Rust/record name for structs and enums, the primitive
    /// name for primitives, `""` for arrays and fixed strings (their kind says
    /// everything).
    pub name: &'static str,
    /// `size_of`, in bytes.
    pub size: usize,
    /// `align_of`, in bytes (at most 8).
    pub align: usize,
    /// What the bytes are.
    pub kind: Kind,
    /// Doc comment (may be empty).
    pub doc: &'static str,
}

/// The kind of a [`TypeLayout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A primitive scalar.
    Prim(Prim),
    /// `[elem; len]`.
    Array {
        /// Element layout.
        elem: &'static TypeLayout,
        /// Number of elements.
        len: usize,
    },
    /// A `repr(C)` struct with these fields, in declaration order.
    Struct {
        /// Fields in declaration order.
        fields: &'static [Field],
    },
    /// An open enum: an integer of type `repr` whose named values are listed,
    /// and which may hold any other value written by a peer.
    OpenEnum {
        /// The underlying integer.
        repr: Prim,
        /// Named values.
        variants: &'static [Variant],
    },
    /// A fixed-capacity, NUL-padded UTF-8 string of `len` bytes.
    FixedStr {
        /// Capacity in bytes.
        len: usize,
    },
}

/// One field of a struct layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Field name (`"0"`, `"1"`, ... for tuple structs).
    pub name: &'static str,
    /// Byte offset from the start of the struct.
    pub offset: usize,
    /// Layout of the field's type.
    pub layout: &'static TypeLayout,
    /// Doc comment (may be empty).
    pub doc: &'static str,
}

/// One named value of an open enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// Variant name.
    pub name: &'static str,
    /// Its value (sign-extended to `i64`).
    pub value: i64,
    /// Doc comment (may be empty).
    pub doc: &'static str,
}

use crate::format::{fnv1a64_update as fnv_bytes, FNV1A_OFFSET_BASIS as FNV_OFFSET};

const fn fnv_u64(h: u64, v: u64) -> u64 {
    fnv_bytes(h, &v.to_le_bytes())
}

const fn fnv_str(h: u64, s: &str) -> u64 {
    fnv_bytes(fnv_u64(h, s.len() as u64), s.as_bytes())
}

const fn canonical(mut h: u64, t: &TypeLayout) -> u64 {
    match t.kind {
        Kind::Prim(p) => fnv_str(fnv_bytes(h, b"P"), p.rust_name()),
        Kind::Array { elem, len } => canonical(fnv_u64(fnv_bytes(h, b"A"), len as u64), elem),
        Kind::FixedStr { len } => fnv_u64(fnv_bytes(h, b"T"), len as u64),
        Kind::OpenEnum { repr, variants } => {
            h = fnv_str(fnv_bytes(h, b"E"), t.name);
            h = canonical(h, repr.layout());
            h = fnv_u64(h, variants.len() as u64);
            let mut i = 0;
            while i < variants.len() {
                h = fnv_str(h, variants[i].name);
                h = fnv_u64(h, variants[i].value as u64);
                i += 1;
            }
            h
        }
        Kind::Struct { fields } => {
            h = fnv_str(fnv_bytes(h, b"S"), t.name);
            h = fnv_u64(h, t.size as u64);
            h = fnv_u64(h, t.align as u64);
            h = fnv_u64(h, fields.len() as u64);
            let mut i = 0;
            while i < fields.len() {
                h = fnv_str(h, fields[i].name);
                h = fnv_u64(h, fields[i].offset as u64);
                h = canonical(h, fields[i].layout);
                i += 1;
            }
            h
        }
    }
}

impl TypeLayout {
    /// The 64-bit fingerprint of the canonical form (see the module docs).
    pub const fn fingerprint(&self) -> u64 {
        canonical(FNV_OFFSET, self)
    }

    /// The primitive this type is, if it is one.
    pub const fn prim(&self) -> Option<Prim> {
        match self.kind {
            Kind::Prim(p) => Some(p),
            _ => None,
        }
    }

    /// Layouts of the struct/enum types this one refers to (directly or
    /// through arrays), each once, dependencies before dependents, ending
    /// with `self` when it is a struct or enum. Emitters render in this order.
    pub fn named_types(&'static self) -> Vec<&'static TypeLayout> {
        let mut out = Vec::new();
        collect_named(self, &mut out);
        out
    }
}

fn collect_named(t: &'static TypeLayout, out: &mut Vec<&'static TypeLayout>) {
    match t.kind {
        Kind::Prim(_) | Kind::FixedStr { .. } => {}
        Kind::Array { elem, .. } => collect_named(elem, out),
        Kind::OpenEnum { .. } => {
            if !out.iter().any(|o| o.name == t.name) {
                out.push(t);
            }
        }
        Kind::Struct { fields } => {
            for f in fields {
                collect_named(f.layout, out);
            }
            if !out.iter().any(|o| o.name == t.name) {
                out.push(t);
            }
        }
    }
}

/// Fingerprint of the empty canonical string, exposed for other-language
/// implementations to test their FNV-1a against.
pub use crate::format::FNV1A_OFFSET_BASIS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_published_vectors() {
        // FNV-1a 64 test vectors from the reference description of the hash.
        assert_eq!(fnv_bytes(FNV_OFFSET, b""), 0xcbf29ce484222325);
        assert_eq!(fnv_bytes(FNV_OFFSET, b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv_bytes(FNV_OFFSET, b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn primitive_fingerprints_differ() {
        let mut seen = std::collections::HashSet::new();
        for p in Prim::ALL {
            assert!(seen.insert(p.layout().fingerprint()), "{p:?}");
        }
    }
}
