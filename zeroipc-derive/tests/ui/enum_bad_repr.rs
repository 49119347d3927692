use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
enum CInt {
    A,
    B,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(usize)]
enum Word {
    A,
    B,
}

fn main() {}
