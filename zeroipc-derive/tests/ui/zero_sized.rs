use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Unit;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Empty {}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct NoBytes {
    a: [u32; 0],
}

fn main() {}
