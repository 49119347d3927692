use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Node {
    value: u64,
    next: *const Node,
}

fn main() {}
