use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C, align(16))]
struct Wide {
    a: [u64; 2],
}

fn main() {}
