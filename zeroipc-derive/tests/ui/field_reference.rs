use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Borrowed {
    len: u64,
    data: &'static [u8; 8],
}

fn main() {}
