//! Every rule `#[derive(ShmLayout)]` enforces before generating code.
//!
//! All violations are collected (not just the first), each as a
//! `syn::Error` spanned on the offending token, and returned combined, so a
//! user fixes a type in one round. Rules that need type information the
//! macro does not have (the size of a nested struct, say) are left to the
//! `const` assertions `expand` emits; when every field type is one the macro
//! knows (primitives, arrays of them with literal lengths, `FixedStr<N>`),
//! padding is computed here too, for an error on the exact field.

use crate::ir::{Container, Data, Field, IntRepr, Repr, Struct, Variant};
use proc_macro2::Span;
use quote::ToTokens;
use syn::{GenericParam, Type};

/// Largest alignment the format supports (entries are 8-aligned).
pub const MAX_ALIGN: u64 = 8;

/// Collected errors.
#[derive(Default)]
struct Errors {
    all: Option<syn::Error>,
    count: usize,
}

impl Errors {
    fn push(&mut self, e: syn::Error) {
        self.count += 1;
        match &mut self.all {
            Some(all) => all.combine(e),
            None => self.all = Some(e),
        }
    }

    fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }

    fn on<T: ToTokens>(&mut self, tokens: T, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    fn finish(self) -> syn::Result<()> {
        match self.all {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Checks every rule; `Ok` means `expand` may generate the impl.
pub fn check(c: &Container) -> syn::Result<()> {
    let mut errs = Errors::default();
    match &c.data {
        Data::Union(span) => errs.at(
            *span,
            "#[derive(ShmLayout)] does not support unions: which field is live is not recorded \
             in the bytes, so a peer cannot read one safely. Use a struct with a tag field \
             (`u8`/`u32`) and a byte array large enough for the largest case",
        ),
        Data::Struct(s) => check_struct(c, s, &mut errs),
        Data::Enum(vs) => check_enum(c, vs, &mut errs),
    }
    errs.finish()
}

fn check_struct(c: &Container, s: &Struct, errs: &mut Errors) {
    let name = c.ident;
    let r = &c.repr;
    if let Some(p) = &r.packed {
        errs.on(
            &p.tokens,
            "#[derive(ShmLayout)] does not accept `repr(packed)`: packed fields are misaligned \
             for the C++ and Python peers (which use natural C alignment) and for atomic access. \
             Remove `packed` and make any padding explicit with `[u8; N]` filler fields",
        );
    }
    if let Some(a) = &r.align {
        if a.value > MAX_ALIGN {
            errs.on(
                &a.tokens,
                format!(
                    "`repr(align({}))` is above the maximum alignment of 8: the ZeroIPC format \
                     places every structure at an 8-byte boundary, so a stricter alignment \
                     cannot be honoured in a segment",
                    a.value
                ),
            );
        }
    }
    if r.c.is_none() && r.transparent.is_none() {
        errs.at(
            name.span(),
            format!(
                "#[derive(ShmLayout)] requires `#[repr(C)]` (or `#[repr(transparent)]`) on \
                 `{name}`: the default Rust layout may reorder fields and change between \
                 compiler versions, so other processes and the C++/Python peers could not \
                 agree on it"
            ),
        );
    }
    if s.fields.is_empty() {
        errs.at(
            name.span(),
            format!(
                "`{name}` has no fields: a zero-sized type holds no bytes and cannot be stored \
                 in a segment"
            ),
        );
    }

    check_lifetimes(c, errs);
    let before = errs.count;
    let mut shapes = Vec::with_capacity(s.fields.len());
    for f in &s.fields {
        shapes.push(check_type(f.ty, errs));
    }
    // The generics rule compares field types; skip that comparison when a
    // field type was already rejected (its own message is the useful one).
    let types_ok = errs.count == before;
    let generic = check_generics(c, s, types_ok, errs);

    // Padding the macro can see: only for non-generic structs whose every
    // field type it knows. The const assertions in `expand` check the same
    // things for every struct, after type checking.
    if !generic && r.packed.is_none() && !s.fields.is_empty() {
        if let Some(shapes) = shapes.into_iter().collect::<Option<Vec<_>>>() {
            check_static_padding(c, &s.fields, &shapes, r, errs);
        }
    }
}

/// Lifetime parameters: a shared type holds no references.
fn check_lifetimes(c: &Container, errs: &mut Errors) {
    for l in c.generics.lifetimes() {
        errs.on(
            &l.lifetime,
            format!(
                "lifetime parameter `{}` on a #[derive(ShmLayout)] type: shared memory cannot \
                 hold references (they point into one process's address space), so a shared \
                 type has no lifetimes",
                l.lifetime
            ),
        );
    }
}

/// Type and const parameters are accepted only where no instantiation can
/// introduce padding. Returns whether the struct is generic over types or
/// constants.
fn check_generics(c: &Container, s: &Struct, compare_fields: bool, errs: &mut Errors) -> bool {
    let generic = c
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)));
    if !generic {
        return false;
    }
    if let Some(a) = &c.repr.align {
        errs.on(
            &a.tokens,
            "`repr(align(..))` on a generic #[derive(ShmLayout)] struct: the trailing padding it \
             adds depends on the type arguments, so it cannot be ruled out for every \
             instantiation. Remove it or make the struct concrete",
        );
    }
    // Sound for every instantiation: one field (a repr(C) struct with one
    // field has that field's size and alignment), or fields whose element
    // types (arrays stripped) are the same type, which all share one
    // alignment `a` and have sizes that are multiples of `a`, so every field
    // starts where the previous one ends and the total is a multiple of `a`.
    if compare_fields && s.fields.len() > 1 {
        let first = &s.fields[0];
        let base0 = base_type(first.ty);
        let key0 = base0.to_token_stream().to_string();
        for f in &s.fields[1..] {
            let base = base_type(f.ty);
            if base.to_token_stream().to_string() != key0 {
                errs.on(
                    f.ty,
                    format!(
                        "generic #[derive(ShmLayout)] structs must have a single field, or \
                         fields that all have the same element type (arrays of it allowed): \
                         field `{}` has element type `{}` but field `{}` has `{}`, so the \
                         padding between fields would depend on the type arguments and cannot \
                         be ruled out for every instantiation. Use one element type, a single \
                         field, or a concrete (non-generic) struct",
                        f.name,
                        tokens_text(base),
                        first.name,
                        tokens_text(base0),
                    ),
                );
            } else if matches!(base, Type::Macro(_)) {
                errs.on(
                    f.ty,
                    "a type macro in a generic #[derive(ShmLayout)] struct: its expansions \
                     cannot be proven equal, so the struct cannot be proven free of padding",
                );
            }
        }
    }
    true
}

