//! `RawPool`: a fixed set of nodes handed out and taken back by index, over
//! elements whose layout is known at run time. The normative layout is
//! docs/FORMAT.md §4.3; the offsets and the node layout are
//! [`crate::format::pool`]. [`crate::Pool`] is the typed veneer over it.
//!
//! Byte- and protocol-compatible with the ZeroIPC C++ reference `pool.h`
//! and the Python `Pool` (whose API is index based too; the Python *open*
//! path computes a wrong stride for 8-aligned elements, docs/FORMAT.md §7,
//! which we do not copy). The node stride depends on the element's
//! alignment, which the header does not store: [`RawPool::open`] without a
//! layout takes it from the segment's self-description, or else tries the
//! alignments the element size allows and keeps the one whose stride fits
//! the entry.
//!
//! # Algorithm
//!
//! The free list is a Treiber stack (R. K. Treiber, "Systems Programming:
//! Coping with Parallelism", IBM RJ 5118, 1986) whose head carries a 32-bit
//! generation that every successful pop and push increments, so a CAS that
//! read a head before another process popped and pushed the same node fails
//! (ABA protection), exactly as the reference does. The generation wraps
//! after 2^32 operations; an ABA needs a CAS to stall across exactly a
//! multiple of that many operations (docs/FORMAT.md §8.3 #17).
//!
//! What we add, without changing bytes:
//! - every node index read from shared memory (the head, a node's `next`) is
//!   checked against the capacity cached at open before it addresses
//!   anything; a corrupt list is reported as an error;
//! - `deallocate` refuses an index out of range, refuses when `allocated` is
//!   already 0 (the reference wraps it, docs/FORMAT.md §8.3 #16), and
//!   refuses a node that is the current free-list head. The format has no
//!   per-node "in use" bit, so a double free of a node that is deeper in
//!   the free list is **not** detected: it puts the node on the list twice,
//!   after which it can be handed out twice. Handles are plain indices;
//!   keep ownership discipline.
//! - `allocated` is decremented (refusing at 0) *before* the node is pushed,
//!   so a concurrent allocation of that node always increments after.
//!
//! # Forms
//!
//! [`RawPool::allocate`] never blocks (`Ok(None)` when every node is
//! allocated); [`RawPool::allocate_timeout`] retries until a deadline and
//! then returns [`Error::Timeout`]; [`RawPool::items`] lists the allocated
//! nodes and copies their data without changing a byte.

use super::{
    check_elem_size, check_elem_size_field, check_len, create_described, invalid_create,
    open_described,
};
use crate::error::{Error, Result};
use crate::format::waiters::Side;
use crate::format::{pool as fmt, ElemLayout, StructureKind};
use crate::region::atomic::{AtomicU32, AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::Deadline;
use crate::waiters::{Blocking, Waiters, Word};
use std::time::Duration;

pub(crate) const KIND: &str = "pool";

const NODES: usize = fmt::NODES as usize;

/// A pool of nodes whose element layout is known at run time.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::RawPool;
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-rawpool-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let pool = RawPool::create(&seg, "blocks", ElemLayout::new(12, 4).unwrap(), 3)?;
/// let a = pool.allocate()?.expect("a free node");
/// pool.set(a, &[7; 12])?;
/// let b = pool.allocate()?.expect("a free node");
/// assert_eq!(pool.items()?, vec![(a, vec![7; 12]), (b, vec![0; 12])]);
/// assert!(pool.set(b, &[1; 4]).is_err()); // wrong length
/// pool.deallocate(a)?;
/// assert!(pool.deallocate(a).is_err()); // a is the first free node: double free caught
/// assert_eq!((pool.allocated(), pool.available()), (1, 2));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawPool {
    region: Region,
    elem: ElemLayout,
    /// `elem.size()`, validated against the entry on open.
    elem_size: usize,
    /// Node count, validated on open: 1..=u32::MAX.
    capacity: u32,
    /// Offset of `next` inside a node.
    next_off: usize,
    /// Bytes from one node to the next.
    stride: usize,
    /// The pool's sleeper counts in the segment's waiter registry ("room":
    /// allocators waiting for a free node).
    waiters: Waiters,
}

impl RawPool {
    /// Entry size of a pool of `capacity` nodes of `elem` (`None` on
    /// overflow).
    pub(crate) fn size_for(elem: ElemLayout, capacity: usize) -> Option<u64> {
        fmt::entry_size(capacity as u64, elem)
    }

