//! The small intermediate representation the derive works on: what was
//! declared (struct or enum, repr, fields with spans and docs), nothing more.
//! `parse` builds it from syn, `validate` checks it, `expand` renders it.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Generics, Ident, Member, Type};

/// A type under `#[derive(ShmLayout)]`.
pub struct Container<'a> {
    /// The type's name.
    pub ident: &'a Ident,
    /// Its generics, as declared.
    pub generics: &'a Generics,
    /// Its doc comment (`///` lines joined with newlines).
    pub doc: String,
    /// What its `#[repr(...)]` attributes say.
    pub repr: Repr,
    /// Struct fields, enum variants, or the fact that it is a union.
    pub data: Data<'a>,
}

/// The body of the type.
pub enum Data<'a> {
    /// A struct (named, tuple or unit).
    Struct(Struct<'a>),
    /// An enum.
    Enum(Vec<Variant<'a>>),
    /// A union; the span is the `union` keyword.
    Union(Span),
}

/// A struct body.
pub struct Struct<'a> {
    /// Fields in declaration order (empty for a unit struct).
    pub fields: Vec<Field<'a>>,
}

/// One struct field.
pub struct Field<'a> {
    /// How to name it in `offset_of!` (`a` or `0`).
    pub member: Member,
    /// Its name in the layout (`"a"` or `"0"`).
    pub name: String,
    /// Its declared type.
    pub ty: &'a Type,
    /// Its doc comment.
    pub doc: String,
    /// The span errors about the field point at: the name of a named field,
    /// the type of a tuple field.
    pub span: Span,
}

/// One enum variant.
pub struct Variant<'a> {
    /// Its name.
    pub ident: &'a Ident,
    /// Its doc comment.
    pub doc: String,
    /// `Some` if the variant has fields (an error): the fields' tokens.
    pub fields: Option<&'a syn::Fields>,
    /// The explicit discriminant, if any (kept for completeness; values are
    /// taken from the compiler with `as`, never evaluated here).
    #[allow(dead_code)]
    pub discriminant: Option<&'a Expr>,
}

/// Fixed-width integer reprs, plus the ones we recognise only to reject.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IntRepr {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    Usize,
    Isize,
    U128,
    I128,
}

impl IntRepr {
    pub fn from_ident(s: &str) -> Option<IntRepr> {
        Some(match s {
            "u8" => IntRepr::U8,
            "u16" => IntRepr::U16,
            "u32" => IntRepr::U32,
            "u64" => IntRepr::U64,
            "i8" => IntRepr::I8,
            "i16" => IntRepr::I16,
            "i32" => IntRepr::I32,
            "i64" => IntRepr::I64,
            "usize" => IntRepr::Usize,
            "isize" => IntRepr::Isize,
            "u128" => IntRepr::U128,
            "i128" => IntRepr::I128,
            _ => return None,
        })
    }

    /// The `zeroipc::layout::Prim` variant name, for the supported ones.
    pub fn prim(self) -> Option<&'static str> {
        Some(match self {
            IntRepr::U8 => "U8",
            IntRepr::U16 => "U16",
            IntRepr::U32 => "U32",
            IntRepr::U64 => "U64",
            IntRepr::I8 => "I8",
            IntRepr::I16 => "I16",
            IntRepr::I32 => "I32",
            IntRepr::I64 => "I64",
            IntRepr::Usize | IntRepr::Isize | IntRepr::U128 | IntRepr::I128 => return None,
        })
    }
}

/// One item of a `#[repr(...)]` attribute, with its tokens for error spans.
pub struct ReprItem<T> {
    pub value: T,
    pub tokens: TokenStream,
}

/// Everything the `#[repr]` attributes of the type say (several attributes
/// are merged, as the compiler does).
#[derive(Default)]
pub struct Repr {
    pub c: Option<ReprItem<()>>,
    pub transparent: Option<ReprItem<()>>,
    /// `packed` or `packed(N)`.
    pub packed: Option<ReprItem<Option<u64>>>,
    /// `align(N)`.
    pub align: Option<ReprItem<u64>>,
    /// An integer repr.
    pub int: Option<ReprItem<IntRepr>>,
}
