//! The catalogue of structure kinds: names, element types, parameters and
//! the table entries ("parts") an instance occupies.

use super::elem::ElemLayout;
use super::{
    array, channel, event, future, lazy, map, monitor, mutex, pool, queue, ring, rwlock, semaphore,
    set, signal, stack, stream, MARKER_SIZE,
};

/// Every kind of structure a segment can hold.
///
/// ```
/// use zeroipc::format::{ElemLayout, Shape, StructureKind};
/// assert_eq!(StructureKind::ALL.len(), 20);
/// assert_eq!(StructureKind::from_name("rwlock"), Some(StructureKind::RwLock));
/// let q = StructureKind::Queue;
/// let cap = q.stored_capacity(5).unwrap(); // 8
/// let parts = q.parts(&Shape::of(ElemLayout::of::<u32>(), cap))?;
/// assert_eq!(parts.len(), 1);
/// assert_eq!((parts[0].suffix, parts[0].size), ("", 16 + 32 + 32));
/// # Ok::<(), zeroipc::format::ShapeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StructureKind {
    /// `Array<T>`: [`mod@array`].
    Array,
    /// `Queue<T>`: [`queue`].
    Queue,
    /// `Stack<T>`: [`stack`].
    Stack,
    /// `Map<K, V>`: [`map`].
    Map,
    /// `Set<T>`: [`set`].
    Set,
    /// `Pool<T>`: [`pool`].
    Pool,
    /// `Ring<T>`: [`ring`].
    Ring,
    /// `Semaphore`: [`semaphore`].
    Semaphore,
    /// `Mutex`: [`mutex`].
    Mutex,
    /// `Barrier`: [`super::barrier`].
    Barrier,
    /// `Latch`: [`super::latch`].
    Latch,
    /// `Once`: [`super::once`].
    Once,
    /// `Event`: [`event`].
    Event,
    /// `RwLock`: [`rwlock`].
    RwLock,
    /// `Monitor`: [`monitor`].
    Monitor,
    /// `Signal<T>`: [`signal`].
    Signal,
    /// `Future<T>`: [`future`].
    Future,
    /// `Lazy<T>`: [`lazy`].
    Lazy,
    /// `Stream<T>`, or `Stream<void>` without an element type: [`stream`].
    Stream,
    /// `Channel<T>`, buffered or unbuffered: [`channel`].
    Channel,
}

/// How a kind takes its element types.
///
/// ```
/// use zeroipc::format::{ElementUse, StructureKind};
/// assert_eq!(StructureKind::Map.element_use(), ElementUse::KeyValue);
/// assert_eq!(StructureKind::Stream.element_use(), ElementUse::Optional);
/// assert_eq!(StructureKind::Mutex.element_use(), ElementUse::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementUse {
    /// No element type.
    None,
    /// One element (or value) type, required.
    Required,
    /// One element type, optional (a stream without one is `Stream<void>`).
    Optional,
    /// A key type and a value type (map).
    KeyValue,
}

/// A creation parameter of a kind (the schema language's keys).
///
/// ```
/// use zeroipc::format::StructureKind;
/// let p = StructureKind::Barrier.params();
/// assert_eq!((p[0].name, p[0].required), ("participants", true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// Name (`"capacity"`).
    pub name: &'static str,
    /// Whether it must be given.
    pub required: bool,
    /// What it means, its range and default.
    pub meaning: &'static str,
}

const fn param(name: &'static str, required: bool, meaning: &'static str) -> Param {
    Param {
        name,
        required,
        meaning,
    }
}

/// The instance a formula is asked about: element layouts and the stored
/// capacity.
///
/// `elem` is the element type (Signal, Future, Lazy: the value type; Map:
/// the key type), `value` the Map's value type. `capacity` is the capacity
/// as stored, the result of [`StructureKind::stored_capacity`] (a ring's or
/// stream's in elements); kinds without a capacity ignore it.
///
/// ```
/// use zeroipc::format::{ElemLayout, Shape};
/// let s = Shape::key_value(ElemLayout::of::<u32>(), ElemLayout::of::<f64>(), 16);
/// assert_eq!((s.elem, s.value, s.capacity), (Some(ElemLayout::of::<u32>()), Some(ElemLayout::of::<f64>()), 16));
/// assert_eq!(Shape::NONE.elem, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// The element (or value, or key) layout.
    pub elem: Option<ElemLayout>,
    /// The map's value layout.
    pub value: Option<ElemLayout>,
    /// The stored capacity.
    pub capacity: u64,
}

