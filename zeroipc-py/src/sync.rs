//! The synchronisation kinds: Semaphore, Mutex, Barrier, Latch, Once,
//! Event, RwLock, Monitor and Signal.
//!
//! Every kind wraps the runtime's handle (`zeroipc::sync::*`, and
//! `zeroipc::raw::signal::RawSignal` for Signal, whose value type is known
//! only at run time). Operation names are the Rust ones: a plain form that
//! waits as long as it takes, a `try_` form that never waits, a `_timeout`
//! form taking float seconds that raises `ZeroIpcTimeoutError` (also a
//! builtin `TimeoutError`). Every wait runs with the GIL released in slices
//! (`crate::blocking`), so other Python threads run and Ctrl-C raises
//! `KeyboardInterrupt` within about 50 ms.

use pyo3::prelude::*;

mod counters;
mod event;
mod held;
mod locks;
mod monitor;
mod pyfn;
mod signal;

/// Adds the synchronisation kinds to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    counters::register(m)?;
    event::register(m)?;
    locks::register(m)?;
    monitor::register(m)?;
    signal::register(m)?;
    Ok(())
}
