use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Maybe {
    value: Option<u32>,
}

fn main() {}
