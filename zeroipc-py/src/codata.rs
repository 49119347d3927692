//! The codata kinds: Future, Lazy, Stream (and StreamVoid), Channel, and
//! `select` over channels.
//!
//! Every kind wraps the runtime's run-time-sized handle
//! (`zeroipc::raw::{RawFuture, RawLazy, RawStream, RawChannel}`) and a
//! [`crate::dtype::DType`] for its values (numpy scalars or records in and
//! out). Operation names are the Rust ones; `_timeout` forms take float
//! seconds and raise `ZeroIpcTimeoutError`; every wait runs with the GIL
//! released in slices (`crate::blocking`), so Ctrl-C raises
//! `KeyboardInterrupt` within about 50 ms.

use pyo3::prelude::*;

mod channel;
mod future;
mod lazy;
mod stream;

/// Adds the codata kinds and `select` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    channel::register(m)?;
    future::register(m)?;
    lazy::register(m)?;
    stream::register(m)?;
    Ok(())
}
