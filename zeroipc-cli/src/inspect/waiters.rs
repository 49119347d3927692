//! The waiter registry entry `__zeroipc_waiters` our runtime adds to a
//! segment (docs/FORMAT.md §12; offsets in `zeroipc::format::waiters`): a
//! 16-byte header (`"ZIPW"`, version 1, `slots`, reserved) and, for every
//! table slot `i`, two u32 sleeper counts: how many of our processes are
//! asleep (or about to sleep) waiting for an item of the structure whose
//! entry is slot `i`, and how many are waiting for room in it.
//!
//! The inspector classifies the entry by its name, never as a guessed
//! structure, checks its header the way the runtime does before using it
//! (magic, version, a slot count whose slots fit in the entry, an 8-aligned
//! offset), and reports the counts per structure. A damaged header is an
//! error naming the values seen: the runtime then ignores the registry and
//! its blocked calls fall back to bounded polling.
//!
//! ```
//! use zeroipc_cli::inspect::source::View;
//! use zeroipc_cli::inspect::waiters;
//! let mut bytes = Vec::new();
//! for w in [0x5750_495Au32, 1, 2, 0, /* slot 0 */ 1, 0, /* slot 1 */ 0, 3] {
//!     bytes.extend_from_slice(&w.to_le_bytes());
//! }
//! let r = waiters::read(&View::from_bytes(waiters::ENTRY, bytes.clone())).unwrap();
//! assert_eq!((r.slots, r.nonzero(), r.totals()), (2, 2, (1, 3)));
//! bytes[0] = b'X';
//! let e = waiters::read(&View::from_bytes(waiters::ENTRY, bytes)).unwrap_err();
//! assert!(e.contains("magic 0x57504958") && e.contains("expected 0x5750495a"), "{e}");
//! ```

use super::classify::Views;
use super::source::{EntryInfo, View};
use serde::Serialize;
use zeroipc::format::waiters::{self as fmt, header, HEADER_SIZE, SLOT_SIZE};

/// The entry's name.
pub const ENTRY: &str = fmt::ENTRY_NAME;

/// A waiter registry whose header is valid, with its counts as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// Count slots (the runtime writes the table's `max_entries`).
    pub slots: u32,
    /// The header's reserved word (0 as written).
    pub reserved: u32,
    /// Bytes of the entry (at least `16 + 8 * slots`).
    pub size: u64,
    /// `[items, room]` per slot, in slot order.
    pub counts: Vec<[u32; 2]>,
}

/// Sleeper counts of one structure (the sum over the slots of its
/// entries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sleepers {
    /// Processes counted asleep waiting for an item.
    pub items: u64,
    /// Processes counted asleep waiting for room.
    pub room: u64,
}

impl Sleepers {
    /// True when both counts are zero.
    ///
    /// ```
    /// use zeroipc_cli::inspect::waiters::Sleepers;
    /// assert!(Sleepers::default().is_zero());
    /// assert!(!Sleepers { items: 1, room: 0 }.is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        self.items == 0 && self.room == 0
    }
}

impl Registry {
    /// Slots with a nonzero count.
    ///
    /// ```
    /// use zeroipc_cli::inspect::waiters::Registry;
    /// let r = Registry { slots: 3, reserved: 0, size: 40, counts: vec![[0, 0], [2, 0], [0, 1]] };
    /// assert_eq!(r.nonzero(), 2);
    /// ```
    pub fn nonzero(&self) -> usize {
        self.counts
            .iter()
            .filter(|c| c[0] != 0 || c[1] != 0)
            .count()
    }

    /// Sums of the items and room counts over every slot.
    ///
    /// ```
    /// use zeroipc_cli::inspect::waiters::Registry;
    /// let r = Registry { slots: 2, reserved: 0, size: 32, counts: vec![[1, 4], [2, 0]] };
    /// assert_eq!(r.totals(), (3, 4));
    /// ```
    pub fn totals(&self) -> (u64, u64) {
        self.counts.iter().fold((0, 0), |(a, b), c| {
            (a + u64::from(c[0]), b + u64::from(c[1]))
        })
    }

    /// The counts of the structure made of `entries`: the sum over their
    /// table slots (the runtime counts a structure's sleepers in the slot
    /// of its first entry; the others stay zero). `None` when no entry has
    /// a slot in the registry (its waiters then poll).
    ///
    /// ```
    /// use zeroipc_cli::inspect::source::EntryInfo;
    /// use zeroipc_cli::inspect::waiters::{Registry, Sleepers};
    /// let r = Registry { slots: 2, reserved: 0, size: 32, counts: vec![[0, 0], [1, 2]] };
    /// let e = |index| EntryInfo { index, name: "q".into(), offset: 0, size: 8 };
    /// assert_eq!(r.sleepers(&[e(1)]), Some(Sleepers { items: 1, room: 2 }));
    /// assert_eq!(r.sleepers(&[e(5)]), None);
    /// ```
    pub fn sleepers(&self, entries: &[EntryInfo]) -> Option<Sleepers> {
        let mut s: Option<Sleepers> = None;
        for e in entries {
            if let Some(c) = self.counts.get(e.index as usize) {
                let t = s.get_or_insert_with(Sleepers::default);
                t.items += u64::from(c[0]);
                t.room += u64::from(c[1]);
            }
        }
        s
    }