fn tokens_text<T: ToTokens>(t: T) -> String {
    t.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("< ", "<")
        .replace(" ;", ";")
}

/// The element type of (nested) arrays, through parentheses and groups.
fn base_type(ty: &Type) -> &Type {
    match ty {
        Type::Array(a) => base_type(&a.elem),
        Type::Paren(p) => base_type(&p.elem),
        Type::Group(g) => base_type(&g.elem),
        t => t,
    }
}

/// Size and alignment of a type the macro can compute itself.
#[derive(Clone, Copy)]
pub struct Shape {
    size: u64,
    align: u64,
}

/// Rejects field types that can never be shared, with a specific message,
/// and returns the shape of those the macro knows. Everything else is left
/// to the `ShmElement` bound.
fn check_type(ty: &Type, errs: &mut Errors) -> Option<Shape> {
    match ty {
        Type::Paren(p) => check_type(&p.elem, errs),
        Type::Group(g) => check_type(&g.elem, errs),
        Type::Array(a) => {
            let elem = check_type(&a.elem, errs)?;
            let len = match &a.len {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(n),
                    ..
                }) => n.base10_parse::<u64>().ok()?,
                _ => return None,
            };
            Some(Shape {
                size: elem.size.checked_mul(len)?,
                align: elem.align,
            })
        }
        Type::Reference(r) => {
            errs.on(
                r,
                "references cannot be stored in shared memory: they are addresses in this \
                 process and mean nothing (or something else) in another. Store the value \
                 itself, or an index/offset into another shared structure",
            );
            None
        }
        Type::Ptr(p) => {
            errs.on(
                p,
                "raw pointers cannot be stored in shared memory: segments are mapped at \
                 different addresses in each process. Store an offset or index (`u64`) instead",
            );
            None
        }
        Type::BareFn(f) => {
            errs.on(
                f,
                "function pointers cannot be stored in shared memory: they are code \
                 addresses of this process. Store an integer code (or an `OpenEnum`) and \
                 dispatch on it",
            );
            None
        }
        Type::Tuple(t) if t.elems.is_empty() => {
            errs.on(
                t,
                "`()` is zero-sized and describes no bytes; remove the field",
            );
            None
        }
        Type::Tuple(t) => {
            errs.on(
                t,
                "tuples have no defined layout (Rust may reorder and pad their elements), so \
                 peers cannot read them. Use a #[derive(ShmLayout)] #[repr(C)] struct, or an \
                 array if the elements have one type",
            );
            None
        }
        Type::Slice(s) => {
            errs.on(
                s,
                "slices are unsized; a shared type has a fixed size. Use a fixed-size array \
                 `[T; N]` (with a length field if needed)",
            );
            None
        }
        Type::TraitObject(t) => {
            errs.on(
                t,
                "trait objects carry a vtable pointer of this process and cannot be shared",
            );
            None
        }
        Type::ImplTrait(t) => {
            errs.on(t, "`impl Trait` is not a field type");
            None
        }
        Type::Never(n) => {
            errs.on(n, "`!` has no values and cannot be stored");
            None
        }
        Type::Path(p) if p.qself.is_none() => check_path(ty, &p.path, errs),
        _ => None,
    }
}

