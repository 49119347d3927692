use zeroipc::ShmLayout;

// Every problem is reported in one go, each at its own token.
#[derive(ShmLayout)]
#[repr(C, packed(2))]
struct Everything<'a> {
    name: String,
    flag: bool,
    data: &'a u8,
    ptr: *mut u8,
    list: Vec<Option<u32>>,
}

fn main() {}
