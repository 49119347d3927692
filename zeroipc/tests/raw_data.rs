//! The protocol core of the data kinds (`zeroipc::raw::{RawArray, RawQueue,
//! RawStack, RawRing, RawPool}`) used with element sizes known only at run
//! time (3, 12 and 40 bytes), on the same entries as the typed veneers:
//! values written by one side are read by the other, `open(None)` finds the
//! element layout, the `items()` snapshots match what the typed side holds
//! and change no byte, and a slice of the wrong length is refused with an
//! error naming both sizes, leaving every byte as it was.

use std::fmt::Debug;
use std::time::Duration;
use zeroipc::element::{bytes_of, bytes_of_mut};
use zeroipc::format::ElemLayout;
use zeroipc::format::StructureKind;
use zeroipc::raw::{RawArray, RawPool, RawQueue, RawRing, RawStack};
use zeroipc::region::Region;
use zeroipc::{
    Array, Error, Pool, PoolHandle, Queue, Ring, Segment, SegmentOptions, ShmElement, Stack,
};

struct Tmp {
    name: String,
    seg: Segment,
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.name);
    }
}

/// A segment without a self-description (as a reference library makes):
/// the raw opens must find the element layout from the headers alone.
fn segment(tag: &str) -> Tmp {
    segment_with(tag, false)
}

fn segment_with(tag: &str, self_describing: bool) -> Tmp {
    let name = format!("/zt_raw_data_{tag}_{}", std::process::id());
    let _ = Segment::unlink(&name);
    let seg = SegmentOptions::new()
        .size(1 << 20)
        .self_describing(self_describing)
        .create(&name)
        .unwrap();
    Tmp { name, seg }
}

/// A value of `T` whose bytes depend on `seed` and their position.
fn val<T: ShmElement>(seed: u8) -> T {
    // SAFETY: every bit pattern is a valid `T` (`ShmElement`).
    let mut v: T = unsafe { std::mem::zeroed() };
    for (k, b) in bytes_of_mut(&mut v).iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(k as u8).wrapping_add(1);
    }
    v
}

fn bytes<T: ShmElement>(v: T) -> Vec<u8> {
    bytes_of(&v).to_vec()
}

fn snapshot(r: &Region) -> Vec<u8> {
    let mut b = vec![0u8; r.len()];
    r.read_bytes(0, &mut b);
    b
}

/// `r` is an `InvalidArgument` naming the operation's expected and given
/// sizes.
fn assert_wrong_len<T: Debug>(r: zeroipc::Result<T>, expected: usize, given: usize) {
    match r {
        Err(e @ Error::InvalidArgument { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("{given} bytes given"))
                    && msg.contains(&format!("{expected}")),
                "{msg}"
            );
        }
        other => panic!("expected InvalidArgument for {given} bytes, got {other:?}"),
    }
}

fn layout<T: ShmElement>() -> ElemLayout {
    ElemLayout::of::<T>()
}

fn queue_case<T: ShmElement + PartialEq + Debug>(seg: &Segment, name: &str) {
    let s = size_of::<T>();
    let raw = RawQueue::create(seg, name, layout::<T>(), 3).unwrap();
    assert_eq!(raw.capacity(), 4);
    let typed = Queue::<T>::open(seg, name).unwrap();
    assert!(raw.push(&bytes(val::<T>(1))).unwrap());
    typed.push(val(2)).unwrap();
    assert!(raw.push(&bytes(val::<T>(3))).unwrap());
    let found = RawQueue::open(seg, name, None).unwrap();
    assert_eq!(found.elem().size(), s as u64);

    let before = snapshot(raw.region());
    let want: Vec<Vec<u8>> = [1, 2, 3].map(|k| bytes(val::<T>(k))).to_vec();
    assert_eq!(found.items(), want);
    assert_wrong_len(raw.push(&vec![0; s + 1]), s, s + 1);
    assert_wrong_len(raw.pop(&mut vec![0; s - 1]), s, s - 1);
    assert_wrong_len(raw.push_timeout(&[], Duration::from_millis(1)), s, 0);
    assert_eq!(
        snapshot(raw.region()),
        before,
        "refusals and items() changed bytes"
    );

    assert_eq!(typed.pop(), Some(val(1)));
    let mut out = vec![0u8; s];
    assert!(raw.pop(&mut out).unwrap());
    assert_eq!(out, bytes(val::<T>(2)));
    raw.pop_timeout(&mut out, Duration::from_secs(5)).unwrap();
    assert_eq!(out, bytes(val::<T>(3)));
    let e = raw
        .pop_timeout(&mut out, Duration::from_millis(1))
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(typed.is_empty() && found.items().is_empty());
}

