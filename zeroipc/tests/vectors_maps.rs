//! Golden vectors: maps.bin (C++ reference Map and Set).
//! Read test: open a copy and check everything the manifest lists (lookups,
//! header words, every raw slot including tombstones, hashes and home
//! slots). Write test: redo the manifest's operations from empty and compare
//! the bytes with the reference image.

mod common;

use common::*;
use serde_json::Value;
use std::fmt::Debug;
use zeroipc::data::map::MapInsert;
use zeroipc::data::set::SetInsert;
use zeroipc::hash::key_hash;
use zeroipc::layout::{Field, Kind, TypeLayout};
use zeroipc::{Map, Segment, Set, ShmElement};

const FILE: &str = "maps.bin";

/// `struct Key3 { char c[3]; }` from the manifest: 3 bytes, align 1.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Key3 {
    c: [u8; 3],
}

// SAFETY: repr(C) with one `[u8; 3]` field at 0: size 3, align 1, no
// padding, every bit pattern valid, no pointers; LAYOUT lists exactly that.
unsafe impl ShmElement for Key3 {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "Key3",
        size: 3,
        align: 1,
        kind: Kind::Struct {
            fields: &[Field {
                name: "c",
                offset: 0,
                layout: <[u8; 3]>::LAYOUT,
                doc: "",
            }],
        },
        doc: "",
    };
}

