//! Quickstart: two real processes share one segment.
//!
//! The parent creates `/zeroipc-quickstart-<pid>` holding
//! - `Array<f64>` "readings" (filled by the parent),
//! - `Queue<u64>` "requests" (parent -> child: numbers to square),
//! - `Queue<u64>` "replies" (child -> parent: the squares),
//! - `Map<u64, f64>` "stats" (written by the child: sum and mean of the readings).
//!
//! It then re-runs this executable as the child (`--child <segment>`), which
//! opens the segment by name, reads the array, answers the requests and fills
//! the map. The parent prints what came back and removes the segment.
//!
//! Run with `cargo run -p zeroipc --example quickstart`.

use std::process::{Command, ExitCode};
use std::time::Duration;
use zeroipc::{Array, Map, Queue, Segment};

const STAT_SUM: u64 = 1;
const STAT_MEAN: u64 = 2;
const DONE: u64 = u64::MAX;

fn parent() -> zeroipc::Result<()> {
    let name = format!("/zeroipc-quickstart-{}", std::process::id());
    let seg = Segment::create(&name, 1 << 20)?;
    println!("[parent] created {name} ({} bytes)", seg.size());

    let readings = Array::<f64>::create(&seg, "readings", 8)?;
    let data: Vec<f64> = (1..=8).map(|i| i as f64 * 1.5).collect();
    readings.write_from(0, &data)?;
    let requests = Queue::<u64>::create(&seg, "requests", 16)?;
    let replies = Queue::<u64>::create(&seg, "replies", 16)?;
    let stats = Map::<u64, f64>::create(&seg, "stats", 16)?;
    println!("[parent] array of 8 readings, two queues and a map are in place");

    for n in [3u64, 7, 12, 1000] {
        requests.push(n).map_err(|_| full("requests"))?;
    }
    requests.push(DONE).map_err(|_| full("requests"))?;

    let exe = std::env::current_exe().expect("path of this example");
    let status = Command::new(exe)
        .args(["--child", &name])
        .status()
        .expect("spawn the child process");

    let mut squares = Vec::new();
    while let Ok(v) = replies.pop_timeout(Duration::from_secs(5)) {
        if v == DONE {
            break;
        }
        squares.push(v);
    }
    println!("[parent] child exited with {status}; squares received: {squares:?}");
    let sum = stats.get(&STAT_SUM);
    let mean = stats.get(&STAT_MEAN);
    println!("[parent] stats from the child: sum = {sum:?}, mean = {mean:?}");

    drop((readings, requests, replies, stats, seg));
    Segment::unlink(&name)?;
    println!("[parent] removed {name}");

    let ok = status.success()
        && squares == [9, 49, 144, 1_000_000]
        && sum == Some(data.iter().sum())
        && mean == Some(data.iter().sum::<f64>() / 8.0);
    if ok {
        Ok(())
    } else {
        Err(zeroipc::Error::Unsupported(
            "the child's answers were not what the parent expected",
        ))
    }
}

fn child(name: &str) -> zeroipc::Result<()> {
    let seg = Segment::open(name)?;
    let names: Vec<String> = seg.entries()?.into_iter().map(|e| e.name).collect();
    println!("[child {}] opened {name}: {names:?}", std::process::id());

    let readings = Array::<f64>::open(&seg, "readings")?.to_vec();
    let stats = Map::<u64, f64>::open(&seg, "stats")?;
    let sum: f64 = readings.iter().sum();
    for (key, value) in [(STAT_SUM, sum), (STAT_MEAN, sum / readings.len() as f64)] {
        if !stats.insert(key, value).is_stored() {
            return Err(zeroipc::Error::Unsupported("the stats map is full"));
        }
    }
    println!("[child] read {readings:?}; wrote sum and mean into the map");

    let requests = Queue::<u64>::open(&seg, "requests")?;
    let replies = Queue::<u64>::open(&seg, "replies")?;
    while let Ok(n) = requests.pop_timeout(Duration::from_secs(5)) {
        let answer = if n == DONE { DONE } else { n * n };
        replies.push(answer).map_err(|_| full("replies"))?;
        if n == DONE {
            break;
        }
        println!("[child] {n} -> {answer}");
    }
    Ok(())
}

fn full(what: &'static str) -> zeroipc::Error {
    zeroipc::Error::Timeout {
        name: what.to_owned(),
        kind: "queue",
        waited_ms: 0,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("--child") => match args.get(2) {
            Some(name) => child(name),
            None => {
                eprintln!("usage: quickstart [--child SEGMENT]");
                return ExitCode::from(2);
            }
        },
        _ => parent(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
