//! Byte-level decoders, one per structure kind (docs/FORMAT.md §3-§4; offsets and formulas from `zeroipc::format`).
//!
//! A decoder reads a structure's header through bounds-checked [`View`]s,
//! checks that the header describes the entry exactly (the size formula of
//! its kind), and returns its fields, a one-line summary, optionally the
//! contents (read without changing anything: no pop, no consume) and the
//! state problems it saw. `Err` means "these bytes are not this kind": the
//! classifier uses that to guess kinds. Every count or index read from the
//! segment is checked against the entry before it is used for an offset,
//! and every size computation is checked arithmetic, so a hostile segment
//! gives an error or a problem line, never a panic.

use super::source::View;
use super::types::{default_for_size, raw_bytes, type_name};
use super::value::{decode as decode_value, Value};
use zeroipc::format::map::KeyLayout;
use zeroipc::format::{
    array, barrier, channel, event, future, latch, lazy, map, monitor, once, pool, queue, ring,
    rwlock, semaphore, set, signal, stack, stream, ElemLayout, ElementUse, Shape,
    StructureKind as SK, MARKER_SIZE,
};
use zeroipc::layout::{Prim, TypeLayout};
use zeroipc::raw::{
    RawArray, RawChannel, RawFuture, RawLazy, RawMap, RawPool, RawQueue, RawRing, RawSet,
    RawSignal, RawStack, RawStream,
};
use zeroipc::LazyOp;

/// What the inspector can find in a table entry: one of the format
/// catalogue's structure kinds, or one of the entries that are not
/// structures of the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A structure kind of the format catalogue (`zeroipc::format`).
    Structure(SK),
    /// `Stream<void>` (an event counter; the catalogue's Stream without an
    /// element type).
    StreamVoid,
    /// The `__schema` entry of zeroipc-gen segments.
    Schema,
    /// The `__zeroipc_kinds` self-description entry of our runtime.
    SelfDescription,
    /// The `__zeroipc_waiters` waiter registry of our runtime (sleeper
    /// counts per table slot).
    WaiterRegistry,
    /// A 1-byte marker entry that belongs to no composite.
    Marker,
    /// Nothing matched.
    Unknown,
}

impl Kind {
    /// Every kind: the catalogue's 20 in its order, then the others.
    pub const ALL: [Kind; 26] = {
        let mut all = [Kind::Unknown; 26];
        let mut i = 0;
        while i < SK::ALL.len() {
            all[i] = Kind::Structure(SK::ALL[i]);
            i += 1;
        }
        all[20] = Kind::StreamVoid;
        all[21] = Kind::Schema;
        all[22] = Kind::SelfDescription;
        all[23] = Kind::WaiterRegistry;
        all[24] = Kind::Marker;
        all
    };

    /// Lower-case name used in output and on the command line (the
    /// catalogue's name for a structure kind).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Structure(k) => k.name(),
            Kind::StreamVoid => "stream_void",
            Kind::Schema => "schema",
            Kind::SelfDescription => "self_description",
            Kind::WaiterRegistry => "waiter_registry",
            Kind::Marker => "marker",
            Kind::Unknown => "unknown",
        }
    }

    /// Parses a kind name (as printed; `rw_lock` and `streamvoid` too).
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.to_ascii_lowercase().replace(['-', ' '], "_");
        let s = match s.as_str() {
            "rw_lock" => "rwlock",
            "streamvoid" | "stream<void>" => "stream_void",
            other => other,
        };
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The table entries of a structure of this kind named `base`, with
    /// their roles, in creation order, from the catalogue's parts. Channel
    /// lists both `_buffer` and `_slot`; only one of them exists.
    pub fn part_names(self, base: &str) -> Vec<(&'static str, String)> {
        let mut names: Vec<(&'static str, String)> = Vec::new();
        for shape in self.stand_in_shapes() {
            let Some(k) = self.structure_kind() else {
                break;
            };
            for p in k.parts(&shape).iter().flat_map(|parts| parts.iter()) {
                if !names.iter().any(|(role, _)| *role == p.role) {
                    names.push((p.role, p.entry_name(base)));
                }
            }
        }
        if names.is_empty() {
            names.push(("main", base.to_owned()));
        }
        names
    }

    /// The catalogue kind (`Stream<void>` is the catalogue's Stream).
    pub fn structure_kind(self) -> Option<SK> {
        match self {
            Kind::Structure(k) => Some(k),
            Kind::StreamVoid => Some(SK::Stream),
            _ => None,
        }
    }

    /// Shapes that give every part this kind can have (sizes do not
    /// matter): byte elements, and a channel both buffered and not.
    fn stand_in_shapes(self) -> Vec<Shape> {
        let byte = ElemLayout::of::<u8>();
        match self {
            Kind::StreamVoid => vec![Shape::NONE],
            Kind::Structure(k) => match k.element_use() {
                ElementUse::None => vec![Shape::NONE],
                ElementUse::KeyValue => vec![Shape::key_value(byte, byte, 1)],
                ElementUse::Required | ElementUse::Optional => {
                    let mut caps = vec![k.stored_capacity(1).unwrap_or(0)];
                    if k == SK::Channel {
                        caps.push(0);
                    }
                    caps.into_iter().map(|c| Shape::of(byte, c)).collect()
                }
            },
            _ => Vec::new(),
        }
    }

    /// True for kinds whose header states its element size and whose entry
    /// size follows exactly from it (a unique match of such a kind is
    /// reported as certain).
    pub fn self_describing(self) -> bool {
        matches!(
            self,
            Kind::Structure(SK::Queue | SK::Stack | SK::Map | SK::Set | SK::Pool | SK::Ring)
        )
    }
}

/// Element types, when known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Types {
    /// Element (or value of Signal/Future/Lazy) type.
    pub elem: Option<&'static TypeLayout>,
    /// Map key type.
    pub key: Option<&'static TypeLayout>,
    /// Map value type.
    pub value: Option<&'static TypeLayout>,
    /// Where they come from: `"schema"`, `"option"` (--type), or `""`.
    pub source: &'static str,
}

/// The decoded contents of a structure: items in a documented order.
#[derive(Debug, Clone)]
pub struct Contents {
    /// What the order is (`"pop order, oldest first"`).
    pub order: &'static str,
    /// Items in the structure (before any range or limit).
    pub total: u64,
    /// The items shown.
    pub items: Vec<Item>,
}

/// One item of [`Contents`].
#[derive(Debug, Clone)]
pub struct Item {
    /// Array index, slot or node index.
    pub index: u64,
    /// Map key.
    pub key: Option<Value>,
    /// The value.
    pub value: Value,
}

/// What a decoder found.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// Header and state fields, in layout order.
    pub fields: Vec<(String, Value)>,
    /// One line for tables and `watch`.
    pub summary: String,
    /// Element capacity, when the kind has one.
    pub capacity: Option<u64>,
    /// Element size in bytes, when known.
    pub elem_size: Option<u64>,
    /// Items in use, when the kind has a fill.
    pub fill: Option<u64>,
    /// The type(s) used to show values, e.g. `"i32"` or `"i32 -> f64"`.
    pub type_desc: Option<String>,
    /// True when the value type was guessed from a size.
    pub type_guessed: bool,
    /// Contents, when asked for.
    pub contents: Option<Contents>,
    /// State problems (one line each).
    pub problems: Vec<String>,
    /// How strongly the bytes look like this kind beyond fitting (used to
    /// break ties between guesses).
    pub evidence: i32,
}

/// Which items to return.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    /// Item range `[a, b)` in the contents order (array: indices).
    pub range: Option<(u64, u64)>,
    /// At most this many items (0 = no limit).
    pub limit: u64,
}

/// The input of a decoder.
pub struct Ctx<'a> {
    /// The structure's entries by role.
    pub parts: &'a [(&'static str, View)],
    /// Known types.
    pub types: Types,
    /// Contents wanted (None: header only).
    pub want: Option<Want>,
    /// Run the expensive consistency checks (side arrays, free lists, slots).
    pub deep: bool,
}

impl Ctx<'_> {
    fn part(&self, role: &str) -> Result<&View, String> {
        self.parts
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("missing part {role}"))
    }

    fn main(&self) -> Result<&View, String> {
        self.part("main")
    }

    /// Positions `[a, b)` of `total` items to return, and whether it was cut.
    fn window(&self, total: u64) -> Option<(u64, u64)> {
        let w = self.want?;
        let (mut a, mut b) = w.range.unwrap_or((0, total));
        b = b.min(total);
        a = a.min(b);
        if w.limit > 0 && b - a > w.limit {
            b = a + w.limit;
        }
        Some((a, b))
    }
}

type R<T> = Result<T, String>;

fn f(name: &str, v: Value) -> (String, Value) {
    (name.to_owned(), v)
}
fn u(x: impl Into<u64>) -> Value {
    Value::UInt(x.into())
}
fn i(x: impl Into<i64>) -> Value {
    Value::Int(x.into())
}
fn named(v: u64, names: &[&str]) -> Value {
    Value::Enum(v as i64, names.get(v as usize).map(|s| (*s).to_owned()))
}

pub use zeroipc::format::align_up;

/// An element of `size` bytes as the catalogue's formulas take it; the
/// alignment is irrelevant to the formulas it is used with here (entry
/// sizes that depend only on the size).
fn sized(size: u64) -> R<ElemLayout> {
    ElemLayout::new(size, 1).ok_or_else(|| format!("element size {size} is not a valid layout"))
}

/// The catalogue's layout of element type `t`.
fn elem_of(t: &TypeLayout) -> R<ElemLayout> {
    ElemLayout::from_type_layout(t)
        .ok_or_else(|| format!("{} is not a layout the format can hold", type_name(t)))
}

/// An element of `size` bytes aligned to `align` (a candidate alignment).
fn laid_out(size: u64, align: u64) -> Option<ElemLayout> {
    ElemLayout::new(size, align)
}

/// Alignments a C type of `size` bytes may have, most likely first.
fn align_candidates(size: u64, known: Option<&TypeLayout>) -> Vec<u64> {
    if let Some(t) = known {
        return vec![t.align as u64];
    }
    [8u64, 4, 2, 1]
        .into_iter()
        .filter(|a| size % a == 0)
        .collect()
}

