//! Self-describing segments: what each structure of a segment is, recorded
//! by the runtime that created it.
//!
//! A segment created with
//! [`SegmentOptions::self_describing(true)`](crate::SegmentOptions::self_describing)
//! holds an entry `__zeroipc_kinds` with one record per structure created
//! through [`Segment::register_described`]: its [`StructureKind`], element
//! layouts (with `TypeLayout` fingerprints when the creator knew them) and
//! stored capacity. Every `X::open` calls [`check_description`], so a Stack
//! cannot be opened as a Set of the same capacity, nor a Future as a Lazy.
//! Segments made by a reference library (or with the option off) have no
//! such entry: [`Segment::description`] answers `Ok(None)` and opens go on
//! checking only the structure's own header, as before.
//!
//! The normative layout is docs/FORMAT.md §11; the offsets are
//! [`crate::format::describe`].
//!
//! ```
//! use zeroipc::describe::Description;
//! use zeroipc::format::StructureKind;
//! use zeroipc::{Queue, Segment, SegmentOptions};
//! let name = format!("/zeroipc-doc-describe-{}", std::process::id());
//! let seg = SegmentOptions::new().size(1 << 16).self_describing(true).create(&name)?;
//! let d = Description::of::<u32>(StructureKind::Queue, 8);
//! let parts = [zeroipc::segment::Part::new("jobs", 64)];
//! let regions = seg.register_described(&parts, &d, |_| Ok(()))?;
//! assert_eq!(regions[0].len(), 64);
//! assert_eq!(seg.description("jobs")?, Some(d));
//! assert_eq!(seg.description("nothing")?, None);
//! Segment::unlink(&name)?;
//! # Ok::<(), zeroipc::Error>(())
//! ```

use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::format::{ElemLayout, Shape, StructureKind};
use crate::segment::{Part, Segment};

/// What a segment records about one structure.
///
/// `elem` is the element type (Signal, Future, Lazy: the value type; Map:
/// the key type), `value` the Map's value type; a fingerprint is the
/// [`TypeLayout::fingerprint`](crate::layout::TypeLayout::fingerprint) of
/// that type when the creator knew it. `capacity` is the capacity as stored
/// (0 for kinds without one, and for an unbuffered Channel).
///
/// ```
/// use zeroipc::describe::Description;
/// use zeroipc::format::{ElemLayout, StructureKind};
/// let d = Description::key_value::<u32, f64>(16);
/// assert_eq!((d.kind, d.elem, d.value), (StructureKind::Map, Some(ElemLayout::of::<u32>()), Some(ElemLayout::of::<f64>())));
/// assert!(d.elem_fingerprint.is_some());
/// let m = Description::new(StructureKind::Mutex);
/// assert_eq!((m.elem, m.capacity), (None, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Description {
    /// The structure's kind.
    pub kind: StructureKind,
    /// Element (or key, or value for Signal/Future/Lazy) layout.
    pub elem: Option<ElemLayout>,
    /// The Map's value layout.
    pub value: Option<ElemLayout>,
    /// Fingerprint of the element type, when known.
    pub elem_fingerprint: Option<u64>,
    /// Fingerprint of the Map's value type, when known.
    pub value_fingerprint: Option<u64>,
    /// The stored capacity (0 for kinds without one).
    pub capacity: u64,
}

impl Description {
    /// A kind without element types or capacity (the synchronisation kinds,
    /// `Stream<void>`).
    pub const fn new(kind: StructureKind) -> Description {
        Description {
            kind,
            elem: None,
            value: None,
            elem_fingerprint: None,
            value_fingerprint: None,
            capacity: 0,
        }
    }

    /// A kind with element type `T` (layout and fingerprint) and a stored
    /// capacity.
    ///
    /// ```
    /// use zeroipc::describe::Description;
    /// use zeroipc::format::StructureKind;
    /// use zeroipc::ShmElement;
    /// let d = Description::of::<i64>(StructureKind::Stack, 10);
    /// assert_eq!(d.elem_fingerprint, Some(i64::LAYOUT.fingerprint()));
    /// assert_eq!(d.capacity, 10);
    /// ```
    pub const fn of<T: ShmElement>(kind: StructureKind, capacity: u64) -> Description {
        Description {
            elem: Some(ElemLayout::of::<T>()),
            elem_fingerprint: Some(T::LAYOUT.fingerprint()),
            capacity,
            ..Description::new(kind)
        }
    }

    /// A kind with an element known only by its layout (a runtime-typed
    /// user: no fingerprint).
    ///
    /// ```
    /// use zeroipc::describe::Description;
    /// use zeroipc::format::{ElemLayout, StructureKind};
    /// let e = ElemLayout::new(12, 4).unwrap();
    /// let d = Description::with_layout(StructureKind::Ring, e, 100);
    /// assert_eq!((d.elem, d.elem_fingerprint), (Some(e), None));
    /// ```
    pub const fn with_layout(kind: StructureKind, elem: ElemLayout, capacity: u64) -> Description {
        Description {
            elem: Some(elem),
            capacity,
            ..Description::new(kind)
        }
    }

