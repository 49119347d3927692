//! Shared machinery of the harness: configuration, child processes, CPU
//! pinning, the control block children synchronise on, timing, medians and
//! the report tables.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use zeroipc::region::Region;
use zeroipc::{Segment, SegmentOptions};

/// Environment variable that turns a process into a harness child:
/// `role segment arg...` separated by spaces.
pub const CHILD_ENV: &str = "ZEROIPC_BENCH_CHILD";
/// CPU a child pins itself to (absent: no pinning).
pub const CPU_ENV: &str = "ZEROIPC_BENCH_CPU";

/// How to start a child: the example re-executes itself; the smoke test
/// re-executes the test binary running its ignored `bench_child` test.
#[derive(Clone, Debug)]
pub struct Launcher {
    /// Executable.
    pub exe: PathBuf,
    /// Arguments before nothing else (the role travels in the environment).
    pub args: Vec<String>,
}

impl Launcher {
    /// This very executable, no arguments.
    pub fn current() -> Launcher {
        Launcher {
            exe: std::env::current_exe().expect("current_exe"),
            args: Vec::new(),
        }
    }

    /// Starts a child with `role` (`role seg args...`), pinned to `cpu`.
    pub fn spawn(&self, role: &str, cpu: Option<usize>) -> Child {
        self.spawn_io(role, cpu, Stdio::null())
    }

    /// As [`Launcher::spawn`], with a pipe on the child's stdin.
    pub fn spawn_with_stdin(&self, role: &str, cpu: Option<usize>) -> Child {
        self.spawn_io(role, cpu, Stdio::piped())
    }

    fn spawn_io(&self, role: &str, cpu: Option<usize>, stdin: Stdio) -> Child {
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args)
            .env(CHILD_ENV, role)
            .stdin(stdin)
            .stdout(Stdio::null());
        match cpu {
            Some(c) => cmd.env(CPU_ENV, c.to_string()),
            None => cmd.env_remove(CPU_ENV),
        };
        cmd.spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", self.exe))
    }
}

/// What to run and how big.
#[derive(Clone, Debug)]
pub struct Cfg {
    /// Small sizes, few runs, no compile-time measurement: for the smoke test.
    pub tiny: bool,
    /// Runs per measurement; medians are taken over them.
    pub runs: usize,
    /// Child launcher.
    pub launcher: Launcher,
    /// Measure the derive's compile time (takes minutes).
    pub compile: bool,
    /// Run the numpy scan (needs python3 with numpy).
    pub numpy: bool,
    /// Measure only these keys (empty: everything); see `--help`.
    pub only: Vec<String>,
}

impl Cfg {
    /// `full` in a full run, `tiny` in tiny mode.
    pub fn n(&self, full: usize, tiny: usize) -> usize {
        if self.tiny {
            tiny
        } else {
            full
        }
    }

    /// Whether the measurement `key` is selected.
    pub fn wants(&self, key: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|k| k == key)
    }

    /// How long any single wait may take before the run is declared hung.
    pub fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(if self.tiny { 20 } else { 300 })
    }
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `set` is a plain bitmask struct owned here; sched_getaffinity
    // writes at most `size_of::<cpu_set_t>()` bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Pins the calling thread to `cpu`; false when the kernel refuses.
