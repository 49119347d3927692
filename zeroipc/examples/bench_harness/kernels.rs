//! Single-threaded operation loops for instruction counting under
//! callgrind (`--kernel NAME N`), each in its own non-inlined function so
//! `valgrind --tool=callgrind --toggle-collect='*kernel_NAME*'` counts
//! exactly the loop. Instructions per operation = Ir / N. See
//! BENCHMARKS.md, "Profiles".

use super::util::TempSeg;
use crossbeam_queue::ArrayQueue;
use std::hint::black_box;
use zeroipc::{Channel, Map, Mutex, Queue};

#[inline(never)]
fn kernel_queue(q: &Queue<u64>, n: u64) {
    for i in 0..n {
        q.push(black_box(i)).expect("room");
        black_box(q.pop());
    }
}

#[inline(never)]
fn kernel_arrayqueue(q: &ArrayQueue<u64>, n: u64) {
    for i in 0..n {
        q.push(black_box(i)).expect("room");
        black_box(q.pop());
    }
}

#[inline(never)]
fn kernel_channel(c: &Channel<u64>, n: u64) {
    for i in 0..n {
        c.send(black_box(i)).expect("send");
        black_box(c.recv().expect("recv"));
    }
}

#[inline(never)]
fn kernel_mutex(m: &Mutex, n: u64) {
    for _ in 0..n {
        drop(black_box(m.lock().expect("lock")));
    }
}

#[inline(never)]
fn kernel_stdmutex(m: &std::sync::Mutex<u64>, n: u64) {
    for _ in 0..n {
        *black_box(m.lock().expect("lock")) += 1;
    }
}

#[inline(never)]
fn kernel_map90(m: &Map<u64, u64>, n: u64) {
    for i in 0..n {
        let k = u64::MAX - i;
        assert!(m.insert(black_box(k), 1).is_stored());
        black_box(m.remove(&k));
    }
}

/// Runs kernel `name` `n` times; the names are listed in `--help`.
pub fn run(name: &str, n: u64) {
    let ts = TempSeg::new("kernel", 4 << 20, 16);
    match name {
        "queue" => kernel_queue(&Queue::create(&ts.seg, "q", 64).expect("q"), n),
        "arrayqueue" => kernel_arrayqueue(&ArrayQueue::new(64), n),
        "channel" => kernel_channel(&Channel::create(&ts.seg, "c", 64).expect("c"), n),
        "mutex" => kernel_mutex(&Mutex::create(&ts.seg, "m").expect("m"), n),
        "stdmutex" => kernel_stdmutex(&std::sync::Mutex::new(0), n),
        "map90" => {
            let cap = 1 << 14;
            let m = Map::<u64, u64>::create(&ts.seg, "m", cap).expect("map");
            for i in 0..(cap as u64 * 9 / 10) {
                assert!(m
                    .insert(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i)
                    .is_stored());
            }
            kernel_map90(&m, n)
        }
        other => panic!("unknown kernel {other:?}"),
    }
}
