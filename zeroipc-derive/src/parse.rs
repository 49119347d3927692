//! syn -> IR. Only reads; every rule lives in `validate`.

use crate::ir::{Container, Data, Field, IntRepr, Repr, ReprItem, Struct, Variant};
use proc_macro2::{Group, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, Expr, ExprLit, Lit, LitInt, Member, Meta};

/// Builds the IR. Fails only on a `#[repr]` attribute it cannot read (which
/// the compiler would reject as well).
pub fn container(input: &DeriveInput) -> syn::Result<Container<'_>> {
    let data = match &input.data {
        syn::Data::Struct(s) => Data::Struct(Struct {
            fields: s
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| match &f.ident {
                    Some(id) => Field {
                        member: Member::Named(id.clone()),
                        name: unraw(id),
                        ty: &f.ty,
                        doc: doc(&f.attrs),
                        span: id.span(),
                    },
                    None => Field {
                        member: Member::Unnamed(syn::Index {
                            index: i as u32,
                            span: f.ty.span(),
                        }),
                        name: i.to_string(),
                        ty: &f.ty,
                        doc: doc(&f.attrs),
                        span: f.ty.span(),
                    },
                })
                .collect(),
        }),
        syn::Data::Enum(e) => Data::Enum(
            e.variants
                .iter()
                .map(|v| Variant {
                    ident: &v.ident,
                    doc: doc(&v.attrs),
                    fields: match v.fields {
                        syn::Fields::Unit => None,
                        ref f => Some(f),
                    },
                    discriminant: v.discriminant.as_ref().map(|(_, e)| e),
                })
                .collect(),
        ),
        syn::Data::Union(u) => Data::Union(u.union_token.span),
    };
    Ok(Container {
        ident: &input.ident,
        generics: &input.generics,
        doc: doc(&input.attrs),
        repr: repr(&input.attrs)?,
        data,
    })
}

/// The name of an identifier without a `r#` prefix.
pub fn unraw(id: &syn::Ident) -> String {
    let s = id.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// The doc comment: the string of every `#[doc = "..."]` (what `///`
/// becomes), one line each, with the one space `///` leaves stripped.
/// Non-literal docs (`#[doc = include_str!(..)]`) are skipped.
pub fn doc(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &a.meta {
            if let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                let v = s.value();
                for line in v.lines() {
                    lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
                }
            }
        }
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

fn repr(attrs: &[Attribute]) -> syn::Result<Repr> {
    let mut r = Repr::default();
    for a in attrs {
        if !a.path().is_ident("repr") {
            continue;
        }
        a.parse_nested_meta(|meta| {
            let path = &meta.path;
            let name = path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            // The argument group of `packed(N)` / `align(N)`, if present.
            let group: Option<Group> = if meta.input.peek(syn::token::Paren) {
                Some(meta.input.parse()?)
            } else {
                None
            };
            let tokens: TokenStream = match &group {
                Some(g) => quote!(#path #g),
                None => path.to_token_stream(),
            };
            let arg = |g: &Option<Group>| -> syn::Result<Option<u64>> {
                match g {
                    Some(g) => Ok(Some(syn::parse2::<LitInt>(g.stream())?.base10_parse()?)),
                    None => Ok(None),
                }
            };
            match name.as_str() {
                "C" => r.c = Some(ReprItem { value: (), tokens }),
                "transparent" => r.transparent = Some(ReprItem { value: (), tokens }),
                "packed" => {
                    r.packed = Some(ReprItem {
                        value: arg(&group)?,
                        tokens,
                    })
                }
                "align" => {
                    if let Some(n) = arg(&group)? {
                        r.align = Some(ReprItem { value: n, tokens });
                    }
                }
                other => {
                    if let Some(i) = IntRepr::from_ident(other) {
                        r.int = Some(ReprItem { value: i, tokens });
                    }
                    // Anything else (`Rust`, `simd`, ...) is left to the
                    // compiler; without `C`/`transparent` a struct is rejected
                    // anyway.
                }
            }
            Ok(())
        })?;
    }
    Ok(r)
}
