use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Callback {
    id: u64,
    handler: fn(u64) -> u64,
}

fn main() {}
