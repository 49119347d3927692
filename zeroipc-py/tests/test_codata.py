"""The codata kinds from Python: Future, Lazy, Stream (+ Subscriber),
StreamVoid, Channel and select."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import zeroipc_rs as z
from conftest import some


def seg_for(name: str) -> z.Segment:
    return z.Segment.create(name, 1 << 16)


def test_future_value_and_error(shm_name: str) -> None:
    seg = seg_for(shm_name)
    f = z.Future.create(seg, "f", np.int64)
    assert f.state() == "pending" and not f.is_ready()
    assert f.try_get() is None
    with pytest.raises(z.ZeroIpcTimeoutError):
        f.get_timeout(0.01)
    assert f.set_value(-42)
    assert not f.set_value(1)  # once
    assert f.is_ready() and int(some(f.get())) == -42 and int(f.get_timeout(1.0)) == -42
    assert f.completion_time() > 0
    e = z.Future.create(seg, "e", np.float64)
    assert e.set_error("boom")
    assert e.error_message() == "boom"
    with pytest.raises(z.FailedError, match="boom"):
        e.get()
    other = z.Future.open(seg, "f", np.int64)
    assert int(some(other.get())) == -42


def test_future_set_by_a_thread_wakes_a_waiter(shm_name: str) -> None:
    seg = seg_for(shm_name)
    f = z.Future.create(seg, "f", np.float64)
    t = threading.Thread(target=lambda: z.Future.open(seg, "f", np.float64).set_value(2.5))
    t.start()
    assert float(f.get_timeout(30.0)) == 2.5
    t.join()


def test_lazy(shm_name: str) -> None:
    seg = seg_for(shm_name)
    a = z.Lazy.constant(seg, "a", 1.5, np.float64)
    b = z.Lazy.create(seg, "b", ("multiply", 4.0, 0.5), np.float64)
    assert b.peek() is None and not b.is_computed()
    s = z.Lazy.add(seg, "sum", a, b)
    assert float(s.force()) == 3.5
    assert s.compute_count() == 1 and s.is_computed()
    assert float(s.force()) == 3.5 and s.compute_count() == 1  # computed once
    assert float(some(z.Lazy.open(seg, "sum").peek())) == 3.5
    n = z.Lazy.negate(seg, "neg", z.Lazy.constant(seg, "seven", 7, np.int32))
    assert int(n.force()) == -7


def test_stream_consumer_and_subscriber(shm_name: str) -> None:
    seg = seg_for(shm_name)
    s = z.Stream.create(seg, "ticks", 4, np.uint32)
    sub = s.subscribe()
    for v in (1, 2, 3, 4):
        s.emit(v)
    assert not s.try_emit(5)  # full: backpressure
    assert len(s) == 4 and s.sequence() == 4
    assert [int(some(sub.try_next())) for _ in range(4)] == [1, 2, 3, 4]  # reads, takes nothing
    assert sub.try_next() is None and len(s) == 4
    assert int(s.recv()) == 1
    assert s.try_emit(5)
    s.close()
    assert [int(v) for v in sub] == [5]
    assert [int(s.recv()) for _ in range(4)] == [2, 3, 4, 5]
    with pytest.raises(z.ClosedError):
        s.recv()
    assert z.Stream.open(seg, "ticks", np.uint32).is_closed()


def test_stream_void(shm_name: str) -> None:
    seg = seg_for(shm_name)
    sv = z.StreamVoid.create(seg, "sv")
    for _ in range(3):
        assert sv.emit()
    assert sv.count() == 3
    sv.close()
    assert sv.is_closed() and not sv.emit()
    assert z.StreamVoid.open(seg, "sv").count() == 3


def test_channel_buffered_and_select(shm_name: str) -> None:
    seg = seg_for(shm_name)
    c = z.Channel.create(seg, "c", 2, np.int32)
    assert c.is_buffered() and c.capacity() == 2
    c.send(1)
    assert c.try_send(2)
    assert not c.try_send(3)
    with pytest.raises(z.ZeroIpcTimeoutError):
        c.send_timeout(3, 0.01)
    assert int(c.recv()) == 1 and int(some(c.try_recv())) == 2 and c.try_recv() is None
    d = z.Channel.create(seg, "d", 2, np.int32)
    d.send(7)
    i, v = z.select([c, d], 1.0)
    assert (i, int(v)) == (1, 7)
    with pytest.raises(z.ZeroIpcTimeoutError):
        z.select([c, d], 0.01)
    c.close()
    d.close()
    with pytest.raises(z.ClosedError):
        z.select([c, d], 1.0)


def test_channel_unbuffered_rendezvous(shm_name: str) -> None:
    seg = seg_for(shm_name)
    c = z.Channel.create(seg, "u", 0, np.uint64)
    assert not c.is_buffered()
    got = []
    t = threading.Thread(target=lambda: got.append(int(z.Channel.open(seg, "u", np.uint64).recv_timeout(30.0))))
    t.start()
    c.send_timeout(99, 30.0)
    t.join()
    assert got == [99]


def test_codata_wrong_dtype_is_refused(shm_name: str) -> None:
    seg = seg_for(shm_name)
    z.Future.create(seg, "f", np.float64)
    z.Channel.create(seg, "c", 4, np.uint64)
    with pytest.raises(z.StructureMismatchError):
        z.Future.open(seg, "f", np.int32)
    with pytest.raises(z.StructureMismatchError):
        z.Channel.open(seg, "c", np.uint16)
