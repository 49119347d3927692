//! `Pool<T>`: a fixed set of `T` slots handed out and taken back by index
//! (FORMAT.md §4, REFERENCE-NOTES §5), byte- and protocol-compatible with
//! the ZeroIPC C++ reference `pool.h` and the Python `Pool` (whose API is
//! index based too; the Python *open* path computes a wrong stride for
//! 8-aligned elements, REFERENCE-NOTES §5.3, which we do not copy).
//!
//! # Layout
//!
//! | off | field | notes |
//! |---|---|---|
//! | 0 | free_head: atomic u64 | low 32 bits: first free node, `0xFFFFFFFF` = none; high 32 bits: generation |
//! | 8 | allocated: atomic u32 | nodes handed out |
//! | 12 | padding: u32 | 0 |
//! | 16 | capacity: u32 | node count, > 0 |
//! | 20 | elem_size: u32 | `size_of::<T>()` |
//! | 24 | nodes | `capacity` nodes `{T data; atomic u32 next}` |
//!
//! Node: data at 0, `next` at `no = align_up(s, 4)`, stride
//! `align_up(no + 4, max(4, align T))`; entry size `24 + N * capacity`.
//! Creation links node `i` to `i + 1` and the last to none, head = node 0,
//! generation 0.
//!
//! # Algorithm
//!
//! The free list is a Treiber stack (R. K. Treiber, "Systems Programming:
//! Coping with Parallelism", IBM RJ 5118, 1986) whose head carries a 32-bit
//! generation that every successful pop and push increments, so a CAS that
//! read a head before another process popped and pushed the same node fails
//! (ABA protection), exactly as the reference does. The generation wraps
//! after 2^32 operations; an ABA needs a CAS to stall across exactly a
//! multiple of that many operations (REFERENCE-NOTES §14 item 17).
//!
//! What we add, without changing bytes:
//! - every node index read from shared memory (the head, a node's `next`) is
//!   checked against the capacity cached at open before it addresses
//!   anything; a corrupt list is reported as an error;
//! - `deallocate` refuses an index out of range, refuses when `allocated` is
//!   already 0 (the reference wraps it, item 16), and refuses a node that is
//!   the current free-list head. The format has no per-node "in use" bit, so
//!   a double free of a node that is deeper in the free list is **not**
//!   detected: it puts the node on the list twice, after which it can be
//!   handed out twice. Handles are plain indices; keep ownership discipline.
//! - `allocated` is decremented (refusing at 0) *before* the node is pushed,
//!   so a concurrent allocation of that node always increments after.

use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{AtomicU32, AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

const KIND: &str = "pool";
const HEADER: usize = 24;
/// Free-list terminator.
const NONE: u32 = u32::MAX;

const fn align_up(n: usize, a: usize) -> usize {
    (n + a - 1) & !(a - 1)
}

/// `(next offset, node stride)` of a node `{T data; atomic u32 next}`
/// (REFERENCE-NOTES §5.1).
pub(crate) const fn node_layout(size: usize, align: usize) -> (usize, usize) {
    let next = align_up(size, 4);
    let a = if align > 4 { align } else { 4 };
    (next, align_up(next + 4, a))
}

/// An allocated node of a [`Pool`]: its index, which is what other
/// processes (C++ or Python peers too) use to name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolHandle(u32);

impl PoolHandle {
    /// The node index.
    pub fn index(self) -> u32 {
        self.0
    }

    /// A handle for node `index` (for example received from another
    /// process); the pool checks it against its capacity on every use.
    pub fn from_index(index: u32) -> PoolHandle {
        PoolHandle(index)
    }
}

/// A pool of `capacity` slots of `T` with a lock-free free list, shared by
/// any number of processes.
///
/// ```
/// use zeroipc::{Pool, Segment};
/// let name = format!("/zeroipc-doc-pool-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let pool = Pool::<u64>::create(&seg, "blocks", 4)?;
/// let h = pool.allocate()?.expect("a free node");
/// pool.set(h, 42)?;
/// assert_eq!(pool.get(h)?, 42);
/// assert_eq!((pool.allocated(), pool.available()), (1, 3));
/// pool.deallocate(h)?;
/// assert!(pool.deallocate(h).is_err()); // double free caught (allocated is 0)
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Pool<T: ShmElement> {
    region: Region,
    capacity: u32,
    next_off: usize,
    stride: usize,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("region", &self.region)
            .field("capacity", &self.capacity)
            .field("stride", &self.stride)
            .finish()
    }
}