impl Shape {
    /// No element type, no capacity (the synchronisation kinds, `Stream<void>`).
    pub const NONE: Shape = Shape {
        elem: None,
        value: None,
        capacity: 0,
    };

    /// One element type and a capacity (0 for kinds without one).
    pub const fn of(elem: ElemLayout, capacity: u64) -> Shape {
        Shape {
            elem: Some(elem),
            value: None,
            capacity,
        }
    }

    /// A map's key and value types and its capacity.
    pub const fn key_value(key: ElemLayout, value: ElemLayout, capacity: u64) -> Shape {
        Shape {
            elem: Some(key),
            value: Some(value),
            capacity,
        }
    }
}

/// One table entry of a structure: the suffix added to the structure's
/// name, the part's role and its size in bytes.
///
/// ```
/// use zeroipc::format::{Shape, StructureKind};
/// let parts = StructureKind::Event.parts(&Shape::NONE)?;
/// assert_eq!(parts[1].entry_name("go"), "go_sem");
/// assert_eq!((parts[1].role, parts[1].size), ("sem", 16));
/// # Ok::<(), zeroipc::format::ShapeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartLayout {
    /// Appended to the structure name (`""`: the name itself).
    pub suffix: &'static str,
    /// What the part is (`"main"`, `"header"`, `"marker"`...).
    pub role: &'static str,
    /// Entry size in bytes.
    pub size: u64,
}

impl PartLayout {
    /// The table entry name of this part for a structure named `base`.
    pub fn entry_name(&self, base: &str) -> String {
        format!("{base}{}", self.suffix)
    }
}

const NO_PART: PartLayout = PartLayout {
    suffix: "",
    role: "",
    size: 0,
};

/// The parts of one structure, in creation order (at most four).
///
/// ```
/// use zeroipc::format::{Shape, StructureKind};
/// let parts = StructureKind::RwLock.parts(&Shape::NONE)?;
/// let listed: Vec<(&str, u64)> = parts.iter().map(|p| (p.suffix, p.size)).collect();
/// assert_eq!(listed, [("_state", 8), ("_rmtx", 16), ("_wmtx", 16), ("", 1)]);
/// # Ok::<(), zeroipc::format::ShapeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parts {
    items: [PartLayout; 4],
    len: usize,
}

impl Parts {
    fn new(list: &[PartLayout]) -> Parts {
        let mut items = [NO_PART; 4];
        items[..list.len()].copy_from_slice(list);
        Parts {
            items,
            len: list.len(),
        }
    }

    /// The parts as a slice.
    pub fn as_slice(&self) -> &[PartLayout] {
        &self.items[..self.len]
    }
}

