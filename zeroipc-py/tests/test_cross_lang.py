"""Python and Rust processes on the same structures, both ways: the Rust
peer (zeroipc-testsupport example `py_peer`) creates structures that Python
reads and vice versa; 2 Python producers and 2 Rust consumers move
1,000,000 items through one Queue exactly once, and the reverse; a Mutex
guards a plain counter incremented by Python and Rust processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable, List

import numpy as np

import zeroipc_rs as z
from conftest import some

TOTAL = 1_000_000
PER = TOTAL // 2
SENTINEL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
PATIENCE = 120  # seconds any child may take before the test fails

PY_PRODUCER = """
import sys
import numpy as np
import zeroipc_rs as z
seg = z.Segment.open(sys.argv[1])
q = z.Queue.open(seg, sys.argv[2], np.uint64)
items = np.arange(int(sys.argv[3]), int(sys.argv[3]) + int(sys.argv[4]), dtype=np.uint64)
done = 0
while done < items.size:
    done += q.push_slice_timeout(items[done:done + 512], 60.0)
"""

PY_CONSUMER = """
import sys
import numpy as np
import zeroipc_rs as z
SENTINEL = np.uint64(0xFFFFFFFFFFFFFFFF)
seg = z.Segment.open(sys.argv[1])
q = z.Queue.open(seg, sys.argv[2], np.uint64)
parts = []
while True:
    got = q.pop_slice_timeout(512, 60.0)
    hit = np.nonzero(got == SENTINEL)[0]
    if hit.size:
        first = int(hit[0])
        parts.append(got[:first])
        extra = got[first + 1:]
        assert (extra == SENTINEL).all()
        for _ in range(extra.size):
            q.push_timeout(SENTINEL, 60.0)
        break
    parts.append(got)
np.concatenate(parts).astype("<u8").tofile(sys.argv[3])
"""

PY_MUTEX = """
import sys
import numpy as np
import zeroipc_rs as z
seg = z.Segment.open(sys.argv[1])
m = z.Mutex.open(seg, "m")
c = z.Array.open(seg, "c", np.uint64)
for _ in range(int(sys.argv[2])):
    with m.lock():
        c[0] = int(c[0]) + 1
