//! Measurements inside one process, each against a peer doing the same
//! work in the same run: Queue 1/1 against crossbeam's ArrayQueue, Stack,
//! Pool, Map, Ring, Semaphore/Mutex, Array bulk reads, and segments.

use super::probe::{Layout, RawVyukov};
use super::util::*;
use super::xproc::{consume, produce, BenchQ};
use crossbeam_queue::ArrayQueue;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;
use zeroipc::data::map::MapInsert;
use zeroipc::{Array, Map, Mutex, Pool, Queue, Ring, Segment, SegmentOptions, Semaphore, Stack};

/// Items/s of one producer thread and one consumer thread (on two CPUs)
/// through: a zeroipc queue, crossbeam's ArrayQueue, and the layout probe
/// in the format's layout and in crossbeam's (same capacity and count).
pub fn queue_threads(cfg: &Cfg) -> [f64; 4] {
    let (c0, c1) = cpu_pair();
    let n = cfg.n(4_000_000, 20_000) as u64;
    let expect: u64 = (0..n).sum();
    let deadline = cfg.deadline();
    let ts = TempSeg::new("q11", 1 << 20, 8);
    let q = Queue::<u64>::create(&ts.seg, "q", 1024).expect("queue");
    let aq = ArrayQueue::<u64>::new(1024);
    let fmt = RawVyukov::new(1024, Layout::Format);
    let pad = RawVyukov::new(1024, Layout::Padded);
    fn rate(
        q: &impl BenchQ,
        n: u64,
        expect: u64,
        c: (Option<usize>, Option<usize>),
        deadline: Instant,
    ) -> f64 {
        let t0 = Instant::now();
        let sum = std::thread::scope(|s| {
            s.spawn(move || pinned(c.0, || produce(q, 0, n, deadline)));
            s.spawn(move || pinned(c.1, || consume(q, n, deadline)))
                .join()
                .expect("consumer")
        });
        let r = n as f64 / t0.elapsed().as_secs_f64();
        assert_eq!(sum, expect, "queue lost items");
        r
    }
    [
        rate(&q, n, expect, (c0, c1), deadline),
        rate(&aq, n, expect, (c0, c1), deadline),
        rate(&fmt, n, expect, (c0, c1), deadline),
        rate(&pad, n, expect, (c0, c1), deadline),
    ]
}

/// ns per push+pop pair: zeroipc Stack vs `std::sync::Mutex<Vec<u64>>`.
pub fn stack_pair(cfg: &Cfg) -> (f64, f64) {
    let n = cfg.n(2_000_000, 5_000);
    let ts = TempSeg::new("stack", 1 << 20, 8);
    let st = Stack::<u64>::create(&ts.seg, "s", 1024).expect("stack");
    for i in 0..512 {
        st.push(i).expect("prefill");
    }
    let z = ns_per_op(n, |i| {
        st.push(black_box(i as u64)).expect("push");
        black_box(st.pop());
    });
    let v = std::sync::Mutex::new((0..512u64).collect::<Vec<_>>());
    v.lock().expect("m").reserve(1024);
    let b = ns_per_op(n, |i| {
        v.lock().expect("m").push(black_box(i as u64));
        black_box(v.lock().expect("m").pop());
    });
    (z, b)
}

/// ns per allocate+deallocate pair of a 64-byte node: zeroipc Pool vs Box.
pub fn pool_pair(cfg: &Cfg) -> (f64, f64) {
    let n = cfg.n(2_000_000, 5_000);
    let ts = TempSeg::new("pool", 1 << 20, 8);
    let pool = Pool::<[u64; 8]>::create(&ts.seg, "p", 1024).expect("pool");
    let held: Vec<_> = (0..512)
        .map(|_| pool.allocate().expect("alloc").expect("room"))
        .collect();
    let z = ns_per_op(n, |_| {
        let h = pool.allocate().expect("alloc").expect("room");
        pool.deallocate(black_box(h)).expect("free");
    });
    for h in held {
        pool.deallocate(h).expect("free");
    }
    let b = ns_per_op(n, |i| {
        let bx = Box::new([i as u64; 8]);
        drop(black_box(bx));
    });
    (z, b)
}

