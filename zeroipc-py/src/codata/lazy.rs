//! `Lazy`: a shared, computed-once primitive value.

use numpy::PyArrayDescrMethods;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use zeroipc::codata::lazy::OPERAND_WAIT;
use zeroipc::format::lazy as fmt;
use zeroipc::layout::Prim;
use zeroipc::raw::RawLazy;
use zeroipc::LazyOp;

use crate::blocking::blocking_timeout;
use crate::data::{take, take_timeout};
use crate::dtype::DType;
use crate::errors::IntoPyResult;
use crate::segment::PySegment;

/// A shared value computed once, by whichever process forces it first
/// (`zeroipc::raw::RawLazy`; the typed `zeroipc::Lazy<T>`'s and the C++
/// reference's bytes). Values are primitive numbers: the dtype is one of
/// uint8..uint64, int8..int64, float32, float64.
///
/// An operation is a tuple: `("constant", v)`, `("add", a, b)`,
/// `("multiply", a, b)` or `("negate", a)`. `Lazy.add(seg, name, x, y)`
/// (and `multiply`, `negate`) forces the operand lazies and records their
/// values. Integer arithmetic wraps, as in Rust.
///
/// >>> import os, numpy as np
/// >>> from zeroipc_rs import Segment, Lazy
/// >>> name = f"/zeroipc-py-lazy-{os.getpid()}"
/// >>> seg = Segment.create(name, 1 << 16)
/// >>> a = Lazy.constant(seg, "a", 1.5, np.float64)
/// >>> b = Lazy.create(seg, "b", ("multiply", 4.0, 0.5), np.float64)
/// >>> s = Lazy.add(seg, "sum", a, b)
/// >>> (s.peek(), s.force(), s.compute_count(), s.op())
/// (None, np.float64(3.5), 1, ('add', np.float64(1.5), np.float64(2.0)))
/// >>> Lazy.open(seg, "sum").peek()  # the dtype recorded in the segment
/// np.float64(3.5)
/// >>> Segment.unlink(name)
#[pyclass(name = "Lazy", module = "zeroipc_rs", frozen)]
pub(crate) struct PyLazy {
    inner: RawLazy,
    dtype: DType,
    name: String,
}

/// The primitive a dtype stands for (native byte order only).
fn prim_of(py: Python<'_>, dtype: &DType) -> PyResult<Prim> {
    let d = dtype.descr(py);
    let native = d.is_native_byteorder() != Some(false);
    let prim = match (native, d.kind(), dtype.itemsize()) {
        (true, b'u', 1) => Some(Prim::U8),
        (true, b'u', 2) => Some(Prim::U16),
        (true, b'u', 4) => Some(Prim::U32),
        (true, b'u', 8) => Some(Prim::U64),
        (true, b'i', 1) => Some(Prim::I8),
        (true, b'i', 2) => Some(Prim::I16),
        (true, b'i', 4) => Some(Prim::I32),
        (true, b'i', 8) => Some(Prim::I64),
        (true, b'f', 4) => Some(Prim::F32),
        (true, b'f', 8) => Some(Prim::F64),
        _ => None,
    };
    prim.ok_or_else(|| {
        let shown = d.repr().map(|r| r.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!(
            "a Lazy value is a native-order uint8..uint64, int8..int64, float32 or float64, not dtype {shown}"
        ))
    })
}

/// The numpy dtype of a primitive.
fn dtype_of(py: Python<'_>, prim: Prim) -> PyResult<DType> {
    let code = match prim {
        Prim::U8 => "=u1",
        Prim::U16 => "=u2",
        Prim::U32 => "=u4",
        Prim::U64 => "=u8",
        Prim::I8 => "=i1",
        Prim::I16 => "=i2",
        Prim::I32 => "=i4",
        Prim::I64 => "=i8",
        Prim::F32 => "=f4",
        Prim::F64 => "=f8",
    };
    DType::from_py(&code.into_pyobject(py)?.into_any())
}

