//! Names in the user's scope that generated code must not trip over.
#![allow(non_upper_case_globals, dead_code, non_camel_case_types)]
#![no_implicit_prelude]

extern crate core;
extern crate std;
extern crate zeroipc;

const end: usize = 3;
const r: u8 = 9;
struct ShmElement;
struct Option;
struct u32;
fn size_of() {}
fn panic() {}

#[derive(::core::clone::Clone, ::core::marker::Copy, zeroipc::ShmLayout)]
#[repr(C)]
struct S {
    a: ::core::primitive::u32,
    b: [::core::primitive::u8; 4],
}

#[derive(::core::clone::Clone, ::core::marker::Copy, zeroipc::ShmLayout)]
#[repr(u8)]
enum E {
    X,
    Y,
}

fn main() {
    ::std::assert_eq!(<S as ::zeroipc::ShmElement>::LAYOUT.size, 8);
    ::std::assert!(<E as ::zeroipc::open_enum::ShmEnum>::from_repr(1).is_some());
}
