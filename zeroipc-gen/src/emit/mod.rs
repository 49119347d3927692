//! Code emitters: render [`TypeLayout`]s as a numpy module, a C++17 header
//! or Rust source with `#[derive(ShmLayout)]`.
//!
//! Every emitter reads only the runtime's layout model, so the three
//! renderings of one type cannot drift apart, and a type described by a
//! schema renders exactly like the same type written as a Rust derive.
//! Output is deterministic: types appear in dependency order
//! ([`TypeLayout::named_types`]), in the order their roots were given.
//!
//! ```
//! use zeroipc::ShmElement;
//! use zeroipc_gen::emit::{self, Options};
//! let py = emit::python::module(&[<[f64; 3]>::LAYOUT], &Options::new("demo")).unwrap();
//! assert!(py.contains("import numpy as np"));
//! ```

pub mod cpp;
pub mod python;
pub mod rust;

use std::collections::BTreeMap;
use zeroipc::layout::{Kind, TypeLayout};

/// The generator's version, written into every header comment.
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a set of layouts cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// Two different types carry the same name.
    #[error("two different types are both named {name:?} (fingerprints {a:#018x} and {b:#018x}); rename one")]
    NameClash {
        /// The shared name.
        name: String,
        /// Fingerprint of the first.
        a: u64,
        /// Fingerprint of the second.
        b: u64,
    },
    /// Something the target language cannot express.
    #[error("{0}")]
    Unsupported(String),
}

/// Options shared by the emitters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// C++ namespace / Python and Rust module name (an identifier).
    pub namespace: String,
    /// Extra lines for the header comment (after the generator line).
    pub header_lines: Vec<String>,
    /// Module doc (may be empty).
    pub doc: String,
}

impl Options {
    /// Options with a namespace and no extra header lines.
    pub fn new(namespace: &str) -> Options {
        Options {
            namespace: namespace.to_owned(),
            header_lines: Vec::new(),
            doc: String::new(),
        }
    }
}

/// The named types (structs and open enums) reachable from `roots`, each
/// once, dependencies first, in the order the roots were given.
///
/// Fails when two different layouts share a name (the name is part of the
/// fingerprint and of every rendering, so they could not both be emitted).
pub fn collect_types(roots: &[&'static TypeLayout]) -> Result<Vec<&'static TypeLayout>, EmitError> {
    let mut out: Vec<&'static TypeLayout> = Vec::new();
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for root in roots {
        for t in root.named_types() {
            let fp = t.fingerprint();
            match seen.get(t.name) {
                Some(&other) if other == fp => {}
                Some(&other) => {
                    return Err(EmitError::NameClash {
                        name: t.name.to_owned(),
                        a: other,
                        b: fp,
                    })
                }
                None => {
                    seen.insert(t.name, fp);
                    out.push(t);
                }
            }
        }
    }
    // named_types dedups by name within one root; check nested clashes too.
    for t in &out {
        check_nested_names(t, &seen)?;
    }
    Ok(out)
}

fn check_nested_names(t: &'static TypeLayout, seen: &BTreeMap<&str, u64>) -> Result<(), EmitError> {
    let mut stack = vec![t];
    while let Some(t) = stack.pop() {
        match t.kind {
            Kind::Struct { fields } => {
                for f in fields {
                    stack.push(f.layout);
                }
            }
            Kind::Array { elem, .. } => stack.push(elem),
            _ => {}
        }
        if matches!(t.kind, Kind::Struct { .. } | Kind::OpenEnum { .. }) {
            if let Some(&fp) = seen.get(t.name) {
                if fp != t.fingerprint() {
                    return Err(EmitError::NameClash {
                        name: t.name.to_owned(),
                        a: fp,
                        b: t.fingerprint(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// A doc comment as lines: trailing blanks and surrounding empty lines
/// removed, common indentation removed (so `/// text` docs whose lines keep
/// their leading space render like trimmed ones).
pub fn doc_lines(doc: &str) -> Vec<String> {
    let lines: Vec<&str> = doc.lines().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| {
            if l.len() >= indent {
                l[indent..].to_owned()
            } else {
                String::new()
            }
        })
        .collect();
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

/// The innermost element of nested arrays and the dimensions, outermost first.
pub fn array_dims(t: &'static TypeLayout) -> (&'static TypeLayout, Vec<usize>) {
    let mut dims = Vec::new();
    let mut cur = t;
    while let Kind::Array { elem, len } = cur.kind {
        dims.push(len);
        cur = elem;
    }
    (cur, dims)
}

/// True for the kinds that have their own name and rendering (struct, enum).
pub fn is_named(t: &TypeLayout) -> bool {
    matches!(t.kind, Kind::Struct { .. } | Kind::OpenEnum { .. })
}

/// How a type defined elsewhere (another namespace) is referred to.
///
/// The schema compiler passes one that maps a foreign type to its module;
/// a standalone rendering uses [`Local`], which says every type is local.
pub trait Resolver {
    /// The namespace of `t` if it is defined outside the module being rendered.
    fn foreign_namespace(&self, t: &TypeLayout) -> Option<String>;
}

/// Every type is local.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Resolver for Local {
    fn foreign_namespace(&self, _t: &TypeLayout) -> Option<String> {
        None
    }
}

/// The value of an enum variant as the repr type reads it, as text.
pub(crate) fn variant_value_text(repr: zeroipc::layout::Prim, value: i64) -> String {
    if repr.is_signed_integer() {
        value.to_string()
    } else {
        let bits = repr.size() * 8;
        let v = value as u64;
        let v = if bits == 64 {
            v
        } else {
            v & ((1u64 << bits) - 1)
        };
        v.to_string()
    }
}