/// The value type to show elements of `es` bytes with.
fn elem_type(
    types: &Types,
    given: Option<&'static TypeLayout>,
    es: u64,
    what: &str,
) -> R<(&'static TypeLayout, bool)> {
    match given {
        Some(t) if t.size as u64 != es => Err(format!(
            "{} type {} is {} bytes, but the header says {what} {es}",
            if types.source == "schema" {
                "schema"
            } else {
                "the"
            },
            type_name(t),
            t.size
        )),
        Some(t) => Ok((t, false)),
        None => Ok((
            default_for_size(es as usize).unwrap_or_else(|| raw_bytes(es as usize)),
            true,
        )),
    }
}

fn read_value(v: &View, off: u64, t: &TypeLayout) -> R<Value> {
    Ok(decode_value(t, &v.bytes(off, t.size as u64)?))
}

/// Reads `n` elements of stride `stride` starting at `off` in one copy.
fn read_block(v: &View, off: u64, n: u64, stride: u64) -> R<Vec<u8>> {
    let len = n
        .checked_mul(stride)
        .ok_or_else(|| "element block size overflows".to_owned())?;
    v.bytes(off, len)
}

fn type_desc(t: &TypeLayout) -> String {
    type_name(t)
}

fn pct(a: u64, b: u64) -> String {
    if b == 0 {
        "0%".to_owned()
    } else {
        format!("{}%", (a as u128 * 100 / b as u128))
    }
}

// ---------------------------------------------------------------- Array

fn array(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let cap = v.u64(array::CAPACITY)?;
    let data = v.size - array::DATA;
    let (es, t, guessed) = match ctx.types.elem {
        Some(t) => {
            if array::entry_size(cap, elem_of(t)?) != Some(v.size) {
                return Err(format!(
                    "capacity {cap} x {} bytes ({}) does not match the {data} data bytes",
                    t.size,
                    type_name(t)
                ));
            }
            (Some(t.size as u64), Some(t), false)
        }
        None if cap == 0 => {
            if data != 0 {
                return Err(format!("capacity 0 but {data} data bytes"));
            }
            (None, None, true)
        }
        None => {
            if data % cap != 0 || data / cap == 0 {
                return Err(format!(
                    "{data} data bytes are not a whole number of {cap} elements"
                ));
            }
            let es = data / cap;
            let (t, g) = elem_type(&ctx.types, None, es, "element size")?;
            (Some(es), Some(t), g)
        }
    };
    let mut d = Decoded {
        fields: vec![f("capacity", u(cap))],
        capacity: Some(cap),
        elem_size: es,
        type_desc: t.map(type_desc),
        type_guessed: guessed,
        summary: format!("{cap} elements"),
        ..Default::default()
    };
    if let Some(es) = es {
        d.fields.push(f("elem_size", u(es)));
    }
    if let (Some(t), Some(es), Some((a, b))) = (t, es, ctx.window(cap)) {
        // The runtime's array gives the elements when it opens the entry
        // (with the recorded layout, else the --type); the bytes are read
        // directly only for a file or an array it refuses.
        let given = ctx.types.elem.and_then(|t| elem_of(t).ok());
        let runtime = runtime_items(v, |seg, name| {
            RawArray::open(seg, name, given).map(|r| r.items())
        });
        let items = contents_items(v, runtime, (a, b), |k| k, |k| array::DATA + k * es, t)?;
        d.contents = Some(Contents {
            order: "index order",
            total: cap,
            items,
        });
    }
    Ok(d)
}

// ---------------------------------------------------------------- Queue

/// The smallest stored queue capacity the runtime opens: the catalogue's
/// [`queue::MIN_CAPACITY`]. With one slot, Vyukov's sequence numbers
/// cannot tell "value published for ticket t" (t + 1) from "slot free for
/// ticket t + 1" (t + capacity), and pushes overwrite unread values.
///
/// ```
/// use zeroipc_cli::inspect::decode::MIN_QUEUE_CAPACITY;
/// let name = format!("/zeroipc-doc-mincap-{}", std::process::id());
/// let seg = zeroipc::Segment::create(&name, 1 << 16)?;
/// // Asked for one slot, the runtime stores the smallest capacity it opens.
/// let q = zeroipc::Queue::<u64>::create(&seg, "q", 1)?;
/// assert_eq!(q.capacity() as u64, MIN_QUEUE_CAPACITY);
/// zeroipc::Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub const MIN_QUEUE_CAPACITY: u64 = queue::MIN_CAPACITY;

/// A queue's (or ring's) values as the runtime reports them, asked only when
/// contents are wanted: `None` when it cannot be asked or refuses.
type RuntimeItems<'a> = &'a dyn Fn() -> Option<Vec<Vec<u8>>>;

fn queue_on(
    v: &View,
    ctx: &Ctx,
    types_elem: Option<&'static TypeLayout>,
    runtime: RuntimeItems,
) -> R<Decoded> {
    let head = v.u32(queue::HEAD)?;
    let tail = v.u32(queue::TAIL)?;
    let cap = v.u32(queue::CAPACITY)? as u64;
    let es = v.u32(queue::ELEM_SIZE)? as u64;
    if cap == 0 || !cap.is_power_of_two() {
        return Err(format!("capacity {cap} is not a power of two"));
    }
    if es == 0 {
        return Err("elem_size is 0".to_owned());
    }
    let elem = sized(es)?;
    let seq_off = queue::seq_offset(cap, elem);
    let total = queue::entry_size(cap, elem);
    if total != Some(v.size) {
        return Err(format!(
            "capacity {cap} x elem_size {es} needs {} bytes, the entry has {}",
            total.map_or("too many".to_owned(), |t| t.to_string()),
            v.size
        ));
    }
    let seq_off = seq_off.expect("checked");
    let (t, guessed) = elem_type(&ctx.types, types_elem, es, "elem_size")?;
    let count = tail.wrapping_sub(head) as u64;
    let mut d = Decoded {
        fields: vec![
            f("head", u(head)),
            f("tail", u(tail)),
            f("capacity", u(cap)),
            f("elem_size", u(es)),
            f("size", u(count)),
        ],
        capacity: Some(cap),
        elem_size: Some(es),
        fill: Some(count),
        type_desc: Some(type_desc(t)),
        type_guessed: guessed,
        summary: format!("{count} of {cap} ({})", pct(count, cap)),
        ..Default::default()
    };
    if cap < MIN_QUEUE_CAPACITY {
        d.problems.push(format!(
            "stored capacity {cap}: Queue::open refuses it (a one-slot queue cannot tell a \
             full slot from a free one and loses values; the runtime stores at least \
             {MIN_QUEUE_CAPACITY})"
        ));
    }
    if count > cap {
        d.problems.push(format!(
            "tail {tail} - head {head} = {count} exceeds capacity {cap}"
        ));
        d.summary = format!("corrupt: tail - head = {count} > capacity {cap}");
        return Ok(d);
    }
    if ctx.deep {
        // Quiescent Vyukov invariant: positions p in [head, tail) hold an
        // element (seq == p + 1); positions in [tail, head + cap) are free
        // (seq == p). Anything else is an operation in flight or damage.
        let seq = v.bytes(seq_off, 4 * cap)?;
        let mut bad = 0;
        for k in 0..cap {
            let p = head.wrapping_add(k as u32);
            let slot = (p as u64 % cap) as usize;
            let s = u32::from_le_bytes(seq[slot * 4..slot * 4 + 4].try_into().expect("4"));
            let want = if k < count { p.wrapping_add(1) } else { p };
            if s != want {
                bad += 1;
                if bad <= 3 {
                    d.problems.push(format!(
                        "slot {slot}: sequence {s}, expected {want} ({}; an operation in flight or damage)",
                        if k < count { "holds an element" } else { "free" }
                    ));
                }
            }
        }
        if bad > 3 {
            d.problems.push(format!(
                "{} more slots with unexpected sequence numbers",
                bad - 3
            ));
        }
    }
    if let Some((a, b)) = ctx.window(count) {
        let slot_of = |k: u64| head.wrapping_add(k as u32) as u64 % cap;
        // The runtime's queue says which values are queued, in pop order;
        // the slots are read directly only when it cannot be asked (a file
        // read, or a queue the runtime refuses to open).
        let at = |k| queue::DATA + slot_of(k) * es;
        let items = contents_items(v, runtime(), (a, b), slot_of, at, t)?;
        d.contents = Some(Contents {
            order: "pop order, oldest first",
            total: count,
            items,
        });
    }
    Ok(d)
}

/// The values of a structure as the runtime's raw core reports them
/// (`open` runs on the segment the runtime mapped, by the entry's name);
/// `None` when the view was read from a file or the runtime refuses the
/// structure (the decoder then reads the bytes itself and reports why).
fn runtime_items(
    v: &View,
    open: impl FnOnce(&zeroipc::Segment, &str) -> zeroipc::Result<Vec<Vec<u8>>>,
) -> Option<Vec<Vec<u8>>> {
    open(v.segment()?, &v.name).ok()
}

/// What the runtime's raw core reports of the structure `name` when contents
/// are wanted (`get`) and the runtime mapped the segment and opens it;
/// `None` otherwise (the decoder then shows the bytes it read).
fn runtime_snapshot<T>(
    ctx: &Ctx,
    v: &View,
    name: &str,
    open: impl FnOnce(&zeroipc::Segment, &str) -> zeroipc::Result<T>,
) -> Option<T> {
    ctx.want?;
    open(v.segment()?, name).ok()
}

/// The catalogue layout of a type the user or the schema gave (`None` when
/// the type was guessed: the runtime then takes the recorded layout).
fn given_layout(ctx: &Ctx, guessed: bool, t: &TypeLayout) -> Option<ElemLayout> {
    (!guessed && ctx.types.elem.is_some())
        .then(|| elem_of(t).ok())
        .flatten()
}

/// A map's entries (key bytes, value bytes), or a set's members (value
/// bytes empty), in slot order.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A map's or set's entries as the runtime's raw core lists them (see
/// [`runtime_items`]).
fn runtime_pairs(
    v: &View,
    open: impl FnOnce(&zeroipc::Segment, &str) -> zeroipc::Result<Pairs>,
) -> Option<Pairs> {
    open(v.segment()?, &v.name).ok()
}

