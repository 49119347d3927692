//! Derived types across REAL processes: the parent writes `#[derive(ShmLayout)]`
//! structs (nested structs, arrays, `FixedStr`, open enums, a generic) into an
//! `Array`, a `Queue` and a `Map` of one segment; a child process (this test
//! binary re-executed) reads them back field by field, writes its own values
//! (including an enum value the enum does not know), and the parent checks
//! what the child left. Each process also checks the layout fingerprints the
//! other one stored.

mod common;

use common::*;
use std::time::Duration;
use zeroipc::data::map::MapInsert;
use zeroipc::{Array, FixedStr, Map, OpenEnum, Queue, Segment, ShmElement, ShmLayout};

#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Vec3 {
    x: f64,
    y: f64,
    z: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Particle {
    pos: Vec3,
    vel: Vec3,
    mass: f32,
    id: u32,
    hist: [[u16; 3]; 2],
    _pad: [u8; 4],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(u8)]
enum Status {
    Queued = 1,
    Running,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Job {
    id: u64,
    name: FixedStr<16>,
    status: OpenEnum<Status>,
    _pad: [u8; 3],
    attempts: i32,
    span: Pair<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Pair<T> {
    lo: T,
    hi: T,
}

/// Map key: hashed as raw bytes, like the C++ reference does for structs.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct SensorKey {
    sensor: FixedStr<12>,
    channel: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(i16)]
enum Quality {
    Bad = -1,
    Good = 1,
}

/// Map value: at most 8 bytes (reference constraint).
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Reading {
    value: f32,
    quality: OpenEnum<Quality>,
    _pad: [u8; 2],
}

const PARTICLES: usize = 64;
const JOBS: usize = 16;
const QUEUED: u32 = 300;
const SENSORS: u32 = 24;
const TIMEOUT: Duration = Duration::from_secs(30);

fn particle(i: usize, round: u32) -> Particle {
    let f = i as f64 + round as f64 * 1000.0;
    Particle {
        pos: Vec3 {
            x: f,
            y: -f,
            z: f * 0.5,
        },
        vel: Vec3 {
            x: 1.0 / (f + 1.0),
            y: f64::MAX,
            z: -0.0,
        },
        mass: i as f32 * 0.25,
        id: i as u32 + round,
        hist: [[i as u16, 1, 2], [3, round as u16, u16::MAX]],
        _pad: [0; 4],
    }
}

fn job(i: usize, round: u32) -> Job {
    Job {
        id: (i as u64) << 40 | round as u64,
        name: FixedStr::new(&format!("job-{i}-r{round}-é")).unwrap(),
        status: if round == 0 {
            OpenEnum::new(Status::Queued)
        } else if i % 5 == 0 {
            // A value from a newer peer: no variant, kept as raw.
            OpenEnum::from_raw(200 + i as u8)
        } else {
            OpenEnum::new(Status::Done)
        },
        _pad: [0; 3],
        attempts: -(i as i32) - round as i32,
        span: Pair {
            lo: i as u32,
            hi: u32::MAX - i as u32,
        },
    }
}

fn key(i: u32) -> SensorKey {
    SensorKey {
        sensor: FixedStr::new(&format!("sensor-{i:02}")).unwrap(),
        channel: i % 3,
    }
}

fn reading(i: u32, round: u32) -> Reading {
    Reading {
        value: i as f32 * 1.5 + round as f32,
        quality: if i % 4 == 0 {
            OpenEnum::new(Quality::Bad)
        } else {
            OpenEnum::new(Quality::Good)
        },
        _pad: [0; 2],
    }
}

fn fingerprints() -> [u64; 4] {
    [
        Particle::LAYOUT.fingerprint(),
        Job::LAYOUT.fingerprint(),
        SensorKey::LAYOUT.fingerprint(),
        Reading::LAYOUT.fingerprint(),
    ]
}

/// Parent: create everything, fill round 0, run the child, check round 1.
#[test]
fn derived_types_round_trip_between_processes() {
    let (t, seg) = temp_segment("derive_mp", 1 << 20);
    let fps = Array::<u64>::create(&seg, "fingerprints", 4).unwrap();
    fps.write_from(0, &fingerprints()).unwrap();
    let particles = Array::<Particle>::create(&seg, "particles", PARTICLES).unwrap();
    let jobs = Array::<Job>::create(&seg, "jobs", JOBS).unwrap();
    for i in 0..PARTICLES {
        particles.set(i, particle(i, 0)).unwrap();
    }
    for i in 0..JOBS {
        jobs.set(i, job(i, 0)).unwrap();
    }
    let queue = Queue::<Job>::create(&seg, "job_queue", 8).unwrap();
    let map = Map::<SensorKey, Reading>::create(&seg, "readings", 64).unwrap();
    for i in 0..SENSORS {
        assert_eq!(map.insert(key(i), reading(i, 0)), MapInsert::Inserted);
    }

    let child = spawn_worker("worker_checks_and_rewrites", &[("ZD_SEG", t.name.clone())]);

    // While the child runs, consume its queue pushes (capacity 8 < 300, so
    // both processes really take turns on the queue).
    for n in 0..QUEUED {
        let j = queue
            .pop_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("queue item {n} never arrived: {e}"));
        assert_eq!(j, job(n as usize % JOBS, 2 + n), "queue item {n}");
    }
    let results = worker_results(child);
    assert_eq!(
        results,
        [
            "fingerprints ok",
            format!("particles {PARTICLES} ok").as_str(),
            format!("jobs {JOBS} ok").as_str(),
            format!("map {SENSORS} ok").as_str(),
            format!("queued {QUEUED}").as_str(),
        ]
    );

