use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
struct Reading {
    sensor: u32,
    value: f32,
}

fn main() {}
