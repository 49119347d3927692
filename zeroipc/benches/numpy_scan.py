#!/usr/bin/env python3
"""numpy scan of a Rust-written zeroipc array, for the benchmark harness.

Run by `cargo run --release -p zeroipc --example bench_harness` (section 5),
which creates the segment, writes `count` records of `Reading` and passes
where they are. This script maps /dev/shm/<seg> read-only, views the records
through the dtype that zeroipc-gen's Python emitter generated
(`bench_types.py` beside this file, whose fingerprint must equal the one the
Rust layout computed), checks a few values, then times the same scan over
the shared view and over a private numpy copy, alternating, `runs` times.

Output, one line per run: `RUN <shared seconds> <private seconds>` (each the
best of `reps` scans), or one `SKIP <reason>` line when numpy is missing.
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
import time

try:
    import numpy as np
except ImportError:  # the harness reports the scan as not measured
    print("SKIP numpy is not installed (pip install numpy)")
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_types  # noqa: E402  (generated; see its header)


def scan(a: np.ndarray) -> tuple[float, int]:
    """The measured work: one float reduction and one predicate count."""
    return float(a["value"].sum()), int(np.count_nonzero(a["status"] == 2))


def best_of(a: np.ndarray, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        scan(a)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seg", required=True, help="segment name, e.g. /zeroipc-bench-1-numpy-0")
    p.add_argument("--offset", type=int, required=True, help="byte offset of record 0")
    p.add_argument("--count", type=int, required=True, help="number of records")
    p.add_argument("--fingerprint", type=int, required=True, help="Reading fingerprint from Rust")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()

    if bench_types.Reading_FINGERPRINT != args.fingerprint:
        print(
            f"bench_types.py is stale: fingerprint {bench_types.Reading_FINGERPRINT:#x}, "
            f"Rust layout {args.fingerprint:#x}; regenerate with "
            "`cargo run --release -p zeroipc --example bench_harness -- --regen-dtype`",
            file=sys.stderr,
        )
        return 1

    dtype = bench_types.Reading
    path = "/dev/shm/" + args.seg.lstrip("/")
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    shared = np.frombuffer(mm, dtype=dtype, count=args.count, offset=args.offset)
    n = args.count
    # What the harness wrote: record i = (t0 + i, i % 64, i % 3, i / 2, [-1, i]).
    for i in {0, 1, n // 2, n - 1}:
        r = shared[i]
        ok = (
            int(r["timestamp"]) == 1_700_000_000_000_000_000 + i
            and int(r["sensor"]) == i % 64
            and int(r["status"]) == i % 3
            and float(r["value"]) == i * 0.5
            and float(r["bounds"][1]) == float(np.float32(i))
        )
        if not ok:
            print(f"record {i} read through the dtype is wrong: {r}", file=sys.stderr)
            return 1
    private = np.array(shared, copy=True)
    if scan(private) != scan(shared):
        print("shared and private scans disagree", file=sys.stderr)
        return 1

    for r in range(args.runs):
        if r % 2 == 0:
            s = best_of(shared, args.reps)
            q = best_of(private, args.reps)
        else:
            q = best_of(private, args.reps)
            s = best_of(shared, args.reps)
        print(f"RUN {s:.9f} {q:.9f}")
    del shared
    mm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
