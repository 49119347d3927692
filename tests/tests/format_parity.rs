//! The format catalogue (`zeroipc::format`) against the two other copies
//! of the format in zeroipc-gen, which cannot be dev-dependencies of the
//! runtime (zeroipc-gen depends on zeroipc):
//!
//! - the schema compiler's `schema::kinds`: kind names, element use,
//!   parameters, and `entries` (names and sizes of every table entry) for
//!   every kind, a spread of element layouts and stored capacities;
//! - the inspector's `inspect::decode`: the part roles and names of every
//!   kind (`Kind::part_names`), and its decoders, given the element types,
//!   accept the bytes the runtime creates for every kind without reporting
//!   a problem (each decoder checks its size formula against the entry).

use zeroipc::format::{ElemLayout, ElementUse, Shape, StructureKind as K};
use zeroipc::layout::TypeLayout;
use zeroipc::ShmElement;
use zeroipc_cli::inspect::decode::{self, Ctx, Kind as IKind, Types};
use zeroipc_cli::inspect::source::View;
use zeroipc_gen::schema::kinds::{self, Params, StructureKind as StructKind};

/// Element layouts the comparisons run over.
fn layouts() -> Vec<&'static TypeLayout> {
    vec![
        u8::LAYOUT,
        u16::LAYOUT,
        u32::LAYOUT,
        u64::LAYOUT,
        i16::LAYOUT,
        f32::LAYOUT,
        f64::LAYOUT,
        <[u8; 3]>::LAYOUT,
        <[u16; 3]>::LAYOUT,
        <[i32; 3]>::LAYOUT,
        <[u64; 2]>::LAYOUT,
        <[u8; 13]>::LAYOUT,
        <[f32; 5]>::LAYOUT,
    ]
}

/// Map values: at most 8 bytes.
fn value_layouts() -> Vec<&'static TypeLayout> {
    layouts().into_iter().filter(|t| t.size <= 8).collect()
}

const CAPACITIES: [u64; 10] = [0, 1, 2, 3, 7, 8, 9, 64, 100, 1000];

fn elem(t: &TypeLayout) -> ElemLayout {
    ElemLayout::from_type_layout(t).expect("a valid layout")
}

fn compiler_kind(k: K) -> StructKind {
    StructKind::from_name(k.name()).unwrap_or_else(|| panic!("compiler has no kind {k}"))
}

#[test]
fn kind_lists_names_element_use_and_params_agree() {
    assert_eq!(K::ALL.len(), StructKind::ALL.len());
    for (k, c) in K::ALL.into_iter().zip(StructKind::ALL) {
        assert_eq!(k.name(), c.name(), "same order, same names");
        assert_eq!(K::from_name(c.name()), Some(k));
        assert_eq!(k.element_use(), c.element_use(), "{k}");
        assert_eq!(k.params(), c.params(), "{k} params");
        assert!(k.params().iter().all(|p| !p.meaning.is_empty()), "{k}");
    }
}

/// Table entries as (name, size), in creation order.
type Listing = Vec<(String, u64)>;

/// Both copies' entries for one instance; the catalogue's error, if any,
/// is returned instead.
fn both(
    k: K,
    t: Option<&TypeLayout>,
    v: Option<&TypeLayout>,
    stored: u64,
) -> Result<(Listing, Listing), String> {
    let shape = Shape {
        elem: t.map(elem),
        value: v.map(elem),
        capacity: stored,
    };
    let ours = k.parts(&shape).map_err(|e| e.to_string())?;
    let ours: Listing = ours.iter().map(|p| (p.entry_name("x"), p.size)).collect();
    let p = Params {
        capacity: stored,
        ..Params::default()
    };
    let theirs = kinds::entries(compiler_kind(k), "x", t, v, &p).unwrap_or_else(|e| {
        panic!("{k} {shape:?}: the compiler refuses ({e}), the catalogue does not")
    });
    Ok((ours, theirs))
}

#[test]
fn compiler_entries_equal_the_catalogues_parts() {
    let mut compared = 0;
    let mut refused = 0;
    for k in K::ALL {
        let mut caps: Vec<u64> = CAPACITIES
            .iter()
            .filter_map(|&c| k.stored_capacity(c))
            .collect();
        caps.dedup(); // requests that store the same capacity
        let mut run = |t, v, cap| match both(k, t, v, cap) {
            Ok((ours, theirs)) => {
                assert_eq!(ours, theirs, "{k} {t:?} {v:?} capacity {cap}");
                compared += 1;
            }
            Err(_) => refused += 1,
        };
        match k.element_use() {
            ElementUse::None => run(None, None, 0),
            ElementUse::Required | ElementUse::Optional => {
                if k.element_use() == ElementUse::Optional {
                    run(None, None, 0); // Stream<void>
                }
                for t in layouts() {
                    for &cap in &caps {
                        run(Some(t), None, cap);
                    }
                }
            }
            ElementUse::KeyValue => {
                for key in layouts() {
                    for v in value_layouts() {
                        for &cap in &caps {
                            run(Some(key), Some(v), cap);
                        }
                    }
                }
            }
        }
    }
    // Every capacity `stored_capacity` accepts is one `parts` lays out.
    assert_eq!(
        refused, 0,
        "every stored capacity is one the catalogue lays out"
    );
    assert!(compared > 1000, "compared {compared}");
    eprintln!("{compared} instances compared");
}

