//! The catalogue against the reference tables (the schema compiler's
//! `kinds.rs` tests, docs/FORMAT.md §4.1-§4.9) and against the runtime's own
//! size functions and crate-visible constants.

use super::*;
use crate::element::ShmElement;

fn e<T: ShmElement>() -> ElemLayout {
    ElemLayout::of::<T>()
}

fn sizes(kind: StructureKind, shape: Shape) -> Vec<(&'static str, u64)> {
    kind.parts(&shape)
        .unwrap_or_else(|err| panic!("{kind} {shape:?}: {err}"))
        .iter()
        .map(|p| (p.suffix, p.size))
        .collect()
}

// zeroipc-gen/src/schema/kinds.rs: lazy_matches_the_reference_table.
#[test]
fn lazy_matches_the_reference_table() {
    let l = lazy::layout(e::<i32>()).unwrap();
    assert_eq!(
        (l.cached, l.error, l.compute_count, l.total),
        (16, 20, 276, 280)
    );
    let l = lazy::layout(e::<f64>()).unwrap();
    assert_eq!(
        (l.cached, l.error, l.compute_count, l.total),
        (32, 40, 296, 304)
    );
    let l = lazy::layout(e::<i16>()).unwrap();
    assert_eq!(
        (l.cached, l.error, l.compute_count, l.total),
        (16, 18, 276, 280)
    );
}

// zeroipc-gen/src/schema/kinds.rs: map_and_set_strides_match_the_reference_table.
#[test]
fn map_set_pool_future_channel_match_the_reference_table() {
    let map = |k, v| map::entry_size(1, k, v).unwrap() - 16;
    assert_eq!(map(e::<i32>(), e::<i32>()), 12);
    assert_eq!(map(e::<i32>(), e::<i64>()), 16);
    assert_eq!(map(e::<i64>(), e::<i32>()), 24);
    assert_eq!(map(e::<u8>(), e::<u8>()), 8);
    assert_eq!(map(e::<[u8; 3]>(), e::<i16>()), 12);
    assert_eq!(map(e::<[i32; 3]>(), e::<i32>()), 20);
    let set = |t| set::entry_size(1, t).unwrap() - 16;
    assert_eq!(set(e::<i32>()), 8);
    assert_eq!(set(e::<f64>()), 16);
    assert_eq!(set(e::<[i32; 3]>()), 16);
    let pool = |t| pool::entry_size(1, t).unwrap() - 24;
    assert_eq!(pool(e::<i32>()), 8);
    assert_eq!(pool(e::<i64>()), 16);
    assert_eq!(pool(e::<[i32; 3]>()), 16);
    let fut = |t| future::entry_size(t).unwrap();
    assert_eq!(fut(e::<i32>()), 280);
    assert_eq!(fut(e::<u8>()), 280);
    assert_eq!(fut(e::<[i32; 3]>()), 288);
    let slot = |t| sizes(StructureKind::Channel, Shape::of(t, 0))[1].1;
    assert_eq!(slot(e::<u8>()), 3);
    assert_eq!(slot(e::<i32>()), 8);
    assert_eq!(slot(e::<i64>()), 16);
    assert_eq!(slot(e::<[i32; 3]>()), 16);
}

#[test]
fn fixed_kinds_parts() {
    let none = |k| sizes(k, Shape::NONE);
    assert_eq!(none(StructureKind::Semaphore), [("", 16)]);
    assert_eq!(none(StructureKind::Mutex), [("", 16)]);
    assert_eq!(none(StructureKind::Barrier), [("", 16)]);
    assert_eq!(none(StructureKind::Latch), [("", 16)]);
    assert_eq!(none(StructureKind::Once), [("", 4)]);
    assert_eq!(none(StructureKind::Event), [("", 12), ("_sem", 16)]);
    assert_eq!(
        none(StructureKind::RwLock),
        [("_state", 8), ("_rmtx", 16), ("_wmtx", 16), ("", 1)]
    );
    assert_eq!(
        none(StructureKind::Monitor),
        [("_mtx", 16), ("_cond", 16), ("_count", 4), ("", 1)]
    );
    assert_eq!(none(StructureKind::Stream), [("", 16)]);
    assert_eq!(
        sizes(StructureKind::Signal, Shape::of(e::<[u8; 3]>(), 0)),
        [("_state", 16), ("_mtx", 16), ("", 1)]
    );
    assert_eq!(
        sizes(StructureKind::Stream, Shape::of(e::<u32>(), 4)),
        [("_header", 56), ("_buffer", 40)]
    );
}

