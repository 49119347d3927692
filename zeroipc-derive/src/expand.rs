//! Code generation, after `validate` has accepted the input.
//!
//! For a struct: an `unsafe impl ShmElement` whose `LAYOUT` is built from the
//! compiler's own numbers (`offset_of!`, `size_of`, `align_of`) and the
//! fields' `LAYOUT`s, plus `const` assertions that prove, after type
//! checking, what the `ShmElement` contract needs: no padding between fields
//! or at the end, alignment at most 8, a non-zero size (the approach of
//! zerocopy-derive's padding check, per field so the error names the field).
//! For an enum: an `impl ShmEnum`, whose values are taken from the compiler
//! with `as` casts; the enum itself never becomes a `ShmElement`.

use crate::ir::{Container, Data, Field, IntRepr, Struct, Variant};
use crate::parse::unraw;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, DeriveInput, GenericParam, Ident};

/// Parses, validates and expands one `#[derive(ShmLayout)]` input.
pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let c = crate::parse::container(input)?;
    crate::validate::check(&c)?;
    match &c.data {
        Data::Struct(s) => Ok(expand_struct(&c, s)),
        Data::Enum(vs) => expand_enum(&c, vs),
        Data::Union(span) => Err(syn::Error::new(*span, "unions are not supported")),
    }
}

/// The declared type with `Self` replaced by the struct's name, for use in
/// item-level `const` blocks where `Self` is not in scope.
fn replace_self(tokens: TokenStream, ident: &Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) if i == "Self" => {
                let mut r = ident.clone();
                r.set_span(i.span());
                TokenTree::Ident(r)
            }
            TokenTree::Group(g) => {
                let mut n = proc_macro2::Group::new(g.delimiter(), replace_self(g.stream(), ident));
                n.set_span(g.span());
                TokenTree::Group(n)
            }
            t => t,
        })
        .collect()
}

/// The assertions that make the `ShmElement` contract hold, evaluated by the
/// compiler: each failure panics at compile time with a message naming the
/// struct, the field and the byte count. `ty` names the struct (`Self`
/// inside the impl, its name at item level); `field_ty` gives each field's
/// type as it can be written there.
fn layout_assertions(
    name: &str,
    ty: &TokenStream,
    fields: &[Field],
    field_ty: impl Fn(&Field) -> TokenStream,
    ident_span: Span,
) -> TokenStream {
    let ds = quote!(::zeroipc::derive_support);
    let mut out = quote_spanned! {ident_span=>
        if ::core::mem::align_of::<#ty>() > 8 {
            ::core::panic!(
                "{}",
                #ds::align_too_large(#name, ::core::mem::align_of::<#ty>()).as_str()
            );
        }
        if ::core::mem::size_of::<#ty>() == 0 {
            ::core::panic!("{}", #ds::zero_sized(#name).as_str());
        }
    };
    let end_of = |f: &Field| {
        let m = &f.member;
        let fty = field_ty(f);
        quote!(::core::mem::offset_of!(#ty, #m) + ::core::mem::size_of::<#fty>())
    };
    for pair in fields.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (an, bn) = (&a.name, &b.name);
        let end = end_of(a);
        let bm = &b.member;
        out.extend(quote_spanned! {a.span=>
            let __zeroipc_end = #end;
            let __zeroipc_next = ::core::mem::offset_of!(#ty, #bm);
            if __zeroipc_next != __zeroipc_end {
                ::core::panic!(
                    "{}",
                    #ds::padding_between(
                        #name, #an, #bn, __zeroipc_end,
                        __zeroipc_next.wrapping_sub(__zeroipc_end),
                    )
                    .as_str()
                );
            }
        });
    }
    if let Some(last) = fields.last() {
        let ln = &last.name;
        let end = end_of(last);
        out.extend(quote_spanned! {last.span=>
            let __zeroipc_end = #end;
            let __zeroipc_size = ::core::mem::size_of::<#ty>();
            if __zeroipc_size != __zeroipc_end {
                ::core::panic!(
                    "{}",
                    #ds::trailing_padding(
                        #name, #ln, __zeroipc_end,
                        __zeroipc_size.wrapping_sub(__zeroipc_end),
                        ::core::mem::align_of::<#ty>(),
                    )
                    .as_str()
                );
            }
        });
    }
    out
}

