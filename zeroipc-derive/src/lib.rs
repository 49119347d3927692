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
///
/// # Structs
///
/// Accepted: structs with named or tuple fields, `#[repr(C)]` (optionally
/// with `align(N)`, `N <= 8`) or `#[repr(transparent)]`, that also derive (or
/// implement) `Clone` and `Copy`, and whose fields are all shared-memory
/// types: `u8`..`u64`, `i8`..`i64`, `f32`, `f64`, fixed arrays of those
/// (any depth), `FixedStr<N>`, `OpenEnum<E>` and other derived structs.
///
/// ```
/// use zeroipc::{FixedStr, OpenEnum, ShmElement, ShmLayout};
///
/// #[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
/// #[repr(u8)]
/// enum Side { Buy = 1, Sell = 2 }
///
/// /// One order, as every peer sees it.
/// #[derive(Clone, Copy, ShmLayout)]
/// #[repr(C)]
/// struct Order {
///     /// Exchange-assigned id.
///     id: u64,
///     symbol: FixedStr<8>,
///     price: [f64; 2],
///     qty: u32,
///     side: OpenEnum<Side>,
///     _pad: [u8; 3], // explicit: the derive refuses hidden padding
/// }
///
/// let l = Order::LAYOUT;
/// assert_eq!((l.name, l.size, l.align), ("Order", 40, 8));
/// assert_eq!(l.doc, "One order, as every peer sees it.");
/// let fp: u64 = l.fingerprint(); // stable across builds and platforms
/// # let _ = fp;
/// ```
///
/// Every rule is checked at compile time, and every violation is reported
/// at its token: a missing `repr(C)`, `repr(packed)`, an alignment above 8,
/// padding between fields or at the end (with the field after which it
/// sits, its byte count and the `[u8; N]` filler to add), zero-sized
/// structs, unions, and field types that cannot be shared (references,
/// pointers, `Box`, `String`, `Vec`, `Option`, `bool`, `char`, `usize`,
/// tuples, function pointers, `PhantomData`, cells and atomics, each with a
/// message saying what to use instead). Padding next to fields whose size
/// only the compiler knows (nested structs) is caught by a `const`
/// assertion that names the struct and field.
///
/// ```compile_fail
/// use zeroipc::ShmLayout;
/// #[derive(Clone, Copy, ShmLayout)]
/// #[repr(C)]
/// struct Hole { flag: u8, value: u32 } // 3 bytes of padding after `flag`
/// ```
///
/// Generic structs are accepted only when no instantiation can have padding:
/// a single field, or fields whose element types (arrays stripped) are the
/// same type, e.g. `struct Pair<T> { a: T, b: T }` or
/// `struct Buf<const N: usize> { len: u64, data: [u64; N] }`.
///
/// # Enums
///
/// A fieldless enum with `#[repr(u8|u16|u32|u64|i8|i16|i32|i64)]` and
/// explicit or implicit discriminants gets `ShmEnum`; it is stored as
/// `OpenEnum<E>`, which keeps any integer a peer writes and converts on
/// `get()`. The enum itself is never a `ShmElement`: an out-of-range value
/// in a Rust enum would be undefined behaviour.
///
/// ```
/// use zeroipc::{open_enum::ShmEnum, OpenEnum, ShmLayout};
/// #[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
/// #[repr(i32)]
/// enum Level { Low = -1, Mid, High = 10 }
/// assert_eq!(Level::Mid.to_repr(), 0);
/// assert_eq!(OpenEnum::<Level>::from_raw(10).get(), Ok(Level::High));
/// assert!(OpenEnum::<Level>::from_raw(3).get().is_err());
/// ```
#[proc_macro_derive(ShmLayout)]
pub fn derive_shm_layout(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