/// A pool's allocated nodes (index, bytes) as the runtime's pool lists them,
/// when the runtime mapped the segment and opens the entry as a pool.
fn runtime_nodes(v: &View) -> Option<Vec<(u32, Vec<u8>)>> {
    let pool = RawPool::open(v.segment()?, &v.name, None).ok()?;
    pool.items().ok()
}

/// Items `[a, b)` of a structure's contents (positions in its contents
/// order), each at index `index_of(position)`: from the runtime's values
/// when it reported them, else read at `at(position)` in the view.
fn contents_items(
    v: &View,
    runtime: Option<Vec<Vec<u8>>>,
    (a, b): (u64, u64),
    index_of: impl Fn(u64) -> u64,
    at: impl Fn(u64) -> u64,
    t: &TypeLayout,
) -> R<Vec<Item>> {
    match runtime {
        Some(values) => Ok(window_items(&values, a, b, index_of, t)),
        None => (a..b)
            .map(|k| {
                Ok(Item {
                    index: index_of(k),
                    key: None,
                    value: read_value(v, at(k), t)?,
                })
            })
            .collect(),
    }
}

/// Items `[a, b)` of `values` (positions in the contents order), each at
/// the index `index_of(position)`, decoded as `t`.
fn window_items(
    values: &[Vec<u8>],
    a: u64,
    b: u64,
    index_of: impl Fn(u64) -> u64,
    t: &TypeLayout,
) -> Vec<Item> {
    let end = (b as usize).min(values.len());
    let start = (a as usize).min(end);
    values[start..end]
        .iter()
        .zip(a..)
        .map(|(bytes, k)| Item {
            index: index_of(k),
            key: None,
            value: decode_value(t, bytes),
        })
        .collect()
}

fn queue(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let runtime = || {
        runtime_items(v, |seg, name| {
            RawQueue::open(seg, name, None).map(|q| q.items())
        })
    };
    queue_on(v, ctx, ctx.types.elem, &runtime)
}

// ---------------------------------------------------------------- Stack

fn stack(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let top = v.i32(stack::TOP)?;
    let cap = v.u32(stack::CAPACITY)? as u64;
    let es = v.u32(stack::ELEM_SIZE)? as u64;
    let reserved = v.u32(stack::RESERVED)?;
    if es == 0 || cap == 0 {
        return Err(format!("capacity {cap} / elem_size {es}"));
    }
    let elem = sized(es)?;
    let state_off = stack::state_offset(cap, elem);
    let total = stack::entry_size(cap, elem);
    if total != Some(v.size) {
        return Err(format!(
            "capacity {cap} x elem_size {es} needs {} bytes, the entry has {}",
            total.map_or("too many".to_owned(), |t| t.to_string()),
            v.size
        ));
    }
    let state_off = state_off.expect("checked");
    let (t, guessed) = elem_type(&ctx.types, ctx.types.elem, es, "elem_size")?;
    let mut d = Decoded {
        fields: vec![
            f("top", i(top)),
            f("capacity", u(cap)),
            f("elem_size", u(es)),
        ],
        capacity: Some(cap),
        elem_size: Some(es),
        type_desc: Some(type_desc(t)),
        type_guessed: guessed,
        evidence: i32::from(reserved == 0),
        ..Default::default()
    };
    if reserved != 0 {
        d.problems
            .push(format!("reserved word is {reserved}, expected 0"));
    }
    if top < -1 || top as i64 >= cap as i64 {
        d.problems
            .push(format!("top {top} outside [-1, {}]", cap as i64 - 1));
        d.summary = format!("corrupt: top {top}");
        return Ok(d);
    }
    let count = (top + 1) as u64;
    d.fields.push(f("size", u(count)));
    d.fill = Some(count);
    d.summary = format!("{count} of {cap} ({})", pct(count, cap));
    if ctx.deep {
        let states = v.bytes(state_off, 4 * cap)?;
        let names = ["EMPTY", "WRITING", "READY", "READING"];
        let mut bad = 0;
        for k in 0..cap as usize {
            let s = u32::from_le_bytes(states[k * 4..k * 4 + 4].try_into().expect("4"));
            let want = if (k as u64) < count { 2 } else { 0 };
            if s != want {
                bad += 1;
                if bad <= 3 {
                    d.problems.push(format!(
                        "slot {k}: state {} ({}), expected {}",
                        s,
                        names.get(s as usize).unwrap_or(&"invalid"),
                        names[want as usize]
                    ));
                }
            }
        }
        if bad > 3 {
            d.problems
                .push(format!("{} more slots in unexpected states", bad - 3));
        }
    }
    if let Some((a, b)) = ctx.window(count) {
        // The runtime's stack lists its values bottom first; pop order is
        // the reverse.
        let runtime = runtime_items(v, |seg, name| {
            RawStack::open(seg, name, None).map(|st| st.items().into_iter().rev().collect())
        });
        let n = runtime.as_ref().map_or(count, |values| values.len() as u64);
        let slot_of = |k: u64| n.saturating_sub(1 + k);
        let at = |k| stack::DATA + slot_of(k) * es;
        let items = contents_items(v, runtime, (a, b), slot_of, at, t)?;
        d.contents = Some(Contents {
            order: "pop order, top first",
            total: count,
            items,
        });
    }
    Ok(d)
}

// ---------------------------------------------------------------- Map / Set

/// Probe steps `check` spends verifying that every key is reachable.
const PROBE_BUDGET: u64 = 20_000_000;

/// The key hash of the format catalogue (the C++ reference hash) of a key
/// given by its layout and bytes; `None` for a layout the format cannot
/// hold.
pub fn key_hash_bytes(t: &TypeLayout, b: &[u8]) -> Option<u64> {
    KeyLayout::from_type_layout(t).map(|k| k.hash(b))
}

struct Slots {
    cap: u64,
    stride: u64,
    ko: u64,
    vo: u64,
}

/// Scans every slot: occupied list, state counts, problems.
#[allow(clippy::too_many_arguments)]
fn scan_slots(
    v: &View,
    s: &Slots,
    key_t: &TypeLayout,
    val_t: Option<&TypeLayout>,
    hash_known: bool,
    size_field: u64,
    d: &mut Decoded,
    deep: bool,
    want: Option<(u64, u64)>,
    label: &'static str,
    runtime: &dyn Fn() -> Option<Pairs>,
) -> R<()> {
    let need_all = deep || want.is_some();
    if !need_all {
        return Ok(());
    }
    let block = read_block(v, 16, s.cap, s.stride)?;
    let mut counts = [0u64; 5];
    let mut occupied = Vec::new();
    for k in 0..s.cap {
        let e = &block[(k * s.stride) as usize..((k + 1) * s.stride) as usize];
        let st = u32::from_le_bytes(e[..4].try_into().expect("4"));
        counts[(st as usize).min(4)] += 1;
        if st == 1 {
            occupied.push(k);
        } else if st > 3 && deep {
            d.problems.push(format!("slot {k}: invalid state {st}"));
        }
    }
    d.fields.push(f("occupied", u(counts[1])));
    d.fields.push(f("tombstones", u(counts[2])));
    if counts[3] > 0 {
        d.fields.push(f("inserting", u(counts[3])));
    }
    if deep {
        if counts[3] > 0 {
            d.problems.push(format!(
                "{} slots in state INSERTING (an insert in flight, or a writer died)",
                counts[3]
            ));
        }
        if counts[1] != size_field {
            d.problems.push(format!(
                "size field {size_field} but {} slots are OCCUPIED",
                counts[1]
            ));
        }
        if hash_known {
            // Every occupied key must be reachable from its home slot
            // without crossing an EMPTY slot, and appear once.
            let key_of = |k: u64| {
                let e = &block[(k * s.stride) as usize..((k + 1) * s.stride) as usize];
                e[s.ko as usize..s.ko as usize + key_t.size].to_vec()
            };
            let mut reported = 0;
            let mut budget = PROBE_BUDGET;
            for &k in &occupied {
                let kb = key_of(k);
                let Some(h) = key_hash_bytes(key_t, &kb) else {
                    break;
                };
                let home = h % s.cap;
                let mut steps = 0u64;
                let mut slot = home;
                let mut broken = None;
                if budget == 0 {
                    // Not a problem of the segment: stop checking chains.
                    break;
                }
                while slot != k && steps < s.cap && budget > 0 {
                    budget -= 1;
                    let st = u32::from_le_bytes(
                        block[(slot * s.stride) as usize..(slot * s.stride) as usize + 4]
                            .try_into()
                            .expect("4"),
                    );
                    if st == 0 {
                        broken = Some(slot);
                        break;
                    }
                    steps += 1;
                    slot = h.wrapping_add(steps) % s.cap;
                }
                if let Some(b) = broken {
                    reported += 1;
                    if reported <= 3 {
                        d.problems.push(format!(
                            "slot {k}: {label} {} is unreachable (home slot {home}, EMPTY slot {b} on its probe chain)",
                            decode_value(key_t, &kb)
                        ));
                    }
                }
            }
            let mut first: std::collections::HashMap<Vec<u8>, u64> =
                std::collections::HashMap::new();
            for &k in &occupied {
                let kb = key_of(k);
                if let Some(&a) = first.get(&kb) {
                    d.problems.push(format!(
                        "slots {a} and {k} hold the same {label} {}",
                        decode_value(key_t, &kb)
                    ));
                } else {
                    first.insert(kb, k);
                }
            }
        }
    }
    if let (Some((a, b)), Some(entries)) = (want, runtime()) {
        d.contents = Some(runtime_slot_items(
            &entries,
            (a, b),
            &block,
            s,
            &occupied,
            key_t,
            val_t,
        ));
    } else if let Some((a, b)) = want {
        let total = occupied.len() as u64;
        let (a, b) = (a.min(total), b.min(total));
        let items = occupied[a as usize..b.max(a) as usize]
            .iter()
            .map(|&k| {
                let e = &block[(k * s.stride) as usize..((k + 1) * s.stride) as usize];
                let kv = decode_value(key_t, &e[s.ko as usize..s.ko as usize + key_t.size]);
                match val_t {
                    Some(vt) => Item {
                        index: k,
                        key: Some(kv),
                        value: decode_value(vt, &e[s.vo as usize..s.vo as usize + vt.size]),
                    },
                    None => Item {
                        index: k,
                        key: None,
                        value: kv,
                    },
                }
            })
            .collect();
        d.contents = Some(Contents {
            order: "slot order, occupied slots",
            total,
            items,
        });
    }
    Ok(())
}

