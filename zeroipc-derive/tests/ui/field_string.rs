use zeroipc::ShmLayout;

#[derive(Clone, ShmLayout)]
#[repr(C)]
struct User {
    id: u64,
    name: String,
}

fn main() {}