impl std::ops::Deref for Parts {
    type Target = [PartLayout];
    fn deref(&self) -> &[PartLayout] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Parts {
    type Item = &'a PartLayout;
    type IntoIter = std::slice::Iter<'a, PartLayout>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// Why [`StructureKind::parts`] cannot lay out a shape.
///
/// ```
/// use zeroipc::format::{ElemLayout, Shape, ShapeError, StructureKind};
/// let err = StructureKind::Queue.parts(&Shape::of(ElemLayout::of::<u8>(), 3)).unwrap_err();
/// assert!(matches!(err, ShapeError::Capacity { capacity: 3, .. }));
/// assert!(err.to_string().contains("power of two"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// The kind needs a type that was not given.
    #[error("a {kind} needs a {what} type")]
    MissingType {
        /// Kind name.
        kind: &'static str,
        /// `"element"`, `"key"` or `"value"`.
        what: &'static str,
    },
    /// A type was given to a kind that takes none there.
    #[error("a {kind} takes no {what} type")]
    UnexpectedType {
        /// Kind name.
        kind: &'static str,
        /// `"element"` or `"value"`.
        what: &'static str,
    },
    /// The stored capacity is one the runtime would never store or open.
    #[error("{kind} capacity {capacity}: must be {expected}")]
    Capacity {
        /// Kind name.
        kind: &'static str,
        /// The capacity given.
        capacity: u64,
        /// The rule it breaks.
        expected: &'static str,
    },
    /// A map value larger than [`map::MAX_VALUE_SIZE`].
    #[error("map value type is {size} bytes; the format allows at most 8")]
    ValueTooLarge {
        /// The value size.
        size: u64,
    },
    /// A size does not fit a `u64`.
    #[error("{kind} of capacity {capacity} with {elem_size}-byte elements: size overflows u64")]
    Overflow {
        /// Kind name.
        kind: &'static str,
        /// The capacity given.
        capacity: u64,
        /// The element size.
        elem_size: u64,
    },
}

const CAPACITY_ARRAY: [Param; 1] = [param("capacity", true, "elements (any number, 0 included)")];
const CAPACITY_QUEUE: [Param; 1] = [param(
    "capacity",
    true,
    "slots; stored rounded up to a power of two, at least 2, at most 2^31",
)];
const CAPACITY_STACK: [Param; 1] = [param("capacity", true, "slots, exactly; 1..=2^31-1")];
const CAPACITY_HASH: [Param; 1] = [param("capacity", true, "slots, exactly; 1..=2^32-1")];
const CAPACITY_POOL: [Param; 1] = [param("capacity", true, "nodes; 1..=2^32-1")];
const CAPACITY_RING: [Param; 1] = [param(
    "capacity",
    true,
    "elements; stored as bytes (capacity x element size), 1..=2^32-1 bytes",
)];
const CAPACITY_CHANNEL: [Param; 1] = [param(
    "capacity",
    true,
    "0 = unbuffered rendezvous; else buffered slots, rounded as a queue's",
)];
const CAPACITY_STREAM: [Param; 1] = [param(
    "capacity",
    false,
    "buffered elements, as a ring's; required with an element type, unused by Stream<void>",
)];
const SEMAPHORE_PARAMS: [Param; 2] = [
    param("initial", false, "permits at creation, >= 0; default 0"),
    param(
        "max",
        false,
        "largest count, >= initial; 0 (the default) = unbounded",
    ),
];
const BARRIER_PARAMS: [Param; 1] = [param(
    "participants",
    true,
    "arrivals that complete a generation, >= 1",
)];
const LATCH_PARAMS: [Param; 1] = [param("count", true, "count-downs before it opens, >= 0")];
const EVENT_PARAMS: [Param; 1] = [param(
    "mode",
    false,
    "auto reset (stored 0, the default) or manual reset (stored 1)",
)];
const LAZY_PARAMS: [Param; 1] = [param(
    "value",
    false,
    "the constant it computes (stored NOT_COMPUTED with that operand); default 0",
)];

/// Largest value of the 32-bit capacity fields.
const U32_MAX: u64 = u32::MAX as u64;

/// `Some(n)` when `lo <= n <= hi`.
const fn in_range(n: u64, lo: u64, hi: u64) -> Option<u64> {
    if n >= lo && n <= hi {
        Some(n)
    } else {
        None
    }
}

impl StructureKind {
    /// Every kind, in the order of the docs.
    pub const ALL: [StructureKind; 20] = [
        StructureKind::Array,
        StructureKind::Queue,
        StructureKind::Stack,
        StructureKind::Map,
        StructureKind::Set,
        StructureKind::Pool,
        StructureKind::Ring,
        StructureKind::Semaphore,
        StructureKind::Mutex,
        StructureKind::Barrier,
        StructureKind::Latch,
        StructureKind::Once,
        StructureKind::Event,
        StructureKind::RwLock,
        StructureKind::Monitor,
        StructureKind::Signal,
        StructureKind::Future,
        StructureKind::Lazy,
        StructureKind::Stream,
        StructureKind::Channel,
    ];