fn check_path(ty: &Type, path: &syn::Path, errs: &mut Errors) -> Option<Shape> {
    let last = path.segments.last()?;
    let name = last.ident.to_string();
    // Primitives only as a bare name or `core::primitive::x`/`std::primitive::x`.
    let bare = path.leading_colon.is_none() && path.segments.len() == 1;
    let via_primitive =
        path.segments.len() >= 2 && path.segments[path.segments.len() - 2].ident == "primitive";
    let prim_ok = bare || via_primitive;
    let reject = |errs: &mut Errors, msg: String| {
        errs.on(ty, msg);
        None
    };
    match name.as_str() {
        "u8" | "i8" if prim_ok => Some(Shape { size: 1, align: 1 }),
        "u16" | "i16" if prim_ok => Some(Shape { size: 2, align: 2 }),
        "u32" | "i32" | "f32" if prim_ok => Some(Shape { size: 4, align: 4 }),
        "u64" | "i64" | "f64" if prim_ok => Some(Shape { size: 8, align: 8 }),
        "bool" if prim_ok => reject(
            errs,
            "`bool` cannot be stored in shared memory: a peer may write any byte, and a `bool` \
             holding anything but 0 or 1 is undefined behaviour. Use `u8` (0 = false, \
             anything else = true)"
                .into(),
        ),
        "char" if prim_ok => reject(
            errs,
            "`char` cannot be stored in shared memory: a peer may write any value, and a \
             `char` that is not a Unicode scalar value is undefined behaviour. Use `u32` and \
             `char::from_u32`, or `FixedStr<N>` for text"
                .into(),
        ),
        "usize" | "isize" if prim_ok => reject(
            errs,
            format!(
                "`{name}` has a different width in 32- and 64-bit processes and no fixed \
                 counterpart in the C++/Python peers; use `{}64`",
                &name[..1]
            ),
        ),
        "u128" | "i128" if prim_ok => reject(
            errs,
            format!(
                "`{name}` is not a ZeroIPC primitive (C++ and numpy peers have no 128-bit \
                 integer, and its alignment exceeds 8 on some targets); use `[{}64; 2]` or \
                 two fields",
                &name[..1]
            ),
        ),
        "str" if prim_ok => reject(
            errs,
            "`str` is unsized; use `FixedStr<N>`, a fixed-capacity NUL-padded UTF-8 string".into(),
        ),
        "String" => reject(
            errs,
            "`String` owns a heap buffer in this process, which no other process can see; use \
             `FixedStr<N>`, a fixed-capacity NUL-padded UTF-8 string stored inline"
                .into(),
        ),
        "Vec" | "VecDeque" | "LinkedList" | "HashMap" | "HashSet" | "BTreeMap" | "BTreeSet"
        | "BinaryHeap" => reject(
            errs,
            format!(
                "`{name}` owns heap memory in this process, which no other process can see; \
                 use a fixed-size array `[T; N]` (with a length field), or a separate zeroipc \
                 structure (Array, Queue, Map) in the segment"
            ),
        ),
        "Box" | "Rc" | "Arc" | "Weak" | "Cow" | "NonNull" | "Pin" => reject(
            errs,
            format!(
                "`{name}` is a pointer into this process's memory and means nothing in another \
                 process; store the value inline, or an index into another shared structure"
            ),
        ),
        "Option" | "Result" => reject(
            errs,
            format!(
                "`{name}` cannot be stored in shared memory: its discriminant (or niche) has \
                 invalid bit patterns, and a peer may write any byte. Use an explicit flag \
                 field (`u8`) next to the value"
            ),
        ),
        "PhantomData" | "PhantomPinned" => reject(
            errs,
            format!(
                "`{name}` is zero-sized and describes no bytes; a shared type must describe \
                 every byte it has. Remove it (a generic struct can use its parameter as a \
                 field type instead)"
            ),
        ),
        "Cell" | "RefCell" | "UnsafeCell" | "OnceCell" | "OnceLock" | "Mutex" | "RwLock"
        | "AtomicBool" | "AtomicU8" | "AtomicU16" | "AtomicU32" | "AtomicU64" | "AtomicUsize"
        | "AtomicI8" | "AtomicI16" | "AtomicI32" | "AtomicI64" | "AtomicIsize" | "AtomicPtr" => {
            reject(
                errs,
                format!(
                    "`{name}` has interior mutability; a shared-memory value is copied in and \
                     out whole. Store the plain value, and use zeroipc's Region atomics or its \
                     sync structures (Mutex, Semaphore, ...) for shared mutable state"
                ),
            )
        }
        n if n.starts_with("NonZero") => reject(
            errs,
            format!(
                "`{name}` cannot be stored in shared memory: zero is an invalid value (a niche) \
                 and a peer may write zero. Use the plain integer type"
            ),
        ),
        "FixedStr" => {
            let arg = match &last.arguments {
                syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => &a.args[0],
                _ => return None,
            };
            let n = match arg {
                syn::GenericArgument::Const(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(n),
                    ..
                })) => n.base10_parse::<u64>().ok()?,
                _ => return None,
            };
            Some(Shape { size: n, align: 1 })
        }
        _ => None,
    }
}

