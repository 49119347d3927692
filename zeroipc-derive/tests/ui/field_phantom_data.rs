use std::marker::PhantomData;
use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Tagged<T: Copy + Send + Sync + 'static> {
    raw: u64,
    _unit: PhantomData<T>,
}

fn main() {}