fn stack_case<T: ShmElement + PartialEq + Debug>(seg: &Segment, name: &str) {
    let s = size_of::<T>();
    let raw = RawStack::create(seg, name, layout::<T>(), 3).unwrap();
    let typed = Stack::<T>::open(seg, name).unwrap();
    assert!(raw.push(&bytes(val::<T>(1))).unwrap());
    typed.push(val(2)).unwrap();
    assert!(raw.push(&bytes(val::<T>(3))).unwrap());
    assert!(!raw.push(&bytes(val::<T>(4))).unwrap()); // full
    let found = RawStack::open(seg, name, None).unwrap();
    assert_eq!(found.elem().size(), s as u64);

    let before = snapshot(raw.region());
    let want: Vec<Vec<u8>> = [1, 2, 3].map(|k| bytes(val::<T>(k))).to_vec();
    assert_eq!(found.items(), want); // bottom to top
    assert_wrong_len(raw.push(&vec![0; s * 2]), s, s * 2);
    assert_wrong_len(raw.pop(&mut [0; 1]), s, 1);
    assert_wrong_len(raw.peek(&mut []), s, 0);
    assert_eq!(
        snapshot(raw.region()),
        before,
        "refusals and items() changed bytes"
    );

    let mut out = vec![0u8; s];
    assert!(raw.peek(&mut out).unwrap());
    assert_eq!(out, bytes(val::<T>(3)));
    assert_eq!(typed.pop(), Some(val(3)));
    assert!(raw.pop(&mut out).unwrap());
    assert_eq!(out, bytes(val::<T>(2)));
    assert_eq!(typed.pop_timeout(Duration::from_secs(5)).unwrap(), val(1));
    assert!(!raw.pop(&mut out).unwrap());
}