    /// One line: `8 slots, 1 nonzero (1 asleep for an item, 0 for room)`.
    ///
    /// ```
    /// use zeroipc_cli::inspect::waiters::Registry;
    /// let r = Registry { slots: 2, reserved: 0, size: 32, counts: vec![[0, 0], [1, 0]] };
    /// assert_eq!(r.describe(), "2 slots, 1 nonzero (1 asleep for an item, 0 for room)");
    /// ```
    pub fn describe(&self) -> String {
        let (items, room) = self.totals();
        format!(
            "{} slot{}, {} nonzero ({items} asleep for an item, {room} for room)",
            self.slots,
            if self.slots == 1 { "" } else { "s" },
            self.nonzero()
        )
    }
}

/// Reads and checks a waiter registry entry: an error naming the values
/// seen when the header is not one the runtime would use.
///
/// ```
/// use zeroipc_cli::inspect::source::View;
/// use zeroipc_cli::inspect::waiters;
/// let mut bytes = Vec::new();
/// for w in [0x5750_495Au32, 1, 8, 0] {
///     bytes.extend_from_slice(&w.to_le_bytes());
/// }
/// let e = waiters::read(&View::from_bytes(waiters::ENTRY, bytes)).unwrap_err();
/// assert!(e.contains("8 slots need 80 bytes") && e.contains("16"), "{e}");
/// ```
pub fn read(v: &View) -> Result<Registry, String> {
    if v.size < HEADER_SIZE {
        return Err(format!(
            "entry of {} bytes, smaller than the {HEADER_SIZE}-byte header",
            v.size
        ));
    }
    let head: [u8; HEADER_SIZE as usize] = v
        .bytes(0, HEADER_SIZE)?
        .try_into()
        .map_err(|_| "short header read".to_owned())?;
    // The runtime's own check (zeroipc::format::waiters::check_header).
    let slots = fmt::check_header(&head, v.size, v.offset)?;
    let reserved = v.u32(header::RESERVED)?;
    let raw = v.bytes(HEADER_SIZE, u64::from(slots) * SLOT_SIZE)?;
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let counts = raw
        .chunks_exact(SLOT_SIZE as usize)
        .map(|c| [word(&c[0..4]), word(&c[4..8])])
        .collect();
    Ok(Registry {
        slots,
        reserved,
        size: v.size,
        counts,
    })
}

/// The segment's waiter registry: its entry and what [`read`] made of it;
/// `None` when the segment has none.
///
/// ```
/// use zeroipc_cli::inspect::{source::Image, waiters};
/// let name = format!("/zeroipc-doc-waiters-find-{}", std::process::id());
/// let seg = zeroipc::SegmentOptions::new().size(1 << 16).max_entries(8).create(&name)?;
/// let img = Image::open(&name, false)?;
/// let (entry, r) = waiters::find(&img.entries, &img).expect("on by default");
/// assert_eq!(entry.name, waiters::ENTRY);
/// assert_eq!(r?.slots, 8);
/// drop((img, seg));
/// zeroipc::Segment::unlink(&name)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn find(
    entries: &[EntryInfo],
    src: &dyn Views,
) -> Option<(EntryInfo, Result<Registry, String>)> {
    let e = entries.iter().find(|e| e.name == ENTRY)?;
    let r = src.view(e).and_then(|v| read(&v));
    Some((e.clone(), r))
}

/// The sleeper counts of the structure made of `parts`, when the segment
/// has a valid registry with a slot for one of them.
///
/// ```
/// use zeroipc_cli::inspect::source::EntryInfo;
/// use zeroipc_cli::inspect::waiters::{sleepers_of, Registry, Sleepers};
/// let e = EntryInfo { index: 0, name: "q".into(), offset: 0, size: 8 };
/// let r: Result<Registry, String> =
///     Ok(Registry { slots: 1, reserved: 0, size: 24, counts: vec![[0, 1]] });
/// assert_eq!(sleepers_of(Some(&r), &[e.clone()]), Some(Sleepers { items: 0, room: 1 }));
/// assert_eq!(sleepers_of(Some(&Err("damaged".into())), &[e.clone()]), None);
/// assert_eq!(sleepers_of(None, &[e]), None);
/// ```
pub fn sleepers_of(
    registry: Option<&Result<Registry, String>>,
    parts: &[EntryInfo],
) -> Option<Sleepers> {
    registry?.as_ref().ok()?.sleepers(parts)
}