fn key(i: u64) -> u64 {
    // splitmix64: well-spread keys.
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// ns per insert, find and erase at `load`: zeroipc Map<u64,u64> vs
/// std HashMap with the same capacity and keys. Returns
/// `[(insert z, b), (find z, b), (erase z, b)]`.
pub fn map_ops(cfg: &Cfg, load: f64) -> [(f64, f64); 3] {
    let cap = cfg.n(1 << 16, 1 << 10);
    let batch = cap / 32;
    let pre = (cap as f64 * load) as usize - batch;
    let ts = TempSeg::new("map", 8 << 20, 8);
    let m = Map::<u64, u64>::create(&ts.seg, "m", cap).expect("map");
    let mut h = HashMap::<u64, u64>::with_capacity(cap);
    for i in 0..pre as u64 {
        assert_eq!(m.insert(key(i), i), MapInsert::Inserted);
        h.insert(key(i), i);
    }
    let fresh = |j: usize| key((pre + j) as u64);
    let zi = ns_per_op(batch, |j| {
        assert!(m.insert(fresh(j), j as u64).is_stored());
    });
    let bi = ns_per_op(batch, |j| {
        black_box(h.insert(fresh(j), j as u64));
    });
    let zf = ns_per_op(batch, |j| {
        black_box(m.get(&key((j * 7 % pre) as u64)).expect("present"));
    });
    let bf = ns_per_op(batch, |j| {
        black_box(*h.get(&key((j * 7 % pre) as u64)).expect("present"));
    });
    let ze = ns_per_op(batch, |j| {
        black_box(m.remove(&fresh(j)).expect("present"));
    });
    let be = ns_per_op(batch, |j| {
        black_box(h.remove(&fresh(j)).expect("present"));
    });
    [(zi, bi), (zf, bf), (ze, be)]
}

/// Bytes/s of write_bulk + read_bulk of 4 KiB chunks through a 64 KiB
/// ring, vs two memcpys of the same chunk (in and out of a buffer).
pub fn ring_pair(cfg: &Cfg) -> (f64, f64) {
    let chunk = 512usize;
    let n = cfg.n(200_000, 500);
    let ts = TempSeg::new("ringp", 1 << 20, 8);
    let r = Ring::<u64>::create(&ts.seg, "r", 8192).expect("ring");
    let src: Vec<u64> = (0..chunk as u64).collect();
    let mut dst = vec![0u64; chunk];
    let bytes = (chunk * 8) as f64;
    let z = ns_per_op(n, |_| {
        assert_eq!(r.write_bulk(black_box(&src)), chunk);
        assert_eq!(r.read_bulk(black_box(&mut dst)), chunk);
    });
    let mut mid = vec![0u64; 8192];
    let b = ns_per_op(n, |i| {
        let off = (i * chunk) % 8192;
        mid[off..off + chunk].copy_from_slice(black_box(&src));
        dst.copy_from_slice(black_box(&mid[off..off + chunk]));
    });
    black_box(&dst);
    (bytes / z * 1e9, bytes / b * 1e9)
}

/// ns per uncontended take+give: zeroipc Mutex, zeroipc Semaphore, std Mutex.
pub fn locks_uncontended(cfg: &Cfg) -> (f64, f64, f64) {
    let n = cfg.n(2_000_000, 5_000);
    let ts = TempSeg::new("locks", 1 << 16, 8);
    let m = Mutex::create(&ts.seg, "m").expect("mutex");
    let s = Semaphore::create(&ts.seg, "s", 1, 1).expect("sem");
    let zm = ns_per_op(n, |_| {
        drop(black_box(m.lock().expect("lock")));
    });
    let zs = ns_per_op(n, |_| {
        s.acquire().expect("acquire");
        s.release().expect("release");
    });
    let sm = std::sync::Mutex::new(0u64);
    let b = ns_per_op(n, |_| {
        *black_box(sm.lock().expect("lock")) += 1;
    });
    (zm, zs, b)
}

/// Bytes/s of `Array::read_into` of `elems` u64 vs memcpy from a private
/// buffer of the same size.
pub fn array_read(cfg: &Cfg, elems: usize) -> (f64, f64) {
    let bytes = (elems * 8) as f64;
    let reps = (cfg.n(1 << 30, 1 << 20) / (elems * 8)).max(4);
    let ts = TempSeg::new("array", (elems as u64 * 8) + (1 << 16), 8);
    let a = Array::<u64>::create(&ts.seg, "a", elems).expect("array");
    let init: Vec<u64> = (0..elems as u64).collect();
    a.write_from(0, &init).expect("fill");
    let mut out = vec![0u64; elems];
    let z = ns_per_op(reps, |_| {
        a.read_into(0, black_box(&mut out)).expect("read");
    });
    assert_eq!(out, init);
    let b = ns_per_op(reps, |_| {
        // SAFETY: two distinct private buffers of `elems` u64 each.
        unsafe {
            std::ptr::copy_nonoverlapping(
                black_box(init.as_ptr()),
                black_box(out.as_mut_ptr()),
                elems,
            )
        }
    });
    (bytes / z * 1e9, bytes / b * 1e9)
}

/// The segment file behind `name`.
fn shm_file(name: &str) -> std::ffi::CString {
    std::ffi::CString::new(format!("/dev/shm/{}", name.trim_start_matches('/'))).expect("path")
}

/// The OS work of a segment without the table: create a file in /dev/shm,
/// size it, map it, write `n` 8-byte words, unmap; open, map, read them;
/// unlink.
fn raw_create_open(name: &str, size: usize, n: usize) {
    let path = shm_file(name);
    // SAFETY: plain POSIX calls on a path we own; every mapping is unmapped
    // before return and only touched within its `size` bytes.
    unsafe {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
            0o600,
        );
        assert!(fd >= 0, "raw create");
        assert_eq!(libc::ftruncate(fd, size as libc::off_t), 0);
        let p = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        for i in 0..n {
            p.cast::<u64>().add(i * 64).write_volatile(i as u64);
        }
        libc::munmap(p, size);
        libc::close(fd);
        let fd = libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        assert!(fd >= 0, "raw open");
        let p = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        let mut s = 0u64;
        for i in 0..n {
            s += p.cast::<u64>().add(i * 64).read_volatile();
        }
        black_box(s);
        libc::munmap(p, size);
        libc::close(fd);
        libc::unlink(path.as_ptr());
    }
}

