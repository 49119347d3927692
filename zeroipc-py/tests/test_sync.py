"""The synchronisation kinds from Python: Semaphore, Mutex, Barrier, Latch,
Once, Event, RwLock, Monitor, Signal. Blocking calls release the GIL, so
Python threads stand in for peers here (processes: test_cross_lang.py)."""

from __future__ import annotations

import threading
from typing import List

import numpy as np
import pytest

import zeroipc_rs as z


def seg_for(name: str) -> z.Segment:
    return z.Segment.create(name, 1 << 16)


def test_semaphore(shm_name: str) -> None:
    seg = seg_for(shm_name)
    s = z.Semaphore.create(seg, "s", 2, 3)
    assert s.count() == 2 and s.max_count() == 3
    assert s.try_acquire() and s.try_acquire()
    assert not s.try_acquire()
    with pytest.raises(z.ZeroIpcTimeoutError):
        s.acquire_timeout(0.01)
    s.release()
    s.acquire()
    assert s.count() == 0
    s.release()
    with s:  # acquire/release
        assert s.count() == 0
    assert s.count() == 1
    assert z.Semaphore.open(seg, "s").count() == 1


def test_mutex_guards_and_context_manager(shm_name: str) -> None:
    seg = seg_for(shm_name)
    m = z.Mutex.create(seg, "m")
    assert not m.is_locked()
    with m.lock() as g:
        assert m.is_locked() and g.held()
        assert m.try_lock() is None
        with pytest.raises(z.ZeroIpcTimeoutError):
            m.lock_timeout(0.01)
    assert not m.is_locked()
    with m:
        assert m.is_locked()
    g2 = m.try_lock()
    assert g2 is not None
    g2.unlock()
    assert not g2.held() and not m.is_locked()


def test_mutex_counter_with_threads(shm_name: str) -> None:
    seg = seg_for(shm_name)
    m = z.Mutex.create(seg, "m")
    c = z.Array.create(seg, "c", 1, np.uint64)

    def work() -> None:
        for _ in range(2000):
            with m.lock():
                c[0] = int(c[0]) + 1

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert int(c[0]) == 8000


def test_barrier(shm_name: str) -> None:
    seg = seg_for(shm_name)
    b = z.Barrier.create(seg, "b", 3)
    assert b.participants() == 3
    results: List[z.BarrierWaitResult] = []

    def arrive() -> None:
        results.append(z.Barrier.open(seg, "b").wait_timeout(30.0))

    ts = [threading.Thread(target=arrive) for _ in range(2)]
    for t in ts:
        t.start()
    results.append(b.wait_timeout(30.0))
    for t in ts:
        t.join()
    assert len(results) == 3
    assert sum(1 for r in results if r.is_leader()) == 1
    assert len({r.generation() for r in results}) == 1
    with pytest.raises(z.ZeroIpcTimeoutError):
        b.wait_timeout(0.01)


def test_latch(shm_name: str) -> None:
    seg = seg_for(shm_name)
    latch = z.Latch.create(seg, "l", 3)
    assert latch.count() == 3 and latch.initial() == 3
    assert not latch.try_wait()
    with pytest.raises(z.ZeroIpcTimeoutError):
        latch.wait_timeout(0.01)
    latch.count_down()
    latch.count_down(2)
    assert latch.count() == 0 and latch.try_wait()
    latch.wait()


def test_once(shm_name: str) -> None:
    seg = seg_for(shm_name)
    o = z.Once.create(seg, "o")
    calls: List[int] = []
    assert o.state() == "pending" and not o.is_done()
    assert o.call_once(lambda: calls.append(1)) is True
    assert o.call_once(lambda: calls.append(2)) is False
    assert calls == [1] and o.is_done() and o.state() == "done"
    assert z.Once.open(seg, "o").is_done()


def test_once_callable_error_propagates(shm_name: str) -> None:
    seg = seg_for(shm_name)
    o = z.Once.create(seg, "o")

    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        o.call_once(boom)
    assert not o.is_done()


def test_event_manual_and_auto(shm_name: str) -> None:
    seg = seg_for(shm_name)
    e = z.Event.create(seg, "manual", "manual")
    assert e.mode() == "manual" and not e.is_signaled()
    with pytest.raises(z.ZeroIpcTimeoutError):
        e.wait_timeout(0.01)
    e.signal()
    e.wait()
    assert e.try_wait() and e.is_signaled()  # manual: stays signalled
    e.reset()
    assert not e.is_signaled()
    a = z.Event.create(seg, "auto")
    assert a.mode() == "auto"
    a.signal()
    assert a.try_wait()
    assert not a.try_wait()  # auto: one waiter consumed it


def test_rwlock(shm_name: str) -> None:
    seg = seg_for(shm_name)
    rw = z.RwLock.create(seg, "rw")
    with rw.read() as r1:
        with rw.read():
            assert rw.readers() == 2
        assert r1.held()
        assert rw.try_write() is None
    with rw.write():
        assert rw.is_write_locked()
        assert rw.try_read() is None
        with pytest.raises(z.ZeroIpcTimeoutError):
            rw.read_timeout(0.01)
    assert rw.readers() == 0 and not rw.is_write_locked()


def test_monitor_wait_notify(shm_name: str) -> None:
    seg = seg_for(shm_name)
    mon = z.Monitor.create(seg, "mon")
    flag = z.Array.create(seg, "flag", 1, np.uint32)
    done = threading.Event()

    def setter() -> None:
        with mon.lock():
            flag[0] = 1
            mon.notify_all()
        done.set()

    with mon.lock() as g:
        t = threading.Thread(target=setter)
        t.start()
        while int(flag[0]) == 0:
            g.wait_timeout(30.0)
    t.join()
    assert done.is_set() and int(flag[0]) == 1
    with mon:
        assert mon.is_locked()
    assert not mon.is_locked()


def test_signal(shm_name: str) -> None:
    seg = seg_for(shm_name)
    s = z.Signal.create(seg, "s", 0.0, np.float64)
    v0 = s.version()
    s.set(1.5)
    assert float(s.get()) == 1.5 and s.version() > v0
    version, value = s.get_versioned()
    assert version == s.version() and float(value) == 1.5
    assert s.try_wait_for_change(version) is None
    with pytest.raises(z.ZeroIpcTimeoutError):
        s.wait_for_change_timeout(version, 0.01)

    def later() -> None:
        z.Signal.open(seg, "s", np.float64).set(2.5)

    t = threading.Thread(target=later)
    t.start()
    newer = s.wait_for_change_timeout(version, 30.0)
    t.join()
    assert newer > version and float(s.get()) == 2.5


def test_sync_kinds_refuse_another_kind(shm_name: str) -> None:
    seg = seg_for(shm_name)
    z.Mutex.create(seg, "m")
    with pytest.raises(z.ZeroIpcError):
        z.Semaphore.open(seg, "m")
