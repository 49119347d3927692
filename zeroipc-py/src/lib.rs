//! `zeroipc_rs._native`: the zeroipc Rust runtime as a Python extension.
//!
//! The Python package `zeroipc_rs` (python/zeroipc_rs) re-exports this
//! module. Every structure handle holds the runtime's handle, which keeps
//! the segment mapped, so a Python object never outlives its memory.

use pyo3::prelude::*;

mod blocking;
mod codata;
mod data;
mod dtype;
mod errors;
mod segment;
mod sync;

/// The native module: the exception hierarchy, `Segment`, and every kind.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    segment::register(m)?;
    data::register(m)?;
    sync::register(m)?;
    codata::register(m)?;
    // setattr, not add: __version__ stays out of __all__.
    m.setattr("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
