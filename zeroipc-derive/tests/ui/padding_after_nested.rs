use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Pair {
    a: u16,
    b: u16,
}

// `Pair` is 4 bytes with alignment 2, known only after type checking: the
// padding before `total` is found by a const assertion.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Outer {
    pair: Pair,
    total: u64,
}

fn main() {}
