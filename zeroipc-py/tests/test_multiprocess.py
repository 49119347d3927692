"""Python processes only: 2 producers and 2 consumers move 1,000,000 items
through one Queue exactly once (the reference Python package's queue, plain
Python read-modify-writes on mapped memory, can lose or duplicate items
here), and through one Stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zeroipc_rs as z
from test_cross_lang import PER, PY_CONSUMER, PY_PRODUCER, SENTINEL, _check_exactly_once, _wait_all

STACK_PRODUCER = PY_PRODUCER.replace("z.Queue.open", "z.Stack.open")
STACK_CONSUMER = PY_CONSUMER.replace("z.Queue.open", "z.Stack.open")


@pytest.mark.parametrize("kind", ["queue", "stack"])
def test_two_python_producers_two_python_consumers_one_million_items(
    shm_name: str, tmp_path: Path, kind: str
) -> None:
    seg = z.Segment.create(shm_name, 1 << 20)
    if kind == "queue":
        q = z.Queue.create(seg, "items", 1024, np.uint64)
        producer, consumer = PY_PRODUCER, PY_CONSUMER
    else:
        q = z.Stack.create(seg, "items", 1024, np.uint64)  # type: ignore[assignment]
        producer, consumer = STACK_PRODUCER, STACK_CONSUMER
    outs = [tmp_path / f"c{i}.bin" for i in range(2)]
    consumers = [
        subprocess.Popen([sys.executable, "-c", consumer, shm_name, "items", str(o)], stderr=subprocess.PIPE)
        for o in outs
    ]
    producers = [
        subprocess.Popen([sys.executable, "-c", producer, shm_name, "items", str(i * PER), str(PER)], stderr=subprocess.PIPE)
        for i in range(2)
    ]
    _wait_all(producers, "python producers")
    for _ in consumers:
        q.push_timeout(SENTINEL, 60.0)
    _wait_all(consumers, "python consumers")
    _check_exactly_once(outs, fifo=kind == "queue")
    assert q.is_empty()
