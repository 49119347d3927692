//! Codata: values and sequences that are produced over time by one process
//! and observed by others — [`Future`](future::Future) (a value that will be
//! ready), [`Lazy`](lazy::Lazy) (a value computed once, on first demand),
//! [`Stream`](stream::Stream) (an ordered sequence of values with a close)
//! and [`Channel`](channel::Channel) (buffered or rendezvous message
//! passing).
//!
//! Layouts are the C++ reference's (docs/FORMAT.md §4.5–§4.9); the Python
//! reference disagrees on Lazy, Stream and Channel (docs/FORMAT.md §7), so
//! those are compatible with C++ peers only. Each protocol is written once,
//! over bytes, in [`crate::raw`]; the types here are typed veneers over it.
//! Each module documents its protocol as seen by a reference peer, the
//! reference defects it fixes, its blocking / non-blocking / timed forms,
//! and what is guaranteed after a participant is killed with SIGKILL.

pub mod channel;
pub mod future;
pub mod lazy;
pub mod stream;

use crate::region::Region;

use crate::element::ShmElement;

/// Capacity of the NUL-terminated error message fields (Future, Lazy).
pub(crate) const ERROR_MSG_LEN: usize = crate::format::future::ERROR_MSG_LEN as usize;

/// Counts its holder in a shared counter word (Channel `senders` /
/// `receivers`, Stream `subscribers`) for its lifetime, also on unwind.
pub(crate) struct CountGuard<'a>(&'a crate::region::atomic::AtomicU32);

impl<'a> CountGuard<'a> {
    /// Adds the caller to `word`.
    pub(crate) fn enter(word: &'a crate::region::atomic::AtomicU32) -> Self {
        // SeqCst: the Dekker pattern of every user: we increment, then look
        // at the state (an element, the closed flag); the other side changes
        // the state, then (after a SeqCst fence) looks at the count. Either
        // it sees us and wakes us, or we see its change before sleeping.
        word.fetch_add(1, crate::region::atomic::Ordering::SeqCst);
        CountGuard(word)
    }
}

impl Drop for CountGuard<'_> {
    fn drop(&mut self) {
        // SeqCst: as the increment.
        self.0.fetch_sub(1, crate::region::atomic::Ordering::SeqCst);
    }
}

/// An all-zero `T`, the buffer a typed veneer hands to the byte protocol.
#[inline]
pub(crate) fn zeroed<T: ShmElement>() -> T {
    // SAFETY: `ShmElement` guarantees that every bit pattern, all zeros
    // included, is a valid `T`.
    unsafe { std::mem::zeroed() }
}

/// How long an open check re-reads a combination of words that a live
/// reference peer can show for a moment (its stores may become visible in
/// another order than ours) before refusing the entry as another kind's.
pub(crate) const OPEN_SETTLE_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// `CLOCK_MONOTONIC` in nanoseconds, the clock the C++ reference uses
/// (`steady_clock`) for `completion_time`.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec on our stack;
    // CLOCK_MONOTONIC is always available on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Writes `msg` as a NUL-terminated string into the 256-byte field at `off`:
/// at most 255 bytes, cut at a UTF-8 character boundary, rest zeroed (the
/// same bytes as the reference's `strncpy(dst, msg, 255)` into a zeroed
/// field for any message of up to 255 bytes).
pub(crate) fn write_msg(region: &Region, off: usize, msg: &str) {
    let mut n = msg.len().min(ERROR_MSG_LEN - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    let mut buf = [0u8; ERROR_MSG_LEN];
    buf[..n].copy_from_slice(&msg.as_bytes()[..n]);
    region.write_bytes(off, &buf);
}

/// Reads the 256-byte message field at `off` up to its first NUL (or all
/// 256 bytes if a peer wrote none), replacing invalid UTF-8.
pub(crate) fn read_msg(region: &Region, off: usize) -> String {
    let mut buf = [0u8; ERROR_MSG_LEN];
    region.read_bytes(off, &mut buf);
    let end = buf.iter().position(|&b| b == 0).unwrap_or(ERROR_MSG_LEN);
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
pub(crate) mod testutil {
    use crate::segment::Segment;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A segment unlinked on drop.
    pub(crate) struct Tmp(pub String, pub Segment);

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = Segment::unlink(&self.0);
        }
    }

    pub(crate) fn seg(tag: &str) -> Tmp {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "/zt_codata_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        // Self-describing: the structures' records are checked on every
        // open of these tests (describe_tests covers segments without).
        let s = crate::SegmentOptions::new()
            .size(1 << 20)
            .self_describing(true)
            .create(&name)
            .unwrap();
        Tmp(name, s)
    }
}

