//! Golden vectors: codata.bin (C++ reference). Read test: open a copy and
//! compare every structure with the manifest. Write test: redo the same
//! operations from empty and compare bytes (the two Future completion times
//! are masked as the manifest says).

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use zeroipc::codata::stream::StreamVoid;
use zeroipc::{Channel, Error, Future, FutureState, Lazy, LazyOp, LazyState, Segment, Stream};

const FILE: &str = "codata.bin";

fn u64_at(bytes: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap())
}

fn u32_at(bytes: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap())
}

fn entry_offset(fm: &Value, name: &str) -> usize {
    fm["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("entry {name}"))["offset"]
        .as_u64()
        .unwrap() as usize
}

fn i64s(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn check_future_common<T: zeroipc::ShmElement>(seg: &Segment, fm: &Value, name: &str) -> Future<T> {
    let s = structure(fm, name);
    let exp = &s["expected"];
    let f = Future::<T>::open(seg, name).unwrap();
    assert_eq!(
        f.state().raw() as u64,
        exp["state"].as_u64().unwrap(),
        "{name} state"
    );
    assert_eq!(
        f.waiters() as u64,
        exp["waiters"].as_u64().unwrap(),
        "{name} waiters"
    );
    assert_eq!(
        f.region().len() as u64,
        s["layout"]["total_size"].as_u64().unwrap()
    );
    f
}

#[test]
fn codata_bin_reads_as_the_manifest_says() {
    let fm = file_manifest(FILE);
    let t = copy_vector(FILE);
    let seg = t.open();
    let raw = t.bytes();

    // Table.
    assert_table_matches(&seg, &fm);
    assert_eq!(
        seg.header().next_offset,
        fm["header"]["next_offset"].as_u64().unwrap()
    );

    // Futures.
    let f = check_future_common::<i32>(&seg, &fm, "f_ready");
    let exp = &structure(&fm, "f_ready")["expected"];
    assert_eq!(f.state(), FutureState::Ready);
    assert_eq!(f.get().unwrap() as i64, exp["value"].as_i64().unwrap());
    assert_eq!(f.try_get().unwrap(), Some(42));
    assert_eq!(f.error_message(), None);
    assert_ne!(f.completion_time(), 0, "completion_time is nonzero");
    assert!(!f.set_value(1), "a READY future is not set again");

    let f = check_future_common::<f64>(&seg, &fm, "f_err");
    let exp = &structure(&fm, "f_err")["expected"];
    assert_eq!(f.state(), FutureState::Error);
    let msg = exp["error"].as_str().unwrap();
    assert_eq!(f.error_message().as_deref(), Some(msg));
    match f.get_timeout(Duration::from_secs(1)) {
        Err(Error::Failed { message, .. }) => assert_eq!(message, msg),
        r => panic!("f_err: {r:?}"),
    }
    let off = entry_offset(&fm, "f_err");
    assert_eq!(
        f64::from_le_bytes(raw[off + 16..off + 24].try_into().unwrap()),
        exp["value"].as_f64().unwrap()
    );
    assert_ne!(f.completion_time(), 0);

    let f = check_future_common::<i64>(&seg, &fm, "f_pending");
    let exp = &structure(&fm, "f_pending")["expected"];
    assert_eq!(f.state(), FutureState::Pending);
    assert_eq!(f.try_get().unwrap(), None);
    assert!(matches!(
        f.get_timeout(Duration::from_millis(5)),
        Err(Error::Timeout { .. })
    ));
    assert_eq!(
        f.completion_time(),
        exp["completion_time"].as_u64().unwrap()
    );
    assert_eq!(
        f.waiters(),
        0,
        "the timed-out wait left waiters as it found it"
    );

    // Lazies: check the raw fields at the manifest's offsets too.
    for name in ["lz_const", "lz_a", "lz_b", "lz_add"] {
        let s = structure(&fm, name);
        let exp = &s["expected"];
        let offs = &s["layout"]["offsets"];
        let base = entry_offset(&fm, name);
        let o = |f: &str| base + offs[f].as_u64().unwrap() as usize;
        assert_eq!(
            u32_at(&raw, o("state")) as u64,
            exp["state"].as_u64().unwrap()
        );
        assert_eq!(
            u32_at(&raw, o("op_type")) as u64,
            exp["op_type"].as_u64().unwrap()
        );
        assert_eq!(
            u32_at(&raw, o("compute_count")) as u64,
            exp["compute_count"].as_u64().unwrap()
        );
    }
    let c = Lazy::<i32>::open(&seg, "lz_const").unwrap();
    let exp = &structure(&fm, "lz_const")["expected"];
    assert_eq!(c.state(), LazyState::Computed);
    assert_eq!(
        c.op(),
        LazyOp::Constant(exp["op_data"].as_i64().unwrap() as i32)
    );
    assert_eq!(c.peek(), Some(exp["cached_value"].as_i64().unwrap() as i32));
    assert_eq!(c.compute_count(), 0);
    assert_eq!(c.error_message(), None);
    for name in ["lz_a", "lz_b"] {
        let exp = &structure(&fm, name)["expected"];
        let l = Lazy::<f64>::open(&seg, name).unwrap();
        let v = exp["cached_value"].as_f64().unwrap();
        assert_eq!(l.op(), LazyOp::Constant(exp["op_data"].as_f64().unwrap()));
        assert_eq!(l.force().unwrap(), v);
        assert_eq!(l.compute_count(), 0, "forcing a constant computes nothing");
    }
    let add = Lazy::<f64>::open(&seg, "lz_add").unwrap();
    let exp = &structure(&fm, "lz_add")["expected"];
    assert_eq!(
        add.op(),
        LazyOp::Add(
            exp["op_data"].as_f64().unwrap(),
            exp["op_b"].as_f64().unwrap()
        )
    );
    assert_eq!(add.state(), LazyState::Computed);
    assert_eq!(add.force().unwrap(), exp["cached_value"].as_f64().unwrap());
    assert_eq!(
        add.compute_count() as u64,
        exp["compute_count"].as_u64().unwrap()
    );
    // Recomputing from the stored record gives the same value.
    assert!(add.reset());
    assert_eq!(add.force().unwrap(), 3.5);
    assert_eq!(add.compute_count(), 2);
    assert!(
        Lazy::<i32>::open(&seg, "lz_add").is_err(),
        "size 304 is not a Lazy<i32>"
    );

    // Stream `st`: header and ring, then the pending elements in order.
    let s = structure(&fm, "st");
    let exp = &s["expected"];
    let st = Stream::<i32>::open(&seg, "st").unwrap();
    assert_eq!(st.sequence(), exp["sequence"].as_u64().unwrap());
    assert_eq!(
        st.subscriber_count() as u64,
        exp["subscribers"].as_u64().unwrap()
    );
    assert_eq!(st.is_closed(), exp["closed"].as_u64().unwrap() != 0);
    assert_eq!(
        st.capacity() as u64,
        exp["buffer_capacity"].as_u64().unwrap()
    );
    assert_eq!(st.transform_name(), exp["transform_name"].as_str().unwrap());
    let ring = &exp["ring"];
    let rb = entry_offset(&fm, "st_buffer");
    assert_eq!(u64_at(&raw, rb), ring["write_pos"].as_u64().unwrap());
    assert_eq!(u64_at(&raw, rb + 8), ring["read_pos"].as_u64().unwrap());
    assert_eq!(
        u32_at(&raw, rb + 16) as u64,
        ring["capacity_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        u32_at(&raw, rb + 20) as u64,
        ring["elem_size"].as_u64().unwrap()
    );
    let buf: Vec<i64> = (0..8)
        .map(|i| u32_at(&raw, rb + 24 + 4 * i) as i32 as i64)
        .collect();
    assert_eq!(buf, i64s(&ring["buffer"]));
    let pending = i64s(&exp["pending_read_order"]);
    assert_eq!(st.len(), pending.len());
    // A subscriber attached now sees nothing old; one more emit is seen.
    let mut sub = st.subscribe();
    assert_eq!(sub.try_next().unwrap(), None);
    let mut got = Vec::new();
    while let Some(x) = st.try_recv().unwrap() {
        got.push(x as i64);
    }
    assert_eq!(got, pending);
    st.emit(6).unwrap();
    assert_eq!(sub.try_next().unwrap(), Some(6));
    assert_eq!(st.sequence(), 6);
    st.close();
    assert_eq!(st.try_recv().unwrap(), Some(6));
    assert!(matches!(st.try_recv(), Err(Error::Closed { .. })));
    drop(sub);

    // Buffered channel `ch`.
    let s = structure(&fm, "ch");
    let exp = &s["expected"];
    let hb = entry_offset(&fm, "ch_header");
    assert_eq!(u64_at(&raw, hb + 16), exp["send_seq"].as_u64().unwrap());
    assert_eq!(u64_at(&raw, hb + 24), exp["recv_seq"].as_u64().unwrap());
    let q = &exp["queue"];
    let qb = entry_offset(&fm, "ch_buffer");
    assert_eq!(u32_at(&raw, qb) as u64, q["head"].as_u64().unwrap());
    assert_eq!(u32_at(&raw, qb + 4) as u64, q["tail"].as_u64().unwrap());
    let seqs: Vec<i64> = (0..4)
        .map(|i| u32_at(&raw, qb + 32 + 4 * i) as i64)
        .collect();
    assert_eq!(seqs, i64s(&q["seq"]));
    let ch = Channel::<i32>::open(&seg, "ch").unwrap();
    assert!(ch.is_buffered());
    assert_eq!(ch.capacity() as u64, exp["capacity"].as_u64().unwrap());
    assert_eq!(ch.sender_count() as u64, exp["senders"].as_u64().unwrap());
    assert_eq!(
        ch.receiver_count() as u64,
        exp["receivers"].as_u64().unwrap()
    );
    assert_eq!(ch.is_closed(), exp["closed"].as_u64().unwrap() != 0);
    let order = i64s(&exp["contents_recv_order"]);
    assert_eq!(ch.len(), order.len());
    ch.close();
    let mut got = Vec::new();
    loop {
        match ch.recv_timeout(Duration::from_secs(5)) {
            Ok(v) => got.push(v as i64),
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("ch: {e}"),
        }
    }
    assert_eq!(got, order);

    // Unbuffered channel `chu`: empty slot.
    let s = structure(&fm, "chu");
    let exp = &s["expected"];
    let chu = Channel::<i32>::open(&seg, "chu").unwrap();
    assert!(!chu.is_buffered());
    assert_eq!(chu.capacity(), 0);
    assert!(chu.is_empty());
    assert_eq!(chu.is_closed(), exp["closed"].as_u64().unwrap() != 0);
    let sb = entry_offset(&fm, "chu_slot");
    let slot = &exp["slot"];
    assert_eq!(raw[sb] as u64, slot["ready"].as_u64().unwrap());
    assert_eq!(raw[sb + 1] as u64, slot["consumed"].as_u64().unwrap());
    assert_eq!(u32_at(&raw, sb + 4) as u64, slot["data"].as_u64().unwrap());
    assert_eq!(chu.try_recv().unwrap(), None);
    // A rendezvous through the reference's slot works.
    let rx = chu.clone();
    let h = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(10)));
    chu.send_timeout(-5, Duration::from_secs(10)).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), -5);

    // Stream<void> `sv`.
    let exp = &structure(&fm, "sv")["expected"];
    let sv = StreamVoid::open(&seg, "sv").unwrap();
    assert_eq!(sv.count(), exp["event_count"].as_u64().unwrap());
    assert_eq!(sv.is_closed(), exp["closed"].as_u64().unwrap() != 0);
}

