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
    /// A channel-like structure's buffer has no room now (a `try_send`).
    #[error("{kind} {name:?} is full")]
    Full {
        /// Structure name.
        name: String,
        /// Structure kind.
        kind: &'static str,
    },
    /// The segment's self-description records `name` as another kind of
    /// structure than the one being opened (see [`crate::describe`]).
    #[error("segment {segment}: {name:?} is recorded as a {recorded}, not a {expected}")]
    WrongKind {
        /// Segment name.
        segment: String,
        /// Structure name.
        name: String,
        /// The kind the segment's description records.
        recorded: crate::format::StructureKind,
        /// The kind the caller opened it as.
        expected: crate::format::StructureKind,
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

/// A value-carrying operation failed; the value comes back with the reason
/// (crossbeam-channel's `SendTimeoutError<T>` in one type).
///
/// ```
/// use zeroipc::{Error, SendError};
/// let e = SendError {
///     value: 7u32,
///     error: Error::Timeout { name: "jobs".into(), kind: "queue", waited_ms: 5 },
/// };
/// assert!(e.is_timeout());
/// assert!(!e.is_closed());
/// assert_eq!(e.to_string(), "timed out after 5 ms waiting on queue \"jobs\"");
/// assert_eq!(e.into_inner(), 7);
/// ```
#[derive(Debug)]
pub struct SendError<T> {
    /// The value that was not sent, handed back to the caller.
    pub value: T,
    /// Why it was not sent.
    pub error: Error,
}

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use zeroipc::{Error, SendError};
    /// let e = SendError { value: "x", error: Error::Full { name: "c".into(), kind: "channel" } };
    /// assert_eq!(e.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }

    /// True when the operation ran out of time ([`Error::Timeout`]).
    ///
    /// ```
    /// use zeroipc::{Error, SendError};
    /// let e = SendError { value: 1u8, error: Error::Full { name: "c".into(), kind: "channel" } };
    /// assert!(!e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.error, Error::Timeout { .. })
    }

    /// True when the structure was closed ([`Error::Closed`]).
    ///
    /// ```
    /// use zeroipc::{Error, SendError};
    /// let e = SendError { value: 1u8, error: Error::Closed { name: "c".into(), kind: "channel" } };
    /// assert!(e.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self.error, Error::Closed { .. })
    }

    /// True when the buffer had no room ([`Error::Full`]).
    ///
    /// ```
    /// use zeroipc::{Error, SendError};
    /// let e = SendError { value: 1u8, error: Error::Full { name: "c".into(), kind: "channel" } };
    /// assert!(e.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self.error, Error::Full { .. })
    }
}

impl<T> std::fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl<T: std::fmt::Debug> std::error::Error for SendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Drops the value and keeps the reason, so `?` works on a send in a
/// function returning [`Result`].
///
/// ```
/// use zeroipc::{Error, SendError};
/// let e: Error = SendError { value: 3i64, error: Error::Closed { name: "c".into(), kind: "channel" } }.into();
/// assert!(matches!(e, Error::Closed { .. }));
/// ```
impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Error {
        e.error
    }
}