#[test]
fn roles_are_the_inspectors() {
    let roles = |k: StructureKind, shape| -> Vec<&str> {
        k.parts(&shape).unwrap().iter().map(|p| p.role).collect()
    };
    assert_eq!(roles(StructureKind::Event, Shape::NONE), ["main", "sem"]);
    assert_eq!(
        roles(StructureKind::RwLock, Shape::NONE),
        ["state", "rmtx", "wmtx", "marker"]
    );
    assert_eq!(
        roles(StructureKind::Monitor, Shape::NONE),
        ["mtx", "cond", "count", "marker"]
    );
    let u = e::<u32>();
    assert_eq!(
        roles(StructureKind::Signal, Shape::of(u, 0)),
        ["state", "mtx", "marker"]
    );
    assert_eq!(
        roles(StructureKind::Stream, Shape::of(u, 2)),
        ["header", "buffer"]
    );
    assert_eq!(
        roles(StructureKind::Channel, Shape::of(u, 0)),
        ["header", "slot"]
    );
    assert_eq!(roles(StructureKind::Queue, Shape::of(u, 2)), ["main"]);
}

#[test]
fn bad_shapes_are_errors_naming_the_problem() {
    let u = e::<u32>();
    let err = |k: StructureKind, s: Shape| k.parts(&s).unwrap_err();
    assert_eq!(
        err(StructureKind::Queue, Shape::NONE),
        ShapeError::MissingType {
            kind: "queue",
            what: "element"
        }
    );
    assert_eq!(
        err(StructureKind::Mutex, Shape::of(u, 0)),
        ShapeError::UnexpectedType {
            kind: "mutex",
            what: "element"
        }
    );
    assert_eq!(
        err(StructureKind::Map, Shape::of(u, 4)),
        ShapeError::MissingType {
            kind: "map",
            what: "value"
        }
    );
    assert_eq!(
        err(StructureKind::Set, Shape::key_value(u, u, 4)),
        ShapeError::UnexpectedType {
            kind: "set",
            what: "value"
        }
    );
    assert_eq!(
        err(StructureKind::Map, Shape::key_value(u, e::<[u8; 9]>(), 4)),
        ShapeError::ValueTooLarge { size: 9 }
    );
    for (kind, cap) in [
        (StructureKind::Queue, 1),
        (StructureKind::Queue, 6),
        (StructureKind::Queue, 1 << 32),
        (StructureKind::Channel, 1),
        (StructureKind::Stack, 0),
        (StructureKind::Stack, 1 << 31),
        (StructureKind::Map, 0),
        (StructureKind::Set, 1 << 32),
        (StructureKind::Pool, 0),
        (StructureKind::Ring, 0),
        (StructureKind::Ring, 1 << 30), // 4 GiB of u32
        (StructureKind::Stream, 0),
    ] {
        let shape = if kind == StructureKind::Map {
            Shape::key_value(u, u, cap)
        } else {
            Shape::of(u, cap)
        };
        match err(kind, shape) {
            ShapeError::Capacity {
                capacity, kind: k, ..
            } => {
                assert_eq!((capacity, k), (cap, kind.name()))
            }
            other => panic!("{kind} capacity {cap}: {other:?}"),
        }
    }
    assert!(matches!(
        err(StructureKind::Array, Shape::of(e::<u64>(), u64::MAX)),
        ShapeError::Overflow { kind: "array", .. }
    ));
}

#[test]
fn names_round_trip_and_are_distinct() {
    let mut seen = std::collections::HashSet::new();
    for k in StructureKind::ALL {
        assert_eq!(StructureKind::from_name(k.name()), Some(k));
        assert_eq!(k.to_string(), k.name());
        assert!(seen.insert(k.name()));
    }
    assert_eq!(StructureKind::from_name("stream_void"), None);
}

