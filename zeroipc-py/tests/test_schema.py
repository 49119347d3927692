"""zeroipc-gen's Python output on the runtime: a segment created by Rust
from the all-kinds schema (tests/schemas/kinds.toml) opened through the
generated module gets a typed zeroipc_rs handle for every structure
(`seg.queue.pop()` ...), keeps its header views, and `runtime=False` gives
the numpy-only path."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import zeroipc_rs as z

GENERATED = Path(__file__).resolve().parents[2] / "tests" / "schemas" / "generated"


@pytest.fixture(scope="module")
def kinds() -> Iterator[Any]:
    sys.path.insert(0, str(GENERATED))
    try:
        yield importlib.import_module("kinds")
    finally:
        sys.path.remove(str(GENERATED))


def test_every_structure_is_a_typed_handle(shm_name: str, run_peer: Callable[..., str], kinds: Any) -> None:
    run_peer("kinds", shm_name)
    v = kinds.AllKinds.open(shm_name)
    zs = sys.modules["zeroipc_schema"]
    assert zs.RUNTIME is z
    assert set(v.handles) == {s.name for s in v.spec.structures}
    for s in v.spec.structures:
        cls = "StreamVoid" if s.kind == "stream" and s.dtype is None else zs.RUNTIME_CLASSES[s.kind]
        assert type(v.handles[s.name]) is getattr(z, cls), s.name
    # Operations by name on the view; header fields still read live.
    assert v.queue.head == 0 and v.queue.tail == 1
    got = v.queue.pop()
    assert (int(got["a"]), int(got["b"]), int(got["c"])) == (1, 2, -3)
    assert v.queue.head == 1
    rec = np.zeros((), dtype=kinds.Small)
    rec["a"], rec["b"], rec["c"] = 9, 8, -7
    assert v.queue.push(rec)
    assert v.ring.write(5)
    assert float(v.map.get(5)) == 0.5
    sig = v.signal.get()
    assert (int(sig["a"]), int(sig["b"]), int(sig["c"])) == (4, 5, 6)
    fut = v.future.get()
    assert int(fut["id"]) == 77 and bytes(fut["tag"]) == b"ok"
    assert v.future.state == 2  # the header field wins over the handle's state()
    assert v.handles["future"].state() == "ready"
    assert float(v.lazy.force()) == 2.5 and int(v.lazy_int.force()) == -7
    with v.mutex.lock():
        assert v.mutex.is_locked()
    with v.mutex:
        assert v.mutex.is_locked()
    assert not v.mutex.is_locked()
    v.sem.release()
    assert len(v.queue) == 1
    v.close()
    lines = dict(line.split(" ", 1) for line in run_peer("kinds-check", shm_name).splitlines())
    assert lines == {"queue": "9,8,-7", "ring": "5", "sem": "3"}


def test_runtime_false_is_the_numpy_only_path(shm_name: str, run_peer: Callable[..., str], kinds: Any) -> None:
    run_peer("kinds", shm_name)
    v = kinds.AllKinds.open(shm_name, runtime=False)
    assert v.runtime is None and v.handles == {}
    assert v.queue.handle is None
    assert v.queue.fields()["tail"] == 1
    with pytest.raises(AttributeError, match="zeroipc_rs"):
        v.queue.push
    assert v.array.shape == (3,)  # arrays stay zero-copy numpy views
    v.close()


def test_a_wrong_schema_dtype_is_refused_by_the_runtime(shm_name: str, run_peer: Callable[..., str], kinds: Any) -> None:
    run_peer("kinds", shm_name)
    seg = z.Segment.open(shm_name)
    with pytest.raises(z.StructureMismatchError):
        z.Queue.open(seg, "queue", kinds.Big)
    z.Queue.open(seg, "queue", kinds.Small)