fn align_up(n: u64, a: u64) -> u64 {
    n.div_ceil(a) * a
}

/// repr(C) layout of fields whose shapes are all known: reports padding
/// between fields and at the end, and a zero size.
fn check_static_padding(
    c: &Container,
    fields: &[Field],
    shapes: &[Shape],
    r: &Repr,
    errs: &mut Errors,
) {
    let name = c.ident;
    let mut off = 0u64;
    let mut align = r.align.as_ref().map_or(1, |a| a.value.max(1));
    let mut ends = Vec::with_capacity(fields.len());
    let mut starts = Vec::with_capacity(fields.len());
    for s in shapes {
        align = align.max(s.align);
        let start = align_up(off, s.align);
        starts.push(start);
        off = start + s.size;
        ends.push(off);
    }
    if align > MAX_ALIGN {
        return; // reported on the repr
    }
    let size = align_up(off, align);
    for i in 1..fields.len() {
        let gap = starts[i] - ends[i - 1];
        if gap > 0 {
            let after = &fields[i - 1];
            errs.at(
                after.span,
                format!(
                    "`{name}` has {gap} byte(s) of padding after field `{}` (offsets {}..{}, \
                     before field `{}`): padding bytes are never initialised, so peers would \
                     read garbage there. Add an explicit filler field `[u8; {gap}]` after `{}`",
                    after.name,
                    ends[i - 1],
                    starts[i],
                    fields[i].name,
                    after.name,
                ),
            );
        }
    }
    let last = &fields[fields.len() - 1];
    let tail = size - off;
    if tail > 0 {
        errs.at(
            last.span,
            format!(
                "`{name}` has {tail} byte(s) of trailing padding after its last field `{}` \
                 (offsets {off}..{size}, to round the size up to the alignment {align}): \
                 padding bytes are never initialised, so peers would read garbage there. Add \
                 an explicit filler field `[u8; {tail}]` after `{}`",
                last.name, last.name,
            ),
        );
    }
    if size == 0 {
        errs.at(
            name.span(),
            format!("`{name}` is zero-sized: a shared-memory type must hold at least one byte"),
        );
    }
}