fn expand_struct(c: &Container, s: &Struct) -> TokenStream {
    let ident = c.ident;
    let name = unraw(ident);
    let doc = &c.doc;
    let generic = c
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)));

    let field_layouts = s.fields.iter().map(|f| {
        let ty = f.ty;
        let (fname, fdoc, m) = (&f.name, &f.doc, &f.member);
        // Spanned on the field type: a type that is not `ShmElement` gets
        // the `AssertShmElement` message right there.
        let layout = quote_spanned!(ty.span()=> ::zeroipc::derive_support::layout_of::<#ty>());
        quote! {
            ::zeroipc::layout::Field {
                name: #fname,
                offset: ::core::mem::offset_of!(Self, #m),
                layout: #layout,
                doc: #fdoc,
            }
        }
    });

    // Generic structs: bound every field type (not the parameters), as
    // serde and zerocopy do, so that e.g. `OpenEnum<E>` with `E: ShmEnum`
    // works; `Self: Copy` carries the bounds `#[derive(Copy)]` put on its
    // own impl, and `'static` is required of the parameters by the trait.
    let mut generics = c.generics.clone();
    if generic {
        let wc = generics.make_where_clause();
        let mut seen = Vec::new();
        for f in &s.fields {
            let ty = f.ty;
            let key = quote!(#ty).to_string();
            if !seen.contains(&key) {
                seen.push(key);
                wc.predicates.push(parse_quote!(#ty: ::zeroipc::ShmElement));
            }
        }
        wc.predicates.push(parse_quote!(Self: ::core::marker::Copy));
        let params: Vec<Ident> = c.generics.type_params().map(|t| t.ident.clone()).collect();
        for t in params {
            wc.predicates.push(parse_quote!(#t: 'static));
        }
    }
    let (impl_g, ty_g, where_c) = generics.split_for_impl();

    let layout_value = quote! {
        &::zeroipc::layout::TypeLayout {
            name: #name,
            size: ::core::mem::size_of::<Self>(),
            align: ::core::mem::align_of::<Self>(),
            kind: ::zeroipc::layout::Kind::Struct {
                fields: &[#(#field_layouts),*],
            },
            doc: #doc,
        }
    };

    if generic {
        // Generic: validation proved, from the declaration alone, that no
        // instantiation has padding (one field, or one element type). The
        // assertions are repeated inside `LAYOUT`, where they run for each
        // instantiation that is used, as a second line of defence and to
        // reject a zero-sized instantiation.
        let checks = layout_assertions(
            &name,
            &quote!(Self),
            &s.fields,
            |f| {
                let t = f.ty;
                quote!(#t)
            },
            ident.span(),
        );
        // SAFETY (of the generated impl): the struct is repr(C) or
        // repr(transparent) (validated), every field type is bound by
        // `ShmElement` through `layout_of` and the added where-clause, so every
        // field accepts every bit pattern and holds no pointers; the generics
        // rule in `validate` proves no padding for every instantiation; the
        // layout uses the compiler's own offsets, size and alignment.
        quote! {
            #[automatically_derived]
            #[doc = " SAFETY: `#[derive(ShmLayout)]` checked that this type is `repr(C)`/`repr(transparent)`, that every field is `ShmElement` (every bit pattern valid, no pointers), and that no instantiation has padding (a single field, or fields of one element type); `LAYOUT` is built from `offset_of!`, `size_of` and `align_of`."]
            unsafe impl #impl_g ::zeroipc::ShmElement for #ident #ty_g #where_c {
                const LAYOUT: &'static ::zeroipc::layout::TypeLayout = {
                    #checks
                    #layout_value
                };
            }
        }
    } else {
        let ty = quote!(#ident);
        let checks = layout_assertions(
            &name,
            &ty,
            &s.fields,
            |f| {
                let t = f.ty;
                replace_self(quote!(#t), ident)
            },
            ident.span(),
        );
        // SAFETY (of the generated impl): repr(C)/repr(transparent)
        // (validated), every field `ShmElement` (bound via `layout_of`, spanned
        // on the field), and the item-level `const` below proves at compile
        // time that there is no padding between fields or at the end, the
        // alignment is at most 8 and the size is not zero; so every byte
        // belongs to a field whose every bit pattern is valid.
        quote! {
            #[doc(hidden)]
            const _: () = {
                #checks
            };

            #[automatically_derived]
            #[doc = " SAFETY: `#[derive(ShmLayout)]` checked that this type is `repr(C)`/`repr(transparent)`, that every field is `ShmElement` (every bit pattern valid, no pointers), and, in a compile-time assertion, that it has no padding, alignment at most 8 and a non-zero size; `LAYOUT` is built from `offset_of!`, `size_of` and `align_of`."]
            unsafe impl ::zeroipc::ShmElement for #ident {
                const LAYOUT: &'static ::zeroipc::layout::TypeLayout = #layout_value;
            }
        }
    }
}

fn int_type(i: IntRepr) -> TokenStream {
    match i {
        IntRepr::U8 => quote!(::core::primitive::u8),
        IntRepr::U16 => quote!(::core::primitive::u16),
        IntRepr::U32 => quote!(::core::primitive::u32),
        IntRepr::U64 => quote!(::core::primitive::u64),
        IntRepr::I8 => quote!(::core::primitive::i8),
        IntRepr::I16 => quote!(::core::primitive::i16),
        IntRepr::I32 => quote!(::core::primitive::i32),
        IntRepr::I64 => quote!(::core::primitive::i64),
        IntRepr::Usize => quote!(::core::primitive::usize),
        IntRepr::Isize => quote!(::core::primitive::isize),
        IntRepr::U128 => quote!(::core::primitive::u128),
        IntRepr::I128 => quote!(::core::primitive::i128),
    }
}

fn expand_enum(c: &Container, vs: &[Variant]) -> syn::Result<TokenStream> {
    let ident = c.ident;
    let name = unraw(ident);
    let doc = &c.doc;
    let repr = c
        .repr
        .int
        .as_ref()
        .map(|i| i.value)
        .ok_or_else(|| syn::Error::new(ident.span(), "missing integer repr"))?;
    let rt = int_type(repr);
    let variants = vs.iter().map(|v| {
        let vi = v.ident;
        let (vname, vdoc) = (unraw(vi), &v.doc);
        quote! {
            ::zeroipc::layout::Variant {
                name: #vname,
                // `as #rt` is the discriminant; `as i64` then sign-extends
                // signed reprs and keeps u64 values bit for bit.
                value: (#ident::#vi as #rt) as ::core::primitive::i64,
                doc: #vdoc,
            }
        }
    });
    let from = vs.iter().map(|v| {
        let vi = v.ident;
        quote! {
            if __zeroipc_raw == #ident::#vi as #rt {
                return ::core::option::Option::Some(#ident::#vi);
            }
        }
    });
    // No unsafe here: the enum is not a `ShmElement`; `OpenEnum<Self>` is,
    // and it keeps the raw integer, converting only through `from_repr`.
    Ok(quote! {
        #[automatically_derived]
        impl ::zeroipc::open_enum::ShmEnum for #ident {
            type Repr = #rt;
            const NAME: &'static str = #name;
            const VARIANTS: &'static [::zeroipc::layout::Variant] = &[#(#variants),*];
            const DOC: &'static str = #doc;

            #[inline]
            fn to_repr(self) -> #rt {
                self as #rt
            }

            #[inline]
            fn from_repr(__zeroipc_raw: #rt) -> ::core::option::Option<Self> {
                #(#from)*
                ::core::option::Option::None
            }
        }
    })
}
