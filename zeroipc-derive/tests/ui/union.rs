use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
union Bits {
    i: u32,
    f: f32,
}

fn main() {}
