//! Golden vector sync.bin (C++ reference): every synchronisation primitive.
//! Read test: open a copy and check every field the manifest lists. Write
//! test: redo the manifest's operations, in program order, from an empty
//! segment and compare bytes.

mod common;

use common::*;
use serde_json::Value;
use zeroipc::sync::OnceState;
use zeroipc::{
    Barrier, Event, EventMode, Latch, Monitor, Mutex, Once, RwLock, Segment, Semaphore, Signal,
};

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Checks a semaphore-shaped entry against `{count, waiting, max_count}`.
fn check_sem(seg: &Segment, entry: &str, exp: &Value) {
    let s = Semaphore::open(seg, entry).unwrap();
    assert_eq!(s.count() as i64, i(&exp["count"]), "{entry}.count");
    assert_eq!(s.waiting() as i64, i(&exp["waiting"]), "{entry}.waiting");
    assert_eq!(
        s.max_count() as i64,
        i(&exp["max_count"]),
        "{entry}.max_count"
    );
}

/// The structure's operations as (op, args) in program order.
fn ops(fm: &Value, name: &str) -> Vec<(String, Value)> {
    structure(fm, name)["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["op"].as_str().unwrap().to_owned(), o.clone()))
        .collect()
}

#[test]
fn sync_bin_reads_as_the_manifest_says() {
    let fm = file_manifest("sync.bin");
    let t = copy_vector("sync.bin");
    let seg = t.open();

    // Table: entries in creation order with the reference's offsets/sizes.
    assert_table_matches(&seg, &fm);
    assert_eq!(
        seg.header().next_offset,
        fm["header"]["next_offset"].as_u64().unwrap()
    );

    // Semaphore.
    let exp = &structure(&fm, "sem")["expected"];
    check_sem(&seg, "sem", exp);

    // Mutex: left locked by the reference.
    let exp = &structure(&fm, "mtx")["expected"];
    check_sem(&seg, "mtx", exp);
    let m = Mutex::open(&seg, "mtx").unwrap();
    assert_eq!(m.is_locked(), exp["locked"].as_bool().unwrap());
    assert!(m.try_lock().unwrap().is_none());
    assert!(
        m.is_locked(),
        "a failed try_lock released the reference's lock"
    );
    // A plain semaphore (max 5) is not accepted as a mutex.
    let err = Mutex::open(&seg, "sem").unwrap_err();
    assert!(err.to_string().contains("max_count"), "{err}");

    // Barrier.
    let exp = &structure(&fm, "bar")["expected"];
    let b = Barrier::open(&seg, "bar").unwrap();
    assert_eq!(b.arrived() as i64, i(&exp["arrived"]));
    assert_eq!(b.generation() as i64, i(&exp["generation"]));
    assert_eq!(b.participants() as i64, i(&exp["num_participants"]));

    // Latch.
    let exp = &structure(&fm, "latch")["expected"];
    let l = Latch::open(&seg, "latch").unwrap();
    assert_eq!(l.count() as i64, i(&exp["count"]));
    assert_eq!(l.initial() as i64, i(&exp["initial_count"]));
    assert!(!l.try_wait().unwrap());

    // Once: done, so a call does not run the closure.
    let exp = &structure(&fm, "once")["expected"];
    assert_eq!(exp["state"], 2);
    assert_eq!(exp["state_name"], "DONE");
    let o = Once::open(&seg, "once").unwrap();
    assert_eq!(o.state().unwrap(), OnceState::Done);
    assert!(!o.call_once(|| panic!("must not run")).unwrap());

    // Events.
    for (name, mode) in [
        ("ev_manual", EventMode::ManualReset),
        ("ev_auto", EventMode::AutoReset),
    ] {
        let exp = &structure(&fm, name)["expected"];
        let e = Event::open(&seg, name).unwrap();
        assert_eq!(e.mode(), mode);
        assert_eq!(e.mode() as i64, i(&exp["mode"]));
        let mode_name = format!("{:?}", e.mode());
        assert_eq!(mode_name, exp["mode_name"].as_str().unwrap());
        assert_eq!(
            e.signaled_raw() as i64,
            i(&exp["signaled"]),
            "{name}.signaled"
        );
        assert_eq!(e.waiting() as i64, i(&exp["waiting"]), "{name}.waiting");
        check_sem(&seg, &format!("{name}_sem"), &exp["sem"]);
    }
    assert!(Event::open(&seg, "ev_manual").unwrap().is_signaled());
    assert!(!Event::open(&seg, "ev_auto").unwrap().is_signaled());

    // RWLock.
    let exp = &structure(&fm, "rw")["expected"];
    let rw = RwLock::open(&seg, "rw").unwrap();
    assert_eq!(rw.readers() as i64, i(&exp["readers"]));
    assert_eq!(rw.is_write_locked() as i64, i(&exp["writer_active"]));
    check_sem(&seg, "rw_rmtx", &exp["rmtx"]);
    check_sem(&seg, "rw_wmtx", &exp["wmtx"]);
    Mutex::open(&seg, "rw_rmtx").unwrap();
    Mutex::open(&seg, "rw_wmtx").unwrap();

    // Monitor.
    let exp = &structure(&fm, "mon")["expected"];
    let mon = Monitor::open(&seg, "mon").unwrap();
    check_sem(&seg, "mon_mtx", &exp["mtx"]);
    check_sem(&seg, "mon_cond", &exp["cond"]);
    assert_eq!(mon.waiters() as i64, i(&exp["waiting_count"]));
    assert!(!mon.is_locked());

    // Signal<double>.
    let exp = &structure(&fm, "sig")["expected"];
    assert_eq!(structure(&fm, "sig")["types"]["value"]["c"], "double");
    let sig = Signal::<f64>::open(&seg, "sig").unwrap();
    assert_eq!(sig.version(), exp["version"].as_u64().unwrap());
    assert_eq!(sig.get().unwrap(), exp["value"].as_f64().unwrap());
    assert_eq!(sig.get_versioned().unwrap(), (2, 3.75));
    check_sem(&seg, "sig_mtx", &exp["mtx"]);
    // A wrong value type is refused (f32 would need a 16-byte C++ state
    // too, so use a 16-byte type).
    let err = Signal::<[f64; 2]>::open(&seg, "sig").unwrap_err();
    assert!(err.to_string().contains("state entry size"), "{err}");

    // Composite parts are validated: an event whose _sem is missing, a
    // marker that is not a marker.
    assert!(RwLock::open(&seg, "mon").is_err());
    assert!(Monitor::open(&seg, "rw").is_err());
    assert!(Event::open(&seg, "sem").is_err());
}

#[test]
fn sync_bin_is_reproduced_byte_for_byte() {
    let fm = file_manifest("sync.bin");
    let (t, seg) = fresh_like("sync.bin");
    assert_eq!(seg.max_entries(), 24);

    // Each structure's operations, in the manifest's program order.
    for (op, o) in ops(&fm, "sem") {
        match op.as_str() {
            "create" => {
                let p = &o["params"];
                Semaphore::create(
                    &seg,
                    "sem",
                    i(&p["initial_count"]) as i32,
                    i(&p["max_count"]) as i32,
                )
                .unwrap();
            }
            "try_acquire" => {
                let got = Semaphore::open(&seg, "sem").unwrap().try_acquire().unwrap();
                assert_eq!(got, o["returns"].as_bool().unwrap());
            }
            other => panic!("sem: unexpected op {other}"),
        }
    }
    for (op, _) in ops(&fm, "mtx") {
        match op.as_str() {
            "create" => {
                Mutex::create(&seg, "mtx").unwrap();
            }
            // The reference leaves it locked: leak the guard.
            "lock" => std::mem::forget(Mutex::open(&seg, "mtx").unwrap().lock().unwrap()),
            other => panic!("mtx: unexpected op {other}"),
        }
    }
    for (op, o) in ops(&fm, "bar") {
        assert_eq!(op, "create");
        Barrier::create(&seg, "bar", i(&o["params"]["num_participants"]) as i32).unwrap();
    }
    for (op, o) in ops(&fm, "latch") {
        match op.as_str() {
            "create" => {
                Latch::create(&seg, "latch", i(&o["params"]["count"]) as i32).unwrap();
            }
            "count_down" => Latch::open(&seg, "latch")
                .unwrap()
                .count_down(i(&o["args"][0]) as i32)
                .unwrap(),
            other => panic!("latch: unexpected op {other}"),
        }
    }
    for (op, _) in ops(&fm, "once") {
        match op.as_str() {
            "create" => {
                Once::create(&seg, "once").unwrap();
            }
            "call" => {
                let mut runs = 0;
                assert!(Once::open(&seg, "once")
                    .unwrap()
                    .call_once(|| runs += 1)
                    .unwrap());
                assert_eq!(runs, 1);
            }
            other => panic!("once: unexpected op {other}"),
        }
    }
    for name in ["ev_manual", "ev_auto"] {
        for (op, o) in ops(&fm, name) {
            match op.as_str() {
                "create" => {
                    let mode = match o["params"]["mode"].as_str().unwrap() {
                        "ManualReset" => EventMode::ManualReset,
                        "AutoReset" => EventMode::AutoReset,
                        m => panic!("mode {m}"),
                    };
                    Event::create(&seg, name, mode).unwrap();
                }
                "signal" => Event::open(&seg, name).unwrap().signal().unwrap(),
                other => panic!("{name}: unexpected op {other}"),
            }
        }
    }
    for (op, _) in ops(&fm, "rw") {
        assert_eq!(op, "create");
        RwLock::create(&seg, "rw").unwrap();
    }
    for (op, _) in ops(&fm, "mon") {
        assert_eq!(op, "create");
        Monitor::create(&seg, "mon").unwrap();
    }
    for (op, o) in ops(&fm, "sig") {
        match op.as_str() {
            "create" => {
                Signal::<f64>::create(&seg, "sig", o["params"]["initial_value"].as_f64().unwrap())
                    .unwrap();
            }
            "set" => Signal::<f64>::open(&seg, "sig")
                .unwrap()
                .set(o["args"][0].as_f64().unwrap())
                .unwrap(),
            other => panic!("sig: unexpected op {other}"),
        }
    }
    // Every structure of the manifest was replayed, in its order.
    let replayed: Vec<&str> = fm["structures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        replayed,
        [
            "sem",
            "mtx",
            "bar",
            "latch",
            "once",
            "ev_manual",
            "ev_auto",
            "rw",
            "mon",
            "sig"
        ]
    );
    drop(seg);
    assert_same_bytes(&t, "sync.bin");
}

#[test]
fn composite_names_are_checked_before_anything_is_created() {
    let (_t, seg) = temp_segment("sync_names", 1 << 16);
    // The table as created (with the self-description entry, the default).
    let (entries, next) = (seg.entries().unwrap(), seg.header().next_offset);
    // 26-byte base: `_mtx` (30) and `_cond` (31) would fit, `_count` (32)
    // does not; the reference leaves two orphans, we leave none.
    let base = "m".repeat(26);
    let err = Monitor::create(&seg, &base).unwrap_err();
    assert!(
        matches!(err, zeroipc::Error::InvalidStructureName { .. }),
        "{err}"
    );
    let base = "r".repeat(26); // _state is 32 bytes
    assert!(RwLock::create(&seg, &base).is_err());
    let base = "s".repeat(26);
    assert!(Signal::<u32>::create(&seg, &base, 0).is_err());
    let base = "e".repeat(28); // _sem is 32 bytes
    assert!(Event::create(&seg, &base, EventMode::AutoReset).is_err());
    assert_eq!(seg.entries().unwrap(), entries, "orphan entries left");
    assert_eq!(seg.header().next_offset, next);
    assert!(
        seg.descriptions().unwrap().is_empty(),
        "orphan kind records left"
    );

    // A duplicate part (the marker exists) also fails with nothing added.
    Mutex::create(&seg, "x").unwrap();
    assert!(RwLock::create(&seg, "x").is_err());
    assert_eq!(seg.entries().unwrap().len(), entries.len() + 1);
    assert_eq!(
        seg.descriptions().unwrap().len(),
        1,
        "only the mutex is recorded"
    );

    // Longest base names that fit work.
    Monitor::create(&seg, &"m".repeat(25)).unwrap();
    Monitor::open(&seg, &"m".repeat(25)).unwrap();
}

#[test]
fn signal_sizes_follow_cpp_and_accept_python() {
    let (_t, seg) = temp_segment("sync_sigsize", 1 << 16);
    let s = Signal::<i32>::create(&seg, "c", 7).unwrap();
    assert_eq!(s.region().len(), 16); // align8(8 + 4), as C++
    assert_eq!(Signal::<i32>::open(&seg, "c").unwrap().get().unwrap(), 7);
    // A Python-shaped Signal<int32> (state 12 bytes) opens too.
    let regions = seg
        .register_group(
            &[
                zeroipc::segment::Part::new("p_state", 12),
                zeroipc::segment::Part::new("p_mtx", 16),
                zeroipc::segment::Part::new("p", 1),
            ],
            |r| {
                r[0].write::<u64>(0, 3);
                r[0].write::<i32>(8, -5);
                r[1].write::<i32>(0, 1);
                r[1].write::<i32>(8, 1);
                Ok(())
            },
        )
        .unwrap();
    drop(regions);
    let p = Signal::<i32>::open(&seg, "p").unwrap();
    assert_eq!(p.get_versioned().unwrap(), (3, -5));
    assert!(Signal::<u64>::open(&seg, "p").is_err());
}
