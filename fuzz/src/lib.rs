//! Support code of the zeroipc libFuzzer targets (see `fuzz/README.md`).

pub mod exercise;
