//! Codata across REAL processes (the test binary re-executes itself to run
//! the `#[ignore]`d `worker_*` tests): a Future set by one process and
//! awaited by three; Channels (buffered and unbuffered) with 3 sender and 2
//! receiver processes moving 300,000 messages, each received exactly once;
//! a Stream map/filter pipeline with producer, stage and consumer processes;
//! Lazy values forced once by racing processes; an unbuffered sender killed
//! with SIGKILL in the middle of a send.

mod common;

use common::*;
use std::time::{Duration, Instant};
use zeroipc::{Array, Channel, Error, Future, Lazy, LazyOp, Segment, Stream};

const WAIT: Duration = Duration::from_secs(120);

fn open_seg() -> Segment {
    Segment::open(&env_var("ZT_SEG")).expect("open test segment")
}

fn num(key: &str) -> u64 {
    env_var(key).parse().unwrap()
}

/// Parses `RESULT key=value ...` lines into (key, value) pairs.
fn fields(lines: &[String]) -> Vec<(String, u64)> {
    lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

fn field(f: &[(String, u64)], key: &str) -> u64 {
    f.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("worker did not report {key}: {f:?}"))
        .1
}

// ----- Future ---------------------------------------------------------------

const ANSWER: u64 = 0x1234_5678_9ABC_DEF0;

#[test]
fn future_set_by_one_process_awaited_by_three() {
    let (t, seg) = temp_segment("mpfut", 1 << 16);
    let f = Future::<u64>::create(&seg, "answer").unwrap();
    let env = || vec![("ZT_SEG", t.name.clone())];
    let waiters: Vec<_> = (0..3)
        .map(|_| spawn_worker("worker_future_waiter", &env()))
        .collect();
    let setter = spawn_worker("worker_future_setter", &env());
    let set = fields(&worker_results(setter));
    assert_eq!(field(&set, "set"), 1);
    assert_eq!(
        field(&set, "waiters_seen"),
        3,
        "all three were blocked before the set"
    );
    for w in waiters {
        let r = fields(&worker_results(w));
        assert_eq!(field(&r, "value"), ANSWER);
        assert_eq!(field(&r, "pending_at_start"), 1);
    }
    assert_eq!(f.get().unwrap(), ANSWER);
    assert_eq!(f.waiters(), 0);
}

#[test]
#[ignore]
fn worker_future_waiter() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let f = Future::<u64>::open(&seg, "answer").unwrap();
    let pending = u8::from(!f.is_ready());
    let v = f.get_timeout(WAIT).unwrap();
    println!("RESULT value={v} pending_at_start={pending}");
}

#[test]
#[ignore]
fn worker_future_setter() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let f = Future::<u64>::open(&seg, "answer").unwrap();
    // Wait until the three readers are blocked in get (they count themselves).
    let start = Instant::now();
    while f.waiters() < 3 {
        assert!(start.elapsed() < WAIT, "waiters never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    let seen = f.waiters();
    let ok = f.set_value(ANSWER);
    println!("RESULT set={} waiters_seen={seen}", u8::from(ok));
}

// ----- Channel --------------------------------------------------------------

const SENDERS: u64 = 3;
const RECEIVERS: u64 = 2;
const PER_SENDER: u64 = 100_000;

fn channel_exactly_once(capacity: usize) {
    let total = SENDERS * PER_SENDER;
    let (t, seg) = temp_segment("mpch", 4 << 20);
    let ch = Channel::<u64>::create(&seg, "ch", capacity).unwrap();
    for r in 0..RECEIVERS {
        Array::<u8>::create(&seg, &format!("seen{r}"), total as usize).unwrap();
    }
    let start = Instant::now();
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|r| {
            spawn_worker(
                "worker_channel_receiver",
                &[("ZT_SEG", t.name.clone()), ("ZT_IDX", r.to_string())],
            )
        })
        .collect();
    let senders: Vec<_> = (0..SENDERS)
        .map(|id| {
            spawn_worker(
                "worker_channel_sender",
                &[("ZT_SEG", t.name.clone()), ("ZT_ID", id.to_string())],
            )
        })
        .collect();
    for s in senders {
        let r = fields(&worker_results(s));
        assert_eq!(field(&r, "sent"), PER_SENDER);
    }
    ch.close();
    let mut count = 0;
    let mut sum = 0u128;
    for r in receivers {
        let f = fields(&worker_results(r));
        count += field(&f, "count");
        sum += field(&f, "sum_lo") as u128 | (field(&f, "sum_hi") as u128) << 64;
    }
    let elapsed = start.elapsed();
    eprintln!(
        "channel capacity {capacity}: {total} messages, {SENDERS} sender and {RECEIVERS} receiver \
         processes, {:.2} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(count, total, "messages received");
    let want: u128 = (0..SENDERS)
        .flat_map(|id| (0..PER_SENDER).map(move |i| ((id << 32) | i) as u128))
        .sum();
    assert_eq!(sum, want, "sum of messages");
    // Every message exactly once across the receivers.
    let seen: Vec<Vec<u8>> = (0..RECEIVERS)
        .map(|r| {
            Array::<u8>::open(&seg, &format!("seen{r}"))
                .unwrap()
                .to_vec()
        })
        .collect();
    for i in 0..total as usize {
        let n: u32 = seen.iter().map(|s| u32::from(s[i])).sum();
        assert_eq!(n, 1, "message {i} received {n} times");
    }
    assert_eq!(ch.sender_count(), 0);
    assert_eq!(ch.receiver_count(), 0);
}

#[test]
fn channel_buffered_3_senders_2_receivers_exactly_once() {
    channel_exactly_once(1024);
}

#[test]
fn channel_unbuffered_3_senders_2_receivers_exactly_once() {
    channel_exactly_once(0);
}

#[test]
#[ignore]
fn worker_channel_sender() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let id = num("ZT_ID");
    let ch = Channel::<u64>::open(&seg, "ch").unwrap();
    for i in 0..PER_SENDER {
        ch.send_timeout((id << 32) | i, WAIT).unwrap();
    }
    println!("RESULT sent={PER_SENDER}");
}

