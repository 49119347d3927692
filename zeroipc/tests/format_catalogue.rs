//! The format catalogue against the runtime: for every structure kind, a
//! spread of element layouts and capacities, the structure is created with
//! the runtime's typed API in a fresh segment, and the table entries (names
//! and sizes, in creation order) must equal `StructureKind::parts` exactly;
//! the capacity the runtime reports must equal `stored_capacity`; and a
//! request the catalogue refuses must be refused by the runtime, leaving
//! the table empty.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use zeroipc::codata::lazy::Arithmetic;
use zeroipc::codata::stream::StreamVoid;
use zeroipc::element::from_bytes;
use zeroipc::format::{ElemLayout, Shape, StructureKind as K};
use zeroipc::{
    Array, Barrier, Channel, Event, EventMode, Future, Latch, Lazy, Map, Monitor, Mutex, Once,
    Pool, Queue, Ring, RwLock, Segment, Semaphore, Set, ShmElement, ShmLayout, Signal, Stack,
    Stream,
};

/// A derived struct with 8-byte alignment and no padding (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Sample {
    t: u64,
    id: u32,
    level: i16,
    flags: u8,
    kind: u8,
}

/// A derived struct with 4-byte alignment (12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Vec3f {
    x: f32,
    y: f32,
    z: f32,
}

const CAPACITIES: [usize; 9] = [1, 2, 3, 7, 8, 9, 64, 100, 1000];

/// A fresh segment, unlinked on drop.
struct Fresh {
    name: String,
    seg: Segment,
}

impl Fresh {
    fn new() -> Fresh {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "/zeroipc-fmtcat-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let seg = Segment::options()
            .size(1 << 20)
            .max_entries(8)
            .create(&name)
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        Fresh { name, seg }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // A failed unlink would leave a segment behind: say so loudly
        // (unless a test assertion is already unwinding).
        let r = Segment::unlink(&self.name);
        if !std::thread::panicking() {
            r.unwrap_or_else(|e| panic!("unlink {}: {e}", self.name));
        }
    }
}

/// The table of `seg` as (name, size) pairs, in table order.
fn table(seg: &Segment) -> Vec<(String, u64)> {
    seg.entries()
        .expect("entries of a fresh segment")
        .into_iter()
        // The self-description entry and the waiter registry every fresh
        // segment starts with.
        .filter(|e| {
            e.name != zeroipc::format::describe::ENTRY_NAME
                && e.name != zeroipc::format::waiters::ENTRY_NAME
        })
        .map(|e| (e.name, e.size))
        .collect()
}

thread_local! {
    /// Structures checked by this test's thread (tests run on their own
    /// threads), so a test can assert that its loops really ran.
    static CHECKED: Cell<usize> = const { Cell::new(0) };
}

fn checked() -> usize {
    CHECKED.with(Cell::get)
}

/// Creates one structure named `base` with `create` in a fresh segment and
/// checks the table against the catalogue's parts for `kind` and `shape`.
/// Returns what `create` returned (e.g. the runtime's capacity).
fn check<R>(
    kind: K,
    shape: Shape,
    what: &str,
    create: impl FnOnce(&Segment, &str) -> zeroipc::Result<R>,
) -> R {
    let fresh = Fresh::new();
    let base = "s";
    let out = create(&fresh.seg, base).unwrap_or_else(|e| panic!("{what}: create: {e}"));
    let parts = kind
        .parts(&shape)
        .unwrap_or_else(|e| panic!("{what}: catalogue refuses {shape:?}: {e}"));
    let want: Vec<(String, u64)> = parts.iter().map(|p| (p.entry_name(base), p.size)).collect();
    assert_eq!(table(&fresh.seg), want, "{what}: {shape:?}");
    CHECKED.with(|c| c.set(c.get() + 1));
    out
}

/// The stored capacity the catalogue predicts for a request.
fn stored(kind: K, requested: usize) -> u64 {
    kind.stored_capacity(requested as u64)
        .unwrap_or_else(|| panic!("{kind}: catalogue refuses capacity {requested}"))
}

/// A value of `T` (all zero bytes, valid for every element type).
fn zero<T: ShmElement>() -> T {
    from_bytes::<T>(&vec![0u8; size_of::<T>()]).expect("size_of::<T>() bytes")
}

