//! `#[derive(ShmLayout)]`: compile-time certified shared-memory layouts for
//! [zeroipc](https://docs.rs/zeroipc).
//!
//! Use it through the runtime crate, `use zeroipc::ShmLayout;`. On a
//! `#[repr(C)]` (or `#[repr(transparent)]`) struct it implements
//! `zeroipc::ShmElement` after proving, at compile time, that the struct has
//! no padding, alignment at most 8, a non-zero size and only fields that are
//! themselves shared-memory types; its `LAYOUT` records the real offsets,
//! sizes, names and doc comments, from which the fingerprint and the Python
//! and C++ renderings are derived. On a fieldless enum with an explicit
//! integer repr it implements `zeroipc::open_enum::ShmEnum`, so the enum is
//! stored as `OpenEnum<E>` (its raw integer, any value a peer writes kept).
//!
//! Layout of the crate (serde_derive's split): `parse` turns syn into a small
//! IR, `validate` applies every rule and collects all errors with their
//! spans, `expand` generates the impls and the const assertions.

mod expand;
mod ir;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Derives `zeroipc::ShmElement` for a `#[repr(C)]` struct, or
/// `zeroipc::open_enum::ShmEnum` for a fieldless enum with an integer repr.
/// See the `zeroipc` crate documentation for the rules and examples.
#[proc_macro_derive(ShmLayout)]
pub fn derive_shm_layout(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