    // What the child wrote, read back here field for field.
    for i in 0..PARTICLES {
        assert_eq!(particles.get(i).unwrap(), particle(i, 1), "particle {i}");
    }
    for i in 0..JOBS {
        let j = jobs.get(i).unwrap();
        assert_eq!(j, job(i, 1), "job {i}");
        if i % 5 == 0 {
            assert_eq!(j.status.raw(), 200 + i as u8);
            assert!(j.status.get().is_err(), "unknown value must stay unknown");
        } else {
            assert_eq!(j.status.get(), Ok(Status::Done));
        }
        assert_eq!(j.name.as_str().unwrap(), format!("job-{i}-r1-é"));
    }
    // Child removed even sensors, updated odd ones, added SENSORS..SENSORS+4.
    for i in 0..SENSORS + 4 {
        let got = map.get(&key(i));
        if i < SENSORS && i % 2 == 0 {
            assert_eq!(got, None, "sensor {i} removed");
        } else {
            assert_eq!(got, Some(reading(i, 1)), "sensor {i}");
        }
    }
    assert_eq!(map.len(), (SENSORS / 2 + 4) as usize);
    let q = map.get(&key(1)).unwrap().quality;
    assert_eq!(q.get(), Ok(Quality::Good));
    drop(seg);
}

/// Child: verify round 0 and the parent's fingerprints, write round 1,
/// push the queue items.
#[test]
#[ignore = "worker process of derived_types_round_trip_between_processes"]
fn worker_checks_and_rewrites() {
    if !is_child() {
        return;
    }
    let seg = Segment::open(&env_var("ZD_SEG")).unwrap();
    let fps = Array::<u64>::open(&seg, "fingerprints").unwrap();
    assert_eq!(
        fps.to_vec(),
        fingerprints(),
        "layouts differ between processes"
    );
    println!("RESULT fingerprints ok");

    let particles = Array::<Particle>::open(&seg, "particles").unwrap();
    assert_eq!(particles.len(), PARTICLES);
    for i in 0..PARTICLES {
        assert_eq!(particles.get(i).unwrap(), particle(i, 0), "particle {i}");
        particles.set(i, particle(i, 1)).unwrap();
    }
    println!("RESULT particles {PARTICLES} ok");

    let jobs = Array::<Job>::open(&seg, "jobs").unwrap();
    for i in 0..JOBS {
        let j = jobs.get(i).unwrap();
        assert_eq!(j, job(i, 0), "job {i}");
        assert_eq!(j.status.get(), Ok(Status::Queued));
        jobs.set(i, job(i, 1)).unwrap();
    }
    println!("RESULT jobs {JOBS} ok");

    let map = Map::<SensorKey, Reading>::open(&seg, "readings").unwrap();
    for i in 0..SENSORS {
        assert_eq!(map.get(&key(i)), Some(reading(i, 0)), "sensor {i}");
        if i % 2 == 0 {
            assert_eq!(map.remove(&key(i)), Some(reading(i, 0)));
        } else {
            assert_eq!(map.insert(key(i), reading(i, 1)), MapInsert::Updated);
        }
    }
    for i in SENSORS..SENSORS + 4 {
        assert_eq!(map.insert(key(i), reading(i, 1)), MapInsert::Inserted);
    }
    println!("RESULT map {SENSORS} ok");

    let queue = Queue::<Job>::open(&seg, "job_queue").unwrap();
    for n in 0..QUEUED {
        queue
            .push_timeout(job(n as usize % JOBS, 2 + n), TIMEOUT)
            .unwrap_or_else(|_| panic!("parent stopped popping at item {n}"));
    }
    println!("RESULT queued {QUEUED}");
}
