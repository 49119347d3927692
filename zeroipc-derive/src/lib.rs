//! `#[derive(ShmLayout)]` for zeroipc (being built: see issue 3).
