//! The byte-level Map and Set (`zeroipc::raw::{RawMap, RawSet}`): run-time
//! key and value layouts interoperating with the typed `Map`/`Set` on the
//! same entry, wrong-length slices refused with a clear error and no byte
//! changed, and hashing identical to the typed path for every primitive key
//! type (same hash, same slots, byte-identical entries).

use zeroipc::data::map::MapInsert;
use zeroipc::data::set::SetInsert;
use zeroipc::format::map::KeyLayout;
use zeroipc::format::{key_hash, ElemLayout};
use zeroipc::layout::Prim;
use zeroipc::raw::{RawMap, RawSet};
use zeroipc::{Error, Map, Segment, Set, ShmElement};

/// A segment unique to this process and test, unlinked on drop.
struct Shm {
    name: String,
    seg: Segment,
}

impl Shm {
    /// A segment with the default options (self-describing).
    fn new(tag: &str) -> Shm {
        let name = format!("/zeroipc-raw-mapset-{tag}-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, 1 << 18).unwrap();
        Shm { name, seg }
    }

    /// A segment that records nothing about its structures, as a reference
    /// library's: only the headers can be checked.
    fn undescribed(tag: &str) -> Shm {
        let name = format!("/zeroipc-raw-mapset-{tag}-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = zeroipc::SegmentOptions::new()
            .size(1 << 18)
            .self_describing(false)
            .create(&name)
            .unwrap();
        Shm { name, seg }
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        Segment::unlink(&self.name).unwrap();
    }
}

fn bytes(region: &zeroipc::region::Region) -> Vec<u8> {
    let mut b = vec![0u8; region.len()];
    region.read_bytes(0, &mut b);
    b
}

fn layout(size: u64, align: u64) -> ElemLayout {
    ElemLayout::new(size, align).unwrap()
}

/// Key `[u8; 3]` and a 6-byte value (`[u16; 3]`), known to the raw side
/// only as sizes and alignments, shared with a typed `Map` both ways.
#[test]
fn raw_map_with_run_time_layouts_interoperates_with_the_typed_map() {
    let shm = Shm::new("interop");
    let raw = RawMap::create(
        &shm.seg,
        "m",
        KeyLayout::bytes(layout(3, 1)),
        layout(6, 2),
        11,
    )
    .unwrap();
    let typed = Map::<[u8; 3], [u16; 3]>::open(&shm.seg, "m").unwrap();
    assert_eq!((raw.capacity(), typed.capacity()), (11, 11));
    assert_eq!(
        raw.region().len() as u64,
        zeroipc::format::map::entry_size(11, layout(3, 1), layout(6, 2)).unwrap()
    );

    let v = |a: u16, b: u16, c: u16| -> Vec<u8> {
        [a, b, c].iter().flat_map(|x| x.to_le_bytes()).collect()
    };
    assert_eq!(
        raw.insert(b"abc", &v(1, 2, 3)).unwrap(),
        MapInsert::Inserted
    );
    assert_eq!(typed.get(b"abc"), Some([1, 2, 3]));
    assert_eq!(typed.insert(*b"xyz", [7, 8, 9]), MapInsert::Inserted);
    assert_eq!(typed.insert(*b"abc", [4, 5, 6]), MapInsert::Updated);
    let mut out = [0u8; 6];
    assert!(raw.get(b"xyz", &mut out).unwrap());
    assert_eq!(out.to_vec(), v(7, 8, 9));
    assert!(raw.get(b"abc", &mut out).unwrap());
    assert_eq!(out.to_vec(), v(4, 5, 6));
    assert!(!raw.get(b"zzz", &mut out).unwrap());
    assert!(raw.contains(b"xyz").unwrap() && !raw.contains(b"zzz").unwrap());

    // The non-destructive snapshot agrees with the typed iteration, slot by slot.
    let before = bytes(raw.region());
    let entries = raw.entries();
    assert_eq!(bytes(raw.region()), before, "entries() changed the map");
    let typed_entries: Vec<(Vec<u8>, Vec<u8>)> = typed
        .entries()
        .into_iter()
        .map(|(k, val)| (k.to_vec(), v(val[0], val[1], val[2])))
        .collect();
    assert_eq!(entries, typed_entries);
    assert_eq!(entries.len(), 2);

    assert!(raw.remove(b"abc", &mut out).unwrap());
    assert_eq!(out.to_vec(), v(4, 5, 6));
    assert_eq!(typed.get(b"abc"), None);
    assert_eq!(typed.remove(b"xyz"), Some([7, 8, 9]));
    assert!(!raw.remove(b"xyz", &mut out).unwrap());
    assert!(raw.is_empty() && typed.is_empty());
    assert!(raw.entries().is_empty());
}

/// A typed map opened raw in a segment that records nothing (as a
/// reference library's): the key layout must be given, the value's is
/// inferred from the header, and a wrong key size or kind is refused by
/// the header checks.
#[test]
fn raw_open_checks_the_layouts_it_is_given() {
    let shm = Shm::undescribed("open");
    let typed = Map::<u64, i16>::create(&shm.seg, "m", 5).unwrap();
    assert_eq!(typed.insert(40, -4), MapInsert::Inserted);
    let raw = RawMap::open(&shm.seg, "m", Some(KeyLayout::of::<u64>()), None).unwrap();
    assert_eq!(raw.value(), ElemLayout::of::<i16>());
    let mut out = [0u8; 2];
    assert!(raw.get(&40u64.to_le_bytes(), &mut out).unwrap());
    assert_eq!(i16::from_le_bytes(out), -4);
    assert_eq!(typed.raw().value(), raw.value());

    let e = RawMap::open(&shm.seg, "m", Some(KeyLayout::of::<u32>()), None).unwrap_err();
    assert!(
        matches!(e, Error::StructureMismatch { .. })
            && e.to_string().contains("key_size is 8, expected 4"),
        "{e}"
    );
    let e = RawMap::open(&shm.seg, "m", None, None).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { .. }) && e.to_string().contains("key layout"),
        "{e}"
    );
    let e = RawSet::open(&shm.seg, "m", Some(KeyLayout::of::<u64>())).unwrap_err();
    assert!(e.to_string().contains("reserved word"), "{e}");
}