#[test]
fn inspector_part_names_are_the_catalogues() {
    let u = elem(u32::LAYOUT);
    for k in K::ALL {
        let shapes: Vec<Shape> = match k.element_use() {
            ElementUse::None => vec![Shape::NONE],
            ElementUse::KeyValue => vec![Shape::key_value(u, u, 4)],
            ElementUse::Required if k == K::Channel => vec![Shape::of(u, 0), Shape::of(u, 4)],
            ElementUse::Required => vec![Shape::of(u, 4)],
            ElementUse::Optional => vec![Shape::of(u, 4)],
        };
        let ik = IKind::parse(k.name()).unwrap_or_else(|| panic!("inspector has no kind {k}"));
        let mut ours: Vec<(&str, String)> = Vec::new();
        for s in &shapes {
            for p in k.parts(s).expect("valid shape").iter() {
                if !ours.iter().any(|(r, _)| *r == p.role) {
                    ours.push((p.role, p.entry_name("b")));
                }
            }
        }
        let theirs = ik.part_names("b");
        assert_eq!(
            {
                let mut o = ours.clone();
                o.sort();
                o
            },
            {
                let mut t = theirs.clone();
                t.sort();
                t
            },
            "{k}"
        );
    }
    let void = K::Stream.parts(&Shape::NONE).expect("stream<void>");
    let ours: Vec<(&str, String)> = void.iter().map(|p| (p.role, p.entry_name("b"))).collect();
    assert_eq!(ours, IKind::StreamVoid.part_names("b"));
}

// ------------------------------------------------------------ inspector decoding

struct Tmp(String, zeroipc::Segment);

impl Drop for Tmp {
    fn drop(&mut self) {
        let r = zeroipc::Segment::unlink(&self.0);
        if !std::thread::panicking() {
            r.unwrap_or_else(|e| panic!("unlink {}: {e}", self.0));
        }
    }
}

fn fresh() -> Tmp {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "/zeroipc-fmtpar-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let seg = zeroipc::Segment::options()
        .size(1 << 20)
        .max_entries(8)
        .create(&name)
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    Tmp(name, seg)
}

