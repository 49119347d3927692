"""The golden segment images (tests/vectors/, written by the reference C++
and Python libraries; see tests/vectors/README.md) read from Python through
zeroipc_rs: each image is copied to /dev/shm under a unique name, opened,
and every structure is opened with the dtypes the manifest gives and
checked against the state the manifest records."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

import zeroipc_rs as z
from conftest import some

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
MANIFEST: Dict[str, Any] = json.loads((VECTORS / "manifest.json").read_text())


def dtype_of(t: Any) -> np.dtype:
    if isinstance(t, list):  # a record: [[field, format], ...], C layout
        return np.dtype([(n, f) for n, f in t], align=True)
    dt: np.dtype = np.dtype(t)
    return dt


def _key(dt: np.dtype, k: Any) -> Any:
    return k.encode() if dt.kind == "S" else k


@pytest.fixture
def image(request: pytest.FixtureRequest) -> Iterator[z.Segment]:
    file: str = request.param
    name = f"/zipy-vec-{os.getpid()}-{file.split('.')[0]}"
    with open(f"/dev/shm/{name[1:]}", "wb") as f:
        f.write((VECTORS / file).read_bytes())
    try:
        yield z.Segment.open(name)
    finally:
        z.Segment.unlink(name)


def check_structure(seg: z.Segment, s: Dict[str, Any]) -> None:
    kind, name, e = s["kind"], s["name"], s["expected"]
    types = {k: dtype_of(v["numpy"]) for k, v in s.get("types", {}).items()}
    if kind == "array":
        a = z.Array.open(seg, name, types["elem"])
        got = a.to_vec()
        assert len(a) == e["capacity"]
        if types["elem"].names:
            assert [{n: got[i][n].item() for n in types["elem"].names} for i in range(len(got))] == e["values"]
        else:
            assert got.tolist() == e["values"]
    elif kind == "queue":
        q = z.Queue.open(seg, name, types["elem"])
        assert q.capacity() == e["capacity"] and len(q) == e["size"]
        assert [some(q.pop()).item() for _ in range(e["size"])] == e["contents_pop_order"]
        assert q.pop() is None
    elif kind == "stack":
        st = z.Stack.open(seg, name, types["elem"])
        assert st.capacity() == e["capacity"] and len(st) == e["size"]
        assert [some(st.pop()).item() for _ in range(e["size"])] == e["contents_top_first"]
    elif kind == "map":
        kd, vd = types["key"], types["value"]
        m = z.Map.open(seg, name, kd, vd)
        assert len(m) == e["size"] and m.capacity() == e["capacity"]
        for p in e["present"]:
            assert some(m.get(_key(kd, p["key"]))).item() == p["value"], p
        for k in e["absent_keys"]:
            assert m.get(_key(kd, k)) is None, k
    elif kind == "set":
        st2 = z.Set.open(seg, name, types["elem"])
        assert len(st2) == e["size"]
        for mbr in e["members"]:
            assert st2.contains(mbr["value"]), mbr
        for v in e["non_members"]:
            assert not st2.contains(v), v
    elif kind == "pool":
        p = z.Pool.open(seg, name, types["elem"])
        assert (p.capacity(), p.allocated(), p.available()) == (e["capacity"], e["allocated"], e["available"])
        for node in e["allocated_nodes"]:
            assert some(p.get(node["index"])).item() == node["value"]
    elif kind == "ring":
        r = z.Ring.open(seg, name, types["elem"])
        assert len(r) == e["available"] and r.free_space() == e["free_space"]
        assert r.read_bulk(64).tolist() == e["contents_read_order"]
    elif kind == "semaphore":
        sem = z.Semaphore.open(seg, name)
        assert (sem.count(), sem.max_count()) == (e["count"], e["max_count"])
    elif kind == "mutex":
        assert z.Mutex.open(seg, name).is_locked() == e["locked"]
    elif kind == "barrier":
        b = z.Barrier.open(seg, name)
        assert (b.participants(), b.arrived(), b.generation()) == (e["num_participants"], e["arrived"], e["generation"])
    elif kind == "latch":
        la = z.Latch.open(seg, name)
        assert (la.count(), la.initial()) == (e["count"], e["initial_count"])
    elif kind == "once":
        assert z.Once.open(seg, name).is_done() == (e["state_name"] == "DONE")
    elif kind == "event":
        ev = z.Event.open(seg, name)
        assert ev.is_signaled() == bool(e["signaled"])
        assert ev.mode() == ("manual" if e["mode_name"] == "ManualReset" else "auto")
    elif kind == "rwlock":
        rw = z.RwLock.open(seg, name)
        assert rw.readers() == e["readers"] and rw.is_write_locked() == bool(e["writer_active"])
    elif kind == "monitor":
        assert not z.Monitor.open(seg, name).is_locked()
    elif kind == "signal":
        sg = z.Signal.open(seg, name, types["value"])
        assert sg.version() == e["version"] and some(sg.get()).item() == e["value"]
    elif kind == "future":
        f = z.Future.open(seg, name, types["value"])
        assert f.state() == e["state_name"].lower()
        if e["state_name"] == "READY":
            assert some(f.get()).item() == e["value"]
        elif e["state_name"] == "ERROR":
            assert f.error_message() == e["error"]
    elif kind == "lazy":
        lz = z.Lazy.open(seg, name, types["value"])
        assert lz.is_computed() and some(lz.peek()).item() == e["cached_value"]
        assert lz.compute_count() == e["compute_count"]
    elif kind == "stream":
        sm = z.Stream.open(seg, name, types["elem"])
        assert sm.sequence() == e["sequence"] and not sm.is_closed()
        assert [some(sm.try_recv()).item() for _ in e["pending_read_order"]] == e["pending_read_order"]
        assert sm.try_recv() is None
    elif kind == "stream_void":
        sv = z.StreamVoid.open(seg, name)
        assert sv.count() == e["event_count"] and sv.is_closed() == bool(e["closed"])
    elif kind == "channel":
        c = z.Channel.open(seg, name, types["elem"])
        assert c.capacity() == e["capacity"]
        received: List[Any] = []
        while (v := c.try_recv()) is not None:
            received.append(v.item())
        assert received == e["contents_recv_order"]
    else:
        raise AssertionError(f"no check for kind {kind!r}")


FILES = sorted(MANIFEST["files"])


@pytest.mark.parametrize("image", FILES, indirect=True, ids=FILES)
def test_golden_image_reads_from_python(image: z.Segment, request: pytest.FixtureRequest) -> None:
    file = request.node.callspec.id
    kinds = set()
    for s in MANIFEST["files"][file]["structures"]:
        check_structure(image, s)
        kinds.add(s["kind"])
    assert kinds


def test_every_kind_is_covered_by_the_images() -> None:
    kinds = {s["kind"] for f in MANIFEST["files"].values() for s in f["structures"]}
    assert kinds == set(MANIFEST["conventions"]["kinds"].split())