/// Contents `[a, b)` of a map or set from the entries its runtime reported
/// (slot order, occupied slots), each shown at the slot that holds its key
/// in the scanned `block` (at its position if a peer moved it since).
fn runtime_slot_items(
    entries: &Pairs,
    (a, b): (u64, u64),
    block: &[u8],
    s: &Slots,
    occupied: &[u64],
    key_t: &TypeLayout,
    val_t: Option<&TypeLayout>,
) -> Contents {
    let key_at = |k: u64| {
        let start = (k * s.stride + s.ko) as usize;
        &block[start..start + key_t.size]
    };
    let total = entries.len() as u64;
    let (a, b) = (a.min(total), b.min(total));
    let items = entries[a as usize..b.max(a) as usize]
        .iter()
        .zip(a..)
        .map(|((kb, vb), pos)| {
            let index = occupied
                .iter()
                .copied()
                .find(|&k| key_at(k) == kb.as_slice())
                .unwrap_or(pos);
            let kv = decode_value(key_t, kb);
            match val_t {
                Some(vt) => Item {
                    index,
                    key: Some(kv),
                    value: decode_value(vt, vb),
                },
                None => Item {
                    index,
                    key: None,
                    value: kv,
                },
            }
        })
        .collect();
    Contents {
        order: "slot order, occupied slots",
        total,
        items,
    }
}

fn map(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let size = v.u32(map::SIZE)? as u64;
    let cap = v.u32(map::CAPACITY)? as u64;
    let ks = v.u32(map::KEY_SIZE)? as u64;
    let vs = v.u32(map::VALUE_SIZE)? as u64;
    if ks == 0 || vs == 0 || vs > 8 || cap == 0 {
        return Err(format!("key_size {ks} / value_size {vs} out of range"));
    }
    let mut found = None;
    'outer: for ka in align_candidates(ks, ctx.types.key) {
        for va in align_candidates(vs, ctx.types.value) {
            let (Some(k), Some(val)) = (laid_out(ks, ka), laid_out(vs, va)) else {
                continue;
            };
            let Some(slot) = map::slot_layout(k, val) else {
                continue;
            };
            if map::entry_size(cap, k, val) == Some(v.size) {
                found = Some(Slots {
                    cap,
                    stride: slot.stride,
                    ko: slot.key,
                    vo: slot.value,
                });
                break 'outer;
            }
        }
    }
    let Some(slots) = found else {
        return Err(format!(
            "no C layout of a {ks}-byte key and {vs}-byte value gives {} bytes for {cap} slots",
            v.size
        ));
    };
    let (kt, kg) = elem_type(&ctx.types, ctx.types.key, ks, "key_size")?;
    let (vt, vg) = elem_type(&ctx.types, ctx.types.value, vs, "value_size")?;
    let mut d = Decoded {
        fields: vec![
            f("size", u(size)),
            f("capacity", u(cap)),
            f("key_size", u(ks)),
            f("value_size", u(vs)),
            f("slot_stride", u(slots.stride)),
        ],
        capacity: Some(cap),
        elem_size: Some(slots.stride),
        fill: Some(size),
        type_desc: Some(format!("{} -> {}", type_desc(kt), type_desc(vt))),
        type_guessed: kg || vg,
        summary: format!("{size} of {cap} ({})", pct(size, cap)),
        ..Default::default()
    };
    if size > cap {
        d.problems
            .push(format!("size {size} exceeds capacity {cap}"));
    }
    let want = ctx.window(u64::MAX);
    // The runtime's map lists the entries when it opens the entry (with
    // the recorded layout, else the given types); the slots are
    // read directly only for a file or a map it refuses.
    let kl = ctx.types.key.and_then(KeyLayout::from_type_layout);
    let vl = ctx.types.value.and_then(|t| elem_of(t).ok());
    let runtime = || {
        runtime_pairs(v, |seg, name| {
            RawMap::open(seg, name, kl, vl).map(|m| m.entries())
        })
    };
    scan_slots(
        v,
        &slots,
        kt,
        Some(vt),
        !kg,
        size,
        &mut d,
        ctx.deep,
        want,
        "key",
        &runtime,
    )?;
    Ok(d)
}

fn set(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let size = v.u32(set::SIZE)? as u64;
    let cap = v.u32(set::CAPACITY)? as u64;
    let es = v.u32(set::ELEM_SIZE)? as u64;
    let reserved = v.u32(set::RESERVED)?;
    if es == 0 || cap == 0 {
        return Err(format!("capacity {cap} / elem_size {es}"));
    }
    if reserved != 0 {
        return Err(format!(
            "reserved word is {reserved} (a map stores value_size there)"
        ));
    }
    let mut found = None;
    for a in align_candidates(es, ctx.types.elem) {
        let Some(elem) = laid_out(es, a) else {
            continue;
        };
        let Some(slot) = set::slot_layout(elem) else {
            continue;
        };
        if set::entry_size(cap, elem) == Some(v.size) {
            found = Some(Slots {
                cap,
                stride: slot.stride,
                ko: slot.key,
                vo: slot.key,
            });
            break;
        }
    }
    let Some(slots) = found else {
        return Err(format!(
            "no C layout of a {es}-byte element gives {} bytes for {cap} slots",
            v.size
        ));
    };
    let (t, g) = elem_type(&ctx.types, ctx.types.elem, es, "elem_size")?;
    let mut d = Decoded {
        fields: vec![
            f("size", u(size)),
            f("capacity", u(cap)),
            f("elem_size", u(es)),
            f("slot_stride", u(slots.stride)),
        ],
        capacity: Some(cap),
        elem_size: Some(es),
        fill: Some(size),
        type_desc: Some(type_desc(t)),
        type_guessed: g,
        summary: format!("{size} of {cap} ({})", pct(size, cap)),
        ..Default::default()
    };
    if size > cap {
        d.problems
            .push(format!("size {size} exceeds capacity {cap}"));
    }
    let want = ctx.window(u64::MAX);
    // The runtime's set lists the members when it opens the entry; the
    // slots are read directly only for a file or a set it refuses.
    let kl = ctx.types.elem.and_then(KeyLayout::from_type_layout);
    let runtime = || {
        runtime_pairs(v, |seg, name| {
            RawSet::open(seg, name, kl)
                .map(|m| m.members().into_iter().map(|k| (k, Vec::new())).collect())
        })
    };
    scan_slots(
        v, &slots, t, None, !g, size, &mut d, ctx.deep, want, "value", &runtime,
    )?;
    Ok(d)
}

// ---------------------------------------------------------------- Pool

/// Walks a pool's free list from `head_idx`: which nodes are on it, in
/// list order, and whether the walk ended cleanly (a link out of range or a
/// cycle is reported in `problems`).
fn walk_free_list(
    head_idx: u64,
    cap: u64,
    next_of: impl Fn(u64) -> u64,
    problems: &mut Vec<String>,
) -> (Vec<bool>, Vec<u64>, bool) {
    let mut on_free = vec![false; cap as usize];
    let mut order = Vec::new();
    let mut cur = head_idx;
    while cur != pool::NONE as u64 {
        if cur >= cap {
            problems.push(format!(
                "free list: node {} links to {cur}, outside [0, {cap})",
                order.last().copied().unwrap_or(head_idx)
            ));
            return (on_free, order, false);
        }
        if on_free[cur as usize] {
            problems.push(format!("free list: cycle at node {cur}"));
            return (on_free, order, false);
        }
        on_free[cur as usize] = true;
        order.push(cur);
        cur = next_of(cur);
    }
    (on_free, order, true)
}

fn pool(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let free_head = v.u64(pool::FREE_HEAD)?;
    let allocated = v.u32(pool::ALLOCATED)? as u64;
    let pad = v.u32(pool::PADDING)?;
    let cap = v.u32(pool::CAPACITY)? as u64;
    let es = v.u32(pool::ELEM_SIZE)? as u64;
    if es == 0 || cap == 0 {
        return Err(format!("capacity {cap} / elem_size {es}"));
    }
    let mut found = None;
    for a in align_candidates(es, ctx.types.elem) {
        let Some(elem) = laid_out(es, a) else {
            continue;
        };
        let Some(node) = pool::node_layout(elem) else {
            continue;
        };
        if pool::entry_size(cap, elem) == Some(v.size) {
            found = Some((node.stride, node.next));
            break;
        }
    }
    let Some((stride, next_off)) = found else {
        return Err(format!(
            "no node layout of a {es}-byte element gives {} bytes for {cap} nodes",
            v.size
        ));
    };
    let (t, g) = elem_type(&ctx.types, ctx.types.elem, es, "elem_size")?;
    let head_idx = free_head & 0xFFFF_FFFF;
    let gen = free_head >> 32;
    const NONE: u64 = pool::NONE as u64;
    let mut d = Decoded {
        fields: vec![
            f("capacity", u(cap)),
            f("elem_size", u(es)),
            f("node_stride", u(stride)),
            f("allocated", u(allocated)),
            f("available", u(cap.saturating_sub(allocated))),
            f(
                "free_head_index",
                if head_idx == NONE {
                    Value::Str("none".to_owned())
                } else {
                    u(head_idx)
                },
            ),
            f("free_head_generation", u(gen)),
        ],
        capacity: Some(cap),
        elem_size: Some(es),
        fill: Some(allocated),
        type_desc: Some(type_desc(t)),
        type_guessed: g,
        summary: format!("{allocated} of {cap} in use ({})", pct(allocated, cap)),
        evidence: i32::from(pad == 0),
        ..Default::default()
    };
    if pad != 0 {
        d.problems
            .push(format!("padding word is {pad}, expected 0"));
    }
    if allocated > cap {
        d.problems
            .push(format!("allocated {allocated} exceeds capacity {cap}"));
    }
    if head_idx != NONE && head_idx >= cap {
        d.problems
            .push(format!("free_head index {head_idx} outside [0, {cap})"));
        return Ok(d);
    }
    if !(ctx.deep || ctx.want.is_some()) {
        return Ok(d);
    }
    let block = read_block(v, pool::NODES, cap, stride)?;
    let next_of = |k: u64| {
        let o = (k * stride + next_off) as usize;
        u32::from_le_bytes(block[o..o + 4].try_into().expect("4")) as u64
    };
    let (on_free, order, walk_ok) = walk_free_list(head_idx, cap, next_of, &mut d.problems);
    let free_len = order.len() as u64;
    d.fields.push(f("free_list_length", u(free_len)));
    let lim = ctx.want.map_or(0, |w| w.limit);
    let shown: Vec<Value> = order
        .iter()
        .take(if lim == 0 { usize::MAX } else { lim as usize })
        .map(|&k| u(k))
        .collect();
    d.fields.push(f("free_list", Value::List(shown)));
    if walk_ok && ctx.deep && free_len + allocated != cap {
        d.problems.push(format!(
            "free list has {free_len} nodes and {allocated} are allocated, but capacity is {cap}"
        ));
    }
    if let Some((a, b)) = ctx.window(u64::MAX) {
        // The allocated nodes as the runtime's pool lists them
        // (`RawPool::items`), or as the free list walked above leaves them.
        let runtime = runtime_nodes(v).filter(|_| walk_ok);
        let used: Vec<(u64, &[u8])> = match &runtime {
            Some(nodes) => nodes
                .iter()
                .map(|(k, b)| (u64::from(*k), b.as_slice()))
                .collect(),
            None => (0..cap)
                .filter(|&k| !on_free[k as usize])
                .map(|k| (k, &block[(k * stride) as usize..(k * stride + es) as usize]))
                .collect(),
        };
        let total = used.len() as u64;
        let (a, b) = (a.min(total), b.min(total));
        let items = if walk_ok {
            used[a as usize..b as usize]
                .iter()
                .map(|&(k, bytes)| Item {
                    index: k,
                    key: None,
                    value: decode_value(t, bytes),
                })
                .collect()
        } else {
            Vec::new()
        };
        d.contents = Some(Contents {
            order: "allocated nodes, index order",
            total: if walk_ok { total } else { 0 },
            items,
        });
    }
    Ok(d)
}

