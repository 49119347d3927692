//! Code emitters and the schema compiler of zeroipc.
//!
//! - [`emit`]: render layouts (`zeroipc::layout::TypeLayout`, from
//!   `#[derive(ShmLayout)]` types or from a schema) as a numpy module, a
//!   C++17 header or Rust source.
//! - [`schema`]: the TOML schema language of `docs/SCHEMA.md`, compiled to
//!   the same layouts plus typed segment descriptions.
//! - [`schema_entry`]: the `__schema` table entry a generated segment carries.
//! - [`types`]: the one type grammar of the schema language and the
//!   inspector's `--type` (`u32`, `f64[4][3]`, `str<16>`, `[u8; 4]`, ...).
//!
//! The `zeroipc-gen` command line is behind the default feature `cli`; a
//! library user that only emits code depends on
//! `zeroipc-gen = { version = "0.1", default-features = false }` and does
//! not build clap. The `zeroipc` inspector is the `zeroipc-cli` crate.

#![warn(missing_docs)]

pub mod emit;
pub mod schema;
pub mod schema_entry;
pub mod types;