/// Every byte-slice operation checks its lengths first: a wrong one is an
/// `InvalidArgument` naming both sizes, and no byte of the entry changes.
#[test]
fn wrong_length_slices_are_refused_and_change_nothing() {
    let shm = Shm::new("lengths");
    let raw = RawMap::create(
        &shm.seg,
        "m",
        KeyLayout::bytes(layout(3, 1)),
        layout(4, 4),
        4,
    )
    .unwrap();
    assert_eq!(
        raw.insert(b"abc", &[1, 2, 3, 4]).unwrap(),
        MapInsert::Inserted
    );
    let set = RawSet::create(&shm.seg, "s", KeyLayout::of::<u32>(), 4).unwrap();
    assert_eq!(
        set.insert(&9u32.to_le_bytes()).unwrap(),
        SetInsert::Inserted
    );
    let (map_before, set_before) = (bytes(raw.region()), bytes(set.region()));

    let mut out4 = [0u8; 4];
    let mut out5 = [0u8; 5];
    let cases: Vec<(Error, &str)> = vec![
        (
            raw.insert(b"ab", &[0; 4]).unwrap_err(),
            "a key of 2 bytes given, the key size is 3",
        ),
        (
            raw.insert(b"abcd", &[0; 4]).unwrap_err(),
            "a key of 4 bytes given, the key size is 3",
        ),
        (
            raw.insert(b"abc", &[0; 5]).unwrap_err(),
            "a slice of 5 bytes given, the element size is 4",
        ),
        (
            raw.insert(b"abc", &[]).unwrap_err(),
            "a slice of 0 bytes given, the element size is 4",
        ),
        (
            raw.get(b"abc", &mut out5).unwrap_err(),
            "a slice of 5 bytes given, the element size is 4",
        ),
        (
            raw.get(b"", &mut out4).unwrap_err(),
            "a key of 0 bytes given, the key size is 3",
        ),
        (
            raw.contains(b"abcde").unwrap_err(),
            "a key of 5 bytes given, the key size is 3",
        ),
        (
            raw.remove(b"abc", &mut out5).unwrap_err(),
            "a slice of 5 bytes given, the element size is 4",
        ),
        (
            set.insert(&[9, 0, 0]).unwrap_err(),
            "a key of 3 bytes given, the key size is 4",
        ),
        (
            set.contains(&[9, 0, 0, 0, 0]).unwrap_err(),
            "a key of 5 bytes given, the key size is 4",
        ),
        (
            set.remove(&[]).unwrap_err(),
            "a key of 0 bytes given, the key size is 4",
        ),
    ];
    for (e, want) in cases {
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
        assert!(e.to_string().contains(want), "{e} should say {want:?}");
    }
    assert_eq!(bytes(raw.region()), map_before);
    assert_eq!(bytes(set.region()), set_before);
    assert_eq!(out4, [0; 4]);
    // The entries are still there and intact.
    assert!(raw.get(b"abc", &mut out4).unwrap());
    assert_eq!(out4, [1, 2, 3, 4]);
    assert!(set.contains(&9u32.to_le_bytes()).unwrap());

    // A 12-byte value is beyond what the format holds (docs/FORMAT.md §4.1:
    // value_size at most 8): refused at creation, naming both numbers.
    let e = RawMap::create(
        &shm.seg,
        "big",
        KeyLayout::bytes(layout(3, 1)),
        layout(12, 4),
        4,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("value size 12 exceeds the format's 8 bytes"),
        "{e}"
    );
    assert!(matches!(
        shm.seg.region("big"),
        Err(Error::StructureNotFound { .. })
    ));
}