/// An operation tuple as operand bytes: `LazyOp` over owned bytes.
fn op_of(dtype: &DType, op: &Bound<'_, PyTuple>) -> PyResult<LazyOp<Vec<u8>>> {
    let name: String = op.get_item(0)?.extract()?;
    let args = op.len() - 1;
    let want = match name.as_str() {
        "constant" | "negate" => 1,
        "add" | "multiply" => 2,
        other => {
            return Err(PyValueError::new_err(format!(
                "Lazy operation must be 'constant', 'add', 'multiply' or 'negate', got {other:?}"
            )))
        }
    };
    if args != want {
        return Err(PyValueError::new_err(format!(
            "Lazy operation {name:?} takes {want} operand(s), got {args}"
        )));
    }
    let a = dtype.to_bytes(&op.get_item(1)?)?;
    Ok(match name.as_str() {
        "constant" => LazyOp::Constant(a),
        "negate" => LazyOp::Negate(a),
        "add" => LazyOp::Add(a, dtype.to_bytes(&op.get_item(2)?)?),
        _ => LazyOp::Multiply(a, dtype.to_bytes(&op.get_item(2)?)?),
    })
}

impl PyLazy {
    fn register(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        op: LazyOp<Vec<u8>>,
        dtype: DType,
        computed_constant: bool,
    ) -> PyResult<Self> {
        let py_prim = prim_of(py, &dtype)?;
        let op_ref = op.as_ref().map(|v| v.as_slice());
        let inner = if computed_constant {
            RawLazy::create(&seg.inner, name, py_prim, op_ref)
        } else {
            RawLazy::create_deferred(&seg.inner, name, py_prim, op_ref)
        }
        .py()?;
        Ok(PyLazy {
            inner,
            dtype,
            name: name.to_owned(),
        })
    }

    /// Forces into bytes, waiting at most `timeout` seconds for another
    /// process's computation (`None`: forever).
    fn force_bytes(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Vec<u8>> {
        let mut out = vec![0u8; self.dtype.itemsize()];
        let l = &self.inner;
        let buf = &mut out;
        blocking_timeout(py, timeout, move |slice| l.force_timeout(buf, slice))?;
        Ok(out)
    }

    /// The operands' dtype, checking they agree.
    fn same_dtype(py: Python<'_>, x: &PyLazy, y: &PyLazy) -> PyResult<DType> {
        if x.inner.prim() != y.inner.prim() {
            return Err(PyTypeError::new_err(format!(
                "Lazy operands {:?} ({}) and {:?} ({}) hold different types",
                x.name,
                x.inner.prim().rust_name(),
                y.name,
                y.inner.prim().rust_name()
            )));
        }
        dtype_of(py, x.inner.prim())
    }

    /// Forces `x` and `y` within `timeout` seconds together and creates the
    /// deferred binary operation `make(a, b)` of their values.
    fn binary(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        x: &PyLazy,
        y: &PyLazy,
        timeout: f64,
        make: fn(Vec<u8>, Vec<u8>) -> LazyOp<Vec<u8>>,
    ) -> PyResult<Self> {
        let dtype = PyLazy::same_dtype(py, x, y)?;
        let start = std::time::Instant::now();
        let a = x.force_bytes(py, Some(timeout))?;
        let left = (timeout - start.elapsed().as_secs_f64()).max(0.0);
        let b = y.force_bytes(py, Some(left))?;
        PyLazy::register(py, seg, name, make(a, b), dtype, false)
    }
}

#[pymethods]
impl PyLazy {
    /// Creates the lazy value `name` of `dtype` for `op` (a tuple, see the
    /// class doc). A constant is stored already computed; the others are
    /// computed by the first `force`.
    #[staticmethod]
    fn create(
        seg: &PySegment,
        name: &str,
        op: &Bound<'_, PyTuple>,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let py = dtype.py();
        let dtype = DType::from_py(dtype)?;
        let op = op_of(&dtype, op)?;
        PyLazy::register(py, seg, name, op, dtype, true)
    }

