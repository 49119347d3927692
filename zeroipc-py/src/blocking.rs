//! Blocking calls with the GIL released and Ctrl-C honoured.
//!
//! A runtime wait cannot see Python signals, so every blocking operation runs
//! in slices of at most [`SLICE`]: each slice calls the runtime with the GIL
//! released (other Python threads run), and between slices the GIL is taken
//! back and `PyErr_CheckSignals` runs the Python signal handlers, so Ctrl-C
//! raises `KeyboardInterrupt` within about one slice. A slice that times out
//! leaves every byte as it was (the runtime's guarantee for timed-out
//! operations), so retrying it is equivalent to one longer wait.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use zeroipc::Error;

use crate::errors::to_py;

/// Longest time the GIL stays released without a signal check.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// A timeout in float seconds as a `Duration`; `None` stays `None` (wait
/// forever). Refuses negative, NaN and unrepresentable values with a
/// `ValueError` naming the value.
pub(crate) fn timeout_of(timeout_s: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout_s {
        None => Ok(None),
        Some(t) => Duration::try_from_secs_f64(t).map(Some).map_err(|_| {
            PyValueError::new_err(format!(
                "timeout must be a finite number of seconds >= 0, got {t}"
            ))
        }),
    }
}

/// Runs `op(slice)` with the GIL released until it returns `Ok(Some(r))`,
/// it fails, or `timeout_s` seconds have passed (`None`: forever), in slices
/// of at most [`SLICE`], checking Python signals between slices.
///
/// `op` returns `Ok(None)` when its slice passed without success; it is
/// called first with a zero slice and the GIL held (one attempt that must
/// not wait), then with the GIL released. Returns
/// `Ok(None)` when the whole timeout passed; a pending signal's exception
/// (`KeyboardInterrupt`) when a handler raised one.
pub(crate) fn blocking<R: Send>(
    py: Python<'_>,
    timeout_s: Option<f64>,
    mut op: impl FnMut(Duration) -> zeroipc::Result<Option<R>> + Send,
) -> PyResult<Option<R>> {
    let timeout = timeout_of(timeout_s)?;
    let start = Instant::now();
    // First one attempt that does not wait, with the GIL held: releasing
    // and re-taking the GIL costs more than an operation that succeeds at
    // once (the common case), and a runtime `_timeout` operation given a
    // zero timeout makes exactly one non-waiting attempt.
    if let Some(r) = op(Duration::ZERO).map_err(to_py)? {
        return Ok(Some(r));
    }
    loop {
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            return Ok(None);
        }
        let slice = match timeout {
            None => SLICE,
            Some(t) => t.saturating_sub(start.elapsed()).min(SLICE),
        };
        let op = &mut op;
        if let Some(r) = py.detach(move || op(slice)).map_err(to_py)? {
            return Ok(Some(r));
        }
        py.check_signals()?;
    }
}

/// [`blocking`] for a runtime `_timeout` operation: a slice's
/// [`Error::Timeout`] means "not yet"; when the whole timeout passes, the
/// runtime's last timeout error is raised again with the total time waited
/// (so the message reads as the Rust call with the whole timeout would).
pub(crate) fn blocking_timeout<R: Send>(
    py: Python<'_>,
    timeout_s: Option<f64>,
    mut op: impl FnMut(Duration) -> zeroipc::Result<R> + Send,
) -> PyResult<R> {
    let start = Instant::now();
    let mut last: Option<(String, &'static str)> = None;
    let last_ref = &mut last;
    let r = blocking(py, timeout_s, move |slice| match op(slice) {
        Ok(r) => Ok(Some(r)),
        Err(Error::Timeout { name, kind, .. }) => {
            *last_ref = Some((name, kind));
            Ok(None)
        }
        Err(e) => Err(e),
    })?;
    match r {
        Some(r) => Ok(r),
        None => {
            let (name, kind) = last.unwrap_or_else(|| (String::new(), "structure"));
            let waited_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            Err(to_py(Error::Timeout {
                name,
                kind,
                waited_ms,
            }))
        }
    }
}
