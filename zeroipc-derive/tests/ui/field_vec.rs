use zeroipc::ShmLayout;

#[derive(Clone, ShmLayout)]
#[repr(C)]
struct Samples {
    count: u64,
    values: std::vec::Vec<f64>,
}

fn main() {}