pub fn pin(cpu: usize) -> bool {
    // SAFETY: as in `allowed_cpus`; `set` is fully initialised by zeroed().
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Lets the calling thread run on every CPU in `cpus` again.
pub fn unpin(cpus: &[usize]) {
    // SAFETY: as in `pin`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Two distinct CPUs for the two sides of a measurement, if there are two.
pub fn cpu_pair() -> (Option<usize>, Option<usize>) {
    let cpus = allowed_cpus();
    match cpus.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        [a] => (Some(*a), Some(*a)),
        [] => (None, None),
    }
}

/// Runs `f` with the calling thread pinned to `cpu`, then unpins.
pub fn pinned<R>(cpu: Option<usize>, f: impl FnOnce() -> R) -> R {
    let all = allowed_cpus();
    if let Some(c) = cpu {
        pin(c);
    }
    let r = f();
    if cpu.is_some() {
        unpin(&all);
    }
    r
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A segment created for one measurement and unlinked on drop.
pub struct TempSeg {
    /// Its name.
    pub name: String,
    /// The mapping.
    pub seg: Segment,
}

impl TempSeg {
    /// A fresh segment of `size` bytes with room for `entries` structures
    /// and a control block named `ctl`.
    pub fn new(tag: &str, size: u64, entries: u32) -> TempSeg {
        let name = format!(
            "/zeroipc-bench-{}-{tag}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let seg = SegmentOptions::new()
            .size(size)
            // `entries` slots for the benchmark's own structures, plus one
            // for the waiter registry (kept: blocked calls wake by futex).
            .max_entries(entries + 1)
            .self_describing(false)
            .create_replacing(&name)
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        seg.register("ctl", CTL_BYTES, |_| Ok(()))
            .expect("ctl block");
        TempSeg { name, seg }
    }

    /// The control block.
    pub fn ctl(&self) -> Ctl {
        Ctl(self.seg.region("ctl").expect("ctl"))
    }
}

impl Drop for TempSeg {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.name);
    }
}

const CTL_WORDS: usize = 24;
const CTL_BYTES: u64 = 64 * CTL_WORDS as u64;

/// The control block: one u64 per cache line.
pub struct Ctl(pub Region);

/// Children set GO's waiters free.
pub const GO: usize = 0;
/// Children that are ready (counter).
pub const READY: usize = 1;
/// Children that are done (counter).
pub const DONE: usize = 2;
/// Shared counter for the lock benchmarks.
pub const COUNTER: usize = 3;
/// The ping-pong word of the floor.
pub const PING: usize = 4;
/// First result word; child `i` writes `RESULT + i`.
pub const RESULT: usize = 8;

impl Ctl {
    /// Word `i`.
    pub fn w(&self, i: usize) -> &AtomicU64 {
        assert!(i < CTL_WORDS);
        self.0.atomic_u64(64 * i)
    }

    /// Child side: announce readiness and wait for GO.
    pub fn ready_and_wait(&self, deadline: Instant) {
        self.w(READY).fetch_add(1, Ordering::SeqCst);
        spin_until(deadline, || self.w(GO).load(Ordering::Acquire) != 0)
            .expect("child: GO never came");
    }
}

/// Spins until `f()`; yields to the scheduler now and then when it takes
/// long (the machine may have fewer free cores than spinners). `Err` after
/// `deadline`.
#[inline]
pub fn spin_until(deadline: Instant, mut f: impl FnMut() -> bool) -> Result<(), String> {
    let mut n = 0u32;
    loop {
        if f() {
            return Ok(());
        }
        n = n.wrapping_add(1);
        if n % 1024 == 0 {
            if Instant::now() > deadline {
                return Err("timed out waiting for the peer".into());
            }
            if n >= 1 << 16 {
                std::thread::yield_now();
            }
        }
        std::hint::spin_loop();
    }
}

/// Children of one measurement; killed if still alive on drop.
pub struct Children(pub Vec<Child>);

impl Children {
    /// Starts every role (role string without the segment, which is
    /// inserted as the second word) with its CPU.
    pub fn start(cfg: &Cfg, ts: &TempSeg, roles: &[(String, Option<usize>)]) -> Children {
        let kids = roles
            .iter()
            .map(|(r, cpu)| {
                let mut words = r.splitn(2, ' ');
                let role = words.next().unwrap_or_default();
                let rest = words.next().unwrap_or_default();
                cfg.launcher
                    .spawn(&format!("{role} {} {rest}", ts.name), *cpu)
            })
            .collect();
        let kids = Children(kids);
        let ctl = ts.ctl();
        let n = roles.len() as u64;
        let deadline = cfg.deadline();
        let mut me = kids;
        spin_until(deadline, || {
            ctl.w(READY).load(Ordering::Acquire) >= n || me.any_failed()
        })
        .expect("children never became ready");
        assert!(!me.any_failed(), "a benchmark child failed during start-up");
        me
    }

    fn any_failed(&mut self) -> bool {
        self.0
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(Some(s)) if !s.success()))
    }

    /// Waits for every child to exit successfully.
    pub fn finish(mut self, deadline: Instant) -> Result<(), String> {
        let mut kids = std::mem::take(&mut self.0);
        for c in kids.iter_mut() {
            loop {
                match c.try_wait() {
                    Ok(Some(s)) if s.success() => break,
                    Ok(Some(s)) => return Err(format!("benchmark child failed: {s}")),
                    Ok(None) if Instant::now() > deadline => {
                        return Err("benchmark child hung".into())
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Ok(())
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in self.0.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Median (upper median for an even count) of `v`.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        f64::NAN
    } else {
        s[s.len() / 2]
    }
}

/// Runs `step(i)` for `i in 0..warm + rounds` and returns the nanoseconds
/// per step of the fastest of (up to) 100 equal slices (about 1000 steps each) of the timed rounds.
/// Preemption by other jobs on the machine only ever adds time, so the
/// fastest slice is the figure least disturbed by them; subject and
/// baseline are always measured the same way.
#[inline]
pub fn sliced(warm: u64, rounds: u64, mut step: impl FnMut(u64)) -> f64 {
    for i in 0..warm {
        step(i);
    }
    let slices = (rounds / 1000).clamp(rounds.min(10), 100).max(1);
    let per = rounds / slices;
    let mut times = Vec::with_capacity(slices as usize);
    let mut i = warm;
    for _ in 0..slices {
        let t = Instant::now();
        for _ in 0..per {
            step(i);
            i += 1;
        }
        times.push(t.elapsed().as_nanos() as f64 / per.max(1) as f64);
    }
    // The peer of a ping-pong expects exactly warm + rounds steps.
    while i < warm + rounds {
        step(i);
        i += 1;
    }
    if std::env::var_os("ZEROIPC_BENCH_TRACE").is_some() {
        let mut s = times.clone();
        s.sort_by(f64::total_cmp);
        eprintln!(
            "  slices {}x{per}: min {:.1} p25 {:.1} median {:.1} max {:.1} ns",
            s.len(),
            s[0],
            s[s.len() / 4],
            s[s.len() / 2],
            s[s.len() - 1]
        );
    }
    times.into_iter().fold(f64::INFINITY, f64::min)
}

/// Nanoseconds per call of `f` over `iters` calls (fastest slice, see
/// [`sliced`]).
#[inline]
pub fn ns_per_op(iters: usize, mut f: impl FnMut(usize)) -> f64 {
    sliced(0, iters as u64, |i| f(i as usize))
}

/// The best of `k` trials of a `(subject, baseline)` measurement, each
/// component separately: the largest for rates, the smallest for times.
pub fn best_of(k: usize, rates: bool, mut f: impl FnMut() -> (f64, f64)) -> (f64, f64) {
    let pick = |a: f64, b: f64| if rates { a.max(b) } else { a.min(b) };
    let mut best = f();
    for _ in 1..k {
        let r = f();
        best = (pick(best.0, r.0), pick(best.1, r.1));
    }
    best
}

/// What a number measures, for formatting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    /// Nanoseconds (per operation).
    Ns,
    /// Microseconds (per operation).
    Us,
    /// Seconds.
    Secs,
    /// Items per second.
    PerSec,
    /// Bytes per second.
    BytesPerSec,
}

/// Formats `v` in `unit`.
pub fn fmt_value(v: f64, unit: Unit) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    match unit {
        Unit::Ns => format!("{v:.1} ns"),
        Unit::Us => format!("{v:.1} µs"),
        Unit::Secs => format!("{v:.2} s"),
        Unit::PerSec => format!("{:.2} M/s", v / 1e6),
        Unit::BytesPerSec => format!("{:.2} GB/s", v / 1e9),
    }
}

/// A ratio with three significant digits, e.g. `1.23x`, `0.00412x`.
pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "n/a".into()
    } else if r >= 0.1 {
        format!("{r:.2}x")
    } else {
        let digits = (2 - r.log10().floor() as i32).clamp(2, 12) as usize;
        format!("{r:.digits$}x")
    }
}