    /// Writes a fresh header and free list into the zeroed `region` (of
    /// `size_for(elem, capacity)` bytes): node `i` links to `i + 1`, the
    /// last to none, head = node 0 with generation 0.
    pub(crate) fn init_region(region: &Region, elem: ElemLayout, capacity: u32) {
        let node = fmt::node_layout(elem).expect("layout accepted by size_for");
        assert_eq!(
            Self::size_for(elem, capacity as usize),
            Some(region.len() as u64),
            "pool region sized by size_for"
        );
        // Relaxed: the table publishes the entry with a Release store of
        // entry_count after this returns.
        region
            .atomic_u64(fmt::FREE_HEAD as usize)
            .store(0, Ordering::Relaxed); // node 0, generation 0
        region
            .atomic_u32(fmt::ALLOCATED as usize)
            .store(0, Ordering::Relaxed);
        region.write::<u32>(fmt::PADDING as usize, 0);
        region.write::<u32>(fmt::CAPACITY as usize, capacity);
        region.write::<u32>(fmt::ELEM_SIZE as usize, elem.size() as u32);
        for i in 0..capacity {
            let next = if i + 1 < capacity { i + 1 } else { fmt::NONE };
            let at = NODES as u64 + i as u64 * node.stride + node.next;
            region
                .atomic_u32(at as usize)
                .store(next, Ordering::Relaxed);
        }
    }

    /// Validates `region` as a pool of `elem` (for `None`, the header's
    /// element size with the alignment whose node stride fits the entry)
    /// and caches its bounds; `type_name` names a typed veneer's element
    /// type in a mismatch error.
    pub(crate) fn from_region_as(
        region: Region,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawPool> {
        let len = region.len() as u64;
        if len < fmt::HEADER_SIZE {
            return Err(region.mismatch(
                KIND,
                format!("entry size {len} is smaller than the 24-byte header"),
            ));
        }
        let capacity = region.read_u32(fmt::CAPACITY as usize);
        let stored_size = region.read_u32(fmt::ELEM_SIZE as usize) as u64;
        let given = elem.is_some();
        let mut elem = check_elem_size(&region, KIND, stored_size, elem, type_name)?;
        if capacity == 0 {
            return Err(region.mismatch(KIND, "stored capacity is 0"));
        }
        if !given {
            // The header stores no alignment; of the alignments the size
            // allows (largest first), keep the first whose stride fits.
            elem = alignments_for(elem)
                .find(|e| fmt::entry_size(capacity as u64, *e) == Some(len))
                .unwrap_or(elem);
        }
        let node = fmt::node_layout(elem);
        match (node, fmt::entry_size(capacity as u64, elem)) {
            (Some(node), Some(total)) if total == len => Ok(RawPool {
                waiters: Waiters::of(&region),
                region,
                elem,
                elem_size: stored_size as usize,
                capacity,
                next_off: node.next as usize,
                stride: node.stride as usize,
            }),
            _ => Err(region.mismatch(
                KIND,
                format!(
                    "24 + capacity {capacity} x node size {} does not equal the entry size {len}",
                    node.map_or(0, |n| n.stride)
                ),
            )),
        }
    }

    /// Creates a pool of `capacity` nodes (1 ..= `u32::MAX`) of `elem`, all
    /// free.
    pub fn create(seg: &Segment, name: &str, elem: ElemLayout, capacity: usize) -> Result<RawPool> {
        Self::create_as(seg, name, elem, capacity, None)
    }

    /// [`RawPool::create`] recording the element type's fingerprint (a typed
    /// veneer's) in the segment's self-description.
    pub(crate) fn create_as(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        fingerprint: Option<u64>,
    ) -> Result<RawPool> {
        let bad = |why: String| invalid_create(seg, KIND, name, why);
        if capacity == 0 {
            return Err(bad("capacity must be at least 1".into()));
        }
        if capacity as u64 > fmt::MAX_CAPACITY {
            return Err(bad(format!(
                "capacity {capacity} does not fit the u32 capacity field"
            )));
        }
        check_elem_size_field(seg, KIND, name, elem)?;
        let size = Self::size_for(elem, capacity).ok_or_else(|| {
            bad(format!(
                "capacity {capacity} x a node of a {}-byte element overflows",
                elem.size()
            ))
        })?;
        let region = create_described(
            seg,
            name,
            StructureKind::Pool,
            elem,
            fingerprint,
            capacity as u64,
            size,
            |r| Self::init_region(r, elem, capacity as u32),
        )?;
        Self::from_region_as(region, Some(elem), None)
    }

    /// Opens the pool named `name`, checking element size (against `elem`
    /// when given), capacity and entry size.
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawPool> {
        Self::open_as(seg, name, elem, None)
    }

    /// [`RawPool::open`] for a typed veneer (`type_name` names its element
    /// type in a mismatch error).
    pub(crate) fn open_as(
        seg: &Segment,
        name: &str,
        elem: Option<ElemLayout>,
        type_name: Option<&str>,
    ) -> Result<RawPool> {
        open_described(
            seg,
            name,
            StructureKind::Pool,
            elem,
            |region, elem| Self::from_region_as(region, elem, type_name),
            |raw| raw.elem,
        )
    }

    /// The element layout.
    #[inline]
    pub fn elem(&self) -> ElemLayout {
        self.elem
    }

    /// Node count (cached at open).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        &self.region
    }