/// Every kind with one element type, for `T`, at every capacity.
fn typed_kinds<T: ShmElement>() {
    let t = ElemLayout::of::<T>();
    let ty = std::any::type_name::<T>();
    assert_eq!(ElemLayout::from_type_layout(T::LAYOUT), Some(t), "{ty}");
    for cap in CAPACITIES {
        let what = |k: K| format!("{k}<{ty}> capacity {cap}");
        let shape = |k: K| Shape::of(t, stored(k, cap));
        check(K::Array, shape(K::Array), &what(K::Array), |s, n| {
            Array::<T>::create(s, n, cap).map(|a| a.len())
        });
        let got = check(K::Queue, shape(K::Queue), &what(K::Queue), |s, n| {
            Queue::<T>::create(s, n, cap).map(|q| q.capacity())
        });
        assert_eq!(got as u64, stored(K::Queue, cap), "{}", what(K::Queue));
        let got = check(K::Stack, shape(K::Stack), &what(K::Stack), |s, n| {
            Stack::<T>::create(s, n, cap).map(|q| q.capacity())
        });
        assert_eq!(got as u64, stored(K::Stack, cap), "{}", what(K::Stack));
        check(K::Set, shape(K::Set), &what(K::Set), |s, n| {
            Set::<T>::create(s, n, cap).map(|x| x.capacity())
        });
        check(K::Pool, shape(K::Pool), &what(K::Pool), |s, n| {
            Pool::<T>::create(s, n, cap).map(|x| x.capacity())
        });
        let got = check(K::Ring, shape(K::Ring), &what(K::Ring), |s, n| {
            Ring::<T>::create(s, n, cap).map(|x| x.capacity())
        });
        assert_eq!(got as u64, stored(K::Ring, cap), "{}", what(K::Ring));
        let got = check(K::Stream, shape(K::Stream), &what(K::Stream), |s, n| {
            Stream::<T>::create(s, n, cap).map(|x| x.capacity())
        });
        assert_eq!(got as u64, stored(K::Stream, cap), "{}", what(K::Stream));
        let got = check(K::Channel, shape(K::Channel), &what(K::Channel), |s, n| {
            Channel::<T>::create(s, n, cap).map(|x| x.capacity())
        });
        assert_eq!(got as u64, stored(K::Channel, cap), "{}", what(K::Channel));
    }
    let got = check(
        K::Channel,
        Shape::of(t, 0),
        &format!("unbuffered channel<{ty}>"),
        |s, n| Channel::<T>::create(s, n, 0).map(|x| x.capacity()),
    );
    assert_eq!(got, 0);
    check(
        K::Signal,
        Shape::of(t, 0),
        &format!("signal<{ty}>"),
        |s, n| Signal::<T>::create(s, n, zero::<T>()).map(drop),
    );
    check(
        K::Future,
        Shape::of(t, 0),
        &format!("future<{ty}>"),
        |s, n| Future::<T>::create(s, n).map(drop),
    );
}

#[test]
fn typed_kinds_match_the_catalogue() {
    typed_kinds::<u8>();
    typed_kinds::<u16>();
    typed_kinds::<u32>();
    typed_kinds::<u64>();
    typed_kinds::<f32>();
    typed_kinds::<f64>();
    typed_kinds::<[u8; 3]>();
    typed_kinds::<[u16; 3]>();
    typed_kinds::<[i32; 3]>();
    typed_kinds::<[u64; 2]>();
    typed_kinds::<[u8; 13]>();
    typed_kinds::<Sample>();
    typed_kinds::<Vec3f>();
    // 13 layouts x (9 capacities x 8 kinds + unbuffered channel, signal, future).
    assert_eq!(checked(), 13 * (CAPACITIES.len() * 8 + 3));
}

fn map_of<Key: ShmElement, V: ShmElement>() {
    let (k, v) = (ElemLayout::of::<Key>(), ElemLayout::of::<V>());
    for cap in [1usize, 3, 8, 100] {
        let what = format!(
            "map<{}, {}> capacity {cap}",
            std::any::type_name::<Key>(),
            std::any::type_name::<V>()
        );
        let shape = Shape::key_value(k, v, stored(K::Map, cap));
        let got = check(K::Map, shape, &what, |s, n| {
            Map::<Key, V>::create(s, n, cap).map(|m| m.capacity())
        });
        assert_eq!(got, cap, "{what}");
    }
}

macro_rules! map_row {
    ($key:ty) => {
        map_of::<$key, u8>();
        map_of::<$key, u16>();
        map_of::<$key, u32>();
        map_of::<$key, u64>();
        map_of::<$key, f32>();
        map_of::<$key, f64>();
        map_of::<$key, [u8; 3]>();
        map_of::<$key, [u16; 3]>();
        map_of::<$key, [u8; 8]>();
    };
}

#[test]
fn maps_match_the_catalogue() {
    map_row!(u8);
    map_row!(u16);
    map_row!(u32);
    map_row!(u64);
    map_row!(f32);
    map_row!(f64);
    map_row!([u8; 3]);
    map_row!([u16; 3]);
    map_row!([i32; 3]);
    map_row!([u64; 2]);
    map_row!(Sample);
    map_row!(Vec3f);
    assert_eq!(checked(), 12 * 9 * 4);
}

fn lazy_of<T: Arithmetic>() {
    let what = format!("lazy<{}>", std::any::type_name::<T>());
    check(
        K::Lazy,
        Shape::of(ElemLayout::of::<T>(), 0),
        &what,
        |s, n| Lazy::<T>::constant(s, n, zero::<T>()).map(drop),
    );
}

#[test]
fn lazies_match_the_catalogue() {
    lazy_of::<u8>();
    lazy_of::<i8>();
    lazy_of::<u16>();
    lazy_of::<i16>();
    lazy_of::<u32>();
    lazy_of::<i32>();
    lazy_of::<u64>();
    lazy_of::<i64>();
    lazy_of::<f32>();
    lazy_of::<f64>();
    assert_eq!(checked(), 10);
}

