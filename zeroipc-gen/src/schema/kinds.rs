//! The structure kinds a segment can hold, their parameters, their table
//! entries (with the suffixes composite structures add) and the entry
//! sizes, by the formulas of FORMAT.md §3-4 that the runtime uses.

use zeroipc::layout::TypeLayout;

/// Every structure kind of the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum StructKind {
    Array,
    Queue,
    Stack,
    Map,
    Set,
    Pool,
    Ring,
    Semaphore,
    Mutex,
    Barrier,
    Latch,
    Once,
    Event,
    RwLock,
    Monitor,
    Signal,
    Future,
    Lazy,
    Stream,
    Channel,
}

/// How a kind takes its element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemUse {
    /// No element type.
    None,
    /// `type = "..."`, required.
    Required,
    /// `type` optional (stream: none means `Stream<void>`).
    Optional,
    /// `key = "..."` and `value = "..."` (map).
    KeyValue,
}

impl StructKind {
    /// All kinds, in the order of the docs.
    pub const ALL: [StructKind; 20] = [
        StructKind::Array,
        StructKind::Queue,
        StructKind::Stack,
        StructKind::Map,
        StructKind::Set,
        StructKind::Pool,
        StructKind::Ring,
        StructKind::Semaphore,
        StructKind::Mutex,
        StructKind::Barrier,
        StructKind::Latch,
        StructKind::Once,
        StructKind::Event,
        StructKind::RwLock,
        StructKind::Monitor,
        StructKind::Signal,
        StructKind::Future,
        StructKind::Lazy,
        StructKind::Stream,
        StructKind::Channel,
    ];

    /// The schema spelling (`"queue"`).
    pub fn name(self) -> &'static str {
        match self {
            StructKind::Array => "array",
            StructKind::Queue => "queue",
            StructKind::Stack => "stack",
            StructKind::Map => "map",
            StructKind::Set => "set",
            StructKind::Pool => "pool",
            StructKind::Ring => "ring",
            StructKind::Semaphore => "semaphore",
            StructKind::Mutex => "mutex",
            StructKind::Barrier => "barrier",
            StructKind::Latch => "latch",
            StructKind::Once => "once",
            StructKind::Event => "event",
            StructKind::RwLock => "rwlock",
            StructKind::Monitor => "monitor",
            StructKind::Signal => "signal",
            StructKind::Future => "future",
            StructKind::Lazy => "lazy",
            StructKind::Stream => "stream",
            StructKind::Channel => "channel",
        }
    }

    /// Parses the schema spelling.
    pub fn from_name(s: &str) -> Option<StructKind> {
        StructKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// How the kind takes element types.
    pub fn elem_use(self) -> ElemUse {
        match self {
            StructKind::Array
            | StructKind::Queue
            | StructKind::Stack
            | StructKind::Set
            | StructKind::Pool
            | StructKind::Ring
            | StructKind::Signal
            | StructKind::Future
            | StructKind::Lazy
            | StructKind::Channel => ElemUse::Required,
            StructKind::Stream => ElemUse::Optional,
            StructKind::Map => ElemUse::KeyValue,
            _ => ElemUse::None,
        }
    }

    /// Integer/string parameters the kind accepts: (key, required).
    pub fn params(self) -> &'static [(&'static str, bool)] {
        match self {
            StructKind::Array
            | StructKind::Queue
            | StructKind::Stack
            | StructKind::Map
            | StructKind::Set
            | StructKind::Pool
            | StructKind::Ring
            | StructKind::Channel => &[("capacity", true)],
            StructKind::Stream => &[("capacity", false)],
            StructKind::Semaphore => &[("initial", false), ("max", false)],
            StructKind::Barrier => &[("participants", true)],
            StructKind::Latch => &[("count", true)],
            StructKind::Event => &[("mode", false)],
            StructKind::Lazy => &[("value", false)],
            _ => &[],
        }
    }
}

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

