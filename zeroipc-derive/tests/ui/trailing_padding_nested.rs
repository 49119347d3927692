use zeroipc::{FixedStr, ShmLayout};

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Inner {
    x: f64,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Named {
    inner: Inner,
    label: FixedStr<5>,
}

fn main() {}
