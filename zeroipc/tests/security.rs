//! Security properties of segments (issue 8, item 5), beyond the basic
//! cases of `segment_errors.rs`:
//!
//! - permissions: 0600 on every creation path, applied exactly whatever the
//!   umask; another user really cannot open a 0600 segment;
//! - names: no name reaches outside /dev/shm (create, open, unlink), long
//!   composite structure names are refused before anything is allocated;
//! - symlinks, directories, FIFOs and hard links in /dev/shm: never followed
//!   or used, and `unlink` removes a link, never its target;
//! - a segment owned by another user is refused unless
//!   `allow_foreign_owner(true)`;
//! - a peer process that rewrites random bytes of every header (table
//!   entries, capacities, element sizes, positions, free lists...) in a
//!   tight loop cannot make this process panic, hang, or touch memory
//!   outside the mapping (the proof is that the parent survives).
//!
//! The tests that change users need root (CI runs as root); without it they
//! print why they are skipped.

mod common;
use zeroipc_testsupport::exercise;

use common::*;
use exercise::Ctx;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroipc::{
    Array, Barrier, Channel, Error, Event, EventMode, Future, Latch, Lazy, Map, Monitor, Mutex,
    Once, Pool, Queue, Ring, RwLock, Segment, SegmentOptions, Semaphore, Set, Signal, Stack,
    Stream, StreamVoid,
};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Runs the `#[ignore]`d worker test `test` of this binary as user/group
/// `uid`, returning its `RESULT` lines, or None when it cannot be started.
fn run_as(uid: u32, test: &str, env: &[(&str, String)]) -> Option<Vec<String>> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("ZEROIPC_CHILD", "1")
    .uid(uid)
    .gid(uid)
    .stdout(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.spawn() {
        Ok(child) => Some(worker_results(child)),
        Err(e) => {
            eprintln!("cannot start {test} as uid {uid}: {e}");
            None
        }
    }
}

// ---------------------------------------------------------------------------
// Permissions

#[test]
fn every_creation_path_defaults_to_0600() {
    let (t, _seg) = temp_segment("p_create", 1 << 16);
    assert_eq!(mode_of(&t.path()), 0o600, "Segment::create");

    let t2 = TempSeg {
        name: unique_name("p_ooc"),
    };
    SegmentOptions::new().open_or_create(&t2.name).unwrap();
    assert_eq!(mode_of(&t2.path()), 0o600, "open_or_create (creating)");

    // create_replacing over a world-readable object: the new one is 0600.
    let t3 = TempSeg {
        name: unique_name("p_repl"),
    };
    SegmentOptions::new().mode(0o644).create(&t3.name).unwrap();
    assert_eq!(mode_of(&t3.path()), 0o644);
    SegmentOptions::new().create_replacing(&t3.name).unwrap();
    assert_eq!(mode_of(&t3.path()), 0o600, "create_replacing");
}

/// The umask cannot widen or narrow the mode: checked in a child process
/// (the umask is per process) with umask 0 and umask 0777.
#[test]
fn mode_is_exact_whatever_the_umask() {
    let names = [
        unique_name("um_a"),
        unique_name("um_b"),
        unique_name("um_c"),
    ];
    let child = spawn_worker("umask_worker", &[("SEC_NAMES", names.join(","))]);
    let results = worker_results(child);
    let _cleanup: Vec<TempSeg> = names.iter().map(|n| TempSeg { name: n.clone() }).collect();
    assert_eq!(results, ["created"]);
    let modes: Vec<u32> = names
        .iter()
        .map(|n| mode_of(&zeroipc::segment::shm_path(n).unwrap()))
        .collect();
    // umask 0: the default is still 0600 (not 0666 or 0644).
    // umask 0777: an explicit 0640 is still 0640, the default still 0600.
    assert_eq!(modes, [0o600, 0o640, 0o600]);
}

