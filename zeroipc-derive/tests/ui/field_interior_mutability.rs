use std::sync::atomic::AtomicU64;
use zeroipc::ShmLayout;

#[derive(ShmLayout)]
#[repr(C)]
struct Counter {
    hits: AtomicU64,
    last: std::cell::Cell<u64>,
}

fn main() {}
