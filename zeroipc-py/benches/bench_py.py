"""Python benchmarks of zeroipc_rs next to multiprocessing.Queue and a pipe.

    python3 zeroipc-py/benches/bench_py.py [--rounds 5] [--quick]

Measures, in one run, interleaving the contenders round by round and
reporting medians (and the min..max spread) over the rounds:

1. push+pop operations per second, one process, one element in flight
   (`q.push(i); q.pop()` for zeroipc_rs Queue<u64>; `put(i); get()` for
   multiprocessing.Queue; an 8-byte `os.write` + `os.read` on a pipe);
2. batch throughput: zeroipc_rs `push_slice`/`pop_slice` of 1000 u64 per
   call (elements per second);
3. ping-pong round-trip latency between two Python processes: the parent
   sends a u64, the child answers it; zeroipc_rs with blocking
   `pop_timeout` (the waiting side sleeps; producers wake it), with a
   spinning `pop()` and through two Channels (blocking `recv_timeout`),
   multiprocessing.Queue (`get`), and a pair of pipes;
   and, to tell the runtime's wake-up time from Python's, the same blocking
   ping-pong with a Rust echo process and between two Rust processes (the
   test peer `py_peer`, built with `cargo build --release`; skipped with
   --no-rust);
4. Ctrl-C: time from SIGINT to KeyboardInterrupt in a process blocked in
   `Queue.pop_timeout(60)`.

Performance claims come from ratios between contenders measured in the same
run (the machine's load moves every row alike).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

import zeroipc_rs as z

U64 = np.uint64


# ---------------------------------------------------------------------------
# 1 and 2: one process


def zq_push_pop(n: int) -> float:
    """Seconds for n push+pop pairs through a zeroipc_rs Queue<u64>."""
    name = f"/zipy-bench-{os.getpid()}"
    seg = z.Segment.create(name, 1 << 20)
    try:
        q = z.Queue.create(seg, "q", 1024, U64)
        push, pop = q.push, q.pop
        t0 = time.perf_counter()
        for i in range(n):
            push(i)
            pop()
        return time.perf_counter() - t0
    finally:
        z.Segment.unlink(name)


def zq_batch(n_batches: int, size: int = 1000) -> float:
    """Seconds for n_batches push_slice+pop_slice of `size` u64."""
    name = f"/zipy-bench-{os.getpid()}"
    seg = z.Segment.create(name, 1 << 20)
    try:
        q = z.Queue.create(seg, "q", 4096, U64)
        items = np.arange(size, dtype=U64)
        t0 = time.perf_counter()
        for _ in range(n_batches):
            q.push_slice(items)
            q.pop_slice(size)
        return time.perf_counter() - t0
    finally:
        z.Segment.unlink(name)


def mpq_put_get(n: int) -> float:
    q: "mp.Queue[int]" = mp.Queue()
    t0 = time.perf_counter()
    for i in range(n):
        q.put(i)
        q.get()
    dt = time.perf_counter() - t0
    q.close()
    q.join_thread()
    return dt


def pipe_write_read(n: int) -> float:
    r, w = os.pipe()
    pack = struct.Struct("<Q").pack
    t0 = time.perf_counter()
    for i in range(n):
        os.write(w, pack(i))
        os.read(r, 8)
    dt = time.perf_counter() - t0
    os.close(r)
    os.close(w)
    return dt


# ---------------------------------------------------------------------------
# 3: ping-pong between processes


def _zq_echo(name: str, spin: bool) -> None:
    seg = z.Segment.open(name)
    ping = z.Queue.open(seg, "ping", U64)
    pong = z.Queue.open(seg, "pong", U64)
    while True:
        if spin:
            v = ping.pop()
            while v is None:
                v = ping.pop()
        else:
            v = ping.pop_timeout(60.0)
        if v == U64(0xFFFFFFFFFFFFFFFF):
            return
        while not pong.push(v):
            pass


def zq_pingpong(n: int, spin: bool) -> float:
    """Seconds per round trip (after 1000 warm-up trips)."""
    name = f"/zipy-bench-pp-{os.getpid()}"
    seg = z.Segment.create(name, 1 << 16)
    try:
        ping = z.Queue.create(seg, "ping", 64, U64)
        pong = z.Queue.create(seg, "pong", 64, U64)
        child = mp.get_context("spawn").Process(target=_zq_echo, args=(name, spin))
        child.start()

        def trip(i: int) -> None:
            ping.push(i)
            if spin:
                v = pong.pop()
                while v is None:
                    v = pong.pop()
            else:
                pong.pop_timeout(60.0)

        for i in range(1000):
            trip(i)
        t0 = time.perf_counter()
        for i in range(n):
            trip(i)
        dt = time.perf_counter() - t0
        ping.push(U64(0xFFFFFFFFFFFFFFFF))
        child.join(60)
        return dt / n
    finally:
        z.Segment.unlink(name)


def _zc_echo(name: str) -> None:
    seg = z.Segment.open(name)
    ping = z.Channel.open(seg, "ping", U64)
    pong = z.Channel.open(seg, "pong", U64)
    while True:
        v = ping.recv_timeout(60.0)
        if v == U64(0xFFFFFFFFFFFFFFFF):
            return
        pong.send_timeout(v, 60.0)


def zc_pingpong(n: int) -> float:
    """Seconds per round trip through two buffered Channel<u64> (blocking
    recv_timeout on both sides)."""
    name = f"/zipy-bench-ch-{os.getpid()}"
    seg = z.Segment.create(name, 1 << 16)
    try:
        ping = z.Channel.create(seg, "ping", 64, U64)
        pong = z.Channel.create(seg, "pong", 64, U64)
        child = mp.get_context("spawn").Process(target=_zc_echo, args=(name,))
        child.start()
        for i in range(1000):
            ping.send_timeout(i, 60.0)
            pong.recv_timeout(60.0)
        t0 = time.perf_counter()
        for i in range(n):
            ping.send_timeout(i, 60.0)
            pong.recv_timeout(60.0)
        dt = time.perf_counter() - t0
        ping.send_timeout(U64(0xFFFFFFFFFFFFFFFF), 60.0)
        child.join(60)
        return dt / n
    finally:
        z.Segment.unlink(name)


def _mpq_echo(a: "mp.Queue[int]", b: "mp.Queue[int]") -> None:
    while True:
        v = a.get()
        if v < 0:
            return
        b.put(v)


def mpq_pingpong(n: int) -> float:
    ctx = mp.get_context("spawn")
    a: "mp.Queue[int]" = ctx.Queue()
    b: "mp.Queue[int]" = ctx.Queue()
    child = ctx.Process(target=_mpq_echo, args=(a, b))
    child.start()
    for i in range(1000):
        a.put(i)
        b.get()
    t0 = time.perf_counter()
    for i in range(n):
        a.put(i)
        b.get()
    dt = time.perf_counter() - t0
    a.put(-1)
    child.join(60)
    return dt / n


def _pipe_echo(r: int, w: int) -> None:
    while True:
        data = os.read(r, 8)
        if data == b"\xff" * 8 or not data:
            return
        os.write(w, data)


def pipe_pingpong(n: int) -> float:
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: echo, then leave without running the parent's cleanup
        try:
            _pipe_echo(r1, w2)
        finally:
            os._exit(0)
    pack = struct.Struct("<Q").pack
    for i in range(1000):
        os.write(w1, pack(i))
        os.read(r2, 8)
    t0 = time.perf_counter()
    for i in range(n):
        os.write(w1, pack(i))
        os.read(r2, 8)
    dt = time.perf_counter() - t0
    os.write(w1, b"\xff" * 8)
    os.waitpid(pid, 0)
    for fd in (r1, w1, r2, w2):
        os.close(fd)
    return dt / n


REPO = Path(__file__).resolve().parents[2]

# The child restores Python's SIGINT handler (a benchmark started as a
# background job of a shell without job control has SIGINT ignored, and its
# children inherit that).
_SIGINT_CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import zeroipc_rs as z
seg = z.Segment.open(sys.argv[1])
q = z.Queue.open(seg, "q", np.uint64)
print("ready", flush=True)
try:
    q.pop_timeout(60.0)
except KeyboardInterrupt:
    print(time.time(), flush=True)
"""