"""


def _wait_all(procs: List["subprocess.Popen[bytes]"], what: str) -> None:
    for p in procs:
        try:
            out, err = p.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise AssertionError(f"{what}: a process did not finish in {PATIENCE} s")
        assert p.returncode == 0, f"{what}: {p.args!r} exit {p.returncode}\n{err.decode(errors='replace')}"


def _check_exactly_once(outs: List[Path], fifo: bool = True) -> None:
    parts = [np.fromfile(o, dtype="<u8") for o in outs]
    # Through a queue each consumer sees each producer's items in the order pushed.
    for part in parts if fifo else []:
        for lo in (0, PER):
            mine = part[(part >= lo) & (part < lo + PER)]
            assert (np.diff(mine.astype(np.int64)) > 0).all()
    everything = np.sort(np.concatenate(parts))
    assert everything.size == TOTAL, f"received {everything.size} items, expected {TOTAL}"
    assert (everything == np.arange(TOTAL, dtype=np.uint64)).all(), "an item was lost or duplicated"


def test_rust_creates_python_reads(shm_name: str, run_peer: Callable[..., str]) -> None:
    out = run_peer("create", shm_name)
    pool_index = int(out.split()[1])
    seg = z.Segment.open(shm_name)
    q = z.Queue.open(seg, "q", np.uint64)
    assert [int(some(q.pop())) for _ in range(3)] == [11, 12, 13] and q.pop() is None
    s = z.Stack.open(seg, "s", np.float64)
    assert [float(some(s.pop())) for _ in range(2)] == [-2.25, 1.5]
    assert z.Array.open(seg, "a", np.int32).to_vec().tolist() == [-1, 0, 1, 2]
    m = z.Map.open(seg, "m", np.uint64, np.float64)
    assert sorted((int(k), float(v)) for k, v in m.entries()) == [(1, 0.5), (2, 1.5)]
    st = z.Set.open(seg, "set", np.uint32)
    assert 7 in st and 9 in st and 8 not in st
    r = z.Ring.open(seg, "r", np.uint64)
    assert r.read_bulk(8).tolist() == [100, 101]
    p = z.Pool.open(seg, "p", np.uint64)
    assert int(some(p.get(pool_index))) == 42 and p.allocated() == 1
    f = z.Future.open(seg, "f", np.float64)
    assert float(f.get_timeout(5.0)) == 3.25
    c = z.Channel.open(seg, "c", np.uint64)
    assert int(c.recv_timeout(5.0)) == 5
    sem = z.Semaphore.open(seg, "sem")
    assert sem.count() == 2
    mx = z.Mutex.open(seg, "mx")
    with mx.lock():
        assert mx.is_locked()
    assert not mx.is_locked()


def test_python_creates_rust_reads(shm_name: str, run_peer: Callable[..., str]) -> None:
    seg = z.Segment.create(shm_name, 1 << 20)
    q = z.Queue.create(seg, "q", 16, np.uint64)
    q.push_slice(np.array([4, 5, 6], dtype=np.uint64))
    s = z.Stack.create(seg, "s", 8, np.float64)
    s.push(0.25)
    s.push(8.5)
    z.Array.create(seg, "a", 3, np.int32).write(0, np.array([3, -3, 30], dtype=np.int32))
    m = z.Map.create(seg, "m", 16, np.uint64, np.float64)
    m.insert(10, 1.25)
    m.insert(20, -0.5)
    st = z.Set.create(seg, "set", 16, np.uint32)
    st.insert(1)
    st.insert(1000)
    r = z.Ring.create(seg, "r", 8, np.uint64)
    r.write_bulk(np.array([7, 8, 9], dtype=np.uint64))
    f = z.Future.create(seg, "f", np.float64)
    f.set_value(-1.75)
    c = z.Channel.create(seg, "c", 4, np.uint64)
    c.send(77)
    c.send(78)
    z.Semaphore.create(seg, "sem", 3, 10)
    lines = dict(line.split(" ", 1) for line in run_peer("check", shm_name).splitlines())
    assert lines == {
        "q": "4 5 6",
        "s": "8.5 0.25",
        "a": "3 -3 30",
        "m": "10=1.25 20=-0.5",
        "set": "1 1000",
        "r": "7 8 9",
        "f": "-1.75",
        "c": "77 78",
        "sem": "3",
    }


def test_two_python_producers_two_rust_consumers_one_million_items(
    shm_name: str, peer: Path, tmp_path: Path
) -> None:
    seg = z.Segment.create(shm_name, 1 << 20)
    q = z.Queue.create(seg, "items", 1024, np.uint64)
    outs = [tmp_path / f"c{i}.bin" for i in range(2)]
    consumers = [
        subprocess.Popen([str(peer), "consume", shm_name, "items", str(o)], stderr=subprocess.PIPE)
        for o in outs
    ]
    producers = [
        subprocess.Popen(
            [sys.executable, "-c", PY_PRODUCER, shm_name, "items", str(i * PER), str(PER)], stderr=subprocess.PIPE
        )
        for i in range(2)
    ]
    _wait_all(producers, "python producers")
    for _ in consumers:
        q.push_timeout(SENTINEL, 60.0)
    _wait_all(consumers, "rust consumers")
    _check_exactly_once(outs)
    assert q.is_empty()


def test_two_rust_producers_two_python_consumers_one_million_items(
    shm_name: str, peer: Path, tmp_path: Path
) -> None:
    seg = z.Segment.create(shm_name, 1 << 20)
    q = z.Queue.create(seg, "items", 1024, np.uint64)
    outs = [tmp_path / f"c{i}.bin" for i in range(2)]
    consumers = [
        subprocess.Popen([sys.executable, "-c", PY_CONSUMER, shm_name, "items", str(o)], stderr=subprocess.PIPE)
        for o in outs
    ]
    producers = [
        subprocess.Popen(
            [str(peer), "produce", shm_name, "items", str(i * PER), str(PER)], stderr=subprocess.PIPE
        )
        for i in range(2)
    ]
    _wait_all(producers, "rust producers")
    for _ in consumers:
        q.push_timeout(SENTINEL, 60.0)
    _wait_all(consumers, "python consumers")
    _check_exactly_once(outs)
    assert q.is_empty()


def test_mutex_counter_shared_by_python_and_rust_is_exact(shm_name: str, peer: Path) -> None:
    n = 5000
    seg = z.Segment.create(shm_name, 1 << 16)
    z.Mutex.create(seg, "m")
    c = z.Array.create(seg, "c", 1, np.uint64)
    procs = [
        subprocess.Popen([str(peer), "mutex-count", shm_name, "m", "c", str(n)], stderr=subprocess.PIPE)
        for _ in range(2)
    ] + [
        subprocess.Popen([sys.executable, "-c", PY_MUTEX, shm_name, str(n)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    _wait_all(procs, "mutex counters")
    assert int(c[0]) == 4 * n
