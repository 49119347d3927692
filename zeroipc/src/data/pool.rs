//! `Pool<T>`: a fixed set of `T` slots handed out and taken back by index,
//! byte- and protocol-compatible with the ZeroIPC C++ reference `pool.h`
//! and the Python `Pool`.
//!
//! The normative layout is docs/FORMAT.md §4.3; the offsets and the node
//! layout are [`crate::format::pool`]. The protocol (a Treiber free list
//! with a generation-tagged head) and what it adds to the reference's
//! checks (including the double frees it cannot detect) live once in
//! [`RawPool`]; `Pool<T>` is a typed veneer over it that only copies `T`
//! in and out and wraps node indices in [`PoolHandle`]s.
//!
//! # Forms (docs/ARCHITECTURE.md, Conventions)
//!
//! - [`Pool::allocate`] never blocks: `Ok(None)` when every node is
//!   allocated.
//! - [`Pool::allocate_timeout`] waits up to a timeout for a node to be
//!   freed and returns [`Error::Timeout`] when none was.
//! - [`Pool::deallocate`], [`Pool::get`] and [`Pool::set`] never wait.

use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::format::ElemLayout;
use crate::raw::RawPool;
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;
use std::time::Duration;

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
/// use zeroipc::{Error, Pool, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-pool-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let pool = Pool::<u64>::create(&seg, "blocks", 2)?;
/// let h = pool.allocate()?.expect("a free node");
/// pool.set(h, 42)?;
/// assert_eq!(pool.get(h)?, 42);
/// assert_eq!((pool.allocated(), pool.available()), (1, 1));
/// let last = pool.allocate_timeout(Duration::from_millis(1))?;
/// assert!(matches!(pool.allocate_timeout(Duration::from_millis(1)), Err(Error::Timeout { .. })));
/// pool.deallocate(last)?;
/// pool.deallocate(h)?;
/// assert!(pool.deallocate(h).is_err()); // double free caught (allocated is 0)
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Pool<T: ShmElement> {
    raw: RawPool,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("region", self.raw.region())
            .field("capacity", &self.raw.capacity())
            .finish()
    }
}

impl<T: ShmElement> Pool<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    fn from_raw(raw: RawPool) -> Self {
        Pool {
            raw,
            _t: PhantomData,
        }
    }

    /// Creates a pool of `capacity` nodes (1 ..= `u32::MAX`), all free.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let fingerprint = Some(T::LAYOUT.fingerprint());
        RawPool::create_as(seg, name, Self::ELEM, capacity, fingerprint).map(Self::from_raw)
    }

    /// Opens the pool named `name`, checking element size, capacity and
    /// entry size.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        RawPool::open_as(
            seg,
            name,
            Some(Self::ELEM),
            Some(std::any::type_name::<T>()),
        )
        .map(Self::from_raw)
    }

    /// The protocol core under this pool (for tools: byte-level access,
    /// [`RawPool::items`]).
    #[inline]
    pub fn raw(&self) -> &RawPool {
        &self.raw
    }

    /// Takes a free node; `Ok(None)` when all are allocated. An error means
    /// the shared free list holds an index out of range (corruption).
    #[inline]
    pub fn allocate(&self) -> Result<Option<PoolHandle>> {
        self.raw.allocate().map(|o| o.map(PoolHandle))
    }

    /// Like [`Pool::allocate`], but waits up to `timeout` for a node to be
    /// freed; [`Error::Timeout`] when none was.
    #[inline]
    pub fn allocate_timeout(&self, timeout: Duration) -> Result<PoolHandle, Error> {
        self.raw.allocate_timeout(timeout).map(PoolHandle)
    }

    /// Returns a node to the free list. Refuses an index out of range, a
    /// free while `allocated` is 0, and a node that is the free-list head
    /// (see [`RawPool`] for the double frees that cannot be detected).
    #[inline]
    pub fn deallocate(&self, h: PoolHandle) -> Result<()> {
        self.raw.deallocate(h.0)
    }

    /// A copy of the node's data.
    #[inline]
    pub fn get(&self, h: PoolHandle) -> Result<T> {
        self.raw.get_with(h.0, |r, off| r.read::<T>(off))
    }

    /// Stores `value` in the node.
    #[inline]
    pub fn set(&self, h: PoolHandle, value: T) -> Result<()> {
        self.raw.set_with(h.0, |r, off| r.write::<T>(off, value))
    }

    /// Node count (cached at open).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// Nodes handed out (a snapshot, clamped to the capacity).
    #[inline]
    pub fn allocated(&self) -> usize {
        self.raw.allocated()
    }

    /// Nodes free (`capacity - allocated`).
    #[inline]
    pub fn available(&self) -> usize {
        self.raw.available()
    }

    /// True when every node is allocated.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.raw.is_full()
    }

    /// The underlying region.
    #[inline]
    pub fn region(&self) -> &Region {
        self.raw.region()
    }
}