def sigint_latency(samples: int) -> List[float]:
    """Seconds from SIGINT to KeyboardInterrupt in a child blocked in
    Queue.pop_timeout(60) (wall clock, parent and child)."""
    import signal

    name = f"/zipy-bench-int-{os.getpid()}"
    seg = z.Segment.create(name, 1 << 16)
    out: List[float] = []
    try:
        z.Queue.create(seg, "q", 8, U64)
        for _ in range(samples):
            p = subprocess.Popen([sys.executable, "-c", _SIGINT_CHILD, name], stdout=subprocess.PIPE, text=True)
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
            time.sleep(0.2)
            sent = time.time()
            os.kill(p.pid, signal.SIGINT)
            got = float(p.stdout.readline())
            p.wait(60)
            out.append(got - sent)
        return out
    finally:
        z.Segment.unlink(name)


def rust_peer() -> Path:
    """The release build of zeroipc-testsupport's example py_peer."""
    subprocess.run(
        ["cargo", "build", "-q", "--release", "-p", "zeroipc-testsupport", "--example", "py_peer"], cwd=REPO, check=True
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    return Path(json.loads(meta)["target_directory"]) / "release" / "examples" / "py_peer"


def rust_pingpong(peer: Path, n: int, python_driver: bool) -> float:
    """Seconds per blocking round trip against a Rust echo process, driven
    from this Python process or from a second Rust process."""
    name = f"/zipy-bench-rpp-{os.getpid()}"
    seg = z.Segment.create(name, 1 << 16)
    try:
        ping = z.Queue.create(seg, "ping", 64, U64)
        pong = z.Queue.create(seg, "pong", 64, U64)
        echo = subprocess.Popen([str(peer), "echo", name])
        if python_driver:
            for i in range(1000):
                ping.push(i)
                pong.pop_timeout(60.0)
            t0 = time.perf_counter()
            for i in range(n):
                ping.push(i)
                pong.pop_timeout(60.0)
            dt = (time.perf_counter() - t0) / n
        else:
            out = subprocess.run([str(peer), "drive", name, str(n)], check=True, capture_output=True, text=True)
            dt = float(out.stdout) * 1e-6
        ping.push(U64(0xFFFFFFFFFFFFFFFF))
        echo.wait(60)
        return dt
    finally:
        z.Segment.unlink(name)


# ---------------------------------------------------------------------------


def _fmt_rate(xs: List[float]) -> str:
    return f"{statistics.median(xs) / 1e6:.2f} M/s ({min(xs) / 1e6:.2f}..{max(xs) / 1e6:.2f})"


def _fmt_lat(xs: List[float]) -> str:
    return f"{statistics.median(xs) * 1e6:.1f} us ({min(xs) * 1e6:.1f}..{max(xs) * 1e6:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--no-rust", action="store_true", help="skip the rows with the Rust peer (no cargo build)")
    args = ap.parse_args()
    peer: Optional[Path] = None if args.no_rust else rust_peer()
    n_ops = 20_000 if args.quick else 500_000
    n_batch = 200 if args.quick else 5_000
    n_pp = 2_000 if args.quick else 20_000

    rates: Dict[str, List[float]] = {}
    lats: Dict[str, List[float]] = {}
    single: List[Tuple[str, Callable[[], float], int]] = [
        ("zeroipc_rs Queue<u64> push+pop pairs", lambda: zq_push_pop(n_ops), n_ops),
        ("multiprocessing.Queue put+get pairs", lambda: mpq_put_get(n_ops // 10), n_ops // 10),
        ("os.pipe 8-byte write+read pairs", lambda: pipe_write_read(n_ops), n_ops),
        ("zeroipc_rs push_slice+pop_slice (1000 u64), elements", lambda: zq_batch(n_batch), n_batch * 1000),
    ]
    pingpong: List[Tuple[str, Callable[[], float]]] = [
        ("zeroipc_rs Queue, blocking pop_timeout", lambda: zq_pingpong(n_pp, spin=False)),
        ("zeroipc_rs Queue, spinning pop", lambda: zq_pingpong(n_pp, spin=True)),
        ("zeroipc_rs Channel (buffered), blocking recv_timeout", lambda: zc_pingpong(n_pp)),
        ("multiprocessing.Queue", lambda: mpq_pingpong(n_pp)),
        ("os.pipe pair", lambda: pipe_pingpong(n_pp)),
    ]
    if peer is not None:
        p = peer
        pingpong += [
            ("zeroipc_rs Queue, blocking, Python <-> Rust echo", lambda: rust_pingpong(p, n_pp, True)),
            ("zeroipc Queue, blocking, Rust <-> Rust echo (no Python)", lambda: rust_pingpong(p, n_pp, False)),
        ]
    for r in range(args.rounds):
        for label, f, n in single:
            rates.setdefault(label, []).append(n / f())
        for label, g in pingpong:
            lats.setdefault(label, []).append(g())
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs, {args.rounds} rounds, "
          f"median (min..max)\n")
    print("| one process, one element in flight | per second |\n|---|---|")
    for label, xs in rates.items():
        print(f"| {label} | {_fmt_rate(xs)} |")
    zq = statistics.median(rates["zeroipc_rs Queue<u64> push+pop pairs"])
    for other in ("multiprocessing.Queue put+get pairs", "os.pipe 8-byte write+read pairs"):
        print(f"| ratio zeroipc_rs / {other} | {zq / statistics.median(rates[other]):.1f}x |")
    print("\n| ping-pong between two processes | round trip |\n|---|---|")
    for label, xs in lats.items():
        print(f"| {label} | {_fmt_lat(xs)} |")
    ints = sigint_latency(5 if args.quick else 20)
    print(f"\nCtrl-C: SIGINT -> KeyboardInterrupt in a process blocked in pop_timeout(60), {len(ints)} samples: "
          f"median {statistics.median(ints) * 1e3:.1f} ms, max {max(ints) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