#[test]
fn runtime_crate_constants_agree() {
    assert_eq!(MARKER_SIZE, crate::sync::MARKER_SIZE);
    assert_eq!(future::ERROR_MSG_LEN, crate::codata::ERROR_MSG_LEN as u64);
    assert_eq!(lazy::ERROR_MSG_LEN, crate::codata::ERROR_MSG_LEN as u64);
    assert_eq!(crate::format::fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
}

const CAPACITIES: [u64; 9] = [1, 2, 3, 5, 7, 8, 64, 100, 1000];

/// The size functions the runtime's create paths call, for `T`, against the
/// catalogue's formulas.
fn runtime_sizes_agree<T: ShmElement>() {
    use crate::codata::future::Future;
    use crate::raw::{RawPool, RawQueue, RawRing, RawStack};
    let t = e::<T>();
    for cap in CAPACITIES {
        let c = cap as usize;
        let stored = queue::stored_capacity(cap).unwrap();
        assert_eq!(RawQueue::size_for(t, c), queue::entry_size(stored, t));
        assert_eq!(RawStack::size_for(t, c), stack::entry_size(cap, t));
        assert_eq!(RawPool::size_for(t, c), pool::entry_size(cap, t));
        assert_eq!(RawRing::size_for(t, c), ring::entry_size(cap, t));
        assert_eq!(
            Some(crate::data::array::total_size(cap, t.size()).unwrap()),
            array::entry_size(cap, t)
        );
    }
    assert_eq!(Future::<T>::size_for(), future::entry_size(t));
    assert_eq!(
        Some(crate::sync::signal::state_size::<T>()),
        signal::state_size(t)
    );
    // A node must hold the element and its `next` index, aligned for both.
    let node = pool::node_layout(t).unwrap();
    assert!(node.next >= t.size() && node.next % 4 == 0);
    assert!(node.stride >= node.next + 4 && node.stride % t.align().max(4) == 0);
}

#[test]
fn runtime_size_functions_agree() {
    runtime_sizes_agree::<u8>();
    runtime_sizes_agree::<u16>();
    runtime_sizes_agree::<u32>();
    runtime_sizes_agree::<u64>();
    runtime_sizes_agree::<f32>();
    runtime_sizes_agree::<f64>();
    runtime_sizes_agree::<[u8; 3]>();
    runtime_sizes_agree::<[u16; 3]>();
    runtime_sizes_agree::<[i32; 3]>();
    runtime_sizes_agree::<[u64; 2]>();
    runtime_sizes_agree::<[u8; 13]>();
}

fn lazy_agrees<T: crate::codata::lazy::Arithmetic>() {
    assert_eq!(
        Some(crate::codata::lazy::Lazy::<T>::size_for()),
        lazy::entry_size(e::<T>())
    );
}

#[test]
fn runtime_lazy_sizes_agree() {
    lazy_agrees::<u8>();
    lazy_agrees::<i16>();
    lazy_agrees::<u32>();
    lazy_agrees::<i64>();
    lazy_agrees::<f32>();
    lazy_agrees::<f64>();
}

#[test]
fn formulas_are_const() {
    const Q: Option<u64> = queue::entry_size(8, ElemLayout::of::<u64>());
    const L: Option<lazy::LazyLayout> = lazy::layout(ElemLayout::of::<f32>());
    const K: StructureKind = StructureKind::Ring;
    const C: Option<u64> = K.stored_capacity(3);
    assert_eq!(Q, Some(16 + 64 + 32));
    assert_eq!(L.map(|l| l.total), Some(280));
    assert_eq!(C, Some(3));
}

#[test]
fn overflow_is_none_everywhere() {
    let big = ElemLayout::new(1 << 62, 1 << 62).unwrap();
    assert_eq!(array::entry_size(8, big), None);
    assert_eq!(queue::entry_size(8, big), None);
    assert_eq!(stack::entry_size(8, big), None);
    assert_eq!(map::entry_size(8, big, e::<u8>()), None);
    assert_eq!(set::entry_size(8, big), None);
    assert_eq!(pool::entry_size(8, big), None);
    assert_eq!(ring::entry_size(8, big), None);
    assert_eq!(
        signal::state_size(ElemLayout::new(u64::MAX, 1).unwrap()),
        None
    );
    assert_eq!(
        future::entry_size(ElemLayout::new(u64::MAX - 8, 1).unwrap()),
        None
    );
    assert_eq!(lazy::layout(big), None);
    assert_eq!(
        channel::slot_layout(ElemLayout::new(u64::MAX, 1).unwrap()),
        None
    );
    assert_eq!(stream::buffer_size(8, big), None);
}
