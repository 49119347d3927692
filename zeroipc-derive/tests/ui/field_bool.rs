use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Flags {
    ready: bool,
    // nested in an array: the span is on the element type
    bits: [bool; 7],
}

fn main() {}