// ---------------------------------------------------------------- Ring

fn ring_on(
    v: &View,
    ctx: &Ctx,
    given: Option<&'static TypeLayout>,
    runtime: RuntimeItems,
) -> R<Decoded> {
    let wp = v.u64(ring::WRITE_POS)?;
    let rp = v.u64(ring::READ_POS)?;
    let cap = v.u32(ring::CAPACITY)? as u64;
    let es = v.u32(ring::ELEM_SIZE)? as u64;
    if es == 0 || cap == 0 || cap % es != 0 {
        return Err(format!(
            "capacity {cap} bytes is not a positive multiple of elem_size {es}"
        ));
    }
    let need = sized(es).ok().and_then(|e| ring::entry_size(cap / es, e));
    if need != Some(v.size) {
        return Err(format!(
            "capacity {cap} bytes needs {} bytes, the entry has {}",
            need.map_or("too many".to_owned(), |n| n.to_string()),
            v.size
        ));
    }
    let (t, g) = elem_type(&ctx.types, given, es, "elem_size")?;
    let cap_el = cap / es;
    let mut d = Decoded {
        fields: vec![
            f("write_pos", u(wp)),
            f("read_pos", u(rp)),
            f("capacity_bytes", u(cap)),
            f("elem_size", u(es)),
            f("capacity", u(cap_el)),
        ],
        capacity: Some(cap_el),
        elem_size: Some(es),
        type_desc: Some(type_desc(t)),
        type_guessed: g,
        ..Default::default()
    };
    if rp > wp || wp - rp > cap || wp % es != 0 || rp % es != 0 {
        d.problems.push(format!(
            "positions read {rp} / write {wp} are inconsistent with capacity {cap} bytes and elem_size {es}"
        ));
        d.summary = format!("corrupt: read_pos {rp}, write_pos {wp}");
        return Ok(d);
    }
    let count = (wp - rp) / es;
    d.fields.push(f("available", u(count)));
    d.fill = Some(count);
    d.summary = format!("{count} of {cap_el} ({})", pct(count, cap_el));
    if let Some((a, b)) = ctx.window(count) {
        let offset_of = |k: u64| (rp + k * es) % cap;
        let index_of = |k| offset_of(k) / es;
        let at = |k| ring::DATA + offset_of(k);
        let items = contents_items(v, runtime(), (a, b), index_of, at, t)?;
        d.contents = Some(Contents {
            order: "read order, oldest first",
            total: count,
            items,
        });
    }
    Ok(d)
}

fn ring(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let runtime = || {
        runtime_items(v, |seg, name| {
            RawRing::open(seg, name, None).map(|r| r.items())
        })
    };
    ring_on(v, ctx, ctx.types.elem, &runtime)
}

/// The base name of a composite whose part `v` is named `base + suffix`.
fn base_name<'a>(v: &'a View, suffix: &str) -> Option<&'a str> {
    v.name.strip_suffix(suffix)
}

// ---------------------------------------------------------------- sync

fn exact(v: &View, n: u64) -> R<()> {
    if v.size == n {
        Ok(())
    } else {
        Err(format!("entry is {} bytes, expected {n}", v.size))
    }
}

struct Sem {
    count: i32,
    waiting: i32,
    max: i32,
    pad: u32,
}

fn sem_read(v: &View) -> R<Sem> {
    exact(v, semaphore::SIZE)?;
    Ok(Sem {
        count: v.i32(semaphore::COUNT)?,
        waiting: v.i32(semaphore::WAITING)?,
        max: v.i32(semaphore::MAX_COUNT)?,
        pad: v.u32(semaphore::PADDING)?,
    })
}

fn sem_fields(s: &Sem) -> Vec<(String, Value)> {
    vec![
        f("count", i(s.count)),
        f("waiting", i(s.waiting)),
        f("max_count", i(s.max)),
    ]
}

fn sem_problems(s: &Sem, who: &str, out: &mut Vec<String>) {
    if s.count < 0 {
        out.push(format!("{who}count {} is negative", s.count));
    }
    if s.waiting < 0 {
        out.push(format!("{who}waiting {} is negative", s.waiting));
    }
    if s.max < 0 {
        out.push(format!("{who}max_count {} is negative", s.max));
    }
    if s.max > 0 && s.count > s.max {
        out.push(format!(
            "{who}count {} exceeds max_count {}",
            s.count, s.max
        ));
    }
    if s.pad != 0 {
        out.push(format!("{who}padding word is {}, expected 0", s.pad));
    }
}

fn semaphore(ctx: &Ctx) -> R<Decoded> {
    let s = sem_read(ctx.main()?)?;
    let mut d = Decoded {
        fields: sem_fields(&s),
        summary: format!(
            "count {}{}, {} waiting",
            s.count,
            if s.max > 0 {
                format!(" (max {})", s.max)
            } else {
                " (unbounded)".to_owned()
            },
            s.waiting
        ),
        ..Default::default()
    };
    sem_problems(&s, "", &mut d.problems);
    Ok(d)
}

fn mutex_on(v: &View, who: &str, d: &mut Decoded) -> R<Sem> {
    let s = sem_read(v)?;
    if s.max != 1 {
        return Err(format!("{who}max_count {} (a mutex has 1)", s.max));
    }
    if !(0..=1).contains(&s.count) {
        d.problems
            .push(format!("{who}count {} (a mutex holds 0 or 1)", s.count));
    }
    sem_problems(&s, who, &mut d.problems);
    Ok(s)
}

fn lock_state(s: &Sem) -> &'static str {
    if s.count == 0 {
        "locked"
    } else {
        "unlocked"
    }
}

fn mutex(ctx: &Ctx) -> R<Decoded> {
    let mut d = Decoded::default();
    let s = mutex_on(ctx.main()?, "", &mut d)?;
    d.fields = sem_fields(&s);
    d.fields.push(f("locked", Value::Bool(s.count == 0)));
    d.summary = format!("{}, {} waiting", lock_state(&s), s.waiting);
    // No evidence beyond fitting: a mutex's 16 bytes are a semaphore's with
    // max_count 1. The classifier tries a mutex first among equals, but a
    // name such as `sem` still picks the semaphore.
    Ok(d)
}

fn barrier(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    exact(v, barrier::SIZE)?;
    let arrived = v.i32(barrier::ARRIVED)?;
    let gen = v.i32(barrier::GENERATION)?;
    let n = v.i32(barrier::PARTICIPANTS)?;
    let pad = v.u32(barrier::PADDING)?;
    if n <= 0 {
        return Err(format!("participants {n}"));
    }
    let mut d = Decoded {
        fields: vec![
            f("arrived", i(arrived)),
            f("generation", i(gen)),
            f("participants", i(n)),
        ],
        summary: format!("{arrived} of {n} arrived, generation {gen}"),
        ..Default::default()
    };
    if !(0..n).contains(&arrived) {
        d.problems
            .push(format!("arrived {arrived} outside [0, {n})"));
    }
    if pad != 0 {
        d.problems
            .push(format!("padding word is {pad}, expected 0"));
    }
    Ok(d)
}

fn latch(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    exact(v, latch::SIZE)?;
    let count = v.i32(latch::COUNT)?;
    let initial = v.i32(latch::INITIAL)?;
    if v.u64(latch::PADDING)? != 0 {
        return Err("padding bytes 8..16 are not zero".to_owned());
    }
    let mut d = Decoded {
        fields: vec![f("count", i(count)), f("initial_count", i(initial))],
        summary: if count <= 0 {
            format!("open (initial {initial})")
        } else {
            format!("{count} of {initial} left")
        },
        // A latch made with count 0 is open from the start and its 16 zero
        // bytes are also a fresh unbounded semaphore's or Stream<void>'s:
        // rank it after them.
        evidence: if initial > 0 { 0 } else { -1 },
        ..Default::default()
    };
    if initial < 0 {
        d.problems
            .push(format!("initial_count {initial} is negative"));
    }
    if count < 0 || count > initial.max(0) {
        d.problems.push(format!(
            "count {count} outside [0, initial_count {initial}]"
        ));
    }
    Ok(d)
}

