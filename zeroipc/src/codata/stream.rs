//! Streams (REFERENCE-NOTES §9). Work in progress: `StreamVoid` only.

use crate::error::{Error, Result};
use crate::region::Region;
use crate::segment::Segment;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

const VOID_KIND: &str = "stream_void";
const VOID_SIZE: u64 = 16;

/// The C++ `Stream<void>`: an event counter with a close flag, one entry
/// `name` of 16 bytes: `event_count` atomic u64 @0, `closed` atomic u8 @8.
///
/// The reference has no open constructor for it; [`StreamVoid::open`]
/// checks the entry size. After a SIGKILL nothing is left half-done: every
/// operation is a single atomic step.
///
/// ```
/// use zeroipc::codata::stream::StreamVoid;
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-sv-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ticks = StreamVoid::create(&seg, "ticks")?;
/// assert!(ticks.emit());
/// ticks.close();
/// assert!(!ticks.emit()); // closed: not counted
/// assert_eq!(StreamVoid::open(&seg, "ticks")?.count(), 1);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamVoid {
    region: Region,
}

impl StreamVoid {
    /// Creates an open event counter at 0.
    pub fn create(seg: &Segment, name: &str) -> Result<Self> {
        let region = seg.register(name, VOID_SIZE, |_| Ok(()))?;
        Ok(StreamVoid { region })
    }

    /// Opens the counter named `name` (entry size must be 16).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let region = seg.region(name)?;
        if region.len() as u64 != VOID_SIZE {
            return Err(region.mismatch(
                VOID_KIND,
                format!("entry is {} bytes, expected {VOID_SIZE}", region.len()),
            ));
        }
        Ok(StreamVoid { region })
    }

    fn count_word(&self) -> &AtomicU64 {
        self.region.atomic_u64(0)
    }

    fn closed_word(&self) -> &AtomicU8 {
        self.region.atomic_u8(8)
    }

    /// Counts one event; false (not counted) once closed.
    pub fn emit(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        // AcqRel: the reference's ordering; the count is the only payload.
        self.count_word().fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Events counted so far.
    pub fn count(&self) -> u64 {
        self.count_word().load(Ordering::Acquire)
    }

    /// Closes the stream (release store of 1).
    pub fn close(&self) {
        self.closed_word().store(1, Ordering::Release);
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed_word().load(Ordering::Acquire) != 0
    }

    #[allow(dead_code)]
    fn closed_err(&self) -> Error {
        Error::Closed {
            name: self.region.name().to_owned(),
            kind: VOID_KIND,
        }
    }
}