/// A target on a ratio.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The ratio must not exceed this (times, lower is better).
    AtMost(f64),
    /// The ratio must reach this (rates, higher is better).
    AtLeast(f64),
}

impl Target {
    fn met(self, r: f64) -> bool {
        match self {
            Target::AtMost(t) => r <= t,
            Target::AtLeast(t) => r >= t,
        }
    }

    fn text(self) -> String {
        match self {
            Target::AtMost(t) => format!("<= {t:.1}x"),
            Target::AtLeast(t) => format!(">= {t:.1}x"),
        }
    }
}

/// One measured line: a figure, its same-run baseline, their ratio.
pub struct Row {
    /// What was measured.
    pub what: String,
    /// Median of the figure.
    pub value: f64,
    /// Unit of `value` and `base`.
    pub unit: Unit,
    /// What the baseline is.
    pub base_what: String,
    /// Median of the baseline.
    pub base: f64,
    /// Median over runs of value / baseline, each from the same run.
    pub ratio: f64,
    /// Target on the ratio, if the issue sets one.
    pub target: Option<Target>,
    /// Number of runs (0: not measured, the row is left out).
    pub runs: usize,
}

impl Row {
    /// A row from per-run `(value, baseline)` pairs.
    pub fn from_runs(
        what: impl Into<String>,
        unit: Unit,
        base_what: impl Into<String>,
        runs: &[(f64, f64)],
        target: Option<Target>,
    ) -> Row {
        let v: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let b: Vec<f64> = runs.iter().map(|r| r.1).collect();
        let q: Vec<f64> = runs.iter().map(|r| r.0 / r.1).collect();
        Row {
            what: what.into(),
            value: median(&v),
            unit,
            base_what: base_what.into(),
            base: median(&b),
            ratio: median(&q),
            target,
            runs: runs.len(),
        }
    }
}