    /// A computed constant: `create(seg, name, ("constant", value), dtype)`.
    #[staticmethod]
    fn constant(
        seg: &PySegment,
        name: &str,
        value: &Bound<'_, PyAny>,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let py = dtype.py();
        let dtype = DType::from_py(dtype)?;
        let v = dtype.to_bytes(value)?;
        PyLazy::register(py, seg, name, LazyOp::Constant(v), dtype, true)
    }

    /// As `create`, but a constant too is stored not computed (copied to
    /// the cache by the first force).
    #[staticmethod]
    fn deferred(
        seg: &PySegment,
        name: &str,
        op: &Bound<'_, PyTuple>,
        dtype: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let py = dtype.py();
        let dtype = DType::from_py(dtype)?;
        let op = op_of(&dtype, op)?;
        PyLazy::register(py, seg, name, op, dtype, false)
    }

    /// A deferred `x + y` of the operands' forced values (each waited for
    /// at most the runtime's operand bound; nothing created on a timeout).
    #[staticmethod]
    fn add(py: Python<'_>, seg: &PySegment, name: &str, x: &PyLazy, y: &PyLazy) -> PyResult<Self> {
        let t = OPERAND_WAIT.as_secs_f64();
        PyLazy::binary(py, seg, name, x, y, t, LazyOp::Add)
    }

    /// `add` with the operand wait bounded by `timeout` seconds.
    #[staticmethod]
    fn add_timeout(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        x: &PyLazy,
        y: &PyLazy,
        timeout: f64,
    ) -> PyResult<Self> {
        PyLazy::binary(py, seg, name, x, y, timeout, LazyOp::Add)
    }

    /// A deferred `x * y` of the operands' forced values.
    #[staticmethod]
    fn multiply(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        x: &PyLazy,
        y: &PyLazy,
    ) -> PyResult<Self> {
        let t = OPERAND_WAIT.as_secs_f64();
        PyLazy::binary(py, seg, name, x, y, t, LazyOp::Multiply)
    }

    /// `multiply` with the operand wait bounded by `timeout` seconds.
    #[staticmethod]
    fn multiply_timeout(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        x: &PyLazy,
        y: &PyLazy,
        timeout: f64,
    ) -> PyResult<Self> {
        PyLazy::binary(py, seg, name, x, y, timeout, LazyOp::Multiply)
    }

    /// A deferred `-x` of the operand's forced value.
    #[staticmethod]
    fn negate(py: Python<'_>, seg: &PySegment, name: &str, x: &PyLazy) -> PyResult<Self> {
        PyLazy::negate_timeout(py, seg, name, x, OPERAND_WAIT.as_secs_f64())
    }

    /// `negate` with the operand wait bounded by `timeout` seconds.
    #[staticmethod]
    fn negate_timeout(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        x: &PyLazy,
        timeout: f64,
    ) -> PyResult<Self> {
        let dtype = dtype_of(py, x.inner.prim())?;
        let a = x.force_bytes(py, Some(timeout))?;
        PyLazy::register(py, seg, name, LazyOp::Negate(a), dtype, false)
    }

    /// Opens the lazy value `name`; `dtype` None takes the type the segment
    /// records (an error if it records none).
    #[staticmethod]
    #[pyo3(signature = (seg, name, dtype = None))]
    fn open(
        py: Python<'_>,
        seg: &PySegment,
        name: &str,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let given = dtype.map(DType::from_py).transpose()?;
        let prim = given.as_ref().map(|d| prim_of(py, d)).transpose()?;
        let inner = RawLazy::open(&seg.inner, name, prim).py()?;
        let dtype = match given {
            Some(d) => d,
            None => dtype_of(py, inner.prim())?,
        };
        Ok(PyLazy {
            inner,
            dtype,
            name: name.to_owned(),
        })
    }

