use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Point {
    xy: (f32, f32),
    unit: (),
}

fn main() {}