#[test]
#[ignore = "worker of mode_is_exact_whatever_the_umask"]
fn umask_worker() {
    if !is_child() {
        return;
    }
    let names = env_var("SEC_NAMES");
    let names: Vec<&str> = names.split(',').collect();
    // SAFETY: umask has no preconditions; this worker process is single-threaded here.
    unsafe { libc::umask(0) };
    Segment::create(names[0], 1 << 16).unwrap();
    // SAFETY: as above.
    unsafe { libc::umask(0o777) };
    SegmentOptions::new().mode(0o640).create(names[1]).unwrap();
    Segment::create(names[2], 1 << 16).unwrap();
    println!("RESULT created");
}

/// Another user (uid 65534) cannot open a 0600 segment at all, cannot
/// open a 0666 one without opting in to foreign owners, can with the
/// opt-in, and cannot unlink either (sticky /dev/shm).
#[test]
fn another_user_cannot_use_or_remove_our_segments() {
    if !is_root() {
        eprintln!("skipped: needs root to run a worker as uid {NOBODY}");
        return;
    }
    let (private, seg) = temp_segment("priv", 1 << 16);
    Array::<u32>::create(&seg, "secret", 1)
        .unwrap()
        .set(0, 42)
        .unwrap();
    let shared = TempSeg {
        name: unique_name("shared"),
    };
    let seg2 = SegmentOptions::new()
        .mode(0o666)
        .create(&shared.name)
        .unwrap();
    Array::<u32>::create(&seg2, "open", 1)
        .unwrap()
        .set(0, 7)
        .unwrap();
    let Some(results) = run_as(
        NOBODY,
        "foreign_user_worker",
        &[
            ("SEC_PRIVATE", private.name.clone()),
            ("SEC_SHARED", shared.name.clone()),
        ],
    ) else {
        eprintln!("skipped: could not start the test binary as uid {NOBODY}");
        return;
    };
    assert_eq!(
        results,
        [
            "private_open=permission_denied",
            "private_unlink=refused",
            "shared_open=foreign_owner",
            "shared_opt_in=7",
            "shared_unlink=refused",
        ]
    );
    // Both still exist and are intact.
    assert_eq!(
        Array::<u32>::open(&private.open(), "secret")
            .unwrap()
            .get(0)
            .unwrap(),
        42
    );
    assert!(shared.path().exists());
}

#[test]
#[ignore = "worker of another_user_cannot_use_or_remove_our_segments"]
fn foreign_user_worker() {
    if !is_child() {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, NOBODY);
    let private = env_var("SEC_PRIVATE");
    let shared = env_var("SEC_SHARED");
    match Segment::open(&private) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::PermissionDenied => {
            println!("RESULT private_open=permission_denied")
        }
        other => println!("RESULT private_open={other:?}"),
    }
    match Segment::unlink(&private) {
        Err(_) => println!("RESULT private_unlink=refused"),
        Ok(()) => println!("RESULT private_unlink=REMOVED"),
    }
    match Segment::open(&shared) {
        Err(Error::ForeignOwner { owner: 0, uid, .. }) if uid == NOBODY => {
            println!("RESULT shared_open=foreign_owner")
        }
        other => println!("RESULT shared_open={other:?}"),
    }
    match SegmentOptions::new()
        .allow_foreign_owner(true)
        .open(&shared)
    {
        Ok(seg) => println!(
            "RESULT shared_opt_in={}",
            Array::<u32>::open(&seg, "open").unwrap().get(0).unwrap()
        ),
        Err(e) => println!("RESULT shared_opt_in={e}"),
    }
    match Segment::unlink(&shared) {
        Err(_) => println!("RESULT shared_unlink=refused"),
        Ok(()) => println!("RESULT shared_unlink=REMOVED"),
    }
}

// ---------------------------------------------------------------------------
// Foreign owner