/// `align_up(n, a)`, saturating at the largest multiple of `a`.
pub const fn align_up(n: u64, a: u64) -> u64 {
    n.div_ceil(a).saturating_mul(a)
}

fn sz(t: &TypeLayout) -> u64 {
    t.size as u64
}

fn al(t: &TypeLayout) -> u64 {
    t.align as u64
}

/// Entry size of a spec-format queue of `cap` slots of `t` (also channels).
pub fn queue_size(cap: u64, t: &TypeLayout) -> Option<u64> {
    16u64
        .checked_add(align_up(cap.checked_mul(sz(t))?, 8))?
        .checked_add(cap.checked_mul(4)?)
}

/// The table entries of a structure, in creation order: (name, size).
/// `None` when a size overflows u64.
pub fn entries(
    kind: StructKind,
    name: &str,
    elem: Option<&TypeLayout>,
    value: Option<&TypeLayout>,
    p: &Params,
) -> Option<Vec<(String, u64)>> {
    let cap = p.capacity;
    let one = |size: u64| Some(vec![(name.to_owned(), size)]);
    let e = elem;
    match kind {
        StructKind::Array => one(8u64.checked_add(cap.checked_mul(sz(e?))?)?),
        StructKind::Queue | StructKind::Stack => one(queue_size(cap, e?)?),
        StructKind::Map => {
            let (k, v) = (e?, value?);
            let ko = align_up(4, al(k));
            let vo = align_up(ko + sz(k), al(v));
            let stride = align_up(vo + sz(v), 4.max(al(k)).max(al(v)));
            one(16u64.checked_add(stride.checked_mul(cap)?)?)
        }
        StructKind::Set => {
            let t = e?;
            let vo = align_up(4, al(t));
            let stride = align_up(vo + sz(t), 4.max(al(t)));
            one(16u64.checked_add(stride.checked_mul(cap)?)?)
        }
        StructKind::Pool => {
            let t = e?;
            let no = align_up(sz(t), 4);
            let stride = align_up(no + 4, 4.max(al(t)));
            one(24u64.checked_add(stride.checked_mul(cap)?)?)
        }
        StructKind::Ring => one(24u64.checked_add(cap.checked_mul(sz(e?))?)?),
        StructKind::Semaphore | StructKind::Mutex | StructKind::Barrier | StructKind::Latch => {
            one(16)
        }
        StructKind::Once => one(4),
        StructKind::Event => Some(vec![(name.to_owned(), 12), (format!("{name}_sem"), 16)]),
        StructKind::RwLock => Some(vec![
            (format!("{name}_state"), 8),
            (format!("{name}_rmtx"), 16),
            (format!("{name}_wmtx"), 16),
            (name.to_owned(), 1),
        ]),
        StructKind::Monitor => Some(vec![
            (format!("{name}_mtx"), 16),
            (format!("{name}_cond"), 16),
            (format!("{name}_count"), 4),
            (name.to_owned(), 1),
        ]),
        StructKind::Signal => Some(vec![
            (format!("{name}_state"), align_up(8 + sz(e?), 8)),
            (format!("{name}_mtx"), 16),
            (name.to_owned(), 1),
        ]),
        StructKind::Future => {
            let t = e?;
            one(align_up(16 + sz(t) + 256, 8.max(al(t))))
        }
        StructKind::Lazy => {
            let l = lazy_layout(e?);
            one(l.total)
        }
        StructKind::Stream => match e {
            None => one(16),
            Some(t) => Some(vec![
                (format!("{name}_header"), 56),
                (
                    format!("{name}_buffer"),
                    24u64.checked_add(cap.checked_mul(sz(t))?)?,
                ),
            ]),
        },
        StructKind::Channel => {
            let t = e?;
            if cap == 0 {
                let data = align_up(2, al(t));
                Some(vec![
                    (format!("{name}_header"), 32),
                    (format!("{name}_slot"), align_up(data + sz(t), al(t))),
                ])
            } else {
                Some(vec![
                    (format!("{name}_header"), 32),
                    (format!("{name}_buffer"), queue_size(cap, t)?),
                ])
            }
        }
    }
}