#[test]
#[ignore]
fn worker_channel_receiver() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let idx = num("ZT_IDX");
    let ch = Channel::<u64>::open(&seg, "ch").unwrap();
    let seen = Array::<u8>::open(&seg, &format!("seen{idx}")).unwrap();
    let mut last = [None::<u64>; SENDERS as usize];
    let (mut count, mut sum) = (0u64, 0u128);
    loop {
        match ch.recv_timeout(WAIT) {
            Ok(v) => {
                let (id, i) = (v >> 32, v & 0xFFFF_FFFF);
                assert!(id < SENDERS && i < PER_SENDER, "foreign message {v:#x}");
                // Per sender, a receiver sees increasing sequence numbers.
                if let Some(l) = last[id as usize] {
                    assert!(i > l, "sender {id}: {i} after {l}");
                }
                last[id as usize] = Some(i);
                let slot = (id * PER_SENDER + i) as usize;
                assert_eq!(seen.get(slot).unwrap(), 0, "message {v:#x} twice");
                seen.set(slot, 1).unwrap();
                count += 1;
                sum += v as u128;
            }
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("receiver {idx}: {e}"),
        }
    }
    println!(
        "RESULT count={count} sum_lo={} sum_hi={}",
        sum as u64,
        (sum >> 64) as u64
    );
}

// ----- Stream pipeline ------------------------------------------------------

const ITEMS: u64 = 100_000;

fn pipeline_keeps(x: u64) -> bool {
    x % 4 == 0
}

#[test]
fn stream_map_filter_pipeline_across_processes() {
    let (t, seg) = temp_segment("mpst", 1 << 20);
    Stream::<u64>::create(&seg, "src", 256).unwrap();
    let env = || vec![("ZT_SEG", t.name.clone())];
    let start = Instant::now();
    let consumer = spawn_worker("worker_stream_consumer", &env());
    let stage = spawn_worker("worker_stream_stage", &env());
    let producer = spawn_worker("worker_stream_producer", &env());
    assert_eq!(field(&fields(&worker_results(producer)), "emitted"), ITEMS);
    let s = fields(&worker_results(stage));
    assert_eq!(field(&s, "mapped"), ITEMS);
    let c = fields(&worker_results(consumer));
    eprintln!(
        "stream pipeline: {ITEMS} items through map+filter in 3 processes, {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let want: Vec<u64> = (0..ITEMS)
        .map(|x| x * 3 + 1)
        .filter(|&y| pipeline_keeps(y))
        .collect();
    assert_eq!(field(&c, "count"), want.len() as u64);
    assert_eq!(field(&c, "sum"), want.iter().sum::<u64>());
    assert_eq!(field(&c, "in_order"), 1);
    assert_eq!(
        field(&s, "filtered"),
        ITEMS,
        "the filter saw every mapped item"
    );
}

#[test]
#[ignore]
fn worker_stream_producer() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let src = Stream::<u64>::open(&seg, "src").unwrap();
    for x in 0..ITEMS {
        src.emit_timeout(x, WAIT).unwrap();
    }
    src.close();
    println!("RESULT emitted={ITEMS}");
}

