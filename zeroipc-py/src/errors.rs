//! The exception hierarchy: `ZeroIpcError` and one subclass per variant of
//! `zeroipc::Error`, named after the variant with an `Error` suffix.
//!
//! The message of every exception is the Rust error's `Display` exactly, so
//! the runtime's documentation of its messages carries over. Two classes have
//! a second, builtin base so plain Python code can catch them idiomatically:
//! `ZeroIpcTimeoutError` is also a `TimeoutError`, `IoError` an `OSError`.
//!
//! The classes are made at module initialisation with `type(name, bases,
//! dict)` (a class with two bases cannot be declared with
//! `create_exception!`) and kept in a process-wide table.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use zeroipc::Error;

/// Python name of the base class.
const BASE: &str = "ZeroIpcError";

/// Every subclass: Python name, docstring, and an optional builtin second
/// base. The order is the index [`index_of`] returns.
const SUBCLASSES: &[(&str, &str, Option<&str>)] = &[
    ("InvalidSegmentNameError", "A segment name that is not a valid POSIX shared-memory name.", None),
    ("InvalidStructureNameError", "A structure (table entry) name that cannot be stored.", None),
    ("SegmentExistsError", "Creating a segment whose name is already taken.", None),
    ("SegmentNotFoundError", "Opening a segment that does not exist.", None),
    ("IoError", "An operating-system call failed (also an OSError).", Some("OSError")),
    ("UnsupportedError", "The platform lacks something the runtime needs.", None),
    ("ForeignOwnerError", "The segment exists but belongs to another user.", None),
    ("SegmentTooSmallError", "The requested segment size cannot hold the table.", None),
    ("InvalidParameterError", "A creation parameter is out of range.", None),
    ("CorruptTableError", "A segment failed one of the open-time checks of the table.", None),
    ("TableFullError", "Every table slot is used.", None),
    ("SegmentFullError", "Not enough space left in the segment's data area.", None),
    ("DuplicateNameError", "A structure name is already in the table.", None),
    ("StructureNotFoundError", "No table entry with that name.", None),
    (
        "StructureMismatchError",
        "A structure's header or entry disagrees with what the caller asked for (a wrong dtype, for one).",
        None,
    ),
    ("InvalidArgumentError", "An argument to an operation was out of range.", None),
    (
        "ZeroIpcTimeoutError",
        "A blocking operation ran out of time (also a builtin TimeoutError).",
        Some("TimeoutError"),
    ),
    ("ClosedError", "The structure was closed by a peer.", None),
    ("FullError", "A channel-like structure's buffer has no room now.", None),
    ("WrongKindError", "The segment records the name as another kind of structure.", None),
    ("FailedError", "A stored computation (Future, Lazy) completed with an error.", None),
    ("OverrunError", "A Stream reader was lapped by the writer; elements were lost.", None),
];

/// The base class (index 0) followed by [`SUBCLASSES`] (index i + 1).
static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Index into [`SUBCLASSES`] of the class for `e`; `None` for a variant
/// added to the (non-exhaustive) enum after this table (raised as the base).
fn index_of(e: &Error) -> Option<usize> {
    let i = match e {
        Error::InvalidSegmentName { .. } => 0,
        Error::InvalidStructureName { .. } => 1,
        Error::SegmentExists { .. } => 2,
        Error::SegmentNotFound { .. } => 3,
        Error::Io { .. } => 4,
        Error::Unsupported(_) => 5,
        Error::ForeignOwner { .. } => 6,
        Error::SegmentTooSmall { .. } => 7,
        Error::InvalidParameter { .. } => 8,
        Error::CorruptTable { .. } => 9,
        Error::TableFull { .. } => 10,
        Error::SegmentFull { .. } => 11,
        Error::DuplicateName { .. } => 12,
        Error::StructureNotFound { .. } => 13,
        Error::StructureMismatch { .. } => 14,
        Error::InvalidArgument { .. } => 15,
        Error::Timeout { .. } => 16,
        Error::Closed { .. } => 17,
        Error::Full { .. } => 18,
        Error::WrongKind { .. } => 19,
        Error::Failed { .. } => 20,
        Error::Overrun { .. } => 21,
        _ => return None,
    };
    Some(i)
}

/// `type(name, bases, {"__module__": "zeroipc_rs", "__doc__": doc})`.
fn make_class<'py>(
    py: Python<'py>,
    name: &str,
    doc: &str,
    bases: Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", "zeroipc_rs")?;
    dict.set_item("__doc__", doc)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, dict))?
        .cast_into::<PyType>()?;
    Ok(class)
}

/// Creates the classes (once per process) and adds them to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let types = TYPES.get_or_try_init(py, || -> PyResult<Vec<Py<PyType>>> {
        let builtins = py.import("builtins")?;
        let exception = builtins.getattr("Exception")?;
        let base = make_class(
            py,
            BASE,
            "Base class of every error the zeroipc runtime reports; the message is the Rust error's text.",
            PyTuple::new(py, [exception])?,
        )?;
        let mut out = vec![base.clone().unbind()];
        for (name, doc, extra) in SUBCLASSES {
            let bases = match extra {
                Some(b) => PyTuple::new(py, [base.clone().into_any(), builtins.getattr(*b)?])?,
                None => PyTuple::new(py, [base.clone().into_any()])?,
            };
            out.push(make_class(py, name, doc, bases)?.unbind());
        }
        Ok(out)
    })?;
    m.add(BASE, types[0].bind(py))?;
    for ((name, _, _), ty) in SUBCLASSES.iter().zip(&types[1..]) {
        m.add(*name, ty.bind(py))?;
    }
    Ok(())
}

/// The Python exception for a runtime error: the class of its variant, the
/// message its `Display`.
pub(crate) fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    Python::attach(|py| match TYPES.get(py) {
        Some(types) => {
            let ty = index_of(&e).map_or(&types[0], |i| &types[i + 1]);
            PyErr::from_type(ty.bind(py).clone(), msg)
        }
        // Only before the module initialised, which no caller can reach.
        None => pyo3::exceptions::PyRuntimeError::new_err(msg),
    })
}

/// `Result<T, zeroipc::Error>` -> `PyResult<T>` with [`to_py`].
pub(crate) trait IntoPyResult<T> {
    /// Converts the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for zeroipc::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