    /// `'not_computed'`, `'computing'`, `'computed'`, `'error'` or
    /// `'unknown(N)'`.
    fn state(&self) -> String {
        match self.inner.state() {
            fmt::NOT_COMPUTED => "not_computed".to_owned(),
            fmt::COMPUTING => "computing".to_owned(),
            fmt::COMPUTED => "computed".to_owned(),
            fmt::ERROR => "error".to_owned(),
            other => format!("unknown({other})"),
        }
    }

    /// How many times the value was computed (constants: 0).
    fn compute_count(&self) -> u32 {
        self.inner.compute_count()
    }

    /// The stored operation as a tuple: `('constant', v)`, `('add', a, b)`,
    /// `('multiply', a, b)`, `('negate', a)`, or for records no process can
    /// compute `('chain', i, j)`, `('external', i)`, `('unknown', type)`.
    fn op<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let v = |b: &[u8]| self.dtype.read_value(py, b);
        let items: Vec<Bound<'py, PyAny>> = match self.inner.op() {
            LazyOp::Constant(a) => vec![("constant").into_pyobject(py)?.into_any(), v(&a)?],
            LazyOp::Add(a, b) => vec!["add".into_pyobject(py)?.into_any(), v(&a)?, v(&b)?],
            LazyOp::Multiply(a, b) => {
                vec!["multiply".into_pyobject(py)?.into_any(), v(&a)?, v(&b)?]
            }
            LazyOp::Negate(a) => vec!["negate".into_pyobject(py)?.into_any(), v(&a)?],
            LazyOp::Chain(i, j) => vec![
                "chain".into_pyobject(py)?.into_any(),
                i.into_pyobject(py)?.into_any(),
                j.into_pyobject(py)?.into_any(),
            ],
            LazyOp::External(i) => vec![
                "external".into_pyobject(py)?.into_any(),
                i.into_pyobject(py)?.into_any(),
            ],
            LazyOp::Unknown(t) => vec![
                "unknown".into_pyobject(py)?.into_any(),
                t.into_pyobject(py)?.into_any(),
            ],
        };
        PyTuple::new(py, items)
    }

    /// The error message if forcing failed.
    fn error_message(&self) -> Option<String> {
        self.inner.error_message()
    }

    /// The value if it is computed (without computing it), else None.
    fn peek<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        take(py, &self.dtype, |out| self.inner.peek(out))
    }

    /// True when the value is computed.
    fn is_computed(&self) -> bool {
        self.inner.state() == fmt::COMPUTED
    }

    /// The value, computing it if nobody has (exactly one process computes;
    /// the others wait). Raises `FailedError` if the computation failed.
    fn force<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let l = &self.inner;
        take_timeout(py, &self.dtype, None, |out, slice| {
            l.force_timeout(out, slice)
        })
    }

    /// As `force`, raising `ZeroIpcTimeoutError` if another process's
    /// computation takes longer than `timeout` seconds.
    fn force_timeout<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let l = &self.inner;
        take_timeout(py, &self.dtype, Some(timeout), |out, slice| {
            l.force_timeout(out, slice)
        })
    }

    /// Forgets the computed value so the next force computes it again:
    /// False if it was not computed.
    fn reset(&self) -> bool {
        self.inner.reset()
    }

    /// Recovery after a forcing process died: COMPUTING back to not
    /// computed. False if it was not COMPUTING.
    fn reset_abandoned(&self) -> bool {
        self.inner.reset_abandoned()
    }

    /// The value's dtype.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.descr(py).into_any()
    }

    /// The structure's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!(
            "Lazy(name={:?}, type={}, state={:?})",
            self.name,
            self.inner.prim().rust_name(),
            self.state()
        )
    }
}

/// Adds Lazy to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLazy>()
}