    #[inline]
    fn head(&self) -> &AtomicU64 {
        self.region.atomic_u64(fmt::FREE_HEAD as usize)
    }

    #[inline]
    fn allocated_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(fmt::ALLOCATED as usize)
    }

    /// Offset of node `idx`'s data (`idx < capacity`).
    #[inline]
    fn node_off(&self, idx: u32) -> usize {
        debug_assert!(idx < self.capacity);
        NODES + idx as usize * self.stride
    }

    #[inline]
    fn next(&self, idx: u32) -> &AtomicU32 {
        self.region.atomic_u32(self.node_off(idx) + self.next_off)
    }

    #[cold]
    fn corrupt(&self, detail: String) -> Error {
        self.region
            .mismatch(KIND, format!("corrupt free list: {detail}"))
    }

    /// `idx` if it names a node, else the error naming `op` and the values.
    #[inline]
    fn check(&self, idx: u32, op: &str) -> Result<u32> {
        if idx < self.capacity {
            Ok(idx)
        } else {
            Err(self.region.invalid_argument(
                KIND,
                format!(
                    "{op}: node index {idx} out of range for capacity {}",
                    self.capacity
                ),
            ))
        }
    }

    /// Takes a free node and returns its index; `Ok(None)` when all are
    /// allocated. An error means the shared free list holds an index out of
    /// range (corruption). Never blocks.
    #[inline]
    pub fn allocate(&self) -> Result<Option<u32>> {
        loop {
            // Acquire: pairs with the release CAS that pushed this head, so
            // the pusher's store of the node's `next` is visible.
            let old = self.head().load(Ordering::Acquire);
            let idx = old as u32;
            let generation = (old >> 32) as u32;
            if idx == fmt::NONE {
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
            if next != fmt::NONE && next >= self.capacity {
                // Acquire as above: a re-read to tell a race from corruption.
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
            // our view for the next CAS on the head. Weak: a spurious
            // failure goes round again.
            if self
                .head()
                .compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                // Counted after the pop, as the reference does. Relaxed: the
                // counter orders nothing, it is only reported.
                self.allocated_word().fetch_add(1, Ordering::Relaxed);
                return Ok(Some(idx));
            }
        }
    }

    /// Like [`RawPool::allocate`], but waits up to `timeout` for a node to
    /// be freed; [`Error::Timeout`] when none was (a corrupt free list is
    /// reported at once).
    pub fn allocate_timeout(&self, timeout: Duration) -> Result<u32> {
        let deadline = Deadline::after(timeout);
        let mut failure = None;
        // Asleep on the free list head's low half (the node index), which a
        // free's CAS changes from NONE; no allocation is "in flight" while
        // it reads NONE, so sleeping is safe exactly then.
        let blocking = Blocking {
            waiters: &self.waiters,
            side: Side::Room,
            word: Word::Low32(self.head()),
        };
        let idle = |seen: u32| seen == fmt::NONE;
        let attempt = || match self.allocate() {
            Ok(Some(idx)) => Some(idx),
            Ok(None) => None,
            Err(e) => {
                failure = Some(e);
                Some(fmt::NONE)
            }
        };
        let got = blocking.wait(&deadline, attempt, || {}, idle);
        match (failure, got) {
            (Some(e), _) => Err(e),
            (None, Some(idx)) => Ok(idx),
            (None, None) => Err(deadline.timeout(&self.region, KIND)),
        }
    }

    /// Returns node `idx` to the free list. Refuses an index out of range, a
    /// free while `allocated` is 0, and a node that is the free-list head
    /// (see the module doc for the double frees that cannot be detected).
    pub fn deallocate(&self, idx: u32) -> Result<()> {
        let idx = self.check(idx, "deallocate")?;
        // Reserve the decrement first, refusing to go below zero. Relaxed:
        // the counter orders nothing (the free list's CAS does).
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
            // Acquire: the head's node and generation as last published.
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
            // pop of this node (which acquires the head). SeqCst on success
            // (the reference uses acq_rel; on x86-64 the same instruction):
            // step 1 of the wake protocol (crate::waiters) for allocators
            // asleep on the head.
            if self
                .head()
                .compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                if self.waiters.room_sleeping() {
                    Word::Low32(self.head()).wake_all();
                }
                return Ok(());
            }
        }
    }

    /// Runs `read(region, offset)` on node `idx`'s data (`elem_size` bytes
    /// at `offset`).
    #[inline]
    pub(crate) fn get_with<R>(
        &self,
        idx: u32,
        read: impl FnOnce(&Region, usize) -> R,
    ) -> Result<R> {
        let idx = self.check(idx, "get")?;
        Ok(read(&self.region, self.node_off(idx)))
    }

    /// Runs `write(region, offset)` on node `idx`'s data.
    #[inline]
    pub(crate) fn set_with(&self, idx: u32, write: impl FnOnce(&Region, usize)) -> Result<()> {
        let idx = self.check(idx, "set")?;
        write(&self.region, self.node_off(idx));
        Ok(())
    }

    /// Copies node `idx`'s data into `out` (exactly the element size).
    #[inline]
    pub fn get(&self, idx: u32, out: &mut [u8]) -> Result<()> {
        check_len(&self.region, KIND, "get", self.elem_size, out.len())?;
        self.get_with(idx, |r, off| r.read_bytes(off, out))
    }

    /// Stores `src` (exactly the element size) in node `idx`.
    #[inline]
    pub fn set(&self, idx: u32, src: &[u8]) -> Result<()> {
        check_len(&self.region, KIND, "set", self.elem_size, src.len())?;
        self.set_with(idx, |r, off| r.write_bytes(off, src))
    }

    /// The allocated nodes, in index order, each with a copy of its data: a
    /// snapshot for tools that changes no byte. A node is taken as
    /// allocated when the free list (walked from the head, at most
    /// `capacity` steps) does not reach it; nodes allocated or freed during
    /// the walk may or may not be listed. An error when the walk meets an
    /// index out of range or a cycle (a corrupt list, or one that changed
    /// so much during the walk that it cannot be told from one).
    pub fn items(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut free = vec![false; self.capacity as usize];
        // Acquire: as in `allocate`, the `next` words of the list we walk
        // are visible.
        let mut idx = self.head().load(Ordering::Acquire) as u32;
        while idx != fmt::NONE {
            if idx >= self.capacity {
                return Err(self.corrupt(format!(
                    "free list reaches index {idx}, capacity {}",
                    self.capacity
                )));
            }
            if std::mem::replace(&mut free[idx as usize], true) {
                return Err(self.corrupt(format!("free list visits node {idx} twice")));
            }
            // Acquire: the freer's `next` store is published by its
            // release CAS on the head, which our head load acquired.
            idx = self.next(idx).load(Ordering::Acquire);
        }
        Ok((0..self.capacity)
            .filter(|&i| !free[i as usize])
            .map(|i| {
                let mut v = vec![0u8; self.elem_size];
                self.region.read_bytes(self.node_off(i), &mut v);
                (i, v)
            })
            .collect())
    }

    /// Nodes handed out (a snapshot, clamped to the capacity).
    #[inline]
    pub fn allocated(&self) -> usize {
        // Relaxed: a count for display, ordering nothing.
        self.allocated_word()
            .load(Ordering::Relaxed)
            .min(self.capacity) as usize
    }

    /// Nodes free (`capacity - allocated`).
    #[inline]
    pub fn available(&self) -> usize {
        self.capacity() - self.allocated()
    }

    /// True when every node is allocated.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.allocated() == self.capacity()
    }
}

