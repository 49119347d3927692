use zeroipc::ShmLayout;

// `u8` then `T`: with T = u64 there would be 7 bytes of padding, with T = u8
// none. The derive cannot prove every instantiation sound, so it refuses.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Tagged<T> {
    tag: u8,
    value: T,
}

fn main() {}
