//! The cross-language value pattern, used by zeroipc-gen's emitter tests
//! and the integration tests (`tests/`): a deterministic value pattern over
//! any layout, implemented identically here, in `pattern.py` and in the C++
//! check programs this module generates, so three languages can check each
//! other's writes field by field.
//!
//! Leaves are the scalar positions of an element in depth-first order
//! (struct fields in order, array elements in row-major order); leaf `k` of
//! element `i` for seed `s` gets `n = i*131 + k*17 + s*7919` and from it:
//! unsigned ints `(n * 2654435761) mod 2^w`, signed ints the same bits,
//! f32 `n % 1000 + 0.5`, f64 `n % 100000 + 0.25`, fixed strings
//! `"v{n}"` cut to the capacity, enums the `n % (len+1)`-th value where the
//! extra slot is a value outside the enum (openness is tested too).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use zeroipc::layout::{Kind, Prim, TypeLayout};

/// What a leaf holds.
#[derive(Debug, Clone)]
pub enum LeafKind {
    Prim(Prim),
    Str(usize),
    Enum(Prim, Vec<i64>),
}

/// One scalar position of an element.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub offset: usize,
    pub kind: LeafKind,
    /// C++ access suffix, e.g. `.pos.x` or `.hist[1][2]`.
    pub cpp: String,
}

pub fn leaves(t: &'static TypeLayout) -> Vec<Leaf> {
    let mut out = Vec::new();
    walk(t, 0, String::new(), &mut out);
    out
}

fn walk(t: &'static TypeLayout, off: usize, path: String, out: &mut Vec<Leaf>) {
    match t.kind {
        Kind::Prim(p) => out.push(Leaf {
            offset: off,
            kind: LeafKind::Prim(p),
            cpp: path,
        }),
        Kind::FixedStr { len } => out.push(Leaf {
            offset: off,
            kind: LeafKind::Str(len),
            cpp: path,
        }),
        Kind::OpenEnum { repr, variants } => out.push(Leaf {
            offset: off,
            kind: LeafKind::Enum(repr, variants.iter().map(|v| v.value).collect()),
            cpp: path,
        }),
        Kind::Array { elem, len } => {
            for j in 0..len {
                walk(elem, off + j * elem.size, format!("{path}[{j}]"), out);
            }
        }
        Kind::Struct { fields } => {
            for f in fields {
                walk(
                    f.layout,
                    off + f.offset,
                    format!("{path}.{}", zeroipc_gen::emit::cpp::cpp_ident(f.name)),
                    out,
                );
            }
        }
    }
}

pub fn n_of(seed: u64, i: u64, k: u64) -> u64 {
    i * 131 + k * 17 + seed * 7919
}

pub fn unknown_enum_value(values: &[i64]) -> i64 {
    (100..).find(|v| !values.contains(v)).unwrap()
}

/// The bytes of leaf value `n`.
pub fn leaf_bytes(kind: &LeafKind, n: u64) -> Vec<u8> {
    match kind {
        LeafKind::Prim(p) => match p {
            Prim::F32 => (((n % 1000) as f32) + 0.5).to_le_bytes().to_vec(),
            Prim::F64 => (((n % 100000) as f64) + 0.25).to_le_bytes().to_vec(),
            _ => n.wrapping_mul(2654435761).to_le_bytes()[..p.size()].to_vec(),
        },
        LeafKind::Str(cap) => {
            let mut b = format!("v{n}").into_bytes();
            b.truncate(*cap);
            b.resize(*cap, 0);
            b
        }
        LeafKind::Enum(repr, values) => {
            let m = (n % (values.len() as u64 + 1)) as usize;
            let v = if m < values.len() {
                values[m]
            } else {
                unknown_enum_value(values)
            };
            v.to_le_bytes()[..repr.size()].to_vec()
        }
    }
}

/// The pattern bytes of element `i`.
pub fn element_bytes(t: &'static TypeLayout, seed: u64, i: u64) -> Vec<u8> {
    let mut b = vec![0u8; t.size];
    for (k, leaf) in leaves(t).iter().enumerate() {
        let v = leaf_bytes(&leaf.kind, n_of(seed, i, k as u64));
        b[leaf.offset..leaf.offset + v.len()].copy_from_slice(&v);
    }
    b
}

/// Fills every element of an array with the pattern.
pub fn fill_array<T: zeroipc::ShmElement>(a: &zeroipc::Array<T>, seed: u64) {
    for i in 0..a.len() {
        let b = element_bytes(T::LAYOUT, seed, i as u64);
        a.set(i, zeroipc::element::from_bytes::<T>(&b).unwrap())
            .unwrap();
    }
}

/// Checks every element; the message names the first wrong leaf.
pub fn verify_array<T: zeroipc::ShmElement>(
    a: &zeroipc::Array<T>,
    seed: u64,
) -> Result<(), String> {
    let ls = leaves(T::LAYOUT);
    for i in 0..a.len() {
        let got = a.get(i).unwrap();
        let got = zeroipc::element::bytes_of(&got);
        for (k, leaf) in ls.iter().enumerate() {
            let want = leaf_bytes(&leaf.kind, n_of(seed, i as u64, k as u64));
            let have = &got[leaf.offset..leaf.offset + want.len()];
            if have != want.as_slice() {
                return Err(format!(
                    "{:?}[{i}]{}: got bytes {have:?}, expected {want:?} (seed {seed})",
                    a.region().name(),
                    leaf.cpp
                ));
            }
        }
    }
    Ok(())
}

