use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Sample {
    flag: u8,
    value: u32,
    id: u16,
    _pad: [u8; 2],
}

fn main() {}