/// `elem` and the layouts of the same size with smaller alignments, largest
/// alignment first (the candidates for a header that stores no alignment).
fn alignments_for(elem: ElemLayout) -> impl Iterator<Item = ElemLayout> {
    let size = elem.size();
    std::iter::successors(Some(elem.align()), |&a| (a > 1).then_some(a / 2))
        .filter_map(move |a| ElemLayout::new(size, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/FORMAT.md §4.3: i32 -> 8 (next @4), i64 -> 16 (@8),
    /// u8/char[3]/i16 -> 8 (@4), struct{i32 x3} -> 16 (@12),
    /// struct{f64; i32} (size 16, align 8) -> 24 (@16).
    #[test]
    fn node_layouts_match_the_reference() {
        let node = |s, a| {
            let n = fmt::node_layout(ElemLayout::new(s, a).unwrap()).unwrap();
            (n.next, n.stride)
        };
        assert_eq!(node(4, 4), (4, 8));
        assert_eq!(node(8, 8), (8, 16));
        assert_eq!(node(1, 1), (4, 8));
        assert_eq!(node(3, 1), (4, 8));
        assert_eq!(node(2, 2), (4, 8));
        assert_eq!(node(12, 4), (12, 16));
        assert_eq!(node(16, 8), (16, 24));
    }

    #[test]
    fn alignment_candidates() {
        let e = ElemLayout::new(16, 8).unwrap();
        let aligns: Vec<u64> = alignments_for(e).map(|l| l.align()).collect();
        assert_eq!(aligns, vec![8, 4, 2, 1]);
        let odd = ElemLayout::new(3, 1).unwrap();
        assert_eq!(alignments_for(odd).count(), 1);
    }
}