#[test]
fn foreign_owned_segment_is_refused_unless_allowed() {
    if !is_root() {
        eprintln!("skipped: needs root to chown a segment to uid {NOBODY}");
        return;
    }
    let (t, seg) = temp_segment("foreign", 1 << 16);
    Array::<u64>::create(&seg, "v", 2)
        .unwrap()
        .set(1, 99)
        .unwrap();
    drop(seg);
    std::os::unix::fs::chown(t.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    assert_eq!(std::fs::metadata(t.path()).unwrap().uid(), NOBODY);

    match Segment::open(&t.name).unwrap_err() {
        Error::ForeignOwner {
            owner,
            uid,
            segment,
        } => {
            assert_eq!((owner, uid), (NOBODY, 0));
            assert_eq!(segment, t.name);
        }
        other => panic!("{other}"),
    }
    // open_or_create neither opens nor replaces it.
    assert!(matches!(
        SegmentOptions::new().open_or_create(&t.name).unwrap_err(),
        Error::ForeignOwner { .. }
    ));
    // The message says how to opt in.
    let msg = Segment::open(&t.name).unwrap_err().to_string();
    assert!(msg.contains("65534"), "{msg}");

    let seg = SegmentOptions::new()
        .allow_foreign_owner(true)
        .open(&t.name)
        .unwrap();
    assert_eq!(Array::<u64>::open(&seg, "v").unwrap().get(1).unwrap(), 99);
    // Owner unchanged by opening.
    assert_eq!(std::fs::metadata(t.path()).unwrap().uid(), NOBODY);
}

/// A hard link in /dev/shm to a file owned by someone else carries that
/// owner: refused like the file itself.
#[test]
fn hard_link_to_a_foreign_file_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to chown");
        return;
    }
    let (target, seg) = temp_segment("hl_target", 1 << 16);
    drop(seg);
    std::os::unix::fs::chown(target.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let link = TempSeg {
        name: unique_name("hl_link"),
    };
    std::fs::hard_link(target.path(), link.path()).unwrap();
    assert!(matches!(
        Segment::open(&link.name).unwrap_err(),
        Error::ForeignOwner { owner: NOBODY, .. }
    ));
}

// ---------------------------------------------------------------------------
// Names

#[test]
fn names_never_reach_outside_dev_shm() {
    let outside = std::env::temp_dir().join(format!("zeroipc-sec-{}", std::process::id()));
    std::fs::write(&outside, b"keep").unwrap();
    let rel = format!("../..{}", outside.display());
    for bad in [
        rel.as_str(),
        "/../etc/passwd",
        "../shm2",
        "/a/../b",
        "//x",
        "/./x",
        "x/",
        "/x\0y",
    ] {
        assert!(
            matches!(
                Segment::create(bad, 1 << 16).unwrap_err(),
                Error::InvalidSegmentName { .. }
            ),
            "create {bad:?}"
        );
        assert!(
            matches!(
                Segment::open(bad).unwrap_err(),
                Error::InvalidSegmentName { .. }
            ),
            "open {bad:?}"
        );
        assert!(
            matches!(
                Segment::unlink(bad).unwrap_err(),
                Error::InvalidSegmentName { .. }
            ),
            "unlink {bad:?}"
        );
        assert!(zeroipc::segment::shm_path(bad).is_err(), "shm_path {bad:?}");
    }
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
    std::fs::remove_file(&outside).unwrap();

    // 255 bytes (NAME_MAX) is the longest; odd but legal characters are fine.
    let long = format!(
        "/{}",
        "n".repeat(255 - 12) + &format!("{:012}", std::process::id())
    );
    assert_eq!(long.len(), 256);
    let t = TempSeg { name: long.clone() };
    Segment::create(&t.name, 1 << 16).unwrap();
    assert_eq!(t.path().file_name().unwrap().len(), 255);
    let t2 = TempSeg {
        name: unique_name("sp ace é"),
    };
    Segment::create(&t2.name, 1 << 16).unwrap();
    assert!(Segment::open(&t2.name).is_ok());
}

