use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C, align(8))]
struct Padded<T> {
    value: T,
}

fn main() {}
