use zeroipc::ShmLayout;

#[derive(Clone, ShmLayout)]
#[repr(C)]
struct Owner {
    value: Box<u64>,
}

fn main() {}