    /// The lower-case name, as the schema language spells it.
    ///
    /// ```
    /// assert_eq!(zeroipc::format::StructureKind::RwLock.name(), "rwlock");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            StructureKind::Array => "array",
            StructureKind::Queue => "queue",
            StructureKind::Stack => "stack",
            StructureKind::Map => "map",
            StructureKind::Set => "set",
            StructureKind::Pool => "pool",
            StructureKind::Ring => "ring",
            StructureKind::Semaphore => "semaphore",
            StructureKind::Mutex => "mutex",
            StructureKind::Barrier => "barrier",
            StructureKind::Latch => "latch",
            StructureKind::Once => "once",
            StructureKind::Event => "event",
            StructureKind::RwLock => "rwlock",
            StructureKind::Monitor => "monitor",
            StructureKind::Signal => "signal",
            StructureKind::Future => "future",
            StructureKind::Lazy => "lazy",
            StructureKind::Stream => "stream",
            StructureKind::Channel => "channel",
        }
    }

    /// The kind named `name` (exactly as [`StructureKind::name`] spells it).
    ///
    /// ```
    /// use zeroipc::format::StructureKind;
    /// assert_eq!(StructureKind::from_name("channel"), Some(StructureKind::Channel));
    /// assert_eq!(StructureKind::from_name("Channel"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<StructureKind> {
        StructureKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How the kind takes element types. `Lazy` values are restricted to
    /// integer and float primitives, which a layout alone cannot tell.
    pub const fn element_use(self) -> ElementUse {
        match self {
            StructureKind::Array
            | StructureKind::Queue
            | StructureKind::Stack
            | StructureKind::Set
            | StructureKind::Pool
            | StructureKind::Ring
            | StructureKind::Signal
            | StructureKind::Future
            | StructureKind::Lazy
            | StructureKind::Channel => ElementUse::Required,
            StructureKind::Stream => ElementUse::Optional,
            StructureKind::Map => ElementUse::KeyValue,
            StructureKind::Semaphore
            | StructureKind::Mutex
            | StructureKind::Barrier
            | StructureKind::Latch
            | StructureKind::Once
            | StructureKind::Event
            | StructureKind::RwLock
            | StructureKind::Monitor => ElementUse::None,
        }
    }

    /// The creation parameters the kind takes.
    ///
    /// ```
    /// use zeroipc::format::StructureKind;
    /// let names: Vec<&str> = StructureKind::Semaphore.params().iter().map(|p| p.name).collect();
    /// assert_eq!(names, ["initial", "max"]);
    /// assert!(StructureKind::Mutex.params().is_empty());
    /// ```
    pub const fn params(self) -> &'static [Param] {
        match self {
            StructureKind::Array => &CAPACITY_ARRAY,
            StructureKind::Queue => &CAPACITY_QUEUE,
            StructureKind::Stack => &CAPACITY_STACK,
            StructureKind::Map | StructureKind::Set => &CAPACITY_HASH,
            StructureKind::Pool => &CAPACITY_POOL,
            StructureKind::Ring => &CAPACITY_RING,
            StructureKind::Channel => &CAPACITY_CHANNEL,
            StructureKind::Stream => &CAPACITY_STREAM,
            StructureKind::Semaphore => &SEMAPHORE_PARAMS,
            StructureKind::Barrier => &BARRIER_PARAMS,
            StructureKind::Latch => &LATCH_PARAMS,
            StructureKind::Event => &EVENT_PARAMS,
            StructureKind::Lazy => &LAZY_PARAMS,
            StructureKind::Mutex
            | StructureKind::Once
            | StructureKind::RwLock
            | StructureKind::Monitor
            | StructureKind::Signal
            | StructureKind::Future => &[],
        }
    }

    /// The capacity the runtime stores when asked for `requested`, `None`
    /// when it refuses the request. Queues and buffered channels round up
    /// (to a power of two, at least 2); kinds without a capacity store
    /// nothing and give `Some(0)`. A ring's or stream's byte limit depends
    /// on the element size and is checked by [`StructureKind::parts`].
    ///
    /// ```
    /// use zeroipc::format::StructureKind;
    /// assert_eq!(StructureKind::Queue.stored_capacity(1), Some(2));
    /// assert_eq!(StructureKind::Stack.stored_capacity(3), Some(3));
    /// assert_eq!(StructureKind::Map.stored_capacity(0), None);
    /// assert_eq!(StructureKind::Channel.stored_capacity(0), Some(0));
    /// assert_eq!(StructureKind::Array.stored_capacity(0), Some(0));
    /// assert_eq!(StructureKind::Mutex.stored_capacity(9), Some(0));
    /// ```
    pub const fn stored_capacity(self, requested: u64) -> Option<u64> {
        match self {
            StructureKind::Array => Some(requested),
            StructureKind::Queue => queue::stored_capacity(requested),
            StructureKind::Channel => channel::stored_capacity(requested),
            StructureKind::Stack => in_range(requested, stack::MIN_CAPACITY, stack::MAX_CAPACITY),
            StructureKind::Map
            | StructureKind::Set
            | StructureKind::Pool
            | StructureKind::Ring
            | StructureKind::Stream => in_range(requested, 1, U32_MAX),
            StructureKind::Semaphore
            | StructureKind::Mutex
            | StructureKind::Barrier
            | StructureKind::Latch
            | StructureKind::Once
            | StructureKind::Event
            | StructureKind::RwLock
            | StructureKind::Monitor
            | StructureKind::Signal
            | StructureKind::Future
            | StructureKind::Lazy => Some(0),
        }
    }

    /// The table entries a structure of this kind and shape occupies, in
    /// creation order, with their sizes: exactly what the runtime's `create`
    /// registers.
    ///
    /// ```
    /// use zeroipc::format::{ElemLayout, Shape, StructureKind};
    /// let ch = StructureKind::Channel;
    /// let unbuffered = ch.parts(&Shape::of(ElemLayout::of::<u64>(), 0))?;
    /// assert_eq!(unbuffered.iter().map(|p| (p.suffix, p.size)).collect::<Vec<_>>(), [("_header", 32), ("_slot", 16)]);
    /// let buffered = ch.parts(&Shape::of(ElemLayout::of::<u64>(), 4))?;
    /// assert_eq!(buffered.iter().map(|p| (p.suffix, p.size)).collect::<Vec<_>>(), [("_header", 32), ("_buffer", 64)]);
    /// assert!(ch.parts(&Shape::NONE).is_err()); // a channel needs an element type
    /// # Ok::<(), zeroipc::format::ShapeError>(())
    /// ```
    pub fn parts(self, shape: &Shape) -> Result<Parts, ShapeError> {
        self.check_types(shape)?;
        match (self.element_use(), shape.elem) {
            (ElementUse::None, _) | (ElementUse::Optional, None) => self.fixed_parts(),
            (_, Some(elem)) => self.typed_parts(elem, shape),
            (_, None) => Err(self.missing("element")),
        }
    }

    fn missing(self, what: &'static str) -> ShapeError {
        ShapeError::MissingType {
            kind: self.name(),
            what,
        }
    }

    /// Checks that the shape carries exactly the types the kind takes.
    fn check_types(self, shape: &Shape) -> Result<(), ShapeError> {
        let unexpected = |what| ShapeError::UnexpectedType {
            kind: self.name(),
            what,
        };
        match self.element_use() {
            ElementUse::None if shape.elem.is_some() => Err(unexpected("element")),
            ElementUse::Required if shape.elem.is_none() => Err(self.missing("element")),
            ElementUse::KeyValue if shape.elem.is_none() => Err(self.missing("key")),
            ElementUse::KeyValue if shape.value.is_none() => Err(self.missing("value")),
            ElementUse::None | ElementUse::Required | ElementUse::Optional
                if shape.value.is_some() =>
            {
                Err(unexpected("value"))
            }
            _ => Ok(()),
        }
    }

    /// Parts of the kinds whose sizes depend on nothing (and `Stream<void>`).
    fn fixed_parts(self) -> Result<Parts, ShapeError> {
        let p = |suffix, role, size| PartLayout { suffix, role, size };
        let main = |size| p("", "main", size);
        let marker = p("", "marker", MARKER_SIZE);
        let list: &[PartLayout] = match self {
            StructureKind::Semaphore | StructureKind::Mutex => &[main(semaphore::SIZE)],
            StructureKind::Barrier => &[main(super::barrier::SIZE)],
            StructureKind::Latch => &[main(super::latch::SIZE)],
            StructureKind::Once => &[main(super::once::SIZE)],
            StructureKind::Event => &[
                main(event::SIZE),
                p(event::SEM_SUFFIX, "sem", event::SEM_SIZE),
            ],
            StructureKind::RwLock => &[
                p(rwlock::STATE_SUFFIX, "state", rwlock::STATE_SIZE),
                p(rwlock::RMTX_SUFFIX, "rmtx", mutex::SIZE),
                p(rwlock::WMTX_SUFFIX, "wmtx", mutex::SIZE),
                marker,
            ],
            StructureKind::Monitor => &[
                p(monitor::MTX_SUFFIX, "mtx", mutex::SIZE),
                p(monitor::COND_SUFFIX, "cond", semaphore::SIZE),
                p(monitor::COUNT_SUFFIX, "count", monitor::COUNT_SIZE),
                marker,
            ],
            StructureKind::Stream => &[main(stream::VOID_SIZE)],
            _ => return Err(self.missing("element")),
        };
        Ok(Parts::new(list))
    }

    /// Parts of the kinds with an element (key) type.
    fn typed_parts(self, elem: ElemLayout, shape: &Shape) -> Result<Parts, ShapeError> {
        let cap = shape.capacity;
        let overflow = ShapeError::Overflow {
            kind: self.name(),
            capacity: cap,
            elem_size: elem.size(),
        };
        let p = |suffix, role, size: Option<u64>| {
            size.map(|size| PartLayout { suffix, role, size })
                .ok_or_else(|| overflow.clone())
        };
        let main = |size| p("", "main", size);
        let list: Vec<PartLayout> = match self {
            StructureKind::Array => vec![main(array::entry_size(cap, elem))?],
            StructureKind::Queue => {
                self.check_capacity(cap, queue::is_valid_capacity(cap), QUEUE_RULE)?;
                vec![main(queue::entry_size(cap, elem))?]
            }
            StructureKind::Stack => {
                let ok = stack::is_valid_capacity(cap);
                self.check_capacity(cap, ok, "1..=2^31-1 (top is an i32)")?;
                vec![main(stack::entry_size(cap, elem))?]
            }
            StructureKind::Map => {
                let value = shape.value.ok_or_else(|| self.missing("value"))?;
                if value.size() > map::MAX_VALUE_SIZE {
                    return Err(ShapeError::ValueTooLarge { size: value.size() });
                }
                self.check_capacity(cap, (1..=U32_MAX).contains(&cap), U32_RULE)?;
                vec![main(map::entry_size(cap, elem, value))?]
            }
            StructureKind::Set => {
                self.check_capacity(cap, (1..=U32_MAX).contains(&cap), U32_RULE)?;
                vec![main(set::entry_size(cap, elem))?]
            }
            StructureKind::Pool => {
                self.check_capacity(cap, (1..=U32_MAX).contains(&cap), U32_RULE)?;
                vec![main(pool::entry_size(cap, elem))?]
            }
            StructureKind::Ring => {
                let ok = ring::capacity_bytes(cap, elem).is_some();
                self.check_capacity(cap, ok, RING_RULE)?;
                vec![main(ring::entry_size(cap, elem))?]
            }
            StructureKind::Signal => vec![
                p(signal::STATE_SUFFIX, "state", signal::state_size(elem))?,
                p(signal::MTX_SUFFIX, "mtx", Some(mutex::SIZE))?,
                p("", "marker", Some(MARKER_SIZE))?,
            ],
            StructureKind::Future => vec![main(future::entry_size(elem))?],
            StructureKind::Lazy => vec![main(lazy::entry_size(elem))?],
            StructureKind::Stream => {
                let ok = ring::capacity_bytes(cap, elem).is_some();
                self.check_capacity(cap, ok, RING_RULE)?;
                vec![
                    p(stream::HEADER_SUFFIX, "header", Some(stream::HEADER_SIZE))?,
                    p(
                        stream::BUFFER_SUFFIX,
                        "buffer",
                        stream::buffer_size(cap, elem),
                    )?,
                ]
            }
            StructureKind::Channel => {
                let header = p(channel::HEADER_SUFFIX, "header", Some(channel::HEADER_SIZE))?;
                if cap == 0 {
                    let slot = channel::slot_layout(elem).map(|s| s.size);
                    vec![header, p(channel::SLOT_SUFFIX, "slot", slot)?]
                } else {
                    let ok = queue::is_valid_capacity(cap);
                    self.check_capacity(cap, ok, CHANNEL_RULE)?;
                    let buffer = channel::buffer_size(cap, elem);
                    vec![header, p(channel::BUFFER_SUFFIX, "buffer", buffer)?]
                }
            }
            _ => {
                return Err(ShapeError::UnexpectedType {
                    kind: self.name(),
                    what: "element",
                })
            }
        };
        Ok(Parts::new(&list))
    }

    fn check_capacity(
        self,
        capacity: u64,
        ok: bool,
        expected: &'static str,
    ) -> Result<(), ShapeError> {
        if ok {
            Ok(())
        } else {
            Err(ShapeError::Capacity {
                kind: self.name(),
                capacity,
                expected,
            })
        }
    }
}

const QUEUE_RULE: &str = "a power of two in 2..=2^31 (see queue::stored_capacity)";
const CHANNEL_RULE: &str = "0 (unbuffered) or a power of two in 2..=2^31";
const U32_RULE: &str = "1..=2^32-1 (a u32 field)";
const RING_RULE: &str = "1 or more elements of at most 2^32-1 bytes in all (a u32 field)";

impl std::fmt::Display for StructureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
