//! Python callables run inside runtime calls (`Once.call_once`,
//! `Signal.update`).
//!
//! The runtime runs the caller's closure at a point where it holds
//! something (the Once's RUNNING state, the Signal's mutex) and undoes or
//! releases it if the closure unwinds. A Python exception raised by the
//! callable is therefore stored and turned into an unwind with the
//! [`Raised`] payload, which the runtime call lets pass after its cleanup
//! and [`catch_raised`] stops; the caller then raises the stored exception.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

/// The unwind payload that carries "the Python callable raised" out of a
/// runtime call.
struct Raised;

/// Runs `call` with the GIL (taking it if this thread does not hold it);
/// if it raises, stores the exception in `slot` and unwinds with
/// [`Raised`].
pub(crate) fn call_or_unwind(
    slot: &mut Option<PyErr>,
    call: impl for<'py> FnOnce(Python<'py>) -> PyResult<()>,
) {
    if let Err(e) = Python::attach(call) {
        *slot = Some(e);
        resume_unwind(Box::new(Raised));
    }
}

/// Runs `op`; `None` if it unwound with [`Raised`] (the exception is in
/// the slot given to [`call_or_unwind`]). Any other panic continues.
pub(crate) fn catch_raised<R>(op: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(op)) {
        Ok(r) => Some(r),
        Err(payload) if payload.is::<Raised>() => None,
        Err(payload) => resume_unwind(payload),
    }
}