fn key3(v: &Value) -> Key3 {
    let s = v.as_str().unwrap().as_bytes();
    Key3 {
        c: s.try_into().unwrap(),
    }
}
fn int<T: TryFrom<i64>>(v: &Value) -> T
where
    T::Error: Debug,
{
    T::try_from(v.as_i64().unwrap()).unwrap()
}
fn i32v(v: &Value) -> i32 {
    int(v)
}
fn i64v(v: &Value) -> i64 {
    int(v)
}
fn i16v(v: &Value) -> i16 {
    int(v)
}
fn f64v(v: &Value) -> f64 {
    v.as_f64().unwrap()
}
fn u64v(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Checks one map of maps.bin against its manifest record.
fn check_map<K, V>(seg: &Segment, name: &str, key: fn(&Value) -> K, val: fn(&Value) -> V)
where
    K: ShmElement + Debug + PartialEq,
    V: ShmElement + Debug + PartialEq,
{
    let fm = file_manifest(FILE);
    let st = structure(&fm, name);
    let exp = &st["expected"];
    let m = Map::<K, V>::open(seg, name).unwrap();
    let cap = u64v(&exp["capacity"]);
    assert_eq!(m.capacity() as u64, cap, "{name} capacity");
    assert_eq!(m.len() as u64, u64v(&exp["size"]), "{name} size");

    // Header words.
    let r = seg.region(name).unwrap();
    assert_eq!(r.len() as u64, u64v(&st["layout"]["total_size"]));
    assert_eq!(r.read_u32(0) as u64, u64v(&exp["size"]));
    assert_eq!(r.read_u32(4) as u64, cap);
    assert_eq!(r.read_u32(8) as u64, u64v(&exp["key_size"]));
    assert_eq!(r.read_u32(12) as u64, u64v(&exp["value_size"]));

    // Lookups, hashes, home slots.
    let mut want = Vec::new();
    for p in exp["present"].as_array().unwrap() {
        let k = key(&p["key"]);
        let v = val(&p["value"]);
        assert_eq!(m.get(&k), Some(v), "{name} get {k:?}");
        assert!(m.contains(&k));
        let h = key_hash(&k);
        assert_eq!(h, u64v(&p["hash"]), "{name} hash of {k:?}");
        assert_eq!(h % cap, u64v(&p["home_slot"]), "{name} home slot of {k:?}");
        want.push((p["slot"].as_u64().unwrap(), k, v));
    }
    for a in exp["absent_keys"].as_array().unwrap() {
        let k = key(a);
        assert_eq!(m.get(&k), None, "{name} absent {k:?}");
        assert!(!m.contains(&k));
    }
    // The snapshot iterator walks slots in order.
    want.sort_by_key(|w| w.0);
    let got = m.entries();
    assert_eq!(got.len(), want.len());
    for ((_, wk, wv), (gk, gv)) in want.iter().zip(&got) {
        assert_eq!((wk, wv), (gk, gv));
    }

    // Raw slots, tombstones included; unlisted slots are all-zero EMPTY.
    let slot = &st["layout"]["slot"];
    let stride = u64v(&slot["stride"]) as usize;
    let ko = u64v(&slot["offsets"]["key"]) as usize;
    let vo = u64v(&slot["offsets"]["value"]) as usize;
    let listed = exp["nonempty_slots"].as_array().unwrap();
    for i in 0..cap as usize {
        let off = 16 + i * stride;
        match listed
            .iter()
            .find(|s| s["index"].as_u64() == Some(i as u64))
        {
            Some(s) => {
                assert_eq!(
                    r.read_u32(off) as u64,
                    u64v(&s["state"]),
                    "{name} slot {i} state"
                );
                assert_eq!(r.read::<K>(off + ko), key(&s["key"]), "{name} slot {i} key");
                assert_eq!(
                    r.read::<V>(off + vo),
                    val(&s["value"]),
                    "{name} slot {i} value"
                );
            }
            None => {
                let mut b = vec![0u8; stride];
                r.read_bytes(off, &mut b);
                assert!(
                    b.iter().all(|&x| x == 0),
                    "{name} slot {i} should be EMPTY: {b:?}"
                );
            }
        }
    }
}

/// Checks one set of maps.bin against its manifest record.
fn check_set<T>(seg: &Segment, name: &str, elem: fn(&Value) -> T)
where
    T: ShmElement + Debug + PartialEq,
{
    let fm = file_manifest(FILE);
    let st = structure(&fm, name);
    let exp = &st["expected"];
    let s = Set::<T>::open(seg, name).unwrap();
    let cap = u64v(&exp["capacity"]);
    assert_eq!(s.capacity() as u64, cap);
    assert_eq!(s.len() as u64, u64v(&exp["size"]));
    let r = seg.region(name).unwrap();
    assert_eq!(r.len() as u64, u64v(&st["layout"]["total_size"]));
    assert_eq!(r.read_u32(0) as u64, u64v(&exp["size"]));
    assert_eq!(r.read_u32(4) as u64, cap);
    assert_eq!(r.read_u32(8) as u64, u64v(&exp["elem_size"]));
    assert_eq!(r.read_u32(12), 0, "reserved");

    let mut want = Vec::new();
    for m in exp["members"].as_array().unwrap() {
        let v = elem(&m["value"]);
        assert!(s.contains(&v), "{name} member {v:?}");
        let h = key_hash(&v);
        assert_eq!(h, u64v(&m["hash"]), "{name} hash of {v:?}");
        assert_eq!(h % cap, u64v(&m["home_slot"]));
        want.push((u64v(&m["slot"]), v));
    }
    for n in exp["non_members"].as_array().unwrap() {
        assert!(!s.contains(&elem(n)), "{name} non-member {n}");
    }
    want.sort_by_key(|w| w.0);
    assert_eq!(s.to_vec(), want.iter().map(|w| w.1).collect::<Vec<_>>());

    let slot = &st["layout"]["slot"];
    let stride = u64v(&slot["stride"]) as usize;
    let vo = u64v(&slot["offsets"]["value"]) as usize;
    let listed = exp["nonempty_slots"].as_array().unwrap();
    for i in 0..cap as usize {
        let off = 16 + i * stride;
        match listed
            .iter()
            .find(|x| x["index"].as_u64() == Some(i as u64))
        {
            Some(x) => {
                assert_eq!(
                    r.read_u32(off) as u64,
                    u64v(&x["state"]),
                    "{name} slot {i} state"
                );
                assert_eq!(
                    r.read::<T>(off + vo),
                    elem(&x["value"]),
                    "{name} slot {i} value"
                );
            }
            None => {
                let mut b = vec![0u8; stride];
                r.read_bytes(off, &mut b);
                assert!(b.iter().all(|&x| x == 0), "{name} slot {i} should be EMPTY");
            }
        }
    }
}

#[test]
fn maps_bin_reads_as_the_manifest_says() {
    let fm = file_manifest(FILE);
    let t = copy_vector(FILE);
    let seg = t.open();
    assert_table_matches(&seg, &fm);

    check_map::<i32, i32>(&seg, "squares", i32v, i32v);
    check_map::<i64, f64>(&seg, "m64", i64v, f64v);
    check_map::<Key3, i16>(&seg, "bykey", key3, i16v);
    check_map::<f64, i32>(&seg, "byfloat", f64v, i32v);
    check_set::<i32>(&seg, "ids", i32v);
    check_set::<f64>(&seg, "reals", f64v);

    // Wrong type parameters are refused with a message naming the field.
    let e = Map::<i32, i64>::open(&seg, "squares").unwrap_err();
    assert!(e.to_string().contains("value_size is 4"), "{e}");
    let e = Map::<i64, i32>::open(&seg, "squares").unwrap_err();
    assert!(e.to_string().contains("key_size is 4"), "{e}");
    assert!(Set::<i64>::open(&seg, "ids").is_err());
    // A Map of the same sizes as a Set header is refused (value_size 0 vs 4).
    assert!(Map::<i32, i32>::open(&seg, "ids").is_err());
}

/// Operations on a copy of the C++ image interoperate: we see its
/// tombstones and chains, and what we add lands where C++ would put it.
#[test]
fn maps_bin_accepts_further_operations() {
    let t = copy_vector(FILE);
    let seg = t.open();
    let m = Map::<i32, i32>::open(&seg, "squares").unwrap();
    // 19 hashes to home slot 3 (19 * 2654435761 mod 16): reuses the tombstone.
    assert_eq!(key_hash(&19i32) % 16, 3);
    assert_eq!(m.insert(19, 361), MapInsert::Inserted);
    let r = seg.region("squares").unwrap();
    assert_eq!(r.read_u32(16 + 3 * 12), 1);
    assert_eq!(r.read::<i32>(16 + 3 * 12 + 4), 19);
    assert_eq!(m.insert(42, 0), MapInsert::Updated);
    assert_eq!(m.get(&42), Some(0));
    assert_eq!(m.remove(&42), Some(0));
    assert_eq!(m.get(&42), None);
    assert_eq!(m.len(), 10);
    let s = Set::<i32>::open(&seg, "ids").unwrap();
    assert_eq!(s.insert(5), SetInsert::Present);
    assert!(s.remove(&7));
    assert!(!s.remove(&7));
    assert_eq!(s.len(), 2);
}

fn arg(op: &Value, i: usize) -> &Value {
    &op["args"][i]
}

/// Replays a map's manifest operations on a fresh map, checking returns.
fn replay_map<K: ShmElement + Debug, V: ShmElement>(
    seg: &Segment,
    name: &str,
    key: fn(&Value) -> K,
    val: fn(&Value) -> V,
) {
    let fm = file_manifest(FILE);
    let ops = structure(&fm, name)["operations"]
        .as_array()
        .unwrap()
        .clone();
    let mut map = None;
    for op in &ops {
        match op["op"].as_str().unwrap() {
            "create" => {
                let cap = u64v(&op["params"]["capacity"]) as usize;
                map = Some(Map::<K, V>::create(seg, name, cap).unwrap());
            }
            "insert" => {
                let r = map
                    .as_ref()
                    .unwrap()
                    .insert(key(arg(op, 0)), val(arg(op, 1)));
                assert_eq!(
                    r.is_stored(),
                    op["returns"].as_bool().unwrap(),
                    "{name} {op}"
                );
            }
            "erase" => {
                let r = map.as_ref().unwrap().remove(&key(arg(op, 0)));
                assert_eq!(r.is_some(), op["returns"].as_bool().unwrap(), "{name} {op}");
            }
            other => panic!("unexpected op {other}"),
        }
    }
}

fn replay_set<T: ShmElement + Debug>(seg: &Segment, name: &str, elem: fn(&Value) -> T) {
    let fm = file_manifest(FILE);
    let ops = structure(&fm, name)["operations"]
        .as_array()
        .unwrap()
        .clone();
    let mut set = None;
    for op in &ops {
        match op["op"].as_str().unwrap() {
            "create" => {
                let cap = u64v(&op["params"]["capacity"]) as usize;
                set = Some(Set::<T>::create(seg, name, cap).unwrap());
            }
            "insert" => {
                let r = set.as_ref().unwrap().insert(elem(arg(op, 0)));
                assert_eq!(
                    r.is_inserted(),
                    op["returns"].as_bool().unwrap(),
                    "{name} {op}"
                );
            }
            "erase" => {
                let r = set.as_ref().unwrap().remove(&elem(arg(op, 0)));
                assert_eq!(r, op["returns"].as_bool().unwrap(), "{name} {op}");
            }
            other => panic!("unexpected op {other}"),
        }
    }
}

#[test]
fn maps_bin_is_reproduced_byte_for_byte() {
    let (t, seg) = fresh_like(FILE);
    replay_map::<i32, i32>(&seg, "squares", i32v, i32v);
    replay_map::<i64, f64>(&seg, "m64", i64v, f64v);
    replay_map::<Key3, i16>(&seg, "bykey", key3, i16v);
    replay_map::<f64, i32>(&seg, "byfloat", f64v, i32v);
    replay_set::<i32>(&seg, "ids", i32v);
    replay_set::<f64>(&seg, "reals", f64v);
    drop(seg);
    assert_same_bytes(&t, FILE);
}

#[test]
fn map_and_set_refuse_bad_parameters() {
    let (_t, seg) = temp_segment("mapbad", 1 << 16);
    assert!(Map::<i32, i32>::create(&seg, "zero", 0).is_err());
    assert!(Set::<i32>::create(&seg, "zero", 0).is_err());
    assert!(Map::<i32, i32>::create(&seg, "huge", 1 << 40).is_err());
    let m = Map::<u8, u8>::create(&seg, "tiny", 2).unwrap();
    assert_eq!(m.insert(1, 1), MapInsert::Inserted);
    assert_eq!(m.insert(2, 2), MapInsert::Inserted);
    assert_eq!(m.insert(3, 3), MapInsert::Full);
    assert_eq!(m.insert(2, 20), MapInsert::Updated);
    assert_eq!(m.remove(&1), Some(1));
    assert_eq!(m.insert(3, 3), MapInsert::Inserted); // reuses the tombstone
    assert_eq!(m.len(), 2);
    // A corrupted capacity is refused on open rather than trusted.
    m.region().write::<u32>(4, 3);
    let e = Map::<u8, u8>::open(&seg, "tiny").unwrap_err();
    assert!(e.to_string().contains("entry size"), "{e}");
    m.region().write::<u32>(4, 0);
    assert!(Map::<u8, u8>::open(&seg, "tiny").is_err());
    // A Python-style Set header (value_size 1 at +12) is refused.
    let s = Set::<i32>::create(&seg, "pyset", 4).unwrap();
    s.region().write::<u32>(12, 1);
    let e = Set::<i32>::open(&seg, "pyset").unwrap_err();
    assert!(e.to_string().contains("Python"), "{e}");
}

#[test]
fn map_handles_floats_like_the_reference() {
    let (_t, seg) = temp_segment("mapf", 1 << 16);
    let m = Map::<f64, u32>::create(&seg, "f", 16).unwrap();
    assert_eq!(m.insert(f64::NAN, 1), MapInsert::Inserted);
    assert_eq!(m.get(&f64::NAN), None); // NaN never equals itself
    assert_eq!(m.insert(1.5, 2), MapInsert::Inserted);
    assert_eq!(m.get(&1.5), Some(2));
    // Removing a key returns exactly the removed value; a wrong-typed value
    // size is impossible by construction (compile-time check on V).
    assert_eq!(m.remove(&1.5), Some(2));
    assert_eq!(m.len(), 1);
}
