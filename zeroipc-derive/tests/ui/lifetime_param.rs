use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct View<'a> {
    bytes: &'a [u8; 4],
}

fn main() {}