    /// A `Map<K, V>` of a stored capacity.
    pub const fn key_value<K: ShmElement, V: ShmElement>(capacity: u64) -> Description {
        Description {
            value: Some(ElemLayout::of::<V>()),
            value_fingerprint: Some(V::LAYOUT.fingerprint()),
            ..Description::of::<K>(StructureKind::Map, capacity)
        }
    }

    /// The catalogue's shape of this description (for
    /// [`StructureKind::parts`]).
    pub const fn shape(&self) -> Shape {
        Shape {
            elem: self.elem,
            value: self.value,
            capacity: self.capacity,
        }
    }
}

/// The user-facing name of the structure whose table entries are `parts`:
/// the first part's name without the suffix the catalogue gives that part
/// (a Stream `s` has parts `s_header`, `s_buffer`). Falls back to the first
/// part's name when the catalogue cannot lay the description out or the
/// parts do not follow it.
pub(crate) fn structure_name<'a>(parts: &'a [Part], desc: &Description) -> &'a str {
    let first = parts.first().map_or("", |p| p.name.as_str());
    let Ok(layout) = desc.kind.parts(&desc.shape()) else {
        return first;
    };
    if layout.len() != parts.len() {
        return first;
    }
    match first.strip_suffix(layout[0].suffix) {
        Some(base)
            if parts
                .iter()
                .zip(layout.iter())
                .all(|(p, l)| p.name == l.entry_name(base)) =>
        {
            base
        }
        _ => first,
    }
}

/// The check every `X::open` makes: Ok when `name` is not recorded (a
/// segment made by a reference library, or without self-description) or
/// is recorded as `expected`; [`Error::WrongKind`] when it is recorded as
/// another kind; [`Error::StructureMismatch`] naming both layouts when an
/// element (or value) layout both sides know differs, or when `expected`
/// has an element type and the record has none (a `Stream<void>` opened as
/// a `Stream<T>`).
///
/// Fingerprints are not compared: two types of one layout (`u32`, `i32`)
/// stay interchangeable, as the structures' own headers allow.
///
/// ```
/// use zeroipc::describe::{check_description, Description};
/// use zeroipc::format::StructureKind;
/// use zeroipc::{Error, Segment, SegmentOptions};
/// let name = format!("/zeroipc-doc-check-description-{}", std::process::id());
/// let seg = SegmentOptions::new().size(1 << 16).self_describing(true).create(&name)?;
/// let stack = Description::of::<u64>(StructureKind::Stack, 4);
/// seg.register_described(&[zeroipc::segment::Part::new("undo", 64)], &stack, |_| Ok(()))?;
/// check_description(&seg, "undo", &stack)?;
/// let set = Description::of::<u64>(StructureKind::Set, 4);
/// let err = check_description(&seg, "undo", &set).unwrap_err();
/// assert!(matches!(err, Error::WrongKind { recorded: StructureKind::Stack, expected: StructureKind::Set, .. }));
/// let narrow = Description::of::<u32>(StructureKind::Stack, 4);
/// assert!(check_description(&seg, "undo", &narrow).unwrap_err().to_string().contains("size 8 align 8"));
/// check_description(&seg, "unrecorded", &set)?; // not recorded: nothing to check
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub fn check_description(seg: &Segment, name: &str, expected: &Description) -> Result<()> {
    let Some(recorded) = seg.description(name)? else {
        return Ok(());
    };
    if recorded.kind != expected.kind {
        return Err(Error::WrongKind {
            segment: seg.name().to_owned(),
            name: name.to_owned(),
            recorded: recorded.kind,
            expected: expected.kind,
        });
    }
    let mismatch = |detail: String| Error::StructureMismatch {
        segment: seg.name().to_owned(),
        name: name.to_owned(),
        kind: expected.kind.name(),
        detail,
    };
    let show = |l: Option<ElemLayout>| match l {
        Some(l) => format!("size {} align {}", l.size(), l.align()),
        None => "no type".to_owned(),
    };
    let pairs = [
        ("element", recorded.elem, expected.elem),
        ("value", recorded.value, expected.value),
    ];
    for (role, rec, exp) in pairs {
        let differs = match (rec, exp) {
            (Some(r), Some(e)) => r != e,
            (None, Some(_)) => true,
            _ => false,
        };
        if differs {
            return Err(mismatch(format!(
                "recorded with {role} {}, opened with {role} {}",
                show(rec),
                show(exp)
            )));
        }
    }
    Ok(())
}
