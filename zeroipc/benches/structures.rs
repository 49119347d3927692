//! Criterion micro-benchmarks of the zeroipc structures, each group holding
//! the zeroipc operation and its private peer, so criterion's report shows
//! them side by side (issue 7). Single-threaded, in one process: the
//! cross-process figures, the ratios and the targets are the harness's job
//! (`cargo run --release -p zeroipc --example bench_harness`, BENCHMARKS.md).
//!
//! `cargo bench -p zeroipc --bench structures` (add `-- queue` to select a
//! group).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;
use zeroipc::{Array, Map, Mutex, Pool, Queue, Ring, Segment, SegmentOptions, Semaphore, Stack};

/// A segment unlinked on drop.
struct Tmp {
    name: String,
    seg: Segment,
}

impl Tmp {
    fn new(tag: &str, size: u64) -> Tmp {
        let name = format!("/zeroipc-criterion-{}-{tag}", std::process::id());
        let seg = SegmentOptions::new()
            .size(size)
            .max_entries(1024)
            .create_replacing(&name)
            .expect("segment");
        Tmp { name, seg }
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.name);
    }
}

fn queue(c: &mut Criterion) {
    let t = Tmp::new("queue", 1 << 20);
    let q = Queue::<u64>::create(&t.seg, "q", 1024).expect("queue");
    let aq = ArrayQueue::<u64>::new(1024);
    let mut g = c.benchmark_group("queue push+pop");
    g.bench_function("zeroipc Queue<u64>", |b| {
        b.iter(|| {
            q.push(black_box(7)).expect("room");
            black_box(q.pop())
        })
    });
    g.bench_function("crossbeam ArrayQueue<u64>", |b| {
        b.iter(|| {
            aq.push(black_box(7)).expect("room");
            black_box(aq.pop())
        })
    });
    g.finish();
}

fn stack(c: &mut Criterion) {
    let t = Tmp::new("stack", 1 << 20);
    let s = Stack::<u64>::create(&t.seg, "s", 1024).expect("stack");
    let v = std::sync::Mutex::new(Vec::<u64>::with_capacity(1024));
    let mut g = c.benchmark_group("stack push+pop");
    g.bench_function("zeroipc Stack<u64>", |b| {
        b.iter(|| {
            s.push(black_box(7)).expect("room");
            black_box(s.pop())
        })
    });
    g.bench_function("std Mutex<Vec<u64>>", |b| {
        b.iter(|| {
            v.lock().expect("m").push(black_box(7));
            black_box(v.lock().expect("m").pop())
        })
    });
    g.finish();
}

fn pool(c: &mut Criterion) {
    let t = Tmp::new("pool", 1 << 20);
    let p = Pool::<[u64; 8]>::create(&t.seg, "p", 1024).expect("pool");
    let mut g = c.benchmark_group("pool allocate+free");
    g.bench_function("zeroipc Pool<[u64; 8]>", |b| {
        b.iter(|| {
            let h = p.allocate().expect("ok").expect("room");
            p.deallocate(black_box(h)).expect("free")
        })
    });
    g.bench_function("Box<[u64; 8]>", |b| {
        b.iter(|| drop(black_box(Box::new([7u64; 8]))))
    });
    g.finish();
}

