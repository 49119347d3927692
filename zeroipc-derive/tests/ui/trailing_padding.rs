use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Stamp {
    nanos: u64,
    kind: u16,
}

fn main() {}