fn check_enum(c: &Container, vs: &[Variant], errs: &mut Errors) {
    let name = c.ident;
    let r = &c.repr;
    match &r.int {
        Some(i) if i.value.prim().is_none() => {
            let why = match i.value {
                IntRepr::Usize | IntRepr::Isize => {
                    "its width differs between 32- and 64-bit processes"
                }
                _ => "128-bit integers are not ZeroIPC primitives (no C++/numpy counterpart)",
            };
            errs.on(
                &i.tokens,
                format!(
                    "unsupported repr for a #[derive(ShmLayout)] enum: {why}. Use one of \
                     u8, u16, u32, u64, i8, i16, i32, i64"
                ),
            );
        }
        Some(_) => {}
        None => match &r.c {
            Some(c) => errs.on(
                &c.tokens,
                format!(
                    "`repr(C)` alone gives `{name}` the C compiler's `int` size, which the \
                     format does not pin down; #[derive(ShmLayout)] needs an explicit integer \
                     repr such as `#[repr(u32)]` (u8, u16, u32, u64, i8, i16, i32, i64)"
                ),
            ),
            None => errs.at(
                name.span(),
                format!(
                    "#[derive(ShmLayout)] on enum `{name}` needs an explicit integer repr such \
                     as `#[repr(u8)]` (u8, u16, u32, u64, i8, i16, i32, i64): it fixes the \
                     size and the values peers see"
                ),
            ),
        },
    }
    if let Some(p) = &r.packed {
        errs.on(&p.tokens, "`repr(packed)` does not apply to enums");
    }
    if let Some(a) = &r.align {
        errs.on(
            &a.tokens,
            "`repr(align)` on a #[derive(ShmLayout)] enum: an open enum has exactly its \
             integer's size and alignment",
        );
    }
    if let Some(t) = &r.transparent {
        errs.on(
            &t.tokens,
            "`repr(transparent)` does not apply to these enums",
        );
    }
    if let Some(p) = c.generics.params.first() {
        errs.on(
            p,
            "#[derive(ShmLayout)] enums cannot be generic: they are fieldless lists of named \
             integer values",
        );
    }
    if vs.is_empty() {
        errs.at(
            name.span(),
            format!(
                "enum `{name}` has no variants; #[derive(ShmLayout)] needs at least one named \
                 value"
            ),
        );
    }
    for v in vs {
        if let Some(f) = v.fields {
            errs.on(
                f,
                format!(
                    "variant `{}` has fields: #[derive(ShmLayout)] supports only fieldless enums, \
                     stored as their integer value (`OpenEnum<{name}>`). For data per case use a \
                     #[repr(C)] struct with an `OpenEnum` tag field and the data fields",
                    v.ident
                ),
            );
        }
    }
}
