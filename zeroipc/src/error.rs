//! The one error type of the runtime.
//!
//! Every variant names the segment, and where it applies the structure, and
//! carries the values that were seen, so a message alone tells what was wrong.

use std::io;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when creating, opening or using a segment.
///
/// ```
/// use zeroipc::{Error, Segment};
/// let err = Segment::open("/zeroipc-doc-error-missing").unwrap_err();
/// assert!(matches!(err, Error::SegmentNotFound { .. }));
/// assert!(err.to_string().contains("zeroipc-doc-error-missing"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A segment name that is not a valid POSIX shared-memory name.
    #[error("invalid segment name {name:?}: {reason}")]
    InvalidSegmentName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A structure (table entry) name that cannot be stored.
    #[error("segment {segment}: invalid structure name {name:?}: {reason}")]
    InvalidStructureName {
        /// Segment name.
        segment: String,
        /// The name as given (including any suffix the structure adds).
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// Creating a segment whose name is already taken.
    #[error("segment {name} already exists (open it, or ask explicitly to replace it)")]
    SegmentExists {
        /// Segment name.
        name: String,
    },
    /// Opening a segment that does not exist.
    #[error("segment {name} does not exist")]
    SegmentNotFound {
        /// Segment name.
        name: String,
    },
    /// An operating-system call failed.
    #[error("segment {segment}: {op} failed: {source}")]
    Io {
        /// Segment name.
        segment: String,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The platform lacks something the runtime needs.
    #[error("unsupported on this platform: {0}")]
    Unsupported(&'static str),
    /// The segment exists but belongs to another user.
    #[error("segment {segment} is owned by uid {owner}, not by this process (uid {uid}); open it with allow_foreign_owner to accept that")]
    ForeignOwner {
        /// Segment name.
        segment: String,
        /// Owner uid of the file.
        owner: u32,
        /// Our effective uid.
        uid: u32,
    },
    /// The requested segment size cannot hold the table.
    #[error("segment {segment}: size {size} bytes is too small for a table of {max_entries} entries ({needed} bytes needed)")]
    SegmentTooSmall {
        /// Segment name.
        segment: String,
        /// Requested size.
        size: u64,
        /// Requested table slots.
        max_entries: u32,
        /// Bytes the table needs.
        needed: u64,
    },
    /// A creation parameter is out of range.
    #[error("segment {segment}: {what}")]
    InvalidParameter {
        /// Segment name.
        segment: String,
        /// What was wrong, with values.
        what: String,
    },
    /// A segment failed one of the open-time checks of the table.
    #[error("segment {segment} is not a valid ZeroIPC v2 segment: {check} failed ({detail})")]
    CorruptTable {
        /// Segment name.
        segment: String,
        /// The check that failed.
        check: &'static str,
        /// The values seen.
        detail: String,
    },
    /// Every table slot is used.
    #[error("segment {segment}: table full ({max_entries} entries in use), cannot add {name:?}")]
    TableFull {
        /// Segment name.
        segment: String,
        /// Structure being added.
        name: String,
        /// Table slots.
        max_entries: u32,
    },
    /// Not enough space left in the data area.
    #[error("segment {segment}: not enough space for {name:?}: {requested} bytes requested, {available} bytes free")]
    SegmentFull {
        /// Segment name.
        segment: String,
        /// Structure being added.
        name: String,
        /// Bytes requested.
        requested: u64,
        /// Bytes still free.
        available: u64,
    },
    /// A structure name is already in the table.
    #[error("segment {segment}: a structure named {name:?} already exists")]
    DuplicateName {
        /// Segment name.
        segment: String,
        /// The name.
        name: String,
    },
    /// No table entry with that name.
    #[error("segment {segment}: no structure named {name:?}")]
    StructureNotFound {
        /// Segment name.
        segment: String,
        /// The name looked up.
        name: String,
    },
    /// A structure's header or entry disagrees with what the caller asked for
    /// or with its own invariants.
    #[error("segment {segment}: {kind} {name:?}: {detail}")]
    StructureMismatch {
        /// Segment name.
        segment: String,
        /// Structure name.
        name: String,
        /// Structure kind (`"queue"`, `"map"`, ...).
        kind: &'static str,
        /// What disagreed, with the values.
        detail: String,
    },
    /// An argument to an operation was out of range.
    #[error("segment {segment}: {kind} {name:?}: {detail}")]
    InvalidArgument {
        /// Segment name.
        segment: String,
        /// Structure name.
        name: String,
        /// Structure kind.
        kind: &'static str,
        /// What was wrong, with values.
        detail: String,
    },
    /// A blocking operation ran out of time.
    #[error("timed out after {waited_ms} ms waiting on {kind} {name:?}")]
    Timeout {
        /// Structure name.
        name: String,
        /// Structure kind.
        kind: &'static str,
        /// How long we waited.
        waited_ms: u64,
    },
    /// The structure was closed by a peer.
    #[error("{kind} {name:?} is closed")]
    Closed {
        /// Structure name.
        name: String,
        /// Structure kind.
        kind: &'static str,
    },
    /// A computation stored in shared memory (Future, Lazy) completed with
    /// an error; `message` is the text its producer stored.
    #[error("{kind} {name:?} failed: {message}")]
    Failed {
        /// Structure name.
        name: String,
        /// Structure kind.
        kind: &'static str,
        /// The stored error message.
        message: String,
    },
    /// A non-destructive reader (a Stream subscriber) was lapped by the
    /// writer: `missed` elements were overwritten before it could read them.
    /// The reader has been moved to the oldest element still available.
    #[error("{kind} {name:?}: reader overrun, {missed} elements lost")]
    Overrun {
        /// Structure name.
        name: String,
        /// Structure kind.
        kind: &'static str,
        /// Elements the reader will never see.
        missed: u64,
    },
}

impl Error {
    pub(crate) fn io(segment: &str, op: &'static str, source: io::Error) -> Self {
        Error::Io {
            segment: segment.to_owned(),
            op,
            source,
        }
    }
}