/// The report, as Markdown.
#[derive(Default)]
pub struct Report {
    /// Text so far.
    pub out: String,
    /// `(section, what, ratio, target, met)` for every row with a target.
    pub targets: Vec<(String, String, f64, Target, bool)>,
    section: String,
    in_table: bool,
}

/// Every section title, in order (the smoke test checks each is present).
pub const SECTIONS: &[&str] = &[
    "## 0. Machine",
    "## 1. Floor: cache-line hand-off between two processes",
    "## 2. Queue one-way latency between two processes",
    "## 3. Queue throughput",
    "## 4. Structures",
    "## 5. Array bulk read and numpy scan",
    "## 6. Segments",
    "## 7. Derive compile time",
    "## 8. Wake-up latency",
    "## 9. Batches",
    "## Targets",
];

impl Report {
    /// Starts section `i` of [`SECTIONS`].
    pub fn section(&mut self, i: usize) {
        self.end_table();
        if std::env::var_os("ZEROIPC_BENCH_TRACE").is_some() {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
            eprintln!("[{t:7.2} s] {}", SECTIONS[i]);
        }
        self.section = SECTIONS[i].trim_start_matches("## ").to_owned();
        let _ = writeln!(self.out, "\n{}\n", SECTIONS[i]);
    }

    /// A paragraph.
    pub fn note(&mut self, text: &str) {
        self.end_table();
        let _ = writeln!(self.out, "{text}\n");
    }

    fn end_table(&mut self) {
        if self.in_table {
            self.out.push('\n');
            self.in_table = false;
        }
    }

    /// A table row (starting the table if needed).
    pub fn row(&mut self, r: Row) {
        if r.runs == 0 {
            return;
        }
        if !self.in_table {
            self.out.push_str(
                "| measurement | median | baseline (same run) | baseline median | ratio | target |\n\
                 |---|---:|---|---:|---:|---|\n",
            );
            self.in_table = true;
        }
        let verdict = match r.target {
            Some(t) => {
                let met = t.met(r.ratio);
                self.targets
                    .push((self.section.clone(), r.what.clone(), r.ratio, t, met));
                format!("{} {}", t.text(), if met { "met" } else { "**MISSED**" })
            }
            None => String::new(),
        };
        let _ = writeln!(
            self.out,
            "| {} | {} | {} | {} | {} | {} |",
            r.what,
            fmt_value(r.value, r.unit),
            r.base_what,
            fmt_value(r.base, r.unit),
            fmt_ratio(r.ratio),
            verdict
        );
    }

    /// Records a target measured outside [`Report::row`] (a section with a
    /// table of its own) for the summary; returns whether it is met.
    pub fn push_target(&mut self, section: &str, what: &str, ratio: f64, t: Target) -> bool {
        let met = t.met(ratio);
        self.targets
            .push((section.to_owned(), what.to_owned(), ratio, t, met));
        met
    }

    /// A row that could not be measured, with the reason.
    pub fn missing(&mut self, what: &str, why: &str) {
        self.end_table();
        let _ = writeln!(self.out, "- {what}: not measured ({why})\n");
    }

    /// The closing summary of every target.
    pub fn summary(&mut self) {
        self.section(SECTIONS.len() - 1);
        if self.targets.is_empty() {
            self.note("No target was measured in this run.");
            return;
        }
        self.out
            .push_str("| section | measurement | ratio | target | |\n|---|---|---:|---|---|\n");
        let mut met = 0;
        for (s, w, r, t, ok) in &self.targets {
            met += usize::from(*ok);
            let _ = writeln!(
                self.out,
                "| {s} | {w} | {} | {} | {} |",
                fmt_ratio(*r),
                t.text(),
                if *ok { "met" } else { "**MISSED**" }
            );
        }
        let _ = writeln!(
            self.out,
            "\n{met} of {} targets met in this run.",
            self.targets.len()
        );
    }
}