/// For one primitive key type: the run-time key layout hashes like the
/// typed path, and a raw map filled through it is byte-identical to a typed
/// map filled with the same keys (same slots, same probing, same size).
fn same_hash_and_slots<K: ShmElement + PartialEq + std::fmt::Debug>(
    shm: &Shm,
    prim: Prim,
    keys: &[K],
) {
    let run_time =
        KeyLayout::new(layout(prim.size() as u64, prim.size() as u64), Some(prim)).unwrap();
    assert_eq!(run_time, KeyLayout::of::<K>());
    let key_bytes = |k: &K| zeroipc::element::bytes_of(k).to_vec();
    for k in keys {
        assert_eq!(run_time.hash(&key_bytes(k)), key_hash(k), "{prim:?} {k:?}");
    }
    // Capacity 7: a prime, so different hashes land in different chains.
    let tag = format!("{prim:?}");
    let typed = Map::<K, u32>::create(&shm.seg, &format!("typed-{tag}"), 7).unwrap();
    let raw = RawMap::create(
        &shm.seg,
        &format!("raw-{tag}"),
        run_time,
        ElemLayout::of::<u32>(),
        7,
    )
    .unwrap();
    for (i, k) in keys.iter().enumerate() {
        let t = typed.insert(*k, i as u32);
        let r = raw
            .insert(&key_bytes(k), &(i as u32).to_le_bytes())
            .unwrap();
        assert_eq!(t, r, "{prim:?} {k:?}");
    }
    assert_eq!(
        bytes(raw.region()),
        bytes(typed.region()),
        "{prim:?}: slots differ"
    );
    // And each side finds what the other stored (float keys by ==).
    let mirrored = Map::<K, u32>::open(&shm.seg, &format!("raw-{tag}")).unwrap();
    for k in keys {
        let mut out = [0u8; 4];
        let found = raw.get(&key_bytes(k), &mut out).unwrap();
        assert_eq!(
            found.then_some(u32::from_le_bytes(out)),
            typed.get(k),
            "{prim:?} {k:?}"
        );
        assert_eq!(mirrored.get(k), typed.get(k), "{prim:?} {k:?}");
    }
}

#[test]
fn run_time_key_layouts_hash_and_place_like_the_typed_path_for_every_primitive() {
    let shm = Shm::new("prims");
    same_hash_and_slots::<u8>(&shm, Prim::U8, &[0, 1, 200, 255]);
    same_hash_and_slots::<u16>(&shm, Prim::U16, &[0, 7, 40_000, u16::MAX]);
    same_hash_and_slots::<u32>(&shm, Prim::U32, &[0, 1, 0xdead_beef, u32::MAX]);
    same_hash_and_slots::<u64>(&shm, Prim::U64, &[0, 3, 1 << 40, u64::MAX]);
    same_hash_and_slots::<i8>(&shm, Prim::I8, &[0, -1, i8::MIN, i8::MAX]);
    same_hash_and_slots::<i16>(&shm, Prim::I16, &[0, -2, i16::MIN, 300]);
    same_hash_and_slots::<i32>(&shm, Prim::I32, &[0, -1, i32::MIN, 123_456]);
    same_hash_and_slots::<i64>(&shm, Prim::I64, &[0, -1, i64::MIN, 123_456_789_012]);
    same_hash_and_slots::<f32>(&shm, Prim::F32, &[0.0, -0.0, 1.5, f32::NAN, f32::MAX]);
    same_hash_and_slots::<f64>(&shm, Prim::F64, &[0.0, -0.0, 1.5, f64::NAN, -1e300]);
    // The typed and run-time paths agree with the C++ reference's vectors
    // (docs/FORMAT.md §5).
    let i32_key = KeyLayout::new(layout(4, 4), Some(Prim::I32)).unwrap();
    assert_eq!(i32_key.hash(&(-1i32).to_le_bytes()), 18446744071055115855);
    let f64_key = KeyLayout::new(layout(8, 8), Some(Prim::F64)).unwrap();
    assert_eq!(f64_key.hash(&1.5f64.to_le_bytes()), 4982507072649106663);
    assert!(f64_key.keys_equal(&0.0f64.to_le_bytes(), &(-0.0f64).to_le_bytes()));
    assert!(!f64_key.keys_equal(&f64::NAN.to_le_bytes(), &f64::NAN.to_le_bytes()));
    let three = KeyLayout::bytes(layout(12, 4));
    let k: Vec<u8> = [1i32, 2, 3].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(three.hash(&k), 2419198970025857296);
}