fn once(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    exact(v, once::SIZE)?;
    let st = v.u32(once::STATE)?;
    let names = ["PENDING", "RUNNING", "DONE"];
    let mut d = Decoded {
        fields: vec![f("state", named(st as u64, &names))],
        summary: names
            .get(st as usize)
            .map_or(format!("invalid state {st}"), |n| n.to_ascii_lowercase()),
        ..Default::default()
    };
    if st > 2 {
        d.problems.push(format!("state {st} is not 0, 1 or 2"));
    }
    Ok(d)
}

fn event(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    exact(v, event::SIZE)?;
    let signaled = v.u32(event::SIGNALED)?;
    let mode = v.u32(event::MODE)?;
    let waiting = v.u32(event::WAITING)?;
    let sem = sem_read(ctx.part("sem")?)?;
    let mut d = Decoded {
        fields: vec![
            f("signaled", u(signaled)),
            f("mode", named(mode as u64, &["AutoReset", "ManualReset"])),
            f("waiting", u(waiting)),
            f("sem", Value::Record(sem_fields(&sem))),
        ],
        summary: format!(
            "{}, {}, {waiting} waiting",
            if signaled != 0 {
                "signaled"
            } else {
                "not signaled"
            },
            if mode == 1 {
                "manual reset"
            } else {
                "auto reset"
            }
        ),
        ..Default::default()
    };
    if signaled > 1 {
        d.problems
            .push(format!("signaled {signaled} is not 0 or 1"));
    }
    if mode > 1 {
        d.problems.push(format!("mode {mode} is not 0 or 1"));
    }
    if sem.max != 0 {
        d.problems.push(format!(
            "sem: max_count {} (an event's semaphore is unbounded)",
            sem.max
        ));
    }
    sem_problems(&sem, "sem: ", &mut d.problems);
    Ok(d)
}

fn marker_ok(ctx: &Ctx) -> R<()> {
    exact(ctx.part("marker")?, MARKER_SIZE)
}

fn rwlock(ctx: &Ctx) -> R<Decoded> {
    let st = ctx.part("state")?;
    exact(st, rwlock::STATE_SIZE)?;
    marker_ok(ctx)?;
    let readers = st.i32(0)?;
    let writer = st.i32(4)?;
    let mut d = Decoded::default();
    let r = mutex_on(ctx.part("rmtx")?, "rmtx: ", &mut d)?;
    let w = mutex_on(ctx.part("wmtx")?, "wmtx: ", &mut d)?;
    d.fields = vec![
        f("readers", i(readers)),
        f("writer_active", i(writer)),
        f("rmtx", Value::Record(sem_fields(&r))),
        f("wmtx", Value::Record(sem_fields(&w))),
    ];
    d.summary = if writer != 0 {
        "write-locked".to_owned()
    } else if readers > 0 {
        format!("{readers} readers")
    } else {
        "free".to_owned()
    };
    if readers < 0 {
        d.problems.push(format!("readers {readers} is negative"));
    }
    if !(0..=1).contains(&writer) {
        d.problems
            .push(format!("writer_active {writer} is not 0 or 1"));
    }
    if writer != 0 && readers > 0 {
        d.problems.push(format!(
            "writer active while {readers} readers hold the lock"
        ));
    }
    Ok(d)
}

fn monitor(ctx: &Ctx) -> R<Decoded> {
    marker_ok(ctx)?;
    let c = ctx.part("count")?;
    exact(c, monitor::COUNT_SIZE)?;
    let waiting = c.u32(monitor::WAITERS)?;
    let mut d = Decoded::default();
    let m = mutex_on(ctx.part("mtx")?, "mtx: ", &mut d)?;
    let cond = sem_read(ctx.part("cond")?)?;
    sem_problems(&cond, "cond: ", &mut d.problems);
    d.fields = vec![
        f("mtx", Value::Record(sem_fields(&m))),
        f("cond", Value::Record(sem_fields(&cond))),
        f("waiting_count", u(waiting)),
    ];
    d.summary = format!("{}, {waiting} waiting", lock_state(&m));
    Ok(d)
}

fn signal(ctx: &Ctx) -> R<Decoded> {
    let st = ctx.part("state")?;
    marker_ok(ctx)?;
    if st.size < 16 || st.size % 8 != 0 {
        return Err(format!("state entry is {} bytes", st.size));
    }
    let version = st.u64(signal::VERSION)?;
    let t = match ctx.types.elem {
        Some(t) => {
            let need = signal::state_size(elem_of(t)?);
            if need != Some(st.size) {
                return Err(format!(
                    "a {}-byte value needs a {}-byte state entry, found {}",
                    t.size,
                    need.unwrap_or(0),
                    st.size
                ));
            }
            Some(t)
        }
        None => None,
    };
    let (t, g) = match t {
        Some(t) => (t, false),
        None => {
            let s = st.size - 8;
            (
                default_for_size(s as usize).unwrap_or_else(|| raw_bytes(s as usize)),
                true,
            )
        }
    };
    let mut d = Decoded::default();
    let m = mutex_on(ctx.part("mtx")?, "mtx: ", &mut d)?;
    // The runtime's signal reports version and value when it opens the
    // composite (named as its marker); else the state entry's bytes.
    let base = ctx.part("marker")?.name.clone();
    let snap = runtime_snapshot(ctx, st, &base, |seg, name| {
        RawSignal::open(seg, name, given_layout(ctx, g, t)).map(|s| s.snapshot())
    });
    let (version, raw_value) = match snap {
        Some(s) => (s.version, decode_value(t, &s.value)),
        None => (version, read_value(st, 8, t)?),
    };
    let (value, tn) = refine_one(raw_value, t, g);
    d.summary = format!("version {version}, value {value}");
    d.fields = vec![
        f("version", u(version)),
        f("value", value),
        f("mtx", Value::Record(sem_fields(&m))),
    ];
    d.elem_size = Some(t.size as u64);
    d.type_desc = Some(tn);
    d.type_guessed = g;
    Ok(d)
}

// ---------------------------------------------------------------- codata

fn c_str(b: &[u8]) -> (String, bool) {
    match b.iter().position(|&c| c == 0) {
        Some(n) => (String::from_utf8_lossy(&b[..n]).into_owned(), true),
        None => (String::from_utf8_lossy(b).into_owned(), false),
    }
}

fn future(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let st = v.u32(future::STATE)?;
    let waiters = v.u32(future::WAITERS)?;
    let time = v.u64(future::COMPLETION_TIME)?;
    let (t, g) = match ctx.types.elem {
        Some(t) => {
            let need = future::entry_size(elem_of(t)?);
            if need != Some(v.size) {
                return Err(format!(
                    "a {}-byte value needs a {}-byte future, the entry has {}",
                    t.size,
                    need.unwrap_or(0),
                    v.size
                ));
            }
            (t, false)
        }
        None => {
            if v.size < 280 || v.size % 8 != 0 {
                return Err(format!("{} bytes is not a future's size", v.size));
            }
            let s = (v.size - 272).min(8);
            (
                default_for_size(s as usize).unwrap_or_else(|| raw_bytes(s as usize)),
                true,
            )
        }
    };
    if st > 3 {
        return Err(format!("state {st} is not a future state"));
    }
    let s = t.size as u64;
    let evidence = future_evidence(v, st, time)?;
    // The runtime's future reports state, value and message in one
    // consistent read when it opens the entry; else the bytes are shown.
    let snap = runtime_snapshot(ctx, v, &v.name, |seg, name| {
        RawFuture::open(seg, name, given_layout(ctx, g, t)).map(|f| f.snapshot())
    });
    let (st, waiters, time) = snap.as_ref().map_or((st, waiters, time), |f| {
        (f.state, f.waiters, f.completion_time)
    });
    let raw_value = match snap.as_ref().and_then(|f| f.value.as_ref()) {
        Some(bytes) => decode_value(t, bytes),
        None => read_value(v, future::VALUE, t)?,
    };
    let (value, tn) = refine_one(raw_value, t, g);
    let (msg, terminated) = match snap.and_then(|f| f.message) {
        Some(m) => (m, true),
        None => c_str(&v.bytes(future::VALUE + s, future::ERROR_MSG_LEN)?),
    };
    let names = ["PENDING", "COMPUTING", "READY", "ERROR"];
    let mut d = Decoded {
        fields: vec![
            f("state", named(st as u64, &names)),
            f("waiters", u(waiters)),
            f("completion_time", u(time)),
            f("value", value.clone()),
            f("error", Value::Str(msg.clone())),
        ],
        summary: match st {
            2 => format!("ready: {value}"),
            3 => format!("error: {msg:?}"),
            1 => "computing".to_owned(),
            _ => "pending".to_owned(),
        },
        elem_size: Some(s),
        type_desc: Some(tn),
        type_guessed: g,
        evidence,
        ..Default::default()
    };
    if !terminated {
        d.problems
            .push("error message is not NUL-terminated within 256 bytes".to_owned());
    }
    if st == 2 && time == 0 {
        d.problems.push("READY but completion_time is 0".to_owned());
    }
    Ok(d)
}

/// How much the bytes look like a future written by a runtime (ours or the
/// reference) rather than another kind of the same size: the completion
/// time is written exactly when the state becomes READY or ERROR (a
/// PENDING future with a time is another kind's bytes: a deferred lazy's
/// operands, a queue's capacity), and the last 256 bytes (error message
/// and padding) are zero unless the state is ERROR, whose message is
/// NUL-padded.
fn future_evidence(v: &View, st: u32, time: u64) -> R<i32> {
    let time_fits = match st {
        0 => time == 0,
        2 | 3 => time != 0,
        _ => true,
    };
    let tail = v.bytes(v.size.saturating_sub(256), 256.min(v.size))?;
    Ok(if time_fits { 1 } else { -2 } + i32::from(text_clean(&tail, st == 3)))
}

/// True when a 256-byte message field holds nothing (`may_hold_text`
/// false) or a C string followed only by NUL bytes.
fn text_clean(b: &[u8], may_hold_text: bool) -> bool {
    let start = if may_hold_text {
        b.iter().position(|&c| c == 0).unwrap_or(b.len())
    } else {
        0
    };
    b[start..].iter().all(|&c| c == 0)
}