fn key(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn map(c: &mut Criterion) {
    let cap = 1 << 14;
    let mut g = c.benchmark_group("map");
    for load in [0.5, 0.9] {
        let t = Tmp::new(&format!("map{}", (load * 10.0) as u32), 4 << 20);
        let m = Map::<u64, u64>::create(&t.seg, "m", cap).expect("map");
        let mut h = HashMap::<u64, u64>::with_capacity(cap);
        let n = (cap as f64 * load) as u64 - 1;
        for i in 0..n {
            assert!(m.insert(key(i), i).is_stored());
            h.insert(key(i), i);
        }
        let mut i = 0u64;
        g.bench_function(BenchmarkId::new("zeroipc Map find", load), |b| {
            b.iter(|| {
                i = (i + 7) % n;
                black_box(m.get(&key(i)))
            })
        });
        g.bench_function(BenchmarkId::new("std HashMap find", load), |b| {
            b.iter(|| {
                i = (i + 7) % n;
                black_box(h.get(&key(i)).copied())
            })
        });
        let fresh = key(u64::MAX);
        g.bench_function(BenchmarkId::new("zeroipc Map insert+erase", load), |b| {
            b.iter(|| {
                assert!(m.insert(black_box(fresh), 1).is_stored());
                black_box(m.remove(&fresh))
            })
        });
        g.bench_function(BenchmarkId::new("std HashMap insert+erase", load), |b| {
            b.iter(|| {
                h.insert(black_box(fresh), 1);
                black_box(h.remove(&fresh))
            })
        });
    }
    g.finish();
}

fn ring(c: &mut Criterion) {
    let t = Tmp::new("ring", 1 << 20);
    let r = Ring::<u64>::create(&t.seg, "r", 8192).expect("ring");
    let src: Vec<u64> = (0..512).collect();
    let mut dst = vec![0u64; 512];
    let mut mid = vec![0u64; 8192];
    let mut g = c.benchmark_group("ring 4 KiB write+read");
    g.throughput(Throughput::Bytes(4096));
    g.bench_function("zeroipc Ring<u64> write_bulk+read_bulk", |b| {
        b.iter(|| {
            r.write_bulk(black_box(&src));
            r.read_bulk(black_box(&mut dst))
        })
    });
    let mut off = 0;
    g.bench_function("memcpy in + memcpy out", |b| {
        b.iter(|| {
            off = (off + 512) % 8192;
            mid[off..off + 512].copy_from_slice(black_box(&src));
            dst.copy_from_slice(black_box(&mid[off..off + 512]));
        })
    });
    g.finish();
}

fn array(c: &mut Criterion) {
    let elems = 8 << 10; // 64 KiB
    let t = Tmp::new("array", 1 << 20);
    let a = Array::<u64>::create(&t.seg, "a", elems).expect("array");
    let private = vec![7u64; elems];
    let mut out = vec![0u64; elems];
    let mut g = c.benchmark_group("array 64 KiB bulk read");
    g.throughput(Throughput::Bytes((elems * 8) as u64));
    g.bench_function("zeroipc Array::read_into", |b| {
        b.iter(|| a.read_into(0, black_box(&mut out)).expect("read"))
    });
    g.bench_function("memcpy from a private Vec", |b| {
        b.iter(|| black_box(&mut out).copy_from_slice(black_box(&private)))
    });
    g.finish();
}

fn locks(c: &mut Criterion) {
    let t = Tmp::new("locks", 1 << 16);
    let m = Mutex::create(&t.seg, "m").expect("mutex");
    let s = Semaphore::create(&t.seg, "s", 1, 1).expect("semaphore");
    let sm = std::sync::Mutex::new(0u64);
    let mut g = c.benchmark_group("uncontended take+give");
    g.bench_function("zeroipc Mutex", |b| {
        b.iter(|| drop(black_box(m.lock().expect("lock"))))
    });
    g.bench_function("zeroipc Semaphore", |b| {
        b.iter(|| {
            s.acquire().expect("acquire");
            s.release().expect("release")
        })
    });
    g.bench_function("std Mutex", |b| {
        b.iter(|| drop(black_box(sm.lock().expect("lock"))))
    });
    g.finish();
}

fn segments(c: &mut Criterion) {
    let t = Tmp::new("open1024", 1 << 20);
    for i in 0..1024 {
        Array::<u8>::create(&t.seg, &format!("e{i:04}"), 8).expect("entry");
    }
    let mut g = c.benchmark_group("segment");
    g.bench_function("Segment::open, 1024 entries", |b| {
        b.iter(|| black_box(Segment::open(&t.name).expect("open")))
    });
    g.bench_function("Segment::find, last of 1024", |b| {
        b.iter(|| black_box(t.seg.find(black_box("e1023")).expect("find")))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = queue, stack, pool, map, ring, array, locks, segments
}
criterion_main!(benches);