fn ring_case<T: ShmElement + PartialEq + Debug>(seg: &Segment, name: &str) {
    let s = size_of::<T>();
    let raw = RawRing::create(seg, name, layout::<T>(), 5).unwrap();
    assert_eq!(raw.capacity_bytes(), 5 * s);
    let typed = Ring::<T>::open(seg, name).unwrap();
    // Positions that wrap: 3 in, 3 out, then 5 in across the end.
    for k in 0..3 {
        typed.write(val(k)).unwrap();
    }
    assert_eq!(typed.read_bulk(&mut [val::<T>(0); 3]), 3);
    let mut batch = Vec::new();
    for k in 10..14 {
        batch.extend(bytes(val::<T>(k)));
    }
    assert_eq!(raw.write_bulk(&batch).unwrap(), 4);
    assert!(raw.write(&bytes(val::<T>(14))).unwrap());
    assert!(!raw.write(&bytes(val::<T>(15))).unwrap()); // full
    let found = RawRing::open(seg, name, None).unwrap();
    assert_eq!(found.elem().size(), s as u64);

    let before = snapshot(raw.region());
    let want: Vec<Vec<u8>> = (10..15).map(|k| bytes(val::<T>(k))).collect();
    assert_eq!(found.items(), want);
    assert_wrong_len(raw.write(&vec![0; s + 2]), s, s + 2);
    assert_wrong_len(raw.read(&mut vec![0; s - 1]), s, s - 1);
    assert_wrong_len(raw.read_at(0, &mut vec![0; 2 * s]), s, 2 * s);
    match raw.write_bulk(&vec![0; s + 1]) {
        Err(Error::InvalidArgument { detail, .. }) => {
            assert!(
                detail.contains(&format!("{} bytes given", s + 1)),
                "{detail}"
            )
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(
        snapshot(raw.region()),
        before,
        "refusals and items() changed bytes"
    );

    assert_eq!(typed.read(), Some(val(10)));
    let mut out = vec![0u8; 2 * s];
    assert_eq!(raw.read_bulk(&mut out).unwrap(), 2);
    assert_eq!(out[..s], bytes(val::<T>(11)));
    assert_eq!(out[s..], bytes(val::<T>(12)));
    let mut one = vec![0u8; s];
    raw.read_timeout(&mut one, Duration::from_secs(5)).unwrap();
    assert_eq!(one, bytes(val::<T>(13)));
    assert_eq!(typed.read_timeout(Duration::from_secs(5)).unwrap(), val(14));
    assert!(raw
        .read_timeout(&mut one, Duration::from_millis(1))
        .is_err());
}

fn pool_case<T: ShmElement + PartialEq + Debug>(seg: &Segment, name: &str) {
    let s = size_of::<T>();
    let raw = RawPool::create(seg, name, layout::<T>(), 3).unwrap();
    let typed = Pool::<T>::open(seg, name).unwrap();
    let a = raw.allocate().unwrap().unwrap();
    raw.set(a, &bytes(val::<T>(1))).unwrap();
    let b = typed.allocate().unwrap().unwrap();
    typed.set(b, val(2)).unwrap();
    assert_eq!(typed.get(PoolHandle::from_index(a)).unwrap(), val(1));
    let found = RawPool::open(seg, name, None).unwrap();
    assert_eq!(found.elem(), layout::<T>()); // the alignment too

    let before = snapshot(raw.region());
    let want = vec![(a, bytes(val::<T>(1))), (b.index(), bytes(val::<T>(2)))];
    assert_eq!(found.items().unwrap(), want);
    assert_wrong_len(raw.set(a, &vec![0; s + 1]), s, s + 1);
    assert_wrong_len(raw.get(a, &mut vec![0; s - 1]), s, s - 1);
    assert!(raw.get(7, &mut vec![0; s]).is_err()); // no node 7
    assert_eq!(
        snapshot(raw.region()),
        before,
        "refusals and items() changed bytes"
    );

    let mut out = vec![0u8; s];
    raw.get(b.index(), &mut out).unwrap();
    assert_eq!(out, bytes(val::<T>(2)));
    let c = raw.allocate_timeout(Duration::from_secs(5)).unwrap();
    assert!(typed.allocate().unwrap().is_none());
    assert!(matches!(
        raw.allocate_timeout(Duration::from_millis(1)),
        Err(Error::Timeout { .. })
    ));
    typed.deallocate(PoolHandle::from_index(c)).unwrap();
    raw.deallocate(a).unwrap();
    assert_eq!(
        found.items().unwrap(),
        vec![(b.index(), bytes(val::<T>(2)))]
    );
}

fn array_case<T: ShmElement + PartialEq + Debug>(seg: &Segment, name: &str) {
    let s = size_of::<T>();
    let raw = RawArray::create(seg, name, layout::<T>(), 4).unwrap();
    let typed = Array::<T>::open(seg, name).unwrap();
    raw.set(0, &bytes(val::<T>(1))).unwrap();
    typed.set(1, val(2)).unwrap();
    let mut two = bytes(val::<T>(3));
    two.extend(bytes(val::<T>(4)));
    raw.write(2, &two).unwrap();
    assert_eq!(typed.to_vec(), vec![val(1), val(2), val(3), val(4)]);
    let found = RawArray::open(seg, name, None).unwrap();
    assert_eq!(found.elem().size(), s as u64);

    let before = snapshot(raw.region());
    let want: Vec<Vec<u8>> = (1..5).map(|k| bytes(val::<T>(k))).collect();
    assert_eq!(found.items(), want);
    assert_wrong_len(raw.set(0, &vec![0; s + 1]), s, s + 1);
    assert_wrong_len(raw.get(0, &mut vec![0; s - 1]), s, s - 1);
    assert!(raw.write(3, &two).is_err()); // runs past the end
    assert!(raw.write(0, &two[1..]).is_err()); // not whole elements
    assert_eq!(
        snapshot(raw.region()),
        before,
        "refusals and items() changed bytes"
    );

    let mut out = vec![0u8; s];
    raw.get(1, &mut out).unwrap();
    assert_eq!(out, bytes(val::<T>(2)));
}

macro_rules! sizes {
    ($case:ident, $tag:literal) => {{
        let t = segment($tag);
        $case::<[u8; 3]>(&t.seg, "e3");
        $case::<[u32; 3]>(&t.seg, "e12");
        $case::<[u64; 5]>(&t.seg, "e40");
    }};
}

#[test]
fn raw_queue_interoperates_with_queue() {
    sizes!(queue_case, "queue");
}

#[test]
fn raw_stack_interoperates_with_stack() {
    sizes!(stack_case, "stack");
}

#[test]
fn raw_ring_interoperates_with_ring() {
    sizes!(ring_case, "ring");
}

#[test]
fn raw_pool_interoperates_with_pool() {
    sizes!(pool_case, "pool");
}

#[test]
fn raw_array_interoperates_with_array() {
    sizes!(array_case, "array");
}

/// Opening with a layout of another size is refused for every kind, and a
/// raw open without a layout of an empty array (which does not reveal its
/// element size) asks for one.
#[test]
fn raw_open_checks_the_layout() {
    let t = segment("layout");
    let seg = &t.seg;
    let e12 = ElemLayout::new(12, 4).unwrap();
    let e8 = ElemLayout::new(8, 8).unwrap();
    RawQueue::create(seg, "q", e12, 4).unwrap();
    RawStack::create(seg, "s", e12, 4).unwrap();
    RawRing::create(seg, "r", e12, 4).unwrap();
    RawPool::create(seg, "p", e12, 4).unwrap();
    RawArray::create(seg, "a", e12, 4).unwrap();
    RawArray::create(seg, "empty", e12, 0).unwrap();
    assert!(RawQueue::open(seg, "q", Some(e8)).is_err());
    assert!(RawStack::open(seg, "s", Some(e8)).is_err());
    assert!(RawRing::open(seg, "r", Some(e8)).is_err());
    assert!(RawPool::open(seg, "p", Some(e8)).is_err());
    assert!(RawArray::open(seg, "a", Some(e8)).is_err());
    assert!(Queue::<u64>::open(seg, "q").is_err());
    assert_eq!(RawArray::open(seg, "empty", Some(e12)).unwrap().len(), 0);
    let e = RawArray::open(seg, "empty", None).unwrap_err();
    assert!(e.to_string().contains("give the element layout"), "{e}");
}

/// In a self-describing segment, a raw open without a layout takes the
/// recorded one (an empty array's element size, a pool element's
/// alignment), and opening a structure as another kind is refused by its
/// record.
#[test]
fn raw_open_uses_the_self_description() {
    let t = segment_with("described", true);
    let seg = &t.seg;
    let odd = ElemLayout::new(16, 4).unwrap(); // the header alone would guess align 8
    RawPool::create(seg, "p", odd, 3).unwrap();
    RawArray::create(seg, "empty", ElemLayout::new(12, 4).unwrap(), 0).unwrap();
    Stack::<u64>::create(seg, "s", 4).unwrap();
    assert_eq!(RawPool::open(seg, "p", None).unwrap().elem(), odd);
    let empty = RawArray::open(seg, "empty", None).unwrap();
    assert_eq!((empty.len(), empty.elem().size()), (0, 12));
    match RawQueue::open(seg, "s", None) {
        Err(Error::WrongKind {
            recorded, expected, ..
        }) => assert_eq!(
            (recorded, expected),
            (StructureKind::Stack, StructureKind::Queue)
        ),
        other => panic!("expected WrongKind, got {other:?}"),
    }
    // The header is checked before the record's layout: its error names
    // both sizes; an alignment only the record knows is caught by it.
    let e = Stack::<u32>::open(seg, "s").unwrap_err();
    assert!(e.to_string().contains("size_of::<u32>() is 4"), "{e}");
    let q16 = ElemLayout::new(16, 4).unwrap();
    RawQueue::create(seg, "q", q16, 2).unwrap();
    let e = RawQueue::open(seg, "q", Some(ElemLayout::new(16, 8).unwrap())).unwrap_err();
    assert!(e.to_string().contains("size 16 align 4"), "{e}");
    assert_eq!(RawQueue::open(seg, "q", None).unwrap().elem(), q16);
}
