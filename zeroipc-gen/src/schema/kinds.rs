//! The structure kinds a schema names, as the runtime's format catalogue
//! (`zeroipc::format`) defines them: the kind list, element use and
//! parameter names are [`StructureKind`]'s, the table entries of an
//! instance (names with the suffixes composite structures add, and sizes)
//! are [`StructureKind::parts`]. This module only adds the checked
//! parameter values a schema gives ([`Params`]).

use zeroipc::format::{ElemLayout, Shape, ShapeError};
use zeroipc::layout::TypeLayout;

pub use zeroipc::format::{ElementUse, StructureKind};

/// Structure parameters after checking (defaults filled in).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Capacity as stored (queues and buffered channels rounded up to a
    /// power of two; for a ring, in elements).
    pub capacity: u64,
    /// Semaphore initial count.
    pub initial: i64,
    /// Semaphore max count (0 = unbounded).
    pub max: i64,
    /// Barrier participants.
    pub participants: i64,
    /// Latch count.
    pub count: i64,
    /// Event mode: true = manual reset.
    pub manual: bool,
    /// Lazy constant value, as written (an integer or float literal).
    pub value: String,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            capacity: 0,
            initial: 0,
            max: 0,
            participants: 0,
            count: 0,
            manual: false,
            value: "0".to_owned(),
        }
    }
}

/// True when the structure has a `capacity` (the catalogue's parameters
/// say so; a Stream only with an element type: `Stream<void>` has none).
///
/// ```
/// use zeroipc_gen::schema::kinds::{has_capacity, StructureKind};
/// assert!(has_capacity(StructureKind::Queue, false));
/// assert!(has_capacity(StructureKind::Stream, true));
/// assert!(!has_capacity(StructureKind::Stream, false));
/// assert!(!has_capacity(StructureKind::Mutex, false));
/// ```
pub fn has_capacity(kind: StructureKind, typed: bool) -> bool {
    let takes = kind.params().iter().any(|p| p.name == "capacity");
    takes && (kind != StructureKind::Stream || typed)
}

/// The table entries of a structure, in creation order: (name, size),
/// laid out by the format catalogue for the stored capacity `p.capacity`.
///
/// ```
/// use zeroipc::ShmElement;
/// use zeroipc_gen::schema::kinds::{entries, Params, StructureKind};
/// let p = Params { capacity: 8, ..Params::default() };
/// let e = entries(StructureKind::Queue, "jobs", Some(u32::LAYOUT), None, &p)?;
/// assert_eq!(e, [("jobs".to_owned(), 16 + 32 + 32)]);
/// let e = entries(StructureKind::Event, "go", None, None, &Params::default())?;
/// assert_eq!(e, [("go".to_owned(), 12), ("go_sem".to_owned(), 16)]);
/// # Ok::<(), zeroipc::format::ShapeError>(())
/// ```
pub fn entries(
    kind: StructureKind,
    name: &str,
    elem: Option<&TypeLayout>,
    value: Option<&TypeLayout>,
    p: &Params,
) -> Result<Vec<(String, u64)>, ShapeError> {
    // A TypeLayout is valid by construction (the compiler builds it with
    // C layout rules); an impossible one is reported as a missing type.
    let layout = |t: Option<&TypeLayout>, what: &'static str| match t {
        None => Ok(None),
        Some(t) => ElemLayout::from_type_layout(t)
            .map(Some)
            .ok_or(ShapeError::MissingType {
                kind: kind.name(),
                what,
            }),
    };
    let shape = Shape {
        elem: layout(elem, "element")?,
        value: layout(value, "value")?,
        capacity: p.capacity,
    };
    let parts = kind.parts(&shape)?;
    Ok(parts
        .iter()
        .map(|part| (part.entry_name(name), part.size))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroipc::ShmElement;

    #[test]
    fn map_and_set_strides_match_the_reference_table() {
        let p = Params {
            capacity: 1,
            ..Params::default()
        };
        let map = |k, v| entries(StructureKind::Map, "m", Some(k), Some(v), &p).unwrap()[0].1 - 16;
        assert_eq!(map(i32::LAYOUT, i32::LAYOUT), 12);
        assert_eq!(map(i32::LAYOUT, i64::LAYOUT), 16);
        assert_eq!(map(i64::LAYOUT, i32::LAYOUT), 24);
        assert_eq!(map(u8::LAYOUT, u8::LAYOUT), 8);
        assert_eq!(map(<[u8; 3]>::LAYOUT, i16::LAYOUT), 12);
        assert_eq!(map(<[i32; 3]>::LAYOUT, i32::LAYOUT), 20);
        let set = |t| entries(StructureKind::Set, "s", Some(t), None, &p).unwrap()[0].1 - 16;
        assert_eq!(set(i32::LAYOUT), 8);
        assert_eq!(set(f64::LAYOUT), 16);
        assert_eq!(set(<[i32; 3]>::LAYOUT), 16);
        let pool = |t| entries(StructureKind::Pool, "p", Some(t), None, &p).unwrap()[0].1 - 24;
        assert_eq!(pool(i32::LAYOUT), 8);
        assert_eq!(pool(i64::LAYOUT), 16);
        assert_eq!(pool(<[i32; 3]>::LAYOUT), 16);
        let fut = |t| entries(StructureKind::Future, "f", Some(t), None, &p).unwrap()[0].1;
        assert_eq!(fut(i32::LAYOUT), 280);
        assert_eq!(fut(u8::LAYOUT), 280);
        assert_eq!(fut(<[i32; 3]>::LAYOUT), 288);
        let lazy = |t| entries(StructureKind::Lazy, "l", Some(t), None, &p).unwrap()[0].1;
        assert_eq!(
            (lazy(i32::LAYOUT), lazy(f64::LAYOUT), lazy(i16::LAYOUT)),
            (280, 304, 280)
        );
        let slot = |t| {
            entries(
                StructureKind::Channel,
                "c",
                Some(t),
                None,
                &Params::default(),
            )
            .unwrap()[1]
                .1
        };
        assert_eq!(slot(u8::LAYOUT), 3);
        assert_eq!(slot(i32::LAYOUT), 8);
        assert_eq!(slot(i64::LAYOUT), 16);
        assert_eq!(slot(<[i32; 3]>::LAYOUT), 16);
    }
}