#[test]
#[ignore]
fn worker_stream_stage() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let src = Stream::<u64>::open(&seg, "src").unwrap();
    let map = src.map(&seg, "mid", |x| x * 3 + 1).unwrap();
    let mut filter = map
        .output()
        .filter(&seg, "out", |&y| pipeline_keeps(y))
        .unwrap();
    let mapper = map.spawn(); // one stage on a thread, the other driven here
    let filtered = filter.run_timeout(WAIT).unwrap();
    let mapped = mapper.join().unwrap().unwrap();
    println!("RESULT mapped={mapped} filtered={filtered}");
}

#[test]
#[ignore]
fn worker_stream_consumer() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let start = Instant::now();
    let out = loop {
        match Stream::<u64>::open(&seg, "out") {
            Ok(s) => break s,
            Err(Error::StructureNotFound { .. }) if start.elapsed() < WAIT => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(out.transform_name(), "filter");
    let (mut count, mut sum, mut last, mut in_order) = (0u64, 0u64, None::<u64>, 1);
    loop {
        match out.recv_timeout(WAIT) {
            Ok(y) => {
                assert!(pipeline_keeps(y));
                if last.is_some_and(|l| l >= y) {
                    in_order = 0;
                }
                last = Some(y);
                count += 1;
                sum += y;
            }
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("{e}"),
        }
    }
    println!("RESULT count={count} sum={sum} in_order={in_order}");
}

// ----- Lazy -----------------------------------------------------------------

const LAZIES: usize = 48; // + "go" fits the default 64-entry table
const FORCERS: usize = 3;

#[test]
fn lazy_forced_once_by_racing_processes() {
    let (t, seg) = temp_segment("mplazy", 1 << 16);
    let go = Future::<u32>::create(&seg, "go").unwrap();
    let lazies: Vec<Lazy<i64>> = (0..LAZIES)
        .map(|i| Lazy::deferred(&seg, &format!("l{i}"), LazyOp::Multiply(i as i64, 1000)).unwrap())
        .collect();
    let workers: Vec<_> = (0..FORCERS)
        .map(|_| spawn_worker("worker_lazy_forcer", &[("ZT_SEG", t.name.clone())]))
        .collect();
    // Start them together, so they race on every lazy.
    let start = Instant::now();
    while (go.waiters() as usize) < FORCERS {
        assert!(start.elapsed() < WAIT, "forcers never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    go.set_value(1);
    let want: i64 = (0..LAZIES as i64).map(|i| i * 1000).sum();
    for w in workers {
        assert_eq!(field(&fields(&worker_results(w)), "sum"), want as u64);
    }
    for (i, l) in lazies.iter().enumerate() {
        assert_eq!(l.compute_count(), 1, "l{i} computed once");
        assert_eq!(l.peek(), Some(i as i64 * 1000));
    }
}

#[test]
#[ignore]
fn worker_lazy_forcer() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let lazies: Vec<Lazy<i64>> = (0..LAZIES)
        .map(|i| Lazy::open(&seg, &format!("l{i}")).unwrap())
        .collect();
    Future::<u32>::open(&seg, "go")
        .unwrap()
        .get_timeout(WAIT)
        .unwrap();
    let sum: i64 = lazies.iter().map(|l| l.force_timeout(WAIT).unwrap()).sum();
    println!("RESULT sum={sum}");
}

// ----- SIGKILL --------------------------------------------------------------

#[test]
fn unbuffered_sender_killed_mid_send() {
    let (t, seg) = temp_segment("mpkill", 1 << 16);
    let ch = Channel::<u64>::create(&seg, "ch", 0).unwrap();
    let mut child = spawn_worker("worker_blocked_sender", &[("ZT_SEG", t.name.clone())]);
    // Wait until its value sits in the slot (it now holds the sender lock
    // and waits for a receiver), then kill it.
    let start = Instant::now();
    while ch.is_empty() {
        assert!(start.elapsed() < WAIT, "the sender never placed its value");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The placed value is still received, once.
    assert_eq!(ch.recv_timeout(Duration::from_secs(5)).unwrap(), 77);
    assert_eq!(ch.try_recv().unwrap(), None);
    assert_eq!(ch.sender_count(), 1, "left too high by the killed sender");
    // The dead sender still holds the lock: our sends time out, not hang...
    assert!(ch
        .send_timeout(1, Duration::from_millis(50))
        .is_err_and(|e| e.is_timeout() && e.value == 1));
    // ...until the recovery call releases it.
    assert!(ch.recover_unbuffered());
    let rx = ch.clone();
    let h = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(10)));
    ch.send_timeout(2, Duration::from_secs(10)).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 2);
}

#[test]
#[ignore]
fn worker_blocked_sender() {
    if !is_child() {
        return;
    }
    let seg = open_seg();
    let ch = Channel::<u64>::open(&seg, "ch").unwrap();
    // Nobody receives: this blocks until the parent kills us.
    let r = ch.send_timeout(77, WAIT);
    println!("RESULT unexpected={r:?}");
}
