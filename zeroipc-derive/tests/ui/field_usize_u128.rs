use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Sizes {
    len: usize,
    big: u128,
}

fn main() {}