impl<T: ShmElement> Pool<T> {
    const NODE: (usize, usize) = node_layout(size_of::<T>(), align_of::<T>());

    /// Entry size of a pool of `capacity` nodes (`None` on overflow).
    pub(crate) fn size_for(capacity: usize) -> Option<u64> {
        (capacity as u64)
            .checked_mul(Self::NODE.1 as u64)?
            .checked_add(HEADER as u64)
    }

    /// Writes a fresh header and free list into the zeroed `region`.
    pub(crate) fn init_region(region: &Region, capacity: u32) {
        let (next_off, stride) = Self::NODE;
        region.atomic_u64(0).store(0, Ordering::Relaxed); // node 0, generation 0
        region.atomic_u32(8).store(0, Ordering::Relaxed);
        region.write::<u32>(12, 0);
        region.write::<u32>(16, capacity);
        region.write::<u32>(20, size_of::<T>() as u32);
        for i in 0..capacity {
            let next = if i + 1 < capacity { i + 1 } else { NONE };
            region
                .atomic_u32(HEADER + i as usize * stride + next_off)
                .store(next, Ordering::Relaxed);
        }
    }

    /// Validates `region` as a `Pool<T>` and caches its bounds.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        if region.len() < HEADER {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {} is smaller than the 24-byte header",
                    region.len()
                ),
            ));
        }
        let capacity = region.read_u32(16);
        let elem_size = region.read_u32(20);
        if elem_size as usize != size_of::<T>() {
            return Err(region.mismatch(
                KIND,
                format!(
                    "elem_size is {elem_size}, expected {} (wrong element type?)",
                    size_of::<T>()
                ),
            ));
        }
        if capacity == 0 {
            return Err(region.mismatch(KIND, "stored capacity is 0"));
        }
        match Self::size_for(capacity as usize) {
            Some(t) if t == region.len() as u64 => {}
            _ => {
                return Err(region.mismatch(
                    KIND,
                    format!(
                        "24 + capacity {capacity} x node size {} does not equal the entry size {}",
                        Self::NODE.1,
                        region.len()
                    ),
                ))
            }
        }
        Ok(Pool {
            region,
            capacity,
            next_off: Self::NODE.0,
            stride: Self::NODE.1,
            _t: PhantomData,
        })
    }

    /// Creates a pool of `capacity` nodes (1 ..= `u32::MAX`), all free.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let bad = |why: String| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("{KIND} {name:?}: {why}"),
        };
        if capacity == 0 {
            return Err(bad("capacity must be at least 1".into()));
        }
        if capacity > u32::MAX as usize {
            return Err(bad(format!(
                "capacity {capacity} does not fit the u32 capacity field"
            )));
        }
        let size = Self::size_for(capacity).ok_or_else(|| {
            bad(format!(
                "capacity {capacity} x node size {} overflows",
                Self::NODE.1
            ))
        })?;
        let region = seg.register(name, size, |r| {
            Self::init_region(r, capacity as u32);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the pool named `name`, checking element size, capacity and
    /// entry size.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    fn head(&self) -> &AtomicU64 {
        self.region.atomic_u64(0)
    }

    fn allocated_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(8)
    }

    fn node_off(&self, idx: u32) -> usize {
        debug_assert!(idx < self.capacity);
        HEADER + idx as usize * self.stride
    }

    fn next(&self, idx: u32) -> &AtomicU32 {
        self.region.atomic_u32(self.node_off(idx) + self.next_off)
    }

    fn corrupt(&self, detail: String) -> Error {
        self.region
            .mismatch(KIND, format!("corrupt free list: {detail}"))
    }

    fn check(&self, h: PoolHandle, op: &str) -> Result<u32> {
        if h.0 < self.capacity {
            Ok(h.0)
        } else {
            Err(self.region.invalid_argument(
                KIND,
                format!(
                    "{op}: node index {} out of range for capacity {}",
                    h.0, self.capacity
                ),
            ))
        }
    }

    /// Takes a free node; `Ok(None)` when all are allocated. An error means
    /// the shared free list holds an index out of range (corruption).
    pub fn allocate(&self) -> Result<Option<PoolHandle>> {
        loop {
            // Acquire: pairs with the release CAS that pushed this head, so
            // the pusher's store of the node's `next` is visible.
            let old = self.head().load(Ordering::Acquire);
            let idx = old as u32;
            let generation = (old >> 32) as u32;
            if idx == NONE {
                return Ok(None);
            }
            if idx >= self.capacity {
                return Err(self.corrupt(format!(
                    "free_head index {idx} >= capacity {}",
                    self.capacity
                )));
            }
            // Relaxed: if the head is still `old` when we CAS, nobody popped
            // or pushed since our acquire load (the generation would have
            // moved), so this is the `next` that load made visible.
            let next = self.next(idx).load(Ordering::Relaxed);
            if next != NONE && next >= self.capacity {
                if self.head().load(Ordering::Acquire) == old {
                    return Err(self.corrupt(format!(
                        "node {idx} links to {next}, capacity {}",
                        self.capacity
                    )));
                }
                continue; // raced with a pop/push: `next` may be stale
            }
            let new = ((generation.wrapping_add(1) as u64) << 32) | next as u64;
            // AcqRel: acquire the node (its last owner's writes), release
            // our view for the next CAS on the head.
            if self
                .head()
                .compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                // Counted after the pop, as the reference does.
                self.allocated_word().fetch_add(1, Ordering::Relaxed);
                return Ok(Some(PoolHandle(idx)));
            }
        }
    }

    /// Returns a node to the free list. Refuses an index out of range, a
    /// free while `allocated` is 0, and a node that is the free-list head
    /// (see the module doc for the double frees that cannot be detected).
    pub fn deallocate(&self, h: PoolHandle) -> Result<()> {
        let idx = self.check(h, "deallocate")?;
        // Reserve the decrement first, refusing to go below zero.
        let words = self.allocated_word();
        let mut a = words.load(Ordering::Relaxed);
        loop {
            if a == 0 {
                return Err(self.region.invalid_argument(
                    KIND,
                    format!(
                        "deallocate: node {idx} freed while no node is allocated (double free?)"
                    ),
                ));
            }
            match words.compare_exchange_weak(a, a - 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(seen) => a = seen,
            }
        }
        loop {
            let old = self.head().load(Ordering::Acquire);
            if old as u32 == idx {
                words.fetch_add(1, Ordering::Relaxed); // undo the reservation
                return Err(self.region.invalid_argument(
                    KIND,
                    format!("deallocate: node {idx} is already the first free node (double free)"),
                ));
            }
            // Relaxed: published by the release CAS below.
            self.next(idx).store(old as u32, Ordering::Relaxed);
            let new = ((((old >> 32) as u32).wrapping_add(1) as u64) << 32) | idx as u64;
            // Release: our data writes and `next` happen before any later
            // pop of this node (which acquires the head).
            if self
                .head()
                .compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(());
            }
        }
    }

    /// A copy of the node's data.
    pub fn get(&self, h: PoolHandle) -> Result<T> {
        let idx = self.check(h, "get")?;
        Ok(self.region.read::<T>(self.node_off(idx)))
    }

    /// Stores `value` in the node.
    pub fn set(&self, h: PoolHandle, value: T) -> Result<()> {
        let idx = self.check(h, "set")?;
        self.region.write::<T>(self.node_off(idx), value);
        Ok(())
    }

    /// Node count (cached at open).
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Nodes handed out (a snapshot, clamped to the capacity).
    pub fn allocated(&self) -> usize {
        self.allocated_word()
            .load(Ordering::Relaxed)
            .min(self.capacity) as usize
    }

    /// Nodes free (`capacity - allocated`).
    pub fn available(&self) -> usize {
        self.capacity() - self.allocated()
    }

    /// True when every node is allocated.
    pub fn is_full(&self) -> bool {
        self.allocated() == self.capacity()
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// REFERENCE-NOTES §5.1: i32 -> 8 (next @4), i64 -> 16 (@8),
    /// u8/char[3]/i16 -> 8 (@4), struct{i32 x3} -> 16 (@12),
    /// struct{f64; i32} (size 16, align 8) -> 24 (@16).
    #[test]
    fn node_layouts_match_the_reference() {
        assert_eq!(node_layout(4, 4), (4, 8));
        assert_eq!(node_layout(8, 8), (8, 16));
        assert_eq!(node_layout(1, 1), (4, 8));
        assert_eq!(node_layout(3, 1), (4, 8));
        assert_eq!(node_layout(2, 2), (4, 8));
        assert_eq!(node_layout(12, 4), (12, 16));
        assert_eq!(node_layout(16, 8), (16, 24));
        assert_eq!(Pool::<i64>::NODE, (8, 16));
        assert_eq!(Pool::<[u8; 3]>::NODE, (4, 8));
        assert_eq!(Pool::<[i32; 3]>::NODE, (12, 16));
    }
}
