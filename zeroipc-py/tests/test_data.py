"""The data kinds from Python: Segment, Array, Queue, Stack, Ring, Pool, Map,
Set; values in and out as numpy scalars/records; wrong dtypes refused."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np
import pytest

import zeroipc_rs as z
from conftest import some

REC = np.dtype({"names": ["id", "x"], "formats": ["<u4", "<f8"], "offsets": [0, 8], "itemsize": 16}, align=True)


def test_segment_create_open_entries_unlink(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16, max_entries=16)
    assert seg.size == 1 << 16
    assert seg.max_entries == 16
    before = seg.free_bytes()
    z.Queue.create(seg, "q", 8, np.uint64)
    assert seg.free_bytes() < before
    names = [e[0] for e in seg.entries()]
    assert "q" in names
    other = z.Segment.open(shm_name)
    assert [e[0] for e in other.entries()] == names
    with pytest.raises(z.SegmentExistsError):
        z.Segment.create(shm_name, 1 << 16)
    z.Segment.unlink(shm_name)
    with pytest.raises(z.SegmentNotFoundError) as e:
        z.Segment.open(shm_name)
    assert isinstance(e.value, z.ZeroIpcError)


def test_error_hierarchy() -> None:
    assert issubclass(z.ZeroIpcTimeoutError, z.ZeroIpcError)
    assert issubclass(z.ZeroIpcTimeoutError, TimeoutError)
    for n in ["SegmentExistsError", "StructureNotFoundError", "StructureMismatchError", "WrongKindError",
              "InvalidArgumentError", "ClosedError", "FullError", "DuplicateNameError"]:
        assert issubclass(getattr(z, n), z.ZeroIpcError), n


def test_array_get_set_view_read_write(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    a = z.Array.create(seg, "a", 5, np.int32)
    assert len(a) == 5
    a.set(0, -7)
    a[1] = 9
    assert a.get(0) == -7 and isinstance(a.get(0), np.int32)
    assert int(a[1]) == 9
    a.write(2, np.array([1, 2, 3], dtype=np.int32))
    assert a.to_vec().tolist() == [-7, 9, 1, 2, 3]
    assert a.read(1, 3).tolist() == [9, 1, 2]
    v = a.view()
    assert v.dtype == np.int32 and v.shape == (5,)
    v[4] = 42  # zero-copy: the handle sees it
    assert int(some(a.get(4))) == 42
    with pytest.raises(z.InvalidArgumentError):
        a.get(5)
    with pytest.raises(IndexError):
        a[5]
    assert int(a[-1]) == 42
    b = z.Array.open(seg, "a", np.int32)
    assert b.to_vec().tolist() == [-7, 9, 1, 2, 42]


def test_array_view_keeps_the_mapping_alive(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    a = z.Array.create(seg, "a", 3, np.float64)
    v = a.view()
    del a, seg
    import gc

    gc.collect()
    v[:] = [1.0, 2.0, 3.0]
    assert v.sum() == 6.0


def test_queue_scalar_and_record(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    q = z.Queue.create(seg, "q", 4, np.uint64)
    assert q.capacity() == 4 and q.is_empty() and len(q) == 0
    assert q.pop() is None
    for i in range(4):
        assert q.push(i + 10) is True
    assert q.is_full()
    assert q.push(99) is False  # full: nothing changed
    assert len(q) == 4
    out = [some(q.pop()) for _ in range(4)]
    assert [int(x) for x in out] == [10, 11, 12, 13]
    assert all(type(x) is np.uint64 for x in out)
    with pytest.raises(z.ZeroIpcTimeoutError):
        q.pop_timeout(0.01)
    for i in range(4):
        q.push(np.uint64(i))
    with pytest.raises(TimeoutError):
        q.push_timeout(5, 0.01)
    assert int(q.pop_timeout(0.5)) == 0

    r = z.Queue.create(seg, "r", 8, REC)
    rec = np.zeros((), dtype=REC)
    rec["id"], rec["x"] = 7, 2.5
    assert r.push(rec)
    assert r.push((8, 3.5))
    got = some(r.pop())
    assert isinstance(got, np.void) and got.dtype == REC
    assert (int(got["id"]), float(got["x"])) == (7, 2.5)
    got = some(r.pop())
    assert (int(got["id"]), float(got["x"])) == (8, 3.5)


def test_queue_batches(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 20)
    q = z.Queue.create(seg, "q", 1000, np.uint64)
    cap = q.capacity()
    assert 1000 <= cap < 1200
    assert q.push_slice(np.arange(600, dtype=np.uint64)) == 600
    assert q.push_slice(np.arange(600, 1200, dtype=np.uint64)) == cap - 600  # as many as fit
    assert q.is_full()
    got = q.pop_slice(700)
    assert got.dtype == np.uint64 and got.tolist() == list(range(700))
    got = q.pop_slice_timeout(2000, 1.0)
    assert got.tolist() == list(range(700, cap))
    assert q.pop_slice(10).size == 0
    with pytest.raises(z.ZeroIpcTimeoutError):
        q.pop_slice_timeout(10, 0.01)
    assert q.push_slice_timeout(np.arange(5, dtype=np.uint64), 1.0) == 5


def test_stack(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    s = z.Stack.create(seg, "s", 3, np.float64)
    assert s.pop() is None and s.peek() is None
    for v in (1.5, 2.5, 3.5):
        assert s.push(v)
    assert not s.push(4.5)
    assert float(some(s.peek())) == 3.5 and len(s) == 3
    assert [float(some(s.pop())) for _ in range(3)] == [3.5, 2.5, 1.5]
    with pytest.raises(z.ZeroIpcTimeoutError):
        s.pop_timeout(0.01)
    assert s.capacity() == 3 and s.is_empty()


def test_ring(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    r = z.Ring.create(seg, "r", 4, np.uint32)
    assert r.read() is None
    assert r.write(1) and r.write(2)
    assert r.write_bulk(np.array([3, 4, 5], dtype=np.uint32)) == 2  # 4 slots
    assert r.is_full() and not r.write(9)
    assert int(some(r.read())) == 1
    assert r.read_bulk(10).tolist() == [2, 3, 4]
    with pytest.raises(z.ZeroIpcTimeoutError):
        r.read_timeout(0.01)
    assert r.capacity() == 4


def test_pool(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    p = z.Pool.create(seg, "p", 2, np.int64)
    i = p.allocate()
    j = p.allocate()
    assert i is not None and j is not None and i != j
    assert p.allocate() is None and p.is_full()
    with pytest.raises(z.ZeroIpcTimeoutError):
        p.allocate_timeout(0.01)
    p.set(i, -5)
    assert int(some(p.get(i))) == -5
    assert p.allocated() == 2 and p.available() == 0
    p.deallocate(j)
    assert p.available() == 1
    assert p.allocate_timeout(0.5) == j


def test_map(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    m = z.Map.create(seg, "m", 16, np.uint64, np.float64)
    assert m.insert(1, 0.5).is_stored()
    assert m.insert(2, 1.5).is_stored()
    assert m.insert(1, 0.75).is_stored()  # replace
    assert len(m) == 2 and 1 in m and 3 not in m
    assert float(some(m.get(1))) == 0.75 and m.get(3) is None
    assert sorted((int(k), float(v)) for k, v in m.entries()) == [(1, 0.75), (2, 1.5)]
    assert float(some(m.remove(2))) == 1.5 and m.remove(2) is None
    assert m.contains(1) and not m.contains(2)
    m2 = z.Map.open(seg, "m", np.uint64, np.float64)
    assert float(some(m2.get(1))) == 0.75


def test_set(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    s = z.Set.create(seg, "s", 16, np.uint32)
    assert s.insert(7).is_inserted()
    assert not s.insert(7).is_inserted()  # present
    assert s.insert(9).is_inserted()
    assert 7 in s and s.contains(9) and not s.contains(8)
    assert sorted(int(x) for x in s.to_vec()) == [7, 9]
    assert s.remove(7) and not s.remove(7)
    assert len(s) == 1


@pytest.mark.parametrize(
    "kind, args",
    [
        (z.Queue, (8,)),
        (z.Stack, (8,)),
        (z.Ring, (8,)),
        (z.Pool, (8,)),
        (z.Set, (8,)),
        (z.Array, (8,)),
    ],
)
def test_wrong_dtype_is_refused(shm_name: str, kind: Any, args: Tuple[int, ...]) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    kind.create(seg, "x", *args, np.uint64)
    with pytest.raises(z.StructureMismatchError) as e:
        kind.open(seg, "x", np.uint32)
    assert str(e.value)  # the runtime's message
    # The right dtype still opens.
    kind.open(seg, "x", np.uint64)


def test_wrong_kind_and_missing_name(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    z.Queue.create(seg, "q", 8, np.uint64)
    with pytest.raises(z.ZeroIpcError):
        z.Stack.open(seg, "q", np.uint64)
    with pytest.raises(z.StructureNotFoundError):
        z.Queue.open(seg, "nope", np.uint64)
    with pytest.raises(z.DuplicateNameError):
        z.Queue.create(seg, "q", 8, np.uint64)


def test_wrong_map_dtypes_are_refused(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    z.Map.create(seg, "m", 8, np.uint64, np.float64)
    with pytest.raises(z.StructureMismatchError):
        z.Map.open(seg, "m", np.uint32, np.float64)
    with pytest.raises(z.StructureMismatchError):
        z.Map.open(seg, "m", np.uint64, np.float32)


def test_unusable_dtypes_are_refused(shm_name: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    with pytest.raises((TypeError, ValueError, z.ZeroIpcError)):
        z.Queue.create(seg, "q", 8, object)