#[test]
fn codata_bin_replayed_from_empty_is_byte_identical() {
    let (t, seg) = fresh_like(FILE);

    let f = Future::<i32>::create(&seg, "f_ready").unwrap();
    assert!(f.set_value(42));
    let f = Future::<f64>::create(&seg, "f_err").unwrap();
    assert!(f.set_error("boom"));
    Future::<i64>::create(&seg, "f_pending").unwrap();

    Lazy::<i32>::constant(&seg, "lz_const", 7).unwrap();
    let a = Lazy::<f64>::constant(&seg, "lz_a", 1.5).unwrap();
    let b = Lazy::<f64>::constant(&seg, "lz_b", 2.0).unwrap();
    let add = Lazy::add(&seg, "lz_add", &a, &b).unwrap();
    assert_eq!(add.force().unwrap(), 3.5);

    let st = Stream::<i32>::create(&seg, "st", 8).unwrap();
    for x in 1..=5 {
        st.try_emit(x).unwrap();
    }
    assert_eq!(st.try_recv().unwrap(), Some(1));
    assert_eq!(st.try_recv().unwrap(), Some(2));

    let ch = Channel::<i32>::create(&seg, "ch", 4).unwrap();
    for x in 1..=3 {
        ch.send(x).unwrap();
    }
    assert_eq!(ch.recv().unwrap(), 1);
    Channel::<i32>::create(&seg, "chu", 0).unwrap();

    let sv = StreamVoid::create(&seg, "sv").unwrap();
    for _ in 0..3 {
        assert!(sv.emit());
    }

    assert_same_bytes(&t, FILE);
}
