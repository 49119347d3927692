use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Key {
    code: char,
}

fn main() {}