/// Composite structures add suffixes to their name (`_header`, `_state`,
/// `_sem`...): a name whose longest part exceeds 31 bytes is refused before
/// anything is allocated, and nothing is left behind.
#[test]
fn long_composite_names_are_refused_without_leaks() {
    let (_t, seg) = temp_segment("compname", 1 << 16);
    let before = (seg.header().next_offset, seg.entries().unwrap().len());
    let n24 = "c".repeat(24); // + "_header"/"_buffer" = 31: fits
    let n25 = "c".repeat(25); // 32: does not
    let errs: Vec<(&str, Error)> = vec![
        (
            "channel",
            Channel::<i32>::create(&seg, &n25, 4).unwrap_err(),
        ),
        ("stream", Stream::<i32>::create(&seg, &n25, 4).unwrap_err()),
        ("rwlock", RwLock::create(&seg, &"r".repeat(26)).unwrap_err()),
        (
            "monitor",
            Monitor::create(&seg, &"m".repeat(26)).unwrap_err(),
        ),
        (
            "signal",
            Signal::<f64>::create(&seg, &"s".repeat(26), 0.0).unwrap_err(),
        ),
        (
            "event",
            Event::create(&seg, &"e".repeat(28), EventMode::ManualReset).unwrap_err(),
        ),
    ];
    for (kind, e) in errs {
        assert!(
            matches!(e, Error::InvalidStructureName { .. }),
            "{kind}: {e}"
        );
    }
    assert_eq!(
        (seg.header().next_offset, seg.entries().unwrap().len()),
        before,
        "a refused composite allocated something"
    );
    Channel::<i32>::create(&seg, &n24, 4).unwrap();
    assert!(Channel::<i32>::open(&seg, &n24).is_ok());
}

// ---------------------------------------------------------------------------
// Symlinks and other objects in /dev/shm

#[test]
fn symlink_out_of_dev_shm_is_never_followed() {
    let outside = std::env::temp_dir().join(format!("zeroipc-symt-{}", std::process::id()));
    // A valid segment image outside /dev/shm: even so it must not be used.
    let (src, seg) = temp_segment("symsrc", 1 << 16);
    drop(seg);
    std::fs::copy(src.path(), &outside).unwrap();
    let before = std::fs::read(&outside).unwrap();

    let link = TempSeg {
        name: unique_name("symout"),
    };
    std::os::unix::fs::symlink(&outside, link.path()).unwrap();
    let err = Segment::open(&link.name).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(
        matches!(
            SegmentOptions::new()
                .open_or_create(&link.name)
                .unwrap_err(),
            Error::Io { .. }
        ),
        "open_or_create must not create through the link"
    );
    assert!(matches!(
        Segment::create(&link.name, 1 << 16).unwrap_err(),
        Error::SegmentExists { .. }
    ));
    assert_eq!(std::fs::read(&outside).unwrap(), before, "target modified");

    // unlink removes the link itself (unlink(2) never follows), not the target.
    Segment::unlink(&link.name).unwrap();
    assert!(std::fs::symlink_metadata(link.path()).is_err());
    assert_eq!(std::fs::read(&outside).unwrap(), before);

    // create_replacing over a link: the link goes, a fresh regular file
    // appears, the target stays as it was.
    std::os::unix::fs::symlink(&outside, link.path()).unwrap();
    let fresh = SegmentOptions::new()
        .self_describing(false)
        .wake_registry(false)
        .create_replacing(&link.name)
        .unwrap();
    assert!(fresh.entries().unwrap().is_empty());
    assert!(std::fs::symlink_metadata(link.path())
        .unwrap()
        .file_type()
        .is_file());
    assert_eq!(std::fs::read(&outside).unwrap(), before);
    std::fs::remove_file(&outside).unwrap();
}

