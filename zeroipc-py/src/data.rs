//! The data kinds: Array, Queue, Stack, Ring, Pool, Map, Set.

use pyo3::prelude::*;

/// Adds the data kinds to the module.
pub(crate) fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
