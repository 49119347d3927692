use zeroipc::{ShmElement, ShmLayout};

#[derive(Clone, Copy, ShmLayout)]
#[repr(transparent)]
struct Wrapper<T>(T);

fn main() {
    // Accepted for every T, but an instantiation with a zero-sized T is
    // refused when its layout is used.
    let _ = <Wrapper<[u8; 0]> as ShmElement>::LAYOUT;
}
