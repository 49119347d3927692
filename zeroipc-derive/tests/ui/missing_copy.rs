use zeroipc::ShmLayout;

// ShmElement requires Copy: values are copied in and out of shared memory.
#[derive(ShmLayout)]
#[repr(C)]
struct NotCopy {
    x: u64,
}

fn main() {}