/// Decodes structure `s` of `seg` (created as `k` of `shape`) with the
/// inspector, given its types, and checks it found no problem.
fn inspect(seg: &zeroipc::Segment, k: K, shape: &Shape, types: Types, what: &str) {
    let parts = k.parts(shape).expect("valid shape");
    let views: Vec<(&'static str, View)> = parts
        .iter()
        .map(|p| {
            let name = p.entry_name("s");
            let region = seg.region(&name).unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut bytes = vec![0u8; region.len()];
            region.read_bytes(0, &mut bytes);
            (p.role, View::from_bytes(&name, bytes))
        })
        .collect();
    let ik = if k == K::Stream && shape.elem.is_none() {
        IKind::StreamVoid
    } else {
        IKind::parse(k.name()).expect("inspector kind")
    };
    let ctx = Ctx {
        parts: &views,
        types,
        want: None,
        deep: true,
    };
    let d = decode::decode(ik, &ctx).unwrap_or_else(|e| panic!("{what}: inspector refuses: {e}"));
    assert_eq!(d.problems, Vec::<String>::new(), "{what}");
    if let Some(e) = shape.elem.filter(|_| k != K::Map) {
        if let Some(es) = d.elem_size {
            assert_eq!(es, e.size(), "{what}: element size");
        }
    }
}

fn typed<T: ShmElement>(caps: &[usize]) -> usize {
    let t = ElemLayout::of::<T>();
    let types = Types {
        elem: Some(T::LAYOUT),
        source: "option",
        ..Types::default()
    };
    let zero = zeroipc::element::from_bytes::<T>(&vec![0u8; size_of::<T>()]).expect("bytes");
    let ty = std::any::type_name::<T>();
    let mut n = 0;
    for &cap in caps {
        let mut one = |k: K, stored: u64, create: &dyn Fn(&zeroipc::Segment) -> bool| {
            let tmp = fresh();
            assert!(create(&tmp.1), "{k}<{ty}> {cap}: runtime refuses");
            inspect(
                &tmp.1,
                k,
                &Shape::of(t, stored),
                types,
                &format!("{k}<{ty}> capacity {cap}"),
            );
            n += 1;
        };
        let st = |k: K| k.stored_capacity(cap as u64).expect("accepted");
        one(K::Array, st(K::Array), &|s| {
            zeroipc::Array::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Queue, st(K::Queue), &|s| {
            zeroipc::Queue::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Stack, st(K::Stack), &|s| {
            zeroipc::Stack::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Set, st(K::Set), &|s| {
            zeroipc::Set::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Pool, st(K::Pool), &|s| {
            zeroipc::Pool::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Ring, st(K::Ring), &|s| {
            zeroipc::Ring::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Stream, st(K::Stream), &|s| {
            zeroipc::Stream::<T>::create(s, "s", cap).is_ok()
        });
        one(K::Channel, st(K::Channel), &|s| {
            zeroipc::Channel::<T>::create(s, "s", cap).is_ok()
        });
    }
    let mut one = |k: K, create: &dyn Fn(&zeroipc::Segment) -> bool| {
        let tmp = fresh();
        assert!(create(&tmp.1), "{k}<{ty}>: runtime refuses");
        inspect(&tmp.1, k, &Shape::of(t, 0), types, &format!("{k}<{ty}>"));
        n += 1;
    };
    one(K::Channel, &|s| {
        zeroipc::Channel::<T>::create(s, "s", 0).is_ok()
    });
    one(K::Signal, &|s| {
        zeroipc::Signal::<T>::create(s, "s", zero).is_ok()
    });
    one(K::Future, &|s| zeroipc::Future::<T>::create(s, "s").is_ok());
    n
}

#[test]
fn inspector_decodes_what_the_runtime_creates() {
    let caps = [1usize, 2, 3, 8, 100];
    let mut n = 0;
    n += typed::<u8>(&caps);
    n += typed::<u32>(&caps);
    n += typed::<f64>(&caps);
    n += typed::<[u8; 3]>(&caps);
    n += typed::<[u16; 3]>(&caps);
    n += typed::<[i32; 3]>(&caps);
    n += typed::<[u64; 2]>(&caps);
    assert_eq!(n, 7 * (caps.len() * 8 + 3));
    // Map: key and value types given.
    for cap in [1usize, 7, 64] {
        let tmp = fresh();
        zeroipc::Map::<[u16; 3], f64>::create(&tmp.1, "s", cap).expect("map");
        let types = Types {
            elem: None,
            key: Some(<[u16; 3]>::LAYOUT),
            value: Some(f64::LAYOUT),
            source: "option",
        };
        let shape = Shape::key_value(
            ElemLayout::of::<[u16; 3]>(),
            ElemLayout::of::<f64>(),
            cap as u64,
        );
        inspect(
            &tmp.1,
            K::Map,
            &shape,
            types,
            &format!("map capacity {cap}"),
        );
    }
    // Lazy: primitives only.
    for (t, create) in [
        (
            i32::LAYOUT,
            (|s| zeroipc::Lazy::<i32>::constant(s, "s", 3).is_ok())
                as fn(&zeroipc::Segment) -> bool,
        ),
        (u8::LAYOUT, |s| {
            zeroipc::Lazy::<u8>::constant(s, "s", 3).is_ok()
        }),
        (f64::LAYOUT, |s| {
            zeroipc::Lazy::<f64>::constant(s, "s", 1.5).is_ok()
        }),
    ] {
        let tmp = fresh();
        assert!(create(&tmp.1));
        let types = Types {
            elem: Some(t),
            source: "option",
            ..Types::default()
        };
        inspect(
            &tmp.1,
            K::Lazy,
            &Shape::of(elem(t), 0),
            types,
            &format!("lazy<{}>", t.name),
        );
    }
    // The kinds without element types.
    type Make = fn(&zeroipc::Segment) -> bool;
    let untyped: [(K, Make); 10] = [
        (K::Semaphore, |s| {
            zeroipc::Semaphore::create(s, "s", 1, 4).is_ok()
        }),
        (K::Mutex, |s| zeroipc::Mutex::create(s, "s").is_ok()),
        (K::Barrier, |s| zeroipc::Barrier::create(s, "s", 2).is_ok()),
        (K::Latch, |s| zeroipc::Latch::create(s, "s", 2).is_ok()),
        (K::Once, |s| zeroipc::Once::create(s, "s").is_ok()),
        (K::Event, |s| {
            zeroipc::Event::create(s, "s", zeroipc::EventMode::AutoReset).is_ok()
        }),
        (K::Event, |s| {
            zeroipc::Event::create(s, "s", zeroipc::EventMode::ManualReset).is_ok()
        }),
        (K::RwLock, |s| zeroipc::RwLock::create(s, "s").is_ok()),
        (K::Monitor, |s| zeroipc::Monitor::create(s, "s").is_ok()),
        (K::Stream, |s| zeroipc::StreamVoid::create(s, "s").is_ok()),
    ];
    for (k, create) in untyped {
        let tmp = fresh();
        assert!(create(&tmp.1), "{k}: runtime refuses");
        inspect(&tmp.1, k, &Shape::NONE, Types::default(), k.name());
    }
}
