use zeroipc::ShmLayout;

// A plain struct without the derive: only the trait bound can tell.
#[derive(Clone, Copy)]
#[repr(C)]
struct Plain {
    x: u32,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(u8)]
enum Mode {
    Off,
    On,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Holder {
    plain: Plain,
    // an enum must be stored as OpenEnum<Mode>
    mode: Mode,
    _pad: [u8; 3],
}

fn main() {}