#[test]
fn untyped_kinds_match_the_catalogue() {
    let none = Shape::NONE;
    check(K::Semaphore, none, "semaphore", |s, n| {
        Semaphore::create(s, n, 1, 0).map(drop)
    });
    check(K::Semaphore, none, "bounded semaphore", |s, n| {
        Semaphore::create(s, n, 0, 3).map(drop)
    });
    check(K::Mutex, none, "mutex", |s, n| {
        Mutex::create(s, n).map(drop)
    });
    check(K::Barrier, none, "barrier", |s, n| {
        Barrier::create(s, n, 3).map(drop)
    });
    check(K::Latch, none, "latch", |s, n| {
        Latch::create(s, n, 2).map(drop)
    });
    check(K::Once, none, "once", |s, n| Once::create(s, n).map(drop));
    for mode in [EventMode::AutoReset, EventMode::ManualReset] {
        check(K::Event, none, &format!("event {mode:?}"), |s, n| {
            Event::create(s, n, mode).map(drop)
        });
    }
    check(K::RwLock, none, "rwlock", |s, n| {
        RwLock::create(s, n).map(drop)
    });
    check(K::Monitor, none, "monitor", |s, n| {
        Monitor::create(s, n).map(drop)
    });
    check(K::Stream, none, "stream<void>", |s, n| {
        StreamVoid::create(s, n).map(drop)
    });
    assert_eq!(checked(), 11);
}

/// Requests the catalogue refuses (`stored_capacity` or `parts`), which the
/// runtime must refuse too without registering anything. None of them
/// allocates: the runtime checks before it reserves space.
#[test]
fn refusals_agree() {
    type Create = fn(&Segment, usize) -> bool;
    let cases: [(K, ElemLayout, usize, Create); 13] = [
        (K::Queue, ElemLayout::of::<u32>(), 0, |s, c| {
            Queue::<u32>::create(s, "s", c).is_ok()
        }),
        (K::Queue, ElemLayout::of::<u32>(), (1 << 31) + 1, |s, c| {
            Queue::<u32>::create(s, "s", c).is_ok()
        }),
        (K::Stack, ElemLayout::of::<u8>(), 0, |s, c| {
            Stack::<u8>::create(s, "s", c).is_ok()
        }),
        (K::Stack, ElemLayout::of::<u8>(), 1 << 31, |s, c| {
            Stack::<u8>::create(s, "s", c).is_ok()
        }),
        (K::Map, ElemLayout::of::<u32>(), 0, |s, c| {
            Map::<u32, u32>::create(s, "s", c).is_ok()
        }),
        (K::Map, ElemLayout::of::<u32>(), 1 << 32, |s, c| {
            Map::<u32, u32>::create(s, "s", c).is_ok()
        }),
        (K::Set, ElemLayout::of::<u32>(), 0, |s, c| {
            Set::<u32>::create(s, "s", c).is_ok()
        }),
        (K::Pool, ElemLayout::of::<u64>(), 0, |s, c| {
            Pool::<u64>::create(s, "s", c).is_ok()
        }),
        (K::Pool, ElemLayout::of::<u64>(), 1 << 32, |s, c| {
            Pool::<u64>::create(s, "s", c).is_ok()
        }),
        (K::Ring, ElemLayout::of::<u32>(), 0, |s, c| {
            Ring::<u32>::create(s, "s", c).is_ok()
        }),
        // 2^30 u32 elements are 4 GiB, past the u32 byte capacity.
        (K::Ring, ElemLayout::of::<u32>(), 1 << 30, |s, c| {
            Ring::<u32>::create(s, "s", c).is_ok()
        }),
        (K::Stream, ElemLayout::of::<u32>(), 0, |s, c| {
            Stream::<u32>::create(s, "s", c).is_ok()
        }),
        (
            K::Channel,
            ElemLayout::of::<u32>(),
            (1 << 31) + 1,
            |s, c| Channel::<u32>::create(s, "s", c).is_ok(),
        ),
    ];
    for (kind, elem, cap, create) in cases {
        let shape = |stored| {
            if kind == K::Map {
                Shape::key_value(elem, elem, stored)
            } else {
                Shape::of(elem, stored)
            }
        };
        let catalogue_accepts = kind
            .stored_capacity(cap as u64)
            .is_some_and(|st| kind.parts(&shape(st)).is_ok());
        assert!(
            !catalogue_accepts,
            "{kind} capacity {cap}: catalogue accepts"
        );
        let fresh = Fresh::new();
        assert!(
            !create(&fresh.seg, cap),
            "{kind} capacity {cap}: runtime accepts"
        );
        assert_eq!(
            table(&fresh.seg),
            Vec::<(String, u64)>::new(),
            "{kind} capacity {cap}: entries left"
        );
    }
    // What both accept at the edges: an array of 0, an unbuffered channel.
    check(
        K::Array,
        Shape::of(ElemLayout::of::<u64>(), 0),
        "array 0",
        |s, n| Array::<u64>::create(s, n, 0).map(drop),
    );
}