/// A set of run-time 12-byte elements shared with a typed `Set<[i32; 3]>`.
#[test]
fn raw_set_with_a_run_time_element_interoperates_with_the_typed_set() {
    let shm = Shm::new("set");
    let raw = RawSet::create(&shm.seg, "s", KeyLayout::bytes(layout(12, 4)), 5).unwrap();
    let typed = Set::<[i32; 3]>::open(&shm.seg, "s").unwrap();
    let b = |v: [i32; 3]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    assert_eq!(raw.insert(&b([1, 2, 3])).unwrap(), SetInsert::Inserted);
    assert_eq!(typed.insert([1, 2, 3]), SetInsert::Present);
    assert_eq!(typed.insert([4, 5, 6]), SetInsert::Inserted);
    assert_eq!(raw.insert(&b([4, 5, 6])).unwrap(), SetInsert::Present);
    assert!(raw.contains(&b([4, 5, 6])).unwrap());
    let mut members = raw.members();
    members.sort();
    let mut want = vec![b([1, 2, 3]), b([4, 5, 6])];
    want.sort();
    assert_eq!(members, want);
    assert_eq!((raw.len(), typed.len()), (2, 2));
    assert!(raw.remove(&b([1, 2, 3])).unwrap());
    assert!(!typed.contains(&[1, 2, 3]));
    assert_eq!(typed.to_vec(), [[4, 5, 6]]);
    assert_eq!(raw.elem(), KeyLayout::of::<[i32; 3]>());
    // Fill it: the sixth distinct element finds no slot.
    for i in 10..14 {
        assert_eq!(raw.insert(&b([i, i, i])).unwrap(), SetInsert::Inserted);
    }
    assert_eq!(raw.insert(&b([99, 99, 99])).unwrap(), SetInsert::Full);
    assert_eq!(raw.len(), 5);
}

/// A self-describing segment: opens with no layouts take the recorded ones
/// (a primitive key keeps its integer hash), and a structure recorded as
/// another kind is refused (a Stack no longer opens as a Set of its size).
#[test]
fn self_described_maps_and_sets_open_without_layouts_and_refuse_other_kinds() {
    use zeroipc::format::StructureKind;
    use zeroipc::{SegmentOptions, Stack};
    let name = format!("/zeroipc-raw-mapset-described-{}", std::process::id());
    let _ = Segment::unlink(&name);
    let seg = SegmentOptions::new()
        .size(1 << 18)
        .self_describing(true)
        .create(&name)
        .unwrap();
    let shm = Shm { name, seg };

    let typed = Map::<u32, u16>::create(&shm.seg, "m", 6).unwrap();
    assert_eq!(typed.insert(77, 7), MapInsert::Inserted);
    let raw = RawMap::open(&shm.seg, "m", None, None).unwrap();
    assert_eq!(
        (raw.key(), raw.value()),
        (KeyLayout::of::<u32>(), ElemLayout::of::<u16>())
    );
    let mut out = [0u8; 2];
    assert!(raw.get(&77u32.to_le_bytes(), &mut out).unwrap());
    assert_eq!(u16::from_le_bytes(out), 7);

    let bytes_set = RawSet::create(&shm.seg, "s", KeyLayout::bytes(layout(4, 4)), 4).unwrap();
    assert_eq!(bytes_set.insert(b"wxyz").unwrap(), SetInsert::Inserted);
    let reopened = RawSet::open(&shm.seg, "s", None).unwrap();
    assert_eq!(reopened.elem(), KeyLayout::bytes(layout(4, 4)));
    assert!(reopened.contains(b"wxyz").unwrap());

    // A Stack<u32> of 4 has a Set<u32> of 4's entry size and header words.
    let stack = Stack::<u32>::create(&shm.seg, "st", 4).unwrap();
    assert!(stack.push(1).is_ok());
    for e in [
        Set::<u32>::open(&shm.seg, "st").unwrap_err(),
        RawSet::open(&shm.seg, "st", None).unwrap_err(),
        RawMap::open(&shm.seg, "s", None, None).unwrap_err(),
    ] {
        assert!(matches!(e, Error::WrongKind { .. }), "{e}");
    }
    let e = RawSet::open(&shm.seg, "m", Some(KeyLayout::of::<u32>())).unwrap_err();
    assert!(
        matches!(
            e,
            Error::WrongKind {
                recorded: StructureKind::Map,
                expected: StructureKind::Set,
                ..
            }
        ),
        "{e}"
    );
    // A layout the record contradicts: refused naming both.
    let e = RawMap::open(
        &shm.seg,
        "m",
        Some(KeyLayout::of::<u32>()),
        Some(layout(2, 1)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("size 2 align 1"), "{e}");
}