/// Offsets of the C++ generic `Lazy<T>` header (`docs/FORMAT.md` §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LazyLayout {
    /// Offset of the cached value.
    pub cached: u64,
    /// Offset of the error message.
    pub error: u64,
    /// Offset of compute_count.
    pub count: u64,
    /// Entry size.
    pub total: u64,
}

/// The `Lazy<T>` header layout for `t`.
pub fn lazy_layout(t: &TypeLayout) -> LazyLayout {
    let (s, a) = (sz(t), al(t));
    let big_a = 4.max(a);
    let data_off = align_up(4, big_a);
    let u = align_up((2 * s).max(8), big_a);
    let op = align_up(data_off + u, big_a);
    let comp = align_up(4, big_a);
    let cached = align_up(comp + op, a);
    let error = cached + s;
    let count = align_up(error + 256, 4);
    LazyLayout {
        cached,
        error,
        count,
        total: align_up(count + 4, big_a),
    }
}

/// Smallest power of two >= n (n >= 1).
pub fn next_pow2(n: u64) -> Option<u64> {
    n.checked_next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroipc::ShmElement;

    #[test]
    fn lazy_matches_the_reference_table() {
        let l = lazy_layout(i32::LAYOUT);
        assert_eq!((l.cached, l.error, l.count, l.total), (16, 20, 276, 280));
        let l = lazy_layout(f64::LAYOUT);
        assert_eq!((l.cached, l.error, l.count, l.total), (32, 40, 296, 304));
        let l = lazy_layout(i16::LAYOUT);
        assert_eq!((l.cached, l.error, l.count, l.total), (16, 18, 276, 280));
    }

    #[test]
    fn map_and_set_strides_match_the_reference_table() {
        let p = Params {
            capacity: 1,
            ..Params::default()
        };
        let map = |k, v| entries(StructKind::Map, "m", Some(k), Some(v), &p).unwrap()[0].1 - 16;
        assert_eq!(map(i32::LAYOUT, i32::LAYOUT), 12);
        assert_eq!(map(i32::LAYOUT, i64::LAYOUT), 16);
        assert_eq!(map(i64::LAYOUT, i32::LAYOUT), 24);
        assert_eq!(map(u8::LAYOUT, u8::LAYOUT), 8);
        assert_eq!(map(<[u8; 3]>::LAYOUT, i16::LAYOUT), 12);
        assert_eq!(map(<[i32; 3]>::LAYOUT, i32::LAYOUT), 20);
        let set = |t| entries(StructKind::Set, "s", Some(t), None, &p).unwrap()[0].1 - 16;
        assert_eq!(set(i32::LAYOUT), 8);
        assert_eq!(set(f64::LAYOUT), 16);
        assert_eq!(set(<[i32; 3]>::LAYOUT), 16);
        let pool = |t| entries(StructKind::Pool, "p", Some(t), None, &p).unwrap()[0].1 - 24;
        assert_eq!(pool(i32::LAYOUT), 8);
        assert_eq!(pool(i64::LAYOUT), 16);
        assert_eq!(pool(<[i32; 3]>::LAYOUT), 16);
        let fut = |t| entries(StructKind::Future, "f", Some(t), None, &p).unwrap()[0].1;
        assert_eq!(fut(i32::LAYOUT), 280);
        assert_eq!(fut(u8::LAYOUT), 280);
        assert_eq!(fut(<[i32; 3]>::LAYOUT), 288);
        let slot =
            |t| entries(StructKind::Channel, "c", Some(t), None, &Params::default()).unwrap()[1].1;
        assert_eq!(slot(u8::LAYOUT), 3);
        assert_eq!(slot(i32::LAYOUT), 8);
        assert_eq!(slot(i64::LAYOUT), 16);
        assert_eq!(slot(<[i32; 3]>::LAYOUT), 16);
    }
}
