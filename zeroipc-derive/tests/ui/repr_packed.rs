use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C, packed)]
struct Tight {
    tag: u8,
    value: u64,
}

fn main() {}