fn cpp_type(p: Prim) -> &'static str {
    match p {
        Prim::U8 => "std::uint8_t",
        Prim::U16 => "std::uint16_t",
        Prim::U32 => "std::uint32_t",
        Prim::U64 => "std::uint64_t",
        Prim::I8 => "std::int8_t",
        Prim::I16 => "std::int16_t",
        Prim::I32 => "std::int32_t",
        Prim::I64 => "std::int64_t",
        Prim::F32 => "float",
        Prim::F64 => "double",
    }
}

/// C++ source of `bool check_<fn_name>(const T* a, size_t len, uint64_t seed)`
/// and `void write_<fn_name>(T* a, size_t len, uint64_t seed)` for the
/// element type spelt `cpp_type_name` with layout `t`. Needs <cstring>,
/// <cstdio>, <cstdint>, <string>. Prints the first mismatch to stderr.
pub fn cpp_pattern_functions(fn_name: &str, cpp_type_name: &str, t: &'static TypeLayout) -> String {
    let ls = leaves(t);
    let mut chk = String::new();
    let mut wr = String::new();
    for (k, leaf) in ls.iter().enumerate() {
        let acc = format!("a[i]{}", leaf.cpp);
        let n = format!("(i * 131u + {k}u * 17u + seed * 7919u)");
        match &leaf.kind {
            LeafKind::Prim(p) => {
                let ty = cpp_type(*p);
                let expr = match p {
                    Prim::F32 => format!("static_cast<float>({n} % 1000u) + 0.5f"),
                    Prim::F64 => format!("static_cast<double>({n} % 100000u) + 0.25"),
                    _ => format!("static_cast<{ty}>({n} * 2654435761ULL)"),
                };
                let _ = writeln!(chk, "        {{ {ty} w = {expr}; if (std::memcmp(&{acc}, &w, sizeof w) != 0) {{ std::fprintf(stderr, \"{fn_name}[%zu]{}: mismatch\\n\", i); return false; }} }}", leaf.cpp);
                let _ = writeln!(
                    wr,
                    "        {{ {ty} w = {expr}; std::memcpy(&{acc}, &w, sizeof w); }}"
                );
            }
            LeafKind::Str(cap) => {
                let s = format!("char w[{}]; std::memset(w, 0, sizeof w); std::string s = \"v\" + std::to_string({n}); std::memcpy(w, s.data(), s.size() < sizeof w ? s.size() : sizeof w);", cap + 1);
                let _ = writeln!(chk, "        {{ {s} if (std::memcmp({acc}, w, {cap}) != 0) {{ std::fprintf(stderr, \"{fn_name}[%zu]{}: string mismatch\\n\", i); return false; }} }}", leaf.cpp);
                let _ = writeln!(wr, "        {{ {s} std::memcpy({acc}, w, {cap}); }}");
            }
            LeafKind::Enum(repr, values) => {
                let ty = cpp_type(*repr);
                let mut table: Vec<String> = values
                    .iter()
                    .map(|v| format!("static_cast<{ty}>({v}LL)"))
                    .collect();
                table.push(format!(
                    "static_cast<{ty}>({}LL)",
                    unknown_enum_value(values)
                ));
                let expr = format!(
                    "[&]{{ const {ty} t[] = {{{}}}; return t[{n} % {}u]; }}()",
                    table.join(", "),
                    table.len()
                );
                let _ = writeln!(chk, "        {{ {ty} w = {expr}; if (std::memcmp(&{acc}, &w, sizeof w) != 0) {{ std::fprintf(stderr, \"{fn_name}[%zu]{}: enum mismatch\\n\", i); return false; }} }}", leaf.cpp);
                let _ = writeln!(
                    wr,
                    "        {{ {ty} w = {expr}; std::memcpy(&{acc}, &w, sizeof w); }}"
                );
            }
        }
    }
    format!(
        "[[maybe_unused]] static bool check_{fn_name}(const {cpp_type_name}* a, std::size_t len, std::uint64_t seed) {{\n    for (std::size_t i = 0; i < len; ++i) {{\n{chk}    }}\n    return true;\n}}\n\n[[maybe_unused]] static void write_{fn_name}({cpp_type_name}* a, std::size_t len, std::uint64_t seed) {{\n    for (std::size_t i = 0; i < len; ++i) {{\n{wr}    }}\n}}\n"
    )
}

pub const PATTERN_PY: &str = include_str!("pattern.py");

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zeroipc-gen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs a command, panicking with its output on failure; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

pub fn python(dir: &Path, script: &str, args: &[&str]) -> String {
    std::fs::write(dir.join("pattern.py"), PATTERN_PY).unwrap();
    let path = dir.join("_test_script.py");
    std::fs::write(&path, script).unwrap();
    run(Command::new("python3")
        .arg(&path)
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1"))
}

pub const CXX_FLAGS: &[&str] = &[
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-O0",
];

/// Compiles `src` (written to dir/name.cpp) with the strict flags; returns the binary path.
pub fn gxx(dir: &Path, name: &str, src: &str) -> PathBuf {
    let cpp = dir.join(format!("{name}.cpp"));
    std::fs::write(&cpp, src).unwrap();
    let bin = dir.join(name);
    run(Command::new("g++")
        .args(CXX_FLAGS)
        .arg("-I")
        .arg(dir)
        .arg(&cpp)
        .arg("-o")
        .arg(&bin));
    bin
}

pub fn unique_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "/zeroipc-gen-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Unlinks the segment on drop.
pub struct Unlink(pub String);
impl Drop for Unlink {
    fn drop(&mut self) {
        let _ = zeroipc::Segment::unlink(&self.0);
    }
}
