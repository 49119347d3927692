//! `Pool<T>`, a Treiber free list of nodes (docs/FORMAT.md §4.3): one entry `name`.
//!
//! | off | field |
//! |---|---|
//! | [`FREE_HEAD`] 0 | free_head: atomic u64, low 32 bits node index ([`NONE`] = none), high 32 bits generation |
//! | [`ALLOCATED`] 8 | allocated: atomic u32 |
//! | [`PADDING`] 12 | u32, 0 |
//! | [`CAPACITY`] 16 | capacity: u32, nodes ([`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`]) |
//! | [`ELEM_SIZE`] 20 | elem_size: u32 |
//! | [`NODES`] 24 | `capacity` nodes `{T data; atomic u32 next}` ([`node_layout`]) |
//!
//! Creation links node `i` to `i + 1` and the last to [`NONE`]; head =
//! node 0, generation 0. Entry size `24 + stride * capacity`
//! ([`entry_size`]).
//!
//! ```
//! use zeroipc::format::{pool, ElemLayout};
//! assert_eq!((pool::FREE_HEAD, pool::ALLOCATED, pool::PADDING, pool::CAPACITY, pool::ELEM_SIZE, pool::NODES), (0, 8, 12, 16, 20, 24));
//! assert_eq!(pool::NONE, 0xFFFF_FFFF);
//! assert_eq!(pool::entry_size(4, ElemLayout::of::<u64>()), Some(24 + 16 * 4));
//! ```

use super::elem::{align_up, max_u64, ElemLayout};

/// Offset of `free_head` (atomic u64: index | generation << 32).
pub const FREE_HEAD: u64 = 0;
/// Offset of `allocated` (atomic u32).
pub const ALLOCATED: u64 = 8;
/// Offset of the padding word (u32, 0).
pub const PADDING: u64 = 12;
/// Offset of `capacity` (u32).
pub const CAPACITY: u64 = 16;
/// Offset of `elem_size` (u32).
pub const ELEM_SIZE: u64 = 20;
/// Offset of node 0.
pub const NODES: u64 = 24;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 24;
/// The node index meaning "none" (free-list terminator).
pub const NONE: u32 = u32::MAX;
/// Smallest capacity.
pub const MIN_CAPACITY: u64 = 1;
/// Largest capacity (the u32 field).
pub const MAX_CAPACITY: u64 = u32::MAX as u64;

/// Offsets inside one pool node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeLayout {
    /// Offset of the `next` word (the data is at 0).
    pub next: u64,
    /// Bytes from one node to the next.
    pub stride: u64,
}

/// The C layout of `struct { T data; atomic<u32> next; }`: `next` at
/// `align_up(s, 4)`, stride `align_up(next + 4, max(4, a))`; `None` on
/// overflow.
///
/// ```
/// use zeroipc::format::{pool, ElemLayout};
/// assert_eq!(pool::node_layout(ElemLayout::of::<[u8; 3]>()), Some(pool::NodeLayout { next: 4, stride: 8 }));
/// assert_eq!(pool::node_layout(ElemLayout::of::<u64>()), Some(pool::NodeLayout { next: 8, stride: 16 }));
/// ```
pub const fn node_layout(elem: ElemLayout) -> Option<NodeLayout> {
    let Some(next) = align_up(elem.size(), 4) else {
        return None;
    };
    let Some(end) = next.checked_add(4) else {
        return None;
    };
    match align_up(end, max_u64(4, elem.align())) {
        Some(stride) => Some(NodeLayout { next, stride }),
        None => None,
    }
}

/// Entry size of a pool of `capacity` nodes: `24 + stride * capacity`;
/// `None` on overflow.
///
/// ```
/// use zeroipc::format::{pool, ElemLayout};
/// assert_eq!(pool::entry_size(3, ElemLayout::of::<[i32; 3]>()), Some(24 + 16 * 3));
/// ```
pub const fn entry_size(capacity: u64, elem: ElemLayout) -> Option<u64> {
    let Some(node) = node_layout(elem) else {
        return None;
    };
    match capacity.checked_mul(node.stride) {
        Some(nodes) => nodes.checked_add(HEADER_SIZE),
        None => None,
    }
}