#[cfg(test)]
mod describe_tests {
    use crate::codata::stream::StreamVoid;
    use crate::format::{ElemLayout, StructureKind};
    use crate::layout::Prim;
    use crate::raw::{RawChannel, RawFuture, RawLazy, RawSignal, RawStream};
    use crate::{Channel, Error, Future, Lazy, LazyOp, Segment, SegmentOptions, Signal, Stream};

    fn segment(tag: &str, describing: bool) -> (String, Segment) {
        let name = format!("/zt_codata_desc_{tag}_{}", std::process::id());
        let seg = SegmentOptions::new()
            .size(1 << 20)
            .self_describing(describing)
            .create(&name)
            .unwrap();
        (name, seg)
    }

    fn wrong_kind<T: std::fmt::Debug>(r: crate::Result<T>, rec: StructureKind, exp: StructureKind) {
        match r {
            Err(Error::WrongKind {
                recorded, expected, ..
            }) => assert_eq!((recorded, expected), (rec, exp)),
            other => panic!("expected WrongKind {rec} as {exp}, got {other:?}"),
        }
    }

    #[test]
    fn recorded_kinds_refuse_the_wrong_kind_and_give_raw_opens_their_layout() {
        let (name, seg) = segment("on", true);
        // Same entry size (280 bytes), no kind tag: only the record tells.
        Future::<u32>::create(&seg, "f").unwrap();
        Lazy::<i32>::create(&seg, "l", LazyOp::Constant(0)).unwrap();
        wrong_kind(
            Lazy::<i32>::open(&seg, "f"),
            StructureKind::Future,
            StructureKind::Lazy,
        );
        wrong_kind(
            Future::<u32>::open(&seg, "l"),
            StructureKind::Lazy,
            StructureKind::Future,
        );
        Channel::<u64>::create(&seg, "c", 4).unwrap();
        Channel::<[u8; 3]>::create(&seg, "u", 0).unwrap();
        Stream::<u64>::create(&seg, "s", 4).unwrap();
        Signal::<[u16; 3]>::create(&seg, "g", [1, 2, 3]).unwrap();
        StreamVoid::create(&seg, "v").unwrap();
        wrong_kind(
            Stream::<u64>::open(&seg, "c"),
            StructureKind::Channel,
            StructureKind::Stream,
        );
        wrong_kind(
            Channel::<u64>::open(&seg, "s"),
            StructureKind::Stream,
            StructureKind::Channel,
        );
        wrong_kind(
            Future::<u64>::open(&seg, "g"),
            StructureKind::Signal,
            StructureKind::Future,
        );
        let e = Stream::<u64>::open(&seg, "v").unwrap_err();
        assert!(matches!(e, Error::StructureMismatch { .. }), "{e}");
        let e = Channel::<u32>::open(&seg, "c").unwrap_err();
        assert!(e.to_string().contains("size 8 align 8"), "{e}");
        // Without a layout, the raw opens take the recorded one (exact, not
        // the guess from the entry size).
        assert_eq!(
            RawFuture::open(&seg, "f", None).unwrap().elem(),
            ElemLayout::of::<u32>()
        );
        assert_eq!(RawLazy::open(&seg, "l", None).unwrap().prim(), Prim::I32);
        assert_eq!(
            RawChannel::open(&seg, "u", None).unwrap().elem(),
            ElemLayout::of::<[u8; 3]>()
        );
        assert_eq!(
            RawSignal::open(&seg, "g", None).unwrap().elem(),
            ElemLayout::of::<[u16; 3]>()
        );
        assert_eq!(
            RawStream::open(&seg, "s", None).unwrap().elem(),
            ElemLayout::of::<u64>()
        );
        assert_eq!(
            RawSignal::open(&seg, "g", None).unwrap().snapshot().value,
            [1, 0, 2, 0, 3, 0]
        );
        drop(seg);
        Segment::unlink(&name).unwrap();
    }

    #[test]
    fn unrecorded_segments_keep_the_header_checks_only() {
        let (name, seg) = segment("off", false);
        Future::<u32>::create(&seg, "f").unwrap();
        // What the header checks cannot tell (module docs of RawFuture).
        Lazy::<i32>::open(&seg, "f").unwrap();
        let e = RawLazy::open(&seg, "f", None).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        // The raw future falls back to the Python-form guess: byte aligned,
        // 8 bytes (the 4-byte value and the C++ padding).
        assert_eq!(RawFuture::open(&seg, "f", None).unwrap().elem().size(), 8);
        drop(seg);
        Segment::unlink(&name).unwrap();
    }
}
