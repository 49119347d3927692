//! Golden vectors: pools_rings.bin (C++ reference Pool and Ring).
//! Read test: open a copy and check everything the manifest lists (header
//! words, free list, every node's raw data and `next` including stale
//! values, ring positions and raw buffer including consumed bytes). Write
//! test: redo the manifest's operations from empty and compare bytes.

mod common;

use common::*;
use serde_json::Value;
use std::fmt::Debug;
use zeroipc::{Pool, PoolHandle, Ring, Segment, ShmElement};

const FILE: &str = "pools_rings.bin";

fn u64v(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// "node 3" -> 3
fn node(v: &Value) -> u32 {
    v.as_str()
        .unwrap()
        .strip_prefix("node ")
        .unwrap()
        .parse()
        .unwrap()
}

fn check_pool<T>(seg: &Segment, name: &str, conv: fn(i64) -> T)
where
    T: ShmElement + Debug + PartialEq,
{
    let fm = file_manifest(FILE);
    let st = structure(&fm, name);
    let exp = &st["expected"];
    let p = Pool::<T>::open(seg, name).unwrap();
    let cap = u64v(&exp["capacity"]);
    assert_eq!(p.capacity() as u64, cap);
    assert_eq!(p.allocated() as u64, u64v(&exp["allocated"]));
    assert_eq!(p.available() as u64, u64v(&exp["available"]));

    let r = seg.region(name).unwrap();
    assert_eq!(r.len() as u64, u64v(&st["layout"]["total_size"]));
    let head = r.read_u64(0);
    assert_eq!(head, u64v(&exp["free_head_raw"]));
    assert_eq!(head as u32 as u64, u64v(&exp["free_head_index"]));
    assert_eq!(head >> 32, u64v(&exp["free_head_generation"]));
    assert_eq!(r.read_u32(8) as u64, u64v(&exp["allocated"]));
    assert_eq!(r.read_u32(12), 0);
    assert_eq!(r.read_u32(16) as u64, cap);
    assert_eq!(r.read_u32(20) as u64, u64v(&exp["elem_size"]));

    let stride = u64v(&st["layout"]["node"]["stride"]) as usize;
    let next_off = u64v(&st["layout"]["node"]["offsets"]["next"]) as usize;
    let data: Vec<T> = (0..cap as usize)
        .map(|i| r.read::<T>(24 + i * stride))
        .collect();
    let want: Vec<T> = exp["node_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| conv(v.as_i64().unwrap()))
        .collect();
    assert_eq!(data, want, "{name} node data (stale values included)");
    let next: Vec<u64> = (0..cap as usize)
        .map(|i| r.read_u32(24 + i * stride + next_off) as u64)
        .collect();
    let want: Vec<u64> = exp["node_next"]
        .as_array()
        .unwrap()
        .iter()
        .map(u64v)
        .collect();
    assert_eq!(next, want, "{name} node next words");

    // The free list, walked from the head.
    let mut order = Vec::new();
    let mut i = head as u32;
    while i != u32::MAX {
        order.push(i as u64);
        i = next[i as usize] as u32;
        assert!(order.len() <= cap as usize, "cycle");
    }
    let want: Vec<u64> = exp["free_list_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(u64v)
        .collect();
    assert_eq!(order, want);

    for a in exp["allocated_nodes"].as_array().unwrap() {
        let h = PoolHandle::from_index(u64v(&a["index"]) as u32);
        assert_eq!(p.get(h).unwrap(), conv(a["value"].as_i64().unwrap()));
    }
    assert!(p.get(PoolHandle::from_index(cap as u32)).is_err());
}

#[test]
fn pools_rings_bin_reads_as_the_manifest_says() {
    let fm = file_manifest(FILE);
    let t = copy_vector(FILE);
    let seg = t.open();
    assert_table_matches(&seg, &fm);

    check_pool::<i64>(&seg, "p", |v| v);
    check_pool::<u8>(&seg, "pb", |v| v as u8);

    let st = structure(&fm, "r");
    let exp = &st["expected"];
    let ring = Ring::<i32>::open(&seg, "r").unwrap();
    assert_eq!(ring.capacity_bytes() as u64, u64v(&exp["capacity_bytes"]));
    assert_eq!(ring.capacity() as u64, u64v(&exp["capacity_elements"]));
    assert_eq!(ring.len() as u64, u64v(&exp["available"]));
    assert_eq!(ring.free_space() as u64, u64v(&exp["free_space"]));
    let r = seg.region("r").unwrap();
    assert_eq!(r.len() as u64, u64v(&st["layout"]["total_size"]));
    assert_eq!(r.read_u64(0), u64v(&exp["write_pos"]));
    assert_eq!(r.read_u64(8), u64v(&exp["read_pos"]));
    assert_eq!(r.read_u32(16) as u64, u64v(&exp["capacity_bytes"]));
    assert_eq!(r.read_u32(20) as u64, u64v(&exp["elem_size"]));
    let buf: Vec<i64> = (0..16).map(|i| r.read::<i32>(24 + 4 * i) as i64).collect();
    let want: Vec<i64> = exp["buffer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(buf, want, "raw ring buffer, consumed bytes included");

    // Wrong element types are refused.
    assert!(Ring::<i64>::open(&seg, "r").is_err());
    assert!(Pool::<i32>::open(&seg, "p").is_err());
}

/// Consuming and extending the C++ image works (we are its consumer and
/// producer now).
#[test]
fn pools_rings_bin_accepts_further_operations() {
    let fm = file_manifest(FILE);
    let t = copy_vector(FILE);
    let seg = t.open();
    let ring = Ring::<i32>::open(&seg, "r").unwrap();
    let want: Vec<i32> = structure(&fm, "r")["expected"]["contents_read_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    assert_eq!(ring.read(), Some(want[0]));
    let mut rest = [0i32; 32];
    let n = ring.read_bulk(&mut rest);
    assert_eq!(&rest[..n], &want[1..]);
    assert!(ring.is_empty());
    assert_eq!(ring.read(), None);
    // 16 slots, write position 80 (slot 4): a bulk write wraps at the end.
    let vals: Vec<i32> = (100..116).collect();
    assert_eq!(ring.write_bulk(&vals), 16);
    assert!(ring.is_full());
    assert_eq!(ring.write(1), Err(1));
    let mut out = [0i32; 16];
    assert_eq!(ring.read_bulk(&mut out), 16);
    assert_eq!(out.to_vec(), vals);

    let p = Pool::<i64>::open(&seg, "p").unwrap();
    // Free list 1, 3, 4, ... : we pop node 1 (generation 4 -> 5).
    let h = p.allocate().unwrap().unwrap();
    assert_eq!(h.index(), 1);
    assert_eq!(seg.region("p").unwrap().read_u64(0), (5 << 32) | 3);
    p.deallocate(h).unwrap();
    assert!(p.deallocate(h).is_err(), "freeing the free-list head twice");
    p.deallocate(PoolHandle::from_index(0)).unwrap();
    p.deallocate(PoolHandle::from_index(2)).unwrap();
    assert_eq!(p.allocated(), 0);
    assert!(
        p.deallocate(PoolHandle::from_index(5)).is_err(),
        "nothing allocated"
    );
    assert!(
        p.deallocate(PoolHandle::from_index(8)).is_err(),
        "out of range"
    );
    let mut all = Vec::new();
    while let Some(h) = p.allocate().unwrap() {
        all.push(h.index());
    }
    all.sort();
    assert_eq!(all, (0..8).collect::<Vec<_>>());
    assert!(p.is_full());
}

#[test]
fn pools_rings_bin_is_reproduced_byte_for_byte() {
    let fm = file_manifest(FILE);
    let (t, seg) = fresh_like(FILE);

    for (name, is_u8) in [("p", false), ("pb", true)] {
        let ops = structure(&fm, name)["operations"]
            .as_array()
            .unwrap()
            .clone();
        // One code path for both element types: values fit both.
        let mut p64 = None;
        let mut p8 = None;
        for op in &ops {
            match op["op"].as_str().unwrap() {
                "create" => {
                    let cap = u64v(&op["params"]["capacity"]) as usize;
                    if is_u8 {
                        p8 = Some(Pool::<u8>::create(&seg, name, cap).unwrap());
                    } else {
                        p64 = Some(Pool::<i64>::create(&seg, name, cap).unwrap());
                    }
                }
                "allocate" => {
                    let h = match (&p64, &p8) {
                        (Some(p), _) => p.allocate().unwrap().unwrap(),
                        (_, Some(p)) => p.allocate().unwrap().unwrap(),
                        _ => unreachable!(),
                    };
                    assert_eq!(h.index(), node(&op["returns"]), "{name} {op}");
                }
                "write" => {
                    let h = PoolHandle::from_index(node(&op["args"][0]));
                    let v = op["args"][1].as_i64().unwrap();
                    match (&p64, &p8) {
                        (Some(p), _) => p.set(h, v).unwrap(),
                        (_, Some(p)) => p.set(h, v as u8).unwrap(),
                        _ => unreachable!(),
                    }
                }
                "deallocate" => {
                    let h = PoolHandle::from_index(node(&op["args"][0]));
                    match (&p64, &p8) {
                        (Some(p), _) => p.deallocate(h).unwrap(),
                        (_, Some(p)) => p.deallocate(h).unwrap(),
                        _ => unreachable!(),
                    }
                }
                other => panic!("unexpected op {other}"),
            }
        }
    }

    let mut ring = None;
    for op in structure(&fm, "r")["operations"].as_array().unwrap() {
        match op["op"].as_str().unwrap() {
            "create" => {
                // The C++ API takes bytes, ours elements.
                let bytes = u64v(&op["params"]["capacity_bytes"]) as usize;
                ring = Some(Ring::<i32>::create(&seg, "r", bytes / 4).unwrap());
            }
            "write" => {
                let v = op["args"][0].as_i64().unwrap() as i32;
                let ok = ring.as_ref().unwrap().write(v).is_ok();
                assert_eq!(ok, op["returns"].as_bool().unwrap());
            }
            "read" => {
                let got = ring.as_ref().unwrap().read();
                assert_eq!(got, Some(op["returns"].as_i64().unwrap() as i32));
            }
            other => panic!("unexpected op {other}"),
        }
    }
    drop((ring, seg));
    assert_same_bytes(&t, FILE);
}

#[test]
fn pool_and_ring_refuse_bad_parameters() {
    let (_t, seg) = temp_segment("poolbad", 1 << 16);
    assert!(Pool::<u32>::create(&seg, "zero", 0).is_err());
    assert!(Ring::<u32>::create(&seg, "zero", 0).is_err());
    assert!(Ring::<u64>::create(&seg, "huge", 1 << 30).is_err()); // > u32 bytes
    let p = Pool::<u32>::create(&seg, "p", 2).unwrap();
    // A corrupt head index is reported, not followed.
    p.region()
        .atomic_u64(0)
        .store(7, std::sync::atomic::Ordering::Relaxed);
    let e = p.allocate().unwrap_err();
    assert!(e.to_string().contains("free_head index 7"), "{e}");
    // A corrupt `next` of the head node is reported too.
    p.region()
        .atomic_u64(0)
        .store(0, std::sync::atomic::Ordering::Relaxed);
    p.region().write::<u32>(24 + 4, 99);
    let e = p.allocate().unwrap_err();
    assert!(e.to_string().contains("links to 99"), "{e}");
    // Header disagreeing with the entry size.
    p.region().write::<u32>(16, 3);
    assert!(Pool::<u32>::open(&seg, "p").is_err());
}