#[test]
fn dangling_symlink_creates_nothing_at_its_target() {
    let target = std::env::temp_dir().join(format!("zeroipc-dangle-{}", std::process::id()));
    let _ = std::fs::remove_file(&target);
    let link = TempSeg {
        name: unique_name("dangle"),
    };
    std::os::unix::fs::symlink(&target, link.path()).unwrap();
    // O_CREAT|O_EXCL fails on any existing name, a dangling link included.
    assert!(matches!(
        Segment::create(&link.name, 1 << 16).unwrap_err(),
        Error::SegmentExists { .. }
    ));
    assert!(SegmentOptions::new().open_or_create(&link.name).is_err());
    assert!(!target.exists(), "a file was created through the link");
}

#[test]
fn directories_and_fifos_are_refused_without_blocking() {
    let dir = TempSeg {
        name: unique_name("dir"),
    };
    std::fs::create_dir(dir.path()).unwrap();
    assert!(Segment::open(&dir.name).is_err());
    assert!(Segment::create(&dir.name, 1 << 16).is_err());
    std::fs::remove_dir(dir.path()).unwrap();

    let fifo = TempSeg {
        name: unique_name("fifo"),
    };
    let c = std::ffi::CString::new(fifo.path().to_str().unwrap()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let start = Instant::now();
    match Segment::open(&fifo.name).unwrap_err() {
        Error::CorruptTable { check, .. } => assert_eq!(check, "regular file"),
        other => panic!("{other}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "open of a FIFO blocked"
    );
}

// ---------------------------------------------------------------------------
// A hostile peer rewriting headers while we run

/// One structure and the operations to run on it, looped by one thread.
type Group = (&'static str, Box<dyn FnMut(&mut Ctx) + Send>);

/// Every structure kind, created with known types in one segment.
fn groups(seg: &Segment) -> Vec<Group> {
    macro_rules! g {
        ($name:literal, $create:expr, $ops:path) => {{
            let s = $create.unwrap();
            let f: Box<dyn FnMut(&mut Ctx) + Send> = Box::new(move |cx| $ops(&s, cx));
            ($name, f)
        }};
    }
    let a = Lazy::<f64>::constant(seg, "lz_a", 2.0).unwrap();
    vec![
        g!(
            "array",
            Array::<u32>::create(seg, "array", 64),
            exercise::ops_array
        ),
        g!(
            "queue",
            Queue::<i64>::create(seg, "queue", 16),
            exercise::ops_queue
        ),
        g!(
            "stack",
            Stack::<u32>::create(seg, "stack", 16),
            exercise::ops_stack
        ),
        g!(
            "map",
            Map::<i32, i64>::create(seg, "map", 8),
            exercise::ops_map
        ),
        g!("set", Set::<u64>::create(seg, "set", 8), exercise::ops_set),
        g!(
            "pool",
            Pool::<u64>::create(seg, "pool", 16),
            exercise::ops_pool
        ),
        g!(
            "ring",
            Ring::<u32>::create(seg, "ring", 16),
            exercise::ops_ring
        ),
        g!(
            "semaphore",
            Semaphore::create(seg, "sem", 2, 4),
            exercise::ops_semaphore
        ),
        g!("mutex", Mutex::create(seg, "mutex"), exercise::ops_mutex),
        g!(
            "barrier",
            Barrier::create(seg, "barrier", 3),
            exercise::ops_barrier
        ),
        g!("latch", Latch::create(seg, "latch", 5), exercise::ops_latch),
        g!("once", Once::create(seg, "once"), exercise::ops_once),
        g!(
            "event",
            Event::create(seg, "event", EventMode::ManualReset),
            exercise::ops_event
        ),
        g!(
            "rwlock",
            RwLock::create(seg, "rwlock"),
            exercise::ops_rwlock
        ),
        g!(
            "monitor",
            Monitor::create(seg, "monitor"),
            exercise::ops_monitor
        ),
        g!(
            "signal",
            Signal::<f64>::create(seg, "signal", 1.0),
            exercise::ops_signal
        ),
        g!(
            "future",
            Future::<i32>::create(seg, "future"),
            exercise::ops_future
        ),
        g!("lazy", Lazy::negate(seg, "lazy", &a), exercise::ops_lazy),
        g!(
            "stream",
            Stream::<i32>::create(seg, "stream", 16),
            exercise::ops_stream
        ),
        g!(
            "stream_void",
            StreamVoid::create(seg, "sv"),
            exercise::ops_stream_void
        ),
        g!(
            "channel",
            Channel::<i32>::create(seg, "chan", 8),
            exercise::ops_channel
        ),
        g!(
            "unbuffered",
            Channel::<i32>::create(seg, "unbuf", 0),
            exercise::ops_channel
        ),
    ]
}

/// The names `groups` registers (composites by their base name).
const ALL_NAMES: &[&str] = &[
    "array", "queue", "stack", "map", "set", "pool", "ring", "sem", "mutex", "barrier", "latch",
    "once", "event", "rwlock", "monitor", "signal", "future", "lazy", "lz_a", "stream", "sv",
    "chan", "unbuf",
];

/// How long the flipping peer runs (ms); `ZEROIPC_FLIP_MS` overrides.
fn flip_ms() -> u64 {
    std::env::var("ZEROIPC_FLIP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// What one looping thread did.
#[derive(Debug, Default)]
struct Tally {
    rounds: u64,
    ops: u64,
    opened: u64,
    refused: u64,
    panics: u64,
    slowest: Duration,
}

/// A real second process rewrites bytes of the table and of every
/// structure's header (and payload) with interesting values in a tight
/// loop, while this process runs every structure's operations, one thread
/// per structure (handles opened before the flipping started), plus a
/// thread that re-opens every structure by name (every kind, several
/// element types) and the whole segment, which read the changing table.
/// Every call must return; none may panic; the process must survive (a
/// wild access would kill it with SIGSEGV/SIGBUS, which no catch_unwind
/// can hide).
#[test]
fn peer_rewriting_headers_cannot_crash_us() {
    let (t, seg) = temp_segment("flip", 1 << 18);
    let groups = groups(&seg);
    let ms = flip_ms();

    // Watchdog: a hang fails loudly instead of stalling the suite.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        let limit = Duration::from_millis(ms) + Duration::from_secs(120);
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) {
                if start.elapsed() > limit {
                    eprintln!("peer_rewriting_headers_cannot_crash_us: hang after {limit:?}");
                    std::process::abort();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let child = spawn_worker(
        "flip_worker",
        &[("FLIP_SEG", t.name.clone()), ("FLIP_MS", ms.to_string())],
    );
    let start = Instant::now();
    let looping = |name: &'static str, mut f: Box<dyn FnMut(&mut Ctx) + Send>| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut cx = Ctx::new(Duration::from_millis(1), 4, true);
            // Skip calls that would sit out a stuck-slot bound on a slot
            // the peer just scribbled on (racy here: some still wait).
            cx.fast = true;
            let mut tally = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                cx.salt = tally.rounds;
                let t = Instant::now();
                if catch_unwind(AssertUnwindSafe(|| f(&mut cx))).is_err() {
                    tally.panics += 1;
                }
                tally.slowest = tally.slowest.max(t.elapsed());
                tally.rounds += 1;
            }
            tally.ops = cx.ops;
            tally.opened = cx.opened;
            tally.refused = cx.refused;
            (name, tally)
        })
    };
    let mut threads: Vec<_> = groups.into_iter().map(|(n, f)| looping(n, f)).collect();
    // Re-opens through the changing table.
    let reopen_seg = seg.clone();
    let seg_name = t.name.clone();
    let mut k = 0usize;
    threads.push(looping(
        "reopen",
        Box::new(move |cx: &mut Ctx| {
            let name = ALL_NAMES[k % ALL_NAMES.len()];
            k += 1;
            exercise::exercise_name(&reopen_seg, name, cx);
            match Segment::open(&seg_name) {
                Ok(s) => {
                    cx.opened += 1;
                    let _ = s.entries();
                    let _ = s.find("queue");
                    let _ = s.region("map");
                    exercise::exercise_name(&s, name, cx);
                }
                Err(_) => cx.refused += 1,
            }
        }),
    ));

    let results = worker_results(child);
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<(&str, Tally)> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    watchdog.join().unwrap();

    let figure = |key: &str| -> u64 {
        results
            .iter()
            .find_map(|r| r.strip_prefix(key).map(|v| v.parse().unwrap()))
            .expect("worker figure")
    };
    let (flips, restores) = (figure("flips="), figure("restores="));
    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(|(_, t)| f(t)).sum::<u64>();
    eprintln!(
        "flip test: peer made {flips} writes and {restores} restores in {ms} ms; in {elapsed:?} \
         we ran {} operation rounds, {} operations, {} opens ({} refused); panics {}",
        sum(|t| t.rounds),
        sum(|t| t.ops),
        sum(|t| t.opened),
        sum(|t| t.refused),
        sum(|t| t.panics),
    );
    for (name, t) in &tallies {
        eprintln!(
            "  {name:12} rounds {:8} ops {:9} panics {} slowest round {:?}",
            t.rounds, t.ops, t.panics, t.slowest
        );
    }
    let panicked: Vec<&str> = tallies
        .iter()
        .filter(|(_, t)| t.panics > 0)
        .map(|(n, _)| *n)
        .collect();
    assert!(panicked.is_empty(), "operations panicked: {panicked:?}");
    assert!(flips > 1000, "the peer barely ran: {flips} writes");
    for (name, t) in &tallies {
        assert!(t.rounds >= 1 && t.ops > 0, "{name} never ran");
    }
}

/// The flipping peer: maps the segment file itself and, until `FLIP_MS`
/// has passed, repeats: sometimes restore every byte of the table and the
/// structures to the state it found (so that the table stays plausible
/// often enough for re-opens to succeed and corrupted values are mixed
/// with sane ones), then write a burst of 1..=32 values: interesting
/// numbers (0, 1, all-ones, sign bits, odd, huge) or random ones, into the
/// table (offsets, sizes, names, header) or a structure's first 64 bytes
/// (capacities, element sizes, positions, free lists, states), or random
/// bytes anywhere in the data, then pause a few microseconds.
#[test]
#[ignore = "worker of peer_rewriting_headers_cannot_crash_us"]
fn flip_worker() {
    if !is_child() {
        return;
    }
    let name = env_var("FLIP_SEG");
    let ms: u64 = env_var("FLIP_MS").parse().unwrap();
    let seg = Segment::open(&name).unwrap();
    let entries = seg.entries().unwrap();
    let data_start = seg.data_start() as usize;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(zeroipc::segment::shm_path(&name).unwrap())
        .unwrap();
    let map = memmap2::MmapOptions::new().map_raw(&file).unwrap();
    let base = map.as_mut_ptr();
    let len = map.len();
    let headers: Vec<(usize, usize)> = entries
        .iter()
        .map(|e| (e.offset as usize, (e.size as usize).min(64)))
        .collect();
    let data_end = entries
        .iter()
        .map(|e| (e.offset + e.size) as usize)
        .max()
        .unwrap();
    assert!(data_end <= len);
    let mut snapshot = vec![0u8; data_end];
    // SAFETY: `data_end <= len` bytes of our own mapping into private memory.
    unsafe { std::ptr::copy_nonoverlapping(base, snapshot.as_mut_ptr(), data_end) };
    const VALUES: [u64; 12] = [
        0,
        1,
        2,
        3,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        u64::MAX,
        1 << 32,
        4097,
        1 << 20,
        i64::MIN as u64,
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let deadline = Instant::now() + Duration::from_millis(ms);
    let (mut flips, mut restores) = (0u64, 0u64);
    while Instant::now() < deadline {
        if rnd() % 4 == 0 {
            // SAFETY: the snapshot's `data_end` bytes go back where they
            // came from, inside our mapping.
            unsafe { std::ptr::copy_nonoverlapping(snapshot.as_ptr(), base, data_end) };
            restores += 1;
        }
        for _ in 0..1 + rnd() % 32 {
            let r = rnd();
            let v = if r % 4 == 0 {
                rnd()
            } else {
                VALUES[(r >> 8) as usize % VALUES.len()]
            };
            let (at, wide) = match (r >> 16) % 10 {
                // Table header and entries (offsets, sizes, names).
                0 | 1 => ((rnd() as usize % data_start) & !3, r & 1 == 0),
                // Structure headers.
                2..=7 => {
                    let (off, n) = headers[rnd() as usize % headers.len()];
                    (off + ((rnd() as usize % n.max(4)) & !3), r & 1 == 0)
                }
                // Anywhere in the data.
                _ => (data_start + rnd() as usize % (data_end - data_start), false),
            };
            // SAFETY: every write is inside our own mapping of the file
            // (checked against `len`) at its natural alignment; the other
            // process sharing these bytes is the subject of this test.
            unsafe {
                if wide && at % 8 == 0 && at + 8 <= len {
                    base.add(at).cast::<u64>().write_volatile(v);
                } else if at % 4 == 0 && at + 4 <= len && r & 2 == 0 {
                    base.add(at).cast::<u32>().write_volatile(v as u32);
                } else if at < len {
                    base.add(at).write_volatile(v as u8);
                }
            }
            flips += 1;
        }
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_micros(20) {
            std::hint::spin_loop();
        }
    }
    println!("RESULT flips={flips}");
    println!("RESULT restores={restores}");
}

// ---------------------------------------------------------------------------
// The one way a peer with write access can still hurt us

/// Known limitation, pinned: a process that may write the segment file
/// can also `ftruncate` it. Pages of our mapping past the new end then
/// raise SIGBUS on access, which bounds checks cannot prevent (the
/// mapping's length was right when it was made). Same-user peers are
/// trusted not to do this; other users cannot (0600, foreign owners
/// refused). Shown with a real victim process, which must die of SIGBUS.
#[test]
fn truncation_by_a_peer_kills_a_reader_with_sigbus() {
    use std::os::unix::process::ExitStatusExt;
    let (t, seg) = temp_segment("trunc", 1 << 16);
    let a = Array::<u64>::create(&seg, "a", 4096).unwrap();
    let child = spawn_worker("truncate_victim_worker", &[("TRUNC_SEG", t.name.clone())]);
    // The victim has mapped the segment once it writes 1 to a[0].
    let start = Instant::now();
    while a.get(0).unwrap() != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "victim never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(t.path())
        .unwrap();
    f.set_len(4096).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGBUS),
        "expected the victim to die of SIGBUS: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    // A fresh open refuses the truncated segment (memory_size > file).
    assert!(matches!(
        Segment::open(&t.name).unwrap_err(),
        Error::CorruptTable { .. }
    ));
}

#[test]
#[ignore = "worker of truncation_by_a_peer_kills_a_reader_with_sigbus"]
fn truncate_victim_worker() {
    if !is_child() {
        return;
    }
    let seg = Segment::open(&env_var("TRUNC_SEG")).unwrap();
    let a = Array::<u64>::open(&seg, "a").unwrap();
    a.set(0, 1).unwrap();
    let start = Instant::now();
    let mut sum = 0u64;
    while start.elapsed() < Duration::from_secs(10) {
        sum = sum.wrapping_add(a.get(4000).unwrap());
    }
    println!("RESULT survived {sum}");
}