/// C++ `Lazy<T>` field offsets for a value of size `s`, alignment `a`:
/// (computation, data, b, cached, error, count, total).
fn lazy(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let (t, g) = match ctx.types.elem {
        Some(t) => (t, false),
        None => match v.size {
            280 => (Prim::I32.layout(), true),
            304 => (Prim::I64.layout(), true),
            n => return Err(format!("{n} bytes is not a Lazy of a 4- or 8-byte value")),
        },
    };
    let s = t.size as u64;
    let Some(layout) = lazy::layout(elem_of(t)?) else {
        return Err("layout overflows".to_owned());
    };
    let (comp, data, b, cached, err, count, total) = (
        layout.op_type,
        layout.data,
        layout.data_b,
        layout.cached,
        layout.error,
        layout.compute_count,
        layout.total,
    );
    if total != v.size {
        return Err(format!(
            "a Lazy of a {s}-byte value is {total} bytes, the entry has {}",
            v.size
        ));
    }
    let st = v.u32(lazy::STATE)?;
    let op = v.u32(comp)?;
    if st > 3 || op > 5 {
        return Err(format!("state {st} / operation {op} out of range"));
    }
    let mut op_a = read_value(v, data, t)?;
    let mut op_b = read_value(v, b, t)?;
    let mut value = read_value(v, cached, t)?;
    // The runtime's lazy value reports state, operands, cached value, count
    // and message when it opens the entry; else the bytes are shown.
    let snap = runtime_snapshot(ctx, v, &v.name, |seg, name| {
        let prim = match t.kind {
            zeroipc::layout::Kind::Prim(p) if !g => Some(p),
            _ => None,
        };
        RawLazy::open(seg, name, prim).map(|l| l.snapshot())
    });
    let (st, n) = snap
        .as_ref()
        .map_or((st, v.u32(count)?), |l| (l.state, l.compute_count));
    if let Some(l) = &snap {
        let (a, b_opnd) = lazy_operands(&l.op);
        if let Some(a) = a {
            op_a = decode_value(t, a);
        }
        if let Some(b_opnd) = b_opnd {
            op_b = decode_value(t, b_opnd);
        }
        if let Some(c) = &l.cached {
            value = decode_value(t, c);
        }
    }
    let mut tn = type_desc(t);
    if g {
        if let Some(n) = refine(&mut [&mut op_a, &mut op_b, &mut value], &tn) {
            tn = n.to_owned();
        }
    }
    let (msg, terminated) = match snap.and_then(|l| l.message) {
        Some(m) => (m, true),
        None => c_str(&v.bytes(err, lazy::ERROR_MSG_LEN)?),
    };
    let ops = ["CONSTANT", "ADD", "MULTIPLY", "NEGATE", "CHAIN", "EXTERNAL"];
    let names = ["NOT_COMPUTED", "COMPUTING", "COMPUTED", "ERROR"];
    let constant_matches = op == 0 && st == 2 && op_a == value;
    // A deferred computation nobody forced yet: no cached value, no count
    // (a NOT_COMPUTED CONSTANT of zeros is also any zeroed entry's bytes,
    // so it earns nothing).
    let deferred_untouched =
        st == 0 && op != 0 && n == 0 && v.bytes(cached, s)?.iter().all(|&c| c == 0);
    let mut d = Decoded {
        fields: vec![
            f("state", named(st as u64, &names)),
            f("op", named(op as u64, &ops)),
            f("op_a", op_a),
            f("op_b", op_b),
            f("cached_value", value.clone()),
            f("error", Value::Str(msg.clone())),
            f("compute_count", u(n)),
        ],
        summary: match st {
            2 => format!("computed: {value}"),
            3 => format!("error: {msg:?}"),
            1 => "computing".to_owned(),
            _ => "not computed".to_owned(),
        },
        elem_size: Some(s),
        type_desc: Some(tn),
        type_guessed: g,
        evidence: 2 * i32::from(n > 0 || constant_matches)
            + i32::from(text_clean(&v.bytes(err, lazy::ERROR_MSG_LEN)?, st == 3))
            + i32::from(deferred_untouched),
        ..Default::default()
    };
    if !terminated {
        d.problems
            .push("error message is not NUL-terminated within 256 bytes".to_owned());
    }
    Ok(d)
}

/// The operand bytes of a lazy operation record (`None` where the
/// operation has no such operand of the value type: CHAIN and EXTERNAL
/// hold indices, shown from the bytes).
fn lazy_operands(op: &LazyOp<Vec<u8>>) -> (Option<&Vec<u8>>, Option<&Vec<u8>>) {
    match op {
        LazyOp::Constant(a) | LazyOp::Negate(a) => (Some(a), None),
        LazyOp::Add(a, b) | LazyOp::Multiply(a, b) => (Some(a), Some(b)),
        LazyOp::Chain(..) | LazyOp::External(_) | LazyOp::Unknown(_) => (None, None),
    }
}

fn stream(ctx: &Ctx) -> R<Decoded> {
    let h = ctx.part("header")?;
    exact(h, stream::HEADER_SIZE)?;
    let seq = h.u64(stream::SEQUENCE)?;
    let subs = h.u32(stream::SUBSCRIBERS)?;
    let closed = h.u8(stream::CLOSED)?;
    let bufcap = h.u32(stream::BUFFER_CAPACITY)? as u64;
    let (name, _) = c_str(&h.bytes(20, 32)?);
    // The runtime's stream lists the pending values when it opens the
    // composite (by its base name); else the ring's bytes are read.
    let runtime = || {
        let base = base_name(h, "_header")?;
        runtime_items(h, |seg, _| {
            RawStream::open(seg, base, None).map(|s| s.items())
        })
    };
    let mut d = ring_on(ctx.part("buffer")?, ctx, ctx.types.elem, &runtime)?;
    let es = d.elem_size.unwrap_or(1);
    if bufcap.checked_mul(es) != d.capacity.and_then(|c| c.checked_mul(es)) {
        d.problems.push(format!(
            "header buffer_capacity {bufcap} but the ring holds {} elements",
            d.capacity.unwrap_or(0)
        ));
    }
    if closed > 1 {
        d.problems
            .push(format!("closed flag {closed} is not 0 or 1"));
    }
    let mut fields = vec![
        f("sequence", u(seq)),
        f("subscribers", u(subs)),
        f("closed", u(closed)),
        f("buffer_capacity", u(bufcap)),
        f("transform", Value::Str(name)),
    ];
    fields.push(f("ring", Value::Record(std::mem::take(&mut d.fields))));
    d.fields = fields;
    d.summary = format!(
        "{}sequence {seq}, {} pending",
        if closed != 0 { "closed, " } else { "" },
        d.fill.unwrap_or(0)
    );
    Ok(d)
}

fn channel(ctx: &Ctx) -> R<Decoded> {
    let h = ctx.part("header")?;
    exact(h, channel::HEADER_SIZE)?;
    let cap = h.u32(channel::CAPACITY)? as u64;
    let senders = h.u32(channel::SENDERS)?;
    let receivers = h.u32(channel::RECEIVERS)?;
    let closed = h.u8(channel::CLOSED)?;
    let send_seq = h.u64(channel::SEND_SEQ)?;
    let recv_seq = h.u64(channel::RECV_SEQ)?;
    let head = vec![
        f("capacity", u(cap)),
        f("senders", u(senders)),
        f("receivers", u(receivers)),
        f("closed", u(closed)),
        f("send_seq", u(send_seq)),
        f("recv_seq", u(recv_seq)),
    ];
    let closed_s = if closed != 0 { "closed, " } else { "" };
    // The runtime's channel lists the waiting values when it opens the
    // composite (by its base name); else its parts' bytes are read.
    let channel_runtime = || {
        let base = base_name(h, "_header")?;
        runtime_items(h, |seg, _| {
            RawChannel::open(seg, base, None).map(|c| c.items())
        })
    };
    let mut d = if let Ok(buf) = ctx.part("buffer") {
        let mut d = queue_on(buf, ctx, ctx.types.elem, &channel_runtime)?;
        if d.capacity != Some(cap) {
            d.problems.push(format!(
                "header capacity {cap} but the queue holds {}",
                d.capacity.unwrap_or(0)
            ));
        }
        let q = std::mem::take(&mut d.fields);
        d.fields = head;
        d.fields.push(f("queue", Value::Record(q)));
        d.summary = format!("{closed_s}buffered, {}", d.summary);
        d
    } else {
        let slot = ctx.part("slot")?;
        if cap != 0 {
            return Err(format!("unbuffered slot but header capacity {cap}"));
        }
        let t = match ctx.types.elem {
            Some(t) => t,
            None => {
                // Natural alignment: the largest a with data at align_up(2, a)
                // and a size that is a multiple of a.
                let mut pick = None;
                for a in [8u64, 4, 2, 1] {
                    let Some(off) = laid_out(a, a)
                        .and_then(channel::slot_layout)
                        .map(|l| l.data)
                    else {
                        continue;
                    };
                    if slot.size > off && (slot.size - off) % a == 0 {
                        pick = Some(slot.size - off);
                        break;
                    }
                }
                let s = pick.ok_or_else(|| format!("slot of {} bytes", slot.size))?;
                default_for_size(s as usize).unwrap_or_else(|| raw_bytes(s as usize))
            }
        };
        let layout = channel::slot_layout(elem_of(t)?);
        let off = layout.map_or(0, |l| l.data);
        if layout.map(|l| l.size) != Some(slot.size) {
            return Err(format!(
                "a {}-byte value needs a {}-byte slot, found {}",
                t.size,
                layout.map_or(0, |l| l.size),
                slot.size
            ));
        }
        let ready = slot.u8(0)?;
        let consumed = slot.u8(1)?;
        let value = read_value(slot, off, t)?;
        let mut d = Decoded {
            elem_size: Some(t.size as u64),
            capacity: Some(0),
            fill: Some(u64::from(ready != 0)),
            type_desc: Some(type_desc(t)),
            type_guessed: ctx.types.elem.is_none(),
            summary: format!(
                "{closed_s}unbuffered, {}",
                if ready != 0 {
                    "a value is waiting"
                } else {
                    "empty"
                }
            ),
            ..Default::default()
        };
        d.fields = head;
        d.fields.push(f(
            "slot",
            Value::Record(vec![
                f("ready", u(ready)),
                f("consumed", u(consumed)),
                f("data", value.clone()),
            ]),
        ));
        if ready > 1 || consumed > 1 {
            d.problems.push(format!(
                "slot flags ready {ready} / consumed {consumed} are not 0 or 1"
            ));
        }
        if let Some((a, b)) = ctx.window(u64::from(ready != 0)) {
            // The waiting value as the runtime's channel reports it, when
            // it opens the channel; else the slot's bytes.
            let waiting = match channel_runtime().and_then(|v| v.into_iter().next()) {
                Some(bytes) => decode_value(t, &bytes),
                None => value.clone(),
            };
            d.contents = Some(Contents {
                order: "the value waiting in the rendezvous slot",
                total: u64::from(ready != 0),
                items: (a..b)
                    .map(|_| Item {
                        index: 0,
                        key: None,
                        value: waiting.clone(),
                    })
                    .collect(),
            });
        }
        d
    };
    if closed > 1 {
        d.problems
            .push(format!("closed flag {closed} is not 0 or 1"));
    }
    if cap != 0 && !cap.is_power_of_two() {
        d.problems
            .push(format!("capacity {cap} is not a power of two"));
    }
    Ok(d)
}