/// µs per create of a segment with 64 arrays + open + lookup of all 64, vs
/// the raw OS work ([`raw_create_open`]).
pub fn segment_64(cfg: &Cfg) -> (f64, f64) {
    let iters = cfg.n(50, 3);
    let size = 1usize << 20;
    let names: Vec<String> = (0..64).map(|i| format!("s{i:02}")).collect();
    let base = format!("/zeroipc-bench-{}-seg64", std::process::id());
    let z = ns_per_op(iters, |it| {
        let name = format!("{base}-{it}");
        let seg = SegmentOptions::new()
            .size(size as u64)
            .max_entries(64)
            .self_describing(false) // 64 structures in 64 slots, as the raw baseline
            .wake_registry(false) // (arrays have no blocking calls)
            .create(&name)
            .expect("create");
        for n in &names {
            Array::<u64>::create(&seg, n, 16).expect("array");
        }
        let other = Segment::open(&name).expect("open");
        for n in &names {
            black_box(Array::<u64>::open(&other, n).expect("lookup"));
        }
        drop((seg, other));
        Segment::unlink(&name).expect("unlink");
    });
    let b = ns_per_op(iters, |it| {
        raw_create_open(&format!("{base}-raw-{it}"), size, 64)
    });
    (z / 1e3, b / 1e3)
}

/// µs per `Segment::open` of a segment whose table holds 1024 entries, vs
/// open + fstat + mmap + munmap + close of the same file.
pub fn segment_open_1024(cfg: &Cfg) -> (f64, f64) {
    let iters = cfg.n(500, 5);
    let ts = TempSeg::new("open1024", 1 << 20, 1024);
    // The waiter registry, `ctl` and 1022 arrays: 1024 entries.
    for i in 2..1024 {
        Array::<u8>::create(&ts.seg, &format!("e{i:04}"), 8).expect("entry");
    }
    assert_eq!(ts.seg.entries().expect("entries").len(), 1024);
    let z = ns_per_op(iters, |_| {
        black_box(Segment::open(&ts.name).expect("open"));
    });
    let path = shm_file(&ts.name);
    let b = ns_per_op(iters, |_| {
        // SAFETY: plain POSIX calls on an existing file; the mapping is
        // unmapped right away.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            assert!(fd >= 0);
            let mut st: libc::stat = std::mem::zeroed();
            assert_eq!(libc::fstat(fd, &mut st), 0);
            let len = st.st_size as usize;
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            black_box(p.cast::<u64>().read_volatile());
            libc::munmap(p, len);
            libc::close(fd);
        }
    });
    (z / 1e3, b / 1e3)
}
