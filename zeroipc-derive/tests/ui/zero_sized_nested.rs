use zeroipc::ShmLayout;

const N: usize = 0;

// Sizes the macro cannot see (a named constant): the const assertion finds it.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Hollow {
    a: [u64; N],
}

fn main() {}