fn stream_void(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    exact(v, stream::VOID_SIZE)?;
    let n = v.u64(stream::VOID_EVENT_COUNT)?;
    let closed = v.u8(stream::VOID_CLOSED)?;
    if closed > 1 || v.bytes(9, 7)?.iter().any(|&b| b != 0) {
        return Err("closed flag / padding not 0".to_owned());
    }
    Ok(Decoded {
        fields: vec![f("event_count", u(n)), f("closed", u(closed))],
        summary: format!("{n} events{}", if closed != 0 { ", closed" } else { "" }),
        ..Default::default()
    })
}

/// `__schema`: magic, fingerprint, text length, text.
fn schema(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let info = super::schema::read_header(v)?;
    let mut d = Decoded {
        fields: vec![
            f(
                "fingerprint",
                Value::Str(format!("{:#018x}", info.fingerprint)),
            ),
            f("text_length", u(info.text_len)),
        ],
        summary: format!("schema, fingerprint {:#018x}", info.fingerprint),
        ..Default::default()
    };
    if ctx.want.is_some() {
        d.contents = Some(Contents {
            order: "schema text",
            total: 1,
            items: vec![Item {
                index: 0,
                key: None,
                value: Value::Str(info.text),
            }],
        });
    }
    Ok(d)
}

/// The `__zeroipc_kinds` entry: its records as contents.
fn self_description(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    let (records, problems) = super::described::read_records(v)?;
    let n = records.len() as u64;
    let mut d = Decoded {
        fields: vec![f("records", u(n))],
        summary: format!(
            "self-description: {n} structure{} recorded",
            if n == 1 { "" } else { "s" }
        ),
        problems,
        ..Default::default()
    };
    if let Some((a, b)) = ctx.window(n) {
        d.contents = Some(Contents {
            order: "record order (creation order)",
            total: n,
            items: records[a as usize..b as usize]
                .iter()
                .zip(a..b)
                .map(|((name, r), index)| Item {
                    index,
                    key: None,
                    value: Value::Str(super::described::describe_record(name, r)),
                })
                .collect(),
        });
    }
    Ok(d)
}

/// The `__zeroipc_waiters` entry: its header checked as the runtime
/// checks it (an error naming the values seen otherwise), its sleeper
/// counts per table slot as contents.
fn waiter_registry(ctx: &Ctx) -> R<Decoded> {
    let r = super::waiters::read(ctx.main()?)?;
    let (items, room) = r.totals();
    let nonzero = r.nonzero() as u64;
    let mut d = Decoded {
        fields: vec![
            f("version", u(zeroipc::format::waiters::VERSION)),
            f("slots", u(r.slots)),
            f("reserved", u(r.reserved)),
            f("nonzero_slots", u(nonzero)),
            f("asleep_for_items", u(items)),
            f("asleep_for_room", u(room)),
        ],
        summary: format!("sleeper counts: {} slots, {nonzero} nonzero", r.slots),
        capacity: Some(u64::from(r.slots)),
        elem_size: Some(zeroipc::format::waiters::SLOT_SIZE),
        fill: Some(nonzero),
        ..Default::default()
    };
    if r.reserved != 0 {
        d.problems.push(format!(
            "reserved header word is {:#x}, expected 0",
            r.reserved
        ));
    }
    if let Some((a, b)) = ctx.window(u64::from(r.slots)) {
        d.contents = Some(Contents {
            order: "table slot order ([items, room] sleeper counts)",
            total: u64::from(r.slots),
            items: (a..b)
                .map(|index| {
                    let c = r.counts[index as usize];
                    Item {
                        index,
                        key: None,
                        value: Value::Record(vec![f("items", u(c[0])), f("room", u(c[1]))]),
                    }
                })
                .collect(),
        });
    }
    Ok(d)
}

fn marker(ctx: &Ctx) -> R<Decoded> {
    exact(ctx.main()?, MARKER_SIZE)?;
    Ok(Decoded {
        summary: "1-byte marker".to_owned(),
        ..Default::default()
    })
}

fn unknown(ctx: &Ctx) -> R<Decoded> {
    let v = ctx.main()?;
    Ok(Decoded {
        summary: format!("{} bytes, not recognised", v.size),
        ..Default::default()
    })
}

/// Whether an integer value guessed from a size looks more like the bits
/// of a float: `None` for zero (no evidence either way).
fn looks_float(v: &Value) -> Option<bool> {
    match *v {
        Value::Int(0) => None,
        Value::Int(x) if x as i32 as i64 == x && !(-(1 << 24)..(1 << 24)).contains(&x) => {
            let f = f32::from_bits(x as u32);
            Some(f.is_normal() && (1e-9..=1e15).contains(&f.abs()))
        }
        Value::Int(x) if !(-(1i64 << 40)..(1i64 << 40)).contains(&x) => {
            let f = f64::from_bits(x as u64);
            Some(f.is_normal() && (1e-9..=1e15).contains(&f.abs()))
        }
        _ => Some(false),
    }
}

fn to_float(v: &mut Value, wide: bool) {
    if let Value::Int(x) = *v {
        *v = if wide {
            Value::F64(f64::from_bits(x as u64))
        } else {
            Value::F32(f32::from_bits(x as u32))
        };
    }
}

/// When an element type was guessed from its size (i32/i64), and every
/// non-zero value decodes to a plausible float while being implausible as
/// an integer, reinterpret them as f32/f64. Returns the new type name.
fn refine(values: &mut [&mut Value], type_name_now: &str) -> Option<&'static str> {
    let wide = match type_name_now {
        "i32" => false,
        "i64" => true,
        _ => return None,
    };
    let mut any = false;
    for v in values.iter() {
        match looks_float(v) {
            Some(false) => return None,
            Some(true) => any = true,
            None => {}
        }
    }
    if !any {
        return None;
    }
    for v in values.iter_mut() {
        to_float(v, wide);
    }
    Some(if wide { "f64" } else { "f32" })
}

fn refine_one(v: Value, t: &TypeLayout, guessed: bool) -> (Value, String) {
    let mut v = v;
    let mut name = type_desc(t);
    if guessed {
        if let Some(n) = refine(&mut [&mut v], &name) {
            name = n.to_owned();
        }
    }
    (v, name)
}

fn refine_contents(d: &mut Decoded) {
    if !d.type_guessed {
        return;
    }
    let Some(c) = d.contents.as_mut() else { return };
    let Some(desc) = d.type_desc.clone() else {
        return;
    };
    if let Some((k, v)) = desc.split_once(" -> ") {
        let mut keys: Vec<&mut Value> = c.items.iter_mut().filter_map(|i| i.key.as_mut()).collect();
        let nk = refine(&mut keys, k).map_or(k.to_owned(), str::to_owned);
        let mut vals: Vec<&mut Value> = c.items.iter_mut().map(|i| &mut i.value).collect();
        let nv = refine(&mut vals, v).map_or(v.to_owned(), str::to_owned);
        d.type_desc = Some(format!("{nk} -> {nv}"));
    } else {
        let mut vals: Vec<&mut Value> = c.items.iter_mut().map(|i| &mut i.value).collect();
        if let Some(n) = refine(&mut vals, &desc) {
            d.type_desc = Some(n.to_owned());
        }
    }
}

/// Runs the decoder of `kind`.
pub fn decode(kind: Kind, ctx: &Ctx) -> R<Decoded> {
    let mut d = decode_raw(kind, ctx)?;
    refine_contents(&mut d);
    Ok(d)
}

fn decode_raw(kind: Kind, ctx: &Ctx) -> R<Decoded> {
    match kind {
        Kind::Structure(SK::Array) => array(ctx),
        Kind::Structure(SK::Queue) => queue(ctx),
        Kind::Structure(SK::Stack) => stack(ctx),
        Kind::Structure(SK::Map) => map(ctx),
        Kind::Structure(SK::Set) => set(ctx),
        Kind::Structure(SK::Pool) => pool(ctx),
        Kind::Structure(SK::Ring) => ring(ctx),
        Kind::Structure(SK::Semaphore) => semaphore(ctx),
        Kind::Structure(SK::Mutex) => mutex(ctx),
        Kind::Structure(SK::Barrier) => barrier(ctx),
        Kind::Structure(SK::Latch) => latch(ctx),
        Kind::Structure(SK::Once) => once(ctx),
        Kind::Structure(SK::Event) => event(ctx),
        Kind::Structure(SK::RwLock) => rwlock(ctx),
        Kind::Structure(SK::Monitor) => monitor(ctx),
        Kind::Structure(SK::Signal) => signal(ctx),
        Kind::Structure(SK::Future) => future(ctx),
        Kind::Structure(SK::Lazy) => lazy(ctx),
        Kind::Structure(SK::Stream) => stream(ctx),
        Kind::Structure(SK::Channel) => channel(ctx),
        Kind::StreamVoid => stream_void(ctx),
        Kind::Schema => schema(ctx),
        Kind::SelfDescription => self_description(ctx),
        Kind::WaiterRegistry => waiter_registry(ctx),
        Kind::Marker => marker(ctx),
        Kind::Unknown => unknown(ctx),
    }
}
