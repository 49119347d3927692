use zeroipc::ShmLayout;

#[derive(Clone, Copy, ShmLayout)]
enum Color {
    Red,
    Green,
}

fn main() {}
